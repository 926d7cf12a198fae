"""The scenario model: plain, frozen data (no I/O here but reading the file), and its loader/validator.

A Scenario is what scenarios/*.yaml say: which hosts it uses, the steps to play in order, and the
checks to evaluate on what the run collected. The language is documented in scenarios/README.md.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Union

from .errors import ScenarioError
from .yamlsource import Map, Node, Where, did_you_mean, is_ipv4, names, or_list, parse_yaml, quote, read_yaml, shown

if TYPE_CHECKING:
    from .topology import Topology

# ---- steps ---------------------------------------------------------------------------------------
# Every step has a timeout (seconds) and a `where`. Programs are named by an `id` unique in the
# scenario; hosts by their name in compose.yaml.


@dataclass(frozen=True)
class Start:
    """Start a program on a host. argv[0] is a program in the programs folder (run with python3 -u)
    or an absolute path of a command in the image; the rest are its arguments (placeholders allowed)."""

    id: str
    host: str
    argv: tuple[str, ...]
    timeout: float
    where: Where


@dataclass(frozen=True)
class Send:
    """Write lines to a program's stdin (each followed by a newline), `interval` seconds apart;
    with close=True, close its stdin afterwards (end of input, like Ctrl-D)."""

    program: str
    lines: tuple[str, ...]
    interval: float
    close: bool
    timeout: float
    where: Where


@dataclass(frozen=True)
class WaitPort:
    """Wait until a socket is bound on `host`: proto 'tcp' (listening) or 'udp', on `port`."""

    host: str
    proto: str
    port: int
    timeout: float
    where: Where


@dataclass(frozen=True)
class WaitLog:
    """Wait until a program's output has `count` lines matching the regex `pattern` (placeholders allowed);
    stream is 'stdout', 'stderr' or 'both'."""

    program: str
    pattern: str
    stream: str
    count: int
    timeout: float
    where: Where


#: An expected exit status that is any but 0 (`status: nonzero`): a program refusing its arguments.
NONZERO = "nonzero"


def status_matches(expected: int | str | None, status: int | None) -> bool:
    """Whether an exit status is the one expected: a number, NONZERO (1-255: it ended by itself, saying
    it failed; a signal's death is not that), or None (any)."""
    if expected is None:
        return True
    if expected == NONZERO:
        return status is not None and 0 < status < 256
    return status == expected


def expected_status(expected: int | str) -> str:
    """An expected exit status for people: 'exit status 0', 'a non-zero exit status'."""
    return "a non-zero exit status" if expected == NONZERO else f"exit status {expected}"


@dataclass(frozen=True)
class WaitExit:
    """Wait until a program exits; with `status` set, a different exit status fails the step."""

    program: str
    status: int | str | None  # a number, NONZERO, or None (any)
    timeout: float
    where: Where


@dataclass(frozen=True)
class Netstat:
    """Take a `netstat -tuna` snapshot on `host`, kept under `name` for socket checks."""

    host: str
    name: str
    timeout: float
    where: Where


@dataclass(frozen=True)
class Signal:
    """Send a signal (e.g. 'SIGINT', as a person's Ctrl-C) to a program."""

    program: str
    signal: str
    timeout: float
    where: Where


@dataclass(frozen=True)
class Stop:
    """Stop a program: SIGTERM, then SIGKILL if it has not exited within the timeout."""

    program: str
    timeout: float
    where: Where


@dataclass(frozen=True)
class Parallel:
    """Play several steps at once (e.g. start three clients); done when all are done."""

    steps: tuple["Step", ...]
    timeout: float
    where: Where


Step = Union[Start, Send, WaitPort, WaitLog, WaitExit, Netstat, Signal, Stop, Parallel]

# ---- checks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """How many matches are right: exactly `count`, or between `min` and `max` (inclusive)."""

    count: int | None = None
    min: int | None = None
    max: int | None = None

    def accepts(self, n: int) -> bool:
        if self.count is not None:
            return n == self.count
        return (self.min is None or n >= self.min) and (self.max is None or n <= self.max)

    def __str__(self) -> str:
        if self.count is not None:
            return f"exactly {self.count}"
        if self.min is not None and self.max is not None:
            return f"between {self.min} and {self.max}"
        if self.min is not None:
            return f"at least {self.min}"
        if self.max is not None:
            return f"at most {self.max}"
        return "any number"


@dataclass(frozen=True)
class LogCheck:
    """Lines of output matching regexes (placeholders allowed), of one program or of every program on a host.

    With `pattern`: the number of matching lines must be within `bounds`.
    With `sequence`: each regex must match a line, in this order (other lines may come between).
    With `before`: only the lines that came before the named netstat snapshot was taken count (what the
    programs said while the scenario held them in that state, e.g. three clients connected at once)."""

    program: str | None
    host: str | None
    pattern: str | None
    sequence: tuple[str, ...]
    stream: str
    bounds: Bounds
    before: str | None = None


@dataclass(frozen=True)
class SocketCheck:
    """Rows of a named netstat snapshot that match: proto ('tcp'/'udp'), local and remote 'ADDR:PORT'
    (either part may be '*'; placeholders allowed), state (e.g. 'ESTABLISHED'); None matches anything."""

    snapshot: str
    proto: str | None
    local: str | None
    remote: str | None
    state: str | None
    bounds: Bounds


@dataclass(frozen=True)
class CaptureCheck:
    """Packets of the run's capture matching a Wireshark display filter (placeholders allowed),
    counted by tshark."""

    filter: str
    bounds: Bounds


@dataclass(frozen=True)
class ExitCheck:
    """A program's exit status; None (written `any`): that it ended by itself before the run's end;
    NONZERO: that it ended by itself with a status from 1 to 255."""

    program: str
    status: int | str | None


@dataclass(frozen=True)
class Check:
    name: str
    points: float
    spec: Union[LogCheck, SocketCheck, CaptureCheck, ExitCheck]
    where: Where
    #: the id of the program whose behaviour the check judges: in grading, the check is judged in the run
    #: where that program is the student's and every other one the lab's reference (README, Grading)
    judges: str = ""


# ---- the scenario --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Impairment:
    """What a host's link does to its packets (scenario key `impair`; impair.py applies it). Loss takes what
    the host receives, deterministically: `loss` percent of the TCP data segments and, counted apart, of the
    UDP datagrams reaching it, evenly spread (20%: every 5th); handshakes, acknowledgements and teardowns
    pass. The rest shapes what it sends, with the kernel's netem (delay, jitter, duplicate, reorder) or tbf
    (rate)."""

    host: str
    loss: int | None = None  # percent, 1-100
    delay: float | None = None  # milliseconds
    jitter: float | None = None  # milliseconds (with delay)
    duplicate: int | None = None  # percent
    reorder: int | None = None  # percent (with delay)
    rate: str | None = None  # tc's notation: '1mbit', '256kbit'
    where: Where = field(compare=False, default=Where("", None, ""))

    def undelayed(self) -> list[str]:
        """The keys that need a delay beside them and have none (netem jitters and reorders delayed packets)."""
        return [] if self.delay is not None else [k for k in ("jitter", "reorder") if getattr(self, k) is not None]


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

    def programs(self) -> dict[str, Start]:
        """Every program the scenario starts, by id (Parallel steps included)."""
        found: dict[str, Start] = {}

        def walk(steps):
            for s in steps:
                if isinstance(s, Start):
                    found[s.id] = s
                elif isinstance(s, Parallel):
                    walk(s.steps)

        walk(self.steps)
        return found

    def needs(self) -> dict[str, tuple[str, ...]]:
        """The program files the scenario runs (a start step's `NAME.py`), each with the ids of the programs
        that run it: what a submission must hold to be graded on this scenario."""
        found: dict[str, list[str]] = {}
        for pid, start in self.programs().items():
            if program_file(start.argv) is not None:
                found.setdefault(start.argv[0], []).append(pid)
        return {name: tuple(ids) for name, ids in found.items()}

    def capture_filters(self) -> tuple[str, ...]:
        return tuple(c.spec.filter for c in self.checks if isinstance(c.spec, CaptureCheck))


def program_file(argv: tuple[str, ...] | list[str]) -> str | None:
    """The program file a start step runs ('server_tcp.py': a name in the programs folder, run with python3),
    or None for a command of the image (an absolute path)."""
    return argv[0] if "/" not in argv[0] and argv[0].endswith(".py") else None


# ---- placeholders --------------------------------------------------------------------------------
#: {server.ip}, {client.name}: a host's address or name in the run. Other braces (regex {1,3}) are kept.
PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_-]*)\.(ip|name)\}")


