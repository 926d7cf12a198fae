"""Archives inside a submission (issue "From the learning platform and back"): a folder holding PL1.zip, a zip
holding a .tar.gz, are opened in memory, one level deep, with a zip's caps; their files join the submission's
as a folder named after the archive. Each case is built as a platform (or a student) writes it."""
from __future__ import annotations

import gzip
import os
import random
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from orchestrator.grade import archives
from orchestrator.grade.reading import UNZIPPED_LIMIT, ZIP_LIMIT
from tests.support.entries import PROGRAMS, one, put, tar_bytes, under, zip_bytes, zipped

ALL_FOUND = "found server_udp.py, client_udp.py, server_tcp.py and client_tcp.py inside the archive"


@pytest.fixture
def klass(tmp_path: Path) -> Path:
    d = tmp_path / "class"
    d.mkdir()
    return d


def test_a_folder_holding_the_zip_a_student_uploaded(klass):
    """The usual export: the student's folder holds PL1.zip, which holds a folder PL1 with the programs."""
    pl1 = zip_bytes(under("PL1/", {**PROGRAMS, "common.py": b"X = 1\n", "report.pdf": b"%PDF"}))
    sub = one(put(klass / "alice", {"PL1.zip": pl1, "onlinetext.html": b"<p>hi</p>"}))
    assert sub.error is None and sub.problems == {}
    assert sub.files == {**PROGRAMS, "common.py": b"X = 1\n"}
    assert sub.notes == (f"{ALL_FOUND} PL1.zip",)


def test_a_folder_holding_a_tar_gz_a_tgz_or_a_tar(klass):
    for name, gz in (("PL1.tar.gz", True), ("PL1.TGZ", True), ("PL1.tar", False), ("odd.tar", True),
                     ("pad.tgz", "padded")):
        data = tar_bytes(under("lab/", PROGRAMS), gz=bool(gz)) + (b"\0" * 512 + b"junk" if gz == "padded" else b"")
        sub = one(put(klass / name.replace(".", "-"), {name: data}))
        assert sub.files == PROGRAMS and sub.problems == {} and sub.error is None, name
        assert sub.notes == (f"{ALL_FOUND} {name}",)  # a .tar gzipped is read as one; padding after is ignored


def test_a_top_level_zip_holding_a_zip(klass):
    inner = zip_bytes({"server_tcp.py": PROGRAMS["server_tcp.py"], "Client_TCP.py": PROGRAMS["client_tcp.py"]})
    zipped(klass / "bob.zip", {"bob/PL1.zip": inner, "bob/server_udp.py": PROGRAMS["server_udp.py"]},
           zipfile.ZIP_STORED)
    sub = one(klass / "bob.zip")
    assert sub.files == {name: PROGRAMS[name] for name in ("server_udp.py", "server_tcp.py", "client_tcp.py")}
    assert sub.problems == {"client_udp.py": "client_udp.py not submitted"}
    assert sub.notes == (
        "found bob/PL1.zip/Client_TCP.py as client_tcp.py",
        "found server_tcp.py and client_tcp.py inside the archive bob/PL1.zip",
        "the programs come from different folders (bob and bob/PL1.zip); they run side by side, in one folder")


def test_a_zip_inside_a_zip_inside_a_zip_is_not_opened(klass):
    deepest = zip_bytes(PROGRAMS)
    middle = zip_bytes({"PL1/old.zip": deepest, "PL1/server_tcp.py": PROGRAMS["server_tcp.py"],
                        "PL1/more.tar.gz": tar_bytes(PROGRAMS, gz=True), "PL1/x.rar": b"Rar!"})
    sub = one(zipped(klass / "carl.zip", {"PL1.zip": middle}))
    assert sub.files == {"server_tcp.py": PROGRAMS["server_tcp.py"]}
    assert sub.notes == (  # in the archive's order
        "PL1.zip/PL1/old.zip was not opened: it is an archive inside the archive PL1.zip, and archives are opened "
        "one level deep only: put the programs in one archive",
        "PL1.zip/PL1/more.tar.gz was not opened: it is an archive inside the archive PL1.zip, and archives are "
        "opened one level deep only: put the programs in one archive",
        "PL1.zip/PL1/x.rar was not opened: it is an archive inside the archive PL1.zip, and archives are opened "
        "one level deep only: put the programs in one archive",
        "found server_tcp.py inside the archive PL1.zip")
    folder = one(put(klass / "dora", {"PL1.zip": middle}))  # the same from a folder
    assert folder.files == sub.files and folder.notes == sub.notes


def test_an_inner_zip_bomb_is_refused_the_rest_is_used(klass):
    bomb = zip_bytes({f"zeros{i}.bin": bytes(2**20) for i in range(9)})  # 9 MiB of zeros in ~9 KiB
    assert len(bomb) < 100_000
    tracemalloc.start()
    sub = one(put(klass / "eve", {"PL1.zip": bomb, **PROGRAMS}))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sub.files == PROGRAMS and sub.error is None and peak < 2**20
    assert sub.notes == (f"PL1.zip was not opened: PL1.zip unzips to {9 * 2**20:,} bytes; at most {UNZIPPED_LIMIT:,} "
                         "are read from a submission's zip (8 MiB)",)


