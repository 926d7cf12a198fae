"""The cluster's lab machines for real (lab/machines.py, `socklab cluster up/down`): one lab machine on this host,
its own Docker Engine holding exactly the host's lab images, running the lab's containers (an internal network,
the sandbox's settings, a whole scenario played inside by the project's own code); then down, and nothing
labelled left. (The scheduler and the workers are tested with grading on the cluster.)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.support import ROOT
from tests.support.integration import docker

pytestmark = pytest.mark.docker

SOCKLAB = [sys.executable, "-m", "orchestrator"]


def socklab(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*SOCKLAB, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def labelled(name: str) -> list[str]:
    """Whatever carries socklab.cluster=<name>: containers (running or not), networks, volumes."""
    label = f"label=socklab.cluster={name}"
    return [line for kind in (("ps", "-a", "-q"), ("network", "ls", "-q"), ("volume", "ls", "-q"))
            for line in docker(*kind, "--filter", label).stdout.split()]


@pytest.fixture
def machine():
    """A cluster of one lab machine (no scheduler, no worker), removed whatever the test did."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    try:
        up = socklab("cluster", "up", "--machines-only", "--workers", "1", "--name", name)
        assert up.returncode == 0, f"cluster up failed ({up.returncode}):\n{up.stdout}{up.stderr}"
        yield name, up.stdout
    finally:
        socklab("cluster", "down", "--name", name, timeout=120)


def inner(name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """The docker CLI on the lab machine's own engine (its socket, in the host's .cluster/<name>/machine1/)."""
    env = {**os.environ, "DOCKER_HOST": f"unix://{ROOT / '.cluster' / name / 'machine1' / 'docker.sock'}"}
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, f"docker {' '.join(args)} in the machine failed:\n{proc.stdout}{proc.stderr}"
    return proc


def test_a_lab_machine_plays_on_its_own_engine_and_leaves_nothing(machine):
    name, said = machine
    assert "machine1 (10.79." in said and "engine up, images loaded and checked" in said
    container = docker("ps", "-q", "--filter", f"label=socklab.cluster={name}").stdout.split()
    assert len(container) == 1

    # the grading's images, the very ones of the host (same ids), tagged as the host tags them
    host = {ref: docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()
            for ref in ("socklab/node:latest", "socklab/capture:latest")}
    for ref, image_id in host.items():
        assert inner(name, "image", "inspect", "-f", "{{.Id}}", ref).stdout.strip() == image_id

    # a container runs; two on an internal network reach each other, as a lab's hosts do, in the lab's sandbox
    assert inner(name, "run", "--rm", "--network", "none", "socklab/node:latest", "python3", "-c",
                 "print(1)").stdout == "1\n"
    inner(name, "network", "create", "--internal", "labnet")
    inner(name, "run", "-d", "--name", "server", "--network", "labnet", "--cap-drop", "ALL", "--read-only",
          "--user", "1000", "--init", "socklab/node:latest", "sleep", "60")
    ping = inner(name, "run", "--rm", "--network", "labnet", "--cap-drop", "ALL", "--cap-add", "NET_RAW",
                 "--user", "1000", "socklab/node:latest", "ping", "-c", "2", "-W", "2", "server")
    assert " 0% packet loss" in ping.stdout
    # ...and never out: the lab's network is internal, and the cluster's too
    assert subprocess.run(["docker", "exec", container[0], "ping", "-c", "1", "-W", "1", "1.1.1.1"],
                          capture_output=True, timeout=30).returncode != 0
    # the machine's containers' cgroups are under the machine's own
    cgroup = docker("exec", container[0], "sh", "-c", "docker run --rm --network none socklab/node:latest "
                    "cat /proc/self/cgroup").stdout
    full_id = docker("inspect", "-f", "{{.Id}}", container[0]).stdout.strip()
    assert f":pids:/docker/{full_id}/engine/" in cgroup

    # a whole scenario, played inside by the project's own code (the checkout, read-only) on the machine's engine
    played = subprocess.run(["docker", "exec", container[0], "socklab", "run", "scenarios/tcp.yaml",
                             "--runs-dir", "/tmp/runs"], capture_output=True, text=True, timeout=120)
    assert played.returncode == 0, played.stdout[-3000:] + played.stderr[-2000:]
    report = json.loads(docker("exec", container[0], "sh", "-c", "cat /tmp/runs/*/report.json").stdout)
    assert report["verdict"] == "pass"

    down = socklab("cluster", "down", "--name", name, timeout=120)
    assert down.returncode == 0 and "removed 1 container(s) and 1 network(s)" in down.stdout, down.stdout
    assert labelled(name) == []
    assert not (ROOT / ".cluster" / name).exists()


def test_up_twice_is_refused_and_down_of_nothing_says_so(machine):
    name, _ = machine
    again = socklab("cluster", "up", "--machines-only", "--workers", "1", "--name", name)
    assert again.returncode == 2 and f"cluster {name} is up already" in again.stderr
    assert len(docker("ps", "-q", "--filter", f"label=socklab.cluster={name}").stdout.split()) == 1
    socklab("cluster", "down", "--name", name)
    nothing = socklab("cluster", "down", "--name", name)
    assert nothing.returncode == 0 and "removed 0 container(s) and 0 network(s)" in nothing.stdout
    assert labelled(name) == []