def placeholders(text: str) -> list[tuple[str, str]]:
    """The (host, attribute) pairs a text refers to."""
    return PLACEHOLDER.findall(text)


def expand(text: str, addresses: dict[str, str], *, regex: bool = False) -> str:
    """Replace {host.ip} and {host.name} with the run's values (escaped for a regex when regex=True).
    Unknown hosts are left as they are (the loader refuses them before a run)."""

    def sub(m: re.Match) -> str:
        host, attr = m.group(1), m.group(2)
        if host not in addresses:
            return m.group(0)
        value = addresses[host] if attr == "ip" else host
        return re.escape(value) if regex else value

    return PLACEHOLDER.sub(sub, text)


# ---- loading and validation ----------------------------------------------------------------------
# The language is documented in scenarios/README.md; keep the two in step. Validation stops at the first
# problem: unknown keys of a mapping first, then its keys in the documented order; steps and checks in file
# order; display filters last (tshark is asked once, for all of them, when everything else is valid).

#: Receives every capture check's filter (placeholders expanded) and returns {bad filter: tshark's error}.
FilterChecker = Callable[[list[str]], dict[str, str]]

TOP_KEYS = ("name", "description", "hosts", "clients", "timeout", "defaults", "impair", "steps", "checks")
IMPAIR_KEYS = ("host", "loss", "delay", "jitter", "duplicate", "reorder", "rate")
_PERCENT = re.compile(r"([1-9][0-9]?|100)%")
_MILLISECONDS = re.compile(r"([0-9]{1,5})ms")
_RATE = re.compile(r"[1-9][0-9]{0,5}(kbit|mbit)")
TOP_REQUIRED = ("name", "description", "hosts", "steps", "checks")
ACTIONS = ("start", "send", "wait", "netstat", "signal", "stop", "parallel")
CHECK_KINDS = ("log", "socket", "capture", "exit")
SIGNALS = ("SIGINT", "SIGTERM", "SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
STREAMS = ("stdout", "stderr", "both")
PROTOS = ("tcp", "udp")
#: netstat's spelling of TCP states (with an underscore, unlike ss).
STATES = ("LISTEN", "ESTABLISHED", "TIME_WAIT", "CLOSE_WAIT", "FIN_WAIT1", "FIN_WAIT2", "SYN_SENT",
          "SYN_RECV", "LAST_ACK", "CLOSING", "CLOSE")
#: What a wait takes besides its kind key and timeout, and which of those it requires.
WAIT_KEYS = {"port": ("host", "proto"), "log": ("program", "stream", "count"), "exit": ("program",)}
WAIT_REQUIRED = {"port": ("host",), "log": ("program",), "exit": ("program",)}

DEFAULT_CLIENTS = 1
DEFAULT_RUN_TIMEOUT = 60.0
DEFAULT_STEP_TIMEOUT = 10.0
#: Every number of the language has a maximum (scenarios/README.md, Limits): past it is a mistake, and a
#: number like 1.0e+300 seconds would overflow a run's time arithmetic. Durations in seconds.
MAX_SECONDS = 3600.0
MAX_COUNT = 1_000_000  # count, min, max, a log wait's count: more lines than a program's capped output holds
MAX_POINTS = 1000.0
MAX_CLIENTS = 1000

_SCENARIO_NAME = re.compile(r"[a-z0-9-]+")
_ID = re.compile(r"[A-Za-z0-9_-]+")
_HOST_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
#: Anything shaped like a placeholder, to catch {server.addr} as well as {srever.ip}.
_ANY_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_-]*)\.([A-Za-z_]+)\}")
_PORT = re.compile(r"[0-9]+")
#: What a display filter, one line of Wireshark's filter bar, cannot hold: control characters (a newline, a
#: NUL that would end it early for tshark) and Unicode's line and paragraph separators.
_LINE_BREAK = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

