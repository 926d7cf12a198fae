"""What goes back to a platform of each student's grade (`Mark`: their identifier, their points scaled to the
platform's maximum, a short comment), and what filling a platform's sheet did (`Filled`): moodleout.py and
canvasout.py write with these, pure functions of the grades.

Scaling is exact decimal arithmetic rounded half up to two decimals (`scaled`): the same points give the same
grade every time, whatever the float dust.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ..report.report import num
from .records import StudentGrade
from ..model.suite import Suite

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Mark:
    """One student's grade as a platform takes it."""

    name: str  # as the grading names them (its pages, grades.csv)
    identifier: str  # the platform's (Moodle's participant id, Canvas's user id); "" for none
    entry: str  # their entry as the platform named it (Moodle's folder), "" if none
    points: float
    maximum: float
    graded: bool  # False: the lab could not carry out some plays; no grade goes back
    comment: str  # a short text: the points, where points were lost


@dataclass
class Filled:
    """What filling in a platform's sheet gave: the file's bytes, and the students each way went."""

    data: bytes
    written: list[str] = field(default_factory=list)  # students whose grade was written
    untouched: int = 0  # rows of students no graded submission is for: left as they were
    not_in_sheet: list[str] = field(default_factory=list)  # students graded whom no row is for
    held_back: list[str] = field(default_factory=list)  # a row is theirs but nothing was written, and why
    columns: dict[str, str] = field(default_factory=dict)  # which column is which, and how it was found

    def manifest(self) -> dict:
        return {"written": len(self.written), "untouched_rows": self.untouched, "not_in_sheet": self.not_in_sheet,
                "held_back": self.held_back, "columns": self.columns}

    def claim(self, found: list[Mark], line: int, identity: str) -> Mark | None:
        """The one graded student a row of the sheet is for (`found`: the students with its identifier, named
        `identity` in words, e.g. "user id 2001"), or None with why nothing is written noted: no student's (the
        row stays as it was), several students', or a student the lab could not grade."""
        if not found:
            self.untouched += 1
            return None
        if len(found) > 1:
            self.held_back.append(f"line {line}: {', '.join(m.name for m in found)} all have the {identity}: "
                                  "none is written")
            return None
        if not found[0].graded:
            self.held_back.append(f"{found[0].name}: not graded (the lab could not carry out some plays; grade again)")
            return None
        return found[0]


def scaled(points: float, maximum: float, scale: Decimal) -> Decimal:
    """points/maximum of `scale`, rounded half up to two decimals."""
    return (Decimal(repr(num(points))) * scale / Decimal(repr(num(maximum)))).quantize(CENT, ROUND_HALF_UP)


def comment(grade: StudentGrade, suite: Suite) -> str:
    """A short text for the platform's comment: the points, the scenarios that lost some, the programs of the
    suite missing."""
    sub = grade.submission
    text = f"{num(grade.total)} of {num(grade.maximum)} points ({suite.name})."
    lost = [f"{s.entry.scenario.name} {num(s.entry.weight * s.awarded)}/{num(s.entry.weight * s.total)}"
            for s in grade.scenarios if s.awarded < s.total]
    text += f" Points lost in: {', '.join(lost)}." if lost else " Every check passed."
    needed = {p for e in suite.entries for p in e.scenario.needs()}
    missing = sorted(p for p in needed if p not in sub.files)
    if sub.error:
        text += " The submission could not be used: the report says why."
    elif missing:
        text += f" Not usable or not handed in: {', '.join(missing)}."
    return text


def marks(grades: list[StudentGrade], suite: Suite) -> list[Mark]:
    """Each student's Mark, in the grades' order."""
    return [Mark(g.submission.name, g.submission.identifier, g.submission.entry, g.total, g.maximum,
                 g.status == "graded" and g.maximum > 0, comment(g, suite)) for g in grades]


__all__ = ["Mark", "Filled", "scaled", "comment", "marks"]
