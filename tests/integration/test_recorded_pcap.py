"""Capture checks on a recorded pcap (tests/data/tcp-exchange.pcap, a passing run of scenarios/tcp.yaml),
counted by the real sharkd of the capture image: the display filters mean what they mean in Wireshark."""
import dataclasses
import json
import re

import pytest

from orchestrator.lab import capture, images
from orchestrator.judge import checks
from orchestrator.lab.engine import Engine
from orchestrator.evidence import Evidence
from orchestrator.model.scenario import Bounds, CaptureCheck, Check, Where, expand, load_scenario
from orchestrator.model.topology import load_topology

from .conftest import ROOT

pytestmark = pytest.mark.docker

DATA = ROOT / "tests" / "data"
PCAP = DATA / "tcp-exchange.pcap"
LABELS = {"socklab.run": "test-recorded-pcap"}


@pytest.fixture(scope="module")
def recorded():
    meta = json.loads((DATA / "tcp-exchange.json").read_text())
    scenario = load_scenario(ROOT / "scenarios" / "tcp.yaml", load_topology(ROOT / "compose.yaml"))
    engine = Engine()
    try:
        image = images.ensure(engine, ["capture"], progress=lambda m: None)["capture"].ref
        yield engine, image, scenario, meta
    finally:
        engine.remove_labelled("socklab.run", LABELS["socklab.run"])
        engine.close()


def evidence_for(engine, image, scenario, meta, extra_filters=()):
    filters = sorted({expand(f, meta["addresses"]) for f in scenario.capture_filters()} | set(extra_filters))
    result = capture.count(engine, image, PCAP.read_bytes(), filters, LABELS)
    stats = {"captured": meta["packets"], "dropped by kernel": 0}
    return Evidence(run_id="recorded", scenario=scenario.name, scenario_path=scenario.path, started_at="",
                    addresses=meta["addresses"], programs={}, snapshots={}, steps=(),
                    capture=capture.evidence(str(PCAP), stats, result, None))


def test_every_capture_check_of_tcp_yaml_passes_on_the_recorded_pcap(recorded):
    engine, image, scenario, meta = recorded
    ev = evidence_for(engine, image, scenario, meta)
    assert ev.capture.whole and ev.capture.packets == meta["packets"]
    outcomes = [o for o in checks.evaluate(scenario, ev) if o.kind == "capture"]
    assert len(outcomes) == 9 and all(o.passed for o in outcomes), [o.evidence for o in outcomes if not o.passed]


def test_a_wrong_expectation_fails_with_the_matching_frames_as_evidence(recorded):
    engine, image, scenario, meta = recorded
    syn = "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==5000"
    wrong = Check("two SYNs", 1, CaptureCheck(syn, Bounds(count=2)), Where("t.yaml", 1, "checks[0]"))
    sc = dataclasses.replace(scenario, checks=(wrong,))
    (outcome,) = checks.evaluate(sc, evidence_for(engine, image, sc, meta))
    assert not outcome.passed
    # the one SYN there is, as Wireshark's packet list shows it
    client, server = meta["addresses"]["client"], meta["addresses"]["server"]
    assert re.search(rf"#\d+ {re.escape(client)} → {re.escape(server)} TCP \d+ \d+ → 5000 \[SYN\]", outcome.evidence), \
        outcome.evidence


def test_filters_are_wiresharks_own_commas_and_all(recorded):
    engine, image, _, _ = recorded
    pcap = PCAP.read_bytes()
    result = capture.count(engine, image, pcap, ["tcp.port in {5000, 6000}", "tcp.port == 5000", "frame"], LABELS)
    assert result.counts["tcp.port in {5000, 6000}"] == result.counts["tcp.port == 5000"] > 0
    assert result.total == result.counts["frame"]
