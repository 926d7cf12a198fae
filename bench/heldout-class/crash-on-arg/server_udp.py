import socket
import sys

host = sys.argv[1]
port = int(sys.argv[2])

server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind((host, port))
print('Socket is listening in address', host, 'and port', port, '...')

count = 0
try:
    while True:
        data, addr = server.recvfrom(2048)
        count = count + 1
        print('Received message "' + data.decode() + '" from Client', count,
              end='')
        print(', calling from: ' + addr[0] + ':' + str(addr[1]))
except KeyboardInterrupt:
    print('Caught keyboard interrupt, exiting')
server.close()
