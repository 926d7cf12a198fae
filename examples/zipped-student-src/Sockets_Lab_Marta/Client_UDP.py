# Marta Reis - Sockets lab, Figure 4: UDP client
# python3 client_udp.py <host server> <port> <message>
# One datagram, no answer expected, nothing printed.

import socket
import sys


def main():
    if len(sys.argv) != 4:
        print("usage: python3 client_udp.py <host server> <port> <message>", file=sys.stderr)
        return 1
    try:
        ip = socket.gethostbyname(sys.argv[1])
        port = int(sys.argv[2])
        if port < 1 or port > 65535:
            raise ValueError("the port must be from 1 to 65535")
    except (OSError, UnicodeError, ValueError) as problem:
        print(f"Error: {problem}", file=sys.stderr)
        return 1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        try:
            udp.sendto(sys.argv[3].encode("utf-8", "surrogateescape"), (ip, port))
        except OSError as problem:
            print(f"Error: cannot send to {ip}:{port}: {problem.strerror or problem}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
