"""What one cell of an exported spreadsheet holds: text that opens as text, numbers as numbers.

Excel, WPS and LibreOffice read a cell that starts with `=`, `+`, `-` or `@` as a formula (and
some skip a leading tab or carriage return first), so a referrer who calls themselves
`=HYPERLINK("http://…","x")` would be a live link in finance's copy. OWASP's advice on CSV
injection: put a `'` before such a text cell; spreadsheets show the text and no formula. Only
text is touched: an amount of -5.00 is a number and stays one, or the sums break.

Every writer of a spreadsheet turns its text through `neutralise`, so the rule is kept in this
one place: the CSV exports with `cell`, the Excel workbooks (`bot/ops/workbook.py`) for their text
cells.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

# What a spreadsheet may take for the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# A time is an aware datetime already in the configured zone.
Value = str | int | Decimal | datetime | None


def neutralise(text: str) -> str:
    """A text cell that no spreadsheet reads as a formula: `'` before a formula's first
    character, anything else unchanged."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: Value) -> str:
    """A value as a CSV cell: text neutralised, an int or Decimal as its number, a time as
    "2026-11-22 09:00:00 +08:00", None empty."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return local_stamp(value)
    return neutralise(value)


def local_stamp(moment: datetime) -> str:
    """An aware time as "2026-11-22 09:00:00 +08:00", in its own zone."""
    offset = moment.strftime("%z")  # "+0800"; %:z needs Python 3.12
    return moment.strftime("%Y-%m-%d %H:%M:%S ") + f"{offset[:3]}:{offset[3:]}"


def cells(values: list[Value]) -> list[str]:
    return [cell(value) for value in values]
