"""A submission's folder is read without trusting it (issue 7): links are not followed, FIFOs, devices and
folders are refused without blocking, sizes are capped; each refusal names the file and says why. A class
folder's submissions (issue 8) are found and read the same way, folders and zips, without trusting them."""
from __future__ import annotations

import hashlib
import io
import os
import signal
import stat
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from orchestrator.grade import archives, reading, submission
from orchestrator.base.errors import EXIT_INVALID_INPUT, InvalidInput
from orchestrator.grade.reading import ASSIGNMENT, FILE_LIMIT, FILES_LIMIT, MEMBERS_LIMIT, UNZIPPED_LIMIT, ZIP_LIMIT
from orchestrator.grade.submission import Submission, discover, read_programs, read_submission
from tests.support.entries import PROGRAMS, one, put, under, zipped


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


# ---- a class folder (issue 8): discover and read_submission --------------------------------------------
@pytest.fixture
def klass(tmp_path: Path) -> Path:
    d = tmp_path / "class"
    d.mkdir()
    return d


def test_a_class_of_folders_and_zips(klass):
    put(klass / "alice", {**PROGRAMS, "common.py": b"X = 1\n", "notes.txt": b"my report\n"})
    zipped(klass / "bob.zip", under("bob/", PROGRAMS))  # platforms wrap a zip's files in one folder
    zipped(klass / "Carol.ZIP", PROGRAMS)  # or not; .zip in any case
    subs = discover(klass)
    assert [(s.name, Path(s.path).name) for s in subs] == [("alice", "alice"), ("bob", "bob.zip"),
                                                           ("Carol", "Carol.ZIP")]
    assert subs[0].files == {**PROGRAMS, "common.py": b"X = 1\n"}
    for s in subs:
        assert s.error is None and s.problems == {} and s.notes == ()
    assert subs[1].files == subs[2].files == PROGRAMS
    assert subs[1].digest() == subs[2].digest() != subs[0].digest()  # the same files, however handed in


def test_hashes_and_digest(klass):
    sub = one(put(klass / "alice", PROGRAMS))
    assert sub.hashes() == {name: hashlib.sha256(content).hexdigest() for name, content in PROGRAMS.items()}
    moved = Submission("x", "x", {"server_udp.py": b"", "client_udp.py": PROGRAMS["server_udp.py"]}, {}, None, ())
    swapped = Submission("x", "x", {"server_udp.py": PROGRAMS["server_udp.py"], "client_udp.py": b""}, {}, None, ())
    assert moved.digest() != swapped.digest()  # names and contents are not run together
    assert Submission("x", "x", {"ab.py": b"c"}).digest() != Submission("x", "x", {"a.py": b"bc"}).digest()


def test_programs_two_folders_deep_in_a_zip_and_not_deeper(klass):
    sub = one(zipped(klass / "dave.zip", {**under("dave/lab1/", PROGRAMS), "dave/lab1/util.py": b"Y = 2\n",
                                          "dave/readme.txt": b"hi\n"}))
    assert sub.files == {**PROGRAMS, "util.py": b"Y = 2\n"} and sub.problems == {} and sub.error is None
    deep = one(zipped(klass / "erin.zip", {**under("erin/lab1/", PROGRAMS), "erin/lab1/src/server_tcp.py": b"x\n"}))
    assert deep.files == PROGRAMS  # the deeper one is not a second candidate: it is not looked at
    assert deep.notes == ("erin/lab1/src/server_tcp.py was not looked at: it is 3 folders deep; programs are looked "
                          "for at most 2 folders deep",)


def test_programs_two_folders_deep_in_a_folder(klass):
    sub = one(put(klass / "frank", {**under("a/b/", PROGRAMS), "a/b/c/helper.py": b"", "a/b/c/d/x.py": b""}))
    assert sub.files == PROGRAMS and sub.problems == {}


