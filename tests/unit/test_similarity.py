"""Similar submissions (grade/similarity.py, similarity.html), without Docker: a copy with its names and comments
changed is found and ranked first; what the lab's reference programs or the handout hold makes no pair;
the scores are the same in every process; what a program holds is escaped on the page; the class index's
"most similar" column links the pair on the page."""
from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import unquote

import pytest

from orchestrator.grade import gradebook, grading, similarity
from orchestrator.grade.submission import Submission, survey
from orchestrator.model.suite import load_suite

from tests.support import ROOT
from tests.support.grading import SCENARIO, TOPOLOGY, settings_for
from tests.support.pages import parse, self_contained

SAMPLE = ROOT / "examples" / "submissions"
CORRECT = {p.name: p.read_bytes() for p in sorted((SAMPLE / "correct").glob("*.py"))}
HANDOUT = {p.name: p.read_bytes() for p in sorted((SAMPLE / "handout-style").glob("*.py"))}
REFERENCE = {p.name: p.read_bytes() for p in sorted((ROOT / "programs").glob("*.py"))}

#: a TCP server written another way (socketserver), sharing nothing but what every such server has
OWN_SERVER = b'''
import socketserver, sys

class Counter(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"Server is working:")
        while True:
            data = self.request.recv(1024)
            if not data:
                break
            text = data.decode()
            self.request.sendall(("Server message: I received %d chars: %s" % (len(text), text)).encode())

if __name__ == "__main__":
    with socketserver.ThreadingTCPServer((sys.argv[1], int(sys.argv[2])), Counter) as server:
        print("Socket is listening in address %s and port %s ..." % (sys.argv[1], sys.argv[2]), flush=True)
        server.serve_forever()
'''


def sub(name: str, **files: bytes) -> Submission:
    return Submission(name=name, path=f"/class/{name}", files={f"{k}.py": v for k, v in files.items()})


def renamed(code: bytes, names: dict[str, str], comment: str) -> bytes:
    """A copy: every name of `names` renamed (as whole words), every comment replaced."""
    text = code.decode()
    for old, new in names.items():
        text = re.sub(rf"\b{old}\b", new, text)
    return re.sub(r"#[^\n\"']*$", f"# {comment}", text, flags=re.M).encode()


def test_the_sample_class_made_pair_ranks_first_and_is_the_only_one():
    found = similarity.pairs(survey(SAMPLE).submissions)
    assert [(p.first, p.second) for p in found] == [("correct", "renamed-copy")]
    assert {m.program for m in found[0].matches} == {"server_tcp.py", "client_tcp.py", "server_udp.py",
                                                     "client_udp.py"}
    assert found[0].score >= 0.75


def test_a_renamed_copy_ranks_above_unrelated_submissions():
    copy = renamed(CORRECT["server_tcp.py"], {"conn": "c", "decoder": "dec", "handle_client": "serve",
                                              "output_lock": "lock", "clients": "n"}, "mine")
    found = similarity.pairs([sub("ana", server_tcp=CORRECT["server_tcp.py"]), sub("bea", server_tcp=copy),
                              sub("cid", server_tcp=HANDOUT["server_tcp.py"]), sub("dan", server_tcp=OWN_SERVER)])
    assert [(p.first, p.second) for p in found] == [("ana", "bea")]
    assert found[0].matches[0].program == "server_tcp.py" and found[0].score > 0.75


def test_the_reference_programs_alone_make_no_pair():
    """Two students who each took the lab's reference server and changed it their own way share only it."""
    base = REFERENCE["server_tcp.py"]
    one, two = base + b"\n" + CORRECT["client_udp.py"], base + b"\n" + OWN_SERVER
    assert similarity.pairs([sub("ana", server_tcp=one), sub("bea", server_tcp=two)]) == []
    # (without the reference as boilerplate, they would be one)
    assert similarity.pairs([sub("ana", server_tcp=one), sub("bea", server_tcp=two)], boilerplate=[]) != []


def test_the_handouts_code_alone_makes_no_pair():
    one = HANDOUT["server_tcp.py"] + b"\n" + CORRECT["client_udp.py"]
    two = HANDOUT["server_tcp.py"] + b"\n" + OWN_SERVER
    students = [sub("ana", server_tcp=one), sub("bea", server_tcp=two)]
    assert similarity.pairs(students, similarity.boilerplate_texts({"server_tcp.py": HANDOUT["server_tcp.py"]})) == []
    assert [(p.first, p.second) for p in similarity.pairs(students)] == [("ana", "bea")]


def test_code_common_to_the_class_makes_no_pair():
    """A passage more than COMMON students have is the class's (the handout, even when not given)."""
    students = [sub(f"s{i:02}", server_tcp=HANDOUT["server_tcp.py"]) for i in range(similarity.COMMON + 1)]
    assert similarity.pairs(students) == []
    assert len(similarity.pairs(students[:2])) == 1


def test_each_program_is_compared_with_the_same_program_only():
    found = similarity.pairs([sub("ana", server_tcp=CORRECT["server_tcp.py"]),
                              sub("bea", client_tcp=CORRECT["server_tcp.py"])])
    assert found == []


