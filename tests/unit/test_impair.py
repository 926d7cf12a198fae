"""impair.py: a scenario's link impairments as the commands that apply them (pure)."""
from hypothesis import given
from hypothesis import strategies as st

from orchestrator import impair
from orchestrator.scenario import Impairment


@given(st.integers(1, 100))
def test_a_loss_drops_exactly_its_share_evenly_and_never_the_first_packet(percent):
    period, positions = impair.drop_pattern(percent)
    assert 100 % period == 0 and len(positions) * 100 == percent * period  # exactly the share, per period
    assert percent == 100 or 0 not in positions
    gaps = [b - a for a, b in zip(positions, positions[1:] + (positions[0] + period,))]
    assert max(gaps) - min(gaps) <= 1  # spread evenly, not in a burst


def test_the_loss_rules_count_tcp_data_and_udp_apart_on_what_reaches_the_host():
    rules = impair.nft_ruleset(Impairment("server", loss=30))
    assert "type filter hook prerouting priority -300; policy accept;" in rules
    assert 'iifname "eth0" meta l4proto tcp tcp flags & psh == psh numgen inc mod 10 { 3, 6, 9 } counter drop' in rules
    assert 'iifname "eth0" meta l4proto udp numgen inc mod 10 { 3, 6, 9 } counter drop' in rules
    assert impair.nft_ruleset(Impairment("server", delay=100)) is None


def test_delay_jitter_reorder_duplicate_and_rate_are_netems_and_a_rate_alone_is_tbfs():
    assert impair.tc_command(Impairment("c", delay=100, jitter=10, reorder=25, duplicate=5, rate="1mbit")) == [
        "tc", "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", "100ms", "10ms", "reorder", "25%",
        "duplicate", "5%", "rate", "1mbit"]
    assert impair.tc_command(Impairment("c", rate="256kbit"))[6:9] == ["tbf", "rate", "256kbit"]
    assert impair.tc_command(Impairment("c", loss=20)) is None
    command = impair.helper_command(Impairment("c", loss=20))
    assert command[:4] == ["sh", "-c", impair.SCRIPT, "impair"]
    # a second `make impair` replaces the first, and one the kernel refuses (tc first) changes nothing
    assert impair.SCRIPT.index('"$@"') < impair.SCRIPT.index("nft delete table inet socklab_impair")


def test_what_a_link_does_in_words():
    assert impair.describe(Impairment("server", loss=20)) == (
        "server's link: loses 20% of what reaches it (every 5th TCP data segment and every 5th UDP datagram; "
        "handshakes, acknowledgements and teardowns pass)")
    assert impair.describe(Impairment("client", loss=30, delay=100, jitter=10, rate="1mbit")) == (
        "client's link: loses 30% of what reaches it (the 4th, 7th, 10th of every 10 TCP data segments, and of "
        "the UDP datagrams; handshakes, acknowledgements and teardowns pass), delays what it sends by 100 ms "
        "± 10 ms, sends at most 1mbit/s")
