"""Command line: every subcommand runs inside one error handler with fixed exit codes.

Exit codes: 0 all checks passed, 1 a check failed, 2 invalid input (scenario, topology, arguments),
3 environment problem (no Docker daemon, images missing and not buildable), 130 interrupted.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
from pathlib import Path

from ..base import errors
from ..base import interrupts
from . import clean, cluster, grade, images, impair, ladder, run, validate, wait_log


def build_parser() -> argparse.ArgumentParser:
    prog = "socklab" if Path(sys.argv[0]).name == "socklab" else "python -m orchestrator"  # as it was started
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (images, run, validate, grade, cluster, clean, impair, ladder, wait_log):  # in the order --help lists them
        module.register(sub)
    return parser


def entry() -> None:
    """The console script `socklab` (pyproject.toml)."""
    interrupts.exit_with(main())


def main(argv: list[str] | None = None) -> int:
    """The command line: every error a user can cause is one message and a fixed exit code (errors.py);
    an interrupt, at any moment, is 130 after whatever was started has been torn down."""
    interrupts.install()
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as e:  # argparse: usage errors are invalid input
            return errors.EXIT_OK if e.code == 0 else errors.EXIT_INVALID_INPUT
        interrupts.check()  # one that came while the modules were imported, and was swallowed
        return args.func(args)
    except errors.SocklabError as e:
        _complain(f"error: {e}")
        return e.exit_code
    except KeyboardInterrupt:
        _complain("interrupted")
        return errors.EXIT_INTERRUPTED
    except OSError as e:
        if e.errno not in _OUTPUT_LOST:
            raise
        # our own output cannot be written (a closed pipe, a full disk): say so where we still can
        _drop_stdout()
        _complain(f"error: cannot write the output: {e.strerror}")
        return errors.EXIT_ENVIRONMENT


#: errors of writing to standard output that are the output's (the reader went away, the disk is full)
_OUTPUT_LOST = (errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EIO)


def _complain(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr, flush=True)


def _drop_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno() if sys.stdout else 1)
        os.close(null)
