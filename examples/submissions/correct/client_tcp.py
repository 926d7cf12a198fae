# Sockets lab - TCP client
# Ana Costa
#
# usage: python3 client_tcp.py <host server> <port>
#
# Sends every line typed at "Hey there: " and prints the server's answer.
# An empty line, Ctrl-D or Ctrl-C ends the client.

import socket
import sys


def fail(text):
    print(text, file=sys.stderr, flush=True)
    sys.exit(1)


def read_port(text):
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        fail(f"Error: '{text}' is not a valid port (1 to 65535)")
    return int(text)


def talk(sock):
    if not sock.recv(2048):  # the greeting, "Server is working:"
        fail("Error: the server closed the connection")
    while True:
        line = input("Hey there: ")
        if line == "":
            return
        sock.sendall(line.encode())
        answer = sock.recv(4096)
        if not answer:
            fail("Error: the server closed the connection")
        print(answer.decode(errors="replace"), flush=True)


def main():
    if len(sys.argv) != 3:
        fail("usage: python3 client_tcp.py <host server> <port>")
    port = read_port(sys.argv[2])
    print("Waiting for connection response", flush=True)
    try:
        ip = socket.gethostbyname(sys.argv[1])
    except (OSError, UnicodeError) as e:
        fail(f"Error: unknown host '{sys.argv[1]}' ({getattr(e, 'strerror', None) or e})")

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        try:
            sock.connect((ip, port))
        except ConnectionRefusedError:
            fail(f"Error: connection refused by {ip}:{port} (is the server running?)")
        except OSError as e:
            fail(f"Error: could not connect to {ip}:{port} ({e.strerror or e})")
        talk(sock)
    except (KeyboardInterrupt, EOFError):
        print(flush=True)  # leave the prompt's line
    except OSError as e:
        fail(f"Error: lost the connection to {ip}:{port} ({e.strerror or e})")
    finally:
        sock.close()


if __name__ == "__main__":
    main()
