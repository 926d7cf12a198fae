"""Grading a class against the fake engine: the plays planned, each check judged in the play of the program it
judges (a broken client never costs the server), missing programs, the cache, and what is written."""
from __future__ import annotations

import dataclasses
import csv
import io
import json
import xml.etree.ElementTree as ET
import pytest

from orchestrator.grade import gradebook, grading, races, records
from orchestrator.lab import impair
from orchestrator.base.errors import SuiteError
from orchestrator.evidence import SocketRow
from orchestrator.grade.submission import Submission
from orchestrator.model.suite import load_suite

from tests.support import ROOT
from tests.support.grading import SCENARIO, TOPOLOGY, settings_for

from .fake_engine import FakeEngine


def server_tcp(proc, count=len):
    proc.out("Socket is listening")
    proc.bind("tcp", 5000)
    proc.wait_signal()
    return 0


def client_tcp(proc, count=len):
    proc.out("Waiting for connection response")
    while True:
        kind, value = proc.next()
        if kind != "line":
            return 130
        proc.out(f"Server message: I received {count(value.encode()) if count is not len else len(value)} "
                 f"chars: {value}")


def mute_client(proc):  # a broken client: prints nothing, ends on Ctrl-C
    proc.wait_signal()
    return 130


@pytest.fixture
def suite(tmp_path):
    (tmp_path / "echo.yaml").write_text(SCENARIO)
    (tmp_path / "suite.yaml").write_text("name: test\ndescription: one scenario\nscenarios:\n"
                                         "  - {scenario: echo.yaml, weight: 2}\n")
    return load_suite(tmp_path / "suite.yaml", TOPOLOGY)


def student(name: str, *programs: str, problems=None) -> Submission:
    return Submission(name=name, path=f"/class/{name}", files={p: f"# {name}'s {p}\n".encode() for p in programs},
                      problems=problems or {})


def engine_for(**student_behaviours) -> FakeEngine:
    behaviours = {"server_tcp.py": server_tcp, "client_tcp.py": client_tcp,
                  **{f"student:{k}.py": v for k, v in student_behaviours.items()}}
    return FakeEngine(behaviours, tshark_output="total\t10\ncount\t1\t1\n")


def grade(engine, suite, out, *subs, **kw):
    """Grade with the fake engine, one play at a time (the fake plays one run at a time; plays in parallel
    are the integration tests')."""
    return grading.Grader(engine, settings_for(suite, out), jobs=1, **kw).grade(list(subs))


def checks_of(g: records.StudentGrade) -> dict[str, dict]:
    return {c["name"]: c for c in g.scenarios[0].checks}


def test_one_play_per_program_the_scenario_needs_and_the_student_handed_in(suite, tmp_path):
    parts = grading.plan(student("ana", "server_tcp.py", "client_tcp.py", "helper.py"), settings_for(suite, tmp_path))
    assert [p.program for p in parts] == ["server_tcp.py", "client_tcp.py"]
    assert set(parts[0].files) == {"server_tcp.py", "helper.py"}  # the other program is the lab's
    assert parts[0].key != parts[1].key and parts[0].folder != parts[1].folder
    assert [p.program for p in grading.plan(student("bo", "client_tcp.py"), settings_for(suite, tmp_path))] == [
        "client_tcp.py"]


def test_a_broken_client_costs_its_own_checks_and_never_the_servers(suite, tmp_path):
    [g] = grade(engine_for(client_tcp=mute_client), suite, tmp_path, student("ana", "server_tcp.py", "client_tcp.py"))
    checks = checks_of(g)
    # the server's checks were judged with the lab's client: full marks
    assert checks["the server listens"]["passed"] and checks["the answer counts characters"]["passed"]
    assert checks["the answer counts characters"]["judges"] == "server_tcp.py"
    # the client's were judged with the lab's server: its own failure
    assert not checks["the client says it waits"]["passed"]
    assert checks["a SYN"]["passed"] and checks["a SYN"]["judges"] == "client_tcp.py"
    assert g.status == "graded" and g.total == 2 * 4 and g.maximum == 2 * 5  # weight 2


