"""Whether a student's program can start at all, asked of the lab's own Python before any play (issue: every
point earned): a program that cannot start costs no play.

A program Python cannot compile (Python 2's `print "x"`, an IndentationError, a TabError, text Python cannot
decode), or that imports at its top a module the lab does not have (`import colorama`), fails the same way in
every play: it stops at once with Python's error. Its plays would only cost time, and the checks that judge
it would fail for reasons a student must dig out of each report. So before the plays of a grading (`grade`
and `check`) every file of every submission is compiled in ONE throwaway container of the image the plays
run in (its python3, never the host's: the version that judges is the lab's), and:
- an assignment program that cannot start is treated like one that cannot be used (submission.py): it leaves
  the submission's `files`, its reason goes into `problems`, so it gets no play (grading.plan) and every check
  judging it fails with that reason (grading.assemble); the student's other programs are graded as usual;
- a helper module that cannot start is kept (the plays of the programs importing it show Python's error) and
  noted.

What is checked, file by file, in the container (`file_problem`, pure: the unit tests call it on the host):
1. decoding as Python does: tokenize.detect_encoding (UTF-8, a BOM, a PEP 263 cookie);
2. compile(source, name, "exec"): Python's own message and line ("line 2: Missing parentheses in call to
   'print'. Did you mean print(...)?");
3. the imports at the top of the module (`import x`, `from x import y` directly in its body: not inside
   try, if or def, where a student may handle the failure; not relative ones): each top package must be the
   student's own (a helper module, or the file itself) or one the lab's Python finds
   (importlib.util.find_spec: it finds, it runs nothing). The other assignment programs are not the student's
   there: a program plays beside the lab's other programs, not beside the student's.
The first problem of a file is its message: "<name> does not run under Python 3.11: line N: <Python's
text>". The answer depends only on the file, the student's other file names and the image (whose id is in
every play's key), so it is the same in every grading; and it changes no play's key: a program that cannot
start never reaches grading.plan, one that can is played as it was.

The container: the image's unprivileged user, no network, a read-only root, every capability dropped, no new
privileges, memory, CPU and pids limits, a timeout, the grading session's labels (`socklab clean` finds it),
removed at the end whatever happens (Engine.run_to_end). Its input is one JSON line per distinct file (a file
handed in by several students is compiled once), its output a JSON line with the Python version, then one
per file. This module is its program too (`python3 -c <this file>`, with the environment programs play in,
so that it finds what they find, and not the current folder, which a play does not have): it imports only
the standard library at its top; the host's side (`check`) imports the orchestrator's modules inside its
functions.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import io
import json
import sys
import tokenize
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # (the host's side only)
    from ..evidence import ImageEvidence
    from ..lab.engineapi import PlayEngine
    from .submission import Submission

try:  # the assignment's programs: on the host, the suite's; in the container, given as its arguments (run)
    from ..model.suite import ASSIGNMENT
except ImportError:  # (python3 -c <this file>: no package, so no relative import)
    ASSIGNMENT = tuple(sys.argv[1:])
#: What the container may use: it compiles text, a few MiB at most.
MEMORY, CPUS, PIDS = "256m", 1.0, 16
#: Seconds the container may take: a class's files compile in well under one; a 2 MiB submission in about one.
TIMEOUT, TIMEOUT_PER_MIB = 60.0, 10.0


# ---- in the container (and in the unit tests): the standard library only --------------------------------
def decode(data: bytes) -> str:
    """The text of a Python file, decoded as Python decodes it (a BOM, a coding cookie, else UTF-8).
    SyntaxError (from detect_encoding) or UnicodeDecodeError if it cannot be."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)  # 'utf-8-sig' when there is a BOM: it is dropped
    return text


def top_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, top package) of each import directly in the module's body, in order: `import a.b, c` gives a
    and c, `from a.b import x` gives a; relative imports (`from . import x`) are the student's own."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def _where(line: int | None) -> str:
    return f"line {line}: " if line else ""


