"""compose.yaml -> Topology: the lab's hosts, its one network and its sidecars, as plain frozen data.

The orchestrator reads the same compose.yaml that ``make up`` gives to docker compose, but only a documented
subset of the Compose format; anything outside it is a TopologyError naming the file, the line, the key path
and the allowed keys (with a did-you-mean), rather than being silently ignored.

The subset
----------
Top level: ``services`` and ``networks`` (required), and ``x-*`` extension keys (ignored).

``networks``: exactly one network, ``NAME: {ipam: {config: [{subnet: A.B.C.D/N}]}}`` with one config
entry whose ``subnet`` is an IPv4 network; optional ``driver`` (``bridge`` only), ``internal`` (true/false)
and ``labels``.

``services``: a mapping of service names (a letter, then letters, digits, ``_`` or ``-``). Each is either

- a **host**: has ``networks: {NAME: {ipv4_address: ADDR}}`` naming the one network, with an address inside
  the subnet that is neither the network's address, its broadcast address nor its first address (Docker
  gives that to the bridge as gateway), and unique; or
- a **sidecar**: has ``network_mode: service:HOST`` (HOST a host service) and shares that host's network
  namespace (the capture). ``network_mode`` has no other form here.

Keys of a service:

=================  ==========  ================================================================================
key                for         value
=================  ==========  ================================================================================
image              both        required; a non-empty string
user               both        a string (or a number: uid)
init               both        true/false (default false)
command            both        a list of strings/numbers, or a string split like a shell would
labels             both        a mapping or a list of ``KEY=VALUE`` (compose only; the orchestrator labels itself)
depends_on         both        a list of service names, or a mapping ``NAME: {condition: ...}`` (compose only)
stop_signal        both        a signal name like ``SIGINT`` (kept for sidecars; compose only for hosts)
stop_grace_period  both        a duration like ``10s`` or ``1m30s`` (compose only)
volumes            both        a list of short-syntax strings ``SOURCE:TARGET[:MODE]`` (compose only)
security_opt       both        a list of options like ``no-new-privileges:true`` (compose only)
read_only          both        true/false (compose only)
tmpfs              both        a path, or a list of paths (compose only)
mem_limit          both        bytes, or a number with b, k, m or g like ``512m`` (compose only)
pids_limit         both        a whole number of processes (compose only)
cpus               both        a number of CPUs like ``1.0`` (compose only)
hostname           host        an RFC 1123 label, unique; default: the service name (compose would use the
                               container id, so set it)
networks           host        see above
extra_hosts        host        a list of ``NAME:ADDR`` or a mapping ``NAME: ADDR``; a NAME that is another
                               host's name or hostname must have that host's address
sysctls            host        a mapping or a list of ``KEY=VALUE``
network_mode       sidecar     ``service:HOST``
cap_add, cap_drop  sidecar     lists of capability names
=================  ==========  ================================================================================

Docker refuses hostname, networks, extra_hosts and sysctls together with ``network_mode: service:...``, so
they are host-only; the orchestrator gives hosts no extra capabilities, so cap_add/cap_drop are sidecar-only.

A run does not take its sandbox from here: the orchestrator confines hosts and the capture itself (lab.py,
capture.CAPABILITIES and the limits beside it), whatever compose.yaml says; compose.yaml confines the lab
that `make up` starts, and a unit test keeps its capture in step with the orchestrator's.

Variable interpolation, in every string value: ``${VAR:-default}`` and ``${VAR-default}`` take the default
(the default may itself contain ``${...}``); ``$$`` is a literal ``$``. The orchestrator ignores the
environment on purpose (a run must not depend on the shell it was started from), so ``${VAR}``, ``$VAR``,
``${VAR:?error}`` and ``${VAR:+alt}`` are refused, and so is a lone ``$``; defaults may nest 10 deep.

The interpolation is interpolation.py's; the values of the keys hosts and sidecars share, and of the keys only
compose uses, are read by composekeys.py.
"""
from __future__ import annotations

import ipaddress
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import TopologyError
from ..base.text import did_you_mean, names, quote, shown, yaml_text
from . import composekeys
from .document import Document, Map, Node, Where
from .interpolation import interpolate_tree
from .yamlsource import read_yaml

