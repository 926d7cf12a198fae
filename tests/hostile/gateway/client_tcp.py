"""A TCP client that first tries to reach the host through the lab network's gateway address (the first of
its /24), on the port the test listens on (PORT, written in by the test), then does its job. Nothing of the
host may answer: the bridge has no address on the host."""
import socket
import sys

PORT = 0  # the test writes its listener's port here
me = socket.gethostbyname(socket.gethostname())
gateway = me.rsplit(".", 1)[0] + ".1"
probe = socket.socket()
probe.settimeout(3)
try:
    probe.connect((gateway, PORT))
    print(f"REACHED THE HOST at {gateway}:{PORT}", file=sys.stderr)
except OSError as e:
    print(f"gateway {gateway}:{PORT}: {e}", file=sys.stderr)
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
