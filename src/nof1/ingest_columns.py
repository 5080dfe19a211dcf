"""Matching a log's columns (case-insensitively, whitespace stripped) to the protocol's outcomes
and the known columns; every column not understood is reported and kept aside.

Part of reading a log (:mod:`nof1.ingest`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nof1.errors import DataError
from nof1.ingest_values import is_blank_cell, is_missing, normalised_name
from nof1.trial_data import DataReport, Defect

if TYPE_CHECKING:
    from nof1.ingest_source import Table
    from nof1.protocol import Protocol

#: Columns a log may have besides the outcomes (matched case-insensitively).
META_COLUMNS = ("date", "condition", "period", "participant", "adherence", "note", "guess")

#: Columns of the log template and of exported schedules: allowed, not checked, not used.
INFO_COLUMNS = frozenset({
    "day", "phase", "pair", "due", "day_in_period", "label", "code", "washout", "logged",
})
_COLUMN_ALIASES = {"notes": "note", "comment": "note", "comments": "note"}


@dataclass
class Columns:
    """Which header position holds what."""

    index: dict[str, int]                 # role ('date', 'condition', ... or outcome name) -> position
    unknown: list[tuple[int, str]]        # (position, display name) of columns kept aside
    width: int


def map_columns(table: Table, protocol: Protocol, defects: list[Defect], report: DataReport) -> Columns:
    outcomes = {o.name.lower(): o.name for o in protocol.outcomes}
    names = [normalised_name(h) for h in table.header]
    log = protocol.log
    renames = {normalised_name(k): v for k, v in log.names.items()} \
        if log is not None and log.format == "wide" else {}
    for pos, norm in enumerate(names):
        if norm in renames:
            defects.append(Defect(table.header_line, table.header[pos].strip(),
                                  f"column '{table.header[pos].strip()}' read as '{renames[norm]}' "
                                  "(protocol log.names)", "mapped_column", "info"))
            names[pos] = normalised_name(renames[norm])
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
        close = difflib.get_close_matches(normalised_name(display), [n.lower() for n in outcome_names]
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
    return Columns(index=index, unknown=unknown, width=len(table.header))


def _column_empty(table: Table, pos: int) -> bool:
    for rec in table.records:
        if rec.cells is not None and pos < len(rec.cells) and not is_blank_cell(rec.cells[pos]) \
                and not is_missing(rec.cells[pos]):
            return False
    return True
