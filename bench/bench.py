"""`make bench`: warm `make scenario-tcp` against the same exchange scripted with docker-compose v1.

Prints the median wall time of N runs of each (after one warm-up run each), and their ratio.
Targets (issue 3): the orchestrator's median <= 1.2 s, and <= 0.3x the compose script.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], runs: int) -> list[float]:
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)  # warm-up: images, caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--runs", type=int, default=10)
    args = parser.parse_args()
    python = str(ROOT / ".venv" / "bin" / "python")
    runs_dir = tempfile.mkdtemp(prefix="socklab-bench-")
    rows = [
        ("make scenario-tcp", ["make", "-s", "scenario-tcp"]),
        ("python -m orchestrator run scenarios/tcp.yaml",
         [python, "-m", "orchestrator", "run", "scenarios/tcp.yaml", "--runs-dir", runs_dir]),
    ]
    compose = "docker-compose" if shutil.which("docker-compose") else None
    if compose:
        rows.append(("docker-compose v1 script (bench/compose_tcp.sh)", ["bash", "bench/compose_tcp.sh"]))
    medians = {}
    print(f"{'what':52} {'median':>8} {'min':>7} {'max':>7}   (n={args.runs}, warm)")
    for label, cmd in rows:
        t = timed(cmd, args.runs)
        medians[label] = statistics.median(t)
        print(f"{label:52} {medians[label]:7.2f}s {min(t):6.2f}s {max(t):6.2f}s", flush=True)
    phases: dict[str, list[float]] = {}
    for report in Path(runs_dir).glob("*/report.json"):
        for phase, seconds in json.loads(report.read_text())["timings"].items():
            phases.setdefault(phase, []).append(seconds)
    shutil.rmtree(runs_dir, ignore_errors=True)
    print("\nwhere a run's time goes (median of the orchestrator's own timings, report.json):")
    print("  " + "  ".join(f"{phase} {statistics.median(t):.2f}s" for phase, t in phases.items()))
    ours = medians["make scenario-tcp"]
    print(f"\ntarget: make scenario-tcp median <= 1.2 s: {'met' if ours <= 1.2 else 'NOT met'} ({ours:.2f} s)")
    if compose:
        ratio = ours / medians[rows[-1][0]]
        print(f"ratio to the docker-compose script: {ratio:.2f}x (target <= 0.3x: {'met' if ratio <= 0.3 else 'NOT met'})")
    else:
        print("docker-compose (v1) is not installed: no baseline to compare with")
    return 0


if __name__ == "__main__":
    sys.exit(main())
