"""The cluster on one host (`make cluster-up`, issue 18): lab machines as containers, for tests and for trying it.

On the host's engine, everything labelled socklab.cluster=<name> (labels.cluster_labels):
- a network of the cluster's own (internal: no route out; the host reaches each container at its address);
- a scheduler container (`socklab cluster scheduler`), hardened: no capability, read-only root;
- WORKERS lab machines, each a container holding a Docker Engine of its own (Debian's docker.io, image
  socklab/machine), its images and containers on a volume of its own. Once its engine answers, the lab's images
  (the very ones grading uses: node and capture, by their hash tags) are `docker save`d from the host's engine
  and `docker load`ed into it, checked by id, and a `socklab worker` is started in it, playing on that inner
  engine.
The project's code is the host's checkout, bind-mounted read-only (docs/cluster.md says why), so the workers run
exactly the grader's code. Each machine's engine also listens on a socket in the host's folder
.cluster/<name>/<machine>/, through which the host loads the images (and a test looks inside).

A lab machine needs what a Docker Engine needs (MACHINE_CAPS, seccomp unconfined, the host's cgroups); the labs
inside keep their own sandbox (docs/cluster.md).
"""
from __future__ import annotations

import ipaddress
import shutil
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..base.errors import EnvironmentProblem, InvalidInput, SocklabError
from ..base.labels import CLUSTER_LABEL, cluster_labels
from ..model.topology import gateway_of
from .engineapi import ClusterEngine
from .waits import wait_for

#: Clusters take their /24 from here (runs take 10.78.0.0/16, the compose lab 10.77.0.0/24).
CLUSTER_POOL = ipaddress.ip_network("10.79.0.0/16")
SCHEDULER_PORT, DASHBOARD_PORT = 8786, 8787
#: Where a container sees the checkout, the certificates and the folder of its engine's socket.
SRC, CERTS, RUNDIR = "/opt/socklab/src", "/etc/socklab/certs", "/run/socklab"
SOCKET_NAME = "docker.sock"
#: What a Docker Engine in a container needs (docs/cluster.md: each one and why). Not SYS_RESOURCE (this host's
#: engine lacks it, which is why --privileged fails here), nor SYS_MODULE, SYS_TIME, SYS_BOOT, SYS_RAWIO and the
#: like, which an engine does not need.
MACHINE_CAPS = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "SETFCAP",
                "NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE",  # Docker's default set
                "SYS_ADMIN", "NET_ADMIN")
#: A unix socket's path has at most this many bytes (sun_path, with its NUL).
_SUN_PATH = 107


@dataclass(frozen=True)
class ClusterPlan:
    """What to bring up: the cluster's name, how many lab machines, the images, the folders."""

    name: str
    workers: int
    machine_image: str  # socklab/machine:<hash>
    lab_images: dict[str, str]  # ref (socklab/node:<hash>) -> image id: what each machine's engine gets
    root: Path  # the checkout, bind-mounted read-only at SRC
    certs: Path  # made by `socklab cluster certs DIR`, mounted read-only at CERTS
    state: Path  # .cluster/<name>: a folder per machine for its engine's socket
    plays: int | None = None  # each worker's plays at once (None: the worker's own default)
    start_workers: bool = True  # False: the machines only (engines up, images loaded), no scheduler or worker
    socket_gid: int | None = None  # the group that may use each machine's socket (the host's docker group)
    timeout: float = 60.0  # for each machine's engine to answer, and the scheduler to listen

    @property
    def prefix(self) -> str:
        return f"socklab-cluster-{self.name}"

    def machine_names(self) -> list[str]:
        return [f"machine{i}" for i in range(1, self.workers + 1)]


@dataclass(frozen=True)
class Machine:
    name: str  # machine1, ...
    container: str
    ip: str
    socket: Path  # the host's end of its engine's socket

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"


