"""The command line's contract without Docker: exit codes and one-line messages, never a traceback."""

import pytest

from orchestrator.cli import app as cli
from orchestrator.cli.ladder import LADDER_MAX_BYTES
from orchestrator.base import errors

from tests.support import ROOT



def test_validate_without_filters_needs_no_docker(capsys):
    assert cli.main(["validate", "--no-filters", str(ROOT / "scenarios/tcp.yaml"), str(ROOT / "scenarios/udp.yaml")]) == 0
    out = capsys.readouterr().out
    assert "tcp.yaml: ok (tcp-exchange" in out and "udp.yaml: ok (udp-exchange" in out


def test_validate_warns_about_a_check_that_inaction_would_pass(tmp_path, capsys):
    """An absence or an exit status with points that depends on nothing is a warning (exit 0), located; the
    scenarios of the project have none."""
    scenario = tmp_path / "vacuous.yaml"
    scenario.write_text("""name: vacuous
description: a server that does nothing would pass these
hosts: [server]
steps:
  - start: {id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}
checks:
  - name: the server resets nothing
    judges: server
    capture: {filter: "tcp.flags.reset==1", count: 0}
  - name: the server exits 0
    exit: {program: server, status: 0}
  - name: shown, not graded
    points: 0
    judges: server
    capture: {filter: "udp", count: 0}
""")
    assert cli.main(["validate", "--no-filters", str(scenario)]) == errors.EXIT_OK
    warnings = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("warning: ")]
    assert warnings == [
        f"warning: {scenario}:7 (checks[0]): check 'the server resets nothing' is an absence (a count that accepts "
        "0) that depends on nothing: a program that does nothing, crashes or exits at once would earn its points. "
        "Name the check of the behaviour it is about in requires (scenarios/README.md, requires), or give it "
        "points: 0",
        f"warning: {scenario}:10 (checks[1]): check 'the server exits 0' is an exit check that depends on nothing: "
        "a program that does nothing, crashes or exits at once would earn its points. Name the check of the "
        "behaviour it is about in requires (scenarios/README.md, requires), or give it points: 0"]
    suite = ROOT / "scenarios" / "suite.yaml"
    assert cli.main(["validate", "--no-filters", str(suite), *map(str, sorted((ROOT / "scenarios").glob("*.yaml")))]) == 0
    assert "warning" not in capsys.readouterr().out


def test_an_invalid_scenario_is_one_line_and_exit_2(capsys):
    path = ROOT / "tests/scenarios/invalid/port_out_of_range.yaml"
    assert cli.main(["validate", "--no-filters", str(path)]) == errors.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:") and err.count("\n") == 1 and "Traceback" not in err


def test_bad_arguments_are_exit_2(capsys):
    assert cli.main(["run"]) == errors.EXIT_INVALID_INPUT
    assert cli.main(["no-such-command"]) == errors.EXIT_INVALID_INPUT
    assert cli.main(["--help"]) == errors.EXIT_OK


