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

import time
from dataclasses import dataclass, field

RUN_LABEL = "socklab.run"
SCENARIO_LABEL = "socklab.scenario"
PURPOSE_LABEL = "socklab.purpose"
SESSION_LABEL = "socklab.session"  # the grading session a run belongs to
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
