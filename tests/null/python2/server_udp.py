import socket, sys
print "server_udp: this is Python 2"
