"""The command line (the top layer): one module per command (images, run, validate, grade and check, clean,
impair, ladder, wait-log), each with its options (register) and what it does (command); the argument types
(argtypes.py); what the commands share (common.py); the parser, the console script and the one error handler
with its fixed exit codes (app.py)."""
from .app import build_parser, entry, main
from .ladder import LADDER_MAX_BYTES

__all__ = ["build_parser", "entry", "main", "LADDER_MAX_BYTES"]
