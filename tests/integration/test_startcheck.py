"""A program that cannot start costs no play (issue: every point earned), for real: the class's files are
compiled by the lab's own Python in one throwaway container before any play; each program that cannot start
has its checks fail with Python's words and gets no play, the student's other programs are graded as usual;
entries of the class folder that are no student's are skipped, not graded; nothing is left behind."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.integration import docker, grade, read_csv, session_leftovers

pytestmark = pytest.mark.docker

PROGRAMS = ("server_tcp.py", "client_tcp.py", "server_udp.py", "client_udp.py")
REFERENCE = {name: (ROOT / "programs" / name).read_bytes() for name in PROGRAMS}

#: Each student: the files that differ from the lab's reference programs.
CLASS = {
    "python2": {"server_tcp.py": b"import socket\nprint \"starting\"\n" + REFERENCE["server_tcp.py"]},
    "indented": {"client_tcp.py": b"import socket\ndef main():\nprint('hello')\n"},
    "latin1": {"server_udp.py": b"import socket\n# caf\xe9 au lait\n" + REFERENCE["server_udp.py"]},
    "colorama": {"client_tcp.py": b"import colorama\n" + REFERENCE["client_tcp.py"]},
    # an import the program handles, and one that is its own helper module: not flagged; a helper that does not
    # compile is kept (the programs importing it would show Python's error), with a note
    "handles-it": {"client_tcp.py": b"try:\n    import colorama\nexcept ImportError:\n    colorama = None\n"
                                    + REFERENCE["client_tcp.py"],
                   "client_udp.py": b"import helper\n" + REFERENCE["client_udp.py"],
                   "helper.py": b"GREETING = 'hello'\n",
                   "oldstyle.py": b"print 'unused'\n"},
}
#: The reason each broken program's checks fail with, exactly.
BROKEN = {
    ("python2", "server_tcp.py"): "server_tcp.py does not run under Python 3.11: line 2: Missing parentheses in call "
                                  "to 'print'. Did you mean print(...)?",
    ("indented", "client_tcp.py"): "client_tcp.py does not run under Python 3.11: line 3: expected an indented block "
                                   "after function definition on line 2",
    # (a file Python cannot decode never reaches the container: reading the submission refuses it first)
    ("latin1", "server_udp.py"): "server_udp.py is not text in UTF-8: line 2 holds a byte (0xe9) that is not UTF-8; "
                                 "save it as UTF-8, or declare its encoding on its first line "
                                 "(# -*- coding: latin-1 -*-)",
    ("colorama", "client_tcp.py"): "client_tcp.py does not run under Python 3.11: line 1: No module named 'colorama' "
                                   "(the lab has Python's standard library only)",
}
HELPER_NOTE = ("oldstyle.py does not run under Python 3.11: line 1: Missing parentheses in call to 'print'. Did you "
               "mean print(...)?; the programs importing oldstyle stop with that error in their plays")
CHECK = re.compile(r"^  ([✓✗]) (.+) \(\S+/\S+, judges your (\S+)\)$")


def make_class(folder: Path) -> Path:
    for student, files in CLASS.items():
        (folder / student).mkdir(parents=True)
        for name, content in {**REFERENCE, **files}.items():
            (folder / student / name).write_bytes(content)
    (folder / "README.txt").write_text("exported by the platform\n")  # no student's: skipped
    (folder / "grades.csv").write_text("student,grade\n")
    (folder / "lonely.zip").symlink_to(folder / "python2")
    return folder


def verdicts(summary: str) -> dict[str, list[tuple[bool, str]]]:
    """Program file -> (passed, evidence) of each check judging it, from a student's summary.txt."""
    found: dict[str, list[tuple[bool, str]]] = {}
    lines = summary.splitlines()
    for i, line in enumerate(lines):
        m = CHECK.match(line)
        if m:
            found.setdefault(m[3], []).append((m[1] == "✓", lines[i + 1].strip() if i + 1 < len(lines) else ""))
    return found


