import argparse
import socket


def main():
    parser = argparse.ArgumentParser(usage='%(prog)s <host server> <port> <message>',
                                     description='UDP client')
    parser.add_argument('host', help='server host')
    parser.add_argument('port', type=int, help='server port')
    parser.add_argument('message', help='message to send')
    args = parser.parse_args()

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(args.message.encode('utf-8'), (args.host, args.port))


if __name__ == '__main__':
    main()