TOP_KEYS = ("services", "networks")
NETWORK_KEYS = ("ipam", "labels", "driver", "internal")
HOST_ONLY = ("hostname", "networks", "extra_hosts", "sysctls")
SIDECAR_ONLY = ("network_mode", "cap_add", "cap_drop")
SERVICE_KEYS = ("image", "hostname", "user", "init", "command", "networks", "extra_hosts", "labels", "sysctls",
                "network_mode", "depends_on", "cap_add", "cap_drop", "stop_signal", "stop_grace_period", "volumes",
                "security_opt", "read_only", "tmpfs", "mem_limit", "pids_limit", "cpus")

_SERVICE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


@dataclass(frozen=True)
class Host:
    """A lab computer: a container with its own address on the lab network."""

    name: str
    image: str
    hostname: str
    user: str | None
    command: tuple[str, ...]
    init: bool
    ip: str
    sysctls: dict[str, str]
    extra_hosts: dict[str, str]
    where: Where


@dataclass(frozen=True)
class Sidecar:
    """A container sharing a host's network namespace (network_mode: service:<host>), e.g. the capture."""

    name: str
    image: str
    attached_to: str
    user: str | None
    command: tuple[str, ...]
    cap_add: tuple[str, ...]
    cap_drop: tuple[str, ...]
    stop_signal: str | None
    init: bool
    where: Where


