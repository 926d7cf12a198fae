"""The only module that imports the Docker SDK.

Everything the orchestrator does to a Docker Engine goes through `Engine` (it implements engineapi.EngineAPI): images, networks,
containers, exec, files, labels and teardown by label. Docker's own exceptions are mapped to
EngineError here, in one place, with a message that says what was being done.
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from typing import Any

import docker
import docker.errors

from ..base.errors import EngineError, EnvironmentProblem
from ..base.labels import RUN_LABEL, RunResources, runs_of
from .engineapi import Finished, ImageInfo
from .execstream import ExecSession, Lease
from .helpers import HelperSpec


@contextlib.contextmanager
def _doing(what: str) -> Iterator[None]:
    """Map Docker SDK / HTTP errors raised while doing `what` to one EngineError."""
    try:
        yield
    except docker.errors.APIError as e:
        raise EngineError(f"Docker Engine failed while {what}: {e.explanation or e}") from e
    except docker.errors.DockerException as e:
        raise EngineError(f"Docker failed while {what}: {e}") from e


class Engine:
    """A connection to one Docker Engine (one client per process; pass it around)."""

    def __init__(self, base_url: str | None = None, timeout: int = 120, pool_size: int = 10):
        """`pool_size`: connections kept to the engine; runs in parallel need several each (a grading sizes
        it to its parallelism, as Kathara does)."""
        try:
            if base_url:
                self._client = docker.DockerClient(base_url=base_url, timeout=timeout, max_pool_size=pool_size)
            else:
                self._client = docker.from_env(timeout=timeout, max_pool_size=pool_size)
            self._client.ping()
        except docker.errors.DockerException as e:
            raise EnvironmentProblem(
                f"cannot reach a Docker Engine ({e}). Start the daemon (e.g. `systemctl start docker`) "
                "or point DOCKER_HOST at one."
            ) from e
        self.api = self._client.api

    def close(self) -> None:
        self._client.close()

    def version(self) -> dict[str, str]:
        """The engine's version, API version, OS, architecture and kernel (a grading's manifest records it)."""
        with _doing("asking the engine's version"):
            v = self.api.version()
        return {k: str(v.get(k, "")) for k in ("Version", "ApiVersion", "Os", "Arch", "KernelVersion")}

    def capacity(self) -> tuple[int, int]:
        """The engine's CPUs and memory (bytes): what `grade -j` is sized from by default (the engine may be
        another machine than the orchestrator's)."""
        with _doing("asking the engine's CPUs and memory"):
            info = self.api.info()
        return int(info.get("NCPU") or 1), int(info.get("MemTotal") or 0)

    def identity(self) -> dict[str, str]:
        """The engine's id and name (`docker info`'s ID and Name): which engine played a play on a cluster."""
        with _doing("asking the engine's id"):
            info = self.api.info()
        return {"id": str(info.get("ID") or ""), "name": str(info.get("Name") or "")}

    # ---- images -------------------------------------------------------------------------------
    def image(self, ref: str) -> ImageInfo | None:
        """Id, labels and tags of image `ref` (name:tag or id), or None when the engine does not have it."""
        with _doing(f"inspecting image {ref}"):
            try:
                info = self.api.inspect_image(ref)
            except docker.errors.ImageNotFound:
                return None
        return ImageInfo(info["Id"], info["Config"].get("Labels") or {}, tuple(info.get("RepoTags") or ()))

    def import_rootfs(self, tar_path: str, repository: str, tag: str, changes: list[str]) -> str:
        """`docker import` a root filesystem tarball; returns the image id."""
        with _doing(f"importing {tar_path} as {repository}:{tag}"):
            self.api.import_image_from_file(tar_path, repository=repository, tag=tag, changes=changes)
        image = self.image(f"{repository}:{tag}")
        if image is None:
            raise EngineError(f"docker import of {tar_path} reported no error but {repository}:{tag} does not exist")
        return image.id

    def build(self, context_tar: bytes, tag: str, buildargs: dict[str, str], labels: dict[str, str]) -> ImageInfo:
        """Build a Dockerfile from an in-memory context tarball, with no network; returns the image."""
        log: list[str] = []
        with _doing(f"building {tag}"):
            for chunk in self.api.build(
                fileobj=io.BytesIO(context_tar), custom_context=True, tag=tag, buildargs=buildargs,
                labels=labels, network_mode="none", rm=True, forcerm=True, pull=False, decode=True,
            ):
                if "stream" in chunk:
                    log.append(chunk["stream"])
                if "error" in chunk:
                    raise EngineError(f"building {tag} failed: {chunk['error'].strip()}\n{''.join(log[-20:])}")
        image = self.image(tag)
        if image is None:
            raise EngineError(f"building {tag} reported no error but the image does not exist:\n{''.join(log[-20:])}")
        return image

    def tag(self, ref: str, repository: str, tag: str) -> None:
        with _doing(f"tagging {ref} as {repository}:{tag}"):
            self.api.tag(ref, repository, tag)

    def images_labelled(self, label: str) -> list[dict[str, Any]]:
        """Images carrying `label` (each with Id, RepoTags, Labels)."""
        with _doing(f"listing images labelled {label}"):
            return self.api.images(filters={"label": label})

    def save_image(self, ref: str, path: str) -> None:
        """`docker save` image `ref` into the file `path` (a tarball `load_image` takes, on any engine)."""
        with _doing(f"saving image {ref} to {path}"), open(path, "wb") as out:
            for chunk in self.api.get_image(ref, chunk_size=1 << 20):
                out.write(chunk)

    def load_image(self, path: str) -> None:
        """`docker load` the tarball `path` (made by save_image) into this engine."""
        with _doing(f"loading the images of {path}"), open(path, "rb") as tar:
            for message in self.api.load_image(tar):
                if "error" in message:
                    raise EngineError(f"loading the images of {path} failed: {message['error']}")

    def remove_image(self, ref: str) -> None:
        with _doing(f"removing image {ref}"):
            with contextlib.suppress(docker.errors.ImageNotFound):
                self.api.remove_image(ref, force=True)

    # ---- networks -----------------------------------------------------------------------------
    def create_network(self, name: str, subnet: str, gateway: str, labels: dict[str, str],
                       internal: bool = True, options: dict[str, str] | None = None) -> str | None:
        """Create a bridge network on `subnet` with `gateway` as its gateway address; None if the subnet
        overlaps one in use (choose another). internal=True: no route out of the network (no egress),
        containers still reach each other. `options`: the bridge driver's options, e.g.
        com.docker.network.bridge.inhibit_ipv4 (the host's bridge then takes no address at all)."""
        import docker.types

        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=gateway)])
        try:
            return self.api.create_network(name, driver="bridge", ipam=ipam, labels=labels, internal=internal,
                                           options=options, check_duplicate=True)["Id"]
        except docker.errors.APIError as e:
            if "overlap" in str(e.explanation or e).lower():
                return None
            raise EngineError(f"Docker Engine failed while creating network {name} ({subnet}): "
                              f"{e.explanation or e}") from e

    def subnets_in_use(self) -> list[str]:
        """Every IPv4 subnet of every network on the engine (to choose a free one)."""
        with _doing("listing networks"):
            nets = self.api.networks()
        used = []
        for net in nets:
            for cfg in ((net.get("IPAM") or {}).get("Config") or []):
                if cfg.get("Subnet"):
                    used.append(cfg["Subnet"])
        return used

    # ---- containers ---------------------------------------------------------------------------
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
        """Create (not start) a container; every argument is explicit so callers see what is possible.

        lease=True: the container's standard input stays open until the first client attached to it
        goes away (Docker's StdinOnce): with a command that ends at the end of its input, the container
        ends when whoever holds the lease (`Engine.lease`) does, even if it was killed (SIGKILL)."""
        host_config = self.api.create_host_config(
            network_mode=network_mode or network, extra_hosts=extra_hosts, cap_add=cap_add, cap_drop=cap_drop,
            binds=binds, init=init, mem_limit=mem_limit, nano_cpus=nano_cpus, pids_limit=pids_limit,
            read_only=read_only, tmpfs=tmpfs, security_opt=security_opt, sysctls=sysctls, dns=dns,
            dns_opt=dns_opt, shm_size=shm_size,
        )
        networking = None
        if network and not network_mode:
            networking = self.api.create_networking_config({
                network: self.api.create_endpoint_config(ipv4_address=ip, aliases=aliases)
            })
        with _doing(f"creating container {name} from {image}"):
            return self.api.create_container(
                image, command=command, name=name, hostname=None if network_mode else hostname, user=user,
                labels=labels, environment=environment, working_dir=working_dir, host_config=host_config,
                networking_config=networking, stdin_open=lease, detach=not lease, tty=False,
            )["Id"]  # (docker-py sets StdinOnce for stdin_open without detach)

    def run_to_end(self, image: str, command: list[str], labels: dict[str, str], helper: HelperSpec, *,
                   timeout: float, name: str | None = None, files: tuple[str, dict[str, bytes], int] | None = None,
                   stdin: bytes | None = None, stdout: bool = False, environment: dict[str, str] | None = None,
                   hold: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext) -> Finished:
        """Run `command` to its end in a throwaway container and remove it, whatever happens (an error, an
        interrupt): how every helper runs (a link's impairer, sharkd's count, the compile check). Each is
        hardened as its `helper` says (helpers.HelperSpec: every capability dropped but its own, no new
        privileges, its user, no network or that of the container it serves, a read-only root unless it is
        given `files`: (folder, name -> bytes, owner uid), put there before it starts; memory, CPU and pids
        limits), and has `timeout` seconds to end.

        `stdin`: bytes fed to its standard input, which then ends (the command reads to its end). `stdout`:
        return its standard output alone too. `environment`: added to the image's. `hold()`: a context in which interrupts wait
        (interrupts.Interrupts.held), around the creation and the removal, so that an interrupt cannot leave
        the engine creating a container unseen."""
        with hold():
            cid = self.create_container(name=name, image=image, command=command, labels=labels,
                                        environment=environment, lease=stdin is not None, **helper.settings())
        try:
            if files is not None:
                folder, content, uid = files
                self.put_files(cid, folder, content, uid=uid)
            feed = self.lease(cid) if stdin is not None else None
            try:
                self.start(cid)
                if feed is not None:
                    feed.send(stdin)
            finally:
                if feed is not None:
                    feed.close()
            code = self.wait_exit(cid, timeout)
            output = self.logs(cid)
            alone = self.logs(cid, stderr=False) if stdout else None
        finally:
            with hold():
                self.remove_container(cid)
        return Finished(code, output, alone)

    def lease(self, container: str) -> "Lease":
        """Attach to the standard input of a container created with lease=True (before starting it):
        while the returned Lease is open the container's input stays open; when it closes, or this
        process dies, the input ends."""
        with _doing(f"attaching to container {container[:12]}"):
            sock = self.api.attach_socket(container, params={"stdin": 1, "stream": 1})
        return Lease(sock)

    def remove_container(self, container: str) -> None:
        with _doing(f"removing container {container[:12]}"):
            try:
                self.api.remove_container(container, force=True, v=True)
            except docker.errors.NotFound:
                pass

    def start(self, container: str) -> None:
        with _doing(f"starting container {container[:12]}"):
            self.api.start(container)

    def state(self, container: str) -> dict[str, Any]:
        """The container's State (Status, Running, ExitCode, OOMKilled, ...)."""
        with _doing(f"inspecting container {container[:12]}"):
            return self.api.inspect_container(container)["State"]

    def hostname(self, container: str) -> tuple[str, bool]:
        """The container's host name and whether it is running."""
        with _doing(f"inspecting container {container[:12]}"):
            info = self.api.inspect_container(container)
        return info["Config"].get("Hostname") or info["Name"].lstrip("/"), bool(info["State"].get("Running"))

    def labels(self, container: str) -> dict[str, str]:
        """The container's labels."""
        with _doing(f"inspecting container {container[:12]}"):
            return dict(self.api.inspect_container(container)["Config"].get("Labels") or {})

    def logs(self, container: str, tail: int | str = "all", stderr: bool = True) -> str:
        """What the container wrote: stdout and stderr as Docker interleaves them (stdout alone without
        `stderr`)."""
        with _doing(f"reading the logs of container {container[:12]}"):
            return self.api.logs(container, stdout=True, stderr=stderr, tail=tail).decode("utf-8", "replace")

    def wait_exit(self, container: str, timeout: float) -> int | None:
        """Wait for the container to exit; its exit code, or None if it is still running after `timeout`."""
        import requests.exceptions

        with _doing(f"waiting for container {container[:12]} to exit"):
            try:
                return self.api.wait(container, timeout=timeout)["StatusCode"]
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                return None  # the API's way of saying "still running after `timeout`"

    def exec_interactive(self, container: str, command: list[str], *, user: str = "",
                         environment: dict[str, str] | None = None, workdir: str | None = None) -> "ExecSession":
        """Start a command with stdin attached; read its output through the returned session."""
        with _doing(f"starting {' '.join(command)!r} in container {container[:12]}"):
            exec_id = self.api.exec_create(container, command, user=user, stdin=True, stdout=True, stderr=True,
                                           environment=environment, workdir=workdir)["Id"]
            sock = self.api.exec_start(exec_id, socket=True)
        return ExecSession(exec_id, sock)

    def exec_detached(self, container: str, command: list[str], *,
                      environment: dict[str, str] | None = None) -> str:
        """Start a command in a running container and leave it running (nothing attached); returns the exec's id
        (exec_exit_code tells whether it still runs)."""
        with _doing(f"starting {' '.join(command)!r} in container {container[:12]}"):
            exec_id = self.api.exec_create(container, command, environment=environment)["Id"]
            self.api.exec_start(exec_id, detach=True)
        return exec_id

    def exec_exit_code(self, exec_id: str) -> int | None:
        with _doing("inspecting an exec"):
            info = self.api.exec_inspect(exec_id)
        return None if info["Running"] else info["ExitCode"]

    def get_file(self, container: str, path: str) -> bytes:
        """The bytes of one regular file inside a container (running or stopped)."""
        import tarfile

        with _doing(f"copying {path} out of container {container[:12]}"):
            stream, _ = self.api.get_archive(container, path)
            data = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            f = tar.extractfile(member) if member else None
            if f is None:
                raise EngineError(f"{path} in container {container[:12]} is not a regular file")
            return f.read()

    def put_files(self, container: str, directory: str, files: dict[str, bytes], mode: int = 0o644,
                  uid: int = 0) -> None:
        """Write files (name -> bytes) into `directory` of a container."""
        import tarfile

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.uid, info.gid = len(data), mode, uid, uid
                tar.addfile(info, io.BytesIO(data))
        with _doing(f"copying files into {directory} of container {container[:12]}"):
            self.api.put_archive(container, directory, buf.getvalue())

    # ---- volumes ------------------------------------------------------------------------------
    def create_tmpfs_volume(self, name: str, labels: dict[str, str], size: str, mode: str = "0755") -> str:
        """A volume held in memory (a tmpfs of at most `size`), owned by root with `mode`. Its content
        lives while a container that mounts it runs: fill it (put_files) after starting one."""
        with _doing(f"creating volume {name}"):
            return self.api.create_volume(name=name, driver="local", labels=labels, driver_opts={
                "type": "tmpfs", "device": "tmpfs", "o": f"size={size},mode={mode}"})["Name"]

    def create_volume(self, name: str, labels: dict[str, str]) -> str:
        """A volume on the engine's disk (Docker's local driver), labelled; it outlives its containers until removed
        (remove_labelled)."""
        with _doing(f"creating volume {name}"):
            return self.api.create_volume(name=name, driver="local", labels=labels)["Name"]

    # ---- labels and teardown -------------------------------------------------------------------
    def labelled(self, label: str = RUN_LABEL, value: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Containers, networks and volumes carrying `label` (with `value`, if given)."""
        flt = {"label": f"{label}={value}" if value is not None else label}
        with _doing(f"listing resources labelled {flt['label']}"):
            return {"containers": self.api.containers(all=True, filters=flt),
                    "networks": self.api.networks(filters=flt),
                    "volumes": self.api.volumes(filters=flt).get("Volumes") or []}

    def runs(self, label: str = RUN_LABEL) -> dict[str, RunResources]:
        """Every run on this engine (by the value of `label`) with the state and age of its resources."""
        return runs_of(self.labelled(label), label)

    def remove_labelled(self, label: str = RUN_LABEL, value: str | None = None) -> tuple[int, int]:
        """Remove every container (all at once), then every network and volume, labelled so; returns
        (containers, networks) removed.

        A sidecar in another container's network namespace (the capture) goes at the same time as that
        container: by teardown the capture has been stopped and read, and if a run died before that, a
        namespace vanishing under tcpdump harms nothing. (Removing the sidecars first cost 70 ms a run.)
        """
        from concurrent.futures import ThreadPoolExecutor

        found = self.labelled(label, value)
        containers = found["containers"]
        if containers:
            with ThreadPoolExecutor(max_workers=min(8, len(containers))) as pool:
                list(pool.map(lambda c: self.remove_container(c["Id"]), containers))
        for n in found["networks"]:
            with _doing(f"removing network {n['Name']}"):
                try:
                    self.api.remove_network(n["Id"])
                except docker.errors.NotFound:
                    pass
        for v in found["volumes"]:
            with _doing(f"removing volume {v['Name']}"):
                try:
                    self.api.remove_volume(v["Name"], force=True)
                except docker.errors.NotFound:
                    pass
        return len(containers), len(found["networks"])
