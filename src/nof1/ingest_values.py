"""Cells of a log: "not logged" markers, numbers (decimal commas, thousands separators), outcome
values checked against the outcome's type and range, adherence (fractions, percents, yes/no).

Part of reading a log (:mod:`nof1.ingest`); :class:`CellProblem` and the ``parse_*`` functions
are what other readers (:mod:`nof1.ingest_long`) use.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from nof1.protocol import Outcome

Severity = Literal["error", "warning", "info"]

#: Cell texts read as "not logged" (compared case-insensitively after stripping whitespace).
MISSING_TOKENS = frozenset({
    "", "na", "n/a", "n.a.", "nan", "-", "--", "\u2013", "\u2014", "null", "missing", "#n/a", "?", ".",
})
_YES = frozenset({"yes", "y", "true", "t", "taken", "done", "x", "\u2713"})
_NO = frozenset({"no", "n", "false", "f", "missed", "skipped"})
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", re.ASCII)
_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$", re.ASCII)
DECIMAL_COMMA_RE = re.compile(r"^\s*[+-]?\d*,\d+\s*$", re.ASCII)


class CellError(Exception):
    """A problem with one cell; becomes a :class:`Defect` at the row's line."""

    def __init__(self, kind: str, message: str, severity: Severity = "warning") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.severity = severity


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, np.floating) and np.isnan(value):
        return True
    if isinstance(value, np.datetime64) and np.isnat(value):
        return True
    if isinstance(value, str):
        return value.strip().lower() in MISSING_TOKENS
    return False


def show_value(value: Any) -> str:
    """A cell value as quoted in messages."""
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    text = str(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return repr(text)


def fmt_g(x: float) -> str:
    return f"{x:g}"


def normalised_name(name: Any) -> str:
    """A column or variable name compared case- and space-insensitively."""
    text = str(name).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def is_blank_cell(c: Any) -> bool:
    return c is None or (isinstance(c, str) and not c.strip())


def parse_number(value: Any, decimal_comma: bool, outcome: Outcome | None = None) -> float:
    """A cell as a float (NaN when missing); raises :class:`CellError` when it is not a number."""
    if isinstance(value, str) and value.strip().lower() == "nan":
        raise CellError("non_numeric", f"{show_value(value.strip())} is not a number (NaN); write a missing "
                         "value as blank or NA")
    if is_missing(value):
        return math.nan
    if isinstance(value, bool | np.bool_):
        if outcome is not None and outcome.type != "binary":
            raise CellError("non_numeric", f"{value!r} is a yes/no value, not a number; '{outcome.name}' "
                             f"is a {outcome.type} outcome")
        return float(value)
    if isinstance(value, int | np.integer | float | np.floating):
        x = float(value)
        if not math.isfinite(x):
            raise CellError("non_numeric", f"{show_value(value)} is not a finite number")
        return x
    s = str(value).strip()
    if outcome is not None and outcome.type == "binary":
        low = s.lower()
        if low in _YES - {"x", "\u2713", "taken", "done"}:
            return 1.0
        if low in _NO - {"missed", "skipped"}:
            return 0.0
    t = s.replace("\u2212", "-").replace(" ", "").replace("\u00a0", "")
    if "," in t:
        if "." in t:
            raise CellError("non_numeric",
                             f"{show_value(s)} mixes '.' and ','; expected a plain number like 4.5")
        if not decimal_comma and _THOUSANDS_RE.match(t):
            alt = t.replace(",", "")
            raise CellError(
                "ambiguous_number",
                f"{show_value(s)} could be {alt.replace(',', '')} (thousands separator) or "
                f"{t.replace(',', '.')} (decimal comma); write it without the comma")
        t = t.replace(",", ".")
    if not _NUMBER_RE.match(t):
        expected = "a number" + (f" in [{fmt_g(outcome.value_range[0])}, {fmt_g(outcome.value_range[1])}]"
                                 if outcome is not None and outcome.value_range is not None
                                 and math.isfinite(outcome.value_range[1]) else "")
        raise CellError("non_numeric",
                         f"{show_value(s)} is not a number; expected {expected}, or blank / NA for not measured")
    return float(t)


def check_outcome_value(x: float, outcome: Outcome) -> None:
    if math.isnan(x):
        return
    r = outcome.value_range
    if r is not None and not r[0] <= x <= r[1]:
        hi = fmt_g(r[1]) if math.isfinite(r[1]) else "inf"
        raise CellError("out_of_range",
                         f"value {fmt_g(x)} is outside the range [{fmt_g(r[0])}, {hi}] of "
                         f"'{outcome.name}'; treated as missing")
    if outcome.type in ("ordinal", "count", "binary") and not float(x).is_integer():
        raise CellError("non_integer",
                         f"value {fmt_g(x)} is not a whole number, but '{outcome.name}' is "
                         f"{'an' if outcome.type == 'ordinal' else 'a'} {outcome.type} outcome; "
                         "treated as missing")


@dataclass
class Adherence:
    value: float
    explicit_percent: bool = False
    boolean: bool = False


def parse_adherence(value: Any, decimal_comma: bool) -> Adherence:
    if is_missing(value):
        return Adherence(math.nan)
    if isinstance(value, bool | np.bool_):
        return Adherence(float(value), boolean=True)
    if isinstance(value, str):
        s = value.strip().lower()
        if s in _YES:
            return Adherence(1.0, boolean=True)
        if s in _NO:
            return Adherence(0.0, boolean=True)
        if s.endswith("%"):
            try:
                x = parse_number(s[:-1], decimal_comma)
            except CellError:
                pass
            else:
                if 0 <= x <= 100:
                    return Adherence(x / 100, explicit_percent=True)
            raise CellError("bad_adherence",
                             f"adherence {show_value(value)} is not a percentage between 0% and 100%")
    try:
        x = parse_number(value, decimal_comma)
    except CellError:
        raise CellError(
            "bad_adherence",
            f"adherence {show_value(value)} is not understood; expected a fraction 0-1, a percent "
            "0-100, or yes/no") from None
    if not 0 <= x <= 100:
        raise CellError("bad_adherence",
                         f"adherence {show_value(value)} is out of range; expected a fraction 0-1 or a percent 0-100")
    return Adherence(x)


class CellProblem(ValueError):
    """A cell that cannot be used: ``kind`` and ``message`` as in a :class:`~nof1.data.Defect`."""

    def __init__(self, kind: str, message: str, severity: Severity = "warning") -> None:
        super().__init__(message)
        self.kind, self.message, self.severity = kind, message, severity


def is_missing_cell(value: Any) -> bool:
    """Empty, NaN or a "not logged" marker (``n/a``, ``NA``, ``-``, ...)."""
    return is_missing(value) or is_blank_cell(value)


def parse_outcome_value(value: Any, outcome: Outcome) -> float:
    """A cell as a value of ``outcome`` (NaN when not logged); raises :class:`CellProblem` for a
    non-number, a value out of range or a non-integer for a discrete outcome."""
    try:
        x = parse_number(value, False, outcome)
        check_outcome_value(x, outcome)
    except CellError as err:
        raise CellProblem(err.kind, err.message, err.severity) from None
    return x


def parse_adherence_value(value: Any) -> float:
    """Adherence as a fraction 0-1 (``1``, ``0.5``, ``50%``, ``yes``/``no``); NaN when missing."""
    try:
        a = parse_adherence(value, False)
    except CellError as err:
        raise CellProblem(err.kind, err.message, err.severity) from None
    if not (a.explicit_percent or a.boolean) and a.value > 1:
        return a.value / 100
    return a.value
