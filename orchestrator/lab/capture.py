"""The capture: tcpdump in the sidecar, started and confirmed listening before the first step, stopped with
SIGINT once the traffic has settled (before the server's namespace goes away), checked whole, and
dissected by sharkd (Wireshark's own dissectors and display-filter engine) for every capture check.

The dissector is a sharkd daemon in the sidecar, started with the lab: it registers Wireshark's dissectors
once (≈0.45 CPU-s, what every tshark start-up costs), and each capture is counted in a session of its own,
a child the daemon forks (images/capture/sharkd-count.pl). A lab that serves a student's plays one after the
other (grading) pays the start-up once for all of them, and no `docker exec` per play: the count runs in a
long-lived shell of the analyst's in the sidecar (process.Shell), as a perl script of the image.

tcpdump runs with --immediate-mode -U (each packet reaches the file as it arrives) and --print (each
packet is also printed), so "the traffic has settled" is an event we can wait for: no packet printed
for a quiet period.
"""
from __future__ import annotations

import re
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass

from ..evidence import packets
from ..base.errors import EnvironmentProblem, WaitTimeout
from ..evidence import CaptureEvidence
from .process import RemoteProcess, Shell, close_started
from .engineapi import PlayEngine
from .helpers import HelperSpec

#: The capture sidecar writes into a volume held in memory (a tmpfs, at most VOLUME_SIZE), mounted here:
#: its root filesystem is read-only, and the pcap's size is bounded by the limits below, not by the disk.
CAPTURE_DIR = "/captures"
PCAP_IN_CONTAINER = f"{CAPTURE_DIR}/capture.pcap"
COUNT_SCRIPT = "/opt/socklab/sharkd-count.pl"  # baked into the capture image (images/capture/)
#: sharkd's socket: in the sidecar's own /tmp, a path in its own mount namespace, which the lab's hosts
#: cannot reach (they share the sidecar's network namespace, so a TCP port or an abstract socket would
#: be theirs to connect to). Its pid beside it, so a count that waits for it stops waiting if it died.
SHARKD_SOCKET = "/tmp/sharkd.sock"
ANALYST = "analyst"  # tcpdump drops to this unprivileged user once the interface is open; sharkd runs as it

# ---- what the capture may record, and why (README, Reliability) -----------------------------------------
#: At most this many packets: tcpdump stops there (-c). The assignment's scenarios send tens; a program
#: that floods gets a capture of its first PACKET_LIMIT packets and capture checks that say so (overflow).
PACKET_LIMIT = 10_000
#: Bytes kept of each packet (-s). With --immediate-mode libpcap gives every packet a slot of this size
#: in the kernel's ring, so the default (262144) left room for a few dozen packets: a burst of 6,000
#: datagrams lost 4,800 (measured). The lab's messages are short lines; tshark marks a cut packet.
SNAPLEN = 2048
#: The kernel's ring for tcpdump (-B, KiB): 32 MiB holds ~16,000 packets of SNAPLEN, more than
#: PACKET_LIMIT, so the first PACKET_LIMIT packets are recorded whole however fast they come.
BUFFER_KIB = 32768
VOLUME_SIZE = "48m"  # > PACKET_LIMIT x (SNAPLEN + 16 bytes of record header) + the filters file
#: What the capture container may use: only the capabilities capturing needs (NET_RAW to open the
#: interface; SETUID, SETGID and CHOWN for tcpdump -Z to hand the pcap to the analyst and become it).
CAPABILITIES = ("NET_RAW", "SETUID", "SETGID", "CHOWN")
MEMORY, CPUS, PIDS = "512m", 1.0, 64
#: How sharkd counts a recorded pcap (count): no network, no capability, as the analyst; its root stays
#: writable, the pcap is put in /tmp before it starts.
COUNTER = HelperSpec(user=ANALYST, memory=MEMORY, cpus=CPUS, pids=PIDS, read_only=False)


