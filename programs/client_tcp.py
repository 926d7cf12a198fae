"""TCP client: sends the lines you type to the server and shows its replies.

Usage:
    python3 client_tcp.py <host server> <port>

Example:
    python3 client_tcp.py localhost 5000

The client connects to the server and reads its greeting. Then, for every line
typed at the "Hey there: " prompt, it sends the line and prints the reply.
An empty line, end of input (Ctrl-D) or Ctrl-C closes the connection.

A server may be wrong (this is the lab's client: it talks to students' servers).
If the greeting or a reply does not come within PATIENCE seconds, the client
says so and carries on, so one missing line costs only the checks about it.
"""

import socket
import sys
import time

USAGE = "Usage: client_tcp.py <host server> <port>"
BUFFER_SIZE = 4096  # the most bytes we take from the socket in one recv
PATIENCE = 3.0  # seconds to wait for the greeting or a reply before carrying on


def error(message):
    """Print one error line on stderr and return the exit code for errors (1)."""
    print(message, file=sys.stderr, flush=True)
    return 1


def reason(exc):
    """The readable part of an exception, e.g. 'Connection reset by peer'."""
    return getattr(exc, "strerror", None) or str(exc)


def parse_port(text):
    """Return the port as an int, or None if it is not a number from 1 to 65535."""
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    return None


def chat(sock):
    """Read lines from the user, send them, print the replies.

    Returns the exit code: 0 when the user stops, 1 if the server hangs up.
    """
    greeting = receive(sock)  # "Server is working:" (not shown)
    if greeting is None:
        error(f"No greeting from the server within {PATIENCE:g} s; carrying on")
    elif not greeting:  # b"" means the server closed the connection
        return error("Connection closed by the server")
    while True:
        line = input("Hey there: ")
        if not line:  # empty line: the user is done
            return 0
        sock.sendall(line.encode("utf-8"))
        # Note: one recv gets one reply here, which is fine for short lines.
        reply = receive(sock)
        if reply is None:
            error(f"No reply from the server within {PATIENCE:g} s; carrying on")
            continue
        if not reply:
            return error("Connection closed by the server")
        print(reply.decode("utf-8", errors="replace"), flush=True)


def receive(sock):
    """What the server sends next (b"" if it closed), or None if nothing came within PATIENCE seconds."""
    sock.settimeout(PATIENCE)
    try:
        return sock.recv(BUFFER_SIZE)
    except socket.timeout:
        return None
    finally:
        sock.settimeout(None)


def hang_up(sock):
    """Close our side first (a FIN), then read what the server still sends until it closes its side too (at
    most PATIENCE seconds). A socket closed with unread data is answered with a reset (RST) instead: a server
    slow to take the connection (one that serves one client at a time) would then meet a reset or a clean
    goodbye depending on timing alone."""
    deadline = time.monotonic() + PATIENCE
    try:
        sock.shutdown(socket.SHUT_WR)
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if not sock.recv(BUFFER_SIZE):  # the server closed its side
                return
    except OSError:  # the server reset the connection, or PATIENCE ran out (socket.timeout)
        pass


def main(argv):
    if len(argv) != 3:
        return error(USAGE)
    host, port_text = argv[1], argv[2]
    port = parse_port(port_text)
    if port is None:
        return error(f"Error: port must be a number from 1 to 65535, got '{port_text}'")

    print("Waiting for connection response", flush=True)
    try:
        # Turn a name such as 'localhost' into an IPv4 address such as '127.0.0.1'.
        try:
            address = socket.gethostbyname(host)
        except (OSError, UnicodeError) as exc:
            return error(f"Error: cannot resolve host '{host}': {reason(exc)}")

        # AF_INET = IPv4, SOCK_STREAM = TCP. "with" closes the socket at the end.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.connect((address, port))
            except ConnectionRefusedError:
                return error(f"Error: connection refused by {address}:{port} "
                             "(is the server running?)")
            except OSError as exc:
                return error(f"Error: cannot connect to {address}:{port}: {reason(exc)}")
            try:
                code = chat(sock)
            except (EOFError, KeyboardInterrupt):  # Ctrl-D / end of input, or Ctrl-C
                print(flush=True)  # end the prompt line, so the shell starts on a new line
                code = 0
            if code == 0:
                hang_up(sock)
            return code
    except (EOFError, KeyboardInterrupt):  # Ctrl-D / end of input, or Ctrl-C
        print(flush=True)  # end the prompt line, so the shell starts on a new line
        return 0
    except OSError as exc:  # e.g. "Connection reset by peer"
        return error(f"Error: connection to {address}:{port} failed: {reason(exc)}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
