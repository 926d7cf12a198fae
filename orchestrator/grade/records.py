"""A grading's records: one play of a scenario for one student (`Part`), what it gave (`PartResult`), stored in
its folder (`store`, PART_FILE) where a later grading finds it again while its inputs are the same (`cached`:
its key is over all of them, grading.plan), and the grades made of them (`ScenarioGrade`, `StudentGrade`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..report import report
from .submission import Submission
from ..model.suite import Entry

PART_FILE = "part.json"


@dataclass(frozen=True)
class Part:
    """One play of a scenario for one student: `program` is theirs, every other program the lab's."""

    student: str
    entry: Entry
    program: str  # the assignment file that is the student's in this play, e.g. server_tcp.py
    files: dict[str, bytes]  # what replaces the reference programs: that file and the helper modules
    key: str  # sha256 over every input of the play
    folder: Path

    @property
    def label(self) -> str:
        return f"{self.student}: {self.entry.scenario.name} with their {self.program}"


@dataclass
class PartResult:
    """What a play gave: the outcomes of the checks it judges (as report.json writes them)."""

    key: str
    verdict: str  # the run's own verdict: pass, fail or error
    error: str | None  # why the run could not be judged (verdict error), else None
    checks: list[dict[str, Any]]  # the outcomes of the checks this play judges
    seconds: float
    reused: bool = False
    stopped: list[str] = field(default_factory=list)  # what the sandbox's limits stopped in the play, in words
    plays: int = 1  # how many times it was played (RACE_PLAYS when the first play showed a race)
    #: why what failed may have depended on timing the student's program decides, in words ("" if nothing
    #: failed, or no such thing showed): the sandbox's limits stopped it, or it ran several threads at once
    #: (races.race_in; shows_race)
    race: str = ""


@dataclass
class ScenarioGrade:
    entry: Entry
    checks: list[dict[str, Any]]  # every check of the scenario, in its order: name, points, awarded, passed,
    #                               evidence, where, judges (the program file), source (whose program ran)
    errors: list[str] = field(default_factory=list)  # plays that could not be judged
    stopped: list[str] = field(default_factory=list)  # what the sandbox's limits stopped, per play, in words

    @property
    def awarded(self) -> float:
        return sum(c["awarded"] for c in self.checks)

    @property
    def total(self) -> float:
        return sum(c["points"] for c in self.checks)


@dataclass
class StudentGrade:
    submission: Submission
    scenarios: list[ScenarioGrade]

    @property
    def errors(self) -> list[str]:
        return [e for s in self.scenarios for e in s.errors]

    @property
    def status(self) -> str:
        return "error" if self.errors else "graded"

    @property
    def total(self) -> float:
        return report.num(sum(s.entry.weight * s.awarded for s in self.scenarios))

    @property
    def maximum(self) -> float:
        return report.num(sum(s.entry.weight * s.total for s in self.scenarios))


def cached(part: Part) -> PartResult | None:
    """The stored result of a play whose inputs have not changed since, if any."""
    try:
        data = json.loads((part.folder / PART_FILE).read_text())
    except (OSError, ValueError):
        return None
    if data.get("key") != part.key or data.get("verdict") == "error":
        return None  # (a play the lab could not carry out is always tried again)
    if data.get("race") and data.get("plays", 1) < 2:
        return None  # a first play that showed a race, whose replays were cut short (Ctrl-C): the rule is not applied yet
    return PartResult(part.key, data["verdict"], data.get("error"), data["checks"], data.get("seconds", 0.0),
                      reused=True, stopped=list(data.get("stopped_by_limits", [])), plays=data.get("plays", 1),
                      race=data.get("race", ""))


def store(part: Part, result: PartResult, **more: Any) -> None:
    """The play's result in its folder, where `cached` finds it."""
    (part.folder / PART_FILE).write_text(json.dumps({
        "key": part.key, "student": part.student, "scenario": part.entry.scenario.name, "program": part.program,
        "verdict": result.verdict, "error": result.error, "checks": result.checks, "seconds": result.seconds,
        "stopped_by_limits": result.stopped, "plays": result.plays, "race": result.race, **more,
    }, indent=2, ensure_ascii=False) + "\n")
