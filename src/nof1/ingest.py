"""Reading a user's log against a protocol: the internals of :func:`nof1.read_log`.

The public entry point is :func:`nof1.data.read_log` (also ``nof1.read_log``); this module does the
work in plain steps that each account for every row:

1. read the source (CSV/TSV text in UTF-8, UTF-8 with BOM, UTF-16 or Latin-1; ``.xlsx``; or a
   DataFrame) into a header and records, each with its *physical* line number;
2. match the columns (case-insensitively, whitespace stripped) to outcomes and known columns;
3. parse dates row by row (never pandas' guessing), map time stamps to the day they belong to;
4. place the rows on the schedule (one per participant for a series), parse values, resolve
   duplicates, record deviations, and count what is missing.

Every row read is either used or dropped, and every dropped row has a :class:`~nof1.data.Defect`
saying why, so ``rows_read == rows_used + rows_dropped`` always holds.

Example:
    >>> import nof1
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")   # doctest: +SKIP
    >>> td = nof1.read_log("my_log.csv", p, duplicates="last")       # doctest: +SKIP
    >>> td.report.rows_read == td.report.rows_used + td.report.rows_dropped   # doctest: +SKIP
    True
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from nof1.data import DataReport, Defect, TrialData
from nof1.errors import DataError

if TYPE_CHECKING:
    from nof1.protocol import Outcome, Protocol

Severity = Literal["error", "warning", "info"]

#: Cell texts read as "not logged" (compared case-insensitively after stripping whitespace).
MISSING_TOKENS = frozenset({
    "", "na", "n/a", "n.a.", "nan", "-", "--", "\u2013", "\u2014", "null", "missing", "#n/a", "?", ".",
})
#: Columns a log may have besides the outcomes (matched case-insensitively).
META_COLUMNS = ("date", "condition", "period", "participant", "adherence", "note", "guess")
#: Columns of the log template and of exported schedules: allowed, not checked, not used.
INFO_COLUMNS = frozenset({
    "day", "phase", "pair", "due", "day_in_period", "label", "code", "washout", "logged",
})
_COLUMN_ALIASES = {"notes": "note", "comment": "note", "comments": "note"}
_RUN_IN_TOKENS = frozenset({"run-in", "run_in", "runin", "run in", "baseline", "none"})
_YES = frozenset({"yes", "y", "true", "t", "taken", "done", "x", "\u2713"})
_NO = frozenset({"no", "n", "false", "f", "missed", "skipped"})
_DUPLICATE_POLICIES = (None, "first", "last", "mean")
_DONT_KNOW = frozenset({"don t know", "dont know", "do not know", "dk", "unsure", "not sure",
                        "no idea", "unknown", "dont_know"})
_MIN_YEAR, _MAX_YEAR = 1900, 2199
_MAX_INFERRED_ALLOCATIONS = 5000

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
_NUMERIC_DMY_RE = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})$", re.ASCII)
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", re.ASCII)
_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$", re.ASCII)
_DECIMAL_COMMA_RE = re.compile(r"^\s*[+-]?\d*,\d+\s*$", re.ASCII)


# =========================================================================== small helpers
class _CellError(Exception):
    """A problem with one cell; becomes a :class:`Defect` at the row's line."""

    def __init__(self, kind: str, message: str, severity: Severity = "warning") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.severity = severity


def _is_missing(value: Any) -> bool:
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


def _show(value: Any) -> str:
    """A cell value as quoted in messages."""
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    text = str(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return repr(text)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _norm_name(name: Any) -> str:
    text = str(name).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


# =========================================================================== reading the source
@dataclass
class _Record:
    """One record of the source below the header: a data row, or a line that carries none."""

    line: int
    cells: list[Any] | None
    kind: Literal["row", "blank", "comment", "malformed"] = "row"
    message: str = ""
    n_lines: int = 1


@dataclass
class _Table:
    name: str
    header: list[str]
    header_line: int
    records: list[_Record]
    sep: str | None = None
    notes: list[str] = field(default_factory=list)


def _read_source(source: Any) -> _Table:
    if isinstance(source, pd.DataFrame):
        return _read_frame(source)
    if isinstance(source, str | Path):
        return _read_path(Path(source))
    raise DataError(
        f"cannot read a log from {type(source).__name__}; expected a path to a CSV, TSV or XLSX "
        "file, or a pandas DataFrame"
    )


def _read_frame(frame: pd.DataFrame) -> _Table:
    name = "DataFrame"
    df = frame
    names = [_norm_name(c) for c in df.columns]
    if "date" not in names and df.index.name is not None and _norm_name(df.index.name) == "date":
        df = df.reset_index()
    elif "date" not in names and isinstance(df.index, pd.DatetimeIndex):
        df = df.rename_axis("date").reset_index()
    header = [str(c) for c in df.columns]
    records: list[_Record] = []
    for i, row in enumerate(df.itertuples(index=False, name=None)):
        records.append(_classify_cells(i + 2, list(row)))
    return _Table(name=name, header=header, header_line=1, records=records)


def _classify_cells(line: int, cells: list[Any]) -> _Record:
    """Blank, comment or data row (for DataFrame and workbook rows)."""
    filled = [c for c in cells if not (c is None or (isinstance(c, str) and not c.strip())
                                       or (not isinstance(c, str) and _is_missing(c)))]
    if not filled:
        return _Record(line, None, "blank", "empty row")
    first = filled[0]
    if isinstance(first, str) and first.strip().startswith("#"):
        return _Record(line, None, "comment")
    return _Record(line, cells)


def _read_path(path: Path) -> _Table:
    name = str(path)
    expected = "expected a log: a CSV, TSV or XLSX file with a 'date' column and one column per outcome"
    try:
        if not path.exists():
            raise DataError(f"no such file; {expected}", source=name)
        if path.is_dir():
            raise DataError(f"is a directory; {expected}", source=name)
        raw = path.read_bytes()
    except (OSError, ValueError) as err:   # permissions, name too long, NUL in the name
        reason = getattr(err, "strerror", None) or str(err)
        raise DataError(f"cannot be read ({reason}); {expected}", source=name) from None
    suffix = path.suffix.lower()
    if not raw.strip():
        raise DataError(f"the file is empty; {expected}", source=name)
    if suffix == ".xls" or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DataError(
            "is an old Excel .xls workbook, which cannot be read; save it as .xlsx or CSV", source=name
        )
    if suffix == ".ods":
        raise DataError("OpenDocument spreadsheets cannot be read; save the sheet as .xlsx or CSV",
                        source=name)
    if suffix in (".xlsx", ".xlsm") or raw[:4] == b"PK\x03\x04":
        return _read_xlsx(raw, name, suffix)
    return _read_text(raw, name, suffix)


def _read_xlsx(raw: bytes, name: str, suffix: str) -> _Table:
    try:
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(raw), data_only=True)
    except Exception as err:  # openpyxl raises many kinds of errors for a damaged file
        what = "an Excel .xlsx workbook" if suffix in (".xlsx", ".xlsm") else "a text log (it is a ZIP archive)"
        raise DataError(
            f"cannot be read as {what}: {type(err).__name__}: {err}; save the log as .xlsx or CSV",
            source=name,
        ) from None
    notes: list[str] = []
    sheets = wb.worksheets
    if not sheets:
        raise DataError("the workbook has no worksheet; expected a sheet with the log", source=name)
    ws = next((s for s in sheets if s.title.strip().lower() in ("log", "data", "diary")), sheets[0])
    if len(sheets) > 1:
        notes.append(f"read worksheet '{ws.title}' (the workbook has {len(sheets)} sheets)")
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    while rows and all(_blank_cell(c) for c in rows[-1]):
        rows.pop()
    records: list[_Record] = []
    header: list[str] | None = None
    header_line = 0
    for i, cells in enumerate(rows, start=1):
        if header is None:
            rec = _classify_cells(i, cells)
            if rec.kind == "row":
                header = ["" if c is None else str(c) for c in cells]
                header_line = i
            else:
                records.append(rec)
            continue
        records.append(_classify_cells(i, cells))
    if header is None:
        raise DataError(f"worksheet '{ws.title}' is empty; expected a header row with 'date' and "
                        "outcome columns, then one row per day", source=name)
    return _Table(name=name, header=header, header_line=header_line, records=records, notes=notes)


def _blank_cell(c: Any) -> bool:
    return c is None or (isinstance(c, str) and not c.strip())


