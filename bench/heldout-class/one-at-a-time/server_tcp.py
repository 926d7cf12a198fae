import socket
import sys

if len(sys.argv) != 3:
    print("Usage: server_tcp.py <local address> <port>")
    sys.exit(1)

host = sys.argv[1]
port = int(sys.argv[2])
ClientCount = 0

ServerSocket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ServerSocket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ServerSocket.bind((host, port))
ServerSocket.listen(5)
print('Socket is listening in address ' + host + ' and port ' + str(port) + ' ...')


def handle_client(connection, number):
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
        ClientCount += 1
        print('Connected to Client ' + str(ClientCount) + ', calling from: '
              + address[0] + ':' + str(address[1]))
        print('Thread Number: ' + str(ClientCount))
        # couldn't get the threads to work, so each client is served here
        handle_client(Client, ClientCount)
except KeyboardInterrupt:
    print('Caught keyboard interrupt, exiting')
ServerSocket.close()
