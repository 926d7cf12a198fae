"""Archives, read in memory without trusting them: a class folder's entry that is a zip (`zip_files`), and the
archives found inside a submission, in its folder or its zip (`with_archives`), one level deep. The files of
a folder are reading.py's; what of them all can be used is programs.py's.

A zip (the entry itself, or one inside it)
- It is read (with `read_file`, or from the zip holding it) into memory, capped at ZIP_LIMIT, and opened
  there with zipfile. Refused: over ZIP_LIMIT; not a zip zipfile can read; more than MEMBERS_LIMIT members
  (and, before zipfile is asked to list them, more than RECORDS_CEILING central-directory signatures in its
  bytes: an upper bound of its members, so that a zip of 200,000 empty members, ~100 MB of objects once
  listed, is refused unlisted; a zip storing other zips uncompressed counts theirs too); declared sizes
  adding up to more than UNZIPPED_LIMIT; an encrypted member; a member that cannot be read (a CRC mismatch,
  damaged data, a compression method Python lacks). A member that is a symbolic link or not a regular file
  (its Unix mode in external_attr) is refused like a link in a folder (a problem for its program); a member
  declaring more than FILE_LIMIT bytes is refused before it is read; every read stops at its cap whatever
  the headers say (zipfile itself stops at the declared size and checks the CRC, so a header that lies makes
  a damaged zip), and the bytes unzipped from one zip are capped at UNZIPPED_LIMIT in all.
- A member's name is only a name: it is split at '/' and at '\\' (old Windows tools write those); empty and
  '.' parts are dropped (a leading '/' too); '..' is a name starting with '.', so hidden: ignored. The
  depth is the number of folder parts left, never normalised (a/b/c/../../x.py is not x.py at the top).
  Members named like a program but hidden or too deep are noted (an archive's names are all known).

Archives inside a submission (`with_archives`)
- A .zip, .tar, .tar.gz or .tgz among the entry's files (in its folder, or in its zip: the usual learning
  platform's case, a folder holding PL1.zip) is opened, in memory, with the caps of a zip above, and its
  files join the entry's as if they were in a folder named after the archive (PL1.zip/PL1/server_tcp.py):
  programs are looked for in it down to DEPTH folders, counted from inside the archive. A note says which
  programs were found in which archive (programs.py); a program both loose and in an archive is two
  candidates, as any other (a problem naming both, and the archive).
- One level deep: an archive inside that archive is not opened, with a note. A .rar or a .7z is not opened
  either (Python cannot), with a note saying to upload a .zip.
- A tar is opened with tarfile on its bytes in memory (a .tar.gz's gunzipped first, capped at
  UNZIPPED_LIMIT, never streamed from the compressed bytes); its members are named and placed as a zip's
  (so '../evil.py' and '/etc/x' go nowhere); a link (symbolic or hard), a device or a FIFO in it is refused
  like a zip's non-regular member: nothing is ever extracted, and a link is never followed, even inside it.
- What is wrong with an archive inside a submission (too big, damaged, a bomb) is a note: the rest of the
  submission is used (a screenshots.zip too big costs nothing). The archives opened in one submission may
  hold at most ZIP_LIMIT bytes and MEMBERS_LIMIT members in all; past that, an archive is not opened (noted).
"""
from __future__ import annotations

import io
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..base.errors import InvalidInput
from ..base.text import escaped
from .reading import (ASSIGNMENT, DEPTH, MEMBERS_LIMIT, RECORDS_CEILING, UNZIPPED_LIMIT, ZIP_LIMIT, EntryBroken,
                      EntryFile, FileRefused, is_ignored, kind_of, read_file, rephrased)

_CENTRAL_RECORD = b"PK\x01\x02"
#: An archive's kind by the end of its name (in any case); the kinds Python cannot open, and what they are.
KINDS = ((".tar.gz", "tgz"), (".tgz", "tgz"), (".tar", "tar"), (".zip", "zip"), (".rar", "rar"), (".7z", "7z"))
UNOPENED = {"rar": "a RAR archive", "7z": "a 7-Zip archive"}

#: A member as listed: its name in the archive, what makes its reader (given its path as shown), its size.
Member = tuple[str, Callable[[str], Callable[[int], bytes]], int]


@dataclass(frozen=True)
class ZipCaps:
    """The limits a zip is read within: its size, its members, what its members declare and what is read
    of them in all. A student's zip has the defaults; a class's export zip (exports.py) far larger ones,
    since it holds every student's uploads (screenshots, reports) of which only the programs and the
    archives holding them are ever read, each within its own limit."""

    size: int
    members: int
    declared: int
    unzipped: int
    records: int  # central-directory records counted in its bytes past which it is not listed (RECORDS_CEILING)
    export: bool = False


