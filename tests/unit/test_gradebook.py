"""The grading's pages, without Docker: grades assembled from made-up plays (grading.assemble, as the grader
does), rendered and parsed with the standard library's HTML parser: the class index (its sortable table, the
distribution, the pass rate of every check) and each student's page (every check, the links to their plays),
with what comes from students escaped."""
from __future__ import annotations

from urllib.parse import unquote

import pytest

from orchestrator.grade import gradebook, grading, records
from orchestrator.grade.submission import Submission

from tests.support.grading import settings_for, two_scenario_suite
from tests.support.pages import parse, self_contained

HOSTILE = "<script>alert(1)</script>"
ODD = "Zoë O'Neil & \"co\""
EVIL_EVIDENCE = '</pre><script>alert("evidence")</script><a href="http://example.com">x</a>'
PROGRAMS = ("server_tcp.py", "client_tcp.py")


@pytest.fixture
def suite(tmp_path):
    return two_scenario_suite(tmp_path)


def student(name: str, *programs: str, problems=None, error=None) -> Submission:
    return Submission(name=name, path=f"/class/{name}", files={p: f"# {p}\n".encode() for p in programs},
                      problems=problems or {}, error=error)


def graded(sub: Submission, settings: grading.Settings, fails=(), error_in=None, evidence=None
           ) -> records.StudentGrade:
    """A student's grade as the grader assembles it, from made-up plays: every check passes but those named in
    `fails`; the play (scenario name, program) `error_in` could not be carried out (the engine failed)."""
    parts = grading.plan(sub, settings)
    results = {}
    for part in parts:
        if (part.entry.scenario.name, part.program) == error_in:
            results[part.key] = records.PartResult(part.key, "error", "the engine failed", [], 0.0)
            continue
        checks = []
        for check in part.entry.scenario.checks:
            if grading.judged_file(part.entry, check.judges) != part.program:
                continue
            passed = check.name not in fails
            checks.append({"name": check.name, "kind": "log", "points": check.points,
                           "awarded": check.points if passed else 0, "passed": passed,
                           "evidence": "found" if passed else (evidence or f"no line for {check.name}"),
                           "where": str(check.where), "judges": part.program,
                           "source": f"your {part.program} with the lab's others"})
        results[part.key] = records.PartResult(part.key, "pass", None, checks, 1.0)
    return grading.assemble(sub, parts, results, settings)


@pytest.fixture
def settings(suite, tmp_path):
    return settings_for(suite, tmp_path / "out")


@pytest.fixture
def klass(settings):
    """A class: full marks, a missing client, a hostile name (and output), an odd name, and one not graded."""
    return [
        graded(student("ana", *PROGRAMS), settings),
        graded(student("bo", "server_tcp.py", problems={"client_tcp.py": "client_tcp.py not submitted"}), settings),
        graded(student(HOSTILE, *PROGRAMS), settings, fails=("the client says it waits",
                                                             "the answer counts characters"), evidence=EVIL_EVIDENCE),
        graded(student(ODD, *PROGRAMS), settings, fails=("a SYN",)),
        graded(student("err", *PROGRAMS), settings, error_in=("echo", "server_tcp.py")),
    ]


# ---- the class index ------------------------------------------------------------------------------------------

def test_the_class_index_has_a_sortable_row_per_student_linking_their_page(klass, settings):
    page = parse(gradebook.class_index(klass, settings, {"started_at": "2026-01-02T03:04:05+00:00"}))
    self_contained(page)
    assert page.one("h1").text() == "test-suite" and "2026-01-02T03:04:05+00:00" in page.one(id="started").text()
    assert page.one(id="student-count").text() == "5 students"
    table = page.one("table", id="students")
    assert "sortable" in table.classes
    assert [th.text() for th in table.all("th")] == ["student", "total", "maximum", "%", "echo", "listen",
                                                    "status", "most similar", "notes"]
    rows = table.all("tr", "student")
    assert [r.one("td", "name").text() for r in rows] == ["ana", "bo", HOSTILE, ODD, "err"]
    cells = {r.one("td", "name").text(): [td.attrs.get("data-sort") for td in r.all("td", "num")] for r in rows}
    assert cells == {"ana": ["11", "11", "100", "10", "1"], "bo": ["7", "11", "63.6", "6", "1"],
                     HOSTILE: ["5", "11", "45.5", "4", "1"], ODD: ["9", "11", "81.8", "8", "1"],
                     "err": ["5", "11", "45.5", "4", "1"]}
    for r in rows:  # numeric cells sort by their number
        for td in r.all("td", "num"):
            float(td.attrs["data-sort"])
    # each name links the student's page, in the folder grading gives them
    for r, g in zip(rows, klass):
        href = r.one("a").attrs["href"]
        assert unquote(href) == f"students/{grading.folder_name(g.submission.name)}/index.html"
        assert "<" not in href and '"' not in href and " " not in href
    # not graded: shown, and said so with why
    err = rows[-1]
    assert "not-graded" in err.classes and "not graded: echo: the engine failed" in err.one("td", "status").text()
    assert rows[1].one("td", "notes").text() == "client_tcp.py not submitted"
    assert all("not-graded" not in r.classes for r in rows[:-1])