@dataclass
class Cluster:
    name: str
    network: str
    scheduler_ip: str | None
    scheduler: str | None = None  # its container
    machines: list[Machine] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds: what took how long

    @property
    def address(self) -> str | None:
        """The scheduler's address as the grader on the host reaches it."""
        return f"tls://{self.scheduler_ip}:{SCHEDULER_PORT}" if self.scheduler_ip else None

    @property
    def dashboard(self) -> str | None:
        return f"http://{self.scheduler_ip}:{DASHBOARD_PORT}/status" if self.scheduler_ip else None


def check_plan(plan: ClusterPlan) -> None:
    """What can be refused before anything is created."""
    if not 1 <= plan.workers <= 50:
        raise InvalidInput(f"WORKERS must be between 1 and 50 (got {plan.workers})")
    if not plan.name.replace("-", "").isalnum():
        raise InvalidInput(f"a cluster's name is letters, digits and '-' (got {plan.name!r})")
    if plan.start_workers and not (plan.certs.is_dir() and any(plan.certs.iterdir())):
        raise InvalidInput(f"no certificates in {plan.certs}: make them with `socklab cluster certs {plan.certs}` "
                           "(make cluster-up does)")
    longest = plan.state.resolve() / plan.machine_names()[-1] / SOCKET_NAME
    if len(str(longest).encode()) > _SUN_PATH:
        raise InvalidInput(f"the machines' sockets would be too long a path for a unix socket ({longest}): "
                           "use a shorter state folder")


def machine_container(plan: ClusterPlan, name: str, network: str, ip: str, volume: str) -> dict:
    """The create_container arguments of one lab machine: its engine (dockerd, through images/machine/machine-engine,
which puts its containers' cgroups under the machine's) as the main process."""
    command = ["machine-engine", "--host=unix:///var/run/docker.sock", f"--host=unix://{RUNDIR}/{SOCKET_NAME}",
               "--storage-driver=overlay2", "--log-level=warn"]
    if plan.socket_gid is not None:
        command.append(f"--group={plan.socket_gid}")
    return dict(
        name=f"{plan.prefix}-{name}", image=plan.machine_image, command=command, hostname=name,
        labels=cluster_labels(plan.name, name, "lab-machine"), network=network, ip=ip,
        cap_drop=["ALL"], cap_add=list(MACHINE_CAPS),
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        binds={str(plan.root): {"bind": SRC, "mode": "ro"},
               str(plan.state.resolve() / name): {"bind": RUNDIR, "mode": "rw"},
               "/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
               volume: {"bind": "/var/lib/docker", "mode": "rw"},
               **({str(plan.certs): {"bind": CERTS, "mode": "ro"}} if plan.start_workers else {})},
        tmpfs={"/run": "mode=755", "/tmp": "mode=1777"}, init=True,
    )


def scheduler_container(plan: ClusterPlan, network: str, ip: str) -> dict:
    """The create_container arguments of the scheduler: Dask's, through `socklab cluster scheduler`."""
    return dict(
        name=f"{plan.prefix}-scheduler", image=plan.machine_image, hostname="scheduler",
        command=["socklab", "cluster", "scheduler", "--certs", CERTS, "--host", "0.0.0.0",
                 "--port", str(SCHEDULER_PORT), "--dashboard-port", str(DASHBOARD_PORT)],
        labels=cluster_labels(plan.name, "scheduler", "scheduler"), network=network, ip=ip,
        cap_drop=["ALL"], security_opt=["no-new-privileges"], read_only=True, tmpfs={"/tmp": "mode=1777"},
        binds={str(plan.root): {"bind": SRC, "mode": "ro"}, str(plan.certs): {"bind": CERTS, "mode": "ro"}},
        init=True, pids_limit=256, mem_limit="1g",
    )


def worker_command(plan: ClusterPlan, machine: str, scheduler_ip: str) -> list[str]:
    """`socklab worker` on a lab machine, its output into the container's log (its PID 1's)."""
    worker = ["socklab", "worker", f"tls://{scheduler_ip}:{SCHEDULER_PORT}", "--certs", CERTS, "--name", machine]
    if plan.plays is not None:
        worker += ["--plays", str(plan.plays)]
    return ["sh", "-c", 'exec "$@" >/proc/1/fd/1 2>/proc/1/fd/2', "sh", *worker]


