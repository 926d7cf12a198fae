"""The runner against a small fake engine: steps in order, failures recorded, teardown always."""
import time

import pytest

from orchestrator.play import runner
from orchestrator.lab.engine import RUN_LABEL
from orchestrator.evidence import ImageEvidence
from orchestrator.model.scenario import parse_scenario
from orchestrator.model.topology import load_topology

from tests.support import ROOT

from .fake_engine import FakeEngine

TOPOLOGY = load_topology(ROOT / "compose.yaml")
IMAGES = {"node": ImageEvidence("node", "socklab/node:abc", "sha256:1", "p1"),
          "capture": ImageEvidence("capture", "socklab/capture:def", "sha256:2", "p2")}

TCP = """
name: fake-tcp
description: the TCP exchange, against a fake engine
hosts: [server, client]
defaults: {timeout: %(timeout)s}
steps:
  - start: {id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}
  - wait: {port: 5000, host: server}
  - start: {id: client, host: client, run: [client_tcp.py, "{server.ip}", "5000"]}
  - send: {program: client, lines: [hello, "to {server.name}"]}
  - wait: {program: client, log: "chars: to server"}
  - netstat: {host: server, name: connected}
  - signal: {program: client, signal: SIGINT}
  - wait: {program: client, exit: 0}
  - signal: {program: server, signal: SIGINT}
  - wait: {program: server, exit: 0}
checks:
  - name: a SYN
    judges: client
    capture: {filter: "tcp.flags.syn==1 && ip.src=={client.ip}", count: 1}
"""


def server_tcp(proc):
    proc.out("Socket is listening in address 0.0.0.0 and port 5000 ...")
    proc.bind("tcp", 5000)
    proc.wait_signal()
    proc.out("Caught keyboard interrupt, exiting")
    return 0


def typed_lines(proc):
    """The reference client's read loop: its prompt, then each line typed, until the end of input (which ends
    the prompt's line). Yields each line; the caller answers it before the next prompt."""
    while True:
        proc.out("Hey there: ", end="")
        kind, value = proc.next()
        if kind != "line":
            proc.out("")
            return
        yield value


def client_tcp(proc):
    proc.out("Waiting for connection response")
    for value in typed_lines(proc):
        proc.out(f"Server message: I received {len(value)} chars: {value}")
    return 0


def silent_client(proc):
    proc.out("Waiting for connection response")
    proc.wait_signal()
    return 130


def scenario(text=TCP, timeout=5):
    return parse_scenario(text % {"timeout": timeout}, "fake.yaml", TOPOLOGY)


def play(engine, sc, tmp_path, events=None, **options):
    opts = runner.RunOptions(runs_dir=tmp_path, images=IMAGES, quiet=0.01, **options)
    return runner.run(engine, TOPOLOGY, sc, opts, events or (lambda e: None))


@pytest.fixture
def engine():
    return FakeEngine({"server_tcp.py": server_tcp, "client_tcp.py": client_tcp},
                      tshark_output="total\t10\ncount\t1\t1\nsample\t1\t#1 a -> b len=74 TCP [S]\n")


def test_every_step_plays_in_order_and_evidence_is_collected(engine, tmp_path):
    ev = play(engine, scenario(), tmp_path)
    assert [s.status for s in ev.steps] == ["ok"] * 10, [s.message for s in ev.steps]
    assert ev.error is None
    client = ev.programs["client"]
    server_ip = ev.addresses["server"]
    assert client.argv == ("python3", "-u", "client_tcp.py", server_ip, "5000")  # placeholders expanded
    assert "Server message: I received 9 chars: to server" in client.text()[2]
    assert client.exit_status == 0 and ev.programs["server"].exit_status == 0
    assert ev.programs["server"].text()[-1] == "Caught keyboard interrupt, exiting"
    assert "connected" in ev.snapshots
    assert ev.capture.whole and ev.capture.packets == 10
    assert ev.capture.counts == {f"tcp.flags.syn==1 && ip.src=={ev.addresses['client']}": 1}
    assert (tmp_path / ev.run_id / "capture.pcap").read_bytes() == b"fake pcap"
    assert "Caught keyboard interrupt" in (tmp_path / ev.run_id / "logs" / "server.log").read_text()
    assert (tmp_path / ev.run_id / "netstat-connected.txt").exists()


