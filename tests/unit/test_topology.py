"""compose.yaml as the orchestrator reads it: the real file's model, the subset's refusals (exact messages),
interpolation without an environment, and address checks."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestrator.lab import capture
from orchestrator.lab.capture import capture_filter
from orchestrator.base.errors import EXIT_INVALID_INPUT, TopologyError
from orchestrator.model.scenario import Where
from orchestrator.model.interpolation import interpolate
from orchestrator.model.topology import Host, Sidecar, load_topology

from tests.support import ROOT


BASE = """\
services:
  server:
    image: socklab/node:latest
    hostname: server
    networks:
      lab:
        ipv4_address: 10.77.0.10
    extra_hosts: ["client:10.77.0.20"]
  client:
    image: socklab/node:latest
    hostname: client
    networks:
      lab:
        ipv4_address: 10.77.0.20
  capture:
    image: socklab/capture:latest
    network_mode: "service:server"
    cap_add: [NET_RAW]
networks:
  lab:
    ipam:
      config:
        - subnet: 10.77.0.0/24
"""


def load(tmp_path: Path, text: str):
    path = tmp_path / "compose.yaml"
    path.write_text(text, encoding="utf-8")
    return load_topology(path)


def error_of(tmp_path: Path, old: str, new: str) -> str:
    """The message for BASE with `old` replaced by `new`, with the file's path written as P."""
    assert old in BASE, old
    with pytest.raises(TopologyError) as caught:
        load(tmp_path, BASE.replace(old, new, 1))
    assert caught.value.exit_code == EXIT_INVALID_INPUT
    return str(caught.value).replace(str(tmp_path / "compose.yaml"), "P")


# ---- the real file -----------------------------------------------------------------------------------


def test_the_real_compose_file_loads_into_the_expected_model():
    path = ROOT / "compose.yaml"
    t = load_topology(path)
    assert (t.path, t.network, t.subnet) == (str(path), "lab", "10.77.0.0/24")
    assert list(t.hosts) == ["server", "client"] and list(t.sidecars) == ["capture"]
    assert t.hosts["server"] == Host(
        name="server", image="socklab/node:latest", hostname="server", user="student",
        command=("sleep", "infinity"), init=True, ip="10.77.0.10",
        sysctls={"net.ipv6.conf.all.disable_ipv6": "1"}, extra_hosts={"client": "10.77.0.20"},
        where=Where(str(path), 15, "services.server"))
    assert t.hosts["client"].ip == "10.77.0.20" and t.hosts["client"].extra_hosts == {"server": "10.77.0.10"}
    capture = t.sidecars["capture"]
    assert capture == Sidecar(
        name="capture", image="socklab/capture:latest", attached_to="server", user="root",
        command=("sh", "-c", "exec tcpdump -i eth0 --immediate-mode -U -Z analyst "
                             "-w /captures/lab-$(date +%Y%m%d-%H%M%S).pcap "
                             "not ip6 and not host 10.77.0.1 and not src host 0.0.0.0"),
        cap_add=("NET_RAW", "SETUID", "SETGID", "CHOWN"), cap_drop=("ALL",),
        stop_signal="SIGINT", init=False, where=Where(str(path), 47, "services.capture"))
    assert (t.offset("server"), t.offset("client")) == (10, 20)
    assert t.addresses() == {"server": "10.77.0.10", "client": "10.77.0.20"}
    assert t.gateway == "10.77.0.1"


def test_the_compose_lab_captures_with_the_orchestrators_filter():
    """`make up`'s capture and `make watch` leave out the same host chatter as the orchestrator's runs."""
    lab = load_topology(ROOT / "compose.yaml")
    wanted = capture_filter(lab.gateway)
    assert lab.sidecars["capture"].command[-1].endswith(f".pcap {wanted}")
    assert f"CAPTURE_FILTER := {wanted}\n" in (ROOT / "Makefile").read_text()


def test_the_compose_labs_capture_is_confined_as_the_orchestrators():
    """`make up`'s capture has what a run's capture has (orchestrator/lab/capture.py), and nothing more: only
    the capabilities capturing needs, no new privileges, a read-only root, the same limits, tcpdump as the
    analyst once the interface is open (issue 7: it had NET_ADMIN, DAC_OVERRIDE, no limits and -Z root)."""
    raw = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["capture"]
    assert tuple(raw["cap_add"]) == capture.CAPABILITIES and raw["cap_drop"] == ["ALL"]
    assert raw["security_opt"] == ["no-new-privileges:true"] and raw["read_only"] is True
    assert (raw["mem_limit"], raw["cpus"], raw["pids_limit"]) == (capture.MEMORY, capture.CPUS, capture.PIDS)
    assert f"-Z {capture.ANALYST} " in raw["command"][-1]


