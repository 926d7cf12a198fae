"""Small class exports as the platforms write them (tests/unit/test_exports.py, tests/unit/test_cli.py): files
put in a folder or a zip by name, and a student's git repository made with the git CLI."""
from __future__ import annotations

import codecs
import io
import os
import subprocess
import zipfile
from pathlib import Path

PROGRAM = b"print('hello')\n"


def export_folder(root: Path, entries: dict[str, bytes]) -> Path:
    """A folder holding each path (a '/' makes folders) with its bytes."""
    for name, data in entries.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def export_zip(path: Path, entries: dict[str, bytes]) -> Path:
    """A zip holding each member with its bytes, as a platform's download does."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    path.write_bytes(buf.getvalue())
    return path


def git(repo: Path, *args: str) -> str:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(repo.parent), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@x", "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@x"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def git_repo(repo: Path, files: dict[str, bytes], commit: bool = True) -> str:
    """A repository holding `files`, committed (its commit id) or only in the working tree ('')."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    export_folder(repo, files)
    if not commit:
        return ""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "lab")
    return git(repo, "rev-parse", "HEAD")


def csv_file(tmp_path, text: str, name: str, bom: bool = False) -> str:
    """`text` written as a platform writes its CSV (UTF-8, with a BOM if `bom`) into `tmp_path`/`name`; its path."""
    path = tmp_path / name
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))
    return str(path)
