"""Grading on a cluster (issue 18) without Docker: a Dask scheduler and workers in this process, over TLS with
certificates made by `socklab cluster certs`'s code, each worker playing on a fake engine of its own
(tests/unit/fake_engine.py), against a local grading of the same class on the same fake."""
from __future__ import annotations

import csv
import io
import json
import os
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest

from orchestrator.base.errors import EnvironmentProblem, InvalidInput
from orchestrator.cluster import certs
from orchestrator.cluster.client import Cluster
from orchestrator.cluster.worker import Playing, images_differ
from orchestrator.evidence import ImageEvidence
from orchestrator.grade import clustered, gradebook, grading
from orchestrator.model.suite import load_suite
from orchestrator.report import playunit

from tests.support.cluster import InProcessCluster
from tests.support.grading import IMAGES, SCENARIO, TOPOLOGY, settings_for

from .test_grading import engine_for, mute_client, student

#: every wait of a test on another thread
WAIT = 20.0


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("certs") / "course"
    certs.make(folder)
    return folder


@pytest.fixture
def suite(tmp_path):
    (tmp_path / "echo.yaml").write_text(SCENARIO)
    (tmp_path / "suite.yaml").write_text("name: test\ndescription: one scenario\nscenarios:\n"
                                         "  - {scenario: echo.yaml, weight: 2}\n")
    return load_suite(tmp_path / "suite.yaml", TOPOLOGY)


@pytest.fixture
def cluster(certs_dir):
    running = InProcessCluster(certs_dir)
    yield running
    running.close()


def klass():
    return [student("ana", "server_tcp.py", "client_tcp.py"), student("bo", "server_tcp.py", "client_tcp.py"),
            student("cy", "server_tcp.py")]


def behaviours():
    return {"bo": {"client_tcp": mute_client}}


def fake_engine(name: str = "", **more):
    engine = engine_for(**(behaviours().get(name, {})))
    for key, value in more.items():
        setattr(engine, key, value)
    return engine


class StudentEngines:
    """A fake engine per play, each student's behaviours in it (FakeEngine plays one run at a time): what a
    worker's engine is in these tests."""

    def __init__(self, **more):
        self.more, self.plays = more, 0

    def play(self, inputs, engine, **kw):
        self.plays += 1
        who = Path(inputs.artifacts).parent.parent.name if inputs.artifacts else ""
        return playunit.play(inputs, fake_engine(who, **self.more), **kw)


def playing(plays=None, images=IMAGES, engine_id="engine-a") -> Playing:
    plays = plays or StudentEngines()
    return Playing(None, images, engine_id, play=plays.play)


def local_grades_csv(suite, tmp_path) -> str:
    """The class graded locally, a fake engine per play (as the workers have)."""
    grades = []
    for s in klass():
        [g] = grading.Grader(fake_engine(s.name), settings_for(suite, tmp_path / "local-cache"), jobs=1,
                             fresh_labs=True).grade([s])
        grades.append(g)
    gradebook.write_all(grades, settings_for(suite, tmp_path / "local"), {"session": "s"})
    return (tmp_path / "local" / "grades.csv").read_text()


def cluster_grade(cluster, certs_dir, suite, tmp_path, **kw):
    connection = Cluster(cluster.address, certs_dir)
    try:
        grader = clustered.ClusterGrader(connection, settings_for(suite, tmp_path / "cluster-cache"), **kw)
        grades = grader.grade(klass())
    finally:
        connection.close()
    gradebook.write_all(grades, settings_for(suite, tmp_path / "cluster"), {"session": "s"})
    return grader, grades, (tmp_path / "cluster" / "grades.csv").read_text()


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_certificates_are_the_courses_own_with_keys_for_their_owner_only(tmp_path):
    from cryptography import x509

    folder = tmp_path / "c"
    written = certs.make(folder, names=("lab1", "10.0.0.5"))
    assert sorted(p.name for p in written) == sorted(certs.all_files())
    for path in written:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o600 if path.name.endswith("-key.pem") else 0o644), path
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    worker = x509.load_pem_x509_certificate((folder / "worker.pem").read_bytes())
    assert worker.issuer == ca.subject and worker.issuer != worker.subject
    worker.verify_directly_issued_by(ca)
    with pytest.raises(InvalidInput, match="ca.pem exists: the course's CA is made once"):
        certs.make(folder)
    os.chmod(folder / "client-key.pem", 0o644)
    with pytest.raises(InvalidInput, match=r"client-key.pem: others may read this key \(mode 0644\): `chmod 600"):
        certs.role_files(folder, "client")
    (folder / "worker.pem").unlink()
    with pytest.raises(InvalidInput, match="worker.pem is missing"):
        certs.role_files(folder, "worker")


