"""A platform's CSV sheet read so that it can be written back as it came (Moodle's grading worksheet, Canvas's
gradebook: moodleout.py, canvasout.py): the importers on the other side find their columns by the header's
text, in the site's language, so a sheet written back keeps every byte that is not a cell it fills.

- Read within a bound (safefile.read_bounded, `LIMIT`), never trusted: a FIFO, a device or a file too big is one
  error naming it.
- The encoding kept: UTF-8 with or without its BOM (Moodle and Canvas write UTF-8; Excel's "CSV UTF-8" adds the
  BOM), UTF-16 with a BOM, else Windows-1252 (Excel's "CSV" on a Western Windows) and, as a last resort,
  Latin-1, which reads any byte back as itself.
- The delimiter is the one of `,` `;` and tab that cuts the header into the most cells (Excel in a German or French
  locale writes `;`); the line ending is the sheet's first (CRLF, LF or CR).
- Each cell is kept as its raw text and where it is (`Cell.start`/`end`), read by a small tokenizer whose values
  are held to the csv module's own reading of the sheet (`read_sheet` refuses a sheet the two read differently);
  `spliced` writes the sheet again with only the given cells replaced, `joined` writes rows of raw cells (a
  sheet's columns kept as they were, one replaced). A new value is quoted as the sheet quotes (`field`).
"""
from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

from ..base.errors import LocatedError
from ..base.safefile import NotRegular, OpenFailed, TooLarge, read_bounded

#: The most of a sheet read: a class of thousands is well under a megabyte.
LIMIT = 16 * 1024 * 1024
DELIMITERS = (",", ";", "\t")
_ENDS = "\r\n"


class SheetError(LocatedError):
    """A platform's sheet cannot be read or filled in: the file, the line and what would be right."""


@dataclass(frozen=True)
class Cell:
    value: str
    start: int  # where its raw text starts in the sheet's text (quotes included)
    end: int  # where it ends
    quoted: bool


@dataclass(frozen=True)
class Row:
    line: int  # the line it starts on, from 1
    cells: tuple[Cell, ...]  # () for a blank line
    end: int  # where its last cell ends (its line ending follows)

    @property
    def values(self) -> list[str]:
        return [c.value for c in self.cells]

    def value(self, column: int) -> str:
        return self.cells[column].value if column < len(self.cells) else ""


@dataclass(frozen=True)
class Sheet:
    path: str
    text: str
    encoding: str  # the codec it was read with, and is written with
    bom: bytes  # the byte order mark it started with, b"" if none
    delimiter: str
    newline: str  # its first line ending ("\n" for a sheet of one line without one)
    rows: tuple[Row, ...]
    quotes_all: bool  # every cell that holds something is quoted
    quotes_spaces: bool  # every cell holding a space is quoted (PHP's fputcsv, which Moodle writes with)

    def raw(self, cell: Cell) -> str:
        return self.text[cell.start:cell.end]

    def error(self, line: int | None, message: str) -> SheetError:
        return SheetError(self.path, line, "", message)


def _line_breaks(text: str, start: int, end: int) -> int:
    return text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)


def _tokenize(text: str, delimiter: str, path: str, first_row_only: bool = False) -> list[Row]:
    """The rows of `text`, each cell with its value and its place (csv's dialect: '"' quotes, '""' in quotes is
    a quote, text after a closing quote belongs to the cell)."""
    rows: list[Row] = []
    i, n, line = 0, len(text), 1
    stops = delimiter + _ENDS
    while i < n:
        start_line = line
        cells: list[Cell] = []
        if text[i] in _ENDS:  # a blank line
            rows.append(Row(line, (), i))
        else:
            while True:
                start = i
                if i < n and text[i] == '"':
                    parts, i = [], i + 1
                    while True:
                        q = text.find('"', i)
                        if q < 0:
                            raise SheetError(path, start_line, "", "a quoted cell is never closed (a '\"' is missing "
                                             "before the end of the file)")
                        parts.append(text[i:q])
                        if text.startswith('""', q):
                            parts.append('"')
                            i = q + 2
                            continue
                        i = q + 1
                        break
                    j = i
                    while j < n and text[j] not in stops:
                        j += 1
                    parts.append(text[i:j])
                    cells.append(Cell("".join(parts), start, j, True))
                    i = j
                else:
                    j = i
                    while j < n and text[j] not in stops:
                        j += 1
                    cells.append(Cell(text[start:j], start, j, False))
                    i = j
                if i < n and text[i] == delimiter:
                    i += 1
                    continue
                break
            line += _line_breaks(text, cells[0].start, i)
            rows.append(Row(start_line, tuple(cells), i))
        if i < n:
            i += 2 if text.startswith("\r\n", i) else 1
            line += 1
        if first_row_only:
            break
    return rows


