"""YAML text -> a :class:`~orchestrator.model.document.Document`: plain Python data and the line of every key path.

Shared by the scenario, topology and suite loaders, so that every mistake in any of them is reported the same
way: the file, the line, the key path (``steps[3].wait.port``, ``checks[2].log.sequence[1]``,
``services.server.sysctls["net.ipv4.ip_forward"]``) and a message that says what is wrong and what would be
right. Nothing here knows what a scenario or a topology is. The modules beside it:
:mod:`~orchestrator.model.boundedread` (the file's text, read without trusting the file),
:mod:`~orchestrator.model.keypaths`, :mod:`~orchestrator.model.document` (the Document and its cursor, Node) and
:mod:`orchestrator.base.text` (the words of messages).

- :func:`parse_yaml` / :func:`read_yaml` build a Document with PyYAML's node API (``SafeLoader``): the data is
  what ``yaml.safe_load`` would give, except that a duplicate mapping key is refused (PyYAML keeps the last one
  silently), an empty document is refused, and syntax errors become the caller's error class (a
  :class:`~orchestrator.errors.LocatedError` subclass) with the 1-based line of the problem.
- Hostile input gets a located error too, never a hang, a crash or a traceback: only a regular file of at most
  MAX_FILE_BYTES is read (opened without blocking); nesting past MAX_DEPTH, more than MAX_VALUES values or
  MAX_TEXT characters once aliases are expanded (an alias bomb), and scalars Python cannot read (an int of
  5,000 digits) are refused where they are. Messages clip what they quote to SHOWN_CHARS and escape what cannot
  be seen (``'time\\u200bout'``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from ..base.errors import LocatedError
from ..base.text import describe, quote, shown, yaml_text
from .boundedread import MAX_FILE_BYTES, read_text, too_large
from .document import Document, ErrorClass
from .keypaths import index_path, key_path, shown_key

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"
#: What each standard scalar tag reads a value as, for messages.
_SCALAR_KINDS = {_INT_TAG: "a whole number", "tag:yaml.org,2002:float": "a number",
                 "tag:yaml.org,2002:bool": "true or false", "tag:yaml.org,2002:null": "null",
                 "tag:yaml.org,2002:timestamp": "a date", "tag:yaml.org,2002:binary": "base64 binary data"}


def read_yaml(path: str | Path, error: ErrorClass) -> Document:
    """Read a UTF-8 YAML file into a Document; unreadable files are `error`s too (boundedread.read_text: only a
    regular file of at most MAX_FILE_BYTES is read, opened without blocking)."""
    return parse_yaml(read_text(path, error), str(path), error)


def parse_yaml(text: str, path: str, error: ErrorClass) -> Document:
    """Parse YAML text into a Document. Syntax errors, an empty document, duplicate keys, recursive aliases
    and tags other than the standard ones raise `error` with the line (1-based)."""
    if len(text) > MAX_FILE_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise error(path, None, "", too_large(len(text.encode("utf-8", "surrogatepass"))))
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
