"""A class folder's entries built as learning platforms write them: folders, zips, tars, archives inside them
(shared by the submission and archive tests)."""
from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

from orchestrator.grade.reading import ASSIGNMENT
from orchestrator.grade.submission import Submission, read_submission

#: Four programs as a student hands them in: each a line of its own.
PROGRAMS = {name: f"print({name!r})\n".encode() for name in ASSIGNMENT}


def put(folder: Path, files: dict[str, bytes]) -> Path:
    """A folder holding files (paths with '/' make subfolders)."""
    for rel, content in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(content)
    return folder


def zipped(path: Path, files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    """A zip holding files under the names given, written as they are (no normalising)."""
    path.write_bytes(zip_bytes(files, method))
    return path


def zip_bytes(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The bytes of a zip holding files under the names given (to put inside another archive)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def tar_bytes(files: dict[str, bytes], gz: bool = False, links: dict[str, tuple[bytes, str]] | None = None) -> bytes:
    """The bytes of a tar (gzipped if asked) holding files under the names given, as they are; `links`:
    name -> (tarfile's type, e.g. tarfile.SYMTYPE, and the link's target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gz else "w", format=tarfile.GNU_FORMAT) as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        for name, (kind, target) in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            archive.addfile(info)
    return buffer.getvalue()


def under(prefix: str, files: dict[str, bytes]) -> dict[str, bytes]:
    return {f"{prefix}{name}": content for name, content in files.items()}


def one(path: Path) -> Submission:
    sub = read_submission(path)
    assert sub.path == str(path)
    return sub
