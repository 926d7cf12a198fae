"""The checks of the scenario language, one record per kind: its data (frozen), its YAML keys, how it is read
from a file (`parse`) and whether inaction could pass it (`vacuous`). Plain data: how a kind is judged is
its judge's (judges.py, in the layer above, beside what judging uses). A new kind of check is one record
here, listed in CHECK_KINDS, its judge, and its section in scenarios/README.md. What the scenario or
grading asks of a check's kind (the display filters it uses) is a method of CheckKind, which every kind
answers for itself (no isinstance on a kind outside this module: tests/unit/test_architecture.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Protocol, Union

from ..base.placeholders import expand
from .steps import StepReader
from .stepvalues import PROTOS, STREAMS
from ..base.text import quote, shown
from .document import Map, Node, Where

MAX_POINTS = 1000.0
ABSENCE = "an absence (a count that accepts 0)"
#: netstat's spelling of TCP states (with an underscore, unlike ss).
STATES = ("LISTEN", "ESTABLISHED", "TIME_WAIT", "CLOSE_WAIT", "FIN_WAIT1", "FIN_WAIT2", "SYN_SENT",
          "SYN_RECV", "LAST_ACK", "CLOSING", "CLOSE")
#: What a display filter, one line of Wireshark's filter bar, cannot hold: control characters (a newline, a
#: NUL that would end it early for tshark) and Unicode's line and paragraph separators.
LINE_BREAK = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
FILTER_EXAMPLE = "'tcp.port==5000 && ip.src=={client.ip}'"


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


class CheckReader(StepReader, Protocol):
    """What a check kind's `parse` may ask of the scenario's reader (scenario.py implements it), besides what
    a step's may (StepReader): the checks and filters read so far, and the values only checks have."""

    check_names: dict[str, int | None]  # every check's name -> its line
    filters: list[tuple[Node, str]]  # capture filter nodes and their text, placeholders expanded with `dummy`
    requires: list[tuple[str, list[Node]]]  # a check's name and the nodes of its `requires`
    dummy: dict[str, str]  # host -> a made-up address, to expand placeholders for checking

    def bounds(self, m: Map) -> Bounds: ...

    def snapshot_name(self, node: Node) -> str: ...

    def endpoint(self, node: Node) -> str: ...


class CheckKind:
    """What every kind of check answers about itself; each default is "none", and a kind that has one
    overrides it."""

    def capture_filters(self) -> tuple[str, ...]:
        """The Wireshark display filters this check counts packets with (placeholders unexpanded)."""
        return ()


@dataclass(frozen=True)
class LogCheck(CheckKind):
    """Lines of output matching regexes (placeholders allowed), of one program or of every program on a host.

    With `pattern`: the number of matching lines must be within `bounds`.
    With `sequence`: each regex must match a line, in this order (other lines may come between).
    With `before`: only the lines that came before the named netstat snapshot was taken count (what the
    programs said while the scenario held them in that state, e.g. three clients connected at once)."""

    KIND: ClassVar[str] = "log"
    #: what it is, to ask which program it judges when it cannot tell by itself
    SUBJECT: ClassVar[str] = "a log check on a host"

    program: str | None
    host: str | None
    pattern: str | None
    sequence: tuple[str, ...]
    stream: str
    bounds: Bounds
    before: str | None = None

    @classmethod
    def parse(cls, r: CheckReader, node: Node) -> LogCheck:
        m = node.mapping(("program", "host", "match", "sequence", "stream", "before", "count", "min", "max"),
                         example="{program: server, match: '^Bye', count: 1}")
        who = m.one_of(("program", "host"), "a log check", example="program: server")
        program = r.program(m["program"], None, in_checks=True) if who == "program" else None
        host = r.host(m["host"]) if who == "host" else None
        what = m.one_of(("match", "sequence"), "a log check", example="match: '^Bye'")
        pattern, sequence = None, ()
        if what == "match":
            pattern = r.regex(m["match"])
        else:
            sequence = tuple(r.regex(item) for item in
                             m["sequence"].list(nonempty=True, example="['^Connected', '^Bye']"))
            for key in ("count", "min", "max"):
                if key in m:
                    m[key].fail(f"{key} goes with match, not with sequence (a sequence passes when each of "
                                "its regexes matches a line, in order)")
        stream = m["stream"].choice(STREAMS) if "stream" in m else "both"
        before = r.snapshot_name(m["before"]) if "before" in m else None
        return cls(program=program, host=host, pattern=pattern, sequence=sequence, stream=stream,
                   bounds=r.bounds(m), before=before)

    def vacuous(self, signalled: set[str]) -> str | None:
        """'an absence' when a count of 0 lines would pass (what a program that does nothing shows), else None."""
        return ABSENCE if self.pattern is not None and self.bounds.accepts(0) else None