def test_names_count_in_any_case(klass):
    files = {"Server_TCP.py": PROGRAMS["server_tcp.py"], "CLIENT_TCP.PY": PROGRAMS["client_tcp.py"],
             "server_udp.py": PROGRAMS["server_udp.py"], "lab/Client_Udp.py": PROGRAMS["client_udp.py"]}
    for sub in one(put(klass / "gina", files)), one(zipped(klass / "hugo.zip", files)):
        assert sub.files == PROGRAMS and sub.problems == {}
        assert set(sub.notes) == {"found Server_TCP.py as server_tcp.py", "found CLIENT_TCP.PY as client_tcp.py",
                                  "found lab/Client_Udp.py as client_udp.py",
                                  "the programs come from different folders (the top and lab); they run side by "
                                  "side, in one folder"}


def test_a_program_missing_is_a_problem_the_others_are_used(klass):
    files = {**PROGRAMS, "server_udp (1).py": b"print(1)\n"}
    del files["server_udp.py"]
    sub = one(put(klass / "ivan", files))
    assert sub.problems == {"server_udp.py": "server_udp.py not submitted"}
    assert set(sub.files) == {"client_udp.py", "server_tcp.py", "client_tcp.py"}  # 'server_udp (1).py': no name
    assert sub.notes == ("server_udp.py not submitted, but there is server_udp (1).py: a program must be named "
                         "server_udp.py (in any case)",
                         "left out server_udp (1).py: Python could not import a module of that name (letters, "
                         "digits and '_', not a digit first, not a keyword, then .py)")
    empty = one(put(klass / "jane", {"readme.md": b"I did not do it\n"}))
    assert empty.problems == {name: f"{name} not submitted" for name in ASSIGNMENT} and empty.files == {}


def test_two_candidates_are_a_problem_naming_both(klass):
    files = {**PROGRAMS, "a/Client_TCP.py": b"one\n", "b/client_tcp.py": b"two\n"}
    del files["client_tcp.py"]
    for sub in one(put(klass / "kim", files)), one(zipped(klass / "kim.zip", files)):
        assert sub.problems == {"client_tcp.py": "two files could be client_tcp.py: a/Client_TCP.py and "
                                                 "b/client_tcp.py"}
        assert set(sub.files) == {"server_udp.py", "client_udp.py", "server_tcp.py"}
    deeper = one(put(klass / "lea", {**PROGRAMS, "old/server_tcp.py": b"old\n"}))  # different depths count too
    assert deeper.problems == {"server_tcp.py": "two files could be server_tcp.py: old/server_tcp.py and "
                                                "server_tcp.py"}
    twice = io.BytesIO()
    with zipfile.ZipFile(twice, "w") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        for name, content in [*PROGRAMS.items(), ("server_udp.py", b"again\n")]:
            archive.writestr(name, content)
    (klass / "max.zip").write_bytes(twice.getvalue())
    assert one(klass / "max.zip").problems == {
        "server_udp.py": "two files could be server_udp.py: server_udp.py and server_udp.py (the zip holds one "
                         "name more than once)"}


def test_a_binary_program_is_not_text(klass):
    sub = one(put(klass / "ned", {**PROGRAMS, "server_tcp.py": b"\x7fELF\x02\x01\x01\x00\x00"}))
    assert sub.problems == {"server_tcp.py": "server_tcp.py is not text (it holds a NUL byte)"}
    assert "server_tcp.py" not in sub.files and len(sub.files) == 3


def test_encodings_as_python_reads_them(klass):
    cookie = "# -*- coding: latin-1 -*-\nprint('olá')\n".encode("latin-1")
    bom = "\ufeffprint('olá')\n".encode("utf-8")
    sub = one(put(klass / "olga", {**PROGRAMS, "server_tcp.py": cookie, "client_tcp.py": bom}))
    assert sub.problems == {} and sub.files["server_tcp.py"] == cookie and sub.files["client_tcp.py"] == bom
    plain = one(put(klass / "paul", {**PROGRAMS, "server_tcp.py": "x = 1\nprint('olá')\n".encode("latin-1"),
                                     "client_tcp.py": b"# coding: klingon\n",
                                     "server_udp.py": b"\xef\xbb\xbfx = 1\n\n'\xff'\n",
                                     "client_udp.py": b"\xef\xbb\xbf# coding: latin-1\n"}))
    assert plain.problems == {
        "server_tcp.py": "server_tcp.py is not text in UTF-8: line 2 holds a byte (0xe1) that is not UTF-8; save it "
                         "as UTF-8, or declare its encoding on its first line (# -*- coding: latin-1 -*-)",
        "client_tcp.py": "client_tcp.py is not text Python can read (unknown encoding: klingon)",
        "server_udp.py": "server_udp.py is not text in UTF-8: line 3 holds a byte (0xff) that is not UTF-8; save it "
                         "as UTF-8, or declare its encoding on its first line (# -*- coding: latin-1 -*-)",
        "client_udp.py": ("client_udp.py is not text Python can read (it starts with UTF-8's byte order "
                          "mark but declares another encoding)")}


