"""Plays a scenario on an engine and collects the evidence; always tears down what it created.

One run: a lab of its own (lab.py: a network with no way out, one sandboxed container per host the
scenario uses, the capture sidecar in the server's network namespace). Programs are started with
`docker exec` in those running containers, as the host's unprivileged user. Every resource carries the
label socklab.run=<run id>; teardown removes by that label, in `finally`, whatever happened.

A step that fails or times out is recorded with what was awaited and what was seen; the steps after it
are recorded as skipped; the run still settles and stops the capture, collects everything and tears
down. The checks (checks.py) then decide, from the evidence alone.
"""
from __future__ import annotations

import secrets
import time
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from ..lab import capture as capture_mod
from ..lab import observe
from ..base.errors import SocklabError, WaitTimeout
from ..evidence import Evidence, ImageEvidence, Snapshot, StepResult
from ..evidence import HostLimits
from ..base.interrupts import Interrupts
from ..lab.lab import PROGRAMS_DIR, Lab, Limits
from ..base.labels import run_labels
from ..lab.process import RemoteProcess, StepFailed
from ..model.scenario import Scenario, Step, expand
from ..model.topology import Topology
from .verbs import Verbs
from ..lab.engineapi import PlayEngine


T = TypeVar("T")
#: How much longer a wait goes on, each time its time is up while a program of the play is busy (Run.patiently).
PATIENCE_STEP = 0.5
#: How far the scenario's time limit stretches while the play's programs are busy (Run.time_left): at most this
#: many times the limit in all. Ten clients that each print 2,000,000 lines before sending took lossy-link past its
#: 90 s on 2 cores shared with three other plays, and lost a point on a loaded machine that they kept on an idle one.
DEADLINE_STRETCH = 3.0

#: The environment of every program: Python unbuffered (a program written the handout's way, with plain
#: print and no flush, is read line by line as it prints), UTF-8 whatever the host's locale, and the same
#: randomness in every play (images/node/site/sitecustomize.py seeds `random`; fixed hash seed).
PROGRAM_ENVIRONMENT = {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8",
                       "PYTHONHASHSEED": "0", "PYTHONPATH": "/opt/socklab/site"}


@dataclass(frozen=True)
class RunOptions:
    runs_dir: Path
    images: dict[str, ImageEvidence]  # image name ('node', 'capture') -> the exact image to run
    limits: Limits = field(default_factory=Limits)
    quiet: float = 0.1  # the traffic has settled after this long without a packet
    settle_limit: float = 3.0
    capture_timeout: float = 15.0
    run_id: str | None = None
    #: files (name -> content) run instead of the reference programs of the same names: a submission's
    #: programs are run exactly how the reference ones are
    programs: dict[str, bytes] = field(default_factory=dict)
    #: where the run's artifacts go (default: runs_dir/<run id>)
    folder: Path | None = None
    #: the grading session the run belongs to: every resource carries it as a label too
    session: str | None = None
    #: set from another thread to end the run where it is (it tears down, then raises KeyboardInterrupt)
    cancel: threading.Event | None = None
    #: a lab that is already up and reset (lab.Lab.reusable_lab, grading): the run plays on it and leaves it
    #: standing for its owner; None: the run makes its own and removes it
    lab: Lab | None = None


@dataclass(frozen=True)
class Event:
    """Progress, for whoever draws it: kind is 'phase', 'step-start' or 'step-end'."""

    kind: str
    text: str
    result: StepResult | None = None


def exact_image(images: dict[str, ImageEvidence], ref: str) -> str:
    """The exact image of a run for a reference such as socklab/node:latest (by repository)."""
    repo = ref.rsplit(":", 1)[0]
    for img in images.values():
        if img.ref.rsplit(":", 1)[0] == repo:
            return img.ref
    return ref


def new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


#: A person signals a program (Ctrl-C) after reading its last output, not within a millisecond of it: a signal
#: step waits until the program has printed nothing for SETTLE seconds and is asleep (blocked, waiting for
#: input or a packet), for at most SETTLE_LIMIT seconds. Without it, a SIGINT sent as soon as a line appeared
#: could reach a Python program between its last check for signals and the read() it then blocked in: CPython
#: raises KeyboardInterrupt only when that read() returns, which for a client waiting on its keyboard is never.
#: Seen in the sample class graded with -j 4: the reference client missed 1 Ctrl-C in about 50 plays, and a
#: check on its FIN would have cost a student a point at random.
SETTLE, SETTLE_LIMIT = 0.1, 2.0


