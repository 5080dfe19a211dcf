"""JSON-safe values: what every ``to_dict()`` of the package returns.

Example:
    >>> import numpy as np
    >>> json_safe({"a": np.float64(1.5), "b": float("nan"), "c": (1, np.int64(2))})
    {'a': 1.5, 'b': None, 'c': [1, 2]}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["json_safe"]


def json_safe(value: Any) -> Any:
    """JSON-safe: numpy scalars and arrays to Python, NaN/inf to None, tuples to lists, keys to
    text, recursively."""
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
