"""A UDP server that ignores SIGTERM: the scenario's stop step must end it with SIGKILL, and the report
must say so."""
import signal
import socket
import sys

signal.signal(signal.SIGTERM, signal.SIG_IGN)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print(f"Socket is listening in address {sys.argv[1]} and port {sys.argv[2]} ...")
while True:
    s.recvfrom(65535)
