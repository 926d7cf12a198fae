"""impair.py: a scenario's link impairments as the commands that apply them (pure)."""
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.lab import impair
from orchestrator.model import impairment
from orchestrator.model.impairment import Impairment


@given(st.integers(1, 100))
def test_a_loss_drops_exactly_its_share_evenly_and_never_the_first_packet(percent):
    period, positions = impairment.drop_pattern(percent)
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


def test_duplication_copies_a_share_of_what_the_host_sends_to_the_same_destination():
    rules = impair.nft_ruleset(Impairment("server", duplicate=20))
    assert rules.startswith("table ip socklab_impair {") and "prerouting" not in rules
    assert "type filter hook postrouting priority 0; policy accept;" in rules
    assert ('oifname "eth0" meta l4proto udp numgen inc mod 5 { 4 } counter dup to ip daddr device "eth0"'
            in rules)
    both = impair.nft_ruleset(Impairment("server", loss=20, duplicate=50))
    assert "chain ingress" in both and "chain egress" in both and "mod 2 { 1 } counter dup" in both


def test_a_rate_is_tbfs_and_a_delay_is_the_delayers():
    assert impair.tc_command(Impairment("c", rate="256kbit"))[6:9] == ["tbf", "rate", "256kbit"]
    assert impair.tc_command(Impairment("c", loss=20, delay=100)) is None
    assert impair.delayer_command(Impairment("c", loss=20)) is None
    command = impair.delayer_command(Impairment("client", delay=100, jitter=10, reorder=25))
    assert command[:4] == ["sh", "-c", impair.DELAYER_SCRIPT, "delayer"]
    assert command[4] == "POSTROUTING -o eth0 -j NFQUEUE --queue-num 0 --queue-bypass"
    assert command[5:] == ["0", "100", "10", "25", "client"]  # queue, ms, ± ms, percent undelayed, the PRNG's seed
    assert impair.delayer_command(Impairment("c", delay=50))[5:] == ["0", "50", "0", "0", "c"]
    command = impair.helper_command(Impairment("c", loss=20))
    assert command[:4] == ["sh", "-c", impair.SCRIPT, "impair"]
    # a second `make impair` replaces the first, and one the kernel refuses (tc first) changes nothing
    assert impair.SCRIPT.index('"$@"') < impair.SCRIPT.index("nft delete table ip socklab_impair")


def test_what_a_link_does_in_words():
    assert impair.describe(Impairment("server", loss=20)) == (
        "server's link: loses 20% of what reaches it (every 5th TCP data segment and every 5th UDP datagram; "
        "handshakes, acknowledgements and teardowns pass)")
    assert impair.describe(Impairment("client", loss=30, delay=100, jitter=10, rate="1mbit")) == (
        "client's link: loses 30% of what reaches it (the 4th, 7th, 10th of every 10 TCP data segments, and of "
        "the UDP datagrams; handshakes, acknowledgements and teardowns pass), delays what it sends by 100 ms "
        "± 10 ms, sends at most 1mbit/s")
    assert impair.describe(Impairment("c", delay=100, reorder=25, duplicate=30)) == (
        "c's link: delays what it sends by 100 ms, lets 25% of it go undelayed, ahead of the rest, duplicates 30% "
        "of what it sends (the 4th, 7th, 10th of every 10 of its TCP data segments and, counted apart, of its UDP "
        "datagrams)")
