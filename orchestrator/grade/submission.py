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

Where the programs are (programs.py), how an entry's files are listed and read without trusting them
(reading.py), and how its zip and the archives inside it (a folder holding PL1.zip, a zip holding a .tar.gz;
one level deep) are opened in memory (archives.py): those modules say.
"""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..base.errors import InvalidInput
from ..base.text import ascii_escaped, escaped
from .archives import with_archives, zip_files
from .programs import find_programs
from .reading import (FILES_LIMIT, PROGRAM_NAME, TOTAL_LIMIT, EntryBroken, count_word, folder_files,
                      is_ignored, kind_of, name_list, read_file)


@dataclass(frozen=True)
class Submission:
    """One entry of a class folder: a student's work, as far as it can be used (see the module)."""

    name: str  # the student's name: the entry's name, without .zip
    path: str  # the entry (folder or zip) in the class folder
    files: dict[str, bytes] = field(default_factory=dict)  # what can run: canonical program names, helpers
    problems: dict[str, str] = field(default_factory=dict)  # assignment program -> why it cannot be used
    error: str | None = None  # why nothing of the entry can be used (then files and problems are empty)
    notes: tuple[str, ...] = ()  # things worth saying
    identifier: str = ""  # the platform's identifier of the student (exports.py), "" for a plain folder
    platform: str = "folders"  # the layout the class came in: folders, moodle, canvas, blackboard or git
    late: bool = False  # the platform says it was handed in late (reported, no penalty)
    commit: str = ""  # the commit graded (git)
    entry: str = ""  # the entry as the platform named it (Moodle's folder: what its feedback upload matches by)

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
        raise InvalidInput(f"--programs {folder}: is {kind_of(info.st_mode)}; expected a folder with .py files "
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
            shown = ascii_escaped(name)  # a newline or an escape, made visible
            raise InvalidInput(f"{path}: '{shown}' is not a program's name: letters, digits and '_' (not a "
                               "digit first), then .py, as Python imports it")
        files[name] = read_file(path / name)
        total += len(files[name])
        if total > TOTAL_LIMIT:
            raise InvalidInput(f"--programs {folder}: its .py files hold over {TOTAL_LIMIT:,} bytes in all; "
                               f"at most {TOTAL_LIMIT:,} are read")
    return files


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
    platform: str = "folders"  # the export's layout (exports.py)
    detection: str = ""  # which layout was used, and why
    notes: tuple[str, ...] = ()  # what was not looked at in an export zip


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
            target = escaped(os.readlink(path))
        except OSError:
            target = "?"
        return (f"a symbolic link (to {target}), not followed: put the student's folder or .zip itself in the "
                "class folder")
    return f"{kind_of(info.st_mode)}, not a folder or a .zip: not a submission"


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
        raise InvalidInput(f"{class_dir}: is {kind_of(info.st_mode)}; {expected}")
    try:
        listed = sorted(os.listdir(root))
    except OSError as e:
        raise InvalidInput(f"{class_dir}: cannot be listed: {e.strerror}") from None
    entries, skipped = [], []
    for name in listed:
        if is_ignored(name):
            continue
        why = _skipped_why(root / name)
        if why is None:
            entries.append(name)
        else:
            skipped.append(Skipped(escaped(name), why))
    if not entries:
        said = [f"skipped {name_list([s.entry for s in skipped])}: not a folder or a .zip"] if skipped else []
        ignored = [escaped(name) for name in listed if is_ignored(name)]
        said += [f"ignored: {name_list(ignored)}"] if ignored else []
        raise InvalidInput(f"{class_dir}: holds no submission; {expected}"
                           + (f" ({'; '.join(said)})" if said else ""))
    by_name: dict[str, list[str]] = {}
    for name in entries:
        by_name.setdefault(student_name(name).casefold(), []).append(name)
    found = []
    for name in entries:
        same = by_name[student_name(name).casefold()]
        if len(same) > 1:
            shown = [escaped(n) for n in same]
            found.append(Submission(student_name(name), str(root / name), error=(
                f"{count_word(len(same)).capitalize()} entries give the student name {escaped(student_name(name))}: "
                f"{name_list(shown)}; rename or remove all but one (none of them is read)")))
        else:
            found.append(read_submission(root / name))
    return ClassFolder(sorted(found, key=lambda s: (s.name.casefold(), s.name, s.path)), skipped)


def read_submission(entry: str | Path) -> Submission:
    """One entry of a class folder (a folder or a .zip), read without trusting it (see the module). Never
    raises for what the entry holds: what is wrong is in the Submission."""
    path = Path(entry)
    name, shown = student_name(path), escaped(path.name)
    notes: list[str] = []
    try:
        try:
            info = os.lstat(path)
        except OSError as e:
            raise EntryBroken(f"{shown} cannot be read: {e.strerror}") from None
        if stat.S_ISDIR(info.st_mode):
            files = folder_files(path)
        elif stat.S_ISREG(info.st_mode) and path.name.lower().endswith(".zip"):
            files = zip_files(path, info.st_size, notes)
        elif stat.S_ISLNK(info.st_mode):
            try:
                target = escaped(os.readlink(path))
            except OSError:
                target = "?"
            raise EntryBroken(f"{shown} is a symbolic link (to {target}); links are not followed: put the "
                              "student's folder or .zip itself in the class folder")
        else:
            raise EntryBroken(f"{shown} is {kind_of(info.st_mode)}, not a folder or a .zip; each student's work "
                              "must be a folder or a .zip named after the student")
        used, problems = find_programs(with_archives(files, notes), notes)
    except EntryBroken as e:
        return Submission(name, str(path), error=str(e), notes=tuple(notes))
    return Submission(name, str(path), used, problems, None, tuple(notes))
