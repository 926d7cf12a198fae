"""Docker's multiplexed exec stream read from a socket (lab/execstream.py), over a socketpair."""
from __future__ import annotations

import socket
import threading

from orchestrator.lab.execstream import frames, read_some


def frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def test_frames_come_first_from_what_was_read_early_then_from_the_socket_in_any_cut():
    """A frame may be split anywhere: between the bytes read with the exec start's answer and the socket,
    and across the socket's reads. Every frame comes out whole, in order, and the stream ends at EOF."""
    ours, theirs = socket.socketpair()
    stream = frame(2, b"pid 42\n") + frame(1, b"hello\n") + frame(1, b"x" * 200_000) + frame(2, b"bye\n")
    early, rest = stream[:11], stream[11:]

    def write() -> None:
        for i in range(0, len(rest), 7_001):
            theirs.sendall(rest[i:i + 7_001])
        theirs.close()

    writer = threading.Thread(target=write)
    writer.start()
    got = list(frames(early, ours))
    writer.join()
    ours.close()
    assert got == [(2, b"pid 42\n"), (1, b"hello\n"), (1, b"x" * 200_000), (2, b"bye\n")]


def test_a_stream_cut_mid_frame_gives_what_came_and_ends():
    ours, theirs = socket.socketpair()
    theirs.sendall(frame(1, b"whole\n") + frame(1, b"cut short")[:12])
    theirs.close()
    assert list(frames(b"", ours)) == [(1, b"whole\n"), (1, b"cut ")]
    ours.close()


def test_read_some_waits_on_a_non_blocking_socket_instead_of_ending_the_stream():
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    timer = threading.Timer(0.2, lambda: theirs.sendall(b"late"))
    timer.start()
    assert read_some(ours, 100) == b"late"
    timer.join()
    theirs.close()
    assert read_some(ours, 100) == b""
    ours.close()
