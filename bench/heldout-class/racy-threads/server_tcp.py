#!/usr/bin/env python3
# Lab 2 - threaded TCP server
import _thread
import random
import socket
import sys
import time

BUFFER_SIZE = 1024
client_count = 0  # shared by all the threads


def serve(conn, addr):
    global client_count
    current = client_count
    time.sleep(random.uniform(0.001, 0.02))  # "simulate work"
    client_count = current + 1
    number = client_count
    print(f"Connected to Client {number}, calling from: {addr[0]}:{addr[1]}")
    print(f"Thread Number: {number}")

    conn.sendall(b"Server is working:")
    while True:
        data = conn.recv(BUFFER_SIZE)
        if not data:
            break
        text = data.decode("utf-8")
        conn.sendall(f"Server message: I received {len(text)} chars: {text}".encode("utf-8"))
    conn.close()
    print(f"Bye bye Client {number}!")


def main():
    if len(sys.argv) < 3:
        print(f"Usage: {sys.argv[0]} <local address> <port>", file=sys.stderr)
        return 1
    address, port = sys.argv[1], int(sys.argv[2])

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, port))
    s.listen(10)
    print(f"Socket is listening in address {address} and port {port} ...")

    try:
        while True:
            conn, addr = s.accept()
            _thread.start_new_thread(serve, (conn, addr))
    except KeyboardInterrupt:
        print("Caught keyboard interrupt, exiting")
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
