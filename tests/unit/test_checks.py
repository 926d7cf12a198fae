"""Checks on recorded evidence: the tcp-exchange scenario built by hand, and a run of it as the reference
programs, netstat and tshark would have recorded it. No Docker, no files.

The builders (tcp_scenario, tcp_evidence, ...) are tests/support/recorded.py's, shared with test_report.py.
"""
from __future__ import annotations

import dataclasses
import re

import pytest

from orchestrator.judge import checks, judging
from orchestrator.base.errors import EXIT_CHECKS_FAILED, EXIT_ENVIRONMENT, EXIT_OK
from orchestrator.base.text import LINE_CHARS
from orchestrator.evidence import CaptureEvidence, Evidence, ProgramEvidence
from orchestrator.model.scenario import Bounds, Check, ExitCheck, Scenario, Start

from tests.support.recorded import (CLIENT_IP, CLIENT_LINES, FIN, FIN_1, NETSTAT_AFTER_CLOSE, NETSTAT_HEADER,
                                    SERVER_IP, SERVER_LINES, SYN, at, cap, failed_at, lines, log, one_check, snapshot,
                                    sock, step_results, tcp_capture, tcp_evidence, tcp_filters, tcp_scenario,
                                    with_program)


def outcome(scenario: Scenario, ev: Evidence, name: str) -> checks.Outcome:
    return next(o for o in checks.evaluate(scenario, ev) if o.name == name)


def only(spec, ev: Evidence | None = None) -> checks.Outcome:
    [o] = checks.evaluate(one_check(spec), ev or tcp_evidence())
    return o


# ---- the good run --------------------------------------------------------------------------------


def test_a_good_run_passes_every_check_in_order():
    scenario, ev = tcp_scenario(), tcp_evidence()
    outcomes = checks.evaluate(scenario, ev)
    assert [o.name for o in outcomes] == [c.name for c in scenario.checks]
    assert [o.kind for o in outcomes] == ["log"] * 5 + ["exit"] + ["socket"] * 3 + ["capture"] * 7
    failed = [(o.name, o.evidence) for o in outcomes if not o.passed]
    assert failed == []
    assert sum(o.awarded for o in outcomes) == sum(o.points for o in outcomes) == 21
    assert outcomes[0].where == "scenarios/tcp.yaml:29 (checks[0])"
    assert checks.verdict(ev, outcomes) == "pass"
    assert checks.exit_code_for("pass") == EXIT_OK


def test_pass_evidence_says_what_was_found():
    o = checks.evaluate(tcp_scenario(), tcp_evidence())
    by = {x.name: x.evidence for x in o}
    assert by["server announces where it listens"] == \
        '1 line matched: "Socket is listening in address 0.0.0.0 and port 5000 ..."'
    seq = by["server logs the connection, its thread and the goodbye, in order"]
    assert seq.startswith("3 lines matched in order:")
    assert f"2: Connected to Client 1, calling from: {CLIENT_IP}:41862" in seq and "4: Bye bye Client 1!" in seq
    assert by["server exit status is 0"] == "server exited with status 0."
    est = by["netstat on the server shows the established connection"]
    assert "1 row of snapshot 'connected' (netstat -tuna on server at 1.1 s) matched" in est
    assert "10.77.0.10:5000         10.77.0.20:41862        ESTABLISHED" in est
    assert by["one SYN opens the connection (client to server)"] == f"1 frame matched (of 17 in the capture):\n  {SYN}"
    assert by["no reset"].startswith("No frame matched [tcp.flags.reset==1 && tcp.port==5000], as expected (exactly 0)")


# ---- log checks ----------------------------------------------------------------------------------


def test_log_match_failure_shows_the_tail_and_the_exit_status():
    crashed = lines(*[(0.2 + i / 10, f"Connected to Client {i}, calling from: {CLIENT_IP}:{40000 + i}")
                      for i in range(1, 11)],
                    (2.0, "Traceback (most recent call last):", "stderr"),
                    (2.0, "KeyboardInterrupt", "stderr"))
    ev = with_program(tcp_evidence(), "server", lines=crashed, exit_status=130)
    o = outcome(tcp_scenario(), ev, "server exits cleanly on Ctrl-C")
    assert not o.passed and o.awarded == 0 and o.points == 1
    text = o.evidence
    assert text.startswith("Expected exactly 1 line of server's stdout and stderr matching "
                           "/^Caught keyboard interrupt, exiting$/; found 0.")
    assert "server exited with status 130 (128+2: ended by SIGINT)." in text
    assert "The last 8 of 12 lines in all:" in text
    assert "   12: (stderr) KeyboardInterrupt" in text
    assert "Connected to Client 4," not in text and "Connected to Client 5," in text  # only the last 8


