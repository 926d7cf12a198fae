"""The packets of a capture (packets.py), their ladder diagram (ladder.py) and the run's HTML page (runpage.py),
on recorded sharkd output (tests/data/*.frames: sharkd-count.pl --frames on a real capture) and on made-up
packets. No Docker: tests/integration/test_reports.py opens real reports in Chromium."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from orchestrator.report import ladder, runpage
from orchestrator.evidence import packets as pk
from orchestrator.evidence import (CaptureEvidence, Evidence, Line, ProgramEvidence, Snapshot, SocketRow,
                                   StepResult)

from tests.support import ROOT

DATA = ROOT / "tests" / "data"
SVG = "{http://www.w3.org/2000/svg}"
TCP_NAMES = json.loads((DATA / "tcp-exchange.json").read_text())["addresses"]
LOSSY_NAMES = {"server": "10.78.68.10", "client": "10.78.68.20"}  # the run lossy-link.frames was read from


def frames(name: str) -> tuple[pk.Packet, ...]:
    return pk.parse_records((DATA / f"{name}.frames").read_text(encoding="utf-8").splitlines())


def svg_tree(diagram: ladder.Ladder) -> ET.Element:
    return ET.fromstring(ladder.svg(diagram).encode())  # well-formed XML, or this fails


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == cls]


# ---- packets -------------------------------------------------------------------------------------------


def test_the_fields_of_a_tcp_exchange():
    fr = frames("tcp-exchange")
    assert [p.number for p in fr] == list(range(1, 19))
    tcp = [p for p in fr if p.transport == "tcp"]
    assert [", ".join(p.flag_names) for p in tcp[:3]] == ["SYN", "SYN, ACK", "ACK"]
    assert tcp[0].src == TCP_NAMES["client"] and tcp[0].dst == TCP_NAMES["server"] and tcp[0].dport == 5000
    greeting = tcp[3]
    assert greeting.payload == b"Server is working:" and greeting.payload_length == 18 and not greeting.payload_cut
    assert [p.payload for p in tcp if p.payload == "olá".encode()]  # UTF-8 kept as bytes
    long = next(p for p in tcp if p.payload.startswith(b"Server message"))
    assert long.payload_cut and len(long.payload) <= pk.PREVIEW  # sharkd cuts the column; we say so
    assert {p.transport for p in fr} == {"other", "arp", "tcp"}  # (an old recording: one IPv6 frame)
    assert all(p.time > 1.7e9 for p in fr) and [p.time for p in fr] == sorted(p.time for p in fr)
    assert tcp[0].ip_id is not None and tcp[0].stream == 0


def test_lossy_links_drop_what_their_rule_drops_and_tcp_retransmits_exactly_those():
    fr = frames("lossy-link")
    lost = pk.lost_by_links(fr, [pk.Loss("server", LOSSY_NAMES["server"], 20)])
    by_number = {p.number: p for p in fr}
    lost_tcp = [by_number[n] for n in lost if by_number[n].transport == "tcp"]
    lost_udp = [by_number[n] for n in lost if by_number[n].transport == "udp"]
    # every 5th TCP data segment reaching the server, and apart from them every 5th datagram
    reaching = [p for p in fr if p.dst == LOSSY_NAMES["server"]]
    data = [p.number for p in reaching if p.transport == "tcp" and p.flags & pk.PSH]
    assert data[4::5] == [p.number for p in lost_tcp]
    assert [p.number for p in reaching if p.transport == "udp"][4::5] == [p.number for p in lost_udp]
    assert [p.payload for p in lost_udp] == [b"datagram 5", b"datagram 10"]  # the server's log lacks these two
    # Wireshark's own analysis agrees: each lost segment, and only those, is retransmitted by the client
    retransmitted = [p for p in fr if "retransmission" in p.analysis and p.src == LOSSY_NAMES["client"]]
    assert [(p.seq, p.payload) for p in retransmitted] == [(p.seq, p.payload) for p in lost_tcp]
    assert pk.lost_by_links(fr, []) == {}


def test_a_links_copy_is_told_by_its_ip_identification():
    fr = list(frames("tcp-exchange"))
    greeting = next(p for p in fr if p.payload == b"Server is working:")
    fr.insert(fr.index(greeting) + 1, replace(greeting, number=99, time=greeting.time + 1e-5))
    marked = pk.mark_duplicates(fr)
    assert [p.duplicate_of for p in marked if p.number == 99] == [greeting.number]
    assert sum(p.duplicate_of is not None for p in marked) == 1  # retransmissions have identifications of their own


def test_conversations_udp_is_one_per_client_and_server_port():
    of, convs = pk.conversations(frames("lossy-link"))
    assert [(c.transport, c.b[1]) for c in convs] == [("tcp", 5000), ("udp", 6000)]
    assert convs[1].ports == convs[1].packets == 10  # the client ran once per datagram, each from a new port
    assert ladder.describe(convs[1], {a: n for n, a in LOSSY_NAMES.items()}) == \
        "UDP client ⇄ server:6000 (10 datagrams, from 10 ports)"


# ---- the ladder ----------------------------------------------------------------------------------------


def test_the_ladder_of_a_tcp_exchange_is_the_assignments_figure():
    diagram = ladder.layout(frames("tcp-exchange"), TCP_NAMES, title="tcp")
    root = svg_tree(diagram)
    arrows = groups(root, "packet")
    assert len(arrows) == diagram.packets == 18 and not diagram.folds
    # who connects on the left; after the run's hosts, the host's IPv6 chatter this old recording holds
    assert [line.name for line in diagram.lifelines] == ["client", "server", "::", "ff02::16", "ff02::1:ff79:8cc6"]
    tcp = [a for a in diagram.arrows if a.kind == "tcp"]
    assert [a.flags for a in tcp[:3]] == ["SYN", "SYN, ACK", "ACK"]
    assert tcp[0].x1 < tcp[0].x2 and tcp[1].x1 > tcp[1].x2  # SYN to the right, SYN-ACK back
    assert [a.flags for a in tcp if "FIN" in a.flags] == ["FIN, ACK", "FIN, ACK"]
    assert 'PSH, ACK · 18 B "Server is working:"' in [a.label for a in tcp]
    assert [a.time for a in diagram.arrows] == sorted(a.time for a in diagram.arrows) and diagram.arrows[0].time == 0
    assert [g.get("data-frame") for g in arrows] == [str(n) for n in range(1, 19)]


def test_lost_and_retransmitted_packets_are_marked():
    diagram = ladder.layout(frames("lossy-link"), LOSSY_NAMES, losses=[pk.Loss("server", LOSSY_NAMES["server"], 20)])
    lost = [a for a in diagram.arrows if a.lost]
    assert len(lost) == 4 and all(a.marks[0] == "lost: dropped by server's link" for a in lost)
    assert all(a.end_x < a.x2 for a in lost)  # the arrow stops short of the server
    retrans = [a for a in diagram.arrows if "retransmission" in a.marks]
    assert len(retrans) == 3 and all(a.colour == ladder.MARK for a in retrans)
    root = svg_tree(diagram)
    assert len([g for g in groups(root, "packet") if g.get("data-lost")]) == 4
    assert any("duplicate ACK" in (g.get("data-marks") or "") for g in groups(root, "packet"))


def _flood(n: int) -> list[pk.Packet]:
    """A handshake, n data segments of one connection, a teardown."""
    c, s = "10.0.0.20", "10.0.0.10"
    base = dict(transport="tcp", protocol="TCP", info="", length=60, sport=40000, dport=5000, stream=0)
    out = [pk.Packet(1, 0.0, src=c, dst=s, flags=pk.SYN, **base),
           pk.Packet(2, 0.001, src=s, dst=c, flags=pk.SYN | pk.ACK, **base),
           pk.Packet(3, 0.002, src=c, dst=s, flags=pk.ACK, **base)]
    for i in range(n):
        out.append(pk.Packet(4 + i, 0.003 + i * 1e-4, src=c, dst=s, flags=pk.PSH | pk.ACK, payload_length=5,
                             payload=b"x" * 5, **base))
    k = 4 + n
    out += [pk.Packet(k, 1.0, src=c, dst=s, flags=pk.FIN | pk.ACK, **base),
            pk.Packet(k + 1, 1.001, src=s, dst=c, flags=pk.FIN | pk.ACK, **base),
            pk.Packet(k + 2, 1.002, src=c, dst=s, flags=pk.ACK, **base)]
    return out


def test_a_long_capture_folds_runs_of_data_and_never_the_handshake_or_teardown():
    flood = _flood(400)
    diagram = ladder.layout(flood, {"server": "10.0.0.10", "client": "10.0.0.20"})
    root = svg_tree(diagram)
    arrows, folds = groups(root, "packet"), groups(root, "fold")
    assert len(arrows) + sum(int(f.get("data-packets")) for f in folds) == len(flood)  # every packet accounted
    assert len(folds) == 1 and len(arrows) == 3 + ladder.KEEP_HEAD + ladder.KEEP_TAIL + 3
    assert [a.flags for a in diagram.arrows[:3]] == ["SYN", "SYN, ACK", "ACK"]
    assert [a.flags for a in diagram.arrows[-3:]] == ["FIN, ACK", "FIN, ACK", "ACK"]
    assert "folded" in diagram.note and diagram.breaks  # and the silence before the teardown is said
    short = ladder.layout(_flood(100), {})
    assert not short.folds and len(short.arrows) == 106  # a short capture is drawn whole


def test_what_programs_sent_is_text_in_the_diagram_never_markup():
    evil = b'\x1b[2J<script>alert(1)</script>&"'
    fr = [replace(p, payload=evil, payload_length=len(evil)) if p.payload else p for p in frames("tcp-exchange")]
    text = ladder.svg(ladder.layout(fr, {"<b>server</b>": TCP_NAMES["server"], "client": TCP_NAMES["client"]}))
    root = ET.fromstring(text.encode())
    assert "<script>" not in text and not list(root.iter(f"{SVG}script"))
    labels = [t.text for t in root.iter(f"{SVG}text") if t.text and "alert" in t.text]
    assert labels and all('"\\x1b[2J<script>alert(1)…"' in t for t in labels)  # shown as text, cut, escapes visible
    assert "<b>server</b>" in [t.text for t in root.iter(f"{SVG}text")]


def test_an_empty_capture_draws_the_hosts_and_says_so():
    diagram = ladder.layout([], {"server": "10.0.0.10", "client": "10.0.0.20"})
    assert len(diagram.lifelines) == 2 and diagram.note == "The capture holds no packets."
    svg_tree(diagram)


# ---- the run's page ------------------------------------------------------------------------------------


class Page(HTMLParser):
    """The elements of a page by id and class, and its text."""

    def __init__(self, html: str):
        super().__init__()
        self.ids: dict[str, str] = {}
        self.classes: dict[str, int] = {}
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if "id" in a:
            self.ids[a["id"]] = tag
        for c in (a.get("class") or "").split():
            self.classes[c] = self.classes.get(c, 0) + 1

    def handle_data(self, data):
        self.text.append(data)


def _evidence(fr, lines=("Socket is listening in address 0.0.0.0 and port 5000 ...",)) -> Evidence:
    t0 = fr[0].time - 1.0
    server = ProgramEvidence("server", "server", ("python3", "server_tcp.py", "0.0.0.0", "5000"),
                             tuple(Line(0.2 + i * 0.01, "stdout", text) for i, text in enumerate(lines)), 0, 0.1, 2.0)
    listening = SocketRow("tcp", "0.0.0.0:5000", "0.0.0.0:*", "LISTEN", "raw")
    snap = Snapshot("connected", "server", 1.5, (listening,), "raw")
    steps = (StepResult("steps[0]", 10, "start", "start server on server", "ok", "", 0.1, 0.05),
             StepResult("steps[1]", 12, "wait", "wait for tcp port 5000 on server", "failed", "never <came>", 0.2, 5.0))
    cap = CaptureEvidence("capture.pcap", len(fr), len(fr), 0, frames=tuple(fr))
    return Evidence("run-1", "tcp-exchange", "scenarios/tcp.yaml", "2026-11-26T10:00:00+00:00", dict(TCP_NAMES),
                    {"server": server}, {"connected": snap}, cap, steps, epoch=t0)


def _report(ev: Evidence, checks) -> dict:
    return {"run_id": ev.run_id, "scenario": {"name": ev.scenario, "path": ev.scenario_path, "description": "d"},
            "verdict": "fail", "score": {"awarded": 1, "total": 3}, "checks": checks,
            "steps": [vars(s) for s in ev.steps],
            "capture": {"pcap": "capture.pcap", "packets": 18, "tcpdump_captured": 18, "tcpdump_dropped": 0,
                        "whole": True,
                        "problem": None, "overflow": None, "filter": "not ip6"},
            "stopped_by_limits": ["server: stopped with SIGKILL"], "impairments": [], "timings": {"total": 2.5},
            "images": {}, "addresses": dict(ev.addresses), "started_at": ev.started_at, "error": None}


CHECKS = [{"name": "server announces where it listens", "kind": "log", "points": 1, "awarded": 1, "passed": True,
           "evidence": "found", "where": "scenarios/tcp.yaml:30 (checks[0])"},
          {"name": "replies count <characters>", "kind": "log", "points": 2, "awarded": 0, "passed": False,
           "evidence": "line 3: Server message: I received 4 chars: <olá>",
           "where": "scenarios/tcp.yaml:41 (checks[3])"}]


def test_the_run_page_shows_checks_ladder_timeline_sockets_logs_and_filters():
    fr = frames("tcp-exchange")
    ev = _evidence(fr, lines=("Socket is listening", "<script>alert('x')</script>", "paid\u202egnp.exe\x1b[2J"))
    html = runpage.run_page(_report(ev, CHECKS), ev)
    page = Page(html)
    assert page.classes["check"] == 2 and page.classes["failed"] >= 1
    text = "".join(page.text)
    assert "line 3: Server message: I received 4 chars: <olá>" in text  # the failed check's evidence, as text
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "\u202e" not in html and "\x1b" not in html and "paid\\u202egnp.exe\\x1b[2J" in text  # seen, not obeyed
    assert [a.get("data-frame") for tag, a in page.tags if tag == "g" and a.get("class") == "packet"] == \
        [str(n) for n in range(1, 19)]
    assert page.ids["pcap"] == "a" and ("a", {"href": "capture.pcap", "id": "pcap"}) in page.tags
    assert ["ip.addr==10.78.10.20", "tcp.port==5000"] == [t for t in page.text if t.startswith(("ip.", "tcp.", "udp."))]
    # one clock: the server's lines (run time 0.2 s) come before the first packet (1 s after the run's start)
    rows = [a.get("class") for tag, a in page.tags if tag == "tr" and a.get("class") in ("line", "packet", "step")]
    assert rows.index("line") < rows.index("packet")
    assert "LISTEN" in text and "0.0.0.0:5000" in text and "never <came>" in text
    assert "server: stopped with SIGKILL" in text
    scripts = [a for tag, a in page.tags if tag in ("script", "link", "img") and (a.get("src") or a.get("href"))]
    assert scripts == []  # nothing fetched: one self-contained file


def test_the_timeline_puts_lines_and_packets_on_one_clock():
    fr = frames("tcp-exchange")
    ev = _evidence(fr)
    rows, notes = runpage.timeline(ev)
    packet_rows = [r for r in rows if r["kind"] == "packet"]
    assert len(packet_rows) == 18 and packet_rows[0]["t"] == pytest.approx(1.0)
    assert [(r["who"], r["what"]) for r in packet_rows[1:3]] == [("client → server", "ARP who has server?"),
                                                                 ("server → client", "ARP reply")]
    assert [r["t"] for r in rows] == sorted(r["t"] for r in rows) and notes == []
    rows, notes = runpage.timeline(replace(ev, epoch=None))
    assert [r for r in rows if r["kind"] == "packet"][0]["t"] == 0 and "no wall-clock anchor" in notes[0]


def test_display_filters_come_from_the_capture():
    assert runpage.display_filters(frames("lossy-link"), LOSSY_NAMES) == [
        ("ip.addr==10.78.68.20", "everything client sent or received"),
        ("tcp.port==5000", "the TCP session: handshake, messages and answers, teardown"),
        ("udp.port==6000", "the datagrams: no handshake, no acknowledgement, no teardown")]
    assert runpage.display_filters([], {"client": "10.0.0.20"}) == [
        ("ip.addr==10.0.0.20", "everything client sent or received")]


def test_a_gradings_play_says_which_checks_count_for_the_student():
    ev = _evidence(frames("tcp-exchange"))
    page = Page(runpage.run_page(_report(ev, CHECKS), ev, graded="server_tcp.py",
                                 judges=["server_tcp.py", "client_tcp.py"]))
    rows = [a.get("class") for tag, a in page.tags if tag == "tr" and "check" in (a.get("class") or "").split()]
    assert rows == ["check passed", "check failed not-counted"] and page.ids["graded"] == "p"
    assert "graded" not in Page(runpage.run_page(_report(ev, CHECKS), ev)).ids


# ---- what a hostile capture or a hand-made one must not do to the diagram -------------------------------


def _udp(n: int, dst: str = "10.0.0.10", src: str = "10.0.0.20", sport: int = 40000, dport: int = 6000,
         t: float = 0.0) -> pk.Packet:
    return pk.Packet(n, t + n * 1e-4, "UDP", "", 60, "udp", src=src, dst=dst, ip_id=n, sport=sport, dport=dport,
                     payload_length=4, payload=b"data")


def test_a_links_losses_are_never_folded():
    flood = [_udp(n) for n in range(1, 401)]
    diagram = ladder.layout(flood, {"server": "10.0.0.10", "client": "10.0.0.20"},
                            losses=[pk.Loss("server", "10.0.0.10", 5)])
    assert len([a for a in diagram.arrows if a.lost]) == 20  # every 20th of 400, each drawn
    assert len(diagram.arrows) + sum(f.count for f in diagram.folds) == 400 and len(diagram.folds) == 20


def test_a_broadcast_counts_at_every_lossy_host_but_is_no_ones_loss():
    names = {"server": "10.0.0.10", "client": "10.0.0.20"}
    flood = [_udp(1, dst="10.0.0.255")] + [_udp(n) for n in range(2, 12)]
    lost = pk.lost_by_links(flood, [pk.Loss("server", names["server"], 20)])
    assert sorted(lost) == [5, 10]  # the broadcast was the server's 1st datagram: the 5th is frame 5


def test_a_flood_of_connections_or_addresses_keeps_the_diagram_bounded():
    base = dict(protocol="TCP", info="", length=60, transport="tcp", src="10.0.0.20", dst="10.0.0.10", dport=1)
    scan = []
    for i in range(5000):  # a connect() to 5,000 closed ports: SYN, RST, nothing plain
        scan += [pk.Packet(2 * i + 1, i * 1e-3, **base, sport=40000 + i, stream=i, flags=pk.SYN),
                 pk.Packet(2 * i + 2, i * 1e-3 + 1e-5, **{**base, "src": "10.0.0.10", "dst": "10.0.0.20"},
                           sport=1, stream=i, flags=pk.RST | pk.ACK)]
    diagram = ladder.layout(scan, {"server": "10.0.0.10", "client": "10.0.0.20"})
    assert len(diagram.arrows) + len(diagram.folds) <= ladder.MAX_ROWS
    assert len(diagram.arrows) + sum(f.count for f in diagram.folds) == len(scan)
    assert len(diagram.legend) == ladder.MAX_LEGEND + 1 and diagram.legend[-1].text == "… and 4988 more conversations"
    assert diagram.height < 40_000
    sweep = [pk.Packet(n, n * 1e-3, "ARP", "Who has 10.0.0.x?", 42, "arp", src="10.0.0.20", dst=f"10.0.0.{n}")
             for n in range(1, 254)]
    diagram = ladder.layout(sweep, {"server": "10.0.0.10", "client": "10.0.0.20"})
    assert len(diagram.lifelines) == 2 + ladder.MAX_STRANGERS and diagram.lifelines[-1].name == "248 other addresses"
    svg_tree(diagram)


def test_text_xml_cannot_hold_is_replaced_not_a_broken_file():
    diagram = ladder.layout(frames("tcp-exchange"), TCP_NAMES, title="cap\x1b[1m\x00.pcap")
    assert svg_tree(diagram).find(f"{SVG}text").text == "cap\ufffd[1m\ufffd.pcap"


def test_a_packet_holding_a_line_separator_is_read_whole():
    from orchestrator.lab import capture

    lines = (DATA / "tcp-exchange.frames").read_text(encoding="utf-8").replace(
        '"Who has 10.78.10.10? Tell 10.78.10.20"', '"Who has\u2028 10.78.10.10?\u2029"')
    result = capture.parse_count_output([], lines)
    assert len(result.frames) == 18 and "\u2028" in result.frames[1].info


def test_a_damaged_capture_is_the_runs_problem():
    from orchestrator.lab import capture

    out = "damaged\tthe capture file is cut short or damaged: Wireshark read 4 whole packets of it\ntotal\t4\nend\n"
    result = capture.parse_count_output([], out)
    assert result.damaged.startswith("the capture file is cut short") and result.total == 4
    ev = capture.evidence("capture.pcap", {"captured": 4}, result, None)
    assert ev.problem == result.damaged and not ev.whole
