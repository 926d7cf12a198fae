"""What judging a check uses, whatever its kind (judges.py judges each kind): evidence worded for people
(quoted lines, listed frames and rows, exit statuses, why a step did not happen), bounded; a program's
output as a check sees it; the matching of log lines and socket rows.

No I/O here: every input is in the Evidence the runner collected (program output, netstat snapshots,
the exit statuses, and the counts tshark made of the capture for each display filter).

Every Outcome carries `evidence`: a short text that a student and an instructor can act on. For a pass
it says what was found; for a failure, what was expected, what was found and the material around it
(the program's last lines, the snapshot's rows, the matching frames, the exit status, or the failed
step that explains why the subject of the check does not exist). It is bounded (EVIDENCE_LIMIT).

Decisions this module makes (documented here because the scenario language leaves them open):
- Protocols: a check's proto 'tcp' matches netstat's 'tcp' and 'tcp6' rows (the same protocol over
  either family; the address pattern then tells the families apart); 'tcp6' matches only 'tcp6'.
  Likewise for 'udp'/'udp6'. No proto matches every row.
- Addresses: patterns are 'ADDR:PORT' (split at the last ':'), either part '*'. An IPv4 ADDR matches
  a row's IPv4 address and the same address IPv4-mapped in IPv6 ('::ffff:10.77.0.10'); it does not
  match the IPv6 wildcard '::' (binding '::' is not binding '0.0.0.0'). ADDR '*' matches any address,
  IPv6 included. PORT '*' matches any port, and also netstat's '*' of an unconnected socket
  ('0.0.0.0:*'); a numeric PORT never matches '*'.
- State is compared exactly (netstat prints it in capitals; UDP rows have state '').
- Log sequences ignore `bounds`: the sequence is found in order or it is not.
- A host log check needs every program the scenario starts on that host: if one of them never
  started, the check fails (a count of 0 lines must not pass because a program did not run).
- The lines of a host log check are the lines of its programs merged by time (stable: equal times
  keep the programs' order of start); line numbers in the evidence count within the considered
  stream(s).
"""
from __future__ import annotations

import re
import signal as _signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..evidence import CaptureEvidence, Evidence, Line, ProgramEvidence, Snapshot, SocketRow, StepResult
from ..base.placeholders import expand
from ..base.text import clip, plural, quoted_clip
from ..model.steps import Step
from ..model.steplist import keyed_steps

if TYPE_CHECKING:  # (the model: below this layer)
    from ..model.checkkinds import Bounds, LogCheck, SocketCheck
    from ..model.scenario import Scenario

#: the longest an Outcome's evidence may be, in characters
EVIDENCE_LIMIT = 1500
#: how many lines of a program's output to show when a check on it fails
TAIL_LINES = 8
#: how many matching lines, rows or frames to list at most
LIST_LIMIT = 8


# ---- text helpers --------------------------------------------------------------------------------


