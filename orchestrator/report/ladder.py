"""Ladder diagrams of a real capture, like the assignment's Figures 1 and 2 but drawn from what was on the
wire: a lifeline per host, an arrow per packet in time order (flags, length, a preview of the payload, the
time since the first packet), a colour per connection, and marks for what Wireshark's analysis and the
links' rules say happened (retransmission, out of order, duplicate ACK, a link's copy, a link's loss).

Pure: `layout` turns packets (packets.py) into geometry (plain data), and `svg` draws it with a jinja2
template (templates/ladder.svg.j2, autoescaped: a payload is text, never markup).

A capture of a few hundred packets stays readable: past FOLD_OVER packets, a long run of plain data
segments of one connection (or datagrams of one flow) is folded into one row that says how many packets
and which frames it holds; a handshake, a teardown or a reset only when plain data alone would leave more
than MAX_ROWS rows (a flood of connections), and what is marked (Wireshark's analysis, a link's copy or
loss) never. Whatever a hostile capture holds, the diagram stays bounded: at most HARD_ROWS rows,
MAX_LEGEND conversations named, MAX_STRANGERS lifelines for addresses of no named host.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..base.text import escaped, xml_safe
from ..evidence import packets as pk
from ..evidence.packets import Packet
from .pages import render

OTHERS = "others"  # the lifeline shared by the addresses past MAX_STRANGERS

#: colours of the conversations (TCP connections, UDP flows), in order of first packet; readable on white
PALETTE = ("#0969da", "#8250df", "#1a7f37", "#bc4c00", "#bf3989", "#0a7ea4", "#6e5b00", "#57606a")
NEUTRAL = "#6e7781"  # ARP, ICMP and anything outside a conversation
MARK = "#cf222e"  # retransmissions, losses

LANE = 330  # pixels between two lifelines
LEFT = 120  # the time column
TOP = 56  # the lifelines' heads, with no legend above them
ROW = 38  # one packet
MARKED = 16  # more below a packet whose marks are written under it
SLOPE = 12  # how far an arrow falls between its ends (a packet takes time to arrive)
GAP = 0.5  # seconds: a longer silence between two packets is drawn as a break that says how long
FOLD_OVER = 150  # packets: more than this and long plain runs are folded
FOLD_RUN = 10  # a plain run longer than this is folded...
KEEP_HEAD, KEEP_TAIL = 4, 3  # ...keeping its first and last few
MAX_ROWS = 400  # rows past which plain runs fold across conversations, then any unmarked run
HARD_ROWS = 1200  # rows past which nothing more is drawn (what is left is said in one row)
MAX_LEGEND = 12  # conversations named in the legend (the rest are counted)
MAX_STRANGERS = 4  # lifelines for addresses of no named host; the rest share one
MAX_UNNAMED = 8  # the same when no host is named (a capture made by hand)


@dataclass(frozen=True)
class Lifeline:
    address: str
    name: str  # the host's name in the run, or its address
    x: int


@dataclass(frozen=True)
class Arrow:
    number: int  # frame number
    y: int
    x1: int
    x2: int
    label: str  # over the arrow: flags, length, payload preview
    detail: str  # Wireshark's Info line (the arrow's tooltip)
    time: float  # seconds since the first packet
    colour: str
    marks: tuple[str, ...]  # what is pointed out: 'retransmission', 'lost: dropped by client's link', ...
    lost: bool  # the link dropped it: the arrow stops short of its receiver
    kind: str  # 'tcp', 'udp', 'icmp', 'arp', 'other'
    flags: str  # TCP flags as Wireshark names them ('SYN, ACK'); '' otherwise
    conversation: int | None

    @property
    def label_x(self) -> float:
        return (self.x1 + self.x2) / 2

    @property
    def head(self) -> str:
        """The arrowhead's three points (SVG polygon)."""
        end_x = self.end_x
        d = 1 if self.x2 > self.x1 else -1
        y2 = self.y + SLOPE * (0.7 if self.lost else 1)
        return f"{end_x},{y2:.1f} {end_x - 9 * d},{y2 - 5:.1f} {end_x - 9 * d},{y2 + 5:.1f}"

    @property
    def end_x(self) -> float:
        return self.x1 + (self.x2 - self.x1) * (0.7 if self.lost else 1)

    @property
    def end_y(self) -> float:
        return self.y + SLOPE * (0.7 if self.lost else 1)


