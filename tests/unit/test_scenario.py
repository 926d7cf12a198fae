"""The scenario language: every broken file in tests/scenarios/invalid gives its exact message, the real
scenarios load into the expected model, and the YAML layer (lines, key paths, duplicates) behaves."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from orchestrator.base.errors import EXIT_INVALID_INPUT, ScenarioError
from orchestrator.model.scenario import (
    Bounds,
    CaptureCheck,
    ExitCheck,
    LogCheck,
    Netstat,
    Parallel,
    Send,
    Signal,
    SocketCheck,
    Start,
    Stop,
    WaitExit,
    WaitLog,
    WaitPort,
    Where,
    expand,
    load_scenario,
    parse_scenario,
    placeholders,
)
from orchestrator.model.topology import load_topology
from orchestrator.model.scenario import _Parser
from orchestrator.model.document import Document
from orchestrator.model.yamlsource import parse_yaml

from tests.support import ROOT

INVALID = sorted((ROOT / "tests" / "scenarios" / "invalid").glob("*.yaml"))
TOPOLOGY = load_topology(ROOT / "compose.yaml")


def fake_tshark(filters: list[str]) -> dict[str, str]:
    """Refuses filters naming the non-existent field tcp.prot, in tshark's words."""
    return {f: 'Left side of "==" expression must be a field or function, not tcp.prot.'
            for f in filters if "tcp.prot==" in f}


def parse(text: str, **kwargs) -> object:
    return parse_scenario(text, "s.yaml", **kwargs)


def error_of(text: str, **kwargs) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse(text, **kwargs)
    return str(caught.value)


# ---- the broken files --------------------------------------------------------------------------------


def test_there_is_a_broken_file_per_kind_of_mistake():
    assert len(INVALID) >= 16


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_scenario_gives_its_exact_message(path: Path):
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first.startswith("# error: "), f"{path.name}: the first line must be '# error: <message>'"
    expected = first[len("# error: "):].replace("{path}", str(path))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(str(path), TOPOLOGY, fake_tshark)
    assert str(caught.value) == expected
    assert caught.value.exit_code == EXIT_INVALID_INPUT
    assert caught.value.path == str(path)


# ---- the real scenarios --------------------------------------------------------------------------------


def test_tcp_scenario_loads_into_the_expected_model():
    path = str(ROOT / "scenarios" / "tcp.yaml")
    s = load_scenario(path, TOPOLOGY, fake_tshark)
    assert (s.name, s.hosts, s.clients, s.timeout) == ("tcp-exchange", ("server", "client"), 1, 60.0)
    assert s.description.startswith("The assignment's Figure 3")
    assert len(s.steps) == 12 and len(s.checks) == 19
    assert s.steps[0] == Start("server", "server", ("server_tcp.py", "0.0.0.0", "5000"), 5.0,
                               Where(path, 15, "steps[0].start"))
    assert s.steps[1] == WaitPort("server", "tcp", 5000, 5.0, Where(path, 16, "steps[1].wait"))
    assert s.steps[3] == Send("client", ("hello", "olá"), 0.0, False, 5.0, Where(path, 18, "steps[3].send"))
    assert s.steps[4] == WaitLog("client", "chars: olá", "both", 1, 5.0, Where(path, 19, "steps[4].wait"))
    assert s.steps[5] == Netstat("server", "connected", 5.0, Where(path, 20, "steps[5].netstat"))
    assert s.steps[6] == Signal("client", "SIGINT", 5.0, Where(path, 21, "steps[6].signal"))
    assert s.steps[7] == WaitExit("client", None, 5.0, Where(path, 22, "steps[7].wait"))
    assert s.steps[11] == WaitExit("server", 0, 5.0, Where(path, 26, "steps[11].wait"))
    assert set(s.programs()) == {"server", "client"}
    assert s.needs() == {"server_tcp.py": ("server",), "client_tcp.py": ("client",)}

    first, sequence = s.checks[0], s.checks[1]
    assert first.name == "server announces where it listens" and first.points == 1.0
    assert first.spec == LogCheck("server", None, r"^Socket is listening in address 0\.0\.0\.0 and port 5000 \.\.\.$",
                                  (), "both", Bounds(count=1))
    assert first.where == Where(path, 34, "checks[0]") and first.judges == "server"
    assert sequence.points == 2.0 and sequence.where.line == 36
    assert sequence.spec.sequence[0] == r"^Connected to Client 1, calling from: {client.ip}:\d+$"
    assert len(sequence.spec.sequence) == 3 and sequence.spec.pattern is None
    # every check judges one program: the reply's count is the server's, though the client shows it
    assert s.checks[2].spec.program == "client" and s.checks[2].judges == "server"
    assert s.checks[4].spec == ExitCheck("server", 0)
    assert s.checks[6].spec == SocketCheck("connected", "tcp", "{server.ip}:5000", "{client.ip}:*", "ESTABLISHED",
                                           Bounds(count=1))
    assert [c.judges for c in s.checks].count("server") == 12 and [c.judges for c in s.checks].count("client") == 7
    assert s.checks[18].spec == CaptureCheck("tcp.flags.reset==1 && ip.src=={client.ip} && tcp.dstport==5000", Bounds(count=0))
    assert len(s.capture_filters()) == 9


