import socket, sys
print "client_tcp: this is Python 2"
