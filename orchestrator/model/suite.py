"""A suite: the scenarios a class is graded on, and the weight of each (plain data, and its loader).

    name: sockets-assignment
    description: the assignment's exchanges, graded
    scenarios:
      - {scenario: tcp.yaml, weight: 1}         # a path relative to the suite file
      - {scenario: closed-port.yaml, weight: 0.5}

A student's grade is the weighted sum of the points they get in each scenario, out of the weighted sum of
each scenario's points. A scenario needs the program files its start steps run (Scenario.needs): it is played
once for each of them, with that program the student's and every other one the lab's reference, and each
check is judged in the play of the program it judges (README, Grading). So a suite may only hold scenarios
whose every check judges a program run from a file (a command of the image, like /usr/bin/id, is no
student's), and whose files the assignment asks for.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..base.errors import SuiteError
from .scenario import FilterChecker, Scenario, load_scenario, program_file
from .topology import Topology
from ..base.text import names, or_list
from .document import Where
from .yamlsource import read_yaml

#: The programs the assignment asks for: the only files a suite's scenarios may need.
ASSIGNMENT = ("server_udp.py", "client_udp.py", "server_tcp.py", "client_tcp.py")
TOP_KEYS = ("name", "description", "scenarios")
MAX_WEIGHT = 1000
DEFAULT_SUITE = Path(__file__).resolve().parents[2] / "scenarios" / "suite.yaml"


@dataclass(frozen=True)
class Entry:
    scenario: Scenario
    weight: float
    sha256: str  # of the scenario file's bytes
    where: Where


@dataclass(frozen=True)
class Suite:
    path: str
    name: str
    description: str
    entries: tuple[Entry, ...]
    sha256: str  # of the suite file's bytes
    where: Where = field(compare=False, default=Where("", None, ""))

    def maximum(self) -> float:
        """The most points a student can get: the weighted sum of every scenario's points."""
        return sum(e.weight * sum(c.points for c in e.scenario.checks) for e in self.entries)


def is_suite(path: str | Path) -> bool:
    """Whether a YAML file is a suite rather than a scenario (its top level has `scenarios`, no `steps`)."""
    try:
        data = read_yaml(path, SuiteError).data
    except SuiteError:
        return False
    return isinstance(data, dict) and "scenarios" in data and "steps" not in data


def load_suite(path: str | Path, topology: Topology, filter_checker: FilterChecker | None = None) -> Suite:
    """Read and validate a suite and every scenario it lists; any problem is a located error."""
    doc = read_yaml(path, SuiteError)
    m = doc.root.mapping(TOP_KEYS, TOP_KEYS, rule="a mapping with the keys name, description and scenarios")
    name = m["name"].str(example="sockets-assignment")
    description = m["description"].str(example="'the assignment's exchanges, graded'")
    base = Path(path).resolve().parent
    entries, seen = [], {}
    for item in m["scenarios"].list(nonempty=True, example="[{scenario: tcp.yaml, weight: 1}]"):
        e = item.mapping(("scenario", "weight"), ("scenario",), example="{scenario: tcp.yaml, weight: 1}")
        rel = e["scenario"].str(example="tcp.yaml")
        file = (base / rel)
        if not file.is_file():
            e["scenario"].fail(f"no scenario file {rel} beside the suite ({file})")
        if file.resolve() in seen:
            e["scenario"].fail(f"{rel} is already in the suite (line {seen[file.resolve()]}); list each scenario once")
        seen[file.resolve()] = item.line
        weight = e["weight"].number(0, MAX_WEIGHT, example="1") if "weight" in e else 1.0
        scenario = load_scenario(file, topology, filter_checker)
        _gradable(scenario, e["scenario"])
        entries.append(Entry(scenario, weight, hashlib.sha256(file.read_bytes()).hexdigest(), item.where))
    return Suite(path=str(path), name=name, description=description, entries=tuple(entries),
                 sha256=hashlib.sha256(Path(path).read_bytes()).hexdigest(), where=doc.root.where)


def _gradable(scenario: Scenario, node) -> None:
    """Every file the scenario needs is one of the assignment's; every check judges a program run from one."""
    programs = scenario.programs()
    for needed in scenario.needs():
        if needed not in ASSIGNMENT:
            node.fail(f"{scenario.path} runs {needed}, which the assignment does not ask for (it asks for "
                      f"{or_list(list(ASSIGNMENT), 'and')}): a student has none to grade")
    for check in scenario.checks:
        start = programs.get(check.judges)
        if start is None or program_file(start.argv) is None:
            node.fail(f"{check.where}: the check {check.name!r} judges {check.judges!r}, which runs "
                      f"{start.argv[0] if start else 'nothing'}, no student's program: a graded check judges one "
                      f"of {names(list(scenario.needs()))}")
