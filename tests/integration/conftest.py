"""The compose lab, started the way a person starts it (the compose CLI), under a project name of its own.

Nothing here sleeps to wait for readiness: waits poll a condition with a deadline and say what they saw.
Whatever a test starts is removed at the end, and the teardown is checked.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import testinfra

ROOT = Path(__file__).resolve().parents[2]


def compose_command() -> list[str]:
    """`docker compose` (v2) when it exists, else `docker-compose` (v1): the Makefile's choice."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed (make tools installs one)")


def docker(*args: str, check: bool = True, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, input=input, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def tshark(pcap: Path, display_filter: str, *fields: str) -> list[str]:
    """Packets of `pcap` matching a Wireshark display filter, dissected by tshark in the capture image
    (no network, unprivileged: the pcap's content came from programs we do not trust)."""
    args = ["-n", "-r", f"/pcap/{pcap.name}", "-Y", display_filter]
    if fields:
        args += ["-T", "fields", *[a for f in fields for a in ("-e", f)]]
    proc = docker("run", "--rm", "--network", "none", "--user", "analyst", "--cap-drop", "ALL",
                  "-v", f"{pcap.parent}:/pcap:ro", "socklab/capture:latest", "tshark", *args)
    return [line for line in proc.stdout.splitlines() if line.strip()]


def labelled(label: str) -> tuple[list[str], list[str]]:
    """Ids of the containers (running or not) and networks carrying `label` (e.g. socklab.run=<id>)."""
    return (docker("ps", "-a", "-q", "--filter", f"label={label}").stdout.split(),
            docker("network", "ls", "-q", "--filter", f"label={label}").stdout.split())


def not_between(addresses) -> str:
    """A display filter for the frames that are neither ARP nor IPv4 between these addresses: what a
    capture of the lab's computers must not hold (e.g. the host's IPv6 or IGMP chatter on the bridge)."""
    among = "{" + ", ".join(addresses) + "}"
    return f"!(arp || (ip.src in {among} && ip.dst in {among}))"


def wait_until(what: str, probe, timeout: float = 15.0):
    """Poll `probe() -> (done, seen)` until done; fail naming what was awaited and what was seen."""
    deadline = time.monotonic() + timeout
    interval = 0.01
    while True:
        done, seen = probe()
        if done:
            return seen
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what}; last seen: {seen!r}")
        time.sleep(interval)
        interval = min(interval * 2, 0.2)


@dataclass
class Lab:
    project: str
    run_id: str
    captures: Path
    compose: list[str]
    containers: dict[str, str] = field(default_factory=dict)

    def dc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, "SOCKLAB_RUN": self.run_id, "SOCKLAB_CAPTURES": str(self.captures)}
        proc = subprocess.run([*self.compose, "-p", self.project, "-f", str(ROOT / "compose.yaml"), *args],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"compose {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc

    def host(self, service: str):
        return testinfra.get_host(f"docker://{self.containers[service]}")

    def exec(self, service: str, *cmd: str, input: str | None = None, check: bool = True, user: str | None = None):
        flags = ["-i"] if input is not None else []
        if user:
            flags += ["-u", user]
        return docker("exec", *flags, self.containers[service], *cmd, input=input, check=check)

    def start_program(self, service: str, name: str, *argv: str) -> None:
        """Start a program in the background; its output goes to /tmp/<name>.log, its pid to /tmp/<name>.pid."""
        script = f'echo $$ > /tmp/{name}.pid; exec python3 -u "$@" > /tmp/{name}.log 2>&1'
        docker("exec", "-d", self.containers[service], "sh", "-c", script, "sh", *argv)

    def program_log(self, service: str, name: str) -> str:
        return self.exec(service, "cat", f"/tmp/{name}.log", check=False).stdout

    def wait_log(self, service: str, name: str, needle: str, timeout: float = 15.0) -> str:
        def probe():
            log = self.program_log(service, name)
            return needle in log, log
        return wait_until(f"{needle!r} in {name}'s output on {service}", probe, timeout)

    def signal_program(self, service: str, name: str, sig: str = "INT") -> None:
        self.exec(service, "sh", "-c", f"kill -{sig} $(cat /tmp/{name}.pid)")

    def wait_program_exit(self, service: str, name: str, timeout: float = 15.0) -> None:
        def probe():
            alive = self.exec(service, "sh", "-c", f"kill -0 $(cat /tmp/{name}.pid) 2>/dev/null", check=False)
            return alive.returncode != 0, "still running"
        wait_until(f"{name} on {service} to exit", probe, timeout)

    def stop_capture(self) -> Path:
        """SIGINT to tcpdump (compose's stop_signal), waited for, before the server goes; returns the pcap."""
        self.dc("stop", "capture")
        state = docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", self.containers["capture"]).stdout.split()
        assert state == ["exited", "0"], f"tcpdump did not exit cleanly on SIGINT: {state}\n{self.dc('logs', 'capture').stdout}"
        pcaps = sorted(self.captures.glob("*.pcap"))
        assert len(pcaps) == 1, f"expected one pcap in {self.captures}, found {pcaps}"
        return pcaps[0]

    def down(self) -> None:
        self.dc("down", "--remove-orphans", "--timeout", "3", check=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A lab of its own (project and run id unique to this module), torn down and checked at the end."""
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    captures = tmp_path_factory.mktemp("captures")
    captures.chmod(0o777)
    lab = Lab(project=f"socklab{run_id.replace('-', '')}", run_id=run_id, captures=captures,
              compose=compose_command())
    try:
        up = lab.dc("up", "-d", check=False)
        if up.returncode != 0 and "overlap" in up.stderr.lower():
            pytest.fail("the lab's subnet 10.77.0.0/24 is taken, most likely by a lab started with `make up` "
                        "(or another `make test`): `make down` first.\n" + up.stderr)
        assert up.returncode == 0, f"compose up failed ({up.returncode}):\n{up.stdout}{up.stderr}"
        for service in ("server", "client", "capture"):
            lab.containers[service] = lab.dc("ps", "-q", service).stdout.strip()
        def capture_logs() -> str:
            logs = docker("logs", lab.containers["capture"])
            return logs.stderr + logs.stdout

        wait_until("tcpdump to say it is listening", lambda: ("listening on" in (logs := capture_logs()), logs))
        yield lab
    finally:
        lab.down()
        left, nets = labelled(f"socklab.run={run_id}")
        if left or nets:  # never leave them behind, and say so
            docker("rm", "-f", *left, check=False) if left else None
            docker("network", "rm", *nets, check=False) if nets else None
            pytest.fail(f"compose down left containers {left} and networks {nets} of run {run_id}")
