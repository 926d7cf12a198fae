"""Group 3, bad command lines."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT

from .process import HANG_CLI, NO_DOCKER, PY, Child, env_with, summary_of
from .table import Case, Group, selected


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
