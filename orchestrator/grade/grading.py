"""Grading a class: every student's programs played on a suite, fairly, in parallel, and resumably.

The rule (README, Grading), so that every point can be defended to a student:
- A scenario is played once for each assignment program it runs (Scenario.needs): in that play, that one
  program is the student's and every other program is the lab's reference one. Each check judges one
  program (Check.judges) and is judged in that program's play only. So a broken client never costs its
  student the points of their server, nor the other way round.
- A program the student did not hand in (or handed in unusable: two candidates, not text, or one the lab's
  Python cannot start: startcheck.py) is never replaced: the checks that judge it fail with that reason, and
  its play does not happen.
- A play that goes wrong by no fault of the programs (the engine, the capture) makes the student's grade
  'error', with the reason, rather than a grade they did not earn: the instructor re-grades them.

A play is a `Part`; its result is stored in its folder with a key over all its inputs (the program's and the
helper modules' bytes, the scenario's, the topology's, the images, the orchestrator's own source and
limits), so a grading that is run again re-uses every result whose inputs did not change, and one that was
interrupted resumes where it stopped.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import itertools
import json
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..report import playunit, report
from ..play import runner
from ..base.errors import SocklabError
from ..evidence import ImageEvidence
from ..base.interrupts import Interrupts
from ..lab.lab import Lab
from ..base.labels import run_labels
from ..model.steplist import keyed_steps
from ..evidence import SocketRow
from ..model.scenario import Scenario, run_file
from .races import RACE_PLAYS, combine, decided, race_in, shows_race
from .records import Part, PartResult, ScenarioGrade, StudentGrade, cached, store
from .submission import Submission
from ..model.suite import ASSIGNMENT, Entry, Suite
from ..model.topology import Topology
from ..lab.engineapi import PlayEngine

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def folder_name(text: str) -> str:
    """A student's or a scenario's name as a folder name: kept when it is plain, else made plain and told
    apart by a short hash (two names that only differ in what was replaced stay two folders)."""
    plain = _SAFE.sub("-", text).strip("-.") or "x"
    return plain if plain == text else f"{plain}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"


def source_digest() -> str:
    """A digest of the orchestrator's own source, every file of the package (its modules in every layer and
    the report templates): a result is re-used only by the same code."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for path in sorted(p for p in package.rglob("*") if p.is_file() and p.suffix in (".py", ".j2")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Settings:
    """What every play of a grading shares."""

    topology: Topology
    suite: Suite
    images: dict[str, ImageEvidence]
    out: Path
    fingerprint: str  # the orchestrator's source, the topology and images, the limits
    session: str
    limits: runner.Limits = field(default_factory=runner.Limits)