@dataclass(frozen=True)
class SocketCheck(CheckKind):
    """Rows of a named netstat snapshot that match: proto ('tcp'/'udp'), local and remote 'ADDR:PORT'
    (either part may be '*'; placeholders allowed), state (e.g. 'ESTABLISHED'); None matches anything."""

    KIND: ClassVar[str] = "socket"
    #: what it is, to ask which program it judges when it cannot tell by itself
    SUBJECT: ClassVar[str] = "a socket check"

    snapshot: str
    proto: str | None
    local: str | None
    remote: str | None
    state: str | None
    bounds: Bounds

    @classmethod
    def parse(cls, r: CheckReader, node: Node) -> SocketCheck:
        m = node.mapping(("snapshot", "proto", "local", "remote", "state", "count", "min", "max"), ("snapshot",),
                         example="{snapshot: connected, proto: tcp, local: '{server.ip}:5000', state: LISTEN}")
        snapshot = r.snapshot_name(m["snapshot"])
        proto = m["proto"].choice(PROTOS) if "proto" in m else None
        local = r.endpoint(m["local"]) if "local" in m else None
        remote = r.endpoint(m["remote"]) if "remote" in m else None
        state = m["state"].choice(STATES) if "state" in m else None
        return cls(snapshot=snapshot, proto=proto, local=local, remote=remote, state=state, bounds=r.bounds(m))

    def vacuous(self, signalled: set[str]) -> str | None:
        """'an absence' when a count of 0 would pass (what a program that does nothing shows), else None."""
        return ABSENCE if self.bounds.accepts(0) else None


@dataclass(frozen=True)
class CaptureCheck(CheckKind):
    """Packets of the run's capture matching a Wireshark display filter (placeholders allowed),
    counted by tshark."""

    KIND: ClassVar[str] = "capture"
    #: what it is, to ask which program it judges when it cannot tell by itself
    SUBJECT: ClassVar[str] = "a capture check"

    filter: str
    bounds: Bounds

    @classmethod
    def parse(cls, r: CheckReader, node: Node) -> CaptureCheck:
        m = node.mapping(("filter", "count", "min", "max"), ("filter",), example=f"{{filter: {FILTER_EXAMPLE}}}")
        text = m["filter"].str(rule="a Wireshark display filter (a non-empty string)", example=FILTER_EXAMPLE)
        bad = LINE_BREAK.search(text)
        if bad:
            hint = (" (a block scalar, | or >, ends with a line break: write |- or >-)"
                    if bad.group() == "\n" and bad.start() == len(text) - 1 else "")
            m["filter"].fail(f"a display filter is one line, without control characters: found {shown(bad.group())} at "
                             f"position {bad.start()}{hint}")
        r.placeholders(m["filter"], text)
        r.filters.append((m["filter"], expand(text, r.dummy)))
        return cls(filter=text, bounds=r.bounds(m))

    def capture_filters(self) -> tuple[str, ...]:
        return (self.filter,)

    def vacuous(self, signalled: set[str]) -> str | None:
        """'an absence' when a count of 0 would pass (what a program that does nothing shows), else None."""
        return ABSENCE if self.bounds.accepts(0) else None


