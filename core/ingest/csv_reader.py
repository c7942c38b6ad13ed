"""Delimited text files as a `Table`: the encoding (UTF-8, UTF-16 with a BOM, else Windows-1252 or
Latin-1), the delimiter, a chunked byte scan of the records that bounds rows and line lengths
before anything is parsed, then pyarrow's CSV reader, or the csv module when the file needs a
tolerant reader. Rows too long to parse are cut out as row errors, keeping every line's number."""

from __future__ import annotations

import codecs
import csv
import io
import re
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from core import limits
from core.ingest.grid import (
    _HEADER_MAX_BYTES,
    _check_header_size,
    _Grid,
    _grid_from_records,
    _table,
    _too_long,
    _too_many_rows,
)
from core.ingest.results import FileRefused, RowError, Table

_DELIMITERS = (",", ";", "\t", "|")
_QUOTE, _NEWLINE = ord('"'), ord("\n")
_CHUNK = 4 * 1024 * 1024  # bytes scanned at once: bounds the index arrays of one step
_SNIFF_LINE_BYTES = 1024 * 1024  # the delimiter is sniffed on at most this much of a line
# Like a header longer than _HEADER_MAX_BYTES (see grid), a row longer than this has too many
# cells or too long a cell: it is never parsed whole.
_RECORD_MAX_BYTES = limits.MAX_COLUMNS * (4 * limits.CELL_MAX_CHARS + 3)
_NOT_BLANK = re.compile(rb"\S")
_QUOTED_CELL = re.compile(r'"[^"]*+(?:""[^"]*+)*+"?')  # possessive: no backtracking state


def _read_csv(data: bytes, filename: str) -> Table:
    """A delimited text file as a Table."""
    raw, encoding = _utf8(data, filename)
    if b"\x00" in raw:
        raise FileRefused(f"{filename}: not a CSV text file or an XLSX workbook")
    raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if _NOT_BLANK.search(raw) is None:
        raise FileRefused(f"{filename}: the file is empty")
    delimiter = _sniff_delimiter(raw)
    spans = _record_spans(raw, filename)
    grid, cut = None, []
    if spans.balanced:
        found = _header_record(raw, spans, delimiter, filename)
        if found is not None:
            raw, cut = _cut_long_records(raw, spans, found, delimiter)
            grid = _fast_grid(raw, spans, found, delimiter)
    elif spans.longest > _RECORD_MAX_BYTES:
        raise FileRefused(
            f"{filename}: line {spans.longest_line:,} is {spans.longest:,} bytes long; a row "
            f"holds at most {limits.MAX_COLUMNS:,} cells of {limits.CELL_MAX_CHARS:,} characters"
        )
    grid = grid or _slow_grid(raw, delimiter, filename)
    notes = () if encoding == "utf-8" else (f"{filename}: not UTF-8, read as {encoding}",)
    grid = grid._replace(misfits=[*grid.misfits, *cut], blank_rows=tuple(e.line for e in cut))
    return _table(grid, filename, notes)


