"""Grading for real (issue 8): stopped with Ctrl-C and resumed; the sample class's pinned grades, twice
identical; nothing left behind."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.integration import SCENARIOS, SOCKLAB, grade, read_csv, session_leftovers, wait_until

pytestmark = pytest.mark.docker


def test_a_grading_stopped_with_ctrl_c_tears_down_and_the_next_one_resumes(tmp_path):
    klass = tmp_path / "class"
    for name in ("ana", "bob"):
        (klass / name).mkdir(parents=True)
        for program in ("server_tcp.py", "client_tcp.py", "server_udp.py", "client_udp.py"):
            shutil.copy(ROOT / "programs" / program, klass / name / program)
    out, cache = tmp_path / "grades" / "first", tmp_path / "grades" / ".socklab-cache"
    proc = subprocess.Popen([*SOCKLAB, "grade", str(klass), "--out", str(out), "-j", "1"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # stop it once two plays are done
    wait_until("two plays of the grading to finish",
               lambda: ((n := len(list(cache.rglob("part.json")))) >= 2 or proc.poll() is not None, n), timeout=180)
    done_before = {p: p.stat().st_mtime for p in cache.rglob("part.json")}
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130, proc.stderr.read()
    assert session_leftovers(proc) == []  # the play under way tore down
    assert not (out / "grades.csv").exists()
    again = grade(str(klass), "--out", str(tmp_path / "grades" / "second"), "-j", "2", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    for part, mtime in done_before.items():  # the plays finished before Ctrl-C were re-used, not played again
        assert part.stat().st_mtime == mtime, part
    rows = read_csv(tmp_path / "grades" / "second" / "grades.csv")
    assert [(r["student"], r["total"], r["maximum"], r["status"]) for r in rows] == [
        ("ana", "96", "96", "graded"), ("bob", "96", "96", "graded")]
    manifest = json.loads((tmp_path / "grades" / "second" / "manifest.json").read_text())
    assert set(manifest["submissions"]) == {"ana", "bob"} and manifest["engine"]["Version"]
    assert (tmp_path / "grades" / "second" / "students" / "ana" / "tcp-exchange" / "server_tcp" / "capture.pcap").is_file()
    assert session_leftovers(again) == []


FAIR = ROOT / "tests" / "fairness"


def class_of(tmp_path: Path, name: str, source: Path) -> Path:
    """A class of one student: the programs of `source`, the lab's reference ones for the rest."""
    student = tmp_path / "class" / name
    student.mkdir(parents=True)
    for program in ("server_tcp.py", "client_tcp.py", "server_udp.py", "client_udp.py"):
        shutil.copy(source / program if (source / program).exists() else ROOT / "programs" / program,
                    student / program)
    return student.parent


