"""Tests for the five reference programs in programs/.

Every program runs as a subprocess of the same Python interpreter, and talks
only over the loopback interface (127.0.0.1 / localhost). Nothing here sleeps
to wait for readiness: the tests wait, with a deadline, for an output line or
a socket event, and every failure message says what was awaited and what was
seen. Every subprocess is killed and reaped at the end of its test, even when
the test fails (see the ``start`` fixture).
"""

import ast
import collections
import errno
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support import ROOT

PROGRAMS = ROOT / "programs"
TIMEOUT = 10.0  # seconds, for every wait
LOCAL = "127.0.0.1"
UNRESOLVABLE = "no-such-host.invalid"  # RFC 6761: a .invalid name never resolves
WAITING = "Waiting for connection response\n"
PROMPT = "Hey there: "
GREETING = b"Server is working:"
INTERRUPTED = "Caught keyboard interrupt, exiting\n"

USAGE = {
    "server_udp.py": "Usage: server_udp.py <local address> <port>",
    "server_tcp.py": "Usage: server_tcp.py <local address> <port>",
    "client_tcp.py": "Usage: client_tcp.py <host server> <port>",
    "client_udp.py": "Usage: client_udp.py <host server> <port> <message>",
    "hostinfo.py": "Usage: hostinfo.py <name-or-address>",
}

# The environment of the programs. PYTHONUNBUFFERED is removed so that the
# tests also check that the programs flush their output themselves. The I/O
# encoding is pinned to UTF-8 so that the non-ASCII tests do not depend on the
# locale of the machine. RES_OPTIONS keeps a DNS lookup of the .invalid name
# short if the configured name server does not answer.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
CHILD_ENV["PYTHONIOENCODING"] = "utf-8"
CHILD_ENV["RES_OPTIONS"] = "timeout:2 attempts:1"

Result = collections.namedtuple("Result", "code out err")


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

class Stream:
    """Collects, in a background thread, everything a child writes on a pipe."""

    def __init__(self, pipe):
        self._pipe = pipe
        self._data = bytearray()
        self._eof = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self):
        fd = self._pipe.fileno()
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            with self._cond:
                if chunk:
                    self._data += chunk
                else:
                    self._eof = True
                self._cond.notify_all()
            if not chunk:
                return

    @property
    def text(self):
        with self._cond:
            return self._data.decode("utf-8", errors="replace")

    def wait(self, check, timeout):
        """Wait until check(text) is true; return its value (None on timeout/EOF)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = check(self._data.decode("utf-8", errors="replace"))
                remaining = deadline - time.monotonic()
                if found or self._eof or remaining <= 0:
                    return found or None
                self._cond.wait(remaining)

    def close(self):
        self._thread.join(TIMEOUT)
        self._pipe.close()


class Program:
    """One of the programs, running as a subprocess."""

    def __init__(self, name, *args, stdin=False):
        self.name = name
        self.command = " ".join([name, *args])
        # -S: no site-packages. It makes Python start several times faster,
        # and proves the programs need nothing but the standard library.
        self.popen = subprocess.Popen(
            [sys.executable, "-S", str(PROGRAMS / name), *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=CHILD_ENV,
        )
        self.out = Stream(self.popen.stdout)
        self.err = Stream(self.popen.stderr)

    def report(self):
        return (f"\n--- exit code: {self.popen.poll()}"
                f"\n--- stdout so far:\n{self.out.text}"
                f"\n--- stderr so far:\n{self.err.text}")

    def wait_for(self, expected, stream="stdout", timeout=TIMEOUT):
        """Wait until `expected` (a string, or a compiled regex) is in the output.

        Returns the regex match (or True for a string).
        """
        source = self.out if stream == "stdout" else self.err
        if isinstance(expected, str):
            found = source.wait(lambda text: expected in text, timeout)
            shown = repr(expected)
        else:
            found = source.wait(expected.search, timeout)
            shown = f"regex {expected.pattern!r}"
        if not found:
            pytest.fail(f"[{self.command}] waited up to {timeout}s for {shown} "
                        f"on {stream}, it did not appear{self.report()}")
        return found

    def send(self, text):
        self.popen.stdin.write(text.encode("utf-8"))
        self.popen.stdin.flush()

    def close_stdin(self):
        self.popen.stdin.close()

    def wait_until_blocked(self, timeout=TIMEOUT):
        """Wait until the program's main thread sleeps in a blocking call.

        Python notices a signal when the blocking call it interrupts returns,
        or between two Python instructions. A signal that arrives in the few
        microseconds between, say, printing the prompt and starting to read
        stdin is only noticed when the read returns, i.e. never. No human is
        that fast, but a test reacting to the prompt can be: so a test first
        waits until the program is blocked (Linux only: /proc).
        """
        stat = Path(f"/proc/{self.popen.pid}/stat")
        if not stat.exists():
            return
        deadline = time.monotonic() + timeout
        state = "?"
        while time.monotonic() < deadline:
            try:
                # The state is the field after "(command name)": S = sleeping.
                state = stat.read_text().rsplit(")", 1)[1].split()[0]
            except OSError:  # the program has exited
                return
            if state == "S":
                return
            os.sched_yield()
        pytest.fail(f"[{self.command}] waited {timeout}s for the program to block, "
                    f"its state stayed {state!r}{self.report()}")

    def interrupt(self):
        """Like pressing Ctrl-C in the terminal running the program."""
        self.wait_until_blocked()
        self.popen.send_signal(signal.SIGINT)

    def finish(self, timeout=TIMEOUT):
        """Wait for the program to exit; return Result(code, out, err)."""
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"[{self.command}] did not exit within {timeout}s{self.report()}")
        self.out.close()
        self.err.close()
        assert "Traceback" not in self.err.text, f"[{self.command}]{self.report()}"
        return Result(code, self.out.text, self.err.text)

    def stop(self):
        """Kill the program if it still runs, reap it, close its pipes."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        if self.popen.stdin:
            try:
                self.popen.stdin.close()
            except OSError:
                pass
        self.out.close()
        self.err.close()


