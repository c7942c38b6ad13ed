"""The first sheet of an XLSX workbook as a `Table`. Before openpyxl reads anything, the zip
directory bounds how far the workbook inflates, every XML part is checked for a DTD, and byte scans
count the shared strings and the sheet's rows and cells (a <dimension> can lie); a second pass
finds the formula cells without a saved value, which become row errors."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from functools import cache
from typing import IO, Any
from xml.parsers import expat

import numpy as np

from core import limits
from core.ingest.grid import (
    _Grid,
    _grid_from_records,
    _megabytes,
    _table,
    _too_long,
    _too_many_rows,
)
from core.ingest.results import FileRefused, RowError, Table

_XML_CHUNK = 1024 * 1024
# One shared string or cell, from its start tag to the next: 10,000 characters of even the most
# formatted rich text take far less. A larger one is a bomb that openpyxl would hold whole.
_XML_ITEM_MAX_BYTES = 2 * 1024 * 1024
_EXCEL_MAX_ROWS = 1_048_576  # Excel's last row: a row number beyond it is forged
_NAME_ENDS = np.frombuffer(b" \t\r\n/>", dtype=np.uint8)
_LT = ord("<")


class _Doctype(Exception):
    """An XML part declares a DTD."""


class _Root(Exception):
    """The first element of an XML part was reached: the prolog is over."""


def _read_xlsx(data: bytes, filename: str) -> Table:
    """The first sheet of a workbook as a Table; lines are sheet row numbers."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            roots = _check_archive(archive, filename)
        reader = _workbook(data)
        try:
            sheets = _worksheet_parts(reader)
            if not sheets:
                raise FileRefused(f"{filename}: the workbook has no worksheet")
            unsaved = _check_sheet(reader.archive, sheets[0], roots.get(sheets[0], ""), filename)
            sheet = _sheet_type()(reader.wb, "", sheets[0], reader.shared_strings)
            grid = _sheet_grid(sheet.iter_rows(), unsaved, filename)
        finally:
            reader.archive.close()
    except FileRefused:
        raise
    except Exception as error:  # zipfile, zlib, expat and openpyxl raise many kinds of errors
        raise FileRefused(f"{filename}: not a readable XLSX workbook ({error})") from None
    return _table(grid, filename, ())


def _workbook(data: bytes) -> Any:
    """openpyxl's reader of a workbook, read up to its sheets: the steps of load_workbook but
    the last, which parses every sheet without a <dimension> whole, only to find its size."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
    reader.read_manifest()
    reader.read_strings()
    reader.read_workbook()
    apply_stylesheet(reader.archive, reader.wb)  # number formats: which numbers are dates
    return reader


def _worksheet_parts(reader: Any) -> list[str]:
    """The workbook's worksheet parts in order, as load_workbook finds them."""
    names = set(reader.valid_files)
    return [
        relation.target
        for _sheet, relation in reader.parser.find_sheets()
        if relation.target in names and "chartsheet" not in relation.Type
    ]


@cache
def _sheet_type() -> type:
    """openpyxl's read-only worksheet, without its size: a <dimension> can lie, and without one
    openpyxl would parse the whole sheet to find it (rows are then read without a size)."""
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class Sheet(ReadOnlyWorksheet):
        """A read-only worksheet of unknown size."""

        def _get_size(self) -> None:
            """Leave the size unknown."""

    return Sheet


def _check_archive(archive: zipfile.ZipFile, filename: str) -> dict[str, str]:
    """Refuse a workbook that inflates too far, declares a DTD or has too many shared strings,
    before anything is inflated whole; the root element's name of every XML part."""
    inflated = sum(info.file_size for info in archive.infolist())
    # The zip directory's sizes bind: zipfile never inflates a member past its declared size.
    if inflated > limits.XLSX_MAX_UNCOMPRESSED_BYTES:
        raise FileRefused(
            f"{filename}: the workbook inflates to {_megabytes(inflated)}; at most "
            f"{_megabytes(limits.XLSX_MAX_UNCOMPRESSED_BYTES)} are allowed"
        )
    roots = {}
    for info in archive.infolist():  # every member: openpyxl follows relations, not extensions
        with archive.open(info) as stream:
            roots[info.filename] = _root_element(stream, info.filename, filename)
    _check_shared_strings(archive, roots, filename)
    return roots