def test_threads_printing_at_once_never_cost_points(tmp_path):
    """The same submission gets the same points every time, whatever the threads' scheduling: its goodbyes
    share lines in most plays. SOCKLAB_SOAK_REPEATS (make soak: 20; make test: 1, against the pinned row) gradings,
    -j 2, each from scratch."""
    klass = class_of(tmp_path, "threaded-print", FAIR / "threaded-print")
    repeats = int(os.environ.get("SOCKLAB_SOAK_REPEATS", "1"))
    rows, gradings = [], []
    for i in range(repeats):
        proc = grade(str(klass), "--out", str(tmp_path / "grades" / str(i)), "-j", "2", "--force", cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        gradings.append(proc)
        rows.append(read_csv(tmp_path / "grades" / str(i) / "grades.csv"))
    assert all(r == rows[0] for r in rows), rows
    # full marks wherever it implements the behaviour: every point but its usage line (a handout-style server
    # reads sys.argv unchecked) and the non-zero exit that goes with it (a traceback is no usage error): 2 points
    # at the usage scenario's half weight
    assert (rows[0][0]["tcp-clients"], rows[0][0]["total"], rows[0][0]["maximum"]) == ("16", "95", "96")
    assert session_leftovers(*gradings) == []


def test_a_server_without_the_greeting_loses_only_the_greeting(tmp_path):
    """One mistake costs its own checks only: the lab's client waits a bounded time for the greeting, says so
    and carries on, so the server's right answers are still exercised and earn their points everywhere."""
    klass = class_of(tmp_path, "no-greeting", FAIR / "no-greeting")
    proc = grade(str(klass), "--out", str(tmp_path / "grades"), "--only", "no-greeting", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [row] = read_csv(tmp_path / "grades" / "grades.csv")
    assert ([row[s] for s in SCENARIOS], row["total"]) == (["22", "14", "16", "11", "4", "8", "8", "8", "4"], "95")
    summary = (tmp_path / "grades" / "students" / "no-greeting" / "summary.txt").read_text()
    failed = [line for line in summary.splitlines() if line.lstrip().startswith("✗")]
    assert len(failed) == 1 and "the greeting travels server to client" in failed[0], summary
    assert session_leftovers(proc) == []


# ---- the sample class (examples/README.md) -------------------------------------------------------------

SAMPLE = ROOT / "examples" / "submissions"

#: Each student's points per scenario (tcp-exchange, udp-exchange, tcp-clients, closed-port, usage, netstat,
#: filters, lossy-link, delay) and total, out of 23, 14, 16, 11, 4 (8 at half weight), 8, 8, 8, 4 and 96: what each
#: mistake costs and nothing more (examples/README.md says why, student by student); the hostile students
#: lose only what their program's own behaviour costs.
PINNED = {
    "binds-localhost": (10, 8, 3, 11, 4, 4, 4, 5, 3, 52),
    "bytes-not-chars": (21, 14, 16, 11, 4, 8, 8, 8, 4, 94),
    "correct": (23, 14, 16, 11, 4, 8, 8, 8, 4, 96),
    "crash-on-first-message": (16, 14, 7, 11, 4, 8, 8, 8, 4, 80),
    "daemon": (23, 14, 16, 11, 4, 8, 8, 8, 4, 96),
    "disk-filler": (23, 14, 16, 11, 4, 8, 8, 8, 4, 96),
    "echo-server": (14, 14, 6, 11, 4, 8, 8, 8, 4, 77),
    "fork-bomb": (23, 14, 16, 11, 4, 8, 8, 8, 4, 96),
    "handout-style": (23, 14, 16, 11, 0, 8, 8, 8, 4, 92),
    "hangs-ignoring-signals": (21, 13, 16, 11, 4, 7, 8, 8, 4, 92),
    "memory-hog": (23, 14, 16, 11, 4, 8, 8, 8, 4, 96),
    "missing-program": (23, 8, 16, 7, 3, 8, 7, 6, 4, 82),
    "no-threads": (23, 14, 12, 11, 4, 8, 8, 8, 4, 92),
    "output-flood": (22, 14, 16, 11, 4, 8, 8, 8, 4, 95),
    "renamed-copy": (23, 14, 16, 11, 4, 8, 8, 8, 4, 96),  # correct's programs, renamed: correct's points
    "wrong-log-line": (21, 14, 15, 11, 4, 8, 8, 8, 4, 93),
    "zipped-student": (23, 14, 16, 11, 4, 8, 8, 8, 4, 96),
}


def digests(folder: Path) -> dict[str, str]:
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def file_of(url: str) -> Path:
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(url).path))


def look_at_the_pages(browser, out: Path, rows: list[dict[str, str]]) -> None:
    """The grading's pages as an instructor sees them in Chromium: the class index (a row and a working link
    per student, sortable, the distribution, the pass rates), each student's page (their checks, a working
    link to each play's report), and the plays' reports (an arrow per packet)."""
    browser.open(out / "index.html")
    browser.screenshot("grading-index")
    assert browser.errors() == [] and browser.requests() == []
    students = browser.js("return Array.from(document.querySelectorAll('#students tr.student')).map(r => ({"
                          "name: r.querySelector('td.name').textContent.trim(), href: r.querySelector('td.name a').href,"
                          "total: r.querySelector('td.total').textContent.trim()}))")
    assert sorted((s["name"], s["total"]) for s in students) == sorted((r["student"], r["total"]) for r in rows)
    counts = browser.js("return Array.from(document.querySelectorAll('#distribution rect.bin')).map(r => +r.dataset.count)")
    assert sum(counts) == len(rows)
    assert browser.count("#pass-rates tr.check") > 40
    # sorting by total, as a click on its header does
    browser.js("Array.from(document.querySelectorAll('#students th')).find(h => h.textContent.trim() === 'total').click()")
    totals = [float(t) for t in browser.texts("#students tr.student td.total")]
    assert totals == sorted(totals)
    reports = 0
    for s in students:  # every student's link works, and so does each link to their plays' reports
        browser.driver.get(s["href"])
        assert browser.js("return document.getElementById('student-name').textContent.trim()") == s["name"]
        links = browser.js("return Array.from(document.querySelectorAll('a.report')).map(a => a.href)")
        assert links, f"{s['name']}'s page links no play's report"
        for href in links:
            assert file_of(href).is_file(), href
        reports += len(links)
        if s["name"] == "bytes-not-chars":
            browser.screenshot("grading-student-bytes-not-chars")
            tcp = next(h for h in links if "/tcp-exchange/server_tcp/" in h)
            browser.driver.get(tcp)
            rep = json.loads(file_of(tcp).with_name("report.json").read_text())
            assert browser.count("svg.ladder g.packet") == rep["capture"]["packets"] > 10
            assert browser.count("#check-table tr.check.failed") == sum(not c["passed"] for c in rep["checks"]) > 0
    assert reports > 10 * len(students)


