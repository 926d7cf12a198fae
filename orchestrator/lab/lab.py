"""The lab of one run: its network, its hosts (one sandboxed container each, with the orchestrator's
observer in it), the capture sidecar, and the volumes they use; created at once, removed by label.

What student code gets, and why (README, Reliability):
- **No way out of the lab.** The run's network is internal (no route out) and its bridge has no IPv4
  address on the host (`inhibit_ipv4`): the gateway address answers nothing, so nothing of the host
  (its services, the Docker API) is reachable from the lab; only the lab's hosts are.
- **No privilege.** Programs run as the image's unprivileged user, with no capabilities and
  no-new-privileges, so none can be gained. Each host's main process (init and the lease) and the
  observer run as root, out of the student's reach: a process cannot signal or trace another user's.
  The container keeps one capability in its bounding set, KILL, which only those root processes hold:
  the observer signals programs with it (the builtin `kill`: no new process).
- **Limits.** Memory, CPU and pids per host (Limits); the root filesystem is read-only; programs
  write only to size-capped tmpfs (/tmp, the user's home, /dev/shm), counted in the memory limit.
  The submission's files are in a root-owned tmpfs volume, read-only to the student.
- **Nothing outlives the orchestrator.** Every container holds a lease (Engine.lease): its main process
  reads an input the orchestrator keeps open, and Docker closes it when the orchestrator goes away,
  however it ends; the container then stops, and with it everything the student started.

The capture sidecar lives in the first host's network namespace with only what capturing needs
(capture.CAPABILITIES), a read-only root, its own limits and the pcap in a tmpfs volume.
"""
from __future__ import annotations

import contextlib
import ipaddress
import random
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from typing import Any

from . import capture as capture_mod
from . import impair as impair_mod
from . import observe
from ..base.errors import EnvironmentProblem, StepFailed
from ..evidence import HostLimits, SocketRow
from ..base.labels import RUN_LABEL
from .process import Shell, close_started
from ..model.impairment import Impairment
from ..model.topology import Topology, gateway_of
from .waits import ContainerLogLine, wait_for
from .engineapi import PlayEngine
from .helpers import NO_NEW_PRIVILEGES, link_helper

PROGRAMS_DIR = "/opt/socklab/programs"  # the reference programs, in the image
SUBMISSION_DIR = "/opt/socklab/submission"  # a submission's files, in a tmpfs volume
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
#: The main process of every container: it ends when its input does, i.e. with the lease.
LEASE_COMMAND = ["cat"]
#: The network's bridge gets no address on the host: the lab cannot reach the host through it.
NETWORK_OPTIONS = {"com.docker.network.bridge.inhibit_ipv4": "true"}
#: Docker's embedded DNS listens inside every container's namespace: its sockets are no play's
DOCKER_DNS = "127.0.0.11:"


@dataclass(frozen=True)
class Limits:
    """What a lab host (and so the student code in it) may use."""

    memory: str = "256m"
    cpus: float = 1.0
    pids: int = 128
    output_bytes: int = 1 << 20  # per program; beyond this output is dropped and marked truncated
    tmp: str = "16m"  # /tmp
    home: str = "16m"  # the user's home
    shm: str = "16m"  # /dev/shm
    home_uid: int = 1000  # the image's unprivileged user (images/node/customize.sh), owner of its home
    submission: str = "4m"  # the tmpfs volume holding a submission's files


def run_helper(engine: PlayEngine, image: str, container: str, command: list[str], name: str, labels: dict[str, str],
               timeout: float = 30.0,
               hold: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext) -> str:
    """Run `command` to its end in a helper container that shares `container`'s network namespace with
    NET_ADMIN and nothing else (helpers.link_helper: root, no new privileges, a read-only root, small limits),
    and remove it:
    how a link is impaired (impair.py), in a lab or in the compose lab (`make impair`). Its output; an
    EnvironmentProblem if it fails."""
    code, out, _ = engine.run_to_end(image, command, labels, link_helper(container), name=name, timeout=timeout,
                                     hold=hold)
    if code != 0:
        said = "did not finish in time" if code is None else f"failed (exit {code})"
        raise EnvironmentProblem(f"impairing the link {said}: {out.strip()[-300:]}")
    return out


#: Labels a delayer helper with the container whose packets it delays (the compose lab's: `make impair`).
DELAYER_LABEL = "socklab.delayer"


