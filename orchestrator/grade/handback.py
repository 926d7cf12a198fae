"""The grades handed back to the platform the class came from, in its own files, written into the grading's
folder beside grades.csv (README, Grading: Moodle, Canvas):

- `moodle-worksheet.csv`: the grading worksheet given with --moodle-worksheet, filled in (moodleout.py), for
  Moodle's "Upload grading worksheet";
- `moodle-feedback.zip`: for a Moodle export, each graded student's page (`summary.html`, self-contained) in the
  folder the download named theirs, for Moodle's "Upload multiple feedback files in a zip";
- `canvas-import.csv`: the import file made from the gradebook given with --canvas-gradebook (canvasout.py), for
  Canvas's "Import" in its gradebook.

`read_requests` reads the sheets before anything is played (a sheet that cannot be filled is an error at once,
exit 2); `check_platform` refuses a sheet of another platform than the export's; `write` writes the files and says
what each did (`Output`: the console's lines and the manifest's entry).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..base.errors import InvalidInput
from . import canvasout, gradebook, moodleout
from .grading import Settings
from .marks import Filled, marks
from .records import StudentGrade

WORKSHEET, FEEDBACK_ZIP, CANVAS_IMPORT = "moodle-worksheet.csv", "moodle-feedback.zip", "canvas-import.csv"


@dataclass(frozen=True)
class Requests:
    """What the command line asked to hand back: the sheets as read, or None."""

    worksheet: moodleout.Worksheet | None = None
    gradebook: canvasout.Gradebook | None = None


@dataclass
class Output:
    """One file handed back: its name in the grading's folder, what it holds, in words and for the manifest."""

    kind: str  # moodle_worksheet, moodle_feedback or canvas_import
    file: str
    lines: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


def read_requests(worksheet: str | None, gradebook_csv: str | None, column: str | None) -> Requests:
    """The sheets given on the command line, read and their columns found (SheetError, exit 2, if one cannot be)."""
    if column is not None and gradebook_csv is None:
        raise InvalidInput("--canvas-column names a column of the gradebook given with --canvas-gradebook FILE; "
                           "give that too")
    return Requests(moodleout.read_worksheet(worksheet) if worksheet else None,
                    canvasout.read_gradebook(gradebook_csv, column) if gradebook_csv else None)


def check_platform(requests: Requests, platform: str, export: str) -> None:
    """A Moodle worksheet is filled from a Moodle export's participant ids, a Canvas gradebook from a Canvas
    export's user ids: InvalidInput for any other export."""
    for sheet, wanted, option in ((requests.worksheet, "moodle", "--moodle-worksheet"),
                                  (requests.gradebook, "canvas", "--canvas-gradebook")):
        if sheet is not None and platform != wanted:
            raise InvalidInput(f"{option} {sheet.sheet.path}: the export {export} was read as {platform}, not "
                               f"{wanted}: the sheet's students are matched by the {wanted} export's identifiers "
                               f"(give the {wanted} download, or --format {wanted} if it is one)")


def _said(filled: Filled, noun: str) -> list[str]:
    lines = [f"{len(filled.written)} {noun}{'' if len(filled.written) == 1 else 's'} filled in; {filled.untouched} "
             f"left as {'it was' if filled.untouched == 1 else 'they were'} (no submission graded is theirs)"]
    if filled.not_in_sheet:
        lines.append(f"no row for: {', '.join(filled.not_in_sheet)}")
    lines += [f"not written: {why}" for why in filled.held_back]
    return lines


def write(grades: list[StudentGrade], settings: Settings, platform: str, requests: Requests) -> list[Output]:
    """Every file handed back (see the module), written into settings.out."""
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    given = marks(grades, settings.suite)
    outputs = []
    confirmed = None  # the students a worksheet row names (their folders' ids confirmed), when one is given
    if requests.worksheet is not None:
        filled = moodleout.fill_worksheet(requests.worksheet, given)
        confirmed = set(filled.written)
        (out / WORKSHEET).write_bytes(filled.data)
        columns = [f"{k}: {v}" for k, v in filled.columns.items()]
        outputs.append(Output("moodle_worksheet", WORKSHEET, [*_said(filled, "row"), *columns],
                              {"file": WORKSHEET, "from": requests.worksheet.sheet.path, **filled.manifest()}))
    if platform == "moodle":
        pages, left = feedback_pages(grades, settings, confirmed)
        (out / FEEDBACK_ZIP).write_bytes(moodleout.feedback_zip(pages))
        lines = ["1 student's page, in the folder of the download" if len(pages) == 1 else
                 f"{len(pages)} students' pages, each in the folder of the download"]
        lines += [f"not in it: {why}" for why in left]
        if confirmed is None:
            lines.append("each folder's participant id is as the download gave it, not checked against a worksheet "
                         "(a team submission's folder carries its group's id): give --moodle-worksheet to check them")
        outputs.append(Output("moodle_feedback", FEEDBACK_ZIP, lines,
                              {"file": FEEDBACK_ZIP, "folders": sorted(pages), "left_out": left}))
    if requests.gradebook is not None:
        filled = canvasout.import_file(requests.gradebook, given)
        (out / CANVAS_IMPORT).write_bytes(filled.data)
        columns = [f"{k}: {v}" for k, v in filled.columns.items()]
        outputs.append(Output("canvas_import", CANVAS_IMPORT, [*_said(filled, "student"), *columns],
                              {"file": CANVAS_IMPORT, "from": requests.gradebook.sheet.path, **filled.manifest()}))
    return outputs


def feedback_pages(grades: list[StudentGrade], settings: Settings,
                   confirmed: set[str] | None = None) -> tuple[dict[str, str], list[str]]:
    """Each graded Moodle student's folder -> their self-contained page; and who is left out, and why.
    `confirmed`: the students whose worksheet row was written (its participant id and name theirs); when given,
    only they are in it."""
    pages, left = {}, []
    for g in grades:
        folder = moodleout.feedback_folder(g.submission.entry)
        if folder is None:
            left.append(f"{g.submission.name}: no participant's folder in the download")
        elif g.status != "graded":
            left.append(f"{g.submission.name}: not graded (the lab could not carry out some plays; grade again)")
        elif confirmed is not None and g.submission.name not in confirmed:
            left.append(f"{g.submission.name}: the worksheet has no row of theirs that was filled in")
        elif folder in pages:
            left.append(f"{g.submission.name}: another student has the folder {folder}")
        else:
            pages[folder] = gradebook.feedback_page(g, settings)
    return pages, left


__all__ = ["Requests", "Output", "read_requests", "check_platform", "write", "feedback_pages", "WORKSHEET",
           "FEEDBACK_ZIP", "CANVAS_IMPORT"]
