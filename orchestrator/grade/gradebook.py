"""What a grading writes (pure functions of the grades, and the writers of their files):

- `grades.csv`: a row per student: total, maximum, one column per scenario (weighted points), status
  (graded, or error and why), notes;
- per student (students/<name>/): `summary.txt`, what passed and what failed and why, in words a student
  understands; `results.json` in Gradescope's format; `junit.xml`; beside each play's own report.json, pcap
  and logs;
- `manifest.json`: what the grades were made on, so that they can be made again and explained: the
  orchestrator's version and source digest, the images, the suite's and scenarios' digests, each
  submission's files, the options, the Docker Engine;
- the pages (templates student.html.j2, class.html.j2 and similarity.html.j2): `index.html`, the class at a
  glance (a sortable table of the students, each one's most similar pair, the distribution of the grades, the
  pass rate of every check, the most missed first), `similarity.html` (similarity.py: the pairs of submissions
  whose programs are unusually alike, for the instructor to look at), and each student's
  `students/<name>/index.html` (their grade check by check, with a link to the report.html of each of their plays).
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..report import pages
from . import similarity
from .grading import Settings, folder_name, judged_file, plan, student_folder
from .records import StudentGrade
from ..base.text import escaped_lines
from ..report.junit import Case, Problem, Suite, suites_xml
from ..report.report import num

CSV_NAME, MANIFEST_NAME, PAGE_NAME = "grades.csv", "manifest.json", "index.html"
PLAY_PAGE = "report.html"  # each play's own page, in its folder (grading.play writes it)


def _points(x: float) -> str:
    return str(num(x))


def grades_csv(grades: Iterable[StudentGrade], settings: Settings) -> str:
    """The class's grades: one row per student, sorted by name as given."""
    names = [e.scenario.name for e in settings.suite.entries]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "identifier", "late", "total", "maximum", *names, "status", "notes"])
    for g in grades:
        status = g.status if not g.errors else "error: " + "; ".join(g.errors)
        notes = "; ".join(_notes(g))
        writer.writerow([g.submission.name, g.submission.identifier, "late" if g.submission.late else "",
                         _points(g.total), _points(g.maximum),
                         *(_points(s.entry.weight * s.awarded) for s in g.scenarios), status, notes])
    return buf.getvalue()


def _notes(grade: StudentGrade) -> list[str]:
    """What was wrong with a student's submission: each program's problem, and why it could not be used."""
    sub = grade.submission
    return [*(str(p) for p in sub.problems.values()), *([sub.error] if sub.error else [])]


def _mark(check: dict[str, Any]) -> str:
    return "✓" if check["passed"] else "✗"


def platform_said(sub) -> list[str]:
    """What the platform the class came from says of a student: their identifier, late, the commit graded."""
    said = [f"Identifier on {sub.platform}: {sub.identifier}"] if sub.identifier and sub.platform != "git" else []
    said += [f"Handed in late ({sub.platform} says so; no penalty here)"] if sub.late else []
    said += [f"Graded at the commit {sub.commit} (HEAD of {sub.identifier})"] if sub.commit else []
    return [escaped_lines(x) for x in said]