def test_log_match_with_too_many_lines_lists_the_matches():
    doubled = SERVER_LINES[:1] + SERVER_LINES
    ev = with_program(tcp_evidence(), "server", lines=doubled)
    o = outcome(tcp_scenario(), ev, "server announces where it listens")
    assert not o.passed
    assert "found 2." in o.evidence
    assert "The matching lines:\n    1: Socket is listening" in o.evidence
    assert "    2: Socket is listening" in o.evidence


@pytest.mark.parametrize("bounds, passed", [
    (dict(count=2), True), (dict(count=3), False),
    (dict(min=1), True), (dict(min=3), False),
    (dict(max=2), True), (dict(max=1), False),
    (dict(min=2, max=4), True), (dict(min=3, max=4), False),
    (dict(), True),
])
def test_log_bounds(bounds, passed):
    o = only(log("client", match="Server message: I received", **bounds))  # 2 lines in the good run
    assert o.passed is passed, o.evidence
    if not passed:
        assert f"Expected {Bounds(**bounds)} " in o.evidence and "found 2." in o.evidence


def test_bounds_wording():
    assert "Expected at least 1 line of" in only(log("client", match="nope", min=1)).evidence
    assert "Expected at most 1 row with" in only(sock("connected", proto="tcp", max=1)).evidence


def test_stream_filter():
    assert only(log("server", match=".", stream="stderr", count=0)).passed
    assert only(log("server", match=".", stream="stdout", count=5)).passed
    ev = with_program(tcp_evidence(), "server",
                      lines=SERVER_LINES + lines((3.0, "Exception in thread client-1:", "stderr")))
    o = only(log("server", match=".", stream="stderr", count=0), ev)
    assert not o.passed
    assert "Expected exactly 0 lines of server's stderr matching /./; found 1." in o.evidence
    assert "1: (stderr) Exception in thread client-1:" in o.evidence


def test_placeholders_are_expanded_and_escaped_in_regexes():
    check = log("server", match=r"calling from: {client.ip}:\d+$", count=1)
    assert only(check).passed
    # the same lines with the client at another address do not match: {client.ip} is this run's address
    moved = tcp_evidence(addresses={"server": SERVER_IP, "client": "10.77.0.21"})
    o = only(check, moved)
    assert not o.passed and r"/calling from: 10\.77\.0\.21:\d+$/" in o.evidence
    # the dots are literal: 10x77x0x20 is not 10.77.0.20
    fake = with_program(tcp_evidence(), "server", lines=lines((1.0, "calling from: 10x77x0x20:41862")))
    assert not only(check, fake).passed


def test_sequence_in_the_wrong_order_says_which_element_and_after_which_line():
    swapped = (SERVER_LINES[0], SERVER_LINES[2], SERVER_LINES[1], *SERVER_LINES[3:])  # Thread Number first
    ev = with_program(tcp_evidence(), "server", lines=swapped)
    o = outcome(tcp_scenario(), ev, "server logs the connection, its thread and the goodbye, in order")
    assert not o.passed and o.awarded == 0
    assert o.evidence.startswith(
        r"Element 2 of 3 of the sequence, /^Thread Number: 1$/, was not found in server's stdout and stderr after "
        f'line 3 ("Connected to Client 1, calling from: {CLIENT_IP}:41862", which matched element 1).')
    assert 'It matches line 2 ("Thread Number: 1"), before that: the lines are in the wrong order.' in o.evidence
    assert "The 2 lines after line 3:\n    4: Bye bye Client 1!\n    5: Caught keyboard interrupt" in o.evidence


