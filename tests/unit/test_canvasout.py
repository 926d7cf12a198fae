"""Grades handed back to Canvas (grade/canvasout.py): gradebook exports built as Canvas writes them (its header,
the "    Points Possible" row, a Manual Posting row, the test student; a BOM, CRLF and ';' as Excel saves it in
Europe), the import file read back with the csv module, every cell kept or filled checked."""
from __future__ import annotations

import codecs
import csv
import io

import pytest

from orchestrator.grade import canvasout
from orchestrator.grade.marks import Mark
from orchestrator.grade.sheets import SheetError

from tests.support.exports import csv_file

GRADEBOOK = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Assignment 01 (4711),Lab 2 (4712),Assignments Current Score,"
    "Current Points,Final Points,Current Score,Final Score\n"
    "    Points Possible,,,,,20.00,10.00,(read only),(read only),(read only),(read only),(read only)\n"
    ",,,,,Manual Posting,,,,,,\n"
    '"Silva, Ana",2001,A001,ana@uni.example,"CS101, Section 1",,7.00,70.00,7.00,7.00,70.00,23.33\n'
    '"Li, Bo",2002,A002,bo@uni.example,"CS101, Section 1",12.50,,62.50,12.50,12.50,62.50,41.67\n'
    '"Dee, Cy",2003,A003,cy@uni.example,"CS101, Section 2",,,,,,,\n'
    '"Err, Dee",2004,A004,dee@uni.example,"CS101, Section 2",,,,,,,\n'
    '"Student, Test",9999,,,"CS101, Section 1",,,,,,,\n')


def gradebook_file(tmp_path, text: str, name: str = "gradebook.csv", bom: bool = False) -> str:
    return csv_file(tmp_path, text, name, bom)


def cells(data: bytes, encoding: str = "utf-8", delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=delimiter))


def mark(name: str, identifier: str, points: float = 72, maximum: float = 96, graded: bool = True) -> Mark:
    return Mark(name, identifier, "", points, maximum, graded, "")


CLASS = [mark("silvaana", "2001", 72, 96), mark("libo", "2002", 95, 96), mark("errdee", "2004", graded=False),
         mark("anon", "anon_x1"), mark("late", "2010")]


def test_the_import_file_holds_the_students_columns_points_possible_and_the_one_assignment(tmp_path):
    path = gradebook_file(tmp_path, GRADEBOOK)
    gb = canvasout.read_gradebook(path, "Assignment 01")
    assert (gb.section, gb.column, gb.points_row, str(gb.points)) == (4, 5, 1, "20.00")
    filled = canvasout.import_file(gb, CLASS)
    source, out = cells(GRADEBOOK.encode()), cells(filled.data)
    keep = [0, 1, 2, 3, 4, 5]
    assert out[0] == [source[0][j] for j in keep] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                                                      "Assignment 01 (4711)"]
    assert out[1] == [source[1][j] for j in keep] and out[1][0] == "    Points Possible" and out[1][5] == "20.00"
    # the graded students the gradebook has, their identifying cells as exported, the assignment scaled to 20
    assert out[2] == [*source[3][:5], "15"]  # 72/96 of 20
    assert out[3] == [*source[4][:5], "19.79"]  # 95/96 of 20 = 19.791...; Bo's earlier 12.50 replaced
    assert len(out) == 4  # Cy (no submission), the test student, Dee (not graded): left out, their grades kept
    assert (filled.written, filled.untouched) == (["silvaana", "libo"], 2)
    assert filled.not_in_sheet == ["anon", "late"]
    assert filled.held_back == ["errdee: not graded (the lab could not carry out some plays; grade again)"]
    # the raw cells as exported: the quoted names and sections, byte for byte, LF, no BOM
    assert filled.data.decode().split("\n")[2] == '"Silva, Ana",2001,A001,ana@uni.example,"CS101, Section 1",15'
    assert filled.data.endswith(b"\n") and b"\r" not in filled.data and not filled.data.startswith(codecs.BOM_UTF8)


