"""The HTML report of a run and the ladder diagram, as a person sees them: real runs, real captures, the
pages opened from disk in headless Chromium (tests/browser.py), screenshots kept in .cache/screenshots/.
The grading's pages are looked at the same way in test_grading.py."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.integration import docker, tshark

SAMPLE = ROOT / "examples" / "submissions"


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def report_of(proc: subprocess.CompletedProcess) -> Path:
    """The report.html the run printed, last, as `make scenario-tcp` shows it."""
    last = proc.stdout.rstrip().splitlines()[-1]
    assert last.startswith("Report "), proc.stdout[-2000:] + proc.stderr[-2000:]
    return Path(last.removeprefix("Report "))


@pytest.fixture(scope="module")
def tcp_runs(tmp_path_factory):
    """scenario-tcp with the reference programs, and with a student's server that counts bytes."""
    out = tmp_path_factory.mktemp("runs")
    good = run("run", "scenarios/tcp.yaml", "--runs-dir", str(out))
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-3000:]
    broken = run("run", "scenarios/tcp.yaml", "--runs-dir", str(out), "--programs", str(SAMPLE / "bytes-not-chars"))
    assert broken.returncode == 1, broken.stdout[-3000:] + broken.stderr[-3000:]
    return report_of(good), report_of(broken)


def arrows(browser) -> list[dict]:
    return browser.js("return Array.from(document.querySelectorAll('svg.ladder g.packet')).map(g => ({"
                      "frame: +g.dataset.frame, kind: g.dataset.kind, flags: g.dataset.flags || '', "
                      "label: g.querySelectorAll('text')[1].textContent}))")


def test_the_report_of_scenario_tcp_shows_the_handshake_the_data_and_the_teardown(browser, tcp_runs):
    page, _ = tcp_runs
    rep = json.loads((page.parent / "report.json").read_text())
    browser.open(page)
    browser.screenshot("report-tcp")
    assert browser.errors() == [] and browser.requests() == []  # a working page, fetching nothing
    assert browser.js("return document.getElementById('verdict').textContent") == "pass"
    drawn = arrows(browser)
    in_pcap = tshark(page.parent / "capture.pcap", "frame")
    assert len(drawn) == rep["capture"]["packets"] == len(in_pcap)  # an arrow per packet of the pcap
    assert [a["frame"] for a in drawn] == list(range(1, len(in_pcap) + 1))
    tcp = [a for a in drawn if a["kind"] == "tcp"]
    assert [a["flags"] for a in tcp[:3]] == ["SYN", "SYN, ACK", "ACK"]  # the assignment's Figure 2
    assert any(a["label"].endswith('"Server is working:"') for a in tcp)
    assert any('5 B "hello"' in a["label"] for a in tcp) and any('"olá"' in a["label"] for a in tcp)
    assert [a["flags"] for a in tcp if "FIN" in a["flags"]] == ["FIN, ACK", "FIN, ACK"]
    # the lifelines are the run's hosts, named, with their addresses
    hosts = browser.texts("svg.ladder g.lifeline text.head")
    assert sorted(hosts) == ["client", "server"]
    # the timeline: each program's lines and each packet, on one clock
    assert browser.count("#timeline-table tr.packet") == len(in_pcap)
    assert browser.count("#timeline-table tr.line") == sum(1 for line in (page.parent / "logs" / "server.log")
                                                           .read_text().splitlines() + (page.parent / "logs" /
                                                           "client.log").read_text().splitlines()
                                                           if " stdout: " in line or " stderr: " in line)
    times = [float(t) for t in browser.texts("#timeline-table td.t")]
    assert times == sorted(times)
    # the sockets as tables, the capture with the assignment's filters ready to copy
    assert browser.count("table.snapshot") == len([p for p in page.parent.glob("netstat-*.txt")])
    assert "ESTABLISHED" in " ".join(browser.texts("table.snapshot td"))
    assert browser.texts("#filters code") == [f"ip.addr=={rep['addresses']['client']}", "tcp.port==5000"]
    browser.js("document.querySelector('#filters button.copy').click()")
    assert browser.texts("#filters button.copy")[0] == "copied"
    assert browser.js("return document.getElementById('pcap').getAttribute('href')") == "capture.pcap"


def test_every_failed_check_is_shown_with_its_evidence(browser, tcp_runs):
    _, page = tcp_runs
    rep = json.loads((page.parent / "report.json").read_text())
    failed = [c for c in rep["checks"] if not c["passed"]]
    assert failed  # the server counts bytes, not characters
    browser.open(page)
    browser.screenshot("report-tcp-bytes-not-chars")
    assert browser.js("return document.getElementById('verdict').textContent") == "fail"
    shown = browser.js("return Array.from(document.querySelectorAll('#check-table tr.check.failed')).map(r => ({"
                       "name: r.querySelector('.name').textContent,"
                       "evidence: r.querySelector('pre.evidence').innerText,"
                       "visible: r.querySelector('pre.evidence').offsetHeight > 0}))")
    assert [s["name"] for s in shown] == [c["name"] for c in failed]
    for s, c in zip(shown, failed):
        assert s["visible"] and s["evidence"].strip() == c["evidence"].strip()
    assert browser.count("#check-table tr.check.passed") == len(rep["checks"]) - len(failed)


def test_ladder_draws_any_capture_with_tshark(tmp_path):
    """`python -m orchestrator ladder PCAP`: a capture of no run (here the recorded one in tests/data) gets
    its diagram too, an arrow per packet."""
    pcap = tmp_path / "mine.pcap"
    pcap.write_bytes((ROOT / "tests" / "data" / "tcp-exchange.pcap").read_bytes())
    tmp_path.chmod(0o755)  # (conftest.tshark reads it as the capture image's analyst)
    pcap.chmod(0o644)
    proc = run("ladder", str(pcap))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    svg = tmp_path / "mine.svg"
    assert re.match(rf"{re.escape(str(svg))}: 18 packets between 10\.78\.10\.20, 10\.78\.10\.10", proc.stdout)
    root = ET.fromstring(svg.read_bytes())
    packets = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "packet"]
    assert len(packets) == len(tshark(pcap, "frame")) == 18
    cut = tmp_path / "cut.pcap"  # a capture stopped mid-write: what Wireshark can read is drawn, and said
    cut.write_bytes(pcap.read_bytes()[:-10])
    proc = run("ladder", str(cut))
    assert proc.returncode == 0 and "cut short or damaged: Wireshark read 17 whole packets" in proc.stdout, proc
    root = ET.fromstring((tmp_path / "cut.svg").read_bytes())
    assert len([g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "packet"]) == 17
    bad = run("ladder", str(ROOT / "README.md"), "-o", str(tmp_path / "x.svg"))
    assert bad.returncode == 2 and "Wireshark cannot read it as a capture" in bad.stderr
    assert not (tmp_path / "x.svg").exists()
    assert docker("ps", "-aq", "--filter", "label=socklab.purpose=ladder").stdout.strip() == ""
