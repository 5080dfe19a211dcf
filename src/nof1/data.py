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
            })
        return out


@dataclass
class TrialData:
    """A log aligned to the protocol's schedule.

    ``data`` has one row per scheduled day (run-in included; one block per participant for a
    series) with the schedule's columns (``date``, ``day``, ``phase``, ``period``, ``pair``,
    ``condition``, ``day_in_period``, ``washout``), one float column per outcome (NaN when not
    logged), ``condition_taken`` (what was actually taken: the logged condition, else the
    scheduled one; missing in the run-in), ``adherence``, ``note`` and ``logged`` (bool).
    """

    protocol: Protocol
    data: pd.DataFrame
    report: DataReport | None = None
    start: dt.date | None = None
    source: str | None = None

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
