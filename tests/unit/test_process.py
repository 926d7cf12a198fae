"""process.py: a program's output as lines (pid line hidden, partial lines, limits), waits and stdin."""
import queue
import re
import threading
import time

import pytest

from orchestrator.base.errors import WaitTimeout
from orchestrator.lab.process import RemoteProcess, Shell, StepFailed

from .fake_engine import FakeEngine


def start(behaviour, **kw) -> RemoteProcess:
    engine = FakeEngine({"prog.py": behaviour})
    engine.create_container(name="h", image="socklab/node:test", command=["cat"], labels={})
    return RemoteProcess(engine, "c100", ["python3", "-u", "prog.py"], id="prog", host="h", **kw)


def test_lines_streams_and_the_hidden_pid_line():
    def behaviour(proc):
        proc.out("one")
        proc.err("oops")
        proc.out("two, no newline", end="")
        return 3

    p = start(behaviour)
    assert p.wait_exit(5) == 3
    ev = p.evidence()
    assert [(ln.stream, ln.text) for ln in ev.lines] == [("stdout", "one"), ("stderr", "oops"),
                                                         ("stdout", "two, no newline")]
    assert ev.exit_status == 3 and ev.ended is not None and not ev.truncated
    assert p.pid() > 0  # from the wrapper's first stderr line, which is not part of the output


def test_a_wait_sees_the_line_being_written_such_as_a_prompt():
    def behaviour(proc):
        proc.out("Hey there: ", end="")
        proc.next()
        return 0

    p = start(behaviour)
    assert p.wait_for_line(re.compile(r"^Hey there: $"), "stdout", 1, 5, "the prompt") == "Hey there: "
    p.write_lines(["bye"])
    assert p.wait_exit(5) == 0


def test_a_wait_that_cannot_come_true_says_what_was_seen():
    def behaviour(proc):
        proc.out("Waiting for connection response")
        return 1

    p = start(behaviour)
    with pytest.raises(WaitTimeout) as e:
        p.wait_for_line(re.compile("never"), "both", 1, 5, "a line that never comes")
    assert "prog exited (status 1)" in str(e.value) and "Waiting for connection response" in str(e.value)


def test_output_beyond_the_limit_is_dropped_and_marked():
    def behaviour(proc):
        for i in range(1000):
            proc.out(f"line {i:04d} " + "x" * 90)
        return 0

    p = start(behaviour, output_limit=10_000)
    assert p.wait_exit(5) == 0
    ev = p.evidence()
    assert ev.truncated and 90 <= len(ev.lines) <= 100 and ev.lines[0].text.startswith("line 0000")


def test_writing_to_a_program_that_has_exited_is_a_step_failure():
    p = start(lambda proc: 0)
    p.wait_exit(5)
    with pytest.raises(StepFailed, match="exited \\(status 0\\) before it was sent line 1"):
        p.write_lines(["hello"])
    with pytest.raises(StepFailed, match="is not running any more"):
        p.signal("SIGINT", lambda argv: (0, "", ""))


class SlowShellSession:
    """A shell (commands answered one after the other, in order) whose first command takes a while."""

    def __init__(self):
        self.frames_q: queue.Queue = queue.Queue()
        self.commands: queue.Queue = queue.Queue()
        self.exec_id = "shell"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        for n in range(1, 1000):
            line = self.commands.get()
            token = re.search(r"printf '\\n([0-9a-f]+) %s", line).group(1)
            if n == 1:
                time.sleep(0.3)
            self.frames_q.put((1, f"{'stale' if n == 1 else 'fresh'} rows\n{token} 0\n".encode()))
            self.frames_q.put((2, f"\n{token}\n".encode()))

    def write(self, data: bytes) -> None:
        self.commands.put(data.decode())

    def frames(self):
        while (item := self.frames_q.get()) is not None:
            yield item

    def close(self) -> None:
        self.frames_q.put(None)


def test_a_shell_command_that_timed_out_never_lends_its_output_to_the_next():
    session = SlowShellSession()
    engine = type("E", (), {"exec_interactive": lambda self, *a, **k: session})()
    shell = Shell(engine, "c1", "root", "server")
    with pytest.raises(WaitTimeout):
        shell.run("dump tables", timeout=0.05)
    assert shell.run("dump tables", timeout=2) == (0, "fresh rows", "")  # the stale answer was dropped
    shell.close()


def test_a_lines_time_is_when_its_text_was_complete_not_when_its_newline_came():
    """print() writes the text and the newline apart: under load the newline may come after a snapshot the
    text came before (tcp-clients' 'bob gets his own answer ... before: three' once cost a point so)."""
    now = [0.0]
    p = start(lambda proc: 0, clock=lambda: now[0])
    assert p.wait_exit(5) == 0
    for t, chunk in ((10.0, b"Hey there: Server message: I am bob"), (20.0, b"\nHey there: "), (30.0, b"\r\n"),
                     (40.0, b"one\ntwo"), (50.0, b"\n"), (60.0, b"three")):
        now[0] = t
        p._take("stdout", chunk)
    p._end()
    assert [(ln.t, ln.text) for ln in p.evidence().lines] == [
        (10.0, "Hey there: Server message: I am bob"), (20.0, "Hey there: "), (40.0, "one"), (40.0, "two"),
        (60.0, "three")]