def test_an_inner_gzip_bomb_is_gunzipped_no_further_than_the_cap(klass):
    bomb = tar_bytes({"zeros.bin": bytes(UNZIPPED_LIMIT + 2**20)}, gz=True)
    sub = one(put(klass / "fred", {"PL1.tar.gz": bomb, **PROGRAMS}))
    assert sub.files == PROGRAMS
    assert sub.notes == (f"PL1.tar.gz was not opened: PL1.tar.gz unpacks to over {UNZIPPED_LIMIT:,} bytes; at most "
                         f"{UNZIPPED_LIMIT:,} are read from an archive (8 MiB)",)


def test_an_inner_archive_too_big_or_too_many_in_all(klass, monkeypatch):
    big = put(klass / "gus", PROGRAMS)
    with open(big / "screenshots.zip", "wb") as f:
        f.truncate(ZIP_LIMIT + 1)  # sparse: never written out
    sub = one(big)
    assert sub.files == PROGRAMS and sub.notes == (
        f"screenshots.zip was not opened: it is {ZIP_LIMIT + 1:,} bytes; an archive in a submission may be at most "
        f"{ZIP_LIMIT:,} (10 MiB)",)
    monkeypatch.setattr(archives, "MEMBERS_LIMIT", 6)
    sub = one(put(klass / "hal", {"a.zip": zip_bytes(under("a/", PROGRAMS)), "b.zip": zip_bytes(PROGRAMS)}))
    assert sub.files == PROGRAMS and sub.notes == (
        "b.zip was not opened: the archives in a submission may hold at most 6 files and folders in all",
        f"{ALL_FOUND} a.zip")
    a, b = zip_bytes(under("a/", PROGRAMS)), zip_bytes(PROGRAMS)
    monkeypatch.setattr(archives, "ZIP_LIMIT", len(a) + len(b) - 1)
    sub = one(put(klass / "ian", {"a.zip": a, "b.zip": b}))
    assert sub.files == PROGRAMS and sub.notes == (
        f"b.zip was not opened: the archives in a submission may hold at most {len(a) + len(b) - 1:,} bytes in all "
        "(0 MiB)", f"{ALL_FOUND} a.zip")


def test_a_damaged_inner_archive_is_a_note_or_its_program_s_problem(klass):
    sub = one(put(klass / "ida", {"PL1.zip": b"PK\3\4 not a zip", "PL2.tar": b"not a tar" * 100, **PROGRAMS}))
    assert sub.files == PROGRAMS
    assert sub.notes == (
        "PL1.zip was not opened: PL1.zip is not a zip that can be read (File is not a zip file); hand in a .zip made "
        "by your system's 'Compress' or by 'zip'",
        "PL2.tar was not opened: PL2.tar is not a tar that can be read (invalid header); hand in a .zip made by "
        "your system's 'Compress' or by 'zip'")
    data = bytearray(zip_bytes({"server_tcp.py": b"print('x')\n" * 50}))
    at = data.index(b"print") if b"print" in data else 40  # stored or not, damage the data
    data[at + 5] ^= 0xFF
    damaged = one(put(klass / "jo", {"PL1.zip": bytes(data)}))
    assert damaged.error is None and damaged.files == {}
    assert damaged.problems["server_tcp.py"].startswith("PL1.zip is damaged: PL1.zip/server_tcp.py cannot be unzipped")


def test_a_tar_s_links_devices_and_path_tricks_are_refused(klass):
    links = {"lab/server_tcp.py": (tarfile.SYMTYPE, "/etc/passwd"), "lab/client_tcp.py": (tarfile.LNKTYPE, "x"),
             "lab/server_udp.py": (tarfile.FIFOTYPE, ""), "lab/client_udp.py": (tarfile.CHRTYPE, "")}
    sub = one(put(klass / "kim", {"PL1.tar.gz": tar_bytes({"../evil.py": b"import os\n", "../server_tcp.py": b"x",
                                                           "/etc/cron.d/x.py": b"", "lab/util.py": b"U = 1\n"},
                                                          gz=True, links=links)}))
    assert sub.error is None and sub.files == {}
    assert sub.problems == {
        "server_tcp.py": "PL1.tar.gz/lab/server_tcp.py is a symbolic link (in the tar); a submission's files are read "
                         "as they are, links are not followed: put the program itself there",
        "client_tcp.py": "PL1.tar.gz/lab/client_tcp.py is a hard link (in the tar); a submission's files are read as "
                         "they are, links are not followed: put the program itself there",
        "server_udp.py": "PL1.tar.gz/lab/server_udp.py is a FIFO (in the tar), not a program file",
        "client_udp.py": "PL1.tar.gz/lab/client_udp.py is a character device (in the tar), not a program file"}
    assert sub.notes == ("PL1.tar.gz/../server_tcp.py was not looked at: names starting with '.' (and '..') are "
                         "hidden, and __MACOSX is a system's leftovers",)  # ../evil.py: never a helper, nowhere
    assert not (klass / "evil.py").exists() and not (klass.parent / "evil.py").exists()
    assert sorted(os.listdir(klass / "kim")) == ["PL1.tar.gz"]  # nothing extracted


