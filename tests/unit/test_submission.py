"""A submission's folder is read without trusting it (issue 7): links are not followed, FIFOs, devices and
folders are refused without blocking, sizes are capped; each refusal names the file and says why."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from orchestrator.errors import EXIT_INVALID_INPUT, InvalidInput
from orchestrator.submission import FILE_LIMIT, read_programs


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    sub = tmp_path / "student"
    sub.mkdir()
    (sub / "server_tcp.py").write_text("print('mine')\n")
    (sub / "notes.txt").write_text("not a program: ignored\n")
    return sub


@pytest.fixture(autouse=True)
def never_hang():
    """A read that blocks (a FIFO opened without O_NONBLOCK) fails the test after 5 s instead of hanging."""
    def timeout(signum, frame):
        raise TimeoutError("reading the submission blocked")
    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def refusal(folder: Path) -> str:
    with pytest.raises(InvalidInput) as caught:
        read_programs(folder)
    assert caught.value.exit_code == EXIT_INVALID_INPUT
    return str(caught.value)


def test_the_py_files_are_read(folder):
    assert read_programs(folder) == {"server_tcp.py": b"print('mine')\n"}


def test_a_symlink_to_a_host_file_is_not_followed(folder, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("the instructor's private key\n")
    (folder / "leak.py").symlink_to(secret)
    assert refusal(folder) == (f"{folder}/leak.py: is a symbolic link (to {secret}); a submission's files are "
                               "read as they are, links are not followed: put the program itself there")


def test_a_symlink_to_a_folder_or_a_dangling_one_is_refused_too(folder):
    (folder / "client_tcp.py").symlink_to("/nonexistent/file")
    assert "client_tcp.py: is a symbolic link (to /nonexistent/file)" in refusal(folder)


def test_a_fifo_named_like_a_program_is_refused_without_blocking(folder):
    os.mkfifo(folder / "server_udp.py")
    assert refusal(folder) == f"{folder}/server_udp.py: is a FIFO, not a program file"


def test_a_folder_named_like_a_program_is_refused(folder):
    (folder / "client_udp.py").mkdir()
    assert refusal(folder) == f"{folder}/client_udp.py: is a folder, not a program file"


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_a_device_named_like_a_program_is_refused(folder):
    os.mknod(folder / "server_udp.py", 0o600 | 0o020000, os.makedev(1, 5))  # like /dev/zero
    assert refusal(folder) == f"{folder}/server_udp.py: is a character device, not a program file"


def test_an_oversized_file_is_refused(folder):
    (folder / "client_tcp.py").write_bytes(b"#" * (FILE_LIMIT + 1))
    assert refusal(folder) == (f"{folder}/client_tcp.py: is {FILE_LIMIT + 1:,} bytes; a program file may be "
                               f"at most {FILE_LIMIT:,}")


def test_a_name_python_could_not_run_is_refused(folder):
    (folder / "bad\x1b[2Jname.py").write_text("x = 1\n")
    assert refusal(folder) == (f"{folder}: 'bad\\x1b[2Jname.py' is not a program's name: letters, digits and "
                               "'_' (not a digit first), then .py, as Python imports it")


def test_the_folder_itself_must_be_a_folder_of_programs(tmp_path):
    assert refusal(tmp_path / "missing").startswith(f"--programs {tmp_path}/missing: No such file or directory")
    (tmp_path / "file").write_text("x")
    assert refusal(tmp_path / "file") == (f"--programs {tmp_path}/file: is a file; expected a folder with .py "
                                          "files (e.g. server_tcp.py)")
    (tmp_path / "empty").mkdir()
    assert refusal(tmp_path / "empty") == (f"--programs {tmp_path}/empty: expected a folder with .py files "
                                           "(e.g. server_tcp.py)")


def test_a_socket_named_like_a_program_is_refused(folder):
    import socket
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "server_udp.py"))
    try:
        assert refusal(folder) == f"{folder}/server_udp.py: is a socket, not a program file"
    finally:
        sock.close()
