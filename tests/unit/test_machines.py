"""The cluster on one host (lab/machines.py) against a fake engine: what is created and how it is hardened, the
images every machine gets (the host's, checked by id), the workers' commands, and that a failure leaves nothing."""
from __future__ import annotations

import pytest

from orchestrator.base.errors import EnvironmentProblem, InvalidInput, WaitTimeout
from orchestrator.base.labels import CLUSTER_LABEL
from orchestrator.lab import machines

from .fake_engine import FakeClusterEngine

HOST_IMAGES = {"socklab/node:aaaa": "sha256:node", "socklab/capture:bbbb": "sha256:capture"}


class Machines:
    """The host's fake engine, and one fake engine per lab machine (what `connect` opens on its socket)."""

    def __init__(self, loads_as: str | None = None, answering: bool = True):
        self.host = FakeClusterEngine(HOST_IMAGES)
        self.inner: dict[str, FakeClusterEngine] = {}
        self.loads_as, self.answering = loads_as, answering
        self.listening = True

    def connect(self, docker_host: str) -> FakeClusterEngine:
        if not self.answering:
            raise EnvironmentProblem("cannot reach a Docker Engine (connection refused)")
        return self.inner.setdefault(docker_host, FakeClusterEngine(loads_as=self.loads_as))

    def reachable(self, ip: str, port: int) -> None:
        if not self.listening:
            raise ConnectionRefusedError(111, "Connection refused")


def plan(tmp_path, **changes) -> machines.ClusterPlan:
    certs = tmp_path / "certs"
    certs.mkdir(exist_ok=True)
    (certs / "ca.pem").write_text("a CA")
    settings = dict(name="t", workers=2, machine_image="socklab/machine:cccc", lab_images=HOST_IMAGES,
                    root=tmp_path / "checkout", certs=certs, state=tmp_path / "state", timeout=0.3)
    return machines.ClusterPlan(**{**settings, **changes})


def up(fakes: Machines, p: machines.ClusterPlan) -> machines.Cluster:
    return machines.up(fakes.host, p, fakes.connect, progress=lambda m: None, reachable=fakes.reachable)


def by_name(engine: FakeClusterEngine) -> dict[str, dict]:
    return {c["name"]: c for c in engine.containers.values()}


def test_a_cluster_is_a_network_a_scheduler_and_its_machines_all_labelled(tmp_path):
    fakes = Machines()
    cluster = up(fakes, plan(tmp_path))
    (network,) = fakes.host.networks.values()
    assert network["internal"] and network["subnet"] == "10.79.1.0/24"  # 10.79.0.0/24 was in use
    assert set(by_name(fakes.host)) == {"socklab-cluster-t-scheduler", "socklab-cluster-t-machine1",
                                        "socklab-cluster-t-machine2"}
    everything = [*fakes.host.containers.values(), *fakes.host.networks.values(), *fakes.host.volumes.values()]
    assert all(r["labels"][CLUSTER_LABEL] == "t" for r in everything)
    assert cluster.address == "tls://10.79.1.2:8786" and cluster.dashboard == "http://10.79.1.2:8787/status"
    assert [(m.name, m.ip) for m in cluster.machines] == [("machine1", "10.79.1.10"), ("machine2", "10.79.1.11")]


def test_a_machine_gets_what_an_engine_needs_and_no_more(tmp_path):
    fakes = Machines()
    p = plan(tmp_path)
    up(fakes, p)
    machine = by_name(fakes.host)["socklab-cluster-t-machine1"]
    assert machine["cap_drop"] == ["ALL"] and "SYS_RESOURCE" not in machine["cap_add"]
    assert {"SYS_ADMIN", "NET_ADMIN"} <= set(machine["cap_add"])
    assert not {"SYS_MODULE", "SYS_TIME", "SYS_BOOT", "SYS_RAWIO"} & set(machine["cap_add"])
    assert "seccomp=unconfined" in machine["security_opt"]
    binds = machine["binds"]
    assert binds[str(p.root)] == {"bind": machines.SRC, "mode": "ro"}
    assert binds[str(p.certs)] == {"bind": machines.CERTS, "mode": "ro"}
    assert binds["/sys/fs/cgroup"]["mode"] == "rw"
    assert binds["socklab-cluster-t-machine1-docker"] == {"bind": "/var/lib/docker", "mode": "rw"}
    assert "/run" in machine["tmpfs"] and machine["command"][0] == "machine-engine"
    assert f"--host=unix://{machines.RUNDIR}/docker.sock" in machine["command"]


def test_the_scheduler_has_no_capability_and_a_read_only_root(tmp_path):
    fakes = Machines()
    up(fakes, plan(tmp_path))
    scheduler = by_name(fakes.host)["socklab-cluster-t-scheduler"]
    assert scheduler["cap_drop"] == ["ALL"] and not scheduler["cap_add"] and scheduler["read_only"]
    assert scheduler["command"] == ["socklab", "cluster", "scheduler", "--certs", machines.CERTS, "--host",
                                    "0.0.0.0", "--port", "8786", "--dashboard-port", "8787"]


def test_every_machine_gets_the_hosts_images_by_id_tagged_latest(tmp_path):
    fakes = Machines()
    up(fakes, plan(tmp_path))
    assert len(fakes.inner) == 2
    for inner in fakes.inner.values():
        assert inner.images == HOST_IMAGES
        assert inner.tags == {"socklab/node:latest": "sha256:node", "socklab/capture:latest": "sha256:capture"}
        assert inner.closed
    assert not (tmp_path / "state" / "images").exists()  # the saved tarballs are gone


