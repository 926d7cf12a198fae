"""A YAML file's text, read without trusting the file: what reaches the parser is at most MAX_FILE_BYTES of
UTF-8 text, and anything else is the caller's located error (a :class:`~orchestrator.errors.LocatedError`
subclass), never a hang, a crash or a traceback.

Only a regular file is read: a FIFO, a device (/dev/zero), a folder or a socket is refused before reading (the
file is opened without blocking, so a FIFO with no writer cannot hang us), and at most MAX_FILE_BYTES + 1 bytes
are ever read (a file that grows while being read is refused too): base/safefile.py's read, worded here.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from ..base.errors import LocatedError
from ..base.safefile import NotRegular, OpenFailed, TooLarge, read_bounded

#: The largest YAML file read (scenarios and compose.yaml alike): real ones are a few KiB, and PyYAML (pure
#: Python, for the line of every key) takes up to a second over 1 MiB: a larger file is refused before it is read.
MAX_FILE_BYTES = 1024 * 1024


def _size(n: int) -> str:
    """A size for people: '5,242,880 bytes (5.0 MiB)'."""
    return f"{n:,} bytes ({n / 1024 / 1024:.1f} MiB)" if n >= 1024 * 1024 else f"{n:,} bytes"


def too_large(n: int, *, at_least: bool = False) -> str:
    """The message for a file of `n` bytes (more than `n` with at_least=True), past MAX_FILE_BYTES."""
    more = "more than " if at_least else ""
    return (f"the file is too large: {more}{_size(n)}, and a file here may be at most {_size(MAX_FILE_BYTES)} "
            "(a scenario or compose.yaml is a few KiB); is it the right file?")


#: What a path that is not a regular file is, by stat's file type.
_NOT_A_FILE = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket",
               stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}


def read_text(path: str | Path, error: type[LocatedError]) -> str:
    """The UTF-8 text of the regular file `path`, of at most MAX_FILE_BYTES; unreadable files are `error`s."""
    name = str(path)
    try:
        raw = read_bounded(path, MAX_FILE_BYTES)
    except OpenFailed as failed:
        e = failed.error
        if e.errno == errno.ENXIO:  # a socket, or a device with nothing behind it
            with contextlib.suppress(OSError):
                what = _NOT_A_FILE.get(stat.S_IFMT(os.stat(path).st_mode), "something else")
                raise error(name, None, "", f"this is {what}, not a regular file; give a YAML file") from None
        raise error(name, None, "", f"cannot read the file: {e.strerror or e}") from None
    except NotRegular as n:
        what = _NOT_A_FILE.get(stat.S_IFMT(n.mode), "something else")
        raise error(name, None, "", f"this is {what}, not a regular file; give a YAML file") from None
    except TooLarge as t:
        raise error(name, None, "", too_large(t.size, at_least=t.grew)) from None
    except OSError as e:
        raise error(name, None, "", f"cannot read the file: {e.strerror or e}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise error(name, line, "", f"the file is not UTF-8 text (byte 0x{raw[e.start]:02x}); save it as UTF-8") from None
