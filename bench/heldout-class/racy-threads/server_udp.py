#!/usr/bin/env python3
# Lab 2 - UDP server
import socket
import sys

BUFFER_SIZE = 1024


def main():
    if len(sys.argv) < 3:
        print(f"Usage: {sys.argv[0]} <local address> <port>", file=sys.stderr)
        return 1
    address, port = sys.argv[1], int(sys.argv[2])

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((address, port))
    print(f"Socket is listening in address {address} and port {port} ...", flush=True)

    clients = 0
    try:
        while True:
            msg, (ip, cport) = s.recvfrom(BUFFER_SIZE)
            clients += 1
            print(f'Received message "{msg.decode()}" from Client {clients}, '
                  f'calling from: {ip}:{cport}', flush=True)
    except KeyboardInterrupt:
        print("Caught keyboard interrupt, exiting", flush=True)
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
