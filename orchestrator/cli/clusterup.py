"""`cluster up` / `cluster down`: a cluster of lab machines brought up on this host and removed (lab/machines.py;
make cluster-up, make cluster-down), registered under `cluster` beside `certs` and `scheduler` (cluster.py)."""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil

from ..base import errors
from ..base.labels import CLUSTER_LABEL
from . import argtypes
from .common import ROOT, say

#: The host's folder of the clusters on one host: certs/ (made by `cluster certs`, kept), <name>/ (sockets).
STATE = ROOT / ".cluster"
DEFAULT_NAME = "socklab"


def register_up(csub) -> None:
    p = csub.add_parser("up", help="start a scheduler and lab machines on this host (containers, each with its own "
                                   "Docker Engine and the lab's images), labelled socklab.cluster")
    p.add_argument("--workers", type=argtypes.jobs, default=2, help="how many lab machines (default 2)")
    p.add_argument("--name", default=DEFAULT_NAME, help=f"the cluster's name (default {DEFAULT_NAME})")
    p.add_argument("--plays", type=argtypes.jobs, help="plays at once on each worker (default: the worker's own)")
    p.add_argument("--certs", default=str(STATE / "certs"),
                   help="the cluster's certificates (made by `cluster certs DIR`; default .cluster/certs)")
    p.add_argument("--machines-only", action="store_true",
                   help="only the lab machines, their engines up and images loaded: no scheduler, no worker")
    p.add_argument("--timeout", type=argtypes.seconds, default=60.0,
                   help="seconds for each machine's engine to answer and the scheduler to listen (default 60)")
    p.set_defaults(func=up)


def register_down(csub) -> None:
    p = csub.add_parser("down", help="remove a cluster on this host: every container, network and volume labelled "
                                     "socklab.cluster")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--name", default=DEFAULT_NAME, help=f"the cluster's name (default {DEFAULT_NAME})")
    which.add_argument("--all", action="store_true", help="every cluster on this host")
    p.set_defaults(func=down)


def up(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..lab import images, machines
    from ..lab.engine import Engine

    with contextlib.closing(Engine()) as engine:
        built = images.ensure(engine, ["machine", "node", "capture"], progress=say)
        plan = machines.ClusterPlan(
            name=args.name, workers=args.workers, machine_image=built["machine"].ref,
            lab_images={built[n].ref: built[n].image_id for n in ("node", "capture")},
            root=ROOT, certs=Path(args.certs).resolve(), state=STATE / args.name, plays=args.plays,
            start_workers=not args.machines_only, socket_gid=_docker_group(), timeout=args.timeout)
        cluster = machines.up(engine, plan, lambda url: Engine(base_url=url, pool_size=2), progress=say)
    say(f"cluster {cluster.name} is up in {cluster.timings['up']:.0f} s: {len(cluster.machines)} lab machine(s) "
        f"({', '.join(f'{m.name} {m.ip}' for m in cluster.machines)})")
    for m in cluster.machines:
        say(f"  {m.name}'s own engine: DOCKER_HOST={m.docker_host}")
    if cluster.address:
        say(f"scheduler: {cluster.address}")
        say(f"dashboard: {cluster.dashboard}")
    return errors.EXIT_OK


def down(args: argparse.Namespace) -> int:
    from ..lab import machines
    from ..lab.engine import Engine

    with contextlib.closing(Engine()) as engine:
        if args.all:
            containers, networks = machines.down(engine, None, None)
            if STATE.is_dir():  # every cluster's sockets; the certificates stay
                for folder in STATE.iterdir():
                    if folder.name != "certs" and folder.is_dir():
                        shutil.rmtree(folder, ignore_errors=True)
        else:
            containers, networks = machines.down(engine, args.name, STATE / args.name)
    which = "every cluster" if args.all else f"cluster {args.name}"
    say(f"removed {containers} container(s) and {networks} network(s) of {which} (label {CLUSTER_LABEL}), "
        "and their volumes")
    return errors.EXIT_OK


def _docker_group() -> int | None:
    """The group of the host's Docker socket: each machine's socket gets it, so whoever may use the host's engine
    may use the machines' (None when the host's engine is not a local socket)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return None
    with contextlib.suppress(OSError):
        return os.stat(host[len("unix://"):]).st_gid
    return None
