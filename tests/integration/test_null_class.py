"""The null class (tests/null/README.md): submissions that do nothing score 0 in every scenario of the default
suite, for real; those that cannot start under the lab's Python cost no play at all."""
from __future__ import annotations

import csv
import json

import pytest

from tests.support import ROOT
from tests.support.integration import SCENARIOS, grade, session_leftovers

pytestmark = pytest.mark.docker

NULL = ROOT / "tests" / "null"
#: found before any play: their programs do not run under the lab's Python 3
CANNOT_START = {"python2", "missing-module"}


def test_a_class_that_does_nothing_scores_zero_everywhere(tmp_path):
    out = tmp_path / "grades" / "null"
    proc = grade(str(NULL), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = list(csv.DictReader((out / "grades.csv").open()))
    students = sorted(p.name for p in NULL.iterdir() if p.is_dir())
    assert [r["student"] for r in rows] == students  # (README.md is not a student: skipped, no row)
    for row in rows:
        assert [(row["student"], s, row[s]) for s in SCENARIOS] == [(row["student"], s, "0") for s in SCENARIOS]
        assert (row["total"], row["maximum"], row["status"]) == ("0", "96", "graded")
    for name in CANNOT_START:  # no play was spent on a program that cannot start
        assert not list((out / "students" / name).rglob("report.json")), name
    summary = (out / "students" / "python2" / "summary.txt").read_text()
    assert ("server_tcp.py does not run under Python 3.11: line 2: Missing parentheses in call to 'print'. "
            "Did you mean print(...)?") in summary
    summary = (out / "students" / "missing-module" / "summary.txt").read_text()
    assert "client_udp.py does not run under Python 3.11: line 2: No module named 'colorama'" in summary
    # a program that ran and did nothing: its absences and exit statuses say why they earned nothing
    results = json.loads((out / "students" / "pass" / "results.json").read_text())
    unearned = [t for t in results["tests"] if t.get("output", "").startswith("Not earned: ")]
    assert len(unearned) >= 10
    assert session_leftovers(proc) == []
