#!/usr/bin/env python3
# Lab 2 - TCP client
import socket
import sys

BUFFER_SIZE = 1024


def main():
    if len(sys.argv) < 3:
        print(f"Usage: {sys.argv[0]} <host server> <port>", file=sys.stderr)
        return 1
    host, port = sys.argv[1], int(sys.argv[2])

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    print("Waiting for connection response", flush=True)
    s.connect((host, port))
    print(s.recv(BUFFER_SIZE).decode("utf-8"), flush=True)

    try:
        while True:
            line = input("Hey there: ")
            if line == "":
                break
            s.send(line.encode("utf-8"))
            print(s.recv(BUFFER_SIZE).decode("utf-8"), flush=True)
    except (EOFError, KeyboardInterrupt):
        pass
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
