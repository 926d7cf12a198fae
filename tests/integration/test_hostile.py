"""Hostile submissions, run for real (issue 7): the sandbox holds, the verdict is the programs' own (never an
'error' of the environment they caused), and the report says what the limits stopped.

The submissions are tests/hostile/<case>/ (see its README). They run three at a time, as grading would;
each test then reads its case's report and output.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.hostile import HOSTILE, Listener, cases, gateway_probe
from tests.support.integration import labelled

pytestmark = pytest.mark.docker

CASES = cases()


@dataclass
class Played:
    proc: subprocess.CompletedProcess
    report: dict

    @property
    def out(self) -> str:
        return self.proc.stdout + self.proc.stderr

    def printed(self, text: str) -> bool:
        """Whether the console showed `text` (the console wraps long lines: spacing is not compared)."""
        return " ".join(text.split()) in " ".join(self.proc.stdout.split())

    def log(self, host: str) -> str:
        return (Path(self.report["artifacts"]) / "logs" / f"{host}.log").read_text()

    def check(self, name: str) -> dict:
        (found,) = [c for c in self.report["checks"] if c["name"] == name]
        return found


@pytest.fixture(scope="module")
def listener():
    listening = Listener()
    yield listening
    listening.close()


@pytest.fixture(scope="module")
def played(tmp_path_factory, listener) -> dict[str, Played]:
    """Every case, played once for the module, three at a time."""
    base = tmp_path_factory.mktemp("hostile")
    gateway = gateway_probe(base, listener.port)  # told the port of this test's listener

    def play(case: str) -> tuple[str, Played]:
        folder = gateway if case == "gateway" else HOSTILE / case
        runs = base / case / "runs"
        proc = subprocess.run([sys.executable, "-m", "orchestrator", "run", CASES[case], "--programs", str(folder),
                               "--runs-dir", str(runs)], cwd=ROOT, capture_output=True, text=True, timeout=240)
        reports = list(runs.glob("*/report.json"))
        assert len(reports) == 1, f"{case}: no report\n{proc.stdout}{proc.stderr}"
        return case, Played(proc, json.loads(reports[0].read_text()))

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(play, CASES))


def test_every_hostile_run_is_judged_not_an_environment_error_and_leaves_nothing(played):
    for case, run in played.items():
        assert run.proc.returncode in (0, 1), f"{case}: exit {run.proc.returncode}\n{run.out}"
        assert run.report["verdict"] in ("pass", "fail") and run.report["error"] is None, (case, run.report["error"])
        assert run.report["capture"]["problem"] is None, (case, run.report["capture"])
        assert "Traceback" not in run.proc.stderr, case
        assert labelled(f"socklab.run={run.report['run_id']}") == ([], []), case


def test_a_disk_filler_is_stopped_by_size_capped_tmpfs_and_a_read_only_root(played):
    run = played["disk-filler"]
    assert run.report["verdict"] == "pass", run.out  # it did its job; filling the disk cost the host nothing
    log = run.log("server")
    for place in ("/tmp", "/home/student", "/dev/shm"):
        assert f"disk-filler: {place}: wrote 16 MiB, then: [Errno 28] No space left on device" in log, log
    assert "disk-filler: .: wrote 0 MiB, then: [Errno 13] Permission denied" in log  # the submission's folder
    for place in ("/opt", "/var/tmp"):
        assert f"disk-filler: {place}: wrote 0 MiB, then: [Errno 30] Read-only file system" in log


def test_3000_datagrams_are_all_captured_and_judged(played):
    run = played["flood-3000"]
    assert run.proc.returncode == 1 and run.report["verdict"] == "fail"
    cap = run.report["capture"]
    # whole: tcpdump recorded every packet that reached the server's interface (a burst of 6,000 datagrams
    # loses a few percent on the way, in the kernel's backlog between the two hosts, before any capture)
    assert cap["whole"] and cap["tcpdump_dropped"] == 0 and cap["packets"] > 3000, cap
    count = run.check("one datagram per message, client to server")
    found = re.search(r"found (\d+)", count["evidence"])
    assert not count["passed"] and found and int(found.group(1)) > 3000, count


def test_a_udp_flood_fails_its_capture_checks_with_the_reason_not_the_run(played):
    run = played["udp-flood"]
    assert run.proc.returncode == 1 and run.report["verdict"] == "fail", run.out
    cap = run.report["capture"]
    assert cap["packets"] == cap["tcpdump_captured"] == 10_000 and not cap["whole"], cap
    assert cap["overflow"].startswith("the programs sent at least 10,000 packets"), cap
    datagrams = run.check("one datagram per message, client to server")
    assert datagrams["evidence"].startswith("The capture is incomplete: the programs sent"), datagrams
    # (an absence that requires it says the same, as the reason it was not earned)
    tcp = run.check("the clients use no TCP")
    assert not tcp["passed"] and tcp["evidence"].startswith(
        'Not earned: this counts only for a program that did what "one datagram per message, client to server" '
        "looks for, and that did not happen: The capture is incomplete: the programs sent"), tcp
    assert run.printed("The capture is incomplete: the programs sent at least 10,000 packets")


def test_a_port_scan_is_captured_whole_and_judged(played):
    run = played["port-scan"]
    cap = run.report["capture"]
    assert cap["whole"] and cap["packets"] > 2000, cap  # a SYN and a RST for each of 1,024 ports
    assert run.report["verdict"] == "pass", run.out  # the scenario's checks are about port 5000


def test_the_host_is_not_reachable_through_the_gateway(played, listener):
    run = played["gateway"]
    log = run.log("client")
    assert "REACHED THE HOST" not in log and listener.accepted == [], log
    assert f":{listener.port}: " in log and ("timed out" in log or "No route to host" in log), log
    assert run.report["verdict"] == "pass", run.out  # and the lab's own hosts are reached as ever


def test_a_program_cannot_kill_or_trace_what_observes_it(played):
    run = played["tamper"]
    log = run.log("server")
    assert "tamper: kill 1: Operation not permitted" in log and "tamper: ptrace 1: Operation not permitted" in log
    assert "DONE" not in log, log
    assert run.report["verdict"] == "pass", run.out  # the observer and PID 1 lived on: full marks


def test_a_fork_bomb_does_not_blind_the_observer_and_is_reported(played):
    run = played["fork-bomb"]
    assert run.report["verdict"] == "pass", run.out  # port wait, netstat snapshot, Ctrl-C: all done
    assert run.report["limits"]["server"]["forks_refused"] > 0, run.report["limits"]
    assert any("the process limit (128) refused" in s for s in run.report["stopped_by_limits"])
    assert run.printed("What the limits stopped") and run.printed("the process limit (128) refused")


def test_a_memory_hog_is_killed_the_server_lives_and_it_is_reported(played):
    run = played["memory-hog"]
    assert run.report["verdict"] == "pass", run.out
    limits = run.report["limits"]["server"]
    assert limits["oom_kills"] >= 1 and limits["memory_max"] == 256 * 2**20, limits
    assert run.printed("the memory limit (256 MiB) was reached and the kernel killed")


def test_escape_sequences_in_output_never_reach_the_terminal(played):
    run = played["escapes"]
    assert run.proc.returncode == 1
    assert "\x1b" not in run.proc.stdout and "\u202e" not in run.proc.stdout
    assert run.printed("\\x1b[2J\\x1b[H\\x1b]0;pwned\\x07\\u202eWaiting for connection response")


def test_an_output_flood_is_cut_and_reported(played):
    run = played["output-flood"]
    assert run.report["programs"]["server"]["truncated"] is True
    assert "server: its output went past the limit; only its beginning was kept" in run.report["stopped_by_limits"]


def test_a_program_that_ignores_sigterm_is_killed_by_the_stop_step_and_reported(played):
    run = played["ignores-sigterm"]
    assert run.report["verdict"] == "pass", run.out
    assert run.report["programs"]["server"]["stopped"] == "SIGKILL: it did not end within 1 s of SIGTERM"
    assert run.printed("server: stopped with SIGKILL: it did not end within 1 s of SIGTERM")
