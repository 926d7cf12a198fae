import socket
import sys

serverAddressPort = (sys.argv[1], int(sys.argv[2]))
msgFromClient = sys.argv[3]
bytesToSend = str.encode(msgFromClient)

UDPClientSocket = socket.socket(family=socket.AF_INET, type=socket.SOCK_DGRAM)
UDPClientSocket.connect(serverAddressPort)
UDPClientSocket.send(bytesToSend)
UDPClientSocket.close()
