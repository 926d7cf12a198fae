"""A small fake of orchestrator.engine.Engine, for testing the runner without Docker.

Programs are simulated by behaviours: functions `behaviour(proc)` run on a thread, which print lines
(`proc.out(...)`, `proc.err(...)`), read stdin and signals (`proc.next()`), bind ports (`proc.bind('tcp', 5000)`),
wait for signals (`proc.wait_signal()`), and return an exit status. The fake records what the runner
asked for (networks, containers and their settings, teardown by label).
"""
from __future__ import annotations

import itertools
import queue
import re
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.lab.capture import COUNT_SCRIPT, SHARKD_START, STOP_ON_INPUT
from orchestrator.lab.engine import Engine
from orchestrator.base.errors import EngineError
from orchestrator.base.labels import RUN_LABEL
from orchestrator.lab.observe import SOCKET_TABLES

#: What the fake's lab hosts show of their cgroup (observe.CGROUP_FILES, cgroup v1).
CGROUP = {"/sys/fs/cgroup/pids/pids.max": ["128"], "/sys/fs/cgroup/pids/pids.events": ["max 0"],
          "/sys/fs/cgroup/memory/memory.limit_in_bytes": [str(256 << 20)],
          "/sys/fs/cgroup/memory/memory.failcnt": ["0"],
          "/sys/fs/cgroup/memory/memory.oom_control": ["oom_kill_disable 0", "under_oom 0", "oom_kill 0"]}
TABLE_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"


class FakeProcess:
    def __init__(self, engine: "FakeEngine", container: str, argv: list[str], pid: int):
        self.engine, self.container, self.argv, self.pid = engine, container, argv, pid
        self.frames: queue.Queue = queue.Queue()
        self.inbox: queue.Queue = queue.Queue()  # ("line", text) | ("eof", None) | ("signal", "SIGINT")
        self.exit_code: int | None = None
        self.done = threading.Event()
        self.ports: list[tuple[str, int]] = []  # what it bound: released when it ends
        self.threads = 1  # how many threads it shows the observer (observe.task_states_script), all asleep

    # what a behaviour may do
    def out(self, text: str, end: str = "\n") -> None:
        self.frames.put((1, (text + end).encode()))

    def err(self, text: str, end: str = "\n") -> None:
        self.frames.put((2, (text + end).encode()))

    def next(self, timeout: float = 5.0) -> tuple[str, str | None]:
        """What happens next: ("line", text) read from stdin, ("eof", None), or ("signal", name)."""
        return self.inbox.get(timeout=timeout)

    def bind(self, proto: str, port: int) -> None:
        self.engine.bound.setdefault(self.container, set()).add((proto, port))
        self.ports.append((proto, port))

    def wait_signal(self, timeout: float = 10.0) -> str:
        """Ignore input until a signal comes; its name."""
        while True:
            kind, value = self.next(timeout)
            if kind == "signal":
                return value


class FakeSession:
    def __init__(self, proc: FakeProcess, exec_id: str):
        self.proc, self.exec_id = proc, exec_id
        self._buffer = b""

    def write(self, data: bytes) -> None:
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            self.proc.inbox.put(("line", line.decode()))

    def close_stdin(self) -> None:
        self.proc.inbox.put(("eof", None))

    def frames(self):
        while True:
            item = self.proc.frames.get()
            if item is None:
                return
            yield item

    def close(self) -> None:
        pass


class StopOnInputSession(FakeSession):
    """capture.STOP_ON_INPUT: a line written, or the input closed, sends the program SIGINT."""

    def write(self, data: bytes) -> None:
        if b"\n" in data:
            self.proc.inbox.put(("signal", "SIGINT"))

    def close_stdin(self) -> None:
        self.proc.inbox.put(("signal", "SIGINT"))


