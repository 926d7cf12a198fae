"""A program running in a lab container: started by `docker exec` with stdin attached, its output read
as timestamped lines by a thread, so that waiting for a line or for its exit is waiting on an event.

The program is started through a small `sh -c` wrapper: its first line on stderr names the program's
pid (needed to signal it inside the container) and is not part of its output. For a program under test
(demote=True) the wrapper also makes it, and whatever it starts, the kernel's first choice should the host
run out of memory (oom_score_adj 1000: anyone may raise their own) and lowers its CPU priority (nice 10)
below the orchestrator's observer in the same container, so that a program that hogs memory or the CPU
harms itself first, not what watches it. The wrapper starts no process: it `exec`s (a host whose process
limit a program has filled can still start the next one).
"""
from __future__ import annotations

import re
import secrets
import shlex
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ..base.errors import StepFailed, WaitTimeout
from ..evidence import Line, ProgramEvidence
from .engineapi import PlayEngine

PID_MARK = "socklab-pid "
_WRAPPER = 'echo "' + PID_MARK + '$$" >&2; exec "$@"'
#: for the programs under test (demote=True): first to go when memory runs out, behind the observer for CPU
_DEMOTED = ('echo "' + PID_MARK + '$$" >&2; echo 1000 2>/dev/null >/proc/self/oom_score_adj; '
            'exec nice -n 10 "$@"')
_STREAMS = {1: "stdout", 2: "stderr"}
#: How often a wait for a program's exit asks the engine whether it has exited, once its output is
#: still open after that long (a child it left behind may hold it): seconds.
EXIT_POLL = 0.5


def close_started(future: Future) -> None:
    """Close the process or shell a future started, if it did start (teardown: let go of its connection)."""
    if future.done() and not future.exception():
        future.result().close()


def _pump(session: Any, take: Callable[[int, bytes], None], end: Callable[[], None]) -> None:
    """Hand a session's output frames (stream number, bytes) to `take` until the process ends (or its
    connection goes away, at teardown: the process is gone too), then call `end`. A reader thread's body."""
    try:
        for stream_no, data in session.frames():
            take(stream_no, data)
    except OSError:
        pass
    finally:
        end()


