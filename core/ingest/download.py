"""`errors_csv`: a file's row errors as the CSV a user downloads, every cell that a spreadsheet
would run as a formula made inert (core.csv_safe)."""

from __future__ import annotations

import csv
import io

from core.csv_safe import inert
from core.ingest.results import RowError


def errors_csv(errors: list[RowError]) -> str:
    """The errors as "line,column,reason" CSV; cells that a spreadsheet would run are quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["line", "column", "reason"])
    for error in errors:
        writer.writerow([error.line, inert(error.column), inert(error.reason)])
    return buffer.getvalue()
