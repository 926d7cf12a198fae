"""The streams of a container the Docker Engine hands over: an exec's input and its multiplexed output
(ExecSession), a leased container's input (Lease). Plain sockets: no import of the Docker SDK (engine.py,
which opens them, is the only module that has one).
"""
from __future__ import annotations

import contextlib
import io
import select
import socket
from collections.abc import Iterator
from typing import Any


def read_some(sock: Any, n: int) -> bytes:
    """At most `n` bytes from `sock`, waiting for them as long as it takes (poll, then recv: a silent
    program is waited for without the socket's timeout); b'' at its end. As the SDK's own read
    (docker.utils.socket.read), except that a recv which finds nothing after all polls again rather than
    ending the stream."""
    poll = select.poll()
    poll.register(sock, select.POLLIN | select.POLLPRI)
    while True:
        poll.poll()
        try:
            return sock.recv(n)
        except BlockingIOError:
            continue


class Lease:
    """An open attachment to a leased container's input (see Engine.lease); close() ends it."""

    def __init__(self, sock: Any):
        self._sock = sock

    def send(self, data: bytes) -> None:
        """Write `data` to the container's input (its end comes with close()). A container that has ended
        takes no more: the rest is dropped (its exit status and output say why)."""
        with contextlib.suppress(OSError):
            getattr(self._sock, "_sock", self._sock).sendall(data)

    def close(self) -> None:
        raw = getattr(self._sock, "_sock", self._sock)
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_WR)  # the end of the input now: the wrapper holding the socket may keep
        with contextlib.suppress(OSError):  # it open past close() (its own reference to the file descriptor)
            raw.close()


def buffered_output(sock: Any, raw: Any) -> bytes:
    """What of an exec's output had already arrived when its start's HTTP response was read: taken out of the
    buffer of the reader that read it, without waiting for more.

    The SDK hands over the raw socket beneath that reader (`exec_start(socket=True)`), but http.client read
    the response's headers through the reader's buffer, which takes whatever had arrived by then: when the
    program printed before our side read the headers (a loaded machine), its first output sits in that buffer
    and reading the raw socket never sees it. That was the "lost pid line" of busy gradings (8 plays of 375):
    the wrapper's first stderr line."""
    reader = getattr(getattr(getattr(getattr(sock, "_response", None), "raw", None), "_fp", None), "fp", None)
    if not isinstance(reader, io.BufferedReader) or not hasattr(raw, "setblocking"):
        return b""
    timeout = raw.gettimeout()
    raw.setblocking(False)  # peek() reads the socket once when its buffer is empty: let that read find nothing
    try:
        buffered = reader.peek()
    except OSError:
        buffered = b""
    finally:
        raw.settimeout(timeout)
    return reader.read(len(buffered)) if buffered else b""


def frames(early: bytes, sock: Any) -> Iterator[tuple[int, bytes]]:
    """Docker's multiplexed stream (an 8-byte header: stream number, 3 zero bytes, big-endian length; then
    the data): first from `early` (see buffered_output), then from the socket (read_some). The SDK's
    frames_iter reads only the socket."""
    buf, at = bytearray(early), 0  # what has been read, and how much of it the frames have used

    def take(n: int) -> bytes:
        nonlocal buf, at
        while len(buf) - at < n:
            if at:  # (drop what was used before reading more: the buffer stays about one read long)
                del buf[:at]
                at = 0
            chunk = read_some(sock, 1 << 16)
            if not chunk:
                break
            buf += chunk
        out = bytes(buf[at:at + n])
        at += len(out)
        return out

    while True:
        header = take(8)
        if len(header) < 8:
            return
        size = int.from_bytes(header[4:], "big")
        data = take(size)
        if data:
            yield header[0], data
        if len(data) < size:
            return


class ExecSession:
    """A process started with `docker exec -i`: write to its stdin, read its demultiplexed output."""

    def __init__(self, exec_id: str, sock: Any):
        self.exec_id = exec_id
        # docker-py's wrapper holds the HTTP response that owns the connection: should the response be
        # garbage-collected, urllib3 closes its connection, our socket, at a moment the collector chooses
        # (seen: an observer "gone" with EBADF in a run whose program printed a lot). Keep it while we
        # use the raw socket beneath it.
        self._wrapper = sock
        self._sock = getattr(sock, "_sock", sock)
        self._early = buffered_output(sock, self._sock)

    def write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """(stream, data) frames until the process ends: stream 1 is stdout, 2 is stderr."""
        return frames(self._early, self._sock)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()


__all__ = ["ExecSession", "Lease", "buffered_output", "frames", "read_some"]
