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
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from nof1.errors import DataError

if TYPE_CHECKING:
    from nof1.protocol import Protocol


@dataclass(frozen=True)
class Defect:
    """One problem found in a log: where (physical line, column) and what."""

    line: int | None
    column: str | None
    message: str
    kind: str
    severity: Literal["error", "warning", "info"] = "warning"

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where) or 'log'}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "kind": self.kind,
                "severity": self.severity, "message": self.message}


@dataclass
class DataReport:
    """Accounting of a log against its protocol.

    Always ``rows_read == rows_used + rows_dropped``; every dropped row has a defect saying why.
    """

    source: str | None = None
    rows_read: int = 0
    rows_used: int = 0
    rows_dropped: int = 0
    defects: list[Defect] = field(default_factory=list)
    days_expected: int = 0
    days_logged: int = 0
    missing_by_condition: dict[str, int] = field(default_factory=dict)
    expected_by_condition: dict[str, int] = field(default_factory=dict)
    deviations: list[dict[str, Any]] = field(default_factory=list)
    adherence: dict[str, Any] = field(default_factory=dict)
    normalised_dates: list[dict[str, Any]] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Why rows were dropped: reason -> number of rows (sums to ``rows_dropped``).
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    #: A series of trials: participant -> start, sequence (and where it was read), days.
    participants: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Condition key -> blinded code, for blinded protocols (``text()`` shows codes, not keys).
    condition_codes: dict[str, str] = field(default_factory=dict)
    duplicates_policy: str | None = None
    #: Line of every dropped row -> why it was dropped (each also has a defect at that line).
    dropped_lines: dict[int, str] = field(default_factory=dict)

    @property
    def days_missing(self) -> int:
        return max(self.days_expected - self.days_logged, 0)

    @property
    def errors(self) -> list[Defect]:
        return [d for d in self.defects if d.severity == "error"]

    @property
    def usable(self) -> bool:
        """False when a defect makes the log unusable (e.g. conflicting duplicates, no policy)."""
        return not self.errors

    def to_dict(self, brief: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_dropped": self.rows_dropped,
            "days_expected": self.days_expected,
            "days_used": self.days_logged,
            "days_logged": self.days_logged,
            "days_missing": self.days_missing,
            "missing_by_condition": dict(self.missing_by_condition),
            "defects": [d.to_dict() for d in self.defects],
        }
        if not brief:
            out.update({
                "source": self.source,
                "usable": self.usable,
                "expected_by_condition": dict(self.expected_by_condition),
                "deviations": list(self.deviations),
                "adherence": dict(self.adherence),
                "normalised_dates": list(self.normalised_dates),
                "unknown_columns": list(self.unknown_columns),
                "notes": list(self.notes),
                "dropped_by_reason": dict(self.dropped_by_reason),
                "dropped_lines": [{"line": k, "reason": v} for k, v in sorted(self.dropped_lines.items())],
                "participants": {k: dict(v) for k, v in self.participants.items()},
                "duplicates_policy": self.duplicates_policy,
            })
        return out

    # ------------------------------------------------------------------ text
    def _cond(self, key: Any) -> str:
        if key is None or (isinstance(key, float) and np.isnan(key)):
            return "run-in"
        code = self.condition_codes.get(key)
        return f"code {code}" if code else str(key)

    def text(self) -> str:
        """A human-readable account of the log: rows, days, deviations, adherence and defects.

        Blinded protocols show codes instead of condition keys, so the report keeps the blind.

        Example:
            >>> r = DataReport(source="log.csv", rows_read=3, rows_used=2, rows_dropped=1,
            ...                dropped_by_reason={"blank": 1})
            >>> print(r.text().splitlines()[1])
              rows: 3 read = 2 used + 1 dropped (1 blank)
        """
        lines = [f"log {self.source or '(data)'}: " + ("usable" if self.usable else
                                                        "NOT usable (see errors below)")]
        reasons = ", ".join(f"{n} {r}" for r, n in self.dropped_by_reason.items())
        lines.append(f"  rows: {self.rows_read} read = {self.rows_used} used + {self.rows_dropped} "
                     f"dropped" + (f" ({reasons})" if reasons else ""))
        by = ", ".join(f"{self._cond(k)} {self.missing_by_condition.get(k, 0)} of {n}"
                       for k, n in self.expected_by_condition.items())
        lines.append(f"  trial days: {self.days_expected} expected, {self.days_logged} logged, "
                     f"{self.days_missing} missing" + (f" (missing by condition: {by})" if by else ""))
        for pid, info in self.participants.items():
            seq = info.get("sequence")
            seq_text = ""
            if seq:
                shown = [self.condition_codes.get(c, c) for c in seq] if self.condition_codes else seq
                seq_text = f", sequence {' '.join(map(str, shown))} (from the {info.get('sequence_source')})"
            lines.append(f"  participant {pid}: start {info.get('start')}{seq_text}, "
                         f"{info.get('days_logged', 0)} of {info.get('days_expected', 0)} trial days logged")
        if self.deviations:
            lines.append(f"  protocol deviations: {len(self.deviations)} day(s) where the condition "
                         "taken differs from the schedule")
            for d in self.deviations[:10]:
                who = f"participant {d['participant']}, " if d.get("participant") else ""
                lines.append(f"    {who}{d['date']} (line {d['line']}): scheduled "
                             f"{self._cond(d['scheduled'])}, taken {self._cond(d['taken'])}")
            if len(self.deviations) > 10:
                lines.append(f"    ... and {len(self.deviations) - 10} more")
        adh = self.adherence
        if adh.get("days_recorded"):
            means = ", ".join(f"{self._cond(k)} {v:.2f}" for k, v in adh.get("mean_by_condition", {}).items()
                              if v is not None)
            lines.append(f"  adherence: recorded on {adh['days_recorded']} trial days; mean {means}; "
                         f"{adh.get('days_below_1', 0)} day(s) below full")
        if self.normalised_dates:
            first = self.normalised_dates[0]
            lines.append(f"  dates normalised: {len(self.normalised_dates)} (e.g. line {first['line']}: "
                         f"{first['value']!r} -> {first['date']})")
        if self.unknown_columns:
            lines.append("  unknown columns kept aside (not analysed): " + ", ".join(self.unknown_columns))
        for note in self.notes:
            lines.append(f"  note: {note}")
        for severity, title in (("error", "errors"), ("warning", "warnings")):
            found = [d for d in self.defects if d.severity == severity]
            if found:
                lines.append(f"  {title} ({len(found)}):")
                lines.extend(f"    {d}" for d in found[:60])
                if len(found) > 60:
                    lines.append(f"    ... and {len(found) - 60} more (see --json)")
        info: dict[str, list[Defect]] = {}
        for d in self.defects:
            if d.severity == "info":
                info.setdefault(d.kind, []).append(d)
        if info:
            lines.append(f"  info ({sum(len(v) for v in info.values())}):")
            for kind, ds in info.items():
                where = [d.line for d in ds if d.line is not None]
                if len(ds) == 1:
                    lines.append(f"    {ds[0]}")
                else:
                    lines.append(f"    {kind.replace('_', ' ')}: {len(ds)} "
                                 + (f"(lines {line_ranges(where)})" if where else ""))
        if not self.usable:
            lines.append(f"  NOT usable: {len(self.errors)} error(s) must be fixed (or resolved with an "
                         "option named in the message)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def line_ranges(lines: list[int], limit: int = 12) -> str:
    """``3, 7, 9-12`` from line numbers.

    Example:
        >>> line_ranges([9, 3, 10, 11, 12, 7])
        '3, 7, 9-12'
    """
    parts: list[str] = []
    values = sorted(set(lines))
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    if len(parts) > limit:
        return ", ".join(parts[:limit]) + f", ... ({len(values)} lines)"
    return ", ".join(parts)


@dataclass
class TrialData:
    """A log aligned to the protocol's schedule.

    ``data`` has one row per scheduled day (run-in included; one block per participant for a
    series) with the schedule's columns (``date``, ``day``, ``phase``, ``period``, ``pair``,
    ``condition``, ``day_in_period``, ``washout``), one float column per outcome (NaN when not
    logged), ``condition_taken`` (what was actually taken: the logged condition, else the
    scheduled one; missing in the run-in), ``adherence``, ``note`` and ``logged`` (bool: at least
    one outcome value that day). Columns of the log that are not understood are kept aside in
    ``extra_columns`` (same index as ``data``).
    """

    protocol: Protocol
    data: pd.DataFrame
    report: DataReport | None = None
    start: dt.date | None = None
    source: str | None = None
    #: Log columns that are neither outcomes nor known columns, aligned to ``data`` (same index).
    extra_columns: pd.DataFrame | None = None

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_frame(
        cls,
        protocol: Protocol,
        frame: pd.DataFrame,
        *,
        start: dt.date | str | None = None,
        allocation: tuple | None = None,
        source: str | None = None,
    ) -> TrialData:
        """Align a clean frame (``day`` or ``date`` plus outcome columns) to the schedule.

        For data that need no checking (simulations, tests). Rows are matched on ``day`` when
        present, else on ``date``; unmatched rows raise :class:`DataError`.
        """
        from nof1.schedule import build_schedule

        sched = build_schedule(protocol, start=start, allocation=allocation)
        frame = frame.copy()
        key = "day" if "day" in frame.columns else "date"
        if key == "date":
            if sched["date"].isna().all():
                raise DataError("rows are keyed by date but no start date is known", source=source)
            frame["date"] = pd.to_datetime(frame["date"])
            sched_key = sched["date"]
        else:
            sched_key = sched["day"]
        idx = pd.Index(sched_key)
        pos = idx.get_indexer(frame[key])
        if (pos < 0).any():
            bad = frame.loc[pos < 0, key].iloc[0]
            raise DataError(f"{key} {bad} is not in the protocol's schedule", source=source)
        data = sched.copy()
        for o in protocol.outcomes:
            col = np.full(len(data), np.nan)
            if o.name in frame.columns:
                col[pos] = pd.to_numeric(frame[o.name], errors="coerce").to_numpy(dtype=float)
            data[o.name] = col
        taken = data["condition"].astype(object).to_numpy().copy()
        if "condition_taken" in frame.columns or "condition" in frame.columns:
            src = frame["condition_taken"] if "condition_taken" in frame.columns else frame["condition"]
            vals = src.astype(object).to_numpy()
            for p, v in zip(pos, vals, strict=True):
                if v is not None and not (isinstance(v, float) and np.isnan(v)) and v in protocol.conditions:
                    taken[p] = v
        data["condition_taken"] = pd.array(taken, dtype="object")
        data["adherence"] = np.nan
        if "adherence" in frame.columns:
            data.loc[pos, "adherence"] = pd.to_numeric(frame["adherence"], errors="coerce").to_numpy()
        data["note"] = ""
        logged = np.zeros(len(data), dtype=bool)
        logged[pos] = True
        data["logged"] = logged
        outcome_cols = [o.name for o in protocol.outcomes]
        n_logged = int((data.loc[data["phase"] == "trial", outcome_cols].notna().any(axis=1)).sum())
        report = DataReport(
            source=source, rows_read=len(frame), rows_used=len(frame), rows_dropped=0,
            days_expected=int((data["phase"] == "trial").sum()), days_logged=n_logged,
        )
        return cls(protocol=protocol, data=data, report=report,
                   start=protocol.start_date(start), source=source)

    # ------------------------------------------------------------------ views
    @property
    def trial(self) -> pd.DataFrame:
        """Rows of the trial proper (run-in excluded)."""
        return self.data[self.data["phase"] == "trial"]

    @property
    def participants(self) -> list[str]:
        if "participant" not in self.data.columns:
            return []
        return list(dict.fromkeys(self.data["participant"].astype(str)))

    def outcome_frame(self, outcome: str, *, include_run_in: bool = False) -> pd.DataFrame:
        """Days on which ``outcome`` was observed: day, period, pair, condition (taken),
        scheduled condition, washout, day_in_period and ``y``."""
        if outcome not in self.data.columns:
            raise DataError(f"no outcome column '{outcome}'", source=self.source)
        d = self.data if include_run_in else self.trial
        d = d[d[outcome].notna()]
        cols = ["day", "period", "pair", "day_in_period", "washout"]
        if "participant" in d.columns:
            cols = ["participant", *cols]
        out = d[cols].copy()
        out["condition"] = d["condition_taken"].to_numpy()
        out["scheduled"] = d["condition"].to_numpy()
        out["y"] = d[outcome].to_numpy(dtype=float)
        return out.reset_index(drop=True)

    @cached_property
    def data_hash(self) -> str:
        """``sha256:`` of the aligned data (outcomes, conditions taken, days): identifies the data."""
        cols = ["day", "condition_taken", *[o.name for o in self.protocol.outcomes]]
        if "participant" in self.data.columns:
            cols = ["participant", *cols]
        text = self.data[cols].to_csv(index=False, float_format="%.10g")
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


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
    from nof1.ingest import read_log_impl

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