def submission_caps() -> ZipCaps:
    """A student's zip's caps: reading.py's limits, as they are when asked."""
    return ZipCaps(ZIP_LIMIT, MEMBERS_LIMIT, UNZIPPED_LIMIT, UNZIPPED_LIMIT, RECORDS_CEILING)


#: A class's download: up to 1 GiB, 100,000 files, 16 GiB declared; at most 1 GiB read from it in all.
EXPORT_ZIP = ZipCaps(size=1 << 30, members=100_000, declared=16 << 30, unzipped=1 << 30, records=800_000,
                     export=True)


def archive_kind(name: str) -> str | None:
    lower = name.lower()
    return next((kind for end, kind in KINDS if lower.endswith(end) and len(lower) > len(end)), None)


def zip_files(path: Path, size: int, notes: list[str]) -> list[EntryFile]:
    """The members of a class folder's zip (read into memory, opened there) down to DEPTH; nothing is
    unzipped yet."""
    shown = escaped(path.name)
    if size > ZIP_LIMIT:
        raise EntryBroken(f"{shown} is {size:,} bytes; a submission's zip may be at most {ZIP_LIMIT:,} "
                          f"({ZIP_LIMIT // 2**20} MiB)")
    try:
        data = read_file(path, ZIP_LIMIT)
    except InvalidInput as e:  # it changed since lstat
        raise EntryBroken(rephrased(str(e), str(path), shown)) from None
    return placed(zip_members(data, shown), (), notes)


def too_many(shown: str, caps: ZipCaps | None = None) -> str:
    caps = caps or submission_caps()
    if caps.export:
        return f"{shown} holds over {caps.members:,} files and folders, more than a class's export is read with"
    return (f"{shown} holds over {MEMBERS_LIMIT:,} files and folders; a submission is a handful of files: "
            "leave out virtual environments, data and build output")


def zip_members(data: bytes, shown: str, caps: ZipCaps | None = None) -> list[Member]:
    """A zip's members (see the module), or EntryBroken; reading one raises FileRefused or EntryBroken."""
    caps = caps or submission_caps()
    whose = "a class's export zip" if caps.export else "a submission's zip"
    if data.count(_CENTRAL_RECORD) > caps.records:
        raise EntryBroken(too_many(shown, caps))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception as e:  # whatever zipfile raises on bytes it cannot read (BadZipFile, ValueError, ...)
        raise EntryBroken(f"{shown} is not a zip that can be read ({escaped(str(e)) or type(e).__name__}); hand in "
                          "a .zip made by your system's 'Compress' or by 'zip'") from None
    if len(members) > caps.members:
        raise EntryBroken(too_many(shown, caps))
    declared = sum(m.file_size for m in members)
    if declared > caps.declared:
        raise EntryBroken(f"{shown} unzips to {declared:,} bytes; at most {caps.declared:,} are read from "
                          f"{whose} ({caps.declared // 2**20} MiB)")
    for m in members:
        if m.flag_bits & 0x1:
            raise EntryBroken(f"{shown} is protected by a password ({escaped(m.filename)} is encrypted); hand it in "
                              "without a password")
    unzipped = 0

    def reader(member: zipfile.ZipInfo) -> Callable[[str], Callable[[int], bytes]]:
        def made(rel: str) -> Callable[[int], bytes]:
            def read(limit: int) -> bytes:
                nonlocal unzipped
                mode = member.external_attr >> 16
                if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                    if stat.S_ISLNK(mode):
                        raise FileRefused(f"{rel} is a symbolic link (in the zip); a submission's files are read "
                                          "as they are, links are not followed: put the program itself there")
                    raise FileRefused(f"{rel} is {kind_of(mode)} (in the zip), not a program file")
                if member.file_size > limit:
                    raise FileRefused(f"{rel} is {member.file_size:,} bytes (unzipped); a program file may be at "
                                      f"most {limit:,}")
                cap = min(limit, caps.unzipped - unzipped)
                chunks, got = [], 0
                try:
                    with archive.open(member) as stream:
                        while got <= cap:
                            chunk = stream.read(min(65536, cap + 1 - got))
                            if not chunk:
                                break
                            chunks.append(chunk)
                            got += len(chunk)
                except NotImplementedError as e:  # e.g. Deflate64, zstd, AES
                    raise EntryBroken(f"{shown} cannot be unzipped by Python: {rel} is compressed with a method it "
                                      f"lacks ({escaped(str(e))}); zip the files again with your system's "
                                      "'Compress' or 'zip'") from None
                except Exception as e:  # a CRC mismatch, damaged data, ...
                    raise EntryBroken(f"{shown} is damaged: {rel} cannot be unzipped "
                                      f"({escaped(str(e)) or type(e).__name__}); zip the files again") from None
                unzipped += got
                if got > limit:  # more than its header declares (zipfile stops at the declared size: never here)
                    raise FileRefused(f"{rel} unzips to over {limit:,} bytes; a program file may be at most "
                                      f"{limit:,}")
                if got > cap:
                    raise EntryBroken(f"{shown} unzips to over {caps.unzipped:,} bytes; at most "
                                      f"{caps.unzipped:,} are read from {whose}")
                return b"".join(chunks)
            return read
        return made

    return [(m.filename, reader(m), m.file_size) for m in members
            if not (m.filename.endswith(("/", "\\")) or stat.S_ISDIR(m.external_attr >> 16))]  # a folder: skipped


