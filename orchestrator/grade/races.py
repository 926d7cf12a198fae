"""A play whose outcome may have depended on timing that only the student's program decides is played again
(grading.Grader), and its plays combined into one result: the rule is here. Two things show such timing: the
sandbox's limits stopped the program (what it got done before a kill depends on how fast it got there), and the
program ran several threads at once (the order the kernel runs them in is its own, and a program whose threads
share a counter without a lock numbers its clients as that order has it). Every race the lab itself controls is
removed by design instead (docs/grading.md, "The same submission gets the same points every time").
"""
from __future__ import annotations

from ..evidence import Evidence
from .records import PartResult


#: How many times a play is played when its first play showed a race between the student's program and the
#: lab's limits or between its own threads (shows_race), and the rule that decides (combine): a check earns its
#: points if it passed in most of them (2 of 3), what the program does most of the time, not what it did once.
#: (Why a majority and not "in every play": a check that passes 9 times in 10 would pass all three plays only
#: 73% of the time, more variable than one play; by a majority, 97%. A majority moves every outcome towards
#: always or never.)
RACE_PLAYS = 3

#: the words for each cause, completing "played 3 times, because ..."
LIMITS_RACE = ("the lab's limits stopped your program (a process killed for memory, or forks refused), and what "
               "it got done before that moment depends on timing")
THREADS_RACE = ("your program ran several threads at once, and the order in which the kernel runs them can differ "
                "from one play to the next")


def race_in(evidence: Evidence) -> str:
    """Why the outcome of a play may have depended on timing that the student's program decides, in words
    ("" if nothing showed it): the sandbox's limits stopped a process of the play (killed for memory, forks
    refused), or a program of the student's was seen with more than one thread at once. (An output cut is no
    race: it stops nothing the program does, and what it printed is read to the end at the same pace,
    Run.busy; what is kept of it is the same every time. A program the run merely had to end is none either:
    a program ignoring Ctrl-C does so every time.)"""
    if any(lim.oom_kills or lim.forks_refused for lim in evidence.limits.values()):
        return LIMITS_RACE
    if any(p.threads > 1 for p in evidence.programs.values() if p.source == "submission"):
        return THREADS_RACE
    return ""


def shows_race(result: PartResult) -> bool:
    """Whether a play is played again: a check judging the student's program failed in it, and its outcome may
    have depended on timing the program decides (race_in). A play whose every check passed is kept as it is
    (the program did all it was asked: more plays could only take points); a play the lab could not carry out
    is an error, not a race."""
    return result.verdict != "error" and bool(result.race)


def decided(first: PartResult, again: list[PartResult]) -> bool:
    """Whether the plays so far decide every check's majority of RACE_PLAYS, whatever the plays still to come:
    each check passed, or failed, in more than half of RACE_PLAYS plays already."""
    plays = [first, *again]
    for check in first.checks:
        passed = _passes(_outcomes(plays, check["name"]))
        if passed * 2 <= RACE_PLAYS and (len(plays) - passed) * 2 <= RACE_PLAYS:
            return False
    return True


def _outcomes(plays: list[PartResult], name: str) -> list[dict | None]:
    """The check called `name` in each of `plays` (None where a play has no such check)."""
    return [next((c for c in r.checks if c["name"] == name), None) for r in plays]


def _passes(outcomes: list[dict | None]) -> int:
    """In how many of a check's `outcomes` it passed."""
    return sum(1 for c in outcomes if c is not None and c["passed"])


def combine(first: PartResult, again: list[PartResult]) -> PartResult:
    """One result of several plays of one part (RACE_PLAYS): each check passes if it passed in most of the
    plays; one whose outcome varied says so, with the evidence of a play that went the way the majority did."""
    plays = [first, *again]
    if any(r.verdict == "error" for r in again):  # the lab failed a replay: that student is graded again later
        return next(r for r in again if r.verdict == "error")
    checks_ = []
    for check in first.checks:
        found = _outcomes(plays, check["name"])
        passed = _passes(found)
        if passed in (0, len(plays)):
            checks_.append(check)
            continue
        majority = passed * 2 > len(plays)
        shown = next(c for c in found if c is not None and c["passed"] == majority)
        way = "passed" if majority else "failed"
        checks_.append(dict(shown, evidence=(
            f"The outcome varied: this check passed in {passed} of {len(plays)} plays of this scenario, which "
            f"was played {len(plays)} times because {first.race or 'its outcome may have depended on timing'}. A check "
            "counts if it passed in most of the plays. A play "
            f"where it {way}:\n" + shown["evidence"])))
    stopped = list(dict.fromkeys(x for r in plays for x in r.stopped))
    verdict = "pass" if all(c["passed"] for c in checks_) and first.verdict == "pass" else "fail"
    return PartResult(first.key, verdict, None, checks_, round(sum(r.seconds for r in plays), 3),
                      stopped=stopped, plays=len(plays), race=first.race)
