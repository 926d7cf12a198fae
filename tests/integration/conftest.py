"""The compose lab, started the way a person starts it (the compose CLI), under a project name of its own.

Nothing here sleeps to wait for readiness: waits poll a condition with a deadline and say what they saw.
Whatever a test starts is removed at the end, and the teardown is checked.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import testinfra

from tests.browser import browser  # noqa: F401  (the fixture: headless Chromium for the reports' tests)
from tests.support import ROOT
from tests.support.integration import docker, labelled, wait_until


#: The two Compose versions the lab is tested with: v1 (docker-compose 1.29, the machine's: `make tools`) and
#: v2 (Debian trixie's 2.26 in the project's cache, scripts/compose-v2.sh, run as a docker CLI plugin).
COMPOSE_V2_CONFIG = ROOT / ".cache" / "compose-v2" / "docker"


def compose_version(version: str) -> tuple[list[str], dict[str, str]]:
    """The command and environment that run Compose `version` ('v1' or 'v2'); fetched into the cache if
    need be (v2), a failure if it cannot be had (no test is skipped)."""
    if version == "v1":
        if not shutil.which("docker-compose"):
            pytest.fail("docker-compose (v1) is not installed: `make tools` installs it")
        return ["docker-compose"], {}
    if not (COMPOSE_V2_CONFIG / "cli-plugins" / "docker-compose").exists():
        fetched = subprocess.run(["sh", str(ROOT / "scripts" / "compose-v2.sh")], cwd=ROOT, capture_output=True,
                                 text=True, timeout=600)
        if fetched.returncode != 0:
            pytest.fail(f"Compose v2 could not be fetched (scripts/compose-v2.sh):\n{fetched.stderr[-2000:]}")
    return ["docker", "compose"], {"DOCKER_CONFIG": str(COMPOSE_V2_CONFIG)}


@dataclass
class Lab:
    project: str
    run_id: str
    captures: Path
    compose: list[str]
    containers: dict[str, str] = field(default_factory=dict)
    compose_env: dict[str, str] = field(default_factory=dict)

    def dc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, **self.compose_env, "SOCKLAB_RUN": self.run_id, "SOCKLAB_CAPTURES": str(self.captures)}
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


@pytest.fixture(scope="module", params=["v1", "v2"], ids=["compose-v1", "compose-v2"])
def lab(request, tmp_path_factory):
    """A lab of its own (project and run id unique to this module), torn down and checked at the end; once
    with each Compose version (the module's tests run for each)."""
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    captures = tmp_path_factory.mktemp("captures")
    captures.chmod(0o777)
    compose, env = compose_version(request.param)
    lab = Lab(project=f"socklab{run_id.replace('-', '')}", run_id=run_id, captures=captures,
              compose=compose, compose_env=env)
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
