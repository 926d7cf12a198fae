import socket
import sys
from _thread import start_new_thread

if len(sys.argv) != 3:
    print("Usage: server_tcp.py <local address> <port>")
    sys.exit(1)

host = sys.argv[1]
port = int(sys.argv[2])
ThreadCount = 0

ServerSocket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ServerSocket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ServerSocket.bind((host, port))
ServerSocket.listen(5)
print(f'Socket is listening in address {host} and port {port} ...')


def threaded_client(connection, number):
    connection.send(str.encode('Server is working:'))
    data = connection.recv(2048)
    if data:
        message = data.decode('utf-8')
        reply = f'Server message: I received {len(message)} chars: {message}'
        connection.sendall(str.encode(reply))
    connection.close()
    print(f'Bye bye Client {number}!')


try:
    while True:
        Client, address = ServerSocket.accept()
        ThreadCount += 1
        print(f'Connected to Client {ThreadCount}, calling from: {address[0]}:{address[1]}')
        start_new_thread(threaded_client, (Client, ThreadCount))
        print(f'Thread Number: {ThreadCount}')
except KeyboardInterrupt:
    print('Caught keyboard interrupt, exiting')
ServerSocket.close()
