"""`make probe`: the reliability probe (issue 7). Re-runs the probes behind README's Reliability section against
the orchestrator as a black box (`python -m orchestrator` in subprocesses, the `docker` CLI to look at what is
left) and prints one table of figures: cases tried, handled, not handled, and the limits in force.

Groups:
  1 hostile submissions: every folder of tests/hostile/ (the scenario of its README's table) and more written
    here (fork bomb in a client, oom_score_adj, output without newlines, 1 GiB of output, 100 ports, 20,000
    sockets, privileges, ...), run 3 at a time as grading would; and folders that must be refused before any
    Docker work (a link, a FIFO, a folder, an oversized file named like a program, ...)
  2 broken scenario files through `validate --no-filters`: tests/scenarios/invalid/, generated ones (alias
    bombs, deep nesting, huge numbers, special files, random bytes, ...) and mutations of the shipped scenarios
    and of compose.yaml; each is killed after 20 s (a hang)
  3 bad command lines
  4 signals (SIGINT, SIGTERM, SIGKILL) at every phase of a slow run: every 20 ms of the start-up, every few ms
    into the lab's creation, as the capture starts, during the steps, and a second signal as the teardown begins;
    after SIGKILL, how long until no container of the run runs and whether `clean --run` removes the rest
  5 runs under load: the shipped scenarios, 4 at a time

A case is *handled* when the orchestrator did what README promises: a judged verdict (pass/fail, never an
error of the environment the submission caused), exit codes 0/1/2/130 as documented, no Traceback, no hang,
nothing labelled with the run left behind, and for hostile cases the sandbox held (e.g. the host was not
reached). Anything else is listed with what was seen and how to reproduce it.

Usage (from the repository root):  .venv/bin/python bench/probe.py [--quick] [--json FILE] [--only REGEX]
Only the project's own containers exchange traffic; the gateway probe targets the gateway address of the run's
own network, where a listener of this probe's own waits (and must see nothing).
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.hostile import Listener, gateway_probe  # noqa: E402  (the same cases as the tests)
from tests.support.hostile import cases as hostile_cases  # noqa: E402
PY = sys.executable
TRACEBACK = "Traceback (most recent call last)"
NO_DOCKER = "unix:///nonexistent/socklab-probe.sock"  # refusals must come before any Docker work
HANG_VALIDATE = 20.0
HANG_CLI = 30.0
HANG_RUN = 300.0


# ---------------------------------------------------------------------------------------------------------------
# processes

@dataclass
class Result:
    argv: list
    code: int | None  # exit status; -N: killed by signal N
    out: str
    err: str
    seconds: float
    maxrss_kib: int
    hung: bool

    @property
    def traceback(self) -> bool:
        """The orchestrator's own traceback (its stdout may show a program's, in a failure's evidence)."""
        return TRACEBACK in self.err


class Child:
    """A process of the orchestrator: output read on threads (stdout also as lines, for triggers), exit and
    peak memory from wait4, killed with its process group after a deadline (a hang)."""

    KEEP = 4 << 20  # bytes of each stream kept

    def __init__(self, argv: list, *, env: dict | None = None, cwd: Path = ROOT, stdout=subprocess.PIPE,
                 stdin=subprocess.DEVNULL):
        self.argv = argv
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self._out, self._err = bytearray(), bytearray()
        self._readers = []
        if self.proc.stdout is not None:
            self._readers.append(threading.Thread(target=self._read, args=(self.proc.stdout, self._out, True),
                                                  daemon=True))
        self._readers.append(threading.Thread(target=self._read, args=(self.proc.stderr, self._err, False),
                                              daemon=True))
        for t in self._readers:
            t.start()
        self._done = threading.Event()
        self.status: int | None = None
        self.maxrss = 0
        self.t_end: float | None = None
        threading.Thread(target=self._wait4, daemon=True).start()

    def _read(self, stream, into: bytearray, lines: bool) -> None:
        pending = b""
        while True:
            try:
                chunk = stream.read1(65536)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            if len(into) < self.KEEP:
                into += chunk[: self.KEEP - len(into)]
            if lines:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    self.lines.put(line.decode("utf-8", "replace"))
                pending = pending[-65536:]
        if lines and pending:
            self.lines.put(pending.decode("utf-8", "replace"))
        stream.close()

    def _wait4(self) -> None:
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.t_end = time.monotonic()
        self.status = os.waitstatus_to_exitcode(status)
        self.proc.returncode = self.status  # Popen must not wait for it again
        self.maxrss = usage.ru_maxrss
        self._done.set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return not self._done.is_set()

    def signal(self, sig: int) -> None:
        if self.alive():
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> Result:
        hung = not self._done.wait(timeout)
        if hung:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own process group (start_new_session)
            except ProcessLookupError:
                pass
            self._done.wait()
        for t in self._readers:
            t.join(timeout=10)
        return Result(self.argv, self.status, self._out.decode("utf-8", "replace"),
                      self._err.decode("utf-8", "replace"), round(self.t_end - self.t0, 3), self.maxrss, hung)

    def next_line(self, until: float) -> str | None:
        """The next line of stdout, or None once `until` (monotonic) passes or the process has ended."""
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return None
            try:
                return self.lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                if not self.alive() and self.lines.empty():
                    time.sleep(0.05)
                    if self.lines.empty():
                        return None


def orchestrator(*args, timeout: float, env: dict | None = None, **kw) -> Result:
    return Child([PY, "-m", "orchestrator", *args], env=env, **kw).wait(timeout)


def env_with(**extra) -> dict:
    return {**os.environ, **extra}


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"docker {' '.join(args)}: timed out")


def labelled(label: str) -> dict[str, list[str]]:
    """Containers (any state), networks and volumes carrying `label` (key=value)."""
    found = {"containers": docker("ps", "-a", "-q", "--filter", f"label={label}").stdout.split(),
             "networks": docker("network", "ls", "-q", "--filter", f"label={label}").stdout.split(),
             "volumes": docker("volume", "ls", "-q", "--filter", f"label={label}").stdout.split()}
    return {kind: ids for kind, ids in found.items() if ids}


def running(label: str) -> list[str]:
    return docker("ps", "-q", "--filter", f"label={label}").stdout.split()


def run_ids_of(label: str) -> set[str]:
    """socklab.run of every resource carrying `label`."""
    fmt = '{{.Label "socklab.run"}}'
    ids = set()
    for args in (("ps", "-a"), ("network", "ls"), ("volume", "ls")):
        ids |= set(docker(*args, "--filter", f"label={label}", "--format", fmt).stdout.split())
    return ids


def remove_labelled(label: str) -> None:
    """Last resort, for the probe's own runs only: remove what carries `label`."""
    left = labelled(label)
    if left.get("containers"):
        docker("rm", "-f", *left["containers"])
    if left.get("networks"):
        docker("network", "rm", *left["networks"])
    if left.get("volumes"):
        docker("volume", "rm", "-f", *left["volumes"])


def summary_of(text: str, limit: int = 300) -> str:
    """The last meaningful lines of an output, on one line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    joined = " | ".join(lines[-3:])
    return joined[-limit:]


# ---------------------------------------------------------------------------------------------------------------
# the table

@dataclass
class Case:
    group: str
    id: str
    what: str
    handled: bool = False
    problems: list[str] = field(default_factory=list)
    code: int | None = None
    seconds: float | None = None
    detail: dict = field(default_factory=dict)
    repro: str = ""

    def judge(self) -> "Case":
        self.handled = not self.problems
        return self


@dataclass
class Group:
    key: str
    title: str
    cases: list[Case] = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def handled(self) -> int:
        return sum(c.handled for c in self.cases)


def selected(cases: list, only: re.Pattern | None, key=lambda c: c) -> list:
    return [c for c in cases if only is None or only.search(key(c))]


# ---------------------------------------------------------------------------------------------------------------
# group 1: hostile submissions

# Extra hostile programs, written here: each is the reference program with a hostile prelude in front.
EXTRA: dict[str, tuple[str, str, str, str]] = {
    # id: (program, scenario, what, prelude)
    "client-fork-bomb": ("client_udp.py", "scenarios/udp.yaml", "the first client leaves a fork bomb behind it", """
import os, time
if os.fork() == 0:
    os.setsid()
    while True:
        try:
            if os.fork() == 0:
                while True:
                    time.sleep(1)
        except OSError:
            time.sleep(0.01)
time.sleep(1)
"""),
    "oom-score-adj": ("server_udp.py", "scenarios/udp.yaml",
                      "the server lowers its oom_score_adj and nice, then starts memory hogs", """
import os, sys
def _adj(value, who="self"):
    try:
        with open(f"/proc/{who}/oom_score_adj", "w") as f:
            f.write(str(value))
        print(f"oom_score_adj {who} {value}: SET", file=sys.stderr, flush=True)
    except OSError as e:
        print(f"oom_score_adj {who} {value}: {e.strerror}", file=sys.stderr, flush=True)
for _v in (-1000, -1, 0, 500):
    _adj(_v)
_adj(-1000, "1")
try:
    os.setpriority(os.PRIO_PROCESS, 0, 0)
    print("nice 0: SET", file=sys.stderr, flush=True)
except OSError as e:
    print(f"nice 0: {e.strerror}", file=sys.stderr, flush=True)
if os.fork() == 0:
    os.setsid()
    for _ in range(4):
        hog = os.fork()
        if hog == 0:
            _adj(0)
            hoard = []
            while True:
                hoard.append(bytearray(32 << 20))
        os.waitpid(hog, 0)
    os._exit(0)
"""),
    "nonewline-4mib": ("server_udp.py", "scenarios/udp.yaml", "the server prints 4 MiB with no newline first", """
