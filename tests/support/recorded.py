"""The tcp-exchange scenario built by hand (as scenarios/tcp.yaml says), and a good run of it as the reference
programs, netstat and tshark would have recorded it: the builders of tests/unit/test_checks.py and
tests/unit/test_report.py. No Docker, no files."""
from __future__ import annotations

import dataclasses

from orchestrator.evidence import (CaptureEvidence, Evidence, ImageEvidence, Line, ProgramEvidence, Snapshot,
                                   SocketRow, StepResult)
from orchestrator.model.scenario import (Bounds, CaptureCheck, Check, ExitCheck, LogCheck, Netstat, Scenario, Send,
                                         Signal, SocketCheck, Start, WaitExit, WaitLog, WaitPort, Where, expand)

PATH = "scenarios/tcp.yaml"
SERVER_IP, CLIENT_IP = "10.77.0.10", "10.77.0.20"
ADDRESSES = {"server": SERVER_IP, "client": CLIENT_IP}


def at(line: int, key: str) -> Where:
    return Where(PATH, line, key)


# ---- the scenario (as scenarios/tcp.yaml says) ---------------------------------------------------


def tcp_steps() -> tuple:
    return (
        Start("server", "server", ("server_tcp.py", "0.0.0.0", "5000"), 10, at(15, "steps[0].start")),
        WaitPort("server", "tcp", 5000, 10, at(16, "steps[1].wait")),
        Start("client", "client", ("client_tcp.py", "server", "5000"), 10, at(17, "steps[2].start")),
        Send("client", ("hello", "olá"), 0.0, False, 10, at(18, "steps[3].send")),
        WaitLog("client", "I received 3 chars: olá", "both", 1, 10, at(19, "steps[4].wait")),
        Netstat("server", "connected", 10, at(20, "steps[5].netstat")),
        Signal("client", "SIGINT", 10, at(21, "steps[6].signal")),
        WaitExit("client", None, 10, at(22, "steps[7].wait")),
        WaitLog("server", "^Bye bye Client 1!$", "both", 1, 10, at(23, "steps[8].wait")),
        Netstat("client", "after-close", 10, at(24, "steps[9].netstat")),
        Signal("server", "SIGINT", 10, at(25, "steps[10].signal")),
        WaitExit("server", 0, 10, at(26, "steps[11].wait")),
    )


def log(program=None, *, host=None, match=None, sequence=(), stream="both", before=None, **bounds) -> LogCheck:
    return LogCheck(program, host, match, tuple(sequence), stream, Bounds(**bounds), before)


def sock(snapshot, *, proto=None, local=None, remote=None, state=None, **bounds) -> SocketCheck:
    return SocketCheck(snapshot, proto, local, remote, state, Bounds(**bounds))


def cap(flt: str, **bounds) -> CaptureCheck:
    return CaptureCheck(flt, Bounds(**bounds))


TCP_CHECKS = (
    # (line, name, points, spec)
    (29, "server announces where it listens", 1,
     log("server", match=r"^Socket is listening in address 0\.0\.0\.0 and port 5000 \.\.\.$", count=1)),
    (31, "server logs the connection, its thread and the goodbye, in order", 2,
     log("server", sequence=(r"^Connected to Client 1, calling from: {client.ip}:\d+$", r"^Thread Number: 1$",
                             r"^Bye bye Client 1!$"))),
    (39, "client waits for the connection first", 1, log("client", match="^Waiting for connection response$", count=1)),
    (41, "replies count characters, not bytes", 2,
     log("client", sequence=("Server message: I received 5 chars: hello$", "Server message: I received 3 chars: olá$"))),
    (48, "server exits cleanly on Ctrl-C", 1, log("server", match="^Caught keyboard interrupt, exiting$", count=1)),
    (50, "server exit status is 0", 1, ExitCheck("server", 0)),
    (52, "netstat on the server shows the listening socket", 1,
     sock("connected", proto="tcp", local="0.0.0.0:5000", state="LISTEN", count=1)),
    (54, "netstat on the server shows the established connection", 2,
     sock("connected", proto="tcp", local="{server.ip}:5000", remote="{client.ip}:*", state="ESTABLISHED", count=1)),
    (57, "the client's side waits in TIME_WAIT after closing first", 1,
     sock("after-close", proto="tcp", local="{client.ip}:*", remote="{server.ip}:5000", state="TIME_WAIT", count=1)),
    (59, "one SYN opens the connection (client to server)", 2,
     cap("tcp.flags.syn==1 && tcp.flags.ack==0 && ip.src=={client.ip} && tcp.dstport==5000", count=1)),
    (62, "one SYN-ACK answers it", 1,
     cap("tcp.flags.syn==1 && tcp.flags.ack==1 && ip.src=={server.ip} && tcp.srcport==5000", count=1)),
    (64, "the greeting travels server to client", 1, cap('tcp.srcport==5000 && tcp.payload == "Server is working:"', count=1)),
    (66, "each message travels client to server as typed (no newline)", 1,
     cap('ip.src=={client.ip} && tcp.dstport==5000 && (tcp.payload == "hello" || tcp.payload == 6f:6c:c3:a1)', count=2)),
    (68, "each answer travels server to client", 1,
     cap('ip.src=={server.ip} && tcp.srcport==5000 && tcp.payload contains "Server message: I received"', count=2)),
    (70, "both sides close their half (one FIN each)", 2, cap("tcp.flags.fin==1 && tcp.port==5000", count=2)),
    (73, "no reset", 1, cap("tcp.flags.reset==1 && tcp.port==5000", count=0)),
)

