"""The documents point at things that exist, without Docker: README.md, scenarios/README.md,
examples/README.md and docs/*.md.

1. Every relative Markdown link `[text](path)` or `[text](path#anchor)` names a file or folder that exists
   (relative to the document), and every `#anchor` is a heading of the target (GitHub's slugs).
2. Every `make TARGET` in their code (inline spans and fenced blocks) is a target of the Makefile's
   `target:` lines (only the word after `make` is checked: `make ladder PCAP=FILE` is the target `ladder`);
   a `make scenario-X` that only the pattern rule scenario-% makes needs its scenarios/X.yaml (NAME, in
   capitals, is the placeholder).
3. Every inline code span that is one repository path (starting orchestrator/, tests/, bench/, scripts/,
   images/, programs/, scenarios/, examples/ or docs/) exists; a trailing `/` means a folder, a trailing
   `:LINE` is dropped. A span with a glob (`*`) or a placeholder (`<name>`, `{x}`, `...`) is skipped.

tests/unit/test_make_targets.py dry-runs the README's commands; this only checks that the names exist.
"""
from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

from tests.support import ROOT

DOCUMENTS = sorted([ROOT / "README.md", ROOT / "scenarios" / "README.md", ROOT / "examples" / "README.md",
                    *(ROOT / "docs").glob("*.md")])
IDS = [str(d.relative_to(ROOT)) for d in DOCUMENTS]

FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
MAKE = re.compile(r"(?<![\w/.-])make[ \t]+([A-Za-z][A-Za-z0-9_%-]*)")
REPO_DIRS = ("orchestrator/", "tests/", "bench/", "scripts/", "images/", "programs/", "scenarios/", "examples/",
             "docs/")


def _prose(text: str) -> str:
    """The text without its code: fenced blocks and inline spans (a link in code is not a link)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _code(text: str) -> tuple[list[str], list[str]]:
    """The fenced blocks' bodies and the inline spans outside them."""
    blocks = [m.group(0) for m in FENCE.finditer(text)]
    spans = [m.group(2).strip() for m in INLINE_CODE.finditer(FENCE.sub("", text))]
    return blocks, spans


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: links reduced to their text, lowercase, each space a '-', every
    character other than letters, digits, '-' and '_' removed."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return "".join(c for c in text.replace(" ", "-") if c.isalnum() or c in "-_")


def anchors(document: Path) -> set[str]:
    """Every heading's anchor, a repeated one suffixed -1, -2... as GitHub does."""
    seen: dict[str, int] = {}
    found = set()
    for m in HEADING.finditer(FENCE.sub("", document.read_text(encoding="utf-8"))):
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(document: Path) -> list[str]:
    return [m.group(1) for m in LINK.finditer(_prose(document.read_text(encoding="utf-8")))]


