"""Every make target that `make help` and README.md name, without Docker: each exists, and its dry run
(`make -n`) would run the right command. The usage errors (grade, check, ladder) are run for real: they stop
before anything is built. tests/integration/test_make_targets.py runs the cheap targets for real.

A dry run executes nothing of a recipe unless a line is marked `+` or uses $(MAKE), which the Makefile has
none of (checked here); it does expand $(shell ...), and those are side-effect-free probes (checked too).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestrator.model.suite import is_suite

from tests.support import ROOT

MAKEFILE = ROOT / "Makefile"
README = ROOT / "README.md"

#: Variables the Makefile reads, and make's own: none may leak in from the caller (under `make test`,
#: MAKEFLAGS carries the outer make's variables and jobserver).
_LEAKS = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS", "PROGRAMS", "SUBMISSIONS", "JOBS",
          "PCAP", "LOSS", "DELAY", "JITTER", "DUPLICATE", "REORDER", "RATE", "HOSTS", "SOAK_RUNS", "PROBE_ARGS",
          "PYTHON", "PROJECT", "COMPOSE", "DC", "VENV", "PY", "WORKERS", "PLAYS", "CLUSTER", "CLUSTER_CERTS"}


def make(*args: str, cwd: Path = ROOT, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in _LEAKS}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def commands(stdout: str) -> list[str]:
    """The commands a dry run printed, one per recipe line: continuations joined, whitespace collapsed."""
    out, pending = [], ""
    for line in stdout.splitlines():
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined = " ".join((pending + line).split())
        pending = ""
        if joined:
            out.append(joined)
    return out


def dry(*args: str) -> list[str]:
    proc = make("-n", *args)
    assert proc.returncode == 0, f"make -n {' '.join(args)}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    assert "No rule to make target" not in proc.stderr, proc.stderr
    return commands(proc.stdout)


# ---- what the Makefile and the README name ----------------------------------------------------

def help_targets() -> list[str]:
    proc = make("help")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines and all(re.match(r"  make \S+ +\S", line) for line in lines), proc.stdout
    return [line.split()[1] for line in lines]


def documented_targets() -> list[str]:
    """The targets of the Makefile's lines `target: ... ## what it does` (a pattern's % shown as NAME)."""
    found = re.findall(r"^([^\s:#=$]+):[^=\n]*## ", MAKEFILE.read_text(), re.M)
    return [t.replace("%", "NAME") for t in found]


def readme_invocations() -> list[str]:
    """Each `make TARGET [VAR=VALUE...]` of the README's code (fenced blocks and inline spans; prose like
    'makes' or 'make the capture complete' is not a command)."""
    text = README.read_text()
    fence = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
    code = fence.findall(text) + re.findall(r"`([^`]+)`", fence.sub("", text))
    found: list[str] = []
    for piece in code:
        for m in re.finditer(r"(?<![\w/.-])make\s+([A-Za-z0-9_%-]+)((?:[ \t]+[A-Z_][A-Z0-9_]*=[^\s`#)]*)*)", piece):
            invocation = " ".join([m.group(1), *m.group(2).split()])
            if invocation not in found:
                found.append(invocation)
    return found


README_INVOCATIONS = readme_invocations()
README_TARGETS = sorted({i.split()[0] for i in README_INVOCATIONS})


def test_the_readme_is_read():
    """The parser finds the README's commands (an empty list would make the README tests vacuous)."""
    for wanted in ("scenario-tcp", "test", "up", "down", "grade SUBMISSIONS=EXPORT", "ladder PCAP=FILE",
                   "scenario-NAME PROGRAMS=DIR"):
        assert wanted in README_INVOCATIONS, README_INVOCATIONS


def test_help_lists_every_documented_target():
    """`make help` lists each `target: ## ...` line of the Makefile (targets with digits too: compose-v2),
    and nothing else."""
    assert help_targets() == documented_targets()
    assert "compose-v2" in help_targets() and "scenario-NAME" in help_targets()


def test_the_default_goal_is_help():
    plain, helped = make(), make("help")
    assert plain.returncode == 0 and plain.stdout == helped.stdout


