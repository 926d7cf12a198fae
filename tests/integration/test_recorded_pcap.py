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

from tests.support import ROOT

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


def evidence_for(engine, image, scenario, meta, extra_filters=(), pcap=None, packets=None):
    """The evidence of the recorded pcap (or of `pcap`, `packets` frames long) for `scenario`'s checks."""
    filters = sorted({expand(f, meta["addresses"]) for f in scenario.capture_filters()} | set(extra_filters))
    result = capture.count(engine, image, PCAP.read_bytes() if pcap is None else pcap, filters, LABELS)
    stats = {"captured": meta["packets"] if packets is None else packets, "dropped by kernel": 0}
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


def _frames(pcap: bytes):
    """The (record header, packet) pairs of a classic pcap file, after its 24-byte header."""
    at, frames = 24, []
    while at < len(pcap):
        header = pcap[at:at + 16]
        length = int.from_bytes(header[8:12], "little")
        frames.append((header, pcap[at + 16:at + 16 + length]))
        at += 16 + length
    return frames


def _is_fin_from(packet: bytes, source: str) -> bool:
    ip = packet[14:]  # Ethernet II
    tcp = ip[(ip[0] & 0x0F) * 4:]
    return ip[9] == 6 and ".".join(map(str, ip[12:16])) == source and bool(tcp[13] & 0x01)


def test_a_fin_the_kernel_sent_again_is_not_a_second_close(recorded):
    """Under load the server's kernel may send its FIN again when the client's acknowledgement is late (seen in
    a busy grading: early-close lost "the server closes its half (a FIN)", count 1, to a second FIN). The suite's
    exact counts leave the kernel's retransmissions out, so the same program closing once gets the same points."""
    engine, image, scenario, meta = recorded
    pcap = PCAP.read_bytes()
    assert pcap[:4] == bytes.fromhex("d4c3b2a1"), "the recorded capture is a little-endian classic pcap"
    frames = _frames(pcap)
    (at,) = [i for i, (_, packet) in enumerate(frames) if _is_fin_from(packet, meta["addresses"]["server"])]
    header, fin = frames[at]
    later = header[:4] + (int.from_bytes(header[4:8], "little") + 1).to_bytes(4, "little") + header[8:]
    frames.insert(at + 1, (later, fin))
    retransmitted = pcap[:24] + b"".join(h + p for h, p in frames)
    ev = evidence_for(engine, image, scenario, meta, {"tcp.analysis.retransmission"}, retransmitted,
                      meta["packets"] + 1)
    assert ev.capture.counts["tcp.analysis.retransmission"] == 1, "Wireshark sees the copy as a retransmission"
    outcomes = {o.name: o for o in checks.evaluate(scenario, ev) if o.kind == "capture"}
    assert outcomes["the server closes its half of the connection (a FIN)"].passed
    assert all(o.passed for o in outcomes.values()), [o.evidence for o in outcomes.values() if not o.passed]
