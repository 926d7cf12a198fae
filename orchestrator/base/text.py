"""Words for messages: how a value, a name, a line or a list of names is shown to the person who reads it.

Shared by every reader of a file (the scenario, the topology, the suite, their check and step kinds), so that a
message quotes and clips the same way wherever it comes from. Messages clip what they quote to SHOWN_CHARS and
escape what cannot be seen (``'time\\u200bout'``); a near miss gets a did-you-mean. And is_ipv4, which the
readers ask of a text before they say what is wrong with it. Nothing here knows what a file, a scenario or a
topology is.

Also the one home of what is shown of a run and a submission: `escaped` (every character that cannot be seen
written as Python's repr writes it: a name in a zip, a link's target), `escaped_lines` (the same with line
breaks and tabs kept: a terminal, a page), `ascii_escaped` (everything past ASCII escaped too), `clip` and
`quoted_clip` (one line of a program's output, a frame, a display filter in a check's evidence, cut to
LINE_CHARS with '…'), and `xml_safe` (the characters XML 1.0 cannot hold, even escaped, replaced: JUnit
files, the ladder's SVG).
"""
from __future__ import annotations

import datetime
import difflib
import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Any

#: How many characters of a key or a value a message shows (longer ones are clipped: 'aaa...'), and how many
#: names of a list ('server, client, ... and 12 more').
SHOWN_CHARS = 60
SHOWN_NAMES = 10
#: How many characters of one line (of a program's output, of netstat, a frame, a filter) `clip` keeps.
LINE_CHARS = 160


def yaml_text(value: object) -> str:
    """A scalar as YAML would write it (true, null, 5000, text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(ch: str) -> str:
    """A character that is not printable as Python's repr writes it (\\n, \\x1b, \\u200b, \\U000e0001)."""
    code = ord(ch)
    return _ESCAPES.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                                else f"\\U{code:08x}")


def escaped(text: str, keep: str = "") -> str:
    """Text as a message shows it: each character that cannot be seen (a control character, a zero-width
    space, a lone surrogate) escaped as Python's repr writes it (\\x1b, \\u200b), but those in `keep`; the
    others as they are. A name can hold an escape sequence; this shows it instead of sending it."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in keep else _escape(ch) for ch in text)


def ascii_escaped(text: str) -> str:
    """Text in ASCII as Python's unicode_escape writes it: unlike `escaped`, every character past ASCII
    (olé: ol\\xe9) and every backslash are escaped too (a --programs file's name that is not a program's)."""
    return text.encode("unicode_escape").decode("ascii")


def escaped_lines(text: object) -> str:
    """Text of any number of lines for a terminal or a page: what a program printed may hold escape
    sequences (clear the screen, set the window title, move the cursor) or invisible characters (a
    right-to-left override); each is shown escaped (\\x1b, \\u202e). Line breaks and tabs stay."""
    return escaped(str(text), keep="\n\t")


def shown(text: str) -> str:
    """Text for a message, unquoted: non-printable characters (a zero-width space, a newline) escaped so the
    reader sees what is there (\\u200b, \\n), clipped to SHOWN_CHARS ('...' marks the cut)."""
    if len(text) > SHOWN_CHARS:
        return escaped(text[:SHOWN_CHARS - 3]) + "..."
    return escaped(text)


def clip(text: str, limit: int = LINE_CHARS) -> str:
    """One line made printable (control characters escaped, non-ASCII text kept) and cut to `limit`
    characters, escapes counted ('…' marks the cut)."""
    text = escaped(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted_clip(text: str, limit: int = LINE_CHARS) -> str:
    """A line in double quotes, made printable and clipped as `clip` does ("I received 3 chars: olá")."""
    return f'"{clip(text, limit)}"'


#: the characters XML 1.0 cannot hold, even escaped
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: object) -> str:
    """Text made safe for XML 1.0 (characters it cannot hold become U+FFFD)."""
    return _NOT_XML.sub("\ufffd", str(text))


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


def plural(n: int, word: str) -> str:
    """'1 line', '3 lines': a count and its noun."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
