"""A Dask cluster in this process, over TLS with the course's certificates (cluster/certs.py): a scheduler and
workers on an event loop of their own thread, each worker with its own Playing plugin (a fake engine, or a
fake play function), for the cluster's unit tests (tests/unit/test_cluster.py). Nothing is left running:
`close` ends every worker, the scheduler and the loop."""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from orchestrator.cluster import certs
from orchestrator.cluster.worker import RESOURCE, Playing

#: every wait on the loop: how long starting or closing a scheduler or worker may take here
WAIT = 20.0


class InProcessCluster:
    def __init__(self, certs_dir: Path):
        self.certs_dir = certs_dir
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="cluster-loop", daemon=True)
        self.thread.start()
        self.workers: dict[str, object] = {}
        self.scheduler = self._run(self._start_scheduler())
        self.address = self.scheduler.address

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(WAIT)

    async def _start_scheduler(self):
        from distributed import Scheduler

        scheduler = Scheduler(security=certs.security(self.certs_dir, "scheduler"), protocol="tls",
                              host="127.0.0.1", port=0, dashboard_address="127.0.0.1:0")
        await scheduler
        return scheduler

    def add_worker(self, name: str, playing: Playing, plays: int = 1):
        async def start():
            from distributed import Worker

            worker = Worker(self.address, security=certs.security(self.certs_dir, "worker"), nthreads=plays,
                            resources={RESOURCE: plays}, name=name, plugins=(playing,), dashboard_address="127.0.0.1:0",
                            host="127.0.0.1", memory_limit=0)
            await worker
            return worker

        self.workers[name] = self._run(start())
        return self.workers[name]

    def close_worker(self, name: str) -> None:
        worker = self.workers.pop(name)
        self._run(worker.close(executor_wait=False))

    def close(self) -> None:
        for name in list(self.workers):
            self.close_worker(name)
        self._run(self.scheduler.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)
