"""YAML text -> plain Python data, the line of every key path, and a cursor whose getters raise located errors.

Shared by the scenario and topology loaders, so that every mistake in either file is reported the same way:
the file, the line, the key path (``steps[3].wait.port``, ``checks[2].log.sequence[1]``,
``services.server.sysctls["net.ipv4.ip_forward"]``) and a message that says what is wrong and what would be
right. Nothing here knows what a scenario or a topology is.

- :func:`parse_yaml` / :func:`read_yaml` build a :class:`Document` with PyYAML's node API (``SafeLoader``):
  the data is what ``yaml.safe_load`` would give, except that a duplicate mapping key is refused (PyYAML keeps
  the last one silently), an empty document is refused, and syntax errors become the caller's error class
  (a :class:`~orchestrator.errors.LocatedError` subclass) with the 1-based line of the problem.
- Hostile input gets a located error too, never a hang, a crash or a traceback: only a regular file of at most
  MAX_FILE_BYTES is read (opened without blocking); nesting past MAX_DEPTH, more than MAX_VALUES values or
  MAX_TEXT characters once aliases are expanded (an alias bomb), and scalars Python cannot read (an int of
  5,000 digits) are refused where they are. Messages clip what they quote to SHOWN_CHARS and escape what cannot
  be seen (``'time\\u200bout'``).
- :class:`Node` is a value with its key path; its typed getters (``.str()``, ``.int(lo, hi)``,
  ``.number(minimum, maximum)``, ``.bool()``, ``.list()``, ``.mapping(allowed)``, ``.choice(options)``) return plain
  values or raise the located error. :class:`Map` is a mapping whose keys have been checked.
"""
from __future__ import annotations

import contextlib
import datetime
import difflib
import errno
import ipaddress
import math
import os
import re
import shlex
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from ..base.errors import LocatedError

ErrorClass = type[LocatedError]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"
#: What each standard scalar tag reads a value as, for messages.
_SCALAR_KINDS = {_INT_TAG: "a whole number", "tag:yaml.org,2002:float": "a number",
                 "tag:yaml.org,2002:bool": "true or false", "tag:yaml.org,2002:null": "null",
                 "tag:yaml.org,2002:timestamp": "a date", "tag:yaml.org,2002:binary": "base64 binary data"}

#: Keys written as they are in a key path; any other key is written quoted: sysctls["net.ipv4.ip_forward"].
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
#: One step of a key path: .name, [3] or ["quoted key"].
_KEY_STEP = re.compile(r'\.?([A-Za-z0-9_-]+)|\[([0-9]+)\]|\[("(?:[^"\\]|\\.)*")\]')
#: A quoted step of a key path, ["..."], its text as group 1.
_QUOTED_STEP = re.compile(r'\["((?:[^"\\]|\\.)*)"\]')
#: How many characters of a key or a value a message shows (longer ones are clipped: 'aaa...'), and how many
#: names of a list ('server, client, ... and 12 more').
SHOWN_CHARS = 60
SHOWN_NAMES = 10


# ---- key paths -----------------------------------------------------------------------------------


def key_path(parent: str, key: object) -> str:
    """The key path of mapping key `key` under `parent`: ('steps[3]', 'wait') -> 'steps[3].wait'; other keys
    are quoted, with " and \\ escaped and non-printable characters too: services["a\\u200bb"]."""
    text = yaml_text(key)
    if _PLAIN_KEY.fullmatch(text):
        return f"{parent}.{text}" if parent else text
    quoted = "".join("\\" + ch if ch in '"\\' else _escaped(ch) for ch in text)
    return f'{parent}["{quoted}"]'


def index_path(parent: str, index: int) -> str:
    """The key path of list item `index` under `parent`: ('steps', 3) -> 'steps[3]'."""
    return f"{parent}[{index}]"


