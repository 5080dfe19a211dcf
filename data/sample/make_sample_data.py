"""Generate the bundled sample data from ``protocols/beetroot-juice-rls.yaml`` (``make sample-data``).

Writes, next to this script:

* ``beetroot_log.csv`` - a realistic blinded log of the whole trial (run-in + 8 periods, 126 days)
  with a few missing days, missed doses, one wrong-bottle deviation, low BP readings (one below
  the 90 mmHg alert), and a two-day severe headache;
* ``beetroot_log_messy.csv`` - the same trial as a messy spreadsheet export with planted defects;
* ``beetroot_app_export.csv`` - the same trial as a symptom-tracker app export (one row per entry,
  time stamps, several entries a day; read with ``protocols/beetroot-juice-rls-app.yaml``);
* ``planted_defects.json`` - every planted defect: physical line (header = 1), kind, column;
* ``series_log.csv`` - six participants, each with their own start and randomised sequence;
* ``true_parameters.json`` - the true parameters of every file (also in ``README.md``).

Everything is seeded: running it again gives byte-identical files.

Example:
    $ .venv/bin/python data/sample/make_sample_data.py
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import nof1
from nof1.models.exposure import exposure
from nof1.simulation import simulate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROTOCOL = ROOT / "protocols" / "beetroot-juice-rls.yaml"
SEED = 20261201
# Seed of the single-participant simulation: the first seed from SEED on for which the final
# log's naive steady-state (non-washout) severity difference lies within 0.15 of the true -1.2,
# so that the demo shows a typical trial rather than an unlucky one. The realised differences are
# written to true_parameters.json; the spread over seeds is what `nof1 design` shows.
LOG_SEED = SEED + 10

# True parameters of the single-participant log (beetroot minus placebo; see README.md).
EFFECT = {"severity": -1.2, "irls": -4.0, "sleep_hours": 0.3, "awakenings": math.log(0.75),
          "systolic_bp": -6.0, "headache": 0.3}
BASELINE = {"severity": 5.5, "irls": 20.0, "sleep_hours": 6.5, "awakenings": math.log(1.6),
            "systolic_bp": 128.0, "headache": -5.0}
SD = {"severity": 1.5, "irls": 3.0, "sleep_hours": 0.8, "awakenings": 0.3, "systolic_bp": 6.0,
      "headache": 0.5}
PHI = {"severity": 0.4, "irls": 0.4, "sleep_hours": 0.3, "awakenings": 0.3, "systolic_bp": 0.3,
       "headache": 0.3}
TAU = {"severity": 1.5, "irls": 1.5, "sleep_hours": 1.5, "awakenings": 1.5, "systolic_bp": 0.5,
       "headache": 0.5}
RESOLUTION = {"severity": 0.5, "irls": 1.0, "sleep_hours": 0.25, "systolic_bp": 1.0}
INTEGER_COLUMNS = ("irls", "systolic_bp")

# Planted events, by calendar day (1 = 2026-12-01; periods are 14 days after a 14-day run-in).
LOW_BP = {19: 101, 119: 98}                 # low but above the alert threshold
ALERT_BP = {72: 88}                         # below 90 mmHg: raises the safety alert
HEADACHE = {52: 7, 53: 8}                   # two consecutive days >= 7: raises the safety alert
HEADACHE_CAP = 4                            # other days are capped at 4 so the episode is the only alert
WRONG_BOTTLE_DAY = 80                       # a beetroot day on which the placebo bottle was taken
ADHERENCE = {34: 0.0, 115: 0.0, 60: 0.5}    # missed doses (0) and half a dose
N_MISSING = 4
NOTES = {
    1: "start of run-in",
    15: "first bottle today",
    34: "forgot the juice",
    52: "headache since the afternoon",
    53: "headache still bad; paracetamol",
    60: "spilled half the bottle",
    72: "lightheaded on standing after dinner; sat down and it passed",
    80: "took a bottle from the wrong box by mistake",
    115: "forgot the juice (travelling)",
}

# Manipulation check, covariate and blinding check of the single-participant log.
NO_STRIP = {"placebo": 1.0, "effect": 2.8, "sd": 0.6, "carryover_days": 0.5}   # 0-5 colour scale
STRESS = {"mean": 4.0, "per_severity_point": 0.5, "sd": 1.0}                    # 0-10
GUESS_DAYS = (7, 14)                          # days of each period on which the guess is asked
GUESS_PROBS = {"correct": 0.35, "wrong": 0.25, "dont_know": 0.40}

# Series of trials.
SERIES_N = 6
SERIES_EFFECT_MEAN, SERIES_EFFECT_SD = -1.0, 0.6
SERIES_START_OFFSETS = [0, 4, 9, 15, 22, 27]       # days after 2026-12-01
SERIES_IRLS_PER_POINT = 10.0 / 3.0                 # irls effect = 3.33 x severity effect (-1.2 -> -4)


def _round_to(x: np.ndarray, step: float, low: float, high: float) -> np.ndarray:
    return np.clip(np.round(np.round(x / step) * step, 10), low, high)


def beetroot_log(protocol: nof1.Protocol) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The clean single-participant log and its true parameters."""
    raw = simulate(protocol, outcome=list(EFFECT), effect=EFFECT, sd=SD, phi=PHI,
                   carryover_days=TAU, baseline=BASELINE, seed=LOG_SEED, codes=True)
    sched = protocol.schedule()
    days = sched["day"].to_numpy()
    codes = protocol.blinded_codes

    # what was actually taken: the wrong bottle on one day, missed or half doses on others
    taken = [None if pd.isna(c) else c for c in sched["condition"]]
    assert taken[WRONG_BOTTLE_DAY - 1] == "B", "the wrong-bottle day must be a beetroot day"
    taken[WRONG_BOTTLE_DAY - 1] = "A"
    adherence = np.where(sched["phase"] == "trial", 1.0, np.nan)
    for d, a in ADHERENCE.items():
        adherence[d - 1] = a
    u_sched = (sched["condition"] == "B").to_numpy(dtype=float)
    u_taken = np.array([t == "B" for t in taken], dtype=float) * np.nan_to_num(adherence, nan=0.0)

    log = raw.copy()
    for name, step in RESOLUTION.items():
        o = protocol.outcome(name)
        y = log[name].to_numpy(dtype=float)
        if name in EFFECT:       # the exposure follows what was taken (continuous outcomes)
            dx = exposure(u_taken, TAU[name]) - exposure(u_sched, TAU[name])
            y = y + EFFECT[name] * dx
        log[name] = _round_to(y, step, *o.value_range)
    for name in INTEGER_COLUMNS:
        log[name] = pd.array(log[name].to_numpy(), dtype="Int64")
    for d, v in {**LOW_BP, **ALERT_BP}.items():
        log.loc[d - 1, "systolic_bp"] = v
    log["headache"] = log["headache"].clip(upper=HEADACHE_CAP)
    for d, v in HEADACHE.items():
        log.loc[d - 1, "headache"] = v
    extra = _checks_and_covariate(sched, log, u_taken)
    for name in ("no_strip", "stress"):
        log[name] = pd.array(extra[name], dtype="Int64")
    log["condition"] = pd.array([None if t is None else codes[t] for t in taken], dtype="str")
    log["adherence"] = adherence
    log["guess"] = pd.array(extra["guess"], dtype="str")
    log["note"] = [NOTES.get(int(d), "") for d in days]
    log = log[["date", *EFFECT, "no_strip", "stress", "condition", "period", "adherence", "guess",
               "note"]]

    # a few whole days missing (never a planted day)
    rng = np.random.default_rng([SEED, 1])
    planted = set(LOW_BP) | set(ALERT_BP) | set(HEADACHE) | set(ADHERENCE) | set(NOTES) | {WRONG_BOTTLE_DAY}
    candidates = [int(d) for d in days if d > protocol.design.run_in_days and d not in planted
                  and d not in MESSY_DAYS.values()]
    missing_days = sorted(int(d) for d in rng.choice(candidates, size=N_MISSING, replace=False))
    log = log[~log.index.isin([d - 1 for d in missing_days])].reset_index(drop=True)
    log.attrs = {}

    truth = {
        "file": "beetroot_log.csv",
        "protocol": "protocols/beetroot-juice-rls.yaml",
        "seed": LOG_SEED,
        "model": "nof1.simulate (AR(1) errors, first-order carryover), then rounded and clipped; "
                 "continuous outcomes follow the exposure actually taken (wrong bottle, missed doses)",
        "headache_cap_outside_episode": HEADACHE_CAP,
        "allocation": "".join(protocol.sequence),
        "blinded_codes": codes,
        "outcomes": {
            name: {"type": protocol.outcome(name).type, "effect": EFFECT[name],
                   "baseline": BASELINE[name], "sd": SD[name], "phi": PHI[name],
                   "carryover_days": TAU[name], "resolution": RESOLUTION.get(name)}
            for name in EFFECT
        },
        "missing_dates": [_date(d) for d in missing_days],
        "wrong_bottle": {"date": _date(WRONG_BOTTLE_DAY), "scheduled": codes["B"], "taken": codes["A"]},
        "adherence": {_date(d): a for d, a in sorted(ADHERENCE.items())},
        "low_bp": {_date(d): v for d, v in sorted(LOW_BP.items())},
        "alert_bp": {_date(d): v for d, v in sorted(ALERT_BP.items())},
        "headache_episode": {_date(d): v for d, v in sorted(HEADACHE.items())},
        "realised_steady_state_difference": _realised(log, protocol),
        "no_strip": {**NO_STRIP, "model": "round(placebo + effect * x_t + N(0, sd)) clipped to 0-5, "
                     "x_t the exposure actually taken with time constant carryover_days"},
        "stress": {**STRESS, "model": "round(mean + per_severity_point * r_t + N(0, sd)) clipped to "
                   "0-10, r_t = severity - (baseline + effect * x_t): the day's severity noise, so "
                   "stress predicts severity but does not depend on the condition"},
        "guess": {"days_in_period": list(GUESS_DAYS), "probabilities": GUESS_PROBS},
    }
    return log, truth


