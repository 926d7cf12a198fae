"""Every point is earned by something the program did (README, Grading; scenarios/README.md, requires).

Each scenario of the default suite, judged on evidence of a play in which the student's program did nothing:
it ended at once (exit 0, or exit 1 with a traceback, as `pass`, `sys.exit(1)` or a crash would), or it slept
until the run's Ctrl-C ended it with Python's KeyboardInterrupt traceback. The lab's programs could not do
their part with it; every display filter matches nothing, every snapshot is empty: what a play of such a
program shows. Every check judging that program must earn 0 points, and the absences and exit statuses that
would pass on their own must say why they earned nothing ("Not earned: ...").

Pure: the scenarios are read from scenarios/, the evidence is made here, no Docker.
"""
from __future__ import annotations

import dataclasses

import pytest

from orchestrator.judge import checks, judging
from orchestrator.model.steplist import keyed_steps
from orchestrator.evidence import CaptureEvidence, Evidence, Line, ProgramEvidence, Snapshot, StepResult
from orchestrator.model.scenario import Netstat, Signal, WaitExit, WaitLog, WaitPort, program_file
from orchestrator.model.suite import DEFAULT_SUITE, load_suite
from orchestrator.model.topology import load_topology

TOPOLOGY = load_topology(DEFAULT_SUITE.parent.parent / "compose.yaml")
SUITE = load_suite(DEFAULT_SUITE, TOPOLOGY)
ADDRESSES = {"server": "10.78.3.10", "client": "10.78.3.20"}
TRACEBACK = ("Traceback (most recent call last):", '  File "/home/student/programs/x.py", line 3, in <module>',
             "KeyboardInterrupt")

#: how the student's program "does nothing": (its exit status, its lines, whether it still ran at each Ctrl-C)
NOTHING = {
    "pass": (0, (), False),                                          # an empty file, `pass`, SystemExit(0)
    "exit 1": (1, (), False),                                        # sys.exit(1)
    "crash": (1, TRACEBACK[:2] + ("NameError: name 'x' is not defined",), False),
    "sleeper": (1, TRACEBACK, True),                                 # time.sleep(3600), ended by Ctrl-C
}


def plays() -> list:
    return [pytest.param(entry.scenario, program, how, id=f"{entry.scenario.name}-{program}-{how}")
            for entry in SUITE.entries for program in entry.scenario.needs() for how in NOTHING]


def evidence_of_nothing(scenario, program: str, how: str) -> Evidence:
    """A play of `scenario` in which every run of `program` (the student's file) did nothing, the `how` way."""
    status, lines, alive = NOTHING[how]
    starts = scenario.programs()
    theirs = {pid for pid, s in starts.items() if program_file(s.argv) == program}
    programs = {}
    for pid, start in starts.items():
        if pid in theirs:
            programs[pid] = ProgramEvidence(pid, start.host, start.argv,
                                            tuple(Line(0.2, "stderr", t) for t in lines), status, 0.1, 0.2,
                                            source="submission")
        else:  # the lab's program: it could not do its part with a program that did nothing
            programs[pid] = ProgramEvidence(pid, start.host, start.argv, (), 1, 0.1, 0.3, source="reference")
    results, snapshots = [], {}
    for i, (key, step) in enumerate(keyed_steps(scenario.steps)):
        status_, message = "ok", ""
        if isinstance(step, Signal) and step.program in theirs and not alive:
            status_, message = "failed", f"{step.program} is not running any more (exit status {status}); " \
                                         f"cannot send it {step.signal}"
        elif isinstance(step, (WaitLog, WaitPort)) or (isinstance(step, WaitExit) and step.program in theirs
                                                        and step.status not in (None, status)):
            status_, message = "failed", "what was awaited never came"
        elif isinstance(step, Netstat):
            snapshots[step.name] = Snapshot(step.name, step.host, 0.5 + i / 100, (), "")
        results.append(StepResult(key, None, step.ACTION, step.describe(), status_, message, 0.1 * i, 0.05))
    capture = CaptureEvidence(pcap="capture.pcap", packets=0, tcpdump_captured=0, tcpdump_dropped=0,
                              counts={judging.scenario_expand(f, _ev(), regex=False): 0
                                      for f in scenario.capture_filters()})
    return Evidence(run_id="r", scenario=scenario.name, scenario_path=scenario.path, started_at="2026-12-01T00:00:00Z",
                    addresses=dict(ADDRESSES), programs=programs, snapshots=snapshots, capture=capture,
                    steps=tuple(results))


