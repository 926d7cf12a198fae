"""The hardened settings of a helper container, in one place: every container the lab starts beside its hosts (a
link's impairer and delayer, the capture sidecar, sharkd's count of a recorded pcap, the compile check) is
created from a HelperSpec, and only its `settings()` say how it is confined.

Each helper holds every capability dropped but the few its work needs, no new privileges (setuid binaries and
file capabilities do nothing), a user of its own, a read-only root (unless it is given files before it starts),
memory, CPU and pids limits, and either no network at all or the network namespace of the one container it
serves. Its labels (the run's, so that teardown and `clean` find it), name, image and command are its caller's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Every container the orchestrator creates gains no privilege (setuid binaries and file capabilities do nothing).
NO_NEW_PRIVILEGES = "no-new-privileges"


@dataclass(frozen=True)
class HelperSpec:
    """How one kind of helper container is confined (see the module)."""

    user: str
    memory: str  # Docker's mem_limit: "64m"
    cpus: float
    pids: int
    capabilities: tuple[str, ...] = ()  # all it holds: every other one is dropped
    serves: str | None = None  # the container whose network namespace it shares; None: no network at all
    read_only: bool = True  # its root filesystem (False for a helper given files before it starts)
    init: bool = False  # an init as its PID 1 (a helper that lasts: it reaps what it starts)
    tmpfs: tuple[tuple[str, str], ...] = ()  # (path, mount options): where a read-only helper may write

    @property
    def network_mode(self) -> str:
        return f"container:{self.serves}" if self.serves else "none"

    def settings(self) -> dict[str, Any]:
        """Its keyword arguments to Engine.create_container (all but name, image, command and labels)."""
        return dict(user=self.user, network_mode=self.network_mode, cap_drop=["ALL"],
                    cap_add=list(self.capabilities) or None, security_opt=[NO_NEW_PRIVILEGES], init=self.init,
                    read_only=self.read_only, tmpfs=dict(self.tmpfs) or None, mem_limit=self.memory,
                    nano_cpus=int(self.cpus * 1e9), pids_limit=self.pids)


#: A link's helpers (impair.py) hold NET_ADMIN alone, as root, in the namespace of the host whose link it is.
LINK_CAPABILITIES, LINK_MEMORY, LINK_CPUS, LINK_PIDS = ("NET_ADMIN",), "64m", 0.5, 16
#: Where a delayer, which lasts, may write.
DELAYER_TMPFS = (("/tmp", "size=1m"), ("/run", "size=1m"))


def link_helper(container: str, lasting: bool = False) -> HelperSpec:
    """The helper that impairs `container`'s link: one that runs to its end (nft and tc), or with `lasting` the
    delayer, which lasts as long as the lab (an init, and small tmpfs for what it writes)."""
    return HelperSpec(user="root", memory=LINK_MEMORY, cpus=LINK_CPUS, pids=LINK_PIDS,
                      capabilities=LINK_CAPABILITIES, serves=container, init=lasting,
                      tmpfs=DELAYER_TMPFS if lasting else ())
