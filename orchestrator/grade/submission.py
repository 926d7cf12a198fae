"""A submission's programs, read from a folder without trusting it; and a whole class's submissions, found in
the class folder an instructor exports from a learning platform.

The folder comes from a student (through a learning platform's export): its entries may be symbolic links
to the instructor's files, FIFOs that would block a reader forever, devices, folders named like programs,
or files too big to be programs. Each entry is opened without following a link (O_NOFOLLOW) and without
blocking (O_NONBLOCK), then checked to be a regular file (fstat on the open descriptor, so nothing can be
swapped in between) of a sensible size, and read from that descriptor. Anything else is refused with a
message that names the file and says what is wrong; nothing is followed, nothing hangs.

A class folder (issue 8, `discover`)
------------------------------------
The class folder holds one entry per student: a folder, or a `.zip`, named after the student. `survey`
gives one `Submission` per student, sorted by name (ignoring case), and the entries it skipped (`Skipped`:
no student's); `discover` the submissions alone. A Submission holds the programs that can run (`files`),
what is wrong with each assignment program that cannot (`problems`), why nothing of the entry can be used
(`error`; then `files` and `problems` are empty) and `notes` worth telling; `hashes()` and `digest()`
(sha256) tell equal files apart from different ones. Nothing raises for an entry: only a class folder that
is missing, not a folder, cannot be listed or holds no submission (nothing, or only entries skipped or
ignored) is InvalidInput (exit 2). Problems and notes name files by their path in the entry, as the student
knows them; an error names the entry too.

Entries
- Names starting with '.' (.DS_Store, .git) and platforms' leftovers (IGNORED: __MACOSX, Thumbs.db,
  desktop.ini) are ignored, in the class folder and inside every entry: not even listed as skipped.
- A folder, or a regular file whose name ends in .zip (in any case), is a submission, even one of which
  nothing can be used (its reasons are its row). The student's name is the entry's name without .zip.
- Anything else is no student's: skipped (no Submission, so no row and no page), with its reason for the
  instructor (the console and the manifest list it): a regular file that is not a .zip (a README.txt, a
  grades.csv, an index.html the platform left, a lone .py file: NOT_A_SUBMISSION), a symbolic link (never
  followed: an export holds none, and one could lead the grader to files outside the class), a FIFO (never
  opened: it would block), a device or a socket. Only its kind is looked at (lstat), never its content.
- Submissions giving the same name, ignoring case (`alice/` and `alice.zip`; `Bob` and `bob.zip`: a report
  per student must not collide on a case-insensitive disk), are each an error naming them all; none is read.

Where the programs are
- An assignment program (ASSIGNMENT) is found by its file name ignoring case (`Server_TCP.py` is
  server_tcp.py, with a note), at the entry's top or in a folder at most DEPTH (2) folders deep: platforms
  wrap a zip's files in one folder, and students put theirs in one more (`alice/lab1/server_tcp.py`).
- Two or more candidates for one program, at any depths, are a problem for that program naming them all:
  none is used (which one the student meant is not guessed); the other programs are used.
- A program not found is the problem "<name> not submitted"; a note names a file with a similar name
  (`server_tcp (1).py`, `server_tcp.py.txt`) if there is one.
- Helper modules: the other .py files in the folder(s) of the programs used. Those with a name Python
  could not import (PROGRAM_NAME, and not a keyword like class.py) are left out with a note, so are two of
  one name in different folders (everything runs side by side in one folder), and those past FILES_LIMIT
  files or TOTAL_LIMIT bytes with the programs (read_programs' limits; helpers are taken in name order). A
  helper named like a module of Python's own (socket.py) is kept, with a note: it hides that module.
- Everything used runs side by side in one folder (the lab's submission volume): programs found in
  different folders are noted. Archives inside an entry (a .zip in a zip) are not opened, but noted.

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
- A program file must be text: no NUL byte, and decoding as Python does (tokenize.detect_encoding: UTF-8,
  a BOM allowed, unless a PEP 263 coding cookie names another encoding); otherwise it is a problem ("not
  text"); a helper that is not text is left out with a note.
- Paths shown in messages have control characters escaped (a name can hold an escape sequence).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import keyword
import os
import re
import stat
import sys
import tokenize
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..base.errors import InvalidInput

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


# ---- a class folder (issue 8) ---------------------------------------------------------------------
#: The assignment's programs: what every submission should hold.
ASSIGNMENT = ("server_udp.py", "client_udp.py", "server_tcp.py", "client_tcp.py")
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
#: Files inside a submission that are archives: not opened, but noted.
ARCHIVES = (".zip", ".rar", ".7z", ".tar", ".tar.gz", ".tgz")
_CENTRAL_RECORD = b"PK\x01\x02"


@dataclass(frozen=True)
class Submission:
    """One entry of a class folder: a student's work, as far as it can be used (see the module)."""

    name: str  # the student's name: the entry's name, without .zip
    path: str  # the entry (folder or zip) in the class folder
    files: dict[str, bytes] = field(default_factory=dict)  # what can run: canonical program names, helpers
    problems: dict[str, str] = field(default_factory=dict)  # assignment program -> why it cannot be used
    error: str | None = None  # why nothing of the entry can be used (then files and problems are empty)
    notes: tuple[str, ...] = ()  # things worth saying

    def hashes(self) -> dict[str, str]:
        """File name -> sha256 (hex) of its content."""
        return {name: hashlib.sha256(content).hexdigest() for name, content in sorted(self.files.items())}

    def digest(self) -> str:
        """One sha256 over the files, sorted by name: each name and content preceded by its length (8 bytes,
        big-endian), so that no two different sets of files give the same bytes. Equal digests: equal files."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            for part in (name.encode("utf-8", "surrogateescape"), self.files[name]):
                h.update(len(part).to_bytes(8, "big"))
                h.update(part)
        return h.hexdigest()


class _Refused(Exception):
    """One file cannot be used (a problem for a program, a note for a helper)."""


class _Broken(Exception):
    """Nothing of the entry can be used: the Submission's error."""


