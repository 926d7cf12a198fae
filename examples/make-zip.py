"""Build examples/submissions/zipped-student.zip from examples/zipped-student-src/, byte for byte the same
on every machine: a student's hand-in as a learning platform exports it (one folder inside the zip, the
programs named in mixed case, e.g. Sockets_Lab_Marta/Server_TCP.py).

Usage (from anywhere):
    python3 examples/make-zip.py           # write the zip
    python3 examples/make-zip.py --check   # exit 1 if the committed zip is not what the source builds

What makes the bytes reproducible:
- entries in one fixed order (paths sorted as text, a folder before what it holds);
- every entry dated 2026-11-20 14:30:00 (a zip stores local time without a zone, to 2 seconds), whatever
  the files' own times;
- fixed permissions (files rw-r--r--, folders rwxr-xr-x) and "made on Unix", whatever the file system says;
- no extra fields, no comments;
- stored, not deflated: deflate's output depends on the zlib build (zlib-ng's differs from zlib's), a stored
  entry's bytes do not. Platforms export both kinds; every zip reader reads both.
Only regular files and folders are taken; __pycache__, dotfiles and anything else (links) are refused or
skipped, so a stray editor file cannot change the zip silently.
"""
from __future__ import annotations

import argparse
import io
import stat
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "zipped-student-src"
TARGET = HERE / "submissions" / "zipped-student.zip"
WHEN = (2026, 11, 20, 14, 30, 0)
UNIX = 3  # ZipInfo.create_system: made on Unix (the external attributes then hold a Unix mode)


def entries(source: Path) -> list[tuple[str, bytes | None]]:
    """(name in the zip, content; None for a folder), in the zip's order."""
    found: list[tuple[str, bytes | None]] = []
    for path in sorted(source.rglob("*"), key=lambda p: p.relative_to(source).as_posix()):
        relative = path.relative_to(source)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            found.append((relative.as_posix() + "/", None))
        elif stat.S_ISREG(mode):
            found.append((relative.as_posix(), path.read_bytes()))
        else:
            sys.exit(f"make-zip: {path}: not a regular file or a folder")
    return found


def build(source: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in entries(source):
            info = zipfile.ZipInfo(name, date_time=WHEN)
            info.create_system = UNIX
            info.compress_type = zipfile.ZIP_STORED
            if content is None:
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10  # 0x10: the MS-DOS folder bit
                archive.writestr(info, b"")
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                archive.writestr(info, content)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed zip instead of writing it")
    args = parser.parse_args()
    data = build(SOURCE)
    if args.check:
        current = TARGET.read_bytes() if TARGET.is_file() else b""
        if current != data:
            print(f"{TARGET.relative_to(HERE.parent)} is not what {SOURCE.relative_to(HERE.parent)}/ builds: "
                  "run python3 examples/make-zip.py", file=sys.stderr)
            return 1
        print(f"{TARGET.relative_to(HERE.parent)}: up to date ({len(data):,} bytes)")
        return 0
    TARGET.write_bytes(data)
    print(f"wrote {TARGET.relative_to(HERE.parent)} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
