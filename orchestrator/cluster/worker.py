"""A lab machine's side of the cluster: the plays a Dask worker plays on its machine's own Docker Engine.

The grader sends each play as plain data (`PlayTask`: the play unit's inputs, report/playunit.py) to
`play_there`, a module-level function the worker runs; it finds its machine's engine in the worker's
`Playing` plugin, which `socklab worker` installs (cli/cluster.py; the tests install one with a fake engine).
What comes back (`PlayedThere`) is the play's result and every file of its folder as bytes (report.json,
junit.xml, report.html, capture.pcap, the logs, the snapshots): the grader writes them into its own folder.

- One clock per play: the play runs here, whole, so its lines, its packets and its times are all of this
  machine's clock; nothing of the grader's clock goes in (the seconds a play took are counted here too).
- The images: a play names the exact images of the grading (their ids and package digests, as the grader's
  manifest records them). A worker plays only on the same: the same image id, or the same recipe (the same
  ref, whose tag is the hash of every input of the image) with the same packages' digest. Otherwise it refuses,
  and the play never runs here (the grader tries another machine).
- A play is idempotent: Dask may play one again (a worker lost after its play, before its result came back);
  it plays in a folder of its own, removed afterwards, and its lab is its own (labelled with the grading's
  session, torn down by the runner, or by its leases if this machine dies).
- Ctrl-C on the grader: `cancel_plays` (Client.run, on every worker) sets the cancel event of each play of
  that grading under way here, and the runner tears its lab down (as a local Ctrl-C does: base/interrupts.py).
"""
from __future__ import annotations

import dataclasses
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

from ..base.errors import SocklabError
from ..evidence import ImageEvidence
from ..report import playunit, report

PLUGIN = "socklab-playing"
#: the resource a worker offers and each play takes one of (`socklab worker --plays N`)
RESOURCE = "plays"


@dataclass(frozen=True)
class Machine:
    """Which machine and engine played a play (grading's manifest records it for each)."""

    worker: str  # the Dask worker's name (`socklab worker --name`, default: the host name)
    hostname: str
    engine: str  # the Docker Engine's id (`docker info`'s ID)

    def describe(self) -> str:
        return self.worker if self.worker == self.hostname else f"{self.worker} ({self.hostname})"


@dataclass(frozen=True)
class PlayTask:
    """One play as the grader sends it: plain data only (it is pickled to the worker)."""

    inputs: playunit.PlayInputs  # `folder`: the grader's (the report names it); played here in a folder of its own
    key: str  # the grading's key of the play (records.Part.key)


@dataclass(frozen=True)
class PlayedThere:
    """What a worker gives back for one play."""

    machine: Machine
    played: playunit.Played | None  # None when not played here (refused, failed or cancelled); folder: the grader's
    files: dict[str, bytes] = field(default_factory=dict)  # the play's folder, by path relative to it
    seconds: float = 0.0  # on this machine's clock
    failure: str | None = None  # why this machine could not play it: its engine failed, or its images differ
    refused: bool = False  # its images are not the grading's: nothing was run
    cancelled: bool = False


def images_differ(mine: dict[str, ImageEvidence], wanted: dict[str, ImageEvidence]) -> str | None:
    """Why a machine whose images are `mine` may not play on `wanted` (the grading's), or None: each wanted
    image must be here with the same id, or the same ref (recipe) and the same packages' digest."""
    problems = []
    for name, want in sorted(wanted.items()):
        have = mine.get(name)
        if have is None:
            problems.append(f"no {name} image (the grading's is {want.ref}, {want.id})")
        elif have.id != want.id and (have.ref != want.ref or have.packages_sha256 != want.packages_sha256
                                     or want.packages_sha256 in ("", "unknown")):
            problems.append(f"its {name} image is {have.ref} ({have.id}, packages {have.packages_sha256 or '?'}), "
                            f"the grading's {want.ref} ({want.id}, packages {want.packages_sha256 or '?'})")
    return "; ".join(problems) or None


def own_images(mine: dict[str, ImageEvidence], wanted: dict[str, ImageEvidence]) -> dict[str, ImageEvidence]:
    """The grading's images as this machine has them (its own ids: the evidence says what ran here)."""
    return {name: mine.get(name, want) for name, want in wanted.items()}