@dataclass
class _File:
    parts: tuple[str, ...]  # its path in the entry, folder by folder
    read: Callable[[int], bytes]  # its bytes, at most the limit given; raises _Refused or _Broken

    @property
    def rel(self) -> str:
        return _shown("/".join(self.parts))

    @property
    def folder(self) -> tuple[str, ...]:
        return self.parts[:-1]


def _shown(text: str) -> str:
    """Text as a message may show it: control characters (and other unprintable ones) escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for c in text)


def _rephrased(message: str, path: str, shown: str) -> str:
    """read_file's message ('/host/path/x.py: is a FIFO, ...') as said of the file in the submission
    ('x.py is a FIFO, ...')."""
    if not message.startswith(path):
        return message
    rest = _shown(message[len(path):])  # a link's target may hold anything
    return shown + (" " + rest[2:] if rest.startswith(": ") else rest)


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.lower() in IGNORED


def _names(paths: list[str], most: int = 5) -> str:
    """'a', 'a and b', 'a, b and c'; past `most`, the first ones and 'N more'."""
    if len(paths) > most:
        paths = [*paths[:most], f"{len(paths) - most:,} more"]
    return paths[0] if len(paths) == 1 else f"{', '.join(paths[:-1])} and {paths[-1]}"


def _count(n: int) -> str:
    return "two" if n == 2 else "three" if n == 3 else f"{n:,}"


def student_name(entry: str | Path) -> str:
    """The student's name an entry gives: its name without .zip (in any case)."""
    name = Path(entry).name
    return name[:-4] if name.lower().endswith(".zip") and len(name) > 4 else name


#: Why a regular file of the class folder that is not a .zip is no student's.
NOT_A_SUBMISSION = "not a folder or a .zip: a file the platform left, not a submission"


