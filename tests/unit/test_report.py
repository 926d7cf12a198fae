"""Reports of recorded runs: the JSON shape, JUnit XML, and the terminal rendering (no colour, as in CI)."""
from __future__ import annotations

import dataclasses
import io
import json
import xml.etree.ElementTree as ET

from rich.console import Console

from orchestrator.judge import checks
from orchestrator.report import report

from tests.support.recorded import (FIN, FIN_1, SERVER_LINES, failed_at, tcp_capture, tcp_evidence,
                                    tcp_filters, tcp_scenario, with_program)

ARTIFACTS = "runs/tcp-exchange-20250101-120000-3f9a/"


def build(ev=None, **kw):
    scenario, ev = tcp_scenario(), ev or tcp_evidence()
    return report.build(scenario, ev, checks.evaluate(scenario, ev), **kw)


def failing_run():
    """The server printed its goodbye twice and one FIN is missing from the capture."""
    f = tcp_filters()
    ev = with_program(tcp_evidence(), "server", lines=SERVER_LINES[:1] + SERVER_LINES)
    return dataclasses.replace(ev, capture=tcp_capture(counts={**tcp_capture().counts, f[5]: 1},
                                                       samples={f[5]: (FIN_1,)}))


def rendered(rep, width=100) -> str:
    out = io.StringIO()
    console = Console(file=out, no_color=True, width=width, force_terminal=False)
    report.render(rep, console)
    return out.getvalue()


# ---- JSON ----------------------------------------------------------------------------------------


def test_json_shape_and_round_trip(tmp_path):
    rep = build(artifacts=ARTIFACTS)
    assert set(rep) == {"run_id", "scenario", "verdict", "score", "checks", "steps", "programs", "capture",
                        "timings", "images", "addresses", "started_at", "error", "artifacts", "limits",
                        "stopped_by_limits", "impairments"}
    assert rep["scenario"] == {"name": "tcp-exchange", "path": "scenarios/tcp.yaml",
                               "description": tcp_scenario().description}
    assert rep["verdict"] == "pass" and rep["score"] == {"awarded": 21, "total": 21}
    assert len(rep["checks"]) == 16
    assert set(rep["checks"][0]) == {"name", "kind", "points", "awarded", "passed", "evidence", "where"}
    assert rep["checks"][1]["points"] == 2 and rep["checks"][1]["where"] == "scenarios/tcp.yaml:31 (checks[1])"
    assert rep["steps"][0] == {"key": "steps[0]", "line": 15, "kind": "start",
                               "description": "start server_tcp.py 0.0.0.0 5000 on server as server",
                               "status": "ok", "message": "", "started": 0.0, "duration": 0.05}
    assert rep["programs"]["server"] == {"host": "server", "argv": ["server_tcp.py", "0.0.0.0", "5000"],
                                         "source": "command", "exit_status": 0, "lines": 5, "truncated": False,
                                         "stopped": None, "threads": 0}
    assert rep["capture"] == {"pcap": "runs/tcp-exchange-20250101-120000/capture.pcap", "packets": 17,
                              "tcpdump_captured": 17, "tcpdump_dropped": 0, "whole": True, "problem": None,
                              "overflow": None, "filter": "not ip6 and not host 10.77.0.1"}
    assert rep["limits"] == {} and rep["stopped_by_limits"] == []
    assert rep["images"]["node"] == {"ref": "socklab/node:4be1c0ffee12", "id": "sha256:" + "ab" * 32,
                                     "packages_sha256": "cd" * 32}
    assert rep["timings"]["total"] == 6.3 and rep["addresses"] == {"server": "10.77.0.10", "client": "10.77.0.20"}
    assert rep["error"] is None and rep["artifacts"] == ARTIFACTS
    # plain JSON types only: a dump and a load give the same thing back
    assert json.loads(json.dumps(rep)) == rep
    path = tmp_path / "report.json"
    report.write_json(rep, path)
    assert json.loads(path.read_text(encoding="utf-8")) == rep
    assert "olá" in path.read_text(encoding="utf-8")  # UTF-8 kept, not \u-escaped


def test_json_of_a_failing_run():
    rep = build(failing_run())
    assert rep["verdict"] == "fail"
    assert rep["score"] == {"awarded": 18, "total": 21}
    failed = [c["name"] for c in rep["checks"] if not c["passed"]]
    assert failed == ["server announces where it listens", FIN]
    assert "artifacts" not in rep


def test_json_of_a_broken_run():
    ev = failed_at(4, "waited 10 s for a line", drop_snapshots=("connected", "after-close"))
    ev = dataclasses.replace(ev, error="the Docker Engine went away", capture=tcp_capture(problem="tcpdump killed"))
    rep = build(ev)
    assert rep["verdict"] == "error"
    assert rep["error"] == "the Docker Engine went away" and rep["capture"]["problem"] == "tcpdump killed"
    assert rep["capture"]["whole"] is False
    assert [s["status"] for s in rep["steps"]][3:6] == ["ok", "failed", "skipped"]
    assert json.loads(json.dumps(rep)) == rep


def test_fractional_points():
    rep = build()
    rep2 = report.build(tcp_scenario(), tcp_evidence(), [dataclasses.replace(o, points=0.1, awarded=0.1)
                                                         for o in checks.evaluate(tcp_scenario(), tcp_evidence())])
    assert rep["score"]["total"] == 21 and isinstance(rep["score"]["total"], int)
    assert rep2["score"] == {"awarded": 1.6, "total": 1.6}


# ---- JUnit ---------------------------------------------------------------------------------------


def parse(xml_text: str) -> ET.Element:
    assert xml_text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(xml_text.encode("utf-8"))


