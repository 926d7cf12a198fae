"""A parsed YAML file and the cursor over it, whose getters return plain values or raise located errors.

- :class:`Document` is a file's plain data (what ``yaml.safe_load`` gives), the line of each key path and the
  error class to raise (the caller's :class:`~orchestrator.errors.LocatedError` subclass); its errors name the
  file, the line and the key path. :class:`Where` is such a place.
- :class:`Node` is a value with its key path; its typed getters (``.str()``, ``.int(lo, hi)``,
  ``.number(minimum, maximum)``, ``.bool()``, ``.list()``, ``.mapping(allowed)``, ``.choice(options)``) return plain
  values or raise the located error. :class:`Map` is a mapping whose keys have been checked.

A Document is built from YAML text by :mod:`orchestrator.model.yamlsource`; nothing here knows what a scenario
or a topology is.
"""
from __future__ import annotations

import math
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from ..base.errors import LocatedError
from ..base.text import describe, did_you_mean, or_list, unknown_key_message
from .keypaths import index_path, key_path, prefixes, shown_key

ErrorClass = type[LocatedError]


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
        for prefix in prefixes(key):
            if prefix in self.lines:
                return self.lines[prefix]
        return None

    def fail(self, key: str, message: str) -> NoReturn:
        """Raise the document's error at key path `key`."""
        raise self.error(self.path, self.line_of(key), shown_key(key), message)

    @property
    def root(self) -> Node:
        return Node(self, "", self.data)


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
