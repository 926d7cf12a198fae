"""The probe's table: a case tried (handled when it has no problem) and a group of cases with its figures."""
from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class Case:
    group: str
    id: str
    what: str
    handled: bool = False
    problems: list[str] = field(default_factory=list)
    code: int | None = None
    seconds: float | None = None
    detail: dict = field(default_factory=dict)
    repro: str = ""

    def judge(self) -> "Case":
        self.handled = not self.problems
        return self


@dataclass
class Group:
    key: str
    title: str
    cases: list[Case] = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def handled(self) -> int:
        return sum(c.handled for c in self.cases)


def selected(cases: list, only: re.Pattern | None, key=lambda c: c) -> list:
    return [c for c in cases if only is None or only.search(key(c))]
