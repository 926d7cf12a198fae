"""Links that lose, delay, duplicate or reorder packets: a scenario's `impair` entries (impairment.Impairment)
as the commands that apply them in a host's network namespace. Pure: lab.Lab.impair runs them, in helper
containers that share the host's namespace and hold NET_ADMIN; the host's own container, where student
code runs, never holds it, so no program can lift or change what is applied.

**Loss is deterministic** (nftables' `numgen inc`, a counter per rule), and it takes what the host
*receives*: of the TCP data segments that reach the host (those with PSH, retransmissions included) and,
counted apart, of the UDP datagrams, the same ones are dropped in every run: loss 20% drops the 5th, 10th,
15th...; 30% the 4th, 7th and 10th of every ten. The handshake, the pure acknowledgements and the teardown
always pass, so a run opens and closes its connections the same way each time and the verdict cannot
depend on which packet the dice chose (netem's random loss would make "UDP loses datagrams" a matter of
luck with a few datagrams). Why on receipt: the drop is in the host's prerouting hook, after the capture
has seen the packet (tcpdump taps the interface before netfilter), so Wireshark shows each lost segment
and then its retransmission, as it would at the sender; a drop in the sender's output instead would never
reach the wire (the capture would show no retransmission, only a pause) and would fail the sender's
`sendto` with EPERM, which a lossy link never does.

**Duplication** is deterministic the same way, on what the host *sends*: nftables' `dup` sends a copy of
the same share of its TCP data segments and UDP datagrams (20%: every 5th) to the same destination.

**Delay, jitter and reordering** shape what the host *sends*, and are done by a delayer
(images/capture/delayer.py) in a helper container that lasts as long as the impairment: an iptables rule
hands every packet leaving eth0 to a netfilter queue, and the delayer lets each go after the delay, ± up
to the jitter (uniform), or at once for the `reorder` share (netem's meaning: they overtake those held).
Its choices come from a PRNG seeded with the host's name, so the same packets get the same delays in
every run. The capture taps the interface after netfilter, so a frame's time is when it left. Why not
netem: the kernels of some Docker hosts have no sch_netem (this machine's has none, nor has the CI's),
netfilter's queue is built in wherever Docker runs (the NFQUEUE target), and netem's jitter is random.
**A rate** is tbf's (always built in).
"""
from __future__ import annotations

from ..model.impairment import Impairment, drop_pattern

TABLE = "socklab_impair"  # the nftables table (family ip: `dup` needs one) of the impairments, in the host's namespace
QUEUE = 0  # the netfilter queue the delayer reads
DELAYER = "/opt/socklab/delayer.py"  # in the capture image
INTERFACE = "eth0"  # a lab host's one interface on the lab's network


def _share(percent: int) -> str:
    """The nftables expression that picks `percent` of the packets counted by one rule (drop_pattern)."""
    period, positions = drop_pattern(percent)
    return f"numgen inc mod {period} {{ {', '.join(str(p) for p in positions)} }}"


def nft_ruleset(imp: Impairment) -> str | None:
    """The nftables ruleset that drops `imp.loss` percent of the TCP data segments and the UDP datagrams
    reaching the host and duplicates `imp.duplicate` percent of those it sends (each rule counting its
    own), or None when there is neither."""
    if not imp.loss and not imp.duplicate:
        return None
    data, udp = "meta l4proto tcp tcp flags & psh == psh", "meta l4proto udp"
    chains = []
    if imp.loss:
        chains.append("  chain ingress {\n"
                      "    type filter hook prerouting priority -300; policy accept;\n"
                      f'    iifname "{INTERFACE}" {data} {_share(imp.loss)} counter drop\n'
                      f'    iifname "{INTERFACE}" {udp} {_share(imp.loss)} counter drop\n'
                      "  }\n")
    if imp.duplicate:
        dup = f'counter dup to ip daddr device "{INTERFACE}"'
        chains.append("  chain egress {\n"
                      "    type filter hook postrouting priority 0; policy accept;\n"
                      f'    oifname "{INTERFACE}" {data} {_share(imp.duplicate)} {dup}\n'
                      f'    oifname "{INTERFACE}" {udp} {_share(imp.duplicate)} {dup}\n'
                      "  }\n")
    return f"table ip {TABLE} {{\n" + "".join(chains) + "}\n"


def tc_command(imp: Impairment) -> list[str] | None:
    """The `tc` command for a rate (tbf: the rate, a burst of a few packets, at most 200 ms queued), or None."""
    if imp.rate is None:
        return None
    return ["tc", "qdisc", "replace", "dev", INTERFACE, "root", "tbf", "rate", imp.rate, "burst", "16kb",
            "latency", "200ms"]


def delayer_command(imp: Impairment) -> list[str] | None:
    """The delayer helper's command (it queues what leaves eth0, then delays it: see the module), or None
    when the link delays nothing. lab.start_delayer adds its last argument: `lease` or `stay`."""
    if imp.delay is None:
        return None
    rule = f"POSTROUTING -o {INTERFACE} -j NFQUEUE --queue-num {QUEUE} --queue-bypass"
    return ["sh", "-c", DELAYER_SCRIPT, "delayer", rule, str(QUEUE), f"{imp.delay:g}", f"{imp.jitter or 0:g}",
            str(imp.reorder or 0), imp.host]


