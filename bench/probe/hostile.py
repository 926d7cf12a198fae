"""Group 1, hostile submissions: every folder of tests/hostile/ and more written here, run 3 at a time as
grading would, and folders that must be refused before any Docker work."""
from __future__ import annotations

import json
import os
import re
import socket
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tests.support import ROOT
from tests.support.hostile import Listener, gateway_probe  # the same cases as the tests
from tests.support.hostile import cases as hostile_cases

from .process import HANG_RUN, NO_DOCKER, env_with, labelled, orchestrator, Result, summary_of
from .table import Case, Group, selected


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
