"""`python -m orchestrator`: SIGTERM is an interrupt from the first moment this module runs (before the
command line's imports, which take a while), and an interrupt while they run is exit 130 too."""
import signal
import sys

from .interrupts import exit_interrupted, terminate_as_interrupt

signal.signal(signal.SIGTERM, terminate_as_interrupt)
try:
    from .cli import EXIT_INTERRUPTED, main
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr, flush=True)
    exit_interrupted()
code = main()
if code == EXIT_INTERRUPTED:
    exit_interrupted()
sys.exit(code)