def test_the_lab_is_sandboxed_labelled_and_removed_by_label(engine, tmp_path):
    created = {}
    real_create = engine.create_container

    def spy(**kw):
        cid = real_create(**kw)
        created[kw["name"].rsplit("-", 1)[-1]] = dict(kw, id=cid)
        return cid

    engine.create_container = spy
    ev = play(engine, scenario(), tmp_path)
    net = next(iter(engine.networks.values())) if engine.networks else None
    assert net is None  # removed at teardown
    assert engine.removed_labels == [(RUN_LABEL, ev.run_id)]
    for host in ("server", "client"):
        kw = created[host]
        assert kw["labels"][RUN_LABEL] == ev.run_id
        # PID 1 (init and the lease) is root, out of the student's reach; the only capability is KILL, for
        # the root observer to signal programs (student processes, non-root with no-new-privileges, hold none)
        assert kw["user"] == "root" and kw["cap_drop"] == ["ALL"] and kw["cap_add"] == ["KILL"]
        assert kw["security_opt"] == ["no-new-privileges"]
        assert kw["mem_limit"] and kw["pids_limit"] and kw["nano_cpus"]
        assert kw["image"] == "socklab/node:abc"  # the exact image, not :latest
        assert kw["ip"] == ev.addresses[host] and kw["ip"].startswith("10.78.")
        # no disk to fill: a read-only root, size-capped tmpfs where programs may write
        assert kw["read_only"] is True and kw["shm_size"] == "16m"
        assert kw["tmpfs"] == {"/tmp": "size=16m,mode=1777",
                               "/home/student": "size=16m,uid=1000,gid=1000,mode=0755"}
        assert kw["lease"] is True and kw["command"] == ["cat"]
    # every program ran as the host's user, demoted (first to go when memory runs out, nice 10)
    programs = [s for s in engine.sessions.values() if s.proc.argv[:2] == ["python3", "-u"]]
    assert len(programs) == 2 and {s.user for s in programs} == {"student"}
    assert all("oom_score_adj" in s.command[2] and "nice -n 10" in s.command[2] for s in programs)
    cap = created["capture"]
    assert cap["network_mode"] == f"container:{created['server']['id']}"
    assert cap["labels"][RUN_LABEL] == ev.run_id
    assert cap["cap_drop"] == ["ALL"] and cap["cap_add"] == ["NET_RAW", "SETUID", "SETGID", "CHOWN"]
    assert cap["security_opt"] == ["no-new-privileges"] and cap["read_only"] is True
    assert cap["mem_limit"] and cap["pids_limit"] and cap["nano_cpus"] and cap["lease"] is True
    (volume,) = cap["binds"]
    assert cap["binds"][volume]["bind"] == "/captures"
    # every container was leased before it started: none runs without its orchestrator
    assert sorted(engine.leases) == sorted(kw["id"] for kw in created.values())


def test_network_is_internal_and_has_a_free_subnet(engine, tmp_path):
    seen = {}
    real = engine.create_network

    def spy(name, subnet, gateway, labels, internal=True, options=None):
        seen.update(name=name, subnet=subnet, gateway=gateway, labels=labels, internal=internal, options=options)
        return real(name, subnet, gateway, labels, internal, options)

    engine.create_network = spy
    ev = play(engine, scenario(), tmp_path)
    assert seen["internal"] is True and seen["labels"][RUN_LABEL] == ev.run_id
    assert seen["subnet"].startswith("10.78.") and seen["subnet"].endswith(".0/24")
    assert seen["gateway"] == seen["subnet"].replace(".0/24", ".1")
    # the host keeps no address on the lab's bridge: the gateway address answers nothing (issue 7)
    assert seen["options"] == {"com.docker.network.bridge.inhibit_ipv4": "true"}


