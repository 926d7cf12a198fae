"""Hostile input, fuzzed: whatever bytes the scenario loader is given, it returns a Scenario or raises a
ScenarioError (a located error: the file, and a message), never anything else, within a time and a memory
bound. And `validate` on hostile files, as a user runs it: exit 2, one message naming the file, no traceback,
within seconds.

Hypothesis runs derandomized (the same examples every time, so CI is deterministic), keeps no example database
and its caches in the temporary folder: nothing is written into the repository. The whole file takes about 20 s."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from orchestrator.base.errors import EXIT_INVALID_INPUT, LocatedError, ScenarioError, SuiteError, TopologyError
from orchestrator.model.scenario import Scenario, load_scenario
from orchestrator.model.suite import Suite, is_suite, load_suite
from orchestrator.model.topology import Topology, load_topology

from tests.support import ROOT

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "socklab-hypothesis")  # its caches: not in the repository

TOPOLOGY = load_topology(ROOT / "compose.yaml")
SCENARIOS = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "scenarios").glob("*.yaml"))
             if not is_suite(p)}
SUITE = (ROOT / "scenarios" / "suite.yaml").read_text(encoding="utf-8")
COMPOSE = (ROOT / "compose.yaml").read_text(encoding="utf-8")

#: Per example: the time Hypothesis allows and the memory (peak of what Python allocated while loading: an
#: alias bomb stops at a few MiB). The time is a guard against a hang or a blow-up (an alias bomb unguarded
#: takes minutes), not a speed target (those are `make bench`'s): the largest examples take ~0.5 s on an idle
#: machine and took 3.3-4.5 s with the machine's 2 cores loaded ten-fold, which a 3 s deadline failed.
DEADLINE = timedelta(seconds=30)
MAX_PEAK_BYTES = 32 * 1024 * 1024
FUZZ = settings(derandomize=True, database=None, deadline=DEADLINE, max_examples=200,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fake_tshark(filters: list[str]) -> dict[str, str]:
    return {f: "not a field" for f in filters if "tcp.prot==" in f}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One file, rewritten by every example (a function-scoped tmp_path is not reset between examples)."""
    return tmp_path_factory.mktemp("fuzz") / "s.yaml"


def load_bounded(path: Path, content: bytes, loader=None, error=ScenarioError):
    """Load `content` from `path`: a Scenario (or Topology) or a located error, within the memory bound."""
    path.write_bytes(content)
    tracemalloc.start()
    try:
        result = (loader or (lambda p: load_scenario(p, TOPOLOGY, fake_tshark)))(path)
    except error as e:  # anything else propagates, and fails the example
        assert isinstance(e, LocatedError) and e.path == str(path) and e.message, repr(e)
        assert str(e).startswith(str(path)) and e.exit_code == EXIT_INVALID_INPUT
        result = e
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MAX_PEAK_BYTES, f"{peak:,} bytes allocated at the peak"
    assert isinstance(result, (Scenario, Topology, Suite, error))
    return result


# ---- what the fuzzer is given ---------------------------------------------------------------------

#: Pieces of YAML, of scenarios, and of trouble (tags, anchors, merges, odd numbers, invisible characters).
TOKENS = [
    "\n", "\n  ", "\n    ", "\n- ", "  - ", " ", "\t", ": ", ":", "- ", "? ", ", ", "[", "]", "{", "}", "'", '"',
    "|", "|-", ">", "#", "---", "...", "%YAML 1.1\n", "&a ", "*a", "&b ", "*b", "<<: ", "<<", "!!str ", "!!int ",
    "!!float ", "!!bool ", "!!binary ", "!!timestamp ", "!!set ", "!!omap ", "!!python/object:os.system ", "!foo ",
    "name", "description", "hosts", "clients", "timeout", "defaults", "steps", "checks", "start", "send", "wait",
    "netstat", "signal", "stop", "parallel", "id", "host", "run", "lines", "line", "interval", "close", "port",
    "proto", "log", "program", "stream", "count", "exit", "min", "max", "match", "sequence", "socket", "capture",
    "filter", "points", "snapshot", "local", "remote", "state", "server", "client", "capture", "tcp", "udp",
    "SIGINT", "ESTABLISHED", "any", "both", "{server.ip}", "{client.name}", "{nohost.ip}", "{server.addr}",
    "server_tcp.py", "0.0.0.0", "5000", "0", "-1", "1.5", "1.0e+300", ".inf", ".nan", "0x" + "f" * 40, "0o17",
    "1:30:00", "9" * 50, "2026-02-30", "2026-01-01 10:00:00", "yes", "no", "null", "~", "true", "a{4294967296}",
    "((((", "\\d{1,3}", "\\0", "\\x00", "\\n", "\u200b", "\u202e", "\ufeff", "olá", "\U0001F600", "\x85", "\r",
    "$", "${A:-b}", "'\\''",
]
yamlish = st.lists(st.sampled_from(TOKENS), max_size=120).map("".join)


