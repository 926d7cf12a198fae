"""A student's files, read without trusting them: one file (`read_file`), and the files of a class folder's
entry, a folder or a zip, listed down to DEPTH (`folder_files`, `zip_files`), with the limits of both. What
of them can be used is programs.py's; the class folder and its submissions are submission.py's.

Reading without trusting: a student's files are read, never written, modified, extracted or run
- Folders are walked without following links (a link to a folder is not entered) down to DEPTH, and files
  are read with `read_file` (so links, FIFOs, devices and folders named like programs are refused, sizes
  capped at FILE_LIMIT). Seeing more than MEMBERS_LIMIT files and folders, or a folder that cannot be
  listed, is the entry's error.
- A zip is read (with `read_file`, capped at ZIP_LIMIT) into memory and opened there with zipfile. Its
  error: over ZIP_LIMIT; not a zip zipfile can read; more than MEMBERS_LIMIT members (and, before zipfile
  is asked to list them, more than RECORDS_CEILING central-directory signatures in its bytes: an upper bound
  of its members, so that a zip of 200,000 empty members, ~100 MB of objects once listed, is refused
  unlisted; a zip storing other zips uncompressed counts theirs too); declared sizes adding up to more than
  UNZIPPED_LIMIT; an encrypted member; a member that cannot be read (a CRC mismatch, damaged data, a
  compression method Python lacks). A member that is a symbolic link or not a regular file (its Unix mode
  in external_attr) is refused like a link in a folder (a problem for its program); a member declaring
  more than FILE_LIMIT bytes is refused before it is read; every read stops at its cap whatever the
  headers say (zipfile itself stops at the declared size and checks the CRC, so a header that lies makes a
  damaged zip), and the bytes unzipped from one zip are capped at UNZIPPED_LIMIT in all.
- A member's name is only a name: it is split at '/' and at '\\' (old Windows tools write those); empty and
  '.' parts are dropped (a leading '/' too); '..' is a name starting with '.', so hidden: ignored. The
  depth is the number of folder parts left, never normalised (a/b/c/../../x.py is not x.py at the top).
  Members named like a program but hidden or too deep are noted (the zip's names are all known; a folder is
  not listed deeper than DEPTH for that).
- Paths shown in messages have control characters escaped (a name can hold an escape sequence).
"""
from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..base.errors import InvalidInput
from ..base.safefile import NotRegular, OpenFailed, TooLarge, read_bounded
from ..base.text import escaped
from ..model.suite import ASSIGNMENT  # (what every submission should hold: the suite's programs)

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
_CENTRAL_RECORD = b"PK\x01\x02"


class FileRefused(Exception):
    """One file cannot be used (a problem for a program, a note for a helper)."""


class EntryBroken(Exception):
    """Nothing of the entry can be used: the Submission's error."""


@dataclass
class EntryFile:
    parts: tuple[str, ...]  # its path in the entry, folder by folder
    read: Callable[[int], bytes]  # its bytes, at most the limit given; raises FileRefused or EntryBroken

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


# ---- an entry's files, from a folder or a zip -------------------------------------------------------
def folder_files(top: Path) -> list[EntryFile]:
    """The files of a folder down to DEPTH, links not followed; nothing is read yet."""
    files: list[EntryFile] = []
    seen = 0

    def reader(path: Path, parts: tuple[str, ...]) -> Callable[[int], bytes]:
        def read(limit: int) -> bytes:
            try:
                return read_file(path, limit)
            except InvalidInput as e:  # read_file names the file by its host path: say it as the student does
                raise FileRefused(rephrased(str(e), str(path), escaped("/".join(parts)))) from None
        return read

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
                        files.append(EntryFile((*parts, item.name), reader(Path(item.path), (*parts, item.name))))
        except OSError as e:
            raise EntryBroken(f"{where} cannot be listed: {e.strerror}") from None
        for name in sorted(subfolders):
            walk(folder / name, (*parts, name))

    walk(top, ())
    return sorted(files, key=lambda f: f.parts)


