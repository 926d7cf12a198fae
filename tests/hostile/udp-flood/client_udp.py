"""A UDP client that floods the server for 3 s (hundreds of thousands of datagrams): the capture stops at its
limit, and the capture checks fail saying why; the run is a FAIL of its own, not an error of the lab."""
import socket
import sys
import time

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
address = (socket.gethostbyname(sys.argv[1]), int(sys.argv[2]))
end = time.monotonic() + 3
while time.monotonic() < end:
    try:
        s.sendto(b"x" * 64, address)
    except OSError:
        pass
