"""Command line: every subcommand runs inside one error handler with fixed exit codes.

Exit codes: 0 all checks passed, 1 a check failed, 2 invalid input (scenario, topology, arguments),
3 environment problem (no Docker daemon, images missing and not buildable), 130 interrupted.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import re
import sys
from pathlib import Path

from .base import errors
from .base import interrupts
from .grade.submission import read_programs

ROOT = Path(__file__).resolve().parent.parent


def _cmd_images(args: argparse.Namespace) -> int:
    from .lab import images
    from .lab.engine import Engine

    with contextlib.closing(Engine()) as engine:
        if args.prune or args.remove:
            n = images.remove(engine, keep_current=args.prune, progress=_say)
            _say(f"removed {n} image(s)")
            return errors.EXIT_OK
        for built in images.ensure(engine, args.names or None, force=args.force, progress=_say).values():
            state = "built" if built.built else "up to date"
            _say(f"{built.ref} ({built.image_id[7:19]}) {state}; tagged {built.latest_ref}")
    return errors.EXIT_OK


def _cmd_wait_log(args: argparse.Namespace) -> int:
    from .lab.engine import Engine
    from .lab.waits import ContainerLogLine, wait_for

    if not args.container:
        raise errors.InvalidInput("--container is empty: is the container running?")
    with contextlib.closing(Engine()) as engine:
        wait_for(ContainerLogLine(engine, args.container, args.pattern), args.timeout)
    return errors.EXIT_OK


def _cmd_impair(args: argparse.Namespace) -> int:
    """impair CONTAINER...: the links of running containers (the compose lab's, `make impair`) made to lose,
    delay... what the options say, as a scenario's `impair` would; no option clears them."""
    from .lab import impair
    from .lab.engine import Engine
    from .lab.lab import DELAYER_LABEL, run_helper, start_delayer
    from .base.labels import RUN_LABEL
    from .model.impairment import Impairment

    wanted = {k: getattr(args, k) for k in ("loss", "delay", "jitter", "duplicate", "reorder", "rate")}
    for key in Impairment(host="", **wanted).undelayed()[:1]:
        raise errors.InvalidInput(f"--{key} needs --delay beside it (it {key}s the delayed packets)")
    with contextlib.closing(Engine()) as engine:
        image = _images(engine)["capture"].ref
        for container in args.containers:
            name, running = engine.hostname(container)
            if not running:
                raise errors.InvalidInput(f"container {container} is not running: is the lab up (make up)?")
            # the run's label is the lab's own (compose.yaml's socklab.run): a delayer lives as long as the lab
            labels = {RUN_LABEL: engine.labels(container).get(RUN_LABEL) or f"impair-{os.getpid()}"}
            engine.remove_labelled(DELAYER_LABEL, container)  # an earlier `make impair`'s delayer
            if not any(v is not None for v in wanted.values()):
                run_helper(engine, image, container, impair.CLEAR_COMMAND, None, labels)
                print(f"{name}: its link is clear again")
                continue
            imp = Impairment(host=name, **wanted)
            run_helper(engine, image, container, impair.helper_command(imp), None, labels)
            delayer = impair.delayer_command(imp)
            if delayer:
                start_delayer(engine, image, container, delayer, None, labels, lease=False)
            print(impair.describe(imp))
    return errors.EXIT_OK


def _cmd_clean(args: argparse.Namespace) -> int:
    """Remove what dead runs left (labels.py says which are dead); never a live run's resources."""
    from .lab.engine import Engine
    from .base.labels import RUN_LABEL

    with contextlib.closing(Engine()) as engine:
        runs = engine.runs()
        if args.run is not None:
            if args.run not in runs:
                _say(f"nothing is labelled {RUN_LABEL}={args.run}")
                return errors.EXIT_OK
            runs = {args.run: runs[args.run]}
        removed, containers, networks = [], 0, 0
        for run_id, resources in sorted(runs.items()):
            if resources.alive():
                _say(f"left run {run_id} alone: it is alive ({resources.why()})")
                continue
            c, n = engine.remove_labelled(RUN_LABEL, run_id)
            removed.append(run_id)
            containers, networks = containers + c, networks + n
    if removed:
        _say(f"removed {containers} container(s) and {networks} network(s) of {len(removed)} dead run(s) "
             f"(label {RUN_LABEL}): {', '.join(removed)}")
    elif args.run is None:
        _say(f"no dead run to remove (label {RUN_LABEL})")
    return errors.EXIT_OK


#: The biggest capture `ladder` draws: a run's is at most 10,000 packets of 2 KiB, about 20 MiB. (Bigger
#: ones would hold hundreds of thousands of short packets: more than Wireshark lists in the capture
#: container's memory and minute.)
LADDER_MAX_BYTES = 24 * 2**20


def _cmd_ladder(args: argparse.Namespace) -> int:
    """Draw the ladder diagram of any pcap: a run's (its report.json beside it names the hosts and the lossy
    links), the compose lab's (captures/: compose.yaml names its hosts) or one a student made by hand."""
    from .lab import capture, images
    from .report import ladder
    from .lab.engine import Engine
    from .base.labels import RUN_LABEL, run_labels
    from .play.runner import new_run_id

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
        built = images.ensure(engine, ["capture"], progress=_say)["capture"]
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
    _say(f"{_shown(out)}: {ladder.pk_count(len(result.frames))} between "
         f"{', '.join(line.name for line in diagram.lifelines) or 'no hosts'}"
         + (f" ({diagram.note})" if diagram.note else ""))
    if result.damaged:
        _say(f"{_shown(args.pcap)}: {result.damaged} (stopped mid-write?); the diagram shows those")
    return errors.EXIT_OK


def _shown(path: object) -> str:
    """A path as text that can be printed and put in a page: bytes a file name holds that are not UTF-8
    (Python keeps them as surrogates) shown escaped."""
    from .report.report import safe

    return safe(str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))