class FakeShellSession:
    """The orchestrator's long-lived `sh`: each line written is one command, answered with its markers.
    It knows the observer's two kinds of command: the builtin kill, and observe.dump_script."""

    LINE = re.compile(r"^\{ (?P<cmd>.*); \} </dev/null; printf '\\n(?P<token>[0-9a-f]+) %s\\n' \$\?;")
    DUMP = re.compile(r"^for f in (?P<paths>.*?); do ")
    THREADS = re.compile(r"^for p in (?P<pids>[0-9 ]*); do ")

    def __init__(self, engine: "FakeEngine", container: str, exec_id: str):
        self.engine, self.container, self.exec_id = engine, container, exec_id
        self.out: queue.Queue = queue.Queue()

    def write(self, data: bytes) -> None:
        for line in data.decode().splitlines():
            m = self.LINE.match(line)
            assert m, f"fake shell cannot read {line!r}"
            dump = self.DUMP.match(m["cmd"])
            threads = self.THREADS.match(m["cmd"])
            if dump:
                code, out, err = 0, self.engine.dump(self.container, shlex.split(dump["paths"])), ""
            elif threads:
                code, out, err = 0, self.engine.thread_states([int(p) for p in threads["pids"].split()]), ""
            elif m["cmd"].startswith("for ((r = 0;"):  # observe.kill_user_script: the fake's programs end alone
                code, out, err = 0, "", ""
            elif m["cmd"] == SHARKD_START:  # the capture's dissector: a daemon in the sidecar
                code, out, err = 0, "", ""
            elif m["cmd"].startswith(f"perl {COUNT_SCRIPT} "):
                code, out, err = self.engine.dissect(shlex.split(m["cmd"]))
            else:
                code, out, err = self.engine.exec_run(self.container, shlex.split(m["cmd"]))
            self.out.put((1, f"{out}\n{m['token']} {code}\n".encode()))
            self.out.put((2, f"{err}\n{m['token']}\n".encode()))

    def close_stdin(self) -> None:
        pass

    def frames(self):
        while (item := self.out.get()) is not None:
            yield item

    def close(self) -> None:
        self.out.put(None)


