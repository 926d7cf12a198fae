"""The verbs of the scenario language, played on a run: what each kind of step does (steps.Player). The steps
are plain data and call one verb each; here a verb expands placeholders with the run's addresses, acts on the
run's programs and lab, and waits patiently (Run.patiently: a wait's time counts only while the play's
programs wait). A failure is raised as StepFailed or WaitTimeout, saying what was awaited and what was seen;
the run records it (Run.play_step) and plays the next step.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Protocol, TypeVar

from ..base.errors import StepFailed, WaitTimeout
from ..evidence import Snapshot, StepResult
from ..lab.lab import Lab
from ..lab.observe import netstat_text
from ..base.placeholders import expand
from ..lab.process import RemoteProcess
from ..model.steps import Step
from ..model.stepvalues import NONZERO, status_matches
from ..lab.waits import PortBound, wait_for

T = TypeVar("T")

#: The longest a netstat step waits for the play's programs to be still (Verbs.snapshot): what a program does
#: right after the line a scenario waited for (a close) takes milliseconds.
SNAPSHOT_SETTLE = 0.5


class Stage(Protocol):
    """What the verbs need of a run: runner.Run is one, structurally (the verbs sit below the runner, which plays
    them: they never import it; tests/unit/test_verbs.py holds Run to every member, as it is here)."""

    lab: Lab
    snapshots: dict[str, Snapshot]
    stopped: dict[str, str]

    @property
    def addresses(self) -> dict[str, str]: ...

    def clock(self) -> float: ...

    def left(self, wanted: float) -> float: ...

    def program(self, pid: str) -> RemoteProcess: ...

    def start_program(self, pid: str, host_name: str, argv: list[str], timeout: float) -> None: ...

    def all_ended(self, host: str) -> str | None: ...

    def patiently(self, wait: Callable[[float], T], timeout: float) -> T: ...

    def settle(self, proc: RemoteProcess, timeout: float) -> None: ...

    def settle_all(self, timeout: float) -> None: ...

    def play_step(self, step: Step, key: str) -> StepResult: ...


class Verbs:
    """steps.Player over one run."""

    def __init__(self, run: Stage):
        self.run = run

    def start(self, program: str, host: str, argv: Sequence[str], timeout: float) -> None:
        self.run.start_program(program, host, [expand(a, self.run.addresses) for a in argv], timeout)

    def send(self, program: str, lines: Sequence[str], interval: float, close: bool, timeout: float) -> None:
        run = self.run
        proc = run.program(program)
        proc.write_lines([expand(line, run.addresses) for line in lines], interval,
                         before_each=lambda: run.settle_all(timeout))
        if close:
            proc.close_stdin()

    def wait_port(self, host: str, proto: str, port: int, timeout: float) -> None:
        run = self.run
        bound = PortBound(lambda p: run.lab.sockets(host, (p, p + "6")), host, proto, port,
                          lambda: run.all_ended(host))
        run.patiently(lambda t: wait_for(bound, t), timeout)

    def wait_line(self, program: str, pattern: str, stream: str, count: int, timeout: float) -> None:
        run = self.run
        compiled = re.compile(expand(pattern, run.addresses, regex=True))
        proc = run.program(program)
        awaited = f"{count} line(s) matching /{compiled.pattern}/ from {program}"
        run.patiently(lambda t: proc.wait_for_line(compiled, stream, count, t, awaited), timeout)

    def wait_exit(self, program: str, status: int | str | None, timeout: float) -> None:
        proc = self.run.program(program)

        def ended(t: float) -> int | None:
            code = proc.wait_exit(t)
            if code is None and proc.running:
                raise WaitTimeout(f"{program} to exit", t, f"still running; last output:\n{proc.tail()}")
            return code
        code = self.run.patiently(ended, timeout)
        if not status_matches(status, code):
            wanted = "a non-zero status" if status == NONZERO else status
            raise StepFailed(f"{program} exited with status {code}, expected {wanted}; "
                             f"last output:\n{proc.tail()}")

    def snapshot(self, host: str, name: str, timeout: float) -> None:
        """netstat once the play's programs are still (Run.settle_all, at most SNAPSHOT_SETTLE), as a person
        looks at it: a server that closes right after its answer has closed by then in every play, never only
        in some (seen: ESTABLISHED in one grading, FIN_WAIT1 in the next). A program that never stops
        computing costs a snapshot SNAPSHOT_SETTLE, not a send's longer wait."""
        run = self.run
        run.settle_all(min(timeout, SNAPSHOT_SETTLE))
        rows, earlier = run.lab.without_leftovers(host, run.lab.sockets(host, timeout=timeout))
        run.snapshots[name] = Snapshot(name, host, round(run.clock(), 6), rows, netstat_text(rows), earlier)

    def signal(self, program: str, signal: str, timeout: float) -> None:
        run = self.run
        proc = run.program(program)
        run.settle(proc, timeout)
        proc.signal(signal, lambda name, pid: run.lab.signal(proc.host, name, pid))

    def stop(self, program: str, timeout: float) -> None:
        run = self.run
        proc = run.program(program)
        if not proc.running:
            return

        def kill(name: str, pid: int) -> tuple[int, str, str]:
            return run.lab.signal(proc.host, name, pid)
        proc.signal("SIGTERM", kill)
        proc.wait_exit(timeout)
        if proc.running:  # (an ended one whose status the engine is slow to give is not killed)
            run.stopped[program] = f"SIGKILL: it did not end within {timeout:g} s of SIGTERM"
            proc.signal("SIGKILL", kill)
            proc.wait_exit(run.left(5.0))

    def together(self, steps: Sequence[Step], key: str) -> None:
        with ThreadPoolExecutor(max_workers=len(steps)) as pool:
            results = list(pool.map(lambda ix: self.run.play_step(ix[1], f"{key}.parallel[{ix[0]}]"),
                                    enumerate(steps)))
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise StepFailed("; ".join(f"{r.key} failed: {r.message}" for r in failed))