def _checks_and_covariate(sched: pd.DataFrame, log: pd.DataFrame, u_taken: np.ndarray
                          ) -> dict[str, Any]:
    """The saliva nitric-oxide strip, the stress covariate and the blinding guesses (own stream,
    so that the six simulated outcomes do not change)."""
    rng = np.random.default_rng([SEED, 4])
    n = len(sched)
    x_strip = exposure(u_taken, NO_STRIP["carryover_days"])
    strip = NO_STRIP["placebo"] + NO_STRIP["effect"] * x_strip + rng.normal(0, NO_STRIP["sd"], n)
    x_sev = exposure(u_taken, TAU["severity"])
    resid = log["severity"].to_numpy(dtype=float) - (BASELINE["severity"] + EFFECT["severity"] * x_sev)
    stress = STRESS["mean"] + STRESS["per_severity_point"] * resid + rng.normal(0, STRESS["sd"], n)
    labels = {"correct": None, "wrong": None, "dont_know": "don't know"}
    guess: list[str | None] = [None] * n
    draws = rng.choice(list(GUESS_PROBS), size=n, p=list(GUESS_PROBS.values()))
    words = {"A": "placebo", "B": "beetroot"}
    for i, (phase, cond, dip) in enumerate(zip(sched["phase"], sched["condition"],
                                               sched["day_in_period"], strict=True)):
        if phase != "trial" or int(dip) not in GUESS_DAYS:
            continue
        kind = str(draws[i])
        if kind == "correct":
            guess[i] = words[cond]
        elif kind == "wrong":
            guess[i] = words["A" if cond == "B" else "B"]
        else:
            guess[i] = labels[kind]
    return {"no_strip": np.clip(np.round(strip), 0, 5).astype(int),
            "stress": np.clip(np.round(stress), 0, 10).astype(int), "guess": guess}


