"""Networks course, sockets assignment -- TCP server, one thread per connected client.

Rui Pinto, group 3.
"""
import codecs
import socket
import sys
import threading

HELLO = "Server is working:"

print_lock = threading.Lock()


def log(what):
    with print_lock:
        print(what, flush=True)


def die(what):
    print(what, file=sys.stderr, flush=True)
    sys.exit(1)


def port_from(what):
    if not (what.isascii() and what.isdigit()) or not 1 <= int(what) <= 65535:
        die(f"Error: '{what}' is not a valid port (1 to 65535)")
    return int(what)


def serve(link, nth):
    utf8 = codecs.getincrementaldecoder("utf-8")("replace")
    with link:
        try:
            link.sendall(HELLO.encode())
            while True:
                piece = link.recv(2048)
                if piece == b"":
                    break
                msg = utf8.decode(piece)
                if msg == "":
                    continue
                reply = f"Server message: I received {len(msg)} chars: {msg}"
                link.sendall(reply.encode())
        except OSError:
            pass
    log(f"Bye bye Client {nth}!")


def run():
    if len(sys.argv) != 3:
        die("usage: python3 server_tcp.py <local address> <port>")
    portno = port_from(sys.argv[2])
    try:
        address = socket.gethostbyname(sys.argv[1])
    except (OSError, UnicodeError) as err:
        die(f"Error: unknown address '{sys.argv[1]}' ({getattr(err, 'strerror', None) or err})")

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((address, portno))
    except OSError as err:
        listener.close()
        die(f"Error: could not bind {address}:{portno} ({err.strerror})")
    listener.listen()
    log(f"Socket is listening in address {address} and port {portno} ...")

    count = 0
    try:
        while True:
            link, (their_ip, their_port) = listener.accept()
            count += 1
            log(f"Connected to Client {count}, calling from: {their_ip}:{their_port}")
            thread = threading.Thread(target=serve, args=(link, count), daemon=True)
            log(f"Thread Number: {count}")
            thread.start()
    except KeyboardInterrupt:
        print_lock.acquire()
        print("Caught keyboard interrupt, exiting", flush=True)
    except OSError as err:
        die(f"Error: {err.strerror or err}")
    finally:
        listener.close()


if __name__ == "__main__":
    run()
