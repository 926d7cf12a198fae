"""Sockets lab: UDP client. Sends one datagram and prints nothing.

Run: python3 client_udp.py <host server> <port> <message>
"""
import socket
import sys


def main():
    if len(sys.argv) != 4:
        print("Usage: python3 client_udp.py <host server> <port> <message>", file=sys.stderr)
        return 1
    try:
        ip = socket.gethostbyname(sys.argv[1])
        port = int(sys.argv[2])
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is not from 1 to 65535")
    except (OSError, UnicodeError, ValueError) as e:
        print(f"Error: bad host or port: {e}", file=sys.stderr)
        return 1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.sendto(sys.argv[3].encode("utf-8", "surrogateescape"), (ip, port))
        except (OSError, OverflowError) as e:
            print(f"Error: cannot send to {ip}:{port}: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