def shown_key(key: str) -> str:
    """A key path as a message shows it: a quoted key longer than SHOWN_CHARS clipped, then a path longer than
    twice that cut in the middle (a 200,000-character key, or lists nested 50 deep, stay readable)."""
    if len(key) <= 2 * SHOWN_CHARS:
        return key
    key = _QUOTED_STEP.sub(lambda m: m.group(0) if len(m.group(1)) <= SHOWN_CHARS
                           else f'["{m.group(1)[:SHOWN_CHARS - 3]}..."]', key)
    return key if len(key) <= 2 * SHOWN_CHARS else f"{key[:SHOWN_CHARS]}...{key[-SHOWN_CHARS:]}"


def _prefixes(key: str) -> list[str]:
    """A key path and its parents, longest first: 'a[1].b' -> ['a[1].b', 'a[1]', 'a', '']."""
    found = [""]
    pos = 0
    while pos < len(key):
        m = _KEY_STEP.match(key, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        found.append(key[:pos])
    if found[-1] != key:
        found.append(key)
    return found[::-1]


# ---- words for messages ----------------------------------------------------------------------------


def yaml_text(value: object) -> str:
    """A scalar as YAML would write it (true, null, 5000, text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escaped(ch: str) -> str:
    """A character as a message shows it: itself if printable, else escaped as Python writes it (\\u200b)."""
    if ch.isprintable():
        return ch
    code = ord(ch)
    return _ESCAPES.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                                else f"\\U{code:08x}")


def shown(text: str) -> str:
    """Text for a message, unquoted: non-printable characters (a zero-width space, a newline) escaped so the
    reader sees what is there (\\u200b, \\n), clipped to SHOWN_CHARS ('...' marks the cut)."""
    if len(text) > SHOWN_CHARS:
        return "".join(map(_escaped, text[:SHOWN_CHARS - 3])) + "..."
    return "".join(map(_escaped, text))


def quote(text: str) -> str:
    """Text quoted for a message, as Python's repr quotes it ('http', non-printable characters escaped:
    'time\\u200bout'), clipped to SHOWN_CHARS."""
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 3] + "...")


def names(words: Iterable[str]) -> str:
    """Names listed for a message: 'server, client', each clipped, at most SHOWN_NAMES ('... and 3 more')."""
    words = list(words)
    listed = ", ".join(shown(w) for w in words[:SHOWN_NAMES])
    return listed + (f" and {len(words) - SHOWN_NAMES} more" if len(words) > SHOWN_NAMES else "")


def describe(value: Any) -> str:
    """What a value is, for the '(got ...)' part of a message: 'http' quoted, true (a boolean), a list..."""
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, bool):
        return f"{yaml_text(value)}, a boolean"
    if value is None:
        return "nothing (null)"
    if isinstance(value, (int, float)):
        text = repr(value)  # a whole number may have 4,300 digits
        return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS - 3]}... ({len(text):,} digits)"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"{value}, a date (quote it to make it text)"
    return f"a {type(value).__name__}"


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` most likely meant (case-insensitive; difflib), or None."""
    folded: dict[str, str] = {}
    for choice in choices:
        folded.setdefault(choice.casefold(), choice)
    if word.casefold() in folded:
        return folded[word.casefold()]
    near = difflib.get_close_matches(word.casefold(), list(folded), n=1, cutoff=0.6)
    return folded[near[0]] if near else None


def is_ipv4(text: str) -> bool:
    """Whether `text` is an IPv4 address in dotted form."""
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """"; did you mean 'x'?" when a choice is close to `word`, else ""."""
    guess = closest(word, choices)
    return f"; did you mean {quote(guess)}?" if guess is not None and guess != word else ""


