"""The command line's contract without Docker: exit codes and one-line messages, never a traceback."""
from pathlib import Path

from orchestrator import cli, errors

ROOT = Path(__file__).resolve().parents[2]


def test_validate_without_filters_needs_no_docker(capsys):
    assert cli.main(["validate", "--no-filters", str(ROOT / "scenarios/tcp.yaml"), str(ROOT / "scenarios/udp.yaml")]) == 0
    out = capsys.readouterr().out
    assert "tcp.yaml: ok (tcp-exchange" in out and "udp.yaml: ok (udp-exchange" in out


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


def test_no_docker_is_exit_3(capsys, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    assert cli.main(["clean"]) == errors.EXIT_ENVIRONMENT
    assert "cannot reach a Docker Engine" in capsys.readouterr().err
