"""The package's shape (issue 16, README: Architecture): layers, each a sub-package, importing only those below
them; no import cycle; no import of another module's private names; the Docker SDK in one module only; and the
project's code clean under the pinned linter; no module over 450 lines. Every import counts: at the top of a module, inside a function,
and under TYPE_CHECKING, read from the source with ast (nothing is imported)."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

PACKAGE = ROOT / "orchestrator"

#: the layers, from the bottom: a module may import its own layer's modules and those of the layers below
LAYERS = ("base", "model", "evidence", "lab", "play", "judge", "report", "cluster", "grade", "cli")
#: top-level modules of the package and the layer they belong to
TOP = {"cli": "cli", "__main__": "cli", "__init__": "base"}


def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def layer_of(name: str) -> str:
    """'orchestrator.lab.engine' -> 'lab'; a top-level module's layer is TOP's."""
    parts = name.split(".")
    first = parts[1] if len(parts) > 1 else "__init__"
    return TOP.get(first, first)


def imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) of every import of the package's own modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module in known and module != name:  # (a relative import runs the package's __init__ too)
                found.append((module, "", node.lineno))
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                if sub in known:
                    found.append((sub, "", node.lineno))
                elif module in known:
                    found.append((module, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names if a.name in known]
    return [f for f in found if f[0] != name]


def graph() -> dict[str, list[tuple[str, str, int]]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_module_is_in_a_layer():
    for name in modules():
        assert layer_of(name) in LAYERS, f"{name}: in no layer ({', '.join(LAYERS)})"


def test_each_layer_imports_only_itself_and_the_layers_below():
    wrong = []
    for name, found in graph().items():
        mine = LAYERS.index(layer_of(name))
        for target, _, line in found:
            if target != "orchestrator" and LAYERS.index(layer_of(target)) > mine:
                wrong.append(f"{name}:{line} imports {target} ({layer_of(name)} may not import {layer_of(target)})")
    assert wrong == []


def test_there_is_no_import_cycle():
    edges = {name: {t for t, _, _ in found} for name, found in graph().items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(edges.get(v, ())):
            if state.get(w) == 1:
                return path[path.index(w):] + [w]
            if w not in state and (cycle := visit(w)):
                return cycle
        state[v] = 2
        path.pop()
        return None

    for v in sorted(edges):
        if v not in state:
            cycle = visit(v)
            assert cycle is None, " -> ".join(cycle)


def test_no_module_takes_another_s_private_names():
    taken = [f"{name}:{line} takes {target}.{what}" for name, found in graph().items()
             for target, what, line in found if what.startswith("_") and not what.startswith("__")]
    assert taken == []


def test_only_the_engine_imports_the_docker_sdk():
    users = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if any(n == "docker" or n.startswith("docker.") for n in names):
                users.append(name)
    assert sorted(set(users)) == ["orchestrator.lab.engine"]


#: the longest a module of the package may be: past it, a module holds several concerns (issue 16)
MAX_LINES = 450


def test_no_module_is_over_450_lines():
    long = {str(path.relative_to(ROOT)): n for path in PACKAGE.rglob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


#: the modules of the kinds' own records: the only ones that may test a step's or a check's kind
KINDS_MODULES = ("orchestrator.model.steps", "orchestrator.model.steplist", "orchestrator.model.checkkinds")


def kind_names() -> set[str]:
    """The names of every kind of step and of check, and of their bases."""
    from orchestrator.model import checkkinds, steplist, steps

    def below(cls: type) -> set[type]:
        return {cls}.union(*(below(sub) for sub in cls.__subclasses__()))

    kinds = (below(steps.StepKind) | below(checkkinds.CheckKind) | set(steplist.STEP_KINDS.values())
             | set(steps.WAIT_KINDS.values()) | set(checkkinds.CHECK_KINDS.values()))
    return {k.__name__ for k in kinds}


def kind_tests(source: str, kinds: set[str]) -> list[tuple[int, str]]:
    """(line, kind) of every test of a value's kind against one of `kinds` in a module's source: isinstance or
    issubclass (a tuple or a union of kinds too), `type(x) is Kind`, `case Kind(...)`; an imported kind's
    other name counts as the kind."""
    tree = ast.parse(source)
    alias = {a.asname: a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             for a in node.names if a.asname}

    def named(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Name):
            return [alias.get(node.id, node.id)]
        if isinstance(node, ast.Attribute):
            return [node.attr]
        if isinstance(node, ast.Tuple):
            return [n for elt in node.elts for n in named(elt)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return named(node.left) + named(node.right)
        return []

    found = []
    for node in ast.walk(tree):
        tested: list[str] = []
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("isinstance", "issubclass") and len(node.args) == 2):
            tested = named(node.args[1])
        elif (isinstance(node, ast.Compare) and isinstance(node.left, ast.Call)
              and isinstance(node.left.func, ast.Name) and node.left.func.id == "type"):
            tested = [n for c in node.comparators for n in named(c)]
        elif isinstance(node, ast.MatchClass):
            tested = named(node.cls)
        found.extend((node.lineno, n) for n in tested if n in kinds)
    return sorted(found)


def test_every_kind_answers_for_itself():
    """Every kind of step and of check is of its base, whose methods answer what grading and judging ask."""
    from orchestrator.model import checkkinds, steplist, steps
    step_kinds = [k for k in steplist.STEP_KINDS.values() if k is not steps.Wait] + list(steps.WAIT_KINDS.values())
    assert all(issubclass(k, steps.StepKind) for k in step_kinds), step_kinds
    assert all(issubclass(k, checkkinds.CheckKind) for k in checkkinds.CHECK_KINDS.values())


def test_no_module_tests_a_kind_outside_the_kinds_own_modules():
    """What grading or judging asks of a kind of step or check is a method of the kind (StepKind,
    CheckKind), never an isinstance chain elsewhere: a new kind then answers it where it is defined."""
    kinds = kind_names()
    assert {"Start", "Parallel", "Netstat", "Signal", "WaitPort", "CaptureCheck", "ExitCheck"} <= kinds
    tests = [f"{name}:{line} tests for {kind}" for name, path in modules().items() if name not in KINDS_MODULES
             for line, kind in kind_tests(path.read_text(encoding="utf-8"), kinds)]
    assert tests == []


def test_the_kind_test_finds_every_form_of_test():
    found = kind_tests("from x import Start as S\n"
                       "isinstance(a, Start)\nisinstance(a, (str, steps.Netstat))\nissubclass(t, S | Signal)\n"
                       "type(a) is Parallel\nmatch a:\n    case CaptureCheck(filter=f): pass\n"
                       "isinstance(a, str)\n", {"Start", "Netstat", "Signal", "Parallel", "CaptureCheck"})
    assert found == [(2, "Start"), (3, "Netstat"), (4, "Signal"), (4, "Start"), (5, "Parallel"),
                     (7, "CaptureCheck")]


def test_the_code_passes_the_linter():
    """ruff (pinned in requirements.txt; its rules in pyproject.toml) over the project's own code."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed: make venv installs requirements.txt"
    proc = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
