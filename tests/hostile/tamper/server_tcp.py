"""A threaded TCP server (the handout's way, with _thread) that first tries to break what watches it: kill
PID 1 (the container would stop), kill or trace every process that is not its own (the orchestrator's
observer), write to their /proc files. Each attempt must be refused; the server then does its job and
gets full marks: nothing it did reached the run."""
import ctypes
import os
import signal
import socket
import sys
import _thread

libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH = 16
mine = os.getpid()
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    if pid == mine:
        continue
    try:
        owner = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        continue
    if owner == os.getuid():
        continue  # its own wrapper and children
    for what, attempt in (("kill", lambda: os.kill(pid, signal.SIGKILL)),
                          ("oom_score_adj", lambda: open(f"/proc/{pid}/oom_score_adj", "w").write("1000"))):
        try:
            attempt()
            print(f"tamper: {what} {pid}: DONE", file=sys.stderr)
        except OSError as e:
            print(f"tamper: {what} {pid}: {e.strerror}", file=sys.stderr)
    if libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0:
        print(f"tamper: ptrace {pid}: DONE", file=sys.stderr)
    else:
        print(f"tamper: ptrace {pid}: {os.strerror(ctypes.get_errno())}", file=sys.stderr)


def on_new_client(clientsocket, addr, number):
    clientsocket.send(str.encode('Server is working:'))
    while True:
        data = clientsocket.recv(2048)
        if not data:
            break
        text = data.decode('utf-8')
        clientsocket.sendall(str.encode(f'Server message: I received {len(text)} chars: {text}'))
    print(f'Bye bye Client {number}!')
    clientsocket.close()


ServerSocket = socket.socket()
ServerSocket.bind((sys.argv[1], int(sys.argv[2])))
print(f'Socket is listening in address {sys.argv[1]} and port {sys.argv[2]} ...')
ServerSocket.listen(5)
ThreadCount = 0
try:
    while True:
        Client, address = ServerSocket.accept()
        ThreadCount += 1
        print(f'Connected to Client {ThreadCount}, calling from: {address[0]}:{address[1]}')
        _thread.start_new_thread(on_new_client, (Client, address, ThreadCount))
        print('Thread Number: ' + str(ThreadCount))
except KeyboardInterrupt:
    print('Caught keyboard interrupt, exiting')
    ServerSocket.close()