@pytest.mark.parametrize("invocation", README_INVOCATIONS)
def test_every_readme_command_exists(invocation):
    """Every `make ...` the README shows is a target of the Makefile, and its dry run succeeds as written; a
    scenario-X must have its scenarios/X.yaml (the pattern rule would accept any name)."""
    target, *assignments = invocation.split()
    commands_run = dry(target, *assignments)
    if target == "scenario-NAME":  # the placeholder: the pattern rule
        assert commands_run[-1].startswith(".venv/bin/python -m orchestrator run scenarios/NAME.yaml")
    elif target.startswith("scenario-"):
        name = target.removeprefix("scenario-")
        assert (ROOT / "scenarios" / f"{name}.yaml").is_file(), f"README names make {target}: no scenarios/{name}.yaml"


def test_every_named_target_is_phony():
    """A target named like a file or folder (scenarios/, bench/ exist) would otherwise be 'up to date'."""
    text = MAKEFILE.read_text().replace("\\\n", " ")
    phony = set(" ".join(re.findall(r"^\.PHONY:(.*)$", text, re.M)).split())
    named = (set(help_targets()) | set(README_TARGETS)) - {"scenario-NAME"}
    assert named - phony == set()


# ---- the dry runs: each target would run the right command ------------------------------------

def _compose() -> str:
    """The compose command the Makefile picks: v2 if `docker compose` works, else docker-compose v1."""
    try:
        if subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0:
            return "docker compose"
    except FileNotFoundError:
        pass
    return "docker-compose" if shutil.which("docker-compose") else ""


PY = ".venv/bin/python"
DC = f"{_compose()} -p socklab -f compose.yaml".strip()
_APT = ("" if os.geteuid() == 0 else "sudo ") + "env DEBIAN_FRONTEND=noninteractive apt-get"


def _install(packages: str) -> str:
    return f"{{ {_APT} update -qq && {_APT} install -y -qq {packages}; }}"


MMDEBSTRAP = f"command -v mmdebstrap >/dev/null || {_install('mmdebstrap')}"
TOOLS = f"docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || {_install('docker-compose')}"
CHROMIUM = f"test -x /usr/bin/chromedriver -a -x /usr/bin/chromium || {_install('chromium chromium-driver')}"
IMAGES = f"{PY} -m orchestrator images"
CAPTURE_FILTER = "not ip6 and not host 10.77.0.1 and not src host 0.0.0.0"
SCENARIO_FILES = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if not is_suite(p))


def _impair(hosts: str, flags: str) -> str:
    return f"{PY} -m orchestrator impair $(for h in {hosts}; do {DC} ps -q $h; done) {flags}".strip()


def _ladder(pcap: str) -> str:
    return (f'pcap="{pcap}"; test -n "$pcap" || {{ echo "usage: make ladder PCAP=FILE (no capture in captures/: '
            f'make up, then make down)"; exit 2; }}; {PY} -m orchestrator ladder "$pcap"')


@dataclass
class Case:
    args: str                 # the target and its variables, as typed after `make -n`
    runs: list                # commands in this order (exact, or a compiled regex), the last the dry run's last
    absent: list[str] = field(default_factory=list)  # text that must not appear in the dry run

    @property
    def target(self) -> str:
        return next(a for a in self.args.split() if not a.startswith("-") and "=" not in a and a != "requirements.txt")


