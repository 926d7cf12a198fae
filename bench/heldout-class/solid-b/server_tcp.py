import argparse
import socket
import threading

counter_lock = threading.Lock()
client_count = 0


def handle_client(conn, number):
    with conn:
        conn.sendall('Server is working:'.encode('utf-8'))
        while True:
            data = conn.recv(4096)
            if not data:
                break
            text = data.decode('utf-8')
            reply = f'Server message: I received {len(text)} chars: {text}'
            conn.sendall(reply.encode('utf-8'))
    print(f'Bye bye Client {number}!', flush=True)


def main():
    global client_count
    parser = argparse.ArgumentParser(usage='%(prog)s <local address> <port>',
                                     description='Threaded TCP server')
    parser.add_argument('address', help='local address to bind')
    parser.add_argument('port', type=int, help='port to bind')
    args = parser.parse_args()

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((args.address, args.port))
    server.listen()
    print(f'Socket is listening in address {args.address} and port {args.port} ...', flush=True)

    try:
        while True:
            conn, (ip, port) = server.accept()
            with counter_lock:
                client_count += 1
                number = client_count
            print(f'Connected to Client {number}, calling from: {ip}:{port}', flush=True)
            worker = threading.Thread(target=handle_client, args=(conn, number), daemon=True)
            worker.start()
            print(f'Thread Number: {number}', flush=True)
    except KeyboardInterrupt:
        print('Caught keyboard interrupt, exiting', flush=True)
    finally:
        server.close()


if __name__ == '__main__':
    main()