def test_a_class_graded_on_the_cluster_gets_the_grades_of_a_local_grading(cluster, certs_dir, suite, tmp_path):
    cluster.add_worker("lab1", playing(engine_id="engine-1"))
    cluster.add_worker("lab2", playing(engine_id="engine-2"))
    grader, grades, text = cluster_grade(cluster, certs_dir, suite, tmp_path)
    assert text == local_grades_csv(suite, tmp_path)
    assert [g.status for g in grades] == ["graded"] * 3
    # each play's artifacts came back into its part's folder; the report names that folder
    folder = grading.student_folder(settings_for(suite, tmp_path / "cluster-cache"), "ana") / "echo" / "server_tcp"
    assert {"report.json", "junit.xml", "report.html", "part.json"} <= {p.name for p in folder.iterdir()}
    assert json.loads((folder / "report.json").read_text())["artifacts"] == str(folder)
    part = json.loads((folder / "part.json").read_text())
    assert part["played_by"]["worker"] in ("lab1", "lab2")
    assert part["played_by"]["engine"] in ("engine-1", "engine-2")
    assert all(r["plays"] for r in grader.played_by.values()) and len(grader.played_by) == 5
    # graded again: every play re-used
    again, _, text2 = cluster_grade(cluster, certs_dir, suite, tmp_path)
    assert text2 == text and all(r.get("reused") for r in again.played_by.values())


def test_a_worker_lost_mid_play_has_its_play_played_on_another(cluster, certs_dir, suite, tmp_path):
    started, release = threading.Event(), threading.Event()

    def stuck(inputs, engine, **kw):
        started.set()
        release.wait(WAIT)
        raise KeyboardInterrupt  # (the dead machine's play never comes back)

    doomed = StudentEngines()
    doomed.play = stuck
    cluster.add_worker("doomed", playing(doomed))
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(result=cluster_grade(cluster, certs_dir, suite, tmp_path)))
    thread.start()
    try:
        assert started.wait(WAIT), "no play started on the doomed worker"
        cluster.add_worker("survivor", playing(engine_id="engine-s"))
        cluster.close_worker("doomed")
    finally:
        release.set()
        thread.join(WAIT)
    grader, grades, text = outcome["result"]
    assert text == local_grades_csv(suite, tmp_path)
    assert {r["plays"][-1]["machine"]["worker"] for r in grader.played_by.values()} == {"survivor"}


def test_a_play_whose_engine_failed_is_played_on_another_machine(cluster, certs_dir, suite, tmp_path):
    broken = StudentEngines(fail_on="create_network")
    cluster.add_worker("broken", playing(broken, engine_id="engine-b"))
    cluster.add_worker("sound", playing(engine_id="engine-s"))
    grader, grades, text = cluster_grade(cluster, certs_dir, suite, tmp_path)
    assert text == local_grades_csv(suite, tmp_path)
    assert [g.status for g in grades] == ["graded"] * 3
    failed = [f for r in grader.played_by.values() for f in r.get("failed", [])]
    assert len(failed) == broken.plays and all("fake engine told to fail in create_network" in f["why"]
                                               for f in failed)