@dataclass(frozen=True)
class Skipped:
    """An entry of the class folder that is no student's (see the module): its name, and why."""

    entry: str  # its name in the class folder, as messages show it
    reason: str


@dataclass(frozen=True)
class ClassFolder:
    """What a class folder holds: a Submission per student, and the entries skipped as no student's."""

    submissions: list[Submission]
    skipped: list[Skipped]


def _skipped_why(path: Path) -> str | None:
    """Why an entry of the class folder is no student's (a file that is not a .zip, a link, a FIFO, a
    device...), or None: a folder or a .zip, a submission (or an entry that cannot even be looked at, whose
    Submission says why)."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISDIR(info.st_mode):
        return None
    if stat.S_ISREG(info.st_mode):
        return None if path.name.lower().endswith(".zip") else NOT_A_SUBMISSION
    if stat.S_ISLNK(info.st_mode):
        try:
            target = _shown(os.readlink(path))
        except OSError:
            target = "?"
        return (f"a symbolic link (to {target}), not followed: put the student's folder or .zip itself in the "
                "class folder")
    return f"{_kind(info.st_mode)}, not a folder or a .zip: not a submission"


def discover(class_dir: str | Path) -> list[Submission]:
    """One Submission per student of the class folder (a folder or a .zip each), sorted by name: survey's
    submissions."""
    return survey(class_dir).submissions


def survey(class_dir: str | Path) -> ClassFolder:
    """The class folder's submissions (one per folder or .zip, sorted by name) and the entries skipped as no
    student's, in name order. InvalidInput if the class folder is missing, not a folder, cannot be listed
    or holds no submission."""
    root = Path(class_dir)
    expected = "expected the class folder: one folder or .zip per student"
    try:
        info = os.stat(root)  # the class folder is the instructor's argument: a link to it is fine
    except OSError as e:
        raise InvalidInput(f"{class_dir}: {e.strerror}; {expected}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise InvalidInput(f"{class_dir}: is {_kind(info.st_mode)}; {expected}")
    try:
        listed = sorted(os.listdir(root))
    except OSError as e:
        raise InvalidInput(f"{class_dir}: cannot be listed: {e.strerror}") from None
    entries, skipped = [], []
    for name in listed:
        if _ignored(name):
            continue
        why = _skipped_why(root / name)
        if why is None:
            entries.append(name)
        else:
            skipped.append(Skipped(_shown(name), why))
    if not entries:
        said = [f"skipped {_names([s.entry for s in skipped])}: not a folder or a .zip"] if skipped else []
        ignored = [_shown(name) for name in listed if _ignored(name)]
        said += [f"ignored: {_names(ignored)}"] if ignored else []
        raise InvalidInput(f"{class_dir}: holds no submission; {expected}"
                           + (f" ({'; '.join(said)})" if said else ""))
    by_name: dict[str, list[str]] = {}
    for name in entries:
        by_name.setdefault(student_name(name).casefold(), []).append(name)
    found = []
    for name in entries:
        same = by_name[student_name(name).casefold()]
        if len(same) > 1:
            shown = [_shown(n) for n in same]
            found.append(Submission(student_name(name), str(root / name), error=(
                f"{_count(len(same)).capitalize()} entries give the student name {_shown(student_name(name))}: "
                f"{_names(shown)}; rename or remove all but one (none of them is read)")))
        else:
            found.append(read_submission(root / name))
    return ClassFolder(sorted(found, key=lambda s: (s.name.casefold(), s.name, s.path)), skipped)


def read_submission(entry: str | Path) -> Submission:
    """One entry of a class folder (a folder or a .zip), read without trusting it (see the module). Never
    raises for what the entry holds: what is wrong is in the Submission."""
    path = Path(entry)
    name, shown = student_name(path), _shown(path.name)
    notes: list[str] = []
    try:
        try:
            info = os.lstat(path)
        except OSError as e:
            raise _Broken(f"{shown} cannot be read: {e.strerror}") from None
        if stat.S_ISDIR(info.st_mode):
            files = _folder_files(path)
        elif stat.S_ISREG(info.st_mode) and path.name.lower().endswith(".zip"):
            files = _zip_files(path, info.st_size, notes)
        elif stat.S_ISLNK(info.st_mode):
            try:
                target = _shown(os.readlink(path))
            except OSError:
                target = "?"
            raise _Broken(f"{shown} is a symbolic link (to {target}); links are not followed: put the "
                          "student's folder or .zip itself in the class folder")
        else:
            raise _Broken(f"{shown} is {_kind(info.st_mode)}, not a folder or a .zip; each student's work "
                          "must be a folder or a .zip named after the student")
        used, problems = _assemble(files, notes)
    except _Broken as e:
        return Submission(name, str(path), error=str(e), notes=tuple(notes))
    return Submission(name, str(path), used, problems, None, tuple(notes))


# ---- an entry's files, from a folder or a zip -------------------------------------------------------
def _folder_files(top: Path) -> list[_File]:
    """The files of a folder down to DEPTH, links not followed; nothing is read yet."""
    files: list[_File] = []
    seen = 0

    def reader(path: Path, parts: tuple[str, ...]) -> Callable[[int], bytes]:
        def read(limit: int) -> bytes:
            try:
                return read_file(path, limit)
            except InvalidInput as e:  # read_file names the file by its host path: say it as the student does
                raise _Refused(_rephrased(str(e), str(path), _shown("/".join(parts)))) from None
        return read

    def walk(folder: Path, parts: tuple[str, ...]) -> None:
        nonlocal seen
        where = _shown("/".join((top.name, *parts)))
        subfolders = []
        try:
            with os.scandir(folder) as listing:
                for item in listing:
                    seen += 1
                    if seen > MEMBERS_LIMIT:
                        raise _Broken(f"{_shown(top.name)} holds over {MEMBERS_LIMIT:,} files and folders (down to "
                                      f"{DEPTH} folders deep); a submission is a handful of files: leave out "
                                      "virtual environments, data and build output")
                    if _ignored(item.name):
                        continue
                    try:
                        is_dir = item.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    if is_dir and not item.name.lower().endswith(".py"):  # a folder named like a program is a
                        if len(parts) < DEPTH:                              # candidate, refused by read_file
                            subfolders.append(item.name)
                    else:
                        files.append(_File((*parts, item.name), reader(Path(item.path), (*parts, item.name))))
        except OSError as e:
            raise _Broken(f"{where} cannot be listed: {e.strerror}") from None
        for name in sorted(subfolders):
            walk(folder / name, (*parts, name))

    walk(top, ())
    return sorted(files, key=lambda f: f.parts)


def _zip_files(path: Path, size: int, notes: list[str]) -> list[_File]:
    """The members of a zip (read into memory, opened there) down to DEPTH; nothing is unzipped yet."""
    shown = _shown(path.name)
    if size > ZIP_LIMIT:
        raise _Broken(f"{shown} is {size:,} bytes; a submission's zip may be at most {ZIP_LIMIT:,} "
                      f"({ZIP_LIMIT // 2**20} MiB)")
    try:
        data = read_file(path, ZIP_LIMIT)
    except InvalidInput as e:  # it changed since lstat
        raise _Broken(_rephrased(str(e), str(path), shown)) from None
    too_many = (f"{shown} holds over {MEMBERS_LIMIT:,} files and folders; a submission is a handful of files: "
                "leave out virtual environments, data and build output")
    if data.count(_CENTRAL_RECORD) > RECORDS_CEILING:
        raise _Broken(too_many)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception as e:  # whatever zipfile raises on bytes it cannot read (BadZipFile, ValueError, ...)
        raise _Broken(f"{shown} is not a zip that can be read ({_shown(str(e)) or type(e).__name__}); hand in "
                      "a .zip made by your system's 'Compress' or by 'zip'") from None
    if len(members) > MEMBERS_LIMIT:
        raise _Broken(too_many)
    declared = sum(m.file_size for m in members)
    if declared > UNZIPPED_LIMIT:
        raise _Broken(f"{shown} unzips to {declared:,} bytes; at most {UNZIPPED_LIMIT:,} are read from a "
                      f"submission's zip ({UNZIPPED_LIMIT // 2**20} MiB)")
    for m in members:
        if m.flag_bits & 0x1:
            raise _Broken(f"{shown} is protected by a password ({_shown(m.filename)} is encrypted); hand it in "
                          "without a password")
    unzipped = 0

    def reader(member: zipfile.ZipInfo, rel: str) -> Callable[[int], bytes]:
        def read(limit: int) -> bytes:
            nonlocal unzipped
            mode = member.external_attr >> 16
            if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                if stat.S_ISLNK(mode):
                    raise _Refused(f"{rel} is a symbolic link (in the zip); a submission's files are read as "
                                   "they are, links are not followed: put the program itself there")
                raise _Refused(f"{rel} is {_kind(mode)} (in the zip), not a program file")
            if member.file_size > limit:
                raise _Refused(f"{rel} is {member.file_size:,} bytes (unzipped); a program file may be at most "
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
                raise _Broken(f"{shown} cannot be unzipped by Python: {rel} is compressed with a method it lacks "
                              f"({_shown(str(e))}); zip the files again with your system's 'Compress' or 'zip'"
                              ) from None
            except Exception as e:  # a CRC mismatch, damaged data, ...
                raise _Broken(f"{shown} is damaged: {rel} cannot be unzipped ({_shown(str(e)) or type(e).__name__})"
                              "; zip the files again") from None
            unzipped += got
            if got > limit:  # more than its header declares (zipfile stops at the declared size: never here)
                raise _Refused(f"{rel} unzips to over {limit:,} bytes; a program file may be at most {limit:,}")
            if got > cap:
                raise _Broken(f"{shown} unzips to over {UNZIPPED_LIMIT:,} bytes; at most {UNZIPPED_LIMIT:,} are "
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
        rel = _shown("/".join(parts))
        named_like_program = parts[-1].lower() in ASSIGNMENT
        if any(_ignored(p) for p in parts):
            if named_like_program:
                notes.append(f"{rel} was not looked at: names starting with '.' (and '..') are hidden, and "
                             "__MACOSX is a system's leftovers")
            continue
        if len(parts) - 1 > DEPTH:
            if named_like_program:
                notes.append(f"{rel} was not looked at: it is {len(parts) - 1} folders deep; programs are looked "
                             f"for at most {DEPTH} folders deep")
            continue
        files.append(_File(parts, reader(m, rel)))
    return sorted(files, key=lambda f: f.parts)


# ---- what of an entry can be used -------------------------------------------------------------------
def _text_problem(rel: str, data: bytes) -> str | None:
    """Why a file is not text Python can read (see the module), or None."""
    if b"\0" in data:
        return f"{rel} is not text (it holds a NUL byte)"
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as e:
        if data.startswith(b"\xef\xbb\xbf"):  # Python says 'encoding problem: utf-8'
            return (f"{rel} is not text Python can read (it starts with UTF-8's byte order mark but declares "
                    "another encoding)")
        return f"{rel} is not text Python can read ({e.msg})"
    try:
        data.decode(encoding)
    except LookupError as e:
        return f"{rel} is not text Python can read ({e})"
    except UnicodeDecodeError as e:
        decoded = bytes(e.object)  # for utf-8-sig: the bytes after the BOM, to which e.start counts
        line = decoded[:e.start].count(b"\n") + 1
        name = "UTF-8" if encoding.startswith("utf-8") else encoding
        return (f"{rel} is not text in {name}: line {line} holds a byte (0x{decoded[e.start]:02x}) that is not "
                f"{name}; save it as UTF-8, or declare its encoding on its first line "
                "(# -*- coding: latin-1 -*-)")
    return None


def _squashed(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _assemble(files: list[_File], notes: list[str]) -> tuple[dict[str, bytes], dict[str, str]]:
    """The programs and helpers that can run (file name -> bytes), and the problems of each program."""
    used: dict[str, bytes] = {}
    problems: dict[str, str] = {}
    folders: dict[tuple[str, ...], list[str]] = {}  # a used program's folder -> the programs from there
    for f in files:
        if f.parts[-1].lower().endswith(ARCHIVES):
            notes.append(f"{f.rel} was not opened: archives inside a submission are not read")
    for program in ASSIGNMENT:
        candidates = [f for f in files if f.parts[-1].lower() == program]
        if not candidates:
            problems[program] = f"{program} not submitted"
            stem = _squashed(program[:-3])
            similar = [f.rel for f in files if stem in _squashed(f.parts[-1])]
            if similar:
                notes.append(f"{program} not submitted, but there is {_names(similar)}: a program must be "
                             f"named {program} (in any case)")
            continue
        if len(candidates) > 1:
            paths = [f.rel for f in candidates]
            twice = " (the zip holds one name more than once)" if len(set(paths)) < len(paths) else ""
            problems[program] = f"{_count(len(paths))} files could be {program}: {_names(paths)}{twice}"
            continue
        found = candidates[0]
        try:
            data = found.read(FILE_LIMIT)
        except _Refused as e:
            problems[program] = str(e)
            continue
        problem = _text_problem(found.rel, data)
        if problem:
            problems[program] = problem
            continue
        used[program] = data
        folders.setdefault(found.folder, []).append(program)
        if found.parts[-1] != program:
            notes.append(f"found {found.rel} as {program}")
    if len(folders) > 1:
        notes.append("the programs come from different folders ("
                     + _names([_shown("/".join(f)) or "the top" for f in sorted(folders)])
                     + "); they run side by side, in one folder")
    _add_helpers(files, folders, used, notes)
    return used, problems


def _add_helpers(files: list[_File], folders: dict[tuple[str, ...], list[str]], used: dict[str, bytes],
                 notes: list[str]) -> None:
    """The other .py files of the used programs' folders, as far as they can be used (see the module)."""
    by_name: dict[str, list[_File]] = {}
    for f in files:
        name = f.parts[-1]
        if f.folder not in folders or not name.lower().endswith(".py") or name.lower() in ASSIGNMENT:
            continue
        if not PROGRAM_NAME.fullmatch(name) or keyword.iskeyword(name[:-3]):
            notes.append(f"left out {f.rel}: Python could not import a module of that name (letters, digits "
                         "and '_', not a digit first, not a keyword, then .py)")
            continue
        by_name.setdefault(name, []).append(f)
    total = sum(len(data) for data in used.values())
    over: list[str] = []
    for name in sorted(by_name):
        same = by_name[name]
        if len(same) > 1:
            notes.append(f"left out {_names([f.rel for f in same])}: the programs run side by side in one folder, "
                         f"where only one {name} fits")
            continue
        helper = same[0]
        if len(used) >= FILES_LIMIT:
            over.append(helper.rel)
            continue
        try:
            data = helper.read(FILE_LIMIT)
        except _Refused as e:
            notes.append(f"left out a helper: {e}")
            continue
        problem = _text_problem(helper.rel, data)
        if problem:
            notes.append(f"left out a helper: {problem}")
            continue
        if total + len(data) > TOTAL_LIMIT:
            over.append(helper.rel)
            continue
        used[name] = data
        total += len(data)
        if name[:-3] in sys.stdlib_module_names:
            notes.append(f"{helper.rel} has the name of Python's own module {name[:-3]}: a program importing "
                         f"{name[:-3]} gets this file instead")
    if over:
        notes.append(f"left out {_names(over)}: at most {FILES_LIMIT} .py files and {TOTAL_LIMIT:,} bytes of them "
                     "are used from a submission")