class RemoteProcess:
    def __init__(self, engine: PlayEngine, container: str, argv: list[str], *, id: str, host: str, user: str = "",
                 environment: dict[str, str] | None = None, workdir: str | None = None,
                 clock: Callable[[], float] = time.monotonic, output_limit: int = 1 << 20,
                 count_only: tuple[str, ...] = (), demote: bool = False):
        """`count_only`: streams whose lines are counted (line_count) but not kept, e.g. tcpdump's line
        per packet, which would otherwise use up the output limit and crowd out what comes after.
        `demote`: a program under test (see the module's docstring)."""
        self.engine, self.argv, self.id, self.host = engine, tuple(argv), id, host
        self._count_only = frozenset(count_only)
        self._line_counts = {"stdout": 0, "stderr": 0}
        self._clock = clock
        self._limit = output_limit
        self._size = 0
        self._cond = threading.Condition()
        self._lines: list[Line] = []
        self._partial = {"stdout": b"", "stderr": b""}
        #: when the last character of the line being written arrived: a line's time is when its text was
        #: complete, not when its newline came (print() writes the text, then the newline, apart: under load the
        #: two can arrive on either side of a snapshot, and the line must not move with the scheduler)
        self._partial_at: dict[str, float] = {"stdout": 0.0, "stderr": 0.0}
        self._frames = {"stdout": 0, "stderr": 0}  # output received, however much of it is kept
        self._last_frame_at: dict[str, float | None] = {"stdout": None, "stderr": None}
        self._pid: int | None = None
        self._ended: float | None = None
        self._exit: int | None = None
        self._exit_unknown = False  # the engine did not give the exit status when asked (exit_status)
        self._truncated = False
        self._stdin_closed = False
        self.started = clock()
        self._written_at = self.started  # when a line was last written to its input
        wrapper = _DEMOTED if demote else _WRAPPER
        self._session = engine.exec_interactive(container, ["sh", "-c", wrapper, "socklab", *argv], user=user,
                                                environment=environment, workdir=workdir)
        threading.Thread(target=_pump, name=f"read-{id}", daemon=True,
                         args=(self._session, lambda n, data: self._take(_STREAMS.get(n, "stdout"), data),
                               self._end)).start()

    # ---- reading ------------------------------------------------------------------------------
    def _end(self) -> None:
        now = self._clock()
        with self._cond:
            for stream, rest in self._partial.items():
                if rest:
                    self._add(stream, rest, self._partial_at[stream])
            self._partial = {"stdout": b"", "stderr": b""}
            if self._ended is None:  # (wait_exit may have learnt of the end first)
                self._ended = now
            self._cond.notify_all()

    def _take(self, stream: str, data: bytes) -> None:
        now = self._clock()
        with self._cond:
            self._frames[stream] += 1
            self._last_frame_at[stream] = now
            pending = self._partial[stream]
            buf = pending + data
            *complete, rest = buf.split(b"\n")
            # the first line ended by this chunk was complete before it when the chunk adds only its end
            first_at = self._partial_at[stream] if pending and not data.split(b"\n", 1)[0].strip(b"\r") else now
            for i, raw in enumerate(complete):
                if self._pid is None and stream == "stderr" and raw.startswith(PID_MARK.encode()):
                    self._pid = int(raw[len(PID_MARK):])
                    continue
                self._add(stream, raw, first_at if i == 0 else now)
            if data.rsplit(b"\n", 1)[-1].strip(b"\r"):  # this chunk wrote some of the line now being written
                self._partial_at[stream] = now
            self._partial[stream] = rest[: self._limit]
            self._cond.notify_all()

    def _add(self, stream: str, raw: bytes, now: float) -> None:
        self._line_counts[stream] += 1
        if stream in self._count_only:
            return
        if self._size >= self._limit:
            self._truncated = True
            return
        self._size += len(raw) + 1
        self._lines.append(Line(round(now, 6), stream, raw.decode("utf-8", "replace").rstrip("\r")))

    # ---- questions ----------------------------------------------------------------------------
    def last_output_at(self) -> float:
        """When the program last wrote anything (on the run's clock), or when it started."""
        with self._cond:
            return max([self.started, *(t for t in self._last_frame_at.values() if t is not None)])

    def last_input_at(self) -> float:
        """When a line was last written to the program's input (on the run's clock), or when it started."""
        return self._written_at

    def last_frame_at(self) -> float | None:
        """When the program's output last arrived (on the run's clock); None if it has written nothing."""
        with self._cond:
            return max((t for t in self._last_frame_at.values() if t is not None), default=None)

    @property
    def running(self) -> bool:
        return self._ended is None

    def lines(self, stream: str = "both", partial: bool = False) -> list[str]:
        """Complete lines so far; with partial=True also what has been written of the current line
        (e.g. a prompt such as 'Hey there: ' that waits for input)."""
        with self._cond:
            out = [ln.text for ln in self._lines if stream in ("both", ln.stream)]
            if partial:
                for s, rest in self._partial.items():
                    if rest and stream in ("both", s):
                        out.append(rest.decode("utf-8", "replace"))
        return out

    def line_count(self, stream: str, partial: bool = False) -> int:
        """How many lines `stream` has had, kept or not (with partial=True, the one being written too)."""
        with self._cond:
            return self._line_counts[stream] + (1 if partial and self._partial[stream] else 0)

    def tail(self, n: int = 8) -> str:
        lines = self.lines(partial=True)[-n:]
        return "\n".join(f"  | {ln}" for ln in lines) if lines else "  (no output)"

    # ---- waiting ------------------------------------------------------------------------------
    def wait_for_line(self, pattern: re.Pattern[str], stream: str, count: int, timeout: float,
                      awaited: str) -> str:
        """Wait until `count` lines (the line being written counts too) match; returns the last match."""
        began = self._clock()
        deadline = began + timeout
        with self._cond:
            while True:
                matches = [ln for ln in self.lines(stream, partial=True) if pattern.search(ln)]
                if len(matches) >= count:
                    return matches[count - 1]
                if not self.running:
                    raise WaitTimeout(awaited, timeout, f"{self.id} exited (status {self.exit_status()}) "
                                      f"after {len(matches)} matching line(s); its last output:\n{self.tail()}",
                                      gave_up_after=self._clock() - began)
                left = deadline - self._clock()
                if left <= 0:
                    raise WaitTimeout(awaited, timeout, f"{len(matches)} matching line(s); "
                                      f"{self.id}'s last output:\n{self.tail()}")
                self._cond.wait(left)

    def activity(self, stream: str) -> tuple[int, float | None]:
        """How many pieces of output `stream` has had so far, and when the last one came (None: none yet)."""
        with self._cond:
            return self._frames[stream], self._last_frame_at[stream]

    def wait_for_activity(self, stream: str, seen: int, timeout: float) -> None:
        """Wait until `stream` has had more than `seen` pieces of output, or `timeout` has passed."""
        with self._cond:
            self._cond.wait_for(lambda: self._frames[stream] > seen, timeout)

    def wait_exit(self, timeout: float) -> int | None:
        """Wait for the process to end; its exit status (None if it is still running at the deadline).

        Its end is normally the end of its output. A child it left behind may hold that output open
        after it has exited (as a background job keeps a terminal): so once the wait has gone on for
        EXIT_POLL, the engine is asked, that often, whether the process itself is still running."""
        deadline = self._clock() + timeout
        with self._cond:
            while self.running:
                left = deadline - self._clock()
                if left <= 0:
                    return None
                if not self._cond.wait(min(left, EXIT_POLL)) and self.running:
                    code = self.engine.exec_exit_code(self._session.exec_id)
                    if code is not None:  # it has exited; what it left behind may still write
                        self._exit, self._ended = code, self._clock()
                        self._cond.notify_all()
        return self.exit_status(deadline)

    def exit_status(self, deadline: float | None = None) -> int | None:
        """The exit status once ended. Docker may report the exec as running for a moment after its
        output closed, so ask until it says otherwise (bounded; once it has not said within that, None
        from then on: asking again would only make every later question wait as long)."""
        if self._exit is not None or self.running or self._exit_unknown:
            return self._exit
        deadline = deadline if deadline is not None else self._clock() + 2.0
        pause = 0.002
        while True:
            code = self.engine.exec_exit_code(self._session.exec_id)
            if code is not None or self._clock() >= deadline:
                self._exit, self._exit_unknown = code, code is None
                return code
            time.sleep(pause)  # bounded poll of the engine's record, not a readiness guess
            pause = min(pause * 2, 0.05)

    # ---- acting -------------------------------------------------------------------------------
    def write_lines(self, lines: list[str], interval: float = 0.0,
                    before_each: Callable[[], None] | None = None) -> None:
        """Write each line and a newline to the program's input, `interval` seconds apart, calling
        `before_each` (Run.settle_all) before each one."""
        if self._stdin_closed:
            raise StepFailed(f"the standard input of {self.id} is closed already")
        for i, line in enumerate(lines):
            if i and interval and self.running:
                time.sleep(interval)  # the scenario asks for this spacing, as a person typing
            if before_each is not None and self.running:
                before_each()
            if not self.running:
                raise StepFailed(f"{self.id} exited (status {self.exit_status()}) before it was sent "
                                 f"line {i + 1} ({line!r}); its last output:\n{self.tail()}")
            try:
                self._session.write((line + "\n").encode("utf-8"))
                self._written_at = self._clock()
            except OSError as e:
                raise StepFailed(f"could not write to {self.id}'s standard input: {e}") from e

    def close_stdin(self) -> None:
        self._stdin_closed = True
        self._session.close_stdin()

    def known_pid(self) -> int | None:
        """The program's pid if it has been reported (its wrapper's first stderr line), else None: no wait."""
        with self._cond:
            return self._pid

    def pid(self, timeout: float = 5.0) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self._pid is not None or not self.running, timeout)
            if self._pid is None:
                raise StepFailed(f"{self.id} did not start (no pid reported); its output:\n{self.tail()}")
            return self._pid

    def signal(self, name: str, send: Callable[[str, int], tuple[int, str, str]]) -> None:
        """Send a signal by name (SIGINT...) inside the container; `send(name, pid)` does it there as a
        user allowed to signal the program (the host's observer: lab.Lab.signal)."""
        if not self.running:
            raise StepFailed(f"{self.id} is not running any more (exit status {self.exit_status()}); "
                             f"cannot send it {name}")
        code, out, err = send(name, self.pid())
        if code != 0 and self.running:
            raise StepFailed(f"kill -s {name} {self._pid} failed in {self.host}: {(out + err).strip()}")

    def close(self) -> None:
        self._session.close()

    def evidence(self, source: str = "command", stopped: str | None = None, threads: int = 0) -> ProgramEvidence:
        with self._cond:
            return ProgramEvidence(id=self.id, host=self.host, argv=self.argv, lines=tuple(self._lines),
                                   exit_status=None if self.running else self.exit_status(),
                                   started=round(self.started, 6),
                                   ended=None if self._ended is None else round(self._ended, 6),
                                   truncated=self._truncated, source=source, stopped=stopped,
                                   threads=threads)