@dataclass(frozen=True)
class Fold:
    y: int
    count: int
    first: int  # frame numbers
    last: int
    text: str
    colour: str


@dataclass(frozen=True)
class Break:
    y: int
    text: str


@dataclass(frozen=True)
class Legend:
    colour: str
    text: str


@dataclass(frozen=True)
class Ladder:
    width: int
    height: int
    head: int  # y of the lifelines' heads
    lifelines: tuple[Lifeline, ...]
    arrows: tuple[Arrow, ...]
    folds: tuple[Fold, ...]
    breaks: tuple[Break, ...]
    legend: tuple[Legend, ...]
    packets: int  # in the capture: arrows + folded
    title: str
    note: str  # e.g. what was folded, or why the diagram is empty

    @property
    def bottom(self) -> int:
        return self.height - 20


def preview(data: bytes, cut: bool, limit: int = 24) -> str:
    """A payload as a short quoted text ('"hello"', '"Server message: I rece…"'); bytes that are not
    printable UTF-8 shown escaped, as Python would."""
    text = data.decode("utf-8", errors="backslashreplace")
    text = escaped(text)
    if len(text) > limit:
        text, cut = text[: limit - 1], True
    return f'"{text}{"…" if cut else ""}"'


def label(p: Packet, names: Mapping[str, str]) -> str:
    """What the arrow says: TCP flags, data length and preview; a datagram's length and preview; ICMP's
    and ARP's meaning in words (`names`: address -> host name)."""
    if p.transport == "tcp":
        text = ", ".join(p.flag_names) or "no flags"
        if p.payload_length:
            text += f" · {p.payload_length} B {preview(p.payload, p.payload_cut)}"
        return text
    if p.transport == "udp":
        return f"UDP {p.payload_length} B {preview(p.payload, p.payload_cut)}" if p.payload_length else "UDP 0 B"
    if p.transport == "icmp":
        if p.icmp_type == 3 and p.icmp_code == 3:
            return "ICMP port unreachable"
        return f"ICMP {p.info.split('(')[0].strip() or p.icmp_type}"
    if p.transport == "arp":
        return f"ARP who has {names.get(p.dst, p.dst)}?" if "Who has" in p.info else "ARP reply"
    return f"{p.protocol} {p.length} B"


def _order(packets: Sequence[Packet], names: Mapping[str, str]) -> list[str]:
    """The lifelines, left to right: the hosts that open connections or send a flow's first datagram and
    never accept one (the clients), then those that accept them (the servers), then the others, each in
    order of first appearance; addresses of no named host after the named ones."""
    seen: list[str] = []
    opens: set[str] = set()
    flows: set[frozenset] = set()
    for p in packets:
        for a in (p.src, p.dst):
            if a and a not in seen:
                seen.append(a)
        if p.transport == "tcp" and p.flags & pk.SYN and not p.flags & pk.ACK:
            opens.add(p.src)
        elif p.transport == "udp" and p.sport is not None:
            ends = frozenset({(p.src, p.sport), (p.dst, p.dport)})
            if ends not in flows:
                flows.add(ends)
                opens.add(p.src)
    servers = {p.dst for p in packets if p.transport == "tcp" and p.flags & pk.SYN and not p.flags & pk.ACK}
    servers |= {p.dst for p in packets if p.transport == "udp" and p.src in opens}
    for name, address in names.items():  # hosts of the run that sent nothing still get a lifeline
        if address not in seen:
            seen.append(address)

    named = set(names.values())

    def rank(a: str) -> tuple[bool, int, int]:  # the run's hosts (clients, servers, the others), then strangers
        role = 0 if a in opens and a not in servers else 1 if a in servers else 2
        return (bool(named) and a not in named, role, seen.index(a))
    return sorted(seen, key=rank)


