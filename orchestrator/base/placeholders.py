"""Placeholders of the scenario language: {server.ip}, {client.name}, a host's address or name in the run.
Other braces (a regex's {1,3}) are kept. Used by the parser (which checks the hosts named) and by the steps
and checks as they are played and judged."""
from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_-]*)\.(ip|name)\}")


def placeholders(text: str) -> list[tuple[str, str]]:
    """The (host, attribute) pairs a text refers to."""
    return PLACEHOLDER.findall(text)


def expand(text: str, addresses: dict[str, str], *, regex: bool = False) -> str:
    """Replace {host.ip} and {host.name} with the run's values (escaped for a regex when regex=True).
    Unknown hosts are left as they are (the loader refuses them before a run)."""

    def sub(m: re.Match) -> str:
        host, attr = m.group(1), m.group(2)
        if host not in addresses:
            return m.group(0)
        value = addresses[host] if attr == "ip" else host
        return re.escape(value) if regex else value

    return PLACEHOLDER.sub(sub, text)
