"""CSV that a spreadsheet opens as data: no text cell starts a formula.

Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a
formula (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`); some strip a leading tab or carriage return
first. Every CSV Handoff writes goes through here, so such text gains a leading `'`, which the
spreadsheet shows as text. Real numbers stay numbers: -3 in a number column is not a formula.
"""

import csv
import io
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
from pandas.api import types

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What a CSV written by someone else may hold unquoted: a plain decimal number.
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def inert(value: Any) -> Any:
    """A cell a spreadsheet shows as written: text that would start a formula gets a leading
    quote; numbers, None and NaN are returned as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


def inert_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A csv.DictWriter row with every cell inert."""
    return {name: inert(value) for name, value in row.items()}


def frame_csv(frame: pd.DataFrame) -> str:
    """`frame.to_csv(index=False)` with every text cell and header inert."""
    safe = frame.rename(columns=inert)
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if not (types.is_numeric_dtype(column) or types.is_datetime64_any_dtype(column)):
            # object columns may mix numbers and text: inert() leaves the numbers alone
            safe.isetitem(position, column.astype(object).map(inert))
    return safe.to_csv(index=False)


def inert_csv(text: str) -> str:
    """CSV text written elsewhere, rewritten with every cell inert except plain numbers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in csv.reader(io.StringIO(text)):
        writer.writerow([cell if _NUMBER.fullmatch(cell) else inert(cell) for cell in row])
    return buffer.getvalue()