def _root_element(stream: IO[bytes], part: str, filename: str) -> str:
    """The name of an XML part's first element; refuses a DTD (its entities could expand
    without bound, and Excel never writes one). "" when the part is not XML."""
    parser = expat.ParserCreate()

    def doctype(*_arguments: object) -> None:
        raise _Doctype

    def root(name: str, _attributes: object) -> None:
        raise _Root(name)

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = root
    try:
        while chunk := stream.read(64 * 1024):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Root as found:
        return found.args[0]
    except _Doctype:
        raise FileRefused(
            f"{filename}: {part} declares a DTD (<!DOCTYPE …>); a workbook never does, and its "
            "entities could expand without bound"
        ) from None
    except expat.ExpatError:
        pass  # openpyxl decides whether a broken part matters
    return ""


def _manifest(archive: zipfile.ZipFile) -> Any:
    """The package's [Content_Types].xml, read as openpyxl reads it."""
    from openpyxl.packaging.manifest import Manifest
    from openpyxl.xml.constants import ARC_CONTENT_TYPES
    from openpyxl.xml.functions import fromstring

    return Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES)))


def _shared_strings_part(archive: zipfile.ZipFile) -> str | None:
    """The shared-strings part, found as openpyxl finds it."""
    from openpyxl.xml.constants import SHARED_STRINGS

    part = _manifest(archive).find(SHARED_STRINGS)
    return part.PartName[1:] if part is not None else None


def _check_shared_strings(archive: zipfile.ZipFile, roots: dict[str, str], filename: str) -> None:
    """Refuse more than XLSX_MAX_SHARED_STRINGS shared strings, counted while streaming."""
    part = _shared_strings_part(archive)
    if part not in roots:
        return
    count = 0
    with archive.open(part) as stream:
        for found in _tag_scan(stream, roots[part], (b"si",), b"sst", filename):
            count += len(found[b"si"])
            if count > limits.XLSX_MAX_SHARED_STRINGS:
                raise FileRefused(
                    f"{filename}: more than {limits.XLSX_MAX_SHARED_STRINGS:,} shared strings; at "
                    f"most {limits.XLSX_MAX_SHARED_STRINGS:,} are allowed (save it as CSV)"
                )


def _windows(stream: IO[bytes], margin: int) -> Iterator[tuple[np.ndarray, int, int]]:
    """A stream a chunk at a time: (bytes, offset of the first, how many to scan). A tag that
    starts in the last `margin` bytes is scanned with the next chunk."""
    carry, offset = b"", 0
    while chunk := stream.read(_XML_CHUNK):
        data = carry + chunk
        cut = max(len(data) - margin, 0)
        yield np.frombuffer(data, dtype=np.uint8), offset, cut
        carry, offset = data[cut:], offset + cut
    yield np.frombuffer(carry + bytes(margin), dtype=np.uint8), offset, len(carry)


def _tags(buffer: np.ndarray, opens: np.ndarray, pattern: bytes) -> np.ndarray:
    """The '<' positions among `opens` that begin a tag named `pattern` (then a space, / or >)."""
    hit = opens
    for offset, byte in enumerate(pattern, start=1):
        hit = hit[buffer[hit + offset] == byte]
    return hit[np.isin(buffer[hit + len(pattern) + 1], _NAME_ENDS)]


def _tag_scan(
    stream: IO[bytes], root: str, items: tuple[bytes, ...], closing: bytes, filename: str
) -> Iterator[dict[bytes, np.ndarray]]:
    """Per chunk of an XML part, where its `items` elements start, found by a byte scan (no
    parse: a fraction of openpyxl's cost). Refuses an item, from its start to the next one or
    to the `closing` end tag, over _XML_ITEM_MAX_BYTES."""
    prefix = root.rpartition(":")[0].encode() + b":" if ":" in root else b""
    patterns = {name: prefix + name for name in items}
    end = b"/" + prefix + closing
    margin = max(len(pattern) for pattern in [*patterns.values(), end]) + 2
    last, closed, size = -1, False, 0
    for buffer, offset, cut in _windows(stream, margin):
        opens = np.flatnonzero(buffer[:cut] == _LT)
        found = {name: _tags(buffer, opens, pattern) + offset for name, pattern in patterns.items()}
        size = offset + cut
        if not closed:
            bounds = np.sort(np.concatenate(list(found.values())))
            ends = _tags(buffer, opens, end) + offset
            if len(ends):
                bounds, closed = np.append(bounds[bounds < ends[0]], ends[0]), True
            last = _check_gaps(bounds, last, filename, root)
        yield found
    if not closed:
        _check_gaps(np.array([size]), last, filename, root)


