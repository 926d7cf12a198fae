"""A UDP client that sends its datagram 3,000 times (a loop gone wrong): the capture must keep up (6,000
datagrams in a run), and the checks judge the counts: a FAIL of its own, not an error of the lab."""
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
address = (socket.gethostbyname(sys.argv[1]), int(sys.argv[2]))
for _ in range(3000):
    s.sendto(sys.argv[3].encode(), address)
