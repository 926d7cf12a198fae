"""`wait-log`: wait until a container's logs show a line (`make up`)."""
from __future__ import annotations

import argparse
import contextlib

from ..base import errors
from . import argtypes


def register(sub) -> None:
    p = sub.add_parser("wait-log", help="wait until a container's logs show a line (used by `make up`)")
    p.add_argument("--container", required=True, help="container id or name")
    p.add_argument("--pattern", required=True, type=argtypes.regex, help="regular expression")
    p.add_argument("--timeout", type=argtypes.seconds, default=20.0, help="seconds (default 20, at most 3600)")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from ..lab.engine import Engine
    from ..lab.waits import ContainerLogLine, wait_for

    if not args.container:
        raise errors.InvalidInput("--container is empty: is the container running?")
    with contextlib.closing(Engine()) as engine:
        wait_for(ContainerLogLine(engine, args.container, args.pattern), args.timeout)
    return errors.EXIT_OK