CASES = [
    Case("help", [re.compile(r"grep -hE '\^\[a-zA-Z0-9_%-\]\+:\.\*## ' Makefile \| awk .*make %-14s.*")]),
    # venv is up to date here; -W pretends requirements.txt changed: what a fresh machine runs
    Case("-W requirements.txt venv", ["python3 -m venv .venv",
                                      ".venv/bin/pip install -q --disable-pip-version-check -r requirements.txt",
                                      ".venv/bin/pip install -q --disable-pip-version-check --no-deps "
                                      "--no-build-isolation -e .", "touch .venv/.installed"]),
    Case("tools", [MMDEBSTRAP, TOOLS]),
    Case("images", [MMDEBSTRAP, IMAGES]),
    Case("scenario-tcp", [MMDEBSTRAP, f"{PY} -m orchestrator run scenarios/tcp.yaml"], absent=["--programs", "suite"]),
    Case("scenario-tcp PROGRAMS=mine", [f'{PY} -m orchestrator run scenarios/tcp.yaml --programs "mine"']),
    Case("scenario-udp", [MMDEBSTRAP, f"{PY} -m orchestrator run scenarios/udp.yaml"], absent=["--programs"]),
    Case("scenario-tcp-clients PROGRAMS=DIR",
         [MMDEBSTRAP, f'{PY} -m orchestrator run scenarios/tcp-clients.yaml --programs "DIR"']),
    Case("grade SUBMISSIONS=DIR", [MMDEBSTRAP, f'{PY} -m orchestrator grade "DIR"'], absent=["-j"]),
    Case("grade SUBMISSIONS=examples/submissions JOBS=4", [f'{PY} -m orchestrator grade "examples/submissions" -j 4']),
    Case("grade SUBMISSIONS=moodle.zip FORMAT=moodle", [f'{PY} -m orchestrator grade "moodle.zip" --format moodle']),
    Case("check PROGRAMS=DIR", [MMDEBSTRAP, f'{PY} -m orchestrator check "DIR"']),
    # every scenario file, not the suite (`run` cannot play a suite: that was make scenarios' exit 2)
    Case("scenarios", [MMDEBSTRAP, f"{PY} -m orchestrator run " + " ".join(
        str(p.relative_to(ROOT)) for p in SCENARIO_FILES)], absent=["suite.yaml", "scenarios/*"]),
    # validate checks the suite too (with every scenario it lists): the glob includes it
    Case("validate", [MMDEBSTRAP, f"{PY} -m orchestrator validate scenarios/*.yaml"]),
    Case("bench", [MMDEBSTRAP, TOOLS, f"{PY} bench/bench.py"]),
    Case("probe", [MMDEBSTRAP, f"{PY} -m bench.probe"]),
    Case("probe PROBE_ARGS=--quick", [f"{PY} -m bench.probe --quick"]),
    Case("up", [MMDEBSTRAP, IMAGES, TOOLS, "mkdir -p captures && chmod 1777 captures # tcpdump (root without "
                "DAC_OVERRIDE) creates the pcap there", f"{DC} up -d",
                f"{PY} -m orchestrator wait-log --container \"$({DC} ps -q capture)\" --pattern 'listening on' "
                "--timeout 20", re.compile(r"echo; echo \"The lab is up: .*"),
                'echo "Capture: $(ls -t captures/*.pcap | head -1)"']),
    # the capture stops first (so the pcap is whole), then the lab goes
    Case("down", [re.compile(rf"for c in \$\({re.escape(DC)} ps -q\); do docker ps -aq --filter "
                             r"\"label=socklab\.delayer=\$c\" \| xargs -r docker rm -f >/dev/null; done"),
                  f"{DC} stop capture", f"{DC} down --remove-orphans --timeout 3",
                  "ls -t captures/*.pcap 2>/dev/null | head -1 | sed 's/^/Capture: /'",
                  'ls captures/*.pcap >/dev/null 2>&1 && echo "Its ladder diagram: make ladder" || true']),
    Case("shell-server", [f"{DC} exec server bash"]),
    Case("shell-client", [f"{DC} exec client bash"]),
    Case("watch", [f"{DC} exec $([ -t 0 ] || echo -T) capture sh -c 'tcpdump -i eth0 -n -p -U -Z analyst -w - "
                   "\"$1\" 2>/dev/null | exec setpriv --reuid=analyst --regid=analyst --clear-groups tshark -l -n "
                   f"-r -' sh '{CAPTURE_FILTER}'"]),
    Case("impair", [_impair("server client", "")], absent=["--"]),  # no arguments: clears the links
    Case("impair LOSS=20%", [_impair("server client", "--loss 20%")], absent=["--delay"]),
    Case("impair DELAY=100ms", [_impair("server client", "--delay 100ms")], absent=["--loss"]),
    Case("impair DELAY=100ms JITTER=10ms DUPLICATE=5% REORDER=25% RATE=1mbit HOSTS=server",
         [_impair("server", "--delay 100ms --jitter 10ms --duplicate 5% --reorder 25% --rate 1mbit")]),
    Case("ladder", [_ladder("$(ls -t captures/*.pcap 2>/dev/null | head -1)")]),
    Case("ladder PCAP=captures/lab-x.pcap", [_ladder("captures/lab-x.pcap")]),
    Case("logs", [f"{DC} logs"]),
    Case("test", [MMDEBSTRAP, IMAGES, TOOLS, "sh scripts/compose-v2.sh >/dev/null", CHROMIUM, f"{PY} -m pytest"]),
    Case("compose-v2", ["sh scripts/compose-v2.sh >/dev/null"]),
    Case("chromium", [CHROMIUM]),
    Case("soak", [IMAGES, TOOLS, f"{PY} bench/soak.py -n 50",
                  f"SOCKLAB_SOAK_REPEATS=20 {PY} -m pytest tests/integration/test_grading.py "
                  '-k "threads_printing or pinned_grades"',
                  f"{PY} bench/repeat.py bench/heldout-class -n 5 --busy 1"]),
    Case("soak SOAK_RUNS=3", [f"{PY} bench/soak.py -n 3", re.compile(r"SOCKLAB_SOAK_REPEATS=20 .*"),
                              re.compile(r".* bench/repeat.py .*")]),
    Case("test-unit", [f"{PY} -m pytest tests/unit"]),
    Case("clean", [f"{PY} -m orchestrator clean", f"{PY} -m orchestrator cluster down --all"]),
    Case("cluster-up", [MMDEBSTRAP, 'test -d ".cluster/certs" || '
                        f'{PY} -m orchestrator cluster certs ".cluster/certs"',
                        f'{PY} -m orchestrator cluster up --name "socklab" --workers 2 --certs ".cluster/certs"']),
    Case("cluster-up WORKERS=1 PLAYS=3", [f'{PY} -m orchestrator cluster up --name "socklab" --workers 1 '
                                          '--certs ".cluster/certs" --plays 3']),
    Case("cluster-down", [f"{PY} -m orchestrator cluster down --all"]),
    Case("clean-runs", ["rm -rf runs"]),
    Case("clean-images", [f"{PY} -m orchestrator clean", f"{PY} -m orchestrator images --remove"]),
    Case("prune-images", [f"{PY} -m orchestrator images --prune"]),
    Case("lock", ["python3 -m venv /tmp/socklab-lock && /tmp/socklab-lock/bin/pip install -q -r requirements.in",
                  "/tmp/socklab-lock/bin/pip freeze > requirements.txt && rm -rf /tmp/socklab-lock"]),
]


