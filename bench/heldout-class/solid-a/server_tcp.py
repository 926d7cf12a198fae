import socket
import sys
from _thread import *

if len(sys.argv) != 3:
    print("Usage: server_tcp.py <local address> <port>")
    sys.exit(1)

host = sys.argv[1]
port = int(sys.argv[2])
ThreadCount = 0

ServerSocket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ServerSocket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    ServerSocket.bind((host, port))
except socket.error as e:
    print(str(e))
    sys.exit(1)

ServerSocket.listen(5)
print('Socket is listening in address ' + host + ' and port ' + str(port) + ' ...')


def threaded_client(connection, number):
    connection.send(str.encode('Server is working:'))
    while True:
        data = connection.recv(2048)
        if not data:
            break
        message = data.decode('utf-8')
        reply = 'Server message: I received ' + str(len(message)) + ' chars: ' + message
        connection.sendall(str.encode(reply))
    print('Bye bye Client ' + str(number) + '!')
    connection.close()


try:
    while True:
        Client, address = ServerSocket.accept()
        ThreadCount += 1
        print('Connected to Client ' + str(ThreadCount) + ', calling from: '
              + address[0] + ':' + str(address[1]))
        start_new_thread(threaded_client, (Client, ThreadCount))
        print('Thread Number: ' + str(ThreadCount))
except KeyboardInterrupt:
    print('Caught keyboard interrupt, exiting')
ServerSocket.close()
