"""A class exactly as a learning platform hands it over (grade/exports.py, grade/platforms.py, grade/gitrepos.py):
each layout built as the platform writes it, recognised by itself or forced, from a folder or the zip itself."""
from __future__ import annotations

import pytest

from orchestrator.base.errors import InvalidInput
from orchestrator.grade import exports, reading
from orchestrator.grade.submission import NOT_A_SUBMISSION

from tests.support.exports import PROGRAM, export_folder, export_zip, git, git_repo

TWO = {"server_tcp.py": PROGRAM, "client_tcp.py": PROGRAM}


def rows(found):
    return [(s.name, s.identifier, s.platform, s.late, sorted(s.files), s.error, list(s.notes)) for s in found.submissions]


MOODLE = {
    "Ana Silva_1001_assignsubmission_file/server_tcp.py": PROGRAM,        # 4.1+: a folder
    "Ana Silva_1001_assignsubmission_file/lab/client_tcp.py": PROGRAM,    # its subfolders kept
    "Ana Silva_1002_assignsubmission_file_/server_tcp.py": PROGRAM,       # 3.1-4.0: a trailing _
    "Bo Li_1003_assignsubmission_file_server_tcp.py": PROGRAM,            # flat: files in the export
    "Bo Li_1003_assignsubmission_file_client_tcp.py": PROGRAM,
    "Bo Li_1003_assignsubmission_onlinetext_onlinetext.html": b"<p>done</p>",
    "Participant_1004_assignsubmission_file/server_tcp.py": PROGRAM,      # blind marking
    "Team Rocket_77_assignsubmission_file/client_tcp.py": PROGRAM,        # a team submission: the group's id
    "Cy Dee_1005_assignsubmission_onlinetext/onlinetext.html": b"<p>only text</p>",
}


def test_moodle_folders_flat_blind_teams_and_online_text(tmp_path):
    found = exports.read_export(export_folder(tmp_path / "export", MOODLE))
    assert (found.platform, found.detection) == ("moodle", "moodle: 8 of 8 entries are named "
                                                           "Full Name_<id>_assignsubmission_file")
    assert rows(found) == [
        ("Ana Silva (1001)", "1001", "moodle", False, ["client_tcp.py", "server_tcp.py"], None,
         ["the programs come from different folders (the top and lab); they run side by side, in one folder"]),
        ("Ana Silva (1002)", "1002", "moodle", False, ["server_tcp.py"], None, []),
        ("Bo Li", "1003", "moodle", False, ["client_tcp.py", "server_tcp.py"], None,
         ["Bo Li_1003_assignsubmission_onlinetext_onlinetext.html: Moodle's online text, not a file submission: "
          "ignored"]),
        ("Participant", "1004", "moodle", False, ["server_tcp.py"], None, []),
        ("Team Rocket", "77", "moodle", False, ["client_tcp.py"], None, [])]
    assert [(s.entry, s.reason) for s in found.skipped] == [
        ("Cy Dee_1005_assignsubmission_onlinetext", "Moodle's online text (assignsubmission_onlinetext), not a file "
                                                    "submission: ignored")]
    bo = next(s for s in found.submissions if s.identifier == "1003")
    assert bo.path == str(tmp_path / "export" / "Bo Li_1003_assignsubmission_file_*")
    assert found.submissions[1].problems["client_tcp.py"] == "client_tcp.py not submitted"


def test_moodle_export_zip_given_directly_is_read_in_memory(tmp_path):
    found = exports.read_export(export_zip(tmp_path / "CS101-Lab 1-42.zip", MOODLE))
    assert found.platform == "moodle" and len(found.submissions) == 5
    assert [s.name for s in found.submissions] == ["Ana Silva (1001)", "Ana Silva (1002)", "Bo Li", "Participant",
                                                   "Team Rocket"]
    assert found.submissions[0].path == str(tmp_path / "CS101-Lab 1-42.zip" / "Ana Silva_1001_assignsubmission_file")
    assert found.submissions[0].files == {"server_tcp.py": PROGRAM, "client_tcp.py": PROGRAM}
    assert not list((tmp_path).glob("*/"))  # nothing was extracted