def _named_by_topology(pcap: Path) -> bool:
    """Whether `ladder` names the hosts of `pcap` from compose.yaml (no run's report beside it): then only
    the hosts the capture shows get a lifeline."""
    return not (pcap.parent / "report.json").is_file()


def _ladder_hosts(pcap: Path, topology_path: str):
    """The host names (name -> address) and lossy links for a capture: from the report.json of the run it
    belongs to, else from the lab's compose.yaml (the addresses `make up` gives)."""
    from .evidence import packets
    from .model.topology import load_topology

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


def _load_all(paths: list[str], topology_path: str, filter_checker=None):
    from .model.scenario import load_scenario
    from .model.topology import load_topology

    topology = load_topology(topology_path)
    return topology, [load_scenario(p, topology, filter_checker) for p in paths]


def _cmd_validate(args: argparse.Namespace) -> int:
    from .lab import capture, images
    from .lab.engine import Engine
    from .base.labels import RUN_LABEL, run_labels

    with contextlib.ExitStack() as stack:
        checker = None
        if not args.no_filters:
            try:  # display filters are checked by tshark, in the capture image
                engine = stack.enter_context(contextlib.closing(Engine()))
            except errors.EnvironmentProblem as e:
                raise errors.EnvironmentProblem(f"{e} (`validate --no-filters` checks everything but the display "
                                                "filters without Docker)") from e
            from .play.runner import new_run_id

            built = images.ensure(engine, ["capture"], progress=_say)["capture"]
            label = run_labels(f"validate-{new_run_id()}", purpose="validate")
            # tshark's container goes whatever happens, even on a signal between its creation and its removal
            stack.callback(engine.remove_labelled, RUN_LABEL, label[RUN_LABEL])

            def check_filters(filters: list[str]) -> dict[str, str]:
                return capture.check_filters(engine, built.ref, filters, label)

            checker = check_filters
        from .model.suite import is_suite, load_suite
        from .model.topology import load_topology

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
                from .model.scenario import load_scenario

                sc = load_scenario(path, topology, checker)
                said.append(f"{sc.path}: ok ({sc.name}: {len(sc.steps)} steps, {len(sc.checks)} checks)")
                said += [f"warning: {w}" for w in sc.warnings]
    for line in dict.fromkeys(said):  # (a scenario validated alone and in the suite is warned about once)
        _say(line)
    return errors.EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.text import Text

    from .judge import checks
    from .lab import images
    from .report import report, runpage
    from .play import runner
    from .lab.engine import Engine
    from .evidence import ImageEvidence

    console = Console(stderr=False, highlight=False)
    topology, scenarios = _load_all(args.files, args.topology)
    programs = read_programs(args.programs) if args.programs else {}
    with contextlib.closing(Engine()) as engine:
        built = images.ensure(engine, ["node", "capture"], progress=_say)
        image_evidence = {name: ImageEvidence(name, b.ref, b.image_id, b.packages_sha256) for name, b in built.items()}
        options = runner.RunOptions(runs_dir=Path(args.runs_dir), images=image_evidence,
                                    programs=programs)
        reports, codes = [], []
        for scenario in scenarios:
            console.print(f"[bold]{scenario.name}[/bold] ({scenario.path})")
            evidence = runner.run(engine, topology, scenario, options, events=_progress(console, args.verbose))
            outcomes = checks.evaluate(scenario, evidence)
            folder = options.runs_dir / evidence.run_id
            rep = report.build(scenario, evidence, outcomes, artifacts=str(folder))
            report.write_json(rep, folder / "report.json")
            report.write_junit(rep, folder / "junit.xml")
            runpage.write_run_page(rep, evidence, folder / "report.html")
            report.render(rep, console)
            console.print(Text.assemble(("Report ", "bold"), str(folder / "report.html")))
            reports.append(rep)
            codes.append(checks.exit_code(evidence, rep["verdict"]))
        if len(reports) > 1:
            report.render_summary(reports, console)
    return max(codes, key=_SEVERITY.index)


