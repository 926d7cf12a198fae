# Marta Reis - Sockets lab, Figure 3: threaded TCP server
# python3 server_tcp.py <local address> <port>
#
# socketserver does the accept loop and starts a thread for every client
# (ThreadingTCPServer); my handler greets the client and counts what it sends.

import socket
import socketserver
import sys
import threading

print_lock = threading.Lock()


def show(line):
    with print_lock:
        print(line, flush=True)


class ClientHandler(socketserver.BaseRequestHandler):
    def handle(self):
        # client_address is ((ip, port), client number): see LabServer.process_request
        number = self.client_address[1]
        pending = b""
        try:
            self.request.sendall(b"Server is working:")
            while True:
                chunk = self.request.recv(1024)
                if not chunk:
                    break
                pending += chunk
                try:
                    text = pending.decode("utf-8")
                except UnicodeDecodeError as problem:
                    if problem.reason == "unexpected end of data":
                        continue  # half a character: wait for the rest of it
                    text = pending.decode("utf-8", "replace")
                pending = b""
                self.request.sendall(f"Server message: I received {len(text)} chars: {text}".encode("utf-8"))
        except OSError:
            pass
        show(f"Bye bye Client {number}!")


class LabServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True  # Ctrl-C must not wait for connected clients

    def __init__(self, address):
        super().__init__(address, ClientHandler)
        self.clients = 0

    def process_request(self, request, client_address):
        # runs in the main thread, once per accepted connection
        self.clients += 1
        ip, port = client_address
        show(f"Connected to Client {self.clients}, calling from: {ip}:{port}")
        super().process_request(request, (client_address, self.clients))  # starts the thread
        show(f"Thread Number: {self.clients}")


def main():
    if len(sys.argv) != 3:
        print("usage: python3 server_tcp.py <local address> <port>", file=sys.stderr)
        return 1
    try:
        ip = socket.gethostbyname(sys.argv[1])
        port = int(sys.argv[2])
        if port < 1 or port > 65535:
            raise ValueError("the port must be from 1 to 65535")
    except (OSError, UnicodeError, ValueError) as problem:
        print(f"Error: {problem}", file=sys.stderr)
        return 1
    try:
        server = LabServer((ip, port))
    except OSError as problem:
        print(f"Error: cannot listen on {ip}:{port}: {problem.strerror}", file=sys.stderr)
        return 1
    with server:
        show(f"Socket is listening in address {ip} and port {port} ...")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print_lock.acquire()
            print("Caught keyboard interrupt, exiting", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
