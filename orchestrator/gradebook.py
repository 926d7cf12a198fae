"""What a grading writes (pure functions of the grades, and the writers of their files):

- `grades.csv`: a row per student: total, maximum, one column per scenario (weighted points), status
  (graded, or error and why), notes;
- per student (students/<name>/): `summary.txt`, what passed and what failed and why, in words a student
  understands; `results.json` in Gradescope's format; `junit.xml`; beside each play's own report.json, pcap
  and logs;
- `manifest.json`: what the grades were made on, so that they can be made again and explained: the
  orchestrator's version and source digest, the images, the suite's and scenarios' digests, each
  submission's files, the options, the Docker Engine.
"""
from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .grading import Settings, StudentGrade, folder_name, student_folder
from .report import num, safe

CSV_NAME, MANIFEST_NAME = "grades.csv", "manifest.json"


def _points(x: float) -> str:
    return str(num(x))


def grades_csv(grades: Iterable[StudentGrade], settings: Settings) -> str:
    """The class's grades: one row per student, sorted by name as given."""
    names = [e.scenario.name for e in settings.suite.entries]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "total", "maximum", *names, "status", "notes"])
    for g in grades:
        status = g.status if not g.errors else "error: " + "; ".join(g.errors)
        notes = "; ".join([*(f"{p}" for p in g.submission.problems.values()),
                           *([g.submission.error] if g.submission.error else [])])
        writer.writerow([g.submission.name, _points(g.total), _points(g.maximum),
                         *(_points(s.entry.weight * s.awarded) for s in g.scenarios), status, notes])
    return buf.getvalue()


def _mark(check: dict[str, Any]) -> str:
    return "✓" if check["passed"] else "✗"


def summary(grade: StudentGrade, settings: Settings) -> str:
    """A student's grade in words: per scenario, what passed, and what failed with its evidence."""
    sub = grade.submission
    lines = [f"{sub.name}: {_points(grade.total)} of {_points(grade.maximum)} points "
             f"({settings.suite.name}){'' if grade.status == 'graded' else ' — NOT GRADED, see below'}", ""]
    if sub.error:
        lines += [f"Your submission could not be used: {sub.error}", ""]
    lines.append("Your programs:")
    for program in sorted({p for e in settings.suite.entries for p in e.scenario.needs()}):
        if program in sub.files:
            lines.append(f"  ✓ {program}: handed in")
        else:
            lines.append(f"  ✗ {safe(sub.problems.get(program, f'{program} not submitted'))}")
    lines += [f"  note: {n}" for n in sub.notes]
    lines += ["", "Each of your programs was played with the lab's own version of the others, and each check",
              "judges one of your programs: a broken client never costs your server its points.", ""]
    for s in grade.scenarios:
        weight = "" if s.entry.weight == 1 else f" (weight {num(s.entry.weight)})"
        lines.append(f"{s.entry.scenario.name}: {_points(s.awarded)}/{_points(s.total)}{weight}")
        for err in s.errors:
            lines.append(f"  ! not graded: {err}")
        for what in s.stopped:
            lines.append(f"  ! stopped by the lab: {safe(what)}")
        for c in s.checks:
            lines.append(f"  {_mark(c)} {safe(c['name'])} ({c['awarded']}/{c['points']}, judges your {c['judges']})")
            if not c["passed"]:
                lines.extend("      " + ln for ln in safe(c["evidence"]).split("\n"))
        lines.append("")
    return "\n".join(lines)


def gradescope(grade: StudentGrade, settings: Settings) -> dict[str, Any]:
    """Gradescope's autograder results.json: the score and a test per check (weighted points)."""
    tests = []
    for s in grade.scenarios:
        for c in s.checks:
            tests.append({"name": f"{s.entry.scenario.name}: {c['name']}", "score": num(s.entry.weight * c["awarded"]),
                          "max_score": num(s.entry.weight * c["points"]), "status": "passed" if c["passed"] else "failed",
                          "output": "" if c["passed"] else c["evidence"], "visibility": "visible"})
    result: dict[str, Any] = {"score": grade.total, "max_score": grade.maximum, "tests": tests,
                              "output": f"{settings.suite.name}: {grade.total}/{grade.maximum}"}
    if grade.errors:
        result["output"] += " (not graded: " + "; ".join(grade.errors) + ")"
    stopped = [f"{s.entry.scenario.name}: {what}" for s in grade.scenarios for what in s.stopped]
    if stopped:
        result["output"] += "\nStopped by the lab:\n" + "\n".join(f"- {what}" for what in stopped)
    return result


def junit(grade: StudentGrade) -> str:
    """JUnit XML: a <testsuite> per scenario, a <testcase> per check, a <failure> with the evidence."""
    root = ET.Element("testsuites", {"name": grade.submission.name})
    for s in grade.scenarios:
        failures = sum(1 for c in s.checks if not c["passed"])
        suite = ET.SubElement(root, "testsuite", {"name": s.entry.scenario.name, "tests": str(len(s.checks)),
                                                  "failures": str(failures), "errors": str(len(s.errors))})
        for c in s.checks:
            case = ET.SubElement(suite, "testcase", {"name": c["name"], "classname": s.entry.scenario.name})
            if not c["passed"]:
                fail = ET.SubElement(case, "failure", {"message": c["evidence"].split("\n", 1)[0][:200]})
                fail.text = c["evidence"]
        for err in s.errors:
            ET.SubElement(ET.SubElement(suite, "testcase", {"name": "run", "classname": s.entry.scenario.name}),
                          "error", {"message": err[:200]}).text = err
    ET.indent(root)
    from .report import _x  # XML 1.0 cannot hold every character a program prints
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + _x(ET.tostring(root, encoding="unicode")) + "\n"


def write_student(grade: StudentGrade, settings: Settings) -> Path:
    folder = student_folder(settings, grade.submission.name)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.txt").write_text(summary(grade, settings) + "\n", encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(gradescope(grade, settings), indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    (folder / "junit.xml").write_text(junit(grade), encoding="utf-8")
    return folder


def write_all(grades: list[StudentGrade], settings: Settings, manifest: dict[str, Any]) -> None:
    settings.out.mkdir(parents=True, exist_ok=True)
    for grade in grades:
        write_student(grade, settings)
    (settings.out / CSV_NAME).write_text(grades_csv(grades, settings), encoding="utf-8")
    (settings.out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True)
                                              + "\n", encoding="utf-8")


__all__ = ["grades_csv", "summary", "gradescope", "junit", "write_student", "write_all", "folder_name"]
