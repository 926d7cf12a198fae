"""What similarity.html costs (grade/similarity.py): a synthetic class of N students (default 100: 4,950 pairs
per program, four programs each), timed, fingerprinting and comparing, then the page.

    python bench/similarity.py [-n 100] [--repeat 3]

Each student's four programs are one of the styles of the sample class and the held-out class (examples/,
bench/heldout-class/) with every name of theirs renamed to the student's own and, at random places, lines of
their own added: a class where every pair shares a style's idioms, the worst case for the candidates compared.
Three pairs are made copies; two students given the same style, or two alike (one family: the styles that
similarity pairs, joined), are copies too, names aside: the page should list both kinds, and no other pair. Never part of `make test`.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchestrator.grade import gradebook, similarity  # noqa: E402
from orchestrator.grade.submission import Submission  # noqa: E402

PROGRAMS = ("server_tcp.py", "client_tcp.py", "server_udp.py", "client_udp.py")
NAME = re.compile(r"\b(?!(?:import|from|def|return|if|else|elif|while|for|in|not|and|or|try|except|finally|with|as|"
                  r"True|False|None|break|continue|pass|print|len|str|int|socket|sys|threading|codecs|self|class|"
                  r"lambda|global|is|raise|del|yield|__name__|__main__)\b)([a-z_][a-z0-9_]*)\s*=", re.M)


def styles() -> list[dict[str, str]]:
    found = []
    for folder in [*(ROOT / "examples" / "submissions").iterdir(), *(ROOT / "examples" / "zipped-student-src").glob("*"),
                   *(ROOT / "bench" / "heldout-class").glob("*")]:
        files = {p.name.lower(): p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*.py")}
        if all(p in files for p in PROGRAMS):
            found.append(files)
    return found


def student(rng: random.Random, i: int, style: dict[str, str]) -> dict[str, bytes]:
    files = {}
    for program in PROGRAMS:
        text = style[program]
        for name in set(NAME.findall(text)):  # the variables it assigns, renamed to this student's
            text = re.sub(rf"\b{name}\b(?=[^\"'\n]*$|\s*=|[.(\[,)])", f"{name}_{i}", text)
        lines = text.split("\n")
        for _ in range(rng.randint(3, 12)):  # lines of their own
            lines.insert(rng.randrange(len(lines) + 1), f"# note {rng.random()}\nnote_{i}_{rng.randrange(99)} = {rng.random()}")
        files[program] = "\n".join(lines).encode()
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)
    base = styles()
    # styles alike already (the sample class's mistakes share one base, as held-out students share theirs) are one
    # family: found as similarity finds pairs, joined transitively
    family = list(range(len(base)))
    for pair in similarity.pairs([Submission(str(i), str(i), {p: t.encode() for p, t in b.items()})
                                  for i, b in enumerate(base)]):
        old, new = family[int(pair.second)], family[int(pair.first)]
        family = [new if f == old else f for f in family]
    chosen = [rng.randrange(len(base)) for _ in range(args.n)]
    subs = [Submission(f"student-{i:03}", f"/class/{i}", student(rng, i, base[chosen[i]])) for i in range(args.n)]
    made = ((3, 40), (11, 77), (25, 60))
    for a, b in made:  # made copies
        subs[b] = Submission(subs[b].name, subs[b].path, dict(subs[a].files))
        chosen[b] = chosen[a]
    print(f"{args.n} students, {len(base)} styles, {sum(len(s.files) for s in subs)} program files, "
          f"{args.n * (args.n - 1) // 2} pairs per program")
    for _ in range(args.repeat):
        start = time.perf_counter()
        found = similarity.pairs(subs)
        middle = time.perf_counter()
        page = similarity.page(found, subs, gradebook.student_href, "index.html", "bench")
        end = time.perf_counter()
        print(f"pairs {middle - start:.2f} s ({len(found)} listed), page {end - middle:.2f} s ({len(page):,} characters)")
    index = {s.name: i for i, s in enumerate(subs)}
    listed = {(index[p.first], index[p.second]) for p in found}
    same = [(a, b) for a, b in listed if (a, b) not in made and family[chosen[a]] == family[chosen[b]]]
    print(f"{len(set(family))} families of styles; listed: the {sum(m in listed for m in made)} of {len(made)} made "
          f"copies, {len(same)} pairs given styles of one family, "
          f"{sum(family[chosen[a]] != family[chosen[b]] for a, b in listed)} others")
    return 0


if __name__ == "__main__":
    sys.exit(main())
