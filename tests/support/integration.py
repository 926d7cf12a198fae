"""The integration tests' helpers: the docker CLI, tshark in the capture image (on pcaps the lab's programs
wrote), what carries a label, waits that poll a condition with a deadline (nothing sleeps to wait for
readiness), and `socklab grade` run for real with what a grading leaves behind."""
from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import ROOT

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


# ---- grading for real ------------------------------------------------------------------------

SOCKLAB = [sys.executable, "-m", "orchestrator"]


def session_leftovers(*gradings: subprocess.Popen | subprocess.CompletedProcess) -> list[str]:
    """Whatever the given gradings created and left: containers, networks, volumes. Only theirs: a grading's
    session is named after its process (grade-DATE-TIME-PID), and other gradings may share the engine."""
    ours = tuple(f"-{g.pid}" for g in gradings)
    found = []
    for kind in (("ps", "-a"), ("network", "ls"), ("volume", "ls")):
        name = "{{.Names}}" if kind[0] == "ps" else "{{.Name}}"
        listed = docker(*kind, "--filter", "label=socklab.session",
                        "--format", name + ' {{.Label "socklab.session"}}').stdout
        found += [line.split()[0] for line in listed.splitlines() if line.split() and line.endswith(ours)]
    return found


def grade(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`socklab grade ARGS`, run to its end; the result carries the process id (see session_leftovers)."""
    with subprocess.Popen([*SOCKLAB, "grade", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        try:
            out, err = proc.communicate(timeout=1200)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    done.pid = proc.pid
    return done


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open()))


#: the scenarios of the suite graded, in its order (the columns of grades.csv)
SCENARIOS = ("tcp-exchange", "udp-exchange", "tcp-clients", "closed-port", "usage", "netstat", "filters", "lossy-link",
             "delay")
