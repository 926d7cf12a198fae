"""TCP client: sends the lines you type to the server and shows its replies.

Usage:
    python3 client_tcp.py <host server> <port>

Example:
    python3 client_tcp.py localhost 5000

The client connects to the server and reads its greeting. Then, for every line
typed at the "Hey there: " prompt, it sends the line and prints the reply.
An empty line, end of input (Ctrl-D) or Ctrl-C closes the connection.
"""

import socket
import sys

USAGE = "Usage: client_tcp.py <host server> <port>"
BUFFER_SIZE = 4096  # the most bytes we take from the socket in one recv


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
    greeting = sock.recv(BUFFER_SIZE)  # "Server is working:" (not shown)
    if not greeting:  # b"" means the server closed the connection
        return error("Connection closed by the server")
    while True:
        line = input("Hey there: ")
        if not line:  # empty line: the user is done
            return 0
        sock.sendall(line.encode("utf-8"))
        # Note: one recv gets one reply here, which is fine for short lines.
        reply = sock.recv(BUFFER_SIZE)
        if not reply:
            return error("Connection closed by the server")
        print(reply.decode("utf-8", errors="replace"), flush=True)


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
            return chat(sock)
    except (EOFError, KeyboardInterrupt):  # Ctrl-D / end of input, or Ctrl-C
        print(flush=True)  # end the prompt line, so the shell starts on a new line
        return 0
    except OSError as exc:  # e.g. "Connection reset by peer"
        return error(f"Error: connection to {address}:{port} failed: {reason(exc)}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
