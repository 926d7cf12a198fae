"""The Docker Engine as the orchestrator uses it, as Protocols: what a play needs of an engine (`PlayEngine`:
containers, networks, volumes, execs, files, teardown by label) and what the rest of the orchestrator needs
besides (`EngineAPI`: images, versions, the resources of runs). engine.Engine, the only module that imports
the Docker SDK, implements EngineAPI; the unit tests' fake engine implements PlayEngine (and ClusterEngine: what
the cluster's machines need, lab/machines.py), and
tests/unit/test_engine_protocol.py checks both against these signatures, so the fake cannot drift from the real one.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, Protocol

from ..base.labels import RUN_LABEL, RunResources
from .helpers import HelperSpec


class ImageInfo(NamedTuple):
    id: str
    labels: dict[str, str]
    tags: tuple[str, ...]  # repository:tag names pointing at it


class Finished(NamedTuple):
    """How a container run to its end ended (Engine.run_to_end)."""

    code: int | None  # its exit status; None: still running at the timeout (then removed, so killed)
    output: str  # stdout and stderr as Docker interleaves them
    stdout: str | None  # stdout alone, when asked for


class Lease(Protocol):
    """A container's lease: its main process reads this input, and ends (so the container does) when it closes."""

    def send(self, data: bytes) -> None:
        """Write `data` to the container's input (its end comes with close()). A container that has ended takes no
        more: the rest is dropped (its exit status and output say why)."""

    def close(self) -> None: ...


class ExecSession(Protocol):
    """A program started by exec with its input attached: write to it, read its output frames."""

    def write(self, data: bytes) -> None: ...

    def close_stdin(self) -> None: ...

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """(stream, data) frames until the process ends: stream 1 is stdout, 2 is stderr."""

    def close(self) -> None: ...


class Containers(Protocol):
    """What both a play and the cluster on one host ask of an engine: networks, containers and their commands'
    ends, and removal by label."""

    def create_network(self, name: str, subnet: str, gateway: str, labels: dict[str, str],
                       internal: bool = True, options: dict[str, str] | None = None) -> str | None:
        """Create a bridge network on `subnet` with `gateway` as its gateway address; None if the subnet overlaps one
        in use (choose another). internal=True: no route out of the network (no egress), containers still reach
        each other. `options`: the bridge driver's options, e.g. com.docker.network.bridge.inhibit_ipv4 (the
        host's bridge then takes no address at all)."""

    def subnets_in_use(self) -> list[str]:
        """Every IPv4 subnet of every network on the engine (to choose a free one)."""

    def create_container(self, *, name: str | None, image: str, command: list[str], labels: dict[str, str],
                         hostname: str | None = None, user: str | None = None,
                         network: str | None = None, ip: str | None = None, aliases: list[str] | None = None,
                         network_mode: str | None = None, extra_hosts: dict[str, str] | None = None,
                         cap_add: list[str] | None = None, cap_drop: list[str] | None = None,
                         environment: dict[str, str] | None = None, working_dir: str | None = None,
                         binds: dict[str, dict[str, str]] | None = None, init: bool = True,
                         mem_limit: str | None = None, nano_cpus: int | None = None, pids_limit: int | None = None,
                         read_only: bool = False, tmpfs: dict[str, str] | None = None,
                         security_opt: list[str] | None = None, sysctls: dict[str, str] | None = None,
                         dns: list[str] | None = None, dns_opt: list[str] | None = None,
                         shm_size: str | None = None, lease: bool = False) -> str:
        """Create (not start) a container; every argument is explicit so callers see what is possible."""

    def start(self, container: str) -> None: ...

    def state(self, container: str) -> dict[str, Any]:
        """The container's State (Status, Running, ExitCode, OOMKilled, ...)."""

    def logs(self, container: str, tail: int | str = "all", stderr: bool = True) -> str:
        """What the container wrote: stdout and stderr as Docker interleaves them (stdout alone without `stderr`)."""

    def exec_exit_code(self, exec_id: str) -> int | None: ...

    def remove_labelled(self, label: str = RUN_LABEL, value: str | None = None) -> tuple[int, int]:
        """Remove every container (all at once), then every network and volume, labelled so; returns (containers,
        networks) removed."""


