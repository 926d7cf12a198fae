"""The packets of a capture, one record each, as Wireshark dissects them: what the ladder diagram and the
report's timeline draw. Pure: the fields are read by the capture's sharkd (`FIELDS`, sharkd-count.pl
--frames, one pass over the pcap in the same session that counts the display filters) and parsed here.

Every field is Wireshark's own (a TCP stream's index, its relative sequence numbers, its expert analysis:
retransmission, out of order, duplicate ACK), so the diagram says what Wireshark would say about the same
capture. Two things the dissector cannot know are worked out here, from the capture and the links' known
rules: which packets are copies made by a duplicating link (same IP identification, addresses and length
as an earlier one: `duplicate_of`), and which packets a lossy link dropped after the capture saw them
(`lost_by_links`, from impairment.py's deterministic pattern).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from ..model.impairment import drop_pattern

#: (name, Wireshark custom column) read for every frame, in this order after the Protocol and Info columns.
#: `:1` is a field's first occurrence: an ICMP error quotes the datagram it answers, whose headers come after.
FIELDS: tuple[tuple[str, str], ...] = (
    ("time", "frame.time_epoch"),
    ("length", "frame.len"),
    ("src", "ip.src:1"),
    ("dst", "ip.dst:1"),
    ("ip_id", "ip.id:1"),
    ("arp_src", "arp.src.proto_ipv4"),
    ("arp_dst", "arp.dst.proto_ipv4"),
    ("arp_op", "arp.opcode"),
    ("stream", "tcp.stream:1"),
    ("tcp_sport", "tcp.srcport:1"),
    ("tcp_dport", "tcp.dstport:1"),
    ("flags", "tcp.flags:1"),
    ("seq", "tcp.seq:1"),
    ("ack", "tcp.ack:1"),
    ("tcp_len", "tcp.len:1"),
    ("tcp_payload", "tcp.payload:1"),
    ("retransmission", "tcp.analysis.retransmission"),
    ("fast_retransmission", "tcp.analysis.fast_retransmission"),
    ("spurious_retransmission", "tcp.analysis.spurious_retransmission"),
    ("out_of_order", "tcp.analysis.out_of_order"),
    ("duplicate_ack", "tcp.analysis.duplicate_ack"),
    ("lost_segment", "tcp.analysis.lost_segment"),
    ("ack_rtt", "tcp.analysis.ack_rtt"),
    ("udp_sport", "udp.srcport:1"),
    ("udp_dport", "udp.dstport:1"),
    ("udp_length", "udp.length:1"),
    ("udp_payload", "udp.payload:1"),
    ("icmp_type", "icmp.type"),
    ("icmp_code", "icmp.code"),
    ("inner_dst", "ip.dst:2"),
    ("src6", "ipv6.src:1"),  # (the lab has no IPv6; a capture made by hand may)
    ("dst6", "ipv6.dst:1"),
)
#: Wireshark's expert analysis of a TCP segment, as the diagram words it.
ANALYSIS = {"retransmission": "retransmission", "fast_retransmission": "fast retransmission",
            "spurious_retransmission": "spurious retransmission", "out_of_order": "out of order",
            "duplicate_ack": "duplicate ACK", "lost_segment": "previous segment not captured"}
#: TCP's flags by bit, in the order Wireshark's Info column names them ([SYN, ACK], [PSH, ACK], [FIN, ACK])
TCP_FLAGS = ((0x001, "FIN"), (0x002, "SYN"), (0x004, "RST"), (0x008, "PSH"), (0x010, "ACK"), (0x020, "URG"),
             (0x040, "ECE"), (0x080, "CWR"), (0x100, "NS"))
SYN, ACK, PSH, RST, FIN = 0x002, 0x010, 0x008, 0x004, 0x001
PREVIEW = 32  # bytes of payload kept per packet (sharkd's column cuts longer ones anyway)


def fields_argument() -> str:
    """FIELDS as sharkd-count.pl --frames takes them."""
    return ",".join(spec for _, spec in FIELDS)


@dataclass(frozen=True)
class Packet:
    """One frame of a capture."""

    number: int  # Wireshark's frame number, from 1
    time: float  # when the capture saw it: seconds since the epoch (the kernel's clock)
    protocol: str  # Wireshark's Protocol column: TCP, UDP, ICMP, ARP, or what a dissector made of it
    info: str  # Wireshark's Info column
    length: int  # bytes on the wire
    transport: str  # 'tcp', 'udp', 'icmp', 'arp' or 'other'
    src: str = ""  # IPv4 (ARP: the sender's and the target's protocol addresses)
    dst: str = ""
    ip_id: int | None = None
    sport: int | None = None
    dport: int | None = None
    stream: int | None = None  # TCP: Wireshark's tcp.stream
    flags: int = 0  # TCP
    seq: int | None = None  # TCP, relative (as Wireshark shows it)
    ack: int | None = None
    payload_length: int = 0  # TCP segment data or UDP datagram bytes
    payload: bytes = b""  # its first bytes (at most PREVIEW)
    payload_cut: bool = False  # the payload is longer than `payload`
    analysis: tuple[str, ...] = ()  # keys of ANALYSIS Wireshark flagged
    ack_rtt: float | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    about: str = ""  # ICMP error: the address of the datagram it answers
    duplicate_of: int | None = None  # the frame this one is a link's copy of

    @property
    def flag_names(self) -> list[str]:
        return [name for bit, name in TCP_FLAGS if self.flags & bit]

    def is_data(self) -> bool:
        """A TCP segment with data, or a UDP datagram: what a lossy link counts."""
        return (self.transport == "tcp" and bool(self.flags & PSH)) or self.transport == "udp"

    def plain(self) -> bool:
        """Nothing to point out: a TCP segment with no SYN, FIN or RST and no analysis, or a UDP datagram; the
        kind of packet a long run of which the diagram may fold."""
        if self.analysis or self.duplicate_of is not None:
            return False
        if self.transport == "tcp" and not self.payload_length and (self.seq or 0) <= 1 and (self.ack or 0) <= 1:
            return False  # the handshake's last ACK
        return (self.transport == "tcp" and not self.flags & (SYN | FIN | RST)) or self.transport == "udp"


def _int(text: str, base: int = 10) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text.split()[0].split(",")[0], base)
    except ValueError:
        return None


def _float(text: str) -> float | None:
    try:
        return float(text.split(",")[0]) if text.strip() else None
    except ValueError:
        return None


def _hex_bytes(text: str) -> tuple[bytes, bool]:
    """A payload column ('68656c6c6f', or cut by sharkd with '…') as bytes, and whether it was cut."""
    cut = "…" in text
    digits = "".join(c for c in text.split(",")[0] if c in "0123456789abcdefABCDEF")
    digits = digits[: len(digits) // 2 * 2]
    data = bytes.fromhex(digits)
    return data[:PREVIEW], cut or len(data) > PREVIEW


def from_columns(number: int, columns: list[str]) -> Packet:
    """A frame's record from sharkd-count.pl (Protocol, Info, then FIELDS in order)."""
    protocol, info, *rest = [str(c) for c in columns] + [""] * (2 + len(FIELDS) - len(columns))
    f = dict(zip((name for name, _ in FIELDS), rest))
    analysis = tuple(k for k in ANALYSIS if f.get(k, "").strip())
    common = dict(number=number, time=_float(f["time"]) or 0.0, protocol=protocol, info=info,
                  length=_int(f["length"]) or 0)
    if f["arp_op"].strip():
        return Packet(**common, transport="arp", src=f["arp_src"], dst=f["arp_dst"])
    ip_id = _int(f["ip_id"], 16) if f["ip_id"].startswith("0x") else _int(f["ip_id"])  # '0x2caa (11434)'
    ip = dict(src=f["src"] or f["src6"], dst=f["dst"] or f["dst6"], ip_id=ip_id)
    if f["icmp_type"].strip():
        return Packet(**common, **ip, transport="icmp", icmp_type=_int(f["icmp_type"]), icmp_code=_int(f["icmp_code"]),
                      about=f["inner_dst"])
    if f["flags"].strip():
        payload, cut = _hex_bytes(f["tcp_payload"])
        return Packet(**common, **ip, transport="tcp", sport=_int(f["tcp_sport"]), dport=_int(f["tcp_dport"]),
                      stream=_int(f["stream"]), flags=_int(f["flags"], 16) or 0, seq=_int(f["seq"]),
                      ack=_int(f["ack"]), payload_length=_int(f["tcp_len"]) or 0, payload=payload,
                      payload_cut=cut, analysis=analysis, ack_rtt=_float(f["ack_rtt"]))
    if f["udp_sport"].strip():
        payload, cut = _hex_bytes(f["udp_payload"])
        return Packet(**common, **ip, transport="udp", sport=_int(f["udp_sport"]), dport=_int(f["udp_dport"]),
                      payload_length=max((_int(f["udp_length"]) or 8) - 8, 0), payload=payload, payload_cut=cut)
    return Packet(**common, **ip, transport="other")