def test_programs_that_cannot_start_get_no_play_and_fail_with_pythons_words(tmp_path):
    klass = make_class(tmp_path / "class")
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: quick\ndescription: the TCP and UDP exchanges\nscenarios:\n"
                     f"  - {{scenario: {ROOT / 'scenarios' / 'tcp.yaml'}, weight: 1}}\n"
                     f"  - {{scenario: {ROOT / 'scenarios' / 'udp.yaml'}, weight: 1}}\n")
    grades = tmp_path / "grades"
    # the containers created for compile checks while it grades (the engine keeps too few events to ask after)
    events = subprocess.Popen(["docker", "events", "--filter", "type=container", "--filter", "event=create",
                               "--filter", "label=socklab.purpose=compile", "--format", "{{json .Actor.Attributes}}"],
                              stdout=subprocess.PIPE, text=True)
    try:
        first = grade(str(klass), "--suite", str(suite), "--out", str(grades / "first"), "-j", "4", cwd=tmp_path)
    finally:
        events.terminate()
    created = [json.loads(line) for line in events.communicate(timeout=10)[0].splitlines()]
    assert first.returncode == 0, first.stdout + first.stderr
    assert session_leftovers(first) == []

    # the entries that are no student's: skipped with their reason, not graded
    rows = read_csv(grades / "first" / "grades.csv")
    assert [r["student"] for r in rows] == sorted(CLASS, key=str.casefold)
    manifest = json.loads((grades / "first" / "manifest.json").read_text())
    stray = "not a folder or a .zip: a file the platform left, not a submission"
    assert manifest["skipped"] == [
        {"entry": "README.txt", "reason": stray}, {"entry": "grades.csv", "reason": stray},
        {"entry": "lonely.zip", "reason": f"a symbolic link (to {klass / 'python2'}), not followed: put the student's "
                                          "folder or .zip itself in the class folder"}]
    assert f"README.txt: {stray}" in first.stdout and "lonely.zip: a symbolic link" in first.stdout
    assert not (grades / "first" / "students" / "README.txt").exists()

    # compiled by the lab's Python (the image's, not the host's), in one container of the grading's session
    image = manifest["images"]["node"]
    lab_python = docker("run", "--rm", "--network", "none", image["id"], "python3", "-c",
                        "import platform; print(platform.python_version())").stdout.strip()
    compiled = manifest["compiled"]
    assert (compiled["image_id"], compiled["python"]) == (image["id"], lab_python)
    assert compiled["problems"] == {s: {p: m} for (s, p), m in BROKEN.items() if s != "latin1"}
    assert compiled["helpers"] == {"handles-it": {"oldstyle.py": HELPER_NOTE.split(";")[0]}}
    ours = [c for c in created if c.get("socklab.session") == manifest["session"]]
    assert len(ours) == 1 and ours[0]["image"] == image["id"], created

    cache = grades / ".socklab-cache" / "students"
    for student in CLASS:
        played = {p.parent.name + ".py" for p in (cache / student).rglob("part.json")}
        summary = verdicts((grades / "first" / "students" / student / "summary.txt").read_text())
        for program in PROGRAMS:
            reason = BROKEN.get((student, program))
            if reason is not None:  # no play; every check judging it fails with the reason
                assert program not in played, (student, program)
                assert summary[program] and all(v == (False, reason) for v in summary[program]), (student, summary)
                assert reason in manifest["submissions"][student]["problems"].values()
            else:  # played, and judged on what it did: the reference programs pass
                assert program in played, (student, program)
                assert all(passed for passed, _ in summary[program]), (student, program, summary[program])
    plays = len(list(cache.rglob("part.json")))
    assert plays == 4 * len(CLASS) - len(BROKEN)
    row = next(r for r in rows if r["student"] == "colorama")
    assert row["notes"] == BROKEN[("colorama", "client_tcp.py")] and row["status"] == "graded"
    assert HELPER_NOTE in manifest["submissions"]["handles-it"]["notes"]

    # again: the same grades, every play re-used (the check changes no play's key)
    parts = {p: p.stat().st_mtime_ns for p in cache.rglob("part.json")}
    again = grade(str(klass), "--suite", str(suite), "--out", str(grades / "again"), "-j", "4", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (grades / "again" / "grades.csv").read_text() == (grades / "first" / "grades.csv").read_text()
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("part.json")} == parts
    assert json.loads((grades / "again" / "manifest.json").read_text())["compiled"]["problems"] == compiled["problems"]
    assert session_leftovers(again) == []


def test_a_class_folder_with_no_student_is_refused(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "README.txt").write_text("x")
    (klass / ".DS_Store").write_bytes(b"")
    proc = grade(str(klass), cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip() == (f"error: {klass}: holds no submission; expected the class folder: one folder or "
                                   ".zip per student (skipped README.txt: not a folder or a .zip; ignored: .DS_Store)")
    assert session_leftovers(proc) == []
