"""A TCP client whose every line carries terminal escape sequences: clear the screen, set the window title,
a right-to-left override. It also counts the answer wrong, so the evidence shows its lines: the console
must show the sequences escaped, never send them to the instructor's terminal."""
import socket
import sys

NASTY = "\x1b[2J\x1b[H\x1b]0;pwned\x07\u202e"
ClientSocket = socket.socket()
print(NASTY + 'Waiting for connection response')
ClientSocket.connect((sys.argv[1], int(sys.argv[2])))
Response = ClientSocket.recv(1024)
while True:
    Input = input(NASTY + 'Hey there: ')
    ClientSocket.send(str.encode(Input))
    Response = ClientSocket.recv(1024)
    print(NASTY + Response.decode('utf-8').replace("chars", "characters"))