def parse_records(lines: Iterable[str]) -> tuple[Packet, ...]:
    """The packets in sharkd-count.pl's `frames` records (other records are left alone): sharkd's two answers,
    the packet list's columns and FIELDS, zipped frame by frame; copies made by a duplicating link marked
    (`mark_duplicates`)."""
    answers: dict[str, list[dict]] = {}
    for line in lines:
        if line.startswith("frames\t"):
            _, name, data = line.split("\t", 2)
            answers[name] = json.loads(data)["result"]
    listed, fields = answers.get("list", []), answers.get("fields", [])
    if len(listed) != len(fields):
        raise ValueError(f"sharkd listed {len(listed)} frames and gave the fields of {len(fields)}")
    packets = []
    for row, custom in zip(listed, fields):
        columns = row["c"]  # No., Time, Source, Destination, Protocol, Length, Info
        packets.append(from_columns(int(custom["num"]), [columns[4], columns[6], *custom["c"]]))
    return mark_duplicates(packets)


def mark_duplicates(packets: Iterable[Packet]) -> tuple[Packet, ...]:
    """Each packet that repeats an earlier one's IP identification, addresses, protocol and length is that
    one's copy (nftables' `dup` copies the packet whole; a retransmission gets a new identification)."""
    seen: dict[tuple, int] = {}
    out = []
    for p in packets:
        if p.ip_id and p.transport in ("tcp", "udp"):
            key = (p.src, p.dst, p.ip_id, p.transport, p.length, p.sport, p.dport, p.seq)
            if key in seen:
                p = replace(p, duplicate_of=seen[key])
            else:
                seen[key] = p.number
        out.append(p)
    return tuple(out)