def _matches(want, command: str) -> bool:
    return bool(want.fullmatch(command)) if isinstance(want, re.Pattern) else want == command


@pytest.mark.parametrize("case", CASES, ids=[c.args for c in CASES])
def test_dry_run_runs_the_right_command(case):
    done = dry(*case.args.split())
    rest = iter(done)
    for want in case.runs:  # in order, each after the one before
        assert any(_matches(want, command) for command in rest), (
            f"make -n {case.args} would not run {getattr(want, 'pattern', want)!r} (in order); it runs:\n"
            + "\n".join(done))
    assert _matches(case.runs[-1], done[-1]), f"make -n {case.args} ends with {done[-1]!r}"
    for text in case.absent:
        assert not any(text in command for command in done if command != MMDEBSTRAP), (text, done)


def test_every_target_has_a_dry_run_case():
    """A target added to `make help` or the README gets a case above (scenario-NAME: scenario-tcp-clients
    here, and every scenario below)."""
    cased = {c.target for c in CASES} | {"scenario-NAME"}
    assert (set(help_targets()) | set(README_TARGETS)) - cased == set()


@pytest.mark.parametrize("scenario", [p.stem for p in SCENARIO_FILES])
def test_scenario_name_plays_that_scenario(scenario):
    assert dry(f"scenario-{scenario}")[-1] == f"{PY} -m orchestrator run scenarios/{scenario}.yaml"


