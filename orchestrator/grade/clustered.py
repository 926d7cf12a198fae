"""Grading with the plays on a cluster's workers (`socklab grade --cluster`, issue 18): the same plan, cache,
results and grades as grading.Grader, each play sent to a lab machine (cluster/worker.py) and its result and
artifacts written here, into the part's folder, as a local play writes them.

- Each play is a task of its own, in a lab of its own on the machine that plays it (like --fresh-labs: a
  lab shared by a student's plays would tie them to one machine, and a lost machine would take all of them).
- A worker lost mid-play (dead, cut off): Dask plays its tasks again on another worker by itself.
- A play its machine could not carry out (its engine failed: what is an 'error' verdict or an engine error
  locally; or its images are not the grading's) is played again on a machine that has not failed it, and
  becomes the student's `error` only once every machine connected has failed it: never a grade.
- A play that shows a race (races.py) is played again, as locally, up to RACE_PLAYS times, wherever.
- Ctrl-C: every worker tears down this grading's plays and plays none of it any more; what finished is stored
  (a next grading re-uses it), and KeyboardInterrupt goes on up.
- No worker for WORKER_TIMEOUT seconds while plays wait: an EnvironmentProblem that says so.
"""
from __future__ import annotations

import dataclasses
import json
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..base.errors import EnvironmentProblem
from ..base.interrupts import Interrupts
from ..cluster.client import WORKER_TIMEOUT, Cluster, lost_worker
from ..cluster.worker import PlayedThere, PlayTask
from .grading import Settings, assemble, play_inputs, plan, result_of
from .races import RACE_PLAYS, combine, decided, shows_race
from .records import PART_FILE, Part, PartResult, StudentGrade, cached, store
from .submission import Submission

#: how long the workers get to tear down a stopped grading's plays (each answers as soon as its lab is down)
TEARDOWN_TIMEOUT = 30.0


@dataclass
class Job:
    """One play of a part on the cluster (the first, or a replay: n > 1), and the machines that failed it."""

    part: Part
    n: int = 1
    failed: dict[str, str] = field(default_factory=dict)  # worker name -> why it could not play it
    first: PartResult | None = None  # the first play's result (for a replay)
    again: list[PartResult] = field(default_factory=list)
    workers: list[str] | None = None  # the workers it may play on (None: any)

    @property
    def folder(self) -> Path:
        return self.part.folder if self.n == 1 else self.part.folder / f"play-{self.n}"


