"""Similar submissions, for the instructor to look at (similarity.html, and the class index's "most similar").

Each program file is compared with the file of the same name of every other student (server_tcp.py with
server_tcp.py), over the files a submission's programs are (Submission.files). The comparison is the
winnowing of Schleimer, Wilkerson and Aiken (2003), as MOSS and copydetect do it:
- a program is read as Python's tokens (the standard library's tokenize, Python's own; no code is run):
  comments and layout are dropped, every name becomes N, every string S and every number 0, so renaming,
  re-commenting and re-indenting change nothing; keywords, operators and builtins stay;
- every run of K tokens is hashed (blake2b: the same hashes in every grading, unlike Python's salted
  `hash()`), and of every WINDOW consecutive hashes the smallest is kept: a program's fingerprints. Two
  programs that share a run of K + WINDOW - 1 tokens or more share a fingerprint;
- boilerplate is no pair's: a run of K tokens found in a reference program of the lab (programs/*.py) or in
  the handout's programs (if given), and a fingerprint that more than COMMON submissions have in that
  program (what everyone writes: the assignment's fixed strings, the handout's code even if not given), are
  dropped before any comparison;
- of two students' files, each one's share is the part of its tokens inside the fingerprints they share; the
  pair's score for that program is the larger share (a copy with things added is still a copy); a pair is
  listed when some program's score reaches THRESHOLD with at least MIN_SHARED tokens shared, ranked by its
  highest score.

It is a place to look, not a verdict: the page says so. Everything shown from a program is escaped (the page
is autoescaped jinja2 and the text goes through escaped_lines).
"""
from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..base.text import escaped_lines
from ..report import pages
from ..report.report import num
from .submission import Submission

PAGE = "similarity.html"
#: the lab's reference programs: boilerplate in every comparison
REFERENCE = Path(__file__).resolve().parents[2] / "programs"
K = 12  # tokens in a hashed run: a shorter match is never seen
WINDOW = 8  # hashes a fingerprint is the smallest of: a match of K + WINDOW - 1 = 19 tokens is always seen
THRESHOLD = 0.5  # a program's score (the larger share of the two files inside shared fingerprints) to list it
MIN_SHARED = 40  # tokens (about four lines) a listed program's files must share at least
COMMON = 10  # a fingerprint more submissions than this have in a program is the class's, not a pair's
MAX_CHARS = 200_000  # of a program, only the first are read (a program is a few kB)
MAX_PAIRS, MAX_PASSAGES, MAX_LINES = 100, 8, 40  # what the page shows at most (it says what it left out)

_SKIPPED = {tokenize.ENCODING, tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}
_STRINGS = {tokenize.STRING, *(getattr(tokenize, n) for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
                               if hasattr(tokenize, n))}
_BUILTINS = frozenset(dir(builtins))  # print, len, str: kept as they are (a renamed copy cannot rename them)


@dataclass(frozen=True)
class Fingerprinted:
    """One program file: its text, its tokens' (start, end) in it, and its fingerprints (hash -> token positions)."""

    text: str
    spans: tuple[tuple[int, int], ...]
    prints: dict[int, list[int]]


