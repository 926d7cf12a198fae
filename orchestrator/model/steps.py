"""The steps of the scenario language, one class per kind: its data (frozen), its YAML keys, how it is read
from a file (`parse`), what it says in a report (`describe`), and how a run plays it (`play`). A new kind of
step is one class here, listed in steplist.STEP_KINDS (or WAIT_KINDS), and its section in scenarios/README.md:
nothing else dispatches on the kinds. What grading or judging asks of a step (the programs it starts, the
ports it names, the snapshot it takes, the signals it sends) is a method of StepKind, which every kind
answers for itself (no isinstance on a kind outside this module: tests/unit/test_architecture.py).

`parse` reads through the scenario's reader (StepReader, implemented in scenario.py: hosts, program ids, timeouts, regexes and
placeholders are checked there, the same for every kind) and raises ScenarioError at the node at fault.
`play` acts through a Player: one of its verbs per kind (verbs.Verbs implements them over a run); the model
imports nothing of the player, and no step touches the engine.
The data stays plain: a Scenario is built from these classes without any I/O.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, Union

from ..base.text import quote
from .document import Map, Node, Where
from .stepvalues import ID, ID_RULE, MAX_COUNT, MAX_SECONDS, NONZERO, PROTOS, RUN_EXAMPLE, SIGNALS, STREAMS


class StepReader(Protocol):
    """What a step kind's `parse` may ask of the scenario's reader (scenario.py implements it): the names a
    scenario defines so far and the values every kind reads the same way, each checked at its node."""

    started: dict[str, Start]  # programs available to later steps, by id
    ids: dict[str, int | None]  # every program id -> line of its start step
    snapshots: dict[str, int | None]  # netstat snapshot name -> line

    def host(self, node: Node) -> str: ...

    def program(self, node: Node, group: dict[str, Start] | None, *, in_checks: bool = False) -> str: ...

    def timeout(self, m: Map, default: float | None = None) -> float: ...

    def placeholders(self, node: Node, text: str) -> None: ...

    def regex(self, node: Node) -> str: ...

    def argv(self, node: Node) -> tuple[str, ...]: ...

    def exit_status(self, node: Node, *, allow_any: bool) -> int | str | None: ...

    def step(self, node: Node, group: dict[str, Start] | None) -> Step: ...


class Player(Protocol):
    """The verbs a step may use to play itself: what the scenario language can make a run do, and nothing
    else. The player (verbs.Verbs, over a runner.Run) expands placeholders, waits patiently and records;
    a failure is raised as StepFailed or WaitTimeout (errors.py), with what was awaited and what was seen."""

    def start(self, program: str, host: str, argv: Sequence[str], timeout: float) -> None: ...

    def send(self, program: str, lines: Sequence[str], interval: float, close: bool, timeout: float) -> None: ...

    def wait_port(self, host: str, proto: str, port: int, timeout: float) -> None: ...

    def wait_line(self, program: str, pattern: str, stream: str, count: int, timeout: float) -> None: ...

    def wait_exit(self, program: str, status: int | str | None, timeout: float) -> None: ...

    def snapshot(self, host: str, name: str, timeout: float) -> None: ...

    def signal(self, program: str, signal: str, timeout: float) -> None: ...

    def stop(self, program: str, timeout: float) -> None: ...

    def together(self, steps: Sequence[Step], key: str) -> None: ...

#: Programs started in the enclosing parallel group (None outside one): id -> its Start step.
Group = Union[dict[str, "Start"], None]

#: A signal a step sends: (the program's id, the signal's name, e.g. 'SIGINT').
Sent = tuple[str, str]


class StepKind:
    """What every kind of step answers about itself, for grading and judging; each default is "none", and a
    kind that has one overrides it. A step answers for itself only: a parallel group's steps answer for
    themselves (keyed_steps lists them after the group, through `substeps`)."""

    def substeps(self) -> tuple[Step, ...]:
        """The steps played within this one (a parallel group's)."""
        return ()

    def starts(self) -> tuple[Start, ...]:
        """The programs this step starts."""
        return ()

    def ports_named(self) -> set[int]:
        """The ports this step names: one it waits for, or a program's argument that is a port number."""
        return set()

    def snapshot_name(self) -> str | None:
        """The name of the netstat snapshot this step takes, if it takes one."""
        return None

    def snapshot_host(self) -> str | None:
        """The host whose sockets this step looks at (its netstat snapshot's), if any."""
        return None

    def signals(self) -> tuple[Sent, ...]:
        """The signals this step sends: (program, signal) each."""
        return ()


# Every step has a timeout (seconds) and a `where`. Programs are named by an `id` unique in the scenario;
# hosts by their name in compose.yaml.


@dataclass(frozen=True)
class Start(StepKind):
    """Start a program on a host. argv[0] is a program in the programs folder (run with python3 -u)
    or an absolute path of a command in the image; the rest are its arguments (placeholders allowed)."""

    ACTION: ClassVar[str] = "start"
    id: str
    host: str
    argv: tuple[str, ...]
    timeout: float
    where: Where

    @classmethod
    def parse(cls, r: StepReader, node: Node, where: Where, group: Group, step: Map) -> Start:
        m = node.mapping(("id", "host", "run", "timeout"), ("id", "host", "run"),
                         example=f"{{id: server, host: server, run: {RUN_EXAMPLE}}}")
        pid = m["id"].str(rule=ID_RULE, pattern=ID, example="server")
        if pid in r.ids:
            m["id"].fail(f"program id {quote(pid)} is already used by the start step on line {r.ids[pid]}; "
                         "give each program its own id")
        start = cls(id=pid, host=r.host(m["host"]), argv=r.argv(m["run"]), timeout=r.timeout(m), where=where)
        r.ids[pid] = where.line
        (group if group is not None else r.started)[pid] = start
        return start

    def describe(self) -> str:
        return f"start {self.id} on {self.host}: {' '.join(self.argv)}"

    def play(self, player: Player, timeout: float, key: str) -> None:
        player.start(self.id, self.host, self.argv, timeout)

    def starts(self) -> tuple[Start, ...]:
        return (self,)

    def ports_named(self) -> set[int]:
        return {int(a) for a in self.argv if a.isdigit() and 0 < int(a) < 65536}


@dataclass(frozen=True)
class Send(StepKind):
    """Write lines to a program's stdin (each followed by a newline), `interval` seconds apart, each once the
    play's programs are still (Run.settle_all: as a person types); with close=True, close its stdin
    afterwards (end of input, like Ctrl-D)."""

    ACTION: ClassVar[str] = "send"
    program: str
    lines: tuple[str, ...]
    interval: float
    close: bool
    timeout: float
    where: Where

    @classmethod
    def parse(cls, r: StepReader, node: Node, where: Where, group: Group, step: Map) -> Send:
        m = node.mapping(("program", "lines", "line", "interval", "close", "timeout"), ("program",),
                         example="{program: client, lines: [hello, olá]}")
        program = r.program(m["program"], group)
        kind = m.one_of(("lines", "line"), "a send", example="{program: client, lines: [hello, olá]}")
        items = m["lines"].list(example="[hello, olá]") if kind == "lines" else [m["line"]]
        lines = []
        for item in items:
            line = item.text(example="hello")
            r.placeholders(item, line)
            lines.append(line)
        interval = m["interval"].number(0, MAX_SECONDS, example="0.5") if "interval" in m else 0.0
        close = m["close"].bool() if "close" in m else False
        if not lines and not close:
            m["lines"].fail("an empty list sends nothing; give at least one line, "
                            "or add close: true to only close the program's input")
        return cls(program=program, lines=tuple(lines), interval=interval, close=close, timeout=r.timeout(m),
                   where=where)

    def describe(self) -> str:
        return f"send {len(self.lines)} line(s) to {self.program}" + (" and close its input" if self.close else "")

    def play(self, player: Player, timeout: float, key: str) -> None:
        player.send(self.program, self.lines, self.interval, self.close, timeout)


# ---- wait: one action, three forms (a port, a log line, an exit) -----------------------------------


@dataclass(frozen=True)
class WaitPort(StepKind):
    """Wait until a socket is bound on `host`: proto 'tcp' (listening) or 'udp', on `port`."""

    ACTION: ClassVar[str] = "wait"
    FORM: ClassVar[str] = "port"
    TAKES: ClassVar[tuple[str, ...]] = ("host", "proto")  # besides its form's key and timeout
    REQUIRED: ClassVar[tuple[str, ...]] = ("host",)
    host: str
    proto: str
    port: int
    timeout: float
    where: Where

    @classmethod
    def parse(cls, r: StepReader, m: Map, where: Where, group: Group) -> WaitPort:
        port = m["port"].int(1, 65535, example="5000")
        host = r.host(m["host"])
        proto = m["proto"].choice(PROTOS) if "proto" in m else "tcp"
        return cls(host=host, proto=proto, port=port, timeout=r.timeout(m), where=where)

    def describe(self) -> str:
        return f"wait for {self.proto} port {self.port} on {self.host}"

    def play(self, player: Player, timeout: float, key: str) -> None:
        player.wait_port(self.host, self.proto, self.port, timeout)

    def ports_named(self) -> set[int]:
        return {self.port}


@dataclass(frozen=True)
class WaitLog(StepKind):
    """Wait until a program's output has `count` lines matching the regex `pattern` (placeholders allowed);
    stream is 'stdout', 'stderr' or 'both'."""

    ACTION: ClassVar[str] = "wait"
    FORM: ClassVar[str] = "log"
    TAKES: ClassVar[tuple[str, ...]] = ("program", "stream", "count")
    REQUIRED: ClassVar[tuple[str, ...]] = ("program",)
    program: str
    pattern: str
    stream: str
    count: int
    timeout: float
    where: Where

    @classmethod
    def parse(cls, r: StepReader, m: Map, where: Where, group: Group) -> WaitLog:
        pattern = r.regex(m["log"])
        program = r.program(m["program"], group)
        stream = m["stream"].choice(STREAMS) if "stream" in m else "both"
        count = m["count"].int(1, MAX_COUNT, example="1") if "count" in m else 1
        return cls(program=program, pattern=pattern, stream=stream, count=count, timeout=r.timeout(m), where=where)

    def describe(self) -> str:
        return f"wait for /{self.pattern}/ from {self.program}"

    def play(self, player: Player, timeout: float, key: str) -> None:
        player.wait_line(self.program, self.pattern, self.stream, self.count, timeout)


@dataclass(frozen=True)
class WaitExit(StepKind):
    """Wait until a program exits; with `status` set, a different exit status fails the step."""

    ACTION: ClassVar[str] = "wait"
    FORM: ClassVar[str] = "exit"
    TAKES: ClassVar[tuple[str, ...]] = ("program",)
    REQUIRED: ClassVar[tuple[str, ...]] = ("program",)
    program: str
    status: int | str | None  # a number, NONZERO, or None (any)
    timeout: float
    where: Where

    @classmethod
    def parse(cls, r: StepReader, m: Map, where: Where, group: Group) -> WaitExit:
        status = r.exit_status(m["exit"], allow_any=True)
        return cls(program=r.program(m["program"], group), status=status, timeout=r.timeout(m), where=where)

    def describe(self) -> str:
        return f"wait for {self.program} to exit" + (
            "" if self.status is None else " with a non-zero status" if self.status == NONZERO
            else f" with status {self.status}")

    def play(self, player: Player, timeout: float, key: str) -> None:
        player.wait_exit(self.program, self.status, timeout)


WAIT_KINDS: dict[str, type[WaitPort] | type[WaitLog] | type[WaitExit]] = {
    k.FORM: k for k in (WaitPort, WaitLog, WaitExit)}


class Wait:
    """The `wait` action: the one of its forms (WAIT_KINDS) whose key it has; each form takes its own keys."""

    ACTION: ClassVar[str] = "wait"

    @staticmethod
    def parse(r: StepReader, node: Node, where: Where, group: Group, step: Map) -> WaitPort | WaitLog | WaitExit:
        allowed = tuple(dict.fromkeys(k for form, kind in WAIT_KINDS.items() for k in (form, *kind.TAKES)))
        m = node.mapping(allowed + ("timeout",), example="{port: 5000, host: server}")
        form = m.one_of(tuple(WAIT_KINDS), "a wait", example="{port: 5000, host: server}")
        kind = WAIT_KINDS[form]
        takes = (form, *kind.TAKES, "timeout")
        for key in m.keys():
            if key not in takes:
                m[key].fail(f"'{key}' does not go with {form} (a wait for {form} takes: {', '.join(takes)})")
        for key in kind.REQUIRED:
            if key not in m:
                node.fail(f"missing required key '{key}' (a wait for {form} needs: {form}, {key})")
        return kind.parse(r, m, where, group)


# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Netstat(StepKind):
    """Take a `netstat -tuna` snapshot on `host`, kept under `name` for socket checks."""

    ACTION: ClassVar[str] = "netstat"
    host: str
    name: str
    timeout: float
    where: Where

    @classmethod
    def parse(cls, r: StepReader, node: Node, where: Where, group: Group, step: Map) -> Netstat:
        m = node.mapping(("host", "name", "timeout"), ("host", "name"), example="{host: server, name: connected}")
        host = r.host(m["host"])
        name = m["name"].str(rule=ID_RULE, pattern=ID, example="connected")
        if name in r.snapshots:
            m["name"].fail(f"snapshot name {quote(name)} is already taken by the netstat step on line "
                           f"{r.snapshots[name]}; give each snapshot its own name")
        r.snapshots[name] = where.line
        return cls(host=host, name=name, timeout=r.timeout(m), where=where)

    def describe(self) -> str:
        return f"netstat on {self.host} as '{self.name}'"

    def play(self, player: Player, timeout: float, key: str) -> None:
        player.snapshot(self.host, self.name, timeout)

    def snapshot_name(self) -> str | None:
        return self.name

    def snapshot_host(self) -> str | None:
        return self.host


@dataclass(frozen=True)
class Signal(StepKind):
    """Send a signal (e.g. 'SIGINT', as a person's Ctrl-C) to a program, once it has been quiet and asleep
    (runner.SETTLE)."""

    ACTION: ClassVar[str] = "signal"
    program: str
    signal: str
    timeout: float
    where: Where

    @classmethod
    def parse(cls, r: StepReader, node: Node, where: Where, group: Group, step: Map) -> Signal:
        m = node.mapping(("program", "signal", "timeout"), ("program", "signal"),
                         example="{program: client, signal: SIGINT}")
        program = r.program(m["program"], group)
        return cls(program=program, signal=m["signal"].choice(SIGNALS), timeout=r.timeout(m), where=where)

    def describe(self) -> str:
        return f"send {self.signal} to {self.program}"

    def play(self, player: Player, timeout: float, key: str) -> None:
        player.signal(self.program, self.signal, timeout)

    def signals(self) -> tuple[Sent, ...]:
        return ((self.program, self.signal),)


@dataclass(frozen=True)
class Stop(StepKind):
    """Stop a program: SIGTERM, then SIGKILL if it has not exited within the timeout."""

    ACTION: ClassVar[str] = "stop"
    program: str
    timeout: float
    where: Where

    @classmethod
    def parse(cls, r: StepReader, node: Node, where: Where, group: Group, step: Map) -> Stop:
        m = node.mapping(("program", "timeout"), ("program",), example="{program: server}")
        return cls(program=r.program(m["program"], group), timeout=r.timeout(m), where=where)

    def describe(self) -> str:
        return f"stop {self.program}"

    def play(self, player: Player, timeout: float, key: str) -> None:
        player.stop(self.program, timeout)


@dataclass(frozen=True)
class Parallel(StepKind):
    """Play several steps at once (e.g. start three clients); done when all are done. Their programs
    become available after the group; its timeout defaults to the longest of its steps' timeouts."""

    ACTION: ClassVar[str] = "parallel"
    steps: tuple["Step", ...]
    timeout: float
    where: Where

    @classmethod
    def parse(cls, r: StepReader, node: Node, where: Where, group: Group, step: Map) -> Parallel:
        if group is not None:
            node.fail("a parallel group may not contain another parallel; list those steps in this group")
        mine: dict[str, Start] = {}
        steps = tuple(r.step(item, mine) for item in
                      node.list(nonempty=True, example="[{start: {...}}, {start: {...}}]"))
        r.started.update(mine)
        return cls(steps=steps, timeout=r.timeout(step, max(s.timeout for s in steps)), where=where)

    def describe(self) -> str:
        return f"{len(self.steps)} steps at once"

    def play(self, player: Player, timeout: float, key: str) -> None:
        player.together(self.steps, key)

    def substeps(self) -> tuple[Step, ...]:
        return self.steps


Step = Union[Start, Send, WaitPort, WaitLog, WaitExit, Netstat, Signal, Stop, Parallel]


__all__ = ["Player", "StepReader", "StepKind", "Sent", "Start", "Send", "WaitPort", "WaitLog", "WaitExit", "Netstat",
           "Signal", "Stop", "Parallel", "Step", "Wait", "WAIT_KINDS", "Group"]
