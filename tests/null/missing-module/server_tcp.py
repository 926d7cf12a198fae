import socket
import colorama

colorama.init()
print("never reached")