def _decode(data: bytes) -> tuple[str, str, bytes]:
    """(text, codec, BOM) of a sheet's bytes."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, "strict"), codec, bom
    for codec in ("utf-8", "cp1252"):
        try:
            return data.decode(codec, "strict"), codec, b""
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1", b""


def read_sheet(path: str, what: str) -> Sheet:
    """The sheet at `path` (see the module); `what` names it in errors (e.g. "Moodle's grading worksheet")."""
    shown = str(path)
    try:
        data = read_bounded(path, LIMIT)
    except OpenFailed as e:
        raise SheetError(shown, None, "", f"cannot be read: {e.error.strerror or e.error}; expected {what} (a .csv "
                         "file)") from None
    except NotRegular:
        raise SheetError(shown, None, "", f"is not a regular file; expected {what} (a .csv file)") from None
    except TooLarge:
        raise SheetError(shown, None, "", f"is over {LIMIT:,} bytes: too large for {what}") from None
    except OSError as e:
        raise SheetError(shown, None, "", f"cannot be read: {e.strerror or e}") from None
    try:
        text, codec, bom = _decode(data)
    except UnicodeDecodeError as e:
        raise SheetError(shown, None, "", f"is not text its byte order mark says it is ({e.reason}); save it again "
                         "as CSV UTF-8") from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise SheetError(shown, line, "", f"holds a NUL character: not {what} as a platform writes it (a .csv file, "
                         "not a spreadsheet's .xlsx)")
    if not text.strip():
        raise SheetError(shown, 1, "", f"is empty; expected {what}")
    widths = {d: len(_tokenize(text, d, shown, first_row_only=True)[0].cells) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: widths[d])  # (the first on a tie: ',')
    if widths[delimiter] < 2:
        raise SheetError(shown, 1, "", f"its first line is one column (no ',', ';' or tab outside quotes): not {what} "
                         "(a .csv file whose first line is its header)")
    rows = _tokenize(text, delimiter, shown)
    try:
        theirs = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False))
    except csv.Error as e:
        raise SheetError(shown, None, "", f"cannot be read as CSV: {e}") from None
    ours = [r.values for r in rows]
    if ours != theirs:
        at = next((r.line for r, t in zip(rows, theirs) if r.values != t), rows[-1].line if rows else 1)
        raise SheetError(shown, at, "", "cannot be read exactly as written (its quoting is not CSV's): save it "
                         f"again as CSV from the platform or the spreadsheet, or download {what} again")
    after = rows[0].end  # the header's line ending
    ending = "\r\n" if text.startswith("\r\n", after) else text[after] if after < len(text) else "\n"
    cells = [c for r in rows for c in r.cells]
    filled = [c for c in cells if c.value]
    spaced = [c for c in cells if " " in c.value]
    return Sheet(shown, text, codec, bom, delimiter, ending, tuple(rows),
                 quotes_all=bool(filled) and all(c.quoted for c in filled),
                 quotes_spaces=bool(spaced) and all(c.quoted for c in spaced))


def field(sheet: Sheet, value: str, like: Cell | None = None) -> str:
    """`value` as a raw cell of `sheet`: quoted when CSV needs it, when the cell it replaces was, or when the sheet
    quotes every cell (or every cell holding a space, as Moodle's PHP does)."""
    needs = any(ch in value for ch in (sheet.delimiter, '"', "\r", "\n")) or value != value.strip()
    if needs or (like is not None and like.quoted) or (value and sheet.quotes_all) or (
            sheet.quotes_spaces and " " in value):
        return '"' + value.replace('"', '""') + '"'
    return value


def encoded(sheet: Sheet, text: str) -> bytes:
    """Text in the sheet's encoding, after its byte order mark (a character the encoding lacks becomes '?')."""
    return sheet.bom + text.encode(sheet.encoding, "strict" if sheet.encoding.startswith("utf") else "replace")


def spliced(sheet: Sheet, changes: dict[tuple[int, int], str]) -> bytes:
    """The sheet with the cells (row index, column) -> new value replaced, every other byte as it was; a row short
    of a column gets empty cells up to it."""
    by_row: dict[int, dict[int, str]] = {}
    for (r, c), value in changes.items():
        by_row.setdefault(r, {})[c] = value
    pieces, at = [], 0
    for r in sorted(by_row):
        row, new = sheet.rows[r], by_row[r]
        raws = [sheet.raw(c) for c in row.cells]
        raws += [""] * (max(new) + 1 - len(raws))
        for c, value in new.items():
            raws[c] = field(sheet, value, row.cells[c] if c < len(row.cells) else None)
        begin = row.cells[0].start if row.cells else row.end
        pieces += [sheet.text[at:begin], sheet.delimiter.join(raws)]
        at = row.end
    pieces.append(sheet.text[at:])
    return encoded(sheet, "".join(pieces))


def joined(sheet: Sheet, rows: list[list[str]]) -> bytes:
    """Rows of raw cells (as `raw` and `field` give them) written with the sheet's delimiter, line ending and
    encoding; a last line ending when the sheet has one."""
    text = sheet.newline.join(sheet.delimiter.join(cells) for cells in rows)
    if sheet.text.endswith(("\n", "\r")):
        text += sheet.newline
    return encoded(sheet, text)


__all__ = ["Cell", "Row", "Sheet", "SheetError", "read_sheet", "field", "spliced", "joined", "encoded", "LIMIT"]