def test_the_distribution_counts_every_graded_student_once(klass, settings):
    page = parse(gradebook.class_index(klass, settings, {}))
    svg = page.one("svg", id="distribution")
    bins = svg.all("rect", "bin")
    assert len(bins) == 10
    counts = [int(b.attrs["data-count"]) for b in bins]
    graded = [g for g in klass if g.status == "graded"]
    assert sum(counts) == len(graded) == 4
    assert counts == [0, 0, 0, 0, 1, 0, 1, 0, 1, 1]  # 45.5, 63.6, 81.8, 100 (the last bin holds 100)
    assert [b.attrs["data-low"] for b in bins] == [str(10 * i) for i in range(10)]
    # bars as high as their count is of the largest; each has a title and its count written
    heights = [float(b.attrs["height"]) for b in bins]
    assert all(h == (heights[-1] if c else 0) for h, c in zip(heights, counts)) and heights[-1] > 0
    assert bins[4].one("title").text() == "1 student with 40% to under 50%"
    assert bins[9].one("title").text() == "1 student with 90% to 100%"
    assert [t.text() for t in svg.all("text", "count")] == [str(c) for c in counts]
    assert not page.all(id="started")  # no started_at in the manifest: no date said


def test_the_histogram_bins_and_geometry():
    h = gradebook.histogram([0, 9.99, 10, 55, 99.9, 100, 100])
    assert [b["count"] for b in h["bins"]] == [2, 1, 0, 0, 0, 1, 0, 0, 0, 3]
    assert h["total"] == 7 and h["most"] == 3
    tallest = max(h["bins"], key=lambda b: b["height"])
    assert tallest["count"] == 3 and tallest["y"] + tallest["height"] == h["base"]
    assert h["bins"][0]["height"] == pytest.approx(tallest["height"] * 2 / 3, abs=0.01)
    empty = gradebook.histogram([])
    assert empty["total"] == 0 and all(b["height"] == 0 for b in empty["bins"])


def test_the_pass_rate_of_every_check_the_most_missed_first(klass, settings):
    rates = gradebook.pass_rates(klass, settings)
    got = [(r["scenario"], r["check"], r["judges"], r["passed"], r["judged"], r["percent"]) for r in rates]
    # 'err' is left out of echo's checks (its echo could not be played: not judged), counted in listen's
    assert got == [
        ("echo", "the client says it waits", "client_tcp.py", 2, 4, 50),  # bo had none, the hostile one failed
        ("echo", "a SYN", "client_tcp.py", 2, 4, 50),
        ("echo", "the answer counts characters", "server_tcp.py", 3, 4, 75),
        ("echo", "the server listens", "server_tcp.py", 4, 4, 100),
        ("listen", "the server says it listens", "server_tcp.py", 5, 5, 100),
    ]
    page = parse(gradebook.class_index(klass, settings, {}))
    table = page.one("table", id="pass-rates")
    assert "sortable" in table.classes
    rows = table.all("tr", "check")
    assert [(r.one("td", "name").text(), r.one("td", "passed").text()) for r in rows] == [
        (c, f"{p} of {n}") for _, c, _, p, n, _ in got]
    first, last = rows[0], rows[-1]
    assert first.one("td", "percent").attrs["data-sort"] == "50"
    assert first.one("span", "bar").attrs["style"] == "width: 50%" and "low" not in first.one("span", "bar").classes
    assert last.one("span", "bar").attrs["style"] == "width: 100%"


