"""`clean`: what dead runs left removed (labels.py says which are dead); never a live run's resources."""
from __future__ import annotations

import argparse
import contextlib

from ..base import errors
from . import argtypes
from .common import say


def register(sub) -> None:
    p = sub.add_parser("clean", help="remove what dead runs left (label socklab.run); a live run is left alone")
    p.add_argument("--run", type=argtypes.run_id,
                   help="only this run id, if it is dead (default: every dead run; the compose lab too, once stopped)")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    """Remove what dead runs left (labels.py says which are dead); never a live run's resources."""
    from ..lab.engine import Engine
    from ..base.labels import RUN_LABEL

    with contextlib.closing(Engine()) as engine:
        runs = engine.runs()
        if args.run is not None:
            if args.run not in runs:
                say(f"nothing is labelled {RUN_LABEL}={args.run}")
                return errors.EXIT_OK
            runs = {args.run: runs[args.run]}
        removed, containers, networks = [], 0, 0
        for run_id, resources in sorted(runs.items()):
            if resources.alive():
                say(f"left run {run_id} alone: it is alive ({resources.why()})")
                continue
            c, n = engine.remove_labelled(RUN_LABEL, run_id)
            removed.append(run_id)
            containers, networks = containers + c, networks + n
    if removed:
        say(f"removed {containers} container(s) and {networks} network(s) of {len(removed)} dead run(s) "
            f"(label {RUN_LABEL}): {', '.join(removed)}")
    elif args.run is None:
        say(f"no dead run to remove (label {RUN_LABEL})")
    return errors.EXIT_OK
