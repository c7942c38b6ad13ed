"""The row problems of one parse (`_Problems`): which rows are rejected and why, starting from the
reader's own row errors, and reported once each in the file's order. `_bad_reasons` words one
reason per bad value."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.ingest.results import RowError, Table


class _Problems:
    """Row problems found so far; a row with any problem is rejected."""

    def __init__(self, table: Table):
        self.lines = table.lines
        self.bad = np.zeros(len(table.lines), dtype=bool)
        self.found: list[tuple[int, str, str]] = []
        self.order = {column: position for position, column in enumerate(table.columns)}
        self.blanked = table.blanked
        for error in table.errors:
            self.add(np.searchsorted(self.lines, [error.line]), error.column, error.reason)

    def add(self, positions: np.ndarray, column: str, reasons: str | Sequence[str]) -> None:
        """Record one problem for each row position."""
        if not len(positions):
            return
        if isinstance(reasons, str):
            reasons = [reasons] * len(positions)
        self.bad[positions] = True
        self.found.extend(
            zip(self.lines[positions].tolist(), [column] * len(positions), reasons, strict=True)
        )

    def add_missing(self, positions: np.ndarray, column: str, reason: str) -> None:
        """Record an empty required cell, unless the reader reported the cell (it was blanked)."""
        if self.blanked:
            lines = self.lines[positions].tolist()
            positions = positions[[(line, column) not in self.blanked for line in lines]]
        self.add(positions, column, reason)

    def row_errors(self) -> list[RowError]:
        """Every problem once, by line and then by the column's place in the file."""
        unique = dict.fromkeys(self.found)
        place = self.order
        ordered = sorted(unique, key=lambda item: (item[0], place.get(item[1].split(" + ")[0], -1)))
        return [RowError(line, column, reason) for line, column, reason in ordered]


def _bad_reasons(values: pd.Series, positions: np.ndarray, template: str) -> list[str]:
    """One reason per bad value, `template` formatted with the value as {value!r}-like quotes."""
    if not len(positions):
        return []
    return [template.format(value=value) for value in values.iloc[positions].tolist()]
