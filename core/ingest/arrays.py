"""Small pyarrow and numpy helpers on columns of text cells, shared by the reader's checks and the
parsing of values: a column as an arrow array and back, RE2 matches, which cells are filled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _arrow(values: pd.Series) -> pa.Array:
    """Text values as a pyarrow string array (no copy when they already live in arrow)."""
    return pa.array(values, type=pa.string(), from_pandas=True)


def _matches(text: pa.Array, pattern: str) -> np.ndarray:
    """Whether each value contains a match of the RE2 `pattern` (anchored ones match whole)."""
    return _numpy(pc.match_substring_regex(text, pattern))


def _numpy(array: pa.Array) -> np.ndarray:
    """A pyarrow array without nulls as a numpy array."""
    return array.to_numpy(zero_copy_only=False)


def _filled(values: pd.Series) -> np.ndarray:
    """Which cells hold a value (are not "")."""
    return _numpy(pc.not_equal(_arrow(values), ""))
