"""Dates of a log, cell by cell and never by pandas' guessing: ISO and unambiguous forms, month
names, time stamps (mapped to the day they belong to by ``day_starts_at``), and the ambiguous
day/month forms that need a ``date_format``.

Part of reading a log (:mod:`nof1.ingest`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nof1.errors import DataError
from nof1.ingest_values import CellError, CellProblem, show_value

if TYPE_CHECKING:
    pass

MIN_YEAR, MAX_YEAR = 1900, 2199
_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9,
    "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12,
    "december": 12,
}
_WEEKDAYS = frozenset({
    "mon", "monday", "tue", "tues", "tuesday", "wed", "wednesday", "thu", "thur", "thurs",
    "thursday", "fri", "friday", "sat", "saturday", "sun", "sunday",
})
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
_TIME_RE = re.compile(
    r"^(?P<date>.+?)(?:[ T]+)(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})?$", re.ASCII
)
_ISO_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", re.ASCII)
_YMD_RE = re.compile(r"^(\d{4})([/.])(\d{1,2})\2(\d{1,2})$", re.ASCII)
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$", re.ASCII)
NUMERIC_DMY_RE = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})$", re.ASCII)


@dataclass
class ParsedDate:
    date: dt.date
    time: dt.time | None = None
    normalised: bool = False


@dataclass
class AmbiguousDate:
    """A numeric day/month date that reads either way (``03/04/2026``)."""

    text: str
    first: int
    second: int
    sep: str
    year: int


def parse_day_start(value: str | dt.time) -> dt.time:
    """``"04:00"`` as a time of day; raises :class:`DataError` otherwise."""
    if isinstance(value, dt.time):
        return value
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(value), flags=re.ASCII)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise DataError(f"day_starts_at '{value}' is not a time of day; expected HH:MM, e.g. 04:00")
    return dt.time(int(m.group(1)), int(m.group(2)))


def check_date_format(fmt: str) -> None:
    probe = dt.datetime(2026, 3, 25, 13, 45, 30)
    try:
        back = dt.datetime.strptime(probe.strftime(fmt), fmt)
    except ValueError as err:
        raise DataError(f"date_format '{fmt}' is not a valid strftime format ({err}); expected "
                        "e.g. %d/%m/%Y") from None
    if back.date() != probe.date():
        raise DataError(f"date_format '{fmt}' does not name a full date; it needs a day (%d), a "
                        "month (%m, %b or %B) and a year (%Y), e.g. %d/%m/%Y")


def _checked_date(y: int, m: int, d: int, text: str) -> dt.date:
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise CellError("unparseable_date",
                         f"date {text!r} has an implausible year {y}; expected a date like 2026-12-01")
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise CellError("unparseable_date",
                         f"date {text!r} does not exist (year {y}, month {m}, day {d})") from None


def _split_time(text: str) -> tuple[str, dt.time | None]:
    m = _TIME_RE.match(text)
    if not m:
        return text, None
    h, mi, s = int(m.group("h")), int(m.group("m")), int(m.group("s") or 0)
    ampm = (m.group("ampm") or "").replace(".", "").lower()
    if ampm:
        if not 1 <= h <= 12:
            raise CellError("unparseable_date", f"time in {text!r} is not a 12-hour time")
        h = (h % 12) + (12 if ampm == "pm" else 0)
    if h > 23 or mi > 59 or s > 59:
        raise CellError("unparseable_date", f"time in {text!r} is not a time of day (HH:MM)")
    return m.group("date").strip().rstrip(","), dt.time(h, mi, s)


def _parse_date_text(text: str, date_format: str | None) -> ParsedDate | AmbiguousDate:
    """Parse one date cell, strictly: ISO, or a form whose reading is certain."""
    s = text.strip()
    if date_format:
        try:
            value = dt.datetime.strptime(s, date_format)
        except ValueError:
            pass
        else:
            has_time = bool(re.search(r"%[HIMSp]", date_format))
            if not MIN_YEAR <= value.year <= MAX_YEAR:
                raise CellError("unparseable_date", f"date {s!r} has an implausible year {value.year}")
            return ParsedDate(value.date(), value.time() if has_time else None,
                               normalised=not _ISO_RE.match(s))
    body, time = _split_time(s)
    if m := _ISO_RE.match(body):
        y, mo, d = (int(g) for g in m.groups())
        iso = len(m.group(2)) == 2 and len(m.group(3)) == 2
        return ParsedDate(_checked_date(y, mo, d, s), time, normalised=not iso)
    if m := _YMD_RE.match(body):
        return ParsedDate(_checked_date(int(m.group(1)), int(m.group(3)), int(m.group(4)), s), time,
                           normalised=True)
    if m := _COMPACT_RE.match(body):
        return ParsedDate(_checked_date(*(int(g) for g in m.groups()), s), time, normalised=True)
    if m := NUMERIC_DMY_RE.match(body):
        a, sep, b, y = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
        if date_format:
            raise CellError("unparseable_date",
                             f"date {s!r} does not match date_format {date_format!r}")
        if len(y) == 2:
            raise CellError(
                "unparseable_date",
                f"date {s!r} has a two-digit year; write dates as YYYY-MM-DD, or pass "
                f"date_format= (CLI --date-format), e.g. '%d{sep}%m{sep}%y'")
        year = int(y)
        if a > 12 and b <= 12:
            return ParsedDate(_checked_date(year, b, a, s), time, normalised=True)
        if b > 12 and a <= 12:
            return ParsedDate(_checked_date(year, a, b, s), time, normalised=True)
        if a == b:
            return ParsedDate(_checked_date(year, a, a, s), time, normalised=True)
        if a > 12 and b > 12:
            raise CellError("unparseable_date", f"date {s!r} is neither day/month nor month/day")
        return AmbiguousDate(s, a, b, sep, year)
    named = _parse_month_name(body, s)
    if named is not None:
        return ParsedDate(named, time, normalised=True)
    raise CellError(
        "unparseable_date",
        f"cannot read date {s!r}; expected YYYY-MM-DD (e.g. 2026-12-01)"
        + (f" or the date_format {date_format!r}" if date_format else ""))


def _parse_month_name(body: str, original: str) -> dt.date | None:
    tokens = re.findall(r"[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]", body)
    if not any(t.isalpha() for t in tokens):
        return None
    month = year = day = None
    prev = ""
    for t in tokens:
        low = t.lower().rstrip(".")
        if t.isalpha():
            if low in _MONTHS and month is None:
                month = _MONTHS[low]
            elif not (low in _WEEKDAYS or (low in _ORDINAL_SUFFIXES and prev.isascii() and prev.isdigit())):
                return None
        elif t.isascii() and t.isdigit():
            if len(t) == 4 and year is None:
                year = int(t)
            elif len(t) <= 2 and day is None:
                day = int(t)
            else:
                return None
        elif t not in ",.-/":
            return None
        prev = t
    if month is None or year is None or day is None:
        return None
    return _checked_date(year, month, day, original)


def split_date_pair(first: Any, second: Any) -> bool:
    """True when two cells are the halves of an unquoted ``Mon D, YYYY`` date."""
    if not (isinstance(first, str) and isinstance(second, str)):
        return False
    if not re.fullmatch(r"\s*\d{4}(\s+\d{1,2}:\d{2}.*)?", second, flags=re.ASCII):
        return False
    if not any(w.lower().rstrip(".") in _MONTHS for w in re.findall(r"[A-Za-z]+", first)):
        return False
    try:
        return isinstance(_parse_date_text(f"{first},{second}", None), ParsedDate)
    except CellError:
        return False


def parse_date_cell(value: Any, date_format: str | None) -> ParsedDate | AmbiguousDate:
    if isinstance(value, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(value)
        if not MIN_YEAR <= ts.year <= MAX_YEAR:
            raise CellError("unparseable_date", f"date {str(value)!r} has an implausible year")
        t = ts.time()
        return ParsedDate(ts.date(), None if t == dt.time(0, 0) else t)
    if isinstance(value, dt.date):
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise CellError("unparseable_date", f"date {str(value)!r} has an implausible year")
        return ParsedDate(value)
    if isinstance(value, np.datetime64):
        return parse_date_cell(pd.Timestamp(value), date_format)
    if isinstance(value, bool | np.bool_):
        raise CellError("unparseable_date", f"{value!r} is not a date; expected YYYY-MM-DD")
    if isinstance(value, int | np.integer | float | np.floating):
        x = float(value)
        if x.is_integer() and 10_000_000 <= x <= 99_999_999:
            return _parse_date_text(str(int(x)), date_format)
        raise CellError(
            "unparseable_date",
            f"{show_value(x)} is a number, not a date (a spreadsheet date serial?); expected YYYY-MM-DD "
            "(format the column as text or as a date)")
    return _parse_date_text(str(value), date_format)


def parse_date_time(value: Any, date_format: str | None = None
                    ) -> tuple[dt.date, dt.time | None, bool]:
    """(date, time or None, whether the text was normalised); raises :class:`CellProblem`."""
    try:
        r = parse_date_cell(value, date_format)
    except CellError as err:
        raise CellProblem(err.kind, err.message, err.severity) from None
    if isinstance(r, AmbiguousDate):
        raise CellProblem("ambiguous_date",
                          f"ambiguous date {r.text!r}: day/month or month/day; pass date_format= "
                          "(CLI --date-format), e.g. '%d/%m/%Y'", "error")
    return r.date, r.time, r.normalised