def test_sequence_with_a_missing_element():
    ev = with_program(tcp_evidence(), "server", lines=SERVER_LINES[:3], exit_status=None)
    o = outcome(tcp_scenario(), ev, "server logs the connection, its thread and the goodbye, in order")
    assert not o.passed
    assert 'Element 3 of 3 of the sequence, /^Bye bye Client 1!$/, was not found' in o.evidence
    assert 'after line 3 ("Thread Number: 1", which matched element 2)' in o.evidence
    assert "Matched so far: element 1 at line 2, element 2 at line 3." in o.evidence
    assert "server was still running when the run ended (killed at teardown)." in o.evidence
    assert "There are no lines after line 3 (of 3)." in o.evidence


def test_sequence_whose_first_element_is_missing():
    ev = with_program(tcp_evidence(), "client", lines=CLIENT_LINES[:1])
    o = outcome(tcp_scenario(), ev, "replies count characters, not bytes")
    assert "Element 1 of 2 of the sequence, /Server message: I received 5 chars: hello$/, was not found in " \
           "client's stdout and stderr anywhere." in o.evidence
    assert "The 1 line in all:\n    1: Waiting for connection response" in o.evidence


def test_host_check_merges_the_programs_of_the_host_by_time():
    check = log(host="client", match=".", count=0)
    o = only(check)
    assert not o.passed
    assert "Expected exactly 0 lines of the stdout and stderr of the programs on client (client) matching /./; " \
           "found 4." in o.evidence
    assert "    1: [client] Waiting for connection response" in o.evidence  # brackets name the program
    # two programs on a host: lines ordered by time, numbered across both
    ev = tcp_evidence()
    other = ProgramEvidence("probe", "client", ("hostinfo.py", "server"), lines((0.95, "probe says hi")), 0, 0.9, 1.0)
    ev = dataclasses.replace(ev, programs={**ev.programs, "probe": other})
    scenario = tcp_scenario(checks_=(Check("c", 1, log(host="client", match="Waiting|probe", count=9),
                                           at(99, "checks[0]")),))
    scenario = dataclasses.replace(scenario, steps=scenario.steps + (
        Start("probe", "client", ("hostinfo.py", "server"), 10, at(27, "steps[12].start")),))
    text = checks.evaluate(scenario, ev)[0].evidence
    assert "    1: [client] Waiting for connection response\n    2: [probe] probe says hi" in text


def test_before_counts_only_the_lines_before_the_snapshot():
    # 'connected' is taken at 1.10 s: the two answers came before it, the goodbye after
    assert only(log("client", match="Server message: I received", count=2, before="connected")).passed
    o = only(log("server", match="^Bye bye Client 1!$", count=1, before="connected"))
    assert not o.passed
    assert o.evidence.startswith("Expected exactly 1 line of server's stdout and stderr before snapshot "
                                 "'connected' was taken (1.1 s; 2 later lines not counted) matching "
                                 "/^Bye bye Client 1!$/; found 0.")
    # the line that came too late is shown, with its number in the whole output
    assert "Matching, but only after the snapshot (not counted): 1 line\n    4: Bye bye Client 1!" in o.evidence
    # the same check without `before` passes
    assert only(log("server", match="^Bye bye Client 1!$", count=1)).passed


def test_before_with_a_sequence_and_on_a_host():
    seq = (r"^Connected to Client 1", r"^Thread Number: 1$", r"^Bye bye Client 1!$")
    assert not only(log("server", sequence=seq, before="connected")).passed
    assert only(log("server", sequence=seq, before="after-close")).passed
    assert only(log(host="server", match="^Thread Number: 1$", count=1, before="connected")).passed


def test_before_a_snapshot_that_was_not_taken():
    ev = failed_at(5, "netstat: command not found", drop_snapshots=("connected", "after-close"))
    o = only(log("client", match="Server message", count=2, before="connected"), ev)
    assert not o.passed
    assert o.evidence == ("This check counts only what was said before snapshot 'connected', and that snapshot "
                          "was not taken: steps[5] (line 20, netstat on server as 'connected') failed: "
                          "netstat: command not found")


def test_invalid_regex_fails_with_the_reason():
    o = only(log("server", match="(unclosed", count=1))
    assert not o.passed and o.evidence.startswith("the regex /(unclosed/ is invalid: missing ), unterminated subpattern")


# ---- subjects that do not exist ------------------------------------------------------------------


