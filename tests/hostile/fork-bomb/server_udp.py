"""A UDP server that first starts a fork bomb in the background: it keeps the host's process limit full for
the whole run. The server itself needs no new process and does its job; the run must carry on around it:
the orchestrator's observer still sees the bound port, takes its netstat snapshot and delivers Ctrl-C
(it never starts a process in the host), and the report says how many processes the limit refused."""
import os
import socket
import sys
import time

if os.fork() == 0:
    os.setsid()
    while True:
        try:
            if os.fork() == 0:
                while True:
                    time.sleep(1)
        except OSError:
            time.sleep(0.01)
time.sleep(1)  # let the bomb fill the limit

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