class Shell:
    """A long-lived `sh` in a container, for the orchestrator's own short commands (the observer: lab.py).

    Why not one `docker exec` per command: each exec costs three API round trips (create, start,
    inspect), about 75 ms of CPU here; a scenario runs a dozen such commands. A command written to the
    shell costs nothing more than what it runs (shell builtins: nothing). Each command's end is marked on
    both streams with a random token, followed on stdout by its exit status. A command that did not end
    in time is waited for (and its output dropped) before the next one runs, so its late output can
    never be taken for the next command's.
    """

    def __init__(self, engine: PlayEngine, container: str, user: str, host: str, shell: str = "sh"):
        self.host = host
        self._session = engine.exec_interactive(container, [shell], user=user)
        self._cond = threading.Condition()
        self._buf = {1: b"", 2: b""}
        self._ended = False
        self._late: tuple[re.Pattern[bytes], bytes] | None = None  # the markers of a command that timed out
        self._lock = threading.Lock()  # one command at a time
        threading.Thread(target=_pump, name=f"shell-{host}-{user}", daemon=True,
                         args=(self._session, self._take, self._end)).start()

    def _take(self, stream_no: int, data: bytes) -> None:
        with self._cond:
            self._buf[stream_no] = self._buf.get(stream_no, b"") + data
            self._cond.notify_all()

    def _end(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def _finished(self, marks: tuple[re.Pattern[bytes], bytes], timeout: float) -> re.Match[bytes] | None:
        """Wait (holding _cond) until a command's markers are on both streams; the stdout marker's match."""
        out_mark, err_mark = marks
        self._cond.wait_for(lambda: self._ended or (out_mark.search(self._buf[1]) and err_mark in self._buf[2]),
                            timeout)
        m = out_mark.search(self._buf[1])
        return m if m and err_mark in self._buf[2] else None

    def _take_output(self, m: re.Match[bytes], err_mark: bytes) -> tuple[bytes, bytes]:
        out, self._buf[1] = self._buf[1][: m.start()], self._buf[1][m.end():]
        err, _, self._buf[2] = self._buf[2].partition(err_mark)
        return out, err

    def run(self, command: list[str] | str, timeout: float = 10.0) -> tuple[int, str, str]:
        """Run a command (argv, or a one-line script of our own) to completion: (exit status, stdout,
        stderr). Only shell builtins run without a new process (observe.py)."""
        token = secrets.token_hex(8)
        text = command if isinstance(command, str) else " ".join(shlex.quote(a) for a in command)
        assert "\n" not in text, "one line per command"
        line = (f"{{ {text}; }} </dev/null; "
                f"printf '\\n{token} %s\\n' $?; printf '\\n{token}\\n' >&2\n")
        marks = (re.compile(rb"\n" + token.encode() + rb" (\d+)\n"), b"\n" + token.encode() + b"\n")
        with self._lock:
            with self._cond:
                if self._late is not None:  # what timed out before must end first (its output is dropped)
                    late = self._finished(self._late, timeout)
                    if late is None:
                        raise WaitTimeout(f"an earlier command on {self.host} to finish before {text[:60]!r}",
                                          timeout, "it is still running")
                    self._take_output(late, self._late[1])
                    self._late = None
            try:
                self._session.write(line.encode())
            except OSError as e:
                raise StepFailed(f"the orchestrator's shell on {self.host} is gone ({e})") from e
            with self._cond:
                m = self._finished(marks, timeout)
                if m is None:
                    seen = (self._buf[1] + self._buf[2])[-300:].decode("utf-8", "replace")
                    if self._ended:
                        raise StepFailed(f"the orchestrator's shell on {self.host} ended while running "
                                         f"{text[:80]!r}: {seen}")
                    self._late = marks
                    raise WaitTimeout(f"{text[:80]!r} on {self.host} to finish", timeout, seen)
                out, err = self._take_output(m, marks[1])
        return int(m.group(1)), out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def close(self) -> None:
        self._session.close()
