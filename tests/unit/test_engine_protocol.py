"""The engine is a Protocol (lab/engineapi.py): the real engine implements all of it, the unit tests' fake engine
what a play needs (PlayEngine), each method with the Protocol's own parameters (names, kinds, defaults), so that
the fake cannot drift from the real one and a test cannot pass against a fake that takes what Docker would not."""
from __future__ import annotations

import inspect

import pytest

from orchestrator.lab import engineapi
from orchestrator.lab.engine import Engine
from orchestrator.lab.execstream import ExecSession, Lease

from .fake_engine import FakeClusterEngine, FakeEngine, FakeLease, FakeSession, FakeShellSession


def members(protocol: type) -> list[str]:
    return sorted(n for n, v in inspect.getmembers(protocol) if not n.startswith("_") and callable(v))


def parameters(fn) -> list[tuple[str, object, object]]:
    """(name, kind, default) of each parameter but self."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values() if p.name != "self"]


CASES = [
    (engineapi.EngineAPI, Engine),
    (engineapi.ClusterEngine, Engine),
    (engineapi.Lease, Lease),
    (engineapi.ExecSession, ExecSession),
    (engineapi.PlayEngine, FakeEngine),
    (engineapi.ClusterEngine, FakeClusterEngine),
    (engineapi.Lease, FakeLease),
    (engineapi.ExecSession, FakeSession),
    (engineapi.ExecSession, FakeShellSession),
]


@pytest.mark.parametrize(("protocol", "implementation"), CASES, ids=lambda c: c.__name__)
def test_each_implementation_has_every_method_of_its_protocol_as_the_protocol_has_it(protocol, implementation):
    wrong = []
    for name in members(protocol):
        mine = getattr(implementation, name, None)
        if mine is None:
            wrong.append(f"{implementation.__name__} has no {name}")
        elif parameters(mine) != parameters(getattr(protocol, name)):
            wrong.append(f"{implementation.__name__}.{name}{inspect.signature(mine)} is not "
                         f"{protocol.__name__}.{name}{inspect.signature(getattr(protocol, name))}")
    assert wrong == []


def test_a_play_asks_the_engine_only_what_playengine_has():
    """Every method the play's modules call on an engine is one of PlayEngine's (read from the source)."""
    import re
    from pathlib import Path

    package = Path(engineapi.__file__).resolve().parents[1]
    called = set()
    for path in [*(package / "lab").glob("*.py"), *(package / "play").glob("*.py")]:
        if path.name in ("engine.py", "engineapi.py", "images.py", "machines.py"):  # (machines: ClusterEngine's)
            continue
        called |= set(re.findall(r"\bengine\.([a-z_]+)\(", path.read_text()))
    assert called and called <= set(members(engineapi.PlayEngine)), called - set(members(engineapi.PlayEngine))


def test_the_cluster_asks_the_engine_only_what_clusterengine_has():
    """Every method lab/machines.py calls on an engine (the host's or a machine's) is one of ClusterEngine's."""
    import re
    from pathlib import Path

    source = (Path(engineapi.__file__).resolve().parent / "machines.py").read_text()
    called = set(re.findall(r"\b(?:engine|inner)\.([a-z_]+)\(", source))
    assert called and called <= set(members(engineapi.ClusterEngine)), called - set(members(engineapi.ClusterEngine))