def test_udp_scenario_loads_into_the_expected_model():
    path = str(ROOT / "scenarios" / "udp.yaml")
    s = load_scenario(path, TOPOLOGY, fake_tshark)
    # (14 checks: 12 with points and two of 0, which "no UDP connection", "sends nothing back" and "no TCP" require)
    assert (s.name, s.clients, len(s.steps), len(s.checks)) == ("udp-exchange", 2, 11, 14)
    assert s.steps[1] == WaitPort("server", "udp", 6000, 5.0, Where(path, 15, "steps[1].wait"))
    assert s.steps[6].argv == ("client_udp.py", "server", "6000", "olá mundo")
    assert s.needs() == {"server_udp.py": ("server",), "client_udp.py": ("first", "second")}
    no_connection = s.checks[6].spec
    assert no_connection == SocketCheck("bound", "udp", None, None, "ESTABLISHED", Bounds(count=0))
    assert s.checks[6].judges == "server" and s.checks[13].judges == "first"
    assert s.checks[6].requires == ("the server's UDP socket is bound to port 6000 (on any address)",)


def test_the_filter_checker_is_asked_once_with_every_filter_expanded():
    calls: list[list[str]] = []

    def checker(filters: list[str]) -> dict[str, str]:
        calls.append(filters)
        return {}

    s = load_scenario(ROOT / "scenarios" / "tcp.yaml", TOPOLOGY, checker)
    assert len(calls) == 1
    assert len(calls[0]) == len(s.capture_filters())
    assert ("tcp.flags.syn==1 && tcp.flags.ack==0 && ip.src==10.0.0.2 && tcp.dstport==5000"
            " && !tcp.analysis.retransmission") in calls[0]
    assert not any("{" in f for f in calls[0])


def test_no_filter_checker_call_without_capture_checks():
    text = SMALL.replace("capture: {filter: tcp, count: 0}", "exit: {program: server, status: 0}")
    calls = []
    parse(text, filter_checker=lambda fs: calls.append(fs) or {})
    assert calls == []


def test_without_a_topology_hosts_are_checked_against_the_scenario_only():
    s = parse(SMALL.replace("[server]", "[router]").replace("host: server", "host: router"))
    assert s.hosts == ("router",)
    assert "unknown host 'router'" in error_of(SMALL.replace("[server]", "[router]").replace("host: server",
                                                                                          "host: router"),
                                              topology=TOPOLOGY)


# ---- features ----------------------------------------------------------------------------------------

SMALL = """\
name: small
description: a small scenario
hosts: [server]
steps:
  - start: {id: server, host: server, run: [server_udp.py, 0.0.0.0, 6000]}
checks:
  - name: nothing
    capture: {filter: tcp, count: 0}
    judges: server
"""


