"""The cheap make targets for real, as a person types them (tests/unit/test_make_targets.py dry-runs every
target): make validate, make scenario-tcp, make ladder PCAP=... . About 25 s in all."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.integration import labelled

pytestmark = pytest.mark.docker

#: make's own variables (under `make test`, MAKEFLAGS carries the outer make's) and the Makefile's.
_LEAKS = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS", "PROGRAMS", "SUBMISSIONS", "JOBS",
          "PCAP", "PYTHON", "PROJECT", "COMPOSE", "VENV", "PY"}


def make(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in _LEAKS}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_make_validate_checks_every_scenario_and_the_suite():
    proc = make("validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        shown = path.relative_to(ROOT)
        assert re.search(rf"^{re.escape(str(shown))}: ok \(", proc.stdout, re.M), f"{shown}:\n{proc.stdout}"
    assert re.search(r"^scenarios/suite\.yaml: ok \(suite sockets-assignment: .*; at most \d+ points\)$",
                     proc.stdout, re.M), proc.stdout


def test_make_scenario_tcp_plays_and_passes():
    """The README's first command: exit 0, verdict PASS, its report written, nothing of the run left."""
    proc = make("scenario-tcp")
    found = re.search(r"^Artifacts (\S+)$", proc.stdout, re.M)
    folder = Path(found.group(1)) if found else None
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "verdict PASS" in proc.stdout, proc.stdout
        assert folder is not None and folder.parent == ROOT / "runs", proc.stdout
        report = json.loads((folder / "report.json").read_text())
        assert report["verdict"] == "pass" and report["scenario"]["path"] == "scenarios/tcp.yaml", report["verdict"]
        assert report["run_id"] == folder.name
        assert labelled(f"socklab.run={folder.name}") == ([], [])
    finally:
        if folder is not None and folder.parent == ROOT / "runs":
            shutil.rmtree(folder, ignore_errors=True)


def test_make_ladder_draws_the_capture_it_is_given(tmp_path):
    pcap = tmp_path / "lab-exchange.pcap"
    shutil.copyfile(ROOT / "tests/data/tcp-exchange.pcap", pcap)
    proc = make("ladder", f"PCAP={pcap}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    svg = pcap.with_suffix(".svg")
    assert svg.is_file() and "<svg" in svg.read_text()[:500], proc.stdout
    assert f"{svg}:" in proc.stdout, proc.stdout
