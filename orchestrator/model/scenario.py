"""The scenario model: plain, frozen data (no I/O here but reading the file), and its loader/validator.

A Scenario is what scenarios/*.yaml say: which hosts it uses, the steps to play in order, and the
checks to evaluate on what the run collected. The language is documented in scenarios/README.md.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..base.errors import ScenarioError
from .impairment import Impairment
from .steplist import ACTIONS, keyed_steps, parse_step  # noqa: F401
from ..base.placeholders import PLACEHOLDER, expand, placeholders  # noqa: F401 (the language's, used by many)
from .checkkinds import (CHECK_KINDS, FILTER_EXAMPLE, MAX_POINTS, STATES, Bounds, CaptureCheck, Check,  # noqa: F401
                         ExitCheck, LogCheck, SocketCheck, parse_check)
from .steps import (Netstat, Parallel, Send, Signal, Start, Step, Stop, WaitExit, WaitLog,  # noqa: F401
                    WaitPort)
from .stepvalues import (MAX_COUNT, MAX_SECONDS, NONZERO, PROTOS, RUN_EXAMPLE, SIGNALS, STREAMS,  # noqa: F401
                         expected_status, status_matches)
from ..base.text import did_you_mean, is_ipv4, names, or_list, quote, shown
from .document import Map, Node, Where
from .yamlsource import parse_yaml, read_yaml

if TYPE_CHECKING:
    from .topology import Topology

# ---- steps: steps.py (one class per kind: its keys, parsing, description and play) -------------------


# ---- checks --------------------------------------------------------------------------------------


# ---- the scenario --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    path: str
    name: str
    description: str
    hosts: tuple[str, ...]
    clients: int
    steps: tuple[Step, ...]
    checks: tuple[Check, ...]
    timeout: float  # the whole run's limit, seconds
    where: Where = field(compare=False, default=Where("", None, ""))
    impairments: tuple[Impairment, ...] = ()  # the links that lose, delay... (scenario key `impair`)
    #: what `validate` warns about (a check that inaction could pass, depending on nothing), located
    warnings: tuple[str, ...] = field(compare=False, default=())

    def programs(self) -> dict[str, Start]:
        """Every program the scenario starts, by id (Parallel steps included)."""
        return {start.id: start for _, step in keyed_steps(self.steps) for start in step.starts()}

    def needs(self) -> dict[str, tuple[str, ...]]:
        """The program files the scenario runs (a start step's `NAME.py`), each with the ids of the programs
        that run it: what a submission must hold to be graded on this scenario."""
        found: dict[str, list[str]] = {}
        for pid, start in self.programs().items():
            if program_file(start.argv) is not None:
                found.setdefault(start.argv[0], []).append(pid)
        return {name: tuple(ids) for name, ids in found.items()}

    def capture_filters(self) -> tuple[str, ...]:
        return tuple(text for c in self.checks for text in c.spec.capture_filters())


def program_file(argv: tuple[str, ...] | list[str]) -> str | None:
    """The program file a start step runs ('server_tcp.py': a name in the programs folder, run with python3),
    or None for a command of the image (an absolute path)."""
    return argv[0] if "/" not in argv[0] and argv[0].endswith(".py") else None


def run_file(argv: tuple[str, ...] | list[str]) -> str:
    """What a start step runs, as the program a check judges is named by: its program file, or its command."""
    return program_file(argv) or argv[0]


# ---- placeholders: placeholders.py ------------------------------------------------------------------



# ---- loading and validation ----------------------------------------------------------------------
# The language is documented in scenarios/README.md; keep the two in step. Validation stops at the first
# problem: unknown keys of a mapping first, then its keys in the documented order; steps and checks in file
# order; display filters last (tshark is asked once, for all of them, when everything else is valid).

#: Receives every capture check's filter (placeholders expanded) and returns {bad filter: tshark's error}.
FilterChecker = Callable[[list[str]], dict[str, str]]

TOP_KEYS = ("name", "description", "hosts", "clients", "timeout", "defaults", "impair", "steps", "checks")
IMPAIR_KEYS = ("host", "loss", "delay", "jitter", "duplicate", "reorder", "rate")
PERCENT = re.compile(r"([1-9][0-9]?|100)%")
MILLISECONDS = re.compile(r"([0-9]{1,5})ms")
RATE = re.compile(r"[1-9][0-9]{0,5}(kbit|mbit)")
TOP_REQUIRED = ("name", "description", "hosts", "steps", "checks")

DEFAULT_CLIENTS = 1
DEFAULT_RUN_TIMEOUT = 60.0
DEFAULT_STEP_TIMEOUT = 10.0
#: Every number of the language has a maximum (scenarios/README.md, Limits): past it is a mistake, and a
#: number like 1.0e+300 seconds would overflow a run's time arithmetic. Durations in seconds.
MAX_CLIENTS = 1000

_SCENARIO_NAME = re.compile(r"[a-z0-9-]+")
_HOST_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
#: Anything shaped like a placeholder, to catch {server.addr} as well as {srever.ip}.
_ANY_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_-]*)\.([A-Za-z_]+)\}")
_PORT = re.compile(r"[0-9]+")

_ENDPOINT_RULE = ("'ADDR:PORT', where ADDR is *, an IPv4 address or {host.ip} and PORT is * or a port number")


def load_scenario(path: str | Path, topology: Topology | None = None,
                  filter_checker: FilterChecker | None = None) -> Scenario:
    """Read and validate a scenario file; any problem is a ScenarioError naming file, line and key path.

    With `topology`, host names must be hosts of compose.yaml; `filter_checker` validates display filters."""
    return _Parser(read_yaml(path, ScenarioError).root, topology, filter_checker).scenario()


def parse_scenario(text: str, path: str, topology: Topology | None = None,
                   filter_checker: FilterChecker | None = None) -> Scenario:
    """Validate scenario text as if read from `path` (see load_scenario)."""
    return _Parser(parse_yaml(text, str(path), ScenarioError).root, topology, filter_checker).scenario()


class _Parser:
    """One scenario file's validation: the state it builds up (hosts, programs started so far, snapshot and
    check names) and a method per part of the language. Every method raises ScenarioError at its Node."""

    def __init__(self, root: Node, topology: Topology | None, filter_checker: FilterChecker | None):
        self.root, self.path = root, root.doc.path
        self.topology, self.filter_checker = topology, filter_checker
        self.hosts: list[str] = []
        self.dummy: dict[str, str] = {}  # host -> a made-up address, to expand placeholders for checking
        self.default_timeout = DEFAULT_STEP_TIMEOUT
        self.started: dict[str, Start] = {}  # programs available to later steps, by id
        self.ids: dict[str, int | None] = {}  # every program id -> line of its start step
        self.snapshots: dict[str, int | None] = {}  # netstat snapshot name -> line
        self.check_names: dict[str, int | None] = {}
        self.filters: list[tuple[Node, str]] = []  # capture filter nodes and their expanded text
        self.requires: list[tuple[str, list[Node]]] = []  # a check's name and the nodes of its `requires`

    # -- top level --

    def scenario(self) -> Scenario:
        m = self.root.mapping(TOP_KEYS, TOP_REQUIRED, rule="a mapping with the keys " + or_list(TOP_REQUIRED,
                                                                                                   "and"))
        name = m["name"].str(rule="lower-case letters, digits and dashes", pattern=_SCENARIO_NAME,
                             example="'tcp-exchange'")
        description = m["description"].str(example="'A TCP server and a client exchange two lines'")
        self.hosts = self._hosts(m["hosts"])
        self.dummy = {h: f"10.0.0.{i + 1}" for i, h in enumerate(self.hosts)}
        clients = m["clients"].int(0, MAX_CLIENTS, example="1") if "clients" in m else DEFAULT_CLIENTS
        timeout = (m["timeout"].number(0, MAX_SECONDS, exclusive=True, example="60") if "timeout" in m
                   else DEFAULT_RUN_TIMEOUT)
        if "defaults" in m:
            defaults = m["defaults"].mapping(("timeout",), example="{timeout: 10}")
            if "timeout" in defaults:
                self.default_timeout = defaults["timeout"].number(0, MAX_SECONDS, exclusive=True, example="10")
        impairments = self._impairments(m["impair"]) if "impair" in m else ()
        steps = tuple(self.step(item, None) for item in
                      m["steps"].list(nonempty=True, example="[{start: {id: server, host: server, run: ...}}]"))
        checks = tuple(self.check(item) for item in
                       m["checks"].list(nonempty=True, example="[{name: server exits cleanly, exit: ...}]"))
        self._check_requires(checks)
        self._check_filters()
        return Scenario(path=self.path, name=name, description=description, hosts=tuple(self.hosts),
                        clients=clients, steps=steps, checks=checks, timeout=timeout,
                        where=self.root.where, impairments=impairments, warnings=self._warnings(steps, checks))

    def _hosts(self, node: Node) -> list[str]:
        hosts: list[str] = []
        for item in node.list(nonempty=True, example="[server, client]"):
            name = item.str(rule="a host name", pattern=_HOST_NAME, example="server")
            if self.topology is not None and name not in self.topology.hosts:
                known = names(self.topology.hosts)
                compose = Path(self.topology.path).name
                sidecar = self.topology.sidecars.get(name)
                if sidecar is not None:
                    item.fail(f"{quote(name)} is a sidecar (network_mode: service:{sidecar.attached_to}), not a host; "
                              f"hosts in {compose}: {known}")
                item.fail(f"unknown host {quote(name)}{did_you_mean(name, self.topology.hosts)} "
                          f"(hosts in {compose}: {known})")
            if name in hosts:
                item.fail(f"host {quote(name)} is listed twice; list each host once")
            hosts.append(name)
        return hosts

    def _impairments(self, node: Node) -> tuple[Impairment, ...]:
        found: dict[str, Impairment] = {}
        for item in node.list(nonempty=True, example="[{host: client, loss: 20%}]"):
            m = item.mapping(IMPAIR_KEYS, ("host",), example="{host: client, loss: 20%}")
            host = self.host(m["host"])
            if host in found:
                m["host"].fail(f"host {quote(host)} is impaired twice; put everything for it in one entry")
            if not set(m.keys()) - {"host"}:
                item.fail("says nothing to do; give at least one of loss, delay, jitter, duplicate, reorder, rate")

            def percent(key: str) -> int | None:
                if key not in m:
                    return None
                text = m[key].str(rule="a whole percentage from 1% to 100%", pattern=PERCENT, example="20%")
                return int(text[:-1])

            def ms(key: str) -> float | None:
                if key not in m:
                    return None
                return float(m[key].str(rule="milliseconds, at most 99999ms", pattern=MILLISECONDS,
                                        example="100ms")[:-2])
            imp = Impairment(host=host, loss=percent("loss"), delay=ms("delay"), jitter=ms("jitter"),
                             duplicate=percent("duplicate"), reorder=percent("reorder"),
                             rate=m["rate"].str(rule="a rate in kbit or mbit", pattern=RATE, example="1mbit")
                             if "rate" in m else None, where=item.where)
            for key in imp.undelayed()[:1]:
                m[key].fail(f"{key} needs a delay beside it (netem {key}s the delayed packets), "
                            f"e.g. {{host: {host}, delay: 100ms, {key}: {'10ms' if key == 'jitter' else '25%'}}}")
            found[host] = imp
        return tuple(found.values())

    # -- shared pieces --

    def host(self, node: Node) -> str:
        """A host of this scenario."""
        name = node.str(rule="a host name", example=shown(self.hosts[0]))
        if name not in self.hosts:
            if self.topology is not None and name in self.topology.hosts:
                node.fail(f"host {quote(name)} is not in this scenario's hosts; add it to hosts "
                          f"(hosts: {names(self.hosts)})")
            node.fail(f"unknown host {quote(name)}{did_you_mean(name, self.hosts)} (hosts: {names(self.hosts)})")
        return name

    def program(self, node: Node, group: dict[str, Start] | None, *, in_checks: bool = False) -> str:
        """The id of a program started by an earlier step (by any step, for a check)."""
        name = node.str(rule="the id of a started program", example=shown(next(iter(self.started), "server")))
        if name in self.started:
            return name
        if group is not None and name in group:
            node.fail(f"program {quote(name)} is started in this same parallel group, so it may not be running yet; "
                      "refer to it in a step after the group")
        started = list(self.started)
        where = "any step" if in_checks else "any earlier step"
        so_far = "programs" if in_checks else "started so far"
        node.fail(f"program {quote(name)} is not started by {where}{did_you_mean(name, started)} "
                  f"({so_far}: {names(started) or 'none'})")

    def timeout(self, m: Map, default: float | None = None) -> float:
        """A step's `timeout`, or `default` (the scenario's default timeout if not given)."""
        node = m.get("timeout")
        if node:
            return node.number(0, MAX_SECONDS, exclusive=True, example="10")
        return self.default_timeout if default is None else default

    def placeholders(self, node: Node, text: str) -> None:
        """Every {HOST.ip} / {HOST.name} in `text` names a host of this scenario."""
        for m in _ANY_PLACEHOLDER.finditer(text):
            host, attr = m.group(1), m.group(2)
            if attr in ("ip", "name") and host not in self.hosts:
                node.fail(f"unknown host {quote(host)} in placeholder {shown(m.group(0))}; hosts: {names(self.hosts)}")
            if attr not in ("ip", "name") and host in self.hosts:
                node.fail(f"unknown placeholder {shown(m.group(0))}; write {{{shown(host)}.ip}} (its address) "
                          f"or {{{shown(host)}.name}} (its name)")

    def regex(self, node: Node) -> str:
        """A regular expression; placeholders are checked, then it is compiled with them expanded."""
        text = node.str(rule="a regular expression (a non-empty string)", example="'^Bye bye Client 1!$'")
        self.placeholders(node, text)
        literally = "(to match a special character like ( [ { * + ? . or \\ literally, write \\ before it)"
        try:
            re.compile(expand(text, self.dummy, regex=True))
        except re.error as e:
            at = f" at position {self._written_position(text, e.pos)}" if e.pos is not None else ""
            node.fail(f"invalid regular expression: {e.msg}{at} {literally}")
        except OverflowError as e:  # a{4294967296}: re.compile raises more than re.error
            node.fail(f"invalid regular expression: {shown(str(e))} {literally}")
        except RecursionError:
            node.fail("invalid regular expression: its groups are nested too deeply for Python to compile it")
        except Exception as e:  # whatever else re.compile may raise on some pattern: still the pattern's fault
            node.fail(f"invalid regular expression: Python cannot compile it ({type(e).__name__}: {shown(str(e))})")
        return text

    def _written_position(self, text: str, pos: int) -> int:
        """A position in the expanded regex -> the position in the text as written (placeholders unexpanded)."""
        shift = 0
        for m in PLACEHOLDER.finditer(text):
            expanded = expand(m.group(0), self.dummy, regex=True)
            start = m.start() + shift
            if pos < start:
                break
            if pos < start + len(expanded):
                return m.start()
            shift += len(expanded) - len(m.group(0))
        return pos - shift

    def bounds(self, m: Map) -> Bounds:
        """count, or min and/or max; none of them means 'at least 1'."""
        present = [k for k in m.keys() if k in ("count", "min", "max")]
        if "count" in present and len(present) > 1:
            m[present[1]].fail("count cannot be combined with min or max: use count for an exact number, "
                               "or min and/or max for a range")
        if "count" in m:
            return Bounds(count=m["count"].int(0, MAX_COUNT, example="1"))
        lo = m["min"].int(0, MAX_COUNT, example="1") if "min" in m else None
        hi = m["max"].int(0, MAX_COUNT, example="1") if "max" in m else None
        if lo is not None and hi is not None and lo > hi:
            m["max"].fail(f"must be at least min, which is {lo} (got {hi})")
        if lo is None and hi is None:
            return Bounds(min=1)
        return Bounds(min=lo, max=hi)

    # -- steps --

    def step(self, node: Node, group: dict[str, Start] | None) -> Step:
        """One step (steplist.parse_step). `group` collects the programs started in the enclosing parallel group."""
        return parse_step(self, node, group)

    def argv(self, node: Node) -> tuple[str, ...]:
        """`run`: a list of arguments (numbers become strings), or one string split like a shell would."""
        if isinstance(node.value, str):
            self._no_nul(node, node.value)
            argv = node.shell_words(example=RUN_EXAMPLE)
            if not argv:
                node.must("a non-empty list of arguments", RUN_EXAMPLE)
            self.placeholders(node, node.value)
            return tuple(argv)
        argv = []
        for item in node.list(nonempty=True, example=RUN_EXAMPLE):
            arg = item.text(example="'5000'")
            self._no_nul(item, arg)
            self.placeholders(item, arg)
            argv.append(arg)
        return tuple(argv)

    @staticmethod
    def _no_nul(node: Node, arg: str) -> None:
        """A program argument cannot hold a NUL character: no program could be given it."""
        if "\0" in arg:
            node.fail(f"a program's argument cannot hold a NUL character (\\x00, at position {arg.index(chr(0))}): no "
                      "program can be given one; remove it")

    def exit_status(self, node: Node, *, allow_any: bool) -> int | str | None:
        """An exit status 0..255, or the word nonzero (or any, for a wait)."""
        if allow_any and node.value == "any":
            return None
        if node.value == NONZERO:
            return NONZERO
        return node.int(0, 255, example="0",
                        rule="an exit status from 0 to 255, nonzero, or any" if allow_any
                        else "an exit status from 0 to 255, or nonzero")

    # -- checks --

    def check(self, node: Node) -> Check:
        """One check (checkkinds.parse_check)."""
        return parse_check(self, node)

    def snapshot_name(self, node: Node) -> str:
        """The name of a snapshot some netstat step takes."""
        snapshot = node.str(rule="the name of a netstat snapshot", example="connected")
        if snapshot not in self.snapshots:
            taken = names(self.snapshots) or "none; take one with a netstat step"
            node.fail(f"no netstat step takes a snapshot named {quote(snapshot)}"
                      f"{did_you_mean(snapshot, self.snapshots)} (snapshots: {taken})")
        return snapshot

    def endpoint(self, node: Node) -> str:
        """'ADDR:PORT' as netstat shows it: ADDR is *, an IPv4 address or {host.ip}; PORT is * or a number."""
        text = node.str(rule=_ENDPOINT_RULE, example="'{server.ip}:5000'")
        self.placeholders(node, text)
        addr, _, port = text.rpartition(":")
        addr_ok = addr == "*" or is_ipv4(addr) or bool((p := PLACEHOLDER.fullmatch(addr)) and p.group(2) == "ip")
        port_ok = port == "*" or bool(_PORT.fullmatch(port) and 1 <= int(port) <= 65535)
        if not (addr_ok and port_ok):
            node.must(_ENDPOINT_RULE, "'{server.ip}:5000'")
        return text

    def _judged_file(self, program: str) -> str:
        return run_file(self.started[program].argv)

    def _check_requires(self, checks: tuple[Check, ...]) -> None:
        """Every name in a `requires` is another check of this scenario that judges the same program (in
        grading both are judged in that program's play), and no check requires itself, however indirectly."""
        by_name = {c.name: c for c in checks}
        for name, nodes in self.requires:
            check = by_name[name]
            for node, wanted in zip(nodes, check.requires):
                if wanted == name:
                    node.fail(f"check {quote(name)} cannot require itself; name the check whose behaviour it "
                              "depends on")
                other = by_name.get(wanted)
                if other is None:
                    node.fail(f"no check is named {quote(wanted)}{did_you_mean(wanted, by_name)} (a check may "
                              "require only checks of this scenario, by their name)")
                mine, theirs = self._judged_file(check.judges), self._judged_file(other.judges)
                if mine != theirs:
                    node.fail(f"check {quote(wanted)} judges {theirs}, and this check judges {mine}: a check may "
                              "require only what the program it judges did (in grading, each program is judged "
                              "in a play of its own)")
        for name in by_name:  # a cycle: follow the requirements from each check
            seen, todo = set(), list(by_name[name].requires)
            while todo:
                wanted = todo.pop()
                if wanted == name:
                    nodes = next(n for c, n in self.requires if c == name)
                    nodes[0].fail(f"check {quote(name)} requires itself through {names(sorted(seen))}: "
                                  "requirements cannot go round in a circle")
                if wanted not in seen:
                    seen.add(wanted)
                    todo.extend(by_name[wanted].requires)

    def _warnings(self, steps: tuple[Step, ...], checks: tuple[Check, ...]) -> tuple[str, ...]:
        """The checks that inaction, a crash or an early exit would pass on their own: with points, an
        absence or an exit check, depending on nothing (no `requires`; an exit check on a program the scenario
        signals depends on the signal: it earns only if the program was still running when it came)."""
        signalled = {program for _, s in keyed_steps(steps) for program, _signal in s.signals()}
        warned = []
        for check in checks:
            what = check.vacuous(signalled)
            if what is None:
                continue
            warned.append(f"{check.where}: check {quote(check.name)} is {what} that depends on nothing: a program "
                          "that does nothing, crashes or exits at once would earn its points. Name the check of "
                          "the behaviour it is about in requires (scenarios/README.md, requires), or give it "
                          "points: 0")
        return tuple(warned)

    def _check_filters(self) -> None:
        """Ask the filter checker (tshark) once about every display filter; report the first bad one."""
        if self.filter_checker is None or not self.filters:
            return
        errors = self.filter_checker(list(dict.fromkeys(text for _, text in self.filters)))
        for node, text in self.filters:
            if text in errors:
                node.fail(f"invalid Wireshark display filter: {errors[text].strip()} "
                          f"(write it as in Wireshark's filter bar, e.g. {FILTER_EXAMPLE})")
