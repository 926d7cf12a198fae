# Marta Reis - Sockets lab, Figure 3: TCP client
# python3 client_tcp.py <host server> <port>
#
# Type a line at "Hey there: " to send it; an empty line, Ctrl-D or Ctrl-C quits.

import socket
import sys


def main():
    if len(sys.argv) != 3:
        print("usage: python3 client_tcp.py <host server> <port>", file=sys.stderr)
        return 1
    print("Waiting for connection response", flush=True)
    try:
        ip = socket.gethostbyname(sys.argv[1])
        port = int(sys.argv[2])
        if port < 1 or port > 65535:
            raise ValueError("the port must be from 1 to 65535")
    except (OSError, UnicodeError, ValueError) as problem:
        print(f"Error: {problem}", file=sys.stderr)
        return 1
    try:
        conn = socket.create_connection((ip, port))
    except ConnectionRefusedError:
        print(f"Error: connection refused by {ip}:{port} (is the server running?)", file=sys.stderr)
        return 1
    except OSError as problem:
        print(f"Error: cannot connect to {ip}:{port}: {problem.strerror or problem}", file=sys.stderr)
        return 1
    with conn:
        try:
            conn.recv(1024)  # the greeting
            while (line := input("Hey there: ")) != "":
                conn.sendall(line.encode("utf-8"))
                answer = conn.recv(4096)
                if not answer:
                    print("Error: the server hung up", file=sys.stderr)
                    return 1
                print(answer.decode("utf-8", "replace"), flush=True)
        except (EOFError, KeyboardInterrupt):
            print()
        except OSError as problem:
            print(f"Error: {problem.strerror or problem}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