def or_list(words: Sequence[str], conjunction: str = "or") -> str:
    """'a', 'a or b', 'a, b or c' (or with 'and')."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def unknown_key_message(key: str, allowed: Sequence[str]) -> str:
    """"unknown key 'tiemout'; did you mean 'timeout'? (allowed here: ...)"."""
    return f"unknown key {quote(key)}{did_you_mean(key, allowed)} (allowed here: {', '.join(allowed)})"


# ---- the document ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """A place in a YAML file: e.g. path='scenarios/tcp.yaml', line=12, key='steps[3].wait'."""

    path: str
    line: int | None
    key: str

    def __str__(self) -> str:
        at = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{at} ({self.key})" if self.key else at


@dataclass
class Document:
    """A parsed YAML file: its data, the line of each key path, and the error class to raise."""

    path: str
    data: Any
    lines: dict[str, int]
    error: ErrorClass

    def line_of(self, key: str) -> int | None:
        """The line of key path `key`, or of its nearest parent that has one (None if nothing has)."""
        for prefix in _prefixes(key):
            if prefix in self.lines:
                return self.lines[prefix]
        return None

    def fail(self, key: str, message: str) -> NoReturn:
        """Raise the document's error at key path `key`."""
        raise self.error(self.path, self.line_of(key), shown_key(key), message)

    @property
    def root(self) -> Node:
        return Node(self, "", self.data)


#: The largest YAML file read (scenarios and compose.yaml alike): real ones are a few KiB, and PyYAML (pure
#: Python, for the line of every key) takes up to a second over 1 MiB: a larger file is refused before it is read.
MAX_FILE_BYTES = 1024 * 1024


def _size(n: int) -> str:
    """A size for people: '5,242,880 bytes (5.0 MiB)'."""
    return f"{n:,} bytes ({n / 1024 / 1024:.1f} MiB)" if n >= 1024 * 1024 else f"{n:,} bytes"


def _too_large(n: int, *, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return (f"the file is too large: {more}{_size(n)}, and a file here may be at most {_size(MAX_FILE_BYTES)} "
            "(a scenario or compose.yaml is a few KiB); is it the right file?")


#: What a path that is not a regular file is, by stat's file type.
_NOT_A_FILE = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket",
               stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}


