"""labels.py: which runs `clean` may remove (dead) and which it must leave alone (alive)."""
from orchestrator.base.labels import SETUP_GRACE, RunResources, run_labels

NOW = 1_000_000.0


def test_the_labels_of_a_run():
    assert run_labels("r1", "tcp-exchange") == {"socklab.run": "r1", "socklab.scenario": "tcp-exchange"}
    assert run_labels("v1", purpose="validate") == {"socklab.run": "v1", "socklab.purpose": "validate"}


def test_a_run_with_a_running_container_is_alive_however_old():
    run = RunResources("r", containers=[("running", NOW - 9999), ("exited", NOW - 9999)], networks=[NOW - 9999])
    assert run.alive(NOW) and "1 of its containers is running" in run.why(NOW)


def test_a_run_whose_containers_stopped_is_dead_however_young():
    """Its lease ended: the orchestrator is gone (a kill -9 a moment ago)."""
    run = RunResources("r", containers=[("exited", NOW - 1), ("exited", NOW - 1)], networks=[NOW - 1])
    assert not run.alive(NOW) and run.why(NOW) == "nothing of it is running"


def test_a_run_being_set_up_is_alive_until_the_grace_period_ends():
    young = RunResources("r", containers=[("created", NOW - 5)], networks=[NOW - 6])
    assert young.alive(NOW) and "being set up" in young.why(NOW)
    only_network = RunResources("r", networks=[NOW - 1])
    assert only_network.alive(NOW)
    stale = RunResources("r", containers=[("created", NOW - SETUP_GRACE - 1)], networks=[NOW - SETUP_GRACE - 2])
    assert not stale.alive(NOW)
    assert not RunResources("r", volumes=[NOW - SETUP_GRACE - 1]).alive(NOW)