def _utf8(data: bytes, filename: str) -> tuple[bytes, str]:
    """The text of a CSV file as UTF-8 without a BOM, and the encoding it was read with."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8"), "UTF-16"
        except UnicodeDecodeError:
            raise FileRefused(f"{filename}: starts like UTF-16 text but is not") from None
    if data.isascii() or _is_utf8(data):
        return data, "utf-8"
    try:
        return data.decode("cp1252").encode("utf-8"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1").encode("utf-8"), "Latin-1"


def _is_utf8(data: bytes) -> bool:
    """Whether bytes are valid UTF-8, checked a chunk at a time (no copy of the whole text)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _CHUNK):
            decoder.decode(view[start : start + _CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _head_lines(raw: bytes, count: int) -> list[bytes]:
    """The first `count` lines, each cut at _SNIFF_LINE_BYTES."""
    lines, position = [], 0
    while len(lines) < count and position <= len(raw):
        end = raw.find(b"\n", position)
        end = len(raw) if end < 0 else end
        lines.append(raw[position : min(end, position + _SNIFF_LINE_BYTES)])
        position = end + 1
    return lines


def _sniff_delimiter(raw: bytes) -> str:
    """The delimiter that splits the header, and the most lines after it the same way."""
    head = [re.sub(rb'"[^"]*"', b"", line) for line in _head_lines(raw, 20) if line.strip()]
    header = head[0] if head else b""

    def fit(delimiter: str) -> tuple[bool, int, int]:
        mark = delimiter.encode()
        width = header.count(mark)
        return width > 0, sum(line.count(mark) == width for line in head), width

    best = max(_DELIMITERS, key=fit)
    return best if header.count(best.encode()) else ","


class _Spans(NamedTuple):
    """Where the non-empty records of a CSV text are: byte start, end and physical line."""

    starts: np.ndarray
    ends: np.ndarray
    lines: np.ndarray
    quoted_newlines: bool  # some cell holds a line break
    balanced: bool  # an even number of quotes: the records are right
    longest: int  # the longest physical line, in bytes
    longest_line: int


def _record_spans(raw: bytes, filename: str) -> _Spans:
    """The records of a CSV text (a newline inside quotes is data), scanned a chunk at a time.

    A file with more than CSV_MAX_ROWS rows is refused as soon as they are counted.
    """
    buffer = np.frombuffer(raw, dtype=np.uint8)
    parts: list[tuple[np.ndarray, ...]] = []
    rows, newlines, odd, quoted = 0, 0, 0, False
    record_start, record_line, line_start, longest = 0, 1, 0, (0, 1)
    for offset in range(0, len(buffer), _CHUNK):
        chunk = buffer[offset : offset + _CHUNK]
        breaks = np.flatnonzero(chunk == _NEWLINE) + offset
        quotes = np.flatnonzero(chunk == _QUOTE)
        outside = (np.searchsorted(quotes, breaks - offset) + odd) % 2 == 0
        odd, quoted = (odd + len(quotes)) % 2, quoted or not outside.all()
        if len(breaks):
            lengths = np.diff(breaks, prepend=line_start - 1) - 1
            widest = int(np.argmax(lengths))
            longest = max(longest, (int(lengths[widest]), newlines + widest + 1))
            line_start = int(breaks[-1]) + 1
        number = newlines + np.flatnonzero(outside)  # the index of each record's newline
        ends = breaks[outside]
        newlines += len(breaks)
        if not len(ends):
            continue
        starts = np.concatenate(([record_start], ends[:-1] + 1))
        lines = np.concatenate(([record_line], number[:-1] + 2))
        keep = ends > starts
        parts.append((starts[keep], ends[keep], lines[keep]))
        rows += int(keep.sum())
        record_start, record_line = int(ends[-1]) + 1, int(number[-1]) + 2
        if rows > limits.CSV_MAX_ROWS + 1:  # + 1: the header
            raise _too_many_rows(filename, limits.CSV_MAX_ROWS)
    longest = max(longest, (len(raw) - line_start, newlines + 1))
    if len(raw) > record_start:
        parts.append((np.array([record_start]), np.array([len(raw)]), np.array([record_line])))
    starts, ends, lines = (
        np.concatenate([part[field] for part in parts]) if parts else np.array([], np.int64)
        for field in range(3)
    )
    return _Spans(starts, ends, lines, quoted, odd == 0, *longest)


def _split_record(text: str, delimiter: str) -> list[str]:
    """The cells of one CSV record."""
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])


def _header_record(
    raw: bytes, spans: _Spans, delimiter: str, filename: str
) -> tuple[int, list[str]] | None:
    """The index and cells of the first record with a non-blank cell (the header), checked."""
    for index in range(len(spans.starts)):
        start, end = int(spans.starts[index]), int(spans.ends[index])
        cut = min(end, start + _HEADER_MAX_BYTES + 1)
        try:
            cells = _split_record(raw[start:cut].decode("utf-8", "replace"), delimiter)
        except csv.Error:  # a cell beyond the csv module's field limit
            raise FileRefused(
                f"{filename}: a column name is longer than {csv.field_size_limit():,} "
                f"characters; at most {limits.HEADER_MAX_CHARS:,} are allowed"
            ) from None
        if not "".join(cells).strip():
            continue
        width: int | None = len(cells)
        if cut < end:  # only a part was split: count all the columns unless quotes hide some
            quoted = raw.count(b'"', start, end)
            width = None if quoted else raw.count(delimiter.encode(), start, end) + 1
        _check_header_size(cells, width, filename)
        return index, cells
    return None


