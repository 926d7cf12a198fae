"""Networks course, sockets assignment -- UDP client: sends one datagram and quits.

Rui Pinto, group 3.
"""
import socket
import sys


def die(what):
    print(what, file=sys.stderr, flush=True)
    sys.exit(1)


def run():
    if len(sys.argv) != 4:
        die("usage: python3 client_udp.py <host server> <port> <message>")
    hostname, port_arg, msg = sys.argv[1:]
    if not (port_arg.isascii() and port_arg.isdigit()) or not 1 <= int(port_arg) <= 65535:
        die(f"Error: '{port_arg}' is not a valid port (1 to 65535)")
    portno = int(port_arg)
    try:
        address = socket.gethostbyname(hostname)
    except (OSError, UnicodeError) as err:
        die(f"Error: unknown host '{hostname}' ({getattr(err, 'strerror', None) or err})")

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.sendto(msg.encode("utf-8", "surrogateescape"), (address, portno))
        except OSError as err:
            die(f"Error: could not send to {address}:{portno} ({err.strerror or err})")


if __name__ == "__main__":
    run()
