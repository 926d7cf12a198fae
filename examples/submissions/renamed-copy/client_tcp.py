"""Networks course, sockets assignment -- TCP client: type lines, read the server's answers.

Rui Pinto, group 3.
"""
import socket
import sys


def die(what):
    print(what, file=sys.stderr, flush=True)
    sys.exit(1)


def port_from(what):
    if not (what.isascii() and what.isdigit()) or not 1 <= int(what) <= 65535:
        die(f"Error: '{what}' is not a valid port (1 to 65535)")
    return int(what)


def chat(s):
    if not s.recv(2048):
        die("Error: the server closed the connection")
    while True:
        typed = input("Hey there: ")
        if typed == "":
            return
        s.sendall(typed.encode())
        reply = s.recv(4096)
        if not reply:
            die("Error: the server closed the connection")
        print(reply.decode(errors="replace"), flush=True)


def run():
    if len(sys.argv) != 3:
        die("usage: python3 client_tcp.py <host server> <port>")
    portno = port_from(sys.argv[2])
    print("Waiting for connection response", flush=True)
    try:
        address = socket.gethostbyname(sys.argv[1])
    except (OSError, UnicodeError) as err:
        die(f"Error: unknown host '{sys.argv[1]}' ({getattr(err, 'strerror', None) or err})")

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        try:
            s.connect((address, portno))
        except ConnectionRefusedError:
            die(f"Error: connection refused by {address}:{portno} (is the server running?)")
        except OSError as err:
            die(f"Error: could not connect to {address}:{portno} ({err.strerror or err})")
        chat(s)
    except (KeyboardInterrupt, EOFError):
        print(flush=True)
    except OSError as err:
        die(f"Error: lost the connection to {address}:{portno} ({err.strerror or err})")
    finally:
        s.close()


if __name__ == "__main__":
    run()