def test_missing_snapshot_names_the_failed_step():
    ev = failed_at(4, "waited 10 s for a line matching /I received 3 chars: olá/ in client's output; saw instead: "
                      "Waiting for connection response", drop_snapshots=("connected", "after-close"))
    o = outcome(tcp_scenario(), ev, "netstat on the server shows the listening socket")
    assert not o.passed
    assert o.evidence == (
        "snapshot 'connected' was not taken: steps[5] (line 20, netstat on server as 'connected') was skipped "
        "because steps[4] (line 19, wait for \"I received 3 chars: olá\" from client) failed: waited 10 s for a "
        "line matching /I received 3 chars: olá/ in client's output; saw instead: Waiting for connection response")
    assert checks.verdict(ev, checks.evaluate(tcp_scenario(), ev)) == "fail"


def test_a_snapshot_step_that_failed_itself():
    ev = failed_at(5, "netstat: command not found", drop_snapshots=("connected", "after-close"))
    o = only(sock("connected", proto="tcp", count=1), ev)
    assert o.evidence == ("snapshot 'connected' was not taken: steps[5] (line 20, netstat on server as 'connected') "
                          "failed: netstat: command not found")


def test_missing_program_names_the_failed_step():
    ev = failed_at(2, "cannot start client_tcp.py on client: container not running", drop_programs=("client",))
    o = outcome(tcp_scenario(), ev, "client waits for the connection first")
    assert o.evidence.startswith("program 'client' was not started: steps[2] (line 17, start client_tcp.py server "
                                 "5000 on client as client) failed: cannot start client_tcp.py")
    o = only(log(host="client", match=".", count=0), ev)  # 0 lines must not pass because nothing ran
    assert not o.passed and o.evidence.startswith("program 'client' was not started: steps[2]")


def test_run_ended_before_the_step():
    ev = tcp_evidence(steps=step_results()[:3], snapshots={}, error="the Docker Engine went away")
    o = only(sock("connected", count=1), ev)
    assert o.evidence == ("snapshot 'connected' was not taken: the run ended before steps[5] (line 20) was played: "
                          "the Docker Engine went away")


# ---- socket checks -------------------------------------------------------------------------------


def test_socket_failure_lists_the_rows_and_marks_matches():
    ev = tcp_evidence(snapshots={**tcp_evidence().snapshots,
                                 "connected": snapshot("connected", "server", 1.1, NETSTAT_AFTER_CLOSE)})
    o = outcome(tcp_scenario(), ev, "netstat on the server shows the established connection")
    assert not o.passed and o.awarded == 0
    assert o.evidence.startswith(
        "Expected exactly 1 row with proto tcp, local 10.77.0.10:5000, remote 10.77.0.20:*, state ESTABLISHED in "
        "snapshot 'connected' (netstat -tuna on server at 1.1 s); found 0.\nIts 3 rows:\n")
    assert "10.77.0.20:41862        10.77.0.10:5000         TIME_WAIT" in o.evidence
    o = only(sock("connected", proto="tcp", state="LISTEN", count=1))  # two LISTEN rows in the good run
    assert "found 2." in o.evidence and "(→ marks the matching ones)" in o.evidence
    assert "  → tcp        0      0 0.0.0.0:5000" in o.evidence
    assert "    tcp        0      0 10.77.0.10:5000" in o.evidence


def test_udp_rows_have_no_state_and_count_apart_from_tcp():
    assert only(sock("connected", proto="udp", count=1)).passed
    assert only(sock("connected", proto="udp", state="", count=1)).passed
    assert only(sock("connected", proto="udp", state="ESTABLISHED", count=0)).passed
    assert only(sock("connected", count=4)).passed  # no proto: every row
    assert only(sock("connected", proto="tcp", remote="0.0.0.0:*", count=2)).passed  # netstat's notation
    assert only(sock("connected", proto="tcp", remote="*:*", count=3)).passed


