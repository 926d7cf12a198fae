"""The labels every resource of a run carries, in one place, and how `clean` tells a dead run from a live one.

Every container, network and volume a run (or `validate`, or the compose lab) creates carries
``socklab.run=<run id>``; teardown and `clean` find them by it.

Alive or dead. A run's containers hold a lease (Engine.lease): their main process reads an input that
the orchestrator keeps open, and Docker closes it when the orchestrator goes away, however it ends
(even SIGKILL), so the containers of a dead orchestrator stop within a moment. Hence:

- a run with a running container is alive (the compose lab too, while it is up): never removed;
- a run whose containers have all stopped is dead;
- a run with containers only created, never started, or with no container at all (only its
  network or volumes), is being set up if it is younger than SETUP_GRACE, else dead (its
  orchestrator died while creating it).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

RUN_LABEL = "socklab.run"
SCENARIO_LABEL = "socklab.scenario"
PURPOSE_LABEL = "socklab.purpose"
SESSION_LABEL = "socklab.session"  # the grading session a run belongs to
#: The cluster on one host (make cluster-up, lab/machines.py): its network, scheduler, lab machines and their
#: volumes carry socklab.cluster=<cluster name> (never socklab.run: a cluster is no run, and `clean`'s rule of
#: dead runs is not its); `cluster down` and `make clean` remove them by it.
CLUSTER_LABEL = "socklab.cluster"
MACHINE_LABEL = "socklab.machine"  # which machine of the cluster (the scheduler: "scheduler")
#: A run being set up has created resources but started nothing for at most this long (seconds).
SETUP_GRACE = 120.0
_LIVE_STATES = ("running", "restarting", "paused", "removing")


def run_labels(run_id: str, scenario: str | None = None, purpose: str | None = None,
               session: str | None = None) -> dict[str, str]:
    """The labels of every resource of one run."""
    labels = {RUN_LABEL: run_id}
    for label, value in ((SCENARIO_LABEL, scenario), (PURPOSE_LABEL, purpose), (SESSION_LABEL, session)):
        if value is not None:
            labels[label] = value
    return labels


def cluster_labels(cluster: str, machine: str, purpose: str) -> dict[str, str]:
    """The labels of every resource of a cluster on one host: which cluster, which of its machines, what for."""
    return {CLUSTER_LABEL: cluster, MACHINE_LABEL: machine, PURPOSE_LABEL: purpose}


@dataclass
class RunResources:
    """What an engine holds of one run: (state, created) of each container, creation times of its
    networks and volumes (seconds since the epoch)."""

    run: str
    containers: list[tuple[str, float]] = field(default_factory=list)
    networks: list[float] = field(default_factory=list)
    volumes: list[float] = field(default_factory=list)

    def alive(self, now: float | None = None, grace: float = SETUP_GRACE) -> bool:
        """Whether the run's orchestrator (or the compose lab) may still be using it (see the module)."""
        now = time.time() if now is None else now
        states = [state for state, _ in self.containers]
        if any(state in _LIVE_STATES for state in states):
            return True
        if any(state not in ("created", "") for state in states):
            return False  # something ran and stopped: its lease ended
        newest = max([created for _, created in self.containers] + self.networks + self.volumes, default=0.0)
        return now - newest < grace

    def why(self, now: float | None = None) -> str:
        """Why alive() said what it said, in words."""
        states = [state for state, _ in self.containers]
        running = sum(1 for s in states if s in _LIVE_STATES)
        if running:
            return f"{running} of its containers {'is' if running == 1 else 'are'} running"
        if self.alive(now):
            return "it is being set up (created less than a couple of minutes ago, nothing started yet)"
        return "nothing of it is running"


def runs_of(found: dict[str, list[dict[str, Any]]], label: str) -> dict[str, RunResources]:
    """The runs among an engine's labelled resources (Engine.labelled: containers, networks, volumes as the
    Docker API lists them), by the value of `label`, with the state and age of each resource."""
    by_run: dict[str, RunResources] = {}

    def of(resource: dict[str, Any]) -> RunResources:
        run = (resource.get("Labels") or {}).get(label, "")
        return by_run.setdefault(run, RunResources(run))

    for c in found["containers"]:
        of(c).containers.append((c.get("State", ""), float(c.get("Created") or 0)))
    for n in found["networks"]:
        of(n).networks.append(docker_epoch(n.get("Created")))
    for v in found["volumes"]:
        of(v).volumes.append(docker_epoch(v.get("CreatedAt")))
    return by_run


def docker_epoch(timestamp: str | None) -> float:
    """Docker's RFC 3339 time (nanoseconds, 'Z' or an offset) -> seconds since the epoch (0: unknown)."""
    from datetime import datetime

    if not timestamp:
        return 0.0
    stamp = re.sub(r"(\.\d{6})\d+", r"\1", timestamp.replace("Z", "+00:00"))
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return 0.0