def test_the_capture_leaves_out_the_hosts_own_chatter(engine, tmp_path):
    """IPv6 (the lab's hosts have none: it is the host's link-local chatter), anything to or from the
    gateway (the host's own address on a bridge that has one) and anything from 0.0.0.0 (the host, on a
    bridge without an address: an IGMP join) are filtered out by tcpdump; the report says so."""
    ev = play(engine, scenario(), tmp_path)
    gateway = ev.addresses["server"].rsplit(".", 1)[0] + ".1"
    (tcpdump,) = [argv for _, argv in engine.exec_log if argv and argv[0] == "tcpdump"]
    assert tcpdump[-1] == f"not ip6 and not host {gateway} and not src host 0.0.0.0"
    assert ev.capture.filter == f"not ip6 and not host {gateway} and not src host 0.0.0.0"


def test_a_failed_wait_does_not_skip_the_steps_after_it(tmp_path):
    """Issue 8: a wait that fails (a client that never prints the answer) is recorded with what was seen,
    and the steps after it are still played, so that the checks judge evidence, not "not taken"."""
    engine = FakeEngine({"server_tcp.py": server_tcp, "client_tcp.py": silent_client})
    ev = play(engine, scenario(timeout=0.3), tmp_path)
    status = {s.key: s.status for s in ev.steps}
    assert [status[f"steps[{i}]"] for i in range(4)] == ["ok"] * 4 and status["steps[4]"] == "failed"
    failed = ev.steps[4]
    assert failed.key == "steps[4]" and failed.line == 11
    assert "waited 0.3 s for 1 line(s) matching /chars: to server/ from client" in failed.message
    assert "Waiting for connection response" in failed.message  # what was seen instead
    # the netstat and both Ctrl-Cs still happen; the client (130) is not the 0 the scenario expects
    assert (status["steps[5]"], status["steps[6]"], status["steps[8]"], status["steps[9]"]) == ("ok",) * 4
    assert "connected" in ev.snapshots
    assert status["steps[7]"] == "failed" and "client exited with status 130, expected 0" in ev.steps[7].message
    assert engine.removed_labels == [(RUN_LABEL, ev.run_id)]
    assert ev.programs["client"].exit_status == 130 and ev.programs["server"].exit_status == 0
    assert ev.capture.whole and ev.capture.packets == 10  # the capture was still stopped and analysed


def test_a_port_wait_ends_at_once_when_every_program_on_the_host_has_exited(tmp_path):
    def crashing_server(proc):
        proc.err("Traceback (most recent call last):")
        proc.err("OSError: [Errno 99] Cannot assign requested address")
        return 1

    engine = FakeEngine({"server_tcp.py": crashing_server, "client_tcp.py": client_tcp})
    ev = play(engine, scenario(timeout=5), tmp_path)
    wait = ev.steps[1]
    assert wait.status == "failed" and wait.duration < 2  # not the 5 s of its timeout
    assert "it can no longer come" in wait.message and "every program on server has exited" in wait.message
    assert "server exited (status 1)" in wait.message and "Cannot assign requested address" in wait.message


def test_an_exit_status_other_than_expected_fails_the_step(tmp_path):
    def server_exits_1(proc):
        server_tcp(proc)
        return 1

    engine = FakeEngine({"server_tcp.py": server_exits_1, "client_tcp.py": client_tcp})
    ev = play(engine, scenario(), tmp_path)
    assert ev.steps[-1].status == "failed"
    assert "server exited with status 1, expected 0" in ev.steps[-1].message


def test_an_engine_failure_is_a_run_error_and_still_tears_down(tmp_path):
    engine = FakeEngine({}, fail_on="create_container")
    ev = play(engine, scenario(), tmp_path)
    assert "fake engine told to fail in create_container" in ev.error
    assert engine.removed_labels == [(RUN_LABEL, ev.run_id)]
    assert ev.steps == ()