#: the name of the FIN check
FIN = "both sides close their half (one FIN each)"


def make_check(i: int, line: int, name: str, points: float, spec) -> Check:
    return Check(name, points, spec, at(line, f"checks[{i}]"))


def tcp_scenario(*extra: Check, checks_: tuple[Check, ...] | None = None) -> Scenario:
    """The tcp-exchange scenario; `checks_` replaces its checks, `extra` adds some."""
    base = tuple(make_check(i, *c) for i, c in enumerate(TCP_CHECKS)) if checks_ is None else checks_
    return Scenario(path=PATH, name="tcp-exchange",
                    description="The assignment's Figure 3: a threaded TCP server and a client on another computer.",
                    hosts=("server", "client"), clients=1, steps=tcp_steps(), checks=base + extra, timeout=60,
                    where=Where(PATH, None, ""))


def one_check(spec, name: str = "the check", points: float = 1) -> Scenario:
    """The tcp-exchange scenario's steps with a single check."""
    return tcp_scenario(checks_=(Check(name, points, spec, at(99, "checks[0]")),))


# ---- what a good run records ---------------------------------------------------------------------


def lines(*items: tuple[float, str] | tuple[float, str, str]) -> tuple[Line, ...]:
    return tuple(Line(i[0], i[2] if len(i) == 3 else "stdout", i[1]) for i in items)


SERVER_LINES = lines(
    (0.21, "Socket is listening in address 0.0.0.0 and port 5000 ..."),
    (0.93, f"Connected to Client 1, calling from: {CLIENT_IP}:41862"),
    (0.93, "Thread Number: 1"),
    (2.71, "Bye bye Client 1!"),
    (2.90, "Caught keyboard interrupt, exiting"),
)

# input() writes its prompt to stdout without a newline when stdin is a pipe: the replies follow it.
CLIENT_LINES = lines(
    (0.90, "Waiting for connection response"),
    (1.02, "Hey there: Server message: I received 5 chars: hello"),
    (1.04, "Hey there: Server message: I received 3 chars: olá"),
    (2.60, "Hey there: "),
)

NETSTAT_HEADER = ("Active Internet connections (servers and established)\n"
                  "Proto Recv-Q Send-Q Local Address           Foreign Address         State      \n")

NETSTAT_CONNECTED = NETSTAT_HEADER + (
    "tcp        0      0 127.0.0.11:36117        0.0.0.0:*               LISTEN     \n"
    "tcp        0      0 0.0.0.0:5000            0.0.0.0:*               LISTEN     \n"
    "tcp        0      0 10.77.0.10:5000         10.77.0.20:41862        ESTABLISHED\n"
    "udp        0      0 127.0.0.11:52033        0.0.0.0:*                          \n")

NETSTAT_AFTER_CLOSE = NETSTAT_HEADER + (
    "tcp        0      0 127.0.0.11:40423        0.0.0.0:*               LISTEN     \n"
    "tcp        0      0 10.77.0.20:41862        10.77.0.10:5000         TIME_WAIT  \n"
    "udp        0      0 127.0.0.11:47361        0.0.0.0:*                          \n")


def netstat_rows(raw: str) -> tuple[SocketRow, ...]:
    """Rows of `netstat -tuna` output (its 2 header lines skipped), as the runner parses them."""
    rows = []
    for text in raw.splitlines()[2:]:
        f = text.split()
        rows.append(SocketRow(f[0], f[3], f[4], f[5] if len(f) > 5 else "", text))
    return tuple(rows)


def snapshot(name: str, host: str, t: float, raw: str) -> Snapshot:
    return Snapshot(name, host, t, netstat_rows(raw), raw)


def tcp_filters() -> list[str]:
    return [expand(c[3].filter, ADDRESSES) for c in TCP_CHECKS if isinstance(c[3], CaptureCheck)]


