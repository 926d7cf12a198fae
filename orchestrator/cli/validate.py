"""`validate`: scenario and suite files checked without running anything (display filters by tshark, in
the capture image, unless --no-filters)."""
from __future__ import annotations

import argparse
import contextlib

from ..base import errors
from .common import ROOT, say


def register(sub) -> None:
    p = sub.add_parser("validate", help="check scenario files without running anything")
    p.add_argument("files", nargs="+", metavar="SCENARIO", help="scenario YAML files")
    p.add_argument("--topology", default=str(ROOT / "compose.yaml"), help="the lab (default: compose.yaml)")
    p.add_argument("--no-filters", action="store_true",
                   help="do not ask tshark to check display filters (needs no Docker)")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from ..lab import capture, images
    from ..lab.engine import Engine
    from ..base.labels import RUN_LABEL, run_labels

    with contextlib.ExitStack() as stack:
        checker = None
        if not args.no_filters:
            try:  # display filters are checked by tshark, in the capture image
                engine = stack.enter_context(contextlib.closing(Engine()))
            except errors.EnvironmentProblem as e:
                raise errors.EnvironmentProblem(f"{e} (`validate --no-filters` checks everything but the display "
                                                "filters without Docker)") from e
            from ..play.runner import new_run_id

            built = images.ensure(engine, ["capture"], progress=say)["capture"]
            label = run_labels(f"validate-{new_run_id()}", purpose="validate")
            # tshark's container goes whatever happens, even on a signal between its creation and its removal
            stack.callback(engine.remove_labelled, RUN_LABEL, label[RUN_LABEL])

            def check_filters(filters: list[str]) -> dict[str, str]:
                return capture.check_filters(engine, built.ref, filters, label)

            checker = check_filters
        from ..model.suite import is_suite, load_suite
        from ..model.topology import load_topology

        topology = load_topology(args.topology)
        said = []
        for path in args.files:  # a suite is checked with every scenario it lists
            if is_suite(path):
                suite = load_suite(path, topology, checker)
                said.append(f"{path}: ok (suite {suite.name}: " + ", ".join(
                    f"{e.scenario.name} x{e.weight:g} needs {' '.join(e.scenario.needs())}" for e in suite.entries)
                    + f"; at most {suite.maximum():g} points)")
                said += [f"warning: {w}" for e in suite.entries for w in e.scenario.warnings]
            else:
                from ..model.scenario import load_scenario

                sc = load_scenario(path, topology, checker)
                said.append(f"{sc.path}: ok ({sc.name}: {len(sc.steps)} steps, {len(sc.checks)} checks)")
                said += [f"warning: {w}" for w in sc.warnings]
    for line in dict.fromkeys(said):  # (a scenario validated alone and in the suite is warned about once)
        say(line)
    return errors.EXIT_OK
