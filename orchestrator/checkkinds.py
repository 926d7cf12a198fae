"""The checks of the scenario language, one class per kind: its data (frozen), its YAML keys, how it is read
from a file (`parse`) and how it is judged (`judge`, a pure function of the scenario and the evidence a run
collected: no I/O). A new kind of check is one class here, listed in CHECK_KINDS, and its section in
scenarios/README.md: nothing else dispatches on the kinds. The wording every kind shares (quoting lines,
listing frames, why a step did not happen) is checks.py's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Union

from .checks import (LIST_LIMIT, NOT_EARNED, keyed_steps, _noun, _output, _log_match, _log_sequence,
                     _program_missing, _program_output, _row_text, capture_doubt, clip, describe_status, first_failure, plural, row_matches,
                     scenario_expand, step_ref, why_not_done)
from .evidence import Evidence, Snapshot
from .placeholders import expand
from .steps import NONZERO, PROTOS, STREAMS, Netstat, Signal, expected_status, status_matches
from .yamlsource import Map, Node, Where, quote, shown

if TYPE_CHECKING:
    from .scenario import Scenario, _Parser

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


@dataclass(frozen=True)
class LogCheck:
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
    def parse(cls, r: _Parser, node: Node) -> LogCheck:
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

    def judge(self, scenario: Scenario, evidence: Evidence) -> tuple[bool, str]:
        out = _output(scenario, evidence, self)
        if isinstance(out, str):
            return False, out
        if self.before is not None:
            snap = evidence.snapshots.get(self.before)
            if snap is None:
                return False, (f"This check counts only what was said before snapshot '{self.before}', and that "
                               "snapshot was not taken: " + why_not_done(
                                   scenario, evidence, lambda s: isinstance(s, Netstat) and s.name == self.before))
            out = out.before(snap)
        if self.pattern is not None:
            return _log_match(evidence, self.pattern, self.bounds, out)
        return _log_sequence(evidence, self.sequence, out)

    def vacuous(self, signalled: set[str]) -> str | None:
        """'an absence' when a count of 0 lines would pass (what a program that does nothing shows), else None."""
        return ABSENCE if self.pattern is not None and self.bounds.accepts(0) else None


@dataclass(frozen=True)
class SocketCheck:
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
    def parse(cls, r: _Parser, node: Node) -> SocketCheck:
        m = node.mapping(("snapshot", "proto", "local", "remote", "state", "count", "min", "max"), ("snapshot",),
                         example="{snapshot: connected, proto: tcp, local: '{server.ip}:5000', state: LISTEN}")
        snapshot = r.snapshot_name(m["snapshot"])
        proto = m["proto"].choice(PROTOS) if "proto" in m else None
        local = r.endpoint(m["local"]) if "local" in m else None
        remote = r.endpoint(m["remote"]) if "remote" in m else None
        state = m["state"].choice(STATES) if "state" in m else None
        return cls(snapshot=snapshot, proto=proto, local=local, remote=remote, state=state, bounds=r.bounds(m))

    def judge(self, scenario: Scenario, evidence: Evidence) -> tuple[bool, str]:
        snap: Snapshot | None = evidence.snapshots.get(self.snapshot)
        if snap is None:
            return False, f"snapshot '{self.snapshot}' was not taken: " + why_not_done(
                scenario, evidence, lambda s: isinstance(s, Netstat) and s.name == self.snapshot)
        local = scenario_expand(self.local, evidence, regex=False) if self.local is not None else None
        remote = scenario_expand(self.remote, evidence, regex=False) if self.remote is not None else None
        wanted = ", ".join(f"{k} {v}" for k, v in (("proto", self.proto), ("local", local), ("remote", remote),
                                                   ("state", self.state)) if v is not None) or "any"
        hits = [r for r in snap.rows if row_matches(self, local, remote, r)]
        n = len(hits)
        source = f"snapshot '{snap.name}' (netstat -tuna on {snap.host} at {snap.t:.1f} s)"
        if self.bounds.accepts(n):
            if n == 0:
                return True, f"No row of {source} has {wanted}, as expected ({self.bounds})."
            rows = [f"  {_row_text(r)}" for r in hits[:LIST_LIMIT]]
            return True, "\n".join([f"{plural(n, 'row')} of {source} matched ({wanted}):", *rows])
        head = f"Expected {self.bounds} {_noun(self.bounds, 'row')} with {wanted} in {source}; found {n}."
        if not snap.rows:
            return False, head + "\nThe snapshot has no socket rows at all."
        shown = snap.rows[:12]
        rows = [f"  {'→' if r in hits else ' '} {_row_text(r)}" for r in shown]
        more = [f"    … and {len(snap.rows) - len(shown)} more rows"] if len(snap.rows) > len(shown) else []
        mark = " (→ marks the matching ones)" if hits else ""
        return False, "\n".join([head, f"Its {plural(len(snap.rows), 'row')}{mark}:", *rows, *more])

    def vacuous(self, signalled: set[str]) -> str | None:
        """'an absence' when a count of 0 would pass (what a program that does nothing shows), else None."""
        return ABSENCE if self.bounds.accepts(0) else None


@dataclass(frozen=True)
class CaptureCheck:
    """Packets of the run's capture matching a Wireshark display filter (placeholders allowed),
    counted by tshark."""

    KIND: ClassVar[str] = "capture"
    #: what it is, to ask which program it judges when it cannot tell by itself
    SUBJECT: ClassVar[str] = "a capture check"

    filter: str
    bounds: Bounds

    @classmethod
    def parse(cls, r: _Parser, node: Node) -> CaptureCheck:
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

    def judge(self, scenario: Scenario, evidence: Evidence) -> tuple[bool, str]:
        cap = evidence.capture
        flt = scenario_expand(self.filter, evidence, regex=False)
        if cap.pcap is None:
            failed = first_failure(evidence)
            reason = (cap.problem or evidence.error
                      or (f"{step_ref(failed)} failed: {failed.message}" if failed else "no pcap was recorded"))
            return False, f"There is no capture to count frames in: {reason}"
        if flt in cap.errors:
            return False, f"tshark refused the display filter [{clip(flt)}]: {clip(cap.errors[flt], 600)}"
        doubt = capture_doubt(cap)
        if doubt:
            return False, doubt[0].upper() + doubt[1:] + "."
        if flt not in cap.counts:
            return False, f"The display filter [{clip(flt)}] was not counted (a fault of the runner)."
        n = cap.counts[flt]
        samples = [f"  {clip(s)}" for s in cap.samples.get(flt, ())[:LIST_LIMIT]]
        if samples and n > len(samples):
            samples.append(f"  … and {n - len(samples)} more")
        of = f" (of {cap.packets} in the capture)" if cap.packets is not None else ""
        if self.bounds.accepts(n):
            if n == 0:
                return True, f"No frame matched [{clip(flt)}], as expected ({self.bounds})."
            return True, "\n".join([f"{plural(n, 'frame')} matched{of}:", *samples])
        head = (f"Expected {self.bounds} {_noun(self.bounds, 'frame')} matching [{clip(flt)}]; "
                f"found {n}{of}.")
        body = ["The matching frames:", *samples] if samples else []
        return False, "\n".join([head, *body])

    def vacuous(self, signalled: set[str]) -> str | None:
        """'an absence' when a count of 0 would pass (what a program that does nothing shows), else None."""
        return ABSENCE if self.bounds.accepts(0) else None


@dataclass(frozen=True)
class ExitCheck:
    """A program's exit status; None (written `any`): that it ended by itself before the run's end;
    NONZERO: that it ended by itself with a status from 1 to 255."""

    KIND: ClassVar[str] = "exit"
    #: what it is, to ask which program it judges when it cannot tell by itself
    SUBJECT: ClassVar[str] = "an exit check"

    program: str
    status: int | str | None

    @classmethod
    def parse(cls, r: _Parser, node: Node) -> ExitCheck:
        m = node.mapping(("program", "status"), ("program", "status"), example="{program: server, status: 0}")
        return cls(program=r.program(m["program"], None, in_checks=True),
                   status=r.exit_status(m["status"], allow_any=True))

    def judge(self, scenario: Scenario, evidence: Evidence) -> tuple[bool, str]:
        prog = evidence.programs.get(self.program)
        if prog is None:
            return False, _program_missing(scenario, evidence, self.program)
        said = f"{prog.id} {describe_status(prog.exit_status)}"
        missed = self._signal_missed(scenario, evidence)
        if missed is not None:
            return False, f"{NOT_EARNED}{missed}\n{said}."
        if self.status is None and prog.exit_status is not None and prog.stopped is None:
            return True, said + "."
        if self.status == NONZERO and status_matches(NONZERO, prog.exit_status) and prog.stopped is None:
            return True, said + "."
        if isinstance(self.status, int) and prog.exit_status == self.status:
            return True, said + "."
        expected = "it to end by itself" if self.status is None else expected_status(self.status)
        if prog.stopped and prog.stopped != "teardown":
            said += f" (stopped with {prog.stopped})"
        out = _program_output(prog, "both")
        return False, "\n".join([f"Expected {expected}; {said}.", *out.cut(), *out.tail()])

    def _signal_missed(self, scenario: Scenario, evidence: Evidence) -> str | None:
        """On a program the scenario signals, an exit status says how it ends on that signal (a person's
        Ctrl-C): it counts only if the program was still running when the last such signal came. Why not, or
        None (it was, or the scenario signals it nowhere)."""
        sent = [(key, step) for key, step in keyed_steps(scenario.steps)
                if isinstance(step, Signal) and step.program == self.program]
        if not sent:
            return None
        key, step = sent[-1]
        result = next((r for r in evidence.steps if r.key == key), None)
        if result is not None and result.status == "ok":
            return None
        how = f"{step.signal} (Ctrl-C)" if step.signal == "SIGINT" else step.signal
        why = result.message if result is not None and result.message else "the run did not get that far"
        return (f"this check is about how {self.program} ends on {how}, and {self.program} was not running "
                f"when {step.signal} was to be sent ({why}).")

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


def parse_check(r: _Parser, node: Node) -> Check:
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


def _judges(r: _Parser, m: Map, spec: Spec) -> str:
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
