"""Trial data: the log aligned to the protocol's schedule, with an account of every row.

:class:`TrialData` is what every analysis takes. It is made by :func:`read_log` from a user's file
or DataFrame, or by :meth:`TrialData.from_frame` from an already clean, day-aligned frame (the
simulator uses this).

Example:
    >>> import nof1
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")    # doctest: +SKIP
    >>> td = nof1.read_log("data/sample/beetroot_log.csv", p)          # doctest: +SKIP
    >>> print(td.report.text())                                        # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from nof1.ingest import read_log_impl
from nof1.trial_data import DataReport, Defect, TrialData, line_ranges, split_series

if TYPE_CHECKING:
    from nof1.protocol import Protocol

__all__ = ["DataReport", "Defect", "TrialData", "line_ranges", "no_usable_primary", "read_log",
           "split_series"]


# --------------------------------------------------------------------------- reading a log
def read_log(
    source: str | Path | pd.DataFrame,
    protocol: Protocol | str | Path,
    *,
    start: dt.date | str | None = None,
    duplicates: Literal["first", "last", "mean"] | None = None,
    date_format: str | None = None,
    day_starts_at: str | dt.time = "04:00",
) -> TrialData:
    """Read a log (CSV/TSV/XLSX file or DataFrame) and align it to the protocol's schedule.

    Nothing is lost silently: every row read is used or dropped with a :class:`Defect` that says
    why and where (the physical line of the file: header = line 1, blank and comment lines
    counted; a DataFrame row ``i`` is line ``i + 2``), so ``rows_read == rows_used +
    rows_dropped``. The source is never modified.

    Args:
        source: path to a ``.csv``/``.tsv``/``.txt`` (UTF-8, UTF-8 with BOM, UTF-16 or Latin-1;
            ``,``, ``;`` or tab separated; decimal commas accepted with ``;``), an ``.xlsx``
            workbook, or a DataFrame.
        protocol: the :class:`~nof1.protocol.Protocol` (or a path to its file).
        start: first day (of the run-in, if any). Default: ``design.start_date``, else the
            earliest date in the log (said so in ``report.notes``). For a series each
            participant's start is their first logged date unless ``start`` is given.
        duplicates: how to resolve a day logged twice with *different* values: ``"first"``,
            ``"last"`` or ``"mean"``. Without a policy such days are errors (``report.usable`` is
            False). Exact duplicates are always dropped; rows that complement each other are merged.
        date_format: ``strptime`` format for dates that are ambiguous otherwise (``%d/%m/%Y``).
            ISO dates and unambiguous forms (``Mar 12, 2026``, ``2026/03/20``, ``20260405``,
            ``12 March 2026``) are always read and listed in ``report.normalised_dates``.
        day_starts_at: entries time-stamped before this time of day count for the previous day.

    Raises:
        DataError: the source cannot be read as a log (missing, empty or binary file, no
            ``date`` or outcome column, unreadable workbook, bad option).

    Example:
        >>> import nof1
        >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")    # doctest: +SKIP
        >>> td = nof1.read_log("data/sample/beetroot_log.csv", p)          # doctest: +SKIP
        >>> td.report.usable, td.report.days_missing                       # doctest: +SKIP
        (True, 4)
        >>> print(td.report.text())                                        # doctest: +SKIP
    """
    td = read_log_impl(source, protocol, start=start, duplicates=duplicates,
                       date_format=date_format, day_starts_at=day_starts_at)
    problem = no_usable_primary(td)
    if problem is not None and td.report is not None:
        td.report.defects.insert(0, problem)
    return td


def no_usable_primary(td: TrialData) -> Defect | None:
    """An error :class:`Defect` when the primary outcome has no usable value on any day (run-in
    included), saying why the rows or values were lost; None otherwise.

    Example:
        >>> no_usable_primary(nof1.read_log("header_only.csv", p)).message   # doctest: +SKIP
        "no usable day of the primary outcome 'severity': the log has no rows below its header"
    """
    name = td.protocol.primary.name
    if name in td.data.columns and td.data[name].notna().any():
        return None
    rep = td.report
    if rep is None:
        why = "no value was given"
    elif rep.rows_read == 0:
        why = "the log has no rows below its header"
    elif rep.rows_used == 0:
        reasons = ", ".join(f"{n} {r}" for r, n in rep.dropped_by_reason.items())
        example = next((d for d in rep.defects if d.line in rep.dropped_lines and d.severity != "info"),
                       next((d for d in rep.defects if d.line in rep.dropped_lines), None))
        why = f"all {rep.rows_read} rows were dropped ({reasons})" + (f"; e.g. {example}" if example else "")
    else:
        own = [d for d in rep.defects if d.column == name]
        rows = [d for d in own if d.kind != "missing_column"]
        if rows:
            kinds: dict[str, int] = {}
            for d in rows:
                kinds[d.kind.replace("_", " ")] = kinds.get(d.kind.replace("_", " "), 0) + 1
            counted = ", ".join(f"{n} {k}" for k, n in kinds.items())
            why = f"none of its {len(rows)} values could be read ({counted}); e.g. {rows[0]}"
        elif own:
            why = own[0].message.split(";")[0]
        else:
            why = f"every '{name}' cell of the {rep.rows_used} rows used is blank"
        if rep.rows_dropped:
            why += f" ({rep.rows_dropped} more rows were dropped)"
    return Defect(None, name, f"no usable day of the primary outcome '{name}': {why}",
                  "no_usable_days", "error")
