"""`impair`: the links of running containers (the compose lab's: `make impair`) made to lose, delay...
packets, as a scenario's `impair` would; with no option, cleared."""
from __future__ import annotations

import argparse
import contextlib
import os

from ..base import errors
from . import argtypes
from .common import lab_images


def register(sub) -> None:
    p = sub.add_parser("impair", help="make the links of running containers (the compose lab's: make impair) "
                                      "lose, delay... packets; with no option, clear them")
    p.add_argument("containers", nargs="+", metavar="CONTAINER", help="container id or name")
    p.add_argument("--loss", type=argtypes.percent, help="a share of what reaches the host, e.g. 20%% (deterministic)")
    p.add_argument("--delay", type=argtypes.milliseconds, help="added to what the host sends, e.g. 100ms (a delayer)")
    p.add_argument("--jitter", type=argtypes.milliseconds, help="the delay varies by up to this, e.g. 10ms")
    p.add_argument("--duplicate", type=argtypes.percent, help="a share sent twice, e.g. 5%% (deterministic)")
    p.add_argument("--reorder", type=argtypes.percent, help="a share sent ahead of the delayed ones, e.g. 25%%")
    p.add_argument("--rate", type=argtypes.rate, help="a cap on what the host sends, e.g. 1mbit (tbf)")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    """impair CONTAINER...: the links of running containers (the compose lab's, `make impair`) made to lose,
    delay... what the options say, as a scenario's `impair` would; no option clears them."""
    from ..lab import impair
    from ..lab.engine import Engine
    from ..lab.lab import DELAYER_LABEL, run_helper, start_delayer
    from ..base.labels import RUN_LABEL
    from ..model.impairment import Impairment

    wanted = {k: getattr(args, k) for k in ("loss", "delay", "jitter", "duplicate", "reorder", "rate")}
    for key in Impairment(host="", **wanted).undelayed()[:1]:
        raise errors.InvalidInput(f"--{key} needs --delay beside it (it {key}s the delayed packets)")
    with contextlib.closing(Engine()) as engine:
        image = lab_images(engine)["capture"].ref
        for container in args.containers:
            name, running = engine.hostname(container)
            if not running:
                raise errors.InvalidInput(f"container {container} is not running: is the lab up (make up)?")
            # the run's label is the lab's own (compose.yaml's socklab.run): a delayer lives as long as the lab
            labels = {RUN_LABEL: engine.labels(container).get(RUN_LABEL) or f"impair-{os.getpid()}"}
            engine.remove_labelled(DELAYER_LABEL, container)  # an earlier `make impair`'s delayer
            if not any(v is not None for v in wanted.values()):
                run_helper(engine, image, container, impair.CLEAR_COMMAND, None, labels)
                print(f"{name}: its link is clear again")
                continue
            imp = Impairment(host=name, **wanted)
            run_helper(engine, image, container, impair.helper_command(imp), None, labels)
            delayer = impair.delayer_command(imp)
            if delayer:
                start_delayer(engine, image, container, delayer, None, labels, lease=False)
            print(impair.describe(imp))
    return errors.EXIT_OK