def _check_gaps(bounds: np.ndarray, last: int, filename: str, root: str) -> int:
    """Refuse an item over _XML_ITEM_MAX_BYTES between consecutive bounds; the last bound."""
    if not len(bounds):
        return last
    gaps = np.diff(bounds, prepend=bounds[0] if last < 0 else last)
    if gaps.max() > _XML_ITEM_MAX_BYTES:
        what = "shared string" if root.endswith("sst") else "cell"
        raise FileRefused(
            f"{filename}: one {what} takes {int(gaps.max()):,} bytes of XML; a cell holds at "
            f"most {limits.CELL_MAX_CHARS:,} characters"
        )
    return int(bounds[-1])


def _check_sheet(
    archive: zipfile.ZipFile, part: str, root: str, filename: str
) -> dict[int, list[int]]:
    """Refuse a first sheet of more than XLSX_MAX_ROWS rows, MAX_COLUMNS cells in a row or
    XLSX_MAX_CELLS cells, by a byte scan before openpyxl reads it (a <dimension> can lie); its
    formulas without a saved value."""
    rows = open_row = cells = 0
    formulas = False
    with archive.open(part) as stream:
        for found in _tag_scan(stream, root, (b"row", b"c", b"f"), b"sheetData", filename):
            open_row = _check_rows(found, open_row, filename)
            rows += len(found[b"row"])
            if rows > limits.XLSX_MAX_ROWS:
                raise _too_many_rows(filename, limits.XLSX_MAX_ROWS, "the first sheet has ")
            cells += len(found[b"c"])
            if cells > limits.XLSX_MAX_CELLS:
                raise FileRefused(
                    f"{filename}: the first sheet has more than {limits.XLSX_MAX_CELLS:,} cells; "
                    f"at most {limits.XLSX_MAX_CELLS:,} are allowed (save it as CSV)"
                )
            formulas = formulas or bool(len(found[b"f"]))
    return _unsaved_formulas(archive, part, root) if formulas else {}


def _check_rows(found: dict[bytes, np.ndarray], open_row: int, filename: str) -> int:
    """Refuse a row of more than MAX_COLUMNS cells; the cells of the row still open."""
    row_starts, cell_starts = found[b"row"], found[b"c"]
    # Cells per row; the first count goes to the row still open from the chunk before.
    widths = np.bincount(
        np.searchsorted(row_starts, cell_starts, side="right"), minlength=len(row_starts) + 1
    )
    widths[0] += open_row
    if widths.max() > limits.MAX_COLUMNS:
        raise FileRefused(
            f"{filename}: a row of the first sheet has more than {limits.MAX_COLUMNS:,} cells; "
            f"at most {limits.MAX_COLUMNS:,} columns are allowed"
        )
    return int(widths[-1])


class _FormulaCells:
    """expat handlers that find the formula cells without a saved value, as openpyxl counts
    rows and columns (a row's or cell's `r`, else the next number)."""

    def __init__(self, root: str):
        prefix = root.rpartition(":")[0] + ":" if ":" in root else ""
        self.row_tag, self.cell_tag, self.formula_tag, self.value_tag = (
            prefix + name for name in ("row", "c", "f", "v")
        )
        self.row = self.column = 0
        self.formula = self.value = self.inline = self.in_value = False
        self.found: dict[int, list[int]] = {}

    def start(self, name: str, attributes: dict[str, str]) -> None:
        """An element opens."""
        from openpyxl.utils.cell import coordinate_to_tuple

        if name == self.row_tag:
            number = attributes.get("r")
            self.row = int(float(number)) if number else self.row + 1
            self.column = 0
        elif name == self.cell_tag:
            reference = attributes.get("r")
            self.column = coordinate_to_tuple(reference)[1] if reference else self.column + 1
            self.formula = self.value = False
            self.inline = attributes.get("t") == "inlineStr"
        elif name == self.formula_tag:
            self.formula = True
        elif name == self.value_tag:
            self.in_value = True

    def text(self, data: str) -> None:
        """Character data: a value's text makes the cell's saved value."""
        self.value = self.value or (self.in_value and bool(data))

    def end(self, name: str) -> None:
        """An element closes."""
        if name == self.value_tag:
            self.in_value = False
        elif name == self.cell_tag and self.formula and not (self.value or self.inline):
            self.found.setdefault(self.row, []).append(self.column - 1)


