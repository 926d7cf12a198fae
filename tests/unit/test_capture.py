"""capture.py: parsing the dissector's (sharkd-count.pl) and tcpdump's output, the whole-capture rule, and waiting for quiet."""
import time

from orchestrator.lab import capture

from .fake_engine import FakeEngine

SYN_SAMPLE = "#11 10.77.0.20 → 10.77.0.10 TCP 74 56962 → 5000 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM"
COUNT_OUTPUT = f"""total\t25
count\t1\t1
sample\t1\t{SYN_SAMPLE}
count\t2\t0
error\t3\tLeft side of "==" expression must be a field or function, not tcp.prot.
end
"""


def test_parse_count_output():
    filters = ["tcp.flags.syn==1", "tcp.flags.reset==1", "tcp.prot==1"]
    result = capture.parse_count_output(filters, COUNT_OUTPUT)
    assert result.total == 25
    assert result.counts == {"tcp.flags.syn==1": 1, "tcp.flags.reset==1": 0}
    assert result.samples == {"tcp.flags.syn==1": (SYN_SAMPLE,)}
    assert result.errors == {"tcp.prot==1": 'Left side of "==" expression must be a field or function, not tcp.prot.'}


def test_parse_tcpdump_stats():
    stderr = ("tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n"
              "20 packets captured\n21 packets received by filter\n0 packets dropped by kernel\n")
    assert capture.parse_tcpdump_stats(stderr) == {"captured": 20, "received by filter": 21, "dropped by kernel": 0}


def test_a_capture_is_whole_when_the_pcap_holds_what_tcpdump_captured():
    stats = {"captured": 25, "dropped by kernel": 0}
    result = capture.parse_count_output(["a", "b", "c"], COUNT_OUTPUT.replace("error\t3", "count\t3\t0\n#"))
    ev = capture.evidence("x.pcap", stats, result, None)
    assert ev.whole and ev.problem is None and ev.packets == 25
    short = capture.evidence("x.pcap", {"captured": 26, "dropped by kernel": 0}, result, None)
    assert not short.whole
    assert short.problem == "the capture is not whole: tcpdump captured 26 packets but the pcap holds 25"



def test_a_capture_cut_short_by_the_programs_traffic_is_their_doing_not_a_problem():
    """Issue 7: a flood made tcpdump drop packets and the verdict became 'error' (exit 3), erasing a FAIL.
    Drops, or reaching PACKET_LIMIT, are what the programs sent: an overflow, and the capture is not whole."""
    result = capture.parse_count_output(["a", "b", "c"], COUNT_OUTPUT.replace("error\t3", "count\t3\t0\n#"))
    dropped = capture.evidence("x.pcap", {"captured": 25, "received by filter": 28, "dropped by kernel": 3},
                               result, None)
    assert dropped.problem is None and not dropped.whole
    assert dropped.overflow == ("packets came faster than the capture could record them: the kernel dropped 3 "
                                "of the 28 the programs sent")
    at_limit = capture.evidence("x.pcap", {"captured": 25, "dropped by kernel": 0}, result, None, limit=25)
    assert at_limit.problem is None and not at_limit.whole
    assert at_limit.overflow == ("the programs sent at least 25 packets, the most the lab records: the capture "
                                 "stopped at the 25th")


def test_tcpdump_records_whole_packets_up_to_its_limits_and_drops_root():
    args = capture.TCPDUMP
    value = {flag: args[args.index(flag) + 1] for flag in ("-s", "-B", "-c", "-Z", "-w")}
    assert value == {"-s": str(capture.SNAPLEN), "-B": str(capture.BUFFER_KIB), "-c": str(capture.PACKET_LIMIT),
                     "-Z": "analyst", "-w": capture.PCAP_IN_CONTAINER}
    # the kernel's ring holds PACKET_LIMIT packets of SNAPLEN (plus a slot header) with room to spare
    assert capture.BUFFER_KIB * 1024 // (capture.SNAPLEN + 128) > capture.PACKET_LIMIT
    assert capture.PCAP_IN_CONTAINER.startswith(capture.CAPTURE_DIR + "/")
    assert "NET_ADMIN" not in capture.CAPABILITIES and "DAC_OVERRIDE" not in capture.CAPABILITIES


def chatty_tcpdump(packets: int, every: float):
    def behaviour(proc):
        proc.err("tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes")
        for i in range(packets):
            proc.out(f"packet {i}")
            time.sleep(every)  # the fake's packets arrive spaced in time, like real traffic
        proc.wait_signal()
        proc.err(f"{packets} packets captured\n0 packets dropped by kernel")
        return 0
    return behaviour


def started(engine: FakeEngine) -> capture.Capture:
    cap = capture.Capture(engine, engine.create_container(name="cap", image="socklab/capture:test", command=["tcpdump"], labels={}))
    cap.start(5, ["tcp"], "10.78.0.1")
    return cap


def test_settle_waits_for_a_quiet_period_after_the_last_packet():
    engine = FakeEngine({"tcpdump": chatty_tcpdump(packets=5, every=0.05)})
    cap = started(engine)
    t = time.monotonic()
    assert cap.settle(quiet=0.1, limit=3) is True
    assert cap.packets_printed() == 5  # it waited for all of them
    assert time.monotonic() - t < 1.5


def test_settle_gives_up_at_its_limit_when_packets_keep_coming():
    engine = FakeEngine({"tcpdump": chatty_tcpdump(packets=100, every=0.02)})
    cap = started(engine)
    t = time.monotonic()
    assert cap.settle(quiet=0.1, limit=0.4) is False
    assert 0.35 < time.monotonic() - t < 1.0


def test_stop_returns_tcpdump_statistics_and_tsharks_counts():
    engine = FakeEngine({"tcpdump": chatty_tcpdump(packets=2, every=0)}, tshark_output="total\t2\ncount\t1\t2\n")
    cap = started(engine)
    stats, result, pcap = cap.stop(5)
    assert stats == {"captured": 2, "dropped by kernel": 0}
    assert result.total == 2 and result.counts == {"tcp": 2}
    assert pcap == b"fake pcap"


def test_a_long_capture_keeps_tcpdumps_statistics():
    """tcpdump prints a line per packet; past a program's output limit (1 MiB) those lines must not crowd
    out its closing statistics, or a whole capture would be reported as not whole."""
    packets = 20_000  # ~1.4 MB of packet lines

    def busy_tcpdump(proc):
        proc.err("tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes")
        for i in range(packets):
            proc.out(f"12:00:00.{i:06d} IP 10.78.0.20.40000 > 10.78.0.10.5000: Flags [P.], length 100")
        proc.wait_signal()
        proc.err(f"{packets} packets captured\n0 packets dropped by kernel")
        return 0

    engine = FakeEngine({"tcpdump": busy_tcpdump}, tshark_output=f"total\t{packets}\n")
    cap = started(engine)
    assert cap.settle(quiet=0.1, limit=10) is True
    assert cap.packets_printed() == packets
    stats, result, _ = cap.stop(5)
    assert stats == {"captured": packets, "dropped by kernel": 0}
    assert capture.evidence("x.pcap", stats, result, None, limit=packets + 1).whole