@pytest.mark.parametrize("wanted", ["Assignment 01", "Assignment 01 (4711)", "  Assignment 01 (4711) "])
def test_the_column_is_its_title_with_or_without_its_id(tmp_path, wanted):
    assert canvasout.read_gradebook(gradebook_file(tmp_path, GRADEBOOK), wanted).column == 5


def test_without_a_column_the_only_assignment_is_taken(tmp_path):
    one = "\n".join(",".join(r[:6] + r[7:]) for r in cells(GRADEBOOK.encode()) if r) + "\n"
    gb = canvasout.read_gradebook(gradebook_file(tmp_path, one.replace('Silva, Ana', 'Silva Ana').replace(
        "CS101, Section", "CS101 Section").replace("Li, Bo", "Li Bo").replace("Dee, Cy", "Dee Cy").replace(
        "Err, Dee", "Err Dee").replace("Student, Test", "Student Test")))
    assert gb.column == 5 and gb.columns["assignment"] == "column 6, 'Assignment 01 (4711)' (the only assignment column)"


def test_a_bom_crlf_and_semicolons_are_kept(tmp_path):
    rows = cells(GRADEBOOK.encode())
    text = "".join(";".join(c.replace("20.00", "20,00") for c in r) + "\r\n" for r in rows)
    filled = canvasout.import_file(canvasout.read_gradebook(gradebook_file(tmp_path, text, bom=True), "Lab 2"), CLASS)
    assert filled.data.startswith(codecs.BOM_UTF8) and filled.data.count(b"\r\n") == 4
    out = cells(filled.data, "utf-8-sig", ";")
    assert out[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 2 (4712)"]
    assert out[2] == ["Silva, Ana", "2001", "A001", "ana@uni.example", "CS101, Section 1", "7.5"]  # 72/96 of 10
    assert out[3][5] == "9.9"  # 95/96 of 10 = 9.895...: 9.90


@pytest.mark.parametrize("column, line, message", [
    (None, 1, "has 2 assignment columns (Title (id)): name the one to fill with --canvas-column; they are "
              "'Assignment 01 (4711)'; 'Lab 2 (4712)'"),
    ("Lab 3", 1, "has no assignment column 'Lab 3' (--canvas-column): its assignment columns are "
                 "'Assignment 01 (4711)'; 'Lab 2 (4712)'"),
    ("Current Score", 1, "has no assignment column 'Current Score'"),
])
def test_a_column_that_is_not_there_is_one_located_error_listing_the_columns(tmp_path, column, line, message):
    path = gradebook_file(tmp_path, GRADEBOOK)
    with pytest.raises(SheetError) as e:
        canvasout.read_gradebook(path, column)
    assert str(e.value).startswith(f"{path}:{line}: {message}"), str(e.value)


@pytest.mark.parametrize("change, line, message", [
    (("Student,ID,", "Name,Number,"), 1, "its header starts 'Name', 'Number', not Student, ID"),
    (("Section,", "Group,"), 1, "has no Section column among the student's"),
    (("    Points Possible", "    Punkte"), 2, "has no Points Possible row"),
    ((",20.00,", ",(read only),"), 2, "gives 'Assignment 01 (4711)' '(read only)' points possible, not a number"),
    (("Dee, Cy\",2003", "Dee, Cy\",2001"), 6, "has the ID 2001 again (first on line 4)"),
    (("Lab 2 (4712)", "Assignment 01 (4713)"), 1, "has 2 assignment columns titled 'Assignment 01': give "
                                                  "--canvas-column the one with its id"),
])
def test_a_gradebook_not_as_canvas_writes_it_is_one_located_error(tmp_path, change, line, message):
    path = gradebook_file(tmp_path, GRADEBOOK.replace(*change))
    with pytest.raises(SheetError) as e:
        canvasout.import_file(canvasout.read_gradebook(path, "Assignment 01"), CLASS)
    assert str(e.value).startswith(f"{path}:{line}: {message}"), str(e.value)
