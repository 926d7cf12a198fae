"""Grading for real (issue 8): stopped with Ctrl-C and resumed; the sample class's pinned grades, twice
identical; nothing left behind."""
from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT, docker, wait_until

pytestmark = pytest.mark.docker

SOCKLAB = [sys.executable, "-m", "orchestrator"]


def session_leftovers() -> list[str]:
    ids = docker("ps", "-aq", "--filter", "label=socklab.session").stdout.split()
    return ids + docker("network", "ls", "-q", "--filter", "label=socklab.session").stdout.split()


def grade(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*SOCKLAB, "grade", *args], cwd=ROOT, capture_output=True, text=True, timeout=1200)


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open()))


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
    assert session_leftovers() == []  # the play under way tore down
    assert not (out / "grades.csv").exists()
    again = grade(str(klass), "--out", str(tmp_path / "grades" / "second"), "-j", "2", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    for part, mtime in done_before.items():  # the plays finished before Ctrl-C were re-used, not played again
        assert part.stat().st_mtime == mtime, part
    rows = read_csv(tmp_path / "grades" / "second" / "grades.csv")
    assert [(r["student"], r["total"], r["maximum"], r["status"]) for r in rows] == [
        ("ana", "64", "64", "graded"), ("bob", "64", "64", "graded")]
    manifest = json.loads((tmp_path / "grades" / "second" / "manifest.json").read_text())
    assert set(manifest["submissions"]) == {"ana", "bob"} and manifest["engine"]["Version"]
    assert (tmp_path / "grades" / "second" / "students" / "ana" / "tcp-exchange" / "server_tcp" / "capture.pcap").is_file()
    assert session_leftovers() == []


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
    share lines in most plays. SOCKLAB_SOAK_REPEATS (make soak: 20) gradings, -j 2, each from scratch."""
    import os

    klass = class_of(tmp_path, "threaded-print", FAIR / "threaded-print")
    repeats = int(os.environ.get("SOCKLAB_SOAK_REPEATS", "2"))
    rows = []
    for i in range(repeats):
        proc = grade(str(klass), "--out", str(tmp_path / "grades" / str(i)), "-j", "2", "--force", cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        rows.append(read_csv(tmp_path / "grades" / str(i) / "grades.csv"))
    assert all(r == rows[0] for r in rows), rows
    assert rows[0][0]["total"] == rows[0][0]["maximum"] == "64"
    assert session_leftovers() == []