def test_an_interrupt_tears_down_and_propagates(engine, tmp_path):
    def interrupt_at_third_step(event):
        if event.kind == "step-start" and event.text.startswith("steps[2]"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        play(engine, scenario(), tmp_path, events=interrupt_at_third_step)
    assert len(engine.removed_labels) == 1 and engine.removed_labels[0][0] == RUN_LABEL


def test_parallel_steps_start_several_clients_at_once(tmp_path):
    def udp_client(proc):
        return 0

    text = """
name: fake-parallel
description: three clients at once
hosts: [server, client]
steps:
  - start: {id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}
  - parallel:
      - start: {id: c1, host: client, run: [client_udp.py, server, "5000", one]}
      - start: {id: c2, host: client, run: [client_udp.py, server, "5000", two]}
      - start: {id: c3, host: client, run: [client_udp.py, server, "5000", three]}
  - wait: {program: c3, exit: 0}
  - signal: {program: server, signal: SIGINT}
  - wait: {program: server, exit: 0}
checks:
  - name: c1 exits 0
    exit: {program: c1, status: 0}
"""
    engine = FakeEngine({"server_tcp.py": server_tcp, "client_udp.py": udp_client})
    ev = play(engine, parse_scenario(text, "p.yaml", TOPOLOGY), tmp_path)
    keys = [s.key for s in ev.steps]
    assert {"steps[1].parallel[0]", "steps[1].parallel[1]", "steps[1].parallel[2]", "steps[1]"} <= set(keys)
    assert all(s.status == "ok" for s in ev.steps), [(s.key, s.message) for s in ev.steps]
    assert {"c1", "c2", "c3"} <= set(ev.programs)


def test_submission_programs_run_from_their_own_volume_the_others_from_the_image(engine, tmp_path):
    files = {"server_tcp.py": b"print('mine')\n"}
    ev = play(engine, scenario(), tmp_path, programs=files)
    # put once, into a root-owned tmpfs volume every host mounts (the root filesystem is read-only)
    assert engine.put_log[0] == ("/opt/socklab/submission", files)
    assert [d for d, _ in engine.put_log].count("/opt/socklab/submission") == 1
    assert ev.programs["server"].source == "submission" and ev.programs["client"].source == "reference"
    workdirs = {s.proc.argv[2]: s.workdir for s in engine.sessions.values() if s.proc.argv[:2] == ["python3", "-u"]}
    assert workdirs == {"server_tcp.py": "/opt/socklab/submission", "client_tcp.py": "/opt/socklab/programs"}


def test_a_capture_that_is_not_whole_is_a_problem(tmp_path):
    engine = FakeEngine({"server_tcp.py": server_tcp, "client_tcp.py": client_tcp}, tshark_output="total\t9\n")
    ev = play(engine, scenario(), tmp_path)
    assert not ev.capture.whole
    assert ev.capture.problem == "the capture is not whole: tcpdump captured 10 packets but the pcap holds 9"


def test_the_scenario_time_limit_stops_the_steps(tmp_path):
    engine = FakeEngine({"server_tcp.py": server_tcp, "client_tcp.py": silent_client})
    text = TCP.replace("defaults:", "timeout: 0.5\ndefaults:")
    ev = play(engine, scenario(text, timeout=5), tmp_path)
    failed = [s for s in ev.steps if s.status == "failed"]
    assert failed[0].key == "steps[4]" and "waited 0." in failed[0].message  # cut to what was left of the 0.5 s
    assert all("the scenario's time limit (0.5 s) ran out before this step" in s.message for s in failed[1:])
    assert [s.key for s in failed[1:]] == [f"steps[{i}]" for i in range(5, 10)]
    assert engine.removed_labels == [(RUN_LABEL, ev.run_id)]


class SlowClientEngine(FakeEngine):
    """Creating the client's container takes a while (a busy engine); the server's is interrupted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log = []

    def create_container(self, **kwargs):
        if kwargs["name"].endswith("-server"):
            raise KeyboardInterrupt  # as if Ctrl-C came while the lab was being created
        time.sleep(0.3)
        self.log.append("client created")
        return super().create_container(**kwargs)

    def remove_labelled(self, label, value=None):
        self.log.append("teardown")
        return super().remove_labelled(label, value)


def test_an_interrupt_while_creating_the_lab_waits_for_hosts_still_being_created(tmp_path):
    """Teardown lists by label: a container whose creation was still on its way would be missed."""
    engine = SlowClientEngine({"server_tcp.py": server_tcp, "client_tcp.py": client_tcp})
    with pytest.raises(KeyboardInterrupt):
        play(engine, scenario(), tmp_path)
    assert engine.log == ["client created", "teardown"]
    assert engine.containers == {}


STOP = """
name: stop
description: a server stopped with the stop step
hosts: [server, client]
defaults: {timeout: 0.5}
steps:
  - start: {id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}
  - wait: {port: 5000, host: server}
  - stop: {program: server}
checks:
  - name: it said where it listens
    log: {program: server, match: listening, count: 1}
"""


class SlowExitStatusEngine(FakeEngine):
    """The engine does not give the server's exit status (yet) once it has ended."""

    def exec_exit_code(self, exec_id):
        if "server_tcp.py" in self.sessions[exec_id].proc.argv:
            return None
        return super().exec_exit_code(exec_id)


def test_stop_does_not_kill_a_program_that_ended_when_its_status_is_late(tmp_path):
    engine = SlowExitStatusEngine({"server_tcp.py": server_tcp, "client_tcp.py": client_tcp})
    ev = play(engine, scenario(STOP), tmp_path)
    assert [r.status for r in ev.steps] == ["ok", "ok", "ok"], [r.message for r in ev.steps]


def test_a_second_interrupt_as_the_teardown_begins_does_not_cut_it_short(engine, tmp_path):
    """The probe's case: Ctrl-C, then an impatient second one (or SIGTERM) right as the teardown starts."""
    import os
    import signal as signals

    def impatient(event):
        if event.kind == "step-start" and event.text.startswith("steps[2]"):
            os.kill(os.getpid(), signals.SIGINT)
        if event.kind == "phase" and event.text == "teardown":
            os.kill(os.getpid(), signals.SIGTERM)

    with pytest.raises(KeyboardInterrupt):
        play(engine, scenario(), tmp_path, events=impatient)
    assert len(engine.removed_labels) == 1 and engine.containers == {}


def test_an_interrupt_while_the_network_is_being_created_waits_for_it(tmp_path):
    """Docker finishes creating a network whose request was interrupted, after teardown has looked for
    it (the probe's case): so the call that creates it is never cut short; the interrupt comes after."""
    import os
    import signal as signals

    class InterruptedNetworkEngine(FakeEngine):
        calls: list[str] = []

        def create_network(self, *args, **kwargs):
            self.calls.append("creating")
            os.kill(os.getpid(), signals.SIGINT)  # Ctrl-C while the engine creates it
            created = super().create_network(*args, **kwargs)
            self.calls.append("created")
            return created

    engine = InterruptedNetworkEngine({"server_tcp.py": server_tcp, "client_tcp.py": client_tcp})
    with pytest.raises(KeyboardInterrupt):
        play(engine, scenario(), tmp_path)
    assert engine.calls == ["creating", "created"] and engine.removed_labels


def test_the_host_logs_keep_lines_of_one_time_in_the_order_they_came(tmp_path):
    """Lines read in one chunk of output share their time: the log keeps their order (it sorted them by text)."""
    from orchestrator.evidence import Line, ProgramEvidence

    run = runner.Run.__new__(runner.Run)
    run.folder, run.scenario, run.snapshots = tmp_path, scenario(), {}
    lines = tuple(Line(1.5, "stdout", text) for text in ("Thread Number: 2", "Connected to Client 3", "Bye"))
    run._write_artifacts({"server": ProgramEvidence("server", "server", ("server_tcp.py",), lines, 0, 0.1, 2.0)})
    assert (tmp_path / "logs" / "server.log").read_text().splitlines() == [
        "    1.500 server stdout: Thread Number: 2", "    1.500 server stdout: Connected to Client 3",
        "    1.500 server stdout: Bye", "    2.000 server exit 0"]


IMPAIRED = TCP.replace("steps:\n", "impair:\n  - {host: server, loss: 20%%}\nsteps:\n", 1)  # (TCP is a %-template)


def test_an_impaired_link_is_applied_by_a_helper_in_the_hosts_namespace_before_any_step(engine, tmp_path):
    ev = play(engine, scenario(IMPAIRED), tmp_path)
    assert ev.error is None
    (helper, spec), = [(c, spec) for c, spec in engine.created if "-impair-" in (spec.get("name") or "")]
    server = next(c for c, s in engine.created if (s.get("name") or "").endswith("-server"))
    assert spec["network_mode"] == f"container:{server}" and spec["cap_add"] == ["NET_ADMIN"]
    assert spec["cap_drop"] == ["ALL"] and spec["read_only"] and spec["security_opt"] == ["no-new-privileges"]
    assert "numgen inc mod 5 { 4 } counter drop" in spec["command"][4]  # sh -c SCRIPT impair RULESET
    assert helper in engine.removed and engine.started.index(helper) < len(engine.started)
    (applied,) = ev.impairments
    assert applied["host"] == "server" and applied["applied"].startswith("server's link: loses 20% of what reaches it")
    assert ev.timings["impair"] >= 0


DELAYED = TCP.replace("steps:\n", "impair:\n  - {host: client, delay: 100ms, jitter: 5ms}\nsteps:\n", 1)


def test_a_delayed_link_gets_a_delayer_that_lasts_the_lab_holds_only_net_admin_and_ends_with_it(engine, tmp_path):
    ev = play(engine, scenario(DELAYED), tmp_path)
    assert ev.error is None
    assert not [spec for _, spec in engine.created if "-impair-" in (spec.get("name") or "")]  # nothing else asked
    (delayer, spec), = [(c, spec) for c, spec in engine.created if "-delayer-" in (spec.get("name") or "")]
    client = next(c for c, s in engine.created if (s.get("name") or "").endswith("-client"))
    assert spec["network_mode"] == f"container:{client}" and spec["cap_add"] == ["NET_ADMIN"]
    assert spec["cap_drop"] == ["ALL"] and spec["read_only"] and spec["security_opt"] == ["no-new-privileges"]
    assert spec["command"][-7:] == ["POSTROUTING -o eth0 -j NFQUEUE --queue-num 0 --queue-bypass",
                                    "0", "100", "5", "0", "client", "lease"]
    assert spec["lease"] and delayer in engine.leases  # it ends with the orchestrator, however it ends
    assert spec["labels"]["socklab.run"] == ev.run_id  # and teardown removes it with the lab
    (applied,) = ev.impairments
    assert applied["delayer"] == "delayer.py 0 100 5 0 client"
    assert applied["applied"] == "client's link: delays what it sends by 100 ms ± 5 ms"


def test_a_delayer_that_cannot_start_is_an_environment_problem_with_its_words(tmp_path):
    engine = FakeEngine({"server_tcp.py": server_tcp, "client_tcp.py": client_tcp},
                        delayer_output="the delayer failed:\ndelayer: configuring queue 0 failed: Operation not permitted\n")
    engine.state = lambda cid: {"Running": False, "Status": "exited", "ExitCode": 1}
    ev = play(engine, scenario(DELAYED), tmp_path)
    assert ev.error.startswith("fake.yaml:7 (impair[0]): delaying the link failed: ")
    assert "configuring queue 0 failed: Operation not permitted" in ev.error
    assert [s for s in ev.steps] == []  # nothing played on a lab that is not what the scenario says


def test_a_signal_waits_until_the_program_has_been_quiet_as_a_person_reading_its_output_would(engine, tmp_path):
    """A Ctrl-C is sent SETTLE seconds after the program's last output at the soonest (and once it is asleep):
    sent within a millisecond of a line, it could land before the read() the program then blocks in."""
    ev = play(engine, scenario(), tmp_path)
    signals = [s for s in ev.steps if s.kind == "signal"]
    assert signals and ev.error is None
    for step in signals:
        program = ev.programs[step.description.split()[-1]]
        before = [ln.t for ln in program.lines if ln.t <= step.started]  # (after it: the reaction)
        if before:
            assert step.started + step.duration - before[-1] >= runner.SETTLE - 0.005, (step, before[-1])


def test_every_program_gets_the_same_randomness_every_time():
    """A program that draws from Python's random (a random delay, a random exit status) does the same in every
    play: the runner's environment puts the image's sitecustomize (which seeds random) first and fixes the hash
    seed (README, Grading: the same points every time)."""
    import subprocess
    import sys

    from orchestrator.play.runner import PROGRAM_ENVIRONMENT

    site = ROOT / "images" / "node" / "site"
    assert PROGRAM_ENVIRONMENT["PYTHONPATH"] == "/opt/socklab/site" and PROGRAM_ENVIRONMENT["PYTHONHASHSEED"] == "0"
    env = {**PROGRAM_ENVIRONMENT, "PYTHONPATH": str(site)}
    draw = "import random; print(random.random(), random.choice([0, 1]), list({'a', 'b', 'c', 'd'}))"
    runs = {subprocess.run([sys.executable, "-c", draw], env=env, capture_output=True, text=True, check=True).stdout
            for _ in range(3)}
    assert len(runs) == 1


def test_a_flood_past_the_output_limit_is_dropped_in_the_program_itself():
    """Issue 15: the image's sitecustomize drops what a program prints past the lab's output limit (a little
    past it, so that the orchestrator still sees the cut and says so), so a program printing a flood runs at
    its own pace instead of waiting on its pipe for the lab to read every line: it ends, with its own exit
    status and its last stderr line dropped like the rest; without the limit in its environment it prints all."""
    import subprocess
    import sys

    site = ROOT / "images" / "node" / "site"
    flood = ("import sys\nfor i in range(200_000): print(f'debug {i}')\n"
             "print(sys.stdout.encoding, sys.stdout.fileno(), file=sys.stderr)\nsys.exit(3)")
    env = {"PYTHONPATH": str(site), "PYTHONIOENCODING": "utf-8", "SOCKLAB_OUTPUT_LIMIT": "10000"}
    capped = subprocess.run([sys.executable, "-u", "-c", flood], env=env, capture_output=True, text=True)
    assert capped.returncode == 3
    assert 10_000 < len(capped.stdout) + len(capped.stderr) <= 10_000 + (1 << 16) + 20
    assert capped.stdout.startswith("debug 0\ndebug 1\n") and capped.stderr == ""
    whole = subprocess.run([sys.executable, "-u", "-c", flood], env={k: v for k, v in env.items()
                                                                     if k != "SOCKLAB_OUTPUT_LIMIT"},
                           capture_output=True, text=True)
    assert whole.returncode == 3 and whole.stdout.count("\n") == 200_000 and whole.stderr == "utf-8 1\n"


def test_each_line_is_typed_once_the_programs_are_still(tmp_path):
    """Issue 15: a send step writes each line only once every program of the play has printed nothing for
    SETTLE seconds (Run.settle_all), as a person types after reading the answer. Before, both lines were
    written at once, and the second reached a server that closes right after its first answer before or after
    its close, as the scheduler had it. Here the client prints for a while after each line: the next line is
    never waiting for it when it is done."""
    early = []

    def slow_client(proc):
        proc.out("Waiting for connection response")
        for value in typed_lines(proc):
            for i in range(4):
                time.sleep(0.03)
                proc.out(f"thinking {i}")
            proc.out(f"Server message: I received {len(value)} chars: {value}")
            early.append(not proc.inbox.empty())  # was the next line written while it was still printing?
        return 0

    engine = FakeEngine({"server_tcp.py": server_tcp, "client_tcp.py": slow_client})
    ev = play(engine, scenario(), tmp_path)
    assert [s.status for s in ev.steps][:5] == ["ok"] * 5, ev.steps
    assert early == [False, False]


def test_a_wait_goes_on_while_a_program_s_output_is_still_arriving(tmp_path):
    """Issue 15: a program printing a flood is asleep most of the time, waiting for the lab to read its
    output (at the machine's speed, not the program's): a wait whose time is up goes on while its output is
    still arriving (Run.busy), and ends with what it waited for."""
    def flooding_client(proc):
        proc.out("Waiting for connection response")
        end = time.monotonic() + 1.0  # a timeout of 0.3 s is up long before
        while time.monotonic() < end:
            proc.out("debug")
            time.sleep(0.01)
        return client_tcp(proc)

    engine = FakeEngine({"server_tcp.py": server_tcp, "client_tcp.py": flooding_client})
    ev = play(engine, scenario(timeout=0.3), tmp_path)
    assert [s.status for s in ev.steps] == ["ok"] * len(ev.steps), ev.steps


def test_a_program_whose_pid_never_came_fails_its_start_step_only(tmp_path):
    """Seen under heavy load (8 of 375 plays with the CPUs kept busy): a program's pid line, its wrapper's first
    stderr line, never arrived. Its start step fails, and so would a signal to it; the sends and waits of the
    play, which ask whether the programs are busy, go on with the programs whose pid is known."""
    engine = FakeEngine({"server_tcp.py": server_tcp, "client_tcp.py": client_tcp}, pid_lost={"server_tcp.py"})
    ev = play(engine, scenario(timeout=1), tmp_path)
    status = {s.key: s.status for s in ev.steps}
    assert status["steps[0]"] == "failed" and "server did not start (no pid reported)" in ev.steps[0].message
    assert [status[f"steps[{i}]"] for i in range(1, 8)] == ["ok"] * 7, ev.steps


def test_a_snapshot_waits_for_the_programs_to_be_still(tmp_path):
    """A server that ends 50 ms after its answer (an early close): the netstat after the wait for that answer
    is taken once the programs are still, so it sees the server's socket gone in every play, never bound in
    some (what the kernel shows right after the answer depends on the scheduler)."""
    text = """
name: fake-snapshot
description: a snapshot right after a line, against a fake engine
hosts: [server]
defaults: {timeout: 5}
steps:
  - start: {id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}
  - wait: {program: server, log: answered}
  - netstat: {host: server, name: after}
  - wait: {program: server, exit: any}
checks:
  - name: nothing
    log: {program: server, match: answered, count: 1}
"""

    def closes_early(proc):
        proc.bind("tcp", 5000)
        proc.out("answered")
        time.sleep(0.05)
        return 0

    ev = play(FakeEngine({"server_tcp.py": closes_early}), parse_scenario(text, "fake.yaml", TOPOLOGY), tmp_path)
    assert [s.status for s in ev.steps] == ["ok"] * 4, [s.message for s in ev.steps]
    assert ev.snapshots["after"].rows == ()


def test_the_scenario_time_limit_counts_only_while_the_programs_wait(tmp_path):
    """Issue 15: ten clients that each printed 2,000,000 lines before sending took a scenario past its time limit
    on a loaded machine (lossy-link 6 of 8 in one grading of five). The limit goes on while a program is busy
    (its output still arriving), up to DEADLINE_STRETCH times the limit, and the play ends as on an idle
    machine."""
    def flooding_client(proc):
        proc.out("Waiting for connection response")
        end = time.monotonic() + 1.0  # the scenario's 0.5 s are up long before
        while time.monotonic() < end:
            proc.out("debug")
            time.sleep(0.01)
        return client_tcp(proc)

    engine = FakeEngine({"server_tcp.py": server_tcp, "client_tcp.py": flooding_client})
    text = TCP.replace("defaults:", "timeout: 0.5\ndefaults:")
    ev = play(engine, scenario(text, timeout=5), tmp_path)
    assert [s.status for s in ev.steps] == ["ok"] * len(ev.steps), [(s.key, s.message) for s in ev.steps]


def test_the_stretched_time_limit_has_a_hard_cap(tmp_path):
    """A program busy for ever does not hold a play for ever: past DEADLINE_STRETCH times the limit the steps
    left fail, saying the limit was stretched while the programs were busy."""
    def flooding_client(proc):
        proc.out("Waiting for connection response")
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            proc.out("debug")
            time.sleep(0.01)
        return 0

    engine = FakeEngine({"server_tcp.py": server_tcp, "client_tcp.py": flooding_client})
    text = TCP.replace("defaults:", "timeout: 0.4\ndefaults:")
    started = time.monotonic()
    ev = play(engine, scenario(text, timeout=5), tmp_path)
    assert time.monotonic() - started < 3.0  # (the teardown ends the client)
    failed = [s for s in ev.steps if "ran out before this step" in s.message]
    assert failed and all("stretched to 1.2 s while the programs were still busy" in s.message for s in failed)
