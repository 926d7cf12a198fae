"""How Moodle, Canvas and Blackboard name the entries of a submissions export, read back into one `Found` per
student (exports.py lists the export, recognises its layout and reads each Found as a Submission).

Each platform is a `Layout`: `matches(item)` says whether an entry of the export's top is named as that
platform names one, `students(items)` groups the matching entries per student. The names, from the
platforms' own code (docs/grading.md, From a learning platform):
- Moodle (mod/assign downloader): `Full Name_<id>_assignsubmission_file/` (4.1+), with a trailing `_`
  (3.1-4.0), or flat `Full Name_<id>_assignsubmission_file_<file>`; '_' in a name becomes a space, so the
  id is the second token. Blind marking gives `Participant_<id>`, team submissions `Group name_<group id>`.
  `_assignsubmission_onlinetext` entries are not files: ignored, with a note.
- Canvas (lib/content_zipper.rb): `<sortable name>[_LATE]_<user id>_<attachment id>_<file>`, anonymous
  grading `[LATE_]anon_<anonymous id>_...`; a re-uploaded file is renamed `file-1.py` (the highest number,
  then the latest attachment, counts); `_text.html` and `_link.html` are not files: ignored, with a note.
- Blackboard: `<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>` and a receipt
  `<assignment>_<username>_attempt_<date-time>.txt` (`Name: Full Name (username)`, each file's original
  name); the latest attempt counts, the others are named in the student's notes.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..base.text import escaped
from .reading import ASSIGNMENT, EntryBroken, EntryFile, FileRefused
from .submission import Skipped


@dataclass
class Item:
    """An entry at the top of an export: a folder (its files, relative to it) or a file (itself)."""

    name: str
    shown: str  # as messages say it: export/name
    kind: str  # "folder", "file", or "other" (a link, a FIFO...: never read)
    files: Callable[[], list[EntryFile]]  # raises EntryBroken
    why: str = ""  # for "other": what it is
    path: str = ""  # on disk, for a folder export (git reads it)
    base: str = ""  # the export (a folder or a zip), as given

    def at(self, name: str | None = None) -> str:
        """Where a student's part is, said in the manifest: the export's path and the entry's (or a pattern's)."""
        return os.path.join(self.base, escaped(self.name if name is None else name))


@dataclass
class Found:
    """One student's part of an export, before its programs are looked for."""

    name: str
    identifier: str
    platform: str
    path: str
    files: list[EntryFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    late: bool = False
    commit: str = ""
    error: str | None = None
    entry: str = ""  # the student's entry as the platform named it (Moodle: Full Name_<id>_assignsubmission_file)


def renamed(entry: EntryFile, name: str) -> EntryFile:
    return EntryFile((*entry.parts[:-1], name), entry.read)


def item_files(item: Item) -> tuple[list[EntryFile], str | None]:
    """A folder's files, or why none can be used."""
    try:
        return item.files(), None
    except EntryBroken as e:
        return [], str(e)


# ---- Moodle -----------------------------------------------------------------------------------------------
MOODLE = re.compile(r"(?P<name>[^_]+?)(?:_(?P<id>\d{1,18}))?_assignsubmission_(?P<type>[A-Za-z0-9]+)(?P<rest>_.*)?",
                    re.DOTALL)


#: Entry names longer than this are no platform's (a file system allows 255 bytes; a zip member up to 65,535
#: characters, which no pattern is tried on).
NAME_LIMIT = 1024


def _moodle(item: Item) -> re.Match | None:
    m = MOODLE.fullmatch(item.name) if len(item.name) <= NAME_LIMIT else None
    if not m:
        return None
    rest = m["rest"]
    if item.kind == "folder":
        return m if rest in (None, "_") else None
    return m if item.kind == "file" and rest and len(rest) > 1 else None


def moodle_students(items: list[Item], skipped: list[Skipped]) -> list[Found]:
    by_key: dict[tuple[str, str], Found] = {}
    ignored: dict[tuple[str, str], list[str]] = {}
    for item in items:
        m = _moodle(item)
        if m is None:
            skipped.append(Skipped(item.shown, "not named as Moodle names a submission "
                                               "(Full Name_<id>_assignsubmission_file)"))
            continue
        key = (m["name"], m["id"] or "")
        if m["type"] != "file":
            ignored.setdefault(key, []).append(item.shown)
            continue
        found = by_key.setdefault(key, Found(m["name"], key[1], "moodle", item.at()))
        # the folder as Moodle named it (a flat download's: the files' common prefix, as 4.1 names the folder):
        # Moodle's feedback upload matches a student by it (moodleout.py)
        found.entry = found.entry or (item.name if item.kind == "folder" else item.name[:len(item.name) - len(m["rest"])])
        if item.kind == "folder":
            files, error = item_files(item)
            found.files += files
            found.error = found.error or error
        else:
            (entry,) = item.files()
            found.files.append(renamed(entry, m["rest"][1:]))
            found.path = item.at(item.name[:len(item.name) - len(m["rest"]) + 1] + "*")
    for key, entries in ignored.items():
        what = f"{', '.join(entries)}: Moodle's online text, not a file submission: ignored"
        if key in by_key:
            by_key[key].notes.append(what)
        else:
            skipped.extend(Skipped(e, "Moodle's online text (assignsubmission_onlinetext), not a file submission: "
                                      "ignored") for e in entries)
    return list(by_key.values())


# ---- Canvas -----------------------------------------------------------------------------------------------
CANVAS = re.compile(r"(?:(?P<name>\w*?)_)??(?:(?P<late>LATE)_)?(?P<uid>\d{1,18}|anon_[A-Za-z0-9]{1,64})_"
                    r"(?:(?P<att>\d{1,18})_(?P<file>.+)|(?P<kind>text|link)\.html)", re.DOTALL)
_RENAMED = re.compile(r"(?P<stem>.+)-(?P<n>\d{1,9})(?P<ext>\.py)", re.IGNORECASE | re.DOTALL)


def _canvas(item: Item) -> re.Match | None:
    m = CANVAS.fullmatch(item.name) if item.kind == "file" and len(item.name) <= NAME_LIMIT else None
    return m if m and (m["name"] is not None or m["uid"].startswith("anon_")) else None  # (a name of no letter: "")


def canvas_students(items: list[Item], skipped: list[Skipped]) -> list[Found]:
    by_id: dict[str, Found] = {}
    uploads: dict[str, list[tuple[str, int, int, EntryFile]]] = {}  # user -> (name, number, attachment, file)
    texts: dict[str, list[str]] = {}
    for item in items:
        m = _canvas(item)
        if m is None:
            skipped.append(Skipped(item.shown, "not named as Canvas names a submission "
                                               "(<name>_<user id>_<attachment id>_<file>)"))
            continue
        uid = m["uid"]
        if m["kind"]:
            texts.setdefault(uid, []).append(item.shown)
            continue
        found = by_id.setdefault(uid, Found(m["name"] or uid, uid, "canvas",
                                            item.at(item.name[:m.end("uid") + 1] + "*")))
        found.late = found.late or bool(m["late"])
        (entry,) = item.files()
        name, number = m["file"], 0
        again = _RENAMED.fullmatch(name)
        if again and (again["stem"] + again["ext"]).lower() in ASSIGNMENT:  # a program's name, renamed
            name, number = again["stem"] + again["ext"], int(again["n"])
        uploads.setdefault(uid, []).append((name, number, int(m["att"]), renamed(entry, m["file"])))
    for uid, files in uploads.items():
        found = by_id[uid]
        by_name: dict[str, list[tuple[str, int, int, EntryFile]]] = {}
        for upload in files:
            by_name.setdefault(upload[0].casefold(), []).append(upload)
        for same in by_name.values():
            same.sort(key=lambda u: (u[1], u[2]))
            name, number, _, entry = same[-1]
            found.files.append(renamed(entry, name))
            if number:
                found.notes.append(f"{escaped(entry.parts[-1])} is Canvas's name for a re-uploaded {escaped(name)}: "
                                   f"graded as {escaped(name)}")
            if len(same) > 1:
                older = [escaped(u[3].parts[-1]) for u in same[:-1]]
                found.notes.append(f"left out {', '.join(older)}: earlier uploads of {escaped(name)} (the highest "
                                   f"number, then the latest upload, counts: {escaped(entry.parts[-1])})")
    for uid, entries in texts.items():
        what = "Canvas's text or link entry, not a file: ignored"
        if uid in by_id:
            by_id[uid].notes.append(f"{', '.join(entries)}: {what}")
        else:
            skipped.extend(Skipped(e, what) for e in entries)
    return list(by_id.values())


# ---- Blackboard -------------------------------------------------------------------------------------------
BLACKBOARD = re.compile(r"(?P<assign>.+)_(?P<user>[^_]+)_attempt_(?P<at>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)"
                        r"(?:_(?P<file>.+)|(?P<receipt>\.txt))", re.DOTALL)
#: The most of a receipt read (one is a few hundred bytes).
RECEIPT_LIMIT = 64 * 1024


def _blackboard(item: Item) -> re.Match | None:
    return BLACKBOARD.fullmatch(item.name) if item.kind == "file" and len(item.name) <= NAME_LIMIT else None


def _receipt(entry: EntryFile) -> tuple[str | None, dict[str, str]]:
    """The student's name a receipt gives (`Name: Full Name (username)`), and its file names -> original names."""
    try:
        text = entry.read(RECEIPT_LIMIT).decode("utf-8", "replace")
    except (FileRefused, EntryBroken):
        return None, {}
    name = re.search(r"^Name:[ \t]*(.+?)[ \t]*\([^()\n]*\)[ \t]*\r?$", text, re.MULTILINE)
    originals = dict((f, o) for o, f in re.findall(r"Original filename:[ \t]*([^\r\n]+?)[ \t]*\r?\n[ \t]*"
                                                   r"Filename:[ \t]*([^\r\n]+?)[ \t]*\r?$", text, re.MULTILINE))
    return (name[1] if name else None), originals


def blackboard_students(items: list[Item], skipped: list[Skipped]) -> list[Found]:
    attempts: dict[str, dict[str, list[tuple[Item, re.Match]]]] = {}  # user -> date-time -> its entries
    for item in items:
        m = _blackboard(item)
        if m is None:
            skipped.append(Skipped(item.shown, "not named as Blackboard names a submission "
                                               "(<assignment>_<user>_attempt_<date-time>_<file>)"))
            continue
        attempts.setdefault(m["user"], {}).setdefault(m["at"], []).append((item, m))
    found = []
    for user, by_time in attempts.items():
        latest = max(by_time)
        entries = by_time[latest]
        name, originals = None, {}
        for item, m in entries:
            if m["receipt"]:
                name, originals = _receipt(item.files()[0])
        first, m = entries[0]
        student = Found(name or user, user, "blackboard", first.at(first.name[:m.end("at")] + "*"))
        for item, m in entries:
            if m["file"]:
                original = originals.get(item.name, "")
                use = original if original and "/" not in original and "\\" not in original else m["file"]
                student.files.append(renamed(item.files()[0], use))
        if not any(m["receipt"] for _, m in entries):
            student.notes.append(f"the attempt of {latest} has no receipt (.txt): the name is the username")
        older = sorted(t for t in by_time if t != latest)
        if older:
            student.notes.append(f"graded the latest attempt ({latest}); not graded: the earlier "
                                 f"attempt{'s' if len(older) > 1 else ''} of {', '.join(older)}")
        found.append(student)
    return found


@dataclass(frozen=True)
class Layout:
    name: str
    pattern: str  # how its entries are named, as the detection message says it
    matches: Callable[[Item], bool]
    students: Callable[[list[Item], list[Skipped]], list[Found]]


LAYOUTS = (
    Layout("moodle", "Full Name_<id>_assignsubmission_file", lambda i: _moodle(i) is not None, moodle_students),
    Layout("canvas", "<name>_<user id>_<attachment id>_<file>", lambda i: _canvas(i) is not None, canvas_students),
    Layout("blackboard", "<assignment>_<user>_attempt_<date-time>_<file> (or its .txt receipt)",
           lambda i: _blackboard(i) is not None, blackboard_students),
)
