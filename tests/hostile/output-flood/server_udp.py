"""A UDP server that prints 3 MB of noise before it starts: the orchestrator keeps the first 1 MiB, says the
output was cut, and stays responsive."""
import socket
import sys

for i in range(30_000):
    print(f"noise {i:06d} " + "=" * 90)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print(f"Socket is listening in address {sys.argv[1]} and port {sys.argv[2]} ...")
n = 0
try:
    while True:
        data, (ip, port) = s.recvfrom(65535)
        n += 1
        print(f'Received message "{data.decode()}" from Client {n}, calling from: {ip}:{port}')
except KeyboardInterrupt:
    print("Caught keyboard interrupt, exiting")
