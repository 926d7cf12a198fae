"""Links that lose, delay, duplicate or reorder packets: a scenario's `impair` entries (scenario.Impairment)
as the commands that apply them in a host's network namespace. Pure: lab.Lab.impair runs them, in a helper
container that shares the host's namespace and holds NET_ADMIN for that moment only; the host's own
container, where student code runs, never holds it, so no program can lift or change what is applied.

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

**Delay, jitter, duplication and reordering** are netem's (`tc qdisc ... netem`), on the host's eth0: a
kernel without sch_netem (CONFIG_NET_SCH_NETEM, a module on Debian's kernels) cannot do them, and the run
says so. **A rate** alone is tbf's (always built in here); with netem, netem's own `rate`.
"""
from __future__ import annotations

import math

from .scenario import Impairment

TABLE = "socklab_impair"  # the nftables table of the impairments, in the host's namespace
INTERFACE = "eth0"  # a lab host's one interface on the lab's network


def drop_pattern(percent: int) -> tuple[int, tuple[int, ...]]:
    """(period, positions): of every `period` packets, those at `positions` (from 0) are dropped; spread
    evenly, the first packet never (below 100%). 20 -> (5, (4,)), 30 -> (10, (3, 6, 9)), 50 -> (2, (1,))."""
    period = 100 // math.gcd(percent, 100)
    share = percent * period // 100
    return period, tuple(r for r in range(period) if (r + 1) * share // period > r * share // period)


def nft_ruleset(imp: Impairment) -> str | None:
    """The nftables ruleset that drops `imp.loss` percent of the TCP data segments and the UDP datagrams
    reaching the host (each counted apart), or None when there is no loss."""
    if not imp.loss:
        return None
    period, positions = drop_pattern(imp.loss)
    which = ", ".join(str(p) for p in positions)
    return (f"table inet {TABLE} {{\n"
            f"  chain ingress {{\n"
            f"    type filter hook prerouting priority -300; policy accept;\n"
            f'    iifname "{INTERFACE}" meta l4proto tcp tcp flags & psh == psh numgen inc mod {period} {{ {which} }} '
            f"counter drop\n"
            f'    iifname "{INTERFACE}" meta l4proto udp numgen inc mod {period} {{ {which} }} counter drop\n'
            f"  }}\n"
            f"}}\n")


def needs_netem(imp: Impairment) -> bool:
    return any(v is not None for v in (imp.delay, imp.jitter, imp.duplicate, imp.reorder))


def tc_command(imp: Impairment) -> list[str] | None:
    """The `tc` command for delay, jitter, duplication, reordering and rate, or None if none is asked."""
    if needs_netem(imp):
        cmd = ["tc", "qdisc", "replace", "dev", INTERFACE, "root", "netem"]
        if imp.delay is not None:
            cmd += ["delay", f"{imp.delay:g}ms"] + ([f"{imp.jitter:g}ms"] if imp.jitter is not None else [])
        if imp.reorder is not None:
            cmd += ["reorder", f"{imp.reorder}%"]
        if imp.duplicate is not None:
            cmd += ["duplicate", f"{imp.duplicate}%"]
        if imp.rate is not None:
            cmd += ["rate", imp.rate]
        return cmd
    if imp.rate is not None:  # tbf: the rate, a burst of a few packets, at most 200 ms queued
        return ["tc", "qdisc", "replace", "dev", INTERFACE, "root", "tbf", "rate", imp.rate, "burst", "16kb",
                "latency", "200ms"]
    return None


#: Runs in the helper (sh -c SCRIPT impair RULESET TC...): what an earlier helper applied is replaced. The tc
#: command first: if the kernel refuses it (no netem), nothing has changed; then the table anew.
SCRIPT = (f'set -e; rules=$1; shift; if [ "$#" -gt 0 ]; then "$@"; else tc qdisc del dev {INTERFACE} root '
          f'2>/dev/null || true; fi; nft delete table inet {TABLE} 2>/dev/null || true; '
          'if [ -n "$rules" ]; then printf "%s" "$rules" | nft -f -; fi; echo applied')

#: Undoes whatever an earlier helper applied (`make impair` with no arguments): the table and the root qdisc.
CLEAR_COMMAND = ["sh", "-c", f"nft delete table inet {TABLE} 2>/dev/null; tc qdisc del dev {INTERFACE} root "
                             "2>/dev/null; echo cleared"]


def helper_command(imp: Impairment) -> list[str]:
    """The helper container's command: everything `imp` asks, in place of what an earlier one applied."""
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
        parts.append(f"reorders {imp.reorder}%")
    if imp.duplicate is not None:
        parts.append(f"duplicates {imp.duplicate}%")
    if imp.rate is not None:
        parts.append(f"sends at most {imp.rate}/s")
    return f"{imp.host}'s link: " + ", ".join(parts)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


#: What tc says when the kernel has no netem, and what the run says instead.
NO_NETEM = "Specified qdisc kind is unknown"
NO_NETEM_MESSAGE = ("this Docker host's kernel has no netem (sch_netem, CONFIG_NET_SCH_NETEM): delay, jitter, "
                    "duplication and reordering cannot be applied here; loss (nftables) and rate (tbf) can")
