"""The rows of a daily log: one row's fields (:class:`Row`), condition texts (labels, codes, keys),
and the row-level steps of reading -- bookkeeping of defects and dropped rows, duplicate days
resolved by the ``duplicates`` policy, and a series participant's sequence read from the log.

Part of reading a log (:mod:`nof1.ingest`): :class:`RowSteps` is the base of the daily reader
(:mod:`nof1.ingest_daily`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nof1.ingest_values import (
    Adherence,
    Severity,
    fmt_g,
)
from nof1.trial_data import DataReport, Defect

if TYPE_CHECKING:
    from nof1.protocol import Protocol

#: Duplicate policies: None (conflicting days are errors), "first", "last", "mean".
DUPLICATE_POLICIES = (None, "first", "last", "mean")
_MAX_INFERRED_ALLOCATIONS = 5000


def condition_lookup(protocol: Protocol) -> dict[str, str]:
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


@dataclass
class Row:
    """One data row of the log: its physical line, its cells and what was read from them."""

    line: int
    cells: list[Any]
    date: dt.date | None = None
    participant: str = ""
    day: int = 0
    values: dict[str, float] = field(default_factory=dict)
    condition: str | None = None
    condition_raw: str = ""
    adherence: Adherence | None = None
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


class RowSteps:
    """Bookkeeping, duplicates and sequence inference of one read (the base of the daily reader).

    The reader sets ``protocol``, ``duplicates``, ``defects``, ``dropped``, ``used``, ``report``
    and ``outcome_names``.
    """

    protocol: Protocol
    duplicates: str | None
    defects: list[Defect]
    dropped: dict[int, str]
    used: set[int]
    report: DataReport
    outcome_names: list[str]

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

    # ------------------------------------------------------------------ step: allocation (series)
    def _allocation(self, pid: str, rows: list[Row], series: bool) -> tuple | None:
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
    def _resolve_duplicates(self, rows: list[Row]) -> list[Row]:
        by_day: dict[int, list[Row]] = {}
        for r in rows:
            by_day.setdefault(r.day, []).append(r)
        final: list[Row] = []
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

    def _conflicts(self, rows: list[Row]) -> list[tuple[str, str]]:
        """(field, 'field 4 vs 6') for each field on which the rows disagree."""
        out: list[tuple[str, str]] = []
        for n in self.outcome_names:
            vals = [r.values.get(n, math.nan) for r in rows]
            present = [v for v in vals if not math.isnan(v)]
            if len(set(present)) > 1:
                out.append((n, f"{n} " + " vs ".join(fmt_g(v) for v in present)))
        conds = [r.condition for r in rows if r.condition is not None]
        if len(set(conds)) > 1:
            out.append(("condition", "condition " + " vs ".join(self.show_cond(c) for c in conds)))
        adh = [r.adherence.value for r in rows if r.adherence is not None and not math.isnan(r.adherence.value)]
        if len(set(adh)) > 1:
            out.append(("adherence", "adherence " + " vs ".join(fmt_g(a) for a in adh)))
        return out

    def _merge(self, rows: list[Row], how: str) -> Row:
        base = rows[0]
        merged = Row(base.line, base.cells, date=base.date, participant=base.participant, day=base.day)
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
            merged.adherence = Adherence(float(np.mean(adh)) if how == "mean" else adh[0])
        merged.period = next((r.period for r in rows if r.period is not None), None)
        merged.note = " | ".join(dict.fromkeys(r.note for r in rows if r.note))
        merged.guess = next((r.guess for r in rows if r.guess is not None), None)
        for r in rows:
            for k, v in r.extras.items():
                merged.extras.setdefault(k, v)
        return merged