def test_a_symlink_in_a_folder_is_not_followed(klass, tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"the instructor's private key\n")
    folder = put(klass / "quinn", {**PROGRAMS, "lab/x": b""})
    (folder / "server_tcp.py").unlink()
    (folder / "server_tcp.py").symlink_to(secret)
    (folder / "helper.py").symlink_to(secret)
    (folder / "lab" / "deeper").symlink_to(tmp_path, target_is_directory=True)  # a link to a folder: not entered
    sub = one(folder)
    assert sub.problems == {"server_tcp.py": f"server_tcp.py is a symbolic link (to {secret}); a submission's files "
                                             "are read as they are, links are not followed: put the program itself "
                                             "there"}
    assert b"private" not in b"".join(sub.files.values()) and "helper.py" not in sub.files
    assert f"left out a helper: helper.py is a symbolic link (to {secret}); a submission's files are read as they " \
           "are, links are not followed: put the program itself there" in sub.notes


def test_a_fifo_or_a_folder_named_like_a_program_is_a_problem(klass):
    folder = put(klass / "rosa", {"server_udp.py": PROGRAMS["server_udp.py"]})
    os.mkfifo(folder / "server_tcp.py")
    (folder / "client_tcp.py").mkdir()
    sub = one(folder)
    assert sub.problems["server_tcp.py"] == "server_tcp.py is a FIFO, not a program file"
    assert sub.problems["client_tcp.py"] == "client_tcp.py is a folder, not a program file"
    assert sub.files == {"server_udp.py": PROGRAMS["server_udp.py"]}


def test_a_symlink_member_of_a_zip_is_refused(klass):
    link = zipfile.ZipInfo("sam/server_tcp.py")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(klass / "sam.zip", "w") as archive:
        for name, content in PROGRAMS.items():
            if name != "server_tcp.py":
                archive.writestr(f"sam/{name}", content)
        archive.writestr(link, "/home/instructor/.ssh/id_ed25519")
    sub = one(klass / "sam.zip")
    assert sub.problems == {"server_tcp.py": "sam/server_tcp.py is a symbolic link (in the zip); a submission's files "
                                             "are read as they are, links are not followed: put the program itself "
                                             "there"}
    assert len(sub.files) == 3 and sub.error is None


def test_a_corrupt_zip_is_the_entry_s_error(klass):
    (klass / "tom.zip").write_bytes(b"PK\x03\x04 this is not a zip at all")
    sub = one(klass / "tom.zip")
    assert sub.error.startswith("tom.zip is not a zip that can be read (File is not a zip file)")
    assert sub.files == {} and sub.problems == {}
    data = zipped(klass / "ugo.zip", PROGRAMS, zipfile.ZIP_STORED).read_bytes()
    (klass / "ugo.zip").write_bytes(data.replace(b"print('server_tcp.py')", b"print('server_tcq.py')"))
    assert one(klass / "ugo.zip").error == ("ugo.zip is damaged: server_tcp.py cannot be unzipped (Bad CRC-32 for "
                                            "file 'server_tcp.py'); zip the files again")
    central = data.rfind(b"PK\x01\x02")  # the last member's record: its flags say 'encrypted'
    flags, = struct.unpack_from("<H", data, central + 8)
    (klass / "vera.zip").write_bytes(data[:central + 8] + struct.pack("<H", flags | 1) + data[central + 10:])
    assert one(klass / "vera.zip").error == ("vera.zip is protected by a password (client_tcp.py is encrypted); hand "
                                             "it in without a password")
    method = data[:central + 10] + struct.pack("<H", 9) + data[central + 12:]  # Deflate64: no Python has it
    (klass / "walt.zip").write_bytes(method)
    error = one(klass / "walt.zip").error
    assert error.startswith("walt.zip cannot be unzipped by Python: client_tcp.py is compressed with a method it "
                            "lacks (")
    assert error.endswith("); zip the files again with your system's 'Compress' or 'zip'")