#: The delayer helper (sh -c DELAYER_SCRIPT delayer RULE QUEUE DELAY JITTER REORDER SEED MODE): the delayer
#: takes the queue, then the rule sends packets to it (--queue-bypass: were the delayer gone, they would
#: pass). It stops on SIGTERM, or (MODE `lease`) when its input ends with the orchestrator: the rule goes
#: first, then the delayer lets go of what it holds.
DELAYER_SCRIPT = (
    'rule=$1; mode=$7; python3 ' + DELAYER + ' "$2" "$3" "$4" "$5" "$6" > /tmp/delayer.out 2>&1 & pid=$!; '
    'stop() { iptables -t mangle -D $rule 2>/dev/null; kill -TERM $pid 2>/dev/null; wait $pid; exit 0; }; '
    'trap stop TERM INT; i=0; until grep -q "^bound$" /tmp/delayer.out; do '
    'if ! kill -0 $pid 2>/dev/null; then echo "the delayer failed:"; cat /tmp/delayer.out; exit 1; fi; '
    'i=$((i+1)); if [ $i -ge 200 ]; then echo "the delayer did not start in 10 s"; exit 1; fi; sleep 0.05; done; '
    'iptables -t mangle -A $rule || { cat /tmp/delayer.out; exit 1; }; echo delaying; '
    'if [ "$mode" = lease ]; then cat > /dev/null; stop; else wait $pid; fi')


#: Runs in the helper (sh -c SCRIPT impair RULESET TC...): what an earlier helper applied is replaced.
SCRIPT = (f'set -e; rules=$1; shift; if [ "$#" -gt 0 ]; then "$@"; else tc qdisc del dev {INTERFACE} root '
          f'2>/dev/null || true; fi; nft delete table ip {TABLE} 2>/dev/null || true; '
          'if [ -n "$rules" ]; then printf "%s" "$rules" | nft -f -; fi; echo applied')

#: Undoes whatever an earlier helper applied (`make impair` with no arguments; a grading lab before its next
#: play), the delayer's rule included (its container is removed first), and fails, saying what, if anything
#: is left: the table, the rule, or the root qdisc.
CLEAR_COMMAND = ["sh", "-c", f"nft delete table ip {TABLE} 2>/dev/null; tc qdisc del dev {INTERFACE} root "
                             f"2>/dev/null; iptables -t mangle -F POSTROUTING 2>/dev/null; "
                             f"if nft list table ip {TABLE} >/dev/null 2>&1; then echo 'the loss "
                             f"rules are left'; exit 1; fi; if iptables -t mangle -S POSTROUTING 2>/dev/null | "
                             "grep -q NFQUEUE; then echo 'the delay rule is left'; exit 1; fi; "
                             f"case \"$(tc qdisc show dev {INTERFACE} root)\" in "
                             "*tbf*) echo 'the rate limit is left'; exit 1;; esac; echo cleared"]


def helper_command(imp: Impairment) -> list[str]:
    """The run-to-end helper's command: the loss, duplication and rate `imp` asks, in place of what an earlier
    one applied (the delay is the delayer's: delayer_command)."""
    return ["sh", "-c", SCRIPT, "impair", nft_ruleset(imp) or "", *(tc_command(imp) or [])]


def describe(imp: Impairment) -> str:
    """What the link does, for people: 'client's link: loses 20% (every 5th TCP data segment and every 5th
    UDP datagram it sends), delays 100 ms ± 10 ms'."""
    parts = []
    if imp.loss:
        period, positions = drop_pattern(imp.loss)
        if len(positions) == 1:
            nth = "every" if period == 1 else f"every {_ordinal(period)}"
            parts.append(f"loses {imp.loss}% of what reaches it ({nth} TCP data segment and {nth} UDP datagram; "
                         "handshakes, acknowledgements and teardowns pass)")
        else:
            at = ", ".join(_ordinal(p + 1) for p in positions)
            parts.append(f"loses {imp.loss}% of what reaches it (the {at} of every {period} TCP data segments, "
                         "and of the UDP datagrams; handshakes, acknowledgements and teardowns pass)")
    if imp.delay is not None:
        parts.append(f"delays what it sends by {imp.delay:g} ms" + (f" ± {imp.jitter:g} ms" if imp.jitter is not None else ""))
    if imp.reorder is not None:
        parts.append(f"lets {imp.reorder}% of it go undelayed, ahead of the rest")
    if imp.duplicate:
        period, positions = drop_pattern(imp.duplicate)
        parts.append(f"duplicates {imp.duplicate}% of what it sends ({_nth(period, positions)} of its TCP data "
                     "segments and, counted apart, of its UDP datagrams)")
    if imp.rate is not None:
        parts.append(f"sends at most {imp.rate}/s")
    return f"{imp.host}'s link: " + ", ".join(parts)


def _nth(period: int, positions: tuple[int, ...]) -> str:
    """'every 5th', 'the 4th, 7th, 10th of every 10' (drop_pattern's result in words)."""
    if len(positions) == 1:
        return "every one" if period == 1 else f"every {_ordinal(period)}"
    return f"the {', '.join(_ordinal(p + 1) for p in positions)} of every {period}"


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
