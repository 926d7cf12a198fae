"""Ctrl-C and SIGTERM: one interrupt, then a teardown that nothing cuts short.

The rules, in one place:
- SIGTERM behaves like SIGINT: a KeyboardInterrupt (`interrupt`, installed by `python -m orchestrator` and
  the command line as early as they can), so whatever was started is torn down in `finally`, and the exit
  code is 130.
- An interrupt is noted as well as raised, and `check()` raises it again where it is safe to: Python runs a
  signal handler wherever the main thread is, which may be inside a `__del__` or a finalizer, whose
  exceptions it prints and ignores ("Exception ignored in ..."); such a swallowed interrupt let a run play
  on to its end (the probe: once in about 75 start-ups).
- During a run (`Interrupts`), the first SIGINT or SIGTERM raises KeyboardInterrupt where the run is,
  unless it is inside `held()`: creating a resource (the engine finishes creating a network whose request
  was interrupted, after teardown has looked for it) or tearing down. There it waits for the block's end.
  Once one interrupt has been raised, later ones are only noted: the teardown that follows cannot be cut
  short by a second Ctrl-C.

Signal handlers exist only in the main thread; elsewhere these are no-ops. (No `typing` here: this module
is imported at the very start, where every millisecond of importing is a moment an interrupt may come.)
"""
from __future__ import annotations

import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_noted = False  # an interrupt came (outside a run's Interrupts), raised or swallowed


def interrupt(signum: int, frame: object) -> None:
    """The handler of SIGINT and SIGTERM: Ctrl-C, noted for check()."""
    global _noted
    _noted = True
    raise KeyboardInterrupt


def install() -> None:
    """SIGINT and SIGTERM both interrupt (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            signal.signal(sig, interrupt)


def exit_with(code: int) -> None:
    """End the process with `code`. After an interrupt (130) not by sys.exit: CPython 3.11 counts a
    KeyboardInterrupt that escaped an exec() of source text (dataclasses does that while modules are
    imported) as unhandled even when an outer `except` caught it, and then ends the process by SIGINT at
    exit (status -2, not 130)."""
    import os
    import sys

    if code == 130:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def check() -> None:
    """Raise again an interrupt that came and was swallowed (see the module)."""
    if _noted:
        raise KeyboardInterrupt


class Interrupts:
    """SIGINT and SIGTERM while a run plays (see the module): a context manager, with held() inside it.
    `cancel`: an event another thread may set to interrupt the run (grading runs play on worker threads,
    where no signal handler can be: the grading's main thread takes Ctrl-C and sets it); the run sees it at
    its next safe point (check)."""

    def __init__(self, cancel: threading.Event | None = None) -> None:
        self.cancel = cancel
        self.raised = False  # an interrupt has been raised: later ones are only noted
        self.noted = 0  # interrupts received
        self.finishing = False  # the run is tearing down: an interrupt raised before is on its way
        self._holding = 0
        self._pending = False
        self._previous: dict = {}

    def __enter__(self) -> Interrupts:
        check()  # one that came before the run, and was swallowed
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _handle(self, signum: int, frame: object) -> None:
        self.noted += 1
        if self.raised:
            return
        if self._holding:
            self._pending = True
            return
        self.raised = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """At a safe point of the run: raise again an interrupt that was raised and swallowed, or one another
        thread asked for (cancel)."""
        if self.finishing:
            return
        if self.raised or (self.cancel is not None and self.cancel.is_set()):
            self.raised = True
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def held(self):
        """Hold interrupts back while the block runs; one that came meanwhile is raised at its end."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding and self._pending and not self.raised:
                self._pending, self.raised = False, True
                raise KeyboardInterrupt