def file_problem(name: str, data: bytes, own: Iterable[str], version: str, found: Callable[[str], bool],
                 stdlib_only: bool = True) -> str | None:
    """Why the file `name` (bytes `data`) cannot start under Python `version` ('3.11'), or None. `own`: the
    modules the student's files give it (its helpers' names and its own, without .py); `found(top)`: whether
    the lab's Python has that module; `stdlib_only`: whether the lab's Python has nothing but its own library
    (the message says so)."""
    head = f"{name} does not run under Python {version}: "
    try:
        source = decode(data)
    except SyntaxError as e:  # detect_encoding: an unknown encoding, a BOM with another cookie
        return head + _where(e.lineno) + e.msg
    except UnicodeDecodeError as e:  # (e.object: the bytes after a BOM, to which e.start counts)
        undecoded = bytes(e.object)
        line = undecoded[:e.start].count(b"\n") + 1
        return head + f"line {line}: '{e.encoding}' codec can't decode byte 0x{undecoded[e.start]:02x}: {e.reason}"
    try:
        with warnings.catch_warnings():  # (a SyntaxWarning is no problem, and is not printed)
            warnings.simplefilter("ignore")
            tree = compile(source, name, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
            compile(tree, name, "exec", dont_inherit=True)  # what the parser lets through: 'return' outside a def
    except SyntaxError as e:  # IndentationError and TabError are SyntaxErrors
        return head + _where(e.lineno) + str(e.msg)
    except ValueError as e:  # a NUL byte
        return head + str(e)
    except (RecursionError, MemoryError) as e:  # the same in every run: the parser's stack, not the container's memory
        return head + f"{type(e).__name__}{': ' if str(e) else ''}{e} (it is nested too deeply for Python to compile)"
    own = set(own)
    for line, top in top_level_imports(tree):
        if top in own or found(top):
            continue
        if f"{top}.py" in ASSIGNMENT:
            why = (f"each program plays beside the lab's other programs, not beside your {top}.py: put what "
                   "they share in a helper module")
        else:
            why = "the lab has Python's standard library only" if stdlib_only else "the lab's Python has no such module"
        return head + f"line {line}: No module named '{top}' ({why})"
    return None


def _found(top: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(top) is not None
    except Exception:  # (a name whose search itself fails, e.g. __main__: not ours to flag)
        return True


def _stdlib_only() -> bool:
    """Whether the lab's Python holds nothing but its standard library (no site-packages)."""
    import os
    import site

    for folder in site.getsitepackages():
        try:
            if any(not entry.startswith((".", "README")) for entry in os.listdir(folder)):
                return False
        except OSError:
            continue
    return True


def main() -> None:
    """The container's program: a line of JSON per file in ({"id", "name", "source" (base64), "own"}), a
    line of JSON out first ({"python", "version", "stdlib_only"}), then one per file ({"id", "problem"})."""
    import platform

    if sys.path and sys.path[0] == "":  # (python3 -c: the current folder; a play's program has its own instead)
        del sys.path[0]
    version = "%d.%d" % sys.version_info[:2]
    stdlib_only = _stdlib_only()
    print(json.dumps({"python": platform.python_version(), "version": version, "stdlib_only": stdlib_only}),
          flush=True)
    for line in sys.stdin.buffer:
        job = json.loads(line)
        problem = file_problem(job["name"], base64.b64decode(job["source"]), job["own"], version, _found,
                               stdlib_only)
        print(json.dumps({"id": job["id"], "problem": problem}), flush=True)


# ---- on the host: the grading's side -------------------------------------------------------------------------
@dataclass(frozen=True)
class Compiled:
    """What a grading's compile check found, for its manifest."""

    image: str  # the image it ran in (its ref) and its id
    image_id: str
    python: str  # the version of its python3, e.g. 3.11.2
    files: int  # distinct files compiled
    problems: dict[str, dict[str, str]] = field(default_factory=dict)  # student -> program -> message
    helpers: dict[str, dict[str, str]] = field(default_factory=dict)  # student -> helper module -> message
    seconds: float = 0.0

    def manifest(self) -> dict[str, Any]:
        return {"image": self.image, "image_id": self.image_id, "python": self.python, "files": self.files,
                "problems": self.problems, "helpers": self.helpers, "seconds": self.seconds}


def jobs(submissions: Iterable[Submission]) -> tuple[list[dict[str, Any]], dict[tuple[str, str], int]]:
    """The container's input: one job per distinct (file name, content, modules of its own), and the job of
    each (student, file)."""
    found: dict[str, int] = {}
    todo: list[dict[str, Any]] = []
    of: dict[tuple[str, str], int] = {}
    for sub in submissions:
        if sub.error:
            continue
        helpers = sorted(n[:-3] for n in sub.files if n not in ASSIGNMENT)
        for name, data in sorted(sub.files.items()):
            own = sorted({*helpers, name[:-3]})
            key = hashlib.sha256(json.dumps([name, own, hashlib.sha256(data).hexdigest()]).encode()).hexdigest()
            if key not in found:
                found[key] = len(todo)
                todo.append({"id": len(todo), "name": name, "own": own,
                             "source": base64.b64encode(data).decode("ascii")})
            of[(sub.name, name)] = found[key]
    return todo, of


def apply(submissions: list[Submission], of: dict[tuple[str, str], int], problems: dict[int, str | None]
          ) -> tuple[list[Submission], dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """The submissions once the compile check has spoken: a program that cannot start leaves `files` for
    `problems`; a helper that cannot start stays, with a note. Also (student -> program -> message) and
    (student -> helper -> message)."""
    import dataclasses

    graded, broken, helpers = [], {}, {}
    for sub in submissions:
        files, found, notes = dict(sub.files), dict(sub.problems), list(sub.notes)
        for name in sorted(sub.files):
            problem = problems.get(of.get((sub.name, name), -1))
            if problem is None:
                continue
            if name in ASSIGNMENT:
                del files[name]
                found[name] = problem
                broken.setdefault(sub.name, {})[name] = problem
            else:
                notes.append(f"{problem}; the programs importing {name[:-3]} stop with that error in their plays")
                helpers.setdefault(sub.name, {})[name] = problem
        if files != sub.files or notes != list(sub.notes):
            sub = dataclasses.replace(sub, files=files, problems={p: found[p] for p in ASSIGNMENT if p in found},
                                      notes=tuple(notes))
        graded.append(sub)
    return graded, broken, helpers


def _results(stdout: str, count: int) -> tuple[dict[str, Any], dict[int, str | None]]:
    """The container's header and each job's problem; ValueError if its output is not whole."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError("it printed nothing")
    header = json.loads(lines[0])
    problems = {}
    for line in lines[1:]:
        answer = json.loads(line)
        problems[int(answer["id"])] = answer["problem"]
    if sorted(problems) != list(range(count)):
        raise ValueError(f"it answered for {len(problems)} of the {count} files")
    return header, problems


def check(engine: PlayEngine, submissions: list[Submission], image: ImageEvidence, user: str,
          labels: dict[str, str], environment: dict[str, str] | None = None, hold: Callable[[], Any] | None = None
          ) -> tuple[list[Submission], Compiled]:
    """Compile every file of every submission in one container of `image` (see the module), as `user`, with
    the `environment` programs play in: the submissions as the plays must see them, and what was found.
    EnvironmentProblem if the container fails."""
    import contextlib
    import time

    from ..base.errors import EnvironmentProblem
    from ..lab.helpers import HelperSpec

    started = time.monotonic()
    todo, of = jobs(submissions)
    feed = b"".join(json.dumps(job).encode() + b"\n" for job in todo)
    timeout = TIMEOUT + TIMEOUT_PER_MIB * len(feed) / 2**20
    code, output, stdout = engine.run_to_end(
        image.id, ["python3", "-c", Path(__file__).read_text(encoding="utf-8"), *ASSIGNMENT], labels,
        HelperSpec(user=user, memory=MEMORY, cpus=CPUS, pids=PIDS), environment=environment, timeout=timeout,
        stdin=feed, stdout=True, hold=hold or contextlib.nullcontext)
    what = f"compiling the submissions with the lab's Python ({image.ref})"
    said = f": {output.strip()[-300:]}" if output.strip() else ""
    if code is None:
        raise EnvironmentProblem(f"{what} did not finish in {timeout:.0f} s{said}")
    try:
        if code != 0:
            raise ValueError(f"exit {code}")
        header, problems = _results(stdout or "", len(todo))
    except (ValueError, KeyError, TypeError) as e:
        raise EnvironmentProblem(f"{what} failed ({e}){said}") from None
    graded, broken, helpers = apply(submissions, of, problems)
    return graded, Compiled(image.ref, image.id, str(header.get("python")), len(todo), broken, helpers,
                            round(time.monotonic() - started, 3))


if __name__ == "__main__":  # (run as the container's program: python3 -c <this file>)
    main()
