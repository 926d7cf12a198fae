"""The judges of the check kinds: one pure function per kind (JUDGES, keyed by the kind's record in
checkkinds.py), from the check, the scenario and the evidence of its run to whether it passed and why, in
words a student understands. What they share is judging.py's. A new kind of check is its record in
checkkinds.py, its judge here and its section in scenarios/README.md (a test holds the three together).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model.checkkinds import CHECK_KINDS, CaptureCheck, ExitCheck, LogCheck, SocketCheck, Spec
from ..evidence import Evidence, Snapshot
from ..base.text import clip
from .judging import (LIST_LIMIT, capture_doubt, describe_status, first_failure, log_match, log_sequence,
                      noun, output_of, plural, program_missing, program_output, row_matches, row_text,
                      scenario_expand, step_ref, why_not_done)
from ..model.scenario import Scenario
from ..model.steplist import keyed_steps
from ..model.stepvalues import NONZERO, expected_status, status_matches

#: the start of the evidence of a check that earned nothing because a check it requires failed
NOT_EARNED = "Not earned: "


def judge_log(check: LogCheck, scenario: Scenario, evidence: Evidence) -> tuple[bool, str]:
    out = output_of(scenario, evidence, check)
    if isinstance(out, str):
        return False, out
    if check.before is not None:
        snap = evidence.snapshots.get(check.before)
        if snap is None:
            return False, (f"This check counts only what was said before snapshot '{check.before}', and that "
                           "snapshot was not taken: " + why_not_done(
                               scenario, evidence, lambda s: s.snapshot_name() == check.before))
        out = out.before(snap)
    if check.pattern is not None:
        return log_match(evidence, check.pattern, check.bounds, out)
    return log_sequence(evidence, check.sequence, out)


def judge_socket(check: SocketCheck, scenario: Scenario, evidence: Evidence) -> tuple[bool, str]:
    snap: Snapshot | None = evidence.snapshots.get(check.snapshot)
    if snap is None:
        return False, f"snapshot '{check.snapshot}' was not taken: " + why_not_done(
            scenario, evidence, lambda s: s.snapshot_name() == check.snapshot)
    local = scenario_expand(check.local, evidence, regex=False) if check.local is not None else None
    remote = scenario_expand(check.remote, evidence, regex=False) if check.remote is not None else None
    wanted = ", ".join(f"{k} {v}" for k, v in (("proto", check.proto), ("local", local), ("remote", remote),
                                               ("state", check.state)) if v is not None) or "any"
    hits = [r for r in snap.rows if row_matches(check, local, remote, r)]
    n = len(hits)
    source = f"snapshot '{snap.name}' (netstat -tuna on {snap.host} at {snap.t:.1f} s)"
    if check.bounds.accepts(n):
        if n == 0:
            return True, f"No row of {source} has {wanted}, as expected ({check.bounds})."
        rows = [f"  {row_text(r)}" for r in hits[:LIST_LIMIT]]
        return True, "\n".join([f"{plural(n, 'row')} of {source} matched ({wanted}):", *rows])
    head = f"Expected {check.bounds} {noun(check.bounds, 'row')} with {wanted} in {source}; found {n}."
    if not snap.rows:
        return False, head + "\nThe snapshot has no socket rows at all."
    shown = snap.rows[:12]
    rows = [f"  {'→' if r in hits else ' '} {row_text(r)}" for r in shown]
    more = [f"    … and {len(snap.rows) - len(shown)} more rows"] if len(snap.rows) > len(shown) else []
    mark = " (→ marks the matching ones)" if hits else ""
    return False, "\n".join([head, f"Its {plural(len(snap.rows), 'row')}{mark}:", *rows, *more])


def judge_capture(check: CaptureCheck, scenario: Scenario, evidence: Evidence) -> tuple[bool, str]:
    cap = evidence.capture
    flt = scenario_expand(check.filter, evidence, regex=False)
    if cap.pcap is None:
        failed = first_failure(evidence)
        reason = (cap.problem or evidence.error
                  or (f"{step_ref(failed)} failed: {failed.message}" if failed else "no pcap was recorded"))
        return False, f"There is no capture to count frames in: {reason}"
    if flt in cap.errors:
        return False, f"tshark refused the display filter [{clip(flt)}]: {clip(cap.errors[flt], 600)}"
    doubt = capture_doubt(cap)
    if doubt:
        return False, doubt[0].upper() + doubt[1:] + "."
    if flt not in cap.counts:
        return False, f"The display filter [{clip(flt)}] was not counted (a fault of the runner)."
    n = cap.counts[flt]
    samples = [f"  {clip(s)}" for s in cap.samples.get(flt, ())[:LIST_LIMIT]]
    if samples and n > len(samples):
        samples.append(f"  … and {n - len(samples)} more")
    of = f" (of {cap.packets} in the capture)" if cap.packets is not None else ""
    if check.bounds.accepts(n):
        if n == 0:
            return True, f"No frame matched [{clip(flt)}], as expected ({check.bounds})."
        return True, "\n".join([f"{plural(n, 'frame')} matched{of}:", *samples])
    head = (f"Expected {check.bounds} {noun(check.bounds, 'frame')} matching [{clip(flt)}]; "
            f"found {n}{of}.")
    body = ["The matching frames:", *samples] if samples else []
    return False, "\n".join([head, *body])


def judge_exit(check: ExitCheck, scenario: Scenario, evidence: Evidence) -> tuple[bool, str]:
    prog = evidence.programs.get(check.program)
    if prog is None:
        return False, program_missing(scenario, evidence, check.program)
    said = f"{prog.id} {describe_status(prog.exit_status)}"
    missed = signal_missed(check, scenario, evidence)
    if missed is not None:
        return False, f"{NOT_EARNED}{missed}\n{said}."
    if check.status is None and prog.exit_status is not None and prog.stopped is None:
        return True, said + "."
    if check.status == NONZERO and status_matches(NONZERO, prog.exit_status) and prog.stopped is None:
        return True, said + "."
    if isinstance(check.status, int) and prog.exit_status == check.status:
        return True, said + "."
    expected = "it to end by itself" if check.status is None else expected_status(check.status)
    if prog.stopped and prog.stopped != "teardown":
        said += f" (stopped with {prog.stopped})"
    out = program_output(prog, "both")
    return False, "\n".join([f"Expected {expected}; {said}.", *out.cut(), *out.tail()])


def signal_missed(check: ExitCheck, scenario: Scenario, evidence: Evidence) -> str | None:
    """On a program the scenario signals, an exit status says how it ends on that signal (a person's
    Ctrl-C): it counts only if the program was still running when the last such signal came. Why not, or
    None (it was, or the scenario signals it nowhere)."""
    sent = [(key, signal) for key, step in keyed_steps(scenario.steps)
            for program, signal in step.signals() if program == check.program]
    if not sent:
        return None
    key, signal = sent[-1]
    result = next((r for r in evidence.steps if r.key == key), None)
    if result is not None and result.status == "ok":
        return None
    how = f"{signal} (Ctrl-C)" if signal == "SIGINT" else signal
    why = result.message if result is not None and result.message else "the run did not get that far"
    return (f"this check is about how {check.program} ends on {how}, and {check.program} was not running "
            f"when {signal} was to be sent ({why}).")


#: The judge of each kind of check.
JUDGES: dict[type, Callable[[Any, Scenario, Evidence], tuple[bool, str]]] = {
    LogCheck: judge_log, SocketCheck: judge_socket, CaptureCheck: judge_capture, ExitCheck: judge_exit}
assert set(JUDGES) == set(CHECK_KINDS.values()), "every kind of check has its judge"


def judge(spec: Spec, scenario: Scenario, evidence: Evidence) -> tuple[bool, str]:
    """Whether a check of any kind passed on this evidence, and its evidence text (not yet bounded)."""
    return JUDGES[type(spec)](spec, scenario, evidence)
