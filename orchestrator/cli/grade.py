"""`grade` and `check`: a class (or one submission) graded on a suite, with the manifest of what the grades
were made on and the console's table (grade/grading.py does the grading)."""
from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from ..base import errors
from . import argtypes
from .common import ROOT, lab_images


def register(sub) -> None:
    for name, helptext in (("grade", "grade a class: every student's programs on a suite (README, Grading)"),
                           ("check", "grade one submission on the suite, as grading would (a student's check)")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("submissions", metavar="EXPORT" if name == "grade" else "DIR",
                       help="the class as the platform handed it over: a folder or its .zip (Moodle, Canvas, "
                       "Blackboard, a folder of git repositories, or one folder or .zip per student)"
                       if name == "grade" else "the folder of one submission's programs")
        p.add_argument("--suite", default=str(ROOT / "scenarios" / "suite.yaml"),
                       help="the scenarios and their weights (default: scenarios/suite.yaml)")
        p.add_argument("--topology", default=str(ROOT / "compose.yaml"), help="the lab (default: compose.yaml)")
        p.add_argument("-j", "--jobs", type=argtypes.jobs, default=None,
                       help="plays at once (default: two per CPU of the Docker Engine, as far as its memory "
                            "allows, at most 16)")
        p.add_argument("--out", help="where the grades go (default: grades/<date-time>/; results are re-used "
                       "from the cache beside it, grades/.socklab-cache)")
        p.add_argument("--force", action="store_true", help="play everything again, re-using no result")
        p.add_argument("--fresh-labs", action="store_true",
                       help="a lab of its own for every play (default: a student's plays share one, reset between)")
        p.add_argument("--cluster", metavar="ADDRESS", help="play on the cluster's workers (the lab machines): "
                       "its scheduler's tls://HOST:PORT (README, Grading on the lab PCs)")
        p.add_argument("--certs", metavar="DIR", help="with --cluster: the grader's certificates (ca.pem, client.pem, "
                       "client-key.pem; `socklab cluster certs` makes them)")
        if name == "grade":
            p.add_argument("--only", nargs="+", metavar="NAME", help="only these students (names or identifiers)")
            p.add_argument("--format", choices=("moodle", "canvas", "blackboard", "git", "folders"), default=None,
                           help="the export's layout (default: recognised by itself; README, Grading)")
            p.add_argument("--handout", metavar="DIR", help="the course handout's programs (.py files): boilerplate "
                           "to similarity.html, as the lab's reference programs are")
            p.add_argument("--moodle-worksheet", metavar="FILE", type=argtypes.sheet_file,
                           help="Moodle's grading worksheet (.csv, downloaded for offline grading): written back "
                           "filled in, as OUT/moodle-worksheet.csv (README, Grading: Moodle)")
            p.add_argument("--canvas-gradebook", metavar="FILE", type=argtypes.sheet_file,
                           help="Canvas's gradebook export (.csv): the import file OUT/canvas-import.csv is made from "
                           "it (README, Grading: Canvas)")
            p.add_argument("--canvas-column", metavar="NAME", help="the gradebook's assignment to fill: its title, with "
                           "or without its (id) (default: its only assignment column)")
        else:
            p.set_defaults(only=None, format=None, handout=None, moodle_worksheet=None, canvas_gradebook=None,
                           canvas_column=None)
        p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    """grade DIR / check DIR: every student (or one submission) on the suite; see grading.py."""
    import datetime
    import shutil

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table
    from rich.text import Text

    from ..grade import gradebook, grading, handback
    from ..play import runner
    from ..lab.engine import Engine
    from ..base.text import escaped_lines
    from ..grade.exports import read_export
    from ..grade.submission import read_programs, read_submission
    from ..model.suite import load_suite
    from ..model.topology import load_topology

    console = Console(highlight=False)
    single = args.command == "check"
    cluster = _connect(args, console)  # before anything else: an unreachable scheduler is one line, exit 3
    handout = read_programs(args.handout) if args.handout else None  # refused before any play if unreadable
    # the platform's sheets to hand the grades back in, read (and refused if they cannot be filled) before any play
    requests = handback.read_requests(args.moodle_worksheet, args.canvas_gradebook, args.canvas_column)
    skipped = []  # entries of the class folder that are no student's
    export = None  # the class's layout, and why (grade/exports.py)
    if single:
        submissions = [read_submission(args.submissions)]
    else:
        export = read_export(args.submissions, args.format)
        submissions, skipped = export.submissions, export.skipped
        console.print(Text.assemble(("Layout ", "bold"), escaped_lines(export.detection)))
        for note in export.notes:  # what of an export zip was not looked at
            console.print(Text(f"  note: {escaped_lines(note)}"))
        handback.check_platform(requests, export.platform, args.submissions)
    if args.only:
        submissions = only(submissions, args.only, args.submissions)
    topology = load_topology(args.topology)
    suite = load_suite(args.suite, topology)
    started = datetime.datetime.now(datetime.timezone.utc)
    out = Path(args.out) if args.out else Path("grades") / (
        ("check-" if single else "") + started.astimezone().strftime("%Y%m%d-%H%M%S"))
    cache = out.resolve().parent / ".socklab-cache"
    session = f"grade-{started.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    with contextlib.closing(Engine(pool_size=max(10, (args.jobs or grading.MAX_DEFAULT_JOBS) * 12))) as engine, \
            contextlib.closing(cluster) if cluster is not None else contextlib.nullcontext():
        image_evidence = lab_images(engine)
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
            machines = bar.add_task("", total=None, visible=cluster is not None)

            def on_part(part, result):
                state = "reused" if result is not None and result.reused else (
                    "stopped" if result is None else result.verdict)
                bar.update(task, advance=1, description=f"{escaped_lines(part.label)[:60]} ({state})")

            def on_machines(under_way: dict[str, int]) -> None:  # plays under way on each machine
                bar.update(machines, description="under way: " + (", ".join(
                    f"{escaped_lines(name)[:30]} {n}" for name, n in sorted(under_way.items())) or "none"))

            if cluster is None:
                grader = grading.Grader(engine, settings, jobs, force=args.force, fresh_labs=args.fresh_labs,
                                        on_part=on_part)
            else:
                from ..grade.clustered import ClusterGrader

                grader = ClusterGrader(cluster, settings, force=args.force, on_part=on_part, on_machines=on_machines)
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
    if export is not None:
        manifest["export"] = {"platform": export.platform, "detection": export.detection, "notes": list(export.notes)}
    manifest["labs_replaced"] = grader.replaced  # labs that could not be cleared between two plays
    manifest["labs_created"] = grader.labs_created
    handed = handback.write(grades, final, export.platform if export else "folders", requests)
    manifest["handback"] = {o.kind: o.manifest for o in handed}  # the platform's own files, filled in
    if cluster is not None:
        manifest["cluster"] = _cluster_manifest(cluster, grader, submissions, settings)
    gradebook.write_all(grades, final, manifest, handout)
    table = Table(box=None, header_style="bold")
    for column in ("student", "score", "status"):
        table.add_column(column)
    for g in grades:
        status = Text("graded", style="green") if g.status == "graded" else Text("error", style="bold magenta")
        table.add_row(Text(escaped_lines(g.submission.name)), Text(f"{g.total}/{g.maximum}"), status)
    if single:
        console.print(Text(gradebook.summary(grades[0], final)))
    console.print(table)
    if compiled.problems:
        broken = [f"{escaped_lines(student)}'s {', '.join(programs)}" for student, programs in compiled.problems.items()]
        console.print(Text(f"Not played, not runnable under the lab's Python {compiled.python} (their checks fail, "
                           f"with Python's words): {'; '.join(broken)}"))
    if skipped:
        entries = f"{len(skipped)} {'entry' if len(skipped) == 1 else 'entries'}"
        console.print(Text.assemble(("Skipped ", "bold"), f"{entries} of {escaped_lines(str(args.submissions))}, no student's:"))
        for entry in skipped:
            console.print(Text(f"  {escaped_lines(entry.entry)}: {escaped_lines(entry.reason)}"))
    console.print(Text.assemble(("Grades ", "bold"), str(out / gradebook.CSV_NAME)))
    for o in handed:  # what goes back to the platform, and what of it could not
        label = {"moodle_worksheet": "Moodle worksheet ", "moodle_feedback": "Moodle feedback files ",
                 "canvas_import": "Canvas import "}[o.kind]
        console.print(Text.assemble((label, "bold"), str(out / o.file)))
        for line in o.lines:
            console.print(Text(f"  {escaped_lines(line)}"))
    page = (grading.student_folder(final, grades[0].submission.name) if single and grades else out) / gradebook.PAGE_NAME
    console.print(Text.assemble(("Pages ", "bold"), str(page)))
    return errors.EXIT_OK if all(g.status == "graded" for g in grades) else errors.EXIT_CHECKS_FAILED


def _connect(args: argparse.Namespace, console):
    """--cluster: the connection to its scheduler, with a worker there (exit 3, one line, otherwise); None
    without it (Dask is then never imported)."""
    if args.cluster is None:
        if args.certs is not None:
            raise errors.InvalidInput("--certs DIR is for --cluster ADDRESS: give both, or neither")
        return None
    if args.certs is None:
        raise errors.InvalidInput(f"--cluster {args.cluster} needs --certs DIR, the grader's certificates (ca.pem, "
                                  "client.pem, client-key.pem; `socklab cluster certs DIR` makes them)")
    from rich.text import Text

    from ..cluster.client import Cluster

    cluster = Cluster(args.cluster, args.certs)
    try:
        cluster.wait_for_workers()
        workers = sorted(cluster.workers().values())
    except BaseException:
        cluster.close()
        raise
    console.print(Text.assemble(("Cluster ", "bold"), f"{cluster.address}: {len(workers)} worker(s) ({', '.join(workers)})"
                                + (f"; dashboard {cluster.dashboard}" if cluster.dashboard else "")))
    return cluster


def _cluster_manifest(cluster, grader, submissions, settings) -> dict:
    """Which machine and engine played each play (and which failed it), and the cluster's workers."""
    from ..grade import grading

    try:
        workers = {str(info.get("machine", {}).get("worker", address)): info
                   for address, info in cluster.machines().items() if isinstance(info, dict)}
    except Exception as e:  # (the grades are made: a worker gone meanwhile costs only this list)
        workers = {"unknown": {"error": str(e)}}
    plays = [{"student": part.student, "scenario": part.entry.scenario.name, "program": part.program,
              **grader.played_by.get(part.key, {})}
             for s in submissions for part in grading.plan(s, settings)]
    return {"scheduler": cluster.address, "dashboard": cluster.dashboard, "workers": workers, "plays": plays}


def only(submissions: list, wanted: list[str], where: str) -> list:
    """The students --only names, by name or by the platform's identifier; InvalidInput for one not there."""
    known = {s.name for s in submissions} | {s.identifier for s in submissions if s.identifier}
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise errors.InvalidInput(f"--only {', '.join(unknown)}: no such student in {where} "
                                  f"(students: {', '.join(s.name for s in submissions)})")
    return [s for s in submissions if s.name in wanted or (s.identifier and s.identifier in wanted)]


def _compile_check(engine, topology, images: dict, submissions: list, session: str, limits) -> tuple[list, object]:
    """Every submitted file compiled by the lab's own Python (the image and user the programs play with), in
    one throwaway container labelled with the grading's session, before any play (startcheck.py): the
    submissions with the programs that cannot start moved to their problems, and what was found."""
    from ..play import runner
    from ..grade import startcheck
    from ..evidence import ImageEvidence
    from ..base.interrupts import Interrupts
    from ..base.labels import run_labels

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

    from .. import __version__
    from ..grade import grading

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
                                 "error": s.error, "notes": list(s.notes), "identifier": s.identifier,
                                 "platform": s.platform, "late": s.late, "commit": s.commit, "entry": s.entry}
                        for s in submissions},
        # the lab's Python that compiled every file before the plays, and what could not start (startcheck.py)
        "compiled": compiled.manifest() if compiled is not None else None,
        "skipped": [{"entry": e.entry, "reason": e.reason} for e in skipped],  # entries that are no student's
    }