class Run:
    """One play of one scenario (see `run`): the state of the run in progress (a verbs.Stage, which the verbs play
    through)."""

    def __init__(self, engine: PlayEngine, topology: Topology, scenario: Scenario, options: RunOptions,
                 events: Callable[[Event], None]):
        self.engine, self.topology, self.scenario, self.options = engine, topology, scenario, options
        self.emit = events
        self.run_id = options.run_id or new_run_id()
        self.t0 = time.monotonic()
        self.epoch = time.time()  # the wall clock at t0 (evidence.Evidence.epoch)
        self.deadline = self.t0 + scenario.timeout
        self.hard_deadline = self.t0 + scenario.timeout * DEADLINE_STRETCH
        self.programs: dict[str, RemoteProcess] = {}
        self.stopped: dict[str, str] = {}  # program id -> how the run ended it (Stop escalated, teardown)
        self.threads: dict[str, int] = {}  # program id -> the most threads it was seen with at once (_threads_busy)
        self._sources: dict[str, str] = {}  # program id -> 'submission', 'reference' or 'command'
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"run-{self.run_id}")
        self.interrupts = Interrupts(options.cancel)
        if options.lab is not None:
            self.lab, self._own_lab = options.lab, False
            self.lab.use_clock(self.clock)
        else:
            self.lab, self._own_lab = Lab(engine, topology, scenario.hosts, self.run_id,
                                          run_labels(self.run_id, scenario.name, session=options.session),
                                          self._image, options.limits, options.programs, self.pool, self.clock,
                                          hold=self.interrupts.held), True
        self.snapshots: dict[str, Snapshot] = {}
        self.verbs = Verbs(self)  # what the steps play through (steps.Player)
        self.results: list[StepResult] = []
        self.timings: dict[str, float] = {}
        self.limits: dict[str, HostLimits] = {}
        self.impairments: tuple[dict[str, str], ...] = ()
        self.error: str | None = None
        self.folder = options.folder or options.runs_dir / self.run_id

    def clock(self) -> float:
        return time.monotonic() - self.t0

    # ---- the whole run ------------------------------------------------------------------------
    def play(self) -> Evidence:
        """Play the scenario: the first Ctrl-C or SIGTERM ends it where it is; teardown always follows,
        and no later one cuts it short (interrupts.py)."""
        with self.interrupts:
            return self._play_run()

    def _play_run(self) -> Evidence:
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.folder.mkdir(parents=True, exist_ok=True)
        cap_evidence = capture_mod.evidence(None, {}, None, "the run ended before the capture was analysed")
        try:
            if self._own_lab:
                self._phase("lab", self.lab.create)
            if self.scenario.impairments:  # before any packet: a loss pattern counts from the first
                self.impairments = self._phase("impair", lambda: self.lab.impair(self.scenario.impairments))
            filters = sorted({expand(f, self.addresses) for f in self.scenario.capture_filters()})
            self._phase("capture-start", lambda: self.lab.capture.start(
                self.left(self.options.capture_timeout), filters, self.lab.gateway))
            self._phase("steps", self._play_steps)
            self.limits = self._phase("limits", self.lab.limits_counted)
            cap_evidence = self._phase("capture-analysis", self._finish_capture)
        except SocklabError as e:
            self.error = str(e)
            self.emit(Event("phase", f"run error: {e}"))
        finally:
            with self.interrupts.held():
                self.interrupts.finishing = True
                for pid, proc in self.programs.items():
                    if proc.running:
                        self.stopped.setdefault(pid, "teardown")
                programs = {pid: p.evidence(source=self._sources.get(pid, "command"),
                                            stopped=self.stopped.get(pid), threads=self.threads.get(pid, 0))
                            for pid, p in self.programs.items()}
                self._phase("teardown", self.teardown)
        self.timings["total"] = round(self.clock(), 3)
        self._write_artifacts(programs)
        return Evidence(
            run_id=self.run_id, scenario=self.scenario.name, scenario_path=self.scenario.path, started_at=started_at,
            addresses=dict(self.addresses), programs=programs, snapshots=dict(self.snapshots), capture=cap_evidence,
            steps=tuple(self.results), images=dict(self.options.images), timings=dict(self.timings), error=self.error,
            limits=dict(self.limits), impairments=self.impairments, epoch=self.epoch,
        )

    @property
    def addresses(self) -> dict[str, str]:
        return self.lab.addresses

    def _phase(self, name: str, fn: Callable[[], Any]) -> Any:
        self.interrupts.check()
        self.emit(Event("phase", name))
        started = time.monotonic()
        try:
            return fn()
        finally:
            self.timings[name] = round(time.monotonic() - started, 3)

    def left(self, wanted: float) -> float:
        """`wanted` seconds, or what is left of the scenario's time limit (time_left) if that is less."""
        return max(0.0, min(wanted, self.time_left()))

    def time_left(self) -> float:
        """What is left of the scenario's time limit. Like a wait's time (patiently), it counts only while the
        play's programs wait: when it is up at a moment a program is still running or waiting for a CPU, it goes
        on, PATIENCE_STEP at a time, while that lasts, up to DEADLINE_STRETCH times the limit. So a play ends for
        want of what its programs do, never for want of a CPU on a loaded machine."""
        now = time.monotonic()
        while now >= self.deadline and self.deadline < self.hard_deadline and self.busy():
            self.deadline = min(self.hard_deadline, now + PATIENCE_STEP)
            now = time.monotonic()
        return self.deadline - now

    def _image(self, ref: str) -> str:
        return exact_image(self.options.images, ref)

    # ---- the steps ------------------------------------------------------------------------------
    def _play_steps(self) -> None:
        """Every step, in order. A step that fails does not stop the ones after it: they are played as far
        as they can be (a wait on a program that has exited ends at once, a signal to it fails at once),
        so every check judges evidence: a netstat, a TIME_WAIT or a FIN the programs did get right is
        seen even after a wait for a line they did not print."""
        for index, step in enumerate(self.scenario.steps):
            self.play_step(step, f"steps[{index}]")

    def busy(self) -> bool:
        """Whether a program of the play is doing something or waiting for a CPU (Lab.busy), not waiting. A
        program whose output is still arriving (within the last SETTLE seconds) is doing something too: one that
        prints a flood waits, asleep, for the lab to read it, at the speed of the machine, not of the program."""
        now = self.clock()
        running = [proc for proc in self.programs.values() if proc.running]
        flowing = (proc.last_frame_at() for proc in running)
        return any(t is not None and now - t < SETTLE for t in flowing) or self._threads_busy(running)

    def _threads_busy(self, procs: list[RemoteProcess]) -> bool:
        """Whether a thread of any of `procs` is running or waiting for a CPU (Lab.thread_states), noting
        on the way the most threads each was seen with at once (ProgramEvidence.threads). A program whose pid
        was never reported (its start step failed for it) is left out: asking would fail every wait and send
        after it, not only what needs its pid (a signal)."""
        by_host: dict[str, dict[int, str]] = {}
        for program, proc in self.programs.items():
            pid = proc.known_pid() if proc in procs else None
            if pid is not None:
                by_host.setdefault(proc.host, {})[pid] = program
        busy = False
        for host, programs in by_host.items():
            for pid, states in self.lab.thread_states(host, list(programs)).items():
                self.threads[programs[pid]] = max(self.threads.get(programs[pid], 0), len(states))
                busy = busy or any(state in observe.BUSY_STATES for state in states)
        return busy

    def settle_all(self, timeout: float) -> None:
        """Wait (at most SETTLE_LIMIT, or `timeout`) until every program of the play has printed nothing, and
        been sent nothing, for SETTLE seconds and none of their threads is running or waiting for a CPU: as a person waits for the
        screens to be still before typing the next line (a send step, before each line). Without it the next
        line reached the lab's client within a millisecond of the answer it waited for, and a server that
        closes right after answering got it before or after its close as the scheduler had it (a FIN, or a
        reset for unread data): points that came and went between two gradings."""
        self._until_still(timeout, lambda: [proc for proc in self.programs.values() if proc.running],
                          lambda proc: max(proc.last_output_at(), proc.last_input_at()),
                          lambda running: not self._threads_busy(running))

    def patiently(self, wait: Callable[[float], T], timeout: float) -> T:
        """`wait(timeout)`, whose time counts only while the play's programs wait: when it is up at a moment a
        program of the play is still running or waiting for a CPU (starting up on a loaded machine, or
        computing), the wait goes on, PATIENCE_STEP at a time, while that lasts (within the run's own limit).
        So a wait ends for want of what it waits for, never for want of a CPU: the same program gets the same
        verdict on an idle machine and on a busy one (README, Grading: the same points every time). A wait
        that can no longer come true (the program exited) ends at once, as before."""
        try:
            return wait(timeout)
        except WaitTimeout as timed_out:
            last, waited = timed_out, timeout
        while last.gave_up_after is None and self.busy() and (more := self.left(PATIENCE_STEP)) > 0:
            try:
                return wait(more)
            except WaitTimeout as again:
                last, waited = again, waited + more
        if last.gave_up_after is not None or waited == timeout:
            raise last
        raise WaitTimeout(last.awaited, round(waited, 1), last.seen + " (the time waited counts only while no "
                          "program of the play was running or waiting for a CPU)")

    def settle(self, proc: RemoteProcess, timeout: float) -> None:
        """Wait (at most SETTLE_LIMIT, or the step's timeout) until `proc` has been quiet for SETTLE seconds
        and is asleep, as a person would before pressing Ctrl-C (see SETTLE)."""
        self._until_still(timeout, lambda: [proc] if proc.running else [], lambda p: p.last_output_at(),
                          lambda running: self.lab.asleep(proc.host, proc.pid()))

    def _until_still(self, timeout: float, running: Callable[[], list[RemoteProcess]],
                     last: Callable[[RemoteProcess], float], still: Callable[[list[RemoteProcess]], bool]) -> None:
        """The wait of settle and settle_all: at most SETTLE_LIMIT (or `timeout`), until the programs `running()`
        gives have had nothing happen (`last`: when something last did, on the run's clock) for SETTLE seconds
        and are `still`, or none of them is running."""
        deadline = time.monotonic() + min(SETTLE_LIMIT, timeout)
        while (left := deadline - time.monotonic()) > 0:
            procs = running()
            if not procs:
                return
            quiet = self.clock() - max(last(proc) for proc in procs)
            if quiet < SETTLE:
                time.sleep(min(SETTLE - quiet, left))
            elif still(procs):
                return
            else:
                time.sleep(min(0.02, left))

    def play_step(self, step: Step, key: str) -> StepResult:
        description = step.describe()
        self.interrupts.check()
        self.emit(Event("step-start", f"{key}: {description}"))
        started = self.clock()
        try:
            if self.time_left() <= 0:
                raise StepFailed(self._out_of_time())
            step.play(self.verbs, self.left(step.timeout), key)
        except (WaitTimeout, StepFailed) as e:
            return self._record(step, key, "failed", str(e), started, self.clock() - started, description)
        return self._record(step, key, "ok", "", started, self.clock() - started, description)

    def _out_of_time(self) -> str:
        limit = f"the scenario's time limit ({self.scenario.timeout:g} s)"
        if self.deadline >= self.hard_deadline:
            return (f"{limit} ran out before this step, stretched to {self.scenario.timeout * DEADLINE_STRETCH:g} s "
                    "while the programs were still busy")
        return f"{limit} ran out before this step"

    def _record(self, step: Step, key: str, status: str, message: str, started: float | None,
                duration: float | None, description: str | None = None) -> StepResult:
        result = StepResult(key=key, line=step.where.line, kind=step.ACTION,
                            description=description or step.describe(),
                            status=status, message=message, started=None if started is None else round(started, 6),
                            duration=None if duration is None else round(duration, 6))
        self.results.append(result)
        self.emit(Event("step-end", result.description, result))
        return result

    def program(self, pid: str) -> RemoteProcess:
        if pid not in self.programs:
            raise StepFailed(f"program {pid!r} was never started (its start step failed or did not run)")
        return self.programs[pid]

    def start_program(self, pid: str, host_name: str, argv: list[str], timeout: float) -> None:
        """Start a program (a start step): a program file of the submission or the lab's (python3 -u, from its
        folder), or a command of the image; sandboxed and demoted to the host's user (process.py)."""
        host = self.topology.hosts[host_name]
        workdir, self._sources[pid] = PROGRAMS_DIR, "command"
        if "/" not in argv[0] and argv[0].endswith(".py"):
            workdir, self._sources[pid] = self.lab.program_dir(argv[0])
            argv = ["python3", "-u", *argv]
        proc = self.programs[pid] = RemoteProcess(
            self.engine, self.lab.container(host_name), argv, id=pid, host=host_name,
            user=host.user or "", workdir=workdir, clock=self.clock, output_limit=self.options.limits.output_bytes,
            # (the image's sitecustomize drops a flood past the limit in the program: it runs at its own pace)
            environment={**PROGRAM_ENVIRONMENT, "SOCKLAB_OUTPUT_LIMIT": str(self.options.limits.output_bytes)},
            demote=True)
        proc.pid(timeout)

    def all_ended(self, host: str) -> str | None:
        """Why nothing on `host` can bind a port any more: every program started there has exited."""
        procs = [p for p in self.programs.values() if p.host == host]
        if not procs or any(p.running for p in procs):
            return None
        ended = "; ".join(f"{p.id} exited (status {p.exit_status()}), its last output:\n{p.tail()}" for p in procs)
        return f"every program on {host} has exited: {ended}"

    # ---- the capture ----------------------------------------------------------------------------
    def _finish_capture(self):
        capture = self.lab.capture
        settled = capture.settle(self.options.quiet, self.options.settle_limit)
        stats, result, pcap = capture.stop(self.options.capture_timeout)
        path = self.folder / "capture.pcap"
        path.write_bytes(pcap)
        ev = capture_mod.evidence(str(path), stats, result, None, capture.capture_filter)
        if not settled:
            self.emit(Event("phase", f"traffic had not settled after {self.options.settle_limit:g} s; captured anyway"))
        return ev

    # ---- teardown and artifacts -----------------------------------------------------------------
    def teardown(self) -> None:
        """Remove everything labelled with this run's id, then let go of the connections. An interrupt
        while this runs is held back until it is done: a half-done teardown would leave containers."""
        with self.interrupts.held():
            if self._own_lab:
                self.lab.teardown()
            elif self.lab.capture and self.lab.capture.process and self.lab.capture.process.running:
                self.lab.capture.process.close_stdin()  # (a play that ended early: its capture stops too)
        for proc in self.programs.values():
            proc.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _write_artifacts(self, programs) -> None:
        logs = self.folder / "logs"
        logs.mkdir(exist_ok=True)
        by_host: dict[str, list[tuple[float, str]]] = {host: [] for host in self.scenario.hosts}
        for prog in programs.values():
            for ln in prog.lines:
                by_host.setdefault(prog.host, []).append((ln.t, f"{ln.t:9.3f} {prog.id} {ln.stream}: {ln.text}"))
            end = "still running at the end (killed)" if prog.exit_status is None else f"exit {prog.exit_status}"
            by_host.setdefault(prog.host, []).append((prog.ended or 1e9, f"{(prog.ended or 0):9.3f} {prog.id} {end}"))
        for host, rows in by_host.items():  # by time; lines of one time (one chunk of output) as they came
            order = sorted(range(len(rows)), key=lambda i: (rows[i][0], i))
            (logs / f"{host}.log").write_text("".join(rows[i][1] + "\n" for i in order))
        for snap in self.snapshots.values():
            head = f"# {snap.host} at {snap.t:.3f} s\n"
            if snap.earlier:
                head += (f"# (not shown: {snap.earlier} socket(s) in TIME_WAIT left by an earlier play in this "
                         "grading's lab; a lab of its own would not have them)\n")
            (self.folder / f"netstat-{snap.name}.txt").write_text(head + snap.raw)
            (self.folder / f"ss-{snap.name}.txt").write_text(head + observe.ss_text(snap.rows))


def run(engine: PlayEngine, topology: Topology, scenario: Scenario, options: RunOptions,
        events: Callable[[Event], None] = lambda e: None) -> Evidence:
    """Play `scenario` once; returns the evidence. Tears down whatever it created, always."""
    return Run(engine, topology, scenario, options, events).play()
