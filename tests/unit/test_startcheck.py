"""A program that cannot start costs no play (issue: every point earned): what the compile check says of a file
(Python's own words and line), which imports it looks at, and what a grading does with its answers. The
container's side runs here on the host's Python (the integration tests run it in the lab's)."""
from __future__ import annotations

import ast
import base64
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.grade import startcheck
from orchestrator.base.errors import EnvironmentProblem
from orchestrator.evidence import ImageEvidence
from orchestrator.grade.startcheck import file_problem, top_level_imports
from orchestrator.grade.reading import ASSIGNMENT
from orchestrator.grade.submission import Submission
from orchestrator.lab.helpers import HelperSpec

from .fake_engine import FakeEngine

HEAD = "server_tcp.py does not run under Python 3.11: "


def problem(source: bytes, own=("server_tcp",), found=lambda top: top in sys.stdlib_module_names,
            stdlib_only: bool = True, name: str = "server_tcp.py") -> str | None:
    return file_problem(name, source, own, "3.11", found, stdlib_only)


def test_the_assignment_is_the_submissions():
    assert startcheck.ASSIGNMENT is ASSIGNMENT


def test_the_container_gets_the_assignment_as_its_arguments():
    """The module runs in the container as `python3 -c <its source> <the assignment's programs>` (run): with no
    package there, its ASSIGNMENT is its arguments, so an import of a sibling program is worded as on the host."""
    import json
    import subprocess
    from pathlib import Path

    job = {"id": 0, "name": "client_tcp.py", "own": ["client_tcp"],
           "source": base64.b64encode(b"import server_tcp\n").decode("ascii")}
    done = subprocess.run([sys.executable, "-c", Path(startcheck.__file__).read_text(encoding="utf-8"), *ASSIGNMENT],
                          input=json.dumps(job) + "\n", capture_output=True, text=True, timeout=60, check=True)
    header, answer = (json.loads(line) for line in done.stdout.splitlines())
    assert header["version"] == "%d.%d" % sys.version_info[:2]
    assert "No module named 'server_tcp' (each program plays beside the lab's other programs" in answer["problem"]


@pytest.mark.parametrize("source, said", [
    (b"import socket\nprint 'x'\n", "line 2: Missing parentheses in call to 'print'. Did you mean print(...)?"),
    (b"def main():\nreturn 1\n", "line 2: expected an indented block after function definition on line 1"),
    (b"if True:\n    x = 1\n  y = 2\n", "line 3: unindent does not match any outer indentation level"),
    (b"if True:\n\tx = 1\n        y = 2\n", "line 3: inconsistent use of tabs and spaces in indentation"),
    (b"x = 1\n# caf\xe9\n", "line 2: 'utf-8' codec can't decode byte 0xe9: invalid continuation byte"),
    (b"\xef\xbb\xbfx = 1\n\n# caf\xe9\n", "line 3: 'utf-8' codec can't decode byte 0xe9: invalid continuation byte"),
    (b"# -*- coding: klingon -*-\nx = 1\n", "unknown encoding: klingon"),
    (b"return 5\n", "line 1: 'return' outside function"),  # the compiler's, past the parser
    (b"x = " + b"-" * 100_000 + b"1\n", "MemoryError (it is nested too deeply for Python to compile)"),
])
def test_what_python_says_is_the_message(source, said):
    assert problem(source) == HEAD + said


