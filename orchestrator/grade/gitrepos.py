"""A class as a folder of git repositories (one per student, e.g. GitHub Classroom's clones): each graded at
its HEAD commit, never its working tree, read with the git CLI without trusting the repository.

- Only `<repo>/.git` that is a folder (lstat: not a link, not a gitfile pointing elsewhere) is read, with
  `--git-dir` (no working tree is ever looked at), the system's and the user's configuration left out,
  `core.fsmonitor`, hooks and replace objects off, no terminal prompt and no network (only ls-tree and
  cat-file run: plumbing that runs no filter, hook or helper).
- Every git call has a timeout (GIT_TIMEOUT) and its output is capped: the tree's listing at
  LISTING_LIMIT bytes and MEMBERS_LIMIT entries, a file at the limit asked (checked against the size the
  tree gives before it is read). Entries are named like a zip's members (reading.py): hidden ones are
  ignored, those deeper than DEPTH are not looked at, a symbolic link (mode 120000) is refused like a link,
  a submodule (160000) is not followed.
- A repository with no commit, a broken one, one git cannot read, or one that borrows another's objects
  (objects/info/alternates) is that student's error.
"""
from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import threading
from pathlib import Path

from ..base.text import escaped
from .reading import ASSIGNMENT, DEPTH, MEMBERS_LIMIT, EntryBroken, EntryFile, FileRefused, is_ignored

#: Seconds a git call may take.
GIT_TIMEOUT = 20
#: The most bytes of a tree's listing read (each entry is ~60 bytes and its path).
LISTING_LIMIT = 1024 * 1024
_ENV_KEEP = ("PATH", "LANG", "TMPDIR")


def is_repository(folder: str | Path) -> bool:
    """Whether a folder holds a .git folder (never a link)."""
    try:
        return stat.S_ISDIR(os.lstat(Path(folder) / ".git").st_mode)
    except OSError:
        return False


def _command(repo: Path, *args: str) -> list[str]:
    return ["git", "-c", "core.fsmonitor=false", "-c", "safe.directory=*", "-c", "core.hooksPath=/dev/null",
            "-c", "protocol.allow=never", "-c", "core.untrackedCache=false", "--no-replace-objects",
            f"--git-dir={repo / '.git'}", *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _ENV_KEEP}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, HOME=os.devnull, GIT_TERMINAL_PROMPT="0",
               GIT_OPTIONAL_LOCKS="0", GIT_NO_REPLACE_OBJECTS="1", LC_ALL="C")
    return env


def _git(repo: Path, args: tuple[str, ...], limit: int) -> tuple[int, bytes]:
    """git's exit status and at most limit + 1 bytes of its output; EntryBroken if it cannot run or takes
    over GIT_TIMEOUT seconds."""
    shown = escaped(repo.name)
    try:
        proc = subprocess.Popen(_command(repo, *args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=_env(), cwd=os.path.dirname(os.path.abspath(repo)))
    except OSError as e:
        raise EntryBroken(f"{shown}: git cannot be run ({e.strerror}); install git to grade repositories") from None
    fired: list[bool] = []
    timer = threading.Timer(GIT_TIMEOUT, lambda: (fired.append(True), proc.kill()))
    timer.start()
    out = bytearray()
    try:
        assert proc.stdout is not None
        while len(out) <= limit:
            chunk = proc.stdout.read1(65536)
            if not chunk:
                break
            out += chunk
        if len(out) > limit:
            proc.kill()
        status = proc.wait()
    finally:
        timer.cancel()
        proc.stdout.close()  # type: ignore[union-attr]
    if fired and len(out) <= limit:
        raise EntryBroken(f"{shown}: git took over {GIT_TIMEOUT} s to read it; not graded")
    return status, bytes(out)


def head_commit(repo: Path) -> str:
    """The commit HEAD names; EntryBroken if there is none, or if the repository borrows another's objects
    (objects/info/alternates: what it holds could then come from any repository on the machine, another
    student's included)."""
    with contextlib.suppress(OSError):
        os.lstat(repo / ".git" / "objects" / "info" / "alternates")
        raise EntryBroken(f"{escaped(repo.name)} uses another repository's objects (.git/objects/info/alternates), "
                          "so what it holds could come from elsewhere: clone it again without --shared or "
                          "--reference")
    status, out = _git(repo, ("rev-parse", "--verify", "--quiet", "--end-of-options", "HEAD^{commit}"), 200)
    commit = out.decode("ascii", "replace").strip()
    if status != 0 or not commit:
        raise EntryBroken(f"{escaped(repo.name)} has no commit (HEAD names none, or git cannot read it): only "
                          "committed files are graded, never the working tree; commit the programs and push them")
    return commit


def repository_files(repo: Path, commit: str, notes: list[str]) -> list[EntryFile]:
    """The files of a commit's tree down to DEPTH (see the module); nothing is read yet."""
    shown = escaped(repo.name)
    status, out = _git(repo, ("ls-tree", "-r", "-z", "-l", "--full-tree", commit), LISTING_LIMIT)
    if status != 0 and len(out) <= LISTING_LIMIT:
        raise EntryBroken(f"{shown}: git cannot list the files of its commit {commit[:12]} (a damaged repository)")
    records = out.split(b"\0")
    if len(out) > LISTING_LIMIT or len(records) > MEMBERS_LIMIT + 1:
        raise EntryBroken(f"{shown} holds over {MEMBERS_LIMIT:,} files at its commit; a submission is a handful "
                          "of files: leave out virtual environments, data and build output")
    files = []
    for record in records:
        if b"\t" not in record:
            continue
        meta, _, raw = record.partition(b"\t")
        fields = meta.split()
        if len(fields) != 4:
            continue
        mode, kind, sha, size = (f.decode("ascii", "replace") for f in fields)
        path = raw.decode("utf-8", "surrogateescape")
        parts = tuple(p for p in path.split("/") if p)
        if not parts or kind != "blob":
            continue  # a submodule's commit: not followed
        rel = escaped("/".join(parts))
        if any(is_ignored(p) for p in parts) or len(parts) - 1 > DEPTH:
            if parts[-1].lower() in ASSIGNMENT:
                notes.append(f"{rel} was not looked at: hidden, or over {DEPTH} folders deep")
            continue
        files.append(EntryFile(parts, _reader(repo, mode, sha, int(size) if size.isdigit() else 0, rel)))
    return sorted(files, key=lambda f: f.parts)


def _reader(repo: Path, mode: str, sha: str, size: int, rel: str):
    def read(limit: int) -> bytes:
        if mode == "120000":
            raise FileRefused(f"{rel} is a symbolic link (in the commit); a submission's files are read as they "
                              "are, links are not followed: commit the program itself")
        if size > limit:
            raise FileRefused(f"{rel} is {size:,} bytes; a program file may be at most {limit:,}")
        status, data = _git(repo, ("cat-file", "blob", sha), limit)
        if status != 0 or len(data) > limit:
            raise FileRefused(f"{rel} cannot be read from the commit (git says the repository is damaged)")
        return data
    return read
