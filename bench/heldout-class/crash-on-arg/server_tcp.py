import socket
import sys
import _thread

host = sys.argv[1]
port = int(sys.argv[2])

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, port))
server.listen(5)
print('Socket is listening in address', host, 'and port', port, '...')


def client_thread(conn, n):
    conn.send('Server is working:'.encode())
    while True:
        data = conn.recv(2048)
        if not data:
            break
        msg = data.decode()
        conn.sendall(('Server message: I received ' + str(len(msg)) + ' chars: ' + msg).encode())
    print('Bye bye Client ' + str(n) + '!')
    conn.close()


count = 0
try:
    while True:
        conn, addr = server.accept()
        count = count + 1
        print('Connected to Client ' + str(count) + ', calling from: ' + addr[0] + ':' + str(addr[1]))
        _thread.start_new_thread(client_thread, (conn, count))
        print('Thread Number: ' + str(count))
except KeyboardInterrupt:
    print('Caught keyboard interrupt, exiting')
server.close()