def test_an_oversized_zip_is_refused_unread(klass):
    with open(klass / "will.zip", "wb") as f:
        f.truncate(ZIP_LIMIT + 1)  # sparse: nothing written, and nothing must be read
    assert one(klass / "will.zip").error == f"will.zip is {ZIP_LIMIT + 1:,} bytes; a submission's zip may be at most " \
                                            f"{ZIP_LIMIT:,} (10 MiB)"


def test_too_many_members_or_files(klass, monkeypatch):
    zipped(klass / "xena.zip", {f"f{i}": b"" for i in range(MEMBERS_LIMIT + 1)}, zipfile.ZIP_STORED)
    assert one(klass / "xena.zip").error == ("xena.zip holds over 1,000 files and folders; a submission is a handful "
                                             "of files: leave out virtual environments, data and build output")
    # smaller limits (creating thousands of files is slow on some disks; the rule is the same)
    monkeypatch.setattr(reading, "MEMBERS_LIMIT", 10)
    monkeypatch.setattr(archives, "MEMBERS_LIMIT", 10)
    monkeypatch.setattr(archives, "RECORDS_CEILING", 80)
    folder = put(klass / "yann", {**PROGRAMS, **{f"data/{i}": b"" for i in range(6)}})
    assert one(folder).error == ("yann holds over 10 files and folders (down to 2 folders deep); a submission is a "
                                 "handful of files: leave out virtual environments, data and build output")
    zipped(klass / "many.zip", {f"{i}": b"" for i in range(81)}, zipfile.ZIP_STORED)
    listed = []
    monkeypatch.setattr(zipfile, "ZipFile", lambda *a, **k: listed.append(a))  # over 80 records: not even listed
    assert one(klass / "many.zip").error.startswith("many.zip holds over 10 files and folders") and listed == []