def test_what_is_not_a_regular_file_named_like_an_archive_is_not_opened(klass):
    sub = put(klass / "pia", PROGRAMS)
    os.mkfifo(sub / "PL1.zip")
    (sub / "PL2.tar").symlink_to("/etc/passwd")
    assert one(sub).files == PROGRAMS
    assert one(sub).notes == ("PL1.zip was not opened: PL1.zip is a FIFO, not an archive",
                              "PL2.tar was not opened: PL2.tar is a symbolic link (to /etc/passwd); a submission's "
                              "files are read as they are, links are not followed: put the archive there")


def test_a_rar_and_a_7z_are_not_opened_and_say_why(klass):
    sub = one(put(klass / "lea", {"PL1.rar": b"Rar!\x1a\x07\x00", "PL2.7z": b"7z\xbc\xaf\x27\x1c", "Old.RAR": b""}))
    assert sub.files == {} and sub.error is None
    assert sub.notes == ("Old.RAR is a RAR archive, which the grader cannot open: upload a .zip",
                         "PL1.rar is a RAR archive, which the grader cannot open: upload a .zip",
                         "PL2.7z is a 7-Zip archive, which the grader cannot open: upload a .zip")
    assert sub.problems == {name: f"{name} not submitted" for name in PROGRAMS}


def test_programs_nested_in_folders_inside_the_archive(klass):
    """DEPTH counts from inside the archive: PL1.zip/a/b/server_tcp.py is two folders deep in it."""
    inner = zip_bytes({"a/b/server_tcp.py": PROGRAMS["server_tcp.py"], "a/b/helper.py": b"H = 1\n",
                       "a/b/c/client_tcp.py": PROGRAMS["client_tcp.py"]})
    sub = one(put(klass / "max", {"lab1/PL1.zip": inner}))
    assert sub.files == {"server_tcp.py": PROGRAMS["server_tcp.py"], "helper.py": b"H = 1\n"}
    assert sub.notes == ("lab1/PL1.zip/a/b/c/client_tcp.py was not looked at: it is 3 folders deep in lab1/PL1.zip; "
                         "programs are looked for at most 2 folders deep",
                         "found server_tcp.py inside the archive lab1/PL1.zip")


def test_a_program_both_loose_and_in_an_archive_is_two_candidates(klass):
    sub = one(put(klass / "ned", {**PROGRAMS, "PL1.zip": zip_bytes({"server_tcp.py": b"print('other')\n"})}))
    assert sub.problems == {"server_tcp.py": "two files could be server_tcp.py: PL1.zip/server_tcp.py and "
                                             "server_tcp.py (PL1.zip is an archive in the submission, read as a "
                                             "folder: hand each program in once)"}
    assert set(sub.files) == {"server_udp.py", "client_udp.py", "client_tcp.py"}
    both = one(put(klass / "ola", {"a.zip": zip_bytes(PROGRAMS), "b.tgz": tar_bytes(PROGRAMS, gz=True)}))
    assert both.problems["client_udp.py"] == ("two files could be client_udp.py: a.zip/client_udp.py and "
                                              "b.tgz/client_udp.py (a.zip and b.tgz are archives in the submission, "
                                              "read as a folder: hand each program in once)")


def test_damaged_archives_of_every_kind_never_raise(klass):
    """Bytes changed at random (seeded) in a .tgz, a .tar and a .zip inside a submission: whatever they
    become, reading the submission says so and never raises."""
    rng = random.Random(7)
    base = {"a.tgz": tar_bytes(under("x/", PROGRAMS), gz=True), "b.tar": tar_bytes(under("y/", PROGRAMS)),
            "c.zip": zip_bytes(under("z/", PROGRAMS))}
    for i in range(100):
        files = {}
        for name, data in base.items():
            changed = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                changed[rng.randrange(len(changed))] = rng.randrange(256)
            files[name] = bytes(changed[:rng.randrange(len(changed))] if rng.random() < 0.2 else changed)
        sub = one(put(klass / f"s{i}", files))
        assert sub.error is None and len(sub.notes) <= 16


def test_a_gzip_of_many_empty_gzips_is_refused(klass):
    sub = one(put(klass / "quin", {"m.tgz": gzip.compress(b"") * 5000}))
    assert sub.notes == ("m.tgz was not opened: m.tgz holds over 1,000 files and folders; a submission is a handful "
                         "of files: leave out virtual environments, data and build output",)
