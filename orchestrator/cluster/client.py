"""The grader's side of the cluster: a TLS connection to the scheduler with the course's client certificate
(certs.py), and the few calls grading makes (grade/clustered.py): submit a play, see the workers and what
each plays, cancel a grading's plays on every worker. `distributed` is imported here only, when a grading
asks for a cluster: a grading without --cluster never loads it.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..base.errors import EnvironmentProblem, InvalidInput
from . import certs
from .worker import RESOURCE, PlayTask, cancel_plays, machine_of, play_there

#: how long the scheduler may take to answer at the start, and the first worker to be there
CONNECT_TIMEOUT, WORKER_TIMEOUT = 10.0, 60.0


def check_address(address: str, what: str = "--cluster") -> str:
    """--cluster's (or `what`'s) address: tls://HOST:PORT (the cluster speaks TLS only); InvalidInput otherwise."""
    scheme, sep, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if not sep or scheme != "tls" or not host or not port.isdigit():
        raise InvalidInput(f"{what} {address}: not a scheduler's address; the cluster speaks TLS only: "
                           "tls://HOST:PORT (as `socklab cluster scheduler` prints it)")
    return address


class Cluster:
    """A connection to the cluster's scheduler, as the grader's client."""

    def __init__(self, address: str, certs_dir: str | Path, *, timeout: float | None = None):
        """Connect; an EnvironmentProblem (exit 3, one line) if the scheduler does not answer in `timeout`
        seconds or refuses the certificate; InvalidInput for a bad address or certificates."""
        from distributed import Client

        self.address = check_address(address)
        timeout = CONNECT_TIMEOUT if timeout is None else timeout
        security = certs.security(certs_dir, "client")
        try:
            self.client = Client(self.address, security=security, timeout=timeout, set_as_default=False)
        except Exception as e:  # OSError, TimeoutError, Dask's CommClosedError: all "did not answer"
            raise EnvironmentProblem(f"the cluster's scheduler at {self.address} did not answer within {timeout:g} s "
                                     f"with the certificates of {certs_dir} ({_one_line(e)})") from None

    @property
    def dashboard(self) -> str | None:
        try:
            return self.client.dashboard_link
        except Exception:
            return None

    def wait_for_workers(self, timeout: float | None = None) -> None:
        timeout = WORKER_TIMEOUT if timeout is None else timeout
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise EnvironmentProblem(f"waited {timeout:g} s for a worker to join the cluster at {self.address}; saw "
                                     "none (start `socklab worker` on the lab machines)") from None

    def workers(self) -> dict[str, str]:
        """The workers connected now: address -> name."""
        info = self.client.scheduler_info(n_workers=-1)
        return {address: str(w.get("name", address)) for address, w in info.get("workers", {}).items()}

    def under_way(self) -> dict[str, int]:
        """Plays under way (or waiting) on each worker, by name."""
        names = self.workers()
        return {names.get(address, address): len(keys) for address, keys in self.client.processing().items()}

    def machines(self) -> dict[str, dict]:
        """Each worker's machine and images (worker.machine_of), by worker address."""
        return self.client.run(machine_of, on_error="return")

    def submit(self, task: PlayTask, key: str, workers: Iterable[str] | None = None):
        """One play on a worker with a free play (resources), restricted to `workers` if given; Dask plays
        it again elsewhere by itself if its worker is lost."""
        return self.client.submit(play_there, task, key=key, resources={RESOURCE: 1}, pure=False, retries=0,
                                  workers=None if workers is None else list(workers), allow_other_workers=False)

    def cancel_grading(self, session: str) -> None:
        """Every worker tears down grading `session`'s plays under way and plays none of it any more."""
        self.client.run(cancel_plays, session, on_error="return")

    def cancel(self, futures) -> None:
        self.client.cancel(list(futures))

    def close(self) -> None:
        try:
            self.client.close(timeout=CONNECT_TIMEOUT)
        except Exception:
            pass


def lost_worker(e: BaseException | None) -> bool:
    """Whether a play's task failed because the machines that played it were lost, one after the other
    (Dask's KilledWorker: the scheduler's allowed-failures), rather than by a bug."""
    from distributed import KilledWorker

    return isinstance(e, KilledWorker)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 200 else text[:199] + "…"
