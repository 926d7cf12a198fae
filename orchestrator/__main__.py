"""`python -m orchestrator`. SIGTERM is an interrupt from this module's first line, and an interrupt while
the command line's modules are imported (they take a while) is exit 130 too: nothing is imported before the
`try` but what the interpreter has loaded already. (An interrupt in the interpreter's own start-up, before
this module runs, is not in the program's hands.)"""
import os
import signal
import sys


def _interrupt(signum, frame):
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _interrupt)
try:
    from . import interrupts
    interrupts.install()  # from here on an interrupt is noted too, and raised again if swallowed
    from .cli import main
    code = main()
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr, flush=True)
    code = 130
if code == 130:
    # not sys.exit: CPython 3.11 counts a KeyboardInterrupt that escaped an exec() of source text
    # (dataclasses does that while modules are imported) as unhandled even when an outer `except` caught
    # it, and then ends the process by SIGINT at exit (status -2, not 130)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)
sys.exit(code)
