"""Plays a scenario on an engine and collects the evidence; always tears down what it created.

One run: a network of its own (a free /24, internal: no egress), one sandboxed container per host the
scenario uses (non-root, no capabilities, no new privileges, memory/CPU/pids limits), the capture
sidecar in the server's network namespace. Programs are started with `docker exec` in those running
containers. Every container and network carries the label socklab.run=<run id>; teardown removes by
that label, in `finally`, whatever happened.

A step that fails or times out is recorded with what was awaited and what was seen; the steps after it
are recorded as skipped; the run still settles and stops the capture, collects everything and tears
down. The checks (checks.py) then decide, from the evidence alone.
"""
from __future__ import annotations

import contextlib
import ipaddress
import random
import re
import secrets
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import capture as capture_mod
from .engine import RUN_LABEL
from .errors import EnvironmentProblem, SocklabError, WaitTimeout
from .evidence import Evidence, ImageEvidence, Snapshot, SocketRow, StepResult
from .process import RemoteProcess, Shell, StepFailed, close_started
from .scenario import (Netstat, Parallel, Scenario, Send, Signal, Start, Step, Stop, WaitExit, WaitLog, WaitPort,
                       expand)
from .topology import Topology, gateway_of
from .waits import PortBound, wait_for

PROGRAMS_DIR = "/opt/socklab/programs"
#: Runs take their /24 from here (the compose lab uses 10.77.0.0/24).
RUN_POOL = ipaddress.ip_network("10.78.0.0/16")
#: The lab's names come from /etc/hosts; any other name goes to Docker's embedded DNS, whose upstream an
#: internal network cannot reach. Its upstream is set to the host's own loopback (nothing listens there),
#: and the resolver gives up after a second: an unknown name fails in about a second, deterministically,
#: instead of after 2 x 5 s; and no forwarded query is left in flight, which made removing the
#: container take 3 s more.
DNS_SERVERS, DNS_OPTIONS = ["127.0.0.1"], ["timeout:1", "attempts:1"]
#: Teardown waits at most this long for hosts still being created (each engine call has its own timeout).
HOST_CREATION_LIMIT = 60.0


@dataclass(frozen=True)
class Limits:
    """What a lab container (and so the student code in it) may use."""

    memory: str = "256m"
    cpus: float = 1.0
    pids: int = 128
    output_bytes: int = 1 << 20  # per program; beyond this output is dropped and marked truncated


@dataclass(frozen=True)
class RunOptions:
    runs_dir: Path
    images: dict[str, ImageEvidence]  # image name ('node', 'capture') -> the exact image to run
    limits: Limits = field(default_factory=Limits)
    quiet: float = 0.1  # the traffic has settled after this long without a packet
    settle_limit: float = 3.0
    capture_timeout: float = 15.0
    run_id: str | None = None
    #: files (name -> content) put over the reference programs on every host before the first step:
    #: a submission's programs are run exactly where and how the reference ones are
    programs: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """Progress, for whoever draws it: kind is 'phase', 'step-start' or 'step-end'."""

    kind: str
    text: str
    result: StepResult | None = None


def new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def describe(step: Step) -> str:
    match step:
        case Start():
            return f"start {step.id} on {step.host}: {' '.join(step.argv)}"
        case Send():
            return f"send {len(step.lines)} line(s) to {step.program}" + (" and close its input" if step.close else "")
        case WaitPort():
            return f"wait for {step.proto} port {step.port} on {step.host}"
        case WaitLog():
            return f"wait for /{step.pattern}/ from {step.program}"
        case WaitExit():
            return f"wait for {step.program} to exit" + ("" if step.status is None else f" with status {step.status}")
        case Netstat():
            return f"netstat on {step.host} as '{step.name}'"
        case Signal():
            return f"send {step.signal} to {step.program}"
        case Stop():
            return f"stop {step.program}"
        case Parallel():
            return f"{len(step.steps)} steps at once"
    return type(step).__name__


