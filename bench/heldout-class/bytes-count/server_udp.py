import argparse
import socket


def main():
    parser = argparse.ArgumentParser(usage='%(prog)s <local address> <port>',
                                     description='UDP server')
    parser.add_argument('address', help='local address to bind')
    parser.add_argument('port', type=int, help='port to bind')
    args = parser.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.address, args.port))
    print(f'Socket is listening in address {args.address} and port {args.port} ...', flush=True)

    n = 0
    try:
        while True:
            data, (ip, port) = sock.recvfrom(65535)
            n += 1
            text = data.decode('utf-8')
            print(f'Received message "{text}" from Client {n}, calling from: {ip}:{port}', flush=True)
    except KeyboardInterrupt:
        print('Caught keyboard interrupt, exiting', flush=True)
    finally:
        sock.close()


if __name__ == '__main__':
    main()