def choose_subnet(engine: ClusterEngine) -> ipaddress.IPv4Network:
    used = [ipaddress.ip_network(s, strict=False) for s in engine.subnets_in_use() if ":" not in s]
    for subnet in CLUSTER_POOL.subnets(new_prefix=24):
        if not any(subnet.overlaps(u) for u in used):
            return subnet
    raise EnvironmentProblem(f"no free /24 left in {CLUSTER_POOL} for a cluster's network")


def tcp_reachable(ip: str, port: int) -> None:
    """Connect to ip:port and hang up (OSError if nothing accepts)."""
    with socket.create_connection((ip, port), timeout=1.0):
        pass


def up(engine: ClusterEngine, plan: ClusterPlan, connect: Callable[[str], ClusterEngine],
       progress: Callable[[str], None] = print,
       reachable: Callable[[str, int], None] = tcp_reachable) -> Cluster:
    """Bring the cluster up (see the module); on any failure, remove what was made of it, then raise.
    `connect(docker_host)`: an engine client on a machine's own engine (engine.Engine(base_url=...));
    `reachable(ip, port)`: raises OSError unless something accepts there (the scheduler)."""
    check_plan(plan)
    if any(engine.labelled(CLUSTER_LABEL, plan.name).values()):
        raise InvalidInput(f"cluster {plan.name} is up already (label {CLUSTER_LABEL}={plan.name}): "
                           "`make cluster-down` first")
    began = time.monotonic()
    try:
        cluster = _create(engine, plan, progress)
        _start_and_fill(engine, plan, cluster, connect, progress, reachable)
    except BaseException:
        down(engine, plan.name, plan.state)
        raise
    cluster.timings["up"] = time.monotonic() - began
    return cluster


def _create(engine: ClusterEngine, plan: ClusterPlan, progress: Callable[[str], None]) -> Cluster:
    subnet = choose_subnet(engine)
    network = plan.prefix
    labels = cluster_labels(plan.name, "", "network")
    if engine.create_network(network, str(subnet), str(gateway_of(subnet)), labels, internal=True) is None:
        raise EnvironmentProblem(f"the subnet {subnet} was taken while the cluster's network was created: try again")
    scheduler_ip = str(subnet.network_address + 2) if plan.start_workers else None
    cluster = Cluster(plan.name, network, scheduler_ip)
    progress(f"cluster {plan.name}: network {network} ({subnet}), {plan.workers} lab machine(s)")
    if scheduler_ip:
        cluster.scheduler = engine.create_container(**scheduler_container(plan, network, scheduler_ip))
        engine.start(cluster.scheduler)
    for i, name in enumerate(plan.machine_names()):
        (plan.state / name).mkdir(parents=True, exist_ok=True)
        volume = engine.create_volume(f"{plan.prefix}-{name}-docker", cluster_labels(plan.name, name, "lab-machine"))
        ip = str(subnet.network_address + 10 + i)
        cid = engine.create_container(**machine_container(plan, name, network, ip, volume))
        engine.start(cid)
        cluster.machines.append(Machine(name, cid, ip, plan.state.resolve() / name / SOCKET_NAME))
    return cluster


def _start_and_fill(engine: ClusterEngine, plan: ClusterPlan, cluster: Cluster,
                    connect: Callable[[str], ClusterEngine], progress: Callable[[str], None],
                    reachable: Callable[[str, int], None]) -> None:
    """Save the lab's images once (while the engines and the scheduler start), wait for the scheduler (a scheduler
    that cannot start is said before the long part), load the images into every machine, start the workers."""
    tars = plan.state / "images"
    tars.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    saved = {}
    try:
        for ref in plan.lab_images:
            saved[ref] = tars / (ref.replace("/", "_").replace(":", "_") + ".tar")
            engine.save_image(ref, str(saved[ref]))
        cluster.timings["save"] = time.monotonic() - began
        progress(f"  saved {', '.join(plan.lab_images)} in {cluster.timings['save']:.1f} s")
        if cluster.scheduler and cluster.scheduler_ip:
            wait_for(Listening(engine, cluster.scheduler, f"{plan.prefix}-scheduler", cluster.scheduler_ip,
                               SCHEDULER_PORT, reachable), plan.timeout)
            progress(f"  scheduler listening on {cluster.scheduler_ip}:{SCHEDULER_PORT}")
        with ThreadPoolExecutor(max_workers=len(cluster.machines)) as pool:
            for machine, took in zip(cluster.machines, pool.map(
                    lambda m: _fill(engine, plan, m, saved, connect), cluster.machines)):
                cluster.timings[machine.name] = took
                progress(f"  {machine.name} ({machine.ip}): engine up, images loaded and checked in {took:.1f} s")
    finally:
        shutil.rmtree(tars, ignore_errors=True)
    if cluster.scheduler_ip:
        for machine in cluster.machines:
            engine.exec_detached(machine.container, worker_command(plan, machine.name, cluster.scheduler_ip))
        progress(f"  {len(cluster.machines)} worker(s) started")


