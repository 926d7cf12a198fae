"""Every helper container (a link's impairer and delayer, the capture sidecar, sharkd's count, the compile check)
is created with exactly these settings: each kind's whole create_container call, as the fake engine records it
(through the real Engine.run_to_end for those that run to their end). Written before the helpers' settings got
one factory (lab/helpers.py), so that it shows the factory moved nothing."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from orchestrator.base.errors import EnvironmentProblem
from orchestrator.evidence import ImageEvidence
from orchestrator.grade import startcheck
from orchestrator.lab import capture
from orchestrator.lab.lab import Lab, Limits, run_helper, start_delayer
from orchestrator.model.topology import load_topology

from tests.support import ROOT

from .fake_engine import FakeEngine

LABELS = {"socklab.run": "r1"}
#: What every create_container call sets that a helper does not (Engine.create_container's defaults).
UNSET = dict(hostname=None, network=None, ip=None, aliases=None, extra_hosts=None, working_dir=None, binds=None,
             sysctls=None, dns=None, dns_opt=None, shm_size=None, tmpfs=None, environment=None, lease=False)
#: A link's helper (impair.py): root with NET_ADMIN alone, in the namespace of the host whose link it is.
LINK = dict(user="root", network_mode="container:host1", cap_drop=["ALL"], cap_add=["NET_ADMIN"],
            security_opt=["no-new-privileges"], read_only=True, mem_limit="64m", nano_cpus=500_000_000,
            pids_limit=16)


def created(engine: FakeEngine) -> dict:
    ((_, settings),) = engine.created
    return settings


def test_the_impairer_runs_to_its_end_as_root_with_net_admin_alone_in_the_hosts_namespace():
    engine = FakeEngine({})
    run_helper(engine, "cap-img", "host1", ["sh", "-c", "x"], "r1-impair-server", LABELS)
    assert created(engine) == {**UNSET, **LINK, "name": "r1-impair-server", "image": "cap-img",
                               "command": ["sh", "-c", "x"], "labels": LABELS, "init": False}


@pytest.mark.parametrize("lease", [True, False])
def test_the_delayer_lasts_with_an_init_and_small_tmpfs_labelled_with_the_host_it_delays(lease):
    engine = FakeEngine({})
    start_delayer(engine, "cap-img", "host1", ["python3", "delayer.py"], "r1-delayer-client", LABELS, lease=lease)
    assert created(engine) == {**UNSET, **LINK, "name": "r1-delayer-client", "image": "cap-img",
                               "command": ["python3", "delayer.py", "lease" if lease else "stay"],
                               "labels": {**LABELS, "socklab.delayer": "host1"}, "init": True,
                               "tmpfs": {"/tmp": "size=1m", "/run": "size=1m"}, "lease": lease}


def test_the_count_runs_as_the_analyst_with_no_network_no_capability_and_a_writable_root():
    engine = FakeEngine({}, helper_result=(0, "total\t0\nend\n"))
    capture.count(engine, "cap-img", b"pcap", ["tcp"], LABELS)
    settings = created(engine)
    assert settings.pop("command")[:3] == ["sh", "-c", f'{capture.SHARKD_START}; exec "$@"']
    assert settings == {**UNSET, "name": None, "image": "cap-img", "labels": LABELS, "user": "analyst",
                        "network_mode": "none", "cap_drop": ["ALL"], "cap_add": None,
                        "security_opt": ["no-new-privileges"], "init": False, "read_only": False,
                        "mem_limit": "512m", "nano_cpus": 1_000_000_000, "pids_limit": 64}


def test_the_compile_check_runs_as_the_user_with_no_network_no_capability_and_its_input_fed():
    engine = FakeEngine({}, helper_result=(0, '{"python": "3.11.2"}\n'))
    image = ImageEvidence("node", "socklab/node:abc", "sha256:abc", "0" * 64)
    startcheck.check(engine, [], image, "student", LABELS, {"PYTHONUNBUFFERED": "1"})
    settings = created(engine)
    assert settings.pop("command")[:2] == ["python3", "-c"]
    assert settings == {**UNSET, "name": None, "image": "sha256:abc", "labels": LABELS, "user": "student",
                        "network_mode": "none", "cap_drop": ["ALL"], "cap_add": None,
                        "security_opt": ["no-new-privileges"], "init": False, "read_only": True,
                        "mem_limit": "256m", "nano_cpus": 1_000_000_000, "pids_limit": 16,
                        "environment": {"PYTHONUNBUFFERED": "1"}, "lease": True}


def test_a_failing_helper_is_still_created_so():
    engine = FakeEngine({}, helper_result=(1, "nft: no\n"))
    with pytest.raises(EnvironmentProblem):
        run_helper(engine, "cap-img", "host1", ["sh"], None, LABELS)
    assert created(engine)["cap_add"] == ["NET_ADMIN"]


def test_the_capture_sidecar_holds_what_capturing_needs_in_the_first_hosts_namespace():
    engine = FakeEngine({})
    topology = load_topology(ROOT / "compose.yaml")
    pool = ThreadPoolExecutor(max_workers=4)
    lab = Lab(engine, topology, ("server", "client"), "r1", LABELS, lambda image: f"{image}@x", Limits(),
              {}, pool, lambda: 0.0)
    try:
        lab.create()
    finally:
        lab.teardown()
        pool.shutdown(wait=True)
    ids = {settings["name"]: cid for cid, settings in engine.created}
    (settings,) = [s for _, s in engine.created if s["name"] == "socklab-r1-capture"]
    (volume,) = settings.pop("binds")
    assert settings == {**{k: v for k, v in UNSET.items() if k != "binds"}, "name": "socklab-r1-capture", "image": "socklab/capture:latest@x", "command": ["cat"],
                        "labels": LABELS, "user": "root", "network_mode": f"container:{ids['socklab-r1-server']}",
                        "cap_drop": ["ALL"], "cap_add": ["NET_RAW", "SETUID", "SETGID", "CHOWN"],
                        "security_opt": ["no-new-privileges"], "init": True, "read_only": True,
                        "tmpfs": {"/tmp": "size=8m,mode=1777"}, "mem_limit": "512m", "nano_cpus": 1_000_000_000,
                        "pids_limit": 64, "lease": True}
    assert volume == "socklab-r1-capture"
