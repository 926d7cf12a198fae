"""`python -m bench.probe` (`make probe`): the command; the package's docstring says what it probes."""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support import ROOT

from . import __doc__ as ABOUT
from .broken import group_broken
from .command_lines import group_cli
from .hostile import group_hostile
from .load import group_load
from .report import git_head, limits_seen, render
from .signals import group_signals
from .table import Group


def main() -> int:
    # The runs it starts must take SIGINT as a person's Ctrl-C does. Started in the background by a
    # non-interactive shell, the probe inherits SIGINT ignored, its runs would too (Python keeps an
    # inherited SIG_IGN), and every "interrupted" run would play on: give them the default.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser(prog="python -m bench.probe", description=ABOUT.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer cases (about 2 minutes instead of 4 to 5)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures and every case as JSON here")
    parser.add_argument("--groups", default="1,2,3,4,5", help="which groups to run (default: 1,2,3,4,5)")
    parser.add_argument("--only", metavar="REGEX", help="only the cases whose id matches (e.g. to reproduce one)")
    parser.add_argument("--runs", type=int, help="runs under load (default 24; --quick 6)")
    parser.add_argument("--keep", metavar="DIR", help="keep the temporary files (generated inputs, runs) in DIR")
    args = parser.parse_args()
    args.runs = args.runs if args.runs is not None else (6 if args.quick else 24)
    only = re.compile(args.only) if args.only else None
    if Path.cwd().resolve() != ROOT:
        os.chdir(ROOT)
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        print("bench/probe: no Docker Engine reachable (docker info failed)", file=sys.stderr)
        return 3
    base = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="socklab-probe-"))
    base.mkdir(parents=True, exist_ok=True)
    groups: list[Group] = []
    steps = {"1": group_hostile, "2": group_broken, "3": group_cli, "4": group_signals, "5": group_load}
    t0 = time.monotonic()
    try:
        for key in args.groups.split(","):
            key = key.strip()
            t = time.monotonic()
            print(f"== group {key} ==", flush=True)
            g = steps[key](args, base, only)
            g.seconds = time.monotonic() - t
            print(f"   {len(g.cases)} tried, {g.handled} handled, {g.seconds:.0f} s", flush=True)
            groups.append(g)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    total = time.monotonic() - t0
    limits = limits_seen(groups)
    print(render(groups, limits, total, args))
    if args.json:
        data = {"commit": git_head(), "quick": args.quick, "total_seconds": round(total, 1), "limits": limits,
                "groups": [{"key": g.key, "title": g.title, "tried": len(g.cases), "handled": g.handled,
                            "not_handled": len(g.cases) - g.handled, "seconds": round(g.seconds, 1),
                            "figures": g.figures, "cases": [c.__dict__ for c in g.cases]} for g in groups]}
        Path(args.json).write_text(json.dumps(data, indent=2, default=str))
    return 0 if all(g.handled == len(g.cases) for g in groups) else 1


if __name__ == "__main__":
    sys.exit(main())