def _cut_long_records(
    raw: bytes, spans: _Spans, found: tuple[int, list[str]], delimiter: str
) -> tuple[bytes, list[RowError]]:
    """Rows with a cell too long for the csv module, or too long to hold valid cells at all, as
    errors; each is replaced by an empty row that keeps its line breaks (and so every later line
    its number). Shorter rows' long cells are found in the grid."""
    index, header = found
    over = np.flatnonzero(spans.ends - spans.starts > csv.field_size_limit())
    errors: dict[int, RowError] = {}
    for record in over[over > index].tolist():
        start, end = int(spans.starts[record]), int(spans.ends[record])
        error = _long_record_error(raw, start, end, int(spans.lines[record]), header, delimiter)
        if error is not None:
            errors[record] = error
    if not errors:
        return raw, []
    view, pieces, position = memoryview(raw), [], 0
    for record in errors:
        start, end = int(spans.starts[record]), int(spans.ends[record])
        newlines = b"\n" * raw.count(b"\n", start, end)
        pieces += [
            view[position:start],
            b'"' + newlines + b'"' + delimiter.encode() * (len(header) - 1),
        ]
        position = end
    pieces.append(view[position:])
    return b"".join(pieces), list(errors.values())


def _long_record_error(
    raw: bytes, start: int, end: int, line: int, header: list[str], delimiter: str
) -> RowError | None:
    """The error of a long row: its first cell over CELL_MAX_CHARS, or its size when over
    _RECORD_MAX_BYTES; None when it is fine."""
    text = raw[start : start + _RECORD_MAX_BYTES].decode("utf-8", "replace")
    place = _long_cell(text, delimiter, len(header))
    if place is not None:
        return RowError(line, header[place].strip(), _too_long(None))
    if end - start <= _RECORD_MAX_BYTES:
        return None
    return RowError(
        line,
        "",
        f"the row is {end - start:,} bytes long; a row holds at most "
        f"{len(header):,} cells of {limits.CELL_MAX_CHARS:,} characters",
    )


def _long_cell(text: str, delimiter: str, width: int) -> int | None:
    """The place of the first cell over CELL_MAX_CHARS among a record's first `width`: one find
    per cell, as a cell may be beyond the csv module's field limit."""
    position = 0
    for place in range(width):
        quoted = _QUOTED_CELL.match(text, position) if text.startswith('"', position) else None
        stop = text.find(delimiter, quoted.end() if quoted else position)
        stop = len(text) if stop < 0 else stop
        length = stop - position
        if quoted:  # less the quotes and the doubling of quotes inside
            length -= 2 + text.count('""', position + 1, quoted.end() - 1)
        if length > limits.CELL_MAX_CHARS:
            return place
        if stop == len(text):
            return None
        position = stop + 1
    return None


def _fast_grid(
    raw: bytes, spans: _Spans, found: tuple[int, list[str]], delimiter: str
) -> _Grid | None:
    """The cells via pyarrow's CSV reader, or None when the file needs the tolerant reader."""
    index, header = found
    body = int(spans.ends[index]) + 1
    if _NOT_BLANK.search(raw, body) is None:
        return None
    names = [f"c{position}" for position in range(len(header))]
    longest = int((spans.ends - spans.starts).max())
    try:
        arrow = pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(raw).slice(body)),  # no copy of the text
            # A block must hold the longest row when cells hold line breaks.
            read_options=pa_csv.ReadOptions(
                column_names=names, block_size=max(1 << 20, longest + 2)
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=spans.quoted_newlines,
                ignore_empty_lines=True,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, csv.Error):
        return None
    data_lines = spans.lines[index + 1 :]
    if arrow.num_rows != len(data_lines):
        return None  # stray quotes fooled the line scan: let the csv module count lines
    cells = arrow.to_pandas()
    return _Grid(header, int(spans.lines[index]), cells, data_lines.astype(np.int64), [])


def _slow_grid(raw: bytes, delimiter: str, filename: str) -> _Grid:
    """The cells via the csv module: tolerant of ragged rows, counts lines exactly."""
    text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline="")  # decoded as read
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    lines: list[int] = []
    previous, header = 0, False
    try:
        for record in reader:
            if record:  # blank lines come as []; rows of empty cells are dropped later
                if not header and "".join(record).strip():
                    _check_header_size(record, len(record), filename)
                    header = True
                records.append(record)
                lines.append(previous + 1)
                if len(records) > limits.CSV_MAX_ROWS + 1:
                    raise _too_many_rows(filename, limits.CSV_MAX_ROWS)
            previous = reader.line_num
    except csv.Error as error:
        problem = str(error)
        if "field larger than field limit" in problem:  # the csv module's own bound
            problem = (
                f"a cell is longer than {csv.field_size_limit():,} characters, or a quote is "
                "never closed"
            )
        raise FileRefused(f"{filename}: line {previous + 1}: not valid CSV ({problem})") from None
    return _grid_from_records(records, lines)
