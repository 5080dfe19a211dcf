"""Entry-level (long-format) logs: app exports with one row per entry.

Symptom-tracker apps export one row per entry -- a date or time stamp, a variable name and a
value -- with several entries per day. The protocol's ``log:`` section says how to read them::

    log:
      format: long
      date_column: Timestamp          # default: date, timestamp, datetime or time
      variable_column: Variable
      value_column: Value
      names: {"RLS score": severity, "Bottle": condition, "Juice taken": adherence}
      aggregate: {severity: max, systolic_bp: mean}   # default: mean (continuous), last otherwise
      day_starts: "04:00"             # entries before 04:00 belong to the evening before

:func:`read_long_log` turns the entries into one row per day (every decision -- which outcome a
variable is, which day an entry belongs to, how several entries of one day became one value --
is a :class:`~nof1.data.Defect` at the entry's line) and then reads that daily table exactly like
a daily log, so every check of :func:`nof1.read_log` applies. Line numbers in the report are the
export's physical lines, and ``rows_read == rows_used + rows_dropped`` counts *entries*.

Example:
    >>> import nof1
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls-app.yaml")             # doctest: +SKIP
    >>> td = nof1.read_log("data/sample/beetroot_app_export.csv", p)               # doctest: +SKIP
    >>> td.report.rows_read == td.report.rows_used + td.report.rows_dropped         # doctest: +SKIP
    True
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nof1.errors import DataError
from nof1.ingest_daily import read_daily_log
from nof1.ingest_dates import parse_date_time, parse_day_start
from nof1.ingest_source import read_table
from nof1.ingest_values import (
    CellProblem,
    is_missing_cell,
    normalised_name,
    parse_adherence_value,
    parse_outcome_value,
)
from nof1.trial_data import Defect, TrialData, line_ranges

if TYPE_CHECKING:
    from nof1.protocol import Protocol

__all__ = ["AGGREGATE_DEFAULTS", "read_long_log"]

#: Columns tried, in order, for the entry's date or time stamp when ``log.date_column`` is not set.
DATE_COLUMN_NAMES = ("date", "timestamp", "datetime", "date_time", "time", "logged_at")
#: Aggregation when the protocol does not say: continuous outcomes are averaged, everything else
#: keeps the last entry of the day.
AGGREGATE_DEFAULTS = {"continuous": "mean", "ordinal": "last", "count": "last", "binary": "last"}


@dataclass
class _Entry:
    line: int
    date: dt.date
    stamp: tuple                      # (date, time) for ordering: first / last
    participant: str
    target: str
    raw: str
    value: float = math.nan


@dataclass
class _Day:
    participant: str
    date: dt.date
    lines: list[int] = field(default_factory=list)
    by_target: dict[str, list[_Entry]] = field(default_factory=dict)


def _find(header_norm: list[str], wanted: str | None, defaults: tuple[str, ...], what: str,
          table: Any) -> int:
    names = (normalised_name(wanted),) if wanted else defaults
    for n in names:
        if n in header_norm:
            return header_norm.index(n)
    found = ", ".join(repr(h.strip()) for h in table.header[:12])
    key = {"date": "log.date_column", "variable": "log.variable_column",
           "value": "log.value_column"}[what]
    raise DataError(
        f"line {table.header_line}: no {what} column for a long-format log (looked for "
        f"{', '.join(repr(n) for n in names)}; found {found}); name it in the protocol's {key}",
        source=table.name)


def _text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def read_long_log(source: str | Path | pd.DataFrame, protocol: Protocol, *, start: Any = None,
                  duplicates: str | None = None, date_format: str | None = None,
                  day_starts_at: str | dt.time = "04:00") -> TrialData:
    """Read an entry-level export (see the module docstring) into :class:`~nof1.data.TrialData`.

    Called by :func:`nof1.read_log` when the protocol says ``log: {format: long}``; the options
    are those of :func:`nof1.read_log`.
    """
    log = protocol.log
    if log is None:
        raise DataError("the protocol has no log: section; a long-format log needs one")
    day_start = parse_day_start(day_starts_at)
    table = read_table(source)
    header_norm = [normalised_name(h) for h in table.header]
    pos_date = _find(header_norm, log.date_column, DATE_COLUMN_NAMES, "date", table)
    pos_var = _find(header_norm, log.variable_column, (), "variable", table)
    pos_val = _find(header_norm, log.value_column, (), "value", table)
    pos_pid = header_norm.index("participant") if "participant" in header_norm else None
    outcomes = {o.name: o for o in protocol.outcomes}
    mapping: dict[str, str] = {normalised_name(k): v for k, v in log.names.items()}
    for name in [*outcomes, "condition", "adherence", "note", "guess", "period"]:
        mapping.setdefault(normalised_name(name), name)
    aggregate = {name: log.aggregate.get(name, AGGREGATE_DEFAULTS[o.type]) for name, o in outcomes.items()}
    aggregate["adherence"] = log.aggregate.get("adherence", "last")

    defects: list[Defect] = []
    dropped: dict[int, str] = {}
    normalised: list[dict[str, Any]] = []

    def drop(line: int, reason: str, column: str | None, message: str, kind: str,
             severity: str = "warning") -> None:
        defects.append(Defect(line, column, message, kind, severity))  # type: ignore[arg-type]
        dropped[line] = reason

    entries: list[_Entry] = []
    mapped: dict[tuple[str, str], list[int]] = {}
    unknown: dict[str, list[int]] = {}
    for rec in table.records:
        if rec.kind != "row":
            reason = {"blank": "blank", "comment": "comment"}.get(rec.kind, "malformed")
            drop(rec.line, reason, None, (rec.message or f"{rec.kind} line") + "; skipped",
                 f"{rec.kind}_line" if rec.kind != "malformed" else "malformed_row",
                 "info" if rec.kind != "malformed" else "warning")
            continue
        cells = list(rec.cells or [])
        cells += [""] * (len(table.header) - len(cells))
        if len(cells) > len(table.header) and any(not is_missing_cell(c) for c in cells[len(table.header):]):
            drop(rec.line, "malformed", None, f"the row has {len(cells)} fields but the header has "
                 f"{len(table.header)}; row dropped (put notes with commas in quotes)", "malformed_row")
            continue
        if [normalised_name(c) for c in cells[:len(header_norm)]] == header_norm:
            drop(rec.line, "repeated header", None, "the header line is repeated; skipped",
                 "repeated_header", "info")
            continue
        raw_date = cells[pos_date]
        if is_missing_cell(raw_date):
            drop(rec.line, "no date", "date", "no date or time stamp; the entry cannot be placed on "
                 "a day, dropped", "missing_date")
            continue
        try:
            date, time, was_normalised = parse_date_time(raw_date, date_format)
        except CellProblem as err:
            drop(rec.line, "bad date", "date", f"{err.message}; entry dropped", err.kind, err.severity)
            continue
        shown_date = _text(raw_date)
        stamp = (date, time or dt.time(0, 0), rec.line)      # the entry's own time, for first/last
        if time is not None and time < day_start:
            date = date - dt.timedelta(days=1)
            defects.append(Defect(rec.line, "date", f"{shown_date!r} is before the day starts "
                                  f"({day_start:%H:%M}): counted for the previous day, "
                                  f"{date.isoformat()}", "time_shift", "info"))
            normalised.append({"line": rec.line, "value": shown_date, "date": date.isoformat(),
                               "reason": f"time before {day_start:%H:%M} counts for the previous day"})
        elif was_normalised and time is None:
            defects.append(Defect(rec.line, "date", f"date {shown_date!r} read as {date.isoformat()}",
                                  "normalised_date", "info"))
            normalised.append({"line": rec.line, "value": shown_date, "date": date.isoformat(),
                               "reason": "format"})
        var = cells[pos_var]
        if is_missing_cell(var):
            drop(rec.line, "no variable", "variable", "no variable name; the entry cannot be "
                 "matched to an outcome, dropped", "missing_variable")
            continue
        var_text = _text(var)
        target = mapping.get(normalised_name(var_text))
        if target is None:
            unknown.setdefault(var_text, []).append(rec.line)
            dropped[rec.line] = "unknown variable"
            continue
        mapped.setdefault((var_text, target), []).append(rec.line)
        pid = "" if pos_pid is None or is_missing_cell(cells[pos_pid]) else _text(cells[pos_pid])
        raw = cells[pos_val]
        entry = _Entry(rec.line, date, stamp, pid, target,
                       "" if is_missing_cell(raw) else _text(raw))
        if target in outcomes:
            if is_missing_cell(raw):
                shown = "an empty value" if not str(raw).strip() else repr(str(raw).strip())
                defects.append(Defect(rec.line, target, f"{shown}: not logged", "not_logged", "info"))
            else:
                try:
                    entry.value = parse_outcome_value(raw, outcomes[target])
                except CellProblem as err:
                    drop(rec.line, "bad value", target, f"{var_text!r} = {_text(raw)!r}: {err.message}"
                         + ("" if "missing" in err.message else "; entry dropped"), err.kind, err.severity)
                    continue
        elif target == "adherence" and not is_missing_cell(raw):
            try:
                entry.value = parse_adherence_value(raw)
            except CellProblem as err:
                drop(rec.line, "bad value", "adherence", f"{err.message}; entry dropped", err.kind)
                continue
        entries.append(entry)

    for (var_text, target), lines in mapped.items():
        what = f"outcome '{target}'" if target in outcomes else f"the log column '{target}'"
        defects.append(Defect(lines[0], target, f"variable {var_text!r} read as {what} "
                              f"({len(lines)} entries, lines {line_ranges(lines)})", "mapped_variable", "info"))
    for var_text, lines in unknown.items():
        defects.append(Defect(lines[0], "variable",
                              f"unknown variable {var_text!r} ({len(lines)} entries, lines "
                              f"{line_ranges(lines)}): not an outcome of the protocol nor a log column, "
                              "and not named in log.names; dropped", "unknown_variable", "warning"))
        for line in lines[1:]:
            defects.append(Defect(line, "variable", f"unknown variable {var_text!r}; dropped",
                                  "unknown_variable", "info"))
    if not entries:
        raise DataError("no usable entries: every row was dropped (see the variable and value "
                        "columns and the protocol's log.names)", source=table.name)

    # ------------------------------------------------------------------ one row per day
    days: dict[tuple[str, dt.date], _Day] = {}
    for e in entries:
        d = days.setdefault((e.participant, e.date), _Day(e.participant, e.date))
        d.lines.append(e.line)
        d.by_target.setdefault(e.target, []).append(e)
    rows: list[dict[str, Any]] = []
    row_lines: list[list[int]] = []
    col_lines: list[dict[str, list[int]]] = []
    series = any(k[0] for k in days)
    for (pid, date), d in sorted(days.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        row: dict[str, Any] = {"date": date.isoformat()}
        if series:
            row["participant"] = pid
        cl: dict[str, list[int]] = {}
        for target, group in d.by_target.items():
            group = sorted(group, key=lambda e: e.stamp)
            cl[target] = [e.line for e in group]
            if target in outcomes or target == "adherence":
                row[target] = _aggregate(target, group, aggregate[target], defects)
            else:
                row[target] = _text_value(target, group, defects)
        rows.append(row)
        row_lines.append(sorted(d.lines))
        col_lines.append(cl)
    frame = pd.DataFrame(rows)
    for name in outcomes:
        if name not in frame.columns:
            frame[name] = np.nan
            defects.append(Defect(None, name, f"no entries for outcome '{name}' (variable names "
                                  "are mapped by the protocol's log.names); it is treated as not measured",
                                  "missing_column", "warning"))

    td = read_daily_log(frame, _as_wide(protocol), start=start, duplicates=duplicates,
                       day_starts_at=day_starts_at)
    td.protocol = protocol
    return _remap(td, table, defects, dropped, normalised, row_lines, col_lines, len(entries))


def _as_wide(protocol: Protocol) -> Protocol:
    """The same protocol read as a daily log (the fingerprint stays the original's: see _remap)."""
    return protocol.model_copy(update={"log": None})


def _aggregate(target: str, group: list[_Entry], how: str, defects: list[Defect]) -> float:
    values = [e for e in group if not math.isnan(e.value)]
    if not values:
        return math.nan
    xs = np.array([e.value for e in values])
    if len(values) == 1:
        return float(xs[0])
    result = {"mean": xs.mean, "max": xs.max, "min": xs.min, "sum": xs.sum}.get(how)
    value = float(result()) if result is not None else float(xs[0] if how == "first" else xs[-1])
    lines = [e.line for e in values]
    date = values[0].date.isoformat()
    defects.append(Defect(lines[0], target,
                          f"{date} {target}: {len(values)} entries (lines {line_ranges(lines)}: "
                          f"{', '.join(f'{x:g}' for x in xs)}) combined as {how} = {value:g}",
                          "aggregated", "info"))
    return value


def _text_value(target: str, group: list[_Entry], defects: list[Defect]) -> str:
    values = [e for e in group if e.raw]
    if not values:
        return ""
    if target == "note":
        return " | ".join(dict.fromkeys(e.raw for e in values))
    distinct = list(dict.fromkeys(e.raw for e in values))
    if len(distinct) > 1:
        last = values[-1]
        defects.append(Defect(last.line, target,
                              f"{last.date.isoformat()} {target}: entries differ ("
                              + ", ".join(f"{e.raw!r} on line {e.line}" for e in values)
                              + f"); the last, {last.raw!r}, is used", "conflicting_entries", "warning"))
        return last.raw
    return values[-1].raw


def _remap(td: TrialData, table: Any, defects: list[Defect], dropped: dict[int, str],
           normalised: list[dict[str, Any]], row_lines: list[list[int]],
           col_lines: list[dict[str, list[int]]], n_entries: int) -> TrialData:
    """Put the daily reading's report back on the export's lines and entries."""
    r = td.report
    assert r is not None

    def line_of(line: int | None, column: str | None) -> int | None:
        if line is None:
            return None
        i = line - 2
        if not 0 <= i < len(row_lines):
            return table.header_line
        if column in col_lines[i]:
            return col_lines[i][column][-1]
        return row_lines[i][0]

    out = list(defects)
    for d in r.defects:
        if d.kind in ("not_logged", "missing_column", "unknown_column"):
            continue        # reported per entry above
        out.append(Defect(line_of(d.line, d.column), d.column, d.message, d.kind, d.severity))
    for line, reason in r.dropped_lines.items():
        i = line - 2
        main = line_of(line, None)
        for entry_line in row_lines[i]:
            dropped[entry_line] = reason
            if entry_line != main:
                out.append(Defect(entry_line, None, f"entry of the day on line {main}, dropped with "
                                  f"it ({reason})", "dropped_with_day", "info"))
    for dev in r.deviations:
        dev["line"] = line_of(dev["line"], "condition")
    for info in r.participants.values():
        if "rows_used" in info:
            info["rows_used"] = None
    r.source = table.name
    td.source = table.name
    r.rows_read = len(table.records)
    r.rows_dropped = len(dropped)
    r.rows_used = r.rows_read - r.rows_dropped
    r.dropped_by_reason = dict(Counter(dropped.values()).most_common())
    r.dropped_lines = dict(sorted(dropped.items()))
    r.normalised_dates = normalised + list(r.normalised_dates)
    r.notes = list(table.notes) + [f"long-format log: {n_entries} entries read as {len(row_lines)} "
                                   f"days (protocol log: section)"] + list(r.notes)
    out.sort(key=lambda d: (d.line is not None, d.line or 0))
    r.defects = out
    if r.rows_used + r.rows_dropped != r.rows_read:   # pragma: no cover - a bug
        raise AssertionError("internal accounting error: entries used + dropped != read")
    return td
