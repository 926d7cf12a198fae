"""The verbs play through a Stage (play/verbs.py), a Protocol: runner.Run is one structurally, with every member
of it as the Protocol has it (the same parameters: names, kinds, defaults; a property as a property; every
attribute set by a run), so that the verbs cannot ask a run what it does not have."""
from __future__ import annotations

import inspect

import pytest

from orchestrator.evidence import ImageEvidence
from orchestrator.model.scenario import parse_scenario
from orchestrator.model.topology import load_topology
from orchestrator.play import runner, verbs

from tests.support import ROOT

from .fake_engine import FakeEngine

SCENARIO = """
name: stage
description: a run to look at
hosts: [server]
steps:
  - start: {id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}
checks:
  - name: it runs
    judges: server
    exit: {program: server, status: 0}
"""


def members(protocol: type) -> list[str]:
    return sorted(n for n, v in inspect.getmembers(protocol) if not n.startswith("_") and callable(v))


def parameters(fn) -> list[tuple[str, object, object]]:
    """(name, kind, default) of each parameter but self."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values() if p.name != "self"]


def test_stage_is_a_protocol_that_the_run_satisfies_without_inheriting_it():
    assert getattr(verbs.Stage, "_is_protocol", False)
    assert verbs.Stage not in runner.Run.__mro__


def test_the_run_has_every_method_and_property_of_stage_as_stage_has_it():
    assert members(verbs.Stage)
    wrong = []
    for name in members(verbs.Stage):
        mine = getattr(runner.Run, name, None)
        if mine is None:
            wrong.append(f"Run has no {name}")
        elif parameters(mine) != parameters(getattr(verbs.Stage, name)):
            wrong.append(f"Run.{name}{inspect.signature(mine)} is not "
                         f"Stage.{name}{inspect.signature(getattr(verbs.Stage, name))}")
    properties = sorted(n for n, v in vars(verbs.Stage).items() if isinstance(v, property))
    assert properties == ["addresses"]
    wrong += [f"Run.{n} is not a property" for n in properties if not isinstance(vars(runner.Run).get(n), property)]
    assert wrong == []


@pytest.fixture
def run(tmp_path):
    topology = load_topology(ROOT / "compose.yaml")
    images = {"node": ImageEvidence("node", "socklab/node:abc", "sha256:1", "p1"),
              "capture": ImageEvidence("capture", "socklab/capture:def", "sha256:2", "p2")}
    made = runner.Run(FakeEngine({}), topology, parse_scenario(SCENARIO, "stage.yaml", topology),
                      runner.RunOptions(runs_dir=tmp_path, images=images), lambda e: None)
    yield made
    made.pool.shutdown(wait=True)


def test_a_run_has_every_attribute_of_stage(run):
    attributes = sorted(n for n in inspect.get_annotations(verbs.Stage) if not n.startswith("_"))
    assert attributes == ["lab", "snapshots", "stopped"]
    assert [n for n in attributes if not hasattr(run, n)] == []
    assert isinstance(run.verbs, verbs.Verbs) and run.verbs.run is run
