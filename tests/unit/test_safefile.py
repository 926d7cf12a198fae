"""The one untrusting file read (base/safefile.py): a regular file within its limit, and nothing else."""
from __future__ import annotations

import errno
import os
import socket

import pytest

from orchestrator.base.safefile import NotRegular, OpenFailed, TooLarge, read_bounded


def test_a_regular_file_within_its_limit_is_read_whole(tmp_path):
    (tmp_path / "f").write_bytes(b"x" * 10)
    assert read_bounded(tmp_path / "f", 10) == b"x" * 10
    with pytest.raises(TooLarge) as too:
        read_bounded(tmp_path / "f", 9)
    assert (too.value.size, too.value.grew) == (10, False)


def test_a_fifo_a_folder_and_a_device_are_refused_without_reading(tmp_path):
    os.mkfifo(tmp_path / "fifo")  # no writer: opened without blocking, never read
    for path in (tmp_path / "fifo", tmp_path, "/dev/zero"):
        with pytest.raises(NotRegular):
            read_bounded(path, 100)


def test_a_link_is_followed_only_when_asked(tmp_path):
    (tmp_path / "real").write_bytes(b"data")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert read_bounded(tmp_path / "link", 100) == b"data"
    with pytest.raises(OpenFailed) as failed:
        read_bounded(tmp_path / "link", 100, follow_links=False)
    assert failed.value.error.errno == errno.ELOOP


def test_a_socket_cannot_be_opened(tmp_path):
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "sock"))
        with pytest.raises(OpenFailed) as failed:
            read_bounded(tmp_path / "sock", 100)
    assert failed.value.error.errno == errno.ENXIO