def _realised(log: pd.DataFrame, protocol: nof1.Protocol) -> dict[str, float]:
    """Naive mean difference (beetroot minus placebo code) on logged non-washout trial days."""
    sched = protocol.schedule()
    washout = dict(zip(sched["date"].dt.strftime("%Y-%m-%d"), sched["washout"], strict=True))
    codes = protocol.blinded_codes
    keep = (log["period"] > 0) & ~log["date"].map(washout).astype(bool)
    out = {}
    for name in EFFECT:
        y = log.loc[keep, name].astype(float)
        c = log.loc[keep, "condition"]
        out[name] = round(float(y[c == codes["B"]].mean() - y[c == codes["A"]].mean()), 3)
    return out


def _date(day: int) -> str:
    return (dt.date(2026, 12, 1) + dt.timedelta(days=day - 1)).isoformat()


def _day(date: str) -> int:
    return (dt.date.fromisoformat(date) - dt.date(2026, 12, 1)).days + 1


# Days of the clean log that the messy export damages (kept out of the missing days).
MESSY_DAYS = {
    "date_text": _day("2026-12-05"), "date_slash": _day("2026-12-07"), "date_compact": _day("2026-12-09"),
    "exact_duplicate": _day("2026-12-22"), "conflict": _day("2027-01-20"),
    "after_midnight": _day("2027-01-30"), "non_numeric": _day("2027-02-14"),
    "out_of_range": _day("2027-02-27"), "na_sleep": _day("2027-03-03"), "na_bp": _day("2027-03-04"),
    "non_integer": _day("2027-03-12"), "unknown_condition": _day("2027-03-18"),
}