@dataclass(frozen=True)
class ExitCheck(CheckKind):
    """A program's exit status; None (written `any`): that it ended by itself before the run's end;
    NONZERO: that it ended by itself with a status from 1 to 255."""

    KIND: ClassVar[str] = "exit"
    #: what it is, to ask which program it judges when it cannot tell by itself
    SUBJECT: ClassVar[str] = "an exit check"

    program: str
    status: int | str | None

    @classmethod
    def parse(cls, r: CheckReader, node: Node) -> ExitCheck:
        m = node.mapping(("program", "status"), ("program", "status"), example="{program: server, status: 0}")
        return cls(program=r.program(m["program"], None, in_checks=True),
                   status=r.exit_status(m["status"], allow_any=True))

    def vacuous(self, signalled: set[str]) -> str | None:
        """'an exit check' unless the scenario signals the program (then it depends on the signal having
        come while the program ran: _signal_missed)."""
        return None if self.program in signalled else "an exit check"


Spec = Union[LogCheck, SocketCheck, CaptureCheck, ExitCheck]
#: The kinds of check, by their YAML key, in the order scenarios/README.md lists them.
CHECK_KINDS = {k.KIND: k for k in (LogCheck, SocketCheck, CaptureCheck, ExitCheck)}


@dataclass(frozen=True)
class Check:
    name: str
    points: float
    spec: Spec
    where: Where
    #: the id of the program whose behaviour the check judges: in grading, the check is judged in the run
    #: where that program is the student's and every other one the lab's reference (README, Grading)
    judges: str = ""
    #: the names of the checks (of the same scenario, judging the same program) that must pass for this one to
    #: earn its points: an absence ("resets nothing") or an exit status counts only for a program that did the
    #: behaviour it is about (scenarios/README.md, requires)
    requires: tuple[str, ...] = ()

    def vacuous(self, signalled: set[str]) -> str | None:
        """Why inaction, a crash or an early exit could pass this check on its own, when it has points and
        no `requires` (what `validate` warns about), or None. `signalled`: the programs the scenario signals."""
        if self.points <= 0 or self.requires:
            return None
        return self.spec.vacuous(signalled)


def parse_check(r: CheckReader, node: Node) -> Check:
    """One check: a name, points (default 1), the program it judges, and exactly one kind's key."""
    kinds = tuple(CHECK_KINDS)
    m = node.mapping(("name", "points", "judges", "requires") + kinds, ("name",),
                     example="{name: server exits cleanly, exit: {program: server, status: 0}}")
    name = m["name"].str(example="'server exits cleanly'")
    if name in r.check_names:
        m["name"].fail(f"check name {quote(name)} is already used by the check on line {r.check_names[name]}; "
                       "give each check its own name")
    r.check_names[name] = node.line
    points = m["points"].number(0, MAX_POINTS, example="1") if "points" in m else 1.0
    kind = m.one_of(kinds, "a check", example="{exit: {program: server, status: 0}}")
    spec = CHECK_KINDS[kind].parse(r, m[kind])
    requires: tuple[str, ...] = ()
    if "requires" in m:
        node_r = m["requires"]
        if not isinstance(node_r.value, (str, list)):
            node_r.must("the name of another check of this scenario, or a list of names",
                        "['each answer travels server to client']")
        items = [node_r] if isinstance(node_r.value, str) else node_r.list(
            nonempty=True, example="['each answer travels server to client']")
        requires = tuple(item.str(rule="the name of another check of this scenario",
                                  example="'each answer travels server to client'") for item in items)
        r.requires.append((name, items))
    return Check(name=name, points=points, spec=spec, where=node.where, judges=_judges(r, m, spec),
                 requires=requires)


def _judges(r: CheckReader, m: Map, spec: Spec) -> str:
    """`judges`: the program whose behaviour the check judges. A check on one program's output or exit
    judges that program unless it says otherwise; a check on a host's output, the sockets or the packets
    must say (what a socket or a packet shows may be either side's doing)."""
    if "judges" in m:
        return r.program(m["judges"], None, in_checks=True)
    subject = getattr(spec, "program", None)
    if subject:
        return subject
    programs = ", ".join(r.started) or "none"
    m.node.fail(f"{spec.SUBJECT} must say which program's behaviour it judges, e.g. judges: "
                f"{next(iter(r.started), 'server')} (programs: {programs}); in grading it is judged in "
                "the run where that program is the student's")