def _images(engine) -> dict:
    from .lab import images
    from .evidence import ImageEvidence

    built = images.ensure(engine, ["node", "capture"], progress=_say)
    return {name: ImageEvidence(name, b.ref, b.image_id, b.packages_sha256) for name, b in built.items()}


def _cmd_grade(args: argparse.Namespace) -> int:
    """grade DIR / check DIR: every student (or one submission) on the suite; see grading.py."""
    import datetime
    import shutil

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table
    from rich.text import Text

    from .grade import gradebook, grading
    from .play import runner
    from .lab.engine import Engine
    from .report.report import safe
    from .grade.submission import read_submission, survey
    from .model.suite import load_suite
    from .model.topology import load_topology

    console = Console(highlight=False)
    single = args.command == "check"
    skipped = []  # entries of the class folder that are no student's
    if single:
        submissions = [read_submission(args.submissions)]
    else:
        found = survey(args.submissions)
        submissions, skipped = found.submissions, found.skipped
    if args.only:
        wanted = set(args.only)
        unknown = sorted(wanted - {s.name for s in submissions})
        if unknown:
            raise errors.InvalidInput(f"--only {', '.join(unknown)}: no such student in {args.submissions} "
                                      f"(students: {', '.join(s.name for s in submissions)})")
        submissions = [s for s in submissions if s.name in wanted]
    topology = load_topology(args.topology)
    suite = load_suite(args.suite, topology)
    started = datetime.datetime.now(datetime.timezone.utc)
    out = Path(args.out) if args.out else Path("grades") / (
        ("check-" if single else "") + started.astimezone().strftime("%Y%m%d-%H%M%S"))
    cache = out.resolve().parent / ".socklab-cache"
    session = f"grade-{started.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    with contextlib.closing(Engine(pool_size=max(10, (args.jobs or grading.MAX_DEFAULT_JOBS) * 12))) as engine:
        image_evidence = _images(engine)
        limits = runner.Limits()
        submissions, compiled = _compile_check(engine, topology, image_evidence, submissions, session, limits)
        jobs = args.jobs or grading.default_jobs(*engine.capacity(), topology, limits)
        settings = grading.Settings(topology=topology, suite=suite, images=image_evidence, out=cache,
                                    fingerprint=grading.fingerprint(topology, image_evidence, limits),
                                    session=session, limits=limits)
        total = sum(len(grading.plan(s, settings)) for s in submissions)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("grading", total=total)

            def on_part(part, result):
                state = "reused" if result is not None and result.reused else (
                    "stopped" if result is None else result.verdict)
                bar.update(task, advance=1, description=f"{safe(part.label)[:60]} ({state})")

            grader = grading.Grader(engine, settings, jobs, force=args.force, fresh_labs=args.fresh_labs,
                                    on_part=on_part)
            grades = grader.grade(submissions)
        engine_version = engine.version()
    final = grading.Settings(topology=topology, suite=suite, images=image_evidence, out=out,
                             fingerprint=settings.fingerprint, session=session, limits=limits)
    for grade in grades:  # each student's plays, from the cache into this grading's folder
        src, dst = grading.student_folder(settings, grade.submission.name), grading.student_folder(final,
                                                                                                   grade.submission.name)
        if src.exists():  # copies, not links: a later play of the cache rewrites its files in place
            shutil.copytree(src, dst, dirs_exist_ok=True)
    manifest = _manifest(args, suite, topology, image_evidence, submissions, session, started, engine_version, limits,
                         jobs, compiled, skipped)
    manifest["labs_replaced"] = grader.replaced  # labs that could not be cleared between two plays
    manifest["labs_created"] = grader.labs_created
    gradebook.write_all(grades, final, manifest)
    table = Table(box=None, header_style="bold")
    for column in ("student", "score", "status"):
        table.add_column(column)
    for g in grades:
        status = Text("graded", style="green") if g.status == "graded" else Text("error", style="bold magenta")
        table.add_row(Text(safe(g.submission.name)), Text(f"{g.total}/{g.maximum}"), status)
    if single:
        console.print(Text(gradebook.summary(grades[0], final)))
    console.print(table)
    if compiled.problems:
        broken = [f"{safe(student)}'s {', '.join(programs)}" for student, programs in compiled.problems.items()]
        console.print(Text(f"Not played, not runnable under the lab's Python {compiled.python} (their checks fail, "
                           f"with Python's words): {'; '.join(broken)}"))
    if skipped:
        entries = f"{len(skipped)} {'entry' if len(skipped) == 1 else 'entries'}"
        console.print(Text.assemble(("Skipped ", "bold"), f"{entries} of {safe(str(args.submissions))}, no student's:"))
        for entry in skipped:
            console.print(Text(f"  {safe(entry.entry)}: {safe(entry.reason)}"))
    console.print(Text.assemble(("Grades ", "bold"), str(out / gradebook.CSV_NAME)))
    page = (grading.student_folder(final, grades[0].submission.name) if single and grades else out) / gradebook.PAGE_NAME
    console.print(Text.assemble(("Pages ", "bold"), str(page)))
    return errors.EXIT_OK if all(g.status == "graded" for g in grades) else errors.EXIT_CHECKS_FAILED


