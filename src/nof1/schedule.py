"""Schedules generated from a protocol: day-by-day table, iCalendar file and blank log sheet.

Example:
    >>> from nof1 import load_protocol
    >>> from nof1.schedule import build_schedule, schedule_to_ics, log_template
    >>> p = load_protocol("protocols/beetroot-juice-rls.yaml")          # doctest: +SKIP
    >>> build_schedule(p, start="2026-12-01").shape                      # doctest: +SKIP
    (126, 10)
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from nof1.errors import ProtocolError

if TYPE_CHECKING:
    from nof1.protocol import Protocol

SCHEDULE_COLUMNS = [
    "date", "day", "phase", "period", "pair", "condition", "label", "code", "day_in_period", "washout",
]


def _pair_numbers(protocol: Protocol, periods: list[tuple[str, int]]) -> list[int | None]:
    """Pair (or block) number of each period: consecutive groups holding every condition once."""
    k = len(protocol.conditions)
    n = len(periods)
    if n % k != 0:
        return [None] * n
    out: list[int | None] = []
    for g in range(n // k):
        group = [c for c, _ in periods[g * k:(g + 1) * k]]
        if sorted(group) != sorted(protocol.conditions):
            return [None] * n
        out.extend([g + 1] * k)
    return out


def build_schedule(
    protocol: Protocol, start: dt.date | str | None = None, allocation: tuple | None = None
) -> pd.DataFrame:
    """One row per day of the run-in and the trial (see :meth:`Protocol.schedule`)."""
    start_date = protocol.start_date(start)
    periods = protocol.periods_for(allocation)
    pairs = _pair_numbers(protocol, periods)
    codes = protocol.blinded_codes
    washout = protocol.design.washout_days
    rows: list[dict] = []
    day = 0
    for i in range(protocol.design.run_in_days):
        day += 1
        rows.append(dict(day=day, phase="run_in", period=0, pair=0, condition=None, label="Run-in",
                         code=None, day_in_period=i + 1, washout=False))
    for p_index, (cond, length) in enumerate(periods, start=1):
        for i in range(length):
            day += 1
            rows.append(dict(
                day=day, phase="trial", period=p_index, pair=pairs[p_index - 1], condition=cond,
                label=protocol.conditions[cond].label, code=codes[cond], day_in_period=i + 1,
                washout=i < washout,
            ))
    df = pd.DataFrame(rows)
    if start_date is not None:
        df.insert(0, "date", pd.to_datetime([start_date + dt.timedelta(days=d - 1) for d in df["day"]]))
    else:
        df.insert(0, "date", pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]"))
    df["pair"] = df["pair"].astype("Int64")
    df["period"] = df["period"].astype("int64")
    df["washout"] = df["washout"].astype(bool)
    return df[SCHEDULE_COLUMNS]


def period_table(protocol: Protocol, start: dt.date | str | None = None, *, unblind: bool = True) -> pd.DataFrame:
    """One row per period (run-in included): period, pair, condition, first and last date, days."""
    sched = build_schedule(protocol, start)
    rows = []
    for period, g in sched.groupby("period", sort=True):
        first = g.iloc[0]
        cond = first["condition"]
        rows.append({
            "period": int(period),
            "pair": first["pair"],
            "condition": (cond if unblind else first["code"]) if period else "run-in",
            "label": first["label"] if (unblind or not period) else f"code {first['code']}",
            "first_date": g["date"].iloc[0],
            "last_date": g["date"].iloc[-1],
            "first_day": int(g["day"].iloc[0]),
            "days": len(g),
            "washout_days": int(g["washout"].sum()),
        })
    return pd.DataFrame(rows)


def blinded_view(protocol: Protocol, schedule: pd.DataFrame) -> pd.DataFrame:
    """The schedule as the participant sees it: codes instead of conditions and labels."""
    out = schedule.copy()
    if protocol.is_blinded:
        out["condition"] = out["code"]
        out["label"] = [("Run-in" if ph == "run_in" else f"code {c}") for ph, c in zip(out["phase"], out["code"], strict=True)]
    return out


# --------------------------------------------------------------------------- iCalendar
def _ics_escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _ics_fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 section 3.1)."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts, cur = [], b""
    for ch in line:
        b = ch.encode("utf-8")
        if len(cur) + len(b) > (75 if not parts else 74):
            parts.append(cur.decode("utf-8"))
            cur = b""
        cur += b
    parts.append(cur.decode("utf-8"))
    return "\r\n ".join(parts)


def schedule_to_ics(protocol: Protocol, start: dt.date | str | None = None, *, unblind: bool = False) -> str:
    """An iCalendar file with one all-day event per period (and one for the run-in).

    Blinded protocols show codes unless ``unblind`` is true. Raises :class:`ProtocolError` when no
    start date is known.
    """
    start_date = protocol.start_date(start)
    if start_date is None:
        raise ProtocolError(
            "a calendar needs dates: give --start YYYY-MM-DD or design.start_date in the protocol",
            source=protocol.id,
        )
    table = period_table(protocol, start_date, unblind=unblind or not protocol.is_blinded)
    stamp = dt.datetime.combine(start_date, dt.time(0, 0)).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//nof1//N-of-1 trial schedule//EN",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_ics_escape(protocol.title)}",
    ]
    fp = protocol.fingerprint.split(":")[1][:12]
    n_periods = protocol.n_periods
    for row in table.itertuples(index=False):
        first = row.first_date.date()
        end = row.last_date.date() + dt.timedelta(days=1)
        if row.period == 0:
            summary = f"{protocol.title}: run-in ({row.days} days, usual routine, log every day)"
            desc = "Baseline days before period 1: log every outcome; no trial condition."
        else:
            cond = protocol.conditions.get(row.condition)
            pair = "" if pd.isna(row.pair) else f", pair {int(row.pair)}"
            summary = f"{protocol.title}: period {row.period}/{n_periods}{pair}: {row.label}"
            if cond is not None:
                desc = f"{cond.label}: {cond.description or ''}".strip()
            else:
                desc = f"Take the product marked '{row.condition}' (blinded)."
            if row.washout_days:
                desc += f" First {row.washout_days} days are washout; keep logging."
        if protocol.safety:
            desc += " Safety: " + " ".join(protocol.safety)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{protocol.id}-{fp}-p{row.period}@nof1",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{first.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{end.strftime('%Y%m%d')}",
            f"SUMMARY:{_ics_escape(summary)}",
            f"DESCRIPTION:{_ics_escape(desc)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"


# --------------------------------------------------------------------------- log template
def log_template(protocol: Protocol, start: dt.date | str | None = None) -> pd.DataFrame:
    """A blank log sheet: every date, a column per outcome, condition code, adherence, note.

    The ``due`` column names the weekly outcomes to fill in on that day; weekly outcomes are left
    blank on the other days.
    """
    sched = build_schedule(protocol, start)
    if sched["date"].isna().all():
        raise ProtocolError(
            "a log sheet needs dates: give --start YYYY-MM-DD or design.start_date in the protocol",
            source=protocol.id,
        )
    out = pd.DataFrame({
        "date": sched["date"].dt.strftime("%Y-%m-%d"),
        "period": sched["period"],
        "condition": [c if c is not None and not pd.isna(c) else "" for c in blinded_view(protocol, sched)["condition"]],
    })
    due: list[str] = [""] * len(sched)
    lengths = sched.groupby("period")["day"].transform("size")
    for o in protocol.outcomes:
        out[o.name] = ""
        if o.schedule == "weekly":
            for i, (dip, n) in enumerate(zip(sched["day_in_period"], lengths, strict=True)):
                if dip in protocol.measure_days(o, int(n)):
                    due[i] = (due[i] + " " + o.name).strip()
    out["adherence"] = ""
    out["note"] = ""
    out["due"] = due
    return out
