"""`python -m orchestrator`. SIGTERM is an interrupt from this module's first line, and an interrupt while
the command line's modules are imported (they take a while) is exit 130 too: nothing is imported before the
`try` but what the interpreter has loaded already. (An interrupt in the interpreter's own start-up, before
this module runs, is not in the program's hands.)"""
import signal
import sys


def _interrupt(signum, frame):
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _interrupt)
try:
    from .base import interrupts
    interrupts.install()  # from here on an interrupt is noted too, and raised again if swallowed
    from .cli.app import main
    code = main()
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr, flush=True)
    code = 130
    from .base import interrupts  # (already imported, unless the interrupt came before: it is light)
interrupts.exit_with(code)
