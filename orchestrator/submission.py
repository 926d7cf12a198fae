"""A submission's programs, read from a folder without trusting it.

The folder comes from a student (through a learning platform's export): its entries may be symbolic links
to the instructor's files, FIFOs that would block a reader forever, devices, folders named like programs,
or files too big to be programs. Each entry is opened without following a link (O_NOFOLLOW) and without
blocking (O_NONBLOCK), then checked to be a regular file (fstat on the open descriptor, so nothing can be
swapped in between) of a sensible size, and read from that descriptor. Anything else is refused with a
message that names the file and says what is wrong; nothing is followed, nothing hangs.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from pathlib import Path

from .errors import InvalidInput

#: The largest program file read (a student's program is a few KiB; the reference ones are under 6 KiB).
FILE_LIMIT = 256 * 1024
#: At most this many .py files, and this many bytes in all (they go into a tmpfs volume of 4 MiB).
FILES_LIMIT = 64
TOTAL_LIMIT = 2 * 1024 * 1024
#: A program's name: a Python module name, then .py (it is run as `python3 NAME`, imported as NAME).
PROGRAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.py")


def _kind(mode: int) -> str:
    for test, what in ((stat.S_ISREG, "a file"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "of an unknown kind"


def read_file(path: Path, limit: int = FILE_LIMIT) -> bytes:
    """The bytes of one regular file, never following a link or blocking; InvalidInput otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        if e.errno == errno.ELOOP:
            target = os.readlink(path) if path.is_symlink() else "?"
            raise InvalidInput(f"{path}: is a symbolic link (to {target}); a submission's files are read as "
                               "they are, links are not followed: put the program itself there") from None
        with contextlib.suppress(OSError):  # e.g. a socket (ENXIO): say what it is
            kind = os.lstat(path).st_mode
            if not stat.S_ISREG(kind):
                raise InvalidInput(f"{path}: is {_kind(kind)}, not a program file") from None
        raise InvalidInput(f"{path}: cannot be read: {e.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"{path}: is {_kind(info.st_mode)}, not a program file")
        if info.st_size > limit:
            raise InvalidInput(f"{path}: is {info.st_size:,} bytes; a program file may be at most {limit:,}")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            raise InvalidInput(f"{path}: is over {limit:,} bytes; a program file may be at most {limit:,}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_programs(folder: str | Path) -> dict[str, bytes]:
    """The .py files of a submission's folder (name -> content), to run instead of the reference programs
    of the same names. Entries that are not .py files are ignored; a .py entry that cannot be a program
    (see the module) is refused."""
    path = Path(folder)
    try:
        info = os.stat(path)  # the folder itself is the instructor's argument: a link to it is fine
    except OSError as e:
        raise InvalidInput(f"--programs {folder}: {e.strerror}; expected a folder with .py files "
                           "(e.g. server_tcp.py)") from None
    if not stat.S_ISDIR(info.st_mode):
        raise InvalidInput(f"--programs {folder}: is {_kind(info.st_mode)}; expected a folder with .py files "
                           "(e.g. server_tcp.py)")
    try:
        names = sorted(entry.name for entry in os.scandir(path) if entry.name.endswith(".py"))
    except OSError as e:
        raise InvalidInput(f"--programs {folder}: cannot be listed: {e.strerror}") from None
    if not names:
        raise InvalidInput(f"--programs {folder}: expected a folder with .py files (e.g. server_tcp.py)")
    if len(names) > FILES_LIMIT:
        raise InvalidInput(f"--programs {folder}: holds {len(names)} .py files; at most {FILES_LIMIT} are read")
    files, total = {}, 0
    for name in names:
        if not PROGRAM_NAME.fullmatch(name):
            shown = name.encode("unicode_escape").decode("ascii")  # a newline or an escape, made visible
            raise InvalidInput(f"{path}: '{shown}' is not a program's name: letters, digits and '_' (not a "
                               "digit first), then .py, as Python imports it")
        files[name] = read_file(path / name)
        total += len(files[name])
        if total > TOTAL_LIMIT:
            raise InvalidInput(f"--programs {folder}: its .py files hold over {TOTAL_LIMIT:,} bytes in all; "
                               f"at most {TOTAL_LIMIT:,} are read")
    return files
