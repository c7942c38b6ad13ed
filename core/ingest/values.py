"""The other values a row holds: a field's text (one column, or several joined), ids in one Unicode
spelling, numbers in the ways people write them (with the bounds on amounts and scores), and
lookups of loosely written values in a table of known ones."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core import limits
from core.ingest.arrays import _arrow, _filled, _matches
from core.ingest.problems import _bad_reasons, _Problems
from core.ingest.results import Table

# Patterns run by pyarrow (RE2), where \d and \s mean ASCII digits and spaces.
_CURRENCY = "R\\$|US\\$|[\\s\u00a0'’$€£¥]"
_DECIMAL_COMMA = r"^[-+]?(?:\d{1,3}(?:\.\d{3})+,\d*|\d+,(?:\d{1,2}|\d{4,}))$"
_THOUSANDS_COMMA = r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$"
_EITHER_COMMA = r"^[-+]?\d{1,3},\d{3}$"
_PLAIN_NUMBER = r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$"

_ZERO_WIDTH = "[\u200b-\u200d\u2060\ufeff]"


def _label(columns: Sequence[str]) -> str:
    """How errors name a field's columns."""
    return " + ".join(columns)


def _text_of(table: Table, columns: Sequence[str]) -> pd.Series:
    """The text a field reads: one column, or several joined by a space."""
    values = table.rows[columns[0]]
    for column in columns[1:]:
        values = values.str.cat(table.rows[column], sep=" ")
    if len(columns) > 1:
        values = values.str.replace(r" {2,}", " ", regex=True).str.strip()
    return values.reset_index(drop=True)


def _optional_text(values: pd.Series) -> pd.Series:
    """Python str per row, None where empty (object dtype)."""
    text = values.to_numpy(dtype=object)
    text[~_filled(values)] = None
    return pd.Series(text, dtype=object)


def _normal_ids(values: pd.Series) -> pd.Series:
    """Ids in one spelling, so that "José" (NFC or NFD), "Ｌ００１" and "L0\u200b01" are not new
    leads: NFKC (it composes like NFC and also folds fullwidth digits and letters), without
    zero-width characters, stripped."""
    text = _arrow(values)
    if pc.all(pc.string_is_ascii(text)).as_py() is not False:
        return values  # NFKC leaves ASCII alone, and the zero-width characters are not ASCII
    text = pc.utf8_normalize(text, "NFKC")
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, _ZERO_WIDTH, ""))
    return pd.Series(text.to_pandas(), dtype=values.dtype)


def _parse_numbers(values: pd.Series, label: str, problems: _Problems, name: str) -> np.ndarray:
    """float64 numbers (NaN = not supplied); "1.234,50", "1,234.50" and "$ 1 234" are read.

    Not finite ("inf", "1e400") is not a number; an amount is at least 0 and at most MONEY_MAX, a
    score within ±SCORE_MAX_ABS (sums of absurd values would overflow the reports).
    """
    given = _filled(values)
    result = np.full(len(values), np.nan)
    if not given.any():
        return result
    positions = np.flatnonzero(given)
    text = pc.replace_substring_regex(_arrow(values[given]), _CURRENCY, "")
    text = pc.replace_substring_regex(text, r"^\+", "")
    decimal_comma = _matches(text, _DECIMAL_COMMA)
    either = _matches(text, _EITHER_COMMA)
    thousands = _matches(text, _THOUSANDS_COMMA) & ~either
    # "1,200" is 1200 unless the column writes decimals with a comma elsewhere ("1,5").
    comma_column = bool(decimal_comma.any() and not thousands.any())
    european = pa.array(decimal_comma | (either & comma_column))
    english = pa.array(thousands | (either & (not comma_column)))
    from_european = pc.replace_substring(pc.replace_substring(text, ".", ""), ",", ".")
    text = pc.if_else(european, from_european, text)
    text = pc.if_else(english, pc.replace_substring(text, ",", ""), text)
    plain = _matches(text, _PLAIN_NUMBER)
    numbers = np.full(len(positions), np.nan)
    numbers[plain] = pc.cast(text.filter(pa.array(plain)), pa.float64()).to_numpy()
    not_number = ~np.isfinite(numbers)
    problems.add(
        positions[not_number],
        label,
        _bad_reasons(values, positions[not_number], "'{value}' is not a number"),
    )
    if name == "amount":
        negative = numbers < 0
        problems.add(
            positions[negative],
            label,
            _bad_reasons(values, positions[negative], "negative amount '{value}'"),
        )
        beyond, bound = numbers > limits.MONEY_MAX, f"above the limit of {limits.MONEY_MAX:,}"
    else:
        beyond, bound = np.abs(numbers) > limits.SCORE_MAX_ABS, f"beyond ±{limits.SCORE_MAX_ABS:,}"
    beyond &= ~not_number  # "1e400" is already not a number
    problems.add(
        positions[beyond],
        label,
        _bad_reasons(values, positions[beyond], f"{name} '{{value}}' is {bound}"),
    )
    result[positions[~not_number]] = numbers[~not_number]
    return result


def _lookup(
    values: pd.Series, table: Mapping[str, Any], key: Callable[[str], str]
) -> tuple[np.ndarray, np.ndarray]:
    """table[key(value)] for every value (one lookup per distinct value), and which were found."""
    codes, uniques = pd.factorize(values)
    keys = [key(unique) for unique in uniques]
    found = np.array([table.get(name) for name in keys], dtype=object)
    known = np.array([name in table for name in keys], dtype=bool)
    return found[codes], known[codes]


def _slug(value: str) -> str:
    """A reason compared loosely: "Not a fit" matches not_a_fit."""
    return re.sub(r"[\W_]+", "_", value.casefold()).strip("_")


def _letters(value: str) -> str:
    """The letters of a value, lowercased ("Phone call" -> "phonecall"); "?" if it has none."""
    letters = re.sub(r"[^a-z]", "", value.casefold())
    return letters or ("?" if value else "")