@st.composite
def mutated_scenario(draw) -> str:
    """A real scenario with a few edits: a slice deleted, duplicated or replaced by tokens, characters flipped."""
    text = SCENARIOS[draw(st.sampled_from(sorted(SCENARIOS)))]
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 80)))
        edit = draw(st.sampled_from(["delete", "duplicate", "tokens", "character"]))
        if edit == "delete":
            text = text[:start] + text[end:]
        elif edit == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        elif edit == "tokens":
            text = text[:start] + draw(yamlish) + text[end:]
        else:
            text = text[:start] + draw(st.characters()) + text[start + 1:]
    return text


@st.composite
def deep_nesting(draw) -> str:
    depth = draw(st.integers(1, 1200))  # past Python's recursion limit (1000) without the composer's limit
    style = draw(st.sampled_from(["flow list", "flow map", "block map", "block list", "mixed"]))
    if style == "flow list":
        return "steps: " + "[" * depth + "]" * depth + "\n"
    if style == "flow map":
        return "steps: " + "{a: " * depth + "1" + "}" * depth + "\n"
    if style == "block map":
        depth = min(depth, 300)  # indentation grows with depth: 300 levels are 90,000 characters already
        return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "x\n"
    if style == "block list":
        return "".join("  " * i + "-\n" for i in range(min(depth, 300))) + "  " * min(depth, 300) + "- x\n"
    return "steps: " + "[{a: " * (depth // 2) + "1" + "}]" * (depth // 2) + "\n"


@st.composite
def alias_bomb(draw) -> str:
    """Anchors of anchors: `width` aliases of `width` aliases ... `levels` deep, maybe within steps or merges."""
    width, levels = draw(st.integers(2, 12)), draw(st.integers(1, 10))
    form = draw(st.sampled_from(["list", "merge", "steps", "text"]))
    if form == "text":
        lines = ["a: &a '" + "x" * draw(st.integers(1, 200_000)) + "'"]
    elif form == "merge":
        lines = ["a: &a {" + ", ".join(f"m{j}: lol" for j in range(width)) + "}"]
    else:
        lines = ["a: &a [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels + 1):
        prev = "a" if i == 1 else f"l{i - 1}"
        if form == "merge":  # its own keys and, merged, its predecessor's
            lines.append(f"l{i}: &l{i} {{<<: *{prev}, " + ", ".join(f"k{j}: *{prev}" for j in range(width)) + "}")
        else:
            lines.append(f"l{i}: &l{i} [" + ", ".join([f"*{prev}"] * width) + "]")
    text = "\n".join(lines) + "\n"
    if form == "steps":
        text = "name: bomb\ndescription: x\nhosts: [server]\nsteps:\n" + "".join(
            "  - " + line.split(": ", 1)[1] + "\n" for line in lines) + "checks: []\n"
    return text


# ---- the properties --------------------------------------------------------------------------------


@settings(FUZZ, max_examples=500)
@given(content=st.binary(max_size=3000))
def test_random_bytes(scratch, content):
    load_bounded(scratch, content)


@settings(FUZZ, max_examples=500)
@given(text=yamlish)
def test_yaml_shaped_text(scratch, text):
    load_bounded(scratch, text.encode("utf-8", "surrogatepass"))


@settings(FUZZ, max_examples=150)
@given(text=mutated_scenario())
def test_mutations_of_the_real_scenarios(scratch, text):
    load_bounded(scratch, text.encode("utf-8", "surrogatepass"))


@settings(FUZZ, max_examples=30)
@given(text=deep_nesting())
def test_deep_nesting(scratch, text):
    load_bounded(scratch, text.encode())


@settings(FUZZ, max_examples=40)
@given(text=alias_bomb())
def test_aliases(scratch, text):
    load_bounded(scratch, text.encode())


@settings(FUZZ, max_examples=100)
@given(text=st.builds(lambda base, extra, at: base[:at % (len(base) + 1)] + extra + base[at % (len(base) + 1):],
                      st.just(COMPOSE), yamlish, st.integers(0, 10_000)))
def test_mutations_of_compose_yaml(scratch, text):
    load_bounded(scratch, text.encode("utf-8", "surrogatepass"), loader=load_topology, error=TopologyError)


def test_the_real_scenarios_still_load(scratch):
    assert len(SCENARIOS) >= 5
    for text in SCENARIOS.values():
        assert isinstance(load_bounded(scratch, text.encode()), Scenario)


@pytest.fixture(scope="module")
def suite_scratch(tmp_path_factory) -> Path:
    """A suite file beside copies of the real scenarios (a suite names its scenarios relative to itself)."""
    folder = tmp_path_factory.mktemp("suite")
    for name, text in SCENARIOS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder / "suite.yaml"


def load_suite_bounded(path: Path, content: bytes):
    return load_bounded(path, content, loader=lambda p: load_suite(p, TOPOLOGY, fake_tshark),
                        error=(SuiteError, ScenarioError))


@settings(FUZZ, max_examples=80)
@given(text=st.builds(lambda base, extra, at, cut: (base[:at % (len(base) + 1)] + extra
                                                    + base[(at + cut) % (len(base) + 1):]),
                      st.just(SUITE), yamlish, st.integers(0, 10_000), st.integers(0, 40)))
def test_mutations_of_the_suite(suite_scratch, text):
    load_suite_bounded(suite_scratch, text.encode("utf-8", "surrogatepass"))


def test_the_real_suite_still_loads(suite_scratch):
    assert isinstance(load_suite_bounded(suite_scratch, SUITE.encode()), Suite)


# ---- validate, as a user runs it -------------------------------------------------------------------

SMALL_COMPOSE = """\
services:
  server:
    image: socklab/node:latest
    networks: {lab: {ipv4_address: 10.77.0.10}}
networks:
  lab: {ipam: {config: [{subnet: 10.77.0.0/24}]}}
"""


def _hostile_files(folder: Path) -> dict[str, Path]:
    invalid = ROOT / "tests" / "scenarios" / "invalid"
    fifo = folder / "fifo.yaml"
    os.mkfifo(fifo)
    big = folder / "big.yaml"
    rng = random.Random(0)
    big.write_bytes(b"".join(b"k%d: %d\n" % (i, rng.randrange(10**6)) for i in range(600_000)))  # ~5.6 MB
    return {"alias bomb": invalid / "alias_bomb.yaml", "deep nesting": invalid / "deep_nesting_flow.yaml",
            "huge int": invalid / "huge_int.yaml", "FIFO": fifo, "/dev/zero": Path("/dev/zero"), "5 MB": big}


def test_validate_on_hostile_files_is_exit_2_with_one_message_within_seconds(tmp_path: Path):
    topology = tmp_path / "compose.yaml"
    topology.write_text(SMALL_COMPOSE, encoding="utf-8")
    for what, path in _hostile_files(tmp_path).items():
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "orchestrator", "validate", "--no-filters", "--topology",
                               str(topology), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=30)
        took = time.monotonic() - started
        assert done.returncode == EXIT_INVALID_INPUT, (what, done.stderr)
        assert done.stderr.startswith(f"error: {path}"), (what, done.stderr)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, (what, done.stderr)
        assert done.stdout == "", (what, done.stdout)
        assert took < 5, f"{what}: {took:.1f} s"
