"""The lab's images, built with no registry, rebuilt only when their inputs change.

images/images.yaml says what each image is made of. For each image:
  1. the root filesystem comes from Debian packages (mmdebstrap on the host) and is `docker import`ed
     as socklab/<name>-base:<base hash>, where the base hash covers the suite, mirrors, packages,
     dpkg filters and the customize script;
  2. its Dockerfile adds the project's own files (built with no network) as socklab/<name>:<hash>,
     where the hash covers the base hash and every byte of the build context; `:latest` points there.
The packages that went in (name, version, architecture) are written into the image at
/etc/socklab/packages.tsv, so a run can name exactly what it ran on.

An image may also take Python packages (`python:` in images.yaml: a requirements file and the image's Python
version): pip on the host installs them into the root filesystem (`--target`, wheels only, chosen for the
image's Python and glibc, not the host's), since a container has no network to install them itself; the
requirements file's bytes count in the base hash. An image marked `on_demand` is built only when named
(the cluster's lab machine: `make cluster-up`), never by `make images` alone.
"""
from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..base.errors import ImageBuildError, InvalidInput

#: Bump when the way images are assembled changes (so old hashes stop matching).
RECIPE = "socklab-images-1"
REPOSITORY = "socklab"
LATEST = "latest"  # the tag pointed at the current build of each image (compose.yaml uses it)
MANIFEST_IN_IMAGE = "/etc/socklab/packages.tsv"
_SKIP = {"__pycache__", ".pytest_cache"}


@dataclass(frozen=True)
class ImageSpec:
    name: str
    description: str
    packages: tuple[str, ...]
    customize: Path | None
    dockerfile: Path
    context: tuple[Path, ...]
    python: PythonPackages | None = None
    on_demand: bool = False  # built only when named, not by `make images` (ensure() without names)


@dataclass(frozen=True)
class PythonPackages:
    """Python packages pip installs into an image's root filesystem, from the host (images.yaml `python:`)."""

    requirements: Path  # a pinned requirements file (requirements.txt)
    version: str  # the image's Python, e.g. "3.11" (Debian bookworm's python3)
    glibc: str  # the image's C library, e.g. "2.36": the newest manylinux wheels it takes
    target: str  # where in the image, e.g. /usr/local/lib/python3.11/dist-packages (on its sys.path)

    def platforms(self, arch: str) -> list[str]:
        """The wheel platform tags the image's Python would accept itself (pip takes them only as a list)."""
        major, newest = (int(x) for x in self.glibc.split("."))
        tags = [f"manylinux_{major}_{minor}_{arch}" for minor in range(newest, 4, -1)]
        return tags + [f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}", f"linux_{arch}"]


@dataclass(frozen=True)
class ImagesConfig:
    root: Path  # the repository root: context paths are relative to it
    suite: str
    variant: str
    mirrors: tuple[str, ...]
    dpkg_excludes: tuple[str, ...]
    dpkg_includes: tuple[str, ...]
    images: dict[str, ImageSpec]


@dataclass(frozen=True)
class BuiltImage:
    name: str
    ref: str  # socklab/<name>:<hash>
    latest_ref: str  # socklab/<name>:latest, pointed at it
    image_id: str
    built: bool  # False when it already existed
    packages_sha256: str  # of /etc/socklab/packages.tsv in the image (label socklab.packages.sha256)


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def load_config(root: Path | None = None) -> ImagesConfig:
    root = root or repo_root()
    path = root / "images" / "images.yaml"
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise InvalidInput(f"{path}: cannot read the image definitions: {e}") from e
    try:
        images = {
            name: ImageSpec(
                name=name,
                description=spec.get("description", ""),
                packages=tuple(spec["packages"]),
                customize=(path.parent / spec["customize"]) if spec.get("customize") else None,
                dockerfile=path.parent / spec["dockerfile"],
                context=tuple(root / c for c in spec.get("context", [])),
                python=_python_packages(root, spec.get("python")),
                on_demand=bool(spec.get("on_demand", False)),
            )
            for name, spec in raw["images"].items()
        }
        return ImagesConfig(
            root=root, suite=raw["suite"], variant=raw["variant"], mirrors=tuple(raw["mirrors"]),
            dpkg_excludes=tuple(raw.get("dpkg_excludes", [])), dpkg_includes=tuple(raw.get("dpkg_includes", [])),
            images=images,
        )
    except (KeyError, TypeError, AttributeError) as e:
        raise InvalidInput(f"{path}: malformed image definitions (missing or wrong key: {e})") from e


def _python_packages(root: Path, raw) -> PythonPackages | None:
    if raw is None:
        return None
    version = str(raw["version"])
    return PythonPackages(requirements=root / raw["requirements"], version=version, glibc=str(raw["glibc"]),
                          target=raw.get("target", f"/usr/local/lib/python{version}/dist-packages"))


