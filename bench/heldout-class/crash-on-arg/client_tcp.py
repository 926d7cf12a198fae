import socket
import sys

host = sys.argv[1]
port = int(sys.argv[2])

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print('Waiting for connection response')
client.connect((host, port))
print(client.recv(2048).decode())

try:
    while True:
        line = input('Hey there: ')
        if line == '':
            break
        client.send(line.encode())
        print(client.recv(2048).decode())
except (KeyboardInterrupt, EOFError):
    pass
client.close()
