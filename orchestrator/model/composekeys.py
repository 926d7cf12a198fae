"""The values of compose.yaml's service keys read alike by hosts and sidecars (labels, sysctls, extra_hosts,
command, cap_add/cap_drop), and those only compose uses (depends_on, stop_signal, volumes, ...): their shape is
checked so that compose would accept them too. The subset is documented in :mod:`orchestrator.model.topology`.
"""
from __future__ import annotations

import re

from ..base.text import did_you_mean, is_ipv4, names, quote
from .document import Map, Node

DEPENDS_CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")

_SIGNAL = re.compile(r"SIG[A-Z0-9]+")
_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:us|ms|s|m|h))+")
_CAPABILITY = re.compile(r"[A-Z][A-Z_]*")
_ABSOLUTE = re.compile(r"/[^\s:]*")
_BYTES = re.compile(r"[0-9]+[bkmgBKMG]?")


def compose_only(name: str, m: Map, service_names: list[str]) -> None:
    """Keys only compose uses: their shape is checked so that compose would accept them too."""
    if "labels" in m:
        key_values(m["labels"], "{socklab.run: lab}")
    if "depends_on" in m:
        _depends_on(name, m["depends_on"], service_names)
    if "stop_signal" in m:
        m["stop_signal"].str(rule="a signal name like SIGINT", pattern=_SIGNAL, example="SIGINT")
    if "stop_grace_period" in m:
        m["stop_grace_period"].str(rule="a duration like 10s or 1m30s", pattern=_DURATION, example="10s")
    if "volumes" in m:
        for item in m["volumes"].list(example="['./captures:/captures']"):
            item.str(rule="a volume in the short syntax SOURCE:TARGET[:MODE]", example="'./captures:/captures'")
    if "security_opt" in m:
        for item in m["security_opt"].list(example="[no-new-privileges:true]"):
            item.str(rule="a security option like no-new-privileges:true", example="no-new-privileges:true")
    if "read_only" in m:
        m["read_only"].bool()
    if "tmpfs" in m:
        paths = m["tmpfs"].list(example="[/tmp]") if isinstance(m["tmpfs"].value, list) else [m["tmpfs"]]
        for item in paths:
            item.str(rule="an absolute path", pattern=_ABSOLUTE, example="/tmp")
    if "mem_limit" in m:
        if isinstance(m["mem_limit"].value, str):
            m["mem_limit"].str(rule="bytes, or a number with b, k, m or g", pattern=_BYTES, example="512m")
        else:
            m["mem_limit"].int(1 << 20, 1 << 50, example="512m")
    if "pids_limit" in m:
        m["pids_limit"].int(1, 1 << 22, example="64")
    if "cpus" in m:
        m["cpus"].number(0, 1024, exclusive=True, example="1.0")


def _depends_on(name: str, node: Node, service_names: list[str]) -> None:
    if isinstance(node.value, dict):
        targets = []
        for target, spec in node.entries():
            cond = spec.mapping(("condition",), example="{condition: service_started}")
            if "condition" in cond:
                cond["condition"].choice(DEPENDS_CONDITIONS)
            targets.append((target, node.child(target)))
    else:
        targets = [(item.str(rule="a service name", example="server"), item)
                   for item in node.list(example="[server]")]
    for target, target_node in targets:
        if target not in service_names or target == name:
            target_node.fail(f"{quote(target)} is not another service{did_you_mean(target, service_names)} "
                             f"(services: {names(service_names)})")


def key_values(node: Node, example: str) -> dict[str, str]:
    """labels / sysctls: a mapping of scalars, or a list of 'KEY=VALUE' strings -> {key: value as text}."""
    if isinstance(node.value, list):
        pairs = {}
        for item in node.list():
            key, sep, value = item.str(rule="a KEY=VALUE string", example="'KEY=VALUE'").partition("=")
            if not sep or not key:
                item.must("a KEY=VALUE string", "'KEY=VALUE'")
            pairs[key] = value
        return pairs
    return {key: value.text(example="'1'") for key, value in node.entries(example=example)}


def extra_hosts(node: Node) -> list[tuple[str, str, Node]]:
    """extra_hosts: a list of 'NAME:ADDR' or a mapping NAME: ADDR -> [(name, address, its node)]."""
    if isinstance(node.value, dict):
        pairs = [(name, value.str(rule="an IPv4 address", example="10.77.0.20"), value)
                 for name, value in node.entries()]
    else:
        pairs = []
        for item in node.list(example="['client:10.77.0.20']"):
            name, sep, address = item.str(rule="'NAME:ADDRESS'", example="'client:10.77.0.20'").partition(":")
            if not sep or not name:
                item.must("'NAME:ADDRESS'", "'client:10.77.0.20'")
            pairs.append((name, address, item))
    for name, address, item in pairs:
        if not is_ipv4(address):
            item.fail(f"{quote(address)} is not an IPv4 address; write NAME:ADDRESS, e.g. 'client:10.77.0.20'")
    return pairs


def command(node: Node) -> tuple[str, ...]:
    """A command: a list of arguments, or a string split like a shell would."""
    if isinstance(node.value, str):
        return tuple(node.shell_words(example="[sleep, infinity]"))
    return tuple(item.text(example="sleep") for item in node.list(example="[sleep, infinity]"))


def capabilities(node: Node | None) -> tuple[str, ...]:
    """cap_add / cap_drop: capability names like NET_RAW (or ALL)."""
    if node is None:
        return ()
    return tuple(item.str(rule="a capability name like NET_RAW", pattern=_CAPABILITY, example="NET_RAW")
                 for item in node.list(example="[NET_RAW, NET_ADMIN]"))
