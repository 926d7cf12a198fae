# Sockets lab - UDP client
# Ana Costa
#
# usage: python3 client_udp.py <host server> <port> <message>
#
# Sends the message as one datagram and exits. It prints nothing: with UDP
# there is no answer to wait for.

import socket
import sys


def fail(text):
    print(text, file=sys.stderr, flush=True)
    sys.exit(1)


def main():
    if len(sys.argv) != 4:
        fail("usage: python3 client_udp.py <host server> <port> <message>")
    host, port_text, message = sys.argv[1:]
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        fail(f"Error: '{port_text}' is not a valid port (1 to 65535)")
    port = int(port_text)
    try:
        ip = socket.gethostbyname(host)
    except (OSError, UnicodeError) as e:
        fail(f"Error: unknown host '{host}' ({getattr(e, 'strerror', None) or e})")

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(message.encode("utf-8", "surrogateescape"), (ip, port))
        except OSError as e:
            fail(f"Error: could not send to {ip}:{port} ({e.strerror or e})")


if __name__ == "__main__":
    main()
