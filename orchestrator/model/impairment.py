"""A link's impairment as data (scenario key `impair`): what it does to the packets of one host, and the
deterministic pattern of its loss, which both the lab (impair.py, applying it) and the evidence (packets.py,
telling a lost frame from a missing one) use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .document import Where


@dataclass(frozen=True)
class Impairment:
    """What a host's link does to its packets (scenario key `impair`; impair.py applies it). Loss takes what
    the host receives, deterministically: `loss` percent of the TCP data segments and, counted apart, of the
    UDP datagrams reaching it, evenly spread (20%: every 5th); handshakes, acknowledgements and teardowns
    pass. The rest shapes what it sends: a delayer (delay, jitter, reorder), nftables' dup (duplicate), tbf
    (rate); impair.py says why not netem."""

    host: str
    loss: int | None = None  # percent, 1-100
    delay: float | None = None  # milliseconds
    jitter: float | None = None  # milliseconds (with delay)
    duplicate: int | None = None  # percent
    reorder: int | None = None  # percent (with delay)
    rate: str | None = None  # tc's notation: '1mbit', '256kbit'
    where: Where = field(compare=False, default=Where("", None, ""))

    def undelayed(self) -> list[str]:
        """The keys that need a delay beside them and have none (netem jitters and reorders delayed packets)."""
        return [] if self.delay is not None else [k for k in ("jitter", "reorder") if getattr(self, k) is not None]


def drop_pattern(percent: int) -> tuple[int, tuple[int, ...]]:
    """(period, positions): of every `period` packets, those at `positions` (from 0) are dropped; spread
    evenly, the first packet never (below 100%). 20 -> (5, (4,)), 30 -> (10, (3, 6, 9)), 50 -> (2, (1,))."""
    period = 100 // math.gcd(percent, 100)
    share = percent * period // 100
    return period, tuple(r for r in range(period) if (r + 1) * share // period > r * share // period)
