"""The command line's argument types: a bad argument is refused by argparse (exit 2, one line) before any
Docker work."""
from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

#: Folders of the kernel and devices: never a place for a run's artifacts.
_SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))
#: A run id as runs and the compose lab write it (20261124-101010-a1b2c3, validate-..., lab).
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MAX_WAIT_SECONDS = 3600.0


def runs_dir(text: str) -> str:
    """--runs-dir: a folder, or a path where one can be made, outside /proc, /sys and /dev."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty (artifacts would go into the current folder); give a folder, "
                                         "e.g. --runs-dir runs")
    try:
        path = Path(text).resolve()
        for system in _SYSTEM_FOLDERS:
            if path == system or system in path.parents:
                raise argparse.ArgumentTypeError(f"{text!r} is in {system}, a folder of the system, not one for a "
                                                 "run's artifacts; give another")
        for folder in (path, *path.parents):  # the folder, or the nearest part of its path that exists
            if folder.exists():
                if not folder.is_dir():
                    what = "is a file" if folder == path else f"is inside {str(folder)!r}, which is a file"
                    raise argparse.ArgumentTypeError(f"{text!r} {what}, not a folder; give a folder")
                break
    except OSError as e:
        raise argparse.ArgumentTypeError(f"cannot use {text!r}: {e.strerror or e}") from None
    return text


def percent(text: str) -> int:
    """--loss, --duplicate, --reorder: 1% to 100% (the % may be left out)."""
    from ..model.scenario import PERCENT

    text = text if text.endswith("%") else text + "%"
    if not PERCENT.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be a whole percentage from 1% to 100%, e.g. 20% (got {text!r})")
    return int(text[:-1])


def milliseconds(text: str) -> float:
    """--delay, --jitter: milliseconds, 100ms (the ms may be left out)."""
    from ..model.scenario import MILLISECONDS

    text = text if text.endswith("ms") else text + "ms"
    if not MILLISECONDS.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be milliseconds, at most 99999ms, e.g. 100ms (got {text!r})")
    return float(text[:-2])


def rate(text: str) -> str:
    from ..model.scenario import RATE

    if not RATE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be a rate in kbit or mbit, e.g. 1mbit (got {text!r})")
    return text


def jobs(text: str) -> int:
    """-j: a whole number of plays at once, 1 to 64."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 64 (got {text!r})")
    return int(text)


def port(text: str) -> int:
    """--port, --dashboard-port: a port number, 0 (any free one) to 65535."""
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535 (got {text!r})")
    return int(text)


def programs_dir(text: str) -> str:
    """--programs: not empty (an empty one, say from an unset variable in a grading script, would quietly
    grade the reference programs instead of the student's)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: give the folder of the programs to run")
    return text


def sheet_file(text: str) -> str:
    """--moodle-worksheet, --canvas-gradebook: a file's path, not empty (it is read before any play)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: give the .csv file the platform exported")
    return text


def run_id(text: str) -> str:
    """clean --run: a run id (never empty: that would mean every run)."""
    if not text:
        raise argparse.ArgumentTypeError("is empty; give a run id (e.g. 20261124-101010-a1b2c3, or lab), or leave "
                                         "--run out to remove every dead run")
    if not _RUN_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not a run id: a run id is letters, digits, '.', '_' "
                                         "and '-', at most 128 (e.g. 20261124-101010-a1b2c3, or lab)")
    return text


def regex(text: str) -> str:
    """wait-log --pattern: a regular expression Python compiles."""
    try:
        re.compile(text)
    except re.error as e:
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not a valid regular expression: {e}") from None
    except (OverflowError, RecursionError, ValueError) as e:  # re.compile raises more than re.error
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not a regular expression Python can compile: "
                                         f"{e or type(e).__name__}") from None
    return text


def seconds(text: str) -> float:
    """wait-log --timeout: seconds, a finite number greater than 0, at most an hour (nan would never time out)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= _MAX_WAIT_SECONDS:  # also false for nan
        raise argparse.ArgumentTypeError(f"must be a number of seconds greater than 0 and at most "
                                         f"{_MAX_WAIT_SECONDS:g} (got {text[:60]!r})")
    return value

