"""What goes back to Moodle: its grading worksheet filled in (`read_worksheet`, `fill_worksheet`), and the
feedback files zip (`feedback_zip`). Pure functions of the sheet and the marks (marks.py); handback.py writes.

The worksheet ("Download grading worksheet", for offline grading) is re-imported by "Upload grading worksheet"
(mod/assign/feedback/offline), which finds its columns by their header's text in the site's language and each
student by the Identifier's number (`Participant 1001`: the participant id the download's folders carry). So:
- every header and every cell not filled is kept byte for byte (sheets.py), in the sheet's encoding, BOM, quoting
  and line endings;
- the Identifier column is the one whose every value is a word and a number, the word the same on every row
  (`Participant 1001`, `Teilnehmer/in1001`, `Participante 1001`): found by its values, in any language;
- Grade, Maximum Grade and Feedback comments by their header (`HEADERS`: English, German, French, Spanish, as
  Moodle's language packs name them) or else by Moodle's layout: Maximum Grade the column after the Identifier
  whose every value is one number of points (the last of the first such run: a Grade column of equal grades comes
  just before it), Grade the column just before it, Feedback comments the one just after "Last modified (grade)",
  which shares its header's words before "(" with "Last modified (submission)", two after Maximum Grade;
- Grade is the student's points scaled to the row's Maximum Grade, two decimals, with the sheet's decimal mark
  (`85.00`, or `85,00` as a German site writes it); Feedback comments the marks' comment;
- a row is written only for the submission of its participant id, and only when the row names that student
  (some cell holds the download's name, in any order of its words) or the download is blind (`Participant_1001`);
  a team submission's group id is never taken for a participant's. Every other row is left as it was.

The feedback zip ("Upload multiple feedback files in a zip", mod/assign/feedback/file/importziplib.php) holds each
graded student's page as `<folder>/summary.html`, the folder named as the download named theirs; Moodle cuts each
path part at '_' and takes the second piece as the participant id (`Full Name_1001_assignsubmission_file`).
"""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .marks import Filled, Mark, scaled
from .platforms import MOODLE
from .sheets import Row, Sheet, read_sheet, spliced

WHAT = "Moodle's grading worksheet (Assignment → View all submissions → Download grading worksheet)"
#: The headers Moodle's language packs give (mod/assign's gradenoun, maxgrade; assignfeedback_comments' name).
HEADERS = {
    "grade": ("Grade", "Bewertung", "Note", "Calificación"),
    "maximum": ("Maximum Grade", "Bestwertung", "Note maximale", "Calificación máxima"),
    "feedback": ("Feedback comments", "Feedback als Kommentar", "Feedback par commentaires",
                 "Comentarios de retroalimentación"),
}
IDENTIFIER = re.compile(r"(?P<word>\D*?[^\W\d_]\D*?)[ \u00a0]?(?P<id>\d{1,18})")
NUMBER = re.compile(r"\d{1,12}(?:[.,]\d{1,12})?")
FEEDBACK_FILE = "summary.html"


@dataclass(frozen=True)
class Worksheet:
    sheet: Sheet
    identifier: int  # the columns, from 0
    grade: int
    maximum: int
    feedback: int | None  # None: no Feedback comments column (that feedback plugin is off)
    word: str  # the identifiers' word (Participant)
    columns: dict[str, str] = field(default_factory=dict)  # which is which and how it was found, in words


def _number(text: str) -> Decimal | None:
    text = text.strip()
    return Decimal(text.replace(",", ".")) if NUMBER.fullmatch(text) else None


def _named(header: list[str], column: int, why: str) -> str:
    return f"column {column + 1}, {header[column]!r} ({why})"


