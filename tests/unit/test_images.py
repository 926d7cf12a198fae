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
