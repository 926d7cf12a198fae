"""The capture: tcpdump in the sidecar, started and confirmed listening before the first step, stopped with
SIGINT once the traffic has settled (before the server's namespace goes away), checked whole, and
dissected by tshark (Wireshark's own display-filter engine) in ONE pass for every capture check.

tcpdump runs with --immediate-mode -U (each packet reaches the file as it arrives) and --print (each
packet is also printed), so "the traffic has settled" is an event we can wait for: no packet printed
for a quiet period.
"""
from __future__ import annotations

import re
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .errors import EnvironmentProblem, WaitTimeout
from .evidence import CaptureEvidence
from .process import RemoteProcess, close_started

PCAP_IN_CONTAINER = "/tmp/socklab-capture.pcap"
FILTERS_IN_CONTAINER = "/tmp/socklab-filters.txt"  # written with the engine's put_files into /tmp
_FILTERS_NAME = FILTERS_IN_CONTAINER.removeprefix("/tmp/")
COUNT_SCRIPT = "/opt/socklab/count-filters.lua"  # baked into the capture image (images/capture/)
ANALYST = "analyst"  # tshark dissects untrusted traffic as this unprivileged user
TCPDUMP = ["tcpdump", "-i", "eth0", "-n", "-p", "--immediate-mode", "-U", "--print", "-l", "-Z", "root",
           "-w", PCAP_IN_CONTAINER]  # --print -l: a line per packet as it comes (for `settle`)


def capture_filter(gateway: str) -> str:
    """tcpdump's capture filter: what the lab's computers send and receive, without the host's own chatter
    on the lab's bridge, which would otherwise land in some captures and not others.

    The host (the bridge, and its ends of the containers' virtual cables) comes up with the network and
    talks for a few seconds: IPv6 duplicate address detection, router solicitations and multicast
    listener reports from its link-local addresses, an IGMP join from the gateway address, and on a
    desktop mDNS or LLMNR announcements. The lab's hosts have IPv6 disabled, so every IPv6 frame is the
    host's; the host's IPv4 traffic on the bridge carries the gateway's address (the subnet's first)."""
    return f"not ip6 and not host {gateway}"


#: How tcpdump is run: in the foreground, with a reader of the exec's input beside it. A line, or the end of
#: the input (the orchestrator half-closing its connection), sends tcpdump SIGINT: it flushes the pcap,
#: prints its statistics and exits. (A connection that just drops does not end the input: Docker keeps
#: the exec's stdin open; a killed orchestrator's capture goes with `clean`.) Stopping the capture is then a write to a stream the orchestrator holds
#: anyway, not one more `docker exec` into the capture container (each costs ~75 ms of CPU here).
#: tcpdump runs in the foreground because an `&` job of a non-interactive shell would ignore SIGINT.
STOP_ON_INPUT = 'exec 3<&0; { read -r _ <&3; kill -INT $$; } & exec "$@" </dev/null 3<&-'
#: An empty pcap (global header only): lets tshark check filters without a capture.
EMPTY_PCAP = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")


def tshark_command(pcap: str) -> list[str]:
    return ["tshark", "-q", "-n", "-r", pcap, "-X", f"lua_script:{COUNT_SCRIPT}",
            "-X", f"lua_script1:{FILTERS_IN_CONTAINER}"]


@dataclass(frozen=True)
class TsharkResult:
    total: int | None
    counts: dict[str, int]
    samples: dict[str, tuple[str, ...]]
    errors: dict[str, str]


def parse_count_output(filters: list[str], output: str) -> TsharkResult:
    """Parse count-filters.lua's output (total / count / sample / error records, tab-separated)."""
    total = None
    counts: dict[str, int] = {}
    samples: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split("\t", 2)
        if parts[0] == "total" and len(parts) == 2:
            total = int(parts[1])
        elif parts[0] in ("count", "sample", "error") and len(parts) == 3:
            f = filters[int(parts[1]) - 1]
            if parts[0] == "count":
                counts[f] = int(parts[2])
            elif parts[0] == "sample":
                samples.setdefault(f, []).append(parts[2])
            else:
                errors[f] = re.sub(r'^Error while registering tap: (Filter ".*" is invalid - )?', "", parts[2]).strip()
    return TsharkResult(total, counts, {f: tuple(s) for f, s in samples.items()}, errors)


_STATS = re.compile(r"^(\d+) packets? (captured|received by filter|dropped by kernel)", re.MULTILINE)


def parse_tcpdump_stats(stderr: str) -> dict[str, int]:
    """tcpdump's closing report: {'captured': n, 'received by filter': n, 'dropped by kernel': n}."""
    return {what: int(n) for n, what in _STATS.findall(stderr)}