def test_a_class_export_zip_is_read_within_an_exports_caps_not_a_submissions(tmp_path):
    """A class's download holds every student's uploads: 150 students of 8 files each (1,200 members, past a
    submission zip's 1,000) is read, within an export's caps (exports.EXPORT_ZIP), not a submission's."""
    import os
    import zipfile

    path = tmp_path / "CS101-Lab 1-42.zip"
    screenshot = os.urandom(1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for i in range(150):
            folder = f"Student {i:03d}_{2000 + i}_assignsubmission_file"
            z.writestr(f"{folder}/server_tcp.py", PROGRAM)
            z.writestr(f"{folder}/client_tcp.py", PROGRAM)
            for k in range(5):
                z.writestr(f"{folder}/notes{k}.txt", b"n")
            info = zipfile.ZipInfo(f"{folder}/screenshot.png")
            z.writestr(info, screenshot)
    found = exports.read_export(path)
    assert found.platform == "moodle" and len(found.submissions) == 150
    assert all(s.files == {"server_tcp.py": PROGRAM, "client_tcp.py": PROGRAM} for s in found.submissions)
    assert exports.EXPORT_ZIP.members > 1200 > reading.MEMBERS_LIMIT

CANVAS = {
    "lastnamefirstname_2001_30001_server_tcp.py": PROGRAM,
    "lastnamefirstname_2001_30002_client_tcp.py": PROGRAM,
    "lastnamefirstname_2001_text.html": b"<p>see my files</p>",
    "otherstudent_LATE_2002_30003_server_tcp.py": b"# first\n",
    "otherstudent_LATE_2002_30005_server_tcp-1.py": b"# again\n",
    "otherstudent_LATE_2002_30004_server_tcp-2.py": b"# latest\n",
    "anon_x7Kq2_30006_client_tcp.py": PROGRAM,
    "linkonly_2004_link.html": b"<a>",
    "grades.csv": b"Student,ID\n",
}


def test_canvas_flat_files_late_resubmissions_anonymous_and_text_entries(tmp_path):
    found = exports.read_export(export_folder(tmp_path / "export", CANVAS))
    assert (found.platform, found.detection) == ("canvas", "canvas: 8 of 9 entries are named "
                                                           "<name>_<user id>_<attachment id>_<file>")
    assert rows(found) == [
        ("anon_x7Kq2", "anon_x7Kq2", "canvas", False, ["client_tcp.py"], None, []),
        ("lastnamefirstname", "2001", "canvas", False, ["client_tcp.py", "server_tcp.py"], None,
         ["lastnamefirstname_2001_text.html: Canvas's text or link entry, not a file: ignored"]),
        ("otherstudent", "2002", "canvas", True, ["server_tcp.py"], None,
         ["server_tcp-2.py is Canvas's name for a re-uploaded server_tcp.py: graded as server_tcp.py",
          "left out server_tcp.py, server_tcp-1.py: earlier uploads of server_tcp.py (the highest number, then the "
          "latest upload, counts: server_tcp-2.py)"])]
    assert next(s for s in found.submissions if s.late).files["server_tcp.py"] == b"# latest\n"
    assert [(s.entry, s.reason) for s in found.skipped] == [
        ("grades.csv", "not named as Canvas names a submission (<name>_<user id>_<attachment id>_<file>)"),
        ("linkonly_2004_link.html", "Canvas's text or link entry, not a file: ignored")]


def test_canvas_students_uploading_a_zip_have_it_read(tmp_path):
    inner = tmp_path / "inner.zip"
    export_zip(inner, {"lab1/server_tcp.py": PROGRAM, "lab1/client_tcp.py": PROGRAM})
    found = exports.read_export(export_zip(tmp_path / "CS101-Lab_1_submissions.zip",
                                           {"smithbob_12345_987654_lab1.zip": inner.read_bytes()}))
    assert rows(found) == [("smithbob", "12345", "canvas", False, ["client_tcp.py", "server_tcp.py"], None,
                            ["found server_tcp.py and client_tcp.py inside the archive lab1.zip"])]


def receipt(name: str, user: str, when: str, files: list[str]) -> bytes:
    listed = "".join(f"\tOriginal filename: {f}\n\tFilename: Lab 1_{user}_attempt_{when}_{f}\n" for f in files)
    return (f"Name: {name} ({user})\nAssignment: Lab 1\nDate Submitted: Monday, 2 March 2026 10:11:12 o'clock GMT\n"
            f"Current Grade: Needs Grading\n\nSubmission Field:\nThere is no student submission text data for this "
            f"assignment.\n\nComments:\nThere are no student comments for this assignment.\n\nFiles:\n{listed}"
            ).encode()


def test_blackboard_attempts_the_latest_counts_the_name_from_the_receipt(tmp_path):
    early, late = "2026-03-01-09-00-00", "2026-03-02-10-11-12"
    entries = {
        f"Lab 1_jdoe3_attempt_{early}.txt": receipt("Jane Doe", "jdoe3", early, ["server_tcp.py"]),
        f"Lab 1_jdoe3_attempt_{early}_server_tcp.py": b"# early\n",
        f"Lab 1_jdoe3_attempt_{late}.txt": receipt("Jane Doe", "jdoe3", late, ["server_tcp.py", "client_tcp.py"]),
        f"Lab 1_jdoe3_attempt_{late}_server_tcp.py": b"# late\n",
        f"Lab 1_jdoe3_attempt_{late}_client_tcp.py": PROGRAM,
        f"Lab 1_asmith_attempt_{late}_server_tcp.py": PROGRAM,
    }
    found = exports.read_export(export_folder(tmp_path / "export", entries))
    assert (found.platform, found.detection) == ("blackboard", "blackboard: 6 of 6 entries are named <assignment>_"
                                                               "<user>_attempt_<date-time>_<file> (or its .txt receipt)")
    assert rows(found) == [
        ("asmith", "asmith", "blackboard", False, ["server_tcp.py"], None,
         [f"the attempt of {late} has no receipt (.txt): the name is the username"]),
        ("Jane Doe", "jdoe3", "blackboard", False, ["client_tcp.py", "server_tcp.py"], None,
         [f"graded the latest attempt ({late}); not graded: the earlier attempt of {early}"])]
    assert found.submissions[1].files["server_tcp.py"] == b"# late\n"
    zipped = exports.read_export(export_zip(tmp_path / "gradebook_CS101_Lab1_2026-03-03.zip", entries))
    assert (zipped.detection, rows(zipped)) == (found.detection, rows(found))


def test_git_repositories_are_graded_at_their_head_commit_never_the_working_tree(tmp_path):
    commit = git_repo(tmp_path / "class" / "ana-lab1", TWO)
    (tmp_path / "class" / "ana-lab1" / "server_tcp.py").write_bytes(b"# uncommitted: never graded\n")
    (tmp_path / "class" / "ana-lab1" / "extra.py").write_bytes(b"# untracked\n")
    git_repo(tmp_path / "class" / "bo-lab1", TWO, commit=False)
    found = exports.read_export(tmp_path / "class")
    assert (found.platform, found.detection) == ("git", "git: 2 of 2 entries are git repositories (a folder "
                                                        "holding .git)")
    ana, bo = found.submissions
    assert (ana.name, ana.identifier, ana.commit, ana.files) == ("ana-lab1", "ana-lab1", commit, {
        "server_tcp.py": PROGRAM, "client_tcp.py": PROGRAM})
    assert ana.notes == (f"graded at the commit {commit} (HEAD); the working tree is not looked at",)
    assert (bo.name, bo.commit, bo.files) == ("bo-lab1", "", {})
    assert bo.error == ("bo-lab1 has no commit (HEAD names none, or git cannot read it): only committed files are "
                        "graded, never the working tree; commit the programs and push them")


def test_a_repositorys_own_configuration_runs_nothing(tmp_path):
    git_repo(tmp_path / "class" / "eve", TWO)
    marker = tmp_path / "ran"
    git(tmp_path / "class" / "eve", "config", "core.fsmonitor", f"touch {marker}")
    git(tmp_path / "class" / "eve", "config", "core.pager", f"touch {marker}")
    found = exports.read_export(tmp_path / "class", "git")
    assert sorted(found.submissions[0].files) == ["client_tcp.py", "server_tcp.py"] and not marker.exists()


def test_the_format_can_be_forced(tmp_path):
    export = export_folder(tmp_path / "export", MOODLE)
    found = exports.read_export(export, "folders")
    assert (found.platform, found.detection) == ("folders", "folders: forced by --format (one folder or .zip per "
                                                            "student)")
    assert [s.name for s in found.submissions] == ["Ana Silva_1001_assignsubmission_file",
                                                   "Ana Silva_1002_assignsubmission_file_",
                                                   "Cy Dee_1005_assignsubmission_onlinetext",
                                                   "Participant_1004_assignsubmission_file",
                                                   "Team Rocket_77_assignsubmission_file"]
    assert {s.entry: s.reason for s in found.skipped}["Bo Li_1003_assignsubmission_file_server_tcp.py"] == NOT_A_SUBMISSION
    with pytest.raises(InvalidInput, match=r"holds no submission as canvas: forced by --format \(0 of 8 entries "):
        exports.read_export(export, "canvas")
    found = exports.read_export(export_folder(tmp_path / "canvas", CANVAS), "canvas")
    assert found.detection.startswith("canvas: forced by --format (8 of 9 entries are named")


def test_a_plain_class_folder_is_read_as_today(tmp_path):
    export = export_folder(tmp_path / "class", {"alice/server_tcp.py": PROGRAM, "bob/client_tcp.py": PROGRAM,
                                                "README.txt": b"hi"})
    found = exports.read_export(export)
    assert (found.platform, found.detection) == ("folders", "folders: no platform's layout matches; one folder or "
                                                            ".zip per student")
    assert [(s.name, s.identifier, s.platform, s.path) for s in found.submissions] == [
        ("alice", "", "folders", str(export / "alice")), ("bob", "", "folders", str(export / "bob"))]
    assert [s.entry for s in found.skipped] == ["README.txt"]
    zipped = exports.read_export(export_zip(tmp_path / "class.zip", {"alice/server_tcp.py": PROGRAM,
                                                                     "README.txt": b"hi"}))
    assert [(s.name, sorted(s.files)) for s in zipped.submissions] == [("alice", ["server_tcp.py"])]
    assert [(s.entry, s.reason) for s in zipped.skipped] == [("class.zip/README.txt", NOT_A_SUBMISSION)]


def test_an_export_that_cannot_be_read_is_one_clear_error(tmp_path):
    with pytest.raises(InvalidInput, match="No such file or directory; expected a class export"):
        exports.read_export(tmp_path / "none.zip")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InvalidInput, match="is a file; expected a class export"):
        exports.read_export(tmp_path / "notes.txt")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(InvalidInput, match="broken.zip is not a zip that can be read"):
        exports.read_export(tmp_path / "broken.zip")
    big = tmp_path / "big.zip"
    with big.open("wb") as f:  # (sparse: refused by its size, never read)
        f.truncate(exports.EXPORT_ZIP.size + 1)
    with pytest.raises(InvalidInput, match="1,073,741,824"):
        exports.read_export(big)
    git_repo(tmp_path / "repos" / "ana", TWO)
    export_zip(tmp_path / "repos.zip", {"ana/server_tcp.py": PROGRAM})
    with pytest.raises(InvalidInput, match="not from a zip"):
        exports.read_export(tmp_path / "repos.zip", "git")


