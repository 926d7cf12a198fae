# Marta Reis - Sockets lab, Figure 4: UDP server
# python3 server_udp.py <local address> <port>

import socket
import socketserver
import sys


class DatagramHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data = self.request[0]  # (the bytes, the server's socket)
        self.server.received += 1
        ip, port = self.client_address
        print(f'Received message "{data.decode("utf-8", "replace")}" from Client {self.server.received}, '
              f"calling from: {ip}:{port}", flush=True)


class LabServer(socketserver.UDPServer):
    max_packet_size = 65535  # UDPServer reads only 8192 bytes of a datagram by default

    def __init__(self, address):
        super().__init__(address, DatagramHandler)
        self.received = 0


def main():
    if len(sys.argv) != 3:
        print("usage: python3 server_udp.py <local address> <port>", file=sys.stderr)
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
        print(f"Error: cannot bind {ip}:{port}: {problem.strerror}", file=sys.stderr)
        return 1
    with server:
        print(f"Socket is listening in address {ip} and port {port} ...", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("Caught keyboard interrupt, exiting", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
