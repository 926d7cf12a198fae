"""Checks: pure functions from a scenario and the evidence of its run to one Outcome per check. Each kind of
check is judged by its judge (judges.py, beside what judging uses: judging.py); this module makes the
outcomes, ties a check to the checks it `requires`, and makes a run's verdict and exit code.

Every Outcome carries `evidence`: a short text that a student and an instructor can act on. For a pass
it says what was found; for a failure, what was expected, what was found and the material around it
(the program's last lines, the snapshot's rows, the matching frames, the exit status, or the failed
step that explains why the subject of the check does not exist). It is bounded (judging.EVIDENCE_LIMIT).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..base.errors import EXIT_CHECKS_FAILED, EXIT_ENVIRONMENT, EXIT_INVALID_INPUT, EXIT_OK
from ..evidence import Evidence
from .judges import NOT_EARNED, judge
from .judging import bounded

if TYPE_CHECKING:  # (the model: below this layer)
    from ..model.checkkinds import Check
    from ..model.scenario import Scenario

Kind = Literal["log", "socket", "capture", "exit"]
Verdict = Literal["pass", "fail", "error"]


@dataclass(frozen=True)
class Outcome:
    """The result of one check. `awarded` is `points` if it passed, else 0; `where` is the check's
    place in the scenario file (e.g. 'scenarios/tcp.yaml:29 (checks[0])')."""

    name: str
    kind: Kind  # 'log' | 'socket' | 'capture' | 'exit'
    points: float
    awarded: float
    passed: bool
    evidence: str
    where: str


# ---- the entry points ----------------------------------------------------------------------------


def evaluate(scenario: Scenario, evidence: Evidence) -> list[Outcome]:
    """One Outcome per check of the scenario, in the scenario's order. A check that `requires` others is
    judged after them, and passes only if they passed too (the loader rules out a circle)."""
    by_name = {c.name: c for c in scenario.checks}
    done: dict[str, Outcome] = {}

    def outcome(check: Check) -> Outcome:
        if check.name not in done:
            done[check.name] = evaluate_check(scenario, evidence, check,
                                              [outcome(by_name[n]) for n in check.requires])
        return done[check.name]

    return [outcome(check) for check in scenario.checks]


def evaluate_check(scenario: Scenario, evidence: Evidence, check: Check,
                   required: Sequence[Outcome] = ()) -> Outcome:
    """The Outcome of one check, given the outcomes of the checks it requires (in its `requires` order)."""
    passed, text = judge(check.spec, scenario, evidence)  # (judges.py: one judge per kind)
    missed = next((o for o in required if not o.passed), None)
    if missed is not None:
        passed, text = False, not_earned(missed, text if passed else None)
    return Outcome(name=check.name, kind=check.spec.KIND, points=check.points,
                   awarded=check.points if passed else 0.0, passed=passed,
                   evidence=bounded(text), where=str(check.where))


def not_earned(missed: Outcome, alone: str | None) -> str:
    """Why a check earned nothing because a check it requires failed: the behaviour it is about did not
    happen. `alone`: its own evidence, if on its own it would have passed (shown, so nobody wonders)."""
    why = missed.evidence
    if why.startswith(NOT_EARNED):  # that one failed for want of another: say the first thing that was missing
        why = why[len(NOT_EARNED):]
    first, _, rest = why.partition("\n")
    lines = [f"{NOT_EARNED}this counts only for a program that did what \"{missed.name}\" looks for, and that did "
             f"not happen: {first}"]
    if rest:
        lines.append(rest)
    if alone is not None:
        on_its_own = alone.partition("\n")[0]
        lines.append(f"(On its own this check would have passed: {on_its_own})")
    return "\n".join(lines)


def verdict(evidence: Evidence, outcomes: Iterable[Outcome]) -> Verdict:
    """'error' when the run itself went wrong (evidence.error), the capture has a problem that is not
    the programs' fault (capture.problem) or a display filter of the scenario is invalid (capture.errors:
    the scenario is at fault, not the programs); else 'fail' if any check or any step failed; else 'pass'.
    A capture cut short by what the programs sent (capture.overflow) is theirs: its checks fail, the
    run is no error."""
    if evidence.error or evidence.capture.problem or evidence.capture.errors:
        return "error"
    if evidence.step_failures() or any(not o.passed for o in outcomes):
        return "fail"
    return "pass"


_EXIT_CODES: dict[str, int] = {"pass": EXIT_OK, "fail": EXIT_CHECKS_FAILED, "error": EXIT_ENVIRONMENT}


def exit_code_for(verdict: str) -> int:
    """The process exit code for a verdict: pass 0, fail 1, error 3."""
    try:
        return _EXIT_CODES[verdict]
    except KeyError:
        raise ValueError(f"unknown verdict {verdict!r} (expected one of {', '.join(_EXIT_CODES)})") from None


def exit_code(evidence: Evidence, verdict: str) -> int:
    """The exit code of one run: a display filter tshark refused is the scenario's mistake, invalid input
    (2), not the programs'; otherwise the verdict's (exit_code_for)."""
    return EXIT_INVALID_INPUT if evidence.capture.errors else exit_code_for(verdict)