def test_a_missing_program_fails_exactly_its_checks_and_is_never_replaced(suite, tmp_path):
    engine = engine_for()
    [g] = grade(engine, suite, tmp_path, student("bo", "server_tcp.py", problems={
        "client_tcp.py": "client_tcp.py not submitted"}))
    checks = checks_of(g)
    assert checks["the server listens"]["passed"] and checks["the answer counts characters"]["passed"]
    for name in ("the client says it waits", "a SYN"):
        assert not checks[name]["passed"] and checks[name]["evidence"] == "client_tcp.py not submitted"
    assert g.total == 2 * 3
    # only the server's play happened: no client_tcp.py was run from the submission's folder
    from_submission = [s.command[6] for s in engine.sessions.values()
                       if s.workdir == "/opt/socklab/submission"]
    assert from_submission == ["server_tcp.py"]


def test_a_second_grading_re_uses_every_play_whose_inputs_did_not_change(suite, tmp_path):
    ana = student("ana", "server_tcp.py", "client_tcp.py")
    first = engine_for()
    [g1] = grade(first, suite, tmp_path, ana)
    second = engine_for()
    [g2] = grade(second, suite, tmp_path, ana)
    assert second.containers == {} and not second.sessions  # nothing played again
    assert checks_of(g1) == checks_of(g2) and g1.total == g2.total
    changed = student("ana", "server_tcp.py", "client_tcp.py")
    changed.files["client_tcp.py"] = b"# changed\n"
    third = engine_for()
    grade(third, suite, tmp_path, changed)
    from_submission = [s.command[6] for s in third.sessions.values() if s.workdir == "/opt/socklab/submission"]
    assert from_submission == ["client_tcp.py"]  # the client's play again; the server's re-used


def test_what_a_grading_writes(suite, tmp_path):
    grades = grade(engine_for(client_tcp=mute_client), suite, tmp_path / "cache",
                   student("ana", "server_tcp.py", "client_tcp.py"),
                   student("bo", "server_tcp.py", problems={"client_tcp.py": "client_tcp.py not submitted"}))
    settings = settings_for(suite, tmp_path / "out")
    gradebook.write_all(grades, settings, {"session": "s"})
    rows = list(csv.reader(io.StringIO((tmp_path / "out" / "grades.csv").read_text())))
    assert rows[0] == ["student", "identifier", "late", "total", "maximum", "echo", "status", "notes"]
    assert rows[1] == ["ana", "", "", "8", "10", "8", "graded", ""]
    assert rows[2] == ["bo", "", "", "6", "10", "6", "graded", "client_tcp.py not submitted"]
    results = json.loads((tmp_path / "out" / "students" / "bo" / "results.json").read_text())
    assert (results["score"], results["max_score"], len(results["tests"])) == (6, 10, 4)
    assert results["tests"][2] == {"name": "echo: the client says it waits", "score": 0, "max_score": 2,
                                   "status": "failed", "output": "client_tcp.py not submitted",
                                   "visibility": "visible"}
    suite_xml = ET.fromstring((tmp_path / "out" / "students" / "ana" / "junit.xml").read_text())
    assert suite_xml.find("testsuite").get("failures") == "1"
    text = (tmp_path / "out" / "students" / "bo" / "summary.txt").read_text()
    assert text.startswith("bo: 6 of 10 points (test)") and "✗ client_tcp.py not submitted" in text
    assert json.loads((tmp_path / "out" / "manifest.json").read_text()) == {"session": "s"}