def summary(grade: StudentGrade, settings: Settings) -> str:
    """A student's grade in words: per scenario, what passed, and what failed with its evidence."""
    sub = grade.submission
    lines = [f"{sub.name}: {_points(grade.total)} of {_points(grade.maximum)} points "
             f"({settings.suite.name}){'' if grade.status == 'graded' else ' — NOT GRADED, see below'}", ""]
    said = platform_said(sub)
    if said:
        lines += [*said, ""]
    if sub.error:
        lines += [f"Your submission could not be used: {sub.error}", ""]
    lines.append("Your programs:")
    for program in sorted({p for e in settings.suite.entries for p in e.scenario.needs()}):
        if program in sub.files:
            lines.append(f"  ✓ {program}: handed in")
        else:
            lines.append(f"  ✗ {escaped_lines(sub.problems.get(program, f'{program} not submitted'))}")
    lines += [f"  note: {n}" for n in sub.notes]
    lines += ["", "Each of your programs was played with the lab's own version of the others, and each check",
              "judges one of your programs: a broken client never costs your server its points.", ""]
    for s in grade.scenarios:
        weight = "" if s.entry.weight == 1 else f" (weight {num(s.entry.weight)})"
        lines.append(f"{s.entry.scenario.name}: {_points(s.awarded)}/{_points(s.total)}{weight}")
        for err in s.errors:
            lines.append(f"  ! not graded: {err}")
        for what in s.stopped:
            lines.append(f"  ! stopped by the lab: {escaped_lines(what)}")
        for c in s.checks:
            lines.append(f"  {_mark(c)} {escaped_lines(c['name'])} ({c['awarded']}/{c['points']}, judges your {c['judges']})")
            if not c["passed"]:
                lines.extend("      " + ln for ln in escaped_lines(c["evidence"]).split("\n"))
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
    """JUnit XML: a <testsuite> per scenario, a <testcase> per check (a <failure> with the evidence) and one per
    play that could not be judged (an <error>); `tests` counts them all, as JUnit's readers count testcases."""
    suites = []
    for s in grade.scenarios:
        name = s.entry.scenario.name
        cases = [Case(c["name"], name, problem=None if c["passed"] else
                      Problem("failure", c["evidence"].split("\n", 1)[0][:200], c["evidence"])) for c in s.checks]
        cases += [Case("run", name, problem=Problem("error", err[:200], err)) for err in s.errors]
        suites.append(Suite(name, cases))
    return suites_xml(grade.submission.name, suites)


# ---- the pages: index.html (the class) and students/<name>/index.html (one student) ------------------------

def percentage(grade: StudentGrade) -> float:
    """A grade in percent of its maximum (0 when there is nothing to get)."""
    return num(100 * grade.total / grade.maximum) if grade.maximum else 0


def student_href(name: str) -> str:
    """The class index's link to a student's page: the folder grading gives them, whatever their name holds."""
    return quote(f"students/{folder_name(name)}/{PAGE_NAME}")


