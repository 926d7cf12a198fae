# Sockets lab - TCP server (threaded)
# Ana Costa
#
# usage: python3 server_tcp.py <local address> <port>
#
# Every client gets its own thread. The server greets it with
# "Server is working:" and answers every message with the number of
# characters it holds. Ctrl-C stops the server.

import codecs
import socket
import sys
import threading

GREETING = "Server is working:"

# the threads all print to the same terminal: one at a time
output_lock = threading.Lock()


def say(text):
    with output_lock:
        print(text, flush=True)


def fail(text):
    print(text, file=sys.stderr, flush=True)
    sys.exit(1)


def read_port(text):
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        fail(f"Error: '{text}' is not a valid port (1 to 65535)")
    return int(text)


def handle_client(conn, number):
    # a character like "á" is two bytes and TCP may cut a message anywhere,
    # so the bytes are decoded incrementally: an unfinished character waits
    # for the next recv instead of being counted wrong
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    with conn:
        try:
            conn.sendall(GREETING.encode())
            while True:
                chunk = conn.recv(2048)
                if chunk == b"":
                    break  # the client closed its side
                message = decoder.decode(chunk)
                if message == "":
                    continue
                answer = f"Server message: I received {len(message)} chars: {message}"
                conn.sendall(answer.encode())
        except OSError:
            pass  # connection reset: the client is gone anyway
    say(f"Bye bye Client {number}!")


def main():
    if len(sys.argv) != 3:
        fail("usage: python3 server_tcp.py <local address> <port>")
    port = read_port(sys.argv[2])
    try:
        ip = socket.gethostbyname(sys.argv[1])
    except (OSError, UnicodeError) as e:
        fail(f"Error: unknown address '{sys.argv[1]}' ({getattr(e, 'strerror', None) or e})")

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind((ip, port))
    except OSError as e:
        server.close()
        fail(f"Error: could not bind {ip}:{port} ({e.strerror})")
    server.listen()
    say(f"Socket is listening in address {ip} and port {port} ...")

    clients = 0
    try:
        while True:
            conn, (peer_ip, peer_port) = server.accept()
            clients += 1
            say(f"Connected to Client {clients}, calling from: {peer_ip}:{peer_port}")
            worker = threading.Thread(target=handle_client, args=(conn, clients), daemon=True)
            say(f"Thread Number: {clients}")
            worker.start()
    except KeyboardInterrupt:
        output_lock.acquire()  # no thread may print after this line
        print("Caught keyboard interrupt, exiting", flush=True)
    except OSError as e:
        fail(f"Error: {e.strerror or e}")
    finally:
        server.close()


if __name__ == "__main__":
    main()