def read_worksheet(path: str) -> Worksheet:
    """The worksheet at `path` with its columns found (see the module); SheetError if they cannot be."""
    sheet = read_sheet(path, WHAT)
    header = [c.value for c in sheet.rows[0].cells]
    data = [r for _, r in _student_rows(sheet)]
    if not data:
        raise sheet.error(1, f"holds a header and no student's row: download {WHAT} again, with the students")
    ident, word = _identifier_column(sheet, header, data)
    folded = [h.strip().casefold() for h in header]

    def by_header(kind: str, after: int) -> int | None:
        names = {n.casefold() for n in HEADERS[kind]}
        return next((j for j in range(after + 1, len(header)) if folded[j] in names), None)

    columns: dict[str, str] = {"Identifier": _named(header, ident, f"its values are {word} <id>")}
    grade, maximum = by_header("grade", ident), by_header("maximum", ident)
    if maximum is not None:
        columns["Maximum Grade"] = _named(header, maximum, "its header")
    elif grade is not None and grade + 1 < len(header):
        maximum = grade + 1
        columns["Maximum Grade"] = _named(header, maximum, "just after Grade, as Moodle writes it")
    else:
        maximum = _points_column(data, ident, len(header))
        if maximum is None:
            raise sheet.error(1, "has no Maximum Grade column: no header is "
                              f"{' or '.join(repr(h) for h in HEADERS['maximum'])}, and no column after the "
                              "Identifier holds the same number of points on every row; Moodle writes one when the "
                              "assignment is graded in points (Grade → Type: Point), just after Grade")
        columns["Maximum Grade"] = _named(header, maximum, "the same number of points on every row")
    if grade is None:
        grade = maximum - 1
        columns["Grade"] = _named(header, grade, "just before Maximum Grade, as Moodle writes it")
    else:
        columns["Grade"] = _named(header, grade, "its header")
    if grade <= ident or grade == maximum:
        raise sheet.error(1, f"its Grade column ({grade + 1}) is not after the Identifier column ({ident + 1}) "
                          "and before Maximum Grade: not the layout of Moodle's worksheet (Identifier, Full name, "
                          "..., Status, Grade, Maximum Grade, ...)")
    for r in data:
        points = _number(r.value(maximum))
        if points is None or points <= 0:
            raise sheet.error(r.line, f"its Maximum Grade ({_named(header, maximum, 'found so')}) is "
                              f"{r.value(maximum)!r}, not a number of points above 0: the assignment must be graded "
                              "in points (Grade → Type: Point), not on a scale")
        value = r.value(grade).strip()
        if value not in ("", "-") and _number(value) is None:
            raise sheet.error(r.line, f"its Grade ({_named(header, grade, 'found so')}) is {value!r}, not a "
                              "grade: the columns are not as Moodle writes them (Grade, then Maximum Grade)")
    feedback = by_header("feedback", maximum)
    if feedback is not None:
        columns["Feedback comments"] = _named(header, feedback, "its header")
    else:
        feedback = _feedback_by_layout(header, maximum)
        columns["Feedback comments"] = (_named(header, feedback, "just after Last modified (grade)")
                                        if feedback is not None else "none: no header is "
                                        f"{' or '.join(repr(h) for h in HEADERS['feedback'])} nor one follows Last "
                                        "modified (grade); the comments are not written (the feedback files are)")
    return Worksheet(sheet, ident, grade, maximum, feedback, word, columns)


def _student_rows(sheet: Sheet) -> list[tuple[int, Row]]:
    """(index, row) of the rows after the header that hold something (a spreadsheet may leave ',,,,' rows)."""
    return [(i, r) for i, r in enumerate(sheet.rows) if i and any(c.value.strip() for c in r.cells)]


def _identifier_column(sheet: Sheet, header: list[str], data: list) -> tuple[int, str]:
    """The first column whose every value is one word and a number (`Participant 1001`), the word the same."""
    for j in range(len(header)):
        words = set()
        for r in data:
            m = IDENTIFIER.fullmatch(r.value(j))
            if not m:
                break
            words.add(m["word"])
        else:
            if len(words) == 1:
                return j, words.pop()
    first = data[0]
    raise sheet.error(first.line, "no column holds Moodle's identifiers (every row's 'Participant 1001', in the "
                      f"site's language): not {WHAT}, which starts each row with one (this row starts "
                      f"{first.value(0)[:40]!r})")


def _points_column(data: list, ident: int, width: int) -> int | None:
    """The last column of the first run after `ident` whose every value is one same number above 0."""
    found = None
    for j in range(ident + 1, width):
        values = {_number(r.value(j)) for r in data}
        if len(values) == 1 and None not in values and values.pop() > 0:
            found = j
        elif found is not None:
            break
    return found


def _feedback_by_layout(header: list[str], maximum: int) -> int | None:
    """The column after "Last modified (grade)": the header after "Last modified (submission)" (two after Maximum
    Grade) that shares its words before "("."""
    if maximum + 2 >= len(header) or "(" not in header[maximum + 2]:
        return None
    stem = header[maximum + 2].split("(", 1)[0].strip()
    for k in range(maximum + 3, len(header)):
        if "(" in header[k] and header[k].split("(", 1)[0].strip() == stem:
            return k + 1 if k + 1 < len(header) else None
    return None