def zeros_zip(path: Path, name: str, size: int, declared: int | None = None) -> Path:
    """A zip holding one member of `size` zero bytes (deflated: 1,000 to 1), its header declaring `declared`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for other, content in PROGRAMS.items():
            if other != name:
                archive.writestr(other, content)
        with archive.open(name, "w") as member:
            chunk = bytes(1 << 20)
            for start in range(0, size, len(chunk)):
                member.write(chunk[:size - start])
    data = buffer.getvalue()
    if declared is not None:
        central = data.rfind(b"PK\x01\x02")  # the last record: this member's; its uncompressed size at +24
        data = data[:central + 24] + struct.pack("<I", declared) + data[central + 28:]
    path.write_bytes(data)
    assert path.stat().st_size < 64 * 1024
    return path


def measured(path: Path) -> tuple[Submission, int, float]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        sub = one(path)
        return sub, tracemalloc.get_traced_memory()[1], time.perf_counter() - started
    finally:
        tracemalloc.stop()


def test_a_zip_bomb_is_refused_without_unzipping_it(klass):
    bomb = zeros_zip(klass / "zoe.zip", "server_tcp.py", 16 * 2**20)  # declares 16 MiB
    sub, peak, took = measured(bomb)
    declared = 16 * 2**20 + sum(len(c) for name, c in PROGRAMS.items() if name != "server_tcp.py")
    assert sub.error == (f"zoe.zip unzips to {declared:,} bytes; at most "
                         f"{UNZIPPED_LIMIT:,} are read from a submission's zip (8 MiB)")
    assert peak < 1 * 2**20 and took < 0.5
    big = zeros_zip(klass / "abe.zip", "server_tcp.py", FILE_LIMIT + 1)  # declares one byte too many
    sub, peak, _ = measured(big)
    assert sub.problems == {"server_tcp.py": f"server_tcp.py is {FILE_LIMIT + 1:,} bytes (unzipped); a program file "
                                             f"may be at most {FILE_LIMIT:,}"}
    assert len(sub.files) == 3 and peak < 1 * 2**20


def test_a_zip_whose_header_lies_is_read_no_further_than_it_declares(klass):
    liar = zeros_zip(klass / "bea.zip", "server_tcp.py", 16 * 2**20, declared=100)  # 16 MiB, says 100 bytes
    sub, peak, took = measured(liar)
    assert sub.error == ("bea.zip is damaged: server_tcp.py cannot be unzipped (Bad CRC-32 for file "
                         "'server_tcp.py'); zip the files again")
    assert peak < 1 * 2**20 and took < 0.5


def test_stray_entries_and_links_are_skipped_hidden_ones_ignored(klass, tmp_path):
    """A file that is not a submission is not a student: no Submission (no row, no page), but skipped with
    its reason; links, FIFOs and sockets too, never followed or opened; hidden entries are not even listed.
    (Until the issue 'every point earned' each was a Submission with an error, a row of grades.csv.)"""
    import socket

    put(klass / "alice", PROGRAMS)
    (klass / "grades.xlsx").write_bytes(b"PK\x03\x04")
    for stray in ("README.txt", "grades.csv", "index.html", "server_tcp.py"):
        (klass / stray).write_text("left by the platform\n")
    (klass / "bob").symlink_to(klass / "alice")
    (klass / "eve.zip").symlink_to(tmp_path / "nowhere.zip")
    (klass / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    put(klass / "__MACOSX", {"alice/._server_tcp.py": b"\0\5\26\7"})
    put(klass / ".git", {"HEAD": b"ref: refs/heads/main\n"})
    (klass / "Thumbs.db").write_bytes(b"\xd0\xcf")
    os.mkfifo(klass / "carol.zip")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(klass / "dan"))
        found = submission.survey(klass)
    assert [s.name for s in found.submissions] == ["alice"] and found.submissions[0].files == PROGRAMS
    assert discover(klass) == found.submissions
    stray = "not a folder or a .zip: a file the platform left, not a submission"
    assert [(s.entry, s.reason) for s in found.skipped] == [
        ("README.txt", stray),
        ("bob", f"a symbolic link (to {klass / 'alice'}), not followed: put the student's folder or .zip itself in "
                "the class folder"),
        ("carol.zip", "a FIFO, not a folder or a .zip: not a submission"),
        ("dan", "a socket, not a folder or a .zip: not a submission"),
        ("eve.zip", f"a symbolic link (to {tmp_path / 'nowhere.zip'}), not followed: put the student's folder or "
                    ".zip itself in the class folder"),
        ("grades.csv", stray), ("grades.xlsx", stray), ("index.html", stray), ("server_tcp.py", stray)]


def test_a_submission_of_which_nothing_can_be_used_is_still_a_student(klass):
    put(klass / "alice", {"notes.txt": b"I ran out of time\n"})
    (klass / "bob.zip").write_bytes(b"not a zip")
    (klass / "README.txt").write_text("x")
    found = submission.survey(klass)
    alice, bob = found.submissions
    assert (alice.name, alice.files, sorted(alice.problems)) == ("alice", {}, sorted(ASSIGNMENT))
    assert bob.name == "bob" and bob.error.startswith("bob.zip is not a zip that can be read")
    assert [s.entry for s in found.skipped] == ["README.txt"]


def test_a_link_does_not_collide_with_the_submission_it_names(klass):
    zipped(klass / "bob.zip", PROGRAMS)
    (klass / "bob").symlink_to(klass / "bob.zip")
    found = submission.survey(klass)
    assert [(s.name, s.error) for s in found.submissions] == [("bob", None)]
    assert [s.entry for s in found.skipped] == ["bob"]


def test_two_entries_giving_one_name_are_both_errors(klass):
    put(klass / "alice", PROGRAMS)
    zipped(klass / "alice.zip", PROGRAMS)
    put(klass / "Bob", PROGRAMS)
    zipped(klass / "bob.ZIP", PROGRAMS)
    put(klass / "carol", PROGRAMS)
    subs = discover(klass)
    assert [(s.name, Path(s.path).name, s.error) for s in subs] == [
        ("alice", "alice", "Two entries give the student name alice: alice and alice.zip; rename or remove all but one "
                           "(none of them is read)"),
        ("alice", "alice.zip", "Two entries give the student name alice: alice and alice.zip; rename or remove all but "
                               "one (none of them is read)"),
        ("Bob", "Bob", "Two entries give the student name Bob: Bob and bob.ZIP; rename or remove all but one (none of "
                       "them is read)"),
        ("bob", "bob.ZIP", "Two entries give the student name bob: Bob and bob.ZIP; rename or remove all but one "
                           "(none of them is read)"),
        ("carol", "carol", None)]
    assert all(s.files == {} for s in subs[:4])


def test_the_class_folder_must_be_a_folder_with_entries(klass, tmp_path):
    def refusal(path):
        with pytest.raises(InvalidInput) as caught:
            discover(path)
        assert caught.value.exit_code == EXIT_INVALID_INPUT
        return str(caught.value)
    expected = "expected the class folder: one folder or .zip per student"
    assert refusal(tmp_path / "nope") == f"{tmp_path}/nope: No such file or directory; {expected}"
    (tmp_path / "file").write_text("x")
    assert refusal(tmp_path / "file") == f"{tmp_path}/file: is a file; {expected}"
    assert refusal(klass) == f"{klass}: holds no submission; {expected}"
    (klass / ".DS_Store").write_bytes(b"")
    (klass / "__MACOSX").mkdir()
    assert refusal(klass) == f"{klass}: holds no submission; {expected} (ignored: .DS_Store and __MACOSX)"
    (klass / "README.txt").write_text("x")  # only entries that are no student's: none either
    (klass / "grades.csv").write_text("x")
    assert refusal(klass) == (f"{klass}: holds no submission; {expected} (skipped README.txt and grades.csv: not a "
                              "folder or a .zip; ignored: .DS_Store and __MACOSX)")


def test_hidden_and_odd_member_names_in_a_zip(klass):
    files = {"../server_tcp.py": b"print('up')\n",  # a name starting with '.': hidden, never a way up
             "lab/a/b/../../server_udp.py": b"print('not at the top')\n",  # never normalised to lab/server_udp.py
             "/client_udp.py": PROGRAMS["client_udp.py"],  # a leading '/' is dropped
             "lab\\client_tcp.py": PROGRAMS["client_tcp.py"],  # old Windows tools write '\'
             ".old/server_tcp.py": b"print('old')\n",
             "__MACOSX/._client_tcp.py": b"\0\5\26\7", "lab/.DS_Store": b"\0"}
    sub = one(zipped(klass / "cid.zip", files))
    assert sub.files == {"client_udp.py": PROGRAMS["client_udp.py"], "client_tcp.py": PROGRAMS["client_tcp.py"]}
    assert sub.problems == {name: f"{name} not submitted" for name in ("server_udp.py", "server_tcp.py")}
    assert set(sub.notes) == {
        "../server_tcp.py was not looked at: names starting with '.' (and '..') are hidden, and __MACOSX is a "
        "system's leftovers",
        ".old/server_tcp.py was not looked at: names starting with '.' (and '..') are hidden, and __MACOSX is a "
        "system's leftovers",
        "lab/a/b/../../server_udp.py was not looked at: names starting with '.' (and '..') are hidden, and __MACOSX "
        "is a system's leftovers",
        "the programs come from different folders (the top and lab); they run side by side, in one folder"}


def test_helper_modules(klass):
    files = {**PROGRAMS, "common.py": b"A = 1\n", "socket.py": b"# oops\n", "my-utils.py": b"", "class.py": b"",
             "blob.py": b"\0", "other/elsewhere.py": b"", "notes.md": b"", "old.zip": b"PK"}
    sub = one(put(klass / "dan", files))
    assert sub.files == {**PROGRAMS, "common.py": b"A = 1\n", "socket.py": b"# oops\n"}
    assert sub.notes == (
        "old.zip was not opened: old.zip is not a zip that can be read (File is not a zip file); hand in a .zip "
        "made by your system's 'Compress' or by 'zip'",
        "left out class.py: Python could not import a module of that name (letters, digits and '_', not a digit "
        "first, not a keyword, then .py)",
        "left out my-utils.py: Python could not import a module of that name (letters, digits and '_', not a digit "
        "first, not a keyword, then .py)",
        "left out a helper: blob.py is not text (it holds a NUL byte)",
        "socket.py has the name of Python's own module socket: a program importing socket gets this file instead")
    split = {"a/server_udp.py": b"", "a/util.py": b"A\n", "b/client_udp.py": b"", "b/util.py": b"B\n"}
    assert "left out a/util.py and b/util.py: the programs run side by side in one folder, where only one util.py " \
           "fits" in one(put(klass / "eve", split)).notes


def test_helpers_are_capped_like_read_programs(klass):
    files = {**PROGRAMS, **{f"m{i:02}.py": b"" for i in range(FILES_LIMIT)}}
    sub = one(put(klass / "fay", files))
    assert len(sub.files) == FILES_LIMIT and "m59.py" in sub.files and "m60.py" not in sub.files
    assert sub.notes == ("left out m60.py, m61.py, m62.py and m63.py: at most 64 .py files and 2,097,152 bytes of "
                         "them are used from a submission",)
    heavy = {**PROGRAMS, **{f"h{i}.py": b"#" * FILE_LIMIT for i in range(9)}}  # 9 x 256 KiB > 2 MiB
    sub = one(put(klass / "gus", heavy))
    assert sorted(sub.files) == sorted([*PROGRAMS, *(f"h{i}.py" for i in range(7))])
    assert sub.notes == ("left out h7.py and h8.py: at most 64 .py files and 2,097,152 bytes of them are used from "
                         "a submission",)


def test_a_folder_that_cannot_be_listed_is_the_entry_s_error(klass, monkeypatch):
    folder = put(klass / "hal", {**PROGRAMS, "lab/x.py": b""})
    if os.geteuid() != 0:
        (folder / "lab").chmod(0)
    else:  # root lists any folder: make listing it fail as it does for anyone else
        real = os.scandir

        def scandir(path):
            if Path(path).name == "lab":
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)
        monkeypatch.setattr(os, "scandir", scandir)
    try:
        error = one(folder).error
    finally:
        monkeypatch.undo()
        (folder / "lab").chmod(0o755)
    assert error == "hal/lab cannot be listed: Permission denied"


def test_an_entry_that_went_away(klass):
    sub = read_submission(klass / "gone.zip")
    assert (sub.name, sub.error, sub.files) == ("gone", "gone.zip cannot be read: No such file or directory", {})


def test_names_in_messages_are_escaped(klass):
    sub = one(put(klass / "ian", {**PROGRAMS, "bad\x1b[2J.py": b""}))
    assert "left out bad\\x1b[2J.py: Python could not import" in sub.notes[0]


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root: its kind, mode, mtime and bytes (or link target)."""
    seen = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            content = (os.readlink(path) if stat.S_ISLNK(info.st_mode)
                       else Path(path).read_bytes() if stat.S_ISREG(info.st_mode) else None)
            seen[path] = (stat.S_IFMT(info.st_mode), info.st_mode, info.st_mtime_ns, content)
    info = os.lstat(root)
    seen[str(root)] = (info.st_mode, info.st_mtime_ns)
    return seen


def test_nothing_in_the_class_folder_is_modified(klass, tmp_path):
    put(klass / "alice", {**PROGRAMS, "lab/helper.py": b"", "Server_TCP.py": b"dup\n"})
    zipped(klass / "bob.zip", {**under("bob/", PROGRAMS), "bob/../../evil.py": b"", "/etc/cron.d/x.py": b""})
    zeros_zip(klass / "carol.zip", "client_tcp.py", 16 * 2**20, declared=100)
    (klass / "dan.zip").write_bytes(b"PK\x03\x04 broken")
    (klass / "alice" / "link.py").symlink_to(tmp_path / "outside")
    (klass / "stray.txt").write_text("x")
    before = snapshot(tmp_path)
    time.sleep(0.01)
    discover(klass)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "outside").exists() and not (tmp_path / "evil.py").exists()