def gunzipped(data: bytes, shown: str) -> bytes:
    """A .tar.gz's tar: its gzip members decompressed, at most UNZIPPED_LIMIT bytes in all, or EntryBroken."""
    out, got, rest, count = [], 0, data, 0
    try:
        while rest:
            count += 1
            if count > MEMBERS_LIMIT:  # a gzip of many empty gzips: each costs an inflater
                raise EntryBroken(too_many(shown))
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            pending = rest
            while True:
                chunk = inflater.decompress(pending, UNZIPPED_LIMIT + 1 - got)
                out.append(chunk)
                got += len(chunk)
                if got > UNZIPPED_LIMIT:
                    raise EntryBroken(f"{shown} unpacks to over {UNZIPPED_LIMIT:,} bytes; at most "
                                      f"{UNZIPPED_LIMIT:,} are read from an archive ({UNZIPPED_LIMIT // 2**20} MiB)")
                progressed = chunk or len(inflater.unconsumed_tail) < len(pending)
                pending = inflater.unconsumed_tail
                if inflater.eof or not progressed:
                    break
            if not inflater.eof:
                raise EntryBroken(f"{shown} is damaged: it ends before its data does; pack the files again")
            rest = inflater.unused_data
            if not rest.startswith(b"\x1f\x8b"):  # zeros some tools pad with, or garbage: ignored, as tar does
                break
    except zlib.error as e:
        raise EntryBroken(f"{shown} is not a .tar.gz that can be read ({escaped(str(e))}); hand in a .zip made by "
                          "your system's 'Compress' or by 'zip'") from None
    return b"".join(out)


def tar_members(data: bytes, shown: str, gzipped: bool) -> list[Member]:
    """A tar's members, opened in memory (see the module), or EntryBroken."""
    tar = gunzipped(data, shown) if gzipped else data
    members: list[tarfile.TarInfo] = []
    try:
        archive = tarfile.open(fileobj=io.BytesIO(tar), mode="r:")
        for m in archive:
            members.append(m)
            if len(members) > MEMBERS_LIMIT:
                raise EntryBroken(too_many(shown))
    except EntryBroken:
        raise
    except Exception as e:  # whatever tarfile raises on bytes it cannot read (ReadError, ...)
        raise EntryBroken(f"{shown} is not a tar that can be read ({escaped(str(e)) or type(e).__name__}); hand in "
                          "a .zip made by your system's 'Compress' or by 'zip'") from None
    declared = sum(m.size for m in members if m.isreg())
    if declared > UNZIPPED_LIMIT:
        raise EntryBroken(f"{shown} unpacks to {declared:,} bytes; at most {UNZIPPED_LIMIT:,} are read from an "
                          f"archive ({UNZIPPED_LIMIT // 2**20} MiB)")

    def reader(member: tarfile.TarInfo) -> Callable[[str], Callable[[int], bytes]]:
        def made(rel: str) -> Callable[[int], bytes]:
            def read(limit: int) -> bytes:
                if member.issym() or member.islnk():
                    kind = "a symbolic link" if member.issym() else "a hard link"
                    raise FileRefused(f"{rel} is {kind} (in the tar); a submission's files are read as they are, "
                                      "links are not followed: put the program itself there")
                if not member.isreg():
                    kind = ("a character device" if member.ischr() else "a block device" if member.isblk()
                            else "a FIFO" if member.isfifo() else "of an unknown kind")
                    raise FileRefused(f"{rel} is {kind} (in the tar), not a program file")
                if member.size > limit:
                    raise FileRefused(f"{rel} is {member.size:,} bytes (unpacked); a program file may be at most "
                                      f"{limit:,}")
                try:
                    stream = archive.extractfile(member)
                    return stream.read(member.size) if stream else b""
                except Exception as e:  # data cut short, ...
                    raise EntryBroken(f"{shown} is damaged: {rel} cannot be unpacked "
                                      f"({escaped(str(e)) or type(e).__name__}); pack the files again") from None
            return read
        return made

    return [(m.name, reader(m), m.size) for m in members if not m.isdir()]


