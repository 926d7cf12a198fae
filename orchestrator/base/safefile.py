"""One file read without trusting it, the one way every such read is done (a scenario or compose.yaml,
model/boundedread.py; a student's program or zip, grade/reading.py): only a regular file is read, opened
without blocking (a FIFO with no writer cannot hang the reader) and, if asked, without following a link;
its size is checked on the open descriptor (so nothing can swap the file between the check and the read),
and at most `limit` + 1 bytes are ever read (a file that grows while it is read is refused too).

What went wrong is raised as one of the exceptions below, for the caller to say in its own words; an error
while reading (after the checks) is the OSError itself.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path


class OpenFailed(Exception):
    """The file could not be opened: `error` is the OSError (its errno says why: ELOOP, a link not followed;
    ENXIO, a socket...)."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


class NotRegular(Exception):
    """The path is not a regular file: `mode` is its st_mode (a folder, a FIFO, a device...)."""

    def __init__(self, mode: int):
        super().__init__(f"not a regular file (mode {mode:o})")
        self.mode = mode


class TooLarge(Exception):
    """The file is larger than the limit: `size` bytes, or, with `grew`, it grew past the limit while it was
    read (then `size` is the limit)."""

    def __init__(self, size: int, grew: bool = False):
        super().__init__(f"{'over ' if grew else ''}{size} bytes")
        self.size, self.grew = size, grew


def read_bounded(path: str | Path, limit: int, *, follow_links: bool = True) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them (see the module)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise OpenFailed(e) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(info.st_mode)
        if info.st_size > limit:
            raise TooLarge(info.st_size)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise TooLarge(limit, grew=True)
        return b"".join(chunks)
    finally:
        os.close(fd)


__all__ = ["OpenFailed", "NotRegular", "TooLarge", "read_bounded"]
