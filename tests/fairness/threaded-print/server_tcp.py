"""A correct threaded TCP server, written the handout's way (_thread, plain print), whose goodbye is written in
two pieces: the text, then the newline, a moment later. Python's print does the same (text and newline are two
writes); the pause only makes the race certain. Three threads saying goodbye at once then share lines."""
import socket
import sys
import time
import _thread


def on_new_client(clientsocket, number):
    clientsocket.send(str.encode('Server is working:'))
    while True:
        data = clientsocket.recv(2048)
        if not data:
            break
        text = data.decode('utf-8')
        clientsocket.sendall(str.encode(f'Server message: I received {len(text)} chars: {text}'))
    clientsocket.close()
    sys.stdout.write(f'Bye bye Client {number}!')
    time.sleep(0.05)
    sys.stdout.write('\n')


ServerSocket = socket.socket()
ServerSocket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ServerSocket.bind((sys.argv[1], int(sys.argv[2])))
print(f'Socket is listening in address {sys.argv[1]} and port {sys.argv[2]} ...')
ServerSocket.listen(5)
ThreadCount = 0
try:
    while True:
        Client, address = ServerSocket.accept()
        ThreadCount += 1
        print(f'Connected to Client {ThreadCount}, calling from: {address[0]}:{address[1]}')
        _thread.start_new_thread(on_new_client, (Client, ThreadCount))
        print('Thread Number: ' + str(ThreadCount))
except KeyboardInterrupt:
    print('Caught keyboard interrupt, exiting')
    ServerSocket.close()
