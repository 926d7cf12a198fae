"""observe.py: the kernel's socket tables and cgroup counters, parsed as netstat and the report show them."""
from orchestrator.lab import observe
from orchestrator.evidence import HostLimits

# /proc/net/tcp and udp of a server with a client connected (recorded in a lab host), and tcp6 with a
# socket listening on :: and one IPv4-mapped connection
TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0B00007F:9335 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 00000000:1388 00000000:0000 0A 00000000:00000002 00:00000000 00000000  1000        0 2 1
   2: 0A814E0A:1388 14814E0A:EB20 01 00000028:00000000 01:00000014 00000000  1000        0 3 1
   3: 14814E0A:EB20 0A814E0A:1388 06 00000000:00000000 03:00001770 00000000     0        0 0 3"""
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000000000000:1770 00000000000000000000000000000000:0000 0A 00000000:00000000
   1: 0000000000000000FFFF00000A814E0A:1770 0000000000000000FFFF0000144E810A:C350 01 00000000:00000000"""
UDP = """\
   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000:1770 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 4 2 0 0
  101: 0A814E0A:D431 14814E0A:1770 01 00000000:00000000 00:00000000 00000000  1000        0 5 2 0 0"""


def dump(**tables: str) -> str:
    return "".join(f"@@ {observe.SOCKET_TABLES[p]}\n{text}\n" for p, text in tables.items())


def test_the_tables_read_as_netstat_prints_them():
    rows = observe.sockets(observe.parse_dump(dump(tcp=TCP, tcp6=TCP6, udp=UDP)))
    assert observe.netstat_text(rows) == observe.NETSTAT_HEADER + "\n".join([
        "tcp        0      0 127.0.0.11:37685        0.0.0.0:*               LISTEN",
        "tcp        2      0 0.0.0.0:5000            0.0.0.0:*               LISTEN",
        "tcp        0     40 10.78.129.10:5000       10.78.129.20:60192      ESTABLISHED",
        "tcp        0      0 10.78.129.20:60192      10.78.129.10:5000       TIME_WAIT",
        "tcp6       0      0 :::6000                 :::*                    LISTEN",
        "tcp6       0      0 ::ffff:10.78.129.10:6000 ::ffff:10.129.78.20:50000 ESTABLISHED",
        "udp        0      0 0.0.0.0:6000            0.0.0.0:*",
        "udp        0      0 10.78.129.10:54321      10.78.129.20:6000       ESTABLISHED",
    ]) + "\n"
    assert [(r.proto, r.local, r.remote, r.state) for r in rows][6] == ("udp", "0.0.0.0:6000", "0.0.0.0:*", "")


def test_bound_finds_a_listening_tcp_socket_or_a_bound_udp_one_of_either_family():
    rows = observe.sockets(observe.parse_dump(dump(tcp=TCP, tcp6=TCP6, udp=UDP)))
    assert [r.local for r in observe.bound(rows, "tcp", 5000)] == ["0.0.0.0:5000"]  # not the connection
    assert [r.local for r in observe.bound(rows, "tcp", 6000)] == [":::6000"]
    assert [r.local for r in observe.bound(rows, "udp", 6000)] == ["0.0.0.0:6000"]
    assert observe.bound(rows, "udp", 5000) == []


def test_a_cut_or_odd_line_is_skipped_not_a_crash():
    text = TCP + "\n   4: 0A814E0A:13\n   5: ZZZZZZZZ:1388 00000000:0000 0A 00000000:00000000\n"
    assert len(observe.parse_socket_table("tcp", text.splitlines())) == 4


def test_the_dump_script_uses_builtins_only_and_parses_back():
    script = observe.socket_script(("tcp", "udp"))
    assert script.startswith("for f in /proc/net/tcp /proc/net/udp; do ")
    for external in ("cat ", "netstat", " ss ", "head", "awk", "sed"):
        assert external not in script
    assert observe.parse_dump("@@ /a\none\ntwo\n@@ /b\n") == {"/a": ["one", "two"], "/b": []}


def test_the_cgroup_counters_of_v1_and_v2():
    v1 = observe.parse_dump("@@ /sys/fs/cgroup/pids/pids.max\n128\n@@ /sys/fs/cgroup/pids/pids.events\nmax 958\n"
                            "@@ /sys/fs/cgroup/memory/memory.limit_in_bytes\n268435456\n"
                            "@@ /sys/fs/cgroup/memory/memory.failcnt\n12\n"
                            "@@ /sys/fs/cgroup/memory/memory.max_usage_in_bytes\n268435456\n"
                            "@@ /sys/fs/cgroup/memory/memory.oom_control\noom_kill_disable 0\nunder_oom 0\n"
                            "oom_kill 2\n")
    limits = observe.parse_limits("server", v1)
    assert limits == HostLimits("server", pids_max=128, forks_refused=958, memory_max=256 << 20,
                                memory_peak=256 << 20, memory_limit_hits=12, oom_kills=2)
    assert limits.stopped() == ["the process limit (128) refused 958 new processes or threads",
                                "the memory limit (256 MiB) was reached and the kernel killed 2 processes "
                                "(out of memory)"]
    v2 = observe.parse_dump("@@ /sys/fs/cgroup/pids.max\nmax\n@@ /sys/fs/cgroup/pids.events\nmax 0\n"
                            "@@ /sys/fs/cgroup/memory.max\nmax\n@@ /sys/fs/cgroup/memory.events\nlow 0\nhigh 0\n"
                            "max 3\noom 1\noom_kill 1\n@@ /sys/fs/cgroup/memory.peak\n1048576\n")
    assert observe.parse_limits("client", v2) == HostLimits("client", pids_max=None, forks_refused=0,
                                                            memory_max=None, memory_peak=1 << 20,
                                                            memory_limit_hits=3, oom_kills=1)
    assert observe.parse_limits("client", {}).stopped() == []  # nothing known, nothing said


def test_a_snapshot_as_ss_prints_it():
    from orchestrator.evidence import SocketRow

    rows = [SocketRow("tcp", "0.0.0.0:5000", "0.0.0.0:*", "LISTEN",
                      "tcp        0      0 0.0.0.0:5000            0.0.0.0:*               LISTEN"),
            SocketRow("tcp", "10.77.0.20:41000", "10.77.0.10:5000", "TIME_WAIT",
                      "tcp        0      0 10.77.0.20:41000        10.77.0.10:5000         TIME_WAIT"),
            SocketRow("tcp6", ":::22", ":::*", "LISTEN", "tcp6       0      0 :::22                   :::*  LISTEN"),
            SocketRow("udp", "0.0.0.0:6000", "0.0.0.0:*", "",
                      "udp        3      0 0.0.0.0:6000            0.0.0.0:*")]
    assert observe.ss_text(rows).splitlines() == [
        "Netid  State      Recv-Q  Send-Q  Local Address:Port  Peer Address:Port",
        "tcp    LISTEN     0       0       0.0.0.0:5000        0.0.0.0:*",
        "tcp    TIME-WAIT  0       0       10.77.0.20:41000    10.77.0.10:5000",
        "tcp    LISTEN     0       0       :::22               :::*",
        "udp    UNCONN     3       0       0.0.0.0:6000        0.0.0.0:*"]


def test_the_state_of_a_process_from_its_stat_line():
    assert observe.process_state("4242 (python3) S 1 4242 4242 0 -1 4194560 1022 0 0 0") == "S"
    assert observe.process_state("7 (a) R (b)) R 1 7") == "R"  # a name holding ') R ' and spaces
    assert observe.process_state("") == "" and observe.process_state("garbage") == ""
