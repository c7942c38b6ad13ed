"""What the CSV and XLSX readers share: the raw grid of cells they produce (`_Grid`), the checks of
its header (size, names, duplicates, values where names belong) and `_table`, which turns a grid
into a checked `Table` (named, stripped columns, no blank rows, long cells as row errors), with the
messages for sizes that more than one reader refuses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core import limits
from core.ingest.arrays import _arrow, _numpy
from core.ingest.results import FileRefused, RowError, Table

# A header longer than this has too many columns or too long a name (a UTF-8 character takes
# at most 4 bytes; quotes and the delimiter 3 more per name), so only this much of it is split.
_HEADER_MAX_BYTES = limits.MAX_COLUMNS * (4 * limits.HEADER_MAX_CHARS + 3)

# A header cell that looks like a value means the file has no header row.
_VALUE_LIKE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}.*|[^@\s]+@[^@\s]+\.[^@\s]+")
_NUMBER_LIKE = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def _megabytes(size: int) -> str:
    """A size in MB as people read it: "512 MB", "1.5 MB"."""
    return f"{size / 2**20:,.1f}".removesuffix(".0") + " MB"


def _too_long(length: int | None) -> str:
    """The reason for a cell over CELL_MAX_CHARS (None: longer than could be measured)."""
    size = f"{length:,}" if length is not None else f"more than {limits.CELL_MAX_CHARS:,}"
    return f"the cell holds {size} characters; at most {limits.CELL_MAX_CHARS:,} are allowed"


def _too_many_rows(filename: str, limit: int, where: str = "") -> FileRefused:
    """The refusal of a file with more rows than `limit`."""
    return FileRefused(
        f"{filename}: {where}more than {limit:,} rows; at most {limit:,} are allowed in one "
        "file (split it)"
    )


class _Grid(NamedTuple):
    """Raw cells before the header is checked: positional columns, lines, misfit rows."""

    header: list[str]
    header_line: int
    cells: pd.DataFrame
    lines: np.ndarray
    misfits: list[RowError]
    blank_rows: tuple[int, ...] = ()  # lines of rows too long to read, left without cells


def _check_header_size(names: Sequence[str], width: int | None, filename: str) -> None:
    """Refuse more than MAX_COLUMNS columns or a name over HEADER_MAX_CHARS (width None: unknown,
    the header being too long to split whole)."""
    count = len(names) if width is None else width
    if count > limits.MAX_COLUMNS:
        amount = f"more than {limits.MAX_COLUMNS:,}" if width is None else f"{count:,}"
        raise FileRefused(
            f"{filename}: {amount} columns; at most {limits.MAX_COLUMNS:,} are allowed"
        )
    for position, name in enumerate(names, start=1):
        name = name.strip()
        if len(name) > limits.HEADER_MAX_CHARS:
            raise FileRefused(
                f"{filename}: the name of column {position} is {len(name):,} characters long "
                f"('{name[:40]}…'); at most {limits.HEADER_MAX_CHARS:,} are allowed"
            )
    if width is None:
        raise FileRefused(f"{filename}: the header is longer than {_HEADER_MAX_BYTES:,} bytes")


def _grid_from_records(records: list[list[str]], lines: list[int]) -> _Grid:
    """A grid from rows of cells: short rows padded, long rows cut (a misfit when data is cut)."""
    first = next((index for index, cells in enumerate(records) if "".join(cells).strip()), None)
    if first is None:
        return _Grid([], 0, pd.DataFrame(), np.array([], dtype=np.int64), [])
    header, rows, lines = records[first], records[first + 1 :], lines[first:]
    width = len(header)
    misfits = [
        RowError(line, "", f"the row has {len(row)} cells but the header has {width} columns")
        for line, row in zip(lines[1:], rows, strict=True)
        if len(row) > width and "".join(row[width:]).strip()
    ]
    fitted = [row if len(row) == width else (row + [""] * width)[:width] for row in rows]
    columns = list(zip(*fitted, strict=True)) if fitted else [() for _ in range(width)]
    names = [f"c{position}" for position in range(width)]
    arrays = [pa.array(column, type=pa.string()) for column in columns]
    cells = pa.Table.from_arrays(arrays, names=names).to_pandas()
    return _Grid(header, lines[0], cells, np.array(lines[1:], dtype=np.int64), misfits)


def _table(grid: _Grid, filename: str, notes: tuple[str, ...]) -> Table:
    """A checked Table: named, stripped columns without blank rows; long cells are row errors."""
    if not grid.header:
        raise FileRefused(f"{filename}: the file is empty")
    names = [name.strip() for name in grid.header]
    cells = grid.cells.apply(lambda column: column.str.strip()) if len(grid.cells) else grid.cells
    keep = [position for position, name in enumerate(names) if name or _has_data(cells, position)]
    for position in keep:
        if not names[position]:
            raise FileRefused(
                f"{filename}: column {position + 1} holds data but has no name in "
                f"the header (line {grid.header_line})"
            )
    _check_header({position + 1: names[position] for position in keep}, grid.header_line, filename)
    names = [names[position] for position in keep]
    cells = cells[[f"c{position}" for position in keep]]
    cells.columns = names
    errors = [*grid.misfits, *_blank_long_cells(cells, grid.lines)]
    filled = (cells != "").any(axis=1).to_numpy() | np.isin(grid.lines, [e.line for e in errors])
    if not filled.any():
        raise FileRefused(f"{filename}: the file has a header but no data rows")
    rows = cells[filled].reset_index(drop=True)
    # A reported cell (too long, a formula without a value) or row (too long) was left empty.
    blanked = {(error.line, error.column) for error in errors if error.column}
    blanked |= {(line, name) for line in grid.blank_rows for name in names}
    return Table(
        names, rows, grid.lines[filled], filename, tuple(errors), notes, frozenset(blanked)
    )


def _blank_long_cells(cells: pd.DataFrame, lines: np.ndarray) -> list[RowError]:
    """Row errors for the cells over CELL_MAX_CHARS, which are blanked (no reason quotes them)."""
    errors = []
    for place, name in enumerate(cells.columns):
        lengths = _numpy(pc.utf8_length(_arrow(cells[name]))) if len(cells) else np.array([])
        long = np.flatnonzero(lengths > limits.CELL_MAX_CHARS)
        if len(long):
            errors += [
                RowError(int(lines[row]), name, _too_long(int(lengths[row])))
                for row in long.tolist()
            ]
            cells.iloc[long, place] = ""
    return errors


def _has_data(cells: pd.DataFrame, position: int) -> bool:
    """Whether a positional column has a non-empty cell."""
    return bool(len(cells)) and bool((cells[f"c{position}"] != "").any())


def _check_header(names: dict[int, str], line: int, filename: str) -> None:
    """Refuse a header too wide or long, with names equal but for case, or a first line that
    holds values, not names."""
    _check_header_size(list(names.values()), len(names), filename)
    seen: dict[str, tuple[int, str]] = {}
    for position, name in names.items():
        key = name.casefold()
        if key in seen:
            first, other = seen[key]
            if other == name:
                raise FileRefused(
                    f"{filename}: the header names column '{name}' twice (columns "
                    f"{first} and {position}); rename one"
                )
            # "mql_at" and "MQL_AT": one would go to attributes unseen
            raise FileRefused(
                f"{filename}: columns '{other}' and '{name}' (columns {first} and {position}) "
                "differ only in case; rename one"
            )
        seen[key] = (position, name)
    looks_like_data = [name for name in names.values() if _VALUE_LIKE.fullmatch(name)]
    if looks_like_data or (names and all(_NUMBER_LIKE.fullmatch(n) for n in names.values())):
        example = (looks_like_data or list(names.values()))[0]
        raise FileRefused(
            f"{filename}: line {line} holds values such as '{example}', not column "
            "names; the first line must be a header"
        )