import sys
for _ in range(64):
    sys.stdout.write("x" * 65536)
sys.stdout.flush()
"""),
    "orphan-nonewline-flood": ("client_udp.py", "scenarios/udp.yaml",
                               "the client leaves a child that writes to its stdout without end, no newline", """
import os
if os.fork() == 0:
    os.setsid()
    _chunk = b"z" * 65536
    while True:
        os.write(1, _chunk)
"""),
    "gib-stdout": ("server_udp.py", "scenarios/udp.yaml", "the server writes 1 GiB to stdout first", """
import sys
_block = (b"y" * 1023 + b"\\n") * 1024
for _ in range(1024):
    sys.stdout.buffer.write(_block)
sys.stdout.flush()
"""),
    "hundred-ports": ("server_tcp.py", "scenarios/tcp.yaml", "the server binds 0.0.0.0 on 100 TCP and 100 UDP ports",
                      """
import socket
_held = []
for _port in range(20000, 20100):
    _t = socket.socket()
    _t.bind(("0.0.0.0", _port))
    _t.listen()
    _u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    _u.bind(("0.0.0.0", _port))
    _held += [_t, _u]
"""),
    "twenty-k-sockets": ("server_udp.py", "scenarios/udp.yaml",
                         "the server opens 19,900 sockets (TCP listening and UDP bound, half each; nofile is "
                         "20,000)", """
import resource, socket, sys
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))
except (ValueError, OSError):
    pass
_held = []
try:
    for _i in range(19900):
        _s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if _i % 2 else socket.SOCK_STREAM)
        _s.bind(("0.0.0.0", 0))
        if _i % 2 == 0:
            _s.listen(1)
        _held.append(_s)
except OSError as e:
    print(f"sockets: stopped at {len(_held)}: {e}", file=sys.stderr, flush=True)
print(f"sockets: holding {len(_held)} (nofile {_soft}/{_hard})", file=sys.stderr, flush=True)
"""),
    "ignores-signals": ("server_tcp.py", "scenarios/tcp.yaml", "the server ignores Ctrl-C, SIGTERM and SIGHUP", """
import signal
signal.signal(signal.SIGINT, lambda *a: print("ignoring SIGINT", flush=True))
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
"""),
    "daemon-child": ("server_tcp.py", "scenarios/tcp.yaml",
                     "the server leaves a daemon (double fork, setsid) writing to its output", """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            print("daemon: still here", flush=True)
            time.sleep(0.2)
    os._exit(0)
os.wait()
"""),
    "privileges": ("client_tcp.py", "scenarios/tcp.yaml",
                   "the client tries setuid 0, namespaces, raw and packet sockets, mknod, mount, sysctl, /etc", """
import ctypes, os, socket, stat, sys
_libc = ctypes.CDLL(None, use_errno=True)
def _try(what, attempt):
    try:
        result = attempt()
        if result is not None and result < 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        print(f"ESCAPED: {what}", file=sys.stderr, flush=True)
    except OSError as e:
        print(f"refused: {what}: {e.strerror}", file=sys.stderr, flush=True)
_try("setuid 0", lambda: os.setuid(0))
_try("unshare user namespace", lambda: _libc.unshare(0x10000000))
_try("unshare network namespace", lambda: _libc.unshare(0x40000000))
_try("packet socket", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)).close())
_try("raw IP socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close())
_try("mknod /dev/mem", lambda: os.mknod("/tmp/mem", 0o600 | stat.S_IFCHR, os.makedev(1, 1)))
_try("mount tmpfs", lambda: _libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))
_try("write ip_forward", lambda: open("/proc/sys/net/ipv4/ip_forward", "w").write("1"))
_try("append /etc/passwd", lambda: open("/etc/passwd", "a").write("x::0:0::/:/bin/sh\\n"))
_try("chroot /tmp", lambda: os.chroot("/tmp"))
"""),
    "cpu-burner": ("server_udp.py", "scenarios/udp.yaml", "the server starts 3 processes that spin forever", """
import os
for _ in range(3):
    if os.fork() == 0:
        os.setsid()
        while True:
            pass
"""),
    "thread-bomb": ("server_udp.py", "scenarios/udp.yaml", "the server starts threads until none can be started", """
import sys, threading, time
def _sleeper():
    while True:
        time.sleep(60)
_n = 0
try:
    while True:
        threading.Thread(target=_sleeper, daemon=True).start()
        _n += 1
except RuntimeError as e:
    print(f"threads: {_n} started, then: {e}", file=sys.stderr, flush=True)
"""),
    "binary-output": ("server_udp.py", "scenarios/udp.yaml",
                      "the server prints 256 KiB of random bytes (escapes, NULs, invalid UTF-8) on both outputs", """
import random, sys
_r = random.Random(7)
for _ in range(4):
    sys.stdout.buffer.write(bytes(_r.randrange(256) for _ in range(32768)))
    sys.stderr.buffer.write(bytes(_r.randrange(256) for _ in range(32768)))