def fingerprint(topology: Topology, images: dict[str, ImageEvidence], limits: runner.Limits) -> str:
    """What every play's key shares: the code, the lab, its images and the limits of the sandbox."""
    parts = {"source": source_digest(), "topology": hashlib.sha256(Path(topology.path).read_bytes()).hexdigest(),
             "images": {n: (im.id, im.packages_sha256) for n, im in sorted(images.items())},
             "limits": repr(limits)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def student_folder(settings: Settings, student: str) -> Path:
    return settings.out / "students" / folder_name(student)


def plan(submission: Submission, settings: Settings) -> list[Part]:
    """The plays of one student: one per scenario of the suite and program file it needs that they handed in,
    and that a check judges (a play judging nothing would only cost time: netstat.yaml runs client_udp.py to
    give its UDP server a datagram, and judges only the server)."""
    helpers = {name: data for name, data in submission.files.items() if name not in ASSIGNMENT}
    parts = []
    for entry in settings.suite.entries:
        judged = {judged_file(entry, check.judges) for check in entry.scenario.checks}
        for program in entry.scenario.needs():
            if program not in submission.files or program not in judged:
                continue
            files = {program: submission.files[program], **helpers}
            key = hashlib.sha256(json.dumps({
                "fingerprint": settings.fingerprint, "scenario": entry.sha256, "program": program,
                "files": {n: hashlib.sha256(d).hexdigest() for n, d in sorted(files.items())},
            }, sort_keys=True).encode()).hexdigest()
            folder = (student_folder(settings, submission.name) / folder_name(entry.scenario.name)
                      / folder_name(program.removesuffix(".py")))
            parts.append(Part(submission.name, entry, program, files, key, folder))
    return parts


def judged_file(entry: Entry, check_judges: str) -> str:
    """The program file a check judges (the file its judged program runs)."""
    return run_file(entry.scenario.programs()[check_judges].argv)


def play(part: Part, engine: PlayEngine, settings: Settings, cancel: threading.Event, lab: Lab | None = None
         ) -> PartResult | None:
    """Play one part (on `lab`, reset for it, or on a lab of its own) and store its result; None if the
    grading was cancelled meanwhile."""
    started = time.monotonic()
    part.folder.mkdir(parents=True, exist_ok=True)
    try:
        played = playunit.play(play_inputs(part, settings), engine, lab=lab, cancel=cancel)
    except KeyboardInterrupt:
        return None
    return result_of(part, played, round(time.monotonic() - started, 3))


def play_inputs(part: Part, settings: Settings) -> playunit.PlayInputs:
    """The play unit's inputs for one part (its artifacts go into the part's folder)."""
    scenario = part.entry.scenario
    return playunit.PlayInputs(scenario, settings.topology, settings.images, part.folder.parent,
                               programs=part.files, limits=settings.limits, folder=part.folder,
                               session=settings.session, graded=part.program,
                               judges=tuple(judged_file(part.entry, check.judges) for check in scenario.checks))


def result_of(part: Part, played: playunit.Played, seconds: float, **more: Any) -> PartResult:
    """A part's result from its play (the checks of the program it judges), stored in its folder (with
    `more`, e.g. which machine played it)."""
    evidence, rep, scenario = played.evidence, played.report, part.entry.scenario
    played_with = f"your {part.program} with the lab's " + (", ".join(
        sorted({p.argv[2] for p in evidence.programs.values() if p.source == "reference" and len(p.argv) > 2}))
        or "nothing else")
    mine = [dict(c, judges=part.program, source=played_with) for c, check in zip(rep["checks"], scenario.checks)
            if judged_file(part.entry, check.judges) == part.program]
    sources = {pid: p.source for pid, p in evidence.programs.items()}
    error = report.run_problem(rep) if rep["verdict"] == "error" else None
    result = PartResult(part.key, rep["verdict"], error, mine, seconds,
                        stopped=list(rep.get("stopped_by_limits") or []),
                        race=race_in(evidence) if any(not c["passed"] for c in mine) else "")
    store(part, result, sources=sources, run_id=evidence.run_id, **more)
    return result


def not_submitted(entry: Entry, check, reason: str) -> dict[str, Any]:
    points = report.num(check.points)
    return {"name": check.name, "kind": type(check.spec).__name__.removesuffix("Check").lower(), "points": points,
            "awarded": 0, "passed": False, "evidence": reason, "where": str(check.where),
            "judges": judged_file(entry, check.judges), "source": "not run"}


def assemble(submission: Submission, parts: list[Part], results: dict[str, PartResult],
             settings: Settings) -> StudentGrade:
    """A student's grade from the results of their plays (a check's outcome comes from its program's play)."""
    by_play = {(p.entry.scenario.path, p.program): results.get(p.key) for p in parts}
    grades = []
    for entry in settings.suite.entries:
        outcomes, errors = [], []
        for check in entry.scenario.checks:
            program = judged_file(entry, check.judges)
            if submission.error:
                outcomes.append(not_submitted(entry, check, f"nothing of the submission could be used: "
                                                            f"{submission.error}"))
                continue
            if program not in submission.files:
                reason = submission.problems.get(program, f"{program} not submitted")
                outcomes.append(not_submitted(entry, check, reason))
                continue
            result = by_play.get((entry.scenario.path, program))
            found = next((c for c in (result.checks if result else []) if c["name"] == check.name), None)
            if result is None or found is None:
                why = (f"not judged: the lab could not play it ({result.error})" if result is not None and result.error
                       else "not played (the grading was stopped first)")
                outcomes.append(not_submitted(entry, check, why))
                if result is not None and result.error and result.error not in errors:
                    errors.append(result.error)
                continue
            outcomes.append(found)
            if result.error and result.error not in errors:
                errors.append(result.error)
        stopped = [f"{what} (in the play of your {p.program})" for p in parts if p.entry is entry and results.get(p.key)
                   for what in results[p.key].stopped]
        stopped += [f"the play of your {p.program} was played {results[p.key].plays} times, because "
                    f"{results[p.key].race or 'its outcome may have depended on timing'}, and a check counts if it "
                    "passed in most of them" for p in parts
                    if p.entry is entry and results.get(p.key) and results[p.key].plays > 1]
        grades.append(ScenarioGrade(entry, outcomes, [f"{entry.scenario.name}: {e}" for e in errors], stopped))
    return StudentGrade(submission, grades)


class Grader:
    """Plays the parts of many students on one engine, `jobs` at a time (see the module).

    A student's plays are played one after the other on one lab, cleared between them (lab.Lab.clear and
    prepare: the last play's processes killed, what they wrote removed, the next play's files put in, the
    limits counted from there). What cannot be cleared are the sockets the kernel keeps after a play (a
    client that closed first keeps its TIME_WAIT a minute): the next play is then one they cannot change
    (leftovers_harmless; its snapshots leave them out), or a fresh lab is made; a lab whose links a play
    impaired is restored first; and a lab that cannot be cleared at all is replaced. So every play gives
    what it would in a lab of its own (the integration tests compare both), and a worker mostly keeps one
    lab for all its plays: the creation and removal of three containers is most of a play's cost here
    (README, Performance). `fresh_labs=True` gives each play a lab of its own instead."""

    def __init__(self, engine: PlayEngine, settings: Settings, jobs: int, force: bool = False,
                 fresh_labs: bool = False,
                 on_part: Callable[[Part, PartResult | None], None] = lambda part, result: None):
        self.engine, self.settings, self.jobs, self.force = engine, settings, max(1, jobs), force
        self.fresh_labs, self.on_part = fresh_labs, on_part
        self.cancel = threading.Event()
        self.replaced: list[str] = []  # why labs could not be cleared, and were replaced (for the manifest)
        self._labs = itertools.count(1)
        self.labs_created = 0

    def grade(self, submissions: list[Submission]) -> list[StudentGrade]:
        """Every student's grade. Ctrl-C (or SIGTERM) stops it: the plays under way tear down, those done are
        kept for the next grading to re-use, and KeyboardInterrupt goes on up."""
        plans = {s.name: plan(s, self.settings) for s in submissions}
        results: dict[str, PartResult] = {}
        groups: list[list[Part]] = []
        for parts in plans.values():
            todo = []
            for part in parts:
                found = None if self.force else cached(part)
                if found is not None:
                    results[part.key] = found
                    self.on_part(part, found)
                else:
                    todo.append(part)
            if todo:
                groups.append(todo)
        groups = _spread(groups, self.jobs)
        events: queue.Queue = queue.Queue()
        with Interrupts() as interrupts:
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grade")
            pending = {pool.submit(self._play_group, group, events) for group in groups}
            try:
                while pending:  # short waits, so that Ctrl-C is taken at once
                    done, pending = concurrent.futures.wait(pending, timeout=0.2)
                    self._drain(events, results)
                    for future in done:
                        future.result()  # a worker's own failure is a bug: it must not pass unseen
            except KeyboardInterrupt:
                with interrupts.held():
                    self.cancel.set()
                    pool.shutdown(wait=True, cancel_futures=True)  # the plays under way tear down
                    self._drain(events, results)
                raise
            pool.shutdown(wait=True)
            self._drain(events, results)
        return [assemble(s, plans[s.name], results, self.settings) for s in submissions]

    def _drain(self, events: queue.Queue, results: dict[str, PartResult]) -> None:
        while True:
            try:
                part, result = events.get_nowait()
            except queue.Empty:
                return
            if result is not None:
                results[part.key] = result
            self.on_part(part, result)

    def _play_group(self, parts: list[Part], events: queue.Queue) -> None:
        """One worker's plays on one lab (see the class), in an order that lets the lab serve as many of
        them as it can (`_next`)."""
        lab = None
        remaining = list(parts)
        try:
            while remaining:
                if self.cancel.is_set():
                    return
                part = remaining[0]
                try:
                    if self.fresh_labs:  # play() makes the lab, and tears it down
                        remaining.pop(0)
                        self.labs_created += 1
                    else:
                        lab, part = self._next(lab, remaining)
                    result = play(part, self.engine, self.settings, self.cancel, lab)
                    if result is not None and shows_race(result):
                        result = self._replay(part, result)
                except SocklabError as e:  # the engine failed this play: the student is not graded, with why
                    result = PartResult(part.key, "error", str(e), [], 0.0)
                    if lab is not None:
                        lab.teardown()
                        lab = None
                events.put((part, result))
                if result is None:
                    return
        finally:
            if lab is not None:
                lab.teardown()

    def _replay(self, part: Part, first: PartResult) -> PartResult | None:
        """The part played again, up to RACE_PLAYS times in all, each in a lab of its own and a folder of its
        own (`play-2`, ...; the first play's artifacts stay where they are), and the results combined (combine).
        It stops as soon as the plays so far decide every check (decided): the same majority as RACE_PLAYS
        plays, for fewer plays (a program that fails the same way every time costs one more, not two)."""
        again: list[PartResult] = []
        for n in range(2, RACE_PLAYS + 1):
            self.labs_created += 1
            result = play(dataclasses.replace(part, folder=part.folder / f"play-{n}"), self.engine, self.settings,
                          self.cancel)
            if result is None:
                return None
            again.append(result)
            if result.verdict == "error" or decided(first, again):
                break
        result = combine(first, again)
        store(part, result, replays=[f"play-{n}" for n in range(2, 2 + len(again))])
        return result

    def _next(self, lab: Lab | None, remaining: list[Part]) -> tuple[Lab, Part]:
        """The lab for the next play, and that play (taken out of `remaining`): `lab` cleared, and the first
        remaining play that the sockets the last one left cannot touch (leftovers_harmless); else a fresh
        lab, for the play that looks at the most hosts' sockets (it could follow the fewest others)."""
        if lab is not None:
            why = lab.clear()
            if why is None:
                part = next((p for p in remaining if leftovers_harmless(p.entry.scenario, lab.leftovers)), None)
                if part is not None:
                    remaining.remove(part)
                    lab.prepare(part.files)
                    return lab, part
            else:
                self.replaced.append(f"{remaining[0].label}: {why}")
            lab.teardown()
        part = max(remaining, key=lambda p: len(socket_hosts(p.entry.scenario)))  # (the first of the most)
        remaining.remove(part)
        self.labs_created += 1
        lab_id = f"{self.settings.session}-lab{next(self._labs)}"
        lab = Lab.reusable_lab(self.engine, self.settings.topology, lab_id,
                               run_labels(lab_id, purpose="grading", session=self.settings.session),
                               lambda ref: runner.exact_image(self.settings.images, ref), self.settings.limits)
        try:
            lab.create()
            why = lab.reset(part.files)
            if why is not None:
                raise SocklabError(f"a fresh lab is not clean: {why}")
        except BaseException:
            lab.teardown()
            raise
        return lab, part


def socket_hosts(scenario: Scenario) -> set[str]:
    """The hosts whose sockets a scenario looks at (its netstat steps)."""
    return {host for _, step in keyed_steps(scenario.steps) if (host := step.snapshot_host()) is not None}


def leftovers_harmless(scenario: Scenario, leftovers: dict[str, list[SocketRow]]) -> bool:
    """Whether the sockets an earlier play left in a lab (held by the kernel after its programs are gone:
    a client's TIME_WAIT lasts a minute, and nothing unprivileged can remove it) cannot change this
    scenario's play, which then gives what it would in a fresh lab: every one is in TIME_WAIT (it sends
    nothing unless spoken to; a FIN_WAIT or LAST_ACK would retransmit into the capture), and none holds a
    port the scenario names (a port it waits for, or an argument of a program it starts: a server's bind
    could be refused). A netstat snapshot leaves them out (lab.Lab.without_leftovers: a TIME_WAIT socket's
    addresses are its identity, and no new connection can take them while it lasts), so a scenario that
    counts the sockets of the same host sees what a fresh lab would show."""
    if not leftovers:
        return True
    ports = {port for _, step in keyed_steps(scenario.steps) for port in step.ports_named()}
    for rows in leftovers.values():
        for row in rows:
            port = row.local.rsplit(":", 1)[-1]
            if row.state != "TIME_WAIT" or not port.isdigit() or int(port) in ports:
                return False
    return True


#: Plays at once by default, per CPU of the engine. A play waits more than it computes (≈1 CPU-s of a play of
#: a few seconds: a grace period, the capture's quiet time, a wait that fails), so two per CPU keep them busy:
#: on 2 cores the sample class went at 63 plays a minute with -j 2, 86 with -j 3 and 100 with -j 4, with the
#: same grades (README, Performance). Never more than MAX_DEFAULT_JOBS, nor than the engine's memory holds if
#: every host of every lab used all it may.
JOBS_PER_CPU, MAX_DEFAULT_JOBS = 2, 16


def default_jobs(cpus: int, memory: int, topology: Topology, limits: runner.Limits) -> int:
    """-j's default for an engine with `cpus` CPUs and `memory` bytes (0: unknown)."""
    from ..lab.capture import MEMORY as CAPTURE_MEMORY

    lab = len(topology.hosts) * memory_bytes(limits.memory) + memory_bytes(CAPTURE_MEMORY)
    by_memory = memory // lab if memory > 0 else MAX_DEFAULT_JOBS
    return max(1, min(JOBS_PER_CPU * max(1, cpus), by_memory, MAX_DEFAULT_JOBS))


def memory_bytes(size: str) -> int:
    """Docker's memory notation ('256m', '1g', '512k', '1024') in bytes."""
    size = size.strip().lower()
    scale = {"k": 2**10, "m": 2**20, "g": 2**30}.get(size[-1:], 1)
    return int(size[:-1] if scale > 1 else size) * scale


def _spread(groups: list[list[Part]], jobs: int) -> list[list[Part]]:
    """Students' groups of plays, the largest cut in two while there are fewer groups than workers (one
    student checked with -j 2 still plays two at once)."""
    groups = [g for g in groups if g]
    while len(groups) < jobs:
        largest = max(groups, key=len, default=[])
        if len(largest) < 2:
            break
        groups.remove(largest)
        half = len(largest) // 2
        groups += [largest[:half], largest[half:]]
    return groups
