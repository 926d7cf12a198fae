"""The HTML report of one run (`runs/<id>/report.html`, templates/run.html.j2): pure functions of the report
dict (report.build) and the run's evidence, and the writer of the file."""
from __future__ import annotations

from pathlib import Path

from . import ladder
from ..evidence import packets as pk
from ..evidence import Evidence
from .pages import render

#: The most rows the timeline shows of one program's output, and of the packets (a flood is summed up)
TIMELINE_LINES, TIMELINE_PACKETS = 400, 1500
LOG_LINES = 3000  # per host, on the page (logs/<host>.log has them all)


def display_filters(frames, addresses: dict[str, str]) -> list[tuple[str, str]]:
    """The assignment's three display filters for this capture, (filter, what it shows): the client's
    address, the TCP server's port and the UDP server's port, as the packets show them (the first SYN's,
    the first datagram's), each only when the capture has it."""
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


def _who(prog) -> str:
    """A program as the timeline names it: 'client on client' is just 'client'."""
    return prog.id if prog.id == prog.host else f"{prog.id} on {prog.host}"


def timeline(evidence: Evidence) -> tuple[list[dict], list[str]]:
    """The programs' lines, their starts and ends, the steps and the packets on one clock (seconds since the
    run started), in time order; and notes on what was left out. A line's time is when the lab received
    it: a program that does not flush its output prints late (all at its exit, for `print` to a pipe)."""
    rows: list[dict] = []
    notes: list[str] = []
    for step in evidence.steps:
        if step.started is not None:
            rows.append({"t": step.started, "kind": "step", "who": step.key, "what": step.description,
                         "status": step.status})
    for prog in evidence.programs.values():
        rows.append({"t": prog.started, "kind": "start", "who": _who(prog),
                     "what": "started: " + " ".join(prog.argv), "status": ""})
        for ln in prog.lines[:TIMELINE_LINES]:
            rows.append({"t": ln.t, "kind": "line", "who": _who(prog),
                         "what": ln.text, "status": ln.stream})
        if len(prog.lines) > TIMELINE_LINES:
            notes.append(f"{prog.id}: only its first {TIMELINE_LINES} of {len(prog.lines)} lines are on the "
                         f"timeline (logs/{prog.host}.log has them all)")
        if prog.ended is not None:
            rows.append({"t": prog.ended, "kind": "exit", "who": _who(prog),
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
                         "what": ladder.label(p, names), "status": p.protocol})
        if len(frames) > TIMELINE_PACKETS:
            notes.append(f"only the first {TIMELINE_PACKETS} of {len(frames)} packets are on the timeline")
    order = {"step": 0, "start": 1, "packet": 2, "line": 3, "exit": 4}
    rows.sort(key=lambda r: (r["t"], order[r["kind"]]))
    return rows, notes


def host_logs(evidence: Evidence) -> dict[str, list[tuple[float, str, str, str]]]:
    """Each host's lines, (time, program, stream, text) in time order (a chunk's lines as they came)."""
    logs: dict[str, list[tuple[float, str, str, str]]] = {}
    for prog in evidence.programs.values():
        rows = logs.setdefault(prog.host, [])
        rows += [(ln.t, prog.id, ln.stream, ln.text) for ln in prog.lines]
        rows.append((prog.ended if prog.ended is not None else float("inf"), prog.id, "exit",
                     "still running at the end (killed)" if prog.exit_status is None else f"exit {prog.exit_status}"))
    return {host: sorted(rows, key=lambda r: r[0]) for host, rows in sorted(logs.items())}


def run_page(report: dict, evidence: Evidence, graded: str | None = None, judges: list[str] | None = None) -> str:
    """The HTML report of one run: its checks with their evidence, the ladder diagram of its capture, one
    timeline of output lines and packets, the socket snapshots as tables, the logs per host, the steps with
    their timings, what the limits stopped, and the capture with the assignment's display filters.

    A grading's play (`graded`: the student's program in it; `judges`: the program file each check judges)
    says which checks count for the student: the others judge the lab's own programs."""
    frames = evidence.capture.frames
    diagram = ladder.layout(frames, evidence.addresses,
                            losses=pk.losses_of(evidence.impairments, evidence.addresses),
                            title=f"{report['scenario']['name']}: what the capture saw")
    rows, notes = timeline(evidence)
    logs = host_logs(evidence)
    cut = {host: len(lines) - LOG_LINES for host, lines in logs.items() if len(lines) > LOG_LINES}
    return render("run.html.j2", r=report, ev=evidence, ladder=ladder.svg(diagram, standalone=False),
                  diagram=diagram, timeline=rows, timeline_notes=notes,
                  logs={h: v[:LOG_LINES] for h, v in logs.items()}, logs_cut=cut, filters=display_filters(frames, evidence.addresses),
                  graded=graded,
                  judges=judges or [None] * len(report["checks"]),
                  passed=sum(1 for c in report["checks"] if c["passed"]))


def write_run_page(report: dict, evidence: Evidence, path: str | Path, **graded) -> None:
    """Write the run's HTML report (UTF-8); `graded`: run_page's."""
    Path(path).write_text(run_page(report, evidence, **graded), encoding="utf-8")


__all__ = ["run_page", "write_run_page", "timeline", "display_filters", "host_logs"]
