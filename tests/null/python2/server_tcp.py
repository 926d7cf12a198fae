import socket, sys
print "server_tcp: this is Python 2"