def test_the_small_base_loads_with_defaults(tmp_path: Path):
    t = load(tmp_path, BASE)
    client = t.hosts["client"]
    assert (client.user, client.command, client.init, client.sysctls, client.extra_hosts) == (None, (), False, {}, {})
    assert t.sidecars["capture"].stop_signal is None and t.sidecars["capture"].cap_drop == ()


def test_compose_forms_for_lists_and_mappings(tmp_path: Path):
    text = BASE.replace('    extra_hosts: ["client:10.77.0.20"]\n',
                        "    extra_hosts: {client: 10.77.0.20}\n    sysctls: [net.ipv4.ip_forward=1]\n"
                        "    command: sleep 'a b'\n    user: 1000\n    labels: [a=b]\n    depends_on:\n"
                        "      client: {condition: service_started}\n")
    server = load(tmp_path, text).hosts["server"]
    assert server.extra_hosts == {"client": "10.77.0.20"}
    assert server.sysctls == {"net.ipv4.ip_forward": "1"}
    assert (server.command, server.user) == (("sleep", "a b"), "1000")


def test_hostname_defaults_to_the_service_name(tmp_path: Path):
    assert load(tmp_path, BASE.replace("    hostname: client\n", "")).hosts["client"].hostname == "client"


# ---- unknown keys ------------------------------------------------------------------------------------

SERVICE_KEYS = ("image, hostname, user, init, command, networks, extra_hosts, labels, sysctls, network_mode, "
                "depends_on, cap_add, cap_drop, stop_signal, stop_grace_period, volumes, security_opt, read_only, "
                "tmpfs, mem_limit, pids_limit, cpus")


def test_unknown_service_key(tmp_path: Path):
    assert error_of(tmp_path, "    hostname: client\n", "    hostnme: client\n") == (
        f"P:11: at services.client.hostnme: unknown key 'hostnme'; did you mean 'hostname'? "
        f"(allowed here: {SERVICE_KEYS})")
    assert error_of(tmp_path, "    hostname: server\n", "    hostname: server\n    restart: always\n") == (
        f"P:5: at services.server.restart: unknown key 'restart' (allowed here: {SERVICE_KEYS})")


def test_unknown_top_level_key(tmp_path: Path):
    assert error_of(tmp_path, "services:\n", "version: '3.8'\nservices:\n") == (
        "P:1: at version: unknown key 'version' (allowed here: services, networks)")
    assert error_of(tmp_path, "\nnetworks:\n", "\nnetwork:\n") == (
        "P:19: at network: unknown key 'network'; did you mean 'networks'? (allowed here: services, networks)")


def test_extension_keys_are_ignored_and_not_interpolated(tmp_path: Path):
    t = load(tmp_path, "x-common: &common {image: '${NOT_INTERPOLATED}', weird: [1, 2]}\n" + BASE)
    assert list(t.hosts) == ["server", "client"]


def test_unknown_network_key(tmp_path: Path):
    assert error_of(tmp_path, "    ipam:\n", "    drivr: bridge\n    ipam:\n") == (
        "P:21: at networks.lab.drivr: unknown key 'drivr'; did you mean 'driver'? "
        "(allowed here: ipam, labels, driver, internal)")
    assert error_of(tmp_path, "    ipam:\n", "    driver: overlay\n    ipam:\n") == (
        "P:21: at networks.lab.driver: must be bridge (the only driver in this subset), or left out, e.g. bridge "
        "(got 'overlay')")


def test_duplicate_keys_are_refused(tmp_path: Path):
    assert error_of(tmp_path, "    hostname: client\n", "    hostname: client\n    hostname: other\n") == (
        "P:12: at services.client.hostname: duplicate key 'hostname' (first on line 11); keep only one "
        "(YAML would silently use the last)")


# ---- interpolation -----------------------------------------------------------------------------------


def test_interpolation_takes_defaults_and_ignores_the_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TAG", "from-the-environment")

    def fail(message: str):
        raise AssertionError(message)

    assert interpolate("a:${TAG:-latest}", fail) == "a:latest"
    assert interpolate("${TAG-}x", fail) == "x"
    assert interpolate("$$(date) $${X}", fail) == "$(date) ${X}"
    assert interpolate("${A:-${B:-deep}}/c", fail) == "deep/c"
    t = load(tmp_path, BASE.replace("socklab/capture:latest", "socklab/capture:${TAG:-v1}"))
    assert t.sidecars["capture"].image == "socklab/capture:v1"


