"""What a run collects: plain, frozen data, written by the runner and read by checks and reports.

Times are seconds since the run started (monotonic clock), unless named *_at (wall clock, ISO 8601).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .packets import Packet


@dataclass(frozen=True)
class Line:
    """One line a program wrote (without its newline)."""

    t: float
    stream: str  # 'stdout' or 'stderr'
    text: str


@dataclass(frozen=True)
class ProgramEvidence:
    id: str
    host: str
    argv: tuple[str, ...]
    lines: tuple[Line, ...]
    exit_status: int | None  # None: still running when the run ended (then killed by teardown)
    started: float
    ended: float | None
    truncated: bool = False  # output went past the limit; what is kept is the beginning
    source: str = "command"  # 'submission' (the student's file), 'reference' (the lab's own) or 'command'
    stopped: str | None = None  # how the run ended it, if it did: e.g. 'SIGKILL after SIGTERM', 'teardown'
    #: the most threads the lab saw it with at once, when it looked (waiting for the programs to be still, before
    #: each line a send step types: runner.Run.busy); 0: it never looked
    threads: int = 0

    def text(self, stream: str = "both") -> list[str]:
        return [ln.text for ln in self.lines if stream == "both" or ln.stream == stream]


@dataclass(frozen=True)
class SocketRow:
    """One row of `netstat -tuna`."""

    proto: str  # 'tcp' or 'udp' (tcp6/udp6 keep their name)
    local: str  # 'ADDR:PORT'
    remote: str
    state: str  # '' for UDP sockets without one
    raw: str


@dataclass(frozen=True)
class Snapshot:
    name: str
    host: str
    t: float
    rows: tuple[SocketRow, ...]
    raw: str
    #: sockets an earlier play in the same lab left in TIME_WAIT, in the kernel's table but not in `rows`
    #: (a grading's shared lab, grading.leftovers_harmless): the play sees what a fresh lab would show
    earlier: int = 0


@dataclass(frozen=True)
class HostLimits:
    """What a lab host's limits counted during the run (its container's cgroup); None: not known."""

    host: str
    pids_max: int | None = None
    forks_refused: int | None = None  # forks (and thread starts) refused by the pids limit
    memory_max: int | None = None  # bytes
    memory_peak: int | None = None  # bytes
    memory_limit_hits: int | None = None  # times the memory use reached the limit (reclaimed, or not)
    oom_kills: int | None = None  # processes the kernel killed because the memory limit was reached

    def since(self, before: "HostLimits") -> "HostLimits":
        """What the counters counted since `before` (a lab that serves several plays counts from each
        play's start; the memory peak is the lab's, since it cannot be reset from inside)."""
        def delta(now: int | None, then: int | None) -> int | None:
            return None if now is None else now - (then or 0)

        return HostLimits(host=self.host, pids_max=self.pids_max,
                          forks_refused=delta(self.forks_refused, before.forks_refused),
                          memory_max=self.memory_max, memory_peak=self.memory_peak,
                          memory_limit_hits=delta(self.memory_limit_hits, before.memory_limit_hits),
                          oom_kills=delta(self.oom_kills, before.oom_kills))

    def stopped(self) -> list[str]:
        """What the limits stopped, in words (empty: nothing)."""
        said = []
        if self.forks_refused:
            limit = f" ({self.pids_max})" if self.pids_max else ""
            said.append(f"the process limit{limit} refused {self.forks_refused} new processes or threads")
        if self.oom_kills:
            limit = f" ({self.memory_max // 2**20} MiB)" if self.memory_max else ""
            said.append(f"the memory limit{limit} was reached and the kernel killed {self.oom_kills} "
                        f"process{'es' if self.oom_kills != 1 else ''} (out of memory)")
        return said


@dataclass(frozen=True)
class CaptureEvidence:
    """The run's packet capture and what tshark counted in it."""

    pcap: str | None  # path of the pcap in the run folder, None if there is none
    packets: int | None  # frames in the pcap file (tshark's count)
    tcpdump_captured: int | None  # what tcpdump said it captured
    tcpdump_dropped: int | None  # what tcpdump said the kernel dropped
    counts: dict[str, int] = field(default_factory=dict)  # resolved display filter -> matching frames
    samples: dict[str, tuple[str, ...]] = field(default_factory=dict)  # filter -> a few matching frames
    errors: dict[str, str] = field(default_factory=dict)  # filter -> tshark's complaint
    problem: str | None = None  # why the capture cannot be trusted, by no fault of the programs (an error)
    filter: str | None = None  # tcpdump's capture filter (what was left out of the pcap)
    #: why the capture is incomplete because of what the programs sent (more than the capture's limits):
    #: the programs' doing, so the capture checks fail with this reason; not an error of the run
    overflow: str | None = None
    frames: tuple[Packet, ...] = ()  # every packet of the pcap, dissected (packets.FIELDS): what reports draw

    @property
    def whole(self) -> bool:
        return (self.problem is None and self.overflow is None and self.packets is not None
                and self.packets == self.tcpdump_captured and not self.tcpdump_dropped)


@dataclass(frozen=True)
class StepResult:
    key: str  # 'steps[3]' or 'steps[3].parallel[1]'
    line: int | None
    kind: str  # 'start', 'send', 'wait', 'netstat', 'signal', 'stop', 'parallel'
    description: str  # e.g. "wait for tcp port 5000 on server"
    status: str  # 'ok', 'failed', 'skipped'
    message: str  # for failed: what was awaited and what was seen; for skipped: why
    started: float | None
    duration: float | None


@dataclass(frozen=True)
class ImageEvidence:
    name: str
    ref: str
    id: str
    packages_sha256: str


@dataclass(frozen=True)
class Evidence:
    run_id: str
    scenario: str  # its name
    scenario_path: str
    started_at: str
    addresses: dict[str, str]  # host -> IPv4 address in this run
    programs: dict[str, ProgramEvidence]
    snapshots: dict[str, Snapshot]
    capture: CaptureEvidence
    steps: tuple[StepResult, ...]
    images: dict[str, ImageEvidence] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds
    error: str | None = None  # the run itself could not be carried out (engine, capture, ...)
    limits: dict[str, HostLimits] = field(default_factory=dict)  # host -> what its limits counted
    impairments: tuple[dict[str, str], ...] = ()  # the links impaired: host, what (impair.describe), loss, commands
    #: the wall clock (seconds since the epoch) at the run's time 0: puts the programs' lines (run times) and
    #: the packets (the kernel's time stamps, epoch) on one clock
    epoch: float | None = None

    def step_failures(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "failed"]