def start_delayer(engine: PlayEngine, image: str, container: str, command: list[str], name: str | None,
                  labels: dict[str, str], timeout: float = 30.0, lease: bool = True,
                  hold: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext) -> tuple[str, Any]:
    """Start the delayer (impair.delayer_command) in a helper container that shares `container`'s network
    namespace with NET_ADMIN and nothing else (helpers.link_helper, lasting), and return its id once it delays
    (its log says so). With a lease (a lab's) it ends with the orchestrator; without (the compose lab's, `make
    impair`) it lasts until removed. Its id and its lease (None without), once it delays; an
    EnvironmentProblem, with its output, if it cannot start."""
    with hold():
        helper = engine.create_container(
            name=name, image=image, command=[*command, "lease" if lease else "stay"],
            labels={**labels, DELAYER_LABEL: container}, lease=lease,
            **link_helper(container, lasting=True).settings())
    leased = engine.lease(helper) if lease else None
    try:
        engine.start(helper)
        wait_for(ContainerLogLine(engine, helper, "^delaying$"), timeout)
    except BaseException as e:
        engine.remove_container(helper)
        if leased is not None:
            leased.close()
        if isinstance(e, EnvironmentProblem):
            raise EnvironmentProblem(f"delaying the link failed: {e}") from None
        raise
    return helper, leased