def _unsaved_formulas(archive: zipfile.ZipFile, part: str, root: str) -> dict[int, list[int]]:
    """Sheet row -> positions of its formula cells that hold no saved value (openpyxl reads
    them as empty). A second pass over the sheet, run only when it has formulas."""
    cells = _FormulaCells(root)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = cells.start
    parser.EndElementHandler = cells.end
    parser.CharacterDataHandler = cells.text
    with archive.open(part) as stream:
        parser.ParseFile(stream)
    return cells.found


_UNSAVED = "a formula with no saved value: open and save the workbook in Excel, or export CSV"


def _sheet_grid(
    rows: Iterator[tuple[Any, ...]], unsaved: dict[int, list[int]], filename: str
) -> _Grid:
    """The grid of a sheet's rows. Data cells over CELL_MAX_CHARS and formulas without a saved
    value are row errors; the sheet's text is bounded (a shared string may fill many cells)."""
    records: list[list[str]] = []
    lines: list[int] = []
    errors: list[RowError] = []
    text = 0
    for number, row in enumerate(rows, start=1):
        if number > _EXCEL_MAX_ROWS:
            raise FileRefused(f"{filename}: the first sheet has rows beyond Excel's last row")
        if not row:
            continue  # a row openpyxl fills in for a gap in the row numbers
        if len(row) > limits.MAX_COLUMNS:
            raise FileRefused(
                f"{filename}: row {number:,} of the first sheet reaches column {len(row):,}; at "
                f"most {limits.MAX_COLUMNS:,} columns are allowed"
            )
        cells = [_cell_text(cell) for cell in row]
        problems = _cell_problems(
            cells, records[0] if records else None, unsaved.get(number, ()), number, filename
        )
        text += sum(map(len, cells))
        if text > limits.XLSX_MAX_UNCOMPRESSED_BYTES:
            raise FileRefused(
                f"{filename}: the cells of the first sheet hold more than "
                f"{_megabytes(limits.XLSX_MAX_UNCOMPRESSED_BYTES)} of text (one saved text may "
                "fill many cells); save it as CSV"
            )
        if problems or "".join(cells).strip():
            records.append(cells)
            lines.append(number)
            errors += problems
    if not records:
        raise FileRefused(f"{filename}: the first sheet is empty")
    grid = _grid_from_records(records, lines)
    return grid._replace(misfits=[*grid.misfits, *errors])


def _cell_problems(
    cells: list[str], header: list[str] | None, unsaved: Sequence[int], number: int, filename: str
) -> list[RowError]:
    """The errors of a data row's cells under the header, blanking the cells over the limit."""
    if header is None:
        if unsaved and "".join(cells).strip():
            raise FileRefused(f"{filename}: the header (row {number}) holds {_UNSAVED}")
        return []
    width = len(header)
    problems = [
        RowError(number, header[position].strip(), _UNSAVED)
        for position in unsaved
        if position < width
    ]
    for position, cell in enumerate(cells[:width]):
        if len(cell) > limits.CELL_MAX_CHARS:
            problems.append(RowError(number, header[position].strip(), _too_long(len(cell))))
            cells[position] = ""
    return problems


def _cell_text(cell: Any) -> str:
    """An XLSX cell as the text a CSV export would hold; dates in ISO form."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0) and not _shows_time(getattr(cell, "number_format", "")):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Excel stores every number as a float: an id of 12345 must not become "12345.0".
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _shows_time(number_format: str) -> bool:
    """Whether an Excel number format displays a time of day."""
    bare = re.sub(r'"[^"]*"|\[[^\]]*\]', "", number_format or "").lower()
    return "h" in bare or "s" in bare
