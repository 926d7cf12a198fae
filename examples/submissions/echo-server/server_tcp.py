"""Sockets lab: TCP server (echo).

Run: python3 server_tcp.py <local address> <port>
Sends back whatever each client sends, one thread per client.
"""
import socket
import sys
import threading


def echo(conn):
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data)


def main():
    if len(sys.argv) != 3:
        print("Usage: python3 server_tcp.py <local address> <port>", file=sys.stderr)
        return 1
    try:
        host = socket.gethostbyname(sys.argv[1])
        port = int(sys.argv[2])
    except (OSError, UnicodeError, ValueError) as e:
        print(f"Error: bad address or port: {e}", file=sys.stderr)
        return 1

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except (OSError, OverflowError) as e:
            print(f"Error: cannot bind {host}:{port}: {e}", file=sys.stderr)
            return 1
        s.listen()
        try:
            while True:
                conn, _ = s.accept()
                threading.Thread(target=echo, args=(conn,), daemon=True).start()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