def test_hostile_exports_are_reasons_never_a_traceback_or_a_hang(tmp_path):
    import os
    export = export_folder(tmp_path / "export", {"Ana Silva_1001_assignsubmission_file/server_tcp.py": PROGRAM})
    os.mkfifo(export / "Bo Li_1002_assignsubmission_file_server_tcp.py")
    os.symlink("/etc", export / "Cy_1003_assignsubmission_file")
    found = exports.read_export(export)
    assert [s.name for s in found.submissions] == ["Ana Silva"]
    assert [(s.entry, s.reason) for s in found.skipped] == [
        ("Bo Li_1002_assignsubmission_file_server_tcp.py", "a FIFO, never followed or opened: not a submission"),
        ("Cy_1003_assignsubmission_file", "a symbolic link, never followed or opened: not a submission")]
    # a zip of names no pattern should be tried on, and of ids too long to be ids
    found = exports.read_export(export_zip(tmp_path / "odd.zip", {
        "a_" + "1" * 5000 + "_2_server_tcp.py": PROGRAM, "z" * 3000 + "_1_2_x.py": PROGRAM,
        "ok_" + "9" * 40 + "_1_server_tcp.py": PROGRAM, "fine_1_2_server_tcp.py": PROGRAM}), "canvas")
    assert [s.name for s in found.submissions] == ["fine"] and len(found.skipped) == 3


