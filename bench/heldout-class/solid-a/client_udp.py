import socket
import sys

if len(sys.argv) != 4:
    print("Usage: client_udp.py <host server> <port> <message>")
    sys.exit(1)

HOST = sys.argv[1]
PORT = int(sys.argv[2])
MESSAGE = sys.argv[3]

ClientSocket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
ClientSocket.sendto(str.encode(MESSAGE), (HOST, PORT))
ClientSocket.close()
