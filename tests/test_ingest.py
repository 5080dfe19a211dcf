"""read_log: a log in, aligned to the protocol, nothing lost (issue 3)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nof1
from nof1.data import DataReport, Defect, TrialData, read_log
from nof1.errors import DataError
from nof1.protocol import Protocol, load_protocol
from nof1.schedule import SCHEDULE_COLUMNS, build_schedule, log_template

ROOT = Path(__file__).resolve().parents[1]
BEETROOT = ROOT / "protocols" / "beetroot-juice-rls.yaml"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "logs"

SMALL = {
    "schema_version": 1, "id": "small", "title": "Small",
    "conditions": {"A": {"label": "Placebo", "role": "control"},
                   "B": {"label": "Juice", "role": "treatment"}},
    "design": {"period_days": 3, "sequence": ["A", "B", "A", "B"], "start_date": "2026-03-01"},
    "outcomes": [
        {"name": "pain", "type": "continuous", "range": [0, 10], "better": "lower", "mcid": 1,
         "role": "primary"},
        {"name": "wakes", "type": "count", "better": "lower"},
        {"name": "mood", "type": "ordinal", "range": [1, 5], "better": "higher"},
        {"name": "nausea", "type": "binary", "better": "lower"},
    ],
}
HEADER = "date,pain,wakes,mood,nausea,condition,period,adherence,note"


def small(**design: object) -> Protocol:
    spec = json.loads(json.dumps(SMALL))
    spec["design"].update(design)
    spec["design"] = {k: v for k, v in spec["design"].items() if v is not None}
    return Protocol.model_validate(spec)


@pytest.fixture(scope="module")
def p() -> Protocol:
    return small()


@pytest.fixture(scope="module")
def beetroot() -> Protocol:
    return load_protocol(BEETROOT)


def clean_rows(n: int = 12, start: str = "2026-03-01") -> list[str]:
    """One line per day of the small protocol: pain = day index, condition as scheduled."""
    seq = "AAABBBAAABBB"
    d0 = dt.date.fromisoformat(start)
    return [f"{d0 + dt.timedelta(days=i)},{i % 10},{i % 3},{1 + i % 5},{i % 2},{seq[i]},{i // 3 + 1},1,"
            for i in range(n)]


def write(tmp_path: Path, lines: list[str] | str, name: str = "log.csv", encoding: str = "utf-8") -> Path:
    text = lines if isinstance(lines, str) else "\n".join(lines) + "\n"
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def kinds(td: TrialData, kind: str) -> list[Defect]:
    return [d for d in td.report.defects if d.kind == kind]


def only(td: TrialData, kind: str) -> Defect:
    found = kinds(td, kind)
    assert len(found) == 1, f"expected one {kind} defect, got {found}"
    return found[0]


def row(td: TrialData, date: str) -> pd.Series:
    hit = td.data[td.data["date"] == pd.Timestamp(date)]
    assert len(hit) == 1
    return hit.iloc[0]


def identity(td: TrialData) -> None:
    r = td.report
    assert r.rows_read == r.rows_used + r.rows_dropped
    assert sum(r.dropped_by_reason.values()) == r.rows_dropped


# =========================================================================== clean logs
def test_clean_log_aligns_every_day(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, [HEADER, *clean_rows()]), p)
    r = td.report
    assert r.usable and r.defects == []
    assert (r.rows_read, r.rows_used, r.rows_dropped) == (12, 12, 0)
    assert (r.days_expected, r.days_logged, r.days_missing) == (12, 12, 0)
    assert r.expected_by_condition == {"A": 6, "B": 6}
    assert r.missing_by_condition == {"A": 0, "B": 0}
    d = td.data
    assert list(d.columns) == [*SCHEDULE_COLUMNS, "pain", "wakes", "mood", "nausea",
                               "condition_taken", "adherence", "note", "logged"]
    assert len(d) == 12 and d["logged"].all()
    assert d["pain"].tolist() == [float(i % 10) for i in range(12)]
    assert d["date"].iloc[0] == pd.Timestamp("2026-03-01") and d["day"].tolist() == list(range(1, 13))
    assert d["condition_taken"].tolist() == list("AAABBBAAABBB")
    assert all(d[c].dtype == float for c in ("pain", "wakes", "mood", "nausea", "adherence"))
    assert td.start == dt.date(2026, 3, 1) and td.source == str(tmp_path / "log.csv")
    assert r.adherence["mean_by_condition"] == {"A": 1.0, "B": 1.0} and r.adherence["days_below_1"] == 0
    assert td.extra_columns is not None and td.extra_columns.shape == (12, 0)


def test_read_log_is_the_public_entry_point(tmp_path: Path, p: Protocol) -> None:
    path = write(tmp_path, [HEADER, *clean_rows()])
    assert nof1.read_log is read_log
    td = nof1.read_log(str(path), SMALL_PATH(tmp_path))
    assert td.report.rows_used == 12


def SMALL_PATH(tmp_path: Path) -> Path:  # noqa: N802 - reads like a constant at the call site
    path = tmp_path / "small.json"
    path.write_text(json.dumps(SMALL))
    return path


def test_start_is_inferred_from_the_earliest_date_when_unknown(tmp_path: Path) -> None:
    p = small(start_date=None)
    lines = [HEADER, *clean_rows(start="2026-05-10")[3:], *clean_rows(start="2026-05-10")[:1]]
    td = read_log(write(tmp_path, lines), p)
    assert td.start == dt.date(2026, 5, 10)
    assert td.data["date"].iloc[0] == pd.Timestamp("2026-05-10")
    assert any("inferred as 2026-05-10" in n and "line 11" in n for n in td.report.notes)
    assert td.report.days_logged == 10
    # an explicit start wins (and days before it are outside the trial)
    td2 = read_log(write(tmp_path, lines), p, start="2026-05-11")
    assert td2.start == dt.date(2026, 5, 11)
    assert only(td2, "out_of_trial").line == 11


def test_no_dates_and_no_start_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no valid date"):
        read_log(write(tmp_path, [HEADER, "someday,1,,,,,,,"]), small(start_date=None))


# =========================================================================== dates
@pytest.mark.parametrize("text", [
    "Mar 2, 2026", "March 2 2026", "2 March 2026", "2 Mar 2026", "02-Mar-2026", "Monday, 2 March 2026",
    "Mar 2nd, 2026", "2026/03/02", "2026.03.02", "20260302", "2026-3-2",
])
def test_unambiguous_dates_are_normalised_and_reported(tmp_path: Path, p: Protocol, text: str) -> None:
    cell = f'"{text}"' if "," in text else text
    td = read_log(write(tmp_path, [HEADER, "2026-03-01,1,,,,,,,", f"{cell},7,,,,,,,"]), p)
    assert row(td, "2026-03-02")["pain"] == 7.0
    assert td.report.normalised_dates == [
        {"line": 3, "value": text, "date": "2026-03-02", "reason": "format"}]
    assert only(td, "normalised_date").line == 3 and td.report.usable


def test_unquoted_month_name_date_in_a_comma_file_is_rejoined(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, [HEADER, "Mar 3, 2026,4,1,2,0,A,1,1,"]), p)
    r = row(td, "2026-03-03")
    assert (r["pain"], r["wakes"], r["mood"], r["nausea"]) == (4.0, 1.0, 2.0, 0.0)
    assert td.report.normalised_dates[0]["value"] == "Mar 3, 2026"
    assert kinds(td, "malformed_row") == []


def test_ambiguous_day_month_date_is_an_error_with_a_hint(tmp_path: Path, p: Protocol) -> None:
    path = write(tmp_path, [HEADER, "2026-03-01,1,,,,,,,", "02/03/2026,5,,,,,,,"])
    td = read_log(path, p)
    d = only(td, "ambiguous_date")
    assert (d.line, d.column, d.severity) == (3, "date", "error")
    assert "'02/03/2026'" in d.message and "2 March 2026 or 3 February 2026" in d.message
    assert "date_format='%d/%m/%Y'" in d.message and "--date-format" in d.message
    assert not td.report.usable and td.report.dropped_by_reason == {"ambiguous date": 1}
    td2 = read_log(path, p, date_format="%d/%m/%Y")
    assert td2.report.usable and row(td2, "2026-03-02")["pain"] == 5.0
    assert td2.report.normalised_dates[0]["line"] == 3
    td3 = read_log(path, p, date_format="%m/%d/%Y")           # 3 February: before the trial
    assert only(td3, "out_of_trial").line == 3


def test_ambiguous_date_hint_names_the_order_other_rows_prove(tmp_path: Path) -> None:
    p = small(period_days=5)
    td = read_log(write(tmp_path, [HEADER, "13/03/2026,1,,,,,,,", "02/03/2026,5,,,,,,,"]), p)
    d = only(td, "ambiguous_date")
    assert d.line == 3 and "day/month (line 2: '13/03/2026')" in d.message
    assert "--date-format '%d/%m/%Y'" in d.message
    assert row(td, "2026-03-13")["pain"] == 1.0            # 13/03 itself is unambiguous


@pytest.mark.parametrize(("text", "needle"), [
    ("yesterday", "cannot read date 'yesterday'; expected YYYY-MM-DD"),
    ("2026-02-30", "does not exist"),
    ("02/03/26", "two-digit year"),
    ("3026-03-02", "implausible year 3026"),
    ("2026-03-02 25:61", "not a time of day"),
])
def test_unparseable_dates_are_dropped_with_the_value_quoted(tmp_path: Path, p: Protocol, text: str,
                                                            needle: str) -> None:
    td = read_log(write(tmp_path, [HEADER, "2026-03-01,1,,,,,,,", "# note", f"{text},5,,,,,,,"]), p)
    bad = [d for d in td.report.defects if d.column == "date" and d.severity == "warning"]
    assert len(bad) == 1 and bad[0].line == 4 and needle in bad[0].message
    assert bad[0].kind == "unparseable_date" and td.report.usable
    assert td.report.rows_dropped == 2 and td.report.rows_used == 1
    identity(td)


def test_row_without_a_date_is_dropped(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, [HEADER, ",5,,,,,,,lost"]), p)
    d = only(td, "missing_date")
    assert d.line == 2 and "no date" in d.message and td.report.dropped_by_reason == {"no date": 1}


def test_date_format_that_is_not_a_date_format_is_rejected(p: Protocol, tmp_path: Path) -> None:
    path = write(tmp_path, [HEADER, *clean_rows(2)])
    with pytest.raises(DataError, match="does not name a full date"):
        read_log(path, p, date_format="%H:%M")
    with pytest.raises(DataError, match="day_starts_at '25:00'"):
        read_log(path, p, day_starts_at="25:00")
    with pytest.raises(DataError, match="start 'soon' is not an ISO date"):
        read_log(path, p, start="soon")


def test_time_stamps_belong_to_the_day_that_started_before_them(tmp_path: Path, p: Protocol) -> None:
    lines = [HEADER, "2026-03-02 01:30,1,,,,,,,", "2026-03-02T23:10,2,,,,,,,", "2026-03-04 4:00,3,,,,,,,",
             "2026-03-05T03:59:59,4,,,,,,,", "2026-03-07 1:15 PM,5,,,,,,,"]
    td = read_log(write(tmp_path, lines), p)
    assert row(td, "2026-03-01")["pain"] == 1.0
    assert row(td, "2026-03-02")["pain"] == 2.0
    assert row(td, "2026-03-04")["pain"] == 3.0           # exactly 04:00 starts the day
    assert row(td, "2026-03-04")["logged"] and row(td, "2026-03-04")["pain"] == 3.0
    assert np.isnan(row(td, "2026-03-05")["pain"])        # 03:59:59 belongs to 4 March ...
    shifted = kinds(td, "time_shift")
    assert [d.line for d in shifted] == [2, 5]
    assert "counted for the previous day, 2026-03-01" in shifted[0].message
    assert row(td, "2026-03-07")["pain"] == 5.0
    assert [x["line"] for x in td.report.normalised_dates if "previous day" in x["reason"]] == [2, 5]
    # a later start of day moves more entries back
    td2 = read_log(write(tmp_path, lines), p, day_starts_at="06:00")
    assert row(td2, "2026-03-03")["pain"] == 3.0
    td3 = read_log(write(tmp_path, lines), p, day_starts_at=dt.time(1, 0))
    assert row(td3, "2026-03-02")["pain"] == 1.0


def test_all_midnight_stamps_are_plain_dates(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, [HEADER, "2026-03-01 00:00:00,1,,,,,,,", "2026-03-02 00:00:00,2,,,,,,,"]), p)
    assert row(td, "2026-03-01")["pain"] == 1.0 and row(td, "2026-03-02")["pain"] == 2.0
    assert kinds(td, "time_shift") == [] and any("00:00" in n for n in td.report.notes)


def test_dates_outside_the_trial_are_dropped(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, [HEADER, "2026-02-28,1,,,,,,,", "2026-03-12,2,,,,,,,",
                                   "2026-03-13,3,,,,,,,"]), p)
    out = kinds(td, "out_of_trial")
    assert [d.line for d in out] == [2, 4]
    assert "2026-02-28 is outside the trial (2026-03-01 to 2026-03-12)" in out[0].message
    assert row(td, "2026-03-12")["pain"] == 2.0 and td.report.rows_dropped == 2


# =========================================================================== duplicates
def test_exact_duplicate_rows_are_dropped_and_reported(tmp_path: Path, p: Protocol) -> None:
    rows = clean_rows()
    td = read_log(write(tmp_path, [HEADER, *rows[:5], rows[4], *rows[5:]]), p)
    d = only(td, "exact_duplicate")
    assert d.line == 7 and "exact duplicate of line 6" in d.message and d.severity == "warning"
    assert td.report.usable and td.report.rows_read == 13 and td.report.rows_used == 12
    identity(td)


def test_conflicting_duplicates_make_the_log_unusable_without_a_policy(tmp_path: Path, p: Protocol) -> None:
    lines = [HEADER, "2026-03-01,1,,,,,,,", "2026-03-02,2,0,,,,,,first", "2026-03-02,4,0,,,,,,second",
             "2026-03-02,9,,,,,,,third"]
    path = write(tmp_path, lines)
    td = read_log(path, p)
    errs = kinds(td, "conflicting_duplicate")
    assert [d.line for d in errs] == [4, 5] and all(d.severity == "error" for d in errs)
    assert "2026-03-02 is logged more than once with different values (lines 3, 4, 5: pain 2 vs 4 vs 9)" \
        in errs[0].message
    assert "duplicates='first', 'last' or 'mean'" in errs[0].message and "--duplicates" in errs[0].message
    assert not td.report.usable and row(td, "2026-03-02")["pain"] == 2.0
    identity(td)
    last = read_log(path, p, duplicates="last")
    assert last.report.usable and row(last, "2026-03-02")["pain"] == 9.0
    assert row(last, "2026-03-02")["note"] == "third"
    assert all(d.severity == "warning" for d in kinds(last, "conflicting_duplicate"))
    assert "keeps line 5" in kinds(last, "conflicting_duplicate")[0].message
    assert (last.report.rows_used, last.report.rows_dropped) == (2, 2)
    first = read_log(path, p, duplicates="first")
    assert row(first, "2026-03-02")["pain"] == 2.0 and row(first, "2026-03-02")["wakes"] == 0.0
    mean = read_log(path, p, duplicates="mean")
    assert row(mean, "2026-03-02")["pain"] == pytest.approx(5.0)
    assert row(mean, "2026-03-02")["note"] == "first | second | third"
    assert (mean.report.rows_used, mean.report.rows_dropped) == (4, 0)
    with pytest.raises(DataError, match="duplicates='median' is not a policy"):
        read_log(path, p, duplicates="median")  # type: ignore[arg-type]


def test_rows_that_complement_each_other_are_merged(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, [HEADER, "2026-03-01,3,,,,,,,", "2026-03-01,,2,4,,,,,"]), p)
    d = only(td, "merged_rows")
    assert d.line == 3 and d.severity == "info" and td.report.usable
    r = row(td, "2026-03-01")
    assert (r["pain"], r["wakes"], r["mood"]) == (3.0, 2.0, 4.0)
    assert td.report.rows_used == 2


# =========================================================================== lines and columns
def test_blank_and_comment_lines_are_counted_with_physical_line_numbers(tmp_path: Path, p: Protocol) -> None:
    text = (f"# exported by my diary app\n{HEADER}\n2026-03-01,1,,,,,,,\n\n# paused\n"
            '2026-03-02,2,,,,,,,"a note\nover two lines"\n,,,,,,,,\n2026-03-03,bad,,,,,,,\n')
    td = read_log(write(tmp_path, text), p)
    r = td.report
    assert [(d.line, d.kind) for d in r.defects if d.severity == "info" and d.line
            and d.kind not in ("not_logged", "condition_filled")] == [
        (1, "comment_line"), (4, "blank_line"), (5, "comment_line"), (8, "blank_line")]
    assert only(td, "non_numeric").line == 9
    assert row(td, "2026-03-02")["note"] == "a note\nover two lines"
    assert (r.rows_read, r.rows_used, r.rows_dropped) == (7, 3, 4)
    assert r.dropped_by_reason == {"comment": 2, "blank": 2}
    assert "7 read = 3 used + 4 dropped" in r.text()


def test_columns_match_case_insensitively_and_template_columns_are_allowed(tmp_path: Path, p: Protocol) -> None:
    header = " Date ,PAIN,Wakes , mood,Nausea,Condition,Period,Adherence,Notes,day,phase,pair,due,label,code"
    td = read_log(write(tmp_path, [header, "2026-03-01,2,1,3,0,a,1,1,fine,1,trial,1,,Placebo,A"]), p)
    assert td.report.defects == [] or all(d.kind == "missing_days" for d in td.report.defects)
    r = row(td, "2026-03-01")
    assert (r["pain"], r["wakes"], r["mood"], r["nausea"], r["note"]) == (2.0, 1.0, 3.0, 0.0, "fine")


def test_unknown_columns_are_kept_aside_and_reported_once(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, ["date,pian,weather,pain", "2026-03-01,3,sunny,2", "2026-03-02,4,,3"]), p)
    unknown = kinds(td, "unknown_column")
    assert [(d.line, d.column) for d in unknown] == [(1, "pian"), (1, "weather")]
    assert "did you mean 'pain'?" not in unknown[0].message          # pain is present
    assert "TrialData.extra_columns" in unknown[1].message
    assert td.report.unknown_columns == ["pian", "weather"]
    extra = td.extra_columns
    assert list(extra.columns) == ["pian", "weather"] and extra.index.equals(td.data.index)
    assert extra.loc[0, "weather"] == "sunny" and extra.loc[1, "pian"] == "4"
    assert pd.isna(extra.loc[1, "weather"])
    td2 = read_log(write(tmp_path, ["date,pian,wakes", "2026-03-01,3,1"]), p)
    assert "did you mean 'pain'?" in only(td2, "unknown_column").message
    missing = {d.column: d for d in kinds(td2, "missing_column")}
    assert set(missing) == {"pain", "mood", "nausea"} and missing["pain"].line == 1
    assert missing["pain"].message == "no column for outcome 'pain'; it is treated as not measured"
    assert np.isnan(row(td2, "2026-03-01")["pain"])


def test_a_header_repeated_mid_file_is_skipped(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, [HEADER, *clean_rows(2), HEADER, *clean_rows(4)[2:]]), p)
    assert only(td, "repeated_header").line == 4 and td.report.days_logged == 4


def test_row_with_too_many_fields_is_dropped_with_a_decimal_comma_hint(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, ["date,pain,wakes", "2026-03-01,4,5,1", "2026-03-02,4,1,,"]), p)
    d = only(td, "malformed_row")
    assert d.line == 2 and "3 fields" not in d.message and "4 fields but the header has 3" in d.message
    assert "decimal comma" in d.message and "a ',' inside a note" in d.message
    assert row(td, "2026-03-02")["wakes"] == 1.0               # trailing empty fields are fine


def test_unbalanced_quote_drops_one_line_and_the_rest_is_read(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, [HEADER, '2026-03-01,1,,,,,,,"never closed', *clean_rows(4)[1:]]), p)
    d = only(td, "malformed_row")
    assert d.line == 2 and "unbalanced quote" in d.message
    assert td.report.days_logged == 3
    identity(td)


def test_short_rows_are_padded(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, [HEADER, "2026-03-01,3"]), p)
    assert row(td, "2026-03-01")["pain"] == 3.0 and td.report.usable


# =========================================================================== values
def test_missing_tokens_and_non_numeric_values(tmp_path: Path, p: Protocol) -> None:
    lines = [HEADER, "2026-03-01,n/a,NA,-,,,,,", "2026-03-02,bad,1,2,0,,,,", "2026-03-03, 4 ,#N/A,?,null,,,,",
             "2026-03-04,inf,1_0,1e0,,,,,"]
    td = read_log(write(tmp_path, lines), p)
    bad = kinds(td, "non_numeric")
    assert [(d.line, d.column) for d in bad] == [(3, "pain"), (5, "pain"), (5, "wakes")]
    assert "'bad' is not a number; expected a number in [0, 10]" in bad[0].message
    assert "treated as missing" in bad[0].message and "'1_0'" in bad[2].message
    assert not row(td, "2026-03-01")["logged"] and row(td, "2026-03-03")["pain"] == 4.0
    assert row(td, "2026-03-04")["mood"] == 1.0 and td.report.usable


def test_out_of_range_and_non_integer_values_become_missing(tmp_path: Path, p: Protocol) -> None:
    lines = [HEADER, "2026-03-01,11,-1,6,2,,,,", "2026-03-02,9.5,1.5,2.5,0.5,,,,", "2026-03-03,0,3,5,yes,,,,"]
    td = read_log(write(tmp_path, lines), p)
    rng = kinds(td, "out_of_range")
    assert [(d.line, d.column) for d in rng] == [(2, "pain"), (2, "wakes"), (2, "mood"), (2, "nausea")]
    assert "value 11 is outside the range [0, 10] of 'pain'; treated as missing" in rng[0].message
    assert "[0, inf]" in rng[1].message
    ints = kinds(td, "non_integer")
    assert [(d.line, d.column) for d in ints] == [(3, "wakes"), (3, "mood"), (3, "nausea")]
    assert "'mood' is an ordinal outcome" in ints[1].message and "'wakes' is a count" in ints[0].message
    assert row(td, "2026-03-02")["pain"] == 9.5 and np.isnan(row(td, "2026-03-01")["pain"])
    assert row(td, "2026-03-03")["nausea"] == 1.0


def test_condition_by_key_label_or_code_and_deviations(tmp_path: Path) -> None:
    p = small(blinding="single")
    codes = p.blinded_codes
    lines = [HEADER, "2026-03-01,1,,,,a,,,", "2026-03-02,1,,,,PLACEBO,,,", f"2026-03-03,1,,,,{codes['A']},,,",
             f"2026-03-04,1,,,,code {codes['A']},,,", "2026-03-05,1,,,,Juice,,,", "2026-03-06,1,,,,C,,,"]
    td = read_log(write(tmp_path, lines), p)
    assert td.data["condition_taken"].tolist()[:6] == ["A", "A", "A", "A", "B", "B"]
    dev = td.report.deviations
    assert [(x["date"], x["scheduled"], x["taken"], x["line"]) for x in dev] == [("2026-03-04", "B", "A", 5)]
    assert dev[0]["scheduled_code"] == codes["B"] and dev[0]["taken_code"] == codes["A"]
    d = only(td, "deviation")
    assert d.line == 5 and f"took code {codes['A']} but the schedule says code {codes['B']}" in d.message
    assert "Juice" not in d.message and "'B'" not in d.message              # the blind is kept
    u = only(td, "unknown_condition")
    assert u.line == 7 and "'C' is not a declared condition" in u.message
    assert "the scheduled condition is assumed" in u.message
    text = td.report.text()
    assert f"scheduled code {codes['B']}, taken code {codes['A']}" in text
    assert "missing by condition" in text


def test_condition_logged_during_the_run_in_is_a_deviation(tmp_path: Path) -> None:
    p = small(run_in_days=2)
    td = read_log(write(tmp_path, [HEADER, "2026-03-01,1,,,,run-in,0,,", "2026-03-02,1,,,,B,0,,",
                                   "2026-03-03,1,,,,A,1,,"]), p)
    dev = td.report.deviations
    assert [(x["date"], x["scheduled"], x["taken"]) for x in dev] == [("2026-03-02", None, "B")]
    assert "during the run-in" in only(td, "deviation").message
    assert pd.isna(row(td, "2026-03-01")["condition_taken"])
    assert td.report.days_expected == 12 and td.report.expected_by_condition == {"A": 6, "B": 6}


def test_period_that_disagrees_with_the_schedule(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, [HEADER, "2026-03-01,1,,,,,1,,", "2026-03-04,1,,,,,1,,",
                                   "2026-03-05,1,,,,,two,,"]), p)
    d = only(td, "period_mismatch")
    assert d.line == 3 and "period 1 logged, but 2026-03-04 is in period 2" in d.message
    bad = only(td, "bad_period")
    assert bad.line == 4 and "period 'two' is not a period number" in bad.message
    assert row(td, "2026-03-04")["period"] == 2


def test_missing_days_are_counted_by_scheduled_condition(tmp_path: Path, p: Protocol) -> None:
    rows = clean_rows()
    kept = [r for i, r in enumerate(rows) if i not in (1, 2, 4)]          # two A days, one B day
    td = read_log(write(tmp_path, [HEADER, *kept]), p)
    r = td.report
    assert (r.days_expected, r.days_logged, r.days_missing) == (12, 9, 3)
    assert r.missing_by_condition == {"A": 2, "B": 1} and r.expected_by_condition == {"A": 6, "B": 6}
    d = only(td, "missing_days")
    assert d.line is None and "3 of 12 trial days" in d.message and "2026-03-02" in d.message
    assert not row(td, "2026-03-02")["logged"]


def test_adherence_forms_and_summary(tmp_path: Path, p: Protocol) -> None:
    lines = [HEADER, "2026-03-01,1,,,,,,yes,", "2026-03-02,1,,,,,,No,", "2026-03-03,1,,,,,,50%,",
             "2026-03-04,1,,,,,,0.5,", "2026-03-05,1,,,,,,lots,", "2026-03-06,1,,,,,,150,"]
    td = read_log(write(tmp_path, lines), p)
    a = td.data["adherence"].tolist()
    assert a[:4] == [1.0, 0.0, 0.5, 0.5] and np.isnan(a[4]) and np.isnan(a[5])
    bad = kinds(td, "bad_adherence")
    assert [d.line for d in bad] == [6, 7] and "'lots'" in bad[0].message
    s = td.report.adherence
    assert s["mean_by_condition"] == {"A": 0.5, "B": 0.5}
    assert s["days_below_1"] == 3 and s["dates_below_1"] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    pct = read_log(write(tmp_path, [HEADER, "2026-03-01,1,,,,,,100,", "2026-03-02,1,,,,,,80,"]), p)
    assert pct.data["adherence"].tolist()[:2] == [1.0, 0.8]
    assert any("percent" in n for n in pct.report.notes)


# =========================================================================== encodings and formats
def test_utf8_bom_and_crlf(tmp_path: Path, p: Protocol) -> None:
    text = "\ufeff" + "\r\n".join([HEADER, *clean_rows(3)[:2], "2026-03-03,1,,,,,,,Café"]) + "\r\n"
    td = read_log(write(tmp_path, text), p)
    assert td.report.defects[0].kind == "missing_days" and td.report.rows_read == 3
    assert row(td, "2026-03-03")["note"] == "Café"


def test_latin1_file_is_read_and_noted(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, [HEADER, "2026-03-01,2,,,,,,,müde"], encoding="latin-1"), p)
    assert row(td, "2026-03-01")["note"] == "müde"
    assert any("not UTF-8" in n and "Latin-1" in n for n in td.report.notes)


def test_utf16_file_is_read(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, [HEADER, *clean_rows(2)], encoding="utf-16"), p)
    assert td.report.days_logged == 2 and any("UTF-16" in n for n in td.report.notes)


def test_semicolon_export_with_decimal_commas(tmp_path: Path, p: Protocol) -> None:
    lines = ["sep=;", "Date;Pain;Wakes;Mood;Note;", "2026-03-01;4,5;1;3;ok; fine", "2026-03-02;5;0;2;",
             "2026-03-03;3,25;1;2;"]
    td = read_log(write(tmp_path, lines, encoding="cp1252"), p)
    assert td.data["pain"].tolist()[:3] == [4.5, 5.0, 3.25]
    assert row(td, "2026-03-01")["note"] == "ok"                     # ';' splits, ',' does not
    assert only(td, "comment_line").line == 1
    assert any("decimal commas" in n for n in td.report.notes)
    assert any("';'" in n for n in td.report.notes)
    assert only(td, "unknown_column").column == "(unnamed column 6)"


def test_european_fixture_with_day_month_dates(p: Protocol) -> None:
    path = FIXTURES / "european_export.csv"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    td = read_log(path, p)
    assert not td.report.usable
    assert {d.line for d in kinds(td, "ambiguous_date")} == {2, 3, *range(5, 14)}   # 03.03 reads both ways
    assert "day/month (line 14: '13.03.2026')" in kinds(td, "ambiguous_date")[0].message
    assert only(td, "out_of_trial").line == 14
    td = read_log(path, p, date_format="%d.%m.%Y")
    assert td.report.usable and td.report.days_logged == 12
    assert row(td, "2026-03-02")["pain"] == 4.5 and row(td, "2026-03-03")["note"] == "müde"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_tsv(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, ["date\tpain\tnote", "2026-03-01\t3\ta, b", "2026-03-02\t4,5\t"],
                        name="log.tsv"), p)
    assert row(td, "2026-03-01")["note"] == "a, b" and row(td, "2026-03-02")["pain"] == 4.5


def test_quoted_thousands_looking_number_is_ambiguous(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, ['date,pain,wakes', '2026-03-01,"4,5","1,000"']), p)
    assert row(td, "2026-03-01")["pain"] == 4.5
    d = only(td, "ambiguous_number")
    assert d.column == "wakes" and "'1,000' could be 1000" in d.message


# =========================================================================== sources
def test_dataframe_source_uses_index_plus_two_as_line(p: Protocol) -> None:
    df = pd.DataFrame({"date": pd.to_datetime(["2026-03-01", "2026-03-02", None, "2026-03-04"]),
                       "pain": [1.0, np.nan, 3.0, 99.0], "condition": ["A", "A", "A", None],
                       "extra": ["x", None, None, None]})
    original = df.copy()
    td = read_log(df, p)
    assert td.report.source == "DataFrame" and td.source == "DataFrame"
    assert only(td, "missing_date").line == 4
    assert only(td, "out_of_range").line == 5
    assert only(td, "unknown_column").line == 1
    pd.testing.assert_frame_equal(df, original)
    assert row(td, "2026-03-01")["pain"] == 1.0 and td.report.rows_read == 4
    identity(td)
    indexed = read_log(df.dropna(subset=["date"]).set_index("date"), p)
    assert row(indexed, "2026-03-01")["pain"] == 1.0


def test_xlsx_source(tmp_path: Path, p: Protocol) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "log"
    ws.append(["Date", "Pain", "Wakes", "Condition", "Note"])
    ws.append([dt.datetime(2026, 3, 1), 3, 1, "A", "first"])
    ws.append([None, None, None, None, None])
    ws.append([dt.datetime(2026, 3, 3, 1, 30), "bad", 2, "A", None])
    ws.append(["2026-03-04", 4.5, 0, "A", None])
    ws.append([dt.date(2026, 3, 5), 2, 0, "Juice", None])
    ws.append([dt.date(2026, 3, 6), 1, 0, "B", None, None, "stray cell"])
    wb.create_sheet("notes").append(["something else"])
    path = tmp_path / "log.xlsx"
    wb.save(path)
    before = path.read_bytes()
    td = read_log(path, p)
    assert only(td, "blank_line").line == 3
    assert only(td, "non_numeric").line == 4 and only(td, "time_shift").line == 4
    assert row(td, "2026-03-02")["wakes"] == 2.0                # 01:30 on 3 March counts for 2 March
    assert row(td, "2026-03-04")["pain"] == 4.5 and row(td, "2026-03-01")["note"] == "first"
    assert only(td, "deviation").line == 5                      # 4 March is a B day
    assert row(td, "2026-03-05")["condition_taken"] == "B"      # 'Juice' is B's label
    assert any("worksheet 'log'" in n for n in td.report.notes)
    assert only(td, "unknown_column").column == "(unnamed column 7)"    # header cell G1 is empty
    assert td.extra_columns.loc[5, "(unnamed column 7)"] == "stray cell"
    assert row(td, "2026-03-06")["pain"] == 1.0
    assert path.read_bytes() == before
    identity(td)


@pytest.mark.parametrize(("make", "needle"), [
    (lambda d: d / "nope.csv", "no such file; expected a log"),
    (lambda d: d, "is a directory"),
    (lambda d: _bytes(d, "empty.csv", b""), "the file is empty"),
    (lambda d: _bytes(d, "spaces.csv", b"  \n\n"), "the file is empty"),
    (lambda d: _bytes(d, "image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "binary file"),
    (lambda d: _bytes(d, "noisy.csv", bytes(range(1, 32)) * 20), "binary file"),
    (lambda d: _bytes(d, "nodate.csv", b"day,pain\n1,2\n"), "no 'date' column"),
    (lambda d: _bytes(d, "typo.csv", b"dtae,pain\n2026-03-01,2\n"), "did you mean 'dtae'"),
    (lambda d: _bytes(d, "nooutcome.csv", b"date,foo\n2026-03-01,2\n"), "no outcome column"),
    (lambda d: _bytes(d, "twice.csv", b"date,pain,Pain\n2026-03-01,2,3\n"), "appears twice"),
    (lambda d: _bytes(d, "comments.csv", b"# only\n\n# comments\n"), "no header line"),
    (lambda d: _bytes(d, "broken.xlsx", b"this is not a workbook"), "cannot be read as an Excel"),
    (lambda d: _bytes(d, "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100), ".xls"),
    (lambda d: _bytes(d, "zip.csv", b"PK\x03\x04garbage"), "cannot be read as a text log"),
])
def test_bad_sources_raise_data_error_naming_the_file(tmp_path: Path, p: Protocol, make, needle: str) -> None:
    path = make(tmp_path)
    with pytest.raises(DataError) as err:
        read_log(path, p)
    assert needle in str(err.value) and str(path) in str(err.value)


def _bytes(d: Path, name: str, data: bytes) -> Path:
    path = d / name
    path.write_bytes(data)
    return path


def test_unsupported_source_type_and_odd_paths(p: Protocol, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="expected a path to a CSV, TSV or XLSX file, or a pandas DataFrame"):
        read_log(42, p)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="no such file|cannot be read"):
        read_log("log\x00.csv", p)
    with pytest.raises(DataError, match="no such file|cannot be read"):
        read_log(tmp_path / ("x" * 300 + ".csv"), p)
    with pytest.raises(DataError, match="protocol must be a Protocol"):
        read_log(tmp_path / "log.csv", 3)  # type: ignore[arg-type]


def test_source_file_is_never_modified(tmp_path: Path, p: Protocol) -> None:
    path = write(tmp_path, [HEADER, *clean_rows(), clean_rows()[0], "", "bad,row"])
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    read_log(path, p, duplicates="last")
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert sorted(x.name for x in tmp_path.iterdir()) == ["log.csv"]


# =========================================================================== series of trials
SERIES = {
    "schema_version": 1, "id": "series", "title": "Series",
    "conditions": {"A": {"label": "Placebo", "role": "control"},
                   "B": {"label": "Juice", "role": "treatment"}},
    "design": {"period_days": 2, "randomization": {"scheme": "pairs", "pairs": 2, "seed": 1}},
    "outcomes": [{"name": "pain", "type": "continuous", "range": [0, 10], "better": "lower",
                  "mcid": 1, "role": "primary"}],
}


def series_frame(plan: dict[str, tuple[str, str]]) -> pd.DataFrame:
    rows = []
    for pid, (start, seq) in plan.items():
        d0 = dt.date.fromisoformat(start)
        for i, c in enumerate(seq):
            rows.append({"participant": pid, "date": str(d0 + dt.timedelta(days=i)), "pain": float(i),
                         "condition": c})
    return pd.DataFrame(rows)


def test_series_each_participant_on_their_own_schedule() -> None:
    p = Protocol.model_validate(SERIES)
    df = series_frame({"P1": ("2026-01-01", "AABBAABB"), "P2": ("2026-02-10", "BBAAAABB"),
                       "P3": ("2026-03-01", "AAAABBBB")})
    df = pd.concat([df, pd.DataFrame([{"participant": None, "date": "2026-01-02", "pain": 1.0}])],
                   ignore_index=True)
    td = read_log(df, p)
    d = td.data
    assert list(d.columns)[0] == "participant" and td.participants == ["P1", "P2", "P3"]
    assert d.groupby("participant").size().to_dict() == {"P1": 8, "P2": 8, "P3": 8}
    parts = td.report.participants
    assert parts["P1"]["start"] == "2026-01-01" and parts["P2"]["start"] == "2026-02-10"
    assert parts["P1"]["sequence"] == ["A", "B", "A", "B"] and parts["P1"]["sequence_source"] == "log"
    assert parts["P2"]["sequence"] == ["B", "A", "A", "B"] and parts["P2"]["sequence_source"] == "log"
    p2 = d[d["participant"] == "P2"]
    assert p2["condition"].tolist() == list("BBAAAABB") and p2["period"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    # P3's AABB is not a 'pairs' allocation: reported, protocol's allocation assumed, deviations recorded
    bad = only(td, "inadmissible_sequence")
    assert "participant 'P3'" in bad.message and "A A B B" in bad.message
    assert parts["P3"]["sequence_source"] == "protocol"
    assert {x["participant"] for x in td.report.deviations} == {"P3"}
    p3 = d[d["participant"] == "P3"]
    assert p3["condition_taken"].tolist() == list("AAAABBBB")
    orphan = only(td, "no_participant")
    assert orphan.line == 26 and "no participant, but the log holds several (P1, P2, P3)" in orphan.message
    assert td.report.days_expected == 24 and td.report.expected_by_condition == {"A": 12, "B": 12}
    assert "participant P2: start 2026-02-10, sequence B A A B (from the log)" in td.report.text()
    identity(td)


def test_series_with_a_given_start_and_unknown_sequences() -> None:
    p = Protocol.model_validate(SERIES)
    df = series_frame({"P1": ("2026-01-01", "AABBBB"), "P2": ("2026-01-02", "BA")})
    df.loc[df["participant"] == "P2", "condition"] = None
    td = read_log(df, p, start="2026-01-01")
    parts = td.report.participants
    assert parts["P1"]["start"] == parts["P2"]["start"] == "2026-01-01"
    unknown = kinds(td, "unknown_sequence")
    assert len(unknown) == 2                  # P1's period 4 unlogged, P2 logged no condition
    assert "participant 'P1'" in unknown[0].message and "period 4 (read A B B ?)" in unknown[0].message
    assert "participant 'P2': no condition logged" in unknown[1].message
    assert parts["P2"]["days_logged"] == 2


def test_single_participant_column_is_not_a_series(tmp_path: Path, p: Protocol) -> None:
    td = read_log(write(tmp_path, ["participant,date,pain", "me,2026-03-01,1", ",2026-03-02,2"]), p)
    assert "participant" not in td.data.columns and td.report.days_logged == 2
    assert td.participants == []


# =========================================================================== beetroot protocol
def test_filled_template_round_trip(tmp_path: Path, beetroot: Protocol) -> None:
    sheet = log_template(beetroot)
    sheet.loc[:, "severity"] = [str(i % 10) for i in range(len(sheet))]
    sheet.loc[sheet["due"] != "", "irls"] = "20"
    sheet.loc[sheet["period"] > 0, "adherence"] = "1"
    sheet.loc[10, "severity"] = ""                # a run-in day left blank
    sheet.loc[40, ["severity", "irls"]] = ""      # a trial day left blank
    path = tmp_path / "template.csv"
    sheet.to_csv(path, index=False)
    td = read_log(path, beetroot)
    r = td.report
    assert r.usable and [d.kind for d in r.defects] == ["missing_days"]
    assert r.rows_read == beetroot.total_days and r.days_expected == 112 and r.days_missing == 1
    sched = build_schedule(beetroot)
    assert td.data["condition_taken"].iloc[14:].tolist() == sched["condition"].iloc[14:].tolist()
    assert r.deviations == [] and td.data["irls"].notna().sum() == 18
    assert any("no outcome value" in n for n in r.notes)


def test_report_text_and_dict(tmp_path: Path, beetroot: Protocol) -> None:
    lines = ["date,severity,condition,mood", "2026-12-01,5,,ok", "", "2026-12-15,4,Y,", "2026-12-15,6,Z,",
             "2026-12-16,n/a,Z,", "2026-13-01,3,,"]
    td = read_log(write(tmp_path, lines), beetroot)
    text = td.report.text()
    assert text.startswith(f"log {tmp_path / 'log.csv'}: NOT usable")
    assert "rows: 6 read = 3 used + 3 dropped (1 blank, 1 bad date, 1 conflicting duplicate)" in text
    assert "trial days: 112 expected, 1 logged, 111 missing" in text
    assert "severity 4 vs 6; condition code Y vs code Z" in text
    assert "errors (1):" in text and "line 5, column 'severity': 2026-12-15 is logged more than once" in text
    assert "unknown columns kept aside (not analysed): mood" in text
    assert "Beetroot" not in text and "scheduled B" not in text
    d = td.report.to_dict()
    assert {"rows_read", "days_used", "days_missing", "defects"} <= set(d)
    assert all({"line", "column", "message"} <= set(x) for x in d["defects"])
    assert d["rows_read"] == 6 and d["usable"] is False
    json.dumps(d)
    assert str(td.report) == text
    assert isinstance(DataReport().text(), str)


def test_simulated_log_reads_back_cleanly(tmp_path: Path, beetroot: Protocol) -> None:
    simulate = pytest.importorskip("nof1.simulation").simulate
    log = simulate(beetroot, effect=-1.0, sd=1.5, phi=0.3, seed=3, missing=0.03, codes=True)
    path = tmp_path / "sim.csv"
    log.to_csv(path, index=False)
    td = read_log(path, beetroot)
    assert [d for d in td.report.defects if d.severity != "info"] == []
    assert td.report.rows_read == len(log) and int(td.data["logged"].sum()) == len(log)
    from_frame = TrialData.from_frame(beetroot, log)
    np.testing.assert_allclose(td.data["severity"], from_frame.data["severity"])
    assert td.data["condition_taken"].tolist() == from_frame.data["condition"].tolist()


# =========================================================================== bundled sample data
SAMPLE = ROOT / "data" / "sample"


def test_messy_sample_reports_every_planted_defect_at_its_line(beetroot: Protocol) -> None:
    path = SAMPLE / "beetroot_log_messy.csv"
    planted = json.loads((SAMPLE / "planted_defects.json").read_text())
    td = read_log(path, beetroot)
    found = {(d.line, d.kind, d.column) for d in td.report.defects}
    missing = [x for x in planted if (x["line"], x["kind"], x["column"]) not in found]
    assert missing == []
    unplanted = [d for d in td.report.defects if d.severity != "info"
                 and (d.line, d.kind, d.column) not in {(x["line"], x["kind"], x["column"]) for x in planted}]
    assert unplanted == []
    assert not td.report.usable                      # the conflicting duplicate needs a policy
    identity(td)
    last = read_log(path, beetroot, duplicates="last")
    assert last.report.usable and row(last, "2027-01-20")["severity"] == 4.0
    assert row(last, "2027-01-30")["note"] == row(read_log(SAMPLE / "beetroot_log.csv", beetroot),
                                                  "2027-01-30")["note"]
    assert [x["date"] for x in last.report.deviations] == ["2027-02-18"]
    assert list(last.extra_columns.columns) == ["steps"]


def test_clean_sample_and_series_sample(beetroot: Protocol) -> None:
    clean = read_log(SAMPLE / "beetroot_log.csv", beetroot)
    assert [d.kind for d in clean.report.defects if d.severity != "info"] == ["deviation"]
    assert clean.report.days_missing == 4 and clean.report.adherence["days_below_1"] == 3
    truth = json.loads((SAMPLE / "true_parameters.json").read_text())["series_log"]["participants"]
    series = read_log(SAMPLE / "series_log.csv", beetroot)
    parts = series.report.participants
    assert list(parts) == list(truth)
    for pid, t in truth.items():
        assert parts[pid]["start"] == t["start"]
        assert "".join(parts[pid]["sequence"]) == t["allocation"] and parts[pid]["sequence_source"] == "log"
    assert series.report.deviations == [] and len(series.data) == 6 * beetroot.total_days
    assert {d.kind for d in series.report.defects if d.severity != "info"} == {"missing_column"}