def test_scenarios_plays_every_scenario_but_the_suite():
    """make scenarios hands `run` each scenario file of scenarios/ and no suite (the suite is for grade and
    check: `run` rejects it, exit 2)."""
    (run,) = [c for c in dry("scenarios") if " -m orchestrator run " in c]
    played = run.split(" -m orchestrator run ")[1].split()
    everything = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios").glob("*.yaml"))
    suites = [p for p in everything if is_suite(ROOT / p)]
    assert suites == ["scenarios/suite.yaml"]
    assert played == [p for p in everything if p not in suites] and len(played) >= 9


# ---- dry runs run nothing ---------------------------------------------------------------------

def test_a_dry_run_executes_no_recipe_line():
    """`make -n` runs recipe lines marked `+` or using $(MAKE): the Makefile has none, so a dry run of any
    target (with venv and images as prerequisites) builds nothing. Its $(shell ...) calls are expanded even
    then: they are probes that change nothing."""
    text = MAKEFILE.read_text()
    assert not re.findall(r"^\t[@-]*\+", text, re.M)
    assert not re.findall(r"\$[({]MAKE[)}]", text)
    shells = re.findall(r"\$\(shell ([^)]*)", text)
    allowed = ("id -u", "if docker compose version >/dev/null 2>&1; then echo \"docker compose\";")
    assert shells and all(s.startswith(allowed) for s in shells), shells


def test_a_dry_run_of_venv_leaves_it_alone():
    """Even with its inputs newer, `make -n venv` does not touch .venv/.installed."""
    stamp = ROOT / ".venv" / ".installed"
    before = stamp.stat().st_mtime_ns
    dry("-W", "requirements.txt", "-W", "pyproject.toml", "venv")
    assert stamp.stat().st_mtime_ns == before


# ---- the usage errors, for real ---------------------------------------------------------------

def _installs_nothing(cwd: Path = ROOT) -> list[str]:
    """make flags that keep the prerequisites from installing anything on a machine that lacks them (here
    they are checks that pass): a unit test must not apt-get or build a venv."""
    flags = [] if shutil.which("mmdebstrap") else ["-o", "mmdebstrap"]
    if make("-f", str(MAKEFILE), "-q", ".venv/.installed", cwd=cwd).returncode != 0:
        flags += ["-o", ".venv/.installed"]
    return flags


def assert_usage(proc: subprocess.CompletedProcess, target: str, usage: str) -> None:
    """Exit 2 because the recipe's usage check exited 2 (make itself exits 2 on any failure: its message
    names the recipe's status), with the usage line and nothing else run."""
    assert proc.returncode == 2, proc
    assert proc.stdout.strip() == usage, proc.stdout
    assert re.search(rf"\[(?:[^]]*: )?{re.escape(target)}\] Error 2$", proc.stderr.strip()), proc.stderr


GRADE_USAGE = "usage: make grade SUBMISSIONS=EXPORT (the class as the platform hands it over: a folder or its .zip)"
CHECK_USAGE = "usage: make check PROGRAMS=DIR (a folder with your programs)"
LADDER_USAGE = "usage: make ladder PCAP=FILE (no capture in captures/: make up, then make down)"


@pytest.mark.parametrize("args", [[], ["SUBMISSIONS="]], ids=["unset", "empty"])
def test_grade_without_submissions_is_its_usage(args):
    assert_usage(make(*_installs_nothing(), "grade", *args), "grade", GRADE_USAGE)


@pytest.mark.parametrize("args", [[], ["PROGRAMS="]], ids=["unset", "empty"])
def test_check_without_programs_is_its_usage(args):
    assert_usage(make(*_installs_nothing(), "check", *args), "check", CHECK_USAGE)


@pytest.mark.parametrize("captures", [False, True], ids=["no-captures-folder", "empty-captures-folder"])
def test_ladder_without_a_capture_is_its_usage(tmp_path, captures):
    """In a checkout with no capture yet (the repository's own captures/ may hold some: a copy of its
    Makefile's view, with the same venv, and no captures)."""
    for name in (".venv", "requirements.txt", "pyproject.toml"):
        (tmp_path / name).symlink_to(ROOT / name)
    if captures:
        (tmp_path / "captures").mkdir()
    proc = make("-f", str(MAKEFILE), *_installs_nothing(tmp_path), "ladder", "PCAP=", cwd=tmp_path)
    assert_usage(proc, "ladder", LADDER_USAGE)
