"""Networks course, sockets assignment -- UDP server: prints each datagram it receives.

Rui Pinto, group 3.
"""
import socket
import sys


def die(what):
    print(what, file=sys.stderr, flush=True)
    sys.exit(1)


def port_from(what):
    if not (what.isascii() and what.isdigit()) or not 1 <= int(what) <= 65535:
        die(f"Error: '{what}' is not a valid port (1 to 65535)")
    return int(what)


def run():
    if len(sys.argv) != 3:
        die("usage: python3 server_udp.py <local address> <port>")
    portno = port_from(sys.argv[2])
    try:
        address = socket.gethostbyname(sys.argv[1])
    except (OSError, UnicodeError) as err:
        die(f"Error: unknown address '{sys.argv[1]}' ({getattr(err, 'strerror', None) or err})")

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((address, portno))
    except OSError as err:
        s.close()
        die(f"Error: could not bind {address}:{portno} ({err.strerror})")
    print(f"Socket is listening in address {address} and port {portno} ...", flush=True)

    n = 0
    try:
        while True:
            packet, (their_ip, their_port) = s.recvfrom(65535)
            n += 1
            what = packet.decode(errors="replace")
            print(f'Received message "{what}" from Client {n}, calling from: {their_ip}:{their_port}',
                  flush=True)
    except KeyboardInterrupt:
        print("Caught keyboard interrupt, exiting", flush=True)
    except OSError as err:
        die(f"Error: {err.strerror or err}")
    finally:
        s.close()


if __name__ == "__main__":
    run()
