"""A TCP client that scans ports 1-1024 of the server before doing its job (the handout's client, which
loops until Ctrl-C): ~2,000 more packets; the capture holds them all and the checks judge them."""
import socket
import sys

host = socket.gethostbyname(sys.argv[1])
for port in range(1, 1025):
    probe = socket.socket()
    probe.settimeout(0.5)
    try:
        probe.connect((host, port))
    except OSError:
        pass
    finally:
        probe.close()

ClientSocket = socket.socket()
print('Waiting for connection response')
ClientSocket.connect((sys.argv[1], int(sys.argv[2])))
Response = ClientSocket.recv(1024)
while True:
    Input = input('Hey there: ')
    ClientSocket.send(str.encode(Input))
    Response = ClientSocket.recv(1024)
    print(Response.decode('utf-8'))
