"""The values the keys of steps (and checks) take: the signals a step may send, the streams and protocols,
the limits of a timeout and of a count, what an id is, and an expected exit status (NONZERO) with how a
status is matched against it and said to people."""
from __future__ import annotations

import re

SIGNALS = ("SIGINT", "SIGTERM", "SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
STREAMS = ("stdout", "stderr", "both")
PROTOS = ("tcp", "udp")
MAX_SECONDS = 3600.0
MAX_COUNT = 1_000_000  # a log wait's count (and a check's count, min, max): more lines than capped output holds
ID = re.compile(r"[A-Za-z0-9_-]+")
ID_RULE = "a name of letters, digits, '_' and '-'"
RUN_EXAMPLE = "[server_tcp.py, 0.0.0.0, 5000]"

#: An expected exit status that is any but 0 (`status: nonzero`): a program refusing its arguments.
NONZERO = "nonzero"


def status_matches(expected: int | str | None, status: int | None) -> bool:
    """Whether an exit status is the one expected: a number, NONZERO (1-255: it ended by itself, saying
    it failed; a signal's death is not that), or None (any)."""
    if expected is None:
        return True
    if expected == NONZERO:
        return status is not None and 0 < status < 256
    return status == expected


def expected_status(expected: int | str) -> str:
    """An expected exit status for people: 'exit status 0', 'a non-zero exit status'."""
    return "a non-zero exit status" if expected == NONZERO else f"exit status {expected}"