class Playing(WorkerPlugin):
    """The worker plugin that plays (Dask's WorkerPlugin: setup, teardown): this machine's engine,
    its images (as `socklab images` built them on it), who it is, and the cancel events of the plays under
    way. `play` is the play unit's (a test may give a fake one)."""

    name = PLUGIN
    idempotent = False

    def __init__(self, engine, images: dict[str, ImageEvidence], engine_id: str, *,
                 play: Callable[..., playunit.Played] = playunit.play, scratch: str | None = None):
        self.engine, self.images, self.engine_id, self._play = engine, dict(images), engine_id, play
        self.scratch = scratch  # where plays' folders are made (default: the system's temporary folder)
        self.machine = Machine("", socket.gethostname(), engine_id)
        self._lock = threading.Lock()
        self._cancels: dict[str, set[threading.Event]] = {}  # grading session -> its plays under way
        self._cancelled: set[str] = set()  # gradings stopped: their plays still waiting are not played

    def setup(self, worker) -> None:
        self.machine = Machine(str(worker.name), socket.gethostname(), self.engine_id)

    def teardown(self, worker) -> None:
        """The worker closes: every play under way here tears its lab down."""
        with self._lock:
            for events in self._cancels.values():
                for event in events:
                    event.set()

    def cancel(self, session: str) -> int:
        """Tear down every play of grading `session` under way here; how many there were."""
        with self._lock:
            self._cancelled.add(session)
            events = list(self._cancels.get(session, ()))
        for event in events:
            event.set()
        return len(events)

    def under_way(self) -> int:
        with self._lock:
            return sum(len(events) for events in self._cancels.values())

    def stop_all(self, timeout: float) -> int:
        """Tear down every play under way here (the machine stops); how many were still under way after
        `timeout` seconds (their labs then stop by their leases, when this process ends)."""
        self.teardown(None)
        deadline = time.monotonic() + timeout
        while self.under_way() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.under_way()

    def play(self, task: PlayTask) -> PlayedThere:
        """Play `task` on this machine (see the module)."""
        wanted = task.inputs.images
        why = images_differ(self.images, wanted)
        if why is not None:
            return PlayedThere(self.machine, None, failure=f"{self.machine.describe()} refused to play: {why}; "
                               "its images must be the grading's (`socklab images` there, from the same "
                               "commit, or `docker save` here and `docker load` there)", refused=True)
        session = task.inputs.session or ""
        cancel = threading.Event()
        with self._lock:
            if session in self._cancelled:
                return PlayedThere(self.machine, None, cancelled=True)
            self._cancels.setdefault(session, set()).add(cancel)
        started = time.monotonic()
        try:
            with tempfile.TemporaryDirectory(prefix="socklab-play-", dir=self.scratch) as tmp:
                folder = Path(tmp) / "play"
                inputs = dataclasses.replace(
                    task.inputs, runs_dir=Path(tmp), folder=folder, images=own_images(self.images, wanted),
                    artifacts=None if task.inputs.folder is None else str(task.inputs.folder))
                try:
                    played = self._play(inputs, self.engine, cancel=cancel)
                except KeyboardInterrupt:
                    return PlayedThere(self.machine, None, cancelled=True)
                except SocklabError as e:  # the engine failed this play: the grader tries another machine
                    return PlayedThere(self.machine, None, seconds=round(time.monotonic() - started, 3),
                                       failure=f"{self.machine.describe()}: {e}")
                files = {p.relative_to(folder).as_posix(): p.read_bytes()
                         for p in sorted(folder.rglob("*")) if p.is_file()}
        finally:
            with self._lock:
                self._cancels.get(session, set()).discard(cancel)
        seconds = round(time.monotonic() - started, 3)
        played = dataclasses.replace(played, folder=task.inputs.folder if task.inputs.folder is not None
                                     else played.folder)
        problem = report.run_problem(played.report) if played.report.get("verdict") == "error" else None
        return PlayedThere(self.machine, played, files, seconds,
                           failure=None if problem is None else f"{self.machine.describe()}: {problem}")


def play_there(task: PlayTask) -> PlayedThere:
    """The task a worker runs for one play (Client.submit(play_there, task, resources={'plays': 1})); a
    worker that `socklab worker` did not start (a bare `dask worker`) refuses it."""
    from distributed import get_worker

    worker = get_worker()
    found = getattr(worker, "plugins", {}).get(PLUGIN)
    if found is None:
        machine = Machine(str(worker.name), socket.gethostname(), "")
        return PlayedThere(machine, None, failure=f"{machine.describe()} refused to play: it is no "
                           "`socklab worker` (it has no engine to play on)", refused=True)
    return found.play(task)


def cancel_plays(session: str, dask_worker=None) -> int:
    """Client.run's function on every worker at the grader's Ctrl-C: grading `session`'s plays torn down."""
    found = getattr(dask_worker, "plugins", {}).get(PLUGIN)
    return found.cancel(session) if found is not None else 0


def machine_of(dask_worker=None) -> dict:
    """Client.run's function that asks each worker which machine it is and what images it has."""
    found = getattr(dask_worker, "plugins", {}).get(PLUGIN)
    if found is None:
        return {}
    return {"machine": dataclasses.asdict(found.machine),
            "images": {n: dataclasses.asdict(im) for n, im in found.images.items()}}
