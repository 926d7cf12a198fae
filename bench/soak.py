"""`make soak`: every scenario of scenarios/ played N times in a row (default 50) with the reference programs,
one run after another; prints, per scenario, how many passed in a row and the median wall time of a run.

A scenario stops at its first run that does not pass (its exit status and the console's last lines are
printed): "in a row" means what it says. A run that is an error for want of something the machine lacks
(as a kernel without what a scenario needs) is reported as such. Exit status 0 when every scenario made N.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def soak(scenario: Path, runs: int, python: str, runs_dir: str) -> tuple[int, list[float], str]:
    """(passes in a row, wall seconds of each run, why it stopped or '')."""
    walls: list[float] = []
    for i in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([python, "-m", "orchestrator", "run", str(scenario), "--runs-dir", runs_dir],
                              cwd=ROOT, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0:
            return i, walls, f"run {i + 1} exited {proc.returncode}: " + why_not(runs_dir, proc)
        shutil.rmtree(runs_dir, ignore_errors=True)
    return runs, walls, ""


def why_not(runs_dir: str, proc: subprocess.CompletedProcess) -> str:
    """The run's error, or its failed checks with their evidence (report.json); else its last lines."""
    reports = list(Path(runs_dir).glob("*/report.json"))
    if reports:
        rep = json.loads(reports[0].read_text())
        if rep.get("error"):
            return rep["error"]
        failed = [f"{c['name']}: {c['evidence']}" for c in rep["checks"] if not c["passed"]]
        if failed:
            return "\n".join(failed)
    return "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-6:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--runs", type=int, default=50)
    parser.add_argument("scenarios", nargs="*", help="scenario files (default: every one of scenarios/)")
    args = parser.parse_args()
    python = str(ROOT / ".venv" / "bin" / "python")
    files = [Path(s) for s in args.scenarios] or sorted(p for p in (ROOT / "scenarios").glob("*.yaml")
                                                        if p.name != "suite.yaml")
    print(f"{'scenario':16} {'passed in a row':>16} {'median wall':>12}", flush=True)
    ok = True
    for scenario in files:
        runs_dir = tempfile.mkdtemp(prefix="socklab-soak-")
        passed, walls, why = soak(scenario, args.runs, python, runs_dir)
        shutil.rmtree(runs_dir, ignore_errors=True)
        print(f"{scenario.stem:16} {passed:>9} of {args.runs:<4} {statistics.median(walls):>10.2f} s", flush=True)
        if why:
            ok = False
            print("    " + why.replace("\n", "\n    "), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
