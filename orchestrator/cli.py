"""Command line: every subcommand runs inside one error handler with fixed exit codes."""
from __future__ import annotations

import argparse
import sys

from . import errors


def _cmd_images(args: argparse.Namespace) -> int:
    from . import images
    from .engine import Engine

    engine = Engine()
    try:
        for built in images.ensure(engine, args.names or None, force=args.force, progress=_say).values():
            state = "built" if built.built else "up to date"
            _say(f"{built.ref} ({built.image_id[7:19]}) {state}; tagged {built.ref.split(':')[0]}:latest")
    finally:
        engine.close()
    return errors.EXIT_OK


def _cmd_wait_log(args: argparse.Namespace) -> int:
    from .engine import Engine
    from .waits import ContainerLogLine, wait_for

    if not args.container:
        raise errors.InvalidInput("--container is empty: is the container running?")
    engine = Engine()
    try:
        wait_for(ContainerLogLine(engine, args.container, args.pattern), args.timeout)
    finally:
        engine.close()
    return errors.EXIT_OK


def _cmd_clean(args: argparse.Namespace) -> int:
    from .engine import RUN_LABEL, Engine

    engine = Engine()
    try:
        containers, networks = engine.remove_labelled(RUN_LABEL, args.run)
    finally:
        engine.close()
    which = f"run {args.run}" if args.run else "every run"
    _say(f"removed {containers} container(s) and {networks} network(s) labelled {RUN_LABEL} ({which})")
    return errors.EXIT_OK


def _say(message: str) -> None:
    print(message, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orchestrator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("images", help="build the lab's images if their inputs changed (no registry needed)")
    p.add_argument("names", nargs="*", metavar="NAME", help="images to build (default: all)")
    p.add_argument("--force", action="store_true", help="rebuild even if an image with the same inputs exists")
    p.set_defaults(func=_cmd_images)
    p = sub.add_parser("clean", help=f"remove containers and networks left labelled by runs (label socklab.run)")
    p.add_argument("--run", help="only this run id (default: every run, and the compose lab)")
    p.set_defaults(func=_cmd_clean)
    p = sub.add_parser("wait-log", help="wait until a container's logs show a line (used by `make up`)")
    p.add_argument("--container", required=True, help="container id or name")
    p.add_argument("--pattern", required=True, help="regular expression")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds (default 20)")
    p.set_defaults(func=_cmd_wait_log)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: usage errors are invalid input
        return errors.EXIT_OK if e.code == 0 else errors.EXIT_INVALID_INPUT
    try:
        return args.func(args)
    except errors.SocklabError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
        return errors.EXIT_INTERRUPTED
