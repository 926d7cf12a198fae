"""UDP server: prints every datagram it receives (it never replies).

Usage:
    python3 server_udp.py <local address> <port>

Example:
    python3 server_udp.py 0.0.0.0 5000

The server binds a UDP socket to the given local address and port, then waits
for datagrams forever. For each datagram it prints the message, a counter and
the address (IP:PORT) of the sender. Stop it with Ctrl-C.
"""

import socket
import sys

USAGE = "Usage: server_udp.py <local address> <port>"
MAX_DATAGRAM = 65535  # no UDP datagram can be bigger than this


def error(message):
    """Print one error line on stderr and return the exit code for errors (1)."""
    print(message, file=sys.stderr, flush=True)
    return 1


def reason(exc):
    """The readable part of an exception, e.g. 'Address already in use'."""
    return getattr(exc, "strerror", None) or str(exc)


def parse_port(text):
    """Return the port as an int, or None if it is not a number from 1 to 65535."""
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    return None


def main(argv):
    if len(argv) != 3:
        return error(USAGE)
    host, port_text = argv[1], argv[2]
    port = parse_port(port_text)
    if port is None:
        return error(f"Error: port must be a number from 1 to 65535, got '{port_text}'")

    # Turn a name such as 'localhost' into an IPv4 address such as '127.0.0.1'.
    try:
        address = socket.gethostbyname(host)
    except (OSError, UnicodeError) as exc:
        return error(f"Error: cannot resolve host '{host}': {reason(exc)}")

    # AF_INET = IPv4, SOCK_DGRAM = UDP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        try:
            sock.bind((address, port))
        except OSError as exc:
            return error(f"Error: cannot bind to {address}:{port}: {reason(exc)}")
        print(f"Socket is listening in address {address} and port {port} ...", flush=True)

        count = 0
        while True:
            # recvfrom waits for one datagram and also tells us who sent it.
            data, (client_ip, client_port) = sock.recvfrom(MAX_DATAGRAM)
            count += 1
            message = data.decode("utf-8", errors="replace")
            print(f'Received message "{message}" from Client {count}, '
                  f"calling from: {client_ip}:{client_port}", flush=True)
    except KeyboardInterrupt:  # Ctrl-C
        print("Caught keyboard interrupt, exiting", flush=True)
        return 0
    except OSError as exc:
        return error(f"Error: {reason(exc)}")
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
