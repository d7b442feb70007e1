"""The exports as an Excel workbook (.xlsx), which Excel and WPS open as they were written.

A CSV cannot keep a 19-digit account ID as text (Excel reads 6918170000000000001 as the number
6.91817E+18 and drops digits) without a trick that formula safety forbids; a workbook types
each cell. Text, IDs included, is a text cell (type `s`: never a number, a formula or an
error value such as `#N/A`), neutralised like every exported text (`bot.ops.cells.neutralise`);
money is a number shown with two decimals and a thousands separator; points and other counts
are whole numbers; a time is a date cell in the configured zone, named in its column's header
("registered_at (Asia/Shanghai)"), as spreadsheets have no zones. The header row is bold and
frozen, and the columns are as wide as their first rows need.

The sheet streams (openpyxl's write-only mode) like the CSV: rows go to a temporary file as
they are read, and the workbook is assembled when saved.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from itertools import chain, islice
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bot.ops.cells import Value, neutralise
from bot.ops.exports import COLUMNS, NameOf, Row, Written, rows_of
from bot.records.store import Database

MONEY_FORMAT = "#,##0.00"
COUNT_FORMAT = "0"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
# Column widths, in characters, come from the header and the first rows.
SAMPLE_ROWS = 200
MIN_WIDTH, MAX_WIDTH = 8, 60
TIME_WIDTH = len("2026-11-22 09:00:00") + 2


def write_xlsx(
    kind: str, database: Database, zone: str, out: BinaryIO, *, names: NameOf | None = None
) -> Written:
    """Write the `kind` table as an Excel workbook to `out` (a binary stream; it need not be
    seekable)."""
    records = rows_of(kind, database, zone, names)
    columns = COLUMNS[kind]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(kind)
    counted = _Counted(records)
    stream = counted.rows()
    sample = list(islice(stream, SAMPLE_ROWS))
    headings = [heading(name, zone) for name in columns]
    for letter, width in zip(_letters(len(columns)), _widths(headings, sample), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"  # the header stays in view
    bold = Font(bold=True)
    sheet.append([_header(sheet, name, bold) for name in headings])
    for row in chain(sample, stream):
        sheet.append([_cell(sheet, value) for value in row])
    book.save(out)
    return Written(counted.records, counted.lines)


def heading(column: str, zone: str) -> str:
    """A column's header: a time column names its zone."""
    return f"{column} ({zone})" if is_time(column) else column


def is_time(column: str) -> bool:
    return column == "at" or column.endswith("_at")


def text(value: str) -> str:
    """Text as a workbook keeps it: neutralised, and without the control characters an
    .xlsx cannot hold (shown as U+FFFD, so nothing vanishes unseen)."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralise(value))


def _cell(sheet: WriteOnlyWorksheet, value: Value) -> WriteOnlyCell | None:
    if value is None or value == "":
        return None  # an empty cell, not an empty text
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, text(value))
        # openpyxl would take "=…" for a formula and "#N/A" for an error: it is text.
        cell.data_type = "s"
        return cell
    if isinstance(value, datetime):
        # Spreadsheets have no zones: the local time, its zone in the header.
        cell = WriteOnlyCell(sheet, value.replace(tzinfo=None))
        cell.number_format = TIME_FORMAT
        return cell
    cell = WriteOnlyCell(sheet, value)
    cell.number_format = MONEY_FORMAT if isinstance(value, Decimal) else COUNT_FORMAT
    return cell


def _header(sheet: WriteOnlyWorksheet, name: str, font: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, name)
    cell.data_type = "s"
    cell.font = font
    return cell


class _Counted:
    """The records' rows as one stream, counting records and rows as they pass."""

    def __init__(self, records: Iterator[list[Row]]) -> None:
        self._records = records
        self.records = 0
        self.lines = 0

    def rows(self) -> Iterator[Row]:
        for rows in self._records:
            self.records += 1
            self.lines += len(rows)
            yield from rows


def _widths(columns: list[str], sample: list[Row]) -> list[float]:
    widths = []
    for i, name in enumerate(columns):
        wide = max([len(name) + 2, *(_width(row[i]) for row in sample)])
        widths.append(min(max(wide, MIN_WIDTH), MAX_WIDTH))
    return widths


def _width(value: Value) -> int:
    """Roughly how many character widths a value takes (a Chinese character two)."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return TIME_WIDTH
    shown = f"{value:,.2f}" if isinstance(value, Decimal) else str(value)
    return 2 + sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in shown)


def _letters(count: int) -> list[str]:
    return [get_column_letter(i) for i in range(1, count + 1)]