class Capture:
    """tcpdump running in the sidecar container, and tshark counting alongside it.

    tshark starts as soon as tcpdump listens and reads the pcap as tcpdump writes it (`tail -f`, which
    ends when tcpdump does), so its start-up and the dissection overlap the steps instead of
    following them; when tcpdump has stopped, the counts are ready a moment later.
    """

    def __init__(self, engine: Any, container: str, clock=time.monotonic, pool: Executor | None = None):
        self.engine, self.container, self._clock = engine, container, clock
        self.process: RemoteProcess | None = None
        self._analyzer: Future[RemoteProcess] | None = None
        self._pool = pool or ThreadPoolExecutor(max_workers=1)
        self.filters: list[str] = []
        self.capture_filter: str | None = None
        self._listening_at = 0.0

    def start(self, timeout: float, filters: list[str], gateway: str) -> None:
        """Start tcpdump (keeping only the lab's traffic: `capture_filter`), wait until it says it is
        listening, then start tshark on its output."""
        self.capture_filter = capture_filter(gateway)
        self.process = RemoteProcess(self.engine, self.container,
                                     ["sh", "-c", STOP_ON_INPUT, "tcpdump", *TCPDUMP, self.capture_filter],
                                     id="tcpdump", host="capture", user="root", clock=self._clock,
                                     count_only=("stdout",))  # a line per packet: only counted (settle)
        self.process.wait_for_line(re.compile(r"listening on eth0"), "stderr", 1, timeout,
                                   "tcpdump to say it is listening on eth0")
        self._listening_at = self._clock()
        self.filters = list(filters)
        self._analyzer = self._pool.submit(self._start_analyzer)  # it reads the file from its start

    def _start_analyzer(self) -> RemoteProcess:
        self.engine.put_files(self.container, "/tmp", {_FILTERS_NAME: _lines(self.filters)})
        follow = (f"tail -c +1 -s 0.02 --pid={self.process.pid()} -f {PCAP_IN_CONTAINER} | "
                  + " ".join(tshark_command("-")))
        return RemoteProcess(self.engine, self.container, ["sh", "-c", follow], id="tshark", host="capture",
                             user=ANALYST, clock=self._clock)

    @property
    def analyzer(self) -> RemoteProcess | None:
        """tshark, once started (waits for its start)."""
        return self._analyzer.result() if self._analyzer else None

    def packets_printed(self) -> int:
        """Packet lines tcpdump has printed so far (the line being written counts, as in wait_for_line)."""
        return self.process.line_count("stdout", partial=True) if self.process else 0

    def settle(self, quiet: float, limit: float) -> bool:
        """Wait until no packet has been printed for `quiet` seconds (at most `limit`); True if it settled.
        Before the first packet, the quiet period counts from when tcpdump said it was listening."""
        deadline = self._clock() + limit
        while True:
            seen, last = self.process.activity("stdout")
            quiet_since = last if last is not None else self._listening_at
            now = self._clock()
            if now - quiet_since >= quiet:
                return True
            if now >= deadline:
                return False
            # wake up on the next packet, or when the quiet period would be over
            self.process.wait_for_activity("stdout", seen, min(quiet - (now - quiet_since), deadline - now) + 1e-3)

    def stop(self, timeout: float) -> tuple[dict[str, int], TsharkResult, bytes]:
        """SIGINT to tcpdump (closing its input: STOP_ON_INPUT), so it flushes and closes the file; wait
        for it; then tshark's counts (its last line, `end`, says they are complete) and the pcap's bytes,
        fetched meanwhile."""
        self.process.close_stdin()
        if self.process.wait_exit(timeout) is None:
            raise WaitTimeout("tcpdump to exit after SIGINT", timeout, self.process.tail())
        pcap = self._pool.submit(self.pcap)
        stats = parse_tcpdump_stats("\n".join(self.process.lines("stderr")))
        self.analyzer.wait_for_line(re.compile(r"^end$"), "stdout", 1, timeout, "tshark to finish counting")
        return stats, parse_count_output(self.filters, "\n".join(self.analyzer.lines("stdout"))), pcap.result()

    def close(self) -> None:
        """Let go of tcpdump's and tshark's connections (their container is gone by now)."""
        if self.process:
            self.process.close()
        if self._analyzer:
            close_started(self._analyzer)

    def pcap(self) -> bytes:
        return self.engine.get_file(self.container, PCAP_IN_CONTAINER)


def _lines(items: list[str]) -> bytes:
    return "".join(f"{i}\n" for i in items).encode()


def evidence(pcap_path: str | None, stats: dict[str, int], result: TsharkResult | None,
             problem: str | None, capture_filter: str | None = None) -> CaptureEvidence:
    captured = stats.get("captured")
    packets = result.total if result else None
    if problem is None and result is not None and packets != captured:
        problem = (f"the capture is not whole: tcpdump captured {captured} packets but the pcap holds {packets}")
    if problem is None and stats.get("dropped by kernel"):
        problem = f"the kernel dropped {stats['dropped by kernel']} packets before tcpdump saw them"
    return CaptureEvidence(
        pcap=pcap_path, packets=packets, tcpdump_captured=captured, tcpdump_dropped=stats.get("dropped by kernel"),
        counts=dict(result.counts) if result else {}, samples=dict(result.samples) if result else {},
        errors=dict(result.errors) if result else {}, problem=problem, filter=capture_filter,
    )


def count(engine: Any, image: str, pcap: bytes, filters: list[str], labels: dict[str, str]) -> TsharkResult:
    """Count each display filter's packets in a pcap (bytes), in a throwaway container of the capture
    image: no network, no capabilities, as the analyst user."""
    container = engine.create_container(
        name=None, image=image, command=tshark_command("/tmp/socklab.pcap"), labels=labels, user=ANALYST,
        network_mode="none", cap_drop=["ALL"], security_opt=["no-new-privileges"], init=False,
    )
    try:
        engine.put_files(container, "/tmp", {"socklab.pcap": pcap, _FILTERS_NAME: _lines(filters)}, uid=1000)
        engine.start(container)
        code = engine.wait_exit(container, 60)
        out = engine.logs(container)
        if code is None:
            raise WaitTimeout("tshark to count the packets", 60, out[-500:])
        if code != 0:
            raise EnvironmentProblem(f"tshark failed (exit {code}) counting the packets: {out[-500:]}")
        return parse_count_output(filters, out)
    finally:
        engine.remove_container(container)


def check_filters(engine: Any, image: str, filters: list[str], labels: dict[str, str]) -> dict[str, str]:
    """Ask tshark whether each display filter is valid, without any capture: filter -> error text."""
    return count(engine, image, EMPTY_PCAP, filters, labels).errors if filters else {}
