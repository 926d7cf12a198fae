"""`make bench`: warm `make scenario-tcp` against the same exchange scripted with docker-compose v1, and
grading's throughput: over a class of copies of the reference programs (every play passes, so the figure
is the lab's own cost), with a student's plays sharing labs and with a lab per play, and over the sample
class (whose hostile students wait out their limits).

Prints the median wall time of N runs of each (after one warm-up run each), and their ratio.
Targets (issue 3): the orchestrator's median <= 1.2 s, and <= 0.3x the compose script.

Also the CPU time the whole machine spent per run (every process, the Docker Engine's and the kernel's
included, from /proc/stat; meaningful when nothing else runs): a run cannot finish in less than that
divided by the number of cores, however its steps are arranged.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = "make scenario-tcp"  # what the targets are about


def busy_cpu_seconds() -> float:
    """CPU time the machine has spent not idle since boot, all cores (/proc/stat; Linux)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def run_once(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and machine CPU seconds of one run of `cmd`; a failed run ends the bench with its output."""
    cpu_before, start = busy_cpu_seconds(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, busy_cpu_seconds() - cpu_before
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, cpu


def timed(cmd: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall seconds and machine CPU seconds of each of `runs` runs of `cmd`, after one warm-up run."""
    run_once(cmd)  # warm-up: images, caches
    measured = [run_once(cmd) for _ in range(runs)]
    return [wall for wall, _ in measured], [cpu for _, cpu in measured]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--runs", type=int, default=10)
    parser.add_argument("--class-dir", default=str(ROOT / "examples" / "submissions"),
                        help="a class graded for the throughput, besides the copies (default: the sample class)")
    parser.add_argument("--copies", type=int, default=6,
                        help="students in the class of copies of the reference programs (default 6: 48 plays)")
    parser.add_argument("-j", "--jobs", type=int, default=None,
                        help="plays at once when grading (default: grade's own, sized from the engine)")
    parser.add_argument("--no-grading", action="store_true", help="leave out grading's throughput")
    args = parser.parse_args()
    python = str(ROOT / ".venv" / "bin" / "python")
    runs_dir = tempfile.mkdtemp(prefix="socklab-bench-")
    rows = [
        (OURS, ["make", "-s", "scenario-tcp"]),
        ("python -m orchestrator run scenarios/tcp.yaml",
         [python, "-m", "orchestrator", "run", "scenarios/tcp.yaml", "--runs-dir", runs_dir]),
    ]
    compose = "docker-compose" if shutil.which("docker-compose") else None
    if compose:
        rows.append(("docker-compose v1 script (bench/compose_tcp.sh)", ["bash", "bench/compose_tcp.sh"]))
    medians, cpu_medians = {}, {}
    print(f"{'what':52} {'median':>8} {'min':>7} {'max':>7} {'CPU':>7}   (n={args.runs}, warm; CPU: whole machine)")
    for label, cmd in rows:
        t, cpu = timed(cmd, args.runs)
        medians[label], cpu_medians[label] = statistics.median(t), statistics.median(cpu)
        print(f"{label:52} {medians[label]:7.2f}s {min(t):6.2f}s {max(t):6.2f}s {cpu_medians[label]:6.2f}s", flush=True)
    phases: dict[str, list[float]] = {}
    for report in Path(runs_dir).glob("*/report.json"):
        for phase, seconds in json.loads(report.read_text())["timings"].items():
            phases.setdefault(phase, []).append(seconds)
    shutil.rmtree(runs_dir, ignore_errors=True)
    print("\nwhere a run's time goes (median of the orchestrator's own timings, report.json):")
    print("  " + "  ".join(f"{phase} {statistics.median(t):.2f}s" for phase, t in phases.items()))
    ours = medians[OURS]
    cores = os.cpu_count() or 1
    floor = cpu_medians[OURS] / cores
    print(f"\n{OURS} keeps the machine busy for {cpu_medians[OURS]:.2f} CPU-s: on {cores} "
          f"core(s) no arrangement of its work ends before {floor:.2f} s")
    print(f"target: make scenario-tcp median <= 1.2 s: {'met' if ours <= 1.2 else 'NOT met'} ({ours:.2f} s)")
    if compose:
        ratio = ours / medians[rows[-1][0]]
        print(f"ratio to the docker-compose script: {ratio:.2f}x (target <= 0.3x: {'met' if ratio <= 0.3 else 'NOT met'})")
    else:
        print("docker-compose (v1) is not installed: no baseline to compare with")
    if not args.no_grading:
        copies = Path(tempfile.mkdtemp(prefix="socklab-bench-class-"))
        try:
            for i in range(1, args.copies + 1):
                (copies / f"copy{i}").mkdir()
                for program in ("server_tcp.py", "client_tcp.py", "server_udp.py", "client_udp.py"):
                    shutil.copy(ROOT / "programs" / program, copies / f"copy{i}" / program)
            print(f"\ngrading's throughput (-j {args.jobs or 'as grade chooses'}, every play made anew: --force)")
            rate = grading_throughput(python, str(copies), args.jobs, f"{args.copies} copies of programs/")
            grading_throughput(python, str(copies), args.jobs, f"{args.copies} copies, a lab per play",
                               "--fresh-labs")
            sample = grading_throughput(python, args.class_dir, args.jobs, Path(args.class_dir).name)
        finally:
            shutil.rmtree(copies, ignore_errors=True)
        for what, r in (("the copies, labs shared", rate), (Path(args.class_dir).name, sample)):
            print(f"target: >= 90 plays per minute ({what}): {'met' if r >= 90 else 'NOT met'} ({r:.0f})")
    return 0


def grading_throughput(python: str, class_dir: str, jobs: int | None, label: str, *options: str) -> float:
    """Grading's throughput (issue 8) over one class: prints the plays per minute, the machine's CPU per
    play and the labs made; returns the plays per minute."""
    import csv

    out = tempfile.mkdtemp(prefix="socklab-bench-grades-")
    try:
        cmd = [python, "-m", "orchestrator", "grade", class_dir, "--out", f"{out}/g", "--force", *options,
               *(["-j", str(jobs)] if jobs else [])]
        wall, cpu = run_once(cmd)
        # every play made: a part's play, and the replays of a part whose first play showed a race (races.py),
        # each of which writes its own report.json
        parts = len(list(Path(out).glob(".socklab-cache/**/part.json")))
        plays = len(list(Path(out).glob(".socklab-cache/**/report.json")))
        students = len(list(csv.DictReader(open(f"{out}/g/grades.csv"))))
        manifest = json.loads(Path(f"{out}/g/manifest.json").read_text())
        labs, jobs = manifest.get("labs_created"), manifest["options"]["jobs"]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    rate = plays / wall * 60
    print(f"  {label:34} -j {jobs:<2} {students:3} students, {plays:3} plays ({plays - parts} of them replays) in "
          f"{wall:5.1f} s: {rate:4.0f} plays a minute, "
          f"{cpu / plays:.2f} machine CPU-s a play, {labs if labs is not None else plays} labs made", flush=True)
    return rate


if __name__ == "__main__":
    sys.exit(main())