def _compile_check(engine, topology, images: dict, submissions: list, session: str, limits) -> tuple[list, object]:
    """Every submitted file compiled by the lab's own Python (the image and user the programs play with), in
    one throwaway container labelled with the grading's session, before any play (startcheck.py): the
    submissions with the programs that cannot start moved to their problems, and what was found."""
    from .play import runner
    from .grade import startcheck
    from .evidence import ImageEvidence
    from .base.interrupts import Interrupts
    from .base.labels import run_labels

    host = next(iter(topology.hosts.values()))  # (the hosts programs play on: one image, one user)
    ref = runner.exact_image(images, host.image)
    image = next((im for im in images.values() if im.ref == ref), None)
    if image is None:  # a topology of another image than the lab's
        info = engine.image(ref)
        if info is None:
            raise errors.EnvironmentProblem(f"the image {ref} of the topology's host {host.name} does not exist")
        image = ImageEvidence(host.name, ref, info.id, "")
    user = host.user if host.user and host.user not in ("root", "0") else str(limits.home_uid)
    labels = run_labels(f"{session}-compile", purpose="compile", session=session)
    with Interrupts() as interrupts:
        checked = startcheck.check(engine, submissions, image, user, labels, dict(runner.PROGRAM_ENVIRONMENT),
                                   hold=interrupts.held)
        interrupts.check()
    return checked


