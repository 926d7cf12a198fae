# Sockets lab - UDP server
# Ana Costa
#
# usage: python3 server_udp.py <local address> <port>
#
# Prints every datagram it gets, who sent it and how many came so far.
# It never answers. Ctrl-C stops it.

import socket
import sys


def fail(text):
    print(text, file=sys.stderr, flush=True)
    sys.exit(1)


def read_port(text):
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        fail(f"Error: '{text}' is not a valid port (1 to 65535)")
    return int(text)


def main():
    if len(sys.argv) != 3:
        fail("usage: python3 server_udp.py <local address> <port>")
    port = read_port(sys.argv[2])
    try:
        ip = socket.gethostbyname(sys.argv[1])
    except (OSError, UnicodeError) as e:
        fail(f"Error: unknown address '{sys.argv[1]}' ({getattr(e, 'strerror', None) or e})")

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((ip, port))
    except OSError as e:
        sock.close()
        fail(f"Error: could not bind {ip}:{port} ({e.strerror})")
    print(f"Socket is listening in address {ip} and port {port} ...", flush=True)

    received = 0
    try:
        while True:
            datagram, (peer_ip, peer_port) = sock.recvfrom(65535)
            received += 1
            text = datagram.decode(errors="replace")
            print(f'Received message "{text}" from Client {received}, calling from: {peer_ip}:{peer_port}',
                  flush=True)
    except KeyboardInterrupt:
        print("Caught keyboard interrupt, exiting", flush=True)
    except OSError as e:
        fail(f"Error: {e.strerror or e}")
    finally:
        sock.close()


if __name__ == "__main__":
    main()