def bounded(text: str, limit: int = EVIDENCE_LIMIT) -> str:
    """`text` made to fit in `limit` characters, cut at line boundaries.

    The heading (the lines before the first indented one: what was expected and found) is kept, and
    as many of the last lines as fit (the end of a program's output matters most); the lines between
    give way to a note saying how many were left out."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    head_n = next((i for i, ln in enumerate(lines) if ln.startswith(" ")), len(lines))
    head: list[str] = []
    size = 0
    for ln in lines[:head_n]:
        if size + len(ln) + 1 > limit * 0.6:
            break
        head.append(ln)
        size += len(ln) + 1
    rest = lines[len(head):]
    note_room = 48  # room for "  … (N lines not shown)"
    tail: list[str] = []
    for ln in reversed(rest):
        if size + len(ln) + 1 + note_room > limit:
            break
        tail.insert(0, ln)
        size += len(ln) + 1
    left_out = len(rest) - len(tail)
    if not head and not tail:  # one huge line
        return text[: limit - 1] + "…"
    note = [f"  … ({plural(left_out, 'line')} not shown)"] if left_out else []
    return "\n".join(head + note + tail)


def _pattern(text: str) -> str:
    return f"/{clip(text, 160)}/"


def _compile(pattern: str) -> re.Pattern[str] | str:
    """The compiled regex, or the reason it does not compile (re.error; OverflowError for a repeat count
    such as {4294967296}; RecursionError for groups nested too deep)."""
    try:
        return re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        return f"the regex {_pattern(pattern)} is invalid: {exc}"


def describe_status(status: int | None) -> str:
    """An exit status for people: 'exited with status 0', 'was killed by signal 9 (SIGKILL)', ..."""
    if status is None:
        return "was still running when the run ended (killed at teardown)"
    if status < 0:
        name = _signame(-status)
        return f"was killed by signal {-status}" + (f" ({name})" if name else "")
    name = _signame(status - 128) if status > 128 else None
    if name:
        return f"exited with status {status} (128+{status - 128}: ended by {name})"
    return f"exited with status {status}"


def _signame(number: int) -> str | None:
    try:
        return _signal.Signals(number).name
    except ValueError:
        return None


def noun(bounds: Bounds, word: str) -> str:
    """'line' when the bounds speak of one ('exactly 1', 'at least 1', 'at most 1'), else 'lines'."""
    one = (bounds.count == 1 or (bounds.count is None and (bounds.min, bounds.max) in ((1, None), (None, 1))))
    return word if one else word + "s"


# ---- why a subject is missing --------------------------------------------------------------------


def step_ref(result: StepResult) -> str:
    """'steps[4] (line 19, wait for "..." from client)'."""
    at = f"line {result.line}, " if result.line is not None else ""
    return f"{result.key} ({at}{result.description})"


def first_failure(evidence: Evidence) -> StepResult | None:
    failures = evidence.step_failures()
    return failures[0] if failures else None


def why_not_done(scenario: Scenario, evidence: Evidence, produces: Callable[[Step], bool]) -> str:
    """Why the step that should have produced something did not: it failed, was skipped because an
    earlier step failed, or the run ended before it (evidence.error)."""
    key, step = next(((k, s) for k, s in keyed_steps(scenario.steps) if produces(s)), (None, None))
    if key is None:
        return "no step of the scenario produces it"
    result = next((r for r in evidence.steps if r.key == key), None)
    failed = first_failure(evidence)
    if result is None:
        line = getattr(getattr(step, "where", None), "line", None)
        at = f" (line {line})" if line is not None else ""
        if evidence.error:
            return f"the run ended before {key}{at} was played: {evidence.error}"
        if failed is not None:
            return f"{key}{at} was not played because {step_ref(failed)} failed: {failed.message}"
        return f"{key}{at} has no result in the run's record"
    if result.status == "failed":
        return f"{step_ref(result)} failed: {result.message}"
    if result.status == "skipped":
        if failed is not None:
            return f"{step_ref(result)} was skipped because {step_ref(failed)} failed: {failed.message}"
        reason = result.message or evidence.error or "no reason recorded"
        return f"{step_ref(result)} was skipped: {reason}"
    return f"{step_ref(result)} ended {result.status!r} but recorded nothing (a fault of the runner)"


def program_missing(scenario: Scenario, evidence: Evidence, program: str) -> str:
    return f"program '{program}' was not started: " + why_not_done(
        scenario, evidence, lambda s: any(start.id == program for start in s.starts()))


# ---- output material -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Numbered:
    """A line of the considered output, numbered from 1, with the program that wrote it."""

    n: int
    program: str
    line: Line


def _label(program: str | None, line: Line, host_mode: bool) -> str:
    parts = []
    if host_mode:
        parts.append(f"[{program}]")
    if line.stream == "stderr":
        parts.append("(stderr)")
    parts.append(clip(line.text))
    return " ".join(parts)


def _show(lines: Sequence[_Numbered], host_mode: bool) -> list[str]:
    return [f"  {x.n:>3}: {_label(x.program, x.line, host_mode)}" for x in lines]


def _show_some(lines: Sequence[_Numbered], host_mode: bool) -> list[str]:
    """The first LIST_LIMIT lines, and how many more there are."""
    more = [f"  … and {len(lines) - LIST_LIMIT} more"] if len(lines) > LIST_LIMIT else []
    return [*_show(lines[:LIST_LIMIT], host_mode), *more]


def _stream_name(stream: str) -> str:
    return "stdout and stderr" if stream == "both" else stream


@dataclass(frozen=True)
class Output:
    """The lines a log check looks at, and how to describe them."""

    subject: str  # "server's stdout and stderr", "the stdout of client's programs (first, second)"
    lines: tuple[_Numbered, ...]
    programs: tuple[ProgramEvidence, ...]
    host_mode: bool
    later: tuple[_Numbered, ...] = ()  # lines left out because they came after the check's snapshot

    def tail(self, after: int = 0) -> list[str]:
        """The last TAIL_LINES lines (those after line `after` only), with a heading."""
        rest = [x for x in self.lines if x.n > after]
        if not self.lines:
            return [f"{self.subject}: no lines at all."]
        if not rest:
            return [f"There are no lines after line {after} (of {len(self.lines)})."]
        shown = rest[-TAIL_LINES:]
        scope = f"after line {after}" if after else "in all"
        head = (f"The last {len(shown)} of {len(rest)} lines {scope}:" if len(shown) < len(rest)
                else f"The {plural(len(rest), 'line')} {scope}:")
        return [head, *_show(shown, self.host_mode)]

    def before(self, snap: Snapshot) -> "Output":
        """Only the lines that came before `snap` was taken (their numbers kept); the subject says so,
        and how many later lines were left out."""
        kept = tuple(x for x in self.lines if x.line.t <= snap.t)
        later = len(self.lines) - len(kept)
        subject = (f"{self.subject} before snapshot '{snap.name}' was taken ({snap.t:.1f} s"
                   + (f"; {plural(later, 'later line')} not counted)" if later else ")"))
        return Output(subject, kept, self.programs, self.host_mode,
                       tuple(x for x in self.lines if x.line.t > snap.t))

    def states(self) -> list[str]:
        """How each program ended, and whether its output was cut."""
        return [f"{p.id} {describe_status(p.exit_status)}." for p in self.programs] + self.cut()

    def cut(self) -> list[str]:
        return [f"{p.id}'s output went past the limit: only its beginning was kept." for p in self.programs
                if p.truncated]


def program_output(prog: ProgramEvidence, stream: str) -> Output:
    """One program's lines on `stream` ('both' for stdout and stderr), numbered from 1."""
    chosen = [ln for ln in prog.lines if stream == "both" or ln.stream == stream]
    return Output(f"{prog.id}'s {_stream_name(stream)}",
                   tuple(_Numbered(i + 1, prog.id, ln) for i, ln in enumerate(chosen)), (prog,), False)


