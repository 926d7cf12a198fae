"""Sockets lab: TCP client.

Run: python3 client_tcp.py <host server> <port>
An empty line, Ctrl-D or Ctrl-C quits.
"""
import socket
import sys


def main():
    if len(sys.argv) != 3:
        print("Usage: python3 client_tcp.py <host server> <port>", file=sys.stderr)
        return 1
    print("Waiting for connection response", flush=True)
    try:
        ip = socket.gethostbyname(sys.argv[1])
        port = int(sys.argv[2])
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is not from 1 to 65535")
    except (OSError, UnicodeError, ValueError) as e:
        print(f"Error: bad host or port: {e}", file=sys.stderr)
        return 1

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.connect((ip, port))
    except ConnectionRefusedError:
        print(f"Error: connection refused by {ip}:{port} (is the server running?)", file=sys.stderr)
        return 1
    except (OSError, OverflowError) as e:
        print(f"Error: cannot connect to {ip}:{port}: {e}", file=sys.stderr)
        return 1

    try:
        s.recv(1024)  # "Server is working:"
        while True:
            line = input("Hey there: ")
            if not line:
                break
            s.sendall(line.encode())
            reply = s.recv(1024)
            if not reply:
                print("Error: the server closed the connection", file=sys.stderr)
                return 1
            print(reply.decode("utf-8", "replace"), flush=True)
    except (KeyboardInterrupt, EOFError):
        print()
    except OSError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    finally:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
