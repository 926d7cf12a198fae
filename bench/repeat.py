"""The same points every time (issue 15): grade one class several times from scratch (`--force`), the last
time with every CPU of the machine kept busy by other work, and compare the grades.csv files.

    python bench/repeat.py [CLASS] [-n 5] [--busy 1] [-j N]

CLASS defaults to bench/heldout-class (submissions written from the assignment alone by someone who had not
read the scenarios: typical mistakes, programs racing their limits, threads racing each other). Prints each
grading's time, then, for every student whose points differed between gradings, the points of each grading
per scenario; the figure is how many students got other points in some grading. Never part of `make test`.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def burners(n: int) -> list[subprocess.Popen]:
    """n processes that keep a CPU each busy (other work on the machine), at the same priority as grading."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("klass", nargs="?", default=str(ROOT / "bench" / "heldout-class"))
    parser.add_argument("-n", "--gradings", type=int, default=5)
    parser.add_argument("--busy", type=int, default=1, help="how many of the gradings (the last ones) run with "
                        "every CPU kept busy (default 1)")
    parser.add_argument("-j", "--jobs", type=int, default=None)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="socklab-repeat-"))
    tables = []
    for i in range(args.gradings):
        busy = i >= args.gradings - args.busy
        hogs = burners(os.cpu_count() or 1) if busy else []
        started = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, "-m", "orchestrator", "grade", args.klass, "--out",
                                   str(out / f"g{i}"), "--force", *(["-j", str(args.jobs)] if args.jobs else [])],
                                  cwd=ROOT, capture_output=True, text=True)
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
        wall = time.monotonic() - started
        if proc.returncode not in (0, 1):
            print(proc.stdout + proc.stderr)
            return proc.returncode
        rows = {r["student"]: r for r in csv.DictReader((out / f"g{i}" / "grades.csv").open())}
        tables.append(rows)
        print(f"grading {i + 1}{' (CPUs busy)' if busy else ''}: {len(rows)} students in {wall:.0f} s", flush=True)
    columns = [c for c in next(iter(tables[0].values())) if c not in ("student", "notes", "identifier")]
    differ = []
    for student in tables[0]:
        seen = [tuple(t[student].get(c, "") for c in columns) for t in tables]
        if len(set(seen)) > 1:
            differ.append(student)
            print(f"  {student}: " + " | ".join(
                ", ".join(f"{c} {v}" for c, v in zip(columns, s) if v != seen[0][columns.index(c)] or c == "total")
                for s in seen))
    print(f"{len(differ)} of {len(tables[0])} students got other points in some grading "
          f"({args.gradings} gradings, {args.busy} with the CPUs busy); the gradings are in {out}")
    return 0 if not differ else 1


if __name__ == "__main__":
    sys.exit(main())