def _foldable_runs(packets: Sequence[Packet], of: Mapping[int, int], keep: set[int],
                   rule: str) -> list[tuple[int, int]]:
    """(start, end) index ranges of foldable runs longer than FOLD_RUN. `rule`: 'conversation' (plain packets
    of one conversation), 'plain' (plain packets of any), 'unmarked' (anything not marked: the last resort,
    for a flood of handshakes). The packets of `keep` (a link's losses) are never folded."""
    def foldable(p: Packet) -> bool:
        if p.number in keep or p.analysis or p.duplicate_of is not None:
            return False
        return True if rule == "unmarked" else p.plain()

    runs, start = [], None
    for i in range(len(packets) + 1):
        p = packets[i] if i < len(packets) else None
        same = (p is not None and start is not None and foldable(p)
                and (rule != "conversation" or of.get(p.number) == of.get(packets[start].number)))
        if same:
            continue
        if start is not None and i - start > FOLD_RUN:
            runs.append((start, i))
        start = i if p is not None and foldable(p) else None
    return runs


def _fold_plan(packets: list[Packet], of: Mapping[int, int], keep: set[int]) -> dict[int, tuple[int, int]]:
    """Index of a run's first folded packet -> (its last folded index + 1, count); nothing below FOLD_OVER.
    Each rule (`_foldable_runs`) is tried in turn until the diagram has at most MAX_ROWS rows."""
    if len(packets) <= FOLD_OVER:
        return {}
    plan: dict[int, tuple[int, int]] = {}
    for rule in ("conversation", "plain", "unmarked"):
        plan = {}
        for start, end in _foldable_runs(packets, of, keep, rule):
            plan[start + KEEP_HEAD] = (end - KEEP_TAIL, end - KEEP_TAIL - start - KEEP_HEAD)
        rows = len(packets) - sum(count - 1 for _, count in plan.values())
        if rows <= MAX_ROWS:
            break
    return plan