sys.stdout.buffer.write(b"\\n\\x1b[2J\\x1b]0;pwned\\x07\\n")
sys.stdout.flush()
sys.stderr.flush()
"""),
}
QUICK_EXTRA = ("client-fork-bomb", "twenty-k-sockets", "privileges", "nonewline-4mib")


@dataclass
class Hostile:
    id: str
    what: str
    folder: Path
    scenario: str
    refusal: bool = False
    expect: Callable[[dict, "Played"], list[str]] | None = None
    notes: str | None = None  # regex of log lines worth reporting


@dataclass
class Played:
    res: Result
    report: dict | None
    runs: Path

    def log(self, host: str) -> str:
        if not self.report:
            return ""
        path = Path(self.report["artifacts"]) / "logs" / f"{host}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return self.log("server") + self.log("client")


def _limits(played: Played, host: str) -> dict:
    return ((played.report or {}).get("limits") or {}).get(host) or {}


def _program(played: Played, pid: str) -> dict:
    return ((played.report or {}).get("programs") or {}).get(pid) or {}


def expectations(listener: Listener) -> dict[str, Callable[[Played], list[str]]]:
    """What must hold for a hostile case beyond being judged: the sandbox and the limits at work."""
    def need(condition: bool, problem: str) -> list[str]:
        return [] if condition else [problem]

    return {
        "gateway": lambda p: need(not listener.accepted and "REACHED THE HOST" not in p.logs(),
                                  f"the host was reached through the gateway ({listener.accepted})"),
        "tamper": lambda p: need(": DONE" not in p.logs(), "a kill, ptrace or /proc write of another user's "
                                                          "process succeeded (tamper: ... DONE)"),
        "disk-filler": lambda p: need("No space left on device" in p.log("server"),
                                      "no tmpfs filled up (no 'No space left on device' in the server's log)"),
        "fork-bomb": lambda p: need((_limits(p, "server").get("forks_refused") or 0) > 0,
                                    "the report counts no fork refused by the pids limit"),
        "memory-hog": lambda p: need((_limits(p, "server").get("oom_kills") or 0) > 0,
                                     "the report counts no process killed for memory"),
        "output-flood": lambda p: need(_program(p, "server").get("truncated") is True, "output not reported cut"),
        "udp-flood": lambda p: need(bool(((p.report or {}).get("capture") or {}).get("overflow")),
                                    "capture overflow not reported"),
        "ignores-sigterm": lambda p: need(str(_program(p, "server").get("stopped")).startswith("SIGKILL"),
                                          "the stop step did not SIGKILL the server"),
        "escapes": lambda p: need("\x1b" not in p.res.out and "\u202e" not in p.res.out,
                                  "an escape sequence reached the console"),
        "binary-output": lambda p: need("\x1b" not in p.res.out, "an escape sequence reached the console"),
        "privileges": lambda p: need("ESCAPED" not in p.logs(), "a privileged operation succeeded: " +
                                     "; ".join(re.findall(r"ESCAPED: [^\n]*", p.logs()))),
        "oom-score-adj": lambda p: need("oom_score_adj self -1000: SET" not in p.logs()
                                        and "oom_score_adj 1 -1000: SET" not in p.logs()
                                        and "nice 0: SET" not in p.logs(),
                                        "a program raised its priority (oom_score_adj -1000 or nice 0)"),
        "client-fork-bomb": lambda p: need((_limits(p, "client").get("forks_refused") or 0) > 0,
                                           "the report counts no fork refused on the client"),
        "thread-bomb": lambda p: need((_limits(p, "server").get("forks_refused") or 0) > 0,
                                      "the report counts no thread refused by the pids limit"),
        "gib-stdout": lambda p: need(_program(p, "server").get("truncated") is True, "output not reported cut"),
        "nonewline-4mib": lambda p: need(_program(p, "server").get("truncated") is True, "output not reported cut"),
    }


NOTES = {
    "oom-score-adj": r"oom_score_adj [^\n]*|nice 0[^\n]*",
    "twenty-k-sockets": r"sockets: [^\n]*",
    "privileges": r"(?:refused|ESCAPED): [^\n]*",
    "thread-bomb": r"threads: [^\n]*",
    "gateway": r"gateway [^\n]*",
    "disk-filler": r"disk-filler: [^\n]*",
}


def write_extra(base: Path, case_id: str) -> Path:
    program, _, _, prelude = EXTRA[case_id]
    folder = base / case_id
    folder.mkdir(parents=True)
    reference = (ROOT / "programs" / program).read_text()
    (folder / program).write_text(f"# probe: {case_id}{prelude}\n{reference}")
    return folder


def refusals(base: Path) -> list[Hostile]:
    """Submissions that must be refused (exit 2, a message naming the file) before any Docker work."""
    cases = []

    def folder(name: str) -> Path:
        path = base / "refused" / name
        path.mkdir(parents=True)
        return path

    def add(name: str, what: str, make: Callable[[Path], Path | None]) -> None:
        path = folder(name)
        try:
            made = make(path)
            target = made if isinstance(made, Path) else path
        except OSError as e:  # e.g. mknod without the privilege
            print(f"  (skipped {name}: {e})", flush=True)
            return
        cases.append(Hostile(f"refused:{name}", what, target, "scenarios/udp.yaml", refusal=True))

    prog = "server_udp.py"
    add("symlink", "a symbolic link to /etc/hostname named server_udp.py",
        lambda p: (p / prog).symlink_to("/etc/hostname"))
    add("symlink-dangling", "a dangling symbolic link named server_udp.py",
        lambda p: (p / prog).symlink_to(p / "nowhere"))
    add("symlink-devzero", "a symbolic link to /dev/zero named server_udp.py",
        lambda p: (p / prog).symlink_to("/dev/zero"))
    add("fifo", "a FIFO named server_udp.py (no writer: a reader would block)", lambda p: os.mkfifo(p / prog))
    add("folder", "a folder named server_udp.py", lambda p: (p / prog).mkdir())
    add("oversized", "a 300 KiB server_udp.py",
        lambda p: (p / prog).write_text("# " + "x" * 300 * 1024 + "\n"))

    def unix_socket(p: Path) -> None:
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(p / prog))
        s.close()
    add("socket", "a Unix socket named server_udp.py", unix_socket)
    if os.geteuid() == 0:
        add("device", "a character device (/dev/zero's numbers) named server_udp.py",
            lambda p: os.mknod(p / prog, 0o600 | 0o020000, os.makedev(1, 5)))
    add("many-files", "65 .py files", lambda p: [(p / f"p{i}.py").write_text("pass\n") for i in range(65)])
    add("too-much", "9 files of 250 KiB (over 2 MiB in all)",
        lambda p: [(p / f"p{i}.py").write_text("#" * 250 * 1024) for i in range(9)])
    add("newline-name", "a .py file whose name holds a newline and an escape",
        lambda p: (p / "server\n\x1b[2J.py").write_text("pass\n"))
    add("digit-name", "a .py file whose name starts with a digit", lambda p: (p / "1server.py").write_text("pass\n"))
    add("empty", "an empty folder", lambda p: None)
    add("no-py", "a folder with only a README", lambda p: (p / "README").write_text("hi\n"))
    add("is-a-file", "--programs is a file", lambda p: [(p / "server_udp.py").write_text("pass\n"), p / "server_udp.py"][1])

    def fifo_arg(p: Path) -> Path:
        os.mkfifo(p / "submission")
        return p / "submission"
    add("is-a-fifo", "--programs is a FIFO", fifo_arg)
    add("is-dev-zero", "--programs is /dev/zero", lambda p: Path("/dev/zero"))
    return cases


def play_hostile(case: Hostile, base: Path) -> Played:
    runs = base / "runs" / case.id.replace(":", "-")
    env = env_with(DOCKER_HOST=NO_DOCKER) if case.refusal else None
    res = orchestrator("run", case.scenario, "--programs", str(case.folder), "--runs-dir", str(runs),
                       timeout=HANG_RUN, env=env)
    reports = sorted(runs.glob("*/report.json"))
    report = json.loads(reports[0].read_text()) if len(reports) == 1 else None
    return Played(res, report, runs)


def judge_hostile(case: Hostile, played: Played, expect: Callable | None) -> Case:
    res = played.res
    c = Case("1", case.id, case.what, code=res.code, seconds=res.seconds,
             detail={"traceback": res.traceback, "hung": res.hung})
    c.repro = (f"python -m orchestrator run {case.scenario} --programs {case.folder}"
               + (f"   (DOCKER_HOST={NO_DOCKER})" if case.refusal else ""))
    if res.traceback:
        c.problems.append("Traceback: " + summary_of(res.err))
    if res.hung:
        c.problems.append(f"hung: killed after {HANG_RUN:g} s")
    if case.refusal:
        message = res.err.strip().splitlines()[0] if res.err.strip() else ""
        c.detail["message"] = message[:300]
        if res.code != 2:
            c.problems.append(f"exit {res.code}, expected 2 (refused): {summary_of(res.err + res.out)}")
        elif not message.startswith("error: "):
            c.problems.append(f"no message: {message!r}")
        if res.seconds > 5:
            c.problems.append(f"slow refusal: {res.seconds:.1f} s")
        if played.runs.exists():
            c.problems.append(f"the runs folder was created: {played.runs}")
        return c.judge()
    rep = played.report
    c.detail["verdict"] = rep["verdict"] if rep else None
    if rep is None:
        c.problems.append(f"no report (exit {res.code}): {summary_of(res.err + res.out)}")
    else:
        run_id = rep["run_id"]
        c.detail["run_id"] = run_id
        c.detail["stopped_by_limits"] = rep.get("stopped_by_limits") or []
        c.detail["limits"] = rep.get("limits") or {}
        c.detail["capture"] = {k: (rep.get("capture") or {}).get(k)
                               for k in ("packets", "tcpdump_captured", "tcpdump_dropped", "overflow", "problem")}
        c.detail["failed_checks"] = [ch["name"] for ch in rep["checks"] if not ch["passed"]]
        c.detail["truncated"] = [pid for pid, p in (rep.get("programs") or {}).items() if p.get("truncated")]
        c.detail["stopped"] = {pid: p["stopped"] for pid, p in (rep.get("programs") or {}).items() if p.get("stopped")}
        if rep["verdict"] not in ("pass", "fail") or rep.get("error"):
            c.problems.append(f"verdict {rep['verdict']}: {rep.get('error')}")
        if (rep.get("capture") or {}).get("problem"):
            c.problems.append(f"capture problem: {rep['capture']['problem']}")
        left = labelled(f"socklab.run={run_id}")
        if left:
            c.problems.append(f"left behind: {left}")
            c.detail["left"] = left
        if case.notes:
            c.detail["notes"] = re.findall(case.notes, played.logs())[:12]
        if "What the limits stopped" in res.out:
            c.detail["console_limits"] = res.out.split("What the limits stopped", 1)[1].split("Score ", 1)[0].strip()
    if res.code not in (0, 1):
        c.problems.append(f"exit {res.code}, expected 0 or 1: {summary_of(res.err)}")
    if expect and rep is not None:
        c.problems += expect(played)
    if c.problems:
        c.detail["stderr_tail"] = res.err[-3000:]
    return c.judge()


def group_hostile(args, base: Path, only) -> Group:
    g = Group("1", "hostile submissions")
    listener = Listener()
    try:
        expects = expectations(listener)
        cases: list[Hostile] = []
        for name, scenario in hostile_cases().items():
            folder = ROOT / "tests" / "hostile" / name
            if name == "gateway":  # told the port of the probe's own listener
                folder = gateway_probe(base, listener.port)
            cases.append(Hostile(name, f"tests/hostile/{name}", folder, scenario, notes=NOTES.get(name)))
        for name in EXTRA:
            if args.quick and name not in QUICK_EXTRA:
                continue
            program, scenario, what, _ = EXTRA[name]
            cases.append(Hostile(name, what, write_extra(base / "extra", name), scenario, notes=NOTES.get(name)))
        cases += refusals(base)
        cases = selected(cases, only, key=lambda h: h.id)

        def one(case: Hostile) -> Case:
            played = play_hostile(case, base)
            c = judge_hostile(case, played, expects.get(case.id))
            mark = "ok " if c.handled else "NOT"
            print(f"  [{mark}] {case.id}: exit {c.code}, {c.detail.get('verdict', '-')}, {c.seconds:.1f} s"
                  + ("" if c.handled else f"  <- {'; '.join(c.problems)[:300]}"), flush=True)
            return c

        docker_cases = [h for h in cases if not h.refusal]
        with ThreadPoolExecutor(max_workers=3) as pool:
            g.cases = list(pool.map(one, docker_cases))
        g.cases += [one(h) for h in cases if h.refusal]
        runs_left = [c.id for c in g.cases if c.detail.get("left")]
        g.figures = {
            "docker runs": len(docker_cases), "refusals": len(cases) - len(docker_cases),
            "exit codes": dict(Counter(str(c.code) for c in g.cases)),
            "verdicts": dict(Counter(str(c.detail.get("verdict")) for c in g.cases if "verdict" in c.detail)),
            "slowest run (s)": max([c.seconds for c in g.cases if not c.id.startswith("refused:")], default=None),
            "slowest refusal (s)": max([c.seconds for c in g.cases if c.id.startswith("refused:")], default=None),
            "tracebacks": sum(c.detail["traceback"] for c in g.cases),
            "runs with leftovers": runs_left,
            "gateway connections accepted": len(listener.accepted),
        }
    finally:
        listener.close()
    return g


# ---------------------------------------------------------------------------------------------------------------
# group 2: broken scenario files

SCENARIO_HEAD = """name: probe
description: generated by bench/probe.py
hosts: [server, client]
steps:
  - start: {id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}
  - wait: {port: 5000, host: server, timeout: 5}
