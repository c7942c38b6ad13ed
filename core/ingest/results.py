"""What reading and parsing give back: the errors that stop a command or refuse a whole file, a
row's problem (`RowError`), a file's cells (`Table`) and the parsed rows (`ParsedFile`). Nothing
here depends on the rest of the package."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


class UsageError(ValueError):
    """The command was called wrongly (unknown field, preset or zone, bad format): exit 2."""


class UnknownField(UsageError):
    """A mapping names a field that is not canonical; the message lists the allowed ones."""


class FileRefused(ValueError):
    """The whole file is refused and nothing is imported: exit 1. Names the file and the column."""


@dataclass(frozen=True)
class RowError:
    """One problem of one row: physical line (header = 1), the file's column ("" if none), why."""

    line: int
    column: str
    reason: str


@dataclass(frozen=True)
class Table:
    """A file's cells as stripped text ("" when empty), with the physical line of every row."""

    columns: list[str]
    rows: pd.DataFrame
    lines: np.ndarray
    filename: str
    errors: tuple[RowError, ...] = ()  # rows the reader could not fit to the header, or read
    notes: tuple[str, ...] = ()
    blanked: frozenset[tuple[int, str]] = frozenset()  # (line, column) the reader left empty


@dataclass(frozen=True)
class ParsedFile:
    """Good rows as canonical fields, and every problem of the rejected rows."""

    frame: pd.DataFrame
    lines: np.ndarray
    errors: list[RowError]
    read: int
    rejected: int
    supplied: frozenset[str]
    notes: list[str]
    columns: dict[str, str] = field(default_factory=dict)  # field -> the file column(s) it read