def test_files_python_reads_are_fine():
    assert problem(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n") is None  # declared
    assert problem(b"\xef\xbb\xbfimport os\nx = 'caf\xc3\xa9'\n") is None  # a BOM
    assert problem(b"x = 1 is 1\n") is None  # a SyntaxWarning is no problem


def test_only_the_imports_at_the_top_are_looked_at():
    tree = ast.parse("import os.path, colorama as c\nfrom a.b import x\nfrom . import y\nfrom .z import w\n"
                     "try:\n    import t\nexcept ImportError:\n    pass\nif 1:\n    import i\n"
                     "def f():\n    import d\nclass K:\n    import k\n")
    assert top_level_imports(tree) == [(1, "os"), (1, "colorama"), (2, "a")]


def test_a_module_the_lab_lacks_imported_at_the_top_is_flagged():
    assert problem(b"import socket\nimport colorama\n") == (
        HEAD + "line 2: No module named 'colorama' (the lab has Python's standard library only)")
    assert problem(b"from colorama import Fore\n") == (
        HEAD + "line 1: No module named 'colorama' (the lab has Python's standard library only)")
    assert problem(b"import os, numpy.linalg\n", stdlib_only=False) == (
        HEAD + "line 1: No module named 'numpy' (the lab's Python has no such module)")


def test_an_import_handled_or_of_the_students_own_is_not():
    assert problem(b"try:\n    import colorama\nexcept ImportError:\n    colorama = None\n") is None
    assert problem(b"def colour():\n    import colorama\n") is None
    assert problem(b"if __name__ == '__main__':\n    import colorama\n") is None
    assert problem(b"import helper\nfrom helper import X\nfrom . import y\n", own=("helper", "server_tcp")) is None
    assert problem(b"import server_tcp\n") is None  # itself


def test_another_assignment_program_is_not_the_students_in_a_play():
    assert problem(b"from server_tcp import PORT\n", own=("client_tcp",), name="client_tcp.py") == (
        "client_tcp.py does not run under Python 3.11: line 1: No module named 'server_tcp' (each program plays "
        "beside the lab's other programs, not beside your server_tcp.py: put what they share in a helper module)")


def sub(name: str, files: dict[str, bytes], **kwargs) -> Submission:
    return Submission(name, f"/class/{name}", files, **kwargs)


GOOD = b"print('hi')\n"
PY2 = b"print 'hi'\n"


def test_a_file_handed_in_by_several_students_is_compiled_once():
    subs = [sub("ana", {"server_tcp.py": GOOD, "util.py": GOOD}),
            sub("bob", {"server_tcp.py": GOOD, "util.py": GOOD}), sub("cy", {"server_tcp.py": GOOD}),
            sub("dan", {}, error="dan.zip is not a zip")]
    todo, of = startcheck.jobs(subs)
    assert [(j["name"], j["own"]) for j in todo] == [("server_tcp.py", ["server_tcp", "util"]),
                                                       ("util.py", ["util"]), ("server_tcp.py", ["server_tcp"])]
    assert of == {("ana", "server_tcp.py"): 0, ("ana", "util.py"): 1, ("bob", "server_tcp.py"): 0,
                  ("bob", "util.py"): 1, ("cy", "server_tcp.py"): 2}


def test_a_broken_program_becomes_a_problem_and_a_broken_helper_a_note():
    ana = sub("ana", {"client_udp.py": GOOD, "server_tcp.py": PY2, "util.py": PY2},
              problems={"server_udp.py": "server_udp.py not submitted", "client_tcp.py": "client_tcp.py not submitted"},
              notes=("found Server_TCP.py as server_tcp.py",))
    bob = sub("bob", {"server_tcp.py": GOOD})
    todo, of = startcheck.jobs([ana, bob])
    said = {i: file_problem(j["name"], base64.b64decode(j["source"]), j["own"], "3.11",
                            lambda top: True) for i, j in enumerate(todo)}
    (ana2, bob2), broken, helpers = startcheck.apply([ana, bob], of, said)
    message = "does not run under Python 3.11: line 1: Missing parentheses in call to 'print'. Did you mean print(...)?"
    assert ana2.files == {"client_udp.py": GOOD, "util.py": PY2}  # the helper stays
    assert ana2.problems == {"server_udp.py": "server_udp.py not submitted",  # in the assignment's order
                             "server_tcp.py": f"server_tcp.py {message}",
                             "client_tcp.py": "client_tcp.py not submitted"}
    assert ana2.notes == ("found Server_TCP.py as server_tcp.py",
                          f"util.py {message}; the programs importing util stop with that error in their plays")
    assert bob2 is bob
    assert broken == {"ana": {"server_tcp.py": f"server_tcp.py {message}"}}
    assert helpers == {"ana": {"util.py": f"util.py {message}"}}


class Compiling(FakeEngine):
    """A fake engine whose throwaway container runs its command here, on the host's Python."""

    def run_to_end(self, image, command, labels, helper, **kwargs):
        self.asked = dict(image=image, command=command, labels=labels, helper=helper, **kwargs)
        assert command[:2] == ["python3", "-c"]
        proc = subprocess.run([sys.executable, *command[1:]], input=kwargs["stdin"], capture_output=True,
                              timeout=60, cwd=Path(__file__).parent)  # (test_startcheck.py is here: not to be found)
        out = proc.stdout.decode()
        return self.answer if hasattr(self, "answer") else (proc.returncode, out + proc.stderr.decode(), out)


IMAGE = ImageEvidence("node", "socklab/node:abc", "sha256:abc", "0" * 64)


def test_check_runs_one_container_for_the_class_and_says_what_it_found():
    engine = Compiling({})
    subs = [sub("ana", {"server_tcp.py": PY2, "client_tcp.py": b"import no_such_module\n"}),
            sub("bob", {"server_tcp.py": GOOD, "client_tcp.py": b"import test_startcheck\n"})]
    labels = {"socklab.run": "grade-x-compile", "socklab.session": "grade-x"}
    graded, compiled = startcheck.check(engine, subs, IMAGE, "student", labels, {"PYTHONUNBUFFERED": "1"})
    assert engine.asked["environment"] == {"PYTHONUNBUFFERED": "1"}
    helper = engine.asked["helper"]
    assert engine.asked["image"] == "sha256:abc" and helper.user == "student"
    assert engine.asked["labels"] == labels and engine.asked["stdout"] is True
    assert (helper.memory, helper.pids) == ("256m", 16) and engine.asked["timeout"] >= 60
    assert helper.network_mode == "none" and helper.read_only and helper.capabilities == ()
    version = "%d.%d" % sys.version_info[:2]
    lacks = ("the lab has Python's standard library only" if startcheck._stdlib_only()  # (here: the host's venv)
             else "the lab's Python has no such module")
    assert graded[0].files == {} and graded[1].files == {"server_tcp.py": GOOD}  # not from the current folder
    assert graded[1].problems == {"client_tcp.py": f"client_tcp.py does not run under Python {version}: line 1: No "
                                  f"module named 'test_startcheck' ({lacks})"}
    assert compiled.problems["ana"] == {
        "client_tcp.py": f"client_tcp.py does not run under Python {version}: line 1: No module named "
                         f"'no_such_module' ({lacks})",
        "server_tcp.py": f"server_tcp.py does not run under Python {version}: line 1: Missing parentheses in call to "
                         "'print'. Did you mean print(...)?"}
    assert compiled.python == platform.python_version() and compiled.files == 4
    assert compiled.manifest()["image_id"] == "sha256:abc"


@pytest.mark.parametrize("answer, said", [
    ((None, "still compiling", None), "did not finish in 60 s: still compiling"),
    ((137, "Killed", ""), "failed (exit 137): Killed"),
    ((0, "", '{"python": "3.11.2", "version": "3.11"}\n'), "failed (it answered for 0 of the 1 files)"),
])
def test_a_container_that_fails_is_an_environment_problem(answer, said):
    engine = Compiling({})
    engine.answer = answer
    with pytest.raises(EnvironmentProblem) as caught:
        startcheck.check(engine, [sub("ana", {"server_tcp.py": GOOD})], IMAGE, "student", {})
    assert str(caught.value) == f"compiling the submissions with the lab's Python (socklab/node:abc) {said}"


# ---- the throwaway container itself (engine.Engine.run_to_end, on the fake's calls) ---------------------------
def test_a_throwaway_container_is_hardened_fed_and_removed():
    engine = FakeEngine({})
    code, output, stdout = engine.run_to_end("img", ["python3", "-c", "x"], {"socklab.run": "r"},
                                             HelperSpec("student", "256m", 1.0, 16), timeout=5,
                                             stdin=b"{}\n", stdout=True)
    ((cid, spec),) = engine.created
    assert spec["network_mode"] == "none" and spec["read_only"] is True and spec["cap_drop"] == ["ALL"]
    assert spec["security_opt"] == ["no-new-privileges"] and spec["cap_add"] is None and spec["user"] == "student"
    assert (spec["mem_limit"], spec["nano_cpus"], spec["pids_limit"]) == ("256m", 10**9, 16)
    assert spec["labels"] == {"socklab.run": "r"} and spec["lease"] is True  # its input, fed then ended
    assert engine.leases == [cid] and engine.removed == [cid] and code == 0


@pytest.mark.parametrize("failure", [KeyboardInterrupt, EnvironmentProblem("the engine went away")])
def test_a_throwaway_container_is_removed_whatever_happens(failure):
    engine = FakeEngine({})

    def wait_exit(cid, timeout):
        raise failure
    engine.wait_exit = wait_exit
    with pytest.raises(type(failure) if isinstance(failure, Exception) else failure):
        engine.run_to_end("img", ["true"], {}, HelperSpec("student", "64m", 0.5, 1), timeout=5)
    assert engine.removed == [engine.created[0][0]]
