import socket
import sys

if len(sys.argv) != 3:
    print("Usage: server_udp.py <local address> <port>")
    sys.exit(1)

HOST = sys.argv[1]
PORT = int(sys.argv[2])

ServerSocket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
ServerSocket.bind((HOST, PORT))
print('Socket is listening in address ' + HOST + ' and port ' + str(PORT) + ' ...')

ClientCount = 0
try:
    while True:
        data, address = ServerSocket.recvfrom(2048)
        ClientCount += 1
        message = data.decode('utf-8')
        print('Received message "' + message + '" from Client ' + str(ClientCount)
              + ', calling from: ' + address[0] + ':' + str(address[1]))
except KeyboardInterrupt:
    print('Caught keyboard interrupt, exiting')
ServerSocket.close()
