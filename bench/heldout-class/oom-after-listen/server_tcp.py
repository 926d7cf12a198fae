#!/usr/bin/env python3
# Lab 2 - threaded TCP server (with buffer pool)
import socket
import sys
import threading

BUFFER_SIZE = 1024
POOL_CHUNK = 64 * 1024 * 1024  # 64 MiB per buffer


def serve(conn, number):
    conn.sendall(b"Server is working:")
    while True:
        data = conn.recv(BUFFER_SIZE)
        if not data:
            break
        text = data.decode("utf-8")
        conn.sendall(f"Server message: I received {len(text)} chars: {text}".encode("utf-8"))
    conn.close()
    print(f"Bye bye Client {number}!", flush=True)


def main():
    if len(sys.argv) < 3:
        print(f"Usage: {sys.argv[0]} <local address> <port>", file=sys.stderr)
        return 1
    address, port = sys.argv[1], int(sys.argv[2])

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, port))
    s.listen(10)
    print(f"Socket is listening in address {address} and port {port} ...", flush=True)

    # preallocate buffers for the clients (never stops growing...)
    pool = []
    while True:
        pool.append(b"\x01" * POOL_CHUNK)

    count = 0
    try:
        while True:
            conn, (ip, cport) = s.accept()
            count += 1
            print(f"Connected to Client {count}, calling from: {ip}:{cport}", flush=True)
            threading.Thread(target=serve, args=(conn, count), daemon=True).start()
            print(f"Thread Number: {count}", flush=True)
    except KeyboardInterrupt:
        print("Caught keyboard interrupt, exiting", flush=True)
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