def output_of(scenario: Scenario, evidence: Evidence, spec: LogCheck) -> Output | str:
    """The lines a log check considers, or why they do not exist."""
    stream = spec.stream
    if spec.program is not None:
        prog = evidence.programs.get(spec.program)
        if prog is None:
            return program_missing(scenario, evidence, spec.program)
        return program_output(prog, stream)
    host = spec.host or ""
    expected = [p for p in scenario.programs().values() if p.host == host]
    missing = [p.id for p in expected if p.id not in evidence.programs]
    if missing:
        return "; ".join(program_missing(scenario, evidence, m) for m in missing)
    progs = [p for p in evidence.programs.values() if p.host == host]
    order = {p.id: i for i, p in enumerate(progs)}
    merged = sorted(((p.id, ln) for p in progs for ln in p.lines if stream == "both" or ln.stream == stream),
                    key=lambda pl: (pl[1].t, order[pl[0]]))
    numbered = tuple(_Numbered(i + 1, p, ln) for i, (p, ln) in enumerate(merged))
    names = ", ".join(p.id for p in progs) or "none ran"
    return Output(f"the {_stream_name(stream)} of the programs on {host} ({names})", numbered, tuple(progs), True)


# ---- log checks ----------------------------------------------------------------------------------


def log_match(evidence: Evidence, raw: str, bounds: Bounds, out: Output) -> tuple[bool, str]:
    pattern = scenario_expand(raw, evidence, regex=True)
    rx = _compile(pattern)
    if isinstance(rx, str):
        return False, rx
    hits = [x for x in out.lines if rx.search(x.line.text)]
    n = len(hits)
    if bounds.accepts(n):
        if n == 0:
            return True, f"No line of {out.subject} matched {_pattern(pattern)}, as expected ({bounds})."
        if n == 1:
            return True, f"1 line matched: {quoted_clip(hits[0].line.text)}"
        return True, "\n".join([f"{n} lines matched ({bounds}):", *_show_some(hits, out.host_mode)])
    head = (f"Expected {bounds} {noun(bounds, 'line')} of {out.subject} matching "
            f"{_pattern(pattern)}; found {n}.")
    body: list[str]
    if hits and (bounds.max is not None and n > bounds.max or bounds.count is not None and n > bounds.count):
        # too many: the matches are what to look at
        body = ["The matching lines:", *_show_some(hits, out.host_mode)]
    else:
        body = out.tail()
        late = [x for x in out.later if rx.search(x.line.text)]
        if late:
            body += [f"Matching, but only after the snapshot (not counted): {plural(len(late), 'line')}",
                     *_show_some(late, out.host_mode)]
    return False, "\n".join([head, *out.states(), *body])