@pytest.mark.parametrize("pattern, actual, matches", [
    ("0.0.0.0:5000", "0.0.0.0:5000", True),
    ("0.0.0.0:5000", "0.0.0.0:5001", False),
    ("*:5000", "10.77.0.10:5000", True),
    ("10.77.0.10:*", "10.77.0.10:5000", True),
    ("10.77.0.10:*", "10.77.0.1:5000", False),
    ("*:*", "0.0.0.0:*", True),
    ("0.0.0.0:*", "0.0.0.0:*", True),
    ("10.77.0.20:41862", "0.0.0.0:*", False),   # a port never matches netstat's '*'
    ("*:5000", ":::5000", True),                 # IPv6 wildcard
    ("0.0.0.0:5000", ":::5000", False),          # '::' is not '0.0.0.0'
    ("*:*", ":::*", True),
    ("10.77.0.10:5000", "::ffff:10.77.0.10:5000", True),  # IPv4-mapped
    ("10.77.0.10", "10.77.0.10:5000", True),     # an address alone: any port
    (None, "anything", True),
])
def test_endpoint_patterns(pattern, actual, matches):
    assert judging.endpoint_matches(pattern, actual) is matches


@pytest.mark.parametrize("pattern, actual, matches", [
    ("tcp", "tcp", True), ("tcp", "tcp6", True), ("tcp6", "tcp", False), ("tcp6", "tcp6", True),
    ("udp", "udp6", True), ("udp", "tcp", False), ("TCP", "tcp", True), (None, "udp6", True),
])
def test_proto_prefix(pattern, actual, matches):
    assert judging.proto_matches(pattern, actual) is matches


def test_tcp6_listener_counts_for_tcp_with_a_wildcard_address():
    raw = NETSTAT_HEADER + "tcp6       0      0 :::5000                 :::*                    LISTEN     \n"
    ev = tcp_evidence(snapshots={"connected": snapshot("connected", "server", 1.0, raw)})
    assert only(sock("connected", proto="tcp", local="*:5000", state="LISTEN", count=1), ev).passed
    assert not only(sock("connected", proto="tcp", local="0.0.0.0:5000", state="LISTEN", count=1), ev).passed


def test_empty_snapshot():
    ev = tcp_evidence(snapshots={"connected": snapshot("connected", "server", 1.0, NETSTAT_HEADER)})
    o = only(sock("connected", proto="tcp", count=1), ev)
    assert o.evidence.endswith("found 0.\nThe snapshot has no socket rows at all.")


# ---- capture checks ------------------------------------------------------------------------------

def test_capture_count_failure_shows_the_matching_frames():
    f = tcp_filters()
    capture = tcp_capture(counts={**tcp_capture().counts, f[5]: 1}, samples={f[5]: (FIN_1,)})
    o = outcome(tcp_scenario(), tcp_evidence(capture=capture), FIN)
    assert not o.passed and o.awarded == 0
    assert o.evidence == ("Expected exactly 2 frames matching [tcp.flags.fin==1 && tcp.port==5000]; found 1 "
                          f"(of 17 in the capture).\nThe matching frames:\n  {FIN_1}")


def test_capture_placeholders_key_the_counts():
    o = outcome(tcp_scenario(), tcp_evidence(), "one SYN-ACK answers it")
    assert o.passed
    # a run where the addresses differ looks its filters up under other keys: the runner did not count them
    moved = tcp_evidence(addresses={"server": "10.77.0.11", "client": CLIENT_IP})
    o = outcome(tcp_scenario(), moved, "one SYN-ACK answers it")
    assert not o.passed
    assert o.evidence == ("The display filter [tcp.flags.syn==1 && tcp.flags.ack==1 && ip.src==10.77.0.11 && "
                          "tcp.srcport==5000] was not counted (a fault of the runner).")


def test_capture_not_whole_fails_every_capture_check():
    ev = tcp_evidence(capture=tcp_capture(packets=13, tcpdump_captured=14))
    outcomes = checks.evaluate(tcp_scenario(), ev)
    cap_outcomes = [o for o in outcomes if o.kind == "capture"]
    assert cap_outcomes and not any(o.passed for o in cap_outcomes)
    assert {o.evidence for o in cap_outcomes} == {
        "The capture is not whole: tcpdump captured 14 packets, the pcap holds 13; capture checks cannot be trusted."}
    assert checks.verdict(ev, outcomes) == "fail"  # no problem recorded: the checks fail