def gateway_of(subnet: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
    """The bridge's (the host's own) address on a lab network: the subnet's first, as Docker chooses."""
    return subnet.network_address + 1


@dataclass(frozen=True)
class Topology:
    """The lab as compose.yaml describes it: one network, its hosts and sidecars (in file order)."""

    path: str
    network: str
    subnet: str
    hosts: dict[str, Host]
    sidecars: dict[str, Sidecar]

    def offset(self, host: str) -> int:
        """The host's address offset within the subnet: 10.77.0.10 in 10.77.0.0/24 -> 10."""
        network = ipaddress.IPv4Network(self.subnet)
        return int(ipaddress.IPv4Address(self.hosts[host].ip)) - int(network.network_address)

    @property
    def gateway(self) -> str:
        return str(gateway_of(ipaddress.IPv4Network(self.subnet)))

    def addresses(self) -> dict[str, str]:
        """Host name -> address, e.g. for scenario.expand()."""
        return {name: host.ip for name, host in self.hosts.items()}


def load_topology(path: str | Path) -> Topology:
    """Read compose.yaml (the documented subset); any problem is a TopologyError naming file, line and key."""
    doc = read_yaml(path, TopologyError)
    _top_level(doc.root)  # first: a file that is no compose file is told so, not about the first '$' in it
    doc.data = interpolate_tree(doc.root)
    return _Parser(doc).topology()


def _top_level(root: Node) -> Map:
    """The top level: services and networks (and x-* keys). A mapping with neither is not a compose file at all
    (a scenario given as the topology, say), and is told so rather than about each of its keys."""
    value = root.value
    if isinstance(value, dict) and value and not any(key in value for key in TOP_KEYS):
        root.fail(f"this is not a compose file: its top level has {names(yaml_text(k) for k in value)}, "
                  "where a compose file has services and networks")
    return root.mapping(TOP_KEYS, TOP_KEYS, rule="a mapping with the keys services and networks",
                        example="services: {...}", extensions=True)


# ---- the parser ----------------------------------------------------------------------------------


class _Parser:
    """compose.yaml's validation: the network first (hosts need its subnet), then services in file order."""

    def __init__(self, doc: Document):
        self.doc, self.path = doc, doc.path
        self.network = ""
        self.subnet: ipaddress.IPv4Network | None = None
        self.service_names: list[str] = []
        self.hosts: dict[str, Host] = {}
        self.sidecars: dict[str, Sidecar] = {}
        self.address_of: dict[str, str] = {}  # address -> host
        self.extra_hosts: list[tuple[str, str, Node]] = []  # every host's (name, address, its node)

    def topology(self) -> Topology:
        m = _top_level(self.doc.root)
        self._network(m["networks"])
        services = m["services"].entries(example="{server: {image: socklab/node:latest, ...}}")
        if not services:
            m["services"].must("a non-empty mapping of services", "{server: {image: socklab/node:latest, ...}}")
        self.service_names = [name for name, _ in services]
        # which services are hosts must be known before a sidecar (anywhere in the file) names one
        host_names = [name for name, node in services if not (isinstance(node.value, dict)
                                                               and "network_mode" in node.value)]
        for name, node in services:
            self._service(name, node, host_names)
        self._check_extra_hosts()
        return Topology(path=self.path, network=self.network, subnet=str(self.subnet), hosts=self.hosts,
                        sidecars=self.sidecars)

    def _network(self, node: Node) -> None:
        entries = node.entries(example="{lab: {ipam: {config: [{subnet: 10.77.0.0/24}]}}}")
        if len(entries) != 1:
            node.fail(f"must have exactly one network (got {len(entries)}"
                      f"{': ' + ', '.join(k for k, _ in entries) if entries else ''}), "
                      "e.g. {lab: {ipam: {config: [{subnet: 10.77.0.0/24}]}}}")
        self.network, net = entries[0]
        m = net.mapping(NETWORK_KEYS, ("ipam",), example="{ipam: {config: [{subnet: 10.77.0.0/24}]}}")
        ipam = m["ipam"].mapping(("config",), ("config",), example="{config: [{subnet: 10.77.0.0/24}]}")
        configs = ipam["config"].list(nonempty=True, example="[{subnet: 10.77.0.0/24}]")
        if len(configs) > 1:
            configs[1].fail("must have exactly one config entry (one subnet) in this subset")
        subnet = configs[0].mapping(("subnet",), ("subnet",), example="{subnet: 10.77.0.0/24}")["subnet"]
        try:
            self.subnet = ipaddress.IPv4Network(subnet.str(rule="an IPv4 network", example="10.77.0.0/24"))
        except ValueError as e:
            subnet.fail(f"must be an IPv4 network, e.g. 10.77.0.0/24 (got {quote(subnet.value)}: {shown(str(e))})")
        if "driver" in m and m["driver"].value != "bridge":
            m["driver"].must("bridge (the only driver in this subset), or left out", "bridge")
        if "internal" in m:
            m["internal"].bool()
        if "labels" in m:
            composekeys.key_values(m["labels"], "{socklab.run: lab}")

    def _service(self, name: str, node: Node, host_names: list[str]) -> None:
        where = node.where
        if not _SERVICE_NAME.fullmatch(name):
            node.fail(f"a service name must be a letter, then letters, digits, '_' or '-' (got {quote(name)}); "
                      "scenarios refer to hosts by it, e.g. {server.ip}")
        m = node.mapping(SERVICE_KEYS, ("image",), example="{image: socklab/node:latest, networks: ...}")
        sidecar = "network_mode" in m
        if not sidecar and "networks" not in m:
            node.fail(f"a service needs networks (a host, e.g. networks: {{{shown(self.network)}: {{ipv4_address: "
                      f"{self._free_address()}}}}}) or network_mode: service:<host> (a sidecar)")
        for key in m.keys():
            if sidecar and key in HOST_ONLY:
                m[key].fail(f"{quote(key)} cannot be used with network_mode: a sidecar shares its host's network "
                            "namespace, and Docker refuses both together")
            if not sidecar and key in SIDECAR_ONLY:
                m[key].fail(f"{quote(key)} is only for sidecars (services with network_mode: service:<host>) in this "
                            "subset: the orchestrator would not apply it to a host")
        image = m["image"].str(example="socklab/node:latest")
        user = m["user"].text(example="student") if "user" in m else None
        init = m["init"].bool() if "init" in m else False
        command = composekeys.command(m["command"]) if "command" in m else ()
        composekeys.compose_only(name, m, self.service_names)
        if sidecar:
            self.sidecars[name] = Sidecar(
                name=name, image=image, attached_to=self._attached_to(m["network_mode"], host_names), user=user,
                command=command, cap_add=composekeys.capabilities(m.get("cap_add")),
                cap_drop=composekeys.capabilities(m.get("cap_drop")),
                stop_signal=m["stop_signal"].value if "stop_signal" in m else None,  # checked by compose_only
                init=init, where=where)
            return
        hostname = name
        if "hostname" in m:
            hostname = m["hostname"].str(rule="a host name (letters, digits and '-', at most 63)",
                                         pattern=_HOSTNAME, example="server")
        for other in self.hosts.values():
            if other.hostname == hostname:
                (m.get("hostname") or node).fail(f"hostname {quote(hostname)} is already {shown(other.name)}'s; "
                                                 "give each host its own")
        ip = self._address(name, m["networks"])
        extra = composekeys.extra_hosts(m["extra_hosts"]) if "extra_hosts" in m else []
        self.extra_hosts += extra
        sysctls = composekeys.key_values(m["sysctls"], "'net.ipv4.ip_forward=1'") if "sysctls" in m else {}
        self.hosts[name] = Host(name=name, image=image, hostname=hostname, user=user, command=command, init=init,
                                ip=ip, sysctls=sysctls, extra_hosts={e: a for e, a, _ in extra}, where=where)

    def _free_address(self) -> str:
        """An address a new host could take, for examples in messages."""
        assert self.subnet is not None
        for address in itertools.islice(self.subnet.hosts(), 9, 1000):  # .10, .11, ... like the lab's
            if str(address) not in self.address_of:
                return str(address)
        return str(self.subnet.network_address + 2)

    def _address(self, name: str, node: Node) -> str:
        """`networks: {NET: {ipv4_address: ADDR}}`: the host's address on the one network."""
        assert self.subnet is not None
        free = self._free_address()
        inner = f"{{ipv4_address: {free}}}"
        entries = node.entries(example=f"{{{shown(self.network)}: {inner}}}")
        if len(entries) != 1:
            node.must(f"a mapping with the one network, {shown(self.network)}, and the host's address",
                      f"{{{shown(self.network)}: {inner}}}")
        net_name, net = entries[0]
        if net_name != self.network:
            net.fail(f"unknown network {quote(net_name)}{did_you_mean(net_name, [self.network])} "
                     f"(networks: {shown(self.network)})")
        address = net.mapping(("ipv4_address",), ("ipv4_address",), example=inner)["ipv4_address"]
        text = address.str(rule=f"an IPv4 address in {self.subnet}", example=free)
        try:
            ip = ipaddress.IPv4Address(text)
        except ValueError:
            address.must(f"an IPv4 address in {self.subnet}", free)
        if ip not in self.subnet:
            address.fail(f"{ip} is outside the network's subnet {self.subnet}; pick an address in it, e.g. {free}")
        reserved = {self.subnet.network_address: "the network's own address",
                    self.subnet.broadcast_address: "the broadcast address",
                    gateway_of(self.subnet): "the gateway (Docker gives the subnet's first address "
                                             "to the bridge)"}
        if ip in reserved:
            address.fail(f"{ip} is {reserved[ip]}; pick another, e.g. {free}")
        if text in self.address_of:
            address.fail(f"{ip} is already {shown(self.address_of[text])}'s address; pick another, e.g. {free}")
        self.address_of[text] = name
        return text

    def _attached_to(self, node: Node, host_names: list[str]) -> str:
        """`network_mode: service:HOST` -> HOST."""
        text = node.str(rule="service:<host>", example="service:server")
        kind, _, target = text.partition(":")
        if kind != "service" or not target:
            node.fail(f"only network_mode: service:<host> is supported here (got {quote(text)}); "
                      f"a host gets networks: {{{shown(self.network)}: {{ipv4_address: ...}}}} instead")
        if target not in host_names:
            what = "is a sidecar itself" if target in self.service_names else "is no service"
            node.fail(f"{quote(target)} {what}; a sidecar attaches to a host{did_you_mean(target, host_names)} "
                      f"(hosts: {names(host_names)})")
        return target

    def _check_extra_hosts(self) -> None:
        """extra_hosts naming a host of the lab must give its address (the names must agree with the lab)."""
        for name, address, node in self.extra_hosts:
            for other in self.hosts.values():
                if name in (other.name, other.hostname) and address != other.ip:
                    node.fail(f"{shown(name)} is at {other.ip} ({shown(other.where.key)}.networks), "
                              f"not {shown(address)}; write {shown(name)}:{other.ip}")