def test_a_suite_holds_only_what_students_hand_in(tmp_path):
    (tmp_path / "names.yaml").write_text((ROOT / "scenarios" / "names.yaml").read_text())
    (tmp_path / "suite.yaml").write_text("name: t\ndescription: d\nscenarios:\n  - {scenario: names.yaml}\n")
    with pytest.raises(SuiteError, match="runs hostinfo.py, which the assignment does not ask for"):
        load_suite(tmp_path / "suite.yaml", TOPOLOGY)
    (tmp_path / "suite.yaml").write_text("name: t\ndescription: d\nscenarios:\n  - {scenario: nothing.yaml}\n")
    with pytest.raises(SuiteError, match="no scenario file nothing.yaml beside the suite"):
        load_suite(tmp_path / "suite.yaml", TOPOLOGY)


def test_folder_names_stay_apart():
    assert grading.folder_name("ana") == "ana"
    assert grading.folder_name("Ana María") != grading.folder_name("Ana-María")
    assert "/" not in grading.folder_name("../etc") and not grading.folder_name("../etc").startswith(".")


def created_labs(engine: FakeEngine) -> int:
    return len(engine.leases) // 3  # each lab: server, client and the capture, each leased once


def test_a_students_plays_share_one_lab_reset_between_them_with_the_same_outcomes(suite, tmp_path):
    ana = student("ana", "server_tcp.py", "client_tcp.py")
    reused = engine_for(client_tcp=mute_client)
    [g1] = grade(reused, suite, tmp_path / "a", ana)
    fresh = engine_for(client_tcp=mute_client)
    [g2] = grade(fresh, suite, tmp_path / "b", ana, fresh_labs=True)
    assert created_labs(reused) == 1 and created_labs(fresh) == 2  # two plays: one lab, or one each
    strip = {"evidence", "where"}  # (run ids and times differ; the verdicts may not)
    assert [{k: v for k, v in c.items() if k not in strip} for c in g1.scenarios[0].checks] == \
           [{k: v for k, v in c.items() if k not in strip} for c in g2.scenarios[0].checks]
    assert g1.total == g2.total


def test_a_lab_that_cannot_be_cleared_is_replaced(suite, tmp_path, monkeypatch):
    from orchestrator.lab.lab import Lab

    real_clear = Lab.clear
    calls = []

    def stuck_after_a_play(self, timeout=20.0):
        calls.append(1)
        if len(calls) == 2:  # after the first play (the first call clears the fresh lab)
            return "the programs of the last play on server would not all end (4242)"
        return real_clear(self, timeout)

    monkeypatch.setattr(Lab, "clear", stuck_after_a_play)
    engine = engine_for()
    grader = grading.Grader(engine, settings_for(suite, tmp_path), jobs=1)
    [g] = grader.grade([student("ana", "server_tcp.py", "client_tcp.py")])
    assert created_labs(engine) == 2 and grader.labs_created == 2 and g.status == "graded"
    assert grader.replaced == ["ana: echo with their client_tcp.py: the programs of the last play on server would "
                               "not all end (4242)"]


def tw(local: str, state: str = "TIME_WAIT") -> SocketRow:
    return SocketRow("tcp", local, "10.78.0.10:5000", state, f"tcp 0 0 {local} 10.78.0.10:5000 {state}")


def test_which_leftover_sockets_a_play_cannot_see():
    """A client that closes first keeps its TIME_WAIT for a minute, and nothing unprivileged removes it: a
    play may follow it in the same lab only if it gives what it would in a fresh lab."""
    from orchestrator.model.scenario import load_scenario, parse_scenario

    tcp = load_scenario(ROOT / "scenarios" / "tcp.yaml", TOPOLOGY)  # netstat on the server and the client
    udp = load_scenario(ROOT / "scenarios" / "udp.yaml", TOPOLOGY)  # netstat on the server
    assert grading.socket_hosts(tcp) == {"server", "client"} and grading.socket_hosts(udp) == {"server"}
    client_tw = {"client": [tw("10.78.0.20:41862")]}
    assert grading.leftovers_harmless(tcp, {}) and grading.leftovers_harmless(udp, client_tw)
    assert grading.leftovers_harmless(tcp, client_tw)  # its snapshots leave the earlier TIME_WAIT out
    quiet = parse_scenario(SCENARIO, "echo.yaml", TOPOLOGY)  # no netstat at all; names port 5000
    assert grading.leftovers_harmless(quiet, {"server": [tw("10.78.0.10:43000")]})
    assert not grading.leftovers_harmless(quiet, {"server": [tw("10.78.0.10:5000")]})  # a bind could be refused
    assert not grading.leftovers_harmless(quiet, {"client": [tw("10.78.0.20:41862", "FIN_WAIT2")]})  # it sends