def test_defaults_apply():
    s = parse(SMALL)
    assert (s.clients, s.timeout, s.steps[0].timeout) == (1, 60.0, 10.0)
    assert s.steps[0].argv == ("server_udp.py", "0.0.0.0", "6000")  # YAML ints become strings
    assert s.checks[0].points == 1.0


def test_defaults_timeout_and_explicit_step_timeouts():
    s = parse(SMALL.replace("hosts: [server]", "hosts: [server]\ndefaults: {timeout: 2.5}\ntimeout: 30"))
    assert s.steps[0].timeout == 2.5 and s.timeout == 30.0
    s = parse(SMALL.replace("6000]}", "6000], timeout: 4}"))
    assert s.steps[0].timeout == 4.0


def test_run_as_a_string_is_split_like_a_shell():
    s = parse(SMALL.replace("run: [server_udp.py, 0.0.0.0, 6000]", """run: 'client_udp.py {server.ip} 6000 "olá mundo"'"""))
    assert s.steps[0].argv == ("client_udp.py", "{server.ip}", "6000", "olá mundo")


PARALLEL = """\
name: three-clients
description: three clients at once
hosts: [server, client]
clients: 3
steps:
  - start: {id: server, host: server, run: [server_tcp.py, 0.0.0.0, 5000]}
  - parallel:
      - start: {id: c1, host: client, run: [client_tcp.py, server, 5000]}
      - start: {id: c2, host: client, run: [client_tcp.py, server, 5000], timeout: 15}
      - wait: {program: server, log: 'Thread Number: 1'}
  - parallel:
      - send: {program: c1, line: hello, close: true}
      - stop: {program: c2}
    timeout: 30
checks:
  - name: c1 exits 0
    exit: {program: c1, status: 0}
"""


def test_parallel_groups():
    s = parse(PARALLEL)
    group, later = s.steps[1], s.steps[2]
    assert isinstance(group, Parallel) and group.where == Where("s.yaml", 7, "steps[1].parallel")
    assert group.timeout == 15.0  # the longest of its steps
    assert [type(x) for x in group.steps] == [Start, Start, WaitLog]
    assert group.steps[1].where == Where("s.yaml", 9, "steps[1].parallel[1].start")
    assert later.timeout == 30.0
    assert later.steps[0] == Send("c1", ("hello",), 0.0, True, 10.0, Where("s.yaml", 12, "steps[2].parallel[0].send"))
    assert later.steps[1] == Stop("c2", 10.0, Where("s.yaml", 13, "steps[2].parallel[1].stop"))
    assert set(s.programs()) == {"server", "c1", "c2"}


def test_bounds():
    def bounds(text: str) -> Bounds:
        return parse(SMALL.replace("count: 0", text)).checks[0].spec.bounds

    assert bounds("count: 0") == Bounds(count=0)
    assert bounds("min: 2") == Bounds(min=2)
    assert bounds("max: 3") == Bounds(max=3)
    assert bounds("min: 1, max: 1") == Bounds(min=1, max=1)
    assert parse(SMALL.replace(", count: 0", "")).checks[0].spec.bounds == Bounds(min=1)


def test_send_forms():
    base = SMALL.replace("steps:\n", "steps:\n").replace(
        "checks:", "  - send: {program: server, SEND}\nchecks:")
    assert parse(base.replace("SEND", "lines: [a, 5000], interval: 0.5")).steps[1].lines == ("a", "5000")
    assert parse(base.replace("SEND", "lines: [], close: true")).steps[1].close is True
    assert "an empty list sends nothing" in error_of(base.replace("SEND", "lines: []"))
    assert "a send takes only one of lines or line" in error_of(base.replace("SEND", "lines: [a], line: b"))


def test_wait_exit_status_and_log_options():
    base = SMALL.replace("checks:", "  - wait: {program: server, WAIT}\nchecks:")
    assert parse(base.replace("WAIT", "exit: 3")).steps[1].status == 3
    step = parse(base.replace("WAIT", "log: 'x{1,3}', stream: stderr, count: 2")).steps[1]
    assert (step.pattern, step.stream, step.count) == ("x{1,3}", "stderr", 2)
    assert parse(base.replace("WAIT", "exit: nonzero")).steps[1].status == "nonzero"
    assert "must be an exit status from 0 to 255, nonzero, or any, e.g. 0 (got 256)" in error_of(
        base.replace("WAIT", "exit: 256"))


