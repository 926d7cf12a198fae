import socket
import sys

localIP = sys.argv[1]
localPort = int(sys.argv[2])
bufferSize = 1024

UDPServerSocket = socket.socket(family=socket.AF_INET, type=socket.SOCK_DGRAM)
UDPServerSocket.bind((localIP, localPort))
print('Socket is listening in address ' + localIP + ' and port ' + str(localPort) + ' ...')

count = 0
try:
    while True:
        bytesAddressPair = UDPServerSocket.recvfrom(bufferSize)
        message = bytesAddressPair[0]
        address = bytesAddressPair[1]
        count += 1
        print('Received message "' + message.decode('utf-8') + '" from Client ' + str(count)
              + ', calling from: ' + address[0] + ':' + str(address[1]))
except KeyboardInterrupt:
    print('Caught keyboard interrupt, exiting')
UDPServerSocket.close()