def test_capture_drops_and_problems():
    o = only(cap("tcp", count=0), tcp_evidence(capture=tcp_capture(tcpdump_dropped=3, counts={"tcp": 0})))
    assert "the kernel dropped 3 packets (tcpdump's count)" in o.evidence
    problem = "the capture sidecar stopped before the programs (exit code 137)"
    ev = tcp_evidence(capture=tcp_capture(problem=problem))
    outcomes = checks.evaluate(tcp_scenario(), ev)
    assert outcome(tcp_scenario(), ev, FIN).evidence == f"The capture is not whole: {problem}; capture checks " \
                                                        "cannot be trusted."
    assert checks.verdict(ev, outcomes) == "error"
    assert checks.exit_code_for(checks.verdict(ev, outcomes)) == EXIT_ENVIRONMENT


def test_filter_error_gives_tsharks_complaint():
    flt = "tcp.flags.fin=1"
    err = 'tshark: "=" was unexpected in this context.'
    o = only(cap(flt, count=2), tcp_evidence(capture=tcp_capture(errors={flt: err})))
    assert not o.passed
    assert o.evidence == f'tshark refused the display filter [tcp.flags.fin=1]: {err}'


def test_no_pcap():
    ev = failed_at(0, "cannot start the capture sidecar: image socklab/capture:latest not found")
    ev = dataclasses.replace(ev, capture=CaptureEvidence(None, None, None, None))
    o = outcome(tcp_scenario(), ev, "no reset")
    assert o.evidence.startswith("There is no capture to count frames in: steps[0] (line 15, start server_tcp.py")
    ev = dataclasses.replace(ev, capture=CaptureEvidence(None, None, None, None, problem="tcpdump did not start"))
    assert outcome(tcp_scenario(), ev, "no reset").evidence == \
        "There is no capture to count frames in: tcpdump did not start"


def test_capture_samples_are_capped():
    frames = tuple(f"{i} 0.1 {CLIENT_IP} → {SERVER_IP} UDP 42 {i} → 6000 Len=1" for i in range(20))
    o = only(cap("udp", max=5), tcp_evidence(capture=tcp_capture(counts={"udp": 20}, samples={"udp": frames})))
    assert o.evidence.count("UDP 42") == judging.LIST_LIMIT and "… and 12 more" in o.evidence


# ---- exit checks ---------------------------------------------------------------------------------


def test_program_still_running():
    ev = with_program(tcp_evidence(), "server", exit_status=None, ended=None)
    o = outcome(tcp_scenario(), ev, "server exit status is 0")
    assert not o.passed
    assert o.evidence.startswith("Expected exit status 0; server was still running when the run ended "
                                 "(killed at teardown).\nThe 5 lines in all:")


def test_exit_status_mismatch_shows_stderr():
    err = lines((0.1, "Error: cannot bind to 0.0.0.0:5000: Address already in use", "stderr"))
    ev = with_program(tcp_evidence(), "server", lines=err, exit_status=1)
    o = outcome(tcp_scenario(), ev, "server exit status is 0")
    assert o.evidence == ("Expected exit status 0; server exited with status 1.\nThe 1 line in all:\n"
                          "    1: (stderr) Error: cannot bind to 0.0.0.0:5000: Address already in use")
    assert "was killed by signal 9 (SIGKILL)" in only(ExitCheck("server", 0),
                                                      with_program(tcp_evidence(), "server", exit_status=-9)).evidence


def test_exit_of_a_program_that_never_started():
    ev = failed_at(0, "python3: can't open file 'server_tcp.py'", drop_programs=("server", "client"))
    o = outcome(tcp_scenario(), ev, "server exit status is 0")
    assert o.evidence == ("program 'server' was not started: steps[0] (line 15, start server_tcp.py 0.0.0.0 5000 on "
                          "server as server) failed: python3: can't open file 'server_tcp.py'")


# ---- bounded evidence ----------------------------------------------------------------------------