def _manifest(args, suite, topology, images, submissions, session, started, engine_version, limits, jobs,
              compiled=None, skipped=()) -> dict:
    """What the grades were made on (gradebook.py)."""
    import dataclasses
    import datetime
    import hashlib
    import subprocess

    from . import __version__
    from .grade import grading

    def git(*cmd: str) -> str | None:
        try:
            proc = subprocess.run(["git", "-C", str(ROOT), *cmd], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "session": session, "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "orchestrator": {"version": __version__, "git_commit": git("rev-parse", "HEAD"),
                         "git_dirty": None if status is None else bool(status),
                         "source_sha256": grading.source_digest()},
        "engine": engine_version,
        "images": {n: {"ref": im.ref, "id": im.id, "packages_sha256": im.packages_sha256} for n, im in images.items()},
        "topology": {"path": topology.path, "sha256": hashlib.sha256(Path(topology.path).read_bytes()).hexdigest()},
        "suite": {"path": suite.path, "name": suite.name, "sha256": suite.sha256,
                  "scenarios": [{"path": e.scenario.path, "name": e.scenario.name, "sha256": e.sha256,
                                 "weight": e.weight, "needs": list(e.scenario.needs())} for e in suite.entries]},
        "options": {"jobs": jobs, "force": args.force, "only": args.only, "fresh_labs": args.fresh_labs,
                    "limits": dataclasses.asdict(limits)},
        "submissions": {s.name: {"path": s.path, "digest": s.digest(), "files": s.hashes(), "problems": s.problems,
                                 "error": s.error, "notes": list(s.notes)} for s in submissions},
        # the lab's Python that compiled every file before the plays, and what could not start (startcheck.py)
        "compiled": compiled.manifest() if compiled is not None else None,
        "skipped": [{"entry": e.entry, "reason": e.reason} for e in skipped],  # entries that are no student's
    }


#: exit codes from least to most severe: several scenarios in one command exit with the worst
_SEVERITY = [errors.EXIT_OK, errors.EXIT_CHECKS_FAILED, errors.EXIT_ENVIRONMENT, errors.EXIT_INVALID_INPUT]


def _progress(console, verbose: bool):
    """The live progress of a run. What comes from the run (step descriptions, what a program printed)
    goes through report.safe (no escape sequence reaches the terminal) and is never read as markup."""
    from rich.text import Text

    from .report.report import safe
    from .play.runner import Event

    marks = {"ok": ("✓", "green"), "failed": ("✗", "red"), "skipped": ("-", "yellow")}

    def show(event: Event) -> None:
        if event.kind == "step-end" and event.result:
            r = event.result
            took = ("", "") if r.duration is None else (f" ({r.duration:.2f} s)", "dim")
            console.print(Text.assemble("  ", marks[r.status], f" {r.key} {safe(r.description)}", took))
            if r.status == "failed":
                console.print(Text("      " + safe(r.message).replace("\n", "\n      "), style="red"))
        elif event.kind == "phase" and (verbose or event.text.startswith(("run error", "traffic"))):
            console.print(Text(f"  {safe(event.text)}", style="dim"))

    return show


def _say(message: str) -> None:
    print(message, flush=True)


# ---- argument types: a bad argument is refused by argparse (exit 2, one line) before any Docker work ----

#: Folders of the kernel and devices: never a place for a run's artifacts.
_SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))
#: A run id as runs and the compose lab write it (20261124-101010-a1b2c3, validate-..., lab).
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MAX_WAIT_SECONDS = 3600.0


def _runs_dir(text: str) -> str:
    """--runs-dir: a folder, or a path where one can be made, outside /proc, /sys and /dev."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty (artifacts would go into the current folder); give a folder, "
                                         "e.g. --runs-dir runs")
    try:
        path = Path(text).resolve()
        for system in _SYSTEM_FOLDERS:
            if path == system or system in path.parents:
                raise argparse.ArgumentTypeError(f"{text!r} is in {system}, a folder of the system, not one for a "
                                                 "run's artifacts; give another")
        for folder in (path, *path.parents):  # the folder, or the nearest part of its path that exists
            if folder.exists():
                if not folder.is_dir():
                    what = "is a file" if folder == path else f"is inside {str(folder)!r}, which is a file"
                    raise argparse.ArgumentTypeError(f"{text!r} {what}, not a folder; give a folder")
                break
    except OSError as e:
        raise argparse.ArgumentTypeError(f"cannot use {text!r}: {e.strerror or e}") from None
    return text


def _percent(text: str) -> int:
    """--loss, --duplicate, --reorder: 1% to 100% (the % may be left out)."""
    from .model.scenario import PERCENT

    text = text if text.endswith("%") else text + "%"
    if not PERCENT.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be a whole percentage from 1% to 100%, e.g. 20% (got {text!r})")
    return int(text[:-1])


def _milliseconds(text: str) -> float:
    """--delay, --jitter: milliseconds, 100ms (the ms may be left out)."""
    from .model.scenario import MILLISECONDS

    text = text if text.endswith("ms") else text + "ms"
    if not MILLISECONDS.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be milliseconds, at most 99999ms, e.g. 100ms (got {text!r})")
    return float(text[:-2])


def _rate(text: str) -> str:
    from .model.scenario import RATE

    if not RATE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be a rate in kbit or mbit, e.g. 1mbit (got {text!r})")
    return text


def _jobs(text: str) -> int:
    """-j: a whole number of plays at once, 1 to 64."""
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 64 (got {text!r})")
    return int(text)


def _programs_dir(text: str) -> str:
    """--programs: not empty (an empty one, say from an unset variable in a grading script, would quietly
    grade the reference programs instead of the student's)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: give the folder of the programs to run")
    return text


def _run_id(text: str) -> str:
    """clean --run: a run id (never empty: that would mean every run)."""
    if not text:
        raise argparse.ArgumentTypeError("is empty; give a run id (e.g. 20261124-101010-a1b2c3, or lab), or leave "
                                         "--run out to remove every dead run")
    if not _RUN_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not a run id: a run id is letters, digits, '.', '_' "
                                         "and '-', at most 128 (e.g. 20261124-101010-a1b2c3, or lab)")
    return text