def _ev() -> Evidence:
    return Evidence("r", "s", "s.yaml", "", dict(ADDRESSES), {}, {}, CaptureEvidence(None, None, None, None), ())


def judged_file(scenario, check) -> str:
    start = scenario.programs()[check.judges]
    return program_file(start.argv) or start.argv[0]


@pytest.mark.parametrize("scenario, program, how", plays())
def test_a_program_that_does_nothing_earns_nothing(scenario, program, how):
    ev = evidence_of_nothing(scenario, program, how)
    outcomes = {o.name: o for o in checks.evaluate(scenario, ev)}
    mine = [c for c in scenario.checks if judged_file(scenario, c) == program and c.points > 0]
    earned = [(c.name, outcomes[c.name].evidence) for c in mine if outcomes[c.name].awarded]
    assert earned == []


def test_what_would_pass_on_its_own_says_why_it_earned_nothing():
    """Of every kind that can be an absence or an exit status, some check of the suite would pass on its own
    for a program that did nothing: requires (or the signal, for an exit status) is what makes it earn 0, and
    its evidence says so in words a student understands."""
    kinds = set()
    for entry in SUITE.entries:
        for program in entry.scenario.needs():
            ev = evidence_of_nothing(entry.scenario, program, "pass")
            for check, o in zip(entry.scenario.checks, checks.evaluate(entry.scenario, ev)):
                if judged_file(entry.scenario, check) != program or not o.evidence.startswith("Not earned: "):
                    continue
                kinds.add(o.kind)
                assert not o.passed and o.awarded == 0
    assert kinds == {"log", "socket", "capture", "exit"}


def test_the_reason_names_the_behaviour_that_did_not_happen():
    tcp = next(e.scenario for e in SUITE.entries if e.scenario.name == "tcp-exchange")
    ev = evidence_of_nothing(tcp, "server_tcp.py", "pass")
    outcomes = {o.name: o for o in checks.evaluate(tcp, ev)}
    resets = outcomes["the server resets nothing"].evidence.split("\n")
    assert resets[0] == ('Not earned: this counts only for a program that did what "each answer travels server to '
                         'client" looks for, and that did not happen: Expected exactly 2 frames matching '
                         '[ip.src==10.78.3.10 && tcp.srcport==5000 && tcp.payload contains "Server message: I '
                         'received" && !tcp.analysis.retransmission]; found 0 (of 0 in the capture).')
    assert resets[-1] == ("(On its own this check would have passed: No frame matched [tcp.flags.reset==1 && "
                          "ip.src==10.78.3.10 && tcp.srcport==5000], as expected (exactly 0).)")
    status = outcomes["server exit status is 0"].evidence.split("\n")
    assert status == ["Not earned: this check is about how server ends on SIGINT (Ctrl-C), and server was not "
                      "running when SIGINT was to be sent (server is not running any more (exit status 0); "
                      "cannot send it SIGINT).", "server exited with status 0."]


def test_a_program_that_did_the_behaviour_keeps_its_points():
    """requires takes nothing from a program that did what the check is about: the sleeper's Ctrl-C came while
    it ran, so its exit status is judged (and fails: 1 is not 0); a server that answered keeps 'resets nothing'."""
    tcp = next(e.scenario for e in SUITE.entries if e.scenario.name == "tcp-exchange")
    ev = evidence_of_nothing(tcp, "server_tcp.py", "sleeper")
    o = {o.name: o for o in checks.evaluate(tcp, ev)}["server exit status is 0"]
    assert o.evidence.startswith("Expected exit status 0; server exited with status 1.")
    answers = next(f for f in ev.capture.counts if "Server message" in f)
    ev = dataclasses.replace(ev, capture=dataclasses.replace(ev.capture, counts={**ev.capture.counts, answers: 2}))
    o = {o.name: o for o in checks.evaluate(tcp, ev)}["the server resets nothing"]
    assert o.passed and o.awarded == 1