def zip_files(path: Path, size: int, notes: list[str]) -> list[EntryFile]:
    """The members of a zip (read into memory, opened there) down to DEPTH; nothing is unzipped yet."""
    shown = escaped(path.name)
    if size > ZIP_LIMIT:
        raise EntryBroken(f"{shown} is {size:,} bytes; a submission's zip may be at most {ZIP_LIMIT:,} "
                          f"({ZIP_LIMIT // 2**20} MiB)")
    try:
        data = read_file(path, ZIP_LIMIT)
    except InvalidInput as e:  # it changed since lstat
        raise EntryBroken(rephrased(str(e), str(path), shown)) from None
    too_many = (f"{shown} holds over {MEMBERS_LIMIT:,} files and folders; a submission is a handful of files: "
                "leave out virtual environments, data and build output")
    if data.count(_CENTRAL_RECORD) > RECORDS_CEILING:
        raise EntryBroken(too_many)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception as e:  # whatever zipfile raises on bytes it cannot read (BadZipFile, ValueError, ...)
        raise EntryBroken(f"{shown} is not a zip that can be read ({escaped(str(e)) or type(e).__name__}); hand in "
                          "a .zip made by your system's 'Compress' or by 'zip'") from None
    if len(members) > MEMBERS_LIMIT:
        raise EntryBroken(too_many)
    declared = sum(m.file_size for m in members)
    if declared > UNZIPPED_LIMIT:
        raise EntryBroken(f"{shown} unzips to {declared:,} bytes; at most {UNZIPPED_LIMIT:,} are read from a "
                          f"submission's zip ({UNZIPPED_LIMIT // 2**20} MiB)")
    for m in members:
        if m.flag_bits & 0x1:
            raise EntryBroken(f"{shown} is protected by a password ({escaped(m.filename)} is encrypted); hand it in "
                              "without a password")
    unzipped = 0

    def reader(member: zipfile.ZipInfo, rel: str) -> Callable[[int], bytes]:
        def read(limit: int) -> bytes:
            nonlocal unzipped
            mode = member.external_attr >> 16
            if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                if stat.S_ISLNK(mode):
                    raise FileRefused(f"{rel} is a symbolic link (in the zip); a submission's files are read as "
                                      "they are, links are not followed: put the program itself there")
                raise FileRefused(f"{rel} is {kind_of(mode)} (in the zip), not a program file")
            if member.file_size > limit:
                raise FileRefused(f"{rel} is {member.file_size:,} bytes (unzipped); a program file may be at most "
                                  f"{limit:,}")
            cap = min(limit, UNZIPPED_LIMIT - unzipped)
            chunks, got = [], 0
            try:
                with archive.open(member) as stream:
                    while got <= cap:
                        chunk = stream.read(min(65536, cap + 1 - got))
                        if not chunk:
                            break
                        chunks.append(chunk)
                        got += len(chunk)
            except NotImplementedError as e:  # e.g. Deflate64, zstd, AES
                raise EntryBroken(f"{shown} cannot be unzipped by Python: {rel} is compressed with a method it lacks "
                                  f"({escaped(str(e))}); zip the files again with your system's 'Compress' or 'zip'"
                                  ) from None
            except Exception as e:  # a CRC mismatch, damaged data, ...
                raise EntryBroken(f"{shown} is damaged: {rel} cannot be unzipped "
                                  f"({escaped(str(e)) or type(e).__name__}); zip the files again") from None
            unzipped += got
            if got > limit:  # more than its header declares (zipfile stops at the declared size: never here)
                raise FileRefused(f"{rel} unzips to over {limit:,} bytes; a program file may be at most {limit:,}")
            if got > cap:
                raise EntryBroken(f"{shown} unzips to over {UNZIPPED_LIMIT:,} bytes; at most {UNZIPPED_LIMIT:,} are "
                                  "read from a submission's zip")
            return b"".join(chunks)
        return read

    files = []
    for m in members:
        if m.filename.endswith(("/", "\\")) or stat.S_ISDIR(m.external_attr >> 16):
            continue  # a folder: its files say where they are
        parts = tuple(p for p in re.split(r"[/\\]", m.filename) if p not in ("", "."))
        if not parts:
            continue
        rel = escaped("/".join(parts))
        named_like_program = parts[-1].lower() in ASSIGNMENT
        if any(is_ignored(p) for p in parts):
            if named_like_program:
                notes.append(f"{rel} was not looked at: names starting with '.' (and '..') are hidden, and "
                             "__MACOSX is a system's leftovers")
            continue
        if len(parts) - 1 > DEPTH:
            if named_like_program:
                notes.append(f"{rel} was not looked at: it is {len(parts) - 1} folders deep; programs are looked "
                             f"for at most {DEPTH} folders deep")
            continue
        files.append(EntryFile(parts, reader(m, rel)))
    return sorted(files, key=lambda f: f.parts)
