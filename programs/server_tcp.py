"""TCP server: greets each client, then answers every message it receives.

Usage:
    python3 server_tcp.py <local address> <port>

Example:
    python3 server_tcp.py 0.0.0.0 5000

The main thread waits for connections (accept). Each client that connects is
served by its own thread, so several clients can talk to the server at the
same time. For a client the server:
  1. sends the greeting "Server is working:";
  2. for every piece of text received (what arrives together, see
     rest_of_message), replies "Server message: I received K chars: <text>";
  3. prints "Bye bye Client N!" when the client goes away.
Stop the server with Ctrl-C.
"""

import codecs
import select
import socket
import sys
import threading

USAGE = "Usage: server_tcp.py <local address> <port>"
GREETING = "Server is working:"
BUFFER_SIZE = 4096  # the most bytes we take from the socket in one recv
TOGETHER = 0.05  # seconds: bytes that arrive closer together than this are one message

# Several threads print to the same terminal: the lock makes sure that two
# lines are never mixed together.
print_lock = threading.Lock()


def log(line):
    """Print one line on stdout, safely from any thread."""
    with print_lock:
        print(line, flush=True)


def error(message):
    """Print one error line on stderr and return the exit code for errors (1)."""
    print(message, file=sys.stderr, flush=True)
    return 1


def reason(exc):
    """The readable part of an exception, e.g. 'Address already in use'."""
    return getattr(exc, "strerror", None) or str(exc)


def parse_port(text):
    """Return the port as an int, or None if it is not a number from 1 to 65535."""
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    return None


def rest_of_message(conn):
    """What else arrives within TOGETHER seconds of the last bytes, until a pause, and whether the client
    closed the connection meanwhile. TCP is a stream: a client that sends one message with two send() calls
    (or the same message twice, by mistake) may see it arrive in one segment or two, as the timing has it.
    Taking what arrives together as one message gives such a client the same one answer every time."""
    rest = b""
    while True:
        # acknowledge at once what has arrived: a client's next small send waits for that (Nagle's algorithm)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        ready, _, _ = select.select([conn], [], [], TOGETHER)
        if not ready:
            return rest, False
        more = conn.recv(BUFFER_SIZE)
        if not more:
            return rest, True
        rest += more


def serve_client(conn, number):
    """Talk to one client (runs in its own thread) until it disconnects."""
    # TCP is a stream of bytes: a character of several bytes (like "á" or an
    # emoji) may arrive split over two recv calls. An incremental decoder keeps
    # the incomplete bytes until the rest of the character arrives.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    try:
        conn.sendall(GREETING.encode("utf-8"))
        while True:
            data = conn.recv(BUFFER_SIZE)
            if not data:  # b"" means the client closed the connection
                break
            rest, closed = rest_of_message(conn)
            text = decoder.decode(data + rest)
            if text:  # (only part of a character arrived: wait for the rest)
                # len(text) counts characters, not bytes: "olá" is 3.
                reply = f"Server message: I received {len(text)} chars: {text}"
                conn.sendall(reply.encode("utf-8"))
            if closed:
                break
    except OSError:
        pass  # e.g. "Connection reset by peer": the client is gone as well
    finally:
        conn.close()
    log(f"Bye bye Client {number}!")


def main(argv):
    if len(argv) != 3:
        return error(USAGE)
    host, port_text = argv[1], argv[2]
    port = parse_port(port_text)
    if port is None:
        return error(f"Error: port must be a number from 1 to 65535, got '{port_text}'")

    # Turn a name such as 'localhost' into an IPv4 address such as '127.0.0.1'.
    try:
        address = socket.gethostbyname(host)
    except (OSError, UnicodeError) as exc:
        return error(f"Error: cannot resolve host '{host}': {reason(exc)}")

    # AF_INET = IPv4, SOCK_STREAM = TCP.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Allow restarting the server at once on the same port, without waiting
    # for the connections of the previous run to time out (TIME_WAIT).
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        try:
            listener.bind((address, port))
        except OSError as exc:
            return error(f"Error: cannot bind to {address}:{port}: {reason(exc)}")
        listener.listen(5)  # up to 5 clients may wait to be accepted
        log(f"Socket is listening in address {address} and port {port} ...")

        clients = 0
        while True:
            conn, (client_ip, client_port) = listener.accept()
            clients += 1
            log(f"Connected to Client {clients}, calling from: {client_ip}:{client_port}")
            # One thread per client. A daemon thread does not keep the program
            # alive: on Ctrl-C the server exits even if clients are connected.
            thread = threading.Thread(target=serve_client, args=(conn, clients),
                                      name=f"client-{clients}", daemon=True)
            log(f"Thread Number: {clients}")  # threads started so far, this one included
            thread.start()
    except KeyboardInterrupt:  # Ctrl-C
        # Keep the print lock for good: no client thread can then be half-way
        # through printing a line while Python shuts down.
        print_lock.acquire()
        print("Caught keyboard interrupt, exiting", flush=True)
        return 0
    except OSError as exc:
        return error(f"Error: {reason(exc)}")
    finally:
        listener.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
