"""Reading a daily log (one row per day) against the protocol: rows placed on the schedule (one
per participant for a series), values parsed, duplicates resolved, deviations recorded, and what
is missing counted -- every row read is used or dropped with a :class:`~nof1.data.Defect`.

Part of reading a log (:mod:`nof1.ingest`); :func:`read_daily_log` is its entry point.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nof1.errors import DataError
from nof1.ingest_columns import Columns, map_columns
from nof1.ingest_dates import (
    MAX_YEAR,
    NUMERIC_DMY_RE,
    AmbiguousDate,
    ParsedDate,
    check_date_format,
    parse_date_cell,
    parse_day_start,
    split_date_pair,
)
from nof1.ingest_rows import DUPLICATE_POLICIES, Row, RowSteps, condition_lookup
from nof1.ingest_source import Table, read_table
from nof1.ingest_values import (
    DECIMAL_COMMA_RE,
    Adherence,
    CellError,
    check_outcome_value,
    fmt_g,
    is_blank_cell,
    is_missing,
    normalised_name,
    parse_adherence,
    parse_number,
    show_value,
)
from nof1.trial_data import DataReport, Defect, TrialData

if TYPE_CHECKING:
    from nof1.protocol import Outcome, Protocol

_RUN_IN_TOKENS = frozenset({"run-in", "run_in", "runin", "run in", "baseline", "none"})
_DONT_KNOW = frozenset({"don t know", "dont know", "do not know", "dk", "unsure", "not sure",
                        "no idea", "unknown", "dont_know"})


class _Ingest(RowSteps):
    """One call of :func:`read_log`: holds the options, the defects and the accounting."""

    def __init__(self, protocol: Protocol, *, start: Any, duplicates: str | None,
                 date_format: str | None, day_starts_at: str | dt.time) -> None:
        if duplicates not in DUPLICATE_POLICIES:
            raise DataError(f"duplicates={duplicates!r} is not a policy; expected None, 'first', "
                            "'last' or 'mean'")
        if date_format is not None:
            check_date_format(date_format)
        self.protocol = protocol
        self.duplicates = duplicates
        self.date_format = date_format
        self.day_start = parse_day_start(day_starts_at)
        self.start = self._parse_start(start)
        self.defects: list[Defect] = []
        self.dropped: dict[int, str] = {}          # line -> reason (one per dropped row)
        self.used: set[int] = set()
        self.report = DataReport()
        self.conditions = condition_lookup(protocol)
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


    # ------------------------------------------------------------------ main
    def run(self, source: Any) -> TrialData:
        table = read_table(source)
        report = self.report
        report.source = table.name
        report.notes.extend(table.notes)
        report.duplicates_policy = self.duplicates
        if self.protocol.is_blinded:
            report.condition_codes = dict(self.protocol.blinded_codes)
        cols = map_columns(table, self.protocol, self.defects, report)
        rows = self._records_to_rows(table, cols)
        rows = self._parse_dates(rows, cols)
        groups = self._group_participants(rows, cols)
        starts = self._starts(groups)
        series = len(groups) > 1
        in_trial: dict[str, list[Row]] = {}
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
    def _records_to_rows(self, table: Table, cols: Columns) -> list[Row]:
        header_norm = [normalised_name(h) for h in table.header]
        rows: list[Row] = []
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
                    and split_date_pair(cells[date_pos], cells[date_pos + 1]):
                # 'Dec 3, 2026' written without quotes in a comma-separated file
                cells = [*cells[:date_pos], f"{cells[date_pos]},{cells[date_pos + 1]}",
                         *cells[date_pos + 2:]]
            if len(cells) > cols.width:
                extra = cells[cols.width:]
                if any(not is_blank_cell(c) for c in extra):
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
            if [normalised_name(c) for c in cells] == header_norm:
                self.drop(rec.line, "repeated header", None,
                          "the header line is repeated (two exports pasted together?); skipped",
                          "repeated_header", "info")
                continue
            rows.append(Row(rec.line, cells))
        return rows

    # ------------------------------------------------------------------ step: dates
    def _parse_dates(self, rows: list[Row], cols: Columns) -> list[Row]:
        pos = cols.index["date"]
        parsed: list[tuple[Row, ParsedDate]] = []
        ambiguous: list[tuple[Row, AmbiguousDate]] = []
        evidence: dict[str, list[tuple[int, str]]] = {"dm": [], "md": []}
        for row in rows:
            value = row.cell(pos)
            if is_missing(value) or is_blank_cell(value):
                self.drop(row.line, "no date", "date",
                          "no date; the row cannot be placed on a day, dropped", "missing_date")
                continue
            try:
                result = parse_date_cell(value, self.date_format)
            except CellError as err:
                self.drop(row.line, "bad date", "date", f"{err.message}; row dropped", err.kind,
                          err.severity)
                continue
            if isinstance(result, AmbiguousDate):
                ambiguous.append((row, result))
                continue
            if isinstance(value, str):
                m = NUMERIC_DMY_RE.match(value.strip().split(" ")[0])
                if m and int(m.group(1)) != int(m.group(3)):
                    evidence["dm" if int(m.group(1)) > 12 else "md"].append((row.line, value.strip()))
            parsed.append((row, result))
        for row, amb in ambiguous:
            self._ambiguous_defect(row, amb, evidence)
        times = [p.time for _, p in parsed if p.time is not None]
        midnight_only = bool(times) and all(t == dt.time(0, 0) for t in times)
        if midnight_only:
            self.report.notes.append("every time stamp in the date column is 00:00; read as plain dates")
        out: list[Row] = []
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

    def _ambiguous_defect(self, row: Row, amb: AmbiguousDate, evidence: dict) -> None:
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
    def _group_participants(self, rows: list[Row], cols: Columns) -> dict[str, list[Row]]:
        pos = cols.index.get("participant")
        if pos is None:
            return {"": rows}
        for row in rows:
            v = row.cell(pos)
            if is_missing(v) or is_blank_cell(v):
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
        groups: dict[str, list[Row]] = {pid: [] for pid in ids}
        for row in rows:
            if not row.participant:
                self.drop(row.line, "no participant", "participant",
                          f"no participant, but the log holds several ({', '.join(ids[:5])}); the row "
                          "cannot be placed, dropped", "no_participant")
                continue
            groups[row.participant].append(row)
        self.report.notes.append(f"a series of {len(ids)} participants: {', '.join(ids)}")
        return groups

    def _starts(self, groups: dict[str, list[Row]]) -> dict[str, dt.date]:
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
            if last.year > MAX_YEAR:
                raise DataError(f"{who}start date {starts[pid]} is implausible", source=self.report.source)
        return starts

    def _place(self, rows: list[Row], start: dt.date, pid: str, series: bool) -> list[Row]:
        total = self.protocol.total_days
        last = start + dt.timedelta(days=total - 1)
        out: list[Row] = []
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
    def _parse_values(self, rows: list[Row], cols: Columns, table: Table) -> None:
        idx = cols.index
        numeric_cols = [idx[n] for n in self.outcome_names if n in idx]
        if "adherence" in idx:
            numeric_cols.append(idx["adherence"])
        decimal_comma = False
        if table.sep is not None and table.sep != ",":
            for row in rows:
                if any(isinstance(row.cell(p), str) and DECIMAL_COMMA_RE.match(row.cell(p))
                       for p in numeric_cols):
                    decimal_comma = True
                    break
        if decimal_comma:
            self.report.notes.append("decimal commas (4,5) read as decimal points (4.5)")
        used_cols = [n for n in self.outcome_names if n in idx
                     and any(not is_missing(r.cell(idx[n])) for r in rows)]
        for row in rows:
            for o in self.protocol.outcomes:
                if o.name not in idx:
                    row.values[o.name] = math.nan
                    continue
                value = row.cell(idx[o.name])
                if is_missing(value) and self._expected(o, row):
                    if isinstance(value, str) and value.strip():
                        self.defect(row.line, o.name, f"{show_value(value)}: not logged", "not_logged", "info")
                    elif o.name in used_cols and any(not is_missing(row.cell(idx[n])) for n in used_cols):
                        self.defect(row.line, o.name, "empty cell: not logged", "not_logged", "info")
                if o.type == "binary" and isinstance(value, bool | np.bool_) and o.name not in self.bool_read:
                    self.bool_read.add(o.name)
                    self.report.notes.append(f"{o.name}: True/False read as 1/0")
                try:
                    x = parse_number(value, decimal_comma, o)
                    check_outcome_value(x, o)
                except CellError as err:
                    msg = err.message
                    if err.kind in ("non_numeric", "ambiguous_number"):
                        msg += "; treated as missing"
                    self.defect(row.line, o.name, msg, err.kind, err.severity)
                    x = math.nan
                row.values[o.name] = x
            if "adherence" in idx:
                try:
                    row.adherence = parse_adherence(row.cell(idx["adherence"]), decimal_comma)
                except CellError as err:
                    self.defect(row.line, "adherence", f"{err.message}; treated as missing",
                                err.kind, err.severity)
                    row.adherence = Adherence(math.nan)
            if "note" in idx:
                v = row.cell(idx["note"])
                row.note = "" if v is None or (not isinstance(v, str) and is_missing(v)) else str(v).strip()
            if "period" in idx:
                row.period = self._parse_period(row, row.cell(idx["period"]))
            for pos, name in cols.unknown:
                v = row.cell(pos)
                if not (is_blank_cell(v) or (not isinstance(v, str) and is_missing(v))):
                    row.extras[name] = str(v).strip() if isinstance(v, str) else str(v)
            if "condition" in idx:
                self._parse_condition(row, row.cell(idx["condition"]))
            if "guess" in idx:
                self._parse_guess(row, row.cell(idx["guess"]))
        self._scale_adherence(rows)

    def _expected(self, o: Outcome, row: Row) -> bool:
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

    def _parse_guess(self, row: Row, value: Any) -> None:
        """The condition the participant believes they had (blinding check), or 'dont_know'."""
        if is_missing(value) or is_blank_cell(value):
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
                        f"guess {show_value(text)} is neither a condition nor \"don't know\" (expected "
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

    def _parse_period(self, row: Row, value: Any) -> int | None:
        if is_missing(value) or is_blank_cell(value):
            return None
        try:
            x = parse_number(value, False)
        except CellError:
            x = math.nan
        if math.isnan(x) or not x.is_integer() or x < 0:
            self.defect(row.line, "period", f"period {show_value(value)} is not a period number (0, 1, 2, "
                        "...); ignored, the schedule's period is used", "bad_period")
            return None
        return int(x)

    def _parse_condition(self, row: Row, value: Any) -> None:
        if is_missing(value) or is_blank_cell(value):
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
        names = [*self.protocol.conditions, *(c.label for c in self.protocol.conditions.values())]
        if self.protocol.is_blinded:
            names.extend(self.protocol.blinded_codes.values())
        close = difflib.get_close_matches(text.lower(), [n.lower() for n in names], n=1, cutoff=0.75)
        hint = next((f"; did you mean '{n}'?" for n in names if close and n.lower() == close[0]), "")
        self.defect(row.line, "condition",
                    f"{show_value(text)} is not a declared condition{hint}; expected {expected}; the scheduled "
                    "condition is assumed", "unknown_condition")

    def _scale_adherence(self, rows: list[Row]) -> None:
        plain = [(r, r.adherence) for r in rows if r.adherence is not None
                 and not r.adherence.explicit_percent and not r.adherence.boolean
                 and not math.isnan(r.adherence.value)]
        over = [(r, a) for r, a in plain if a.value > 1]
        if not over:
            return
        r0, a0 = over[0]
        self.report.notes.append(
            f"adherence read as percent (values above 1 found, e.g. line {r0.line}: {fmt_g(a0.value)}): "
            "divided by 100")
        for _, a in plain:
            a.value = a.value / 100


    # ------------------------------------------------------------------ step: alignment
    def _align(self, pid: str | None, start: dt.date, allocation: tuple | None, rows: list[Row],
               cols: Columns) -> tuple[pd.DataFrame, pd.DataFrame]:
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
                        else f" (logged as {show_value(row.condition_raw)})"
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
    def _summarise(self, data: pd.DataFrame, table: Table) -> None:
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


def read_daily_log(source: Any, protocol: Protocol, *, start: Any = None, duplicates: str | None = None,
                   date_format: str | None = None, day_starts_at: str | dt.time = "04:00") -> TrialData:
    """A daily log (one row per day) read against ``protocol`` (see :func:`nof1.data.read_log`)."""
    return _Ingest(protocol, start=start, duplicates=duplicates, date_format=date_format,
                   day_starts_at=day_starts_at).run(source)


__all__ = ["read_daily_log"]