def base_hash(config: ImagesConfig, spec: ImageSpec) -> str:
    """Hash of everything the root filesystem is made from."""
    inputs = {
        "recipe": RECIPE, "suite": config.suite, "variant": config.variant, "mirrors": config.mirrors,
        "excludes": config.dpkg_excludes, "includes": config.dpkg_includes, "packages": sorted(spec.packages),
        "customize": spec.customize.read_text() if spec.customize else "",
    }
    if spec.python is not None:  # (only then: the images without Python packages keep their hashes)
        py = spec.python
        try:
            requirements = py.requirements.read_text()
        except OSError as e:
            raise InvalidInput(f"image {spec.name} installs the Python packages of {py.requirements}, "
                               f"which cannot be read: {e}") from e
        inputs["python"] = {"requirements": requirements, "version": py.version, "glibc": py.glibc,
                            "target": py.target}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def context_tar(config: ImagesConfig, spec: ImageSpec) -> bytes:
    """The Docker build context: the Dockerfile plus the declared paths, byte-for-byte reproducible."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        files = [(spec.dockerfile, "Dockerfile")]
        for top in spec.context:
            if not top.exists():
                raise ImageBuildError(f"the build context of image {spec.name} names {top}, which does not exist")
            paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
            for p in paths:
                if not _SKIP.intersection(p.relative_to(config.root).parts) and p.suffix != ".pyc":
                    files.append((p, str(p.relative_to(config.root))))
        for src, arcname in files:
            data = src.read_bytes()
            info = tarfile.TarInfo(arcname)
            info.size, info.mtime, info.uid, info.gid = len(data), 0, 0, 0
            info.mode = 0o755 if os.access(src, os.X_OK) else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def image_hash(base: str, context: bytes) -> str:
    return hashlib.sha256(base.encode() + context).hexdigest()[:16]


def mmdebstrap_command(config: ImagesConfig, spec: ImageSpec, out_tar: Path, manifest_out: Path) -> list[str]:
    cmd = ["mmdebstrap", "--mode=root", f"--variant={config.variant}", "--include=" + ",".join(spec.packages)]
    cmd += [f"--dpkgopt=path-exclude={p}" for p in config.dpkg_excludes]
    cmd += [f"--dpkgopt=path-include={p}" for p in config.dpkg_includes]
    if spec.customize:
        cmd.append(f"--customize-hook={spec.customize} \"$1\"")
    if spec.python is not None:
        cmd.append("--customize-hook=" + pip_command(spec.python))
    record = (
        f'mkdir -p "$1"{os.path.dirname(MANIFEST_IN_IMAGE)} && '
        f'dpkg-query --admindir="$1"/var/lib/dpkg -W -f=\'${{Package}}\\t${{Version}}\\t${{Architecture}}\\n\' '
        f'> "$1"{MANIFEST_IN_IMAGE} && cp "$1"{MANIFEST_IN_IMAGE} {manifest_out}'
    )
    cmd.append(f"--customize-hook={record}")
    return cmd + [config.suite, str(out_tar), *config.mirrors]


def pip_command(py: PythonPackages, arch: str | None = None) -> str:
    """The customize hook that installs `py` into the root filesystem "$1": the host's pip (the container has
    no network), wheels only, for the image's Python and glibc whatever the host's are."""
    arch = arch or os.uname().machine
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-cache-dir",
           "--no-warn-script-location", "--only-binary=:all:", "--implementation=cp",
           f"--python-version={py.version}", f"--abi=cp{py.version.replace('.', '')}"]
    cmd += [f"--platform={tag}" for tag in py.platforms(arch)]
    cmd += ["--requirement", str(py.requirements)]
    return " ".join(shlex.quote(c) for c in cmd) + f' --target "$1"{shlex.quote(py.target)}'


def ensure(engine, names: list[str] | None = None, *, force: bool = False,
           progress: Callable[[str], None] = print, config: ImagesConfig | None = None) -> dict[str, BuiltImage]:
    """Make sure socklab/<name>:<hash> exists for each image (building what is missing) and tag :latest."""
    config = config or load_config()
    names = names or [name for name, spec in config.images.items() if not spec.on_demand]
    unknown = [n for n in names if n not in config.images]
    if unknown:
        raise InvalidInput(f"unknown image(s) {', '.join(unknown)}; known: {', '.join(config.images)}")
    if not force:  # all there already (a lab machine's, loaded from the host's): no lock, nothing to write
        present = {name: _present(engine, plan(config, config.images[name])) for name in names}
        if all(present.values()):
            return present
    cache = config.root / ".cache" / "images"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes building at once would race on the same tags
        # the images are independent: build them at once (mmdebstrap mostly waits on downloads)
        with ThreadPoolExecutor(max_workers=len(names) or 1) as pool:
            futures = {name: pool.submit(_ensure_one, engine, config, config.images[name], cache, force, progress)
                       for name in names}
            return {name: future.result() for name, future in futures.items()}


@dataclass(frozen=True)
class Plan:
    """What an image is, as the working tree defines it: its hashes, tags and build context."""

    spec: ImageSpec
    base_hash: str
    hash: str
    context: bytes

    @property
    def repo(self) -> str:
        return f"{REPOSITORY}/{self.spec.name}"

    @property
    def base_repo(self) -> str:
        return f"{REPOSITORY}/{self.spec.name}-base"

    @property
    def ref(self) -> str:
        return f"{self.repo}:{self.hash}"

    @property
    def base_ref(self) -> str:
        return f"{self.base_repo}:{self.base_hash}"

    @property
    def latest_ref(self) -> str:
        return f"{self.repo}:{LATEST}"


def plan(config: ImagesConfig, spec: ImageSpec) -> Plan:
    bh = base_hash(config, spec)
    context = context_tar(config, spec)
    return Plan(spec, bh, image_hash(bh, context), context)


def _present(engine, p: Plan) -> BuiltImage | None:
    """The image of plan `p` if the engine has it and :latest points at it already, else None."""
    found = engine.image(p.ref)
    if found is None or p.latest_ref not in found.tags:
        return None
    return BuiltImage(p.spec.name, p.ref, p.latest_ref, found.id, False,
                      found.labels.get("socklab.packages.sha256", "unknown"))


def _ensure_one(engine, config: ImagesConfig, spec: ImageSpec, cache: Path, force: bool,
                progress: Callable[[str], None]) -> BuiltImage:
    p = plan(config, spec)
    found = None if force else engine.image(p.ref)
    built = found is None
    if built:
        if force or engine.image(p.base_ref) is None:
            _build_rootfs(engine, config, p, cache, progress)
        progress(f"building {p.ref} (Dockerfile, no network)")
        # socklab.packages.sha256 comes from the base image's labels
        found = engine.build(p.context, p.ref, buildargs={"BASE": p.base_ref}, labels={
            "socklab.image": spec.name, "socklab.inputs": p.hash, "socklab.base": p.base_ref,
        })
    if p.latest_ref not in found.tags:
        engine.tag(found.id, p.repo, LATEST)
    return BuiltImage(spec.name, p.ref, p.latest_ref, found.id, built,
                      found.labels.get("socklab.packages.sha256", "unknown"))


def _build_rootfs(engine, config: ImagesConfig, p: Plan, cache: Path, progress: Callable[[str], None]) -> None:
    if shutil.which("mmdebstrap") is None:
        raise ImageBuildError(
            f"image {p.base_ref} is missing and cannot be built: mmdebstrap is not installed. "
            "Run `make images` (it installs mmdebstrap) or `apt-get install mmdebstrap`."
        )
    spec = p.spec
    tar_path = cache / f"{spec.name}-base-{p.base_hash}.tar"
    manifest = cache / f"{spec.name}-base-{p.base_hash}.packages.tsv"
    cmd = mmdebstrap_command(config, spec, tar_path, manifest)
    progress(f"building {p.base_ref} from Debian {config.suite} packages with mmdebstrap "
             f"({', '.join(spec.packages)})")
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace")
        if proc.returncode != 0:
            tail = "\n".join(proc.stdout.splitlines()[-25:])
            raise ImageBuildError(f"mmdebstrap failed (exit {proc.returncode}) building {p.base_ref}:\n{tail}")
        progress(f"  {p.base_ref}: root filesystem ready in {time.monotonic() - started:.0f} s; importing")
        digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
        engine.import_rootfs(str(tar_path), p.base_repo, p.base_hash, changes=[
            'CMD ["/bin/bash"]', f"LABEL socklab.image={spec.name}-base socklab.inputs={p.base_hash} "
            f"socklab.packages.sha256={digest}",
        ])
    finally:
        tar_path.unlink(missing_ok=True)


def current_refs(config: ImagesConfig | None = None) -> dict[str, str]:
    """socklab/<name>:<hash> for every image as the working tree defines it (no engine needed)."""
    config = config or load_config()
    return {name: plan(config, spec).ref for name, spec in config.images.items()}


def remove(engine, *, keep_current: bool, config: ImagesConfig | None = None,
           progress: Callable[[str], None] = print) -> int:
    """Remove the project's images (found by their socklab.image label), children before their bases.
    With keep_current, only those the working tree no longer defines (old inputs) go."""
    config = config or load_config()
    current = set()
    if keep_current:
        for spec in config.images.values():
            p = plan(config, spec)
            current |= {p.ref, p.base_ref, p.latest_ref}
    found = engine.images_labelled("socklab.image")
    found.sort(key=lambda img: (img.get("Labels") or {}).get("socklab.image", "").endswith("-base"))
    removed = 0
    for img in found:
        tags = img.get("RepoTags") or []
        if keep_current and current.intersection(tags):
            continue
        progress(f"removing {', '.join(tags) or img['Id'][7:19]}")
        engine.remove_image(img["Id"])
        removed += 1
    return removed