def test_a_check_judged_for_nobody_comes_last_without_a_rate(settings):
    only_errors = [graded(student("err", *PROGRAMS), settings, error_in=("echo", "server_tcp.py"))]
    rates = gradebook.pass_rates(only_errors, settings)
    # echo could not be played in full: none of its checks counts (a grade does not say which play failed)
    assert [(r["check"], r["judged"], r["percent"]) for r in rates] == [
        ("the server says it listens", 1, 100), ("the server listens", 0, None),
        ("the answer counts characters", 0, None), ("the client says it waits", 0, None), ("a SYN", 0, None)]
    page = parse(gradebook.class_index(only_errors, settings, {}))
    assert page.one("table", id="pass-rates").all("tr", "check")[-1].one("td", "percent").text() == "—"
    assert sum(int(b.attrs["data-count"]) for b in page.all("rect", "bin")) == 0


def test_hostile_text_is_escaped_on_the_class_index(klass, settings):
    text = gradebook.class_index(klass, settings, {})
    assert HOSTILE not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    page = parse(text)
    assert len(page.all("script")) == 1  # the base page's own
    assert ODD in [td.text() for td in page.all("td", "name")]


# ---- a student's page ---------------------------------------------------------------------------------------

def test_a_students_page_says_every_check_and_links_each_play(klass, settings):
    hostile = klass[2]
    text = gradebook.student_page(hostile, settings)
    page = parse(text)
    self_contained(page)
    assert page.one(id="student-name").text() == HOSTILE and page.one("title").text() == f"{HOSTILE} — test-suite"
    assert "5 of 11 points (45.5%)" in " ".join(page.one(id="score").text().split())
    assert page.one(id="class-link").attrs["href"] == "../../index.html"
    assert page.one(id="status").one("span", "verdict").text() == "graded"
    scenarios = page.all("section", "scenario")
    assert [s.one("h2").one("span", "score").text() for s in scenarios] == ["4/10", "1/1"]
    echo = scenarios[0]
    checks = echo.all("tr", "check")
    assert [(c.one("td", "mark").text(), c.one("td", "name").text(), c.one("td", "points").text(),
             c.one("code").text()) for c in checks] == [
        ("✓", "the server listens", "1/1", "server_tcp.py"),
        ("✗", "the answer counts characters", "0/2", "server_tcp.py"),
        ("✗", "the client says it waits", "0/1", "client_tcp.py"),
        ("✓", "a SYN", "1/1", "client_tcp.py")]
    # a failed check's evidence, as text in a <pre>; a passed one has none
    assert [c.one("pre", "evidence").text() for c in checks if "failed" in c.classes] == [EVIL_EVIDENCE] * 2
    assert not checks[0].all("pre")
    assert EVIL_EVIDENCE not in text and len(page.all("script")) == 1
    # a link to the report of each play, where grading puts it
    assert [a.attrs["href"] for a in echo.all("a", "report")] == ["echo/server_tcp/report.html",
                                                                  "echo/client_tcp/report.html"]
    assert [a.attrs["href"] for a in scenarios[1].all("a", "report")] == ["listen/server_tcp/report.html"]
    root = grading.student_folder(settings, HOSTILE)
    assert sorted(str(p.folder.relative_to(root) / "report.html") for p in grading.plan(hostile.submission, settings)
                  ) == sorted(unquote(a.attrs["href"]) for a in page.all("a", "report"))


def test_a_missing_program_is_said_and_its_play_never_linked(klass, settings):
    page = parse(gradebook.student_page(klass[1], settings))
    programs = page.one("ul", id="programs")
    assert [li.text().split(None, 1)[1] for li in programs.all("li", "missing")] == [
        "client_tcp.py: client_tcp.py not submitted"]
    assert [li.one("code").text() for li in programs.all("li", "handed-in")] == ["server_tcp.py"]
    assert [a.attrs["href"] for a in page.all("a", "report")] == ["echo/server_tcp/report.html",
                                                                  "listen/server_tcp/report.html"]
    waits = next(c for c in page.all("tr", "check") if c.one("td", "name").text() == "the client says it waits")
    assert waits.one("pre").text() == "client_tcp.py not submitted"


