"""Reports of a run: a JSON-ready dict, JUnit XML, and a rich rendering for a terminal.

`build` is pure: it turns a scenario, the evidence of its run and the check outcomes into one plain
dict (the report). Everything else reads only that dict, so a report written as JSON can be rendered
or converted again later. Only `write_json` and `write_junit` touch files; `render` and
`render_summary` print to the console they are given.

A report may carry an "artifacts" key (the run's folder), which `build` sets when asked and
`render` shows.
"""
from __future__ import annotations

import dataclasses
import json
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..base.text import escaped_lines, plural
from ..judge import checks
from ..judge.checks import Outcome
from ..evidence import Evidence
from ..model.scenario import Scenario
from .junit import Case, Problem, Suite, suite_xml

Report = dict[str, Any]

#: the colour of each verdict in a terminal
VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "error": "bold magenta"}


# ---- the report ----------------------------------------------------------------------------------


def num(x: float) -> float | int:
    """Points as people write them: 2 rather than 2.0, and no float dust (0.1+0.2)."""
    x = round(float(x), 6)
    return int(x) if x.is_integer() else x


def build(scenario: Scenario, evidence: Evidence, outcomes: Sequence[Outcome], *,
          artifacts: str | None = None) -> Report:
    """The report of one run: plain JSON types only (dicts, lists, str, numbers, bool, None)."""
    cap = evidence.capture
    report: Report = {
        "run_id": evidence.run_id,
        "scenario": {"name": scenario.name, "path": scenario.path, "description": scenario.description},
        "verdict": checks.verdict(evidence, outcomes),
        "score": {"awarded": num(sum(o.awarded for o in outcomes)),
                  "total": num(sum(o.points for o in outcomes))},
        "checks": [{"name": o.name, "kind": o.kind, "points": num(o.points), "awarded": num(o.awarded),
                    "passed": o.passed, "evidence": o.evidence, "where": o.where} for o in outcomes],
        "steps": [dataclasses.asdict(s) for s in evidence.steps],
        "programs": {pid: {"host": p.host, "argv": list(p.argv), "source": p.source, "exit_status": p.exit_status,
                           "lines": len(p.lines), "truncated": p.truncated, "stopped": p.stopped,
                           "threads": p.threads}
                     for pid, p in evidence.programs.items()},
        "capture": {"pcap": cap.pcap, "packets": cap.packets, "tcpdump_captured": cap.tcpdump_captured,
                    "tcpdump_dropped": cap.tcpdump_dropped, "whole": cap.whole, "problem": cap.problem,
                    "overflow": cap.overflow, "filter": cap.filter},
        "limits": {host: {**dataclasses.asdict(lim), "stopped": lim.stopped()}
                   for host, lim in evidence.limits.items()},
        "stopped_by_limits": limits_stopped(evidence),
        "impairments": [dict(i) for i in evidence.impairments],
        "timings": dict(evidence.timings),
        "images": {name: {"ref": im.ref, "id": im.id, "packages_sha256": im.packages_sha256}
                   for name, im in evidence.images.items()},
        "addresses": dict(evidence.addresses),
        "started_at": evidence.started_at,
        "error": evidence.error,
    }
    if artifacts is not None:
        report["artifacts"] = str(artifacts)
    return report


def limits_stopped(evidence: Evidence) -> list[str]:
    """What the sandbox's limits stopped during the run, a sentence each: per host (processes refused,
    out-of-memory kills, naming the programs that ran there), per program (output cut, ended by the run)."""
    said = []
    for host, lim in evidence.limits.items():
        ran = ", ".join(p.id for p in evidence.programs.values() if p.host == host) or "no program"
        said += [f"on {host} (where {ran} ran): {what}" for what in lim.stopped()]
    for p in evidence.programs.values():
        if p.truncated:
            said.append(f"{p.id}: its output went past the limit; only its beginning was kept")
        if p.stopped == "teardown":
            said.append(f"{p.id}: still running when the run ended; the run's end stopped it")
        elif p.stopped:
            said.append(f"{p.id}: stopped with {p.stopped}")
    return said


