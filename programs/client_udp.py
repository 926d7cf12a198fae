"""UDP client: sends one message, as one datagram, to a UDP server.

Usage:
    python3 client_udp.py <host server> <port> <message>

Example:
    python3 client_udp.py localhost 5000 "hello there"

UDP has no connection: the client just sends the datagram and exits. It prints
nothing and does not wait for an answer (it cannot even know whether the
datagram arrived).
"""

import socket
import sys

USAGE = "Usage: client_udp.py <host server> <port> <message>"


def error(message):
    """Print one error line on stderr and return the exit code for errors (1)."""
    print(message, file=sys.stderr, flush=True)
    return 1


def reason(exc):
    """The readable part of an exception, e.g. 'Message too long'."""
    return getattr(exc, "strerror", None) or str(exc)


def parse_port(text):
    """Return the port as an int, or None if it is not a number from 1 to 65535."""
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    return None


def main(argv):
    if len(argv) != 4:
        return error(USAGE)
    host, port_text, message = argv[1], argv[2], argv[3]
    port = parse_port(port_text)
    if port is None:
        return error(f"Error: port must be a number from 1 to 65535, got '{port_text}'")

    # Turn a name such as 'localhost' into an IPv4 address such as '127.0.0.1'.
    try:
        address = socket.gethostbyname(host)
    except (OSError, UnicodeError) as exc:
        return error(f"Error: cannot resolve host '{host}': {reason(exc)}")

    # Sockets send bytes, not text: encode the message as UTF-8.
    # ("surrogateescape" sends back the exact bytes typed if they were not UTF-8.)
    data = message.encode("utf-8", errors="surrogateescape")

    # AF_INET = IPv4, SOCK_DGRAM = UDP. "with" closes the socket at the end.
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(data, (address, port))
    except OSError as exc:  # e.g. message too long for one datagram
        return error(f"Error: cannot send to {address}:{port}: {reason(exc)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
