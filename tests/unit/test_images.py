"""The image recipe: inputs hashed, build context reproducible, mmdebstrap asked for what images.yaml says."""
import shutil
from pathlib import Path

import pytest

from orchestrator.lab import images

from tests.support import ROOT



@pytest.fixture
def tree(tmp_path):
    """A copy of the parts of the repository the recipe reads."""
    shutil.copytree(ROOT / "images", tmp_path / "images")
    shutil.copytree(ROOT / "programs", tmp_path / "programs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "requirements.txt", tmp_path / "requirements.txt")  # the lab machine's Python packages
    return tmp_path


def refs(root):
    return images.current_refs(images.load_config(root))


def test_hashes_are_stable(tree):
    assert refs(tree) == refs(tree)
    cfg = images.load_config(tree)
    assert images.context_tar(cfg, cfg.images["node"]) == images.context_tar(cfg, cfg.images["node"])


def test_program_change_changes_node_tag_not_capture_tag(tree):
    old = refs(tree)
    (tree / "programs" / "server_tcp.py").write_text("# changed\n")
    new = refs(tree)
    assert new["node"] != old["node"]
    assert new["capture"] == old["capture"]


def test_bytecode_caches_do_not_count(tree):
    old = refs(tree)
    (tree / "programs" / "__pycache__").mkdir()
    (tree / "programs" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    assert refs(tree) == old


def test_package_list_change_rebuilds_the_base(tree):
    cfg = images.load_config(tree)
    text = (tree / "images" / "images.yaml").read_text().replace("procps, netcat-openbsd", "procps")
    (tree / "images" / "images.yaml").write_text(text)
    cfg2 = images.load_config(tree)
    assert images.base_hash(cfg, cfg.images["node"]) != images.base_hash(cfg2, cfg2.images["node"])


def test_mmdebstrap_command(tree):
    cfg = images.load_config(tree)
    cmd = images.mmdebstrap_command(cfg, cfg.images["node"], Path("/tmp/out.tar"), Path("/tmp/m.tsv"))
    assert cmd[0] == "mmdebstrap"
    include = next(a for a in cmd if a.startswith("--include="))
    assert {"python3", "net-tools", "iproute2", "iputils-ping", "procps"} <= set(include[10:].split(","))
    assert "--dpkgopt=path-exclude=/usr/share/man/*" in cmd
    assert any(images.MANIFEST_IN_IMAGE in a for a in cmd)
    # the mirrors are passed explicitly: mmdebstrap never reads sources from stdin
    assert cmd[-3:] == list(cfg.mirrors) and cmd[-5:-3] == ["bookworm", "/tmp/out.tar"]


def test_context_has_the_dockerfile_and_programs(tree):
    import io
    import tarfile

    cfg = images.load_config(tree)
    names = tarfile.open(fileobj=io.BytesIO(images.context_tar(cfg, cfg.images["node"]))).getnames()
    assert names[0] == "Dockerfile"
    assert "programs/server_tcp.py" in names and "programs/hostinfo.py" in names


def test_the_lab_machine_is_built_on_demand_only(tree):
    cfg = images.load_config(tree)
    assert cfg.images["machine"].on_demand
    assert not cfg.images["node"].on_demand and not cfg.images["capture"].on_demand


def test_requirements_change_rebuilds_the_machine_base_only(tree):
    cfg = images.load_config(tree)
    before = {name: images.base_hash(cfg, spec) for name, spec in cfg.images.items()}
    with open(tree / "requirements.txt", "a") as f:
        f.write("distributed==2026.8.0\n")
    after = {name: images.base_hash(cfg, spec) for name, spec in cfg.images.items()}
    assert after["machine"] != before["machine"]
    assert after["node"] == before["node"] and after["capture"] == before["capture"]


def test_the_machine_python_packages_are_wheels_for_the_image_not_the_host(tree):
    cfg = images.load_config(tree)
    cmd = images.mmdebstrap_command(cfg, cfg.images["machine"], Path("/tmp/out.tar"), Path("/tmp/m.tsv"))
    pip = next(a for a in cmd if " pip install " in a)
    assert "--only-binary=:all:" in pip and "--python-version=3.11" in pip and "--abi=cp311" in pip
    assert f"--requirement {tree / 'requirements.txt'}" in pip
    assert pip.endswith('--target "$1"/usr/local/lib/python3.11/dist-packages')
    platforms = [a for a in pip.split() if a.startswith("--platform=manylinux_2_")]
    assert platforms and platforms[0].startswith("--platform=manylinux_2_36_")  # bookworm's glibc, then older


def test_platform_tags_go_from_the_image_glibc_down():
    py = images.PythonPackages(Path("r.txt"), "3.11", "2.36", "/t")
    tags = py.platforms("x86_64")
    assert tags[0] == "manylinux_2_36_x86_64" and "manylinux_2_17_x86_64" in tags
    assert "manylinux_2_37_x86_64" not in tags and "manylinux2014_x86_64" in tags


class Images:
    """An engine that has some images (ref -> ImageInfo) and must not be asked to build."""

    def __init__(self, have):
        self.have = have

    def image(self, ref):
        return self.have.get(ref)

    def build(self, *args, **kwargs):
        raise AssertionError("nothing should be built")


def test_images_all_present_need_no_lock_nor_a_writable_checkout(tree, monkeypatch):
    """A lab machine's images are loaded from the host's, and its checkout is read-only: ensure() writes nothing."""
    from orchestrator.lab.engineapi import ImageInfo

    cfg = images.load_config(tree)
    have = {}
    for name in ("node", "capture"):
        p = images.plan(cfg, cfg.images[name])
        have[p.ref] = ImageInfo(f"sha256:{name}", {"socklab.packages.sha256": "d"}, (p.ref, p.latest_ref))
    tree.chmod(0o555)
    try:
        built = images.ensure(Images(have), ["node", "capture"], config=cfg, progress=lambda m: None)
    finally:
        tree.chmod(0o755)
    assert {n: b.image_id for n, b in built.items()} == {"node": "sha256:node", "capture": "sha256:capture"}
    assert not (tree / ".cache").exists()
