"""testinfra against the running compose lab: what the images hold and what the containers do."""
import pytest

pytestmark = pytest.mark.docker

PROGRAMS = ["server_udp.py", "client_udp.py", "server_tcp.py", "client_tcp.py", "hostinfo.py"]


@pytest.mark.parametrize("service", ["server", "client"])
@pytest.mark.parametrize("package", ["python3", "net-tools", "iproute2", "iputils-ping", "procps"])
def test_node_packages(lab, service, package):
    assert lab.host(service).package(package).is_installed


@pytest.mark.parametrize("package", ["tcpdump", "tshark"])
def test_capture_packages(lab, package):
    assert lab.host("capture").package(package).is_installed


@pytest.mark.parametrize("program", PROGRAMS)
def test_reference_programs_present(lab, program):
    f = lab.host("client").file(f"/opt/socklab/programs/{program}")
    assert f.is_file and f.user == "root" and f.mode & 0o004


def test_programs_run_as_the_unprivileged_user(lab):
    host = lab.host("server")
    student = host.user("student")
    assert student.uid == 1000 and student.exists
    assert host.check_output("id -un") == "student"
    assert host.check_output("id -u") == "1000"


def test_tools_available(lab):
    host = lab.host("client")
    for tool in ("netstat", "ss", "ip", "ping", "ps"):
        assert host.exists(tool), tool
    assert "Active Internet connections" in host.check_output("netstat -tn")


def test_images_are_lean(lab):
    host = lab.host("server")
    assert not host.file("/usr/share/man").exists or host.check_output("ls /usr/share/man") == ""
    assert host.check_output("find /usr/share/doc -type f ! -name copyright | wc -l") == "0"
    assert not host.exists("apt-get")  # no package manager in the image


def test_package_manifest_recorded(lab):
    manifest = lab.host("server").file("/etc/socklab/packages.tsv").content_string
    rows = dict(line.split("\t")[:2] for line in manifest.splitlines())
    assert rows["python3"] and rows["net-tools"]


def test_hosts_resolve_each_other(lab):
    out = lab.exec("client", "python3", "hostinfo.py", "server").stdout
    assert "gethostbyname('server') = 10.77.0.10" in out
    assert "gethostbyaddr('10.77.0.10') = ('server'" in out
    out = lab.exec("server", "python3", "hostinfo.py", "client").stdout
    assert "gethostbyname('client') = 10.77.0.20" in out


def test_capture_running(lab):
    capture = lab.host("capture")
    tcpdump = capture.process.get(comm="tcpdump")
    assert "--immediate-mode" in tcpdump.args and "-U" in tcpdump.args.split()
    # the sidecar lives in the server's network namespace: it sees exactly what the server sees
    netns = "readlink /proc/self/ns/net"
    assert capture.check_output(netns) == lab.host("server").check_output(netns)
    assert capture.check_output(netns) != lab.host("client").check_output(netns)


def test_server_listening_after_start(lab):
    server = lab.host("server")
    assert not server.socket("tcp://0.0.0.0:5050").is_listening
    lab.start_program("server", "listen_probe", "server_tcp.py", "0.0.0.0", "5050")
    try:
        lab.wait_log("server", "listen_probe", "Socket is listening in address 0.0.0.0 and port 5050 ...")
        assert server.socket("tcp://0.0.0.0:5050").is_listening
        netstat = server.check_output("netstat -tln")
        assert "0.0.0.0:5050" in netstat and "LISTEN" in netstat
    finally:
        lab.signal_program("server", "listen_probe", "INT")
        lab.wait_program_exit("server", "listen_probe")
    assert "Caught keyboard interrupt, exiting" in lab.program_log("server", "listen_probe")
