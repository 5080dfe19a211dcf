"""Reading a user's log against a protocol: the internals of :func:`nof1.read_log`.

The public entry point is :func:`nof1.data.read_log` (also ``nof1.read_log``); this module picks
the reader (a daily log, or an app's entry-level export by the protocol's ``log:`` section) and
re-exports the pieces other readers use. The work is done in plain steps that each account for
every row:

1. read the source (CSV/TSV text in UTF-8, UTF-8 with BOM, UTF-16 or Latin-1; ``.xlsx``; or a
   DataFrame) into a header and records, each with its *physical* line number
   (:mod:`nof1.ingest_source`);
2. match the columns (case-insensitively, whitespace stripped) to outcomes and known columns
   (:mod:`nof1.ingest_columns`);
3. parse dates row by row (never pandas' guessing), map time stamps to the day they belong to
   (:mod:`nof1.ingest_dates`);
4. place the rows on the schedule (one per participant for a series), parse values
   (:mod:`nof1.ingest_values`), resolve duplicates (:mod:`nof1.ingest_rows`), record deviations,
   and count what is missing (:mod:`nof1.ingest_daily`).

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
from pathlib import Path
from typing import Any

from nof1.errors import DataError
from nof1.ingest_columns import INFO_COLUMNS, META_COLUMNS
from nof1.ingest_daily import read_daily_log
from nof1.ingest_dates import parse_date_time, parse_day_start
from nof1.ingest_long import read_long_log
from nof1.ingest_source import read_table
from nof1.ingest_values import (
    MISSING_TOKENS,
    CellProblem,
    is_missing_cell,
    normalised_name,
    parse_adherence_value,
    parse_outcome_value,
)
from nof1.protocol import Protocol, load_protocol
from nof1.trial_data import TrialData


def read_log_impl(source: Any, protocol: Protocol | str | Path, *, start: Any = None,
                  duplicates: str | None = None, date_format: str | None = None,
                  day_starts_at: str | dt.time = "04:00") -> TrialData:
    """Implementation of :func:`nof1.data.read_log` (see there)."""
    if not isinstance(protocol, Protocol):
        if isinstance(protocol, str | Path):
            protocol = load_protocol(protocol)
        else:
            raise DataError(f"protocol must be a Protocol or a protocol file path, got "
                            f"{type(protocol).__name__}")
    if protocol.log is not None and day_starts_at == "04:00":
        day_starts_at = protocol.log.day_starts
    reader = read_long_log if protocol.log is not None and protocol.log.format == "long" else read_daily_log
    return reader(source, protocol, start=start, duplicates=duplicates, date_format=date_format,
                  day_starts_at=day_starts_at)


__all__ = ["INFO_COLUMNS", "META_COLUMNS", "MISSING_TOKENS", "CellProblem", "is_missing_cell",
           "normalised_name", "parse_adherence_value", "parse_date_time", "parse_day_start",
           "parse_outcome_value", "read_log_impl", "read_table"]
