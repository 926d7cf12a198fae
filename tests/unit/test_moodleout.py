"""Grades handed back to Moodle (grade/moodleout.py, grade/sheets.py, grade/marks.py): grading worksheets built
as Moodle writes them (PHP's fputcsv: a cell with a space quoted; English, German with a BOM and CRLF, French,
a language of no header known; blind marking; teams), filled in and read back with the csv module, every cell
that must change and every one that must not checked; the feedback zip's folders against the download's."""
from __future__ import annotations

import codecs
import csv
import io
import zipfile
from decimal import Decimal

import pytest

from orchestrator.grade import exports, handback, marks, moodleout
from orchestrator.grade.marks import Mark
from orchestrator.grade.sheets import SheetError

from tests.support.exports import PROGRAM, csv_file, export_folder, export_zip
from tests.support.grading import settings_for, two_scenario_suite
from tests.support.pages import parse, self_contained
from tests.unit.test_gradebook import graded

ENGLISH = (
    'Identifier,"Full name","Email address",Status,Grade,"Maximum Grade","Grade can be changed",'
    '"Last modified (submission)","Last modified (grade)","Feedback comments"\n'
    '"Participant 1001","Ana Silva",ana@uni.example,"Submitted for grading",,100.00,Yes,'
    '"Monday, 2 March 2026, 10:00 AM",-,\n'
    '"Participant 1002","Bo Li",bo@uni.example,"Submitted for grading - Graded",50.00,100.00,Yes,'
    '"Monday, 2 March 2026, 11:00 AM","Tuesday, 3 March 2026, 9:00 AM","an earlier, ""quoted""\ncomment"\n'
    '"Participant 1003","Cy Dee",cy@uni.example,"No submission",,100.00,Yes,-,-,\n'
    '"Participant 1004","Dee Err",dee@uni.example,"Submitted for grading",,100.00,Yes,-,-,\n')
#: As a German site writes it (Moodle's de language pack): 'ID' for the Identifier, "Teilnehmer/in" joined to the
#: number, a decimal comma; saved again by Excel as "CSV UTF-8": a BOM, CRLF.
GERMAN = (
    'ID,"Vollständiger Name",E-Mail-Adresse,Status,Bewertung,Bestwertung,"Bewertung kann geändert werden",'
    '"Zuletzt geändert (Abgabe)","Zuletzt geändert (Bewertung)","Feedback als Kommentar"\r\n'
    'Teilnehmer/in1001,"Ana Silva",ana@uni.example,"Zur Bewertung abgegeben",,"100,00",Ja,-,-,\r\n'
    'Teilnehmer/in1003,"Cy Dee",cy@uni.example,"Keine Abgabe",,"100,00",Ja,-,-,\r\n')
FRENCH = (
    'Identifiant,"Nom complet","Adresse de courriel",Statut,Note,"Note maximale","La note peut être modifiée",'
    '"Dernière modification (travail remis)","Dernière modification (note)","Feedback par commentaires"\n'
    'Participant1001,"Ana Silva",ana@uni.example,"Remis pour évaluation",,"20,00",Oui,-,-,\n')
#: Portuguese (Brazil), whose headers are in no table: every column found by Moodle's layout; every student
#: already has the same grade, so the Grade column is one number too, just before Maximum Grade.
PORTUGUESE = (
    'Identificador,"Nome completo","Endereço de email",Status,Nota,"Nota máxima","Nota pode ser alterada",'
    '"Última modificação (envio)","Texto online","Última modificação (nota)","Comentários de feedback"\n'
    '"Participante 1001","Ana Silva",ana@uni.example,Enviado,10.00,10.00,Sim,-,,-,\n'
    '"Participante 1002","Bo Li",bo@uni.example,Enviado,10.00,10.00,Sim,-,,-,\n')


def sheet_file(tmp_path, text: str, name: str = "worksheet.csv", bom: bool = False) -> str:
    return csv_file(tmp_path, text, name, bom)


