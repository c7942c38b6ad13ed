"""Rows given as values, not a file (a REST API batch, a connector's page): the same Table a file
of those columns would give, so they are checked and stored exactly as an import is."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from core import limits
from core.ingest.grid import _check_header_size, _Grid, _table, _too_many_rows
from core.ingest.results import FileRefused, Table


def read_rows(rows: Sequence[Mapping[str, Any]], name: str) -> Table:
    """The rows as a Table: their keys, in the order first seen, are the columns; each value
    becomes the text a file would hold (null is an empty cell); row N is on line N (from 1)."""
    if len(rows) > limits.ROWS_MAX_PER_BATCH:
        raise _too_many_rows(name, limits.ROWS_MAX_PER_BATCH, "")
    if not rows:
        raise FileRefused(f"{name}: no rows")
    columns = list(dict.fromkeys(str(key) for row in rows for key in row))
    _check_header_size(columns, len(columns), name)
    cells = pd.DataFrame(
        {f"c{place}": pd.array([_text(row.get(key)) for row in rows], dtype="str")
         for place, key in enumerate(columns)})
    grid = _Grid(columns, 0, cells, np.arange(1, len(rows) + 1, dtype=np.int64), [])
    return _table(grid, name, ())


def _text(value: Any) -> str:
    """A value as a file's cell would spell it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)