def test_a_programs_folder_without_programs_is_exit_2_before_docker(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")  # would be exit 3 if it got that far
    assert cli.main(["run", str(ROOT / "scenarios/tcp.yaml"), "--programs", str(tmp_path)]) == 2
    assert "expected a folder with .py files" in capsys.readouterr().err


def test_a_handout_folder_without_programs_is_exit_2_before_docker(tmp_path, capsys, monkeypatch):
    """grade --handout (similarity.html's boilerplate) is read before any play: an empty folder is refused."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")  # would be exit 3 if it got that far
    assert cli.main(["grade", str(ROOT / "examples/submissions"), "--handout", str(tmp_path)]) == 2
    assert "expected a folder with .py files" in capsys.readouterr().err


def test_no_docker_is_exit_3(capsys, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    assert cli.main(["clean"]) == errors.EXIT_ENVIRONMENT
    assert "cannot reach a Docker Engine" in capsys.readouterr().err


# ---- arguments refused before any Docker work (exit 2, argparse's one line; no Docker reachable here) ----


def _refused(argv: list[str], capsys, monkeypatch) -> str:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")  # would be exit 3 if it got that far
    assert cli.main(argv) == errors.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize("runs_dir, message", [
    ("", "is empty (artifacts would go into the current folder); give a folder, e.g. --runs-dir runs"),
    ("/proc/self/runs", "'/proc/self/runs' is in /proc, a folder of the system, not one for a run's artifacts; "
                        "give another"),
    ("/sys", "'/sys' is in /sys, a folder of the system, not one for a run's artifacts; give another"),
    ("/dev/shm/runs", "'/dev/shm/runs' is in /dev, a folder of the system, not one for a run's artifacts; "
                      "give another"),
])
def test_runs_dir_must_be_a_folder_for_artifacts(runs_dir, message, capsys, monkeypatch):
    assert _refused(["run", "--runs-dir", runs_dir, str(ROOT / "scenarios/tcp.yaml")], capsys, monkeypatch) == (
        f"python -m orchestrator run: error: argument --runs-dir: {message}")


def test_runs_dir_that_is_a_file_is_refused(tmp_path, capsys, monkeypatch):
    file = tmp_path / "notes.txt"
    file.write_text("x")
    scenario = str(ROOT / "scenarios/tcp.yaml")
    assert _refused(["run", "--runs-dir", str(file), scenario], capsys, monkeypatch) == (
        f"python -m orchestrator run: error: argument --runs-dir: '{file}' is a file, not a folder; give a folder")
    assert _refused(["run", "--runs-dir", str(file / "runs"), scenario], capsys, monkeypatch) == (
        f"python -m orchestrator run: error: argument --runs-dir: '{file / 'runs'}' is inside '{file}', which is a "
        "file, not a folder; give a folder")


@pytest.mark.parametrize("timeout", ["nan", "inf", "-1", "0", "3601", "soon"])
def test_wait_log_timeout_is_a_finite_positive_number_of_seconds(timeout, capsys, monkeypatch):
    assert _refused(["wait-log", "--container", "c", "--pattern", "x", "--timeout", timeout], capsys, monkeypatch) == (
        "python -m orchestrator wait-log: error: argument --timeout: must be a number of seconds greater than 0 and "
        f"at most 3600 (got '{timeout}')")


def test_wait_log_pattern_must_compile(capsys, monkeypatch):
    assert _refused(["wait-log", "--container", "c", "--pattern", "("], capsys, monkeypatch) == (
        "python -m orchestrator wait-log: error: argument --pattern: '(' is not a valid regular expression: "
        "missing ), unterminated subpattern at position 0")
    assert _refused(["wait-log", "--container", "c", "--pattern", "a{4294967296}"], capsys, monkeypatch) == (
        "python -m orchestrator wait-log: error: argument --pattern: 'a{4294967296}' is not a regular expression "
        "Python can compile: the repetition number is too large")


def test_clean_needs_a_real_run_id(capsys, monkeypatch):
    assert _refused(["clean", "--run", ""], capsys, monkeypatch) == (
        "python -m orchestrator clean: error: argument --run: is empty; give a run id (e.g. 20261124-101010-a1b2c3, "
        "or lab), or leave --run out to remove every dead run")
    for bad in ("a b", "x=y", "../x", "-" + "a" * 10, "a" * 200):
        assert "is not a run id" in _refused(["clean", f"--run={bad}"], capsys, monkeypatch)
    assert cli.main(["clean", "--run", "validate-20261124-101010-a1b2c3"]) == errors.EXIT_ENVIRONMENT  # a run id


def test_validate_a_scenario_as_the_topology_says_it_is_no_compose_file(capsys):
    tcp = str(ROOT / "scenarios/tcp.yaml")
    assert cli.main(["validate", "--no-filters", "--topology", tcp, tcp]) == errors.EXIT_INVALID_INPUT
    assert capsys.readouterr().err == (
        f"error: {tcp}:1: this is not a compose file: its top level has name, description, hosts, clients, timeout, "
        "defaults, steps, checks, where a compose file has services and networks\n")


def test_ladder_refuses_what_it_cannot_draw_before_docker(tmp_path, capsys):
    assert cli.main(["ladder", str(tmp_path / "none.pcap")]) == errors.EXIT_INVALID_INPUT
    assert "none.pcap: no such file" in capsys.readouterr().err
    looks = tmp_path / "capture.svg"
    looks.write_bytes(b"\xd4\xc3\xb2\xa1")
    assert cli.main(["ladder", str(looks)]) == errors.EXIT_INVALID_INPUT
    assert "would overwrite the capture" in capsys.readouterr().err
    big = tmp_path / "big.pcap"
    with big.open("wb") as f:
        f.truncate(LADDER_MAX_BYTES + 1)
    assert cli.main(["ladder", str(big)]) == errors.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "more than the 24 MiB the ladder draws" in err and err.count("\n") == 1


@pytest.mark.parametrize("jobs", ["0", "65", "two", "²", "٣", ""])
def test_jobs_is_a_whole_number_from_1_to_64_said_as_such(jobs, capsys):
    """-j takes ASCII digits only: '²' and '٣' are digits to str.isdigit() but no number int() reads."""
    assert cli.main(["grade", "class", "-j", jobs]) == errors.EXIT_INVALID_INPUT
    assert f"argument -j/--jobs: must be a whole number from 1 to 64 (got {jobs!r})" in capsys.readouterr().err


def test_only_takes_a_students_name_or_the_platforms_identifier():
    from orchestrator.cli.grade import only
    from orchestrator.grade.submission import Submission
    ana = Submission("Ana Silva (1001)", "/x/a", identifier="1001", platform="moodle")
    bo = Submission("Bo Li", "/x/b", identifier="1003", platform="moodle")
    assert only([ana, bo], ["1001"], "export.zip") == [ana]
    assert only([ana, bo], ["Bo Li", "1001"], "export.zip") == [ana, bo]
    with pytest.raises(errors.InvalidInput, match=r"--only 9: no such student in export.zip \(students: Ana Silva "
                                                  r"\(1001\), Bo Li\)"):
        only([ana, bo], ["9"], "export.zip")


# ---- the platform's sheets: read before any play, every mistake one line and exit 2 (no Docker reachable) ----

def _moodle_export(tmp_path):
    from tests.support.exports import PROGRAM, export_folder
    return str(export_folder(tmp_path / "export", {"Ana Silva_1001_assignsubmission_file/server_tcp.py": PROGRAM}))


def _one_line_exit_2(argv, capsys, monkeypatch) -> str:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")  # would be exit 3 if it got that far
    assert cli.main(argv) == errors.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err.strip()


def test_a_worksheet_with_no_identifier_column_is_exit_2_before_docker(tmp_path, capsys, monkeypatch):
    sheet = tmp_path / "grades.csv"
    sheet.write_text('Name,Grade,"Maximum Grade"\n"Ana Silva",,100.00\n')
    err = _one_line_exit_2(["grade", _moodle_export(tmp_path), "--moodle-worksheet", str(sheet)], capsys, monkeypatch)
    assert err.startswith(f"error: {sheet}:2: no column holds Moodle's identifiers (every row's 'Participant 1001'")
    err = _one_line_exit_2(["grade", _moodle_export(tmp_path), "--moodle-worksheet", str(tmp_path / "none.csv")],
                           capsys, monkeypatch)
    assert err.startswith(f"error: {tmp_path / 'none.csv'}: cannot be read: No such file or directory")


def test_a_gradebook_without_the_column_is_exit_2_listing_the_columns(tmp_path, capsys, monkeypatch):
    from tests.unit.test_canvasout import GRADEBOOK
    sheet = tmp_path / "gradebook.csv"
    sheet.write_text(GRADEBOOK)
    export = str(tmp_path / "canvas")
    err = _one_line_exit_2(["grade", export, "--canvas-gradebook", str(sheet), "--canvas-column", "Lab 9"],
                           capsys, monkeypatch)
    assert err == (f"error: {sheet}:1: has no assignment column 'Lab 9' (--canvas-column): its assignment columns "
                   "are 'Assignment 01 (4711)'; 'Lab 2 (4712)'")
    err = _one_line_exit_2(["grade", export, "--canvas-gradebook", str(sheet)], capsys, monkeypatch)
    assert "has 2 assignment columns (Title (id)): name the one to fill with --canvas-column" in err
    err = _one_line_exit_2(["grade", export, "--canvas-column", "Lab 2"], capsys, monkeypatch)
    assert err == ("error: --canvas-column names a column of the gradebook given with --canvas-gradebook FILE; give "
                   "that too")
    assert _refused(["grade", export, "--canvas-gradebook", ""], capsys, monkeypatch).endswith(
        "argument --canvas-gradebook: is empty: give the .csv file the platform exported")


def test_a_sheet_of_another_platform_than_the_exports_is_exit_2(tmp_path, capsys, monkeypatch):
    from tests.unit.test_moodleout import ENGLISH
    sheet = tmp_path / "worksheet.csv"
    sheet.write_text(ENGLISH)
    err = _one_line_exit_2(["grade", str(ROOT / "examples/submissions"), "--moodle-worksheet", str(sheet)],
                           capsys, monkeypatch)
    assert err.startswith(f"error: --moodle-worksheet {sheet}: the export {ROOT / 'examples/submissions'} was read as "
                          "folders, not moodle")


def test_grade_hands_back_the_worksheet_and_the_feedback_zip_and_says_which(tmp_path, capsys, monkeypatch):
    """The command's wiring after the plays (the grading itself stands in: no Docker here): the files handed back
    are in --out, the console names each, and manifest.json says what each did."""
    import json
    import zipfile

    from orchestrator.grade import grading, startcheck
    from orchestrator.lab import engine as engine_module
    from orchestrator.cli import grade as grade_cli
    from tests.support.grading import IMAGES, SCENARIO
    from tests.unit.test_gradebook import graded
    from tests.unit.test_moodleout import ENGLISH

    (tmp_path / "echo.yaml").write_text(SCENARIO)
    (tmp_path / "suite.yaml").write_text("name: test-suite\ndescription: one\nscenarios:\n  - {scenario: echo.yaml}\n")

    class NoEngine:
        def __init__(self, **_):
            pass

        def version(self):
            return {"Version": "none"}

        def close(self):
            pass

    class Graded:
        replaced, labs_created = 0, 0

        def __init__(self, engine, settings, jobs, **_):
            self.settings = settings

        def grade(self, submissions):
            return [graded(s, self.settings, fails=("a SYN",)) for s in submissions]

    monkeypatch.setattr(engine_module, "Engine", NoEngine)
    monkeypatch.setattr(grade_cli, "lab_images", lambda engine: IMAGES)
    monkeypatch.setattr(grade_cli, "_compile_check", lambda engine, topology, images, subs, session, limits: (
        subs, startcheck.Compiled("socklab/node:abc", "sha256:1", "3.11.2", 2)))
    monkeypatch.setattr(grading, "Grader", Graded)
    monkeypatch.setenv("COLUMNS", "400")  # (rich wraps at the terminal's width)
    sheet = tmp_path / "worksheet.csv"
    sheet.write_text(ENGLISH)
    out = tmp_path / "out"
    assert cli.main(["grade", _moodle_export(tmp_path), "--suite", str(tmp_path / "suite.yaml"), "-j", "1",
                     "--out", str(out), "--moodle-worksheet", str(sheet)]) == errors.EXIT_OK
    console = capsys.readouterr().out
    assert f"Moodle worksheet {out / 'moodle-worksheet.csv'}\n  1 row filled in; 3 left as they were" in console
    assert f"Moodle feedback files {out / 'moodle-feedback.zip'}\n  1 student's page, in the folder of the download" in console
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["handback"]["moodle_worksheet"]["file"] == "moodle-worksheet.csv"
    assert manifest["handback"]["moodle_worksheet"]["written"] == 1
    assert manifest["handback"]["moodle_feedback"]["folders"] == ["Ana Silva_1001_assignsubmission_file"]
    assert manifest["submissions"]["Ana Silva"]["entry"] == "Ana Silva_1001_assignsubmission_file"
    rows = (out / "moodle-worksheet.csv").read_text().splitlines()
    assert rows[1].startswith('"Participant 1001","Ana Silva",ana@uni.example,"Submitted for grading",60.00,100.00,')
    assert zipfile.ZipFile(out / "moodle-feedback.zip").namelist() == [
        "Ana Silva_1001_assignsubmission_file/summary.html"]