def test_a_snapshot_leaves_out_exactly_the_time_wait_sockets_the_last_play_left():
    from orchestrator.lab.lab import Lab

    lab = Lab.__new__(Lab)
    lab.leftovers = {"client": [tw("10.78.0.20:41862")]}
    earlier, mine = tw("10.78.0.20:41862"), tw("10.78.0.20:52000")  # this play's own TIME_WAIT: another port
    listening = SocketRow("tcp", "0.0.0.0:5000", "0.0.0.0:*", "LISTEN", "tcp 0 0 0.0.0.0:5000 0.0.0.0:* LISTEN")
    assert lab.without_leftovers("client", [earlier, mine, listening]) == ((mine, listening), 1)
    assert lab.without_leftovers("server", [earlier, mine]) == ((earlier, mine), 0)  # another host's are its own
    established = tw("10.78.0.20:41862", "ESTABLISHED")  # (cannot be while the TIME_WAIT lasts; kept if seen)
    assert lab.without_leftovers("client", [established]) == ((established,), 0)


def test_a_lab_keeps_serving_plays_that_cannot_see_what_the_last_one_left(suite, tmp_path, monkeypatch):
    from orchestrator.lab.lab import Lab

    real_clear = Lab.clear
    calls = []

    def time_wait_left(self, timeout=20.0):
        calls.append(1)
        why = real_clear(self, timeout)
        if len(calls) > 1:  # after a play (the first call clears the fresh lab)
            self.leftovers = {"client": [tw("10.78.0.20:41862")]}  # as a real client's close leaves
        return why

    monkeypatch.setattr(Lab, "clear", time_wait_left)
    engine = engine_for()
    grader = grading.Grader(engine, settings_for(suite, tmp_path), jobs=1)
    [g] = grader.grade([student("ana", "server_tcp.py", "client_tcp.py")])
    assert grader.labs_created == 1 and grader.replaced == [] and g.total == g.maximum


def test_the_summary_says_what_the_labs_limits_stopped(suite, tmp_path):
    [g] = grade(engine_for(), suite, tmp_path, student("ana", "server_tcp.py", "client_tcp.py"))
    assert g.scenarios[0].stopped == []  # the fake engine's limits stop nothing
    part = next(p for p in grading.plan(g.submission, settings_for(suite, tmp_path)) if p.program == "server_tcp.py")
    stored = json.loads((part.folder / records.PART_FILE).read_text())
    assert stored["stopped_by_limits"] == []
    hog = "on server (where server ran): the memory limit (256 MiB) was reached and the kernel killed 1 process"
    stored["stopped_by_limits"] = [hog]  # as a play of a memory hog stores it
    (part.folder / records.PART_FILE).write_text(json.dumps(stored))
    [again] = grade(engine_for(), suite, tmp_path, student("ana", "server_tcp.py", "client_tcp.py"))
    assert again.scenarios[0].stopped == [f"{hog} (in the play of your server_tcp.py)"]
    text = gradebook.summary(again, settings_for(suite, tmp_path))
    assert f"  ! stopped by the lab: {hog} (in the play of your server_tcp.py)" in text
    assert gradebook.gradescope(again, settings_for(suite, tmp_path))["output"].endswith(
        f"\nStopped by the lab:\n- echo: {hog} (in the play of your server_tcp.py)")


