"""End to end across the two containers: the assignment's TCP and UDP exchanges by host name,
the capture holding the handshake, payloads and teardown (checked with tshark), and nothing left after."""
import pytest

from tests.support.integration import docker, labelled, not_between, tshark

pytestmark = pytest.mark.docker

TCP_PORT, UDP_PORT = 5000, 6000


@pytest.fixture(scope="module")
def exchange(lab):
    """Play Figure 3 (TCP) and Figure 4 (UDP) once; stop the capture; return what was seen."""
    lab.start_program("server", "server_tcp", "server_tcp.py", "0.0.0.0", str(TCP_PORT))
    lab.start_program("server", "server_udp", "server_udp.py", "0.0.0.0", str(UDP_PORT))
    lab.wait_log("server", "server_tcp", f"port {TCP_PORT} ...")
    lab.wait_log("server", "server_udp", f"port {UDP_PORT} ...")

    tcp_client = lab.exec("client", "python3", "-u", "client_tcp.py", "server", str(TCP_PORT),
                          input="hello\nolá\n\n")
    lab.wait_log("server", "server_tcp", "Bye bye Client 1!")
    udp_client = lab.exec("client", "python3", "-u", "client_udp.py", "server", str(UDP_PORT), "hi there")
    lab.wait_log("server", "server_udp", 'Received message "hi there"')

    for name in ("server_tcp", "server_udp"):
        lab.signal_program("server", name, "INT")
        lab.wait_program_exit("server", name)
    pcap = lab.stop_capture()
    return {
        "tcp_client": tcp_client, "udp_client": udp_client, "pcap": pcap,
        "server_tcp": lab.program_log("server", "server_tcp"), "server_udp": lab.program_log("server", "server_udp"),
    }


def test_tcp_client_screen(exchange):
    out = exchange["tcp_client"].stdout
    assert out.startswith("Waiting for connection response\n")
    assert "Hey there: Server message: I received 5 chars: hello\n" in out
    assert "Hey there: Server message: I received 3 chars: olá\n" in out
    assert exchange["tcp_client"].returncode == 0


def test_tcp_server_log(exchange):
    log = exchange["server_tcp"].splitlines()
    assert log[0] == "Socket is listening in address 0.0.0.0 and port 5000 ..."
    assert log[1].startswith("Connected to Client 1, calling from: 10.77.0.20:")
    assert log[2] == "Thread Number: 1"
    assert log[3] == "Bye bye Client 1!"
    assert log[4] == "Caught keyboard interrupt, exiting"


def test_udp_server_log(exchange):
    log = exchange["server_udp"].splitlines()
    assert log[1].startswith('Received message "hi there" from Client 1, calling from: 10.77.0.20:')
    assert exchange["udp_client"].returncode == 0 and exchange["udp_client"].stdout == ""


def test_capture_holds_the_tcp_handshake(exchange):
    pcap = exchange["pcap"]
    syn = tshark(pcap, f"tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport=={TCP_PORT}", "ip.src", "ip.dst")
    assert syn == ["10.77.0.20\t10.77.0.10"]
    synack = tshark(pcap, f"tcp.flags.syn==1 && tcp.flags.ack==1 && tcp.srcport=={TCP_PORT}")
    assert len(synack) == 1


def test_capture_holds_the_payloads(exchange):
    pcap = exchange["pcap"]
    to_server = f"ip.src==10.77.0.20 && tcp.dstport=={TCP_PORT}"
    to_client = f"ip.src==10.77.0.10 && tcp.srcport=={TCP_PORT}"
    assert len(tshark(pcap, f'{to_server} && tcp.payload == "hello"')) == 1
    assert len(tshark(pcap, f'{to_server} && tcp.payload == 6f:6c:c3:a1')) == 1
    assert len(tshark(pcap, f'{to_client} && tcp.payload == "Server is working:"')) == 1
    assert len(tshark(pcap, f'{to_client} && tcp.payload contains "I received 5 chars: hello"')) == 1
    assert len(tshark(pcap, f'{to_client} && tcp.payload contains "I received 3 chars: ol"')) == 1
    udp = tshark(pcap, f"udp.port=={UDP_PORT}", "ip.src", "ip.dst", "udp.payload")
    assert udp == ["10.77.0.20\t10.77.0.10\t" + b"hi there".hex(":")] or udp == ["10.77.0.20\t10.77.0.10\t" + b"hi there".hex()]


def test_capture_holds_the_teardown(exchange):
    pcap = exchange["pcap"]
    fins = tshark(pcap, f"tcp.flags.fin==1 && tcp.port=={TCP_PORT}", "ip.src")
    assert sorted(fins) == ["10.77.0.10", "10.77.0.20"]  # both sides closed their half
    assert tshark(pcap, f"tcp.flags.reset==1 && tcp.port=={TCP_PORT}") == []


def test_capture_holds_only_the_labs_computers(exchange):
    """No IPv6 router solicitations, multicast listener reports or IGMP joins from the host's side of the
    bridge: compose's capture filter leaves them out."""
    assert tshark(exchange["pcap"], not_between(["10.77.0.10", "10.77.0.20"])) == []


def test_wireshark_filters_from_the_assignment(exchange):
    pcap = exchange["pcap"]
    assert tshark(pcap, "ip.addr==10.77.0.20")
    assert tshark(pcap, f"tcp.port=={TCP_PORT}")
    assert tshark(pcap, f"udp.port=={UDP_PORT}")


def test_the_ladder_of_the_labs_capture(exchange, tmp_path):
    """`make ladder` on what `make up` captured: the hosts named as compose.yaml names them, an arrow per
    packet, the handshake first."""
    import subprocess
    import sys
    import xml.etree.ElementTree as ET

    from tests.support import ROOT

    out = tmp_path / "lab.svg"
    proc = subprocess.run([sys.executable, "-m", "orchestrator", "ladder", str(exchange["pcap"]), "-o", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = ET.fromstring(out.read_bytes())
    svg = "{http://www.w3.org/2000/svg}"
    groups = [g for g in root.iter(f"{svg}g")]
    heads = {g.get("data-address"): [t.text for t in g.iter(f"{svg}text")][0] for g in groups
             if g.get("class") == "lifeline"}
    assert heads == {"10.77.0.20": "client", "10.77.0.10": "server"}
    packets = [g for g in groups if g.get("class") == "packet"]
    assert len(packets) == len(tshark(exchange["pcap"], "frame"))
    tcp = [g.get("data-flags") for g in packets if g.get("data-kind") == "tcp"]
    assert tcp[:3] == ["SYN", "SYN, ACK", "ACK"] and tcp.count("FIN, ACK") == 2


def test_down_leaves_nothing(lab, exchange):
    lab.down()
    assert labelled(f"socklab.run={lab.run_id}") == ([], [])
    assert docker("ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={lab.project}").stdout.strip() == ""