@dataclass(frozen=True)
class Loss:
    """A host whose link loses `percent` of the TCP data segments and UDP datagrams reaching it (impair.py)."""

    host: str
    address: str
    percent: int


def lost_by_links(packets: Iterable[Packet], losses: Iterable[Loss]) -> dict[int, Loss]:
    """The frames a lossy link dropped after the capture saw them: frame number -> the link. impair.py's
    loss is a counter per rule (TCP data segments, and apart from them UDP datagrams, reaching the host)
    that drops the same positions of every period; the capture sees every packet that reaches a lab host
    (each is the server, or talks to it), so counting them in the capture finds the same ones."""

    by_address = {loss.address: loss for loss in losses if loss.percent}
    counters: dict[tuple[str, str], int] = {}
    lost = {}
    for p in packets:
        if not p.is_data():
            continue
        # a datagram to everyone (broadcast, multicast) reaches every other host, and each one's rule counts it
        reached = ([loss for a, loss in by_address.items() if a != p.src] if _to_everyone(p.dst)
                   else [by_address[p.dst]] if p.dst in by_address else [])
        for loss in reached:
            key = (loss.address, p.transport)
            n = counters.get(key, 0)
            counters[key] = n + 1  # (a dropped packet is counted too: the rule counts before it drops)
            period, positions = drop_pattern(loss.percent)
            if n % period in positions and _to_one(p.dst):
                lost[p.number] = loss
    return lost