def _cell(v: Any) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def messy_export(log: pd.DataFrame) -> tuple[str, list[dict[str, Any]]]:
    """The clean log as a messy spreadsheet export, and the list of planted defects."""
    rng = np.random.default_rng([SEED, 2])
    header = [*log.columns[:-1], "steps", "note"]       # an unknown column before the note
    rows: list[list[str]] = []
    for rec in log.to_dict("records"):
        cells = [_cell(rec[c]) for c in log.columns[:-1]]
        cells.append(str(int(rng.normal(6500, 1500))))
        cells.append(_cell(rec["note"]))
        rows.append(cells)
    col = {c: i for i, c in enumerate(header)}
    by_date = {r[0]: r for r in rows}

    def row_of(key: str) -> list[str]:
        return by_date[_date(MESSY_DAYS[key])]

    lines: list[tuple[str, list[str] | str]] = []       # (tag, cells or raw text)
    defects: list[dict[str, Any]] = []

    def add(kind: str, column: str | None, description: str) -> None:
        defects.append({"line": len(lines), "kind": kind, "column": column, "description": description})

    lines.append(("header", header))
    add("unknown_column", "steps", "column 'steps' (a phone step count) is not in the protocol")
    lines.append(("raw", "# exported from the RLS diary sheet 'log' on 2027-04-06"))
    add("comment_line", None, "a comment line after the header")
    for cells in rows:
        date = cells[0]
        day = _day(date)
        out = list(cells)
        if day == MESSY_DAYS["date_text"]:
            out[0] = "Dec 05, 2026"
        elif day == MESSY_DAYS["date_slash"]:
            out[0] = "2026/12/07"
        elif day == MESSY_DAYS["date_compact"]:
            out[0] = "20261209"
        elif day == MESSY_DAYS["after_midnight"]:
            out[0] = "2027-01-31 00:40"
        elif day == MESSY_DAYS["non_numeric"]:
            out[col["sleep_hours"]] = "bad"
        elif day == MESSY_DAYS["out_of_range"]:
            out[col["severity"]] = "14"
        elif day == MESSY_DAYS["na_sleep"]:
            out[col["sleep_hours"]] = "n/a"
        elif day == MESSY_DAYS["na_bp"]:
            out[col["systolic_bp"]] = "n/a"
        elif day == MESSY_DAYS["non_integer"]:
            out[col["awakenings"]] = "1.5"
        elif day == MESSY_DAYS["unknown_condition"]:
            out[col["condition"]] = "Q"
        if day == 15:                                    # a blank line between run-in and trial
            lines.append(("raw", ""))
            add("blank_line", None, "an empty line between the run-in and period 1")
        if day == MESSY_DAYS["conflict"]:
            first = list(out)                            # a typo, corrected on the next line
            v = float(out[col["severity"]])
            first[col["severity"]] = _cell(v + 3.0 if v <= 7.0 else v - 3.0)
            lines.append(("row", first))
        lines.append(("row", out))
        if day == MESSY_DAYS["date_text"]:
            add("normalised_date", "date", "'Dec 05, 2026' read as 2026-12-05")
        elif day == MESSY_DAYS["date_slash"]:
            add("normalised_date", "date", "'2026/12/07' read as 2026-12-07")
        elif day == MESSY_DAYS["date_compact"]:
            add("normalised_date", "date", "'20261209' read as 2026-12-09")
        elif day == MESSY_DAYS["after_midnight"]:
            add("time_shift", "date",
                "entry stamped 2027-01-31 00:40, before the 04:00 day start: counts for 2027-01-30")
        elif day == MESSY_DAYS["non_numeric"]:
            add("non_numeric", "sleep_hours", "'bad' is not a number")
        elif day == WRONG_BOTTLE_DAY:
            add("deviation", "condition",
                f"{date}: code {out[col['condition']]} logged on a day scheduled for the other code "
                "(the wrong bottle; also in beetroot_log.csv)")
        elif day == MESSY_DAYS["out_of_range"]:
            add("out_of_range", "severity", "14 is outside the range [0, 10]")
        elif day == MESSY_DAYS["non_integer"]:
            add("non_integer", "awakenings", "1.5 awakenings: a count must be a whole number")
        elif day == MESSY_DAYS["unknown_condition"]:
            add("unknown_condition", "condition",
                "condition 'Q' is not a blinded code of this protocol (Y or Z)")
        elif day == MESSY_DAYS["conflict"]:
            add("conflicting_duplicate", "severity",
                f"2027-01-20 logged twice (lines {len(lines) - 1} and {len(lines)}) with different "
                "severity; the later line is the correction (use duplicates='last')")
        if day == MESSY_DAYS["exact_duplicate"]:
            lines.append(("row", list(out)))
            add("exact_duplicate", None, f"line {len(lines)} repeats line {len(lines) - 1} exactly")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    text_lines: list[str] = []
    for tag, content in lines:
        if tag == "raw":
            text_lines.append(str(content))
        else:
            buf.seek(0)
            buf.truncate()
            writer.writerow(content)
            text_lines.append(buf.getvalue().rstrip("\n"))
    return "\n".join(text_lines) + "\n", defects


