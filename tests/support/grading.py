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
