"""Entry-level (long-format) app exports: the protocol's log: section (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import nof1
from nof1.cli import app
from nof1.data import read_log
from nof1.errors import DataError
from nof1.protocol import Protocol, protocol_from_dict

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
BEETROOT = ROOT / "protocols" / "beetroot-juice-rls.yaml"
BEETROOT_APP = ROOT / "protocols" / "beetroot-juice-rls-app.yaml"

SMALL = {
    "schema_version": 1, "id": "small-app", "title": "Small app",
    "conditions": {"A": {"label": "Placebo", "role": "control", "code": "X"},
                   "B": {"label": "Juice", "role": "treatment", "code": "Y"}},
    "design": {"period_days": 3, "sequence": ["A", "B", "A", "B"], "start_date": "2026-03-01"},
    "outcomes": [
        {"name": "pain", "type": "continuous", "range": [0, 10], "better": "lower", "mcid": 1,
         "role": "primary"},
        {"name": "wakes", "type": "count", "better": "lower"},
    ],
    "log": {"format": "long", "date_column": "When", "variable_column": "What",
            "value_column": "Value",
            "names": {"Pain score": "pain", "Woke up": "wakes", "Bottle": "condition",
                      "Dose": "adherence", "Comment": "note"},
            "aggregate": {"pain": "max", "wakes": "sum"}, "day_starts": "04:00"},
}


def small(**log: object) -> Protocol:
    data = json.loads(json.dumps(SMALL))
    data["log"].update(log)
    return protocol_from_dict(data)


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def kinds(td, kind: str) -> list:  # type: ignore[no-untyped-def]
    return [d for d in td.report.defects if d.kind == kind]


def test_sample_app_export_gives_the_daily_log() -> None:
    daily = read_log(SAMPLE / "beetroot_log.csv", nof1.load_protocol(BEETROOT))
    app_td = read_log(SAMPLE / "beetroot_app_export.csv", nof1.load_protocol(BEETROOT_APP))
    cols = [o.name for o in daily.protocol.outcomes] + ["condition_taken", "adherence", "guess",
                                                        "note", "logged"]
    for c in cols:
        a, b = daily.data[c].astype(object), app_td.data[c].astype(object)
        assert all((x == y) or (pd.isna(x) and pd.isna(y)) for x, y in zip(a, b, strict=True)), c
    assert daily.data_hash == app_td.data_hash
    r = app_td.report
    text = (SAMPLE / "beetroot_app_export.csv").read_text().splitlines()
    assert r.rows_read == len(text) - 1 == r.rows_used + r.rows_dropped
    assert r.dropped_by_reason == {"unknown variable": 122}          # the app's step counts
    steps = [i + 1 for i, line in enumerate(text) if ",Steps," in line]
    assert sorted(r.dropped_lines) == steps
    warn = [d for d in kinds(app_td, "unknown_variable") if d.severity == "warning"]
    assert len(warn) == 1 and warn[0].line == steps[0] and "'Steps' (122 entries" in warn[0].message
    # every night entry after midnight is reported at its own line, for the evening before
    shifted = kinds(app_td, "time_shift")
    night = [i + 1 for i, line in enumerate(text) if line[11:13] in ("02", "03")]
    assert [d.line for d in shifted] == night
    first = shifted[0]
    assert text[first.line - 1].startswith("2026-12-02 02:15") and "2026-12-01" in first.message
    # the n/a entry is "not logged" at its line; aggregation decisions at their lines
    na = kinds(app_td, "not_logged")
    assert len(na) == 1 and text[na[0].line - 1] == "2027-02-02 23:10,RLS severity,n/a,"
    agg = [d for d in kinds(app_td, "aggregated") if d.column == "severity"]
    assert len(agg) == daily.data["severity"].notna().sum()
    d0 = agg[0]
    assert d0.line == 10 and "combined as max = 6.5" in d0.message and "lines 10, 12-13" in d0.message
    mapped = {d.message.split("'")[1]: d for d in kinds(app_td, "mapped_variable")}
    assert set(mapped) == {"RLS severity", "IRLS total", "Sleep (h)", "Leg awakenings",
                           "Blood pressure (systolic)", "Headache", "NO strip", "Stress", "Bottle",
                           "Juice taken", "Blinding guess", "Journal"}
    assert "read as outcome 'severity'" in mapped["RLS severity"].message
    dev = app_td.report.deviations
    assert len(dev) == 1 and text[dev[0]["line"] - 1] == "2027-02-18 18:00,Bottle,Y,"
    assert "long-format log: 1495 entries read as 122 days" in r.text()


def test_every_export_defect_is_reported_by_its_line(tmp_path: Path) -> None:
    p = small()
    lines = [
        "When,What,Value,Unit",                        # 1
        "2026-03-01 21:00,Pain score,4,",              # 2
        "2026-03-02 01:30,Pain score,6,",              # 3  after midnight: 2026-03-01
        "2026-03-01 22:00,Woke up,1,",                 # 4
        "2026-03-02 03:00,Woke up,2,",                 # 5  -> wakes 3 on 03-01
        "2026-03-02 20:00,Pain score,bad,",            # 6  non-numeric: dropped
        "2026-03-02 20:05,Pain score,14,",             # 7  out of range: dropped
        "2026-03-02 20:10,Pain score,n/a,",            # 8  not logged
        "2026-03-02 20:15,Pain score,3,",              # 9
        "2026-03-02 20:20,Mood,5,",                    # 10 unknown variable
        "03/04/2026 20:00,Pain score,2,",              # 11 ambiguous date: dropped (error)
        ",Pain score,2,",                              # 12 no date
        "2026-03-04 18:00,Bottle,Y,",                  # 13 code Y = B, as scheduled
        "2026-03-04 18:30,Bottle,X,",                  # 14 conflicting entries: the last (X = A) is used
        "2026-03-04 20:00,Pain score,5,",              # 15
        "",                                            # 16 blank
        "2026-05-01 20:00,Pain score,5,",              # 17 outside the trial
        "2026-03-05 20:00,Dose,50%,",                  # 18
        "2026-03-05 20:10,Pain score,2.5,",            # 19
        "2026-03-05 20:20,Woke up,1.5,",               # 20 non-integer count: dropped
        "2026-03-06 20:20,Comment,felt fine,",         # 21 a note only
    ]
    td = read_log(write(tmp_path, lines), p, duplicates=None)
    r = td.report
    assert r.rows_read == 20 and r.rows_used + r.rows_dropped == 20
    assert r.dropped_lines == {6: "bad value", 7: "bad value", 10: "unknown variable", 11: "bad date",
                               12: "no date", 16: "blank", 17: "outside the trial", 20: "bad value"}
    by_line = {(d.line, d.kind) for d in r.defects}
    for expected in [(3, "time_shift"), (5, "time_shift"), (6, "non_numeric"), (7, "out_of_range"),
                     (8, "not_logged"), (10, "unknown_variable"), (11, "ambiguous_date"),
                     (12, "missing_date"), (14, "conflicting_entries"), (16, "blank_line"),
                     (17, "out_of_trial"), (20, "non_integer"), (2, "aggregated"), (4, "aggregated"),
                     (2, "mapped_variable"), (14, "deviation")]:
        assert expected in by_line, expected
    assert not r.usable and [d.line for d in r.errors] == [11]      # the ambiguous date
    row = td.data.set_index(td.data["date"].dt.strftime("%Y-%m-%d"))
    assert row.loc["2026-03-01", "pain"] == 6 and row.loc["2026-03-01", "wakes"] == 3
    assert row.loc["2026-03-02", "pain"] == 3
    assert row.loc["2026-03-04", "condition_taken"] == "A"
    assert [d["line"] for d in r.deviations] == [14]
    assert row.loc["2026-03-05", "adherence"] == 0.5 and row.loc["2026-03-05", "pain"] == 2.5
    assert np.isnan(row.loc["2026-03-05", "wakes"])
    assert row.loc["2026-03-06", "note"] == "felt fine" and not row.loc["2026-03-06", "logged"]
    agg = next(d for d in r.defects if d.kind == "aggregated" and d.column == "wakes")
    assert "2 entries (lines 4-5: 1, 2) combined as sum = 3" in agg.message
    conflict = next(d for d in r.defects if d.kind == "conflicting_entries")
    assert "'Y' on line 13, 'X' on line 14" in conflict.message


def test_aggregations_first_last_mean_min(tmp_path: Path) -> None:
    lines = ["When,What,Value,Unit", "2026-03-01 20:00,Pain score,4,", "2026-03-01 21:00,Pain score,2,",
             "2026-03-01 19:00,Pain score,3,"]
    path = write(tmp_path, lines)
    expect = {"mean": 3.0, "max": 4.0, "min": 2.0, "sum": 9.0, "first": 3.0, "last": 2.0}
    for how, value in expect.items():
        td = read_log(path, small(aggregate={"pain": how}))
        assert td.data.loc[0, "pain"] == value, how
    td = read_log(path, small(aggregate={}))                  # default for continuous: mean
    assert td.data.loc[0, "pain"] == 3.0
    # a sum beyond the range is reported (at the day's last pain entry) and not used
    td = read_log(write(tmp_path, [*lines, "2026-03-01 22:00,Pain score,5,"]), small(aggregate={"pain": "sum"}))
    bad = [d for d in td.report.defects if d.kind == "out_of_range"]
    assert [d.line for d in bad] == [5] and "value 14 is outside the range" in bad[0].message
    assert np.isnan(td.data.loc[0, "pain"])
    late = small(day_starts="22:00")                          # 20:00 and 21:00 belong to 02-28
    td = read_log(write(tmp_path, lines[:1] + ["2026-03-02 21:00,Pain score,4,"]), late)
    assert td.data.loc[0, "pain"] == 4.0


def test_protocol_checks_the_log_section() -> None:
    with pytest.raises(Exception, match="'mean' would give values that are not whole numbers"):
        small(aggregate={"wakes": "mean"})
    with pytest.raises(Exception, match="log.names: 'Mood' maps to 'mood'"):
        small(names={"Mood": "mood"})
    with pytest.raises(Exception, match="log.day_starts"):
        small(day_starts="25:00")


def test_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no variable column .*'what'.*log.variable_column"):
        read_log(write(tmp_path, ["When,Item,Value", "2026-03-01,Pain score,3"]), small())


def test_wide_log_column_names_from_the_protocol(tmp_path: Path) -> None:
    data = json.loads(json.dumps(SMALL))
    data["log"] = {"names": {"Pain score": "pain", "Bottle": "condition"}}
    p = protocol_from_dict(data)
    td = read_log(write(tmp_path, ["date,Pain score,Bottle", "2026-03-01,3,X", "2026-03-02,4,"]), p)
    assert td.data.loc[:1, "pain"].tolist() == [3.0, 4.0]
    mapped = [d for d in td.report.defects if d.kind == "mapped_column"]
    assert [(d.line, d.column) for d in mapped] == [(1, "Pain score"), (1, "Bottle")]
    filled = [d for d in td.report.defects if d.kind == "condition_filled"]
    assert [d.line for d in filled] == [3] and "filled from the schedule, A" in filled[0].message


def test_analyze_on_the_app_export_gives_the_numbers_of_the_daily_csv() -> None:
    runner = CliRunner()
    args = ["--outcome", "no_strip,severity", "--methods", "bayes,gls_ar1,paired_periods",
            "--seed", "3", "--json", "--quiet"]
    a = runner.invoke(app, ["analyze", str(BEETROOT), str(SAMPLE / "beetroot_log.csv"), *args])
    b = runner.invoke(app, ["analyze", str(BEETROOT_APP), str(SAMPLE / "beetroot_app_export.csv"), *args])
    assert a.exit_code == 0 and b.exit_code == 0, (a.output[-500:], b.output[-500:])
    ja, jb = json.loads(a.stdout), json.loads(b.stdout)
    assert ja["outcomes"] == jb["outcomes"]
    for key in ("manipulation_checks", "covariates", "adherence", "blinding"):
        assert ja[key] == jb[key], key
    assert ja["reproducibility"]["data_hash"] == jb["reproducibility"]["data_hash"]