def test_a_play_every_machine_failed_is_the_students_error_never_a_grade(cluster, certs_dir, suite, tmp_path):
    cluster.add_worker("broken1", playing(StudentEngines(fail_on="create_network"), engine_id="e1"))
    cluster.add_worker("broken2", playing(StudentEngines(fail_on="create_network"), engine_id="e2"))
    _, grades, text = cluster_grade(cluster, certs_dir, suite, tmp_path)
    table = rows(text)
    assert [r[table[0].index("status")].split(":")[0] for r in table[1:]] == ["error"] * 3
    why = grades[0].errors[0]
    assert "every machine of the cluster failed to play it (2)" in why and "broken1" in why and "broken2" in why


def test_a_machine_whose_images_are_not_the_gradings_refuses_and_plays_nothing(cluster, certs_dir, suite, tmp_path):
    other = {**IMAGES, "node": ImageEvidence("node", "socklab/node:zzz", "sha256:9", "p9")}
    assert "its node image is socklab/node:zzz (sha256:9, packages p9), the grading's socklab/node:abc" in (
        images_differ(other, IMAGES))
    rebuilt = {**IMAGES, "node": ImageEvidence("node", "socklab/node:abc", "sha256:other-id", "p1")}
    assert images_differ(rebuilt, IMAGES) is None  # the same recipe and packages, built there
    wrong = StudentEngines()
    cluster.add_worker("stale", playing(wrong, images=other), plays=4)  # (the most room: it is sent plays)
    cluster.add_worker("current", playing())
    grader, _, text = cluster_grade(cluster, certs_dir, suite, tmp_path)
    assert text == local_grades_csv(suite, tmp_path) and wrong.plays == 0
    refusals = [f["why"] for r in grader.played_by.values() for f in r.get("failed", [])]
    assert refusals and all(why.startswith("stale") and "refused to play: its node image is socklab/node:zzz" in why
                            for why in refusals)


def test_only_a_certificate_of_the_courses_ca_gets_in(cluster, certs_dir, tmp_path):
    host, port = cluster.address.removeprefix("tls://").rsplit(":", 1)
    # no certificate at all: the scheduler ends the handshake
    context = ssl.create_default_context(cafile=str(certs_dir / "ca.pem"))
    context.check_hostname = False
    with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED|certificate required"):
        with socket.create_connection((host, int(port)), timeout=WAIT) as raw:
            with context.wrap_socket(raw) as tls:
                tls.recv(1)
    # a certificate of another CA
    other = tmp_path / "other"
    certs.make(other, course="another course")
    context.load_cert_chain(str(other / "client.pem"), str(other / "client-key.pem"))
    with pytest.raises(ssl.SSLError, match="UNKNOWN_CA|unknown ca"):
        with socket.create_connection((host, int(port)), timeout=WAIT) as raw:
            with context.wrap_socket(raw) as tls:
                tls.recv(1)
    # the same through Dask's client: another CA's certificates, and a plain connection
    with pytest.raises(EnvironmentProblem, match=f"the cluster's scheduler at {cluster.address} did not answer"):
        Cluster(cluster.address, other, timeout=3)
    with pytest.raises(InvalidInput, match="the cluster speaks TLS only: tls://HOST:PORT"):
        Cluster(cluster.address.replace("tls://", "tcp://"), certs_dir)
    Cluster(cluster.address, certs_dir).close()  # the course's own gets in


