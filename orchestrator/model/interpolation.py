"""compose.yaml's variable interpolation, without an environment.

In every string value: ``${VAR:-default}`` and ``${VAR-default}`` take the default (the default may itself
contain ``${...}``); ``$$`` is a literal ``$``. The orchestrator ignores the environment on purpose (a run must
not depend on the shell it was started from), so ``${VAR}``, ``$VAR``, ``${VAR:?error}`` and ``${VAR:+alt}``
are refused, and so is a lone ``$``; defaults may nest MAX_INTERPOLATION_DEPTH deep.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NoReturn

from ..base.text import quote, shown
from .document import Node

_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VAR_WITH_DEFAULT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(:?-)(.*)", re.S)


def interpolate_tree(node: Node) -> Any:
    """The data with every string value interpolated (keys are left alone; top-level x-* keys skipped)."""
    value = node.value
    if isinstance(value, dict):
        return {k: (v if node.key == "" and isinstance(k, str) and k.startswith("x-")
                    else interpolate_tree(node.child(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate_tree(node.child(i)) for i in range(len(value))]
    if isinstance(value, str):
        return interpolate(value, node.fail)
    return value


#: How deep ${VAR:-default}s may nest in one another's defaults (${A:-${B:-x}} is 2).
MAX_INTERPOLATION_DEPTH = 10


def interpolate(text: str, fail: Callable[[str], NoReturn], depth: int = 1) -> str:
    """Compose interpolation without an environment: ${VAR:-default} and ${VAR-default} give the default,
    $$ gives $; every other use of $ calls fail(message)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
            continue
        after = text[i + 1:i + 2]
        if after == "$":
            out.append("$")
            i += 2
        elif after == "{":
            end = _closing_brace(text, i + 2)
            if end < 0:
                fail(f"unclosed '${{' in {quote(text)}; write ${{VAR:-default}}, or $$ for a literal $")
            inner = text[i + 2:end]
            m = _VAR_WITH_DEFAULT.fullmatch(inner)
            if not m and _VAR_NAME.fullmatch(inner):
                fail(f"${{{shown(inner)}}} has no default, and the orchestrator ignores the environment; "
                     f"write ${{{shown(inner)}:-default}}")
            if not m:
                fail(f"${{{shown(inner)}}} is not supported: the orchestrator ignores the environment, so only "
                     "${VAR:-default} and ${VAR-default} are (and $$ for a literal $)")
            if depth >= MAX_INTERPOLATION_DEPTH and "${" in m.group(3):
                fail(f"${{VAR:-default}} nested more than {MAX_INTERPOLATION_DEPTH} deep in {quote(text)}; "
                     "write the value itself")
            out.append(interpolate(m.group(3), fail, depth + 1))
            i = end + 1
        else:
            var = _VAR_NAME.match(text, i + 1)
            if var:
                fail(f"${shown(var.group(0))} has no default, and the orchestrator ignores the environment; "
                     f"write ${{{shown(var.group(0))}:-default}}")
            fail(f"a lone '$' in {quote(text)}; write $$ for a literal $")
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    """The index of the '}' closing a '${' whose content starts at `start` (nesting counted), or -1."""
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1
