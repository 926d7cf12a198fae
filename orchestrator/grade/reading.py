"""A student's files, read without trusting them: one file (`read_file`), and the files of a class folder's
entry that is a folder, listed down to DEPTH (`folder_files`), with the limits of every entry's reading (a
zip's, an export zip's already in memory and the archives' inside an entry are archives.py's). What of them
can be used is programs.py's; the class folder and its submissions are submission.py's, a platform's export
exports.py's.

Reading without trusting: a student's files are read, never written, modified, extracted or run
- Folders are walked without following links (a link to a folder is not entered) down to DEPTH, and files
  are read with `read_file` (so links, FIFOs, devices and folders named like programs are refused, sizes
  capped at FILE_LIMIT). Seeing more than MEMBERS_LIMIT files and folders, or a folder that cannot be
  listed, is the entry's error.
- A zip (the entry, or one inside it) and the other archives inside an entry are archives.py's: read in
  memory with these limits (ZIP_LIMIT, MEMBERS_LIMIT, RECORDS_CEILING, UNZIPPED_LIMIT), never extracted.
- Paths shown in messages have control characters escaped (a name can hold an escape sequence).
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..base.errors import InvalidInput
from ..base.safefile import NotRegular, OpenFailed, TooLarge, read_bounded
from ..base.text import escaped
from ..model.suite import ASSIGNMENT  # noqa: F401 (what every submission should hold; its users import it from here)

#: The largest program file read (a student's program is a few KiB; the reference ones are under 6 KiB).
FILE_LIMIT = 256 * 1024
#: At most this many .py files, and this many bytes in all (they go into a tmpfs volume of 4 MiB).
FILES_LIMIT = 64
TOTAL_LIMIT = 2 * 1024 * 1024
#: A program's name: a Python module name, then .py (it is run as `python3 NAME`, imported as NAME).
PROGRAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.py")


def kind_of(mode: int) -> str:
    for test, what in ((stat.S_ISREG, "a file"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "of an unknown kind"


def read_file(path: Path, limit: int = FILE_LIMIT) -> bytes:
    """The bytes of one regular file, never following a link or blocking (base/safefile.py); InvalidInput
    otherwise."""
    try:
        return read_bounded(path, limit, follow_links=False)
    except OpenFailed as failed:
        e = failed.error
        if e.errno == errno.ELOOP:
            target = os.readlink(path) if path.is_symlink() else "?"
            raise InvalidInput(f"{path}: is a symbolic link (to {target}); a submission's files are read as "
                               "they are, links are not followed: put the program itself there") from None
        with contextlib.suppress(OSError):  # e.g. a socket (ENXIO): say what it is
            kind = os.lstat(path).st_mode
            if not stat.S_ISREG(kind):
                raise InvalidInput(f"{path}: is {kind_of(kind)}, not a program file") from None
        raise InvalidInput(f"{path}: cannot be read: {e.strerror}") from None
    except NotRegular as n:
        raise InvalidInput(f"{path}: is {kind_of(n.mode)}, not a program file") from None
    except TooLarge as t:
        if t.grew:
            raise InvalidInput(f"{path}: is over {limit:,} bytes; a program file may be at most {limit:,}") from None
        raise InvalidInput(f"{path}: is {t.size:,} bytes; a program file may be at most {limit:,}") from None


#: Programs are looked for at the entry's top and in folders at most this deep (alice/lab1/server_tcp.py).
DEPTH = 2
#: The largest zip read (a submission's four programs zip to a few KiB; room for a report or screenshots).
ZIP_LIMIT = 10 * 1024 * 1024
#: At most this many members in a zip, or files and folders seen in a folder (down to DEPTH).
MEMBERS_LIMIT = 1000
#: A zip's central-directory records counted in its bytes (an upper bound of its members) past which
#: zipfile is not even asked to list it (each member listed costs ~550 bytes: this caps that at ~4 MiB).
RECORDS_CEILING = 8 * MEMBERS_LIMIT
#: A zip's members may declare at most this many bytes in all, and at most this many are unzipped from it.
UNZIPPED_LIMIT = 8 * 1024 * 1024
#: Entries ignored everywhere besides hidden ones (names starting with '.'): platforms' leftovers.
IGNORED = frozenset({"__macosx", "thumbs.db", "desktop.ini"})


class FileRefused(Exception):
    """One file cannot be used (a problem for a program, a note for a helper)."""


class EntryBroken(Exception):
    """Nothing of the entry can be used: the Submission's error."""


