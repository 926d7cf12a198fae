"""`ladder`: the ladder diagram (SVG) of any capture: a run's, the compose lab's, anyone's."""
from __future__ import annotations

import argparse
import contextlib
import json
import re
from pathlib import Path

from ..base import errors
from .common import ROOT, say

#: The biggest capture `ladder` draws: a run's is at most 10,000 packets of 2 KiB, about 20 MiB. (Bigger
#: ones would hold hundreds of thousands of short packets: more than Wireshark lists in the capture
#: container's memory and minute.)
LADDER_MAX_BYTES = 24 * 2**20



def register(sub) -> None:
    p = sub.add_parser("ladder", help="draw the ladder diagram (SVG) of a capture: a run's, make up's, anyone's")
    p.add_argument("pcap", metavar="PCAP", help="the capture (.pcap or .pcapng)")
    p.add_argument("-o", "--output", metavar="SVG", help="where the diagram goes (default: PCAP with .svg)")
    p.add_argument("--topology", default=str(ROOT / "compose.yaml"),
                   help="names the hosts when no report.json is beside the capture (default: compose.yaml)")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    """Draw the ladder diagram of any pcap: a run's (its report.json beside it names the hosts and the lossy
    links), the compose lab's (captures/: compose.yaml names its hosts) or one a student made by hand."""
    from ..lab import capture, images
    from ..report import ladder
    from ..lab.engine import Engine
    from ..base.labels import RUN_LABEL, run_labels
    from ..play.runner import new_run_id

    pcap = Path(args.pcap)
    if not pcap.is_file():
        raise errors.InvalidInput(f"{_shown(args.pcap)}: no such file (give a capture: a .pcap or .pcapng file)")
    out = Path(args.output) if args.output else pcap.with_suffix(".svg")
    if out.resolve() == pcap.resolve():
        raise errors.InvalidInput(f"{_shown(args.pcap)}: the diagram would overwrite the capture; give another file "
                                  "with -o")
    try:
        data = pcap.read_bytes()
    except OSError as e:
        raise errors.InvalidInput(f"{_shown(args.pcap)}: cannot be read ({e.strerror})") from None
    if len(data) > LADDER_MAX_BYTES:
        raise errors.InvalidInput(f"{_shown(args.pcap)}: {len(data) / 2**20:.0f} MiB is more than the "
                                  f"{LADDER_MAX_BYTES // 2**20} MiB the ladder draws (cut it with editcap -r)")
    names, losses = _ladder_hosts(pcap, args.topology)
    with contextlib.ExitStack() as stack:
        engine = stack.enter_context(contextlib.closing(Engine()))
        built = images.ensure(engine, ["capture"], progress=say)["capture"]
        label = run_labels(f"ladder-{new_run_id()}", purpose="ladder")
        stack.callback(engine.remove_labelled, RUN_LABEL, label[RUN_LABEL])
        try:
            result = capture.count(engine, built.ref, data, [], label, frames=True)
        except errors.EnvironmentProblem as e:
            why = re.search(r"could not load \S+: (.*)", str(e))
            if why:
                raise errors.InvalidInput(f"{_shown(args.pcap)}: Wireshark cannot read it as a capture: "
                                          f"{why.group(1).strip()}") from None
            raise
    seen = {a for p in result.frames for a in (p.src, p.dst)}
    names = {n: a for n, a in names.items() if a in seen or not _named_by_topology(pcap)}
    diagram = ladder.layout(result.frames, names, losses=losses, title=_shown(pcap.name))
    try:
        out.write_text(ladder.svg(diagram), encoding="utf-8")
    except OSError as e:
        raise errors.InvalidInput(f"{_shown(out)}: the diagram cannot be written there ({e.strerror})") from None
    say(f"{_shown(out)}: {ladder.pk_count(len(result.frames))} between "
        f"{', '.join(line.name for line in diagram.lifelines) or 'no hosts'}"
        + (f" ({diagram.note})" if diagram.note else ""))
    if result.damaged:
        say(f"{_shown(args.pcap)}: {result.damaged} (stopped mid-write?); the diagram shows those")
    return errors.EXIT_OK


def _shown(path: object) -> str:
    """A path as text that can be printed and put in a page: bytes a file name holds that are not UTF-8
    (Python keeps them as surrogates) shown escaped."""
    from ..base.text import escaped_lines

    return escaped_lines(str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))


def _named_by_topology(pcap: Path) -> bool:
    """Whether `ladder` names the hosts of `pcap` from compose.yaml (no run's report beside it): then only
    the hosts the capture shows get a lifeline."""
    return not (pcap.parent / "report.json").is_file()


def _ladder_hosts(pcap: Path, topology_path: str):
    """The host names (name -> address) and lossy links for a capture: from the report.json of the run it
    belongs to, else from the lab's compose.yaml (the addresses `make up` gives)."""
    from ..evidence import packets
    from ..model.topology import load_topology

    beside = pcap.parent / "report.json"
    if beside.is_file():
        try:
            rep = json.loads(beside.read_text(encoding="utf-8"))
            names = {str(k): str(v) for k, v in (rep.get("addresses") or {}).items()}
            return names, packets.losses_of(rep.get("impairments") or [], names)
        except (ValueError, AttributeError, TypeError):
            pass  # not a run's report: named as the compose lab's
    try:
        return load_topology(topology_path).addresses(), []
    except errors.SocklabError:
        return {}, []
