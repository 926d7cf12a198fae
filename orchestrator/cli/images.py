"""`images`: the lab's images built if their inputs changed, or the project's old ones removed."""
from __future__ import annotations

import argparse
import contextlib

from ..base import errors
from .common import say


def register(sub) -> None:
    p = sub.add_parser("images", help="build the lab's images if their inputs changed (no registry needed)")
    p.add_argument("names", nargs="*", metavar="NAME", help="images to build (default: all)")
    p.add_argument("--force", action="store_true", help="rebuild even if an image with the same inputs exists")
    p.add_argument("--prune", action="store_true", help="remove the project's images of older inputs instead")
    p.add_argument("--remove", action="store_true", help="remove all the project's images instead")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from ..lab import images
    from ..lab.engine import Engine

    with contextlib.closing(Engine()) as engine:
        if args.prune or args.remove:
            n = images.remove(engine, keep_current=args.prune, progress=say)
            say(f"removed {n} image(s)")
            return errors.EXIT_OK
        for built in images.ensure(engine, args.names or None, force=args.force, progress=say).values():
            state = "built" if built.built else "up to date"
            say(f"{built.ref} ({built.image_id[7:19]}) {state}; tagged {built.latest_ref}")
    return errors.EXIT_OK
