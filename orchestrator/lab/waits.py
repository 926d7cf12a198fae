"""Wait strategies: every wait is for a condition, with a timeout that explains itself.

A strategy is an object with `describe()` and `check() -> (done, seen)`; `wait_for` polls it with a
short, growing interval until it is done or the deadline passes, then raises WaitTimeout naming
what was awaited, for how long, and the last thing seen (e.g. a container's status and recent logs).
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..base.errors import EnvironmentProblem, WaitTimeout
from ..evidence import SocketRow
from .observe import bound


class Condition(Protocol):
    def describe(self) -> str: ...

    def check(self) -> tuple[bool, str]: ...


def wait_for(condition: Condition, timeout: float, *, clock: Callable[[], float] = time.monotonic,
             pause: Callable[[float], None] = time.sleep) -> str:
    """Poll `condition` until it holds; returns what was seen then. Raises WaitTimeout, at once if the
    condition has a `hopeless()` that says why it can no longer come true (e.g. the server exited)."""
    began = clock()
    deadline = began + timeout
    interval = 0.005
    while True:
        done, seen = condition.check()
        if done:
            return seen
        why = getattr(condition, "hopeless", lambda: None)()
        if why:
            raise WaitTimeout(condition.describe(), timeout, f"{why}; {seen}" if seen else why,
                              gave_up_after=clock() - began)
        if clock() >= deadline:
            raise WaitTimeout(condition.describe(), timeout, seen)
        pause(min(interval, max(0.0, deadline - clock())))
        interval = min(interval * 2, 0.1)


@dataclass
class ContainerLogLine:
    """A line matching `pattern` in a container's logs (e.g. tcpdump's 'listening on')."""

    engine: object
    container: str
    pattern: str

    def describe(self) -> str:
        return f"a line matching /{self.pattern}/ in the logs of container {self.container[:12]}"

    def check(self) -> tuple[bool, str]:
        logs = self.engine.logs(self.container, tail=50)
        if re.search(self.pattern, logs, re.MULTILINE):
            return True, logs
        state = self.engine.state(self.container)
        tail = "\n".join(logs.splitlines()[-10:])
        if not state.get("Running"):  # it will never come: stop waiting now and say why
            raise EnvironmentProblem(f"{self.describe()} will not come: the container is {state.get('Status')} "
                                     f"(exit code {state.get('ExitCode')}); its last output:\n{tail}")
        return False, f"container {state.get('Status')}; last output:\n{tail}" if tail else \
            f"container {state.get('Status')}; no output yet"


@dataclass
class PortBound:
    """A socket bound to `port` on a host: a listening TCP socket, or a UDP socket, of either family.
    `sockets(proto)` lists the host's sockets of that protocol (lab.Lab.sockets: the kernel's tables,
    read without starting a process there)."""

    sockets: Callable[[str], list[SocketRow]]
    host: str
    proto: str
    port: int
    #: why the port can no longer be bound (every program on the host has exited), or None
    hopeless: Callable[[], str | None] = lambda: None

    def describe(self) -> str:
        what = "a TCP socket listening" if self.proto == "tcp" else "a UDP socket bound"
        return f"{what} on port {self.port} on {self.host}"

    def check(self) -> tuple[bool, str]:
        rows = self.sockets(self.proto)
        found = bound(rows, self.proto, self.port)
        if found:
            return True, found[0].raw
        serving = sorted({r.local for r in rows if self.proto == "udp" or r.state == "LISTEN"})
        what = "listening TCP" if self.proto == "tcp" else "bound UDP"
        return False, f"{what} sockets on {self.host}: {', '.join(serving) or 'none'}"