def test_junit_of_a_passing_run():
    suite = parse(report.junit_xml(build()))
    assert suite.tag == "testsuite" and suite.get("name") == "tcp-exchange"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("16", "0", "0")
    assert suite.get("time") == "6.300"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c.name for c in tcp_scenario().checks]
    assert {c.get("classname") for c in cases} == {"tcp-exchange"}
    assert not suite.findall(".//failure")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "pass" and props["score"] == "21/21"


def test_junit_failures_carry_the_evidence():
    suite = parse(report.junit_xml(build(failing_run())))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("16", "2", "0")
    fin = next(c for c in suite.findall("testcase") if c.get("name") == FIN)
    failure = fin.find("failure")
    assert failure.get("message") == ("Expected exactly 2 frames matching [tcp.flags.fin==1 && tcp.port==5000]; "
                                      "found 1 (of 17 in the capture).")
    assert FIN_1 in failure.text and "scenarios/tcp.yaml:70 (checks[14])" in failure.text


def test_junit_failed_steps_and_errors(tmp_path):
    ev = failed_at(4, "waited 10 s for a line matching /olá/\x1b[31m in client's output",
                   drop_snapshots=("connected", "after-close"))
    rep = build(ev)
    suite = parse(report.junit_xml(rep))
    # 16 checks (3 fail: their snapshots are missing; the server's exit status is not earned: the SIGINT it is
    # about was never sent) + the failed step
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("17", "5", "0")
    step = suite.findall("testcase")[-1]
    assert step.get("name") == 'step steps[4]: wait for "I received 3 chars: olá" from client'
    assert "olá" in step.find("failure").get("message")  # non-ASCII kept; the ESC made XML-safe
    assert "\x1b" not in step.find("failure").get("message")

    rep = build(dataclasses.replace(ev, error="the Docker Engine went away"))
    path = tmp_path / "junit.xml"
    report.write_junit(rep, path)
    suite = parse(path.read_text(encoding="utf-8"))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("18", "5", "1")
    run = suite.findall("testcase")[-1]
    assert run.get("name") == "run" and run.find("error").get("message") == "the Docker Engine went away"


# ---- the terminal --------------------------------------------------------------------------------


def test_render_a_passing_run():
    text = rendered(build(artifacts=ARTIFACTS))
    assert "\x1b[" not in text  # no colour, no cursor codes
    assert "tcp-exchange" in text and "PASS" in text and "tcp-exchange-20250101-120000-3f9a" in text
    for c in tcp_scenario().checks:
        assert c.name in text
    assert text.count("✓") == 16 and "✗" not in text
    assert "Failed checks" not in text
    assert "Score 21/21 points · 16 of 16 checks passed · verdict PASS" in text
    assert f"Artifacts {ARTIFACTS}" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_render_shows_the_evidence_of_failures_and_failed_steps():
    ev = failed_at(4, "waited 10 s for [client] output", drop_snapshots=("connected", "after-close"))
    text = rendered(build(ev))
    # 4 checks in the table and below (3 snapshots missing, the server's exit status not earned), 1 step
    assert "FAIL" in text and text.count("✗") == 4 + 4 + 1
    assert "Failed steps" in text and 'steps[4] (line 19): wait for "I received 3 chars: olá" from client' in text
    assert "waited 10 s for [client] output" in text  # brackets are text, not rich markup
    assert "Failed checks" in text and "netstat on the server shows the established connection" in text
    assert "snapshot 'connected' was not taken: steps[5]" in text
    assert "Score 16/21 points · 12 of 16 checks passed · verdict FAIL" in text
    assert max(len(line) for line in text.splitlines()) <= 100
    assert not any(line.endswith(" ") for line in text.splitlines())  # no padding for CI logs


def test_render_the_evidence_of_a_log_failure():
    ev = with_program(tcp_evidence(), "server", lines=SERVER_LINES[:3], exit_status=None)
    text = rendered(build(ev))
    assert "server logs the connection, its thread and the goodbye, in order" in text
    assert "/^Bye bye Client 1!$/" in text and "killed at teardown" in text
    assert "    at scenarios/tcp.yaml:31 (checks[1])" in text


def test_render_an_error():
    ev = dataclasses.replace(tcp_evidence(), error="cannot create network socklab-3f9a: pool exhausted")
    text = rendered(build(ev))
    assert "ERROR" in text and "The run itself went wrong:" in text and "pool exhausted" in text


def test_render_in_colour_marks_the_verdict():
    out = io.StringIO()
    report.render(build(failing_run()), Console(file=out, force_terminal=True, color_system="standard", width=100))
    assert "\x1b[" in out.getvalue() and "FAIL" in out.getvalue()


def test_render_summary():
    reports = [build(artifacts=ARTIFACTS), build(failing_run()),
               build(dataclasses.replace(tcp_evidence(), error="engine gone", timings={}))]
    reports[1]["scenario"]["name"] = "tcp-exchange-2"
    reports[2]["scenario"]["name"] = "udp-exchange"
    out = io.StringIO()
    report.render_summary(reports, Console(file=out, no_color=True, width=100))
    text = out.getvalue()
    rows = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert "PASS" in rows["tcp-exchange"] and "21/21" in rows["tcp-exchange"] and "6.3 s" in rows["tcp-exchange"]
    assert "FAIL" in rows["tcp-exchange-2"] and "18/21" in rows["tcp-exchange-2"]
    assert "ERROR" in rows["udp-exchange"] and "—" in rows["udp-exchange"]
    assert "3 scenarios: 1 passed, 1 failed, 1 error" in text
    assert not any(line.endswith(" ") for line in text.splitlines())