@dataclass
class FakeEngine:
    behaviours: dict[str, Callable[[FakeProcess], int]]  # argv[0] of the program (after python3 -u) -> behaviour
    tshark_output: str = "total\t10\n"  # what the sidecar's dissector prints (sharkd-count.pl), without `end`
    fail_on: str | None = None  # a method name that raises EngineError
    networks: dict[str, dict] = field(default_factory=dict)
    containers: dict[str, dict] = field(default_factory=dict)
    bound: dict[str, set] = field(default_factory=dict)
    removed_labels: list[tuple[str, str | None]] = field(default_factory=list)
    exec_log: list[tuple[str, list[str]]] = field(default_factory=list)
    processes: dict[int, FakeProcess] = field(default_factory=dict)
    sessions: dict[str, FakeSession] = field(default_factory=dict)
    put_log: list[tuple[str, dict]] = field(default_factory=list)
    dissections: list[list[str]] = field(default_factory=list)  # the counts asked of the sidecar's sharkd
    helper_result: tuple[int | None, str] = (0, "applied\n")  # exit status and output of a run-to-end container
    delayer_output: str = "delaying\n"  # what a delayer helper says (lab.start_delayer waits for `delaying`)
    removed: list[str] = field(default_factory=list)  # containers removed one by one (remove_container)
    created: list[tuple[str, dict]] = field(default_factory=list)  # every container ever created, and how
    volumes: dict[str, dict] = field(default_factory=dict)
    leases: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    #: programs whose wrapper's pid line never arrives (seen under heavy load: the stderr frame lost)
    pid_lost: set[str] = field(default_factory=set)

    def __post_init__(self):
        self._ids = itertools.count(100)
        self.tcpdump_done = threading.Event()
        self.behaviours.setdefault("tcpdump", tcpdump())

    def dissect(self, command: list[str]) -> tuple[int, str, str]:
        """The sidecar's sharkd-count.pl: the counts (`tshark_output`), once tcpdump has ended."""
        if not self.tcpdump_done.is_set():
            return 2, "", "sharkd-count: sharkd could not load the capture: tcpdump is still writing it"
        self.dissections.append(command)
        return 0, self.tshark_output.rstrip("\n") + "\nend", ""

    def _maybe_fail(self, name: str) -> None:
        if self.fail_on == name:
            raise EngineError(f"fake engine told to fail in {name}")

    # networks
    def subnets_in_use(self) -> list[str]:
        return ["172.17.0.0/16"]

    def create_network(self, name, subnet, gateway, labels, internal=True, options=None):
        self._maybe_fail("create_network")
        self.networks[name] = {"subnet": subnet, "gateway": gateway, "labels": labels, "internal": internal,
                               "options": options}
        return f"net-{name}"

    def create_tmpfs_volume(self, name, labels, size, mode="0755"):
        self.volumes[name] = {"labels": labels, "size": size, "mode": mode}
        return name

    def lease(self, container):
        assert container not in self.started, "a container must be leased before it starts"
        self.leases.append(container)
        return FakeLease()

    # containers
    def create_container(self, *, name, image, command, labels, hostname=None, user=None, network=None, ip=None,
                         aliases=None, network_mode=None, extra_hosts=None, cap_add=None, cap_drop=None,
                         environment=None, working_dir=None, binds=None, init=True, mem_limit=None, nano_cpus=None,
                         pids_limit=None, read_only=False, tmpfs=None, security_opt=None, sysctls=None, dns=None,
                         dns_opt=None, shm_size=None, lease=False) -> str:
        """Engine.create_container's parameters (test_engine_protocol.py); every one is recorded."""
        kwargs = dict(locals())
        del kwargs["self"]
        self._maybe_fail("create_container")
        cid = f"c{next(self._ids)}"
        self.containers[cid] = dict(kwargs)
        self.created.append((cid, dict(kwargs)))
        return cid

    def start(self, container: str) -> None:
        assert container in self.containers, f"fake engine: no container {container} to start"
        self.started.append(container)

    # a container that runs its command to the end (the link impairer's helper, lab.Lab.impair): the real
    # engine's sequence of calls, on the fake's
    run_to_end = Engine.run_to_end

    def wait_exit(self, container: str, timeout: float) -> int | None:
        return self.helper_result[0]

    def logs(self, container: str, tail="all", stderr=True) -> str:
        if "socklab.delayer" in (self.containers.get(container, {}).get("labels") or {}):
            return self.delayer_output
        return self.helper_result[1]

    def state(self, container: str) -> dict:
        return {"Running": container in self.started and container not in self.removed, "Status": "running", "ExitCode": 0}

    def remove_container(self, container: str) -> None:
        self.removed.append(container)

    def exec_interactive(self, container, command, *, user="", environment=None, workdir=None):
        self._maybe_fail("exec_interactive")
        if command in (["sh"], ["bash"]):
            return FakeShellSession(self, container, f"shell-{next(self._ids)}")
        argv = command[4:]  # after: sh -c WRAPPER socklab
        stop_on_input = argv[:3] == ["sh", "-c", STOP_ON_INPUT]
        if stop_on_input:  # the capture's tcpdump: its input (a line, or its end) becomes SIGINT
            argv = argv[4:]
        self.exec_log.append((container, argv))
        pid = next(self._ids)
        proc = FakeProcess(self, container, argv, pid)
        self.processes[pid] = proc
        program = argv[2] if argv[:2] == ["python3", "-u"] else argv[0]
        # a submission's program (run from its folder) may behave otherwise than the reference: "student:NAME"
        student = workdir == "/opt/socklab/submission" and f"student:{program}" in self.behaviours
        behaviour = self.behaviours[f"student:{program}" if student else program]
        session = (StopOnInputSession if stop_on_input else FakeSession)(proc, f"exec-{pid}")
        session.user, session.workdir, session.command = user, workdir, list(command)
        self.sessions[session.exec_id] = session
        if program not in self.pid_lost:
            proc.err(f"socklab-pid {pid}")

        def run():
            try:
                proc.exit_code = behaviour(proc)
            except queue.Empty:
                proc.exit_code = 124  # a behaviour waited too long: ends like a killed program
            for bound in proc.ports:
                self.bound.get(container, set()).discard(bound)
            proc.done.set()
            if argv and argv[0] == "tcpdump":
                self.tcpdump_done.set()
            proc.frames.put(None)

        threading.Thread(target=run, daemon=True).start()
        return session

    def exec_exit_code(self, exec_id: str):
        proc = self.sessions[exec_id].proc
        return proc.exit_code if proc.done.is_set() else None

    def exec_run(self, container, command, user=""):
        self.exec_log.append((container, command))
        if command[0] == "find":  # lab.Lab.reset: what the last play wrote (the fake keeps nothing)
            return 0, "", ""
        if command[0] == "kill":
            proc = self.processes[int(command[-1])]
            proc.inbox.put(("signal", "SIG" + command[2]))
            return 0, "", ""
        return 127, "", f"fake engine: no such command {command[0]}"

    def files(self, container) -> dict[str, list[str]]:
        """The files the observer may read in a container: its socket tables (a row per bound port:
        LISTEN for TCP, unconnected for UDP, on 0.0.0.0) and its cgroup's counters."""
        found = dict(CGROUP)
        for proto, path in SOCKET_TABLES.items():
            rows = [f"   {i}: 00000000:{port:04X} 00000000:0000 {'0A' if p == 'tcp' else '07'} "
                    "00000000:00000000 00:00000000 00000000  1000        0 1 1"
                    for i, (p, port) in enumerate(sorted(self.bound.get(container, ()))) if p == proto]
            found[path] = [TABLE_HEADER, *rows]
        return found

    def dump(self, container, paths) -> str:
        """What observe.dump_script prints for these paths."""
        files = self.files(container)
        return "".join(f"@@ {path}\n" + "".join(line + "\n" for line in files[path]) for path in paths
                       if path in files)

    def thread_states(self, pids: list[int]) -> str:
        """What observe.task_states_script prints for these processes: each running one's threads, asleep."""
        return "".join(f"@@ {pid}\n" + "".join(f"{pid} (python3) S 1 {pid}\n" for _ in range(proc.threads))
                       for pid in pids if (proc := self.processes.get(pid)) is not None and not proc.done.is_set())

    def get_file(self, container, path) -> bytes:
        return b"fake pcap"

    def put_files(self, container, directory, files, mode=0o644, uid=0) -> None:
        self.put_log.append((directory, dict(files)))

    def remove_labelled(self, label=RUN_LABEL, value=None):
        self.removed_labels.append((label, value))
        for proc in self.processes.values():  # the containers go away: so do their processes
            if not proc.done.is_set():
                proc.inbox.put(("signal", "SIGKILL"))
        n = len(self.containers)
        self.containers.clear()
        self.networks.clear()
        self.volumes.clear()
        return n, 1