def cells(data: bytes, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def mark(name: str, identifier: str, points: float = 72, maximum: float = 96, graded: bool = True,
         entry: str | None = None) -> Mark:
    return Mark(name, identifier, f"{name}_{identifier}_assignsubmission_file" if entry is None else entry, points,
                maximum, graded, f"{points} of {maximum} points (suite).")


def unchanged_but(before: list[list[str]], after: list[list[str]], changed: dict[tuple[int, int], str]) -> None:
    """Every cell of `after` is the one of `before` but those of `changed`, which hold their new value."""
    assert len(after) == len(before)
    for r, (old, new) in enumerate(zip(before, after)):
        expected = list(old)
        for (row, col), value in changed.items():
            if row == r:
                expected[col] = value
        assert new == expected, r


def test_an_english_worksheet_gets_grades_and_comments_and_nothing_else_changes(tmp_path):
    path = sheet_file(tmp_path, ENGLISH)
    ws = moodleout.read_worksheet(path)
    assert (ws.identifier, ws.grade, ws.maximum, ws.feedback, ws.word) == (0, 4, 5, 9, "Participant")
    given = [mark("Ana Silva", "1001", 72, 96), mark("Bo Li", "1002", 47, 96), mark("Dee Err", "1004", graded=False),
             mark("Eve Late", "1009")]
    filled = moodleout.fill_worksheet(ws, given)
    raw = open(path, "rb").read()
    unchanged_but(cells(raw), cells(filled.data), {
        (1, 4): "75.00", (1, 9): "72 of 96 points (suite).",
        (2, 4): "48.96", (2, 9): "47 of 96 points (suite)."})  # 47/96 of 100 = 48.958...: half up, two decimals
    assert filled.written == ["Ana Silva", "Bo Li"]
    assert filled.untouched == 1  # Cy Dee: no submission, left blank
    assert filled.not_in_sheet == ["Eve Late"]
    assert filled.held_back == ["Dee Err: not graded (the lab could not carry out some plays; grade again)"]
    # byte for byte: the header, the rows not written, the dialect (fputcsv's quotes, LF), no BOM
    lines, out = raw.decode().split("\n"), filled.data.decode().split("\n")
    assert out[0] == lines[0] and out[-3:] == lines[-3:]  # (Bo's row was lines 2 and 3: his old comment's)
    assert len(out) == len(lines) - 1
    assert out[1] == ('"Participant 1001","Ana Silva",ana@uni.example,"Submitted for grading",75.00,100.00,Yes,'
                      '"Monday, 2 March 2026, 10:00 AM",-,"72 of 96 points (suite)."')
    assert not filled.data.startswith(codecs.BOM_UTF8) and b"\r" not in filled.data


def test_a_german_worksheet_with_a_bom_and_crlf_keeps_them_and_its_decimal_comma(tmp_path):
    path = sheet_file(tmp_path, GERMAN, bom=True)
    ws = moodleout.read_worksheet(path)
    assert (ws.identifier, ws.grade, ws.maximum, ws.feedback, ws.word) == (0, 4, 5, 9, "Teilnehmer/in")
    assert ws.columns["Grade"] == "column 5, 'Bewertung' (its header)"
    filled = moodleout.fill_worksheet(ws, [mark("Ana Silva", "1001", 95, 96)])
    assert filled.data.startswith(codecs.BOM_UTF8)
    text = filled.data[len(codecs.BOM_UTF8):].decode("utf-8")
    assert text.count("\r\n") == 3 and text.replace("\r\n", "").count("\n") == 0
    source = GERMAN.split("\r\n")
    assert text.split("\r\n")[0] == source[0] and text.split("\r\n")[2] == source[2]
    unchanged_but(cells(GERMAN.encode()), cells(filled.data, "utf-8-sig"),
                  {(1, 4): "98,96", (1, 9): "95 of 96 points (suite)."})


def test_a_french_worksheet_scales_to_its_own_maximum(tmp_path):
    ws = moodleout.read_worksheet(sheet_file(tmp_path, FRENCH))
    assert (ws.grade, ws.maximum, ws.feedback) == (4, 5, 9)
    filled = moodleout.fill_worksheet(ws, [mark("Ana Silva", "1001", 1, 8)])
    unchanged_but(cells(FRENCH.encode()), cells(filled.data), {(1, 4): "2,50", (1, 9): "1 of 8 points (suite)."})


def test_headers_in_no_known_language_are_found_by_moodles_layout(tmp_path):
    ws = moodleout.read_worksheet(sheet_file(tmp_path, PORTUGUESE))
    assert (ws.identifier, ws.grade, ws.maximum, ws.feedback) == (0, 4, 5, 10)
    assert ws.columns == {
        "Identifier": "column 1, 'Identificador' (its values are Participante <id>)",
        "Maximum Grade": "column 6, 'Nota máxima' (the same number of points on every row)",
        "Grade": "column 5, 'Nota' (just before Maximum Grade, as Moodle writes it)",
        "Feedback comments": "column 11, 'Comentários de feedback' (just after Last modified (grade))"}
    filled = moodleout.fill_worksheet(ws, [mark("Ana Silva", "1001", 48, 96)])
    unchanged_but(cells(PORTUGUESE.encode()), cells(filled.data), {(1, 4): "5.00", (1, 10): "48 of 96 points (suite)."})


def test_empty_rows_a_spreadsheet_left_are_kept_and_skipped(tmp_path):
    text = FRENCH + ",,,,,,,,,\n\n"
    filled = moodleout.fill_worksheet(moodleout.read_worksheet(sheet_file(tmp_path, text)), [mark("Ana Silva", "1001")])
    assert filled.data.decode().endswith('"72 of 96 points (suite)."\n,,,,,,,,,\n\n') and filled.untouched == 0


def test_a_worksheet_without_a_feedback_column_gets_grades_only(tmp_path):
    text = ('Identifier,"Full name",Status,Grade,"Maximum Grade","Grade can be changed","Last modified (submission)",'
            '"Last modified (grade)"\n"Participant 1001","Ana Silva",Submitted,,100.00,Yes,-,-\n')
    ws = moodleout.read_worksheet(sheet_file(tmp_path, text))
    assert ws.feedback is None and ws.columns["Feedback comments"].startswith("none: no header is 'Feedback comments'")
    filled = moodleout.fill_worksheet(ws, [mark("Ana Silva", "1001", 96, 96)])
    unchanged_but(cells(text.encode()), cells(filled.data), {(1, 3): "100.00"})


def test_blind_marking_and_a_team_whose_group_id_is_a_participants(tmp_path):
    """A blind download names each folder Participant_<id>: the row is the participant's. A team submission's
    folder carries the group's id: the row of the participant of that number names someone else, never written."""
    text = ('Identifier,Status,Grade,"Maximum Grade"\n"Participant 1004",Submitted,,10.00\n'
            '"Participant 77","Submitted",,10.00\n')
    ws = moodleout.read_worksheet(sheet_file(tmp_path, text))
    filled = moodleout.fill_worksheet(ws, [mark("Participant", "1004", 96, 96), mark("Team Rocket", "77", 96, 96)])
    unchanged_but(cells(text.encode()), cells(filled.data), {(1, 2): "10.00"})
    assert filled.held_back == ["Team Rocket: line 3 (Participant 77) does not name Team Rocket, as the download "
                                "does (a team's group id is no participant's): not written"]
    named = ENGLISH.replace("Bo Li", "Someone Else").replace("Cy Dee", "Cy O'Neil")
    filled = moodleout.fill_worksheet(moodleout.read_worksheet(sheet_file(tmp_path, named, "n.csv")),
                                      [mark("Silva Ana", "1001", entry="Silva, Ana_1001_assignsubmission_file"),
                                       mark("Bo Li", "1002"), mark("Cy ONeil", "1003")])
    assert filled.written == ["Silva Ana", "Cy ONeil"]  # the words in any order; an apostrophe the file name lost
    assert [h.split(":")[0] for h in filled.held_back] == ["Bo Li"]


@pytest.mark.parametrize("text, line, message", [
    ('Name,Grade,"Maximum Grade"\n"Ana Silva",,100.00\n"Bo Li",,100.00\n', 2,
     "no column holds Moodle's identifiers (every row's 'Participant 1001', in the site's language)"),
    ('Identifier,Grade,"Maximum Grade"\n', 1, "holds a header and no student's row"),
    ('Identifier,"Full name",Status,Grade\n"Participant 1",Ana,Submitted,A\n"Participant 2",Bo,Submitted,B\n', 1,
     "has no Maximum Grade column"),
    ('Identifier,Grade,"Maximum Grade"\n"Participant 1",,100.00\n"Participant 2",,Excellent\n', 3,
     "not a number of points above 0: the assignment must be graded in points"),
    ('Identifier,Grade,"Maximum Grade"\n"Participant 1",,100.00\n"Participant 1",,100.00\n', 3,
     "names 'Participant 1' again (first on line 2)"),
    ('Identifier;"only one column"\n"Participant 1\n', 2, "a quoted cell is never closed"),
    ('just one column\nParticipant 1\n', 1, "its first line is one column"),
])
def test_a_worksheet_that_cannot_be_filled_is_one_located_error(tmp_path, text, line, message):
    path = sheet_file(tmp_path, text)
    with pytest.raises(SheetError) as e:
        moodleout.fill_worksheet(moodleout.read_worksheet(path), [mark("Ana", "1")])
    assert str(e.value).startswith(f"{path}:{line}: ") and message in str(e.value), str(e.value)


def test_a_worksheet_that_is_no_csv_file_is_refused_by_name(tmp_path):
    for data, message in ((b"PK\x03\x04\x00\x00", "holds a NUL character"), (b"", "is empty")):
        path = tmp_path / "sheet.xlsx"
        path.write_bytes(data)
        with pytest.raises(SheetError, match=message) as e:
            moodleout.read_worksheet(str(path))
        assert str(e.value).startswith(str(path))
    with pytest.raises(SheetError, match="is not a regular file"):
        moodleout.read_worksheet(str(tmp_path))


def test_a_windows_1252_worksheet_is_written_back_in_windows_1252(tmp_path):
    path = tmp_path / "ws.csv"
    path.write_bytes(GERMAN.encode("cp1252"))
    filled = moodleout.fill_worksheet(moodleout.read_worksheet(str(path)), [mark("Ana Silva", "1001", 96, 96)])
    assert filled.data.split(b"\r\n")[0] == GERMAN.encode("cp1252").split(b"\r\n")[0]
    unchanged_but(cells(GERMAN.encode()), cells(filled.data, "cp1252"),
                  {(1, 4): "100,00", (1, 9): "96 of 96 points (suite)."})


def test_scaling_is_exact_and_rounds_half_up():
    assert marks.scaled(47, 96, Decimal("100.00")) == Decimal("48.96")
    assert marks.scaled(1, 8, Decimal("10")) == Decimal("1.25")
    assert marks.scaled(0.1 + 0.2, 3, Decimal("100")) == Decimal("10.00")  # no float dust
    assert marks.scaled(1, 3, Decimal("0.5")) == Decimal("0.17")  # 0.1666...


# ---- the feedback files zip -----------------------------------------------------------------------------------

MOODLE_EXPORT = {
    "Ana Silva_1001_assignsubmission_file/server_tcp.py": PROGRAM,        # 4.1+: a folder
    "Ana Silva_1001_assignsubmission_file/client_tcp.py": PROGRAM,
    "Ana Silva_1002_assignsubmission_file_/server_tcp.py": PROGRAM,       # 3.1-4.0: a trailing _
    "Bo Li_1003_assignsubmission_file_server_tcp.py": PROGRAM,            # flat: files in the export
    "Bo Li_1003_assignsubmission_file_client_tcp.py": PROGRAM,
    "Participant_1004_assignsubmission_file/server_tcp.py": PROGRAM,      # blind marking
    "Zoë Ærø_1005_assignsubmission_file/PL1.zip": b"",                    # an unusable zip: graded 0, still told why
}


@pytest.fixture
def settings(tmp_path):
    return settings_for(two_scenario_suite(tmp_path), tmp_path / "out")


def importer_match(path: str) -> tuple[int, str] | None:
    """What Moodle's importziplib does with a zip member's path: each part cut at '_' (5 pieces at most); the
    first part of at least 4 whose second piece is a number names the participant and the plugin."""
    parts = path.split("/")
    while parts:
        info = parts.pop(0).split("_", 4)
        if len(info) >= 4 and info[1].isdigit():
            return int(info[1]), f"{info[2]}_{info[3]}"
    return None


@pytest.mark.parametrize("as_zip", [False, True])
def test_the_feedback_zip_has_each_page_in_the_folder_the_download_named(tmp_path, settings, as_zip):
    export = (export_zip(tmp_path / "CS101-Lab 1-42.zip", MOODLE_EXPORT) if as_zip
              else export_folder(tmp_path / "export", MOODLE_EXPORT))
    found = exports.read_export(export)
    grades = [graded(s, settings, fails=("a SYN",)) for s in found.submissions]
    pages, left = handback.feedback_pages(grades, settings)
    assert left == []
    data = moodleout.feedback_zip(pages)
    assert data == moodleout.feedback_zip(dict(reversed(pages.items())))  # the same bytes every time
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        downloaded = {n.split("/")[0] for n in MOODLE_EXPORT if "/" in n} | {"Bo Li_1003_assignsubmission_file"}
        assert sorted(n.split("/")[0] for n in names) == sorted(downloaded)
        assert all(n.endswith("/summary.html") and n.count("/") == 1 for n in names)
        by_id = {s.identifier: s for s in found.submissions}
        for n in names:  # Moodle matches each to the student it is for
            pid, plugin = importer_match(n)
            assert plugin == "assignsubmission_file" and n.startswith(by_id[str(pid)].entry + "/")
            page = parse(z.read(n).decode("utf-8"))
            self_contained(page)
            assert [a.attrs["href"] for a in page.all("a") if not a.attrs["href"].startswith("#")] == []
            assert not page.all(id="class-link") and not page.all("a", "report")
        ana = parse(z.read("Ana Silva_1001_assignsubmission_file/summary.html").decode())
        assert ana.one(id="student-name").text() == "Ana Silva (1001)"
        assert "a SYN" in ana.text() and "(the reports of the plays are with your instructor)" in ana.text()


def test_a_student_not_graded_or_of_no_participant_folder_is_left_out_of_the_zip(tmp_path, settings):
    found = exports.read_export(export_folder(tmp_path / "export", MOODLE_EXPORT))
    grades = [graded(s, settings, error_in=("echo", "server_tcp.py") if s.identifier == "1001" else None)
              for s in found.submissions]
    pages, left = handback.feedback_pages(grades, settings)
    assert "Ana Silva_1001_assignsubmission_file" not in pages and len(pages) == 4
    assert left == ["Ana Silva (1001): not graded (the lab could not carry out some plays; grade again)"]
    assert moodleout.feedback_folder("Team Rocket_assignsubmission_file") is None  # no id: no participant's


def test_handing_back_writes_the_worksheet_and_the_zip_and_says_so(tmp_path, settings):
    found = exports.read_export(export_folder(tmp_path / "export", MOODLE_EXPORT))
    grades = [graded(s, settings) for s in found.submissions]
    sheet = ENGLISH.replace("Participant 1003", "Participant 1005").replace("Cy Dee", "Zoë Ærø").replace(
        "Participant 1004", "Participant 1099")
    requests = handback.read_requests(sheet_file(tmp_path, sheet), None, None)
    outputs = handback.write(grades, settings, "moodle", requests)
    assert [(o.kind, o.file) for o in outputs] == [("moodle_worksheet", "moodle-worksheet.csv"),
                                                   ("moodle_feedback", "moodle-feedback.zip")]
    written = cells((settings.out / "moodle-worksheet.csv").read_bytes())
    assert [(r[1], r[4]) for r in written[1:] if r] == [("Ana Silva", "100.00"), ("Bo Li", "50.00"),
                                                         ("Zoë Ærø", "0.00"), ("Dee Err", "")]
    assert written[1][9] == "11 of 11 points (test-suite). Every check passed."
    assert written[3][9].startswith("0 of 11 points (test-suite). Points lost in: echo 0/10, listen 0/1.")
    worksheet = outputs[0].manifest
    assert (worksheet["written"], worksheet["untouched_rows"]) == (2, 1)
    # the download's 1002 is another Ana Silva: the row of 1002 names Bo Li, and is left as it was
    assert worksheet["held_back"] == ["Ana Silva (1002): line 3 (Participant 1002) does not name Ana Silva, as the "
                                      "download does (a team's group id is no participant's): not written"]
    assert worksheet["from"] == requests.worksheet.sheet.path
    assert worksheet["not_in_sheet"] == ["Bo Li", "Participant"]
    assert outputs[0].lines[:2] == ["2 rows filled in; 1 left as it was (no submission graded is theirs)",
                                    "no row for: Bo Li, Participant"]
    # a worksheet given: the zip holds the students whose row it confirmed (participant id and name), no other
    assert zipfile.ZipFile(settings.out / "moodle-feedback.zip").namelist() == [
        "Ana Silva_1001_assignsubmission_file/summary.html", "Zoë Ærø_1005_assignsubmission_file/summary.html"]
    assert outputs[1].manifest["left_out"] == [
        f"{name}: the worksheet has no row of theirs that was filled in"
        for name in ("Ana Silva (1002)", "Bo Li", "Participant")]
    alone = handback.write(grades, settings, "moodle", handback.Requests())
    assert [o.kind for o in alone] == ["moodle_feedback"] and len(alone[0].manifest["folders"]) == 5
    assert alone[0].lines[-1].startswith("each folder's participant id is as the download gave it, not checked")
