"""What the orchestrator observes inside a lab host, without ever starting a process there.

Student code shares its host's pids limit with everything else in the container: a fork bomb leaves
no pid for `netstat` or `ss`. So the observer (a root bash in each host, process.Shell) only runs
shell builtins: it reads the kernel's socket tables (/proc/net/tcp, tcp6, udp, udp6: the files netstat
and ss read themselves) and the container's cgroup counters with `read` and `printf`, and signals
programs with the builtin `kill`. This module writes those scripts and parses what they print (pure
functions); the socket tables are shown to people as `netstat -tuna` prints them.

Why not psutil or netstat's own parser: psutil reads the /proc of the machine it runs on, and the
orchestrator may drive an engine on another machine; the tables are a documented, stable format
(Documentation/networking/proc_net_tcp.rst) of a dozen columns, of which we need five.
"""
from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Iterable

from ..evidence import HostLimits, SocketRow

#: The kernel's socket tables, in the order netstat -tuna prints them.
SOCKET_TABLES = {"tcp": "/proc/net/tcp", "tcp6": "/proc/net/tcp6", "udp": "/proc/net/udp", "udp6": "/proc/net/udp6"}
#: netstat's names of the kernel's TCP states (include/net/tcp_states.h).
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
              7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "SYN_RECV"}
_LISTEN, _ESTABLISHED = 10, 1
NETSTAT_HEADER = ("Active Internet connections (servers and established)\n"
                  "Proto Recv-Q Send-Q Local Address           Foreign Address         State      \n")
#: The container's own cgroup, as Docker shows it inside (cgroup v1 per controller, or v2 unified).
CGROUP_FILES = ("/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids/pids.events",
                "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.failcnt",
                "/sys/fs/cgroup/memory/memory.max_usage_in_bytes", "/sys/fs/cgroup/memory/memory.oom_control",
                "/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids.events", "/sys/fs/cgroup/memory.max",
                "/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory.peak")
_MARK = "@@ "


# ---- the scripts -----------------------------------------------------------------------------------


def dump_script(paths: Iterable[str]) -> str:
    """A bash snippet (builtins only: no fork) that prints '@@ PATH' and then the lines of each readable
    file of `paths`; unreadable or missing files are left out. bash, not sh: `mapfile` reads a file in
    blocks where dash's `read` takes a system call per byte (5,000 sockets: 42 ms against 450, measured)."""
    quoted = " ".join(shlex.quote(p) for p in paths)
    return (f"for f in {quoted}; do if [[ -r $f ]]; then printf '{_MARK}%s\\n' \"$f\"; "
            "mapfile -t l < \"$f\"; (( ${#l[@]} )) && printf '%s\\n' \"${l[@]}\"; fi; done")


def parse_dump(text: str) -> dict[str, list[str]]:
    """The output of dump_script: path -> its lines."""
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(_MARK):
            current = files.setdefault(line[len(_MARK):], [])
        elif current is not None:
            current.append(line)
    return files


def socket_script(protos: Iterable[str] = SOCKET_TABLES) -> str:
    return dump_script(SOCKET_TABLES[p] for p in protos)


def kill_user_script(uid: int, rounds: int = 50) -> str:
    """A bash snippet (builtins only: no fork, no command substitution) that SIGKILLs every process of
    `uid`, round after round while any is left (a fork bomb refills what a round frees), then prints the
    pids still alive (nothing: all gone)."""
    find = (f"left=(); for d in /proc/[0-9]*; do u=; while read -r k v _; do [[ $k == Uid: ]] && {{ u=$v; "
            f"break; }}; done 2>/dev/null < $d/status; [[ $u == {uid} ]] && left+=(${{d#/proc/}}); done")
    return (f"for ((r = 0; r < {rounds}; r++)); do {find}; (( ${{#left[@]}} )) || break; "
            "kill -9 ${left[@]} 2>/dev/null; done; " + find + "; (( ${#left[@]} )) && "
            "printf '%s\\n' \"${left[@]}\"; true")