def play_links(grade: StudentGrade, settings: Settings,
               written: Callable[[Path], bool] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Scenario path -> the student's plays of it (grading.plan: only the programs they handed in, that a check
    judges): the program, the link from the student's folder to the play's report.html, and whether that page
    was written (`written(path)`; a play the engine failed before it ended has none: no link to nowhere)."""
    root = student_folder(settings, grade.submission.name)
    links: dict[str, list[dict[str, Any]]] = {}
    for part in plan(grade.submission, settings):
        href = quote(f"{part.folder.relative_to(root).as_posix()}/{PLAY_PAGE}")
        links.setdefault(part.entry.scenario.path, []).append({
            "program": part.program, "href": href,
            "written": written(part.folder / PLAY_PAGE) if written else True})
    return links


def _counts(grade: StudentGrade, scenario_errors: list[str], check: dict[str, Any]) -> bool:
    """Whether a check's outcome counts in the class's pass rates: it does when the check was judged in a play
    that went right, or failed by the student's own doing (the program not handed in, nothing usable). A
    check that was never judged (its play could not be carried out, or was not played) is left out; and since
    a grade does not say which play of a scenario went wrong, so is every check judged in a scenario that
    has an error (the student is 'error', not graded, and graded again)."""
    sub = grade.submission
    if check.get("source") == "not run":
        return bool(sub.error) or check["judges"] not in sub.files
    return not scenario_errors


def pass_rates(grades: Iterable[StudentGrade], settings: Settings) -> list[dict[str, Any]]:
    """Every check of the suite with how many students passed it, of those whose outcome counts (`_counts`):
    the check most students missed first (then in the suite's order); checks judged for nobody last."""
    grades = list(grades)
    rows: list[tuple[tuple, dict[str, Any]]] = []
    for i, entry in enumerate(settings.suite.entries):
        for j, check in enumerate(entry.scenario.checks):
            passed = judged = 0
            for g in grades:
                s = g.scenarios[i]
                c = s.checks[j]
                if _counts(g, s.errors, c):
                    judged += 1
                    passed += bool(c["passed"])
            rate = passed / judged if judged else None
            rows.append(((rate is None, rate or 0, i, j), {
                "scenario": entry.scenario.name, "check": check.name, "judges": judged_file(entry, check.judges),
                "points": num(check.points), "passed": passed, "judged": judged,
                "percent": None if rate is None else num(round(100 * rate, 1))}))
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


#: The distribution's drawing (px): the whole figure, and the margins around the bars.
HIST_WIDTH, HIST_HEIGHT, HIST_MARGINS = 600, 240, (40, 12, 24, 40)  # left, right, top, bottom


def histogram(percentages: Iterable[float], bins: int = 10) -> dict[str, Any]:
    """The distribution of grades (in percent) as the geometry of a bar chart: `bins` bins of equal width from
    0 to 100 (the last one holds 100), each bar as high as its count is of the largest. The template draws it."""
    counts = [0] * bins
    for p in percentages:
        counts[min(bins - 1, max(0, int(round(p, 6) * bins // 100)))] += 1
    left, right, top, bottom = HIST_MARGINS
    plot_w, plot_h = HIST_WIDTH - left - right, HIST_HEIGHT - top - bottom
    slot, most = plot_w / bins, max(counts)
    base = top + plot_h
    out = []
    for i, count in enumerate(counts):
        low, high = num(100 * i / bins), num(100 * (i + 1) / bins)
        h = round(plot_h * count / most, 2) if most else 0
        x = round(left + i * slot + slot * 0.1, 2)
        out.append({"low": low, "high": high, "count": count, "x": x, "y": round(base - h, 2),
                    "width": round(slot * 0.8, 2), "height": h, "cx": round(left + (i + 0.5) * slot, 2), "label": f"{low}–{high}",
                    "title": f"{count} student{'' if count == 1 else 's'} with {low}% to "
                             f"{'' if i == bins - 1 else 'under '}{high}%"})
    return {"width": HIST_WIDTH, "height": HIST_HEIGHT, "left": left, "right": HIST_WIDTH - right, "top": top,
            "base": base, "most": most, "total": sum(counts), "bins": out}


def _status(grade: StudentGrade) -> dict[str, Any]:
    return {"graded": grade.status == "graded", "status": grade.status, "errors": [escaped_lines(e) for e in grade.errors]}


def student_page(grade: StudentGrade, settings: Settings, written: Callable[[Path], bool] | None = None,
                 standalone: bool = False) -> str:
    """A student's page (students/<name>/index.html): their grade, what they handed in, and per scenario each
    check with its evidence, what the lab's limits stopped, and a link to the report of each of their plays.
    `standalone`: the page alone, sent to the student (feedback_page): no link to any other file."""
    sub = grade.submission
    needed = sorted({p for e in settings.suite.entries for p in e.scenario.needs()})
    programs = [{"name": p, "handed_in": p in sub.files,
                 "problem": None if p in sub.files else escaped_lines(sub.problems.get(p, f"{p} not submitted"))}
                for p in needed]
    links = play_links(grade, settings, written)
    scenarios = []
    for i, s in enumerate(grade.scenarios):
        w = s.entry.weight
        scenarios.append({
            "anchor": f"scenario-{i + 1}", "name": escaped_lines(s.entry.scenario.name), "weight": num(w),
            "awarded": num(w * s.awarded), "total": num(w * s.total), "raw_awarded": num(s.awarded),
            "raw_total": num(s.total), "errors": [escaped_lines(e) for e in s.errors], "stopped": [escaped_lines(x) for x in s.stopped],
            "plays": links.get(s.entry.scenario.path, []),
            "checks": [{"passed": bool(c["passed"]), "mark": _mark(c), "name": escaped_lines(c["name"]),
                        "awarded": num(c["awarded"]), "points": num(c["points"]), "judges": c["judges"],
                        "source": escaped_lines(c.get("source", "")), "evidence": escaped_lines(c["evidence"])} for c in s.checks]})
    return pages.render("student.html.j2", suite=escaped_lines(settings.suite.name), name=escaped_lines(sub.name),
                        total=grade.total, maximum=grade.maximum, percent=num(round(percentage(grade), 1)),
                        **_status(grade), submission_error=escaped_lines(sub.error) if sub.error else None,
                        programs=programs, notes=[escaped_lines(n) for n in sub.notes], scenarios=scenarios,
                        platform="; ".join(platform_said(sub)),
                        class_href=f"../../{PAGE_NAME}", standalone=standalone)


def feedback_page(grade: StudentGrade, settings: Settings) -> str:
    """A student's page as a file of its own, for the platform to hand them (Moodle's feedback files): the same
    grade, checks and evidence, with no link to the class, their plays' reports or the files beside it."""
    return student_page(grade, settings, standalone=True)


def class_index(grades: Iterable[StudentGrade], settings: Settings, manifest: dict[str, Any],
                similar: list[similarity.Pair] | None = None) -> str:
    """The class's page (index.html): a sortable table of the students (their pages linked, and the most similar
    pair each is in, linked on similarity.html), the distribution of the graded students' grades, and the pass
    rate of every check, the most missed first. `similar`: the class's pairs (similarity.pairs, by default)."""
    grades = list(grades)
    best = similarity.most_similar(similarity.pairs(g.submission for g in grades) if similar is None else similar)
    students = []
    for g in grades:
        notes = _notes(g)
        other = best.get(g.submission.name)
        students.append({"name": escaped_lines(g.submission.name), "href": student_href(g.submission.name),
                         "similar": None if other is None else {"name": escaped_lines(other[0]), "percent": other[1],
                                                                "href": other[2]},
                         "total": g.total, "maximum": g.maximum, "percent": num(round(percentage(g), 1)),
                         "scenarios": [num(s.entry.weight * s.awarded) for s in g.scenarios],
                         "notes": [escaped_lines(n) for n in notes], **_status(g)})
    graded = [g for g in grades if g.status == "graded"]
    return pages.render("class.html.j2", suite=escaped_lines(settings.suite.name),
                        description=escaped_lines(settings.suite.description),
                        scenarios=[{"name": escaped_lines(e.scenario.name), "weight": num(e.weight),
                                    "maximum": num(e.weight * sum(c.points for c in e.scenario.checks))}
                                   for e in settings.suite.entries],
                        started=manifest.get("started_at"), students=students, graded=len(graded),
                        histogram=histogram(percentage(g) for g in graded),
                        rates=[dict(r, scenario=escaped_lines(r["scenario"]), check=escaped_lines(r["check"]))
                               for r in pass_rates(grades, settings)],
                        csv_href=CSV_NAME, manifest_href=MANIFEST_NAME, similarity_href=similarity.PAGE,
                        threshold=num(100 * similarity.THRESHOLD))


def write_student(grade: StudentGrade, settings: Settings) -> Path:
    folder = student_folder(settings, grade.submission.name)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.txt").write_text(summary(grade, settings) + "\n", encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(gradescope(grade, settings), indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    (folder / "junit.xml").write_text(junit(grade), encoding="utf-8")
    (folder / PAGE_NAME).write_text(student_page(grade, settings, Path.is_file), encoding="utf-8")
    return folder


def similarity_page(grades: list[StudentGrade], settings: Settings, found: list[similarity.Pair],
                    handout: bool = False) -> str:
    """similarity.html, beside index.html: the class's similar pairs (similarity.page)."""
    return similarity.page(found, [g.submission for g in grades], student_href, PAGE_NAME, settings.suite.name,
                           handout=handout)


def write_all(grades: list[StudentGrade], settings: Settings, manifest: dict[str, Any],
              handout: dict[str, bytes] | None = None) -> None:
    """Every file of a grading (see the module); `handout`: the handout's programs (name -> content), boilerplate
    to similarity.html besides the lab's reference programs."""
    settings.out.mkdir(parents=True, exist_ok=True)
    found = similarity.pairs((g.submission for g in grades), similarity.boilerplate_texts(handout))
    for grade in grades:
        write_student(grade, settings)
    (settings.out / CSV_NAME).write_text(grades_csv(grades, settings), encoding="utf-8")
    (settings.out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True)
                                              + "\n", encoding="utf-8")
    (settings.out / similarity.PAGE).write_text(similarity_page(grades, settings, found, bool(handout)), encoding="utf-8")
    (settings.out / PAGE_NAME).write_text(class_index(grades, settings, manifest, found), encoding="utf-8")


__all__ = ["grades_csv", "summary", "gradescope", "junit", "student_page", "class_index", "pass_rates", "histogram",
           "percentage", "student_href", "play_links", "write_student", "write_all", "folder_name", "similarity_page",
           "feedback_page"]