SYN = f"1 0.000000 {CLIENT_IP} → {SERVER_IP} TCP 74 41862 → 5000 [SYN] Seq=0 Win=64240 Len=0 MSS=1460"
SYN_ACK = f"2 0.000021 {SERVER_IP} → {CLIENT_IP} TCP 74 5000 → 41862 [SYN, ACK] Seq=0 Ack=1 Win=65160 Len=0"
FIN_1 = f"14 1.702113 {CLIENT_IP} → {SERVER_IP} TCP 66 41862 → 5000 [FIN, ACK] Seq=9 Ack=90 Win=64256 Len=0"
FIN_2 = f"15 1.702560 {SERVER_IP} → {CLIENT_IP} TCP 66 5000 → 41862 [FIN, ACK] Seq=90 Ack=10 Win=65152 Len=0"


def tcp_capture(**changes) -> CaptureEvidence:
    f = tcp_filters()
    counts = dict(zip(f, [1, 1, 1, 2, 2, 2, 0]))
    samples = {f[0]: (SYN,), f[1]: (SYN_ACK,), f[5]: (FIN_1, FIN_2)}
    base = CaptureEvidence(pcap="runs/tcp-exchange-20250101-120000/capture.pcap", packets=17, tcpdump_captured=17,
                           tcpdump_dropped=0, counts=counts, samples=samples, filter="not ip6 and not host 10.77.0.1")
    return dataclasses.replace(base, **changes)


def step_results() -> tuple[StepResult, ...]:
    descriptions = [
        ("start", "start server_tcp.py 0.0.0.0 5000 on server as server"),
        ("wait", "wait for tcp port 5000 on server"),
        ("start", "start client_tcp.py server 5000 on client as client"),
        ("send", "send 2 lines to client"),
        ("wait", 'wait for "I received 3 chars: olá" from client'),
        ("netstat", "netstat on server as 'connected'"),
        ("signal", "send SIGINT to client"),
        ("wait", "wait for client to exit"),
        ("wait", 'wait for "^Bye bye Client 1!$" from server'),
        ("netstat", "netstat on client as 'after-close'"),
        ("signal", "send SIGINT to server"),
        ("wait", "wait for server to exit with status 0"),
    ]
    return tuple(StepResult(f"steps[{i}]", 15 + i, kind, d, "ok", "", 0.1 * i, 0.05)
                 for i, (kind, d) in enumerate(descriptions))


def tcp_evidence(**changes) -> Evidence:
    """A good run of tcp-exchange; keyword arguments replace Evidence fields."""
    base = Evidence(
        run_id="tcp-exchange-20250101-120000-3f9a",
        scenario="tcp-exchange",
        scenario_path=PATH,
        started_at="2025-01-01T12:00:00+00:00",
        addresses=dict(ADDRESSES),
        programs={
            "server": ProgramEvidence("server", "server", ("server_tcp.py", "0.0.0.0", "5000"), SERVER_LINES, 0,
                                      0.1, 2.95),
            "client": ProgramEvidence("client", "client", ("client_tcp.py", "server", "5000"), CLIENT_LINES, 0,
                                      0.85, 2.62),
        },
        snapshots={"connected": snapshot("connected", "server", 1.10, NETSTAT_CONNECTED),
                   "after-close": snapshot("after-close", "client", 2.75, NETSTAT_AFTER_CLOSE)},
        capture=tcp_capture(),
        steps=step_results(),
        images={"node": ImageEvidence("node", "socklab/node:4be1c0ffee12", "sha256:" + "ab" * 32, "cd" * 32),
                "capture": ImageEvidence("capture", "socklab/capture:77aa00bb11cc", "sha256:" + "ef" * 32, "01" * 32)},
        timings={"images": 0.3, "up": 1.4, "steps": 3.1, "capture": 0.6, "teardown": 0.9, "total": 6.3},
    )
    return dataclasses.replace(base, **changes)


def with_program(ev: Evidence, pid: str, **changes) -> Evidence:
    programs = dict(ev.programs)
    programs[pid] = dataclasses.replace(programs[pid], **changes)
    return dataclasses.replace(ev, programs=programs)


def failed_at(index: int, message: str, *, drop_snapshots=(), drop_programs=()) -> Evidence:
    """A run whose steps[index] failed: the later steps skipped and what they would have made missing."""
    results = []
    for r in step_results():
        i = int(r.key[6:-1])
        if i == index:
            r = dataclasses.replace(r, status="failed", message=message)
        elif i > index:
            r = dataclasses.replace(r, status="skipped", message=f"steps[{index}] failed", started=None, duration=None)
        results.append(r)
    ev = tcp_evidence(steps=tuple(results))
    return dataclasses.replace(
        ev, snapshots={k: v for k, v in ev.snapshots.items() if k not in drop_snapshots},
        programs={k: v for k, v in ev.programs.items() if k not in drop_programs})