def test_plays_at_once_by_default_two_per_cpu_of_the_engine_as_its_memory_allows():
    limits = grading.runner.Limits()
    lab = len(TOPOLOGY.hosts) * 256 * 2**20 + 512 * 2**20  # every host at its memory limit, and the capture
    assert grading.default_jobs(2, 24 * 2**30, TOPOLOGY, limits) == 4  # this machine
    assert grading.default_jobs(1, 0, TOPOLOGY, limits) == 2  # the engine did not say its memory
    assert grading.default_jobs(8, 3 * lab, TOPOLOGY, limits) == 3  # memory-bound
    assert grading.default_jobs(64, 2**40, TOPOLOGY, limits) == grading.MAX_DEFAULT_JOBS
    assert grading.default_jobs(4, lab // 2, TOPOLOGY, limits) == 1  # never none
    assert [grading.memory_bytes(s) for s in ("256m", "1G", "512k", "1024")] == [2**28, 2**30, 2**19, 1024]


def lossy_suite(tmp_path):
    (tmp_path / "echo.yaml").write_text(SCENARIO)
    (tmp_path / "lossy.yaml").write_text(SCENARIO.replace("name: echo", "name: lossy").replace(
        "steps:\n", "impair:\n  - {host: server, loss: 20%}\nsteps:\n", 1))
    (tmp_path / "suite.yaml").write_text("name: test\ndescription: two\nscenarios:\n"
                                         "  - {scenario: lossy.yaml, weight: 1}\n  - {scenario: echo.yaml, weight: 1}\n")
    return load_suite(tmp_path / "suite.yaml", TOPOLOGY)


def helpers(engine):
    """The helper containers created, in order: ('impair' or 'unimpair', host)."""
    return [tuple(spec["name"].rsplit("-", 2)[-2:]) for _, spec in engine.created
            if "impair-" in (spec.get("name") or "")]


def test_a_lab_whose_links_a_play_impaired_is_restored_by_a_helper_before_it_serves_the_next_play(tmp_path):
    """A play that impairs its links leaves nft rules and qdiscs in the hosts' namespaces, which no process of
    the host can remove: clearing the lab runs a helper that removes them (and fails if anything is left),
    then the lab serves the next play, lossy or not."""
    engine = engine_for()
    grader = grading.Grader(engine, settings_for(lossy_suite(tmp_path), tmp_path), jobs=1)
    [g] = grader.grade([student("ana", "server_tcp.py", "client_tcp.py")])
    assert g.total == g.maximum and grader.replaced == []
    assert grader.labs_created == 1  # the two lossy plays (one per program), then both echo plays: one lab
    assert helpers(engine) == [("impair", "server"), ("unimpair", "server")] * 2
    unimpair = [spec for _, spec in engine.created if "-unimpair-" in (spec.get("name") or "")][0]
    assert unimpair["command"] == impair.CLEAR_COMMAND
    assert unimpair["cap_add"] == ["NET_ADMIN"] and unimpair["network_mode"].startswith("container:")


def test_a_lab_whose_impaired_link_cannot_be_restored_is_replaced_and_says_why(tmp_path):
    engine = engine_for()
    real = engine.wait_exit
    engine.wait_exit = lambda cid, timeout: 1 if "-unimpair-" in engine.containers[cid]["name"] else real(cid, timeout)
    engine.helper_result = (0, "the loss rules are left\n")
    grader = grading.Grader(engine, settings_for(lossy_suite(tmp_path), tmp_path), jobs=1)
    [g] = grader.grade([student("ana", "server_tcp.py", "client_tcp.py")])
    assert g.total == g.maximum  # the student loses nothing: the next play gets a fresh lab
    assert grader.labs_created == 3
    assert len(grader.replaced) == 2
    assert "the impaired link of server could not be restored" in grader.replaced[0]
    assert "the loss rules are left" in grader.replaced[0]


# ---- a race the program decides (with the lab's limits, or of its own threads): played RACE_PLAYS times, -----
# ---- a fixed rule decides ----------------------------------------------------------------------------------


def _result(verdict: str, *passed: bool, raced=True):
    from orchestrator.grade.records import PartResult
    from orchestrator.grade.races import LIMITS_RACE

    return PartResult("k", verdict, None, [{"name": f"c{i}", "points": 1, "awarded": int(p), "passed": p,
                                            "evidence": f"evidence {i} {p}"} for i, p in enumerate(passed)],
                      1.0, stopped=["the memory limit (256 MiB) was reached"] if raced else [],
                      race=LIMITS_RACE if raced else "")


def test_a_play_shows_a_race_only_when_the_limits_stopped_the_program_and_a_check_failed():
    from orchestrator.grade.races import shows_race

    assert shows_race(_result("fail", True, False))
    assert not shows_race(_result("fail", True, False, raced=False))
    assert not shows_race(_result("error", True))  # the lab's failure is no race: an error


def test_what_shows_a_race_is_the_limits_stopping_a_program_or_a_students_program_with_several_threads():
    from orchestrator.evidence import CaptureEvidence, Evidence, HostLimits, ProgramEvidence
    from orchestrator.grade.races import LIMITS_RACE, THREADS_RACE, race_in

    def evidence(threads: int, source: str = "submission", **counted):
        server = ProgramEvidence("server", "server", ("server_tcp.py",), (), 0, 0.1, 1.0, source=source,
                                 threads=threads)
        limits = HostLimits("server", pids_max=128, memory_max=256 << 20, **counted)
        return Evidence("r", "tcp", "scenarios/tcp.yaml", "2026-12-02T00:00:00Z", {"server": "10.0.0.2"},
                        {"server": server}, {}, CaptureEvidence("capture.pcap", 0, 0, 0, {}), (),
                        limits={"server": limits})

    assert race_in(evidence(1)) == "" and race_in(evidence(0)) == ""  # one thread, or never looked at
    assert race_in(evidence(3)) == THREADS_RACE
    assert race_in(evidence(3, source="reference")) == ""  # the lab's own threads are the lab's business
    assert race_in(evidence(1, oom_kills=1)) == LIMITS_RACE
    assert race_in(evidence(1, forks_refused=2)) == LIMITS_RACE


def test_a_check_whose_outcome_varied_counts_if_it_passed_in_most_plays():
    from orchestrator.grade.races import combine

    first, *again = (_result("fail", True, True, False), _result("fail", True, False, False),
                     _result("pass", True, True, True))
    got = combine(first, again)
    assert [(c["name"], c["passed"], c["awarded"]) for c in got.checks] == [
        ("c0", True, 1), ("c1", True, 1), ("c2", False, 0)]
    assert got.checks[0]["evidence"] == "evidence 0 True"  # the same every time: as it was
    assert got.checks[1]["evidence"].startswith("The outcome varied: this check passed in 2 of 3 plays")
    assert got.checks[1]["evidence"].endswith("A play where it passed:\nevidence 1 True")
    assert got.checks[2]["evidence"].startswith("The outcome varied: this check passed in 1 of 3 plays")
    assert got.checks[2]["evidence"].endswith("A play where it failed:\nevidence 2 False")
    assert (got.plays, got.verdict) == (3, "fail")
    # the same plays in another order give the same points
    assert [c["awarded"] for c in combine(again[1], [first, again[0]]).checks] == [1, 1, 0]


def test_a_replay_the_lab_failed_makes_the_play_an_error():
    from orchestrator.grade.races import combine

    broken = _result("error", True)
    assert combine(_result("fail", True), [broken, _result("pass", True)]) is broken


def test_a_play_the_limits_raced_is_played_three_times_and_a_majority_decides(suite, tmp_path, monkeypatch):
    """A server that the memory limit stops in every play, and that says it listens in the 2nd and 3rd play only
    (what it got done before the kill depends on timing): its first play fails a check and shows the race, so the
    part is played 3 times in all, in folders of their own, and the check counts, since it passed in 2 of 3."""
    from . import fake_engine

    cgroup = dict(fake_engine.CGROUP)
    monkeypatch.setattr(fake_engine, "CGROUP", cgroup)
    plays = []

    def hog(proc):
        plays.append(proc)
        kills = int(cgroup["/sys/fs/cgroup/memory/memory.oom_control"][2].split()[1]) + 1
        cgroup["/sys/fs/cgroup/memory/memory.oom_control"] = ["oom_kill_disable 0", "under_oom 0", f"oom_kill {kills}"]
        if len(plays) > 1:
            proc.out("Socket is listening")
        proc.bind("tcp", 5000)
        proc.wait_signal()
        return 0

    [g] = grade(engine_for(server_tcp=hog), suite, tmp_path, student("ana", "server_tcp.py"))
    assert len(plays) == 3
    check = checks_of(g)["the server listens"]
    assert check["passed"] and check["evidence"].startswith("The outcome varied: this check passed in 2 of 3 plays")
    part = next(p for p in grading.plan(g.submission, settings_for(suite, tmp_path)) if p.program == "server_tcp.py")
    stored = json.loads((part.folder / records.PART_FILE).read_text())
    assert stored["plays"] == 3 and stored["replays"] == ["play-2", "play-3"]
    assert (part.folder / "play-2" / "report.json").is_file() and (part.folder / "play-3" / "report.json").is_file()
    assert g.scenarios[0].stopped[-1] == (
        "the play of your server_tcp.py was played 3 times, because the lab's limits stopped your program (a "
        "process killed for memory, or forks refused), and what it got done before that moment depends on timing, "
        "and a check counts if it passed in most of them")


def test_a_play_of_a_program_with_several_threads_that_fails_a_check_is_played_three_times(suite, tmp_path):
    """A server whose threads race each other (it runs two, and says it listens in the 2nd and 3rd play only):
    the lab sees its threads while it waits for the programs to be still, so its failed first play shows a race
    of its own, it is played 3 times and a majority decides; the summary says why. A one-thread server that
    fails the same way is played once."""
    plays = []

    def racy(threads: int):
        def server(proc):
            plays.append(proc)
            proc.threads = threads
            if len(plays) > 1:
                proc.out("Socket is listening")
            proc.bind("tcp", 5000)
            proc.wait_signal()
            return 0
        return server

    [g] = grade(engine_for(server_tcp=racy(2)), suite, tmp_path, student("ana", "server_tcp.py"))
    assert len(plays) == 3
    check = checks_of(g)["the server listens"]
    assert check["passed"] and "because your program ran several threads at once" in check["evidence"]
    assert g.scenarios[0].stopped[-1] == (
        "the play of your server_tcp.py was played 3 times, because your program ran several threads at once, and "
        "the order in which the kernel runs them can differ from one play to the next, and a check counts if it "
        "passed in most of them")
    plays.clear()
    [g] = grade(engine_for(server_tcp=racy(1)), suite, tmp_path / "one", student("ana", "server_tcp.py"))
    assert len(plays) == 1 and not checks_of(g)["the server listens"]["passed"]


def test_a_second_play_that_agrees_with_the_first_on_every_check_decides_without_a_third(suite, tmp_path):
    """A threaded server that never says it listens fails the same check in its first two plays: 2 of 3 plays
    fail it whatever a third would do, so it is not played a third time (the same majority, one play fewer)."""
    plays = []

    def mute_threaded_server(proc):
        plays.append(proc)
        proc.threads = 2
        proc.bind("tcp", 5000)
        proc.wait_signal()
        return 0

    [g] = grade(engine_for(server_tcp=mute_threaded_server), suite, tmp_path, student("ana", "server_tcp.py"))
    assert len(plays) == 2
    check = checks_of(g)["the server listens"]
    assert not check["passed"] and not check["evidence"].startswith("The outcome varied")
    part = next(p for p in grading.plan(g.submission, settings_for(suite, tmp_path)) if p.program == "server_tcp.py")
    assert json.loads((part.folder / records.PART_FILE).read_text())["replays"] == ["play-2"]
    assert "was played 2 times, because your program ran several threads at once" in g.scenarios[0].stopped[-1]


def test_plays_decide_a_check_once_most_of_the_three_went_one_way():
    from orchestrator.grade.races import decided

    assert decided(_result("fail", True, False), [_result("fail", True, False)])
    assert not decided(_result("fail", True, False), [_result("fail", True, True)])
    assert decided(_result("fail", True, False), [_result("fail", True, True), _result("fail", True, False)])


def test_grade_an_export_on_the_command_line(suite, tmp_path, monkeypatch, capsys):
    """`socklab grade EXPORT` (cli/grade.py) with the fake engine: a Canvas zip as downloaded, recognised, each
    student one row under their name with Canvas's user id and late flag, the layout said on the console and
    in manifest.json; --format forces another (here nothing matches: exit 2, one line)."""
    from orchestrator.cli import app as cli
    from tests.support.exports import PROGRAM, export_zip
    from tests.support.grading import grade_command_without_docker

    fake = engine_for()
    grade_command_without_docker(monkeypatch, fake)
    export = export_zip(tmp_path / "CS101-Lab_1_submissions.zip", {
        "silvaana_2001_30001_server_tcp.py": PROGRAM, "silvaana_2001_30002_client_tcp.py": PROGRAM,
        "libo_LATE_2002_30003_server_tcp-1.py": PROGRAM})
    out = tmp_path / "out"
    argv = ["grade", str(export), "--suite", str(tmp_path / "suite.yaml"), "--out", str(out), "-j", "1"]
    assert cli.main(argv) in (0, 1)
    console = capsys.readouterr().out
    assert "Layout canvas: 3 of 3 entries are named <name>_<user id>_<attachment id>_<file>" in console
    rows = list(csv.reader(io.StringIO((out / "grades.csv").read_text())))
    assert [r[:3] for r in rows] == [["student", "identifier", "late"], ["libo", "2002", "late"],
                                     ["silvaana", "2001", ""]]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["export"] == {"platform": "canvas", "detection": "canvas: 3 of 3 entries are named <name>_"
                                  "<user id>_<attachment id>_<file>", "notes": []}
    assert {k: (v["identifier"], v["platform"], v["late"]) for k, v in manifest["submissions"].items()} == {
        "libo": ("2002", "canvas", True), "silvaana": ("2001", "canvas", False)}
    summary = (out / "students" / "libo" / "summary.txt").read_text()
    assert "Identifier on canvas: 2002\nHanded in late (canvas says so; no penalty here)\n" in summary
    page = (out / "students" / "libo" / "index.html").read_text()
    assert '<span id="platform">Identifier on canvas: 2002; Handed in late (canvas says so; no penalty here)</span>' in page
    assert cli.main([*argv, "--format", "moodle", "--only", "2001"]) == 2
    assert "holds no submission as moodle: forced by --format (0 of 3 entries" in capsys.readouterr().err


def test_a_first_play_that_showed_a_race_is_not_re_used_before_its_replays(suite, tmp_path):
    """A play is stored as soon as it ends, before its replays: a grading stopped (Ctrl-C) between them leaves
    the first play's result alone in the cache, and the next grading must not take it as the part's (the
    replay rule would not be applied): it plays the part again. Once combined, the part is re-used."""
    [g] = grade(engine_for(), suite, tmp_path, student("ana", "server_tcp.py"))
    part = next(p for p in grading.plan(g.submission, settings_for(suite, tmp_path)) if p.program == "server_tcp.py")
    first = records.PartResult(part.key, "fail", None, [], 1.0, race=races.THREADS_RACE)
    records.store(part, first)
    assert records.cached(part) is None
    records.store(part, dataclasses.replace(first, plays=3))
    assert records.cached(part).plays == 3
