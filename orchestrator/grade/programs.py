"""What of a class folder's entry can be used: each assignment program found among the entry's files (listed
by reading.py), read and checked to be text, and the helper modules beside them; the problems of the programs
that cannot be used, and the notes worth telling.

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
  different folders are noted.
- Archives inside an entry (a folder holding PL1.zip: archives.py opens them, one level deep) are folders
  named after the archive: a note names the programs found in each, and a program both loose and in an
  archive (or in two) is two candidates, the problem saying which archive.
- A program file must be text: no NUL byte, and decoding as Python does (tokenize.detect_encoding: UTF-8,
  a BOM allowed, unless a PEP 263 coding cookie names another encoding); otherwise it is a problem ("not
  text"); a helper that is not text is left out with a note.
"""
from __future__ import annotations

import io
import keyword
import re
import sys
import tokenize

from ..base.text import escaped
from .reading import (ASSIGNMENT, FILE_LIMIT, FILES_LIMIT, PROGRAM_NAME, TOTAL_LIMIT, EntryFile, FileRefused,
                      count_word, name_list)

def text_problem(rel: str, data: bytes) -> str | None:
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


def find_programs(files: list[EntryFile], notes: list[str]) -> tuple[dict[str, bytes], dict[str, str]]:
    """The programs and helpers that can run (file name -> bytes), and the problems of each program."""
    used: dict[str, bytes] = {}
    problems: dict[str, str] = {}
    folders: dict[tuple[str, ...], list[str]] = {}  # a used program's folder -> the programs from there
    in_archive: dict[tuple[str, ...], list[str]] = {}  # an archive inside the entry -> the programs from it
    for program in ASSIGNMENT:
        candidates = [f for f in files if f.parts[-1].lower() == program]
        if not candidates:
            problems[program] = f"{program} not submitted"
            stem = _squashed(program[:-3])
            similar = [f.rel for f in files if stem in _squashed(f.parts[-1])]
            if similar:
                notes.append(f"{program} not submitted, but there is {name_list(similar)}: a program must be "
                             f"named {program} (in any case)")
            continue
        if len(candidates) > 1:
            paths = [f.rel for f in candidates]
            twice = " (the zip holds one name more than once)" if len(set(paths)) < len(paths) else ""
            archives = sorted({escaped("/".join(f.archive)) for f in candidates if f.archive})
            if archives:
                twice += (f" ({name_list(archives)} {'is an archive' if len(archives) == 1 else 'are archives'} "
                          "in the submission, read as a folder: hand each program in once)")
            problems[program] = f"{count_word(len(paths))} files could be {program}: {name_list(paths)}{twice}"
            continue
        found = candidates[0]
        try:
            data = found.read(FILE_LIMIT)
        except FileRefused as e:
            problems[program] = str(e)
            continue
        problem = text_problem(found.rel, data)
        if problem:
            problems[program] = problem
            continue
        used[program] = data
        folders.setdefault(found.folder, []).append(program)
        if found.archive:
            in_archive.setdefault(found.archive, []).append(program)
        if found.parts[-1] != program:
            notes.append(f"found {found.rel} as {program}")
    for archive, programs in sorted(in_archive.items()):
        notes.append(f"found {name_list(programs)} inside the archive {escaped('/'.join(archive))}")
    if len(folders) > 1:
        notes.append("the programs come from different folders ("
                     + name_list([escaped("/".join(f)) or "the top" for f in sorted(folders)])
                     + "); they run side by side, in one folder")
    _add_helpers(files, folders, used, notes)
    return used, problems


def _add_helpers(files: list[EntryFile], folders: dict[tuple[str, ...], list[str]], used: dict[str, bytes],
                 notes: list[str]) -> None:
    """The other .py files of the used programs' folders, as far as they can be used (see the module)."""
    by_name: dict[str, list[EntryFile]] = {}
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
            notes.append(f"left out {name_list([f.rel for f in same])}: the programs run side by side in one folder, "
                         f"where only one {name} fits")
            continue
        helper = same[0]
        if len(used) >= FILES_LIMIT:
            over.append(helper.rel)
            continue
        try:
            data = helper.read(FILE_LIMIT)
        except FileRefused as e:
            notes.append(f"left out a helper: {e}")
            continue
        problem = text_problem(helper.rel, data)
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
        notes.append(f"left out {name_list(over)}: at most {FILES_LIMIT} .py files and {TOTAL_LIMIT:,} bytes of them "
                     "are used from a submission")
