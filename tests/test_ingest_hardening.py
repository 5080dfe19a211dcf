"""Logs with nothing usable in them, and cells that are not what they seem (issue 19, items 5, 7)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nof1
from nof1.cli import main
from nof1.ingest import MISSING_TOKENS
from nof1.protocol import Protocol

START = dt.date(2026, 1, 1)
PROTOCOL_TEXT = """\
schema_version: 1
id: tiny
title: Tiny
conditions:
  A: {label: Placebo, role: control}
  B: {label: Juice, role: treatment}
design:
  period_days: 7
  sequence: [A, B, A, B]
  start_date: 2026-01-01
outcomes:
  - {name: severity, type: continuous, range: [0, 10], better: lower, mcid: 1, role: primary}
  - {name: took_walk, type: binary, better: higher, role: secondary}
"""


@pytest.fixture()
def protocol_path(tmp_path: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL_TEXT, encoding="utf-8")
    return path


def _log(tmp_path: Path, rows: list[str], header: str = "date,severity") -> Path:
    path = tmp_path / "log.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _dates(fmt: str = "%Y-%m-%d") -> list[str]:
    return [(START + dt.timedelta(days=i)).strftime(fmt) for i in range(28)]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# --------------------------------------------------------------------------- item 5
CASES = {
    "header only": ([], "no usable day of the primary outcome 'severity': the log has no rows below its header"),
    "two-digit years": ([f"{d},{i % 7}" for i, d in enumerate(_dates("%d/%m/%y"))],
                        "no usable day of the primary outcome 'severity': all 28 rows were dropped "
                        "(28 bad date); e.g. line 2, column 'date': date '01/01/26' has a two-digit year"),
    "every value 1,000": ([f'{d},"1,000"' for d in _dates()],
                          "no usable day of the primary outcome 'severity': none of its 28 values could be "
                          "read (28 ambiguous number); e.g. line 2, column 'severity': '1,000' could be 1000"),
    "all blank": ([f"{d}," for d in _dates()],
                  "no usable day of the primary outcome 'severity': every 'severity' cell of the 28 rows "
                  "used is blank"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_log_without_a_usable_primary_day_is_not_usable(tmp_path: Path, protocol_path: Path, capsys,
                                                          case: str) -> None:
    rows, message = CASES[case]
    log = _log(tmp_path, rows)
    td = nof1.read_log(log, nof1.load_protocol(protocol_path))
    assert not td.report.usable
    assert any(message in str(d) for d in td.report.errors), [str(d) for d in td.report.errors]
    assert "NOT usable" in td.report.text()
    code, out, _ = run(capsys, "validate", str(protocol_path), str(log))
    assert code == 1 and message in out
    code, _, err = run(capsys, "analyze", str(protocol_path), str(log), "--quiet")
    assert code == 1 and message in err and "Traceback" not in err


def test_a_missing_primary_column_is_named(tmp_path: Path, protocol_path: Path) -> None:
    log = _log(tmp_path, [f"{d},1" for d in _dates()], header="date,took_walk")
    td = nof1.read_log(log, nof1.load_protocol(protocol_path))
    assert [d.message for d in td.report.errors] == [
        "no usable day of the primary outcome 'severity': no column for outcome 'severity'"]


def test_a_run_in_pilot_log_stays_usable(tmp_path: Path) -> None:
    """Values only in the run-in (a pilot for nof1 design --pilot): usable days exist."""
    p = nof1.protocol_from_text(PROTOCOL_TEXT.replace("  sequence:", "  run_in_days: 7\n  sequence:"))
    log = _log(tmp_path, [f"{d},{i % 5}" for i, d in enumerate(_dates()[:7])])
    assert nof1.read_log(log, p).report.usable


def test_analyze_exits_1_when_the_primary_has_no_available_method(tmp_path: Path, protocol_path: Path,
                                                                   capsys) -> None:
    log = _log(tmp_path, [f"{d},5" for d in _dates()])
    report = tmp_path / "r.html"
    code, out, err = run(capsys, "analyze", str(protocol_path), str(log), "--quiet", "--report", str(report))
    assert code == 1
    assert "not available: every value under Juice and Placebo is 5" in out     # the table is shown
    assert ("error: no method could analyse the primary outcome 'severity' (every value under Juice "
            "and Placebo is 5: there is no day-to-day variation to estimate uncertainty from)") in err
    assert not report.exists()
    code, out, _ = run(capsys, "analyze", str(protocol_path), str(log), "--quiet", "--json")
    assert code == 1 and '"available": false' in out


# --------------------------------------------------------------------------- item 7: cells
def test_literal_nan_is_a_warning_like_inf(tmp_path: Path, protocol_path: Path) -> None:
    values = ["3", "NaN", "nan", "inf", "-Infinity"] + [str(i % 7) for i in range(23)]
    log = _log(tmp_path, [f"{d},{v}" for d, v in zip(_dates(), values, strict=True)])
    td = nof1.read_log(log, nof1.load_protocol(protocol_path))
    found = {d.line: d for d in td.report.defects if d.column == "severity"}
    assert set(found) == {3, 4, 5, 6}
    for line in (3, 4):
        assert found[line].severity == "warning" and found[line].kind == "non_numeric"
        assert "is not a number" in found[line].message and "treated as missing" in found[line].message
    assert found[5].severity == found[3].severity
    assert td.report.usable and np.isnan(td.data["severity"].iloc[1:5]).all()


def test_na_words_are_not_logged_not_warnings(tmp_path: Path, protocol_path: Path) -> None:
    # Missing-value words are reported by line as "not logged" (issue 15), never as bad numbers.
    values = ["NA", "n/a", "", "-"] + [str(i % 7) for i in range(24)]
    log = _log(tmp_path, [f"{d},{v}" for d, v in zip(_dates(), values, strict=True)])
    td = nof1.read_log(log, nof1.load_protocol(protocol_path))
    sev = [d for d in td.report.defects if d.column == "severity"]
    assert [d.line for d in sev] == [2, 3, 5]  # the blank cell of a one-outcome row is an empty row
    assert all(d.kind == "not_logged" and d.severity == "info" for d in sev)
    assert td.report.usable and np.isnan(td.data["severity"].iloc[:4]).all()


def test_boolean_dataframe_columns(protocol_path: Path) -> None:
    p: Protocol = nof1.load_protocol(protocol_path)
    frame = pd.DataFrame({"date": pd.date_range(START, periods=28),
                          "severity": [True, False] * 14, "took_walk": [True, False] * 14})
    td = nof1.read_log(frame, p)
    sev = [d for d in td.report.defects if d.column == "severity" and d.line is not None]
    assert len(sev) == 28 and all(d.severity == "warning" for d in sev)
    assert "True is a yes/no value, not a number" in sev[0].message
    assert td.data["severity"].isna().all()
    # a binary outcome: True/False are its values, and the report says how they were read
    assert td.data["took_walk"].iloc[:2].tolist() == [1.0, 0.0]
    assert not [d for d in td.report.defects if d.column == "took_walk"]
    assert any("took_walk: True/False read as 1/0" in n for n in td.report.notes)


# --------------------------------------------------------------------------- the property
CELLS = st.one_of(
    st.sampled_from(["", "NA", "n/a", "-", "nan", "NaN", "NAN", " nan ", "inf", "-inf", "Infinity", "1,000",
                     "1e400", "five", "4.5", "4,5", "11", "-1", "true", "yes", "0x10", "1_000"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-20, 20).map(str),
)


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(CELLS, min_size=28, max_size=28))
def test_property_no_value_is_lost_without_a_word(tmp_path_factory, cells: list[str]) -> None:
    """Every severity cell that is neither a number in range nor a declared missing-value word
    (blank, NA, n/a, ...) has a defect at its line; a log is usable only with a usable day."""
    folder = tmp_path_factory.mktemp("cells")
    p = nof1.protocol_from_text(PROTOCOL_TEXT)
    log = _log(folder, [f'{d},"{c}"' for d, c in zip(_dates(), cells, strict=True)])
    td = nof1.read_log(log, p)
    lines = {d.line for d in td.report.defects if d.column == "severity"}
    values = td.data["severity"].to_numpy()
    for i, cell in enumerate(cells):
        silent_ok = cell.strip().lower() in MISSING_TOKENS - {"nan"}
        if np.isnan(values[i]) and not silent_ok:
            assert i + 2 in lines, (cell, [str(d) for d in td.report.defects])
    assert td.report.usable == bool(np.isfinite(values).any())