def _to_everyone(address: str) -> bool:
    """A broadcast (the limited one, or a /24's: the lab's networks are /24) or an IPv4 multicast address."""
    parts = address.split(".")
    return len(parts) == 4 and parts[0].isdigit() and (parts[3] == "255" or 224 <= int(parts[0]) <= 239)


def _to_one(address: str) -> bool:
    """The diagram marks a loss on a packet sent to one host (a broadcast's loss at one host of several is not
    the packet's)."""
    return not _to_everyone(address)


def losses_of(impairments: Iterable[Mapping[str, str]], addresses: Mapping[str, str]) -> list[Loss]:
    """The lossy links of a run, from its evidence's impairments (lab.Lab.impair) and addresses."""
    out = []
    for imp in impairments:
        percent = _int(str(imp.get("loss") or ""))
        if percent and imp.get("host") in addresses:
            out.append(Loss(imp["host"], addresses[imp["host"]], percent))
    return out


@dataclass(frozen=True)
class Conversation:
    """A TCP connection, or the UDP datagrams between a host and another's port, as the diagram tells them
    apart."""

    index: int  # in order of first packet, from 0
    transport: str
    a: tuple[str, int | None]  # who sent first (address, port; a UDP conversation's many ports: None)
    b: tuple[str, int]  # the other end (a UDP conversation: the port its first datagram went to)
    packets: int = 0
    ports: int = 1  # UDP: how many source ports `a` used (a client run once per message uses one each)


def conversations(packets: Iterable[Packet]) -> tuple[dict[int, int], list[Conversation]]:
    """Frame number -> conversation index, and the conversations: TCP connections (Wireshark's streams), and
    for UDP, which has no connection, the datagrams between a host and another host's port, both ways (the
    assignment's UDP client runs once per message, each time from a new port: one conversation, not ten)."""
    keys: dict[tuple, int] = {}
    firsts: list[tuple[str, tuple[str, int | None], tuple[str, int]]] = []
    members: list[int] = []
    ports: list[set[int]] = []
    of: dict[int, int] = {}
    for p in packets:
        if p.transport not in ("tcp", "udp") or p.sport is None or p.dport is None:
            continue
        if p.transport == "tcp":
            key, new = ("tcp", p.stream if p.stream is not None else frozenset({(p.src, p.sport), (p.dst, p.dport)})), \
                ("tcp", (p.src, p.sport), (p.dst, p.dport))
        else:
            reply = ("udp", p.dst, (p.src, p.sport))
            key = reply if reply in keys else ("udp", p.src, (p.dst, p.dport))
            new = ("udp", (p.src, None), (p.dst, p.dport))
        if key not in keys:
            keys[key] = len(firsts)
            firsts.append(new)
            members.append(0)
            ports.append(set())
        i = keys[key]
        of[p.number] = i
        members[i] += 1
        if p.transport == "udp":
            ports[i].add(p.sport if key[1] == p.src else p.dport)
    convs = [Conversation(i, t, a if t == "tcp" or len(ports[i]) != 1 else (a[0], next(iter(ports[i]))), b,
                          members[i], len(ports[i]) if t == "udp" else 1) for i, (t, a, b) in enumerate(firsts)]
    return of, convs


__all__ = ["FIELDS", "Packet", "from_columns", "parse_records", "mark_duplicates", "lost_by_links", "Loss",
           "losses_of", "conversations", "Conversation", "fields_argument"]