def _fill(engine: ClusterEngine, plan: ClusterPlan, machine: Machine, saved: dict[str, Path],
          connect: Callable[[str], ClusterEngine]) -> float:
    """Wait for the machine's engine, load the images into it, check each is the host's (by id)."""
    began = time.monotonic()
    wait_for(InnerEngineUp(engine, machine, connect), plan.timeout)
    inner = connect(machine.docker_host)
    try:
        for ref, path in saved.items():
            inner.load_image(str(path))
            found = inner.image(ref)
            if found is None or found.id != plan.lab_images[ref]:
                raise EnvironmentProblem(
                    f"{machine.name}: after loading {ref} its engine has "
                    f"{found.id if found else 'no such image'}, not the host's {plan.lab_images[ref]}")
            repo = ref.rsplit(":", 1)[0]
            inner.tag(ref, repo, "latest")
    finally:
        inner.close()
    return time.monotonic() - began


@dataclass
class InnerEngineUp:
    """A lab machine's own engine answering on its socket (the host's end of it)."""

    engine: ClusterEngine
    machine: Machine
    connect: Callable[[str], ClusterEngine]

    def describe(self) -> str:
        return f"the Docker Engine of lab machine {self.machine.name} to answer on {self.machine.docker_host}"

    def check(self) -> tuple[bool, str]:
        try:
            self.connect(self.machine.docker_host).close()
            return True, "it answered"
        except SocklabError as e:
            return False, f"{e}; {_last_words(self.engine, self.machine.container)}"

    def hopeless(self) -> str | None:
        return _ended(self.engine, self.machine.container)


@dataclass
class Listening:
    """A TCP port accepting connections at an address the host reaches (the scheduler's)."""

    engine: ClusterEngine
    container: str
    name: str
    ip: str
    port: int
    reachable: Callable[[str, int], None] = tcp_reachable

    def describe(self) -> str:
        return f"the scheduler ({self.name}) to listen on {self.ip}:{self.port}"

    def check(self) -> tuple[bool, str]:
        try:
            self.reachable(self.ip, self.port)
            return True, "it accepted a connection"
        except OSError as e:
            return False, f"connecting: {e.strerror or e}; {_last_words(self.engine, self.container)}"

    def hopeless(self) -> str | None:
        return _ended(self.engine, self.container)


def _ended(engine: ClusterEngine, container: str) -> str | None:
    state = engine.state(container)
    if state.get("Running"):
        return None
    return f"its container is {state.get('Status')} (exit code {state.get('ExitCode')})"


def _last_words(engine: ClusterEngine, container: str) -> str:
    tail = "\n".join(engine.logs(container, tail=8).splitlines()[-8:])
    return f"its container's last output:\n{tail}" if tail else "its container wrote nothing yet"


def down(engine: ClusterEngine, name: str | None, state: Path | None) -> tuple[int, int]:
    """Remove every container, network and volume of cluster `name` (None: of every cluster), by label, and its
    folder of sockets; returns (containers, networks) removed."""
    removed = engine.remove_labelled(CLUSTER_LABEL, name)
    if state is not None:
        shutil.rmtree(state, ignore_errors=True)
    return removed
