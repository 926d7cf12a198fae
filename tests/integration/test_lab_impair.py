"""`make impair` on the compose lab, as a student would use it: the server's link loses 20% of what reaches it,
a TCP exchange by hand still delivers every line and the capture shows the retransmissions; with no
option the link is clear again. (The Makefile target runs exactly `orchestrator impair` with the lab's
container ids.)"""
import subprocess
import sys

import pytest

from tests.support import ROOT
from tests.support.integration import docker, tshark

pytestmark = pytest.mark.docker

LINES = [f"line {i}" for i in range(1, 9)]


def impair(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator", "impair", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def exchange(lab) -> str:
    """Eight lines to the TCP server, each after the last one's answer; the client's screen."""
    return lab.exec("client", "python3", "-u", "client_tcp.py", "server", "5000",
                    input="\n".join(LINES) + "\n\n").stdout


def test_a_lossy_link_by_hand_retransmits_and_clears(lab):
    lab.start_program("server", "server_tcp", "server_tcp.py", "0.0.0.0", "5000")
    lab.wait_log("server", "server_tcp", "port 5000 ...")
    done = impair(lab.containers["server"], "--loss", "20%")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ("server's link: loses 20% of what reaches it (every 5th TCP data segment and "
                                   "every 5th UDP datagram; handshakes, acknowledgements and teardowns pass)")
    screen = exchange(lab)
    assert all(f"chars: {line}" in screen for line in LINES), screen  # TCP delivered every line, in order
    cleared = impair(lab.containers["server"])
    assert cleared.returncode == 0 and cleared.stdout.strip() == "server: its link is clear again", cleared.stderr
    screen = exchange(lab)
    assert all(f"chars: {line}" in screen for line in LINES), screen
    lab.signal_program("server", "server_tcp", "INT")
    lab.wait_program_exit("server", "server_tcp")
    pcap = lab.stop_capture()
    # the 5th line of the first exchange was lost once and sent again; the second exchange lost nothing
    retransmitted = tshark(pcap, "tcp.analysis.retransmission && ip.dst==10.77.0.10 && tcp.len>0", "tcp.srcport")
    ports = tshark(pcap, "tcp.flags.syn==1 && tcp.flags.ack==0", "tcp.srcport")
    assert len(ports) == 2 and set(retransmitted) == {ports[0]}, (ports, retransmitted)
    assert impair(lab.containers["server"], "--jitter", "5ms").returncode == 2  # jitter needs a delay
    # no helper is left behind
    runs = docker("ps", "-a", "--filter", "label=socklab.run", "--format", '{{.Label "socklab.run"}}').stdout.split()
    assert not [r for r in runs if r.startswith("impair-")], runs


def test_a_delayed_link_by_hand_slows_every_answer_and_its_delayer_goes_when_cleared(lab):
    """`make impair DELAY=100ms HOSTS=server`: each answer of the server leaves 100 ms late, so eight lines take
    at least 0.8 s; the delayer (a helper that lasts as long as the impairment) goes when the link is cleared."""
    import time

    server = lab.containers["server"]
    lab.start_program("server", "server_tcp", "server_tcp.py", "0.0.0.0", "5000")
    lab.wait_log("server", "server_tcp", "port 5000 ...")
    done = impair(server, "--delay", "100ms")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "server's link: delays what it sends by 100 ms"
    delayers = docker("ps", "-q", "--filter", f"label=socklab.delayer={server}").stdout.split()
    assert len(delayers) == 1  # running, after the command has ended
    began = time.monotonic()
    screen = exchange(lab)
    slow = time.monotonic() - began
    assert all(f"chars: {line}" in screen for line in LINES), screen
    assert slow >= 0.8, slow  # (the handshake's SYN-ACK was delayed too)
    again = impair(server, "--delay", "50ms")  # a second one replaces the first
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(docker("ps", "-q", "--filter", f"label=socklab.delayer={server}").stdout.split()) == 1
    cleared = impair(server)
    assert cleared.returncode == 0, cleared.stdout + cleared.stderr
    assert docker("ps", "-aq", "--filter", f"label=socklab.delayer={server}").stdout.split() == []
    began = time.monotonic()
    screen = exchange(lab)
    assert all(f"chars: {line}" in screen for line in LINES) and time.monotonic() - began < slow, screen
    lab.signal_program("server", "server_tcp", "INT")
    lab.wait_program_exit("server", "server_tcp")