def sidecar(host: str) -> HelperSpec:
    """The capture sidecar of the container `host`: in its network namespace, root (its init and lease) with
    CAPABILITIES alone, a read-only root and a small /tmp (sharkd's socket)."""
    return HelperSpec(user="root", memory=MEMORY, cpus=CPUS, pids=PIDS, capabilities=CAPABILITIES, serves=host,
                      init=True, tmpfs=(("/tmp", "size=8m,mode=1777"),))

TCPDUMP = ["tcpdump", "-i", "eth0", "-n", "-p", "--immediate-mode", "-U", "--print", "-l",
           "-s", str(SNAPLEN), "-B", str(BUFFER_KIB), "-c", str(PACKET_LIMIT), "-Z", ANALYST,
           "-w", PCAP_IN_CONTAINER]  # --print -l: a line per packet as it comes (for `settle`)


def capture_filter(gateway: str) -> str:
    """tcpdump's capture filter: what the lab's computers send and receive, without the host's own chatter
    on the lab's bridge, which would otherwise land in some captures and not others.

    The host (the bridge, and its ends of the containers' virtual cables) comes up with the network and
    talks for a few seconds: IPv6 duplicate address detection, router solicitations and multicast
    listener reports from its link-local addresses, an IGMP join, and on a desktop mDNS or LLMNR
    announcements. The lab's hosts have IPv6 disabled, so every IPv6 frame is the host's. The host's
    IPv4 traffic on the bridge carries the gateway's address (the subnet's first) where the bridge has
    one (the compose lab), and no address at all, 0.0.0.0, where it has none (a run's network:
    lab.NETWORK_OPTIONS); a lab host never sends from 0.0.0.0 (its programs have no raw sockets)."""
    return f"not ip6 and not host {gateway} and not src host 0.0.0.0"


#: How tcpdump is run: in the foreground, with a reader of the exec's input beside it. A line, or the end of
#: the input (the orchestrator half-closing its connection), sends tcpdump SIGINT: it flushes the pcap,
#: prints its statistics and exits. (A connection that just drops does not end the input: Docker keeps
#: the exec's stdin open; a killed orchestrator's capture container ends with its lease, see labels.py.)
#: Stopping the capture is then a write to a stream the orchestrator holds anyway, not one more
#: `docker exec` into the capture container (each costs ~75 ms of CPU here). tcpdump runs in the
#: foreground because an `&` job of a non-interactive shell would ignore SIGINT; the reader signals it
#: as the analyst, the user tcpdump has become (root has no CAP_KILL here), and keeps none of the
#: exec's output open (tcpdump may end first, at PACKET_LIMIT). It first removes the pcap of a previous play
#: in the same lab: tcpdump, root without DAC_OVERRIDE, may not open the analyst's file, but root owns the
#: (sticky) folder and may remove it.
STOP_ON_INPUT = (f'rm -f {PCAP_IN_CONTAINER}; '  # a lab serving several plays: the last one's (the analyst's)
                 'exec 3<&0; { read -r _ <&3; exec setpriv --reuid=analyst --regid=analyst --clear-groups '
                 'kill -INT $$; } >/dev/null 2>&1 & exec "$@" </dev/null 3<&-')
#: An empty pcap (global header only): lets sharkd check filters without a capture.
EMPTY_PCAP = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
#: Starts the daemon in the background of a shell (its output nowhere: it must not hold the shell's).
SHARKD_START = f"sharkd unix:{SHARKD_SOCKET} </dev/null >/dev/null 2>&1 & echo $! > {SHARKD_SOCKET}.pid"


def count_command(pcap: str, filters: list[str], socket: str = SHARKD_SOCKET, frames: bool = True) -> list[str]:
    """The count of each display filter's frames in `pcap`, by the sharkd daemon listening on `socket`
    (a session of its own), and with `frames` every frame's fields (packets.FIELDS: what the reports draw),
    in the same pass; prints the records parse_count_output reads."""
    return ["perl", COUNT_SCRIPT, *(["--frames", packets.fields_argument()] if frames else []), socket, pcap, *filters]


