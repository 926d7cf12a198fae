"""The echo scenario, the topology and the images the grading tests grade with against the fake engine
(tests/unit/fake_engine.py): the builders of tests/unit/test_grading.py and tests/unit/test_gradebook.py."""
from __future__ import annotations

from pathlib import Path

from orchestrator.evidence import ImageEvidence
from orchestrator.grade import grading
from orchestrator.model.topology import load_topology

from tests.support import ROOT

TOPOLOGY = load_topology(ROOT / "compose.yaml")
IMAGES = {"node": ImageEvidence("node", "socklab/node:abc", "sha256:1", "p1"),
          "capture": ImageEvidence("capture", "socklab/capture:def", "sha256:2", "p2")}

SCENARIO = """
name: echo
description: a TCP server counting what a client sends, against the fake engine
hosts: [server, client]
defaults: {timeout: 0.5}
steps:
  - start: {id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}
  - wait: {port: 5000, host: server}
  - start: {id: client, host: client, run: [client_tcp.py, server, "5000"]}
  - send: {program: client, lines: [hello]}
  - wait: {program: client, log: "chars: hello"}
  - signal: {program: client, signal: SIGINT}
  - wait: {program: client, exit: any}
  - signal: {program: server, signal: SIGINT}
  - wait: {program: server, exit: any}
checks:
  - name: the server listens
    log: {program: server, match: listening, count: 1}
  - name: the answer counts characters
    points: 2
    judges: server
    log: {program: client, match: 'I received 5 chars: hello$', count: 1}
  - name: the client says it waits
    log: {program: client, match: '^Waiting', count: 1}
  - name: a SYN
    judges: client
    capture: {filter: "tcp.flags.syn==1", count: 1}
"""


def settings_for(suite, out: Path) -> grading.Settings:
    return grading.Settings(topology=TOPOLOGY, suite=suite, images=IMAGES, out=out, fingerprint="f", session="s")


#: A second scenario, at half weight: it runs both programs and judges only the server (one play per student).
LISTEN = """
name: listen
description: the server says it listens
hosts: [server, client]
defaults: {timeout: 0.5}
steps:
  - start: {id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}
  - wait: {port: 5000, host: server}
  - start: {id: client, host: client, run: [client_tcp.py, server, "5000"]}
  - signal: {program: client, signal: SIGINT}
  - signal: {program: server, signal: SIGINT}
checks:
  - name: the server says it listens
    points: 2
    log: {program: server, match: listening, count: 1}
"""


def two_scenario_suite(tmp_path: Path):
    """A suite of SCENARIO (echo, weight 2) and LISTEN (weight 0.5), written into `tmp_path`."""
    from orchestrator.model.suite import load_suite

    (tmp_path / "echo.yaml").write_text(SCENARIO)
    (tmp_path / "listen.yaml").write_text(LISTEN)
    (tmp_path / "suite.yaml").write_text("name: test-suite\ndescription: two scenarios\nscenarios:\n"
                                         "  - {scenario: echo.yaml, weight: 2}\n"
                                         "  - {scenario: listen.yaml, weight: 0.5}\n")
    return load_suite(tmp_path / "suite.yaml", TOPOLOGY)


def grade_command_without_docker(monkeypatch, fake) -> None:
    """`socklab grade`'s command (cli/grade.py) with `fake` (a FakeEngine) for the Docker Engine: its capacity,
    version and close stood in for, the lab's images IMAGES, and a compile check that finds nothing."""
    from orchestrator.cli import grade as grade_cli
    from orchestrator.lab import engine as engine_module

    fake.capacity = lambda: (1, 8 * 2**30)
    fake.version = lambda: {"Version": "fake"}
    fake.close = lambda: None

    class Compiled:
        problems: dict = {}
        python = "3.11"

        def manifest(self):
            return {}

    monkeypatch.setattr(engine_module, "Engine", lambda **kw: fake)
    monkeypatch.setattr(grade_cli, "lab_images", lambda engine: IMAGES)
    monkeypatch.setattr(grade_cli, "_compile_check", lambda engine, topology, images, subs, session, limits:
                        (subs, Compiled()))