def test_evidence_is_bounded_and_lines_are_clipped():
    flood = lines(*[(i / 100, f"{i:04d} " + "x" * 500) for i in range(300)]) + lines((9.0, "bell\x07 and tab\t"))
    ev = with_program(tcp_evidence(), "server", lines=flood, truncated=True)
    for check in (log("server", match="x", count=1), log("server", match=".", count=0),
                  log("server", sequence=("0001", "nope"))):
        text = only(check, ev).evidence
        assert len(text) <= judging.EVIDENCE_LIMIT
        assert max(len(x) for x in text.splitlines()) <= 2 * LINE_CHARS  # clipped lines, not 500 characters
    text = only(log("server", match="nope", count=1), ev).evidence
    assert "server's output went past the limit: only its beginning was kept." in text
    assert r"bell\x07 and tab\t" in text  # control characters shown, not sent to the terminal
    cut = judging.bounded("heading\n" + "  a\n" * 2000 + "  last")
    assert cut.startswith("heading\n  … (") and "lines not shown)\n  a\n" in cut and cut.endswith("\n  last")
    assert len(judging.bounded("y" * 5000)) == judging.EVIDENCE_LIMIT


# ---- verdict and exit codes ----------------------------------------------------------------------


def test_verdict():
    scenario = tcp_scenario()
    good = tcp_evidence()
    assert checks.verdict(good, checks.evaluate(scenario, good)) == "pass"
    # a failed step fails the run even when every check passed
    ev = dataclasses.replace(good, steps=good.steps[:-1] + (dataclasses.replace(
        good.steps[-1], status="failed", message="server exited with status 1"),))
    outcomes = checks.evaluate(scenario, ev)
    assert all(o.passed for o in outcomes)
    assert checks.verdict(ev, outcomes) == "fail"
    # a failed check
    bad = with_program(good, "server", exit_status=1)
    assert checks.verdict(bad, checks.evaluate(scenario, bad)) == "fail"
    # the run itself went wrong: error wins over failures
    err = dataclasses.replace(bad, error="cannot create network socklab-3f9a: address pool exhausted")
    assert checks.verdict(err, checks.evaluate(scenario, err)) == "error"
    # a display filter of the scenario that tshark refused: the scenario is at fault, not the programs
    refused = dataclasses.replace(good, capture=dataclasses.replace(
        good.capture, errors={"tcp.prot==5000": 'Left side of "==" expression must be a field or function'}))
    assert checks.verdict(refused, checks.evaluate(scenario, refused)) == "error"


@pytest.mark.parametrize("verdict, code", [("pass", EXIT_OK), ("fail", EXIT_CHECKS_FAILED),
                                           ("error", EXIT_ENVIRONMENT)])
def test_exit_codes(verdict, code):
    assert checks.exit_code_for(verdict) == code
    assert code == {"pass": 0, "fail": 1, "error": 3}[verdict]


def test_unknown_verdict():
    with pytest.raises(ValueError, match=re.escape("unknown verdict 'maybe'")):
        checks.exit_code_for("maybe")


def test_an_exit_check_with_any_status_passes_when_the_program_ended_by_itself():
    spec = ExitCheck("client", None)
    crashed = with_program(tcp_evidence(), "client", exit_status=1)
    assert checks.evaluate_check(one_check(spec), crashed, one_check(spec).checks[0]).passed
    running = with_program(tcp_evidence(), "client", exit_status=None)
    outcome = checks.evaluate_check(one_check(spec), running, one_check(spec).checks[0])
    assert not outcome.passed and outcome.evidence.startswith("Expected it to end by itself; client was still running")
    killed = with_program(tcp_evidence(), "client", exit_status=137,
                          stopped="SIGKILL: it did not end within 1 s of SIGTERM")
    outcome = checks.evaluate_check(one_check(spec), killed, one_check(spec).checks[0])
    assert not outcome.passed and "stopped with SIGKILL" in outcome.evidence


def test_an_exit_check_for_a_nonzero_status_wants_a_program_that_ended_by_itself_saying_it_failed():
    from orchestrator.model.scenario import NONZERO

    spec = ExitCheck("client", NONZERO)

    def judged(**program):
        return checks.evaluate_check(one_check(spec), with_program(tcp_evidence(), "client", **program),
                                     one_check(spec).checks[0])
    assert judged(exit_status=1).passed and judged(exit_status=2).passed  # sys.exit(1), argparse's 2
    refused = judged(exit_status=0)
    assert not refused.passed and refused.evidence.startswith(
        "Expected a non-zero exit status; client exited with status 0.")
    assert not judged(exit_status=-9).passed  # killed by a signal: not its own saying
    assert not judged(exit_status=143, stopped="SIGTERM").passed  # ended by the run, not by itself
    assert not judged(exit_status=None).passed  # still running
