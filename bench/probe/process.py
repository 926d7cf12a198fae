"""The orchestrator's processes as the probe runs them (stdout also as lines, for triggers; exit and peak
memory from wait4; killed with its process group after a deadline, a hang) and the docker CLI, to look at
what a run left behind."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT


PY = sys.executable
TRACEBACK = "Traceback (most recent call last)"
NO_DOCKER = "unix:///nonexistent/socklab-probe.sock"  # refusals must come before any Docker work
HANG_VALIDATE = 20.0
HANG_CLI = 30.0
HANG_RUN = 300.0


@dataclass
class Result:
    argv: list
    code: int | None  # exit status; -N: killed by signal N
    out: str
    err: str
    seconds: float
    maxrss_kib: int
    hung: bool

    @property
    def traceback(self) -> bool:
        """The orchestrator's own traceback (its stdout may show a program's, in a failure's evidence)."""
        return TRACEBACK in self.err


class Child:
    """A process of the orchestrator: output read on threads (stdout also as lines, for triggers), exit and
    peak memory from wait4, killed with its process group after a deadline (a hang)."""

    KEEP = 4 << 20  # bytes of each stream kept

    def __init__(self, argv: list, *, env: dict | None = None, cwd: Path = ROOT, stdout=subprocess.PIPE,
                 stdin=subprocess.DEVNULL):
        self.argv = argv
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self._out, self._err = bytearray(), bytearray()
        self._readers = []
        if self.proc.stdout is not None:
            self._readers.append(threading.Thread(target=self._read, args=(self.proc.stdout, self._out, True),
                                                  daemon=True))
        self._readers.append(threading.Thread(target=self._read, args=(self.proc.stderr, self._err, False),
                                              daemon=True))
        for t in self._readers:
            t.start()
        self._done = threading.Event()
        self.status: int | None = None
        self.maxrss = 0
        self.t_end: float | None = None
        threading.Thread(target=self._wait4, daemon=True).start()

    def _read(self, stream, into: bytearray, lines: bool) -> None:
        pending = b""
        while True:
            try:
                chunk = stream.read1(65536)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            if len(into) < self.KEEP:
                into += chunk[: self.KEEP - len(into)]
            if lines:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    self.lines.put(line.decode("utf-8", "replace"))
                pending = pending[-65536:]
        if lines and pending:
            self.lines.put(pending.decode("utf-8", "replace"))
        stream.close()

    def _wait4(self) -> None:
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.t_end = time.monotonic()
        self.status = os.waitstatus_to_exitcode(status)
        self.proc.returncode = self.status  # Popen must not wait for it again
        self.maxrss = usage.ru_maxrss
        self._done.set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return not self._done.is_set()

    def signal(self, sig: int) -> None:
        if self.alive():
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> Result:
        hung = not self._done.wait(timeout)
        if hung:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own process group (start_new_session)
            except ProcessLookupError:
                pass
            self._done.wait()
        for t in self._readers:
            t.join(timeout=10)
        return Result(self.argv, self.status, self._out.decode("utf-8", "replace"),
                      self._err.decode("utf-8", "replace"), round(self.t_end - self.t0, 3), self.maxrss, hung)

    def next_line(self, until: float) -> str | None:
        """The next line of stdout, or None once `until` (monotonic) passes or the process has ended."""
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return None
            try:
                return self.lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                if not self.alive() and self.lines.empty():
                    time.sleep(0.05)
                    if self.lines.empty():
                        return None


def orchestrator(*args, timeout: float, env: dict | None = None, **kw) -> Result:
    return Child([PY, "-m", "orchestrator", *args], env=env, **kw).wait(timeout)


def env_with(**extra) -> dict:
    return {**os.environ, **extra}


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"docker {' '.join(args)}: timed out")


def labelled(label: str) -> dict[str, list[str]]:
    """Containers (any state), networks and volumes carrying `label` (key=value)."""
    found = {"containers": docker("ps", "-a", "-q", "--filter", f"label={label}").stdout.split(),
             "networks": docker("network", "ls", "-q", "--filter", f"label={label}").stdout.split(),
             "volumes": docker("volume", "ls", "-q", "--filter", f"label={label}").stdout.split()}
    return {kind: ids for kind, ids in found.items() if ids}


def running(label: str) -> list[str]:
    return docker("ps", "-q", "--filter", f"label={label}").stdout.split()


def run_ids_of(label: str) -> set[str]:
    """socklab.run of every resource carrying `label`."""
    fmt = '{{.Label "socklab.run"}}'
    ids = set()
    for args in (("ps", "-a"), ("network", "ls"), ("volume", "ls")):
        ids |= set(docker(*args, "--filter", f"label={label}", "--format", fmt).stdout.split())
    return ids


def remove_labelled(label: str) -> None:
    """Last resort, for the probe's own runs only: remove what carries `label`."""
    left = labelled(label)
    if left.get("containers"):
        docker("rm", "-f", *left["containers"])
    if left.get("networks"):
        docker("network", "rm", *left["networks"])
    if left.get("volumes"):
        docker("volume", "rm", "-f", *left["volumes"])


def summary_of(text: str, limit: int = 300) -> str:
    """The last meaningful lines of an output, on one line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    joined = " | ".join(lines[-3:])
    return joined[-limit:]