def test_each_worker_is_started_on_its_machine_with_the_contracts_arguments(tmp_path):
    fakes = Machines()
    cluster = up(fakes, plan(tmp_path, plays=3))
    assert [cid for cid, _ in fakes.host.execs] == [m.container for m in cluster.machines]
    command = fakes.host.execs[0][1]
    assert command[:3] == ["sh", "-c", 'exec "$@" >/proc/1/fd/1 2>/proc/1/fd/2']
    assert command[4:] == ["socklab", "worker", "tls://10.79.1.2:8786", "--certs", machines.CERTS,
                           "--name", "machine1", "--plays", "3"]


def test_machines_only_start_no_scheduler_and_no_worker_and_need_no_certificates(tmp_path):
    fakes = Machines()
    cluster = up(fakes, plan(tmp_path, workers=1, start_workers=False, certs=tmp_path / "none"))
    assert set(by_name(fakes.host)) == {"socklab-cluster-t-machine1"}
    assert fakes.host.execs == [] and cluster.address is None
    assert str(tmp_path / "none") not in by_name(fakes.host)["socklab-cluster-t-machine1"]["binds"]


def test_an_image_loaded_as_another_is_refused_and_nothing_is_left(tmp_path):
    fakes = Machines(loads_as="sha256:other")
    with pytest.raises(EnvironmentProblem, match=r"machine\d: after loading socklab/node:aaaa its engine has "
                                                 r"sha256:other, not the host's sha256:node"):
        up(fakes, plan(tmp_path))
    assert fakes.host.labelled(CLUSTER_LABEL) == {"containers": [], "networks": [], "volumes": []}
    assert fakes.host.execs == [] and not (tmp_path / "state").exists()


def test_an_engine_that_never_answers_is_said_with_what_was_seen(tmp_path):
    fakes = Machines(answering=False)
    with pytest.raises(WaitTimeout) as caught:
        up(fakes, plan(tmp_path, workers=1))
    message = str(caught.value)
    assert "the Docker Engine of lab machine machine1 to answer on unix://" in message
    assert "connection refused" in message and "its container wrote nothing yet" in message
    assert not fakes.host.containers


def test_a_machine_whose_engine_died_is_said_at_once_with_its_last_output(tmp_path):
    fakes = Machines(answering=False)
    real_start = fakes.host.start

    def start_and_die(cid):
        real_start(cid)
        if fakes.host.containers[cid]["name"].endswith("machine1"):
            fakes.host.states[cid] = {"Status": "exited", "Running": False, "ExitCode": 1}
            fakes.host.containers[cid]["logs"] = "failed to start daemon: permission denied\n"

    fakes.host.start = start_and_die
    with pytest.raises(WaitTimeout, match=r"(?s)can no longer come.*exited \(exit code 1\).*permission denied"):
        up(fakes, plan(tmp_path, workers=1, timeout=30))


def test_a_scheduler_that_does_not_listen_stops_the_cluster_before_the_images_are_loaded(tmp_path):
    fakes = Machines()
    fakes.listening = False
    with pytest.raises(WaitTimeout, match=r"the scheduler \(socklab-cluster-t-scheduler\) to listen on "
                                          r"10\.79\.1\.2:8786.*Connection refused"):
        up(fakes, plan(tmp_path))
    assert fakes.inner == {} and not fakes.host.containers


def test_a_cluster_up_already_is_not_brought_up_twice(tmp_path):
    fakes = Machines()
    up(fakes, plan(tmp_path))
    with pytest.raises(InvalidInput, match="cluster t is up already .* `make cluster-down` first"):
        up(fakes, plan(tmp_path))
    assert len(fakes.host.containers) == 3  # the first one untouched


def test_no_certificates_is_refused_before_anything_is_made(tmp_path):
    fakes = Machines()
    with pytest.raises(InvalidInput, match=r"no certificates in .*: make them with `socklab cluster certs"):
        up(fakes, plan(tmp_path, certs=tmp_path / "missing"))
    assert not fakes.host.networks


@pytest.mark.parametrize(("changes", "says"), [
    ({"workers": 0}, "WORKERS must be between 1 and 50"),
    ({"name": "a b"}, "letters, digits and '-'"),
])
def test_a_plan_out_of_bounds_is_refused(tmp_path, changes, says):
    with pytest.raises(InvalidInput, match=says):
        machines.check_plan(plan(tmp_path, **changes))


def test_a_socket_path_too_long_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match="too long a path for a unix socket"):
        machines.check_plan(plan(tmp_path, state=tmp_path / ("x" * 120)))


def test_down_removes_one_cluster_by_its_label_and_leaves_another(tmp_path):
    fakes = Machines()
    up(fakes, plan(tmp_path))
    up(fakes, plan(tmp_path, name="u", workers=1, state=tmp_path / "state-u"))
    assert machines.down(fakes.host, "t", tmp_path / "state") == (3, 1)
    assert {c["labels"][CLUSTER_LABEL] for c in fakes.host.containers.values()} == {"u"}
    assert set(fakes.host.volumes) == {"socklab-cluster-u-machine1-docker"}
    assert not (tmp_path / "state").exists() and (tmp_path / "state-u").exists()
    assert machines.down(fakes.host, None, None) == (2, 1) and not fakes.host.volumes