def test_messages_for_common_mistakes():
    base = SMALL.replace("checks:", "  - STEP\nchecks:")
    assert error_of(base.replace("STEP", "signal: {program: server, signal: sigint}")).endswith(
        "(got 'sigint'); did you mean 'SIGINT'?")
    assert error_of(base.replace("STEP", "wait: {port: 5000, host: server, proto: TCP}")).endswith(
        "must be one of tcp, udp (got 'TCP'); did you mean 'tcp'?")
    assert error_of(base.replace("STEP", "wait: {program: srever, exit: any}")) == (
        "s.yaml:6: at steps[1].wait.program: program 'srever' is not started by any earlier step; "
        "did you mean 'server'? (started so far: server)")
    assert error_of(base.replace("STEP", "stop: {program: server}\n    timeout: 3")) == (
        "s.yaml:7: at steps[1].timeout: a timeout beside the action is only for parallel; put it inside the "
        "action, e.g. {stop: {..., timeout: 5}}")
    assert error_of(SMALL.replace("name: small", "name: Small")) == (
        "s.yaml:1: at name: must be lower-case letters, digits and dashes, e.g. 'tcp-exchange' (got 'Small')")
    assert error_of(SMALL.replace("hosts: [server]", "hosts: [server]\nclients: -1")) == (
        "s.yaml:4: at clients: must be a whole number from 0 to 1000, e.g. 1 (got -1)")
    assert error_of(SMALL.replace("hosts: [server]", "hosts: [server, server]")) == (
        "s.yaml:3: at hosts[1]: host 'server' is listed twice; list each host once")


def test_a_regex_error_position_is_in_the_text_as_written():
    text = SMALL.replace("capture: {filter: tcp, count: 0}", "log: {program: server, match: '{server.ip}['}")
    assert "unterminated character set at position 11" in error_of(text)
    text = SMALL.replace("capture: {filter: tcp, count: 0}", "log: {program: server, match: 'a{server.ip}b)c'}")
    assert "unbalanced parenthesis at position 13" in error_of(text)


def test_syntax_error_names_line_and_column():
    assert error_of("name: x\nhosts: [a\nsteps: 1\n") == (
        "s.yaml:3: YAML syntax error: expected ',' or ']', but got ':' (column 6), while parsing a flow sequence "
        "that starts on line 2")


def test_an_unreadable_file_is_a_scenario_error(tmp_path: Path):
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: x\ndescription: ol\xe1\n")
    with pytest.raises(ScenarioError, match=r"latin1.yaml:2: the file is not UTF-8 text \(byte 0xe1\)"):
        load_scenario(bad)


