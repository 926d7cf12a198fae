"""A UDP server written the handout's way, with a background child that fills every place it can write,
and keeps trying: a read-only root and size-capped tmpfs must stop it (and the lease must end it)."""
import os
import socket
import sys
import time

if os.fork() == 0:
    os.setsid()
    chunk = b"x" * (1 << 20)
    for place in ("/tmp", os.path.expanduser("~"), "/dev/shm", ".", "/opt", "/var/tmp"):
        written = 0
        try:
            with open(os.path.join(place, "filler"), "wb") as f:
                while written < (1 << 30):
                    f.write(chunk)
                    f.flush()
                    written += 1
        except OSError as e:
            print(f"disk-filler: {place}: wrote {written} MiB, then: {e}", file=sys.stderr, flush=True)
    while True:  # and keep trying, as a forgotten background job would
        for place in ("/tmp", os.path.expanduser("~")):
            try:
                with open(os.path.join(place, f"more-{time.time()}"), "wb") as f:
                    f.write(chunk)
            except OSError:
                pass
        time.sleep(0.2)

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