@dataclass(frozen=True)
class TsharkResult:
    total: int | None
    counts: dict[str, int]
    samples: dict[str, tuple[str, ...]]
    errors: dict[str, str]
    frames: tuple[packets.Packet, ...] = ()
    damaged: str | None = None  # the pcap is cut short or damaged (sharkd read what it could)


def parse_count_output(filters: list[str], output: str) -> TsharkResult:
    """Parse sharkd-count.pl's output (total / count / sample / error records, tab-separated)."""
    total, damaged = None, None
    counts: dict[str, int] = {}
    samples: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    lines = output.split("\n")  # (not splitlines: Wireshark leaves U+2028 in a packet's Info, JSON does not escape it)
    for line in lines:
        parts = line.split("\t", 2)
        if parts[0] == "total" and len(parts) == 2:
            total = int(parts[1])
        elif parts[0] == "damaged" and len(parts) == 2:
            damaged = parts[1]
        elif parts[0] in ("count", "sample", "error") and len(parts) == 3:
            f = filters[int(parts[1]) - 1]
            if parts[0] == "count":
                counts[f] = int(parts[2])
            elif parts[0] == "sample":
                samples.setdefault(f, []).append(parts[2])
            else:
                errors[f] = parts[2].strip()
    try:
        frames = packets.parse_records(lines)
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise EnvironmentProblem(f"the capture's dissector (sharkd) gave packets that cannot be read: {e}") from None
    return TsharkResult(total, counts, {f: tuple(s) for f, s in samples.items()}, errors, frames, damaged)


_STATS = re.compile(r"^(\d+) packets? (captured|received by filter|dropped by kernel)", re.MULTILINE)


def parse_tcpdump_stats(stderr: str) -> dict[str, int]:
    """tcpdump's closing report: {'captured': n, 'received by filter': n, 'dropped by kernel': n}."""
    return {what: int(n) for n, what in _STATS.findall(stderr)}


