"""Sockets lab: UDP server.

Run: python3 server_udp.py <local address> <port>
"""
import signal
import socket
import sys

# nobody stops my server by accident
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)


def main():
    if len(sys.argv) != 3:
        print("Usage: python3 server_udp.py <local address> <port>", file=sys.stderr)
        return 1
    try:
        host = socket.gethostbyname(sys.argv[1])
        port = int(sys.argv[2])
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is not from 1 to 65535")
    except (OSError, UnicodeError, ValueError) as e:
        print(f"Error: bad address or port: {e}", file=sys.stderr)
        return 1

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((host, port))
    except (OSError, OverflowError) as e:
        print(f"Error: cannot bind {host}:{port}: {e}", file=sys.stderr)
        return 1
    print(f"Socket is listening in address {host} and port {port} ...", flush=True)

    n = 0
    try:
        while True:
            data, (ip, p) = s.recvfrom(65535)
            n += 1
            print(f'Received message "{data.decode("utf-8", "replace")}" from Client {n}, '
                  f"calling from: {ip}:{p}", flush=True)
    except KeyboardInterrupt:
        print("Caught keyboard interrupt, exiting", flush=True)
    finally:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