def _mutations(data: object, path: tuple = ()):
    """Every (path, value) of a data tree."""
    yield path, data
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _mutations(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _mutations(v, path + (i,))


@pytest.mark.parametrize("name", ["tcp.yaml", "udp.yaml"])
def test_any_wrong_value_anywhere_is_a_scenario_error_never_a_crash(name: str):
    """Replace every value of a scenario, one at a time, by values of the wrong shape: a ScenarioError or a
    valid scenario, never another exception."""
    original = yaml.safe_load((ROOT / "scenarios" / name).read_text(encoding="utf-8"))
    odd_values = [None, True, -1, 1.5, "{nohost.ip}(", [], {}, ["x"], {"x": 1}]
    paths = [p for p, _ in _mutations(original) if p]
    for path in paths:
        for value in odd_values:
            data = copy.deepcopy(original)
            target = data
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            try:  # straight to the validator (no lines): a YAML round trip per case would take seconds
                _Parser(Document("s.yaml", data, {}, ScenarioError).root, TOPOLOGY, fake_tshark).scenario()
            except ScenarioError:
                pass


# ---- placeholders ------------------------------------------------------------------------------------


def test_expand_leaves_regex_braces_alone():
    addresses = {"server": "10.77.0.10", "client": "10.77.0.20"}
    assert expand(r"^from {client.ip}:\d{1,5}$", addresses, regex=True) == r"^from 10\.77\.0\.20:\d{1,5}$"
    assert expand("ip.src=={server.ip} && {client.name}", addresses) == "ip.src==10.77.0.10 && client"
    assert expand("{router.ip} {server.port}", addresses) == "{router.ip} {server.port}"
    assert placeholders("{server.ip}:{client.name} x{1,3}") == [("server", "ip"), ("client", "name")]


# ---- the YAML layer ----------------------------------------------------------------------------------


def test_yaml_lines_and_key_paths():
    doc = parse_yaml("# c\na:\n  b:\n    - x\n    - {c: 1}\n  'k.e y': 2\n", "f.yaml", ScenarioError)
    assert doc.data == {"a": {"b": ["x", {"c": 1}], "k.e y": 2}}
    assert doc.line_of("") == 2
    assert doc.line_of("a.b[1].c") == 5
    assert doc.line_of('a["k.e y"]') == 6
    assert doc.line_of("a.b[1].missing.deeper") == 5  # falls back to the nearest parent with a line
    assert doc.root.child("a").child("k.e y").key == 'a["k.e y"]'


def test_yaml_duplicate_keys_and_merges():
    with pytest.raises(ScenarioError) as caught:
        parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml", ScenarioError)
    assert str(caught.value) == ("f.yaml:3: at a: duplicate key 'a' (first on line 1); keep only one "
                                 "(YAML would silently use the last)")
    doc = parse_yaml("base: &b {x: 1, y: 2}\nuse: {<<: *b, y: 3}\n", "f.yaml", ScenarioError)
    assert doc.data["use"] == {"x": 1, "y": 3}


def test_yaml_loops_and_odd_tags_are_refused():
    with pytest.raises(ScenarioError, match="a loop"):
        parse_yaml("a: &a [*a]\n", "f.yaml", ScenarioError)
    with pytest.raises(ScenarioError, match=re.escape("f.yaml:1: at a: unsupported YAML value")):
        parse_yaml("a: !foo 1\n", "f.yaml", ScenarioError)
    with pytest.raises(ScenarioError, match="character #x0007 is not allowed"):
        parse_yaml("a: \x07\n", "f.yaml", ScenarioError)
    with pytest.raises(ScenarioError, match="expected a single document in the stream, but found another document"):
        parse_yaml("a: 1\n---\nb: 2\n", "f.yaml", ScenarioError)


# ---- hostile input: whatever the file, a located message (exit 2), never a traceback, a hang or a crash ----


def _error_for_file(path: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.exit_code == EXIT_INVALID_INPUT and caught.value.path == str(path)
    return str(caught.value)


def test_only_regular_files_are_read_and_never_waited_on(tmp_path: Path):
    import os
    import socket

    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # no writer: reading it the usual way would block forever
    assert _error_for_file(fifo) == f"{fifo}: this is a named pipe (FIFO), not a regular file; give a YAML file"
    assert _error_for_file(Path("/dev/zero")) == ("/dev/zero: this is a device, not a regular file; "
                                                   "give a YAML file")
    assert _error_for_file(tmp_path) == f"{tmp_path}: this is a folder, not a regular file; give a YAML file"
    sock_path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        assert _error_for_file(sock_path) == f"{sock_path}: this is a socket, not a regular file; give a YAML file"


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB that were never written
    assert _error_for_file(big) == (
        f"{big}: the file is too large: 52,428,800 bytes (50.0 MiB), and a file here may be at most "
        "1,048,576 bytes (1.0 MiB) (a scenario or compose.yaml is a few KiB); is it the right file?")
    just = tmp_path / "just.yaml"
    just.write_bytes(b"#" * (1024 * 1024 - 1) + b"\n")  # the limit itself is fine: only comments, so empty
    assert "the file is empty" in _error_for_file(just)
    with pytest.raises(ScenarioError, match=r"s.yaml: the file is too large: 1,048,577 bytes \(1.0 MiB\)"):
        parse("#" * 1024 * 1024 + "\n")


def test_long_keys_and_values_are_clipped_in_messages():
    key = "k" * 200_000
    message = error_of(SMALL.replace("hosts: [server]", f"hosts: [server]\n? {key}\n: 1"))  # explicit: > 1024
    assert message == (f"s.yaml:4: at {'k' * 60}...{'k' * 60}: unknown key '{'k' * 57}...' (allowed here: name, "
                       "description, hosts, clients, timeout, defaults, impair, steps, checks)")
    spaced = "a b " * 50_000  # a key path quotes it: clipped inside its quotes
    assert error_of(SMALL.replace("hosts: [server]", f"hosts: [server]\n? '{spaced}'\n: 1")).startswith(
        f's.yaml:4: at ["{spaced[:57]}..."]: unknown key \'{spaced[:57]}...\'')
    host = "h" * 100_000
    assert error_of(SMALL.replace("host: server", f"host: {host}")) == (
        f"s.yaml:5: at steps[0].start.host: unknown host '{'h' * 57}...' (hosts: server)")
    assert error_of(SMALL.replace("[server]", f"[server, {host}]").replace("host: server", "host: x")) == (
        f"s.yaml:5: at steps[0].start.host: unknown host 'x' (hosts: server, {'h' * 57}...)")


def test_long_numbers_are_clipped_in_messages():
    assert error_of(SMALL.replace("count: 0", "count: " + "9" * 4000)) == (
        f"s.yaml:8: at checks[0].capture.count: must be a whole number from 0 to 1000000, e.g. 1 (got {'9' * 57}... "
        "(4,000 digits))")


def test_invisible_characters_are_shown_escaped():
    assert error_of(SMALL.replace("id: server", "id: ser\u200bver")) == (
        "s.yaml:5: at steps[0].start.id: must be a name of letters, digits, '_' and '-', e.g. server "
        "(got 'ser\\u200bver')")
    assert error_of(SMALL.replace("hosts: [server]", 'hosts: [server]\n"a\\tb\\0\u202e": 1')).startswith(
        's.yaml:4: at ["a\\tb\\x00\\u202e"]: unknown key \'a\\tb\\x00\\u202e\'')


def test_a_merge_of_anything_but_a_mapping_names_the_merge_key():
    assert error_of(SMALL.replace("hosts: [server]", "hosts: [server]\ndefaults: {<<: [{timeout: 1}, oops]}")) == (
        "s.yaml:4: at defaults[\"<<\"][1]: '<<' merges mappings only, e.g. <<: *defaults (got 'oops')")
    s = parse(SMALL.replace("hosts: [server]", "hosts: [server]\ndefaults: {<<: {timeout: 3}}"))
    assert s.steps[0].timeout == 3.0


def test_aliases_and_merges_keep_working_within_the_limits():
    text = SMALL.replace("steps:\n", "steps:\n  - &srv {start: {id: s0, host: server, run: &argv [server_udp.py, x]}}\n"
                         "  - start: &base {id: s1, host: server, run: *argv}\n"
                         "  - start: {<<: *base, id: s2}\n")
    s = parse(text)
    assert [step.id for step in s.steps] == ["s0", "s1", "s2", "server"]
    assert s.steps[2].argv == ("server_udp.py", "x")
    doc = parse_yaml("a: &a [1, 2]\nb:\n  - x\n  - *a\n", "f.yaml", ScenarioError)
    assert doc.data == {"a": [1, 2], "b": ["x", [1, 2]]}
    assert doc.line_of("b[1]") == 4  # where the alias is written, not where its anchor is


def test_too_many_values_are_refused_while_composing():
    many = "a: [" + "1, " * 20_000 + "1]\n"
    with pytest.raises(ScenarioError) as caught:
        parse_yaml(many, "f.yaml", ScenarioError)
    assert str(caught.value) == ("f.yaml:1: at a[19997]: too many values: more than 20,000 values, counting lists, "
                                 "mappings, keys and scalars; real files hold a few hundred")


def test_text_multiplied_by_aliases_is_refused():
    big = "x" * 400_000
    with pytest.raises(ScenarioError) as caught:
        parse_yaml(f"a: &big {big}\nb: [*big, *big]\n", "f.yaml", ScenarioError)
    assert str(caught.value) == (
        "f.yaml:2: at b[1]: the alias *big expands to more than 1,048,576 characters of text (an alias counts as a "
        "copy of what it refers to: aliases of aliases multiply); that is as much as a file may hold without aliases")


@pytest.mark.parametrize("value, message", [
    ("9" * 5000, "too long for a whole number (5,000 characters): it may have at most 4,300 digits; quote it if it "
                 "is text"),
    ("0x" + "f" * 4000, "too long for a whole number ('0x" + "f" * 55 + "...'): it may have at most 4,300 digits; "
                        "quote it if it is text"),
    ("1:" + ":".join(["59"] * 1500), "too long for a whole number (4,501 characters): it may have at most 4,300 "
                                    "digits; quote it if it is text"),  # base 60: long ones took quadratic time
    ("!!bool maybe", "cannot read 'maybe' as true or false; quote it if it is text"),
    ("!!timestamp soon", "cannot read 'soon' as a date; quote it if it is text"),
    ("!!float x", "cannot read 'x' as a number; quote it if it is text"),
])
def test_a_value_python_cannot_read_is_a_located_error(value: str, message: str):
    with pytest.raises(ScenarioError) as caught:
        parse_yaml(f"a: 1\nb: {value}\n", "f.yaml", ScenarioError)
    assert str(caught.value) == f"f.yaml:2: at b: {message}"


@pytest.mark.parametrize("old, at_limit, past_limit, message", [
    ("hosts: [server]", "hosts: [server]\ntimeout: 3600", "hosts: [server]\ntimeout: 3600.5",
     "s.yaml:4: at timeout: must be a number greater than 0 and at most 3600, e.g. 60 (got 3600.5)"),
    ("hosts: [server]", "hosts: [server]\ndefaults: {timeout: 3600}", "hosts: [server]\ndefaults: {timeout: .inf}",
     "s.yaml:4: at defaults.timeout: must be a number greater than 0 and at most 3600, e.g. 10 (got inf)"),
    ("6000]}", "6000], timeout: 3600}", "6000], timeout: 1.0e+300}",
     "s.yaml:5: at steps[0].start.timeout: must be a number greater than 0 and at most 3600, e.g. 10 (got 1e+300)"),
    ("checks:", "  - send: {program: server, line: x, interval: 3600}\nchecks:",
     "  - send: {program: server, line: x, interval: 0x1000000000000000000000000}\nchecks:",
     "s.yaml:6: at steps[1].send.interval: must be a number from 0 to 3600, e.g. 0.5 "
     "(got 79228162514264337593543950336)"),
    ("checks:", "  - wait: {program: server, log: x, count: 1000000}\nchecks:",
     "  - wait: {program: server, log: x, count: 1000001}\nchecks:",
     "s.yaml:6: at steps[1].wait.count: must be a whole number from 1 to 1000000, e.g. 1 (got 1000001)"),
    ("    capture", "    points: 1000\n    capture", "    points: 1000.5\n    capture",
     "s.yaml:8: at checks[0].points: must be a number from 0 to 1000, e.g. 1 (got 1000.5)"),
    ("count: 0}", "max: 1000000}", "max: 10000000}",
     "s.yaml:8: at checks[0].capture.max: must be a whole number from 0 to 1000000, e.g. 1 (got 10000000)"),
    ("hosts: [server]", "hosts: [server]\nclients: 1000", "hosts: [server]\nclients: 1001",
     "s.yaml:4: at clients: must be a whole number from 0 to 1000, e.g. 1 (got 1001)"),
])
def test_every_number_has_a_maximum(old: str, at_limit: str, past_limit: str, message: str):
    parse(SMALL.replace(old, at_limit, 1))
    assert error_of(SMALL.replace(old, past_limit, 1)) == message


def test_regexes_python_cannot_compile_are_located_errors():
    base = SMALL.replace("capture: {filter: tcp, count: 0}", "log: {program: server, match: 'REGEX'}")
    assert error_of(base.replace("REGEX", "x{server.ip}a{1,4294967296}")) == (
        "s.yaml:8: at checks[0].log.match: invalid regular expression: the repetition number is too large (to match "
        "a special character like ( [ { * + ? . or \\ literally, write \\ before it)")
    assert error_of(base.replace("REGEX", "(" * 3000 + ")" * 3000)) == (
        "s.yaml:8: at checks[0].log.match: invalid regular expression: its groups are nested too deeply for Python "
        "to compile it")


def test_impairments_name_a_host_of_the_scenario_and_say_what_to_do():
    base = SMALL.replace("steps:", "impair:\n  - IMPAIR\nsteps:", 1)
    (imp,) = parse(base.replace("IMPAIR", "{host: server, loss: 20%, delay: 100ms, jitter: 10ms, rate: 1mbit}")).impairments
    assert (imp.host, imp.loss, imp.delay, imp.jitter, imp.rate) == ("server", 20, 100.0, 10.0, "1mbit")
    assert "must be a whole percentage from 1% to 100%, e.g. 20% (got 20)" in error_of(
        base.replace("IMPAIR", "{host: server, loss: 20}"))
    assert "unknown host 'srever'; did you mean 'server'?" in error_of(base.replace("IMPAIR", "{host: srever, loss: 5%}"))
    assert "says nothing to do" in error_of(base.replace("IMPAIR", "{host: server}"))
    assert "jitter needs a delay beside it" in error_of(base.replace("IMPAIR", "{host: server, jitter: 5ms}"))
    assert "impaired twice" in error_of(base.replace("IMPAIR", "{host: server, loss: 5%}\n  - {host: server, rate: 1mbit}"))
    assert parse(SMALL).impairments == ()


def test_every_kind_of_step_and_check_is_one_class_and_is_documented_with_an_example():
    """The language grows in one place per kind (steps.py, checkkinds.py): each class reads itself, says what
    it is and plays itself (through the player's verbs) or has its judge; scenarios/README.md has a section with an example for each, and an
    example that the parser takes."""
    import re

    from orchestrator.model.checkkinds import CHECK_KINDS
    from orchestrator.judge.judges import JUDGES
    from orchestrator.model.steplist import STEP_KINDS
    from orchestrator.model.steps import WAIT_KINDS

    readme = (ROOT / "scenarios" / "README.md").read_text()
    sections = dict(re.findall(r"^### `([a-z]+)`[^\n]*\n(.*?)(?=^##)", readme, re.M | re.S))
    for action, kind in STEP_KINDS.items():
        assert callable(kind.parse), action
        assert "```yaml" in sections[action] and f"- {action}:" in sections[action], action
    for kind in [*WAIT_KINDS.values(), *(k for a, k in STEP_KINDS.items() if a != "wait")]:
        assert callable(kind.describe) and callable(kind.play), kind.__name__
    for name, kind in CHECK_KINDS.items():
        assert callable(kind.parse) and callable(JUDGES[kind]), name  # its record, and its judge (judges.py)
        assert "```yaml" in sections[name] and f"    {name}:" in sections[name], name
    for form in WAIT_KINDS:
        assert re.search(rf"- wait: \{{[^}}]*\b{form}:", sections["wait"]), form

    def example(name: str) -> str:
        return re.search(r"```yaml\n(.*?)```", sections[name], re.S).group(1)

    steps = "".join(example(a) for a in STEP_KINDS)
    checks = "".join(example(k) for k in CHECK_KINDS)
    text = f"name: examples\ndescription: the README's\nhosts: [server, client]\nsteps:\n{steps}checks:\n{checks}"
    parsed = parse_scenario(text, "examples.yaml", TOPOLOGY)
    assert {type(s).__name__ for s in parsed.steps} >= {"Start", "Send", "WaitPort", "WaitLog", "WaitExit", "Netstat",
                                                          "Signal", "Stop", "Parallel"}
    assert [c.spec.KIND for c in parsed.checks] == list(CHECK_KINDS)