def test_the_scores_are_the_same_in_every_process():
    """blake2b, not Python's salted hash(): the same fingerprints whatever PYTHONHASHSEED."""
    code = ("from orchestrator.grade import similarity\nfrom orchestrator.grade.submission import survey\n"
            f"print([(p.first, p.second, p.score) for p in similarity.pairs(survey({str(SAMPLE)!r}).submissions)])")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                           env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}).stdout for seed in ("1", "2")}
    assert len(runs) == 1 and "renamed-copy" in runs.pop()


def test_a_broken_or_empty_program_is_no_error():
    broken = CORRECT["server_tcp.py"][:700] + b"\n    (((\n"
    assert similarity.symbols(broken.decode())[0]  # its tokens up to the error
    assert similarity.pairs([sub("ana", server_tcp=broken), sub("bea", server_tcp=b""),
                             sub("cid", server_tcp=b"\xff\xfe not utf-8")]) == []


HOSTILE = ('"</pre><script>alert(1)</script>"', "\x1b]0;owned\x07", "\u202e")


def test_hostile_text_in_a_program_is_escaped_on_the_page():
    evil = (CORRECT["server_tcp.py"].decode().replace("GREETING = ", f"X = {HOSTILE[0]}\nGREETING = ")
            .replace("# the threads all print", f"# {HOSTILE[1]} {HOSTILE[2]} the threads all print")).encode()
    students = [sub("<b>ana</b>", server_tcp=evil), sub("bea\x1b[2J", server_tcp=evil)]
    found = similarity.pairs(students)
    assert len(found) == 1
    text = similarity.page(found, students, gradebook.student_href, "index.html", "suite")
    page = parse(text)
    self_contained(page)  # no script but the base page's own, nothing fetched
    assert "<script>alert" not in text and "<b>ana</b>" not in text
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    shown = " ".join(n.text() for n in page.all("pre"))
    assert "<script>alert(1)</script>" in shown  # as text
    assert "\\x1b]0;owned\\x07" in shown and "\\u202e" in shown
    assert page.one("td", "first").text() == "<b>ana</b>" and page.one("td", "second").text() == "bea\\x1b[2J"


def test_the_page_ranks_the_pairs_and_says_it_is_no_verdict():
    copy = renamed(CORRECT["client_tcp.py"], {"sock": "s", "line": "typed"}, "mine")
    students = [sub("ana", server_tcp=CORRECT["server_tcp.py"], client_tcp=CORRECT["client_tcp.py"]),
                sub("bea", server_tcp=CORRECT["server_tcp.py"], client_tcp=copy),
                sub("cid", client_tcp=copy + b"\n" + OWN_SERVER)]
    found = similarity.pairs(students)
    # ana and bea: both programs; cid: only the client, as alike to ana's as to bea's (names do not count)
    assert [(p.first, p.second) for p in found] == [("ana", "bea"), ("ana", "cid"), ("bea", "cid")]
    assert len(found[0].matches) == 2 and [len(p.matches) for p in found[1:]] == [1, 1]
    page = parse(similarity.page(found, students, gradebook.student_href, "index.html", "suite"))
    assert "not a verdict" in page.one(id="not-a-verdict").text()
    assert f"{similarity.THRESHOLD * 100:g}%" in page.one(id="how").text()
    rows = page.one("table", id="pairs").all("tr", "pair")
    scores = [float(r.one("td", "score").attrs["data-sort"]) for r in rows]
    assert scores == sorted(scores, reverse=True) and scores[0] > 90
    assert "server_tcp.py" in rows[0].one("td", "programs").text()
    first = page.one("section", id="pair-1")
    passages = first.all("table", "passage")
    assert passages and "def read_port(text)" in passages[0].one("pre", "left").text()
    assert "def read_port(text)" in passages[0].one("pre", "right").text()  # (a name bea kept)
    assert unquote(rows[0].one("td", "first").one("a").attrs["href"]) == "students/ana/index.html"


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "echo.yaml").write_text(SCENARIO)
    (tmp_path / "suite.yaml").write_text("name: s\ndescription: d\nscenarios:\n  - {scenario: echo.yaml}\n")
    return settings_for(load_suite(tmp_path / "suite.yaml", TOPOLOGY), tmp_path / "out")


def test_the_class_index_links_each_students_most_similar_pair(settings):
    copy = renamed(CORRECT["server_tcp.py"], {"conn": "c", "clients": "n"}, "mine")
    subs = [sub("ana", server_tcp=CORRECT["server_tcp.py"]), sub("bea", server_tcp=copy),
            sub("cid", server_tcp=OWN_SERVER)]
    grades = [grading.assemble(s, [], {}, settings) for s in subs]
    gradebook.write_all(grades, settings, {})
    index = parse((settings.out / "index.html").read_text(encoding="utf-8"))
    assert index.one("a", id="similarity-link").attrs["href"] == "similarity.html"
    cells = {r.one("td", "name").text(): r.one("td", "similar") for r in index.all("tr", "student")}
    assert cells["cid"].text() == "—" and not cells["cid"].all("a")
    for me, other in (("ana", "bea"), ("bea", "ana")):
        link = cells[me].one("a")
        assert link.attrs["href"] == "similarity.html#pair-1" and link.text().startswith(f"{other} (")
    page = parse((settings.out / "similarity.html").read_text(encoding="utf-8"))
    assert page.one("section", id="pair-1").one("h2").text().startswith("1. ana and bea")
