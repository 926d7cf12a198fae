import argparse
import socket

DEBUG = True


def main():
    parser = argparse.ArgumentParser(usage='%(prog)s <host server> <port> <message>',
                                     description='UDP client')
    parser.add_argument('host', help='server host')
    parser.add_argument('port', type=int, help='server port')
    parser.add_argument('message', help='message to send')
    args = parser.parse_args()

    payload = args.message.encode('utf-8')
    if DEBUG:
        # leftover from testing how fast the loop runs
        for i in range(2_000_000):
            print(f'debug {i}: payload={payload!r} len={len(payload)}')

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(payload, (args.host, args.port))


if __name__ == '__main__':
    main()