def _decode(raw: bytes, name: str, notes: list[str]) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError("looks like UTF-16 text but cannot be decoded; save the log as UTF-8 CSV",
                            source=name) from None
        notes.append("the file is UTF-16 text; read it as such")
        return text
    if b"\x00" in raw[:8192]:
        raise DataError("is a binary file, not a text log; expected a CSV/TSV text file or an .xlsx "
                        "workbook", source=name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        notes.append("the file is not UTF-8; read it as Latin-1 (Windows-1252): check accented "
                     "characters in notes, and save as UTF-8 next time")
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\t\r\n\f\v")
    if controls > max(8, len(text[:8192]) // 20):
        raise DataError("is a binary file (many control characters), not a text log; expected a "
                        "CSV/TSV text file or an .xlsx workbook", source=name)
    return text


def _read_text(raw: bytes, name: str, suffix: str) -> _Table:
    notes: list[str] = []
    text = _decode(raw, name, notes).lstrip("\ufeff")
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    records: list[_Record] = []
    sep: str | None = None
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        m = re.fullmatch(r"sep=(.)", s, flags=re.IGNORECASE)
        if not s:
            records.append(_Record(i + 1, None, "blank", "blank line"))
        elif s.startswith("#"):
            records.append(_Record(i + 1, None, "comment"))
        elif m and sep is None:
            sep = m.group(1)
            records.append(_Record(i + 1, None, "comment", f"separator declaration 'sep={sep}'"))
        else:
            break
        i += 1
    if i >= len(lines):
        raise DataError("has no header line (only blank or comment lines); expected a header with "
                        "'date' and outcome columns, then one row per day", source=name)
    header_line = i + 1
    if sep is None:
        sep = _detect_separator(lines[i], suffix)
    header, n = _split_record(lines, i, sep)
    if header is None:
        raise DataError(f"line {header_line}: the header has an unbalanced quote (\"); expected "
                        "column names separated by commas", source=name)
    records.extend(_parse_records(lines, i + n, sep))
    if sep == ";":
        notes.append("columns are separated by ';' (a European-style export)")
    elif sep == "\t" and suffix not in (".tsv", ".tab"):
        notes.append("columns are separated by tabs")
    return _Table(name=name, header=header, header_line=header_line, records=records, sep=sep,
                  notes=notes)


def _detect_separator(header_line: str, suffix: str) -> str:
    """The separator that splits the header into a ``date`` column and the most known columns."""
    preferred = "\t" if suffix in (".tsv", ".tab") else ","
    best: tuple[int, int, int, int] | None = None
    choice = preferred
    for sep in (",", ";", "\t", "|"):
        fields, _ = _split_record([header_line], 0, sep)
        if fields is None:
            continue
        names = [_norm_name(f) for f in fields]
        known = sum(1 for n in names if n in META_COLUMNS or n in INFO_COLUMNS)
        score = (int("date" in names), known, len(fields), int(sep == preferred))
        if best is None or score > best:
            best, choice = score, sep
    return choice


def _split_record(lines: list[str], i: int, sep: str) -> tuple[list[str] | None, int]:
    """Fields of the record starting at ``lines[i]`` (quotes may span lines) and lines used.

    Follows the usual CSV rules: a field that starts with ``"`` is quoted, ``""`` inside it is a
    quote, and it may hold separators and line breaks. Returns ``(None, 0)`` when a quote opened
    here is never closed.
    """
    first = lines[i]
    if '"' not in first:
        return first.split(sep), 1
    fields: list[str] = []
    cur: list[str] = []
    in_quotes = False
    j = i
    while j < len(lines):
        line = lines[j]
        k, n = 0, len(line)
        while k < n:
            ch = line[k]
            if in_quotes:
                if ch == '"':
                    if k + 1 < n and line[k + 1] == '"':
                        cur.append('"')
                        k += 2
                        continue
                    in_quotes = False
                else:
                    cur.append(ch)
                k += 1
                continue
            if ch == sep:
                fields.append("".join(cur))
                cur = []
            elif ch == '"' and not "".join(cur).strip():
                cur = []
                in_quotes = True
            else:
                cur.append(ch)
            k += 1
        if in_quotes:
            cur.append("\n")
            j += 1
            continue
        fields.append("".join(cur))
        return fields, j - i + 1
    return None, 0


def _parse_records(lines: list[str], start: int, sep: str) -> list[_Record]:
    out: list[_Record] = []
    i = start
    while i < len(lines):
        s = lines[i].strip()
        if not s:
            out.append(_Record(i + 1, None, "blank", "blank line"))
            i += 1
            continue
        if s.startswith("#"):
            out.append(_Record(i + 1, None, "comment"))
            i += 1
            continue
        fields, n = _split_record(lines, i, sep)
        if fields is None:
            out.append(_Record(i + 1, None, "malformed",
                               'unbalanced quote: a field opened with " is never closed; the line '
                               "cannot be split into columns"))
            i += 1
            continue
        if all(not f.strip() for f in fields):
            out.append(_Record(i + 1, None, "blank", "empty row (only separators)", n_lines=n))
        else:
            out.append(_Record(i + 1, fields, n_lines=n))
        i += n
    return out


# =========================================================================== columns
@dataclass
class _Columns:
    """Which header position holds what."""

    index: dict[str, int]                 # role ('date', 'condition', ... or outcome name) -> position
    unknown: list[tuple[int, str]]        # (position, display name) of columns kept aside
    width: int


def _map_columns(table: _Table, protocol: Protocol, defects: list[Defect], report: DataReport) -> _Columns:
    outcomes = {o.name.lower(): o.name for o in protocol.outcomes}
    names = [_norm_name(h) for h in table.header]
    log = protocol.log
    renames = {_norm_name(k): v for k, v in log.names.items()} \
        if log is not None and log.format == "wide" else {}
    for pos, norm in enumerate(names):
        if norm in renames:
            defects.append(Defect(table.header_line, table.header[pos].strip(),
                                  f"column '{table.header[pos].strip()}' read as '{renames[norm]}' "
                                  "(protocol log.names)", "mapped_column", "info"))
            names[pos] = _norm_name(renames[norm])
    has_taken = "condition_taken" in names
    index: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for pos, (raw, norm) in enumerate(zip(table.header, names, strict=True)):
        role: str | None
        if norm in outcomes:
            role = outcomes[norm]
        elif norm == "condition_taken":
            role = "condition"
        elif norm == "condition" and has_taken:
            role = None                     # the scheduled condition of an exported TrialData
        elif norm in META_COLUMNS:
            role = norm
        elif norm in _COLUMN_ALIASES and _COLUMN_ALIASES[norm] not in names:
            role = _COLUMN_ALIASES[norm]
        elif norm in INFO_COLUMNS:
            role = None
        else:
            display = raw.strip() or f"(unnamed column {pos + 1})"
            if not raw.strip() and _column_empty(table, pos):
                continue                    # a trailing separator in the header: nothing there
            unknown.append((pos, display))
            continue
        if role is None:
            continue
        if role in seen:
            raise DataError(
                f"line {table.header_line}: column '{role}' appears twice (columns {seen[role] + 1} "
                f"and {pos + 1}); expected each column once", source=table.name)
        seen[role] = pos
        index[role] = pos
    if "date" not in index:
        close = difflib.get_close_matches("date", names, n=1, cutoff=0.6)
        hint = f"; did you mean '{table.header[names.index(close[0])].strip()}'?" if close else ""
        found = ", ".join(repr(h.strip()) for h in table.header[:12]) or "none"
        raise DataError(
            f"line {table.header_line}: no 'date' column (found {found}){hint}; expected a header "
            "with 'date' and one column per outcome"
            + (" (the separator may be unusual: use ',' or ';')" if len(table.header) == 1 else ""),
            source=table.name)
    present = [o.name for o in protocol.outcomes if o.name in index]
    if not present:
        raise DataError(
            f"line {table.header_line}: no outcome column; expected at least one of "
            f"{', '.join(o.name for o in protocol.outcomes)} (found "
            f"{', '.join(repr(h.strip()) for h in table.header[:12])})", source=table.name)
    outcome_names = [o.name for o in protocol.outcomes]
    for _pos, display in unknown:
        close = difflib.get_close_matches(_norm_name(display), [n.lower() for n in outcome_names]
                                          + list(META_COLUMNS), n=1, cutoff=0.75)
        hint = ""
        if close:
            target = outcomes.get(close[0], close[0])
            if target not in index:
                hint = f"; did you mean '{target}'?"
        defects.append(Defect(
            table.header_line, display,
            f"unknown column '{display}' (not an outcome of the protocol nor a known log column); "
            f"kept aside in TrialData.extra_columns, not analysed{hint}",
            "unknown_column", "warning"))
        report.unknown_columns.append(display)
    for o in protocol.outcomes:
        if o.name not in index:
            defects.append(Defect(
                table.header_line, o.name,
                f"no column for outcome '{o.name}'; it is treated as not measured",
                "missing_column", "warning"))
    return _Columns(index=index, unknown=unknown, width=len(table.header))


def _column_empty(table: _Table, pos: int) -> bool:
    for rec in table.records:
        if rec.cells is not None and pos < len(rec.cells) and not _blank_cell(rec.cells[pos]) \
                and not _is_missing(rec.cells[pos]):
            return False
    return True


# =========================================================================== dates
@dataclass
class _ParsedDate:
    date: dt.date
    time: dt.time | None = None
    normalised: bool = False


@dataclass
class _Ambiguous:
    """A numeric day/month date that reads either way (``03/04/2026``)."""

    text: str
    first: int
    second: int
    sep: str
    year: int


def _parse_day_start(value: str | dt.time) -> dt.time:
    if isinstance(value, dt.time):
        return value
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(value), flags=re.ASCII)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise DataError(f"day_starts_at '{value}' is not a time of day; expected HH:MM, e.g. 04:00")
    return dt.time(int(m.group(1)), int(m.group(2)))


def _check_date_format(fmt: str) -> None:
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
    if not _MIN_YEAR <= y <= _MAX_YEAR:
        raise _CellError("unparseable_date",
                         f"date {text!r} has an implausible year {y}; expected a date like 2026-12-01")
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise _CellError("unparseable_date",
                         f"date {text!r} does not exist (year {y}, month {m}, day {d})") from None


def _split_time(text: str) -> tuple[str, dt.time | None]:
    m = _TIME_RE.match(text)
    if not m:
        return text, None
    h, mi, s = int(m.group("h")), int(m.group("m")), int(m.group("s") or 0)
    ampm = (m.group("ampm") or "").replace(".", "").lower()
    if ampm:
        if not 1 <= h <= 12:
            raise _CellError("unparseable_date", f"time in {text!r} is not a 12-hour time")
        h = (h % 12) + (12 if ampm == "pm" else 0)
    if h > 23 or mi > 59 or s > 59:
        raise _CellError("unparseable_date", f"time in {text!r} is not a time of day (HH:MM)")
    return m.group("date").strip().rstrip(","), dt.time(h, mi, s)


def _parse_date_text(text: str, date_format: str | None) -> _ParsedDate | _Ambiguous:
    """Parse one date cell, strictly: ISO, or a form whose reading is certain."""
    s = text.strip()
    if date_format:
        try:
            value = dt.datetime.strptime(s, date_format)
        except ValueError:
            pass
        else:
            has_time = bool(re.search(r"%[HIMSp]", date_format))
            if not _MIN_YEAR <= value.year <= _MAX_YEAR:
                raise _CellError("unparseable_date", f"date {s!r} has an implausible year {value.year}")
            return _ParsedDate(value.date(), value.time() if has_time else None,
                               normalised=not _ISO_RE.match(s))
    body, time = _split_time(s)
    if m := _ISO_RE.match(body):
        y, mo, d = (int(g) for g in m.groups())
        iso = len(m.group(2)) == 2 and len(m.group(3)) == 2
        return _ParsedDate(_checked_date(y, mo, d, s), time, normalised=not iso)
    if m := _YMD_RE.match(body):
        return _ParsedDate(_checked_date(int(m.group(1)), int(m.group(3)), int(m.group(4)), s), time,
                           normalised=True)
    if m := _COMPACT_RE.match(body):
        return _ParsedDate(_checked_date(*(int(g) for g in m.groups()), s), time, normalised=True)
    if m := _NUMERIC_DMY_RE.match(body):
        a, sep, b, y = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
        if date_format:
            raise _CellError("unparseable_date",
                             f"date {s!r} does not match date_format {date_format!r}")
        if len(y) == 2:
            raise _CellError(
                "unparseable_date",
                f"date {s!r} has a two-digit year; write dates as YYYY-MM-DD, or pass "
                f"date_format= (CLI --date-format), e.g. '%d{sep}%m{sep}%y'")
        year = int(y)
        if a > 12 and b <= 12:
            return _ParsedDate(_checked_date(year, b, a, s), time, normalised=True)
        if b > 12 and a <= 12:
            return _ParsedDate(_checked_date(year, a, b, s), time, normalised=True)
        if a == b:
            return _ParsedDate(_checked_date(year, a, a, s), time, normalised=True)
        if a > 12 and b > 12:
            raise _CellError("unparseable_date", f"date {s!r} is neither day/month nor month/day")
        return _Ambiguous(s, a, b, sep, year)
    named = _parse_month_name(body, s)
    if named is not None:
        return _ParsedDate(named, time, normalised=True)
    raise _CellError(
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


def _split_date_pair(first: Any, second: Any) -> bool:
    """True when two cells are the halves of an unquoted ``Mon D, YYYY`` date."""
    if not (isinstance(first, str) and isinstance(second, str)):
        return False
    if not re.fullmatch(r"\s*\d{4}(\s+\d{1,2}:\d{2}.*)?", second, flags=re.ASCII):
        return False
    if not any(w.lower().rstrip(".") in _MONTHS for w in re.findall(r"[A-Za-z]+", first)):
        return False
    try:
        return isinstance(_parse_date_text(f"{first},{second}", None), _ParsedDate)
    except _CellError:
        return False


def _parse_date_cell(value: Any, date_format: str | None) -> _ParsedDate | _Ambiguous:
    if isinstance(value, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(value)
        if not _MIN_YEAR <= ts.year <= _MAX_YEAR:
            raise _CellError("unparseable_date", f"date {str(value)!r} has an implausible year")
        t = ts.time()
        return _ParsedDate(ts.date(), None if t == dt.time(0, 0) else t)
    if isinstance(value, dt.date):
        if not _MIN_YEAR <= value.year <= _MAX_YEAR:
            raise _CellError("unparseable_date", f"date {str(value)!r} has an implausible year")
        return _ParsedDate(value)
    if isinstance(value, np.datetime64):
        return _parse_date_cell(pd.Timestamp(value), date_format)
    if isinstance(value, bool | np.bool_):
        raise _CellError("unparseable_date", f"{value!r} is not a date; expected YYYY-MM-DD")
    if isinstance(value, int | np.integer | float | np.floating):
        x = float(value)
        if x.is_integer() and 10_000_000 <= x <= 99_999_999:
            return _parse_date_text(str(int(x)), date_format)
        raise _CellError(
            "unparseable_date",
            f"{_show(x)} is a number, not a date (a spreadsheet date serial?); expected YYYY-MM-DD "
            "(format the column as text or as a date)")
    return _parse_date_text(str(value), date_format)


# =========================================================================== values
def _parse_number(value: Any, decimal_comma: bool, outcome: Outcome | None = None) -> float:
    """A cell as a float (NaN when missing); raises :class:`_CellError` when it is not a number."""
    if isinstance(value, str) and value.strip().lower() == "nan":
        raise _CellError("non_numeric", f"{_show(value.strip())} is not a number (NaN); write a missing "
                         "value as blank or NA")
    if _is_missing(value):
        return math.nan
    if isinstance(value, bool | np.bool_):
        if outcome is not None and outcome.type != "binary":
            raise _CellError("non_numeric", f"{value!r} is a yes/no value, not a number; '{outcome.name}' "
                             f"is a {outcome.type} outcome")
        return float(value)
    if isinstance(value, int | np.integer | float | np.floating):
        x = float(value)
        if not math.isfinite(x):
            raise _CellError("non_numeric", f"{_show(value)} is not a finite number")
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
            raise _CellError("non_numeric",
                             f"{_show(s)} mixes '.' and ','; expected a plain number like 4.5")
        if not decimal_comma and _THOUSANDS_RE.match(t):
            alt = t.replace(",", "")
            raise _CellError(
                "ambiguous_number",
                f"{_show(s)} could be {alt.replace(',', '')} (thousands separator) or "
                f"{t.replace(',', '.')} (decimal comma); write it without the comma")
        t = t.replace(",", ".")
    if not _NUMBER_RE.match(t):
        expected = "a number" + (f" in [{_fmt(outcome.value_range[0])}, {_fmt(outcome.value_range[1])}]"
                                 if outcome is not None and outcome.value_range is not None
                                 and math.isfinite(outcome.value_range[1]) else "")
        raise _CellError("non_numeric",
                         f"{_show(s)} is not a number; expected {expected}, or blank / NA for not measured")
    return float(t)


def _check_outcome_value(x: float, outcome: Outcome) -> None:
    if math.isnan(x):
        return
    r = outcome.value_range
    if r is not None and not r[0] <= x <= r[1]:
        hi = _fmt(r[1]) if math.isfinite(r[1]) else "inf"
        raise _CellError("out_of_range",
                         f"value {_fmt(x)} is outside the range [{_fmt(r[0])}, {hi}] of "
                         f"'{outcome.name}'; treated as missing")
    if outcome.type in ("ordinal", "count", "binary") and not float(x).is_integer():
        raise _CellError("non_integer",
                         f"value {_fmt(x)} is not a whole number, but '{outcome.name}' is "
                         f"{'an' if outcome.type == 'ordinal' else 'a'} {outcome.type} outcome; "
                         "treated as missing")


@dataclass
class _Adherence:
    value: float
    explicit_percent: bool = False
    boolean: bool = False


def _parse_adherence(value: Any, decimal_comma: bool) -> _Adherence:
    if _is_missing(value):
        return _Adherence(math.nan)
    if isinstance(value, bool | np.bool_):
        return _Adherence(float(value), boolean=True)
    if isinstance(value, str):
        s = value.strip().lower()
        if s in _YES:
            return _Adherence(1.0, boolean=True)
        if s in _NO:
            return _Adherence(0.0, boolean=True)
        if s.endswith("%"):
            try:
                x = _parse_number(s[:-1], decimal_comma)
            except _CellError:
                pass
            else:
                if 0 <= x <= 100:
                    return _Adherence(x / 100, explicit_percent=True)
            raise _CellError("bad_adherence",
                             f"adherence {_show(value)} is not a percentage between 0% and 100%")
    try:
        x = _parse_number(value, decimal_comma)
    except _CellError:
        raise _CellError(
            "bad_adherence",
            f"adherence {_show(value)} is not understood; expected a fraction 0-1, a percent "
            "0-100, or yes/no") from None
    if not 0 <= x <= 100:
        raise _CellError("bad_adherence",
                         f"adherence {_show(value)} is out of range; expected a fraction 0-1 or a percent 0-100")
    return _Adherence(x)


def _condition_lookup(protocol: Protocol) -> dict[str, str]:
    """Lower-cased text -> condition key: labels, then codes, then keys (later wins)."""
    out: dict[str, str] = {}
    for k, c in protocol.conditions.items():
        out[c.label.strip().lower()] = k
    codes = protocol.blinded_codes if protocol.is_blinded else {
        k: c.code for k, c in protocol.conditions.items() if c.code}
    entries_codes = {}
    for k, code in codes.items():
        if code:
            for form in (code, f"code {code}", f"bottle {code}"):
                entries_codes[form.strip().lower()] = k
    entries_keys = {k.lower(): k for k in protocol.conditions}
    if protocol.is_blinded:     # the participant logs codes: they win over keys
        out.update(entries_keys)
        out.update(entries_codes)
    else:
        out.update(entries_codes)
        out.update(entries_keys)
    return out


# =========================================================================== rows
@dataclass
class _Row:
    line: int
    cells: list[Any]
    date: dt.date | None = None
    participant: str = ""
    day: int = 0
    values: dict[str, float] = field(default_factory=dict)
    condition: str | None = None
    condition_raw: str = ""
    adherence: _Adherence | None = None
    period: int | None = None
    note: str = ""
    guess: str | None = None
    extras: dict[str, str] = field(default_factory=dict)

    def cell(self, pos: int | None) -> Any:
        if pos is None or pos >= len(self.cells):
            return None
        return self.cells[pos]

    def signature(self, outcome_names: list[str]) -> tuple:
        vals = tuple(None if math.isnan(self.values.get(n, math.nan)) else self.values[n]
                     for n in outcome_names)
        adh = self.adherence.value if self.adherence is not None else math.nan
        return (vals, self.condition, None if math.isnan(adh) else adh, self.note, self.guess,
                tuple(sorted(self.extras.items())))


class _Ingest:
    """One call of :func:`read_log`: holds the options, the defects and the accounting."""

    def __init__(self, protocol: Protocol, *, start: Any, duplicates: str | None,
                 date_format: str | None, day_starts_at: str | dt.time) -> None:
        if duplicates not in _DUPLICATE_POLICIES:
            raise DataError(f"duplicates={duplicates!r} is not a policy; expected None, 'first', "
                            "'last' or 'mean'")
        if date_format is not None:
            _check_date_format(date_format)
        self.protocol = protocol
        self.duplicates = duplicates
        self.date_format = date_format
        self.day_start = _parse_day_start(day_starts_at)
        self.start = self._parse_start(start)
        self.defects: list[Defect] = []
        self.dropped: dict[int, str] = {}          # line -> reason (one per dropped row)
        self.used: set[int] = set()
        self.report = DataReport()
        self.conditions = _condition_lookup(protocol)
        self.outcome_names = [o.name for o in protocol.outcomes]
        self.empty_rows = 0
        self._guess_words: dict[str, str] | None = None
        self.bool_read: set[str] = set()

    # ------------------------------------------------------------------ bookkeeping
    def _parse_start(self, start: Any) -> dt.date | None:
        if start is None:
            return None
        if isinstance(start, pd.Timestamp | dt.datetime):
            return pd.Timestamp(start).date()
        if isinstance(start, dt.date):
            return start
        try:
            return dt.date.fromisoformat(str(start).strip())
        except ValueError:
            raise DataError(f"start '{start}' is not an ISO date; expected YYYY-MM-DD") from None

    def defect(self, line: int | None, column: str | None, message: str, kind: str,
               severity: Severity = "warning") -> None:
        self.defects.append(Defect(line, column, message, kind, severity))

    def drop(self, line: int, reason: str, column: str | None, message: str, kind: str,
             severity: Severity = "warning") -> None:
        self.defect(line, column, message, kind, severity)
        self.dropped[line] = reason

    def show_cond(self, key: str | None) -> str:
        """A condition as shown in messages: its code when blinded (so reports keep the blind)."""
        if key is None:
            return "nothing (run-in)"
        if self.protocol.is_blinded:
            return f"code {self.protocol.blinded_codes[key]}"
        return key

    # ------------------------------------------------------------------ main
    def run(self, source: Any) -> TrialData:
        table = _read_source(source)
        report = self.report
        report.source = table.name
        report.notes.extend(table.notes)
        report.duplicates_policy = self.duplicates
        if self.protocol.is_blinded:
            report.condition_codes = dict(self.protocol.blinded_codes)
        cols = _map_columns(table, self.protocol, self.defects, report)
        rows = self._records_to_rows(table, cols)
        rows = self._parse_dates(rows, cols)
        groups = self._group_participants(rows, cols)
        starts = self._starts(groups)
        series = len(groups) > 1
        in_trial: dict[str, list[_Row]] = {}
        for pid, prow in groups.items():
            in_trial[pid] = self._place(prow, starts[pid], pid, series)
        all_rows = [r for rs in in_trial.values() for r in rs]
        self._parse_values(all_rows, cols, table)
        blocks: list[pd.DataFrame] = []
        extra_blocks: list[pd.DataFrame] = []
        for pid, prow in in_trial.items():
            allocation = self._allocation(pid, prow, series)
            final = self._resolve_duplicates(prow)
            block, extra = self._align(pid if series else None, starts[pid], allocation, final, cols)
            blocks.append(block)
            extra_blocks.append(extra)
        data = pd.concat(blocks, ignore_index=True) if len(blocks) > 1 else blocks[0]
        extra = pd.concat(extra_blocks, ignore_index=True) if len(extra_blocks) > 1 else extra_blocks[0]
        self._summarise(data, table)
        td_start = min(starts.values()) if starts else None
        return TrialData(protocol=self.protocol, data=data, report=report, start=td_start,
                         source=table.name, extra_columns=extra)

    # ------------------------------------------------------------------ step: records
    def _records_to_rows(self, table: _Table, cols: _Columns) -> list[_Row]:
        header_norm = [_norm_name(h) for h in table.header]
        rows: list[_Row] = []
        for rec in table.records:
            if rec.kind == "blank":
                self.drop(rec.line, "blank", None, f"{rec.message or 'blank line'}; counted and skipped",
                          "blank_line", "info")
                continue
            if rec.kind == "comment":
                self.drop(rec.line, "comment", None, f"{rec.message or 'comment line'}; skipped",
                          "comment_line", "info")
                continue
            if rec.kind == "malformed":
                self.drop(rec.line, "malformed", None, f"{rec.message}; row dropped", "malformed_row")
                continue
            cells = list(rec.cells or [])
            span = f" (a quoted field spans lines {rec.line}-{rec.line + rec.n_lines - 1})" \
                if rec.n_lines > 1 else ""
            date_pos = cols.index["date"]
            if len(cells) > cols.width and date_pos + 1 < len(cells) \
                    and _split_date_pair(cells[date_pos], cells[date_pos + 1]):
                # 'Dec 3, 2026' written without quotes in a comma-separated file
                cells = [*cells[:date_pos], f"{cells[date_pos]},{cells[date_pos + 1]}",
                         *cells[date_pos + 2:]]
            if len(cells) > cols.width:
                extra = cells[cols.width:]
                if any(not _blank_cell(c) for c in extra):
                    hint = ""
                    if table.sep is not None:
                        shown = "tab" if table.sep == "\t" else f"'{table.sep}'"
                        hint = (f"; a {shown} inside a note, or a decimal comma (4,5) in a comma-separated "
                                "file, splits a cell in two: put notes in quotes and use '.' for decimals")
                    self.drop(rec.line, "malformed", None,
                              f"the row has {len(cells)} fields but the header has {cols.width}{span}; "
                              f"the columns cannot be matched, row dropped{hint}", "malformed_row")
                    continue
                cells = cells[:cols.width]
            if len(cells) < cols.width:
                cells = cells + [""] * (cols.width - len(cells))
            if [_norm_name(c) for c in cells] == header_norm:
                self.drop(rec.line, "repeated header", None,
                          "the header line is repeated (two exports pasted together?); skipped",
                          "repeated_header", "info")
                continue
            rows.append(_Row(rec.line, cells))
        return rows

    # ------------------------------------------------------------------ step: dates
    def _parse_dates(self, rows: list[_Row], cols: _Columns) -> list[_Row]:
        pos = cols.index["date"]
        parsed: list[tuple[_Row, _ParsedDate]] = []
        ambiguous: list[tuple[_Row, _Ambiguous]] = []
        evidence: dict[str, list[tuple[int, str]]] = {"dm": [], "md": []}
        for row in rows:
            value = row.cell(pos)
            if _is_missing(value) or _blank_cell(value):
                self.drop(row.line, "no date", "date",
                          "no date; the row cannot be placed on a day, dropped", "missing_date")
                continue
            try:
                result = _parse_date_cell(value, self.date_format)
            except _CellError as err:
                self.drop(row.line, "bad date", "date", f"{err.message}; row dropped", err.kind,
                          err.severity)
                continue
            if isinstance(result, _Ambiguous):
                ambiguous.append((row, result))
                continue
            if isinstance(value, str):
                m = _NUMERIC_DMY_RE.match(value.strip().split(" ")[0])
                if m and int(m.group(1)) != int(m.group(3)):
                    evidence["dm" if int(m.group(1)) > 12 else "md"].append((row.line, value.strip()))
            parsed.append((row, result))
        for row, amb in ambiguous:
            self._ambiguous_defect(row, amb, evidence)
        times = [p.time for _, p in parsed if p.time is not None]
        midnight_only = bool(times) and all(t == dt.time(0, 0) for t in times)
        if midnight_only:
            self.report.notes.append("every time stamp in the date column is 00:00; read as plain dates")
        out: list[_Row] = []
        for row, p in parsed:
            date = p.date
            raw = str(row.cell(pos)).strip()
            if p.time is not None and not midnight_only and p.time < self.day_start:
                date = date - dt.timedelta(days=1)
                self.defect(row.line, "date",
                            f"{raw!r} is before the day starts ({self.day_start:%H:%M}): counted for "
                            f"the previous day, {date.isoformat()}", "time_shift", "info")
                self.report.normalised_dates.append(
                    {"line": row.line, "value": raw, "date": date.isoformat(),
                     "reason": f"time before {self.day_start:%H:%M} counts for the previous day"})
            elif p.normalised:
                self.defect(row.line, "date", f"date {raw!r} read as {date.isoformat()}",
                            "normalised_date", "info")
                self.report.normalised_dates.append(
                    {"line": row.line, "value": raw, "date": date.isoformat(), "reason": "format"})
            row.date = date
            out.append(row)
        return out

    def _ambiguous_defect(self, row: _Row, amb: _Ambiguous, evidence: dict) -> None:
        s = amb.sep
        dm, md = f"%d{s}%m{s}%Y", f"%m{s}%d{s}%Y"
        a_dm = dt.date(amb.year, amb.second, amb.first).strftime("%-d %B %Y")
        a_md = dt.date(amb.year, amb.first, amb.second).strftime("%-d %B %Y")
        hint = f"pass date_format='{dm}' or '{md}' (CLI --date-format)"
        if evidence["dm"] and not evidence["md"]:
            line, text = evidence["dm"][0]
            hint = (f"other dates in this file are day/month (line {line}: {text!r}): pass "
                    f"date_format='{dm}' (CLI --date-format '{dm}')")
        elif evidence["md"] and not evidence["dm"]:
            line, text = evidence["md"][0]
            hint = (f"other dates in this file are month/day (line {line}: {text!r}): pass "
                    f"date_format='{md}' (CLI --date-format '{md}')")
        self.drop(row.line, "ambiguous date", "date",
                  f"ambiguous date {amb.text!r}: it could be {a_dm} or {a_md}; {hint}; row dropped",
                  "ambiguous_date", "error")

    # ------------------------------------------------------------------ step: participants
    def _group_participants(self, rows: list[_Row], cols: _Columns) -> dict[str, list[_Row]]:
        pos = cols.index.get("participant")
        if pos is None:
            return {"": rows}
        for row in rows:
            v = row.cell(pos)
            if _is_missing(v) or _blank_cell(v):
                row.participant = ""
            elif isinstance(v, float | np.floating) and float(v).is_integer():
                row.participant = str(int(v))
            else:
                row.participant = str(v).strip()
        ids = list(dict.fromkeys(r.participant for r in rows if r.participant))
        if len(ids) <= 1:
            if ids:
                self.report.notes.append(f"participant '{ids[0]}'")
                for r in rows:
                    r.participant = ids[0]
            return {ids[0] if ids else "": rows}
        groups: dict[str, list[_Row]] = {pid: [] for pid in ids}
        for row in rows:
            if not row.participant:
                self.drop(row.line, "no participant", "participant",
                          f"no participant, but the log holds several ({', '.join(ids[:5])}); the row "
                          "cannot be placed, dropped", "no_participant")
                continue
            groups[row.participant].append(row)
        self.report.notes.append(f"a series of {len(ids)} participants: {', '.join(ids)}")
        return groups

    def _starts(self, groups: dict[str, list[_Row]]) -> dict[str, dt.date]:
        starts: dict[str, dt.date] = {}
        series = len(groups) > 1
        for pid, rows in groups.items():
            who = f"participant '{pid}': " if series else ""
            if self.start is not None:
                starts[pid] = self.start
            elif not series and self.protocol.design.start_date is not None:
                starts[pid] = self.protocol.design.start_date
            else:
                dated = [r for r in rows if r.date is not None]
                if not dated:
                    raise DataError(
                        f"{who}no valid date in the log and no start date is known; give start= "
                        "(CLI --start YYYY-MM-DD) or design.start_date in the protocol",
                        source=self.report.source)
                first = min(dated, key=lambda r: (r.date, r.line))
                starts[pid] = first.date
                self.report.notes.append(
                    f"{who}start date not given: inferred as {first.date.isoformat()}, the earliest "
                    f"date in the log (line {first.line})")
            last = starts[pid] + dt.timedelta(days=self.protocol.total_days - 1)
            if last.year > _MAX_YEAR:
                raise DataError(f"{who}start date {starts[pid]} is implausible", source=self.report.source)
        return starts

    def _place(self, rows: list[_Row], start: dt.date, pid: str, series: bool) -> list[_Row]:
        total = self.protocol.total_days
        last = start + dt.timedelta(days=total - 1)
        out: list[_Row] = []
        for row in rows:
            assert row.date is not None
            day = (row.date - start).days + 1
            if not 1 <= day <= total:
                who = f" of participant '{pid}'" if series else ""
                self.drop(row.line, "outside the trial", "date",
                          f"date {row.date.isoformat()} is outside the trial{who} ({start.isoformat()} "
                          f"to {last.isoformat()}); row dropped", "out_of_trial")
                continue
            row.day = day
            out.append(row)
        return out

    # ------------------------------------------------------------------ step: values
    def _parse_values(self, rows: list[_Row], cols: _Columns, table: _Table) -> None:
        idx = cols.index
        numeric_cols = [idx[n] for n in self.outcome_names if n in idx]
        if "adherence" in idx:
            numeric_cols.append(idx["adherence"])
        decimal_comma = False
        if table.sep is not None and table.sep != ",":
            for row in rows:
                if any(isinstance(row.cell(p), str) and _DECIMAL_COMMA_RE.match(row.cell(p))
                       for p in numeric_cols):
                    decimal_comma = True
                    break
        if decimal_comma:
            self.report.notes.append("decimal commas (4,5) read as decimal points (4.5)")
        used_cols = [n for n in self.outcome_names if n in idx
                     and any(not _is_missing(r.cell(idx[n])) for r in rows)]
        for row in rows:
            for o in self.protocol.outcomes:
                if o.name not in idx:
                    row.values[o.name] = math.nan
                    continue
                value = row.cell(idx[o.name])
                if _is_missing(value) and self._expected(o, row):
                    if isinstance(value, str) and value.strip():
                        self.defect(row.line, o.name, f"{_show(value)}: not logged", "not_logged", "info")
                    elif o.name in used_cols and any(not _is_missing(row.cell(idx[n])) for n in used_cols):
                        self.defect(row.line, o.name, "empty cell: not logged", "not_logged", "info")
                if o.type == "binary" and isinstance(value, bool | np.bool_) and o.name not in self.bool_read:
                    self.bool_read.add(o.name)
                    self.report.notes.append(f"{o.name}: True/False read as 1/0")
                try:
                    x = _parse_number(value, decimal_comma, o)
                    _check_outcome_value(x, o)
                except _CellError as err:
                    msg = err.message
                    if err.kind in ("non_numeric", "ambiguous_number"):
                        msg += "; treated as missing"
                    self.defect(row.line, o.name, msg, err.kind, err.severity)
                    x = math.nan
                row.values[o.name] = x
            if "adherence" in idx:
                try:
                    row.adherence = _parse_adherence(row.cell(idx["adherence"]), decimal_comma)
                except _CellError as err:
                    self.defect(row.line, "adherence", f"{err.message}; treated as missing",
                                err.kind, err.severity)
                    row.adherence = _Adherence(math.nan)
            if "note" in idx:
                v = row.cell(idx["note"])
                row.note = "" if v is None or (not isinstance(v, str) and _is_missing(v)) else str(v).strip()
            if "period" in idx:
                row.period = self._parse_period(row, row.cell(idx["period"]))
            for pos, name in cols.unknown:
                v = row.cell(pos)
                if not (_blank_cell(v) or (not isinstance(v, str) and _is_missing(v))):
                    row.extras[name] = str(v).strip() if isinstance(v, str) else str(v)
            if "condition" in idx:
                self._parse_condition(row, row.cell(idx["condition"]))
            if "guess" in idx:
                self._parse_guess(row, row.cell(idx["guess"]))
        self._scale_adherence(rows)

    def _expected(self, o: Outcome, row: _Row) -> bool:
        """Whether a value of ``o`` is expected on the row's day (weekly: a measure day)."""
        if o.schedule != "weekly":
            return True
        p = self.protocol
        run_in = int(p.design.run_in_days)
        if row.day <= run_in:
            return row.day in p.measure_days(o, run_in) if run_in else False
        periods = p.periods_for()
        t = row.day - run_in
        for _cond, length in periods:
            if t <= length:
                return t in p.measure_days(o, length)
            t -= length
        return False

    def _parse_guess(self, row: _Row, value: Any) -> None:
        """The condition the participant believes they had (blinding check), or 'dont_know'."""
        if _is_missing(value) or _blank_cell(value):
            return
        text = str(value).strip()
        low = re.sub(r"[\s'’]+", " ", text.lower()).strip()
        if low in _DONT_KNOW:
            row.guess = "dont_know"
            return
        key = self._guess_lookup().get(low)
        if key is None:
            words = ", ".join(f"'{w}'" for w in sorted(self._guess_lookup())[:8])
            self.defect(row.line, "guess",
                        f"guess {_show(text)} is neither a condition nor \"don't know\" (expected "
                        f"one of {words}; blinded codes are not guesses); ignored", "bad_guess")
            return
        row.guess = key

    def _guess_lookup(self) -> dict[str, str]:
        """Words naming a condition in a guess: keys, labels, words unique to one label, and
        treatment/placebo when there are two conditions (never the blinded codes)."""
        if getattr(self, "_guess_words", None) is None:
            out: dict[str, str] = {}
            words: dict[str, set[str]] = {}
            for k, c in self.protocol.conditions.items():
                out[k.lower()] = k
                out[c.label.strip().lower()] = k
                for w in re.findall(r"[a-z]+", c.label.lower()):
                    words.setdefault(w, set()).add(k)
            for w, keys in words.items():
                if len(keys) == 1 and len(w) > 2:
                    out.setdefault(w, next(iter(keys)))
            if len(self.protocol.conditions) == 2:
                out.setdefault("placebo", self.protocol.control)
                out.setdefault("control", self.protocol.control)
                out.setdefault("treatment", self.protocol.treatments[0])
                out.setdefault("active", self.protocol.treatments[0])
            self._guess_words = out
        return self._guess_words

    def _parse_period(self, row: _Row, value: Any) -> int | None:
        if _is_missing(value) or _blank_cell(value):
            return None
        try:
            x = _parse_number(value, False)
        except _CellError:
            x = math.nan
        if math.isnan(x) or not x.is_integer() or x < 0:
            self.defect(row.line, "period", f"period {_show(value)} is not a period number (0, 1, 2, "
                        "...); ignored, the schedule's period is used", "bad_period")
            return None
        return int(x)

    def _parse_condition(self, row: _Row, value: Any) -> None:
        if _is_missing(value) or _blank_cell(value):
            return
        text = str(value).strip()
        if isinstance(value, float | np.floating) and float(value).is_integer():
            text = str(int(value))
        row.condition_raw = text
        key = self.conditions.get(text.lower())
        if key is not None:
            row.condition = key
            return
        if text.lower() in _RUN_IN_TOKENS:
            row.condition_raw = "run-in"
            return
        if self.protocol.is_blinded:
            accepted = ", ".join(f"'{c}'" for c in self.protocol.blinded_codes.values())
            expected = f"a blinded code ({accepted}), a condition key or label"
        else:
            keys = ", ".join(f"'{k}'" for k in self.protocol.conditions)
            labels = ", ".join(f"'{c.label}'" for c in self.protocol.conditions.values())
            expected = f"a condition key ({keys}) or label ({labels})"
        self.defect(row.line, "condition",
                    f"{_show(text)} is not a declared condition; expected {expected}; the scheduled "
                    "condition is assumed", "unknown_condition")

    def _scale_adherence(self, rows: list[_Row]) -> None:
        plain = [(r, r.adherence) for r in rows if r.adherence is not None
                 and not r.adherence.explicit_percent and not r.adherence.boolean
                 and not math.isnan(r.adherence.value)]
        over = [(r, a) for r, a in plain if a.value > 1]
        if not over:
            return
        r0, a0 = over[0]
        self.report.notes.append(
            f"adherence read as percent (values above 1 found, e.g. line {r0.line}: {_fmt(a0.value)}): "
            "divided by 100")
        for _, a in plain:
            a.value = a.value / 100

    # ------------------------------------------------------------------ step: allocation (series)
    def _allocation(self, pid: str, rows: list[_Row], series: bool) -> tuple | None:
        p = self.protocol
        info = {"start": None, "sequence": None, "sequence_source": "protocol"}
        if series:
            self.report.participants[pid] = info
        if not series or not p.is_randomized:
            info["sequence"] = list(p.realised_allocation)
            return None
        logged = {r.day - p.design.run_in_days: r.condition for r in rows
                  if r.condition is not None and r.day > p.design.run_in_days}
        fallback = list(p.realised_allocation)
        if not logged:
            self.defect(None, "condition",
                        f"participant '{pid}': no condition logged, so their randomised sequence is "
                        f"unknown; the protocol's allocation {' '.join(map(str, fallback))} is assumed",
                        "unknown_sequence")
            info["sequence"] = fallback
            return None
        if p.scheme == "start_points":
            return self._start_points_allocation(pid, logged, info)
        length = int(p.design.period_days)
        votes: dict[int, Counter] = {}
        for t, c in logged.items():
            votes.setdefault((t - 1) // length, Counter())[c] += 1
        seq: list[str] = []
        unclear: list[int] = []
        for k in range(p.n_periods):
            ranked = votes.get(k, Counter()).most_common(2)
            if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
                unclear.append(k + 1)
                seq.append("?")
            else:
                seq.append(ranked[0][0])
        shown = " ".join(seq)
        if unclear:
            self.defect(None, "condition",
                        f"participant '{pid}': the logged conditions do not fix the condition of period"
                        f"{'s' if len(unclear) > 1 else ''} {', '.join(map(str, unclear))} (read {shown}); "
                        f"the protocol's allocation {' '.join(fallback)} is assumed",
                        "unknown_sequence")
            info["sequence"] = fallback
            return None
        if tuple(seq) not in set(p.allocations()):
            self.defect(None, "condition",
                        f"participant '{pid}': the logged sequence {shown} is not one the "
                        f"'{p.scheme}' scheme could produce; the protocol's allocation "
                        f"{' '.join(fallback)} is assumed and differing days are deviations",
                        "inadmissible_sequence")
            info["sequence"] = fallback
            return None
        info["sequence"] = seq
        info["sequence_source"] = "log"
        return tuple(seq)

    def _start_points_allocation(self, pid: str, logged: dict[int, str], info: dict) -> tuple | None:
        p = self.protocol
        fallback = p.realised_allocation
        if p.n_allocations > _MAX_INFERRED_ALLOCATIONS:
            self.defect(None, "condition",
                        f"participant '{pid}': too many admissible phase start days "
                        f"({p.n_allocations}) to read their allocation from the log; the protocol's "
                        "is assumed", "unknown_sequence")
            info["sequence"] = list(fallback)
            return None
        days = np.array(sorted(logged))
        obs = np.array([logged[d] for d in days], dtype=object)
        scores: list[tuple[int, tuple]] = []
        for a in p.allocations():
            cond = np.array(p.allocation_days(a), dtype=object)[days - 1]
            scores.append((int((cond != obs).sum()), a))
        scores.sort(key=lambda s: s[0])
        best, alloc = scores[0]
        unique = len(scores) == 1 or scores[1][0] > best
        if not unique or best > 0.1 * len(days):
            self.defect(None, "condition",
                        f"participant '{pid}': the logged conditions match no admissible phase start "
                        f"days (best has {best} differing days); the protocol's allocation is assumed",
                        "inadmissible_sequence")
            info["sequence"] = list(fallback)
            return None
        info["sequence"] = list(alloc)
        info["sequence_source"] = "log"
        return tuple(alloc)

    # ------------------------------------------------------------------ step: duplicates
    def _resolve_duplicates(self, rows: list[_Row]) -> list[_Row]:
        by_day: dict[int, list[_Row]] = {}
        for r in rows:
            by_day.setdefault(r.day, []).append(r)
        final: list[_Row] = []
        names = self.outcome_names
        for day in sorted(by_day):
            group = sorted(by_day[day], key=lambda r: r.line)
            if len(group) == 1:
                final.append(group[0])
                self.used.add(group[0].line)
                continue
            first = group[0]
            date = first.date.isoformat() if first.date else str(day)
            distinct = []
            for r in group:
                sig = r.signature(names)
                match = next((d for d in distinct if d[0] == sig), None)
                if match is not None:
                    self.drop(r.line, "duplicate", None,
                              f"exact duplicate of line {match[1].line} ({date}, same values); dropped",
                              "exact_duplicate")
                else:
                    distinct.append((sig, r))
            rows_d = [r for _, r in distinct]
            if len(rows_d) == 1:
                final.append(rows_d[0])
                self.used.add(rows_d[0].line)
                continue
            conflicts = self._conflicts(rows_d)
            lines = ", ".join(str(r.line) for r in rows_d)
            if not conflicts:
                merged = self._merge(rows_d, "first")
                for r in rows_d[1:]:
                    self.defect(r.line, None,
                                f"{date} is also logged on line {rows_d[0].line}, with no conflicting "
                                "values; the rows are merged", "merged_rows", "info")
                final.append(merged)
                self.used.update(r.line for r in rows_d)
                continue
            what = "; ".join(t for _, t in conflicts[:3]) + ("; ..." if len(conflicts) > 3 else "")
            column = conflicts[0][0]
            if self.duplicates is None:
                for r in rows_d[1:]:
                    self.drop(r.line, "conflicting duplicate", column,
                              f"{date} is logged more than once with different values (lines {lines}: "
                              f"{what}); pass duplicates='first', 'last' or 'mean' (CLI --duplicates) to "
                              f"choose; line {rows_d[0].line} is kept for now", "conflicting_duplicate",
                              "error")
                final.append(rows_d[0])
                self.used.add(rows_d[0].line)
            elif self.duplicates in ("first", "last"):
                keep = rows_d[0] if self.duplicates == "first" else rows_d[-1]
                for r in rows_d:
                    if r is keep:
                        continue
                    self.drop(r.line, "conflicting duplicate", column,
                              f"{date} is logged more than once with different values (lines {lines}: "
                              f"{what}); duplicates='{self.duplicates}' keeps line {keep.line}, this row "
                              "is dropped", "conflicting_duplicate", "warning")
                final.append(keep)
                self.used.add(keep.line)
            else:
                merged = self._merge(rows_d, "mean")
                for r in rows_d[1:]:
                    self.defect(r.line, column,
                                f"{date} is logged more than once with different values (lines {lines}: "
                                f"{what}); duplicates='mean' averages them", "conflicting_duplicate",
                                "warning")
                final.append(merged)
                self.used.update(r.line for r in rows_d)
        return final

    def _conflicts(self, rows: list[_Row]) -> list[tuple[str, str]]:
        """(field, 'field 4 vs 6') for each field on which the rows disagree."""
        out: list[tuple[str, str]] = []
        for n in self.outcome_names:
            vals = [r.values.get(n, math.nan) for r in rows]
            present = [v for v in vals if not math.isnan(v)]
            if len(set(present)) > 1:
                out.append((n, f"{n} " + " vs ".join(_fmt(v) for v in present)))
        conds = [r.condition for r in rows if r.condition is not None]
        if len(set(conds)) > 1:
            out.append(("condition", "condition " + " vs ".join(self.show_cond(c) for c in conds)))
        adh = [r.adherence.value for r in rows if r.adherence is not None and not math.isnan(r.adherence.value)]
        if len(set(adh)) > 1:
            out.append(("adherence", "adherence " + " vs ".join(_fmt(a) for a in adh)))
        return out

    def _merge(self, rows: list[_Row], how: str) -> _Row:
        base = rows[0]
        merged = _Row(base.line, base.cells, date=base.date, participant=base.participant, day=base.day)
        for n in self.outcome_names:
            vals = [r.values.get(n, math.nan) for r in rows]
            present = [v for v in vals if not math.isnan(v)]
            if not present:
                merged.values[n] = math.nan
            elif how == "mean":
                merged.values[n] = float(np.mean(present))
            else:
                merged.values[n] = present[0]
        merged.condition = next((r.condition for r in rows if r.condition is not None), None)
        merged.condition_raw = next((r.condition_raw for r in rows if r.condition_raw), "")
        adh = [r.adherence.value for r in rows if r.adherence is not None and not math.isnan(r.adherence.value)]
        if adh:
            merged.adherence = _Adherence(float(np.mean(adh)) if how == "mean" else adh[0])
        merged.period = next((r.period for r in rows if r.period is not None), None)
        merged.note = " | ".join(dict.fromkeys(r.note for r in rows if r.note))
        merged.guess = next((r.guess for r in rows if r.guess is not None), None)
        for r in rows:
            for k, v in r.extras.items():
                merged.extras.setdefault(k, v)
        return merged

    # ------------------------------------------------------------------ step: alignment
    def _align(self, pid: str | None, start: dt.date, allocation: tuple | None, rows: list[_Row],
               cols: _Columns) -> tuple[pd.DataFrame, pd.DataFrame]:
        from nof1.schedule import build_schedule

        p = self.protocol
        sched = build_schedule(p, start=start, allocation=allocation)
        n = len(sched)
        values = {o.name: np.full(n, np.nan) for o in p.outcomes}
        scheduled = sched["condition"].astype(object).to_numpy()
        taken = scheduled.copy()
        adherence = np.full(n, np.nan)
        notes = np.full(n, "", dtype=object)
        guesses = np.full(n, None, dtype=object)
        has_condition = "condition" in cols.index
        extras = {name: np.full(n, None, dtype=object) for _, name in cols.unknown}
        periods = sched["period"].to_numpy()
        who = f"participant '{pid}', " if pid else ""
        for row in rows:
            i = row.day - 1
            if all(math.isnan(x) for x in row.values.values()):
                self.empty_rows += 1
            for name, x in row.values.items():
                values[name][i] = x
            if row.adherence is not None:
                adherence[i] = row.adherence.value
            notes[i] = row.note
            guesses[i] = row.guess
            for k, v in row.extras.items():
                extras[k][i] = v
            sched_cond = scheduled[i] if isinstance(scheduled[i], str) else None
            if row.condition is None and has_condition and sched_cond is not None \
                    and not row.condition_raw:
                self.defect(row.line, "condition",
                            f"{who}condition blank: filled from the schedule, "
                            f"{self.show_cond(sched_cond)}", "condition_filled", "info")
            if row.condition is not None:
                taken[i] = row.condition
                if row.condition != sched_cond:
                    date = row.date.isoformat() if row.date else ""
                    self.report.deviations.append({
                        "date": date, "day": int(row.day), "line": row.line,
                        "participant": pid, "scheduled": sched_cond, "taken": row.condition,
                        "scheduled_code": p.blinded_codes.get(sched_cond) if sched_cond else None,
                        "taken_code": p.blinded_codes.get(row.condition),
                    })
                    shown = self.show_cond(row.condition)
                    raw = "" if row.condition_raw.lower() in (shown.lower(), shown.lower()[5:]) \
                        else f" (logged as {_show(row.condition_raw)})"
                    where = "during the run-in" if sched_cond is None else \
                        f"but the schedule says {self.show_cond(sched_cond)}"
                    self.defect(row.line, "condition",
                                f"{who}{date}: took {self.show_cond(row.condition)}{raw} {where}: a "
                                "protocol deviation; the primary analysis is as randomised, the as-treated one uses what "
                                "was taken",
                                "deviation")
            if row.period is not None and row.period != int(periods[i]):
                date = row.date.isoformat() if row.date else ""
                self.defect(row.line, "period",
                            f"{who}period {row.period} logged, but {date} is in period {int(periods[i])} "
                            "of the schedule; the schedule's period is used", "period_mismatch")
        data = sched.copy()
        for name, col in values.items():
            data[name] = col
        data["condition_taken"] = pd.array(taken, dtype="object")
        data["adherence"] = adherence
        data["note"] = pd.array(notes, dtype="object").astype(str)
        if "guess" in cols.index:
            data["guess"] = pd.array(guesses, dtype="object")
        outcome_cols = [o.name for o in p.outcomes]
        data["logged"] = data[outcome_cols].notna().any(axis=1).to_numpy()
        extra = pd.DataFrame({k: pd.array(v, dtype="object") for k, v in extras.items()},
                             index=data.index)
        if pid is not None:
            data.insert(0, "participant", pid)
            extra.insert(0, "participant", pid)
            info = self.report.participants.setdefault(pid, {})
            trial = data["phase"] == "trial"
            info.update({
                "start": start.isoformat(),
                "rows_used": len(rows),
                "days_expected": int(trial.sum()),
                "days_logged": int((trial & data["logged"]).sum()),
                "days_missing": int((trial & ~data["logged"]).sum()),
            })
        return data, extra

    # ------------------------------------------------------------------ step: summary
    def _summarise(self, data: pd.DataFrame, table: _Table) -> None:
        report, p = self.report, self.protocol
        report.rows_read = len(table.records)
        report.rows_dropped = len(self.dropped)
        report.rows_used = report.rows_read - report.rows_dropped
        reasons = Counter(self.dropped.values())
        report.dropped_by_reason = dict(reasons.most_common())
        report.dropped_lines = dict(sorted(self.dropped.items()))
        trial = data[data["phase"] == "trial"]
        report.days_expected = len(trial)
        report.days_logged = int(trial["logged"].sum())
        keys = list(p.conditions)
        sched_cond = trial["condition"].astype(object)
        report.expected_by_condition = {k: int((sched_cond == k).sum()) for k in keys}
        report.missing_by_condition = {k: int(((sched_cond == k) & ~trial["logged"]).sum()) for k in keys}
        missing = trial[~trial["logged"]]
        if len(missing):
            by = ", ".join(f"{self.show_cond(k)}: {n}" for k, n in report.missing_by_condition.items())
            dates = missing["date"].dt.strftime("%Y-%m-%d").tolist()
            if "participant" in missing.columns:
                dates = [f"{pid} {d}" for pid, d in zip(missing["participant"], dates, strict=True)]
            shown = ", ".join(dates[:8]) + (f", ... ({len(dates)} days)" if len(dates) > 8 else "")
            self.defect(None, None,
                        f"{len(missing)} of {len(trial)} trial days have no outcome logged "
                        f"({by}): {shown}", "missing_days", "info")
        if self.empty_rows:
            report.notes.append(
                f"{self.empty_rows} row(s) have a date but no outcome value (an unfilled template?); "
                "their days count as missing")
        adh = trial["adherence"]
        recorded = adh.notna()
        report.adherence = {
            "days_recorded": int(recorded.sum()),
            "mean_by_condition": {k: (round(float(adh[(sched_cond == k) & recorded].mean()), 4)
                                      if ((sched_cond == k) & recorded).any() else None) for k in keys},
            "mean": round(float(adh[recorded].mean()), 4) if recorded.any() else None,
            "days_below_1": int((adh < 1).sum()),
            "dates_below_1": trial.loc[adh < 1, "date"].dt.strftime("%Y-%m-%d").tolist(),
        }
        if "participant" in data.columns:
            for info in report.participants.values():
                info.setdefault("sequence", None)
        if len(self.used) + len(self.dropped) != report.rows_read:   # pragma: no cover - a bug
            raise AssertionError("internal accounting error: rows used + dropped != rows read")
        self.defects.sort(key=lambda d: (d.line is not None, d.line or 0))
        report.defects = self.defects


def read_log_impl(source: Any, protocol: Protocol | str | Path, *, start: Any = None,
                  duplicates: str | None = None, date_format: str | None = None,
                  day_starts_at: str | dt.time = "04:00") -> TrialData:
    """Implementation of :func:`nof1.data.read_log` (see there)."""
    from nof1.protocol import Protocol as _Protocol
    from nof1.protocol import load_protocol

    if not isinstance(protocol, _Protocol):
        if isinstance(protocol, str | Path):
            protocol = load_protocol(protocol)
        else:
            raise DataError(f"protocol must be a Protocol or a protocol file path, got "
                            f"{type(protocol).__name__}")
    if protocol.log is not None and day_starts_at == "04:00":
        day_starts_at = protocol.log.day_starts
    if protocol.log is not None and protocol.log.format == "long":
        from nof1.ingest_long import read_long_log

        return read_long_log(source, protocol, start=start, duplicates=duplicates,
                             date_format=date_format, day_starts_at=day_starts_at)
    ingest = _Ingest(protocol, start=start, duplicates=duplicates, date_format=date_format,
                     day_starts_at=day_starts_at)
    return ingest.run(source)


# =========================================================================== for other readers
class CellProblem(ValueError):
    """A cell that cannot be used: ``kind`` and ``message`` as in a :class:`~nof1.data.Defect`."""

    def __init__(self, kind: str, message: str, severity: Severity = "warning") -> None:
        super().__init__(message)
        self.kind, self.message, self.severity = kind, message, severity


def read_table(source: Any) -> _Table:
    """The source as a header and records with physical line numbers (``.name``, ``.header``,
    ``.header_line``, ``.records`` with ``.line``, ``.cells``, ``.kind``, ``.message``; ``.notes``)."""
    return _read_source(source)


def is_missing_cell(value: Any) -> bool:
    """Empty, NaN or a "not logged" marker (``n/a``, ``NA``, ``-``, ...)."""
    return _is_missing(value) or _blank_cell(value)


def parse_date_time(value: Any, date_format: str | None = None
                    ) -> tuple[dt.date, dt.time | None, bool]:
    """(date, time or None, whether the text was normalised); raises :class:`CellProblem`."""
    try:
        r = _parse_date_cell(value, date_format)
    except _CellError as err:
        raise CellProblem(err.kind, err.message, err.severity) from None
    if isinstance(r, _Ambiguous):
        raise CellProblem("ambiguous_date",
                          f"ambiguous date {r.text!r}: day/month or month/day; pass date_format= "
                          "(CLI --date-format), e.g. '%d/%m/%Y'", "error")
    return r.date, r.time, r.normalised


def parse_outcome_value(value: Any, outcome: Outcome) -> float:
    """A cell as a value of ``outcome`` (NaN when not logged); raises :class:`CellProblem` for a
    non-number, a value out of range or a non-integer for a discrete outcome."""
    try:
        x = _parse_number(value, False, outcome)
        _check_outcome_value(x, outcome)
    except _CellError as err:
        raise CellProblem(err.kind, err.message, err.severity) from None
    return x


def parse_adherence_value(value: Any) -> float:
    """Adherence as a fraction 0-1 (``1``, ``0.5``, ``50%``, ``yes``/``no``); NaN when missing."""
    try:
        a = _parse_adherence(value, False)
    except _CellError as err:
        raise CellProblem(err.kind, err.message, err.severity) from None
    if not (a.explicit_percent or a.boolean) and a.value > 1:
        return a.value / 100
    return a.value


def parse_day_start(value: str | dt.time) -> dt.time:
    """``"04:00"`` as a time of day; raises :class:`DataError` otherwise."""
    return _parse_day_start(value)


def normalised_name(name: Any) -> str:
    """A column or variable name compared case- and space-insensitively."""
    return _norm_name(name)


__all__ = ["INFO_COLUMNS", "META_COLUMNS", "MISSING_TOKENS", "CellProblem", "is_missing_cell",
           "normalised_name", "parse_adherence_value", "parse_date_time", "parse_day_start",
           "parse_outcome_value", "read_log_impl", "read_table"]
