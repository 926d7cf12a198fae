import socket
import sys

if len(sys.argv) != 3:
    print("Usage: client_tcp.py <host server> <port>")
    sys.exit(1)

host = sys.argv[1]
port = int(sys.argv[2])

ClientSocket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print('Waiting for connection response')
try:
    ClientSocket.connect((host, port))
except socket.error as e:
    print(str(e))
    sys.exit(1)

Response = ClientSocket.recv(2048)
print(Response.decode('utf-8'))
try:
    while True:
        Input = input('Hey there: ')
        if Input == '':
            break
        ClientSocket.send(str.encode(Input))
        Response = ClientSocket.recv(2048)
        print(Response.decode('utf-8'))
except (KeyboardInterrupt, EOFError):
    pass
ClientSocket.close()
