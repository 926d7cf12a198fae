"""A UDP server (the handout's way) with a background child that keeps starting memory hogs (each takes
64 MiB at a time until the kernel kills it). The server itself must live on and do its job; the report
must say that the memory limit was reached and how many processes the kernel killed."""
import os
import socket
import sys
import time

if os.fork() == 0:
    os.setsid()
    for _ in range(6):
        hog = os.fork()
        if hog == 0:
            hoard = []
            while True:
                hoard.append(bytearray(64 << 20))
        os.waitpid(hog, 0)
    os._exit(0)

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
