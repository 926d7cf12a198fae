"""The command line: one module per command (each with `register`, its options, and `command`, what it does),
argtypes.py (the argument types), app.py (the parser, `entry`, `main` and the one error handler). Empty on
purpose: a command module's `from . import argtypes` imports this package first, and it imports nothing back."""
