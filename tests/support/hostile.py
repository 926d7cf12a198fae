"""The hostile submissions of tests/hostile/ as code, for tests/integration/test_hostile.py and bench/probe/:
which scenario plays each (README.md's table), and what the gateway probe needs (a listener of the caller's
own on every address of this machine, and a copy of the probe told its port)."""
from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

from tests.support import ROOT

HOSTILE = ROOT / "tests" / "hostile"


def cases() -> dict[str, str]:
    """folder -> the scenario that plays it, from README.md's table ('udp' is scenarios/udp.yaml)."""
    table = {}
    for line in (HOSTILE / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and (HOSTILE / cells[0]).is_dir():
            table[cells[0]] = cells[1] if "/" in cells[1] else f"scenarios/{cells[1]}.yaml"
    missing = sorted(f.name for f in HOSTILE.iterdir() if f.is_dir() and not f.name.startswith(("_", "."))
                     and f.name not in table)
    assert not missing, f"tests/hostile/README.md does not say which scenario plays {', '.join(missing)}"
    return table


class Listener:
    """A TCP listener on every address of this machine (the lab's gateway address included, were the host
    to hold it), counting the connections it is offered: the gateway probe must reach none."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(peer)
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


def gateway_probe(into: Path, port: int) -> Path:
    """A copy of the gateway probe (tests/hostile/gateway) that tries `port`, in the folder `into`."""
    folder = into / "gateway"
    shutil.copytree(HOSTILE / "gateway", folder)
    program = folder / "client_tcp.py"
    program.write_text(program.read_text().replace("PORT = 0 ", f"PORT = {port} "))
    return folder