def symbols(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The program's tokens, normalized (see the module), with where each is in the text. A file Python
    cannot tokenize (an unclosed bracket, a bad indent) gives its tokens up to the error."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    syms: list[str] = []
    spans: list[tuple[int, int]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in _SKIPPED:
                continue
            start = starts[tok.start[0] - 1] + tok.start[1]
            end = starts[tok.end[0] - 1] + tok.end[1]
            if tok.type in _STRINGS:
                if syms and syms[-1] == "S":
                    spans[-1] = (spans[-1][0], end)  # one string, however it is cut (implicit concatenation)
                    continue
                sym = "S"
            elif tok.type == tokenize.NUMBER:
                sym = "0"
            elif tok.type == tokenize.NAME and not keyword.iskeyword(tok.string) and tok.string not in _BUILTINS:
                sym = "N"
            else:
                sym = tok.string
            syms.append(sym)
            spans.append((start, end))
    except (tokenize.TokenError, SyntaxError):
        pass
    return syms, spans


def kgram_hashes(syms: list[str]) -> list[int]:
    """The hash of every run of K tokens, in order."""
    return [int.from_bytes(hashlib.blake2b("\x1f".join(syms[i:i + K]).encode(), digest_size=8).digest(), "big")
            for i in range(len(syms) - K + 1)]


def winnow(hashes: list[int]) -> list[int]:
    """The positions of the fingerprints: in each window of WINDOW hashes, the smallest (the rightmost of equals),
    each position once."""
    if not hashes:
        return []
    chosen: list[int] = []
    for i in range(max(1, len(hashes) - WINDOW + 1)):
        window = hashes[i:i + WINDOW]
        low = min(window)
        pos = i + len(window) - 1 - window[::-1].index(low)
        if not chosen or chosen[-1] != pos:
            chosen.append(pos)
    return chosen


def fingerprint(text: str, boilerplate: set[int] | frozenset[int] = frozenset()) -> Fingerprinted:
    """A file's fingerprints, those of `boilerplate` (k-gram hashes) left out."""
    syms, spans = symbols(text)
    hashes = kgram_hashes(syms)
    prints: dict[int, list[int]] = {}
    for pos in winnow(hashes):
        if hashes[pos] not in boilerplate:
            prints.setdefault(hashes[pos], []).append(pos)
    return Fingerprinted(text, tuple(spans), prints)


def boilerplate_hashes(texts: Iterable[str]) -> set[int]:
    """Every run of K tokens of the boilerplate (not only its fingerprints: any of it is no pair's)."""
    return {h for text in texts for h in kgram_hashes(symbols(text)[0])}


def reference_texts(folders: Iterable[Path] = (REFERENCE,)) -> list[str]:
    """The .py files of the boilerplate folders (the lab's reference programs; the handout's), as text."""
    return [decoded(p.read_bytes()) for folder in folders for p in sorted(Path(folder).glob("*.py"))]


def decoded(data: bytes) -> str:
    return data[:MAX_CHARS].decode("utf-8", "replace").replace("\r\n", "\n")


@dataclass(frozen=True)
class Match:
    """Two students' files of one program that are alike: the shares of each, and the passages they share
    (token ranges [start, end) of the first's and of the second's)."""

    program: str
    shares: tuple[float, float]
    shared: int  # tokens of the first file inside shared fingerprints
    passages: tuple[tuple[tuple[int, int], tuple[int, int]], ...]

    @property
    def score(self) -> float:
        return max(self.shares)


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    matches: tuple[Match, ...]  # the programs that reach the threshold, the most alike first

    @property
    def score(self) -> float:
        return self.matches[0].score


def _covered(positions: Iterable[int]) -> set[int]:
    return {t for p in positions for t in range(p, p + K)}


def _passages(a: Fingerprinted, b: Fingerprinted, shared: set[int]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The shared fingerprints' positions chained into passages: consecutive matches that advance together in
    both files are one passage; the longest first."""
    hits = sorted((pa, pb) for h in shared for pa in a.prints[h][:4] for pb in b.prints[h][:4])
    runs: list[list[int]] = []  # [a0, a1, b0, b1]: the first and last match's positions in each
    gap = K + WINDOW
    for pa, pb in hits:
        for run in runs[-8:]:
            if 0 <= pa - run[1] <= gap and 0 <= pb - run[3] <= gap:
                run[1], run[3] = pa, pb
                break
        else:
            runs.append([pa, pa, pb, pb])
    out = [((r[0], r[1] + K), (r[2], r[3] + K)) for r in runs]
    return sorted(out, key=lambda p: (-(p[0][1] - p[0][0]), p[0][0]))


def compare(a: Fingerprinted, b: Fingerprinted, program: str) -> Match | None:
    """The match of two files, or None if they share no fingerprint."""
    shared = set(a.prints) & set(b.prints)
    if not shared or not a.spans or not b.spans:
        return None
    cov_a = _covered(p for h in shared for p in a.prints[h])
    cov_b = _covered(p for h in shared for p in b.prints[h])
    return Match(program, (len(cov_a) / len(a.spans), len(cov_b) / len(b.spans)), len(cov_a),
                 tuple(_passages(a, b, shared)))


def pairs(submissions: Iterable[Submission], boilerplate: Iterable[str] | None = None) -> list[Pair]:
    """The pairs of students whose programs are unusually alike (see the module), the most alike first.
    `boilerplate`: the texts no pair's code is (default: the lab's reference programs)."""
    subs = sorted(submissions, key=lambda s: (s.name.casefold(), s.name))
    excluded = boilerplate_hashes(reference_texts() if boilerplate is None else boilerplate)
    by_program: dict[str, dict[str, Fingerprinted]] = {}
    for sub in subs:
        for program, data in sorted(sub.files.items()):
            if program.endswith(".py"):
                by_program.setdefault(program, {})[sub.name] = fingerprint(decoded(data), excluded)
    found: dict[tuple[str, str], list[Match]] = {}
    for program, files in sorted(by_program.items()):
        seen: dict[int, int] = {}
        for f in files.values():
            for h in f.prints:
                seen[h] = seen.get(h, 0) + 1
        common = {h for h, n in seen.items() if n > COMMON}
        if common:
            files = {name: Fingerprinted(f.text, f.spans, {h: p for h, p in f.prints.items() if h not in common})
                     for name, f in files.items()}
        # only students who share a fingerprint are compared: an index of who has which
        holders: dict[int, list[str]] = {}
        for name, f in files.items():
            for h in f.prints:
                holders.setdefault(h, []).append(name)
        candidates = {(x, y) for names in holders.values() for i, x in enumerate(names) for y in names[i + 1:]}
        for x, y in sorted(candidates):
            match = compare(files[x], files[y], program)
            if match and match.score >= THRESHOLD and match.shared >= MIN_SHARED:
                found.setdefault((x, y), []).append(match)
    listed = [Pair(x, y, tuple(sorted(ms, key=lambda m: (-m.score, m.program)))) for (x, y), ms in found.items()]
    order = {s.name: i for i, s in enumerate(subs)}
    return sorted(listed, key=lambda p: (-p.score, -sum(m.shared for m in p.matches), order[p.first], order[p.second]))


def most_similar(found: list[Pair]) -> dict[str, tuple[str, float, str]]:
    """Student -> (the other student of their most similar pair, its score in %, the link to it on the page)."""
    best: dict[str, tuple[str, float, str]] = {}
    for i, pair in enumerate(found[:MAX_PAIRS]):
        for me, other in ((pair.first, pair.second), (pair.second, pair.first)):
            best.setdefault(me, (other, _percent(pair.score), f"{PAGE}#pair-{i + 1}"))
    return best


def _percent(x: float) -> float:
    return num(round(100 * x, 1))


def _lines(text: str, spans: tuple[tuple[int, int], ...], tokens_range: tuple[int, int]) -> dict[str, object]:
    """A passage as whole lines of the file: its first and last line's numbers, and its text (clipped)."""
    start = spans[tokens_range[0]][0]
    end = spans[min(tokens_range[1], len(spans)) - 1][1]
    start = text.rfind("\n", 0, start) + 1
    stop = text.find("\n", end)
    stop = len(text) if stop < 0 else stop
    first = text.count("\n", 0, start) + 1
    lines = text[start:stop].split("\n")
    clipped = len(lines) > MAX_LINES
    return {"first": first, "last": first + len(lines) - 1,
            "text": escaped_lines("\n".join(lines[:MAX_LINES]) + (f"\n… ({len(lines) - MAX_LINES} more lines)"
                                                                  if clipped else ""))}


def page(found: list[Pair], submissions: Iterable[Submission], student_href, class_href: str, suite: str,
         handout: bool = False) -> str:
    """similarity.html: the listed pairs ranked, each program's shared passages side by side."""
    subs = {s.name: s for s in submissions}
    spans: dict[tuple[str, str], tuple[str, tuple[tuple[int, int], ...]]] = {}

    def file(name: str, program: str) -> tuple[str, tuple[tuple[int, int], ...]]:
        if (name, program) not in spans:  # the same text, tokenized as pairs() did: the same positions
            text = decoded(subs[name].files[program])
            spans[(name, program)] = (text, tuple(symbols(text)[1]))
        return spans[(name, program)]

    shown = []
    for i, pair in enumerate(found[:MAX_PAIRS]):
        programs = []
        for m in pair.matches:
            a, b = file(pair.first, m.program), file(pair.second, m.program)
            programs.append({
                "program": escaped_lines(m.program), "percent": _percent(m.score),
                "shares": [_percent(x) for x in m.shares], "shared": m.shared,
                "passages": [{"left": _lines(*a, pa), "right": _lines(*b, pb)}
                             for pa, pb in m.passages[:MAX_PASSAGES]],
                "more": max(0, len(m.passages) - MAX_PASSAGES)})
        shown.append({"anchor": f"pair-{i + 1}", "rank": i + 1, "percent": _percent(pair.score),
                      "first": {"name": escaped_lines(pair.first), "href": student_href(pair.first)},
                      "second": {"name": escaped_lines(pair.second), "href": student_href(pair.second)},
                      "programs": programs})
    return pages.render("similarity.html.j2", suite=escaped_lines(suite), pairs=shown,
                        left_out=max(0, len(found) - MAX_PAIRS), students=len(subs), class_href=class_href,
                        threshold=_percent(THRESHOLD), min_shared=MIN_SHARED, k=K, guaranteed=K + WINDOW - 1,
                        common=COMMON, handout=handout)


def boilerplate_texts(handout: Mapping[str, bytes] | None = None) -> list[str]:
    """The lab's reference programs, and the handout's programs if given (name -> content)."""
    return reference_texts() + [decoded(d) for d in (handout or {}).values()]


__all__ = ["pairs", "page", "most_similar", "fingerprint", "symbols", "winnow", "boilerplate_texts", "PAGE",
           "THRESHOLD", "Pair", "Match"]