class Lab:
    """The containers and network of one run on one engine (see the module)."""

    def __init__(self, engine: PlayEngine, topology: Topology, hosts: tuple[str, ...], run_id: str,
                 labels: dict[str, str], image: Callable[[str], str], limits: Limits,
                 programs: dict[str, bytes], pool: Executor, clock: Callable[[], float],
                 hold: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext):
        """`hold()`: a context in which interrupts wait (interrupts.Interrupts.held): each call that creates
        a resource runs in one, so that an interrupt cannot leave the engine creating it unseen."""
        self.engine, self.topology, self.hosts, self.run_id = engine, topology, hosts, run_id
        self.labels, self._image, self.limits, self.programs = labels, image, limits, programs
        self.pool, self.clock, self._hold = pool, clock, hold
        self.network = f"socklab-{run_id}"
        self.addresses: dict[str, str] = {}
        self.gateway = ""  # the run network's gateway address (held by no one: NETWORK_OPTIONS)
        self.capture: capture_mod.Capture | None = None
        self._hosts: dict[str, Future[str]] = {}  # host -> its container id, once created and started
        self._observers: dict[str, Future[Shell]] = {}  # host -> the root shell that observes and signals
        self._leases: list[Any] = []
        self._submission_volume: str | None = None
        self.reusable = False  # set by reusable(): the lab serves several plays (reset() between them)
        self._own_pool = False
        self._baseline: dict[str, HostLimits] = {}  # the limits' counters when the play began
        self.leftovers: dict[str, list[SocketRow]] = {}  # host -> sockets the last play left (clear)
        self.impaired: set[str] = set()  # the hosts whose links a play impaired (impair), until clear()
        self._delayers: dict[str, str] = {}  # host -> the container of the delayer of its link

    # ---- creating it ------------------------------------------------------------------------------
    def create(self) -> None:
        """The network (and the submission's volume), then every host at once, each followed by its
        sidecars in its namespace. The observers start in the background: a host's first command waits.

        Measured and dropped: starting the hosts without a sidecar later, in the background while the
        first steps run. On 2 cores the engine's work only moved into the steps (median 2.33 s against
        2.15 s); a run here is CPU-bound, not waiting (README, Performance)."""
        topo = self.topology
        if not any(side.attached_to in self.hosts for side in topo.sidecars.values()):
            raise EnvironmentProblem(f"{topo.path}: no capture sidecar is attached to any of the hosts "
                                     f"{', '.join(self.hosts)}; the capture checks need one")
        subnet = self._create_network()
        for name in topo.hosts:
            self.addresses[name] = str(subnet.network_address + topo.offset(name))
        with self._hold():
            if self.programs or self.reusable:
                self._submission_volume = self.engine.create_tmpfs_volume(
                    f"socklab-{self.run_id}-submission", self.labels, self.limits.submission, "0755")
            for name in self.hosts:  # (created on the pool: teardown waits for each before it looks)
                self._hosts[name] = self.pool.submit(self._create_host, name)
        for name in self.hosts:
            self.container(name)  # raises what creating that host raised

    def _create_network(self) -> ipaddress.IPv4Network:
        used = [ipaddress.ip_network(s, strict=False) for s in self.engine.subnets_in_use() if ":" not in s]
        candidates = list(RUN_POOL.subnets(new_prefix=24))
        start = random.randrange(len(candidates))  # parallel runs rarely try the same one first
        for subnet in candidates[start:] + candidates[:start]:
            if any(subnet.overlaps(u) for u in used):
                continue
            gateway = str(gateway_of(subnet))  # as Docker would choose; named, so the capture knows it
            with self._hold():
                created = self.engine.create_network(self.network, str(subnet), gateway, self.labels,
                                                     options=NETWORK_OPTIONS)
            if created is not None:
                self.gateway = gateway
                return subnet
        raise EnvironmentProblem(f"no free /24 left in {RUN_POOL} for a run network: "
                                 "`python -m orchestrator clean` removes those of dead runs")

    def _leased(self, cid: str) -> str:
        """Take the container's lease (before it starts: it must never run without one), then start it."""
        self._leases.append(self.engine.lease(cid))
        self.engine.start(cid)
        return cid

    def _create_host(self, name: str) -> str:
        """The host's container, then its sidecars (created before the host starts, started after)."""
        host, limits = self.topology.hosts[name], self.limits
        user = host.user or ""
        tmpfs = {"/tmp": f"size={limits.tmp},mode=1777"}
        if user and user != "root" and not user.isdigit():
            tmpfs[f"/home/{user}"] = f"size={limits.home},uid={limits.home_uid},gid={limits.home_uid},mode=0755"
        binds = {self._submission_volume: {"bind": SUBMISSION_DIR, "mode": "rw"}} if self._submission_volume else None
        cid = self.engine.create_container(
            name=f"socklab-{self.run_id}-{host.name}", image=self._image(host.image), command=LEASE_COMMAND,
            labels=self.labels, hostname=host.hostname, user="root", network=self.network,
            ip=self.addresses[host.name], extra_hosts={n: ip for n, ip in self.addresses.items() if n != host.name},
            cap_drop=["ALL"], cap_add=["KILL"], security_opt=[NO_NEW_PRIVILEGES], init=True,
            sysctls=dict(host.sysctls), mem_limit=limits.memory, nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids, dns=DNS_SERVERS, dns_opt=DNS_OPTIONS, read_only=True, tmpfs=tmpfs,
            shm_size=limits.shm, binds=binds, lease=True,
        )
        sidecars = [self.engine.create_container(
            name=f"socklab-{self.run_id}-{side.name}", image=self._image(side.image), command=LEASE_COMMAND,
            labels=self.labels,
            binds={self._capture_volume(side.name): {"bind": capture_mod.CAPTURE_DIR, "mode": "rw"}}, lease=True,
            **capture_mod.sidecar(cid).settings(),
        ) for side in self.topology.sidecars.values() if side.attached_to == name]
        self._leased(cid)
        if self._submission_volume and name == self.hosts[0]:  # the volume is shared: fill it once, running
            self.engine.put_files(cid, SUBMISSION_DIR, self.programs)
        self._observers[name] = self.pool.submit(Shell, self.engine, cid, "root", name, "bash")
        for side_cid in sidecars:
            self._leased(side_cid)
            self.capture = capture_mod.Capture(self.engine, side_cid, clock=self.clock, pool=self.pool)
        return cid

    def impair(self, impairments: Sequence[Impairment], timeout: float = 30.0) -> tuple[dict[str, str], ...]:
        """Apply each host's link impairment (impair.py) in its network namespace: the loss, duplication and
        rate by a helper that runs to its end (run_helper; the rules stay when it is gone), the delay by a
        delayer that lasts as long as the lab (start_delayer); all out of reach of the host's own processes
        (no capability there). What was applied, for the report."""
        image = self._helper_image()
        done = []
        for imp in impairments:
            cid = self.container(imp.host)
            self.impaired.add(imp.host)
            delayer, rules, tc = impair_mod.delayer_command(imp), impair_mod.nft_ruleset(imp), impair_mod.tc_command(imp)
            try:
                if rules or tc:
                    run_helper(self.engine, image, cid, impair_mod.helper_command(imp),
                               f"socklab-{self.run_id}-impair-{imp.host}", self.labels, timeout, self._hold)
                if delayer:
                    self._delayers[imp.host], lease = start_delayer(
                        self.engine, image, cid, delayer, f"socklab-{self.run_id}-delayer-{imp.host}", self.labels,
                        timeout, lease=True, hold=self._hold)
                    self._leases.append(lease)
            except EnvironmentProblem as e:
                raise EnvironmentProblem(f"{imp.where}: {e}") from None
            done.append({"host": imp.host, "applied": impair_mod.describe(imp), "loss": str(imp.loss or ""),
                         "nft": rules or "", "tc": " ".join(tc or []),
                         "delayer": ("delayer.py " + " ".join(delayer[5:])) if delayer else ""})
        return tuple(done)

    def _helper_image(self) -> str:
        """The image of the impairment helpers: the capture's, which has nft and tc."""
        return self._image(next(iter(self.topology.sidecars.values())).image)

    def _capture_volume(self, sidecar: str) -> str:
        return self.engine.create_tmpfs_volume(f"socklab-{self.run_id}-{sidecar}", self.labels,
                                               capture_mod.VOLUME_SIZE, "1777")

    # ---- using it ---------------------------------------------------------------------------------
    def container(self, host: str) -> str:
        """The id of `host`'s running container."""
        if host not in self._hosts:
            raise StepFailed(f"host {host!r} is not part of this run (the scenario's hosts: "
                             f"{', '.join(self.hosts)})")
        return self._hosts[host].result()

    def observer(self, host: str) -> Shell:
        """The orchestrator's root shell on `host`: it reads the kernel's tables and signals programs,
        with shell builtins only (observe.py)."""
        self.container(host)
        return self._observers[host].result()

    def program_dir(self, program: str) -> tuple[str, str]:
        """Where a program named in a start step runs from, and whose it is: ('/opt/.../submission',
        'submission') for a file of the submission, else the reference programs' folder."""
        if program in self.programs:
            return SUBMISSION_DIR, "submission"
        return PROGRAMS_DIR, "reference"

    def sockets(self, host: str, protos: tuple[str, ...] = tuple(observe.SOCKET_TABLES),
                timeout: float = 10.0) -> list[SocketRow]:
        """The host's sockets, as netstat -tuna would list them."""
        code, out, err = self.observer(host).run(observe.socket_script(protos), timeout)
        if code != 0:
            raise StepFailed(f"reading the socket tables failed on {host} ({code}): {err.strip()}")
        return observe.sockets(observe.parse_dump(out), protos)

    def asleep(self, host: str, pid: int, timeout: float = 5.0) -> bool:
        """Whether process `pid` on `host` is blocked, waiting for something (not running or about to run),
        or gone: its state in /proc/PID/stat, read by the host's observer with builtins only."""
        path = f"/proc/{pid}/stat"
        code, out, _ = self.observer(host).run(observe.dump_script([path]), timeout)
        lines = observe.parse_dump(out).get(path) if code == 0 else None
        return not lines or observe.process_state(lines[0]) not in ("R", "")

    def thread_states(self, host: str, pids: list[int], timeout: float = 5.0) -> dict[int, list[str]]:
        """The state of every thread of each of processes `pids` on `host` ('R' running, 'S' asleep...;
        observe.BUSY_STATES are doing something), read by the host's observer with builtins only; {} when
        it cannot tell, and no states for a process that is gone."""
        code, out, _ = self.observer(host).run(observe.task_states_script(pids), timeout)
        return observe.task_states(out) if code == 0 else {}

    def signal(self, host: str, signal_name: str, pid: int) -> tuple[int, str, str]:
        return self.observer(host).run(observe.signal_command(signal_name, pid))

    def limits_counted(self, timeout: float = 5.0) -> dict[str, HostLimits]:
        """What each host's limits counted so far (hosts whose observer cannot answer are left out)."""
        found = {}
        for host in self.hosts:
            future = self._observers.get(host)
            if future is None or not future.done() or future.exception():
                continue
            code, out, _ = future.result().run(observe.dump_script(observe.CGROUP_FILES), timeout)
            if code == 0:
                counted = observe.parse_limits(host, observe.parse_dump(out))
                found[host] = counted.since(self._baseline[host]) if host in self._baseline else counted
        return found

    # ---- serving several plays (grading) ---------------------------------------------------------
    @classmethod
    def reusable_lab(cls, engine: PlayEngine, topology: Topology, run_id: str, labels: dict[str, str],
                     image: Callable[[str], str], limits: Limits) -> "Lab":
        """A lab of every host of the topology that serves several plays one after the other (grading a
        student's programs): created once, `reset` before each play, torn down by its owner."""
        from concurrent.futures import ThreadPoolExecutor

        lab = cls(engine, topology, tuple(topology.hosts), run_id, labels, image, limits, {},
                  ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"lab-{run_id}"), lambda: 0.0)
        lab.reusable, lab._own_pool = True, True
        return lab

    def use_clock(self, clock: Callable[[], float]) -> None:
        """Times from now on are the play's (each play counts from its own start)."""
        self.clock = clock
        if self.capture:
            self.capture._clock = clock

    def clear(self, timeout: float = 20.0) -> str | None:
        """Undo the last play, or say why it cannot be undone (then the lab must be replaced): every program
        of the previous play and what it started killed (shell builtins: a fork bomb may be running), what
        they wrote removed. The sockets the kernel keeps after its programs are gone (a client's TIME_WAIT,
        for a minute) are left in `leftovers`, host by host: whether the next play may see them is the
        caller's to judge (grading.leftovers_harmless), since no command can remove them. A link the play
        impaired is restored first (a helper, as impair() applied it: ≈0.4 CPU-s against ≈1.1 for a new lab)."""
        uid = self.limits.home_uid
        self.leftovers = {}
        for host in sorted(self.impaired):
            if host in self._delayers:
                self.engine.remove_container(self._delayers.pop(host))
            try:
                run_helper(self.engine, self._helper_image(), self.container(host), impair_mod.CLEAR_COMMAND,
                           f"socklab-{self.run_id}-unimpair-{host}", self.labels, timeout, self._hold)
            except EnvironmentProblem as e:
                return f"the impaired link of {host} could not be restored: {e}"
            self.impaired.discard(host)
        for host in self.hosts:
            observer = self.observer(host)
            code, out, err = observer.run(observe.kill_user_script(uid), timeout)
            if code != 0 or out.strip():
                return f"the programs of the last play on {host} would not all end ({(out + err).strip()[:200]})"
            user = self.topology.hosts[host].user or ""
            places = ["/tmp", "/dev/shm"] + ([f"/home/{user}"] if user and user != "root" else [])
            if host == self.hosts[0] and self._submission_volume:
                places.append(SUBMISSION_DIR)
            code, out, err = observer.run(["find", *places, "-mindepth", "1", "-delete"], timeout)
            if code != 0:
                return f"what the last play wrote on {host} could not be removed: {(out + err).strip()[:200]}"
            left = [r for r in self.sockets(host, timeout=timeout) if not r.local.startswith(DOCKER_DNS)]
            if left:
                self.leftovers[host] = left
        if self.capture and self.capture.process and self.capture.process.running:
            return "the last play's capture is still running"
        return None

    def without_leftovers(self, host: str, rows: Sequence[SocketRow]) -> tuple[tuple[SocketRow, ...], int]:
        """`rows` (a snapshot of `host`'s sockets) without those the last play left in TIME_WAIT (clear), and how
        many were taken out. A TIME_WAIT socket is the same connection for as long as it lasts: its addresses
        and ports are its identity, and no later connection gets them while it lasts (the kernel does not
        reuse a four-tuple in TIME_WAIT), so what is taken out is exactly the earlier play's."""
        left = {(r.proto, r.local, r.remote) for r in self.leftovers.get(host, ()) if r.state == "TIME_WAIT"}
        kept = tuple(r for r in rows if not (r.state == "TIME_WAIT" and (r.proto, r.local, r.remote) in left))
        return kept, len(rows) - len(kept)

    def prepare(self, programs: dict[str, bytes], timeout: float = 20.0) -> None:
        """Ready a cleared lab for the next play: its files in the submission's volume, and the limits'
        counters taken as the new baseline."""
        self.programs = dict(programs)
        if self.programs:
            self.engine.put_files(self.container(self.hosts[0]), SUBMISSION_DIR, self.programs)
        self._baseline = {}
        self._baseline = self.limits_counted(timeout)

    def reset(self, programs: dict[str, bytes], timeout: float = 20.0) -> str | None:
        """`clear` and `prepare`, for a play that must find no socket of an earlier one: what a fresh lab
        would be, or why the lab cannot be made so."""
        why = self.clear(timeout)
        if why is None and self.leftovers:
            why = "sockets of the last play are left: " + "; ".join(
                f"on {host}: " + ", ".join(r.raw for r in rows[:3]) for host, rows in self.leftovers.items())
        if why is None:
            self.prepare(programs, timeout)
        return why

    # ---- removing it ------------------------------------------------------------------------------
    def teardown(self) -> None:
        """Remove everything labelled with this run's id, then let go of the connections."""
        # a host still being created would be missed by the listing below: let those calls finish
        futures_wait(list(self._hosts.values()), timeout=HOST_CREATION_LIMIT)
        self.engine.remove_labelled(RUN_LABEL, self.run_id)
        for future in self._observers.values():
            close_started(future)
        for lease in self._leases:
            lease.close()
        if self.capture:
            self.capture.close()
        if self._own_pool:
            self.pool.shutdown(wait=False, cancel_futures=True)