@dataclass
class EntryFile:
    parts: tuple[str, ...]  # its path in the entry, folder by folder
    read: Callable[[int], bytes]  # its bytes, at most the limit given; raises FileRefused or EntryBroken
    size: int | None = None  # the size it declares (its lstat's in a folder, a member's header's), if known
    archive: tuple[str, ...] = ()  # the archive inside the entry it comes from (its parts), if any

    @property
    def rel(self) -> str:
        return escaped("/".join(self.parts))

    @property
    def folder(self) -> tuple[str, ...]:
        return self.parts[:-1]


def rephrased(message: str, path: str, shown: str) -> str:
    """read_file's message ('/host/path/x.py: is a FIFO, ...') as said of the file in the submission
    ('x.py is a FIFO, ...')."""
    if not message.startswith(path):
        return message
    rest = escaped(message[len(path):])  # a link's target may hold anything
    return shown + (" " + rest[2:] if rest.startswith(": ") else rest)


def is_ignored(name: str) -> bool:
    return name.startswith(".") or name.lower() in IGNORED


def name_list(paths: list[str], most: int = 5) -> str:
    """'a', 'a and b', 'a, b and c'; past `most`, the first ones and 'N more'."""
    if len(paths) > most:
        paths = [*paths[:most], f"{len(paths) - most:,} more"]
    return paths[0] if len(paths) == 1 else f"{', '.join(paths[:-1])} and {paths[-1]}"


def count_word(n: int) -> str:
    return "two" if n == 2 else "three" if n == 3 else f"{n:,}"


# ---- an entry's files, from a folder -----------------------------------------------------------------
def file_reader(path: Path, shown: str) -> Callable[[int], bytes]:
    """A reader of the file at `path` (read_file, at most the limit it is given), which names it `shown` when it
    refuses it: read_file names a file by its host path, and the student knows it by its place in what they
    handed in."""
    def read(limit: int) -> bytes:
        try:
            return read_file(path, limit)
        except InvalidInput as e:
            raise FileRefused(rephrased(str(e), str(path), shown)) from None
    return read


def folder_files(top: Path) -> list[EntryFile]:
    """The files of a folder down to DEPTH, links not followed; nothing is read yet."""
    files: list[EntryFile] = []
    seen = 0

    def reader(path: Path, parts: tuple[str, ...]) -> Callable[[int], bytes]:
        return file_reader(path, escaped("/".join(parts)))

    def walk(folder: Path, parts: tuple[str, ...]) -> None:
        nonlocal seen
        where = escaped("/".join((top.name, *parts)))
        subfolders = []
        try:
            with os.scandir(folder) as listing:
                for item in listing:
                    seen += 1
                    if seen > MEMBERS_LIMIT:
                        raise EntryBroken(f"{escaped(top.name)} holds over {MEMBERS_LIMIT:,} files and folders "
                                          f"(down to {DEPTH} folders deep); a submission is a handful of files: "
                                          "leave out virtual environments, data and build output")
                    if is_ignored(item.name):
                        continue
                    try:
                        is_dir = item.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    if is_dir and not item.name.lower().endswith(".py"):  # a folder named like a program is a
                        if len(parts) < DEPTH:                              # candidate, refused by read_file
                            subfolders.append(item.name)
                    else:
                        try:
                            size: int | None = item.stat(follow_symlinks=False).st_size
                        except OSError:
                            size = None
                        files.append(EntryFile((*parts, item.name), reader(Path(item.path), (*parts, item.name)),
                                               size))
        except OSError as e:
            raise EntryBroken(f"{where} cannot be listed: {e.strerror}") from None
        for name in sorted(subfolders):
            walk(folder / name, (*parts, name))

    walk(top, ())
    return sorted(files, key=lambda f: f.parts)