def to_json(report: Report) -> str:
    """The report as indented JSON text (UTF-8 characters kept as they are)."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def write_json(report: Report, path: str | Path) -> None:
    """Write the report as JSON (UTF-8)."""
    Path(path).write_text(to_json(report), encoding="utf-8")


# ---- JUnit XML -----------------------------------------------------------------------------------

def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().split("\n", 1)[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def run_problem(report: Report) -> str | None:
    """What went wrong with the run itself (the reason for an 'error' verdict), if anything."""
    parts = [p for p in (report.get("error"), (report.get("capture") or {}).get("problem")) if p]
    return "; ".join(parts) if parts else None


def failed_steps(report: Report) -> list[dict[str, Any]]:
    return [s for s in report.get("steps", []) if s.get("status") == "failed"]


def _score(report: Report) -> str:
    return f"{report['score']['awarded']}/{report['score']['total']}"


def _total_seconds(report: Report) -> float | None:
    total = (report.get("timings") or {}).get("total")
    return None if total is None else float(total)


def _step_at(step: dict[str, Any]) -> str:
    """' (line 19)' for a step with a line, '' otherwise."""
    return f" (line {step['line']})" if step.get("line") is not None else ""


def junit_xml(report: Report) -> str:
    """The report as JUnit XML: one <testsuite> named after the scenario, a <testcase> per check (a
    <failure> with the evidence for a failed one), one per failed step (`step steps[N]: description`),
    and an <error> testcase for an 'error' verdict."""
    suite_name = report["scenario"]["name"]
    cases: list[Case] = []
    for c in report["checks"]:
        failure = None if c["passed"] else Problem(
            "failure", _first_line(c["evidence"]),
            f"{c['evidence']}\n(check at {c['where']}; {c['awarded']}/{c['points']} points)", c["kind"])
        cases.append(Case(c["name"], suite_name, problem=failure))
    for s in failed_steps(report):
        cases.append(Case(f"step {s['key']}: {s['description']}", suite_name, s.get("duration"),
                          Problem("failure", _first_line(s["message"]),
                                  f"{s['key']}{_step_at(s)}: {s['description']}\n{s['message']}", "step")))
    if report["verdict"] == "error":
        problem = run_problem(report) or "the run could not be carried out"
        cases.append(Case("run", suite_name, problem=Problem("error", _first_line(problem), problem, "run")))
    properties = [(key, str(value)) for key, value in (
        ("run_id", report.get("run_id")), ("verdict", report.get("verdict")),
        ("scenario_path", report["scenario"].get("path")), ("score", _score(report)),
        ("artifacts", report.get("artifacts"))) if value is not None]
    started = report.get("started_at")
    return suite_xml(Suite(suite_name, cases, skipped=0, time=_total_seconds(report),
                           timestamp=str(started) if started else None, properties=properties))


def write_junit(report: Report, path: str | Path) -> None:
    """Write the report as JUnit XML (UTF-8)."""
    Path(path).write_text(junit_xml(report), encoding="utf-8")


# ---- the terminal --------------------------------------------------------------------------------


def _verdict_text(verdict: str) -> Text:
    return Text(verdict.upper(), style=VERDICT_STYLE.get(verdict, "bold"))


def _print_indented(console: Console, text: str, style: str = "", indent: int = 4) -> None:
    """Print `text` indented, wrapped to the console's width (continuation lines keep the line's own
    indentation and 2 more), without padding lines with spaces (they end up in CI logs)."""
    pad = " " * indent
    width = max(20, console.width - indent)
    for line in escaped_lines(text).split("\n"):
        lead = line[: len(line) - len(line.lstrip(" "))]
        pieces = textwrap.wrap(line, width, initial_indent="", subsequent_indent=lead + "  ", drop_whitespace=True,
                               break_long_words=True, break_on_hyphens=False) or [""]
        if lead and pieces[0] and not pieces[0].startswith(lead):
            pieces[0] = lead + pieces[0]
        for piece in pieces:
            console.print(Text(pad + piece, style=style), overflow="fold", crop=False, soft_wrap=True)


def render(report: Report, console: Console) -> None:
    """Print one run's report: header, checks table, the evidence of what failed, score and artifacts.

    Everything from the run (names, evidence, messages) is printed as Text, never as markup, so
    brackets in regexes or output ('[first]', '[0-9]') are shown as they are."""
    verdict = report["verdict"]
    sc = report["scenario"]
    header = Text.assemble(("socklab ", "dim"), (escaped_lines(sc["name"]), "bold"), "  ", _verdict_text(verdict))
    console.print(header)
    console.print(Text.assemble(("run ", "dim"), report["run_id"], ("  ·  ", "dim"), escaped_lines(sc["path"]),
                                ("  ·  started ", "dim"), str(report.get("started_at") or "?")))

    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False, expand=False)
    table.add_column("", width=1, no_wrap=True)
    table.add_column("check", overflow="fold", ratio=1)
    table.add_column("kind", style="dim", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    for c in report["checks"]:
        mark = Text("✓", style="green") if c["passed"] else Text("✗", style="bold red")
        table.add_row(mark, Text(escaped_lines(c["name"])), Text(c["kind"]), Text(f"{c['awarded']}/{c['points']}"))
    if report["checks"]:
        console.print()
        console.print(table)

    failed = [c for c in report["checks"] if not c["passed"]]
    steps = failed_steps(report)
    problem = run_problem(report)
    if problem:
        console.print()
        console.print(Text("The run itself went wrong:", style="bold magenta"))
        _print_indented(console, problem)
    if steps:
        console.print()
        console.print(Text("Failed steps", style="bold red"))
        for s in steps:
            console.print(Text.assemble(("✗ ", "bold red"), (f"{s['key']}{_step_at(s)}: ", "bold"),
                                        escaped_lines(s["description"])))
            _print_indented(console, s["message"])
    if failed:
        console.print()
        console.print(Text("Failed checks", style="bold red"))
        for c in failed:
            console.print(Text.assemble(("✗ ", "bold red"), (escaped_lines(c["name"]), "bold")))
            _print_indented(console, f"at {c['where']}", style="dim")
            _print_indented(console, c["evidence"])

    impaired = report.get("impairments") or []
    if impaired:
        console.print()
        console.print(Text("The links", style="bold"))
        for imp in impaired:
            _print_indented(console, imp["applied"], indent=2)

    stopped = report.get("stopped_by_limits") or []
    if stopped:
        console.print()
        console.print(Text("What the limits stopped", style="bold yellow"))
        for what in stopped:
            _print_indented(console, what, indent=2)

    passed = sum(1 for c in report["checks"] if c["passed"])
    console.print()
    console.print(Text.assemble(("Score ", "bold"), (_score(report), "bold"), " points · ",
                                f"{passed} of {len(report['checks'])} checks passed · verdict ",
                                _verdict_text(verdict)))
    if report.get("artifacts"):
        console.print(Text.assemble(("Artifacts ", "bold"), str(report["artifacts"])))


def _duration(report: Report) -> str:
    total = _total_seconds(report)
    return f"{total:.1f} s" if total is not None else "—"


def render_summary(reports: Iterable[Report], console: Console) -> None:
    """One row per scenario (name, verdict, score, duration) and the totals, for a run of several."""
    reports = list(reports)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("scenario", overflow="fold")
    table.add_column("verdict", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    for r in reports:
        table.add_row(Text(escaped_lines(r["scenario"]["name"])), _verdict_text(r["verdict"]), Text(_score(r)),
                      Text(_duration(r)))
    console.print(table)
    counts = {v: sum(1 for r in reports if r["verdict"] == v) for v in ("pass", "fail", "error")}
    console.print(Text.assemble(
        (f"{plural(len(reports), 'scenario')}: ", "bold"),
        (f"{counts['pass']} passed", VERDICT_STYLE["pass"] if counts["pass"] else ""), ", ",
        (f"{counts['fail']} failed", VERDICT_STYLE["fail"] if counts["fail"] else ""), ", ",
        (plural(counts["error"], "error"), VERDICT_STYLE["error"] if counts["error"] else "")))


__all__ = ["Report", "build", "to_json", "write_json", "junit_xml", "write_junit", "render",
           "render_summary", "run_problem", "failed_steps", "limits_stopped"]