def process_state(stat: str) -> str:
    """The state letter of a /proc/PID/stat line: 'R' running or runnable, 'S' asleep (waiting for input, a
    packet, a timer...), 'D', 'T', 'Z'...; '' if the line is not one. (The name may hold ')' and spaces: the
    state is the first field after the last ')'.)"""
    _, paren, rest = stat.rpartition(")")
    fields = rest.split()
    return fields[0] if paren and fields else ""


def task_states_script(pids: Iterable[int]) -> str:
    """A bash snippet (builtins only: no fork) that prints, for each of `pids`, '@@ PID' and then the
    /proc/PID/task/TID/stat line of each of its threads (a gone process: the mark alone). parse_dump reads it."""
    listed = " ".join(str(int(pid)) for pid in pids)
    return (f"for p in {listed}; do printf '{_MARK}%s\\n' \"$p\"; for f in /proc/$p/task/*/stat; do "
            "if [[ -r $f ]]; then mapfile -t l < \"$f\"; (( ${#l[@]} )) && printf '%s\\n' \"${l[0]}\"; fi; done; done")


def task_states(text: str) -> dict[int, list[str]]:
    """The output of task_states_script: pid -> the state of each of its threads ('R', 'S'...; none: gone)."""
    return {int(pid): [state for line in lines if (state := process_state(line))]
            for pid, lines in parse_dump(text).items() if pid.isdigit()}


#: the states of a thread that is doing something or would be if it had a CPU (not blocked waiting for input,
#: a packet, a timer or a lock): running or runnable, or in the kernel on its behalf (D: e.g. reclaiming memory)
BUSY_STATES = ("R", "D")


def signal_command(signal_name: str, pid: int) -> list[str]:
    """The builtin kill: `kill -s INT 123`."""
    return ["kill", "-s", signal_name.removeprefix("SIG"), str(pid)]


# ---- the socket tables -----------------------------------------------------------------------------


def _address(hex_addr: str) -> str:
    """The kernel's hex address (each 32-bit word in host order, i.e. little-endian here) -> text."""
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    v6 = ipaddress.IPv6Address(words)
    if v6.ipv4_mapped is not None:
        return f"::ffff:{v6.ipv4_mapped}"  # as netstat writes it (Python < 3.13 would say ::ffff:a00:1)
    return v6.compressed


def _endpoint(field: str) -> str:
    """'0100007F:1388' -> '127.0.0.1:5000'; port 0 is '*', as netstat shows an unconnected socket."""
    hex_addr, _, hex_port = field.partition(":")
    port = int(hex_port, 16)
    return f"{_address(hex_addr)}:{port if port else '*'}"


def netstat_line(proto: str, recv_q: int, send_q: int, local: str, remote: str, state: str) -> str:
    """One row as net-tools' netstat prints it ("%-4s  %6ld %6ld %-23s %-23s %-11s", trailing blanks cut)."""
    return f"{proto:<4}  {recv_q:>6} {send_q:>6} {local:<23} {remote:<23} {state:<11}".rstrip()


def parse_socket_table(proto: str, lines: Iterable[str]) -> list[SocketRow]:
    """Rows of /proc/net/{tcp,tcp6,udp,udp6} (the header line is skipped) as netstat -tuna shows them."""
    rows = []
    for line in lines:
        cols = line.split()
        if len(cols) < 5 or not cols[0].endswith(":") or not cols[0][:-1].isdigit():
            continue  # the header, or a line cut short
        try:
            local, remote, st = _endpoint(cols[1]), _endpoint(cols[2]), int(cols[3], 16)
            tx_queue, rx_queue = (int(x, 16) for x in cols[4].split(":"))
        except ValueError:
            continue
        if proto.startswith("tcp"):
            state = TCP_STATES.get(st, f"UNKNOWN({st})")
        else:  # netstat names only connected UDP sockets; an unconnected one (TCP_CLOSE) has no state
            state = "ESTABLISHED" if st == _ESTABLISHED else ""
        rows.append(SocketRow(proto, local, remote, state, netstat_line(proto, rx_queue, tx_queue, local, remote,
                                                                        state)))
    return rows


def sockets(dump: dict[str, list[str]], protos: Iterable[str] = SOCKET_TABLES) -> list[SocketRow]:
    """Every row of the tables of `protos` in a dump, in netstat's order."""
    return [row for p in protos for row in parse_socket_table(p, dump.get(SOCKET_TABLES[p], []))]