def layout(packets: Sequence[Packet], names: Mapping[str, str] | None = None, *,
           losses: Iterable[pk.Loss] = (), title: str = "") -> Ladder:
    """The diagram of `packets` (in capture order) between the hosts `names` (host name -> address; an
    address of no named host gets a lifeline of its own, named by its address). `losses`: the lossy links,
    whose dropped packets are marked."""
    names = {xml_safe(n): a for n, a in (names or {}).items()}
    by_address = {a: n for n, a in names.items()}
    packets = list(packets)
    order = _order(packets, names) if packets or names else []
    strangers = [a for a in order if a not in by_address]
    room = MAX_STRANGERS if names else MAX_UNNAMED
    if len(strangers) > room:  # (an ARP sweep of the subnet: one lifeline for the rest, not 250)
        shared = strangers[room - 1:]
        order = [a for a in order if a not in shared] + [OTHERS]
        by_address.update({a: f"{len(shared)} other addresses" for a in shared + [OTHERS]})
    lifelines = tuple(Lifeline(a, by_address.get(a, a), LEFT + LANE // 2 + i * LANE) for i, a in enumerate(order))
    x = {line.address: line.x for line in lifelines}
    if OTHERS in x:
        x.update({a: x[OTHERS] for a in strangers[room - 1:]})
    of, convs = pk.conversations(packets)
    lost = pk.lost_by_links(packets, losses)
    folds_at = _fold_plan(packets, of, set(lost))

    def colour(p: Packet) -> str:
        c = of.get(p.number)
        return NEUTRAL if c is None else PALETTE[c % len(PALETTE)]

    legend = tuple(Legend(PALETTE[c.index % len(PALETTE)], xml_safe(describe(c, by_address))) for c in convs[:MAX_LEGEND])
    if len(convs) > MAX_LEGEND:
        legend += (Legend(NEUTRAL, f"… and {len(convs) - MAX_LEGEND} more conversations"),)
    head = TOP + 18 * len(legend)  # the lifelines' heads, under the title and the legend
    arrows, folds, breaks = [], [], []
    y = head + 56
    t0 = packets[0].time if packets else 0.0
    last_time, i = None, 0
    while i < len(packets):
        p = packets[i]
        if len(arrows) + len(folds) >= HARD_ROWS:  # nothing more is drawn; the rest is said, and counted
            last = packets[-1]
            folds.append(Fold(y, len(packets) - i, p.number, last.number,
                              f"⋮ {len(packets) - i} more packets not drawn (frames {p.number}–{last.number}): "
                              f"the diagram stops at {HARD_ROWS} rows; the pcap has them all", NEUTRAL))
            y += ROW
            break
        if last_time is not None and p.time - last_time >= GAP:
            breaks.append(Break(y - 8, f"{p.time - last_time:.2f} s later"))
            y += 22
        if i in folds_at:
            end, count = folds_at[i]
            first, last = packets[i], packets[end - 1]
            folds.append(Fold(y, count, first.number, last.number,
                              f"⋮ {count} more packets like these (frames {first.number}–{last.number}, "
                              f"{last.time - first.time:.3f} s) folded", colour(first)))
            last_time, i, y = last.time, end, y + ROW
            continue
        marks = [pk.ANALYSIS[a] for a in p.analysis]
        if p.duplicate_of is not None:
            marks.insert(0, f"a link's copy of frame {p.duplicate_of}")
        if p.number in lost:
            marks.insert(0, f"lost: dropped by {lost[p.number].host}'s link")
        src, dst = x.get(p.src), x.get(p.dst)
        if src is None or dst is None or src == dst:  # (not between two lifelines: drawn as a short stub)
            src, dst = (src or dst or LEFT + LANE // 2), (src or dst or LEFT + LANE // 2) + LANE // 3
        arrows.append(Arrow(p.number, y, src, dst, xml_safe(label(p, by_address)), xml_safe(f"#{p.number} {p.protocol} {p.info}"),
                            round(p.time - t0, 6), MARK if p.number in lost or "retransmission" in p.analysis
                            or "fast_retransmission" in p.analysis else colour(p), tuple(marks), p.number in lost,
                            p.transport, ", ".join(p.flag_names) if p.transport == "tcp" else "", of.get(p.number)))
        last_time, i, y = p.time, i + 1, y + ROW + (MARKED if marks else 0)
    folded = sum(f.count for f in folds)
    note = (f"{len(packets)} packets; {folded} of them in {len(folds)} folded run{'s' if len(folds) != 1 else ''} "
            "(plain data first; marked packets and a link's losses are never folded, and handshakes, teardowns "
            f"and resets only when plain data alone leaves more than {MAX_ROWS} rows)" if folds
            else "" if packets else "The capture holds no packets.")
    width = max(LEFT + LANE * max(len(lifelines), 2), 600)
    return Ladder(width, y + 20, head, lifelines, tuple(arrows), tuple(folds), tuple(breaks), legend,
                  len(packets), xml_safe(title), note)


def pk_count(n: int, what: str = "packet") -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def describe(c: pk.Conversation, names: Mapping[str, str]) -> str:
    """A conversation in the legend: 'TCP connection client:43210 ⇄ server:5000 (18 packets)', 'UDP client
    → server:6000 (10 datagrams, from 10 ports)'."""
    a, b = f"{names.get(c.a[0], c.a[0])}", f"{names.get(c.b[0], c.b[0])}:{c.b[1]}"
    if c.transport == "tcp":
        return f"TCP connection {a}:{c.a[1]} ⇄ {b} ({pk_count(c.packets)})"
    port = f":{c.a[1]}" if c.a[1] is not None else ""
    ports = f", from {c.ports} ports" if c.ports > 1 else ""
    return f"UDP {a}{port} ⇄ {b} ({pk_count(c.packets, 'datagram')}{ports})"


def svg(ladder: Ladder, standalone: bool = True) -> str:
    """The diagram as SVG: a file of its own (`standalone`, with the XML declaration), or to put inline in
    an HTML page."""
    return render("ladder.svg.j2", ladder=ladder, standalone=standalone, lane=LANE, left=LEFT)


__all__ = ["Ladder", "Arrow", "Fold", "Lifeline", "layout", "svg", "label", "preview"]
