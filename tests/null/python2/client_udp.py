import socket, sys
print "client_udp: this is Python 2"