class Capture:
    """tcpdump running in the sidecar container, and the sidecar's dissector (a sharkd daemon, reached
    through a long-lived shell of the analyst's: see the module).

    The daemon starts with the lab, in the background (pool), so its start-up overlaps the other
    containers' and the first steps; a count waits for it to listen."""

    def __init__(self, engine: PlayEngine, container: str, clock=time.monotonic, pool: Executor | None = None):
        self.engine, self.container, self._clock = engine, container, clock
        self.process: RemoteProcess | None = None
        self._pool = pool or ThreadPoolExecutor(max_workers=1)
        self._dissector: Future[Shell] = self._pool.submit(self._start_dissector)
        self.filters: list[str] = []
        self.capture_filter: str | None = None
        self._listening_at = 0.0

    def _start_dissector(self) -> Shell:
        shell = Shell(self.engine, self.container, ANALYST, "capture", "bash")
        code, out, err = shell.run(SHARKD_START)
        if code != 0:
            raise EnvironmentProblem(f"the capture's dissector (sharkd) could not be started: {(out + err).strip()}")
        return shell

    def start(self, timeout: float, filters: list[str], gateway: str) -> None:
        """Start tcpdump (keeping only the lab's traffic: `capture_filter`) and wait until it says it is
        listening; the filters are counted when it has stopped."""
        self.capture_filter = capture_filter(gateway)
        self.process = RemoteProcess(self.engine, self.container,
                                     ["sh", "-c", STOP_ON_INPUT, "tcpdump", *TCPDUMP, self.capture_filter],
                                     id="tcpdump", host="capture", user="root", clock=self._clock,
                                     count_only=("stdout",))  # a line per packet: only counted (settle)
        self.process.wait_for_line(re.compile(r"listening on eth0"), "stderr", 1, timeout,
                                   "tcpdump to say it is listening on eth0")
        self._listening_at = self._clock()
        self.filters = list(filters)

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
        for it; then the dissector's counts and the pcap's bytes, fetched meanwhile."""
        self.process.close_stdin()
        if self.process.wait_exit(timeout) is None:
            raise WaitTimeout("tcpdump to exit after SIGINT", timeout, self.process.tail())
        pcap = self._pool.submit(self.pcap)
        stats = parse_tcpdump_stats("\n".join(self.process.lines("stderr")))
        return stats, self.count(timeout), pcap.result()

    def count(self, timeout: float) -> TsharkResult:
        """Each filter's frames in the pcap tcpdump wrote, by the sidecar's sharkd."""
        code, out, err = self._dissector.result().run(count_command(PCAP_IN_CONTAINER, self.filters), timeout)
        if code != 0 or not out.rstrip().endswith("end"):
            raise EnvironmentProblem(f"the capture's dissector (sharkd) could not count the packets "
                                     f"(exit {code}): {(err or out).strip()[-500:]}")
        return parse_count_output(self.filters, out)

    def close(self) -> None:
        """Let go of tcpdump's and the dissector's connections (their container is gone by now)."""
        if self.process:
            self.process.close()
        close_started(self._dissector)

    def pcap(self) -> bytes:
        return self.engine.get_file(self.container, PCAP_IN_CONTAINER)


def evidence(pcap_path: str | None, stats: dict[str, int], result: TsharkResult | None,
             problem: str | None, capture_filter: str | None = None, limit: int = PACKET_LIMIT) -> CaptureEvidence:
    """What the run's capture is worth. Two ways to be incomplete are told apart: the programs sent more
    than the capture records (`overflow`: their doing, the capture checks fail and say so) and the capture
    itself went wrong (`problem`: the run is an error)."""
    captured, dropped = stats.get("captured"), stats.get("dropped by kernel")
    packets = result.total if result else None
    overflow = None
    if problem is None and captured is not None and captured >= limit:
        overflow = (f"the programs sent at least {limit:,} packets, the most the lab records: the capture "
                    f"stopped at the {limit:,}th")
        if dropped:
            overflow += f" (and {dropped:,} more came faster than it could take them)"
    elif problem is None and dropped:
        overflow = (f"packets came faster than the capture could record them: the kernel dropped {dropped:,} "
                    f"of the {(stats.get('received by filter') or (captured or 0) + dropped):,} the programs sent")
    if problem is None and result is not None and result.damaged:  # (tcpdump ends its file whole: ours to explain)
        problem = result.damaged
    if problem is None and result is not None and packets != captured:
        problem = f"the capture is not whole: tcpdump captured {captured} packets but the pcap holds {packets}"
    return CaptureEvidence(
        pcap=pcap_path, packets=packets, tcpdump_captured=captured, tcpdump_dropped=dropped,
        counts=dict(result.counts) if result else {}, samples=dict(result.samples) if result else {},
        errors=dict(result.errors) if result else {}, problem=problem, filter=capture_filter,
        overflow=overflow, frames=result.frames if result else (),
    )


def count(engine: PlayEngine, image: str, pcap: bytes, filters: list[str], labels: dict[str, str],
          frames: bool = False) -> TsharkResult:
    """Count each display filter's packets in a pcap (bytes), and with `frames` read every frame's fields, in
    a throwaway container of the capture image (its own sharkd, then the count): no network, no
    capabilities, as the analyst user."""
    script = f'{SHARKD_START}; exec "$@"'
    command = count_command("/tmp/socklab.pcap", filters, frames=frames)
    code, out, _ = engine.run_to_end(image, ["sh", "-c", script, "count", *command], labels, COUNTER,
                                     files=("/tmp", {"socklab.pcap": pcap}, 1000), timeout=60)
    if code is None:
        raise WaitTimeout("sharkd to count the packets", 60, out[-500:])
    if code != 0:
        raise EnvironmentProblem(f"sharkd failed (exit {code}) counting the packets: {out[-500:]}")
    return parse_count_output(filters, out)


def check_filters(engine: PlayEngine, image: str, filters: list[str], labels: dict[str, str]) -> dict[str, str]:
    """Ask Wireshark's engine (sharkd) whether each display filter is valid, without any capture:
    filter -> its complaint."""
    return count(engine, image, EMPTY_PCAP, filters, labels).errors if filters else {}