# The app export: the clean log as a symptom-tracker app writes it, one row per entry.
APP_NAMES = {   # the app's variable names -> the protocol's names (protocol log.names)
    "RLS severity": "severity", "IRLS total": "irls", "Sleep (h)": "sleep_hours",
    "Leg awakenings": "awakenings", "Blood pressure (systolic)": "systolic_bp",
    "Headache": "headache", "NO strip": "no_strip", "Stress": "stress", "Bottle": "condition",
    "Juice taken": "adherence", "Blinding guess": "guess", "Journal": "note",
}
APP_NA_DAY = _day("2027-02-02")      # an extra severity entry written as "n/a"


def app_export(log: pd.DataFrame) -> str:
    """The clean log as an app export: timestamps, several entries a day, a variable the protocol
    does not know (steps), one "n/a" entry, night entries after midnight (they belong to the
    evening before, ``day_starts: "04:00"``). Read with the ``log:`` section of
    ``protocols/beetroot-juice-rls-app.yaml`` it gives exactly the daily log's values."""
    rng = np.random.default_rng([SEED, 5])
    entries: list[tuple[str, str, str, str]] = []

    def add(date: dt.date, hhmm: str, var: str, value: str, unit: str = "") -> None:
        entries.append((f"{date.isoformat()} {hhmm}", var, value, unit))

    for rec in log.to_dict("records"):
        d = dt.date.fromisoformat(rec["date"])
        nxt = d + dt.timedelta(days=1)
        if not pd.isna(rec["sleep_hours"]):
            add(d, "07:30", "Sleep (h)", _cell(rec["sleep_hours"]), "h")
        if not pd.isna(rec["awakenings"]):
            add(d, "07:31", "Leg awakenings", _cell(rec["awakenings"]))
        if not pd.isna(rec["irls"]):
            add(d, "09:00", "IRLS total", _cell(rec["irls"]), "points")
        if not pd.isna(rec["headache"]):
            h = int(rec["headache"])
            add(d, "16:00", "Headache", str(max(h - 1, 0)) if h > 0 else "0")
            if h > 0:
                add(d, "21:45", "Headache", str(h))
        if isinstance(rec["condition"], str) and rec["condition"]:
            add(d, "18:00", "Bottle", rec["condition"])
        if not pd.isna(rec["adherence"]):
            add(d, "18:02", "Juice taken", f"{round(100 * float(rec['adherence']))}%")
        if not pd.isna(rec["systolic_bp"]):
            v = int(rec["systolic_bp"])
            add(d, "20:10", "Blood pressure (systolic)", str(v - 1), "mmHg")
            add(d, "20:14", "Blood pressure (systolic)", str(v + 1), "mmHg")
        if not pd.isna(rec["no_strip"]):
            add(d, "20:30", "NO strip", _cell(rec["no_strip"]), "colour 0-5")
        if not pd.isna(rec["stress"]):
            add(d, "21:00", "Stress", _cell(rec["stress"]), "0-10")
        if isinstance(rec["guess"], str) and rec["guess"]:
            add(d, "21:05", "Blinding guess", rec["guess"])
        add(d, "23:59", "Steps", str(int(rng.normal(6500, 1500))), "steps")
        if not pd.isna(rec["severity"]):
            v = float(rec["severity"])
            add(d, "22:30", "RLS severity", _cell(max(v - 1.0, 0.0)))
            add(nxt, "02:15", "RLS severity", _cell(v))           # the worst, after midnight
            add(nxt, "03:40", "RLS severity", _cell(max(v - 0.5, 0.0)))
            if _day(rec["date"]) == APP_NA_DAY:
                add(d, "23:10", "RLS severity", "n/a")
        if isinstance(rec["note"], str) and rec["note"]:
            add(d, "22:00", "Journal", rec["note"])
    entries.sort(key=lambda e: e[0])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["Date/Time", "Item", "Value", "Unit"])
    writer.writerows(entries)
    return buf.getvalue()