#: the second grading of the sample class in make test (a lab per play): what shared labs could have changed
FRESH_LABS = ("correct", "daemon", "fork-bomb", "hangs-ignoring-signals", "no-threads")


def test_the_sample_class_gets_its_pinned_grades_every_time(tmp_path, browser):
    """The whole sample class, graded with labs shared by a student's plays (cleared between them), then
    again from scratch with a lab per play (FRESH_LABS; make soak: the whole class), then (make soak) three students alone: the same grades.csv each time, the
    pinned points, the first grading's files untouched by the later ones, nothing left behind. About 8
    minutes."""
    grades = tmp_path / "grades"
    first = grade(str(SAMPLE), "--out", str(grades / "first"), cwd=tmp_path)  # grade's own -j: 4 here
    assert first.returncode == 0, first.stdout + first.stderr
    assert session_leftovers(first) == []
    rows = read_csv(grades / "first" / "grades.csv")
    got = {r["student"]: (*(int(r[s]) for s in SCENARIOS), int(r["total"])) for r in rows}
    assert got == PINNED
    assert {r["maximum"] for r in rows} == {"96"} and {r["status"] for r in rows} == {"graded"}
    assert {r["student"]: r["notes"] for r in rows if r["notes"]} == {"missing-program": "client_udp.py not submitted"}

    def summary(student: str) -> str:
        return (grades / "first" / "students" / student / "summary.txt").read_text()

    # what a student reads: the reason of each loss, and what the lab's limits stopped
    assert "✗ client_udp.py not submitted" in summary("missing-program")
    assert "note: found Sockets_Lab_Marta/Server_TCP.py as server_tcp.py" in summary("zipped-student")
    assert "the memory limit (256 MiB) was reached and the kernel killed 1 process" in summary("memory-hog")
    assert re.search(r"the process limit \(\d+\) refused \d+ new processes", summary("fork-bomb"))
    assert "its output went past the limit" in summary("output-flood")
    assert "✗ one thread per client, all three served at once" in summary("no-threads")
    assert "Matching, but only after the snapshot (not counted)" in summary("no-threads")
    # plays shared labs: a snapshot left out what an earlier play's TIME_WAIT kept in the kernel, and said so
    assert any("left by an earlier play in this grading's lab" in p.read_text()
               for p in (grades / "first" / "students").rglob("netstat-*.txt"))
    look_at_the_pages(browser, grades / "first", rows)
    kept = digests(grades / "first")

    # again, from scratch, each play in a lab of its own: the same grades. In make test, the students whose plays
    # leave the most behind in a shared lab (TIME_WAIT, a daemon, processes at their limits) and two clean ones;
    # make soak does the whole class (SOCKLAB_SOAK_REPEATS set)
    fresh = () if os.environ.get("SOCKLAB_SOAK_REPEATS") else FRESH_LABS
    second = grade(str(SAMPLE), "--out", str(grades / "second"), "--force", "--fresh-labs",
                   *(("--only", *fresh) if fresh else ()), cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert read_csv(grades / "second" / "grades.csv") == [r for r in rows if not fresh or r["student"] in fresh]
    assert digests(grades / "first") == kept  # the later plays did not rewrite the first grading's files
    assert session_leftovers(second) == []

    # three students graded without the others (the hostile ones gone): the same rows. make soak only (make
    # test's 30 minutes: this test took 14 of them once races were played again and the sample class grew)
    if os.environ.get("SOCKLAB_SOAK_REPEATS"):
        alone = ("correct", "handout-style", "no-threads")
        third = grade(str(SAMPLE), "--out", str(grades / "third"), "-j", "2", "--force", "--only", *alone,
                      cwd=tmp_path)
        assert third.returncode == 0, third.stdout + third.stderr
        assert read_csv(grades / "third" / "grades.csv") == [r for r in rows if r["student"] in alone]
        assert session_leftovers(third) == []
