"""The HTML pages of the reports (templates in orchestrator/templates/, rendered by jinja2 with autoescape):
everything from a run is escaped, every page is one self-contained file.

This module holds the environment the page writers share; the pages themselves are pure functions of
plain data (a report dict, the evidence, the grades) that return the page's text.
"""
from __future__ import annotations

import functools

import jinja2


@functools.cache
def environment() -> jinja2.Environment:
    """The templates' environment: autoescape on for every template (HTML and SVG alike), undefined names
    an error (a template that names what it is not given fails in the tests, not silently on a page)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("orchestrator", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["seconds"] = lambda x, digits=3: "" if x is None else f"{x:.{digits}f}"
    env.globals["inf"] = float("inf")
    return env


def render(template: str, **data) -> str:
    """A template rendered with `data`."""
    return environment().get_template(template).render(**data)


__all__ = ["environment", "render"]


# ---- the report of one run ----------------------------------------------------------------------------

#: The most rows the timeline shows of one program's output, and of the packets (a flood is summed up)
TIMELINE_LINES, TIMELINE_PACKETS = 400, 1500
LOG_LINES = 3000  # per host, on the page (logs/<host>.log has them all)


def display_filters(frames, addresses: dict[str, str]) -> list[tuple[str, str]]:
    """The assignment's three display filters for this capture, (filter, what it shows): the client's
    address, the TCP server's port and the UDP server's port, as the packets show them (the first SYN's,
    the first datagram's), each only when the capture has it."""
    from . import packets as pk

    client = tcp = udp = None
    for p in frames:
        if tcp is None and p.transport == "tcp" and p.flags & pk.SYN and not p.flags & pk.ACK:
            tcp, client = p.dport, client or p.src
        if udp is None and p.transport == "udp":
            udp, client = p.dport, client or p.src
    client = client or addresses.get("client")
    out = []
    if client:
        name = next((n for n, a in addresses.items() if a == client), client)
        out.append((f"ip.addr=={client}", f"everything {name} sent or received"))
    if tcp is not None:
        out.append((f"tcp.port=={tcp}", "the TCP session: handshake, messages and answers, teardown"))
    if udp is not None:
        out.append((f"udp.port=={udp}", "the datagrams: no handshake, no acknowledgement, no teardown"))
    return out


def timeline(evidence) -> tuple[list[dict], list[str]]:
    """The programs' lines, their starts and ends, the steps and the packets on one clock (seconds since the
    run started), in time order; and notes on what was left out. A line's time is when the lab received
    it: a program that does not flush its output prints late (all at its exit, for `print` to a pipe)."""
    from . import ladder

    rows: list[dict] = []
    notes: list[str] = []
    for step in evidence.steps:
        if step.started is not None:
            rows.append({"t": step.started, "kind": "step", "who": step.key, "what": step.description,
                         "status": step.status})
    for prog in evidence.programs.values():
        rows.append({"t": prog.started, "kind": "start", "who": f"{prog.id} on {prog.host}",
                     "what": "started: " + " ".join(prog.argv), "status": ""})
        for ln in prog.lines[:TIMELINE_LINES]:
            rows.append({"t": ln.t, "kind": "line", "who": f"{prog.id} on {prog.host}",
                         "what": ln.text, "status": ln.stream})
        if len(prog.lines) > TIMELINE_LINES:
            notes.append(f"{prog.id}: only its first {TIMELINE_LINES} of {len(prog.lines)} lines are on the "
                         "timeline (its host's log below has them all)")
        if prog.ended is not None:
            rows.append({"t": prog.ended, "kind": "exit", "who": f"{prog.id} on {prog.host}",
                         "what": f"exited with status {prog.exit_status}", "status": ""})
    frames = evidence.capture.frames
    if frames:
        names = {a: n for n, a in evidence.addresses.items()}
        epoch = evidence.epoch
        if epoch is None:
            notes.append("the run has no wall-clock anchor: packets are timed from the first packet")
            epoch = frames[0].time
        for p in frames[:TIMELINE_PACKETS]:
            rows.append({"t": round(p.time - epoch, 6), "kind": "packet", "frame": p.number,
                         "who": f"{names.get(p.src, p.src)} → {names.get(p.dst, p.dst)}",
                         "what": ladder.label(p, evidence.addresses), "status": p.protocol})
        if len(frames) > TIMELINE_PACKETS:
            notes.append(f"only the first {TIMELINE_PACKETS} of {len(frames)} packets are on the timeline")
    order = {"step": 0, "start": 1, "packet": 2, "line": 3, "exit": 4}
    rows.sort(key=lambda r: (r["t"], order[r["kind"]]))
    return rows, notes


def host_logs(evidence) -> dict[str, list[tuple[float, str, str, str]]]:
    """Each host's lines, (time, program, stream, text) in time order (a chunk's lines as they came)."""
    logs: dict[str, list[tuple[float, str, str, str]]] = {}
    for prog in evidence.programs.values():
        rows = logs.setdefault(prog.host, [])
        rows += [(ln.t, prog.id, ln.stream, ln.text) for ln in prog.lines]
        rows.append((prog.ended if prog.ended is not None else float("inf"), prog.id, "exit",
                     "still running at the end (killed)" if prog.exit_status is None else f"exit {prog.exit_status}"))
    return {host: sorted(rows, key=lambda r: r[0]) for host, rows in sorted(logs.items())}


def run_page(report: dict, evidence) -> str:
    """The HTML report of one run: its checks with their evidence, the ladder diagram of its capture, one
    timeline of output lines and packets, the socket snapshots as tables, the logs per host, the steps with
    their timings, what the limits stopped, and the capture with the assignment's display filters."""
    from . import ladder, packets as pk

    frames = evidence.capture.frames
    diagram = ladder.layout(frames, evidence.addresses,
                            losses=pk.losses_of(evidence.impairments, evidence.addresses),
                            title=f"{report['scenario']['name']}: what the capture saw")
    rows, notes = timeline(evidence)
    logs = host_logs(evidence)
    cut = {host: len(lines) - LOG_LINES for host, lines in logs.items() if len(lines) > LOG_LINES}
    return render("run.html.j2", r=report, ev=evidence, ladder=ladder.svg(diagram, standalone=False),
                  diagram=diagram, timeline=rows, timeline_notes=notes, logs={h: v[:LOG_LINES] for h, v in logs.items()},
                  logs_cut=cut, filters=display_filters(frames, evidence.addresses),
                  failed=[c for c in report["checks"] if not c["passed"]],
                  passed=sum(1 for c in report["checks"] if c["passed"]))


__all__ += ["run_page", "timeline", "display_filters", "host_logs"]


def write_run_page(report: dict, evidence, path) -> None:
    """Write the run's HTML report (UTF-8)."""
    from pathlib import Path

    Path(path).write_text(run_page(report, evidence), encoding="utf-8")


__all__ += ["write_run_page"]
