"""Key paths: where a value is in a YAML file, as a message names it (``steps[3].wait.port``,
``checks[2].log.sequence[1]``, ``services.server.sysctls["net.ipv4.ip_forward"]``).

A key path is built a step at a time (:func:`key_path` for a mapping's key, :func:`index_path` for a list's
item), shown clipped (:func:`shown_key`) and taken apart into its parents (:func:`prefixes`, to find the line
of the nearest one that has a line).
"""
from __future__ import annotations

import re

from ..base.text import SHOWN_CHARS, escaped, yaml_text

#: Keys written as they are in a key path; any other key is written quoted: sysctls["net.ipv4.ip_forward"].
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
#: One step of a key path: .name, [3] or ["quoted key"].
_KEY_STEP = re.compile(r'\.?([A-Za-z0-9_-]+)|\[([0-9]+)\]|\[("(?:[^"\\]|\\.)*")\]')
#: A quoted step of a key path, ["..."], its text as group 1.
_QUOTED_STEP = re.compile(r'\["((?:[^"\\]|\\.)*)"\]')


def key_path(parent: str, key: object) -> str:
    """The key path of mapping key `key` under `parent`: ('steps[3]', 'wait') -> 'steps[3].wait'; other keys
    are quoted, with " and \\ escaped and non-printable characters too: services["a\\u200bb"]."""
    text = yaml_text(key)
    if _PLAIN_KEY.fullmatch(text):
        return f"{parent}.{text}" if parent else text
    quoted = "".join("\\" + ch if ch in '"\\' else escaped(ch) for ch in text)
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


def prefixes(key: str) -> list[str]:
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
