"""Numbers as people read them: the same rounding in the terminal, the report and the CLI tables.

Plain text; the HTML report escapes it. Missing or non-finite values print as an en dash.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["fmt_number", "fmt_p", "fmt_prob"]

MISSING = "–"


def fmt_number(value: Any, digits: int = 2, *, minus: str = "-") -> str:
    """A number with ``digits`` decimals (text that is not a number is returned as it is).

    Example:
        >>> fmt_number(-1.2345), fmt_number(None), fmt_number(float("nan")), fmt_number("n/a")
        ('-1.23', '–', '–', 'n/a')
        >>> fmt_number(-0.5, 1, minus="−")
        '−0.5'
    """
    if value is None:
        return MISSING
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return MISSING
    return f"{v:.{digits}f}".replace("-", minus)


def fmt_prob(p: Any) -> str:
    """A probability as a whole percentage, never rounded to a false 0% or 100%.

    Example:
        >>> [fmt_prob(x) for x in (0.0, 0.004, 0.42, 0.996, 1.0, None)]
        ['0%', '<1%', '42%', '>99%', '100%', '–']
    """
    if p is None:
        return MISSING
    p = float(p)
    if not math.isfinite(p):
        return MISSING
    if p < 0.01:
        return "<1%" if p > 0 else "0%"
    if p > 0.99:
        return ">99%" if p < 1 else "100%"
    return f"{p:.0%}"


def fmt_p(p: Any) -> str:
    """A p-value: three decimals below 0.1, two above, ``<0.001`` at the bottom.

    Example:
        >>> [fmt_p(x) for x in (0.0004, 0.0132, 0.125, None)]
        ['<0.001', '0.013', '0.12', '–']
    """
    if p is None:
        return MISSING
    p = float(p)
    if not math.isfinite(p):
        return MISSING
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"