@pytest.mark.parametrize("value, message", [
    ("${TAG}", "${TAG} has no default, and the orchestrator ignores the environment; write ${TAG:-default}"),
    ("$TAG", "$TAG has no default, and the orchestrator ignores the environment; write ${TAG:-default}"),
    ("${TAG:?set it}", "${TAG:?set it} is not supported: the orchestrator ignores the environment, so only "
                       "${VAR:-default} and ${VAR-default} are (and $$ for a literal $)"),
    ("x$", "a lone '$' in 'x$'; write $$ for a literal $"),
    ("${TAG:-x", "unclosed '${' in '${TAG:-x'; write ${VAR:-default}, or $$ for a literal $"),
])
def test_interpolation_refusals(tmp_path: Path, value: str, message: str):
    assert error_of(tmp_path, "socklab/capture:latest", value) == f"P:16: at services.capture.image: {message}"


# ---- addresses, names, modes -------------------------------------------------------------------------


def test_address_outside_the_subnet(tmp_path: Path):
    assert error_of(tmp_path, "10.77.0.20\n", "10.78.0.20\n") == (
        "P:14: at services.client.networks.lab.ipv4_address: 10.78.0.20 is outside the network's subnet "
        "10.77.0.0/24; pick an address in it, e.g. 10.77.0.11")


def test_address_taken_twice_or_reserved(tmp_path: Path):
    assert error_of(tmp_path, "10.77.0.20\n", "10.77.0.10\n").endswith(
        "10.77.0.10 is already server's address; pick another, e.g. 10.77.0.11")
    assert error_of(tmp_path, "10.77.0.20\n", "10.77.0.1\n").endswith(
        "10.77.0.1 is the gateway (Docker gives the subnet's first address to the bridge); pick another, "
        "e.g. 10.77.0.11")
    assert error_of(tmp_path, "10.77.0.20\n", "10.77.0.255\n").endswith("10.77.0.255 is the broadcast address; "
                                                                        "pick another, e.g. 10.77.0.11")
    assert error_of(tmp_path, "10.77.0.20\n", "server\n").endswith(
        "must be an IPv4 address in 10.77.0.0/24, e.g. 10.77.0.11 (got 'server')")


def test_subnet_must_be_an_ipv4_network(tmp_path: Path):
    assert error_of(tmp_path, "10.77.0.0/24", "10.77.0.1/24") == (
        "P:23: at networks.lab.ipam.config[0].subnet: must be an IPv4 network, e.g. 10.77.0.0/24 "
        "(got '10.77.0.1/24': 10.77.0.1/24 has host bits set)")


def test_exactly_one_network(tmp_path: Path):
    assert error_of(tmp_path, "\nnetworks:\n  lab:\n",
                    "\nnetworks:\n  other:\n    ipam: {config: [{subnet: 10.1.0.0/24}]}\n  lab:\n") == (
        "P:19: at networks: must have exactly one network (got 2: other, lab), "
        "e.g. {lab: {ipam: {config: [{subnet: 10.77.0.0/24}]}}}")
    assert error_of(tmp_path, "      lab:\n        ipv4_address: 10.77.0.20",
                    "      lba:\n        ipv4_address: 10.77.0.20") == (
        "P:13: at services.client.networks.lba: unknown network 'lba'; did you mean 'lab'? (networks: lab)")


def test_network_mode_pointing_nowhere(tmp_path: Path):
    assert error_of(tmp_path, '"service:server"', '"service:srever"') == (
        "P:17: at services.capture.network_mode: 'srever' is no service; a sidecar attaches to a host; "
        "did you mean 'server'? (hosts: server, client)")
    assert error_of(tmp_path, '"service:server"', '"service:capture"') == (
        "P:17: at services.capture.network_mode: 'capture' is a sidecar itself; a sidecar attaches to a host "
        "(hosts: server, client)")
    assert error_of(tmp_path, '"service:server"', "host") == (
        "P:17: at services.capture.network_mode: only network_mode: service:<host> is supported here "
        "(got 'host'); a host gets networks: {lab: {ipv4_address: ...}} instead")


def test_a_service_needs_a_network_or_a_network_mode(tmp_path: Path):
    assert error_of(tmp_path, '    network_mode: "service:server"\n', "") == (
        "P:15: at services.capture: a service needs networks (a host, e.g. networks: {lab: {ipv4_address: "
        "10.77.0.11}}) or network_mode: service:<host> (a sidecar)")


def test_host_only_and_sidecar_only_keys(tmp_path: Path):
    assert error_of(tmp_path, "    cap_add: [NET_RAW]\n", "    cap_add: [NET_RAW]\n    hostname: cap\n") == (
        "P:19: at services.capture.hostname: 'hostname' cannot be used with network_mode: a sidecar shares its "
        "host's network namespace, and Docker refuses both together")
    assert error_of(tmp_path, "    hostname: client\n", "    hostname: client\n    cap_add: [NET_ADMIN]\n") == (
        "P:12: at services.client.cap_add: 'cap_add' is only for sidecars (services with network_mode: "
        "service:<host>) in this subset: the orchestrator would not apply it to a host")