class FakeLease:
    def send(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def tcpdump(packets: int = 10, dropped: int = 0):
    """A fake tcpdump: listening line, a line per packet, statistics on SIGINT."""
    def behaviour(proc: FakeProcess) -> int:
        proc.err("tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes")
        for i in range(packets):
            proc.out(f"12:00:00.{i:06d} IP 10.78.0.20.40000 > 10.78.0.10.5000: Flags [S]")
        proc.wait_signal()
        proc.err(f"{packets} packets captured\n{packets} packets received by filter\n{dropped} packets dropped by kernel")
        return 0
    return behaviour


class FakeClusterEngine:
    """A fake of what the cluster on one host asks of an engine (engineapi.ClusterEngine): the host's engine, or a
    lab machine's own. It records networks, volumes and containers with their settings; `images` maps a ref to its
    id; save_image writes the ref and id into the file, load_image reads them back (so a load gives what the host
    saved, or `loads_as`'s id instead, to play a machine whose load went wrong)."""

    def __init__(self, images: dict[str, str] | None = None, loads_as: str | None = None):
        self.images: dict[str, str] = dict(images or {})
        self.tags: dict[str, str] = {}
        self.loads_as = loads_as
        self.networks: dict[str, dict] = {}
        self.volumes: dict[str, dict] = {}
        self.containers: dict[str, dict] = {}
        self.states: dict[str, dict] = {}
        self.execs: list[tuple[str, list[str]]] = []
        self.removed: list[tuple[str, str | None]] = []
        self.closed = 0
        self._ids = itertools.count(1)

    def subnets_in_use(self) -> list[str]:
        return ["172.17.0.0/16", "10.79.0.0/24"] + [n["subnet"] for n in self.networks.values()]

    def create_network(self, name, subnet, gateway, labels, internal=True, options=None):
        self.networks[name] = {"subnet": subnet, "gateway": gateway, "labels": labels, "internal": internal}
        return f"net-{name}"

    def create_volume(self, name, labels):
        self.volumes[name] = {"labels": labels}
        return name

    def create_container(self, *, name, image, command, labels, hostname=None, user=None, network=None, ip=None,
                         aliases=None, network_mode=None, extra_hosts=None, cap_add=None, cap_drop=None,
                         environment=None, working_dir=None, binds=None, init=True, mem_limit=None, nano_cpus=None,
                         pids_limit=None, read_only=False, tmpfs=None, security_opt=None, sysctls=None, dns=None,
                         dns_opt=None, shm_size=None, lease=False) -> str:
        cid = f"c{next(self._ids):011d}"
        self.containers[cid] = dict(name=name, image=image, command=command, labels=labels, hostname=hostname,
                                    network=network, ip=ip, cap_add=cap_add, cap_drop=cap_drop, binds=binds,
                                    read_only=read_only, tmpfs=tmpfs, security_opt=security_opt, init=init)
        self.states[cid] = {"Status": "created", "Running": False, "ExitCode": 0}
        return cid

    def start(self, container):
        self.states[container] = {"Status": "running", "Running": True, "ExitCode": 0}

    def state(self, container):
        return self.states[container]

    def logs(self, container, tail="all", stderr=True):
        return self.containers[container].get("logs", "")

    def exec_detached(self, container, command, *, environment=None):
        self.execs.append((container, command))
        return f"exec{len(self.execs)}"

    def exec_exit_code(self, exec_id):
        return None

    def image(self, ref):
        from orchestrator.lab.engineapi import ImageInfo

        image_id = self.images.get(ref) or self.tags.get(ref)
        if image_id is None:
            return None
        return ImageInfo(image_id, {}, tuple(r for r, i in {**self.images, **self.tags}.items() if i == image_id))

    def save_image(self, ref, path):
        with open(path, "w") as f:
            f.write(f"{ref}\t{self.images[ref]}")

    def load_image(self, path):
        with open(path) as f:
            ref, image_id = f.read().split("\t")
        self.images[ref] = self.loads_as or image_id

    def tag(self, ref, repository, tag):
        self.tags[f"{repository}:{tag}"] = self.images[ref]

    def labelled(self, label=RUN_LABEL, value=None):
        def has(labels):
            return label in labels and (value is None or labels[label] == value)

        return {"containers": [{"Id": c, **s} for c, s in self.containers.items() if has(s["labels"])],
                "networks": [{"Name": n, **s} for n, s in self.networks.items() if has(s["labels"])],
                "volumes": [{"Name": v, **s} for v, s in self.volumes.items() if has(s["labels"])]}

    def remove_labelled(self, label=RUN_LABEL, value=None):
        found = self.labelled(label, value)
        self.removed.append((label, value))
        for c in found["containers"]:
            del self.containers[c["Id"]]
        for n in found["networks"]:
            del self.networks[n["Name"]]
        for v in found["volumes"]:
            del self.volumes[v["Name"]]
        return len(found["containers"]), len(found["networks"])

    def close(self):
        self.closed += 1
