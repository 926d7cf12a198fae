"""Sockets lab: threaded TCP server.

Run: python3 server_tcp.py <local address> <port>
"""
import socket
import sys
import threading

lock = threading.Lock()  # one print at a time


def log(msg):
    with lock:
        print(msg, flush=True)


def serve(conn, n):
    """Talks to client number n, in its own thread."""
    try:
        conn.sendall("Server is working:".encode())
        while True:
            data = conn.recv(1024)
            if not data:
                break
            text = data.decode("utf-8", "replace")
            conn.sendall(f"Server message: I received {len(data)} chars: {text}".encode())
    except OSError:
        pass
    conn.close()
    log(f"Bye bye Client {n}!")


def main():
    if len(sys.argv) != 3:
        print("Usage: python3 server_tcp.py <local address> <port>", file=sys.stderr)
        return 1
    try:
        host = socket.gethostbyname(sys.argv[1])
        port = int(sys.argv[2])
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is not from 1 to 65535")
    except (OSError, UnicodeError, ValueError) as e:
        print(f"Error: bad address or port: {e}", file=sys.stderr)
        return 1

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
    except (OSError, OverflowError) as e:
        print(f"Error: cannot bind {host}:{port}: {e}", file=sys.stderr)
        return 1
    s.listen(5)
    log(f"Socket is listening in address {host} and port {port} ...")

    n = 0
    try:
        while True:
            conn, (ip, p) = s.accept()
            n += 1
            log(f"Connected to Client {n}, calling from: {ip}:{p}")
            threading.Thread(target=serve, args=(conn, n), daemon=True).start()
            log(f"Thread Number: {n}")
    except KeyboardInterrupt:
        log("Caught keyboard interrupt, exiting")
    finally:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