def netstat_text(rows: Iterable[SocketRow]) -> str:
    """The rows as `netstat -tuna` prints them, header included."""
    return NETSTAT_HEADER + "".join(r.raw + "\n" for r in rows)


#: netstat's state names as `ss` spells them (ss abbreviates ESTABLISHED; an unconnected UDP socket is UNCONN).
SS_STATES = {"ESTABLISHED": "ESTAB", "TIME_WAIT": "TIME-WAIT", "FIN_WAIT1": "FIN-WAIT-1", "FIN_WAIT2": "FIN-WAIT-2",
             "CLOSE_WAIT": "CLOSE-WAIT", "LAST_ACK": "LAST-ACK", "SYN_SENT": "SYN-SENT", "SYN_RECV": "SYN-RECV",
             "CLOSE": "UNCONN", "": "UNCONN"}


def ss_text(rows: Iterable[SocketRow]) -> str:
    """The rows as `ss -tuna` prints them (the same sockets, in the other tool's words: the course shows
    netstat, today's Linux ships ss), header included."""
    table = [("Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port")]
    for r in rows:
        fields = r.raw.split()
        recv, send = (fields[1], fields[2]) if len(fields) > 2 else ("0", "0")
        table.append((r.proto.rstrip("6"), SS_STATES.get(r.state, r.state), recv, send, r.local, r.remote))
    widths = [max(len(row[i]) for row in table) for i in range(6)]
    return "".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n" for row in table)


def bound(rows: Iterable[SocketRow], proto: str, port: int) -> list[SocketRow]:
    """The sockets that serve `port`: TCP ones listening on it, UDP ones bound to it (either family)."""
    found = []
    for row in rows:
        if not row.proto.startswith(proto) or row.local.rsplit(":", 1)[-1] != str(port):
            continue
        if proto == "tcp" and row.state != "LISTEN":
            continue
        found.append(row)
    return found


# ---- the limits ------------------------------------------------------------------------------------


def _number(lines: list[str] | None) -> int | None:
    """A file holding one number ('128'); 'max' (no limit) and anything else is None."""
    if not lines:
        return None
    text = lines[0].strip()
    return int(text) if text.isdigit() else None


def _keyed(lines: list[str] | None) -> dict[str, int]:
    """A file of 'key value' lines (pids.events, memory.events, memory.oom_control)."""
    found = {}
    for line in lines or ():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            found[key] = int(value)
    return found


def parse_limits(host: str, dump: dict[str, list[str]]) -> HostLimits:
    """What the container's cgroup counted: cgroup v1 (Docker 20.10 here) or v2, whichever is there."""
    v2 = "/sys/fs/cgroup/pids.events" in dump or "/sys/fs/cgroup/memory.events" in dump
    if v2:
        pids, memory = "/sys/fs/cgroup/", "/sys/fs/cgroup/"
        mem_events = _keyed(dump.get(memory + "memory.events"))
        return HostLimits(
            host=host, pids_max=_number(dump.get(pids + "pids.max")),
            forks_refused=_keyed(dump.get(pids + "pids.events")).get("max"),
            memory_max=_number(dump.get(memory + "memory.max")), memory_peak=_number(dump.get(memory + "memory.peak")),
            memory_limit_hits=mem_events.get("max"), oom_kills=mem_events.get("oom_kill"))
    pids, memory = "/sys/fs/cgroup/pids/", "/sys/fs/cgroup/memory/"
    limit = _number(dump.get(memory + "memory.limit_in_bytes"))
    return HostLimits(
        host=host, pids_max=_number(dump.get(pids + "pids.max")),
        forks_refused=_keyed(dump.get(pids + "pids.events")).get("max"),
        memory_max=limit if limit is not None and limit < 1 << 62 else None,  # v1's 'no limit' is a huge number
        memory_peak=_number(dump.get(memory + "memory.max_usage_in_bytes")),
        memory_limit_hits=_number(dump.get(memory + "memory.failcnt")),
        oom_kills=_keyed(dump.get(memory + "memory.oom_control")).get("oom_kill"))