def makefile_targets() -> list[str]:
    """The targets of the Makefile's `target:` lines (patterns like scenario-% included; no .PHONY or
    other special target, no `VAR := value`)."""
    found = []
    for line in (ROOT / "Makefile").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.%/$()-][^:=#\s]*(?:[ \t]+[^:=#\s]+)*)[ \t]*::?(?!=)", line)
        if m:
            found += [t for t in m.group(1).split() if not t.startswith(".")]
    return found


TARGETS = makefile_targets()


def make_targets_named(document: Path) -> list[str]:
    blocks, spans = _code(document.read_text(encoding="utf-8"))
    named = []
    for piece in blocks + spans:
        for m in MAKE.finditer(piece):
            if m.group(1) not in named:
                named.append(m.group(1))
    return named


def repo_paths_named(document: Path) -> list[str]:
    """The inline spans that are one repository path, e.g. `orchestrator/lab/lab.py` or `tests/hostile/`
    (a trailing :LINE is dropped; spans with a glob or a <placeholder> are not paths to check)."""
    _, spans = _code(document.read_text(encoding="utf-8"))
    paths = []
    for span in spans:
        if not span.startswith(REPO_DIRS) or re.search(r"\s", span):
            continue
        if "*" in span or "<" in span or "{" in span or "…" in span or "..." in span:
            continue
        span = re.sub(r":\d+$", "", span)
        if span not in paths:
            paths.append(span)
    return paths


# ---- the helpers themselves --------------------------------------------------------------------

@pytest.mark.parametrize("heading, anchor", [
    ("The lab by hand: \"another computer\" on one host", "the-lab-by-hand-another-computer-on-one-host"),
    ("The reference programs (`programs/`)", "the-reference-programs-programs"),
    ("The topology: compose.yaml's subset", "the-topology-composeyamls-subset"),
    ("How many: count, min, max", "how-many-count-min-max"),
    ("`requires`: every point earned", "requires-every-point-earned"),
    ("socklab — the sockets lab, in containers", "socklab--the-sockets-lab-in-containers"),
    ("Choices worth knowing, and why", "choices-worth-knowing-and-why"),
    ("A snake_case name", "a-snake_case-name"),
])
def test_slug_is_githubs(heading, anchor):
    assert slug(heading) == anchor


def test_the_checks_read_something():
    """Each check finds what it checks (an empty list would pass vacuously)."""
    readme = ROOT / "README.md"
    assert {"scenario-tcp", "test", "up", "down", "grade"} <= set(make_targets_named(readme))
    assert any(link.startswith("scenarios/README.md#") for link in links(readme))
    assert any(link.startswith("docs/") and "#" in link for link in links(readme))
    assert {"tests/hostile/", "scenarios/suite.yaml"} <= set(repo_paths_named(readme))
    assert "orchestrator/model/scenario.py" in repo_paths_named(ROOT / "scenarios" / "README.md")
    assert {"test", "scenario-%", "grade", "ladder"} <= set(TARGETS) and ".PHONY" not in TARGETS
    assert {"the-two-commands", "tests", "grading-a-class"} <= anchors(readme)
    assert {ROOT / "docs" / "architecture.md", ROOT / "docs" / "performance.md"} <= set(DOCUMENTS)
    assert _made("scenario-tcp") and _made("scenario-NAME") and not _made("scenario-nosuch")


def test_the_helpers_find_what_is_wrong(tmp_path):
    """A broken link, a missing anchor, an unknown target and a missing path are each found."""
    doc = tmp_path / "x.md"
    doc.write_text("# Top\n[a](#top) [b](#gone) [c](nope.md) [d](https://example.org/x#y) `[e](in-code.md)`\n"
                   "`make nosuch` `orchestrator/runner.py` `tests/unit/` `tests/data/*.frames` `runs/<id>/`\n"
                   "```sh\nmake test   # or make bogus\n```\n")
    assert links(doc) == ["#top", "#gone", "nope.md", "https://example.org/x#y"]
    assert anchors(doc) == {"top"}
    assert make_targets_named(doc) == ["test", "bogus", "nosuch"]
    assert repo_paths_named(doc) == ["orchestrator/runner.py", "tests/unit/"]


def test_the_readme_names_the_test_command():
    """CI runs `make test`: the README says so, in its two commands and its Tests section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^make test\b", text, re.M), "README.md: no `make test` command line"
    assert "## Tests" in text and "`make test`" in text


# ---- 1. links ----------------------------------------------------------------------------------

def _relative(link: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", link, re.I) and not link.startswith("//")


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_every_relative_link_resolves(document):
    problems = []
    for link in links(document):
        if not _relative(link):
            continue
        path, _, anchor = link.partition("#")
        target = (document.parent / path).resolve() if path else document
        if not target.exists():
            problems.append(f"{link}: no {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
            continue
        if anchor:
            if not (target.is_file() and target.suffix == ".md"):
                problems.append(f"{link}: an anchor into {target.name}, which is not a Markdown file")
            elif anchor not in anchors(target):
                problems.append(f"{link}: no heading #{anchor} in {target.relative_to(ROOT)}")
    assert not problems, f"{document.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


# ---- 2. make targets ---------------------------------------------------------------------------

def _made(name: str) -> bool:
    if name in TARGETS:
        return True
    patterns = [t for t in TARGETS if "%" in t and fnmatch.fnmatchcase(name, t.replace("%", "*"))]
    if name.startswith("scenario-") and patterns == ["scenario-%"]:
        stem = name.removeprefix("scenario-")
        return stem.isupper() or (ROOT / "scenarios" / f"{stem}.yaml").is_file()
    return bool(patterns)


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_every_make_target_named_exists(document):
    missing = [t for t in make_targets_named(document) if not _made(t)]
    assert not missing, f"{document.relative_to(ROOT)} names make targets the Makefile lacks: {missing}"


# ---- 3. repository paths -----------------------------------------------------------------------

@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_every_repository_path_named_exists(document):
    missing = []
    for path in repo_paths_named(document):
        where = ROOT / path
        if not (where.is_dir() if path.endswith("/") else where.exists()):
            missing.append(path)
    assert not missing, f"{document.relative_to(ROOT)} names paths that do not exist: {missing}"