def test_a_repository_is_read_without_trusting_it(tmp_path):
    repo = tmp_path / "class" / "ana"
    git_repo(repo, {"client_tcp.py": b"x" * (reading.FILE_LIMIT + 1), "helper.py": PROGRAM})
    (repo / "server_tcp.py").symlink_to("/etc/passwd")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a link")
    (tmp_path / "class" / "gitfile").mkdir()
    (tmp_path / "class" / "gitfile" / ".git").write_text("gitdir: /elsewhere\n")
    found = exports.read_export(tmp_path / "class", "git")
    [ana] = found.submissions
    assert ana.problems["server_tcp.py"] == ("server_tcp.py is a symbolic link (in the commit); a submission's files "
                                             "are read as they are, links are not followed: commit the program itself")
    assert ana.problems["client_tcp.py"] == "client_tcp.py is 262,145 bytes; a program file may be at most 262,144"
    assert [(s.entry, s.reason) for s in found.skipped] == [("gitfile", "not a git repository (a folder holding .git)")]


def test_a_blackboard_receipt_that_is_not_one_leaves_the_username(tmp_path):
    when = "2026-03-02-10-11-12"
    found = exports.read_export(export_folder(tmp_path / "export", {
        f"Lab_1_jdoe3_attempt_{when}.txt": b"\xff\x00" * 100_000,
        f"Lab_1_jdoe3_attempt_{when}_server_tcp.py": PROGRAM}))
    assert [(s.name, s.identifier, sorted(s.files)) for s in found.submissions] == [("jdoe3", "jdoe3", ["server_tcp.py"])]


