import socket
import sys

host = sys.argv[1]
port = int(sys.argv[2])
message = sys.argv[3]

client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client.sendto(message.encode(), (host, port))
client.close()