checks:
"""


def scenario_with(check: str = "  - name: listening\n    log: {program: server, match: 'listening'}\n",
                  **top) -> str:
    """A valid scenario (bench/probe.py checks that it is) with `check` as its check and top-level keys set."""
    lines = SCENARIO_HEAD.splitlines(keepends=True)
    for key, value in top.items():
        line = f"{key}: {value}\n"
        at = [i for i, old in enumerate(lines) if old.startswith(f"{key}:")]
        if at:
            lines[at[0]] = line
        else:
            lines.insert(lines.index("hosts: [server, client]\n"), line)
    return "".join(lines) + check


@dataclass
class Broken:
    id: str
    path: Path
    expect: tuple = (2,)  # exit codes that are right
    topology: Path | None = None
    after: Callable[[], list[str]] | None = None  # side effects that must not have happened


def generated(base: Path) -> list[Broken]:
    d = base / "generated"
    d.mkdir(parents=True)
    cases: list[Broken] = []

    def text(name: str, content: str, expect=(2,), **kw) -> None:
        path = d / f"{name}.yaml"
        path.write_text(content)
        cases.append(Broken(f"gen:{name}", path, expect, **kw))

    def raw(name: str, content: bytes, expect=(2,)) -> None:
        path = d / f"{name}.yaml"
        path.write_bytes(content)
        cases.append(Broken(f"gen:{name}", path, expect))

    valid = (ROOT / "scenarios" / "tcp.yaml").read_text()
    text("control_generated_base", scenario_with(), expect=(0,))  # the base of the generated files is valid
    text("control_timeout_60", scenario_with(timeout="60"), expect=(0,))
    laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    text("alias_bomb_billion_laughs", laughs)
    text("alias_bomb_in_description", scenario_with(description="&a [x, x, x, x, x, x, x, x, x, x]").replace(
        "hosts:", "clients: [" + ", ".join(["*a"] * 2001) + "]\nhosts:", 1))
    text("alias_bomb_keys", "a: &a {k: v, l: w}\n" + "".join(
        f"b{i}: &b{i} {{x: *{'a' if i == 0 else f'b{i - 1}'}, y: *{'a' if i == 0 else f'b{i - 1}'}}}\n"
        for i in range(30)))
    text("alias_bomb_merge", "a: &a {k1: 1, k2: 2, k3: 3}\n" + "".join(
        f"m{i}: &m{i}\n  <<: [{', '.join(['*a'] + [f'*m{j}' for j in range(max(0, i - 3), i)])}]\n  z{i}: 1\n"
        for i in range(40)))
    text("recursive_alias", "a: &a [*a]\n")
    text("undefined_alias", "name: *nothing\n")
    text("anchor_name_100k", scenario_with(name=f"&{'a' * 100_000} probe"), expect=(0, 2))
    text("nest_block_map_1000", "".join(f"{'  ' * i}a:\n" for i in range(1000)) + "  " * 1000 + "b: 1\n")
    text("nest_block_list_1000", "steps:\n" + "- " * 1000 + "x\n")
    text("nest_flow_list_1000", "steps: " + "[" * 1000 + "]" * 1000 + "\n")
    text("nest_flow_map_1000", "steps: " + "{a: " * 1000 + "1" + "}" * 1000 + "\n")
    text("nest_flow_unclosed_100k", "steps: " + "[" * 100_000 + "\n")
    text("nest_49_in_clients", scenario_with(clients="[" * 49 + "]" * 49))
    text("nest_51_in_clients", scenario_with(clients="[" * 51 + "]" * 51))
    text("int_5000_digits", scenario_with(timeout="9" * 5000))
    text("int_5000_hex", scenario_with(timeout="0x" + "f" * 5000))
    text("int_5000_octal", scenario_with(timeout="0o" + "7" * 5000))
    text("int_underscores", scenario_with(timeout="1_0"), expect=(0, 2))
    text("count_5000_digits", scenario_with("  - name: x\n    log: {program: server, match: x, count: "
                                            + "1" * 5000 + "}\n"))
    for name, value in (("float_1e300", "1.0e+300"), ("float_inf", ".inf"), ("float_nan", ".nan"),
                        ("negative", "-1"), ("zero", "0"), ("tiny", "1.0e-300"), ("bool", "yes"),
                        ("null", "null"), ("list", "[1, 2]"), ("date", "2026-02-30"), ("huge_float", "1e999")):
        text(f"timeout_{name}", scenario_with(timeout=value), expect=(0, 2) if name == "tiny" else (2,))
    log = "  - name: x\n    log: {{program: server, match: {}}}\n"
    text("regex_repeat_4294967296", scenario_with(log.format("'a{4294967296}'")))
    text("regex_repeat_huge_range", scenario_with(log.format("'a{1,99999999999999999999}'")))
    text("regex_unbalanced", scenario_with(log.format("'('")))
    text("regex_nested_1000", scenario_with(log.format("'" + "(" * 1000 + "a" + ")" * 1000 + "'")), expect=(0, 2))
    text("regex_nested_100k", scenario_with(log.format("'" + "(" * 100_000 + "a" + ")" * 100_000 + "'")))
    text("regex_catastrophic", scenario_with(log.format("'^(a+)+$'")), expect=(0, 2))
    text("regex_alternatives_200k", scenario_with(log.format("'" + "|".join(["ab"] * 66_000) + "'")),
         expect=(0, 2))
    text("regex_lookbehind_variable", scenario_with(log.format("'(?<=a+)b'")))
    text("regex_bad_escape", scenario_with(log.format("'\\q'")))
    cap = "  - name: x\n    capture: {{filter: {}, count: 1}}\n"
    text("filter_newline", scenario_with(cap.format('"tcp\\nudp"')))
    text("filter_nul", scenario_with(cap.format('"tcp\\0"')))
    text("filter_escape", scenario_with(cap.format('"tcp\\e[2J"')))
    text("filter_1mb", scenario_with(cap.format('"' + "tcp && " * 100_000 + 'tcp"')), expect=(0, 2))
    text("run_nul", SCENARIO_HEAD.replace('"5000"]', '"50\\0"]') + "  - name: x\n    log: {program: server, match: x}\n")
    text("name_lone_surrogate", scenario_with(name='"\\ud800"'), expect=(0, 2))
    text("name_escape_sequence", scenario_with(name='"\\e[2J\\e]0;pwned\\a"'), expect=(0, 2))
    text("name_bidi_override", scenario_with(name='"\\u202eprobe"'), expect=(0, 2))
    text("description_lone_surrogate", scenario_with(description='"\\udcff"'), expect=(0, 2))
    text("key_200000", scenario_with(**{"k" * 200_000: 1}))
    text("key_200000_explicit", scenario_with() + "? " + "k" * 200_000 + "\n: 1\n")
    text("key_200000_quoted", scenario_with(**{'"' + "k" * 200_000 + '"': 1}))
    text("value_900k", scenario_with(description="d" * 900_000), expect=(0, 2))
    text("values_20001", scenario_with(**{"x-list": "[" + ", ".join(["1"] * 20_001) + "]"}))
    text("steps_10000", SCENARIO_HEAD.replace("steps:\n", "steps:\n" + "  - wait: {port: 5000, host: server}\n"
                                              * 10_000) + "  - name: x\n    log: {program: server, match: x}\n")
    text("checks_1000", SCENARIO_HEAD + "".join(f"  - name: c{i}\n    log: {{program: server, match: 'x{i}'}}\n"
                                                for i in range(1000)), expect=(0, 2))
    text("placeholders_50k", scenario_with(log.format("'" + "{server.ip}" * 50_000 + "'")), expect=(0, 2))
    text("unclosed_double_quote_line1", 'name: "probe\n' + valid.split("\n", 1)[1])
    text("unclosed_single_quote_line1", "name: 'probe\n" + valid.split("\n", 1)[1])
    text("unclosed_flow_line1", "hosts: [server, client\n" + valid.split("\n", 1)[1])
    text("tab_indent", valid.replace("\n  - ", "\n\t- ", 3))
    text("crlf_valid", valid.replace("\n", "\r\n"), expect=(0, 2))
    text("cr_only", valid.replace("\n", "\r"), expect=(0, 2))
    raw("bom_valid", b"\xef\xbb\xbf" + valid.encode(), expect=(0, 2))
    raw("utf16_valid", valid.encode("utf-16"), expect=(0, 2))
    raw("utf32", valid.encode("utf-32"), expect=(0, 2))
    raw("latin1", valid.replace("olá", "ol\udce1").encode("utf-8", "surrogateescape"))
    raw("nul_byte", valid.encode().replace(b"hosts:", b"ho\0sts:"))
    raw("nul_only", b"\0" * 4096)
    raw("c1_controls", valid.encode().replace(b"tcp-exchange", b"tcp\xc2\x85\xc2\x9b2J"), expect=(0, 2))
    text("multiple_documents", valid + "---\n" + valid)
    text("document_end_then_junk", valid + "...\n}}}\n")
    text("yaml_directive_2", "%YAML 2.0\n---\n" + valid)
    text("tag_directive", "%TAG ! tag:evil.example,2000:\n---\n" + valid, expect=(0, 2))
    marker = Path(tempfile.gettempdir()) / f"socklab-probe-pwned-{uuid.uuid4().hex[:8]}"
    text("python_object_apply", f"name: !!python/object/apply:os.mkdir [{str(marker)!r}]\n"
         + valid.split("\n", 1)[1], after=lambda: [f"{marker} was created"] if marker.exists() else [])
    text("python_name", "name: !!python/name:os.system\n" + valid.split("\n", 1)[1])
    text("python_module", "name: !!python/module:os\n" + valid.split("\n", 1)[1])
    text("tag_binary", "name: !!binary aGVsbG8=\n" + valid.split("\n", 1)[1])
    text("tag_set", "hosts: !!set {server: null, client: null}\n" + valid.replace("hosts: [server, client]\n", ""))
    text("tag_omap", "name: !!omap [{a: 1}]\n" + valid.split("\n", 1)[1])
    text("tag_unknown", "name: !evil x\n" + valid.split("\n", 1)[1])
    text("tag_bool_maybe", scenario_with(timeout="!!bool maybe"))
    text("tag_int_abc", scenario_with(timeout="!!int abc"))
    text("tag_float_x", scenario_with(timeout="!!float x"))
    text("tag_timestamp_bad", scenario_with(timeout="!!timestamp 2026-13-45"))
    text("complex_key_list", "? [a, b]\n: 1\n" + valid)
    text("complex_key_map", "? {a: 1}\n: 1\n" + valid)
    text("key_null", "~: 1\n" + valid)
    text("key_int", "1: 1\n" + valid)
    text("merge_into_list", "x-a: &a [1]\nhosts:\n  <<: *a\n" + valid.split("\n", 1)[1])
    text("scalar_only", "just a string\n")
    text("null_only", "~\n")
    text("list_only", "- a\n- b\n")
    text("empty_map", "{}\n")
    text("comment_only", "# nothing\n")
    text("whitespace_only", "   \n\n\t\n")
    raw("empty_file", b"")
    text("very_long_line_1mb", scenario_with(description="a" * (1024 * 1024 - 400)), expect=(0, 2))
    text("commas_flow", "steps: [" + "," * 500_000 + "]\n")
    text("colons", ": : : : :\n" * 1000)
    text("dashes", "- - - -\n" * 1000)
    text("question_marks", "? ? ? ?\n" * 1000)
    text("anchors_10000", "".join(f"a{i}: &x{i} {i}\n" for i in range(10_000)))
    pad = "# " + "p" * 78 + "\n"
    text("file_exactly_1mib", valid + pad * ((1024 * 1024 - len(valid.encode())) // len(pad))
         + "#" * ((1024 * 1024 - len(valid.encode())) % len(pad)), expect=(0, 2))
    text("file_1mib_plus_1", valid + pad * ((1024 * 1024 - len(valid.encode())) // len(pad) + 1))
    big = d / "file_50mb.yaml"
    with open(big, "w") as f:
        f.write(valid)
        chunk = pad * 1000
        for _ in range(50 * 1024 * 1024 // len(chunk) + 1):
            f.write(chunk)
    cases.append(Broken("gen:file_50mb", big))
    for n, size in ((1, 1024), (2, 65536), (3, 900_000)):
        raw(f"random_bytes_{size}", random.Random(n).randbytes(size))
    raw("random_printable_64k", "".join(random.Random(4).choice(":-[]{}&*!|>'\"%@` \n\tab#,?")
                                        for _ in range(65536)).encode())
    fifo = d / "fifo.yaml"
    os.mkfifo(fifo)
    cases.append(Broken("gen:fifo", fifo))
    folder = d / "folder.yaml"
    folder.mkdir()
    cases.append(Broken("gen:folder", folder))
    sock_path = d / "socket.yaml"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock_path))
    s.close()
    cases.append(Broken("gen:unix_socket", sock_path))
    for dev in ("/dev/zero", "/dev/null", "/dev/urandom", "/dev/stdin", "/proc/self/environ"):
        if os.path.exists(dev):
            cases.append(Broken(f"gen:{dev}", Path(dev)))
    link = d / "link_to_zero.yaml"
    link.symlink_to("/dev/zero")
    cases.append(Broken("gen:symlink_to_dev_zero", link))
    loop_a, loop_b = d / "loop_a.yaml", d / "loop_b.yaml"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    cases.append(Broken("gen:symlink_loop", loop_a))
    dangling = d / "dangling.yaml"
    dangling.symlink_to(d / "nowhere.yaml")
    cases.append(Broken("gen:dangling_symlink", dangling))
    cases.append(Broken("gen:missing_file", d / "missing.yaml"))
    return cases


def mutations(base: Path, quick: bool) -> list[Broken]:
    """Each shipped scenario (and tests/scenarios/*.yaml) damaged the way an editor slip does; compose.yaml
    too, given as --topology. Any outcome but 0 or 2 (or a Traceback, or a hang) is not handled."""
    d = base / "mutated"
    d.mkdir(parents=True)
    cases: list[Broken] = []
    sources = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "tests" / "scenarios").glob("*.yaml"))
    for src in sources + [ROOT / "compose.yaml"]:
        rng = random.Random(src.name)
        data = src.read_bytes()
        lines = data.decode().splitlines(keepends=True)
        variants: list[tuple[str, str | bytes]] = []
        for tenth in range(1, 10):
            variants.append((f"truncated-{tenth}0pct", data[: len(data) * tenth // 10]))
        picks = lambda k: sorted(rng.sample(range(len(lines)), min(k, len(lines))))
        for i in picks(8):
            variants.append((f"del-line-{i + 1}", "".join(lines[:i] + lines[i + 1:])))
        for i in picks(6):
            variants.append((f"dup-line-{i + 1}", "".join(lines[:i + 1] + lines[i:])))
        for _ in range(6):
            i, j = sorted(rng.sample(range(len(lines)), 2))
            swapped = list(lines)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            variants.append((f"swap-lines-{i + 1}-{j + 1}", "".join(swapped)))
        for i, how in zip(picks(8), ["+1", "-1", "+2", "-2", "tab", "+1", "-1", "+4"]):
            line = lines[i]
            if how.startswith("+"):
                line = " " * int(how[1:]) + line
            elif how == "tab":
                line = "\t" + line.lstrip(" ")
            else:
                line = line[min(int(how[1:]), len(line) - len(line.lstrip(" "))):]
            variants.append((f"indent{how}-line-{i + 1}", "".join(lines[:i] + [line] + lines[i + 1:])))
        for i, junk in zip(picks(4), [": :", "- - -", "*nowhere", "&"]):
            variants.append((f"junk-line-{i + 1}", "".join(lines[:i] + [lines[i].rstrip("\n") + f" {junk}\n"]
                                                           + lines[i + 1:])))
        if quick:
            variants = variants[::3]
        for name, content in variants:
            path = d / f"{src.stem}.{name}.yaml"
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
            if src.name == "compose.yaml":
                cases.append(Broken(f"mut:{src.name}:{name}", ROOT / "scenarios" / "tcp.yaml", (0, 2), topology=path))
            else:
                cases.append(Broken(f"mut:{src.parent.name}/{src.name}:{name}", path, (0, 2)))
    return cases


def group_broken(args, base: Path, only) -> Group:
    g = Group("2", "broken scenario files (validate --no-filters)")
    cases = [Broken(f"invalid:{p.name}", p,
                    # refused by tshark alone, which --no-filters does not ask
                    (0, 2) if "invalid Wireshark display filter" in p.read_text().split("\n", 1)[0] else (2,))
             for p in sorted((ROOT / "tests" / "scenarios" / "invalid").glob("*.yaml"))]
    cases += generated(base) + mutations(base, args.quick)
    cases = selected(cases, only, key=lambda b: b.id)

    def one(b: Broken) -> tuple[Case, Result]:
        argv = ["validate", "--no-filters"] + (["--topology", str(b.topology)] if b.topology else []) + [str(b.path)]
        res = orchestrator(*argv, timeout=HANG_VALIDATE)
        c = Case("2", b.id, str(b.topology or b.path), code=res.code, seconds=res.seconds,
                 repro="python -m orchestrator " + " ".join(argv))
        c.detail["maxrss_mib"] = round(res.maxrss_kib / 1024, 1)
        c.detail.update(traceback=res.traceback, hung=res.hung)
        c.detail["message"] = (res.err.strip().splitlines() or [""])[0][:300]
        if res.hung:
            c.problems.append(f"hang: killed after {HANG_VALIDATE:g} s")
        elif res.code not in b.expect:
            c.problems.append(f"exit {res.code}, expected {' or '.join(map(str, b.expect))}: "
                              f"{summary_of(res.err + res.out)}")
        if res.traceback:
            c.problems.append("Traceback: " + summary_of(res.err))
        if res.code == 2 and not res.err.startswith("error: "):
            c.problems.append(f"exit 2 without a message: {summary_of(res.err)}")
        if b.after:
            c.problems += b.after()
        return c.judge(), res

    done = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for c, res in pool.map(one, cases):
            done.append((c, res))
            if not c.handled:
                print(f"  [NOT] {c.id}: {'; '.join(c.problems)[:300]}", flush=True)
    g.cases = [c for c, _ in done]
    slowest = max(g.cases, key=lambda c: c.seconds or 0, default=None)
    biggest = max(g.cases, key=lambda c: c.detail.get("maxrss_mib", 0), default=None)
    g.figures = {
        "files": len(cases),
        "from tests/scenarios/invalid": sum(c.id.startswith("invalid:") for c in g.cases),
        "generated": sum(c.id.startswith("gen:") for c in g.cases),
        "mutations": sum(c.id.startswith("mut:") for c in g.cases),
        "exit codes": dict(Counter(str(c.code) for c in g.cases)),
        "tracebacks": sum(res.traceback for _, res in done),
        "hangs (killed after 20 s)": sum(res.hung for _, res in done),
        "slowest (s)": f"{slowest.seconds:.2f} ({slowest.id})" if slowest else None,
        "median (s)": round(statistics.median(c.seconds for c in g.cases), 2) if g.cases else None,
        "largest peak memory (MiB)": f"{biggest.detail['maxrss_mib']} ({biggest.id})" if biggest else None,
    }
    return g


# ---------------------------------------------------------------------------------------------------------------
# group 3: bad command lines

@dataclass
class Line:
    id: str
    argv: list
    expect: tuple | None = (2,)  # None: any exit code (only no Traceback, no hang)
    env: dict | None = None
    stdout: object = subprocess.PIPE
    shown: str | None = None  # how to write the command line in a shell, for an argument too long to print


def command_lines(d: Path) -> list[Line]:
    a_file = d / "a-file"
    a_file.write_text("x\n")
    empty = d / "empty"
    empty.mkdir()
    fifo = d / "fifo"
    os.mkfifo(fifo)
    weird = d / "scenario-\n\x1b[2J.yaml"
    weird.write_text((ROOT / "scenarios" / "tcp.yaml").read_text())
    nonutf8 = os.fsencode(str(d)) + b"/scenario-\xff.yaml"
    with open(nonutf8, "wb") as f:
        f.write((ROOT / "scenarios" / "tcp.yaml").read_bytes())
    nowhere = f"socklab-probe-nosuch-{uuid.uuid4().hex[:8]}"
    tcp = str(ROOT / "scenarios" / "tcp.yaml")
    runs = ["--runs-dir", str(d / "runs")]
    in_dev = f"/dev/shm/socklab-probe-{uuid.uuid4().hex[:8]}"  # removed afterwards if a run was put there
    def py(expr: str) -> str:  # an argument too long to print, as the shell can make it
        return f'"$(python3 -c "print({expr})")"'
    lines = [
        Line("no arguments", []),
        Line("unknown command", ["nosuchcommand"]),
        Line("--help", ["--help"], (0,)),
        Line("run --help", ["run", "--help"], (0,)),
        Line("--version (unknown option)", ["--version"]),
        Line("run without a file", ["run"]),
        Line("run with an unknown option", ["run", "--nosuch", tcp]),
        Line("run a missing file", ["run", "/nonexistent/x.yaml", *runs]),
        Line("run a folder", ["run", str(ROOT / "scenarios"), *runs]),
        Line("run /dev/zero", ["run", "/dev/zero", *runs]),
        Line("run a FIFO", ["run", str(fifo), *runs]),
        Line("run a good and a missing file", ["run", tcp, str(ROOT / "scenarios" / "nosuch.yaml"), *runs]),
        Line("--runs-dir a file", ["run", tcp, "--runs-dir", str(a_file)]),
        Line("--runs-dir inside a file", ["run", tcp, "--runs-dir", str(a_file / "sub")]),
        Line("--runs-dir under /proc", ["run", tcp, "--runs-dir", "/proc/socklab-probe"]),
        Line("--runs-dir /sys", ["run", tcp, "--runs-dir", "/sys"]),
        Line("--runs-dir under /dev", ["run", tcp, "--runs-dir", in_dev]),
        Line("--runs-dir empty", ["run", tcp, "--runs-dir", ""]),
        Line("--runs-dir blank", ["run", tcp, "--runs-dir", "   "]),
        Line("--runs-dir name too long", ["run", tcp, "--runs-dir", str(d / ("n" * 300))],
             shown=f"run {tcp} --runs-dir {py(repr(str(d) + '/') + ' + ' + repr('n') + ' * 300')}"),
        Line("--runs-dir /dev/null", ["run", tcp, "--runs-dir", "/dev/null"]),
        Line("--topology a scenario file", ["run", tcp, "--topology", tcp, *runs]),
        Line("--topology missing", ["run", tcp, "--topology", "/nonexistent.yaml", *runs]),
        Line("--topology /dev/zero", ["run", tcp, "--topology", "/dev/zero", *runs]),
        Line("--topology a folder", ["run", tcp, "--topology", str(ROOT / "tests"), *runs]),
        Line("--programs a file", ["run", tcp, "--programs", str(a_file), *runs]),
        Line("--programs missing", ["run", tcp, "--programs", "/nonexistent", *runs]),
        Line("--programs an empty folder", ["run", tcp, "--programs", str(empty), *runs]),
        Line("--programs empty string", ["run", tcp, "--programs", "", *runs]),
        Line("--programs a FIFO", ["run", tcp, "--programs", str(fifo), *runs]),
        Line("--programs /proc", ["run", tcp, "--programs", "/proc", *runs]),
        Line("validate without a file", ["validate"]),
        Line("validate a missing file", ["validate", "--no-filters", "/nonexistent.yaml"]),
        Line("validate --topology /dev/null", ["validate", "--no-filters", "--topology", "/dev/null", tcp]),
        Line("validate --topology twice (a scenario last)",
             ["validate", "--no-filters", "--topology", str(ROOT / "compose.yaml"), "--topology", tcp, tcp]),
        Line("validate with filters, no Docker", ["validate", tcp], (3,), env=env_with(DOCKER_HOST=NO_DOCKER)),
        Line("validate a file name with a newline and an escape", ["validate", "--no-filters", str(weird)], (0,)),
        Line("validate a file name that is not UTF-8", [b"validate", b"--no-filters", nonutf8], (0,)),
        Line("validate, stdout a closed pipe", ["validate", "--no-filters", tcp], None, stdout="closed"),
        Line("validate, stdout /dev/full", ["validate", "--no-filters", tcp], None, stdout="full"),
        Line("wait-log without arguments", ["wait-log"]),
        Line("wait-log without --pattern", ["wait-log", "--container", nowhere]),
        Line("wait-log --pattern '('", ["wait-log", "--container", nowhere, "--pattern", "("]),
        Line("wait-log --pattern a{4294967296}", ["wait-log", "--container", nowhere, "--pattern", "a{4294967296}"]),
        Line("wait-log --pattern nested 60,000 deep",
             ["wait-log", "--container", nowhere, "--pattern", "(" * 60_000 + "a" + ")" * 60_000, "--timeout", "1"],
             (2, 3), shown=f"wait-log --container {nowhere} --pattern {py(chr(39) + '(' + chr(39) + ' * 60000 + ' + chr(39) + 'a' + chr(39) + ' + ' + chr(39) + ')' + chr(39) + ' * 60000')} --timeout 1"),
        *[Line(f"wait-log --timeout {t or repr(t)}", ["wait-log", "--container", nowhere, "--pattern", "a",
                                                     "--timeout", t])
          for t in ("nan", "inf", "-inf", "-1", "0", "1e309", "abc", "3601", "", "0x10")],
        Line("wait-log --container ''", ["wait-log", "--container", "", "--pattern", "a"]),
        Line("wait-log on a missing container", ["wait-log", "--container", nowhere, "--pattern", "a",
                                                 "--timeout", "1"], (2, 3)),
        Line("clean --run ''", ["clean", "--run", ""]),
        Line("clean --run 'a b'", ["clean", "--run", "a b"]),
        Line("clean --run ../etc", ["clean", "--run", "../etc"]),
        Line("clean --run with no value", ["clean", "--run"]),
        Line("clean --run of 200 characters", ["clean", "--run", "r" * 200], shown=f"clean --run {py(repr('r') + ' * 200')}"),
        Line("clean --run with a newline", ["clean", "--run", "a\nb"]),
        Line("clean --run of no run", ["clean", "--run", nowhere], (0,)),
        Line("clean with an extra argument", ["clean", "extra"]),
        Line("images nosuchimage", ["images", "nosuchimage"]),
        Line("images with an unknown option", ["images", "--nosuch"]),
        Line("run, no Docker daemon", ["run", tcp, *runs], (3,), env=env_with(DOCKER_HOST=NO_DOCKER)),
        Line("run, DOCKER_HOST garbage", ["run", tcp, *runs], (2, 3), env=env_with(DOCKER_HOST="garbage://x:y:z")),
        Line("run, DOCKER_HOST /dev/null", ["run", tcp, *runs], (3,), env=env_with(DOCKER_HOST="unix:///dev/null")),
        Line("clean, no Docker daemon", ["clean", "--run", nowhere], (3,), env=env_with(DOCKER_HOST=NO_DOCKER)),
    ]
    return lines, in_dev


def quoted(arg) -> str:
    """An argument as a shell reads it back: $'...' for one with control characters or bytes that are not UTF-8."""
    import shlex
    if isinstance(arg, bytes):
        arg = arg.decode("utf-8", "surrogateescape")
    if arg.isprintable():
        return shlex.quote(arg)
    out = []
    for ch in arg:
        if "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xdc00:02x}")
        elif ch in "'\\" or not ch.isprintable():
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"


def group_cli(args, base: Path, only) -> Group:
    g = Group("3", "bad command lines")
    d = base / "cli"
    cwd = d / "cwd"  # the current folder of every command: whatever a bad --runs-dir puts there is removed with it
    cwd.mkdir(parents=True)
    lines, in_dev = command_lines(d)
    lines = selected(lines, only, key=lambda line: line.id)
    env = env_with(PYTHONPATH=str(ROOT))

    def one(line: Line) -> Case:
        stdout, closers = line.stdout, []
        if stdout == "closed":
            r, w = os.pipe()
            os.close(r)
            stdout, closers = w, [w]
        elif stdout == "full":
            stdout = open("/dev/full", "wb")
            closers = [stdout]
        argv = [PY, "-m", "orchestrator"]
        if any(isinstance(a, bytes) for a in line.argv):
            argv = [os.fsencode(a) for a in argv]
        try:
            child = Child(argv + list(line.argv), env={**env, **(line.env or {})}, stdout=stdout, cwd=cwd)
        finally:
            for fd in closers:
                fd.close() if hasattr(fd, "close") else os.close(fd)
        res = child.wait(HANG_CLI)
        shown = line.shown or " ".join(quoted(a) for a in line.argv)
        env_shown = " ".join(f"{k}={quoted(v)}" for k, v in (line.env or {}).items() if os.environ.get(k) != v)
        redirect = {"closed": " >&-", "full": " >/dev/full"}.get(line.stdout, "") if isinstance(line.stdout, str) else ""
        c = Case("3", line.id, shown, code=res.code, seconds=res.seconds,
                 repro=(env_shown + " " if env_shown else "") + f"python -m orchestrator {shown}{redirect}")
        c.detail["message"] = (res.err.strip().splitlines() or [""])[-1][:300]
        c.detail.update(traceback=res.traceback, hung=res.hung)
        if res.hung:
            c.problems.append(f"hang: killed after {HANG_CLI:g} s")
        elif line.expect is not None and res.code not in line.expect:
            c.problems.append(f"exit {res.code}, expected {' or '.join(map(str, line.expect))}: "
                              f"{summary_of(res.err + res.out)}")
        if res.traceback:
            c.problems.append("Traceback: " + summary_of(res.err))
        if "\x1b" in res.out or "\x1b" in res.err:
            c.detail["note"] = "an escape character reached the console"
        if c.problems:
            c.detail["stderr_tail"] = res.err[-3000:]
        return c.judge()

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            g.cases = list(pool.map(one, lines))
    finally:
        shutil.rmtree(in_dev, ignore_errors=True)
    for c in g.cases:
        if not c.handled:
            print(f"  [NOT] {c.id}: {'; '.join(c.problems)[:300]}", flush=True)
    g.figures = {"command lines": len(g.cases), "exit codes": dict(Counter(str(c.code) for c in g.cases)),
                 "tracebacks": sum(c.detail["traceback"] for c in g.cases),
                 "hangs (killed after 30 s)": sum(c.detail["hung"] for c in g.cases),
                 "slowest (s)": max((c.seconds for c in g.cases), default=None)}
    return g


# ---------------------------------------------------------------------------------------------------------------
# group 4: signals at every phase

SLOW = """\
name: {name}
description: a server that never says what the scenario waits for (bench/probe.py interrupts or kills the run)
hosts: [server, client]
steps:
  - start: {{id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}}
  - wait: {{port: 5000, host: server}}
  - wait: {{program: server, log: "this never comes", timeout: 60}}
checks:
  - name: listening
    log: {{program: server, match: "listening"}}
"""

# moment: (description, how to reach it). Triggers are lines of `run -v`: phases ('lab', 'capture-start') and steps.
STARTUP = [round(0.05 + 0.02 * i, 2) for i in range(16)]  # 0.05 .. 0.35 s: Python starting, then the imports
INTO_LAB = [0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.25]  # seconds after the phase 'lab' begins
MOMENTS = {
    **{f"startup-{t:.2f}s": f"{t:.2f} s after the start (Python starting up, importing)" for t in STARTUP},
    **{f"lab+{t:.2f}s": f"{t:.2f} s into the lab's creation (after `run -v` prints the phase 'lab')" for t in INTO_LAB},
    "capture-start": "as the capture starts (phase 'capture-start')",
    "steps": "during the steps (in a 60 s wait)",
    "teardown": "as the teardown begins (phase 'teardown'), after a first SIGINT during the steps",
}
SETTLE = 2.0  # a killed run has settled when no container of it has run for this long


def reach(child: Child, moment: str, until: float) -> bool:
    """Wait for `moment` of the run; False if the run ended (or the deadline passed) first."""
    if moment.startswith("startup-"):
        time.sleep(max(0.0, float(moment.split("-")[1].rstrip("s")) - (time.monotonic() - child.t0)))
        return child.alive()
    want = "lab" if moment.startswith("lab+") else moment
    while (line := child.next_line(until)) is not None:
        text = line.strip()
        if text == want or (want == "steps" and "steps[1]" in text):
            if moment.startswith("lab+"):
                time.sleep(float(moment[4:].rstrip("s")))
            return True
    return False


def settle(label: str) -> tuple[float, bool]:
    """After a kill: seconds until the last time a container of the run was seen running (the engine may
    still start one it was asked to start), once none has run for SETTLE s; and whether one still runs at 30 s."""
    t0 = time.monotonic()
    last_running = None
    while time.monotonic() - t0 < 30:
        if running(label):
            last_running = time.monotonic() - t0
        elif time.monotonic() - t0 - (last_running or 0) >= SETTLE:
            return round(last_running or 0.0, 2), False
        time.sleep(0.1)
    return round(last_running or 0.0, 2), bool(running(label))


def play_signal(sig: signal.Signals, moment: str, base: Path) -> tuple[Case, str]:
    name = f"probe-sig-{uuid.uuid4().hex[:8]}"
    folder = base / "signals" / name
    folder.mkdir(parents=True)
    scenario = folder / f"{name}.yaml"
    scenario.write_text(SLOW.format(name=name))
    label = f"socklab.scenario={name}"
    first = "SIGINT, then " if moment == "teardown" else ""
    c = Case("4", f"{sig.name}@{moment}", f"{first}{sig.name} {MOMENTS[moment]}",
             repro=f"python -m orchestrator run -v SLOW.yaml (the SLOW scenario of tests/integration/"
                   f"test_orchestrator.py), then {first}{sig.name} {MOMENTS[moment]}; then look for "
                   f"label={label.split('=')[0]}=<its name>")
    child = Child([PY, "-m", "orchestrator", "run", "-v", str(scenario), "--runs-dir", str(folder / "runs")])
    reached = reach(child, moment if moment != "teardown" else "steps", time.monotonic() + 90)
    if moment == "teardown" and reached:
        child.signal(signal.SIGINT)
        reached = False
        while (line := child.next_line(time.monotonic() + 30)) is not None:
            if line.strip() == "teardown":
                reached = True
                break
    sent_at = time.monotonic()
    child.signal(sig)
    res = child.wait(90)
    c.code, c.seconds = res.code, res.seconds
    c.detail.update(reached=reached, traceback=res.traceback, exit_after_signal_s=round(child.t_end - sent_at, 3),
                    stderr_tail=res.err[-3000:])
    if not reached:
        c.problems.append(f"the run ended before the moment was reached (exit {res.code}): "
                          f"{summary_of(res.err + res.out)}")
    if res.traceback:
        c.problems.append("Traceback: " + summary_of(res.err))
    if res.hung:
        c.problems.append("did not exit within 90 s of the signal")
    run_ids = run_ids_of(label) | {p.name for p in (folder / "runs").glob("*") if p.is_dir()}
    c.detail["run_ids"] = sorted(run_ids)
    if sig == signal.SIGKILL:
        last, still = settle(label)
        c.detail["containers_stopped_after_s"] = last
        if still:
            c.problems.append(f"container(s) still running 30 s after the kill: {running(label)}")
        cleans = [orchestrator("clean", "--run", run_id, timeout=60) for run_id in sorted(run_ids_of(label) | run_ids)]
        c.detail["clean"] = [summary_of(r.out + r.err, 200) for r in cleans]
        for r in cleans:
            if r.code != 0 or r.traceback:
                c.problems.append(f"clean exit {r.code}: {summary_of(r.out + r.err)}")
        left = labelled(label)
        if left:
            c.detail["left_after_clean"] = left
            if all("being set up" in said or "nothing is labelled" in said for said in c.detail["clean"]):
                # documented: a run with nothing started is spared for 2 minutes (its orchestrator may be creating it)
                c.detail["note"] = f"clean spared it as being set up (nothing of it ever started): {left}"
            else:
                c.problems.append(f"after clean --run, left: {left} ({'; '.join(c.detail['clean'])})")
    else:
        if res.code != 130:
            c.problems.append(f"exit {res.code}, expected 130: {summary_of(res.err)}")
        left = labelled(label)
        if left:
            c.problems.append(f"left behind at its exit: {left}")
    return c, label


def group_signals(args, base: Path, only) -> Group:
    g = Group("4", "signals at every phase of a run")
    if args.quick:
        plan = [(signal.SIGINT, f"startup-{t:.2f}s") for t in STARTUP[::3]]
        plan += [(signal.SIGINT, f"lab+{t:.2f}s") for t in INTO_LAB[1:4]]
        plan += [(signal.SIGINT, "steps"), (signal.SIGTERM, "lab+0.25s"), (signal.SIGINT, "teardown"),
                 (signal.SIGKILL, "steps"), (signal.SIGKILL, "lab+0.25s")]
    else:
        plan = [(s, m) for s in (signal.SIGINT, signal.SIGTERM) for m in MOMENTS]
        plan += [(signal.SIGKILL, m) for m in MOMENTS if not m.startswith("startup-") or m == "startup-0.15s"]
    plan = selected(plan, only, key=lambda p: f"{p[0].name}@{p[1]}")
    played = []
    for sig, moment in plan:
        c, label = play_signal(sig, moment, base)
        extra = (f", containers last ran {c.detail['containers_stopped_after_s']} s after the kill"
                 if "containers_stopped_after_s" in c.detail else "")
        print(f"  [{'ok ' if not c.problems else 'NOT'}] {c.id}: exit {c.code}{extra}"
              + (f"  <- {'; '.join(c.problems)[:300]}" if c.problems else f"  ({c.detail['note']})"
                 if c.detail.get("note") else ""), flush=True)
        played.append((c, label))
    # what the engine created after a run had exited (requests still in flight) counts too; then nothing of
    # the probe's runs is left behind, whatever the orchestrator did
    time.sleep(SETTLE)
    for c, label in played:
        left = labelled(label)
        if left and not c.detail.get("left_after_clean"):
            if not any(p.startswith("left behind") for p in c.problems):
                c.problems.append(f"left behind (there after its exit): {left}")
        if left:
            c.detail["removed_by_probe"] = left
            remove_labelled(label)
        g.cases.append(c.judge())
    kills = [c for c in g.cases if c.id.startswith("SIGKILL")]
    stops = [c.detail["containers_stopped_after_s"] for c in kills if "containers_stopped_after_s" in c.detail]
    g.figures = {
        "runs signalled": len(g.cases), "exit codes": dict(Counter(str(c.code) for c in g.cases)),
        "SIGINT/SIGTERM: exit 130": sum(c.code == 130 for c in g.cases if not c.id.startswith("SIGKILL")),
        "SIGINT/SIGTERM: runs that left something": sum(
            bool(c.detail.get("removed_by_probe")) for c in g.cases if not c.id.startswith("SIGKILL")),
        "SIGKILL: longest until no container ran (s)": max(stops, default=None),
        "SIGKILL: containers running 30 s after the kill": sum(any("still running" in p for p in c.problems)
                                                               for c in kills),
        "SIGKILL: clean --run left something": sum(bool(c.detail.get("left_after_clean")) for c in kills),
        "SIGKILL: of which spared as being set up (documented)": sum(bool(c.detail.get("note")) for c in kills),
    }
    return g


# ---------------------------------------------------------------------------------------------------------------
# group 5: runs under load

def group_load(args, base: Path, only) -> Group:
    g = Group("5", f"runs under load ({args.runs} runs of the shipped scenarios, 4 at a time)")
    scenarios = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios").glob("*.yaml"))
    plan = selected([(i, scenarios[i % len(scenarios)]) for i in range(args.runs)], only,
                    key=lambda p: f"load-{p[0]}:{p[1]}")

    def one(item) -> Case:
        i, scenario = item
        runs = base / "load" / f"{i:03d}"
        res = orchestrator("run", scenario, "--runs-dir", str(runs), timeout=HANG_RUN)
        c = Case("5", f"load-{i}:{scenario}", scenario, code=res.code, seconds=res.seconds,
                 repro=f"python -m orchestrator run {scenario}   (4 at a time)")
        reports = sorted(runs.glob("*/report.json"))
        rep = json.loads(reports[0].read_text()) if len(reports) == 1 else None
        c.detail["verdict"] = rep["verdict"] if rep else None
        if rep is None:
            c.problems.append(f"no report (exit {res.code}): {summary_of(res.err + res.out)}")
        else:
            if rep["verdict"] != "pass" or res.code != 0:
                failed = [f"{ch['name']}: {ch['evidence'][:200]}" for ch in rep["checks"] if not ch["passed"]]
                steps = [f"{s['key']}: {s['message'][:200]}" for s in rep["steps"] if s["status"] == "failed"]
                c.problems.append(f"flake: verdict {rep['verdict']}, exit {res.code}; error {rep.get('error')}; "
                                  f"steps {steps}; checks {failed}")
            left = labelled(f"socklab.run={rep['run_id']}")
            if left:
                c.problems.append(f"left behind: {left}")
        if res.traceback:
            c.problems.append("Traceback: " + summary_of(res.err))
        if res.hung:
            c.problems.append("hung")
        return c.judge()

    with ThreadPoolExecutor(max_workers=4) as pool:
        g.cases = list(pool.map(one, plan))
    for c in g.cases:
        if not c.handled:
            print(f"  [NOT] {c.id}: {'; '.join(c.problems)[:400]}", flush=True)
    times = [c.seconds for c in g.cases if c.seconds is not None]
    g.figures = {"runs": len(g.cases), "flakes (not pass)": sum(c.detail.get("verdict") != "pass" or c.code != 0
                                                               for c in g.cases),
                 "verdicts": dict(Counter(str(c.detail.get("verdict")) for c in g.cases)),
                 "median wall time (s)": round(statistics.median(times), 2) if times else None,
                 "max wall time (s)": max(times, default=None)}
    return g


# ---------------------------------------------------------------------------------------------------------------
# limits in force, as the runs reported them

def limits_seen(groups: list[Group]) -> dict[str, str]:
    seen: dict[str, str] = {}
    cases = [c for g in groups for c in g.cases]
    for c in cases:
        for host, lim in (c.detail.get("limits") or {}).items():
            if lim.get("pids_max"):
                seen.setdefault("processes (pids) per lab host", f"{lim['pids_max']}")
            if lim.get("memory_max"):
                seen.setdefault("memory per lab host", f"{lim['memory_max'] // 2**20} MiB")
    messages = " \n".join([c.detail.get("message", "") for c in cases]
                          + [" ".join(c.detail.get("stopped_by_limits", [])) for c in cases]
                          + [" ".join(c.detail.get("notes", [])) for c in cases]
                          + [str((c.detail.get("capture") or {}).get("overflow") or "") for c in cases])
    patterns = {
        "a submission's program file (bytes)": r"a program file may be at most ([\d,]+)",
        "a submission's .py files": r"\.py files; at most (\d+) are read",
        "a submission's bytes in all": r"bytes in all; at most ([\d,]+) are read",
        "a scenario or compose file": r"a file here may be at most ([\d,]+ bytes[^)]*\))",
        "values in a YAML file (aliases expanded)": r"more than ([\d,]+) values",
        "YAML nesting": r"more than (\d+) lists and mappings inside one another",
        "digits of a whole number": r"at most ([\d,]+) digits",
        "durations in a scenario (s)": r"at timeout: must be a number greater than 0 and at most (\d+)",
        "packets captured": r"at least ([\d,]+) packets",
        "output per program": r"(its output went past the limit; only its beginning was kept)",
        "tmpfs (/tmp, home, /dev/shm)": r"wrote (\d+ MiB), then: \[Errno 28\]",
    }
    for name, pattern in patterns.items():
        m = re.search(pattern, messages, re.IGNORECASE)
        if m:
            seen[name] = m.group(1)
    return seen


# ---------------------------------------------------------------------------------------------------------------
# main

def render(groups: list[Group], limits: dict, total: float, args) -> str:
    out = []
    w = max(len(g.title) for g in groups) if groups else 20
    out.append("")
    out.append(f"socklab reliability probe ({'quick' if args.quick else 'full'}), {time.strftime('%Y-%m-%d %H:%M')},"
               f" commit {git_head()}, total {total:.0f} s")
    out.append("")
    out.append(f"{'group':<{w + 3}} {'tried':>6} {'handled':>8} {'not handled':>12} {'time':>7}")
    for g in groups:
        out.append(f"{g.key}. {g.title:<{w}} {len(g.cases):>6} {g.handled:>8} {len(g.cases) - g.handled:>12}"
                   f" {g.seconds:>6.0f}s")
    tried = sum(len(g.cases) for g in groups)
    handled = sum(g.handled for g in groups)
    out.append(f"{'   all':<{w + 3}} {tried:>6} {handled:>8} {tried - handled:>12} {total:>6.0f}s")
    for g in groups:
        out.append("")
        out.append(f"{g.key}. {g.title}")
        for k, v in g.figures.items():
            out.append(f"     {k}: {v}")
        if g.key == "1":
            for c in g.cases:
                stopped = c.detail.get("stopped_by_limits") or []
                if stopped:
                    out.append(f"     what the limits stopped, {c.id}: " + " | ".join(stopped))
        for c in g.cases:
            if not c.handled:
                out.append(f"   NOT HANDLED {c.id}: exit {c.code}, {c.seconds} s")
                for p in c.problems:
                    out.append(f"       - {p[:600]}")
                out.append(f"       reproduce: {c.repro}")
    out.append("")
    out.append("limits in force (as the runs and messages stated them)")
    for k, v in limits.items():
        out.append(f"     {k}: {v}")
    return "\n".join(out)


def git_head() -> str:
    proc = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip() or "?"


def main() -> int:
    # The runs it starts must take SIGINT as a person's Ctrl-C does. Started in the background by a
    # non-interactive shell, the probe inherits SIGINT ignored, its runs would too (Python keeps an
    # inherited SIG_IGN), and every "interrupted" run would play on: give them the default.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer cases (about 2 minutes instead of 4 to 5)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures and every case as JSON here")
    parser.add_argument("--groups", default="1,2,3,4,5", help="which groups to run (default: 1,2,3,4,5)")
    parser.add_argument("--only", metavar="REGEX", help="only the cases whose id matches (e.g. to reproduce one)")
    parser.add_argument("--runs", type=int, help="runs under load (default 24; --quick 6)")
    parser.add_argument("--keep", metavar="DIR", help="keep the temporary files (generated inputs, runs) in DIR")
    args = parser.parse_args()
    args.runs = args.runs if args.runs is not None else (6 if args.quick else 24)
    only = re.compile(args.only) if args.only else None
    if Path.cwd().resolve() != ROOT:
        os.chdir(ROOT)
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        print("bench/probe.py: no Docker Engine reachable (docker info failed)", file=sys.stderr)
        return 3
    base = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="socklab-probe-"))
    base.mkdir(parents=True, exist_ok=True)
    groups: list[Group] = []
    steps = {"1": group_hostile, "2": group_broken, "3": group_cli, "4": group_signals, "5": group_load}
    t0 = time.monotonic()
    try:
        for key in args.groups.split(","):
            key = key.strip()
            t = time.monotonic()
            print(f"== group {key} ==", flush=True)
            g = steps[key](args, base, only)
            g.seconds = time.monotonic() - t
            print(f"   {len(g.cases)} tried, {g.handled} handled, {g.seconds:.0f} s", flush=True)
            groups.append(g)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    total = time.monotonic() - t0
    limits = limits_seen(groups)
    print(render(groups, limits, total, args))
    if args.json:
        data = {"commit": git_head(), "quick": args.quick, "total_seconds": round(total, 1), "limits": limits,
                "groups": [{"key": g.key, "title": g.title, "tried": len(g.cases), "handled": g.handled,
                            "not_handled": len(g.cases) - g.handled, "seconds": round(g.seconds, 1),
                            "figures": g.figures, "cases": [c.__dict__ for c in g.cases]} for g in groups]}
        Path(args.json).write_text(json.dumps(data, indent=2, default=str))
    return 0 if all(g.handled == len(g.cases) for g in groups) else 1


if __name__ == "__main__":
    sys.exit(main())