def read_yaml(path: str | Path, error: ErrorClass) -> Document:
    """Read a UTF-8 YAML file into a Document; unreadable files are `error`s too.

    Only a regular file of at most MAX_FILE_BYTES is read: a FIFO, a device (/dev/zero), a folder or a socket
    is refused before reading (the file is opened without blocking, so a FIFO with no writer cannot hang us),
    and at most MAX_FILE_BYTES + 1 bytes are ever read (a file that grows while being read is refused too)."""
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ENXIO:  # a socket, or a device with nothing behind it
            with contextlib.suppress(OSError):
                what = _NOT_A_FILE.get(stat.S_IFMT(os.stat(path).st_mode), "something else")
                raise error(name, None, "", f"this is {what}, not a regular file; give a YAML file") from None
        raise error(name, None, "", f"cannot read the file: {e.strerror or e}") from None
    try:
        info = os.fstat(fd)
        kind = stat.S_IFMT(info.st_mode)
        if kind != stat.S_IFREG:
            what = _NOT_A_FILE.get(kind, "something else")
            raise error(name, None, "", f"this is {what}, not a regular file; give a YAML file")
        if info.st_size > MAX_FILE_BYTES:
            raise error(name, None, "", _too_large(info.st_size))
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise error(name, None, "", f"cannot read the file: {e.strerror or e}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:
        raise error(name, None, "", _too_large(MAX_FILE_BYTES, at_least=True))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise error(name, line, "", f"the file is not UTF-8 text (byte 0x{raw[e.start]:02x}); save it as UTF-8") from None
    return parse_yaml(text, name, error)


def parse_yaml(text: str, path: str, error: ErrorClass) -> Document:
    """Parse YAML text into a Document. Syntax errors, an empty document, duplicate keys, recursive aliases
    and tags other than the standard ones raise `error` with the line (1-based)."""
    if len(text) > MAX_FILE_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise error(path, None, "", _too_large(len(text.encode("utf-8", "surrogatepass"))))
    loader = None
    try:
        try:
            loader = _Loader(text, path, error)  # unprintable characters are refused here, before any parsing
            node = loader.get_single_node()
        except yaml.reader.ReaderError as e:
            raise _reader_error(e, text, path, error) from None
        except yaml.MarkedYAMLError as e:
            raise _syntax_error(e, path, error, text) from None
        if node is None:
            raise error(path, None, "", "the file is empty (or holds only comments); expected a YAML mapping")
        builder = _Builder(loader)
        builder.lines[""] = node.start_mark.line + 1
        data = builder.build(node, "", frozenset())
        return Document(path, data, builder.lines, error)
    finally:
        if loader is not None:
            loader.dispose()


#: What the file ended inside of, by PyYAML's context, when it ends too early: (what, how it is closed).
_UNCLOSED = {"while scanning a quoted scalar": ("a quoted text", None),
             "while parsing a flow sequence": ("a list", "]"), "while parsing a flow mapping": ("a mapping", "}")}


def _syntax_error(e: yaml.MarkedYAMLError, path: str, error: ErrorClass, text: str) -> LocatedError:
    """'YAML syntax error: <problem> (column N)', with the context PyYAML gives (what it was parsing).

    A quote, [ or { never closed is reported where it opens: PyYAML finds out only at the end of the file. A
    quote closed only by the next quote of the file, lines further on, is pointed out."""
    opened = e.context_mark
    if (e.context in _UNCLOSED and opened is not None and opened.buffer and e.problem
            and ("end of stream" in e.problem or "<stream end>" in e.problem)):
        what, closing = _UNCLOSED[e.context]
        opening = opened.buffer[opened.pointer]
        return error(path, opened.line + 1, "", f"YAML syntax error: the {opening} at column {opened.column + 1} "
                                                f"opens {what} that is never closed (the file ends first); add the "
                                                f"closing {closing or opening}")
    mark = e.problem_mark or e.context_mark
    problem = e.problem or e.context or "invalid YAML"
    where = f" (column {mark.column + 1})" if mark is not None else ""
    message = f"YAML syntax error: {problem}{where}"
    if e.context and e.problem:
        if e.context.startswith("while") and e.context_mark is not None:
            message += f", {e.context} that starts on line {e.context_mark.line + 1}"
        elif not e.context.startswith("while"):
            message = f"YAML syntax error: {e.context}, {problem}{where}"
    if e.problem_mark is not None:
        message += _runaway_quote(text, e.problem_mark)
    return error(path, mark.line + 1 if mark is not None else None, "", message)


def _runaway_quote(text: str, problem: yaml.Mark) -> str:
    """'; the quoted text that opens with " on line 3 ... runs on to here: is its closing quote missing?' when a
    quoted scalar spanning lines ends on the line of the problem (a forgotten quote, closed by the file's next
    one), else ''."""
    last = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.pointer >= problem.pointer:
                break
            last = token
    except yaml.YAMLError:
        pass  # the problem itself, or one before it: the tokens up to it are what counts
    if (isinstance(last, yaml.ScalarToken) and last.style in ('"', "'")
            and last.start_mark.line < last.end_mark.line == problem.line):
        return (f"; the quoted text that opens with {last.style} on line {last.start_mark.line + 1} (column "
                f"{last.start_mark.column + 1}) runs on to here: is its closing quote missing?")
    return ""


def _reader_error(e: yaml.reader.ReaderError, text: str, path: str, error: ErrorClass) -> LocatedError:
    char = e.character if isinstance(e.character, int) else ord(e.character)
    line = text.count("\n", 0, e.position) + 1
    return error(path, line, "", f"YAML syntax error: character #x{char:04x} is not allowed ({e.reason}); remove it")


# ---- limits: what no real file needs is refused while it is read, before it costs minutes or gigabytes ----

#: How deep lists and mappings may nest (real files: fewer than 10). PyYAML's composer and the builder below
#: recurse once a level, so this also keeps both far from Python's recursion limit.
MAX_DEPTH = 50
#: How many values (lists, mappings, keys and scalars) a file may hold once its aliases are expanded, and how
#: many characters of text: an alias of an alias of an alias... multiplies ("billion laughs": 600 bytes that
#: would expand to gigabytes), so the expansion is counted as it is built. tcp.yaml holds about 300 values.
MAX_VALUES = 20_000
MAX_TEXT = MAX_FILE_BYTES  # characters: as much as the largest file can hold without aliases
#: The most digits a whole number may have: Python's own limit for reading one (longer ones take it time
#: quadratic in their length), far past any number a file here needs.
MAX_INT_DIGITS = 4300
_INT_TOO_LARGE = 10 ** MAX_INT_DIGITS  # the smallest whole number of more than MAX_INT_DIGITS digits

#: Each limit for messages: (what is wrong, what is past the limit, what real files need).
_LIMITS = {
    "values": ("too many values", f"more than {MAX_VALUES:,} values, counting lists, mappings, keys and scalars",
               "real files hold a few hundred"),
    "depth": ("nested too deeply", f"more than {MAX_DEPTH} lists and mappings inside one another",
              "real files nest fewer than 10"),
    "text": ("too much text", f"more than {MAX_TEXT:,} characters of text",
             "that is as much as a file may hold without aliases"),
}


def _limit_message(limit: str, alias: str | None = None) -> str:
    wrong, past, need = _LIMITS[limit]
    if alias is None:
        return f"{wrong}: {past}; {need}"
    if limit == "depth":
        return (f"with what the alias *{shown(alias)} refers to, lists and mappings nest more than {MAX_DEPTH} "
                f"deep; {need}")
    return (f"the alias *{shown(alias)} expands to {past} (an alias counts as a copy of what it refers to: aliases "
            f"of aliases multiply); {need}")


def _alias_slot(parent: yaml.Node | None, index: object) -> tuple[int, object] | None:
    """Where in its parent a node is written: (parent, item number) or (parent, its key's node)."""
    if isinstance(parent, SequenceNode):
        return id(parent), index
    if isinstance(parent, MappingNode) and index is not None:
        return id(parent), id(index)
    return None  # the document itself, or a key


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, counting as it composes: nesting deeper than MAX_DEPTH or more than MAX_VALUES
    nodes is refused where it happens (before the rest of the file is read), and the place of every alias is
    kept (the node an alias gives is its anchor's, which knows only where the anchor is written)."""

    def __init__(self, text: str, path: str, error: ErrorClass):
        super().__init__(text)
        self.path, self.error = path, error
        self.depth = 0  # lists and mappings being composed
        self.nodes = 0
        self.aliases: dict[tuple[int, object], tuple[str, int]] = {}  # where an alias is -> (anchor, line)
        self.trail: list[tuple[yaml.Node | None, object]] = []  # (parent, index) of the nodes being composed

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            slot = _alias_slot(parent, index)
            if slot is not None:
                self.aliases[slot] = (event.anchor, event.start_mark.line + 1)
            return node
        nested = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        self.nodes += 1
        self.trail.append((parent, index))
        if self.nodes > MAX_VALUES:
            self._refuse(event, _limit_message("values"))
        if nested and self.depth >= MAX_DEPTH:
            self._refuse(event, _limit_message("depth"))
        self.depth += nested
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= nested
            self.trail.pop()

    def _refuse(self, event: yaml.Event, message: str) -> NoReturn:
        key = ""
        for parent, index in self.trail:
            if isinstance(parent, SequenceNode):
                key = index_path(key, index)
            elif isinstance(parent, MappingNode) and isinstance(index, ScalarNode):
                key = key_path(key, index.value)  # as written: the key is not constructed yet
        raise self.error(self.path, event.start_mark.line + 1, shown_key(key), message)


class _Builder:
    """Node tree -> plain data, recording lines and refusing what safe_load would silently accept, and what
    aliases expand to past MAX_VALUES, MAX_TEXT or MAX_DEPTH (reported at the outermost alias)."""

    def __init__(self, loader: _Loader):
        self.loader, self.path, self.error = loader, loader.path, loader.error
        self.lines: dict[str, int] = {}
        self.values = 0
        self.text = 0
        self.alias: tuple[str, str, int] | None = None  # the outermost alias being expanded: anchor, key, line

    def fail(self, node: yaml.Node, key: str, message: str) -> NoReturn:
        raise self.error(self.path, node.start_mark.line + 1, shown_key(key), message)

    def _too_much(self, node: yaml.Node, key: str, limit: str) -> NoReturn:
        """Refuse what is past a limit: at the outermost alias being expanded, if any (the composer has
        refused what is past them as written)."""
        if self.alias is None:
            self.fail(node, key, _limit_message(limit))
        anchor, key, line = self.alias
        raise self.error(self.path, line, shown_key(key), _limit_message(limit, anchor))

    def _item(self, slot: tuple[int, object], node: yaml.Node, key: str, active: frozenset[int], *,
              merged: bool = False) -> Any:
        """A list item, mapping value or merged mapping (merged=True) at `slot`, expanding an alias there: a
        list item's or mapping value's line is the alias's (the node's is the anchor's)."""
        alias = self.loader.aliases.get(slot)
        if alias is not None and not merged:
            self.lines[key] = alias[1]
        if alias is None or self.alias is not None:
            return self.build(node, key, active)
        self.alias = (alias[0], key, alias[1])
        try:
            return self.build(node, key, active)
        finally:
            self.alias = None

    def build(self, node: yaml.Node, key: str, active: frozenset[int]) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            self._too_much(node, key, "values")
        if isinstance(node, ScalarNode):
            value = self._scalar(node, key)
            if isinstance(value, str):
                self.text += len(value)
                if self.text > MAX_TEXT:
                    self._too_much(node, key, "text")
            return value
        if id(node) in active:
            self.fail(node, key, "a YAML alias refers to a value that contains it (a loop); copy the value instead")
        if len(active) >= MAX_DEPTH:
            self._too_much(node, key, "depth")
        active = active | {id(node)}
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ_TAG:
                self.fail(node, key, f"unsupported YAML tag '{node.tag}'; write a plain list")
            items = []
            for i, item in enumerate(node.value):
                self.lines[index_path(key, i)] = item.start_mark.line + 1
                items.append(self._item((id(node), i), item, index_path(key, i), active))
            return items
        assert isinstance(node, MappingNode)
        if node.tag != _MAP_TAG:
            self.fail(node, key, f"unsupported YAML tag '{node.tag}'; write a plain mapping")
        return self._mapping(node, key, active)

    def _scalar(self, node: ScalarNode, key: str) -> Any:
        """A scalar's value; one that cannot be read (a date that does not exist, a number of 5,000 digits, a
        tagged value that is not what its tag says) is refused where it is."""
        def too_long(got: str) -> str:
            return (f"too long for a whole number ({got}): it may have at most {MAX_INT_DIGITS:,} digits; quote it "
                    "if it is text")

        if node.tag == _INT_TAG and len(node.value) > MAX_INT_DIGITS:  # before int() refuses it or takes ages
            self.fail(node, key, too_long(f"{len(node.value):,} characters"))
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as e:
            self.fail(node, key, f"unsupported YAML value: {e.problem}")
        except Exception as e:  # what Python raised reading it: ValueError, KeyError (!!bool maybe), ...
            kind = _SCALAR_KINDS.get(node.tag, f"'{node.tag}'")
            dated = node.tag == "tag:yaml.org,2002:timestamp" and isinstance(e, (ValueError, OverflowError))
            reason = f": {shown(str(e))}" if dated else ""  # Python's words for a date are for people: say them
            self.fail(node, key, f"cannot read {quote(node.value)} as {kind}{reason}; quote it if it is text")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _INT_TOO_LARGE:
            self.fail(node, key, too_long(quote(node.value)))  # 0x..., 1:30:...: written shorter, no less large
        return value

    def _mapping(self, node: MappingNode, key: str, active: frozenset[int]) -> dict:
        merged: dict = {}
        own: dict = {}
        first_line: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:  # '<<: *defaults': those keys, unless this mapping sets them
                merge = key_path(key, "<<")
                self.lines[merge] = key_node.start_mark.line + 1
                several = isinstance(value_node, SequenceNode)
                slots = [(id(value_node), i) for i in range(len(value_node.value))] if several else \
                    [(id(node), id(key_node))]
                for i, (slot, source) in enumerate(zip(slots, value_node.value if several else [value_node])):
                    value = self._item(slot, source, key, active, merged=True)
                    if not isinstance(value, dict):
                        self.fail(source, index_path(merge, i) if several else merge,
                                  f"'<<' merges mappings only, e.g. <<: *defaults (got {describe(value)})")
                    merged = {**value, **merged}  # earlier sources win
                continue
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, key, "a mapping key must be a plain value, not a list or a mapping")
            name = self.build(key_node, key, active)
            line = key_node.start_mark.line + 1
            if name in first_line:
                self.fail(key_node, key_path(key, name),
                          f"duplicate key {quote(yaml_text(name))} (first on line {first_line[name]}); "
                          "keep only one (YAML would silently use the last)")
            first_line[name] = line
            self.lines[key_path(key, name)] = line
            own[name] = self._item((id(node), id(key_node)), value_node, key_path(key, name), active)
        return {**merged, **own} if merged else own


# ---- the cursor ------------------------------------------------------------------------------------


class Node:
    """A value of a Document with its key path. Getters return plain values or raise the located error."""

    __slots__ = ("doc", "key", "value")

    def __init__(self, doc: Document, key: str, value: Any):
        self.doc, self.key, self.value = doc, key, value

    def __repr__(self) -> str:
        return f"Node({self.key!r}, {self.value!r})"

    @property
    def line(self) -> int | None:
        return self.doc.line_of(self.key)

    @property
    def where(self) -> Where:
        return Where(self.doc.path, self.line, self.key)

    def fail(self, message: str) -> NoReturn:
        """Raise the document's error here."""
        self.doc.fail(self.key, message)

    def child(self, key: object) -> Node:
        """The item at index `key` of a list, or the value of key `key` of a mapping."""
        if isinstance(self.value, list):
            assert isinstance(key, int)
            return Node(self.doc, index_path(self.key, key), self.value[key])
        return Node(self.doc, key_path(self.key, key), self.value[key])

    def must(self, rule: str, example: str | None = None) -> NoReturn:
        """Fail with 'must be <rule>, e.g. <example> (got <value>)'."""
        subject = "the top level " if self.key == "" else ""
        eg = f", e.g. {example}" if example is not None else ""
        self.fail(f"{subject}must be {rule}{eg} (got {describe(self.value)})")

    # -- scalars --

    def str(self, *, example: str | None = None, rule: str | None = None,
            pattern: re.Pattern[str] | None = None) -> str:
        """A non-empty string (matching `pattern` if given, described by `rule`)."""
        v = self.value
        ok = isinstance(v, str) and v.strip() != "" and (pattern is None or pattern.fullmatch(v))
        if not ok:
            self.must(rule or "a non-empty string", example)
        return v

    def shell_words(self, *, example: str) -> list[str]:
        """This string split into arguments as a shell would (quotes respected)."""
        try:
            return shlex.split(self.value)
        except ValueError as e:
            self.fail(f"cannot split into arguments: {e}; write a list instead, e.g. {example}")

    def text(self, *, example: str | None = None) -> str:
        """A string, or a number converted to one (5000 -> '5000'); booleans and null are refused."""
        v = self.value
        if isinstance(v, str):
            return v
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return str(v)
        self.must("a string or a number", example)

    def int(self, lo: int, hi: int, *, example: str | None = None, rule: str | None = None) -> int:
        """A whole number within [lo, hi] (booleans and strings refused), described by `rule` if given. Every
        number has a maximum: a number past what anything needs is a mistake, and could overflow later."""
        v = self.value
        if isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi:
            return v
        self.must(rule or f"a whole number from {lo} to {hi}", example if example is not None else str(lo))

    def number(self, minimum: float, maximum: float, *, exclusive: bool = False, example: str | None = None) -> float:
        """A finite number from minimum (exclusive: greater than it) to maximum, as a float; booleans and strings
        refused. (1.0e+300 seconds, say, would overflow the time arithmetic of a run.)"""
        v = self.value
        if isinstance(v, (int, float)) and not isinstance(v, bool) and (isinstance(v, int) or math.isfinite(v)):
            if (v > minimum or (v == minimum and not exclusive)) and v <= maximum:
                return float(v)
        bound = f"greater than {minimum:g} and at most {maximum:g}" if exclusive else f"from {minimum:g} to {maximum:g}"
        self.must(f"a number {bound}", example)

    def bool(self) -> bool:
        """true or false."""
        if isinstance(self.value, bool):
            return self.value
        self.must("true or false")

    def choice(self, options: Sequence[str]) -> str:
        """One of `options` (exact spelling); a near miss gets a did-you-mean."""
        v = self.value
        if isinstance(v, str) and v in options:
            return v
        hint = did_you_mean(v, options) if isinstance(v, str) else ""
        self.fail(f"must be one of {', '.join(options)} (got {describe(v)}){hint}")

    # -- collections --

    def list(self, *, nonempty: bool = False, example: str | None = None) -> list[Node]:
        """The items of a list (non-empty if asked), as Nodes."""
        v = self.value
        if not isinstance(v, list) or (nonempty and not v):
            self.must("a non-empty list" if nonempty else "a list", example)
        return [self.child(i) for i in range(len(v))]

    def entries(self, *, example: str | None = None) -> list[tuple[str, Node]]:
        """The (key, value) pairs of a mapping with free string keys (services, labels...), in file order."""
        v = self.value
        if not isinstance(v, dict):
            self.must("a mapping", example)
        for key in v:
            if not isinstance(key, str):
                self.child(key).fail(f"a key must be text (got {describe(key)}); put it in quotes")
        return [(key, self.child(key)) for key in v]

    def mapping(self, allowed: Sequence[str], required: Sequence[str] = (), *, rule: str = "a mapping",
                example: str | None = None, extensions: bool = False) -> Map:
        """A mapping whose keys are all in `allowed` (or start with 'x-' when extensions=True) and that has
        every key in `required`. Unknown keys are reported first (in file order), then missing ones."""
        if not isinstance(self.value, dict):
            self.must(rule, example)
        for key, child in self.entries():
            if key not in allowed and not (extensions and key.startswith("x-")):
                child.fail(unknown_key_message(key, allowed))
        for key in required:
            if key not in self.value:
                self.fail(f"missing required key '{key}' (required here: {', '.join(required)})")
        return Map(self)


class Map:
    """A mapping Node whose keys have been checked: child Nodes by key, in file order."""

    def __init__(self, node: Node):
        self.node = node
        self.value: dict[str, Any] = node.value

    def __contains__(self, key: str) -> bool:
        return key in self.value

    def __getitem__(self, key: str) -> Node:
        return self.node.child(key)

    def get(self, key: str) -> Node | None:
        return self.node.child(key) if key in self.value else None

    def keys(self) -> list[str]:
        return list(self.value)

    def one_of(self, keys: Sequence[str], what: str, *, example: str | None = None) -> str:
        """The one key of `keys` this mapping has. None of them, or two, is an error: `what` names the
        mapping in the message ('a step', 'a wait'); two are reported at the second one."""
        present = [k for k in self.value if k in keys]
        if not present:
            eg = f", e.g. {example}" if example else ""
            self.node.fail(f"{what} needs one of {or_list(keys)}{eg}")
        if len(present) > 1:
            self[present[1]].fail(f"{what} takes only one of {or_list(keys)}, "
                                  f"but this one has both '{present[0]}' and '{present[1]}'")
        return present[0]
