"""Ctrl-C and SIGTERM: one interrupt, then a teardown that nothing cuts short.

The rules, in one place:
- SIGTERM behaves like SIGINT: a KeyboardInterrupt (`terminate_as_interrupt`, installed by the command
  line as early as it can be), so whatever was started is torn down in `finally`, and the exit code is 130.
- During a run (`Interrupts`), the first SIGINT or SIGTERM raises KeyboardInterrupt where the run is,
  unless it is inside `held()`: creating a resource (the engine finishes creating a network whose request
  was interrupted, after teardown has looked for it) or tearing down. There it waits for the block's end.
  Once one interrupt has been raised, later ones are only noted: the teardown that follows cannot be cut
  short by a second Ctrl-C.

Signal handlers exist only in the main thread; elsewhere these are no-ops.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def terminate_as_interrupt(signum: int, frame: Any) -> None:
    """A SIGTERM handler: the same as Ctrl-C."""
    raise KeyboardInterrupt


class Interrupts:
    """SIGINT and SIGTERM while a run plays (see the module): a context manager, with held() inside it."""

    def __init__(self) -> None:
        self.raised = False  # an interrupt has been raised: later ones are only noted
        self.noted = 0  # interrupts received
        self._holding = 0
        self._pending = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.noted += 1
        if self.raised:
            return
        if self._holding:
            self._pending = True
            return
        self.raised = True
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold interrupts back while the block runs; one that came meanwhile is raised at its end."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding and self._pending and not self.raised:
                self._pending, self.raised = False, True
                raise KeyboardInterrupt