def test_a_student_not_graded_is_said_so_with_why(klass, settings):
    page = parse(gradebook.student_page(klass[-1], settings))
    assert page.one(id="status").one("span", "verdict").text() == "error"
    assert [li.text() for li in page.one(id="not-graded").all("li")] == ["echo: the engine failed"]
    echo = page.all("section", "scenario")[0]
    assert [p.text() for p in echo.all("p", "error")] == ["not graded: echo: the engine failed"]


def test_a_submission_that_could_not_be_used(settings):
    g = graded(student("zip", error="a corrupt zip"), settings)
    page = parse(gradebook.student_page(g, settings))
    assert "a corrupt zip" in page.one(id="submission-error").text()
    assert not page.all("a", "report")
    assert [s.one("p", "plays").text().strip() for s in page.all("section", "scenario")] == [
        "No play: none of the programs it judges was handed in."] * 2


# ---- what a grading writes ------------------------------------------------------------------------------------

def test_write_all_writes_the_pages_and_every_link_leads_somewhere(klass, settings):
    for g in klass:  # each play's folder and report.html, as grading.play and the copy from the cache leave them
        for part in grading.plan(g.submission, settings):
            part.folder.mkdir(parents=True, exist_ok=True)
            (part.folder / "report.html").write_text("<!DOCTYPE html>")
    gradebook.write_all(klass, settings, {"started_at": "2026-01-02T03:04:05+00:00"})
    out = settings.out
    index = parse((out / "index.html").read_text(encoding="utf-8"))
    hrefs = [a.attrs["href"] for a in index.all("a") if not a.attrs["href"].startswith("#")]
    assert len(hrefs) == len(klass) + 3  # the students, grades.csv, manifest.json and similarity.html
    for href in hrefs:
        assert (out / unquote(href)).is_file(), href
    similar = parse((out / "similarity.html").read_text(encoding="utf-8"))
    for href in [a.attrs["href"] for a in similar.all("a") if not a.attrs["href"].startswith("#")]:
        assert (out / unquote(href)).is_file(), href
    for g in klass:
        folder = grading.student_folder(settings, g.submission.name)
        page = parse((folder / "index.html").read_text(encoding="utf-8"))
        links = [a.attrs["href"] for a in page.all("a") if not a.attrs["href"].startswith("#")]
        for href in links:
            assert (folder / unquote(href)).resolve().is_file(), (g.submission.name, href)
        assert len(page.all("a", "report")) == len(grading.plan(g.submission, settings))


def test_a_play_that_wrote_no_report_gets_no_link(klass, settings):
    for g in klass:
        for part in grading.plan(g.submission, settings):
            part.folder.mkdir(parents=True, exist_ok=True)
            if part.program != "client_tcp.py":  # (as if the engine had failed those plays before their end)
                (part.folder / "report.html").write_text("<!DOCTYPE html>")
    gradebook.write_all(klass, settings, {})
    for g in klass:
        parts = grading.plan(g.submission, settings)
        folder = grading.student_folder(settings, g.submission.name)
        page = parse((folder / "index.html").read_text(encoding="utf-8"))
        assert len(page.all("a", "report")) == sum(p.program != "client_tcp.py" for p in parts)
        assert len(page.all("span", "no-report")) == sum(p.program == "client_tcp.py" for p in parts)


def test_a_grade_s_junit_counts_a_play_that_could_not_be_judged_as_a_test():
    """JUnit's readers count <testcase> elements: a suite's `tests` is every case, its checks and its errors, so
    `errors` is never more than `tests`."""
    import xml.etree.ElementTree as ET
    from types import SimpleNamespace

    from orchestrator.grade import gradebook
    from orchestrator.grade.records import ScenarioGrade, StudentGrade

    entry = SimpleNamespace(scenario=SimpleNamespace(name="tcp"))
    checks = [{"name": "the server listens", "passed": True, "evidence": ""},
              {"name": "a SYN", "passed": False, "evidence": "no SYN\nat all"}]
    grade = StudentGrade(SimpleNamespace(name="ana"), [ScenarioGrade(entry, checks, errors=["the engine failed"])])
    suite = ET.fromstring(gradebook.junit(grade)).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
