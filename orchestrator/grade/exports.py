"""A class exactly as a learning platform hands it over (`read_export`): a folder, or the .zip as downloaded
(read in memory with a submission zip's caps: reading.py), in the layout of Moodle, Canvas, Blackboard
(platforms.py), a folder of git repositories (gitrepos.py) or one folder or .zip per student (`folders`,
submission.py's survey, the default when nothing else matches).

- The layout is recognised by itself: the one whose names most entries of the export's top match, if more
  than half of them do (`detection` says which and how many); `--format` forces one. Entries the layout
  does not name are skipped, with why.
- Each student is one Submission under their own name (Moodle's full name, Canvas's sortable name,
  Blackboard's receipt's name, a repository's folder), with the platform's identifier; two students of one
  name are told apart by it ("Ana Silva (1001)"), so their folders and pages never collide.
- A student's files are read like an entry's (programs.py finds the programs); a student who handed in one
  .zip (and no program) has that zip's files read, in memory.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ..base.errors import InvalidInput
from ..base.text import escaped
from . import gitrepos
from .platforms import LAYOUTS, Found, Item, item_files
from .programs import find_programs
from .archives import EXPORT_ZIP, with_archives, zip_data_files
from .reading import (DEPTH, EntryBroken, EntryFile, file_reader, folder_files, is_ignored, kind_of,
                      read_file)
from .submission import NOT_A_SUBMISSION, ClassFolder, Skipped, Submission, survey

#: The layouts `--format` can force.
FORMATS = ("moodle", "canvas", "blackboard", "git", "folders")
EXPECTED = ("expected a class export: a folder or a platform's .zip (Moodle, Canvas, Blackboard), a folder of git "
            "repositories, or one folder or .zip per student")


def folder_items(root: Path) -> list[Item]:
    """The entries at the top of an export folder (nothing is read yet)."""
    try:
        listed = sorted(os.listdir(root))
    except OSError as e:
        raise InvalidInput(f"{root}: cannot be listed: {e.strerror}") from None
    items = []
    for name in listed:
        if is_ignored(name):
            continue
        path, shown = root / name, escaped(name)
        try:
            mode = os.lstat(path).st_mode
        except OSError as e:
            items.append(Item(name, shown, "other", lambda: [], why=f"cannot be looked at: {e.strerror}",
                              base=str(root)))
            continue
        if stat.S_ISDIR(mode):
            items.append(Item(name, shown, "folder", lambda p=path: folder_files(p), path=str(path),
                              base=str(root)))
        elif stat.S_ISREG(mode):
            items.append(Item(name, shown, "file", lambda p=path, n=name: [EntryFile((n,), file_reader(p, escaped(n)))],
                              path=str(path), base=str(root)))
        else:
            items.append(Item(name, shown, "other", lambda: [], why=f"{kind_of(mode)}, never followed or opened: not "
                              "a submission", base=str(root)))
    return items


def zip_items(path: Path, notes: list[str]) -> list[Item]:
    """The entries at the top of an export zip, read in memory (reading.py's caps); InvalidInput if it cannot be."""
    shown = escaped(path.name)
    try:
        data = read_file(path, EXPORT_ZIP.size)
    except InvalidInput as e:
        raise InvalidInput(f"{str(e).removesuffix('.')} (an export zip may be at most {EXPORT_ZIP.size:,} bytes)"
                           ) from None
    try:
        members = zip_data_files(data, shown, notes, depth=DEPTH + 1, caps=EXPORT_ZIP)
    except EntryBroken as e:
        raise InvalidInput(f"{path}: {e}") from None
    tops: dict[str, list[EntryFile]] = {}
    for m in members:
        tops.setdefault(m.parts[0], []).append(m)
    items = []
    for name, files in sorted(tops.items()):
        inside = [EntryFile(f.parts[1:], f.read) for f in files if len(f.parts) > 1]
        kind = "folder" if inside else "file"
        items.append(Item(name, f"{shown}/{escaped(name)}", kind, (lambda i=inside: i) if inside else
                          (lambda f=files[0]: [f]), base=str(path)))
    return items


def _detect(items: list[Item], fmt: str | None) -> tuple[str, str]:
    """The layout (forced, or the one most entries match, if over half do) and the message saying why. Links,
    FIFOs and devices are not counted: never read, they are skipped whatever the layout."""
    items = [i for i in items if i.kind != "other"]
    total = len(items)
    counts = {layout.name: sum(layout.matches(i) for i in items) for layout in LAYOUTS}
    counts["git"] = sum(i.kind == "folder" and bool(i.path) and gitrepos.is_repository(i.path) for i in items)
    said = {layout.name: f"are named {layout.pattern}" for layout in LAYOUTS}
    said["git"] = "are git repositories (a folder holding .git)"

    def why(name: str) -> str:
        return f"{counts[name]} of {total} {'entry' if total == 1 else 'entries'} {said[name]}"

    if fmt and fmt != "folders":
        return fmt, f"{fmt}: forced by --format ({why(fmt)})"
    best = max(counts, key=lambda n: counts[n])  # (the first of LAYOUTS on a tie)
    if fmt == "folders":
        return "folders", "folders: forced by --format (one folder or .zip per student)"
    if counts[best] * 2 > total:
        return best, f"{best}: {why(best)}"
    hint = f" (the closest, {best}: {why(best)})" if counts[best] else ""
    return "folders", f"folders: no platform's layout matches{hint}; one folder or .zip per student"


def _folders_in_zip(items: list[Item], skipped: list[Skipped]) -> list[Found]:
    found = []
    for item in items:
        if item.kind == "folder":
            found.append(Found(item.name, "", "folders", item.at()))
            found[-1].files, found[-1].error = item_files(item)
        elif item.name.lower().endswith(".zip") and len(item.name) > 4:
            found.append(Found(item.name[:-4], "", "folders", item.at(), files=item.files()))
        else:
            skipped.append(Skipped(item.shown, NOT_A_SUBMISSION))
    by_name: dict[str, list[Found]] = {}
    for f in found:
        by_name.setdefault(f.name.casefold(), []).append(f)
    for same in by_name.values():
        if len(same) > 1:
            for f in same:
                f.files, f.error = [], (f"{len(same)} entries give the student name {escaped(f.name)}: "
                                        f"{', '.join(s.path for s in same)}; rename or remove all but one")
    return found


def _git_students(items: list[Item], skipped: list[Skipped]) -> list[Found]:
    found = []
    for item in items:
        if not (item.kind == "folder" and item.path and gitrepos.is_repository(item.path)):
            skipped.append(Skipped(item.shown, "not a git repository (a folder holding .git)"))
            continue
        student = Found(item.name, item.name, "git", item.at())
        try:
            student.commit = gitrepos.head_commit(Path(item.path))
            student.files = gitrepos.repository_files(Path(item.path), student.commit, student.notes)
            student.notes.append(f"graded at the commit {student.commit} (HEAD); the working tree is not looked at")
        except EntryBroken as e:
            student.error = str(e)
        found.append(student)
    return found


def submission_of(found: Found) -> Submission:
    """A student's Submission from their part of the export (see the module); never raises."""
    notes = list(found.notes)
    extra = {"identifier": found.identifier, "platform": found.platform, "late": found.late, "commit": found.commit,
             "entry": found.entry}
    if found.error:
        return Submission(found.name, found.path, error=found.error, notes=tuple(notes), **extra)
    files = found.files
    try:
        used, problems = find_programs(with_archives(files, notes), notes)
    except EntryBroken as e:
        return Submission(found.name, found.path, error=str(e), notes=tuple(notes), **extra)
    return Submission(found.name, found.path, used, problems, None, tuple(notes), **extra)


def read_export(export: str | Path, fmt: str | None = None) -> ClassFolder:
    """The class an export holds (see the module). InvalidInput if it is missing, neither a folder nor a
    .zip, cannot be read, or holds no submission."""
    root = Path(export)
    try:
        info = os.stat(root)  # the export is the instructor's argument: a link to it is fine
    except OSError as e:
        raise InvalidInput(f"{export}: {e.strerror}; {EXPECTED}") from None
    is_folder = stat.S_ISDIR(info.st_mode)
    if not is_folder and not (stat.S_ISREG(info.st_mode) and root.name.lower().endswith(".zip")):
        raise InvalidInput(f"{export}: is {kind_of(info.st_mode)}; {EXPECTED}")
    notes: list[str] = []
    items = folder_items(root) if is_folder else zip_items(root, notes)
    platform, detection = _detect(items, fmt)
    if platform == "folders" and is_folder:
        found = survey(root)
        return ClassFolder(found.submissions, found.skipped, "folders", detection)
    if platform == "git" and not is_folder:
        raise InvalidInput(f"{export}: git repositories are read from a folder of them, not from a zip (a zip is "
                           "never unpacked)")
    skipped = [Skipped(i.shown, i.why) for i in items if i.kind == "other"]
    usable = [i for i in items if i.kind != "other"]
    readers = {layout.name: layout.students for layout in LAYOUTS}
    readers.update(git=_git_students, folders=_folders_in_zip)
    students = readers[platform](usable, skipped)
    if not students:
        shown = "; ".join(f"{s.entry}: {s.reason}" for s in skipped[:3])
        raise InvalidInput(f"{export}: holds no submission as {detection}" + (f" ({shown})" if shown else ""))
    _tell_apart(students)
    submissions = sorted((submission_of(s) for s in students), key=lambda s: (s.name.casefold(), s.name, s.path))
    return ClassFolder(submissions, sorted(skipped, key=lambda s: s.entry), platform, detection, tuple(notes))


def _tell_apart(students: list[Found]) -> None:
    """Two students of one name (ignoring case) get their identifier after it: "Ana Silva (1001)"."""
    by_name: dict[str, list[Found]] = {}
    for s in students:
        by_name.setdefault(s.name.casefold(), []).append(s)
    for same in by_name.values():
        if len(same) > 1:
            for s in same:
                if s.identifier:
                    s.name = f"{s.name} ({s.identifier})"
    taken: set[str] = set()
    for s in students:  # still one name twice (no identifier, or a name like another's told apart): a number
        name, n = s.name, 1
        while name.casefold() in taken:
            n += 1
            name = f"{s.name} ({n})"
        if name != s.name:
            s.notes.append(f"named {name} here: another student of the export is named {s.name}")
            s.name = name
        taken.add(name.casefold())