class Provisioning(Protocol):
    """What both the orchestrator and the cluster on one host ask of an engine beyond a play: images looked up,
    tagged and moved between engines (save, load), volumes on disk, commands left running, what carries a label."""

    def close(self) -> None: ...

    def image(self, ref: str) -> ImageInfo | None:
        """Id, labels and tags of image `ref` (name:tag or id), or None when the engine does not have it."""

    def tag(self, ref: str, repository: str, tag: str) -> None: ...

    def save_image(self, ref: str, path: str) -> None:
        """`docker save` image `ref` into the file `path` (a tarball `load_image` takes, on any engine)."""

    def load_image(self, path: str) -> None:
        """`docker load` the tarball `path` (made by save_image) into this engine."""

    def create_volume(self, name: str, labels: dict[str, str]) -> str:
        """A volume on the engine's disk (Docker's local driver), labelled; it outlives its containers until removed
        (remove_labelled)."""

    def exec_detached(self, container: str, command: list[str], *,
                      environment: dict[str, str] | None = None) -> str:
        """Start a command in a running container and leave it running (nothing attached); returns the exec's id
        (exec_exit_code tells whether it still runs)."""

    def labelled(self, label: str = RUN_LABEL, value: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Containers, networks and volumes carrying `label` (with `value`, if given)."""


class PlayEngine(Containers, Protocol):
    """What a play asks of an engine (lab.py, process.py, capture.py, runner.py)."""

    def run_to_end(self, image: str, command: list[str], labels: dict[str, str], helper: HelperSpec, *,
                   timeout: float, name: str | None = None, files: tuple[str, dict[str, bytes], int] | None = None,
                   stdin: bytes | None = None, stdout: bool = False, environment: dict[str, str] | None = None,
                   hold: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext) -> Finished:
        """Run `command` to its end in a throwaway container and remove it, whatever happens (an error, an
        interrupt): how every helper runs (a link's impairer, sharkd's count, the compile check). Each is hardened
        as its `helper` says (helpers.HelperSpec: every capability dropped but its own, no new privileges, its user,
        no network or that of the container it serves, a read-only root unless it is given `files`: (folder, name
        -> bytes, owner uid), put there before it starts; memory, CPU and pids limits), and has `timeout` seconds
        to end."""

    def lease(self, container: str) -> Lease:
        """Attach to the standard input of a container created with lease=True (before starting it): while the
        returned Lease is open the container's input stays open; when it closes, or this process dies, the input
        ends."""

    def remove_container(self, container: str) -> None: ...

    def wait_exit(self, container: str, timeout: float) -> int | None:
        """Wait for the container to exit; its exit code, or None if it is still running after `timeout`."""

    def exec_interactive(self, container: str, command: list[str], *, user: str = "",
                         environment: dict[str, str] | None = None, workdir: str | None = None) -> ExecSession:
        """Start a command with stdin attached; read its output through the returned session."""

    def get_file(self, container: str, path: str) -> bytes:
        """The bytes of one regular file inside a container (running or stopped)."""

    def put_files(self, container: str, directory: str, files: dict[str, bytes], mode: int = 0o644,
                  uid: int = 0) -> None:
        """Write files (name -> bytes) into `directory` of a container."""

    def create_tmpfs_volume(self, name: str, labels: dict[str, str], size: str, mode: str = "0755") -> str:
        """A volume held in memory (a tmpfs of at most `size`), owned by root with `mode`. Its content lives while a
        container that mounts it runs: fill it (put_files) after starting one."""


class EngineAPI(PlayEngine, Provisioning, Protocol):
    """Everything the orchestrator asks of an engine: a play's needs, and images, versions and runs."""

    def version(self) -> dict[str, str]:
        """The engine's version, API version, OS, architecture and kernel (a grading's manifest records it)."""

    def capacity(self) -> tuple[int, int]:
        """The engine's CPUs and memory (bytes): what `grade -j` is sized from by default (the engine may be another
        machine than the orchestrator's)."""

    def import_rootfs(self, tar_path: str, repository: str, tag: str, changes: list[str]) -> str:
        """`docker import` a root filesystem tarball; returns the image id."""

    def build(self, context_tar: bytes, tag: str, buildargs: dict[str, str], labels: dict[str, str]) -> ImageInfo:
        """Build a Dockerfile from an in-memory context tarball, with no network; returns the image."""

    def images_labelled(self, label: str) -> list[dict[str, Any]]:
        """Images carrying `label` (each with Id, RepoTags, Labels)."""

    def remove_image(self, ref: str) -> None: ...

    def hostname(self, container: str) -> tuple[str, bool]:
        """The container's host name and whether it is running."""

    def labels(self, container: str) -> dict[str, str]:
        """The container's labels."""

    def runs(self, label: str = RUN_LABEL) -> dict[str, RunResources]:
        """Every run on this engine (by the value of `label`) with the state and age of its resources."""


class ClusterEngine(Containers, Provisioning, Protocol):
    """What the cluster on one host asks of an engine (lab/machines.py): of the host's, its network, containers and
    volumes, the lab's images saved; of a lab machine's own (inner) engine, the images loaded and checked."""