def kind_of(step: Step) -> str:
    return {WaitPort: "wait", WaitLog: "wait", WaitExit: "wait"}.get(type(step), type(step).__name__.lower())


def parse_netstat(raw: str) -> tuple[SocketRow, ...]:
    """Rows of `netstat -tuna`: Proto Recv-Q Send-Q Local-Address Foreign-Address [State]."""
    rows = []
    for line in raw.splitlines():
        cols = line.split()
        if cols and cols[0] in ("tcp", "udp", "tcp6", "udp6") and len(cols) >= 5:
            rows.append(SocketRow(cols[0], cols[3], cols[4], cols[5] if len(cols) > 5 else "", line))
    return tuple(rows)


class Run:
    """One play of one scenario (see `run`): the state of the run in progress."""

    def __init__(self, engine: Any, topology: Topology, scenario: Scenario, options: RunOptions,
                 events: Callable[[Event], None]):
        self.engine, self.topology, self.scenario, self.options = engine, topology, scenario, options
        self.emit = events
        self.run_id = options.run_id or new_run_id()
        self.labels = {RUN_LABEL: self.run_id, "socklab.scenario": scenario.name}
        self.network = f"socklab-{self.run_id}"
        self.t0 = time.monotonic()
        self.deadline = self.t0 + scenario.timeout
        self._hosts: dict[str, Future[str]] = {}  # host -> its container id, once created and started
        self.addresses: dict[str, str] = {}
        self.gateway = ""  # the run network's gateway: the host's own address on the lab's bridge
        self.programs: dict[str, RemoteProcess] = {}
        # per host: a root shell that observes (ss, netstat) and one as the host's user that acts (kill);
        # student code, running as that user, cannot tamper with what observes it
        self._shells: dict[tuple[str, str], Future[Shell]] = {}
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"run-{self.run_id}")
        self.snapshots: dict[str, Snapshot] = {}
        self.results: list[StepResult] = []
        self.timings: dict[str, float] = {}
        self.capture: capture_mod.Capture | None = None
        self.error: str | None = None
        self.folder = options.runs_dir / self.run_id

    def clock(self) -> float:
        return time.monotonic() - self.t0

    # ---- the whole run ------------------------------------------------------------------------
    def play(self) -> Evidence:
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.folder.mkdir(parents=True, exist_ok=True)
        cap_evidence = capture_mod.evidence(None, {}, None, "the run ended before the capture was analysed")
        try:
            self._phase("lab", self._create_lab)
            filters = sorted({expand(f, self.addresses) for f in self.scenario.capture_filters()})
            self._phase("capture-start", lambda: self.capture.start(self._left(self.options.capture_timeout), filters,
                                                                    self.gateway))
            self._phase("steps", self._play_steps)
            cap_evidence = self._phase("capture-analysis", self._finish_capture)
        except SocklabError as e:
            self.error = str(e)
            self.emit(Event("phase", f"run error: {e}"))
        finally:
            programs = {pid: p.evidence() for pid, p in self.programs.items()}
            self._phase("teardown", self.teardown)
        self.timings["total"] = round(self.clock(), 3)
        self._write_artifacts(programs)
        return Evidence(
            run_id=self.run_id, scenario=self.scenario.name, scenario_path=self.scenario.path, started_at=started_at,
            addresses=dict(self.addresses), programs=programs, snapshots=dict(self.snapshots), capture=cap_evidence,
            steps=tuple(self.results), images=dict(self.options.images), timings=dict(self.timings), error=self.error,
        )

    def _phase(self, name: str, fn: Callable[[], Any]) -> Any:
        self.emit(Event("phase", name))
        started = time.monotonic()
        try:
            return fn()
        finally:
            self.timings[name] = round(time.monotonic() - started, 3)

    def _left(self, wanted: float) -> float:
        return max(0.0, min(wanted, self.deadline - time.monotonic()))

    # ---- the lab --------------------------------------------------------------------------------
    def _image(self, ref: str) -> str:
        repo = ref.rsplit(":", 1)[0]
        for img in self.options.images.values():
            if img.ref.rsplit(":", 1)[0] == repo:
                return img.ref
        return ref

    def _create_network(self) -> ipaddress.IPv4Network:
        used = [ipaddress.ip_network(s, strict=False) for s in self.engine.subnets_in_use() if ":" not in s]
        candidates = list(RUN_POOL.subnets(new_prefix=24))
        start = random.randrange(len(candidates))  # parallel runs rarely try the same one first
        for subnet in candidates[start:] + candidates[:start]:
            if any(subnet.overlaps(u) for u in used):
                continue
            gateway = str(gateway_of(subnet))  # as Docker would choose; named, so the capture knows it
            if self.engine.create_network(self.network, str(subnet), gateway, self.labels) is not None:
                self.gateway = gateway
                return subnet
        raise EnvironmentProblem(f"no free /24 left in {RUN_POOL} for a run network: "
                                 "`python -m orchestrator clean` removes those of dead runs")

    def _create_lab(self) -> None:
        """The network, then every host at once, each followed by its sidecars in its namespace. The
        orchestrator's shells start in the background: a host's first command waits for them.

        Measured and dropped: starting the hosts without a sidecar later, in the background while the
        first steps run. On 2 cores the engine's work only moved into the steps (median 2.33 s against
        2.15 s); a run here is CPU-bound, not waiting (README, Performance)."""
        topo = self.topology
        if not any(side.attached_to in self.scenario.hosts for side in topo.sidecars.values()):
            raise EnvironmentProblem(f"{topo.path}: no capture sidecar is attached to any of the hosts "
                                     f"{', '.join(self.scenario.hosts)}; the capture checks need one")
        subnet = self._create_network()
        for name in topo.hosts:
            self.addresses[name] = str(subnet.network_address + topo.offset(name))
        self._hosts = {name: self.pool.submit(self._create_host, name) for name in self.scenario.hosts}
        for name in self.scenario.hosts:
            self.container(name)  # raises what creating that host raised

    def _create_host(self, name: str) -> str:
        """The host's container, then its sidecars (created before the host starts, started after)."""
        host, limits = self.topology.hosts[name], self.options.limits
        cid = self.engine.create_container(
            name=f"socklab-{self.run_id}-{host.name}", image=self._image(host.image), command=list(host.command),
            labels=self.labels, hostname=host.hostname, user=host.user or None, network=self.network,
            ip=self.addresses[host.name],
            extra_hosts={n: ip for n, ip in self.addresses.items() if n != host.name},
            cap_drop=["ALL"], security_opt=["no-new-privileges"], init=True, sysctls=dict(host.sysctls),
            mem_limit=limits.memory, nano_cpus=int(limits.cpus * 1e9), pids_limit=limits.pids,
            dns=DNS_SERVERS, dns_opt=DNS_OPTIONS,
        )
        if self.options.programs:
            self.engine.put_files(cid, PROGRAMS_DIR, self.options.programs)
        sidecars = [self.engine.create_container(
            name=f"socklab-{self.run_id}-{side.name}", image=self._image(side.image),
            command=["sleep", "infinity"], labels=self.labels, user=side.user or "root",
            network_mode=f"container:{cid}", cap_drop=["ALL"], cap_add=list(side.cap_add), init=True,
        ) for side in self.topology.sidecars.values() if side.attached_to == name]
        self.engine.start(cid)
        self._shells[(name, "observe")] = self.pool.submit(Shell, self.engine, cid, "root", name)
        self._shells[(name, "act")] = self.pool.submit(Shell, self.engine, cid, host.user or "", name)
        for side_cid in sidecars:
            self.engine.start(side_cid)
            self.capture = capture_mod.Capture(self.engine, side_cid, clock=self.clock, pool=self.pool)
        return cid

    def container(self, host: str) -> str:
        """The id of `host`'s running container."""
        if host not in self._hosts:
            raise StepFailed(f"host {host!r} is not part of this run (the scenario's hosts: "
                             f"{', '.join(self.scenario.hosts)})")
        return self._hosts[host].result()

    def shell(self, host: str, kind: str) -> Shell:
        """The orchestrator's shell on `host`: 'observe' (root: ss, netstat) or 'act' (the host's user: kill)."""
        self.container(host)
        return self._shells[(host, kind)].result()

    # ---- the steps ------------------------------------------------------------------------------
    def _play_steps(self) -> None:
        failed: StepResult | None = None
        for index, step in enumerate(self.scenario.steps):
            key = f"steps[{index}]"
            if failed is not None:
                self._record(step, key, "skipped", f"skipped because {failed.key} ({failed.description}) failed",
                             None, None)
                continue
            result = self._play(step, key)
            if result.status == "failed":
                failed = result

    def _play(self, step: Step, key: str) -> StepResult:
        description = describe(step)
        self.emit(Event("step-start", f"{key}: {description}"))
        started = self.clock()
        try:
            if time.monotonic() >= self.deadline:
                raise StepFailed(f"the scenario's time limit ({self.scenario.timeout:g} s) ran out before this step")
            self._do(step, key)
        except (WaitTimeout, StepFailed) as e:
            return self._record(step, key, "failed", str(e), started, self.clock() - started, description)
        return self._record(step, key, "ok", "", started, self.clock() - started, description)

    def _record(self, step: Step, key: str, status: str, message: str, started: float | None,
                duration: float | None, description: str | None = None) -> StepResult:
        result = StepResult(key=key, line=step.where.line, kind=kind_of(step),
                            description=description or describe(step),
                            status=status, message=message, started=None if started is None else round(started, 6),
                            duration=None if duration is None else round(duration, 6))
        self.results.append(result)
        self.emit(Event("step-end", result.description, result))
        return result

    def _program(self, pid: str) -> RemoteProcess:
        if pid not in self.programs:
            raise StepFailed(f"program {pid!r} was never started (its start step failed or did not run)")
        return self.programs[pid]

    def _do(self, step: Step, key: str) -> None:
        timeout = self._left(step.timeout)
        match step:
            case Start():
                host = self.topology.hosts[step.host]
                argv = [expand(a, self.addresses) for a in step.argv]
                if "/" not in argv[0] and argv[0].endswith(".py"):
                    argv = ["python3", "-u", *argv]
                proc = self.programs[step.id] = RemoteProcess(
                    self.engine, self.container(step.host), argv, id=step.id, host=step.host, user=host.user or "",
                    environment={"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8"},
                    workdir=PROGRAMS_DIR, clock=self.clock, output_limit=self.options.limits.output_bytes)
                proc.pid(timeout)
            case Send():
                proc = self._program(step.program)
                proc.write_lines([expand(line, self.addresses) for line in step.lines], step.interval)
                if step.close:
                    proc.close_stdin()
            case WaitPort():
                wait_for(PortBound(self.shell(step.host, 'observe').run, step.host, step.proto, step.port), timeout)
            case WaitLog():
                pattern = re.compile(expand(step.pattern, self.addresses, regex=True))
                self._program(step.program).wait_for_line(
                    pattern, step.stream, step.count, timeout,
                    f"{step.count} line(s) matching /{pattern.pattern}/ from {step.program}")
            case WaitExit():
                proc = self._program(step.program)
                status = proc.wait_exit(timeout)
                if status is None and proc.running:
                    raise WaitTimeout(f"{step.program} to exit", timeout, f"still running; last output:\n{proc.tail()}")
                if step.status is not None and status != step.status:
                    raise StepFailed(f"{step.program} exited with status {status}, expected {step.status}; "
                                     f"last output:\n{proc.tail()}")
            case Netstat():
                code, out, err = self.shell(step.host, 'observe').run(["netstat", "-tuna"], timeout)
                if code != 0:
                    raise StepFailed(f"netstat -tuna failed on {step.host} ({code}): {err.strip()}")
                self.snapshots[step.name] = Snapshot(step.name, step.host, round(self.clock(), 6),
                                                     parse_netstat(out), out)
            case Signal():
                proc = self._program(step.program)
                proc.signal(step.signal, self.shell(proc.host, 'act').run)
            case Stop():
                proc = self._program(step.program)
                if proc.running:
                    kill = self.shell(proc.host, 'act').run
                    proc.signal("SIGTERM", kill)
                    proc.wait_exit(timeout)
                    if proc.running:  # (an ended one whose status the engine is slow to give is not killed)
                        proc.signal("SIGKILL", kill)
                        proc.wait_exit(self._left(5.0))
            case Parallel():
                self._do_parallel(step, key)

    def _do_parallel(self, group: Parallel, key: str) -> None:
        with ThreadPoolExecutor(max_workers=len(group.steps)) as pool:
            results = list(pool.map(lambda ix: self._play(ix[1], f"{key}.parallel[{ix[0]}]"),
                                    enumerate(group.steps)))
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise StepFailed("; ".join(f"{r.key} failed: {r.message}" for r in failed))

    # ---- the capture ----------------------------------------------------------------------------
    def _finish_capture(self):
        settled = self.capture.settle(self.options.quiet, self.options.settle_limit)
        stats, result, pcap = self.capture.stop(self.options.capture_timeout)
        path = self.folder / "capture.pcap"
        path.write_bytes(pcap)
        ev = capture_mod.evidence(str(path), stats, result, None, self.capture.capture_filter)
        if not settled:
            self.emit(Event("phase", f"traffic had not settled after {self.options.settle_limit:g} s; captured anyway"))
        return ev

    # ---- teardown and artifacts -----------------------------------------------------------------
    def teardown(self) -> None:
        """Remove everything labelled with this run's id, then let go of the connections. A second
        Ctrl-C (or a SIGTERM) while this runs is held back until it is done: a half-done teardown would
        leave containers behind."""
        with _signals_held():
            # a host still being created would be missed by the listing below: let those calls finish
            futures_wait(list(self._hosts.values()), timeout=HOST_CREATION_LIMIT)
            self.engine.remove_labelled(RUN_LABEL, self.run_id)
        for future in self._shells.values():
            close_started(future)
        if self.capture:
            self.capture.close()
        for proc in self.programs.values():
            proc.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _write_artifacts(self, programs) -> None:
        logs = self.folder / "logs"
        logs.mkdir(exist_ok=True)
        by_host: dict[str, list[tuple[float, str]]] = {host: [] for host in self.scenario.hosts}
        for prog in programs.values():
            for ln in prog.lines:
                by_host.setdefault(prog.host, []).append((ln.t, f"{ln.t:9.3f} {prog.id} {ln.stream}: {ln.text}"))
            end = "still running at the end (killed)" if prog.exit_status is None else f"exit {prog.exit_status}"
            by_host.setdefault(prog.host, []).append((prog.ended or 1e9, f"{(prog.ended or 0):9.3f} {prog.id} {end}"))
        for host, rows in by_host.items():
            (logs / f"{host}.log").write_text("".join(text + "\n" for _, text in sorted(rows)))
        for snap in self.snapshots.values():
            (self.folder / f"netstat-{snap.name}.txt").write_text(f"# {snap.host} at {snap.t:.3f} s\n{snap.raw}")


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT and SIGTERM back while the block runs (main thread only), then deliver them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: held.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if held:
            raise KeyboardInterrupt


def run(engine: Any, topology: Topology, scenario: Scenario, options: RunOptions,
        events: Callable[[Event], None] = lambda e: None) -> Evidence:
    """Play `scenario` once; returns the evidence. Tears down whatever it created, always."""
    return Run(engine, topology, scenario, options, events).play()