def zip_data_files(data: bytes, shown: str, notes: list[str], depth: int = DEPTH,
                   caps: ZipCaps | None = None) -> list[EntryFile]:
    """The members of a zip already in memory (at most `caps.size` bytes, `shown` in messages) down to `depth`
    folders (a class's export zip is read one folder deeper, its students' folders, within EXPORT_ZIP);
    nothing unzipped yet."""
    caps = caps or submission_caps()
    if len(data) > caps.size:
        raise EntryBroken(f"{shown} is over {caps.size:,} bytes; a zip may be at most {caps.size:,} "
                          f"({caps.size // 2**20} MiB)")
    return placed(zip_members(data, shown, caps), (), notes, depth)


def placed(members: list[Member], prefix: tuple[str, ...], notes: list[str], depth: int = DEPTH) -> list[EntryFile]:
    """An archive's members as an entry's files (under `prefix`, the archive's own path inside the entry, if
    it is inside one), down to DEPTH folders from the archive's top; hidden and too deep ones noted if
    named like a program, archives inside an archive inside the entry noted as not opened."""
    files = []
    inside = escaped("/".join(prefix))
    for name, made, size in members:
        parts = tuple(p for p in re.split(r"[/\\]", name) if p not in ("", "."))
        if not parts:
            continue
        rel = escaped("/".join((*prefix, *parts)))
        named_like_program = parts[-1].lower() in ASSIGNMENT
        if any(is_ignored(p) for p in parts):
            if named_like_program:
                notes.append(f"{rel} was not looked at: names starting with '.' (and '..') are hidden, and "
                             "__MACOSX is a system's leftovers")
            continue
        if prefix and archive_kind(parts[-1]):
            notes.append(f"{rel} was not opened: it is an archive inside the archive {inside}, and archives are "
                         "opened one level deep only: put the programs in one archive")
            continue
        if len(parts) - 1 > depth:
            if named_like_program:
                where = f" in {inside}" if prefix else ""
                notes.append(f"{rel} was not looked at: it is {len(parts) - 1} folders deep{where}; programs are "
                             f"looked for at most {DEPTH} folders deep")
            continue
        files.append(EntryFile((*prefix, *parts), made(rel), size, prefix))
    return sorted(files, key=lambda f: f.parts)


def _inner(read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """A reader of a file in an archive inside the entry: what breaks that archive is that file's problem,
    not the entry's (the rest of the submission is used)."""
    def guarded(limit: int) -> bytes:
        try:
            return read(limit)
        except EntryBroken as e:
            raise FileRefused(str(e)) from None
    return guarded


def with_archives(files: list[EntryFile], notes: list[str]) -> list[EntryFile]:
    """An entry's files with each archive among them opened in memory and replaced by its files (see the
    module); what cannot be opened is noted."""
    result: list[EntryFile] = []
    read_in_all = members_in_all = 0
    for f in files:
        kind = archive_kind(f.parts[-1])
        if kind is None:
            result.append(f)
            continue
        if kind in UNOPENED:
            notes.append(f"{f.rel} is {UNOPENED[kind]}, which the grader cannot open: upload a .zip")
            continue
        if f.size is not None and f.size > ZIP_LIMIT:
            notes.append(f"{f.rel} was not opened: it is {f.size:,} bytes; an archive in a submission may be at "
                         f"most {ZIP_LIMIT:,} ({ZIP_LIMIT // 2**20} MiB)")
            continue
        try:
            data = f.read(ZIP_LIMIT)  # EntryBroken (its own zip is damaged) is the entry's error
        except FileRefused as e:  # said of a program: said here of an archive
            why = str(e).replace(", not a program file", ", not an archive").replace("the program itself", "the archive")
            notes.append(f"{f.rel} was not opened: {why}")
            continue
        if len(data) > ZIP_LIMIT or read_in_all + len(data) > ZIP_LIMIT:
            notes.append(f"{f.rel} was not opened: the archives in a submission may hold at most {ZIP_LIMIT:,} "
                         f"bytes in all ({ZIP_LIMIT // 2**20} MiB)")
            continue
        read_in_all += len(data)
        try:
            members = zip_members(data, f.rel) if kind == "zip" else tar_members(data, f.rel, kind == "tgz" or data.startswith(b"\x1f\x8b"))
        except EntryBroken as e:
            notes.append(f"{f.rel} was not opened: {e}")
            continue
        if members_in_all + len(members) > MEMBERS_LIMIT:
            notes.append(f"{f.rel} was not opened: the archives in a submission may hold at most "
                         f"{MEMBERS_LIMIT:,} files and folders in all")
            continue
        members_in_all += len(members)
        for inner in placed(members, f.parts, notes):
            inner.read = _inner(inner.read)
            result.append(inner)
    return sorted(result, key=lambda f: f.parts)