def series_log(protocol: nof1.Protocol) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Six participants, each with their own start date, allocation and true effect."""
    # the six original outcomes only: the simulator's random streams are numbered by outcome, so
    # the manipulation check and the covariate added later leave these data unchanged
    original = protocol.model_copy(update={"outcomes": [o for o in protocol.outcomes
                                                        if o.name in EFFECT]})
    rng = np.random.default_rng([SEED, 3])
    effects = rng.normal(SERIES_EFFECT_MEAN, SERIES_EFFECT_SD, size=SERIES_N).round(2)
    baselines = rng.normal(5.5, 1.0, size=SERIES_N).round(1)
    allocs = protocol.allocations()
    picks = rng.integers(0, len(allocs), size=SERIES_N)
    frames, people = [], {}
    for i in range(SERIES_N):
        pid = f"P{i + 1:02d}"
        start = dt.date(2026, 12, 1) + dt.timedelta(days=SERIES_START_OFFSETS[i])
        alloc = allocs[int(picks[i])]
        eff, base = float(effects[i]), float(baselines[i])
        irls_eff = round(eff * SERIES_IRLS_PER_POINT, 2)
        irls_base = round(base * 20.0 / 5.5, 1)
        f = simulate(
            original, outcome=["severity", "irls"],
            effect={"severity": eff, "irls": irls_eff}, sd={"severity": 1.5, "irls": 3.0},
            baseline={"severity": base, "irls": irls_base}, phi=0.4, carryover_days=1.5,
            missing=0.02, seed=SEED + 100 + i, start=start, participant=pid, allocation=alloc,
            resolution={"severity": 0.5, "irls": 1.0},
        )
        people[pid] = {"start": start.isoformat(), "allocation": "".join(alloc),
                       "severity_effect": eff, "severity_baseline": base,
                       "irls_effect": irls_eff, "irls_baseline": irls_base,
                       "missing_dates": f.attrs["nof1_simulation"]["dropped_dates"]}
        f.attrs = {}
        frames.append(f[["participant", "date", "severity", "irls", "condition", "period"]])
    out = pd.concat(frames, ignore_index=True)
    out["irls"] = pd.array(out["irls"].to_numpy(), dtype="Int64")
    truth = {
        "file": "series_log.csv",
        "effect_distribution": {"mean": SERIES_EFFECT_MEAN, "sd": SERIES_EFFECT_SD},
        "drawn_effect_mean": round(float(effects.mean()), 3),
        "common": {"sd": {"severity": 1.5, "irls": 3.0}, "phi": 0.4, "carryover_days": 1.5,
                   "missing": 0.02, "resolution": {"severity": 0.5, "irls": 1.0},
                   "conditions": "unblinded keys A (placebo) / B (beetroot)"},
        "participants": people,
    }
    return out, truth


def _to_csv(frame: pd.DataFrame) -> str:
    """CSV text with whole numbers written without '.0' and blanks for missing values."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(frame.columns)
    for rec in frame.itertuples(index=False):
        writer.writerow([_cell(v) for v in rec])
    return buf.getvalue()


def build() -> dict[str, str]:
    """Every sample file's name and text (what :func:`main` writes)."""
    protocol = nof1.load_protocol(PROTOCOL)
    log, truth_log = beetroot_log(protocol)
    messy, defects = messy_export(log)
    series, truth_series = series_log(protocol)
    return {
        "beetroot_log.csv": _to_csv(log),
        "beetroot_log_messy.csv": messy,
        "beetroot_app_export.csv": app_export(log),
        "planted_defects.json": json.dumps(defects, indent=2) + "\n",
        "series_log.csv": _to_csv(series),
        "true_parameters.json": json.dumps(
            {"beetroot_log": truth_log,
             "beetroot_log_messy": {"file": "beetroot_log_messy.csv", "source": "beetroot_log.csv",
                                    "planted_defects": "planted_defects.json"},
             "series_log": truth_series}, indent=2) + "\n",
    }


def main() -> None:
    for name, text in build().items():
        path = HERE / name
        size = len(text.encode("utf-8"))
        assert size < 100_000, f"{name} is {size} bytes; keep sample files under 100 KB"
        path.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {path.relative_to(ROOT)} ({size:,} bytes)")


if __name__ == "__main__":
    main()