def log_sequence(evidence: Evidence, raws: Sequence[str], out: Output) -> tuple[bool, str]:
    patterns = [scenario_expand(r, evidence, regex=True) for r in raws]
    compiled: list[re.Pattern[str]] = []
    for p in patterns:
        rx = _compile(p)
        if isinstance(rx, str):
            return False, rx
        compiled.append(rx)
    found: list[_Numbered] = []
    after = 0  # line number of the previous match (0: before the first line)
    for i, rx in enumerate(compiled):
        hit = next((x for x in out.lines if x.n > after and rx.search(x.line.text)), None)
        if hit is None:
            where = (f"after line {after} ({quoted_clip(found[-1].line.text, 100)}, which matched element {i})"
                     if found else "anywhere")
            head = [f"Element {i + 1} of {len(compiled)} of the sequence, {_pattern(patterns[i])}, "
                    f"was not found in {out.subject} {where}."]
            earlier = next((x for x in out.lines if x.n <= after and rx.search(x.line.text)), None)
            if earlier is not None:
                head.append(f"It matches line {earlier.n} ({quoted_clip(earlier.line.text, 100)}), before that: "
                            "the lines are in the wrong order.")
            if found:
                head.append("Matched so far: " + ", ".join(f"element {j + 1} at line {x.n}"
                                                          for j, x in enumerate(found)) + ".")
            return False, "\n".join([*head, *out.states(), *out.tail(after)])
        found.append(hit)
        after = hit.n
    return True, "\n".join([f"{plural(len(found), 'line')} matched in order:", *_show(found, out.host_mode)])


def scenario_expand(text: str, evidence: Evidence, *, regex: bool) -> str:
    """Placeholders ({server.ip}, {client.name}) replaced with this run's values (regex-escaped if regex)."""
    return expand(text, evidence.addresses, regex=regex)


# ---- socket checks -------------------------------------------------------------------------------

_MAPPED = "::ffff:"


def split_endpoint(text: str) -> tuple[str, str]:
    """'10.77.0.10:5000' -> ('10.77.0.10', '5000'); ':::5000' -> ('::', '5000'); '0.0.0.0:*' -> ('0.0.0.0', '*').
    An address alone (no ':') has port '*'."""
    if ":" not in text:
        return text, "*"
    addr, port = text.rsplit(":", 1)
    return addr, port


def _same_address(pattern: str, actual: str) -> bool:
    if pattern == "*":
        return True
    if actual.lower().startswith(_MAPPED) and "." in actual:
        actual = actual[len(_MAPPED):]
    return pattern.lower() == actual.lower()


def endpoint_matches(pattern: str | None, actual: str) -> bool:
    """Whether netstat's 'ADDR:PORT' matches a pattern 'ADDR:PORT' (either part '*'); None matches all."""
    if pattern is None:
        return True
    p_addr, p_port = split_endpoint(pattern.strip())
    a_addr, a_port = split_endpoint(actual.strip())
    return _same_address(p_addr, a_addr) and (p_port == "*" or p_port == a_port)


def proto_matches(pattern: str | None, actual: str) -> bool:
    """'tcp' matches 'tcp' and 'tcp6'; 'tcp6' only 'tcp6'; None matches all."""
    if pattern is None:
        return True
    pattern, actual = pattern.lower(), actual.lower()
    return actual == pattern or actual == pattern + "6"


def row_matches(spec: SocketCheck, local: str | None, remote: str | None, row: SocketRow) -> bool:
    return (proto_matches(spec.proto, row.proto) and endpoint_matches(local, row.local)
            and endpoint_matches(remote, row.remote) and (spec.state is None or row.state == spec.state))


def row_text(row: SocketRow) -> str:
    return clip(row.raw.rstrip() or f"{row.proto} {row.local} {row.remote} {row.state}".rstrip())


# ---- capture checks ------------------------------------------------------------------------------


def capture_doubt(capture: CaptureEvidence) -> str | None:
    """Why the capture cannot be trusted, or None if it is whole."""
    if capture.whole:
        return None
    if capture.overflow and not capture.problem:
        return (f"the capture is incomplete: {capture.overflow}; capture checks cannot judge what it "
                "does not hold")
    if capture.problem:
        reason = capture.problem
    elif capture.packets is None:
        reason = "tshark could not count the frames in the pcap"
    elif capture.tcpdump_dropped:
        reason = f"the kernel dropped {plural(capture.tcpdump_dropped, 'packet')} (tcpdump's count)"
    elif capture.tcpdump_captured is None:
        reason = "tcpdump did not say how many packets it captured"
    else:
        reason = (f"tcpdump captured {plural(capture.tcpdump_captured, 'packet')}, "
                  f"the pcap holds {capture.packets}")
    return f"the capture is not whole: {reason}; capture checks cannot be trusted"


# ---- exit checks ---------------------------------------------------------------------------------


