"""What lead rows and touch rows share: `_Reader`, the state of one parse (the table, its mapping,
zone and date format, the problems and notes, each field's text and dates read once), which also
builds the `ParsedFile`; the typed frame columns; and the check of text widths against the
stored columns."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from core.ingest.arrays import _arrow, _numpy
from core.ingest.dates import _Dates, _parse_dates, _zone
from core.ingest.fields import _FIELDS, _IDS, LEAD_TIMESTAMPS
from core.ingest.problems import _Problems
from core.ingest.results import ParsedFile, Table
from core.ingest.values import _label, _normal_ids, _text_of


class _Reader:
    """Shared state of one parse: the table, the problems, notes and the parsed date columns."""

    def __init__(
        self, table: Table, mapping: dict[str, list[str]], tz: str, date_format: str | None
    ):
        self.table = table
        self.mapping = mapping
        self.zone = _zone(tz)
        self.date_format = date_format
        self.problems = _Problems(table)
        self.notes: list[str] = list(table.notes)
        self._dates: dict[tuple[str, ...], _Dates] = {}
        self._texts: dict[tuple[tuple[str, ...], bool], pd.Series] = {}

    def text(self, name: str) -> pd.Series:
        """The stripped text of a field; ids in one Unicode spelling."""
        key = (tuple(self.mapping[name]), name in _IDS)
        if key not in self._texts:
            text = _text_of(self.table, key[0])
            self._texts[key] = _normal_ids(text) if key[1] else text
        return self._texts[key]

    def label(self, name: str) -> str:
        """The file column(s) of a field, as errors name them."""
        return _label(self.mapping[name])

    def dates(self, name: str) -> _Dates:
        """A date field parsed once per column, even when two fields read the same column."""
        columns = tuple(self.mapping[name])
        if columns not in self._dates:
            self._dates[columns] = _parse_dates(self.text(name), _label(columns), self)
        return self._dates[columns]

    def result(self, frame: pd.DataFrame, kind: str) -> ParsedFile:
        """The ParsedFile of the good rows of `frame` (one row per table row)."""
        good = ~self.problems.bad
        return ParsedFile(
            frame=frame[good].reset_index(drop=True),
            lines=self.table.lines[good],
            errors=self.problems.row_errors(),
            read=len(self.table.lines),
            rejected=int(self.problems.bad.sum()),
            supplied=frozenset(self.mapping),
            notes=self.notes,
            columns={name: self.label(name) for name in _FIELDS[kind] if name in self.mapping},
        )


def _column(name: str, values: np.ndarray | pd.Series) -> pd.Series:
    """A frame column of the right dtype: UTC timestamps, floats or Python str/None (object)."""
    if name in LEAD_TIMESTAMPS or name == "at":
        return pd.Series(values).dt.tz_localize("UTC")
    return pd.Series(values, dtype=values.dtype)  # keeps object: pandas would infer "str"


def _check_widths(reader: _Reader, widths: Mapping[str, int]) -> None:
    """A text longer than its stored column is a row error, checked before any database sees it
    (PostgreSQL would abort the whole import, SQLite would store it whole)."""
    for name, width in widths.items():
        if name not in reader.mapping:
            continue
        lengths = _numpy(pc.utf8_length(_arrow(reader.text(name))))
        long = np.flatnonzero(lengths > width)
        reader.problems.add(
            long,
            reader.label(name),
            [
                f"{name} is {n:,} characters long; at most {width:,} are allowed"
                for n in lengths[long].tolist()
            ],
        )
