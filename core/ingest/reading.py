"""`read_table`, the way in: a file is refused by its size or as an old .xls workbook, then read by
the XLSX reader (a zip, or an .xlsx/.xlsm name) or else the CSV reader."""

from __future__ import annotations

from core import limits
from core.ingest.csv_reader import _read_csv
from core.ingest.grid import _megabytes
from core.ingest.results import FileRefused, Table
from core.ingest.xlsx_reader import _read_xlsx

_XLSX_EXTENSIONS = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


def read_table(data: bytes, filename: str) -> Table:
    """The cells of a CSV or XLSX file as text, with the physical line of every row."""
    if len(data) > limits.FILE_MAX_BYTES:
        raise FileRefused(
            f"{filename}: the file is {len(data):,} bytes; at most {limits.FILE_MAX_BYTES:,} "
            f"({_megabytes(limits.FILE_MAX_BYTES)}) are allowed"
        )
    if data.startswith(_OLE_MAGIC):
        raise FileRefused(
            f"{filename}: Excel 97-2003 (.xls) files are not supported; save it as .xlsx or .csv"
        )
    if data.startswith(_ZIP_MAGIC) or filename.lower().endswith(_XLSX_EXTENSIONS):
        return _read_xlsx(data, filename)
    return _read_csv(data, filename)