def test_names_must_agree(tmp_path: Path):
    assert error_of(tmp_path, "client:10.77.0.20", "client:10.77.0.21") == (
        "P:8: at services.server.extra_hosts[0]: client is at 10.77.0.20 (services.client.networks), "
        "not 10.77.0.21; write client:10.77.0.20")
    assert error_of(tmp_path, "    hostname: client\n", "    hostname: server\n") == (
        "P:11: at services.client.hostname: hostname 'server' is already server's; give each host its own")
    assert error_of(tmp_path, "    cap_add: [NET_RAW]\n", "    cap_add: [NET_RAW]\n    depends_on: [sever]\n") == (
        "P:19: at services.capture.depends_on[0]: 'sever' is not another service; did you mean 'server'? "
        "(services: server, client, capture)")
    assert error_of(tmp_path, "  client:\n", "  2client:\n") == (
        "P:9: at services.2client: a service name must be a letter, then letters, digits, '_' or '-' "
        "(got '2client'); scenarios refer to hosts by it, e.g. {server.ip}")


def test_missing_image_and_empty_file(tmp_path: Path):
    assert error_of(tmp_path, "    image: socklab/node:latest\n    hostname: client\n", "    hostname: client\n") == (
        "P:9: at services.client: missing required key 'image' (required here: image)")
    with pytest.raises(TopologyError, match="the file is empty"):
        load(tmp_path, "# nothing\n")


# ---- hostile input ---------------------------------------------------------------------------------


def test_a_scenario_given_as_the_topology_is_told_it_is_no_compose_file(tmp_path: Path):
    """Its top level is checked before any '$' is interpolated (tcp.yaml's regexes end with '$')."""
    path = ROOT / "scenarios" / "tcp.yaml"
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    assert str(caught.value) == (
        f"{path}:1: this is not a compose file: its top level has name, description, hosts, clients, timeout, "
        "defaults, steps, checks, where a compose file has services and networks")


def test_nested_defaults_are_bounded(tmp_path: Path):
    assert load(tmp_path, BASE.replace("socklab/capture:latest", "${A:-${B:-${C:-socklab/capture:v2}}}")
                ).sidecars["capture"].image == "socklab/capture:v2"
    deep = "${A:-" * 100_000 + "x" + "}" * 100_000  # was a RecursionError
    assert error_of(tmp_path, "socklab/capture:latest", deep) == (
        "P:16: at services.capture.image: ${VAR:-default} nested more than 10 deep in "
        f"'{deep[:57]}...'; write the value itself")


def test_long_and_invisible_names_are_clipped_and_escaped(tmp_path: Path):
    assert error_of(tmp_path, "  client:\n", "  client\u200b:\n") == (
        "P:9: at services[\"client\\u200b\"]: a service name must be a letter, then letters, digits, '_' or '-' "
        "(got 'client\\u200b'); scenarios refer to hosts by it, e.g. {server.ip}")
    long = "c" * 5000
    assert error_of(tmp_path, '"service:server"', f'"service:{long}"') == (
        f"P:17: at services.capture.network_mode: '{'c' * 57}...' is no service; a sidecar attaches to a host "
        "(hosts: server, client)")


def test_the_compose_only_confinement_keys_are_checked_as_compose_would(tmp_path: Path):
    add = "    cap_add: [NET_RAW]\n"
    good = add + ("    security_opt: [no-new-privileges:true]\n    read_only: true\n    tmpfs: [/tmp]\n"
                  "    mem_limit: 512m\n    pids_limit: 64\n    cpus: 1.0\n")
    load(tmp_path, BASE.replace(add, good, 1))
    assert error_of(tmp_path, add, add + "    mem_limit: lots\n") == (
        "P:19: at services.capture.mem_limit: must be bytes, or a number with b, k, m or g, e.g. 512m (got 'lots')")
    assert error_of(tmp_path, add, add + "    pids_limit: 0\n").startswith(
        "P:19: at services.capture.pids_limit: must be a whole number from 1 to")
    assert error_of(tmp_path, add, add + "    tmpfs: [tmp]\n") == (
        "P:19: at services.capture.tmpfs[0]: must be an absolute path, e.g. /tmp (got 'tmp')")
    assert error_of(tmp_path, add, add + "    read_only: yes please\n") == (
        "P:19: at services.capture.read_only: must be true or false (got 'yes please')")


def test_compose_yaml_is_read_with_the_same_limits(tmp_path: Path):
    import os

    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(TopologyError, match="this is a named pipe \\(FIFO\\), not a regular file"):
        load_topology(fifo)
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(2 * 1024 * 1024)
    with pytest.raises(TopologyError, match="the file is too large: 2,097,152 bytes \\(2.0 MiB\\)"):
        load_topology(big)
    with pytest.raises(TopologyError, match="x-a\\[0\\]\\[0\\].*nested too deeply"):
        load(tmp_path, "x-a: " + "[" * 100 + "]" * 100 + "\n" + BASE)