_ID_RULE = "a name of letters, digits, '_' and '-'"
_ENDPOINT_RULE = ("'ADDR:PORT', where ADDR is *, an IPv4 address or {host.ip} and PORT is * or a port number")
_RUN_EXAMPLE = "[server_tcp.py, 0.0.0.0, 5000]"
_FILTER_EXAMPLE = "'tcp.port==5000 && ip.src=={client.ip}'"


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
        steps = tuple(self._step(item, None) for item in
                      m["steps"].list(nonempty=True, example="[{start: {id: server, host: server, run: ...}}]"))
        checks = tuple(self._check(item) for item in
                       m["checks"].list(nonempty=True, example="[{name: server exits cleanly, exit: ...}]"))
        self._check_filters()
        return Scenario(path=self.path, name=name, description=description, hosts=tuple(self.hosts),
                        clients=clients, steps=steps, checks=checks, timeout=timeout,
                        where=self.root.where, impairments=impairments)

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
            host = self._host(m["host"])
            if host in found:
                m["host"].fail(f"host {quote(host)} is impaired twice; put everything for it in one entry")
            if not set(m.keys()) - {"host"}:
                item.fail("says nothing to do; give at least one of loss, delay, jitter, duplicate, reorder, rate")

            def percent(key: str) -> int | None:
                if key not in m:
                    return None
                text = m[key].str(rule="a whole percentage from 1% to 100%", pattern=_PERCENT, example="20%")
                return int(text[:-1])

            def ms(key: str) -> float | None:
                if key not in m:
                    return None
                return float(m[key].str(rule="milliseconds, at most 99999ms", pattern=_MILLISECONDS,
                                        example="100ms")[:-2])
            imp = Impairment(host=host, loss=percent("loss"), delay=ms("delay"), jitter=ms("jitter"),
                             duplicate=percent("duplicate"), reorder=percent("reorder"),
                             rate=m["rate"].str(rule="a rate in kbit or mbit", pattern=_RATE, example="1mbit")
                             if "rate" in m else None, where=item.where)
            for key in imp.undelayed()[:1]:
                m[key].fail(f"{key} needs a delay beside it (netem {key}s the delayed packets), "
                            f"e.g. {{host: {host}, delay: 100ms, {key}: {'10ms' if key == 'jitter' else '25%'}}}")
            found[host] = imp
        return tuple(found.values())

    # -- shared pieces --

    def _host(self, node: Node) -> str:
        """A host of this scenario."""
        name = node.str(rule="a host name", example=shown(self.hosts[0]))
        if name not in self.hosts:
            if self.topology is not None and name in self.topology.hosts:
                node.fail(f"host {quote(name)} is not in this scenario's hosts; add it to hosts "
                          f"(hosts: {names(self.hosts)})")
            node.fail(f"unknown host {quote(name)}{did_you_mean(name, self.hosts)} (hosts: {names(self.hosts)})")
        return name

    def _program(self, node: Node, group: dict[str, Start] | None, *, in_checks: bool = False) -> str:
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

    def _timeout(self, m: Map, default: float | None = None) -> float:
        """A step's `timeout`, or `default` (the scenario's default timeout if not given)."""
        node = m.get("timeout")
        if node:
            return node.number(0, MAX_SECONDS, exclusive=True, example="10")
        return self.default_timeout if default is None else default

    def _placeholders(self, node: Node, text: str) -> None:
        """Every {HOST.ip} / {HOST.name} in `text` names a host of this scenario."""
        for m in _ANY_PLACEHOLDER.finditer(text):
            host, attr = m.group(1), m.group(2)
            if attr in ("ip", "name") and host not in self.hosts:
                node.fail(f"unknown host {quote(host)} in placeholder {shown(m.group(0))}; hosts: {names(self.hosts)}")
            if attr not in ("ip", "name") and host in self.hosts:
                node.fail(f"unknown placeholder {shown(m.group(0))}; write {{{shown(host)}.ip}} (its address) "
                          f"or {{{shown(host)}.name}} (its name)")

    def _regex(self, node: Node) -> str:
        """A regular expression; placeholders are checked, then it is compiled with them expanded."""
        text = node.str(rule="a regular expression (a non-empty string)", example="'^Bye bye Client 1!$'")
        self._placeholders(node, text)
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

    def _bounds(self, m: Map) -> Bounds:
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

    def _step(self, node: Node, group: dict[str, Start] | None) -> Step:
        """One step. `group` collects the programs started in the enclosing parallel group, if any."""
        m = node.mapping(ACTIONS + ("timeout",), rule="a mapping with one action key (" + ", ".join(ACTIONS) + ")",
                         example="{wait: {port: 5000, host: server}}")
        action = m.one_of(ACTIONS, "a step", example="{wait: {port: 5000, host: server}}")
        if "timeout" in m and action != "parallel":
            m["timeout"].fail(f"a timeout beside the action is only for parallel; put it inside the action, "
                              f"e.g. {{{action}: {{..., timeout: 5}}}}")
        body = m[action]
        where = body.where
        if action == "start":
            return self._start(body, where, group)
        if action == "send":
            return self._send(body, where, group)
        if action == "wait":
            return self._wait(body, where, group)
        if action == "netstat":
            return self._netstat(body, where)
        if action == "signal":
            return self._signal(body, where, group)
        if action == "stop":
            return self._stop(body, where, group)
        return self._parallel(body, m, where, group)

    def _start(self, node: Node, where: Where, group: dict[str, Start] | None) -> Start:
        m = node.mapping(("id", "host", "run", "timeout"), ("id", "host", "run"),
                         example=f"{{id: server, host: server, run: {_RUN_EXAMPLE}}}")
        pid = m["id"].str(rule=_ID_RULE, pattern=_ID, example="server")
        if pid in self.ids:
            m["id"].fail(f"program id {quote(pid)} is already used by the start step on line {self.ids[pid]}; "
                         "give each program its own id")
        host = self._host(m["host"])
        argv = self._argv(m["run"])
        start = Start(id=pid, host=host, argv=argv, timeout=self._timeout(m), where=where)
        self.ids[pid] = where.line
        (group if group is not None else self.started)[pid] = start
        return start

    def _argv(self, node: Node) -> tuple[str, ...]:
        """`run`: a list of arguments (numbers become strings), or one string split like a shell would."""
        if isinstance(node.value, str):
            self._no_nul(node, node.value)
            argv = node.shell_words(example=_RUN_EXAMPLE)
            if not argv:
                node.must("a non-empty list of arguments", _RUN_EXAMPLE)
            self._placeholders(node, node.value)
            return tuple(argv)
        argv = []
        for item in node.list(nonempty=True, example=_RUN_EXAMPLE):
            arg = item.text(example="'5000'")
            self._no_nul(item, arg)
            self._placeholders(item, arg)
            argv.append(arg)
        return tuple(argv)

    @staticmethod
    def _no_nul(node: Node, arg: str) -> None:
        """A program argument cannot hold a NUL character: no program could be given it."""
        if "\0" in arg:
            node.fail(f"a program's argument cannot hold a NUL character (\\x00, at position {arg.index(chr(0))}): no "
                      "program can be given one; remove it")

    def _send(self, node: Node, where: Where, group: dict[str, Start] | None) -> Send:
        m = node.mapping(("program", "lines", "line", "interval", "close", "timeout"), ("program",),
                         example="{program: client, lines: [hello, olá]}")
        program = self._program(m["program"], group)
        kind = m.one_of(("lines", "line"), "a send", example="{program: client, lines: [hello, olá]}")
        items = m["lines"].list(example="[hello, olá]") if kind == "lines" else [m["line"]]
        lines = []
        for item in items:
            line = item.text(example="hello")
            self._placeholders(item, line)
            lines.append(line)
        interval = m["interval"].number(0, MAX_SECONDS, example="0.5") if "interval" in m else 0.0
        close = m["close"].bool() if "close" in m else False
        if not lines and not close:
            m["lines"].fail("an empty list sends nothing; give at least one line, "
                            "or add close: true to only close the program's input")
        return Send(program=program, lines=tuple(lines), interval=interval, close=close,
                    timeout=self._timeout(m), where=where)

    def _wait(self, node: Node, where: Where, group: dict[str, Start] | None) -> WaitPort | WaitLog | WaitExit:
        allowed = ("port", "host", "proto", "log", "program", "stream", "count", "exit", "timeout")
        m = node.mapping(allowed, example="{port: 5000, host: server}")
        kind = m.one_of(tuple(WAIT_KEYS), "a wait", example="{port: 5000, host: server}")
        takes = (kind, *WAIT_KEYS[kind], "timeout")
        for key in m.keys():
            if key not in takes:
                m[key].fail(f"'{key}' does not go with {kind} (a wait for {kind} takes: {', '.join(takes)})")
        for key in WAIT_REQUIRED[kind]:
            if key not in m:
                node.fail(f"missing required key '{key}' (a wait for {kind} needs: {kind}, {key})")
        timeout = self._timeout(m)
        if kind == "port":
            port = m["port"].int(1, 65535, example="5000")
            host = self._host(m["host"])
            proto = m["proto"].choice(PROTOS) if "proto" in m else "tcp"
            return WaitPort(host=host, proto=proto, port=port, timeout=timeout, where=where)
        if kind == "log":
            pattern = self._regex(m["log"])
            program = self._program(m["program"], group)
            stream = m["stream"].choice(STREAMS) if "stream" in m else "both"
            count = m["count"].int(1, MAX_COUNT, example="1") if "count" in m else 1
            return WaitLog(program=program, pattern=pattern, stream=stream, count=count, timeout=timeout,
                           where=where)
        status = self._exit_status(m["exit"], allow_any=True)
        program = self._program(m["program"], group)
        return WaitExit(program=program, status=status, timeout=timeout, where=where)

    def _exit_status(self, node: Node, *, allow_any: bool) -> int | str | None:
        """An exit status 0..255, or the word nonzero (or any, for a wait)."""
        if allow_any and node.value == "any":
            return None
        if node.value == NONZERO:
            return NONZERO
        return node.int(0, 255, example="0",
                        rule="an exit status from 0 to 255, nonzero, or any" if allow_any
                        else "an exit status from 0 to 255, or nonzero")

    def _netstat(self, node: Node, where: Where) -> Netstat:
        m = node.mapping(("host", "name", "timeout"), ("host", "name"), example="{host: server, name: connected}")
        host = self._host(m["host"])
        name = m["name"].str(rule=_ID_RULE, pattern=_ID, example="connected")
        if name in self.snapshots:
            m["name"].fail(f"snapshot name {quote(name)} is already taken by the netstat step on line "
                           f"{self.snapshots[name]}; give each snapshot its own name")
        self.snapshots[name] = where.line
        return Netstat(host=host, name=name, timeout=self._timeout(m), where=where)

    def _signal(self, node: Node, where: Where, group: dict[str, Start] | None) -> Signal:
        m = node.mapping(("program", "signal", "timeout"), ("program", "signal"),
                         example="{program: client, signal: SIGINT}")
        program = self._program(m["program"], group)
        signal = m["signal"].choice(SIGNALS)
        return Signal(program=program, signal=signal, timeout=self._timeout(m), where=where)

    def _stop(self, node: Node, where: Where, group: dict[str, Start] | None) -> Stop:
        m = node.mapping(("program", "timeout"), ("program",), example="{program: server}")
        return Stop(program=self._program(m["program"], group), timeout=self._timeout(m), where=where)

    def _parallel(self, node: Node, step: Map, where: Where, group: dict[str, Start] | None) -> Parallel:
        """Steps played at once. Their programs become available after the group; its timeout defaults to
        the longest of its steps' timeouts."""
        if group is not None:
            node.fail("a parallel group may not contain another parallel; list those steps in this group")
        mine: dict[str, Start] = {}
        steps = tuple(self._step(item, mine) for item in
                      node.list(nonempty=True, example="[{start: {...}}, {start: {...}}]"))
        self.started.update(mine)
        return Parallel(steps=steps, timeout=self._timeout(step, max(s.timeout for s in steps)), where=where)

    # -- checks --

    def _check(self, node: Node) -> Check:
        m = node.mapping(("name", "points", "judges") + CHECK_KINDS, ("name",),
                         example="{name: server exits cleanly, exit: {program: server, status: 0}}")
        name = m["name"].str(example="'server exits cleanly'")
        if name in self.check_names:
            m["name"].fail(f"check name {quote(name)} is already used by the check on line {self.check_names[name]}; "
                           "give each check its own name")
        self.check_names[name] = node.line
        points = m["points"].number(0, MAX_POINTS, example="1") if "points" in m else 1.0
        kind = m.one_of(CHECK_KINDS, "a check", example="{exit: {program: server, status: 0}}")
        body = m[kind]
        if kind == "log":
            spec: LogCheck | SocketCheck | CaptureCheck | ExitCheck = self._log_check(body)
        elif kind == "socket":
            spec = self._socket_check(body)
        elif kind == "capture":
            spec = self._capture_check(body)
        else:
            em = body.mapping(("program", "status"), ("program", "status"), example="{program: server, status: 0}")
            spec = ExitCheck(program=self._program(em["program"], None, in_checks=True),
                             status=self._exit_status(em["status"], allow_any=True))
        return Check(name=name, points=points, spec=spec, where=node.where, judges=self._judges(m, kind, spec))

    def _judges(self, m: Map, kind: str, spec: LogCheck | SocketCheck | CaptureCheck | ExitCheck) -> str:
        """`judges`: the program whose behaviour the check judges. A check on one program's output or exit
        judges that program unless it says otherwise; a check on a host's output, the sockets or the packets
        must say (what a socket or a packet shows may be either side's doing)."""
        if "judges" in m:
            return self._program(m["judges"], None, in_checks=True)
        subject = getattr(spec, "program", None)
        if subject:
            return subject
        what = {"log": "a log check on a host", "socket": "a socket check", "capture": "a capture check"}[kind]
        programs = ", ".join(self.started) or "none"
        m.node.fail(f"{what} must say which program's behaviour it judges, e.g. judges: "
                    f"{next(iter(self.started), 'server')} (programs: {programs}); in grading it is judged in "
                    "the run where that program is the student's")

    def _log_check(self, node: Node) -> LogCheck:
        m = node.mapping(("program", "host", "match", "sequence", "stream", "before", "count", "min", "max"),
                         example="{program: server, match: '^Bye', count: 1}")
        who = m.one_of(("program", "host"), "a log check", example="program: server")
        program = self._program(m["program"], None, in_checks=True) if who == "program" else None
        host = self._host(m["host"]) if who == "host" else None
        what = m.one_of(("match", "sequence"), "a log check", example="match: '^Bye'")
        pattern, sequence = None, ()
        if what == "match":
            pattern = self._regex(m["match"])
        else:
            sequence = tuple(self._regex(item) for item in
                             m["sequence"].list(nonempty=True, example="['^Connected', '^Bye']"))
            for key in ("count", "min", "max"):
                if key in m:
                    m[key].fail(f"{key} goes with match, not with sequence (a sequence passes when each of "
                                "its regexes matches a line, in order)")
        stream = m["stream"].choice(STREAMS) if "stream" in m else "both"
        before = self._snapshot_name(m["before"]) if "before" in m else None
        return LogCheck(program=program, host=host, pattern=pattern, sequence=sequence, stream=stream,
                        bounds=self._bounds(m), before=before)

    def _socket_check(self, node: Node) -> SocketCheck:
        m = node.mapping(("snapshot", "proto", "local", "remote", "state", "count", "min", "max"), ("snapshot",),
                         example="{snapshot: connected, proto: tcp, local: '{server.ip}:5000', state: LISTEN}")
        snapshot = self._snapshot_name(m["snapshot"])
        proto = m["proto"].choice(PROTOS) if "proto" in m else None
        local = self._endpoint(m["local"]) if "local" in m else None
        remote = self._endpoint(m["remote"]) if "remote" in m else None
        state = m["state"].choice(STATES) if "state" in m else None
        return SocketCheck(snapshot=snapshot, proto=proto, local=local, remote=remote, state=state,
                           bounds=self._bounds(m))

    def _snapshot_name(self, node: Node) -> str:
        """The name of a snapshot some netstat step takes."""
        snapshot = node.str(rule="the name of a netstat snapshot", example="connected")
        if snapshot not in self.snapshots:
            taken = names(self.snapshots) or "none; take one with a netstat step"
            node.fail(f"no netstat step takes a snapshot named {quote(snapshot)}"
                      f"{did_you_mean(snapshot, self.snapshots)} (snapshots: {taken})")
        return snapshot

    def _endpoint(self, node: Node) -> str:
        """'ADDR:PORT' as netstat shows it: ADDR is *, an IPv4 address or {host.ip}; PORT is * or a number."""
        text = node.str(rule=_ENDPOINT_RULE, example="'{server.ip}:5000'")
        self._placeholders(node, text)
        addr, _, port = text.rpartition(":")
        addr_ok = addr == "*" or is_ipv4(addr) or bool((p := PLACEHOLDER.fullmatch(addr)) and p.group(2) == "ip")
        port_ok = port == "*" or bool(_PORT.fullmatch(port) and 1 <= int(port) <= 65535)
        if not (addr_ok and port_ok):
            node.must(_ENDPOINT_RULE, "'{server.ip}:5000'")
        return text

    def _capture_check(self, node: Node) -> CaptureCheck:
        m = node.mapping(("filter", "count", "min", "max"), ("filter",), example=f"{{filter: {_FILTER_EXAMPLE}}}")
        text = m["filter"].str(rule="a Wireshark display filter (a non-empty string)", example=_FILTER_EXAMPLE)
        bad = _LINE_BREAK.search(text)
        if bad:
            hint = (" (a block scalar, | or >, ends with a line break: write |- or >-)"
                    if bad.group() == "\n" and bad.start() == len(text) - 1 else "")
            m["filter"].fail(f"a display filter is one line, without control characters: found {shown(bad.group())} at "
                             f"position {bad.start()}{hint}")
        self._placeholders(m["filter"], text)
        self.filters.append((m["filter"], expand(text, self.dummy)))
        return CaptureCheck(filter=text, bounds=self._bounds(m))

    def _check_filters(self) -> None:
        """Ask the filter checker (tshark) once about every display filter; report the first bad one."""
        if self.filter_checker is None or not self.filters:
            return
        errors = self.filter_checker(list(dict.fromkeys(text for _, text in self.filters)))
        for node, text in self.filters:
            if text in errors:
                node.fail(f"invalid Wireshark display filter: {errors[text].strip()} "
                          f"(write it as in Wireshark's filter bar, e.g. {_FILTER_EXAMPLE})")
