"""A play whose outcome may have depended on when the sandbox's limits stopped the student's program is played
again (grading.Grader), and its plays combined into one result: the rule is here.
"""
from __future__ import annotations

from .records import PartResult


#: How many times a play is played when its first play showed a race between the student's program and the
#: lab's limits (shows_race), and the rule that decides (combine): a check earns its points if it passed in
#: most of them (2 of 3), what the program does most of the time, not what it did once. (Why a majority and
#: not "in every play": a check that passes 9 times in 10 would pass all three plays only 73% of the time,
#: more variable than one play; by a majority, 97%. A majority moves every outcome towards always or never.)
RACE_PLAYS = 3


def shows_race(result: PartResult) -> bool:
    """Whether a play's outcome may have depended on timing that the student's program decides: the sandbox's
    limits stopped it (a process killed for memory, forks refused) and a check judging it
    failed: what came before and after that moment depends on how fast the program reached it. A play whose
    every check passed is kept as it is (the program did all it was asked, the limits notwithstanding: more
    plays could only take points), and one the run merely had to end is no race (a program ignoring Ctrl-C
    does so every time). A race the lab controls is
    removed by design (README, Grading); a play the lab could not carry out is an error, not a race."""
    return result.verdict != "error" and result.raced


def combine(first: PartResult, again: list[PartResult]) -> PartResult:
    """One result of several plays of one part (RACE_PLAYS): each check passes if it passed in most of the
    plays; one whose outcome varied says so, with the evidence of a play that went the way the majority did."""
    plays = [first, *again]
    if any(r.verdict == "error" for r in again):  # the lab failed a replay: that student is graded again later
        return next(r for r in again if r.verdict == "error")
    checks_ = []
    for check in first.checks:
        found = [next((c for c in r.checks if c["name"] == check["name"]), None) for r in plays]
        passed = sum(1 for c in found if c is not None and c["passed"])
        if passed in (0, len(plays)):
            checks_.append(check)
            continue
        majority = passed * 2 > len(plays)
        shown = next(c for c in found if c is not None and c["passed"] == majority)
        way = "passed" if majority else "failed"
        checks_.append(dict(shown, evidence=(
            f"The outcome varied: this check passed in {passed} of {len(plays)} plays of this scenario, which "
            f"was played {len(plays)} times because your program met the lab's limits (what happens before and "
            "after that moment depends on timing). A check counts if it passed in most of the plays. A play "
            f"where it {way}:\n" + shown["evidence"])))
    stopped = list(dict.fromkeys(x for r in plays for x in r.stopped))
    verdict = "pass" if all(c["passed"] for c in checks_) and first.verdict == "pass" else "fail"
    return PartResult(first.key, verdict, None, checks_, round(sum(r.seconds for r in plays), 3),
                      stopped=stopped, plays=len(plays))
