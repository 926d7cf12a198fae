import socket
import sys

ClientSocket = socket.socket()
host = sys.argv[1]
port = int(sys.argv[2])

print('Waiting for connection response')
try:
    ClientSocket.connect((host, port))
except socket.error as e:
    print(str(e))

res = ClientSocket.recv(1024)
while True:
    Input = input('Hey there: ')
    if Input == 'exit':
        break
    ClientSocket.send(str.encode(Input))
    res = ClientSocket.recv(1024)
    print(res.decode('utf-8'))

ClientSocket.close()
