#!/usr/bin/env python3
# Lab 2 - UDP client
import socket
import sys


def main():
    if len(sys.argv) < 4:
        print(f"Usage: {sys.argv[0]} <host server> <port> <message>", file=sys.stderr)
        return 1
    host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(message.encode("utf-8"), (host, port))
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