def _regex(text: str) -> str:
    """wait-log --pattern: a regular expression Python compiles."""
    try:
        re.compile(text)
    except re.error as e:
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not a valid regular expression: {e}") from None
    except (OverflowError, RecursionError, ValueError) as e:  # re.compile raises more than re.error
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not a regular expression Python can compile: "
                                         f"{e or type(e).__name__}") from None
    return text


def _seconds(text: str) -> float:
    """wait-log --timeout: seconds, a finite number greater than 0, at most an hour (nan would never time out)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= _MAX_WAIT_SECONDS:  # also false for nan
        raise argparse.ArgumentTypeError(f"must be a number of seconds greater than 0 and at most "
                                         f"{_MAX_WAIT_SECONDS:g} (got {text[:60]!r})")
    return value


def build_parser() -> argparse.ArgumentParser:
    prog = "socklab" if Path(sys.argv[0]).name == "socklab" else "python -m orchestrator"  # as it was started
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("images", help="build the lab's images if their inputs changed (no registry needed)")
    p.add_argument("names", nargs="*", metavar="NAME", help="images to build (default: all)")
    p.add_argument("--force", action="store_true", help="rebuild even if an image with the same inputs exists")
    p.add_argument("--prune", action="store_true", help="remove the project's images of older inputs instead")
    p.add_argument("--remove", action="store_true", help="remove all the project's images instead")
    p.set_defaults(func=_cmd_images)
    for name, helptext in (("run", "play scenarios on the lab and check them"),
                           ("validate", "check scenario files without running anything")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("files", nargs="+", metavar="SCENARIO", help="scenario YAML files")
        p.add_argument("--topology", default=str(ROOT / "compose.yaml"), help="the lab (default: compose.yaml)")
        if name == "run":
            p.add_argument("--runs-dir", default=str(ROOT / "runs"), type=_runs_dir,
                           help="where artifacts go (default: runs/)")
            p.add_argument("-v", "--verbose", action="store_true", help="show every phase of the run")
            p.add_argument("--programs", metavar="DIR", type=_programs_dir,
                           help="run the .py files of DIR instead of the reference programs of the same names")
            p.set_defaults(func=_cmd_run)
        else:
            p.add_argument("--no-filters", action="store_true",
                           help="do not ask tshark to check display filters (needs no Docker)")
            p.set_defaults(func=_cmd_validate)
    for name, helptext in (("grade", "grade a class: every student's programs on a suite (README, Grading)"),
                           ("check", "grade one submission on the suite, as grading would (a student's check)")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("submissions", metavar="DIR", help="the class folder (one entry per student: a folder or a "
                       ".zip)" if name == "grade" else "the folder of one submission's programs")
        p.add_argument("--suite", default=str(ROOT / "scenarios" / "suite.yaml"),
                       help="the scenarios and their weights (default: scenarios/suite.yaml)")
        p.add_argument("--topology", default=str(ROOT / "compose.yaml"), help="the lab (default: compose.yaml)")
        p.add_argument("-j", "--jobs", type=_jobs, default=None,
                       help="plays at once (default: two per CPU of the Docker Engine, as far as its memory "
                            "allows, at most 16)")
        p.add_argument("--out", help="where the grades go (default: grades/<date-time>/; results are re-used "
                       "from the cache beside it, grades/.socklab-cache)")
        p.add_argument("--force", action="store_true", help="play everything again, re-using no result")
        p.add_argument("--fresh-labs", action="store_true",
                       help="a lab of its own for every play (default: a student's plays share one, reset between)")
        if name == "grade":
            p.add_argument("--only", nargs="+", metavar="NAME", help="only these students")
        else:
            p.set_defaults(only=None)
        p.set_defaults(func=_cmd_grade)
    p = sub.add_parser("clean", help="remove what dead runs left (label socklab.run); a live run is left alone")
    p.add_argument("--run", type=_run_id,
                   help="only this run id, if it is dead (default: every dead run; the compose lab too, once stopped)")
    p.set_defaults(func=_cmd_clean)
    p = sub.add_parser("impair", help="make the links of running containers (the compose lab's: make impair) "
                                      "lose, delay... packets; with no option, clear them")
    p.add_argument("containers", nargs="+", metavar="CONTAINER", help="container id or name")
    p.add_argument("--loss", type=_percent, help="a share of what reaches the host, e.g. 20%% (deterministic)")
    p.add_argument("--delay", type=_milliseconds, help="added to what the host sends, e.g. 100ms (a delayer)")
    p.add_argument("--jitter", type=_milliseconds, help="the delay varies by up to this, e.g. 10ms")
    p.add_argument("--duplicate", type=_percent, help="a share sent twice, e.g. 5%% (deterministic)")
    p.add_argument("--reorder", type=_percent, help="a share sent ahead of the delayed ones, e.g. 25%%")
    p.add_argument("--rate", type=_rate, help="a cap on what the host sends, e.g. 1mbit (tbf)")
    p.set_defaults(func=_cmd_impair)
    p = sub.add_parser("ladder", help="draw the ladder diagram (SVG) of a capture: a run's, make up's, anyone's")
    p.add_argument("pcap", metavar="PCAP", help="the capture (.pcap or .pcapng)")
    p.add_argument("-o", "--output", metavar="SVG", help="where the diagram goes (default: PCAP with .svg)")
    p.add_argument("--topology", default=str(ROOT / "compose.yaml"),
                   help="names the hosts when no report.json is beside the capture (default: compose.yaml)")
    p.set_defaults(func=_cmd_ladder)
    p = sub.add_parser("wait-log", help="wait until a container's logs show a line (used by `make up`)")
    p.add_argument("--container", required=True, help="container id or name")
    p.add_argument("--pattern", required=True, type=_regex, help="regular expression")
    p.add_argument("--timeout", type=_seconds, default=20.0, help="seconds (default 20, at most 3600)")
    p.set_defaults(func=_cmd_wait_log)
    return parser


def entry() -> None:
    """The console script `socklab` (pyproject.toml)."""
    interrupts.exit_with(main())


def main(argv: list[str] | None = None) -> int:
    """The command line: every error a user can cause is one message and a fixed exit code (errors.py);
    an interrupt, at any moment, is 130 after whatever was started has been torn down."""
    interrupts.install()
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as e:  # argparse: usage errors are invalid input
            return errors.EXIT_OK if e.code == 0 else errors.EXIT_INVALID_INPUT
        interrupts.check()  # one that came while the modules were imported, and was swallowed
        return args.func(args)
    except errors.SocklabError as e:
        _complain(f"error: {e}")
        return e.exit_code
    except KeyboardInterrupt:
        _complain("interrupted")
        return errors.EXIT_INTERRUPTED
    except OSError as e:
        if e.errno not in _OUTPUT_LOST:
            raise
        # our own output cannot be written (a closed pipe, a full disk): say so where we still can
        _drop_stdout()
        _complain(f"error: cannot write the output: {e.strerror}")
        return errors.EXIT_ENVIRONMENT


#: errors of writing to standard output that are the output's (the reader went away, the disk is full)
_OUTPUT_LOST = (errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EIO)


def _complain(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr, flush=True)


def _drop_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno() if sys.stdout else 1)
        os.close(null)
