"""What goes back to Canvas: the import file made from its gradebook's export (`read_gradebook`, `import_file`),
pure functions of the sheet and the marks (marks.py); handback.py writes.

Canvas's gradebook export (Grades → Export → Export Entire Gradebook) and its importer (lib/gradebook_importer.rb,
which reads what the exporter writes):
- the header: `Student`, `ID`, then `SIS User ID`, `SIS Login ID` (and `Integration ID`, `Root Account` on some
  sites), `Section`: the student's columns, up to the one holding "Section"; custom columns; the assignments,
  each `Title (assignment id)`, e.g. `Assignment 01 (4711)`; the totals (Current Score, Final Points...);
- a row whose first cell holds `Points Possible` (the exporter writes it with leading spaces), each assignment's
  points; rows of "Muted" or "Manual Posting" cells; then one row per student (the test student among them);
- the importer matches a student by ID, then SIS User ID, then SIS Login ID, then name; it reads `,` or `;` and
  a decimal comma.

The import file (canvas-import.csv) holds the student's columns, the Points Possible row, and the one assignment
column (`--canvas-column`: its title, with or without its "(id)"; without it, the only assignment column), each
cell as the export wrote it, in its encoding, delimiter and line endings (sheets.py). A student's row is written
when its ID is the user id a graded submission carries (Canvas's download names each file with it); the grade is
their points scaled to Points Possible, at most two decimals. Every other student's row is left out of the file:
Canvas keeps their grade as it is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from .marks import Filled, Mark, scaled
from .sheets import Row, Sheet, SheetError, field, joined, read_sheet

WHAT = "Canvas's gradebook export (Grades → Export → Export Entire Gradebook)"
ASSIGNMENT = re.compile(r"(?P<title>.*\S)\s\((?P<id>\d{1,18})\)", re.DOTALL)
#: The columns the importer itself takes for no assignment (lib/gradebook_importer.rb).
NOT_ASSIGNMENTS = re.compile(r"Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
                             r"Override Score|Override Grade|Override Status")
NUMBER = re.compile(r"\d{1,12}(?:[.,]\d{1,12})?")
#: The furthest the Section column can be: Student, ID, SIS User ID, SIS Login ID, Integration ID, Root Account.
SECTION_BY = 6


@dataclass(frozen=True)
class Gradebook:
    sheet: Sheet
    section: int  # the last of the student's columns (0 .. section)
    column: int  # the assignment's
    points_row: int  # the Points Possible row's index
    points: Decimal
    columns: dict[str, str]


def _title(header: str) -> tuple[str, str] | None:
    m = ASSIGNMENT.fullmatch(header.strip())
    return (m["title"], m["id"]) if m and not NOT_ASSIGNMENTS.search(header) else None


def read_gradebook(path: str, wanted: str | None = None) -> Gradebook:
    """The gradebook at `path`, with the assignment's column chosen (see the module); SheetError if it cannot be."""
    sheet = read_sheet(path, WHAT)
    header = [c.value for c in sheet.rows[0].cells]
    if len(header) < 3 or "Student" not in header[0] or "ID" not in header[1]:
        raise sheet.error(1, f"its header starts {', '.join(repr(h) for h in header[:2])}, not Student, ID: not {WHAT}")
    section = next((j for j in range(2, min(len(header), SECTION_BY + 1)) if "Section" in header[j]), None)
    if section is None:
        raise sheet.error(1, "has no Section column among the student's (Student, ID, SIS User ID, SIS Login ID, "
                          f"Section): not {WHAT}")
    assignments = {j: t for j in range(section + 1, len(header)) if (t := _title(header[j]))}
    listed = "; ".join(repr(header[j].strip()) for j in assignments) or "none"
    if wanted is not None:
        name = wanted.strip()
        chosen = [j for j, (title, _) in assignments.items() if name in (header[j].strip(), title)]
        if not chosen:
            raise sheet.error(1, f"has no assignment column {name!r} (--canvas-column): its assignment columns are "
                              f"{listed}")
        if len(chosen) > 1:
            raise sheet.error(1, f"has {len(chosen)} assignment columns titled {name!r}: give --canvas-column the one "
                              f"with its id: {'; '.join(repr(header[j].strip()) for j in chosen)}")
        column, how = chosen[0], "--canvas-column"
    elif len(assignments) == 1:
        column, how = next(iter(assignments)), "the only assignment column"
    else:
        raise sheet.error(1, f"has {len(assignments)} assignment columns (Title (id)): name the one to fill with "
                          f"--canvas-column; they are {listed}")
    points_row = next((i for i, r in enumerate(sheet.rows) if i and r.cells and "Points Possible" in r.value(0)), None)
    if points_row is None:
        raise sheet.error(2, f"has no Points Possible row (its first cell '    Points Possible'): not {WHAT} as "
                          "Canvas writes it")
    row = sheet.rows[points_row]
    text = row.value(column).strip()
    points = Decimal(text.replace(",", ".")) if NUMBER.fullmatch(text) else None
    if points is None or points <= 0:
        raise sheet.error(row.line, f"gives {header[column].strip()!r} {text!r} points possible, not a number above "
                          "0: set the assignment's points in Canvas and export the gradebook again")
    columns = {"ID": f"column 2, {header[1]!r}", "assignment": f"column {column + 1}, {header[column]!r} ({how})",
               "Points Possible": f"line {row.line}: {text}"}
    return Gradebook(sheet, section, column, points_row, points, columns)


def _student_row(row: Row) -> bool:
    return bool(row.cells) and row.value(1).strip().isdigit()


def _points_text(value: Decimal) -> str:
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def import_file(gb: Gradebook, marks: list[Mark]) -> Filled:
    """The import file: the student's columns, Points Possible and the assignment's column, for each graded
    student the gradebook has (see the module)."""
    sheet, kept = gb.sheet, range(gb.section + 1)
    by_id: dict[str, list[Mark]] = {}
    for m in marks:
        if m.identifier.isdigit():
            by_id.setdefault(str(int(m.identifier)), []).append(m)

    def raw(row: Row, j: int) -> str:
        return sheet.raw(row.cells[j]) if j < len(row.cells) else ""

    out = [[*(raw(sheet.rows[0], j) for j in kept), raw(sheet.rows[0], gb.column)],
           [*(raw(sheet.rows[gb.points_row], j) for j in kept), raw(sheet.rows[gb.points_row], gb.column)]]
    filled = Filled(b"", columns=dict(gb.columns))
    seen: dict[str, int] = {}
    for i, row in enumerate(sheet.rows):
        if i in (0, gb.points_row) or not _student_row(row):
            continue
        uid = str(int(row.value(1).strip()))
        if uid in seen:
            raise SheetError(sheet.path, row.line, "", f"has the ID {uid} again (first on line {seen[uid]}): not {WHAT} "
                             "as Canvas writes it, one row per student")
        seen[uid] = row.line
        mark = filled.claim(by_id.get(uid, []), row.line, f"user id {uid}")
        if mark is None:
            continue
        value = _points_text(scaled(mark.points, mark.maximum, gb.points))
        like = row.cells[gb.column] if gb.column < len(row.cells) else None
        out.append([*(raw(row, j) for j in kept), field(sheet, value, like)])
        filled.written.append(mark.name)
    filled.not_in_sheet = [m.name for m in marks if not (m.identifier.isdigit() and str(int(m.identifier)) in seen)]
    filled.data = joined(sheet, out)
    return filled


__all__ = ["Gradebook", "read_gradebook", "import_file", "WHAT"]
