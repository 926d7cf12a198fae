"""The play as one unit (report/playunit.py): inputs in, a result with its artifacts out, against the fake engine."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

from orchestrator.base.errors import EXIT_CHECKS_FAILED, EXIT_OK
from orchestrator.model.scenario import load_scenario
from orchestrator.report import playunit

from tests.support.grading import IMAGES, TOPOLOGY

from .fake_engine import FakeEngine

SCENARIO = """
name: listens
description: a TCP server that says it listens, against the fake engine
hosts: [server]
defaults: {timeout: 0.5}
steps:
  - start: {id: server, host: server, run: [server_tcp.py, 0.0.0.0, "5000"]}
  - wait: {port: 5000, host: server}
  - signal: {program: server, signal: SIGINT}
  - wait: {program: server, exit: any}
checks:
  - name: the server listens
    log: {program: server, match: listening, count: 1}
"""


def server(says: str):
    def behaviour(proc):
        proc.out(says)
        proc.bind("tcp", 5000)
        proc.wait_signal()
        return 0
    return behaviour


def inputs(tmp_path: Path, **more) -> playunit.PlayInputs:
    (tmp_path / "listens.yaml").write_text(SCENARIO)
    return playunit.PlayInputs(load_scenario(tmp_path / "listens.yaml", TOPOLOGY), TOPOLOGY, IMAGES,
                               tmp_path / "runs", **more)


def test_a_play_is_played_judged_and_its_reports_written_in_its_folder(tmp_path):
    played = playunit.play(inputs(tmp_path), FakeEngine({"server_tcp.py": server("Socket is listening")}))
    assert played.folder == tmp_path / "runs" / played.evidence.run_id
    assert {p.name for p in played.folder.iterdir()} >= {"report.json", "junit.xml", "report.html"}
    assert json.loads((played.folder / "report.json").read_text()) == json.loads(json.dumps(played.report))
    assert [(o.name, o.passed) for o in played.outcomes] == [("the server listens", True)]
    assert (played.report["verdict"], played.exit_code) == ("pass", EXIT_OK)


def test_the_students_program_and_the_folder_come_from_the_inputs_alone(tmp_path):
    """A student's file replaces the reference one of its name, the artifacts go where the inputs say, and
    the run page marks the graded file. The inputs are plain data: they survive pickling (another machine)."""
    folder = tmp_path / "part"
    folder.mkdir()
    given = inputs(tmp_path, programs={"server_tcp.py": b"# mine\n"}, folder=folder, graded="server_tcp.py",
                   judges=("server_tcp.py",))
    assert pickle.loads(pickle.dumps(given)) == given
    engine = FakeEngine({"student:server_tcp.py": server("Waiting")})
    played = playunit.play(given, engine)
    assert played.folder == folder and (folder / "report.json").is_file()
    assert played.evidence.programs["server"].source == "submission"
    assert (played.report["verdict"], played.exit_code) == ("fail", EXIT_CHECKS_FAILED)
    assert "server_tcp.py" in (folder / "report.html").read_text()
