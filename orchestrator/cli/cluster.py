"""`cluster certs`, `cluster scheduler` and `worker`: grading on the lab PCs (README, Grading on the lab PCs;
orchestrator/cluster/). Each imports Dask only when it runs: `socklab --help` and a local grading never do."""
from __future__ import annotations

import argparse
import contextlib

from ..base import errors
from . import argtypes, clusterup
from .common import ROOT, lab_images, say

#: how long a worker tries to reach its scheduler before it gives up (exit 3)
SCHEDULER_WAIT = 60.0
#: how long a stopping worker gives its plays to tear their labs down
TEARDOWN_WAIT = 30.0
DEFAULT_PORT, DEFAULT_DASHBOARD_PORT = 8786, 8787


def register(sub) -> None:
    p = sub.add_parser("cluster", help="the cluster of lab machines: its certificates, its scheduler, and one on "
                       "this host (up, down: docs/cluster.md)")
    csub = p.add_subparsers(dest="cluster_command", required=True, metavar="COMMAND")
    c = csub.add_parser("certs", help="make the course's own CA and the certificates of the scheduler, the "
                        "workers and the grader (in DIR; keys 0600)")
    c.add_argument("dir", metavar="DIR", help="a new folder for them (ca-key.pem stays with the instructor)")
    c.add_argument("--days", type=int, default=400, help="how long they last (default: 400 days)")
    c.add_argument("--name", action="append", default=[], metavar="HOST",
                   help="a host name or address written in the certificates (may be repeated; Dask checks none)")
    c.set_defaults(func=certs_command)
    s = csub.add_parser("scheduler", help="the cluster's Dask scheduler: TLS only, certificates of the course's "
                        "CA required")
    s.add_argument("--certs", required=True, metavar="DIR", help="ca.pem, scheduler.pem, scheduler-key.pem")
    s.add_argument("--host", default="", help="the address it listens on (default: every interface)")
    s.add_argument("--port", type=argtypes.port, default=DEFAULT_PORT, help=f"its port (default: {DEFAULT_PORT})")
    s.add_argument("--dashboard-port", type=argtypes.port, default=DEFAULT_DASHBOARD_PORT,
                   help=f"Dask's dashboard, plain HTTP on 127.0.0.1 only (default: {DEFAULT_DASHBOARD_PORT}; "
                        "0: none); reach it with `ssh -L`")
    s.set_defaults(func=scheduler_command)
    clusterup.register_up(csub)
    clusterup.register_down(csub)
    w = sub.add_parser("worker", help="a lab machine's worker: plays the cluster's plays on this machine's "
                       "Docker Engine")
    w.add_argument("address", metavar="ADDRESS", help="the scheduler's address, tls://HOST:PORT")
    w.add_argument("--certs", required=True, metavar="DIR", help="ca.pem, worker.pem, worker-key.pem")
    w.add_argument("--plays", type=argtypes.jobs, default=None,
                   help="plays at once (default: what grade -j would choose for this engine)")
    w.add_argument("--name", default=None, help="its name in the cluster (default: the host name)")
    w.add_argument("--host", default=None, help="the address it listens on for the scheduler (default: Dask's "
                   "choice, an address of this machine)")
    w.add_argument("--topology", default=str(ROOT / "compose.yaml"), help="the lab (default: compose.yaml)")
    w.set_defaults(func=worker_command)


def certs_command(args: argparse.Namespace) -> int:
    from ..cluster import certs

    written = certs.make(args.dir, days=args.days, names=tuple(args.name))
    say(f"made the course's CA and the certificates of {', '.join(certs.ROLES)} in {args.dir}:")
    say("  every machine: ca.pem; the scheduler's: scheduler.pem, scheduler-key.pem; each lab machine: "
        "worker.pem, worker-key.pem; the grader: client.pem, client-key.pem")
    say(f"  {len(written)} files; keep ca-key.pem with you: no machine of the cluster needs it")
    return errors.EXIT_OK


def scheduler_command(args: argparse.Namespace) -> int:
    import asyncio
    import socket

    from ..cluster import certs

    security = certs.security(args.certs, "scheduler")

    async def serve() -> None:
        from distributed import Scheduler

        dashboard = f"127.0.0.1:{args.dashboard_port}" if args.dashboard_port else None
        scheduler = Scheduler(security=security, protocol="tls", host=args.host or None, port=args.port,
                              dashboard=dashboard is not None, dashboard_address=dashboard)
        try:
            await scheduler
        except OSError as e:
            raise errors.EnvironmentProblem(f"the scheduler cannot listen on {args.host or '*'}:{args.port}: "
                                            f"{e.strerror or e}") from None
        host = args.host or socket.getfqdn()
        say(f"scheduler at tls://{host}:{scheduler.port} (listening on {scheduler.address}); workers: "
            f"`socklab worker tls://{host}:{scheduler.port} --certs DIR`")
        if dashboard is not None:
            say(f"dashboard at http://{dashboard}/status (this machine only)")
        try:
            await scheduler.finished()
        finally:
            await scheduler.close()

    asyncio.run(serve())
    return errors.EXIT_OK


def worker_command(args: argparse.Namespace) -> int:
    import asyncio
    import socket

    from ..cluster import certs
    from ..cluster.client import check_address
    from ..cluster.worker import RESOURCE, Playing
    from ..grade import grading
    from ..lab.engine import Engine
    from ..model.topology import load_topology
    from ..play import runner

    address = check_address(args.address, "worker's ADDRESS")
    security = certs.security(args.certs, "worker")
    topology = load_topology(args.topology)
    with contextlib.closing(Engine(pool_size=max(10, (args.plays or grading.MAX_DEFAULT_JOBS) * 12))) as engine:
        plays = args.plays or grading.default_jobs(*engine.capacity(), topology, runner.Limits())
        images = lab_images(engine)  # built here if missing, from this checkout's recipe
        identity = engine.identity()
        playing = Playing(engine, images, identity["id"])
        name = args.name or socket.gethostname()

        async def serve() -> None:
            from distributed import Worker

            worker = Worker(address, security=security, nthreads=plays, resources={RESOURCE: plays}, name=name,
                            plugins=(playing,), host=args.host, dashboard_address="127.0.0.1:0",
                            death_timeout=SCHEDULER_WAIT, memory_limit=0)
            try:
                await worker
            except Exception as e:
                raise errors.EnvironmentProblem(f"waited {SCHEDULER_WAIT:g} s for the scheduler at {address}; "
                                                f"saw: {' '.join(str(e).split()) or type(e).__name__}") from None
            say(f"worker {name} at {worker.address}: {plays} plays at once on engine {identity['name']} "
                f"({identity['id']}), images " + ", ".join(f"{n} {im.ref}" for n, im in sorted(images.items())))
            await worker.finished()

        try:
            asyncio.run(serve())
        except KeyboardInterrupt:
            left = playing.stop_all(TEARDOWN_WAIT)  # every play under way here tears its lab down
            if left:
                say(f"waited {TEARDOWN_WAIT:g} s for the plays under way to tear down; {left} still were: their "
                    "labs stop by their leases as this process ends")
            raise
    return errors.EXIT_OK
