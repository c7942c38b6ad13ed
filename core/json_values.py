"""Figures as strict JSON values, for every JSON Handoff writes (CLI, REST API, frozen reviews)."""

import math
from typing import Any

import numpy as np


def plain_json(value: Any) -> Any:
    """The value as plain JSON: numpy scalars unwrapped, and a number that is not finite (which
    no figure should be) as None, never the NaN or Infinity that JSON parsers refuse."""
    if isinstance(value, dict):
        return {str(key): plain_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
