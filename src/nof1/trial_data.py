"""The aligned data of a trial and the account of its log: :class:`TrialData`,
:class:`DataReport`, :class:`Defect`.

These are the types every reader (:mod:`nof1.ingest`, :mod:`nof1.ingest_long`) builds and every
analysis takes; :func:`nof1.data.read_log` (``nof1.read_log``) makes them from a user's log and
:meth:`TrialData.from_frame` from an already clean, day-aligned frame (the simulator uses this).
All of them are importable from :mod:`nof1.data` too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from nof1.errors import DataError

#: Problems of one kind in one column listed in full by DataReport.text(); the rest are counted.
_SAME_SHOWN = 3

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
                # the same problem on many lines (e.g. every date in another format): the first
                # few in full, then one line naming the rest, so the fix is not buried
                groups: dict[tuple[str, str | None], list[Defect]] = {}
                for d in found:
                    groups.setdefault((d.kind, d.column), []).append(d)
                shown = 0
                for ds in groups.values():
                    for d in ds[:_SAME_SHOWN]:
                        if shown < 60:
                            lines.append(f"    {d}")
                        shown += 1
                    rest = [d.line for d in ds[_SAME_SHOWN:] if d.line is not None]
                    if len(ds) > _SAME_SHOWN:
                        where = ", ".join(map(str, rest[:12])) + (", ..." if len(rest) > 12 else "")
                        lines.append(f"    ... and {len(ds) - _SAME_SHOWN} more like this"
                                     + (f" (lines {where})" if where else ""))
                if shown > 60:
                    lines.append(f"    ... and {shown - 60} more (see --json)")
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


# --------------------------------------------------------------------------- a series
def split_series(trial_data: TrialData) -> dict[str, TrialData]:
    """Each participant's own :class:`TrialData` (no ``participant`` column), in order.

    Example:
        >>> parts = split_series(td)          # doctest: +SKIP
        >>> list(parts)                       # doctest: +SKIP
        ['P01', 'P02']
    """
    require_series(trial_data, minimum=1)
    protocol = trial_data.protocol
    outcome_cols = [o.name for o in protocol.outcomes]
    out: dict[str, TrialData] = {}
    pid_col = trial_data.data["participant"].astype(str)
    for pid in trial_data.participants:
        d = trial_data.data.loc[pid_col == pid].drop(columns=["participant"]).reset_index(drop=True)
        trial_rows = d["phase"] == "trial"
        n_logged = int(d.loc[trial_rows, outcome_cols].notna().any(axis=1).sum())
        report = DataReport(
            source=f"{trial_data.source or 'series'}#{pid}", rows_read=int(d["logged"].sum())
            if "logged" in d else len(d), days_expected=int(trial_rows.sum()), days_logged=n_logged,
        )
        report.rows_used = report.rows_read
        start = None
        if "date" in d and d["date"].notna().any():
            start = pd.Timestamp(d["date"].dropna().iloc[0]).date()
        out[pid] = TrialData(protocol=protocol, data=d, report=report, start=start,
                             source=report.source)
    return out


def require_series(trial_data: TrialData, minimum: int = 2) -> None:
    """Raise :class:`DataError` unless the data are a series of at least ``minimum`` participants."""
    if "participant" not in trial_data.data.columns:
        raise DataError(
            "the log has no 'participant' column: pooling needs a series of trials, one column "
            "naming the person on each row",
            source=trial_data.source,
        )
    n = len(trial_data.participants)
    if n < minimum:
        raise DataError(
            f"pooling needs at least {minimum} participants, the log has {n}"
            + (f" ({', '.join(trial_data.participants)})" if n else ""),
            source=trial_data.source,
        )


__all__ = ["DataReport", "Defect", "TrialData", "line_ranges", "require_series", "split_series"]
