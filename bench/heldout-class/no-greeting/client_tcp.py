import argparse
import socket


def main():
    parser = argparse.ArgumentParser(usage='%(prog)s <host server> <port>',
                                     description='TCP client')
    parser.add_argument('host', help='server host')
    parser.add_argument('port', type=int, help='server port')
    args = parser.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    print('Waiting for connection response', flush=True)
    sock.connect((args.host, args.port))
    greeting = sock.recv(4096).decode('utf-8')
    print(greeting, flush=True)

    try:
        while True:
            line = input('Hey there: ')
            if not line:
                break
            sock.sendall(line.encode('utf-8'))
            reply = sock.recv(4096)
            if not reply:
                break
            print(reply.decode('utf-8'), flush=True)
    except (EOFError, KeyboardInterrupt):
        print()
    finally:
        sock.close()


if __name__ == '__main__':
    main()