def test_no_two_students_ever_share_a_name(tmp_path):
    found = exports.read_export(export_folder(tmp_path / "export", {
        "Default group_assignsubmission_file/server_tcp.py": PROGRAM,   # Moodle's team of no group: no id
        "Default group_5_assignsubmission_file/server_tcp.py": PROGRAM,
        "Ana_7_assignsubmission_file/server_tcp.py": PROGRAM,
        "Ana_9_assignsubmission_file/server_tcp.py": PROGRAM,
        "Ana (7)_8_assignsubmission_file/server_tcp.py": PROGRAM}))
    assert [(s.name, s.identifier, s.notes) for s in found.submissions] == [
        ("Ana (7)", "8", ()), ("Ana (7) (2)", "7", ("named Ana (7) (2) here: another student of the export is named "
                                                     "Ana (7)",)),
        ("Ana (9)", "9", ()), ("Default group", "", ()), ("Default group (5)", "5", ())]


def test_a_repository_borrowing_another_ones_objects_is_not_graded(tmp_path):
    """objects/info/alternates would let a repository show another's commits (another student's): refused."""
    git_repo(tmp_path / "repos" / "ana", {"server_tcp.py": PROGRAM})
    git_repo(tmp_path / "repos" / "bo", {"server_tcp.py": PROGRAM})
    (tmp_path / "repos" / "bo" / ".git" / "objects" / "info").mkdir(parents=True, exist_ok=True)
    (tmp_path / "repos" / "bo" / ".git" / "objects" / "info" / "alternates").write_text(
        str(tmp_path / "repos" / "ana" / ".git" / "objects") + "\n")
    found = exports.read_export(tmp_path / "repos", "git")
    bo = next(s for s in found.submissions if s.name == "bo")
    assert bo.error.startswith("bo uses another repository's objects (.git/objects/info/alternates)")
    assert next(s for s in found.submissions if s.name == "ana").files == {"server_tcp.py": PROGRAM}
