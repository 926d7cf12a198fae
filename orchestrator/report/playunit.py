"""The play as one unit: a scenario played once on an engine, judged, and its reports written. Inputs in
(PlayInputs: plain data, no global state), a result with its artifacts out (Played). `socklab run` plays each
scenario through it, and grading each part of a student's grade, so both write the same files the same way;
and grading can hand a play to another machine, since everything the play depends on is in its inputs.

The artifacts, in the play's folder: report.json, junit.xml, report.html (the run page) besides what the run
itself leaves there (capture.pcap, the programs' logs, the snapshots).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..evidence import Evidence, ImageEvidence
from ..judge import checks
from ..judge.checks import Outcome
from ..lab.engineapi import PlayEngine
from ..lab.lab import Lab, Limits
from ..model.scenario import Scenario
from ..model.topology import Topology
from ..play import runner
from . import report, runpage


@dataclass(frozen=True)
class PlayInputs:
    """Everything one play depends on."""

    scenario: Scenario
    topology: Topology
    images: dict[str, ImageEvidence]  # image name ('node', 'capture') -> the exact image to run
    runs_dir: Path  # where the run's folder goes (runs_dir/<run id>) when `folder` is None
    #: files (name -> content) run instead of the reference programs of the same names (a student's)
    programs: dict[str, bytes] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    folder: Path | None = None  # the play's artifacts go here (grading: the part's folder)
    session: str | None = None  # the grading session: every resource carries it as a label too
    #: the run page marks this program file as the one graded, and each check with the file it judges
    graded: str | None = None
    judges: tuple[str, ...] | None = None  # per check of the scenario, in order: the file it judges
    #: the folder the report names as the artifacts' (default: where they are written): a play on another
    #: machine names the grader's folder, where its artifacts end up (cluster/worker.py)
    artifacts: str | None = None


@dataclass(frozen=True)
class Played:
    """What a play gave: its evidence, the checks' outcomes, the report (as report.json holds it), the
    folder of its artifacts and the exit code `socklab run` gives it."""

    evidence: Evidence
    outcomes: list[Outcome]
    report: dict[str, Any]
    folder: Path
    exit_code: int


def play(inputs: PlayInputs, engine: PlayEngine, *, lab: Lab | None = None,
         cancel: threading.Event | None = None,
         events: Callable[[runner.Event], None] = lambda e: None) -> Played:
    """Play `inputs.scenario` once (on `lab`, already reset for it, or on a lab of its own), judge it and
    write its reports. `cancel`, set from another thread, ends the run where it is: it tears down and raises
    KeyboardInterrupt, and nothing is judged or written."""
    options = runner.RunOptions(runs_dir=inputs.runs_dir, images=inputs.images, limits=inputs.limits,
                                programs=dict(inputs.programs), folder=inputs.folder, session=inputs.session,
                                cancel=cancel, lab=lab)
    evidence = runner.run(engine, inputs.topology, inputs.scenario, options, events=events)
    outcomes = checks.evaluate(inputs.scenario, evidence)
    folder = inputs.folder if inputs.folder is not None else inputs.runs_dir / evidence.run_id
    rep = report.build(inputs.scenario, evidence, outcomes,
                       artifacts=inputs.artifacts if inputs.artifacts is not None else str(folder))
    report.write_json(rep, folder / "report.json")
    report.write_junit(rep, folder / "junit.xml")
    marks = {} if inputs.graded is None else {"graded": inputs.graded, "judges": list(inputs.judges or ())}
    runpage.write_run_page(rep, evidence, folder / "report.html", **marks)
    return Played(evidence, outcomes, rep, folder, checks.exit_code(evidence, rep["verdict"]))


__all__ = ["PlayInputs", "Played", "play"]
