"""`run`: scenarios played on the lab and checked, each with its reports (JSON, JUnit, HTML, the console)."""
from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from ..base import errors
from ..grade.submission import read_programs
from . import argtypes
from .common import ROOT, lab_images


def register(sub) -> None:
    p = sub.add_parser("run", help="play scenarios on the lab and check them")
    p.add_argument("files", nargs="+", metavar="SCENARIO", help="scenario YAML files")
    p.add_argument("--topology", default=str(ROOT / "compose.yaml"), help="the lab (default: compose.yaml)")
    p.add_argument("--runs-dir", default=str(ROOT / "runs"), type=argtypes.runs_dir,
                   help="where artifacts go (default: runs/)")
    p.add_argument("-v", "--verbose", action="store_true", help="show every phase of the run")
    p.add_argument("--programs", metavar="DIR", type=argtypes.programs_dir,
                   help="run the .py files of DIR instead of the reference programs of the same names")
    p.set_defaults(func=command)


def _load_all(paths: list[str], topology_path: str, filter_checker=None):
    from ..model.scenario import load_scenario
    from ..model.topology import load_topology

    topology = load_topology(topology_path)
    return topology, [load_scenario(p, topology, filter_checker) for p in paths]


def command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.text import Text

    from ..report import playunit, report
    from ..lab.engine import Engine

    console = Console(stderr=False, highlight=False)
    topology, scenarios = _load_all(args.files, args.topology)
    programs = read_programs(args.programs) if args.programs else {}
    with contextlib.closing(Engine()) as engine:
        image_evidence = lab_images(engine)
        reports, codes = [], []
        for scenario in scenarios:
            console.print(f"[bold]{scenario.name}[/bold] ({scenario.path})")
            inputs = playunit.PlayInputs(scenario, topology, image_evidence, Path(args.runs_dir), programs=programs)
            played = playunit.play(inputs, engine, events=_progress(console, args.verbose))
            report.render(played.report, console)
            console.print(Text.assemble(("Report ", "bold"), str(played.folder / "report.html")))
            reports.append(played.report)
            codes.append(played.exit_code)
        if len(reports) > 1:
            report.render_summary(reports, console)
    return max(codes, key=_SEVERITY.index)


#: exit codes from least to most severe: several scenarios in one command exit with the worst
_SEVERITY = [errors.EXIT_OK, errors.EXIT_CHECKS_FAILED, errors.EXIT_ENVIRONMENT, errors.EXIT_INVALID_INPUT]


def _progress(console, verbose: bool):
    """The live progress of a run. What comes from the run (step descriptions, what a program printed)
    goes through text.escaped_lines (no escape sequence reaches the terminal) and is never read as markup."""
    from rich.text import Text

    from ..base.text import escaped_lines
    from ..play.runner import Event

    marks = {"ok": ("✓", "green"), "failed": ("✗", "red"), "skipped": ("-", "yellow")}

    def show(event: Event) -> None:
        if event.kind == "step-end" and event.result:
            r = event.result
            took = ("", "") if r.duration is None else (f" ({r.duration:.2f} s)", "dim")
            console.print(Text.assemble("  ", marks[r.status], f" {r.key} {escaped_lines(r.description)}", took))
            if r.status == "failed":
                console.print(Text("      " + escaped_lines(r.message).replace("\n", "\n      "), style="red"))
        elif event.kind == "phase" and (verbose or event.text.startswith(("run error", "traffic"))):
            console.print(Text(f"  {escaped_lines(event.text)}", style="dim"))

    return show