def _words(text: str) -> list[str]:
    return sorted(re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", text).casefold()))


def _same_name(a: str, b: str) -> bool:
    """The same words in any order ("Silva, Ana" is "Ana Silva"), or the same letters and digits in order (the
    download's file name may have lost an apostrophe: "ONeil" is "O'Neil")."""
    return _words(a) == _words(b) or "".join(re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", a).casefold())) == \
        "".join(re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", b).casefold()))


def _download_name(mark: Mark) -> str:
    m = MOODLE.fullmatch(mark.entry) if mark.entry else None
    return m["name"] if m else mark.name


def _names_row(row, mark: Mark, word: str) -> bool:
    """Whether a row is the student's: a blind download's name is the identifiers' word; else some cell of the row
    holds the name the download gives them (its words, in any order)."""
    name = _download_name(mark)
    if _same_name(name, word) or _same_name(name, "Participant"):
        return True
    return any(v.strip() and _same_name(v, name) for v in row.values)


def decimal_mark(ws: Worksheet) -> str:
    """The sheet's decimal mark, as its Maximum Grade writes it ('.' unless it shows ',')."""
    return "," if any("," in r.value(ws.maximum) for _, r in _student_rows(ws.sheet)) else "."


def fill_worksheet(ws: Worksheet, marks: list[Mark]) -> Filled:
    """The worksheet with each graded student's Grade and Feedback comments written (see the module)."""
    by_id: dict[int, list[Mark]] = {}
    for m in marks:
        if m.identifier.isdigit():
            by_id.setdefault(int(m.identifier), []).append(m)
    point = decimal_mark(ws)
    changes: dict[tuple[int, int], str] = {}
    filled = Filled(b"", columns=dict(ws.columns))
    lines: dict[int, int] = {}
    for i, row in _student_rows(ws.sheet):
        pid = int(IDENTIFIER.fullmatch(row.value(ws.identifier))["id"])
        if pid in lines:
            raise ws.sheet.error(row.line, f"names {row.value(ws.identifier)!r} again (first on line {lines[pid]}): "
                                 f"not {WHAT} as Moodle writes it, one row per participant")
        lines[pid] = row.line
        mark = filled.claim(by_id.get(pid, []), row.line, f"participant id {pid}")
        if mark is None:
            continue
        if not _names_row(row, mark, ws.word):
            filled.held_back.append(f"{mark.name}: line {row.line} ({row.value(ws.identifier)}) does not name "
                                    f"{_download_name(mark)}, as the download does (a team's group id is no "
                                    "participant's): not written")
            continue
        grade = scaled(mark.points, mark.maximum, Decimal(row.value(ws.maximum).strip().replace(",", ".")))
        changes[(i, ws.grade)] = f"{grade:.2f}".replace(".", point)
        if ws.feedback is not None:
            changes[(i, ws.feedback)] = mark.comment
        filled.written.append(mark.name)
    filled.not_in_sheet = [m.name for m in marks if not (m.identifier.isdigit() and int(m.identifier) in lines)]
    try:
        filled.data = spliced(ws.sheet, changes)
    except (InvalidOperation, UnicodeEncodeError) as e:  # (the values were checked when the sheet was read)
        raise ws.sheet.error(None, f"cannot be written back: {e}") from None
    return filled


def feedback_folder(entry: str) -> str | None:
    """The folder Moodle's feedback upload matches to the student of a download's entry (the entry itself: the
    folder as downloaded, or a flat download's files' prefix); None for an entry of no participant's files."""
    m = MOODLE.fullmatch(entry) if entry else None
    return entry if m and m["id"] and m["type"] == "file" and "/" not in entry else None


#: A fixed time for the zip's members: the same pages give the same zip.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def feedback_zip(pages: dict[str, str]) -> bytes:
    """The zip of each folder -> its student's page, as `<folder>/summary.html`, sorted, byte for byte the same
    for the same pages."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for folder in sorted(pages):
            info = zipfile.ZipInfo(f"{folder}/{FEEDBACK_FILE}", ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, pages[folder].encode("utf-8"))
    return buf.getvalue()


__all__ = ["Worksheet", "read_worksheet", "fill_worksheet", "feedback_folder", "feedback_zip", "decimal_mark",
           "HEADERS", "FEEDBACK_FILE", "WHAT"]