def free_port(kind=socket.SOCK_STREAM):
    """A port on 127.0.0.1 that nothing uses right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOCAL, 0))
        return sock.getsockname()[1]


def listening(address, port):
    return f"Socket is listening in address {address} and port {port} ...\n"


def reply(text):
    """The server's answer to `text`."""
    return f"Server message: I received {len(text)} chars: {text}"


def expect_bytes(sock, expected, what):
    """Receive exactly len(expected) bytes from sock and compare them."""
    got = b""
    try:
        while len(got) < len(expected):
            chunk = sock.recv(len(expected) - len(got))
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    assert got == expected, f"waiting for {what}: expected {expected!r}, got {got!r}"


def accept(listener):
    try:
        conn, _ = listener.accept()
    except socket.timeout:
        pytest.fail(f"waited {TIMEOUT}s for the client to connect, it did not")
    conn.settimeout(TIMEOUT)
    return conn


def reset(sock):
    """Close a TCP socket abruptly: the peer gets a RST ("connection reset")."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def load(name):
    """Import one program as a module (to call its main() in this process)."""
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), PROGRAMS / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="session", autouse=True)
def sigint_reaches_children():
    """Make sure the programs can receive Ctrl-C (SIGINT).

    A child inherits an *ignored* SIGINT (this happens when pytest is started
    in the background by a shell script), and Python then never raises
    KeyboardInterrupt. A *handled* signal goes back to its default on exec, so
    installing Python's own handler here is enough.
    """
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture
def start():
    """start(name, *args, stdin=False) -> Program; all are killed after the test."""
    started = []

    def _start(name, *args, stdin=False):
        program = Program(name, *args, stdin=stdin)
        started.append(program)
        return program

    yield _start
    for program in started:
        program.stop()
    for program in started:
        assert "Traceback" not in program.err.text, f"[{program.command}]{program.report()}"


@pytest.fixture
def run(start):
    """run(name, *args, input=None) -> Result: run a program to its end."""

    def _run(name, *args, input=None):
        program = start(name, *args, stdin=input is not None)
        if input is not None:
            program.send(input)
            program.close_stdin()
        return program.finish()

    return _run


@pytest.fixture
def sockets():
    """new(kind) -> a socket with a timeout, closed after the test."""
    made = []

    def _new(kind=socket.SOCK_STREAM):
        sock = socket.socket(socket.AF_INET, kind)
        sock.settimeout(TIMEOUT)
        made.append(sock)
        return sock

    yield _new
    for sock in made:
        sock.close()


@pytest.fixture
def connect(sockets):
    """connect(port) -> a TCP socket connected to 127.0.0.1:port."""

    def _connect(port):
        sock = sockets()
        sock.connect((LOCAL, port))
        return sock

    return _connect


@pytest.fixture
def udp_server(start):
    port = free_port(socket.SOCK_DGRAM)
    server = start("server_udp.py", LOCAL, str(port))
    server.wait_for(listening(LOCAL, port))
    server.port = port
    return server


@pytest.fixture
def tcp_server(start):
    port = free_port()
    server = start("server_tcp.py", LOCAL, str(port))
    server.wait_for(listening(LOCAL, port))
    server.port = port
    return server


@pytest.fixture
def listener(sockets):
    """A plain TCP listening socket, to play the server for client_tcp.py."""
    sock = sockets()
    sock.bind((LOCAL, 0))
    sock.listen(5)
    return sock


# --------------------------------------------------------------------------
# Bad input, common to all programs
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name, args", [
    ("server_udp.py", []),
    ("server_udp.py", [LOCAL]),
    ("server_udp.py", [LOCAL, "5000", "extra"]),
    ("server_tcp.py", []),
    ("server_tcp.py", [LOCAL]),
    ("server_tcp.py", [LOCAL, "5000", "extra"]),
    ("client_tcp.py", []),
    ("client_tcp.py", [LOCAL]),
    ("client_tcp.py", [LOCAL, "5000", "extra"]),
    ("client_udp.py", []),
    ("client_udp.py", [LOCAL, "5000"]),
    ("client_udp.py", [LOCAL, "5000", "message", "extra"]),
    ("hostinfo.py", []),
    ("hostinfo.py", ["localhost", "extra"]),
])
def test_wrong_number_of_arguments_prints_usage(run, name, args):
    result = run(name, *args)
    assert result == (1, "", USAGE[name] + "\n")


@pytest.mark.parametrize("port", ["abc", "0", "70000", "-1", ""])
@pytest.mark.parametrize("name", ["server_udp.py", "server_tcp.py",
                                  "client_tcp.py", "client_udp.py"])
def test_bad_port(run, name, port):
    extra = ["message"] if name == "client_udp.py" else []
    result = run(name, LOCAL, port, *extra)
    assert result == (1, "", f"Error: port must be a number from 1 to 65535, got '{port}'\n")


@pytest.mark.parametrize("name, args, out", [
    ("server_udp.py", [UNRESOLVABLE, "5000"], ""),
    ("server_tcp.py", [UNRESOLVABLE, "5000"], ""),
    ("client_tcp.py", [UNRESOLVABLE, "5000"], WAITING),
    ("client_udp.py", [UNRESOLVABLE, "5000", "never sent"], ""),
    ("hostinfo.py", [UNRESOLVABLE], ""),
])
def test_unresolvable_host(run, name, args, out):
    # The name ends in .invalid, so it can never resolve to any address and
    # the programs have nowhere to send or bind anything.
    result = run(name, *args)
    assert (result.code, result.out) == (1, out)
    assert re.fullmatch(rf"Error: cannot resolve host '{re.escape(UNRESOLVABLE)}': \S.*\n",
                        result.err), result.err


# --------------------------------------------------------------------------
# server_udp.py
# --------------------------------------------------------------------------

def test_udp_server_prints_each_datagram_with_count_and_sender(udp_server, sockets):
    sender = sockets(socket.SOCK_DGRAM)
    sender.bind((LOCAL, 0))
    sender_port = sender.getsockname()[1]
    messages = [b"hello", "olá 👋".encode(), b"bad \xff byte"]
    expected = [listening(LOCAL, udp_server.port)]
    for number, data in enumerate(messages, start=1):
        sender.sendto(data, (LOCAL, udp_server.port))
        text = data.decode("utf-8", errors="replace")
        line = (f'Received message "{text}" from Client {number}, '
                f"calling from: {LOCAL}:{sender_port}\n")
        udp_server.wait_for(line)
        expected.append(line)
    assert udp_server.out.text == "".join(expected)
    # The server is single-threaded: had it answered datagram 1 or 2, the
    # answer would already be here, since it has printed datagram 3.
    sender.setblocking(False)
    with pytest.raises(BlockingIOError):
        sender.recv(65535)


def test_udp_server_resolves_a_name(start):
    port = free_port(socket.SOCK_DGRAM)
    server = start("server_udp.py", "localhost", str(port))
    server.wait_for(listening(socket.gethostbyname("localhost"), port))


def test_udp_server_ctrl_c(udp_server):
    udp_server.interrupt()
    result = udp_server.finish()
    assert result == (0, listening(LOCAL, udp_server.port) + INTERRUPTED, "")


def test_udp_server_address_in_use(run, sockets):
    holder = sockets(socket.SOCK_DGRAM)
    holder.bind((LOCAL, 0))
    port = holder.getsockname()[1]
    result = run("server_udp.py", LOCAL, str(port))
    reason = os.strerror(errno.EADDRINUSE)
    assert result == (1, "", f"Error: cannot bind to {LOCAL}:{port}: {reason}\n")


# --------------------------------------------------------------------------
# client_udp.py
# --------------------------------------------------------------------------

def test_udp_client_and_server_together(udp_server, run):
    result = run("client_udp.py", LOCAL, str(udp_server.port), "hello there")
    assert result == (0, "", "")
    udp_server.wait_for(re.compile(
        r'Received message "hello there" from Client 1, calling from: 127\.0\.0\.1:\d+\n'))
    result = run("client_udp.py", "localhost", str(udp_server.port), "olá 👋")
    assert result == (0, "", "")
    udp_server.wait_for(re.compile(
        r'Received message "olá 👋" from Client 2, calling from: 127\.0\.0\.1:\d+\n'))


def test_udp_client_sends_one_utf8_datagram(run, sockets):
    receiver = sockets(socket.SOCK_DGRAM)
    receiver.bind((LOCAL, 0))
    port = receiver.getsockname()[1]
    assert run("client_udp.py", LOCAL, str(port), "olá 👋") == (0, "", "")
    data, (ip, _) = receiver.recvfrom(65535)
    assert (data, ip) == ("olá 👋".encode(), LOCAL)


# --------------------------------------------------------------------------
# server_tcp.py
# --------------------------------------------------------------------------

def connected(number, sock):
    port = sock.getsockname()[1]
    return f"Connected to Client {number}, calling from: {LOCAL}:{port}\nThread Number: {number}\n"


def test_tcp_server_greets_and_replies_counting_characters(tcp_server, connect):
    client = connect(tcp_server.port)
    tcp_server.wait_for(connected(1, client))
    expect_bytes(client, GREETING, "the greeting")
    for text in ["hello", "olá", "👋", "a b c 😀 ção"]:
        client.sendall(text.encode())
        expect_bytes(client, reply(text).encode(), f"the reply to {text!r}")
    assert reply("olá") == "Server message: I received 3 chars: olá"
    assert reply("👋") == "Server message: I received 1 chars: 👋"
    client.close()
    tcp_server.wait_for("Bye bye Client 1!\n")


def test_tcp_server_joins_characters_split_across_recvs(tcp_server, connect):
    client = connect(tcp_server.port)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    expect_bytes(client, GREETING, "the greeting")
    # "ol" + the first half of "á": the server answers for "ol" only...
    client.sendall(b"ol\xc3")
    expect_bytes(client, reply("ol").encode(), "the reply to 'ol'")
    # ...and the second half completes the "á".
    client.sendall(b"\xa1")
    expect_bytes(client, reply("á").encode(), "the reply to the end of 'á'")
    # A chunk holding only part of an emoji gets no reply at all (not
    # "0 chars"): the next bytes on the socket are the reply to the emoji.
    client.sendall(b"\xf0\x9f")
    client.sendall(b"\x91\x8b")
    expect_bytes(client, reply("👋").encode(), "the reply to the emoji")
    client.sendall(b"x")
    expect_bytes(client, reply("x").encode(), "the reply to 'x'")


def test_tcp_server_answers_what_arrives_together_once(tcp_server, connect):
    """A client that sends the same line twice at once (a mistake seen in submissions) gets one answer for
    both, every time, however TCP cut them into segments (here: two, no Nagle); a line sent after the answer
    gets its own (issue 15: the lab's server is an instrument whose answers do not depend on timing)."""
    client = connect(tcp_server.port)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    expect_bytes(client, GREETING, "the greeting")
    client.sendall(b"hello")
    client.sendall(b"hello")
    expect_bytes(client, reply("hellohello").encode(), "one answer for both sends")
    client.sendall(b"again")
    expect_bytes(client, reply("again").encode(), "the answer to the next line")
    client.sendall(b"bye")
    client.shutdown(socket.SHUT_WR)  # a last message and the end at once: answered, then the server closes
    expect_bytes(client, reply("bye").encode(), "the answer to a message that came with the end")
    tcp_server.wait_for("Bye bye Client 1!\n")


def test_tcp_server_clients_one_after_the_other(tcp_server, connect):
    expected = listening(LOCAL, tcp_server.port)
    for number in (1, 2):
        client = connect(tcp_server.port)
        expected += connected(number, client)
        tcp_server.wait_for(connected(number, client))
        expect_bytes(client, GREETING, f"the greeting to client {number}")
        client.sendall(b"hello")
        expect_bytes(client, reply("hello").encode(), f"the reply to client {number}")
        client.close()
        expected += f"Bye bye Client {number}!\n"
        tcp_server.wait_for(f"Bye bye Client {number}!\n")
    assert tcp_server.out.text == expected


def test_tcp_server_two_clients_at_once(tcp_server, connect):
    first = connect(tcp_server.port)
    tcp_server.wait_for(connected(1, first))
    second = connect(tcp_server.port)
    tcp_server.wait_for(connected(2, second))
    expect_bytes(first, GREETING, "the greeting to client 1")
    expect_bytes(second, GREETING, "the greeting to client 2")
    second.sendall(b"from two")
    first.sendall(b"from one")
    expect_bytes(first, reply("from one").encode(), "the reply to client 1")
    expect_bytes(second, reply("from two").encode(), "the reply to client 2")
    second.close()
    tcp_server.wait_for("Bye bye Client 2!\n")
    first.sendall(b"still here")  # client 1 is still served
    expect_bytes(first, reply("still here").encode(), "the second reply to client 1")
    assert "Bye bye Client 1!" not in tcp_server.out.text
    first.close()
    tcp_server.wait_for("Bye bye Client 1!\n")


def test_tcp_server_survives_a_connection_reset(tcp_server, connect):
    client = connect(tcp_server.port)
    expect_bytes(client, GREETING, "the greeting")
    reset(client)
    tcp_server.wait_for("Bye bye Client 1!\n")
    again = connect(tcp_server.port)
    tcp_server.wait_for(connected(2, again))
    expect_bytes(again, GREETING, "the greeting to client 2")


def test_tcp_server_resolves_a_name(start):
    port = free_port()
    server = start("server_tcp.py", "localhost", str(port))
    server.wait_for(listening(socket.gethostbyname("localhost"), port))


def test_tcp_server_ctrl_c_with_a_client_connected(tcp_server, connect):
    client = connect(tcp_server.port)
    tcp_server.wait_for(connected(1, client))
    expect_bytes(client, GREETING, "the greeting")
    tcp_server.interrupt()
    result = tcp_server.finish()
    assert result == (0, listening(LOCAL, tcp_server.port) + connected(1, client)
                      + INTERRUPTED, "")


def test_tcp_server_address_in_use(tcp_server, run):
    result = run("server_tcp.py", LOCAL, str(tcp_server.port))
    reason = os.strerror(errno.EADDRINUSE)
    assert result == (1, "", f"Error: cannot bind to {LOCAL}:{tcp_server.port}: {reason}\n")


# --------------------------------------------------------------------------
# client_tcp.py
# --------------------------------------------------------------------------

def test_tcp_client_session_until_empty_line(tcp_server, run):
    result = run("client_tcp.py", LOCAL, str(tcp_server.port), input="hello\nolá\n👋\n\nnot sent\n")
    assert result == (0, WAITING
                      + PROMPT + reply("hello") + "\n"
                      + PROMPT + reply("olá") + "\n"
                      + PROMPT + reply("👋") + "\n"
                      + PROMPT, "")
    assert "Server message: I received 3 chars: olá\n" in result.out
    tcp_server.wait_for("Bye bye Client 1!\n")


@pytest.mark.parametrize("lines", ["", "hello\n"])
def test_tcp_client_end_of_input(tcp_server, run, lines):
    result = run("client_tcp.py", "localhost", str(tcp_server.port), input=lines)
    replies = "".join(PROMPT + reply(line) + "\n" for line in lines.splitlines())
    assert result == (0, WAITING + replies + PROMPT + "\n", "")
    tcp_server.wait_for("Bye bye Client 1!\n")


def test_tcp_client_ctrl_c_at_the_prompt(tcp_server, start):
    client = start("client_tcp.py", LOCAL, str(tcp_server.port), stdin=True)
    client.wait_for(PROMPT)
    client.interrupt()
    assert client.finish() == (0, WAITING + PROMPT + "\n", "")
    tcp_server.wait_for("Bye bye Client 1!\n")


def test_tcp_client_ctrl_c_while_waiting_for_the_reply(listener, start):
    port = listener.getsockname()[1]
    client = start("client_tcp.py", LOCAL, str(port), stdin=True)
    conn = accept(listener)
    conn.sendall(GREETING)
    client.wait_for(PROMPT)
    client.send("hi\n")
    expect_bytes(conn, b"hi", "the line from the client")  # but no reply
    client.interrupt()
    assert client.finish() == (0, WAITING + PROMPT + "\n", "")
    conn.close()


def test_tcp_client_server_closes_after_a_line(listener, start):
    port = listener.getsockname()[1]
    client = start("client_tcp.py", LOCAL, str(port), stdin=True)
    conn = accept(listener)
    conn.sendall(GREETING)
    client.wait_for(PROMPT)
    client.send("hi\n")
    expect_bytes(conn, b"hi", "the line from the client")
    conn.close()
    assert client.finish() == (1, WAITING + PROMPT, "Connection closed by the server\n")


def test_tcp_client_server_closes_before_the_greeting(listener, start):
    port = listener.getsockname()[1]
    client = start("client_tcp.py", LOCAL, str(port), stdin=True)
    accept(listener).close()
    assert client.finish() == (1, WAITING, "Connection closed by the server\n")


def test_tcp_client_connection_reset(listener, start):
    port = listener.getsockname()[1]
    client = start("client_tcp.py", LOCAL, str(port), stdin=True)
    conn = accept(listener)
    conn.sendall(GREETING)
    client.wait_for(PROMPT)
    client.send("hi\n")
    expect_bytes(conn, b"hi", "the line from the client")
    reset(conn)
    result = client.finish()
    assert (result.code, result.out) == (1, WAITING + PROMPT)
    reason = os.strerror(errno.ECONNRESET)
    assert re.fullmatch(rf"Error: .*{re.escape(reason)}\n", result.err), result.err


def test_tcp_client_connection_refused(run):
    port = free_port()  # nothing listens there
    result = run("client_tcp.py", LOCAL, str(port))
    assert result == (1, WAITING,
                      f"Error: connection refused by {LOCAL}:{port} (is the server running?)\n")


# --------------------------------------------------------------------------
# hostinfo.py
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_hostinfo(run, name):
    address = socket.gethostbyname(name)
    try:
        reverse = f"gethostbyaddr('{address}') = {socket.gethostbyaddr(address)!r}\n"
    except OSError as exc:
        reverse = f"gethostbyaddr('{address}') failed: {exc.strerror}\n"
    result = run("hostinfo.py", name)
    assert result == (0, f"This host: {socket.gethostname()}\n"
                         f"gethostbyname('{name}') = {address}\n" + reverse, "")
    if " = (" in reverse:  # the tuple is printed as Python writes it
        host, aliases, addresses = ast.literal_eval(result.out.splitlines()[-1].split(" = ", 1)[1])
        assert address in addresses


def test_hostinfo_when_the_reverse_lookup_fails(monkeypatch, capsys):
    hostinfo = load("hostinfo.py")

    def no_name(address):
        raise socket.herror(1, "Unknown host")

    monkeypatch.setattr(socket, "gethostbyaddr", no_name)
    assert hostinfo.main(["hostinfo.py", "127.0.0.1"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[1:] == ["gethostbyname('127.0.0.1') = 127.0.0.1",
                                    "gethostbyaddr('127.0.0.1') failed: Unknown host"]
    assert err == ""