def test_grade_on_the_command_line_with_a_cluster(cluster, certs_dir, suite, tmp_path, monkeypatch, capsys):
    """`socklab grade EXPORT --cluster ADDRESS --certs DIR`: the same files as a local grading, the manifest
    naming the machine of each play; a scheduler that does not answer is one line and exit 3; --cluster
    without --certs is exit 2."""
    from orchestrator.cli import app as cli
    from orchestrator.cluster import client as client_module
    from tests.support.exports import PROGRAM, export_zip
    from tests.support.grading import grade_command_without_docker

    fake = fake_engine()
    grade_command_without_docker(monkeypatch, fake)
    export = export_zip(tmp_path / "CS101-Lab_1_submissions.zip", {
        "silvaana_2001_30001_server_tcp.py": PROGRAM, "silvaana_2001_30002_client_tcp.py": PROGRAM})
    cluster.add_worker("lab1", playing(engine_id="engine-1"))
    argv = ["grade", str(export), "--suite", str(tmp_path / "suite.yaml")]
    local, remote = tmp_path / "a" / "local", tmp_path / "b" / "remote"  # (caches of their own: nothing re-used)
    assert cli.main([*argv, "--out", str(local), "-j", "1", "--fresh-labs"]) in (0, 1)
    assert cli.main([*argv, "--out", str(remote), "--cluster", cluster.address, "--certs", str(certs_dir)]) in (0, 1)
    console = capsys.readouterr().out
    assert f"Cluster {cluster.address}: 1 worker(s) (lab1)" in console
    assert (remote / "grades.csv").read_text() == (local / "grades.csv").read_text()
    assert {p.name for p in (remote / "students" / "silvaana").rglob("*")} == {
        p.name for p in (local / "students" / "silvaana").rglob("*")}
    manifest = json.loads((remote / "manifest.json").read_text())
    assert manifest["cluster"]["scheduler"] == cluster.address
    assert [(p["program"], p["plays"][0]["machine"]["worker"], p["plays"][0]["machine"]["engine"])
            for p in manifest["cluster"]["plays"]] == [("server_tcp.py", "lab1", "engine-1"),
                                                       ("client_tcp.py", "lab1", "engine-1")]
    assert "cluster" not in json.loads((local / "manifest.json").read_text())
    # a scheduler that does not answer, or no certificates
    monkeypatch.setattr(client_module, "CONNECT_TIMEOUT", 1.0)
    assert cli.main([*argv, "--cluster", "tls://127.0.0.1:9", "--certs", str(certs_dir)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: the cluster's scheduler at tls://127.0.0.1:9 did not answer within 1 s") and (
        err.count("\n") == 1)
    assert cli.main([*argv, "--cluster", cluster.address]) == 2
    assert "needs --certs DIR, the grader's certificates" in capsys.readouterr().err


def test_ctrl_c_tears_down_the_plays_under_way_on_every_machine_and_keeps_what_finished(cluster, certs_dir, suite,
                                                                                      tmp_path):
    """Ctrl-C while a play is under way on a worker: its cancel event is set there (the runner tears its lab
    down), the grading raises KeyboardInterrupt, what finished before is stored, and the next grading re-uses
    it and plays the rest."""
    import signal

    torn_down, started = threading.Event(), threading.Event()
    normal = StudentEngines()

    def hanging_for_bo(inputs, engine, cancel, **kw):
        if "/bo/" not in inputs.artifacts:
            return normal.play(inputs, engine, cancel=cancel, **kw)
        started.set()
        if cancel.wait(WAIT):
            torn_down.set()
            raise KeyboardInterrupt  # (as the runner does, once it has torn down)
        raise AssertionError("never cancelled")

    plays = StudentEngines()
    plays.play = hanging_for_bo
    cluster.add_worker("lab1", playing(plays), plays=2)
    threading.Thread(target=lambda: started.wait(WAIT) and os.kill(os.getpid(), signal.SIGINT), daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        cluster_grade(cluster, certs_dir, suite, tmp_path)
    assert torn_down.wait(WAIT)
    stored = list((tmp_path / "cluster-cache").rglob("part.json"))
    assert all("/bo/" not in str(p) for p in stored)
    cluster.close_worker("lab1")
    cluster.add_worker("lab2", playing())
    grader, _, text = cluster_grade(cluster, certs_dir, suite, tmp_path)
    assert text == local_grades_csv(suite, tmp_path)
    assert {k for k, r in grader.played_by.items() if r.get("reused")} >= {
        json.loads(p.read_text())["key"] for p in stored}
