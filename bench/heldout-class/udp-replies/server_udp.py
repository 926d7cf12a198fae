import socket
import sys

if len(sys.argv) != 3:
    print("Usage: server_udp.py <local address> <port>")
    sys.exit(1)

HOST = sys.argv[1]
PORT = int(sys.argv[2])

UDPServerSocket = socket.socket(family=socket.AF_INET, type=socket.SOCK_DGRAM)
UDPServerSocket.bind((HOST, PORT))
print('Socket is listening in address ' + HOST + ' and port ' + str(PORT) + ' ...')

ClientCount = 0
try:
    while True:
        message, address = UDPServerSocket.recvfrom(1024)
        ClientCount += 1
        print('Received message "' + message.decode('utf-8') + '" from Client '
              + str(ClientCount) + ', calling from: ' + address[0] + ':' + str(address[1]))
        # echo it back so the client knows we got it
        UDPServerSocket.sendto(message, address)
except KeyboardInterrupt:
    print('Caught keyboard interrupt, exiting')
UDPServerSocket.close()