class ClusterGrader:
    """grading.Grader's counterpart on a cluster (see the module)."""

    def __init__(self, cluster: Cluster, settings: Settings, force: bool = False,
                 on_part: Callable[[Part, PartResult | None], None] = lambda part, result: None,
                 on_machines: Callable[[dict[str, int]], None] = lambda under_way: None,
                 worker_timeout: float = WORKER_TIMEOUT):
        self.cluster, self.settings, self.force = cluster, settings, force
        self.on_part, self.on_machines, self.worker_timeout = on_part, on_machines, worker_timeout
        self.replaced: list[str] = []  # (grading.Grader's: no lab is shared here)
        self.labs_created = 0
        self.played_by: dict[str, dict] = {}  # part key -> the machine of each of its plays, and what failed
        self._pending: dict = {}  # future -> Job
        self._events: queue.Queue = queue.Queue()
        self._count = 0
        self._workerless_since: float | None = None
        self._watched = 0.0
        self._stopping = False

    def grade(self, submissions: list[Submission]) -> list[StudentGrade]:
        plans = {s.name: plan(s, self.settings) for s in submissions}
        results: dict[str, PartResult] = {}
        todo = []
        for parts in plans.values():
            for part in parts:
                found = None if self.force else cached(part)
                if found is not None:
                    results[part.key] = found
                    self.played_by[part.key] = {"reused": True, **_recorded(part)}
                    self.on_part(part, found)
                else:
                    todo.append(part)
        with Interrupts() as interrupts:
            try:
                for part in todo:
                    self._submit(Job(part))
                while self._pending:  # short waits, so that Ctrl-C is taken at once
                    try:
                        future = self._events.get(timeout=0.2)
                    except queue.Empty:
                        self._watch()
                        continue
                    self._take(future, results)
            except KeyboardInterrupt:
                with interrupts.held():
                    self._stop(results)
                raise
        return [assemble(s, plans[s.name], results, self.settings) for s in submissions]

    # ---- one play on the cluster ------------------------------------------------------------
    def _submit(self, job: Job, workers: list[str] | None = None) -> None:
        if self._stopping:
            return
        job.workers = workers
        job.folder.mkdir(parents=True, exist_ok=True)
        inputs = play_inputs(dataclasses.replace(job.part, folder=job.folder), self.settings)
        self._count += 1
        key = f"socklab-play-{self.settings.session}-{self._count}"
        future = self.cluster.submit(PlayTask(inputs, job.part.key), key, workers)
        self._pending[future] = job
        self.labs_created += 1
        future.add_done_callback(self._events.put)  # (called on the client's thread)

    def _take(self, future, results: dict[str, PartResult]) -> None:
        job = self._pending.pop(future, None)
        if job is None or future.status == "cancelled":
            return
        if future.status == "error":
            e = future.exception()
            if not lost_worker(e):
                raise e  # a failure of the task itself is a bug: it must not pass unseen
            self._finish(job, PartResult(job.part.key, "error", f"the machines that played it were lost, one "
                                         f"after the other ({e}): not judged", [], 0.0), results)
            return
        there: PlayedThere = future.result()
        if there.cancelled:
            return
        machine = dataclasses.asdict(there.machine)
        record = self.played_by.setdefault(job.part.key, {"plays": []})
        if there.failure is not None:
            job.failed[there.machine.worker or there.machine.hostname] = there.failure
            record.setdefault("failed", []).append({"play": job.n, "machine": machine, "why": there.failure})
            others = [a for a, name in self.cluster.workers().items() if name not in job.failed]
            if others:
                self._submit(job, others)
                return
            why = (f"every machine of the cluster failed to play it ({len(job.failed)}): "
                   + "; ".join(job.failed.values()))
            if there.played is not None:
                self._write(job, there)
            result = PartResult(job.part.key, "error", why, [], there.seconds)
            store(dataclasses.replace(job.part, folder=job.folder), result, played_by=machine)
            self._finish(job, result, results)
            return
        record["plays"].append({"play": job.n, "machine": machine, "seconds": there.seconds})
        self._write(job, there)
        result = result_of(dataclasses.replace(job.part, folder=job.folder), there.played, there.seconds,
                           played_by=machine)
        if job.n == 1 and shows_race(result):
            self._submit(Job(job.part, 2, first=result))
            return
        if job.n > 1:
            job.again.append(result)
            if result.verdict != "error" and not decided(job.first, job.again) and job.n < RACE_PLAYS:
                self._submit(Job(job.part, job.n + 1, first=job.first, again=job.again))
                return
            result = combine(job.first, job.again)
            store(job.part, result, replays=[f"play-{n}" for n in range(2, 2 + len(job.again))], played_by=machine)
        self._finish(job, result, results)

    def _write(self, job: Job, there: PlayedThere) -> None:
        """The play's artifacts, as the worker's folder held them, into the part's folder here."""
        for name, data in there.files.items():
            path = job.folder / name
            if job.folder.resolve() not in path.resolve().parents:
                raise EnvironmentProblem(f"{there.machine.describe()} sent an artifact outside the play's folder: "
                                         f"{name!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def _finish(self, job: Job, result: PartResult, results: dict[str, PartResult]) -> None:
        results[job.part.key] = result
        self.on_part(job.part, result)

    # ---- the cluster as a whole -------------------------------------------------------------
    def _watch(self) -> None:
        """Once a second: the plays under way on each machine (for the progress bar), and a cluster without a
        worker for worker_timeout seconds, which ends the grading (what is done is stored)."""
        now = time.monotonic()
        if now - self._watched < 1.0:
            return
        self._watched = now
        workers = self.cluster.workers()
        if workers:
            self._workerless_since = None
            self.on_machines(self.cluster.under_way())
            self._rescue(workers)
            return
        self._workerless_since = self._workerless_since or now
        if now - self._workerless_since > self.worker_timeout:
            raise EnvironmentProblem(f"waited {self.worker_timeout:g} s for a worker of the cluster at "
                                     f"{self.cluster.address} to play {len(self._pending)} plays; saw none "
                                     "connected (the results so far are kept: grade again to resume)")

    def _rescue(self, workers: dict[str, str]) -> None:
        """A play sent to machines that have all left since goes to one that has not failed it, or is the
        student's error if none is left."""
        for future, job in list(self._pending.items()):
            if job.workers is not None and future.status == "pending" and not set(job.workers) & set(workers):
                others = [a for a, name in workers.items() if name not in job.failed]
                if others:
                    self._pending.pop(future)
                    self.cluster.cancel([future])
                    self._submit(job, others)

    def _stop(self, results: dict[str, PartResult]) -> None:
        """Ctrl-C: the plays under way on every machine torn down, the results that came meanwhile kept."""
        self._stopping = True
        self.cluster.cancel_grading(self.settings.session)
        deadline = time.monotonic() + TEARDOWN_TIMEOUT
        while self._pending and time.monotonic() < deadline:
            try:
                future = self._events.get(timeout=0.2)
            except queue.Empty:
                continue
            if future in self._pending and future.status == "finished":
                self._take(future, results)  # a play that finished meanwhile is kept (nothing more is sent)
            self._pending.pop(future, None)
        self.cluster.cancel(list(self._pending))
        self._pending.clear()


def _recorded(part: Part) -> dict:
    """Which machine played a re-used result, as its part.json says."""
    try:
        data = json.loads((part.folder / PART_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {"played_by": data["played_by"]} if "played_by" in data else {}

