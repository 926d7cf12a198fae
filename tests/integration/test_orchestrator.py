"""The orchestrator for real: scenarios played on the Docker Engine with the project's images, checked
with real tshark; broken and course-style programs; interrupted and killed runs; validate; exit codes."""
from __future__ import annotations

import json
import re
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.integration import docker, labelled, not_between, tshark, wait_until

pytestmark = pytest.mark.docker


def orchestrator(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def leftovers(label: str) -> list[str]:
    containers, networks = labelled(label)
    return containers + networks


def report_of(runs: list[str]) -> dict:
    """The report of the one run made in this test's runs folder."""
    (report,) = Path(runs[1]).glob("*/report.json")
    return json.loads(report.read_text())


@pytest.fixture
def runs(tmp_path):
    return ["--runs-dir", str(tmp_path / "runs")]


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """Plays a scenario of scenarios/ once for the whole module: (the orchestrator's process, its runs args)."""
    done: dict[str, tuple[subprocess.CompletedProcess, list[str]]] = {}

    def play(name: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        if name not in done:
            runs = ["--runs-dir", str(tmp_path_factory.mktemp(name) / "runs")]
            done[name] = orchestrator("run", f"scenarios/{name}.yaml", *runs), runs
        return done[name]
    return play


@pytest.mark.parametrize("name", ["tcp", "udp", "tcp-clients", "closed-port", "names", "usage", "netstat", "filters",
                                  "lossy-link", "delay"])
def test_the_assignment_scenarios_pass(name, played):
    proc, runs = played(name)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rep = report_of(runs)
    assert rep["verdict"] == "pass" and rep["score"]["awarded"] == rep["score"]["total"]
    assert rep["capture"]["whole"]
    # every scenario but `names` and `usage` puts traffic on the wire (/etc/hosts answers gethostbyname: no
    # packet; programs refusing their arguments send nothing)
    assert (rep["capture"]["packets"] > 0) == (name not in ("names", "usage")), rep["capture"]
    assert {"node", "capture"} <= set(rep["images"]) and rep["images"]["node"]["id"].startswith("sha256:")
    folder = Path(rep["artifacts"])
    for artifact in ("capture.pcap", "report.json", "junit.xml", "logs/server.log", "logs/client.log"):
        assert (folder / artifact).is_file(), artifact
    # only the lab's computers are in the capture: none of the host's own chatter on the bridge
    assert tshark(folder / "capture.pcap", not_between(rep["addresses"].values())) == []
    assert leftovers(f"socklab.run={rep['run_id']}") == []


def test_the_tcp_run_shows_live_progress_and_every_check(played):
    proc, _ = played("tcp")
    assert "✓ steps[0] start server on server: server_tcp.py 0.0.0.0 5000" in proc.stdout
    assert "one SYN opens the connection (client to server)" in proc.stdout
    assert "verdict PASS" in proc.stdout


def test_a_broken_program_fails_with_evidence(tmp_path, runs):
    broken = tmp_path / "broken"
    broken.mkdir()
    source = (ROOT / "programs" / "server_tcp.py").read_text()
    (broken / "server_tcp.py").write_text(source.replace("{len(text)} chars", "{len(text.encode())} chars"))
    proc = orchestrator("run", "scenarios/tcp.yaml", "--programs", str(broken), *runs)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rep = report_of(runs)
    failed = [c for c in rep["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["replies count characters, not bytes"]
    assert "I received 4 chars: olá" in failed[0]["evidence"]
    assert "verdict FAIL" in proc.stdout and "I received 4 chars: olá" in proc.stdout
    assert leftovers(f"socklab.run={rep['run_id']}") == []


def test_programs_without_a_usage_line_lose_only_the_usage_checks(runs):
    """The handout's programs read sys.argv without checking it: started without their arguments they end
    on an IndexError (status 1). They lose the usage lines, with the traceback as evidence, and the non-zero
    exits with them: a traceback is not handling bad input (each exit requires its usage line)."""
    proc = orchestrator("run", "scenarios/usage.yaml", "--programs", "examples/submissions/handout-style", *runs)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rep = report_of(runs)
    failed = {c["name"]: c["evidence"] for c in rep["checks"] if not c["passed"]}
    usage = {n: e for n, e in failed.items() if "prints its usage" in n}
    exits = {n: e for n, e in failed.items() if "exits with a non-zero status" in n}
    assert len(usage) == len(exits) == 4 and len(failed) == 8, failed
    assert all("IndexError: list index out of range" in evidence and "exited with status 1" in evidence
               for evidence in usage.values()), failed
    assert all(evidence.startswith("Not earned: ") and "(On its own this check would have passed: " in evidence
               for evidence in exits.values()), exits
    assert rep["score"]["awarded"] == 0 and rep["score"]["total"] == 8


def test_a_server_bound_to_localhost_shows_in_netstat(runs):
    """netstat.yaml with a server that binds 127.0.0.1: its LISTEN row names the mistake; the run's folder
    has each snapshot as netstat prints it and as ss does."""
    proc = orchestrator("run", "scenarios/netstat.yaml", "--programs", "examples/submissions/binds-localhost", *runs)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rep = report_of(runs)
    failed = {c["name"]: c["evidence"] for c in rep["checks"] if not c["passed"]}
    listen = failed["the server's socket LISTENs on 0.0.0.0:5000, with no foreign address"]
    assert re.search(r"tcp +0 +0 127\.0\.0\.1:5000 +0\.0\.0\.0:\* +LISTEN", listen), listen
    assert "the UDP server has no \"connection\", even after a datagram came (no state)" not in failed
    folder = Path(rep["artifacts"])
    ss = (folder / "ss-listening.txt").read_text()
    assert re.search(r"tcp +LISTEN +0 +0 +127\.0\.0\.1:5000 +0\.0\.0\.0:\*", ss), ss
    assert "127.0.0.1:5000" in (folder / "netstat-listening.txt").read_text()


def test_a_udp_server_that_answers_is_seen_through_the_assignments_filter(tmp_path, runs):
    """filters.yaml with a UDP server that sends each datagram back: udp.port==6000 shows the answers."""
    broken = tmp_path / "broken"
    broken.mkdir()
    source = (ROOT / "programs" / "server_udp.py").read_text()
    answer = "data, (client_ip, client_port) = sock.recvfrom(MAX_DATAGRAM)"
    assert answer in source
    (broken / "server_udp.py").write_text(source.replace(
        answer, answer + "; sock.sendto(data, (client_ip, client_port))"))
    proc = orchestrator("run", "scenarios/filters.yaml", "--programs", str(broken), *runs)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rep = report_of(runs)
    failed = {c["name"]: c["evidence"] for c in rep["checks"] if not c["passed"]}
    (name, evidence), = failed.items()
    assert name == "udp.port==6000: nothing comes back (no handshake, no acknowledgement, no teardown)"
    assert re.search(r"#\d+ \S+ → \S+ UDP \d+ 6000 → \d+ Len=5", evidence), evidence


def impatient_client(seconds: float) -> str:
    """The reference TCP client made to give up (a traceback-free error, exit 1) when the greeting or an answer
    takes more than `seconds`, instead of saying so and carrying on after PATIENCE."""
    source = (ROOT / "programs" / "client_tcp.py").read_text()
    patience, carry_on = "PATIENCE = 3.0", "    except socket.timeout:\n        return None\n"
    assert patience in source and carry_on in source
    return source.replace(patience, f"PATIENCE = {seconds}").replace(carry_on, "")


def test_a_client_that_takes_a_slow_answer_for_none_fails_on_a_lossy_link(tmp_path, runs):
    """lossy-link.yaml with a TCP client that waits 0.1 s for each answer: a segment the link lost comes
    again after TCP's retransmission timeout (at least 0.2 s), so that client gives up at the first loss.
    The report says what the links did; the reference server and clients pass everything else."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "client_tcp.py").write_text(impatient_client(0.1))
    proc = orchestrator("run", "scenarios/lossy-link.yaml", "--programs", str(broken), *runs)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rep = report_of(runs)
    failed = {c["name"]: c["evidence"] for c in rep["checks"] if not c["passed"]}
    sequence = failed.pop("every message is answered, in order, though the link lost two of them (TCP resends them)")
    assert "chars: message 4" in sequence and "timed out" in sequence, sequence
    # (what else the early exit changes on the wire: whether the retransmission came before it, how it closed)
    assert set(failed) <= {"the client's kernel retransmits the lost segments (tcp.analysis.retransmission)",
                           "the connection still closes with a FIN from each side"}, failed
    assert [i["applied"] for i in rep["impairments"]] == [
        "server's link: loses 20% of what reaches it (every 5th TCP data segment and every 5th UDP datagram; "
        "handshakes, acknowledgements and teardowns pass)"]
    assert "The links" in proc.stdout


@pytest.mark.parametrize("before_listening, passes", [("busy", True), ("asleep", False)])
def test_a_wait_counts_only_the_time_the_programs_spent_waiting(tmp_path, before_listening, passes):
    """A server that computes for 6 s before it listens (as any would that starts on a machine whose CPUs are
    busy) passes tcp.yaml, whose wait for its port allows 5 s: the wait goes on while a program of the play
    is running or waiting for a CPU (Run.patiently). One that sleeps 6 s instead fails that wait at 5 s."""
    mine = tmp_path / "mine"
    mine.mkdir()
    delay = ("import time\n_until = time.monotonic() + 6\nwhile time.monotonic() < _until:\n    pass\n"
             if before_listening == "busy" else "import time\ntime.sleep(6)\n")
    (mine / "server_tcp.py").write_text(delay + (ROOT / "programs" / "server_tcp.py").read_text())
    runs = ["--runs-dir", str(tmp_path / "runs")]
    proc = orchestrator("run", "scenarios/tcp.yaml", "--programs", str(mine), *runs)
    rep = report_of(runs)
    wait = next(s for s in rep["steps"] if s["key"] == "steps[1]")
    if passes:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert wait["status"] == "ok" and wait["duration"] > 5
    else:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert wait["status"] == "failed" and wait["message"].startswith(
            "waited 5 s for a TCP socket listening on port 5000 on server; saw instead: listening TCP sockets on "
            "server: "), wait["message"]


def test_a_client_that_gives_up_after_50_ms_fails_on_a_slow_link(tmp_path, runs):
    """delay.yaml with a TCP client that waits 50 ms for each answer: over a link that delays the server's
    packets by 100 ms, it gives up at the first line. What the network showed (the handshake's round trip)
    still passes; the report says what the link did."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "client_tcp.py").write_text(impatient_client(0.05))
    proc = orchestrator("run", "scenarios/delay.yaml", "--programs", str(broken), *runs)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rep = report_of(runs)
    failed = {c["name"]: c["evidence"] for c in rep["checks"] if not c["passed"]}
    answered = failed.pop("every line is answered, in order, however slow the link")
    assert "timed out" in answered and "chars: hello" in answered, answered
    # (after giving up it sends nothing more: the second line's acknowledgement is missing too)
    assert set(failed) <= {"each line is acknowledged at least 100 ms after it arrived (ack_rtt of the server's "
                           "acknowledgements)"}, failed
    passed = {c["name"] for c in rep["checks"] if c["passed"]}
    assert "the handshake takes at least the link's 100 ms (ack_rtt of the server's SYN-ACK)" in passed
    assert [i["applied"] for i in rep["impairments"]] == ["server's link: delays what it sends by 100 ms"]


def test_jitter_reordering_and_duplication_shape_the_link_and_tcp_still_delivers(runs):
    """tests/scenarios/shaped-link.yaml: the delayer's jitter and reordering, and nftables' duplicates, on the
    wire (the client's kernel D-SACKs each duplicate), and every line still answered once and in order."""
    proc = orchestrator("run", "tests/scenarios/shaped-link.yaml", *runs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rep = report_of(runs)
    (applied,) = rep["impairments"]
    assert applied["applied"] == (
        "server's link: delays what it sends by 50 ms ± 20 ms, lets 25% of it go undelayed, ahead of the rest, "
        "duplicates 50% of what it sends (every 2nd of its TCP data segments and, counted apart, of its UDP "
        "datagrams)")
    assert applied["delayer"] == "delayer.py 0 50 20 25 server" and "dup to ip daddr" in applied["nft"]
    assert leftovers(f"socklab.run={rep['run_id']}") == []  # the delayer went with the lab


def test_a_client_that_hides_the_refusal_fails_closed_port_with_what_it_printed(tmp_path, runs):
    """closed-port.yaml with a TCP client that swallows ConnectionRefusedError and ends quietly: the check on
    what it says fails, showing its output; the network's checks (SYN, RST) and the UDP client's still pass."""
    broken = tmp_path / "broken"
    broken.mkdir()
    source = (ROOT / "programs" / "client_tcp.py").read_text()
    refused = 'return error(f"Error: connection refused by {address}:{port} "\n                             "(is the server running?)")'
    assert refused in source
    (broken / "client_tcp.py").write_text(source.replace(refused, "return 0"))
    proc = orchestrator("run", "scenarios/closed-port.yaml", "--programs", str(broken), *runs)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rep = report_of(runs)
    failed = {c["name"]: c["evidence"] for c in rep["checks"] if not c["passed"]}
    # (and its end by itself is no point: it ended without the behaviour that check is about, requires)
    assert list(failed) == ["the TCP client says the connection was refused", "the TCP client ends by itself (no hang)"], failed
    assert failed["the TCP client ends by itself (no hang)"].startswith("Not earned: ")
    assert "Waiting for connection response" in failed["the TCP client says the connection was refused"]


def test_a_udp_server_that_does_not_say_who_sent_fails_udp_with_its_lines(tmp_path, runs):
    """udp.yaml with a UDP server that prints each message but not where it came from (recvfrom's address):
    the one check on that fails, quoting the lines it printed."""
    broken = tmp_path / "broken"
    broken.mkdir()
    source = (ROOT / "programs" / "server_udp.py").read_text()
    sender = 'f"calling from: {client_ip}:{client_port}"'
    assert sender in source
    (broken / "server_udp.py").write_text(source.replace(sender, '""'))
    proc = orchestrator("run", "scenarios/udp.yaml", "--programs", str(broken), *runs)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rep = report_of(runs)
    failed = {c["name"]: c["evidence"] for c in rep["checks"] if not c["passed"]}
    assert list(failed) == ["server counts the datagrams and shows who sent them"], failed
    assert 'Received message "hello" from Client 1, ' in failed["server counts the datagrams and shows who sent them"]


COURSE_STYLE_CLIENT = '''\
import socket, sys
ClientSocket = socket.socket()
print('Waiting for connection response')
ClientSocket.connect((sys.argv[1], int(sys.argv[2])))
Response = ClientSocket.recv(1024)
while True:
    Input = input('Hey there: ')
    ClientSocket.send(str.encode(Input))
    Response = ClientSocket.recv(1024)
    print(Response.decode('utf-8'))
'''


def test_a_course_style_client_that_loops_forever_is_treated_fairly(tmp_path, runs):
    """Plain print (no flush) is not lost; the loop is ended with Ctrl-C, as a person would."""
    student = tmp_path / "student"
    student.mkdir()
    (student / "client_tcp.py").write_text(COURSE_STYLE_CLIENT)
    orchestrator("run", "scenarios/tcp.yaml", "--programs", str(student), *runs)
    rep = report_of(runs)
    assert rep["verdict"] == "pass", [c for c in rep["checks"] if not c["passed"]]
    assert rep["programs"]["client"]["exit_status"] != 0  # KeyboardInterrupt traceback, and still fair


def test_validate_asks_real_tshark_about_display_filters():
    proc = orchestrator("validate", "tests/scenarios/invalid/bad_display_filter.yaml")
    assert proc.returncode == 2
    expected = (ROOT / "tests/scenarios/invalid/bad_display_filter.yaml").read_text().splitlines()[0]
    expected = expected.removeprefix("# error: ").replace("{path}", "tests/scenarios/invalid/bad_display_filter.yaml")
    assert proc.stderr.strip() == f"error: {expected}"
    assert "Traceback" not in proc.stderr
    ok = orchestrator("validate", "scenarios/tcp.yaml", "scenarios/udp.yaml")
    assert ok.returncode == 0 and ok.stdout.count(": ok") == 2
    assert leftovers("socklab.purpose=validate") == []


def test_an_invalid_scenario_is_exit_2_without_running_anything(runs):
    proc = orchestrator("run", "tests/scenarios/invalid/unknown_top_key.yaml", *runs)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: tests/scenarios/invalid/unknown_top_key.yaml:")


def test_no_docker_daemon_is_exit_3(runs):
    proc = orchestrator("run", "scenarios/tcp.yaml", *runs, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert proc.returncode == 3 and "cannot reach a Docker Engine" in proc.stderr and "Traceback" not in proc.stderr


SLOW = """\
name: {name}
description: a server that never says what the scenario waits for, to interrupt or kill the run meanwhile
hosts: [server, client]
steps:
  - start: {{id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}}
  - wait: {{port: 5000, host: server}}
  - wait: {{program: server, log: "this never comes", timeout: 60}}
checks:
  - name: listening
    log: {{program: server, match: "listening"}}
"""


@pytest.fixture
def slow_runs():
    """Started slow runs; whatever a failing test leaves running is interrupted and cleaned."""
    started: list[tuple[subprocess.Popen, str]] = []
    yield started
    for proc, run_id in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        orchestrator("clean", "--run", run_id)


def start_slow_run(tmp_path, name: str, started: list) -> tuple[subprocess.Popen, str]:
    name = f"{name}-{uuid.uuid4().hex[:8]}"  # its containers are found by this name: unique to this test
    path = tmp_path / f"{name}.yaml"
    path.write_text(SLOW.format(name=name))
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "run", str(path), "--runs-dir", str(tmp_path)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started.append((proc, "none-yet"))  # ended by the fixture even if the run never gets going
    # wait until the run is inside the long wait: its first two steps done. Its output is read on a
    # thread, so that a run that stalls without a word cannot hold the wait past its deadline.
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()

    def probe():
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            return False, "(no new output)"
        return "steps[1]" in line, line
    wait_until("the run to reach its long wait", probe, timeout=60)
    run_ids = {docker("inspect", "-f", '{{index .Config.Labels "socklab.run"}}', c).stdout.strip()
               for c in docker("ps", "-q", "--filter", f"label=socklab.scenario={name}").stdout.split()}
    assert len(run_ids) == 1, run_ids
    started[-1] = (proc, run_ids.pop())
    return started[-1]


def test_programs_run_sandboxed(runs):
    proc = orchestrator("run", "tests/scenarios/sandbox.yaml", *runs)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def inspect(kind: str, label: str) -> list[dict]:
    ids = docker(kind, "ls", "-q", "--filter", f"label={label}").stdout.split() if kind == "network" else \
        docker("ps", "-q", "--filter", f"label={label}").stdout.split()
    return json.loads(docker("inspect", *ids).stdout) if ids else []


def test_a_run_interrupted_with_sigint_tears_down(tmp_path, slow_runs):
    proc, run_id = start_slow_run(tmp_path, "interrupted-run", slow_runs)
    assert leftovers(f"socklab.run={run_id}")
    # while it runs: no egress (an internal network) and no host address on its bridge
    (network,) = inspect("network", f"socklab.run={run_id}")
    assert network["Internal"] is True
    assert network["Options"]["com.docker.network.bridge.inhibit_ipv4"] == "true"
    containers = inspect("container", f"socklab.run={run_id}")
    hosts = [c for c in containers if not c["HostConfig"]["NetworkMode"].startswith("container:")]
    (capture,) = [c for c in containers if c["HostConfig"]["NetworkMode"].startswith("container:")]
    assert len(hosts) == 2
    for c in hosts:  # sandboxed with limits; PID 1 root (the lease), programs as the student (exec)
        hc = c["HostConfig"]
        assert c["Config"]["User"] == "root" and hc["CapDrop"] == ["ALL"] and hc["CapAdd"] == ["KILL"]
        assert hc["SecurityOpt"] == ["no-new-privileges"] and not hc["Privileged"]
        assert hc["Memory"] == 256 * 2**20 and hc["NanoCpus"] == 10**9 and hc["PidsLimit"] == 128
        assert hc["ReadonlyRootfs"] is True and set(hc["Tmpfs"]) == {"/tmp", "/home/student"}
        assert c["Config"]["OpenStdin"] and c["Config"]["StdinOnce"] and c["Config"]["Cmd"] == ["cat"]
    hc = capture["HostConfig"]  # the capture: only what capturing needs, and limits
    assert sorted(hc["CapAdd"]) == ["CHOWN", "NET_RAW", "SETGID", "SETUID"] and hc["CapDrop"] == ["ALL"]
    assert hc["SecurityOpt"] == ["no-new-privileges"] and hc["ReadonlyRootfs"] is True
    assert hc["Memory"] == 512 * 2**20 and hc["NanoCpus"] == 10**9 and hc["PidsLimit"] == 64
    # tcpdump dropped root once the interface was open: it writes and prints packets as the analyst
    users = docker("exec", capture["Id"], "ps", "-o", "user=", "-C", "tcpdump").stdout.split()
    assert users == ["analyst"], users
    assert docker("volume", "ls", "-q", "--filter", f"label=socklab.run={run_id}").stdout.split()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert leftovers(f"socklab.run={run_id}") == []
    assert docker("volume", "ls", "-q", "--filter", f"label=socklab.run={run_id}").stdout.split() == []


def test_a_run_stopped_with_sigterm_tears_down(tmp_path, slow_runs):
    proc, run_id = start_slow_run(tmp_path, "terminated-run", slow_runs)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 130
    assert leftovers(f"socklab.run={run_id}") == []


def running(label: str) -> list[str]:
    return docker("ps", "-q", "--filter", f"label={label}").stdout.split()


def test_a_killed_orchestrators_lab_stops_by_itself_and_clean_spares_a_live_run(tmp_path, slow_runs):
    """kill -9 leaves no chance to tear down: the lab's containers hold a lease on the orchestrator and stop
    when it dies (whatever the student started goes with them); `clean` then removes the dead run, and
    leaves alone a run that is still alive on the same engine."""
    alive, alive_id = start_slow_run(tmp_path, "alive-run", slow_runs)
    killed, killed_id = start_slow_run(tmp_path, "killed-run", slow_runs)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    wait_until("the killed run's containers to stop by themselves",
               lambda: ((left := running(f"socklab.run={killed_id}")) == [], left), timeout=15)
    assert leftovers(f"socklab.run={killed_id}")  # stopped, not removed: that is clean's job
    clean = orchestrator("clean")
    assert clean.returncode == 0, clean.stderr
    assert killed_id in clean.stdout and f"left run {alive_id} alone: it is alive" in clean.stdout, clean.stdout
    assert leftovers(f"socklab.run={killed_id}") == []
    assert len(running(f"socklab.run={alive_id}")) == 3  # the live run was not touched
    again = orchestrator("clean", "--run", alive_id)
    assert "it is alive" in again.stdout and len(running(f"socklab.run={alive_id}")) == 3
    alive.send_signal(signal.SIGINT)
    assert alive.wait(timeout=30) == 130
    assert leftovers(f"socklab.run={alive_id}") == []


def test_sigterm_early_in_a_run_is_an_interrupt(tmp_path):
    """SIGTERM as soon as the run has begun (images, the lab being created): 130 and nothing left behind."""
    name = f"early-{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.yaml"
    path.write_text(SLOW.format(name=name))
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "run", str(path), "--runs-dir", str(tmp_path)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert name in proc.stdout.readline()  # the scenario is loaded: the run begins
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130, proc.stderr.read()
    assert leftovers(f"socklab.scenario={name}") == []


def test_validate_stopped_by_sigterm_leaves_no_container(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "validate", "scenarios/tcp.yaml"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until("validate's tshark container",
               lambda: (bool(ids := docker("ps", "-aq", "--filter", "label=socklab.purpose=validate").stdout.split())
                        or proc.poll() is not None, ids), timeout=60)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) in (0, 130)  # (0: it had finished already)
    assert leftovers("socklab.purpose=validate") == []


def test_a_submission_with_a_link_to_a_host_file_is_refused_before_anything_runs(tmp_path, runs):
    student = tmp_path / "student"
    student.mkdir()
    (student / "server_tcp.py").symlink_to("/etc/hostname")
    proc = orchestrator("run", "scenarios/tcp.yaml", "--programs", str(student), *runs, timeout=30)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {student}/server_tcp.py: is a symbolic link (to /etc/hostname)")
    assert not Path(runs[1]).exists()


def test_an_exec_session_survives_the_garbage_collector():
    """docker-py's socket wrapper holds the HTTP response: once it was dropped, the collector closed the
    connection under an exec session (EBADF) whenever it ran: keep it. Forced here with gc.collect()."""
    import gc

    from orchestrator.lab.engine import Engine
    from orchestrator.lab.process import Shell

    engine = Engine()
    cid = engine.create_container(name=None, image="socklab/node:latest", command=["sleep", "30"],
                                  labels={"socklab.run": f"test-gc-{uuid.uuid4().hex[:8]}"}, network_mode="none")
    try:
        engine.start(cid)
        shell = Shell(engine, cid, "root", "gc", "bash")
        for _ in range(3):
            gc.collect()
            assert shell.run(["echo", "alive"], timeout=10)[:2] == (0, "alive\n")
        shell.close()
    finally:
        engine.remove_container(cid)
        engine.close()


def test_output_that_came_with_the_exec_starts_answer_is_read(monkeypatch):
    """The program's first output can arrive before our side reads the HTTP answer of the exec's start (a
    loaded machine): http.client's reader then holds it in its buffer, beneath which the SDK hands over the
    raw socket. Reading only the socket lost it: the wrapper's pid line, 8 plays in a busy grading. Forced
    here by reading the answer half a second late; every line must come, the first included."""
    import http.client

    from orchestrator.lab.engine import Engine
    from orchestrator.lab.process import RemoteProcess

    begin = http.client.HTTPResponse.begin

    calls = []

    def late(response):
        calls.append(1)
        time.sleep(0.5)
        return begin(response)

    engine = Engine()
    cid = engine.create_container(name=None, image="socklab/node:latest", command=["sleep", "30"],
                                  labels={"socklab.run": f"test-early-{uuid.uuid4().hex[:8]}"}, network_mode="none")
    try:
        engine.start(cid)
        monkeypatch.setattr(http.client.HTTPResponse, "begin", late)
        # (0.1 s between the two streams' first lines: Docker copies stdout and stderr separately, so two lines
        # written a microsecond apart on the two came the other way round once, in a fresh-clone make test)
        proc = RemoteProcess(engine, cid, ["sh", "-c", "echo first; sleep 0.1; echo second >&2; sleep 0.2; echo third"],
                             id="early", host="early")
        monkeypatch.setattr(http.client.HTTPResponse, "begin", begin)
        assert calls, "the exec's start was answered late"
        assert proc.wait_exit(10) == 0
        assert proc.known_pid() is not None, "the wrapper's pid line came"
        assert [(line.stream, line.text) for line in proc.evidence().lines] == \
            [("stdout", "first"), ("stderr", "second"), ("stdout", "third")]
        proc.close()
    finally:
        engine.remove_container(cid)
        engine.close()
