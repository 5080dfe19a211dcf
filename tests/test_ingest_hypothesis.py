"""read_log on garbage: it either reads the log with its accounting intact or raises DataError."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nof1.data import read_log
from nof1.errors import DataError
from nof1.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = load_protocol(ROOT / "protocols" / "beetroot-juice-rls.yaml")
HEADER = "date,severity,irls,sleep_hours,awakenings,systolic_bp,headache,condition,period,adherence,note"
START = dt.date(2026, 12, 1)


def _valid_lines() -> list[str]:
    lines = []
    for i in range(0, 40, 2):
        period = 0 if i < 14 else (i - 14) // 14 + 1
        code = "" if period == 0 else "Y"
        lines.append(f"{START + dt.timedelta(days=i)},{i % 10},,7.5,{i % 3},120,{i % 4},{code},{period},1,ok")
    return lines


VALID = _valid_lines()

dates = st.one_of(
    st.dates(min_value=dt.date(1850, 1, 1), max_value=dt.date(2300, 12, 31)).map(str),
    st.dates(min_value=dt.date(2026, 11, 20), max_value=dt.date(2027, 4, 20)).flatmap(
        lambda d: st.sampled_from([d.isoformat(), d.strftime("%d/%m/%Y"), d.strftime("%b %d, %Y"),
                                   d.strftime("%Y%m%d"), f"{d.isoformat()} 01:30", f"{d.isoformat()}T23:59",
                                   d.strftime("%m/%d/%Y"), d.strftime("%d.%m.%y")])),
)
numbers = st.one_of(st.integers(-1000, 1000).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.decimals(places=2, allow_nan=False, allow_infinity=False).map(str).map(
                        lambda s: s.replace(".", ",")))
words = st.sampled_from(["", "n/a", "NA", "-", "bad", "yes", "no", "Y", "Z", "A", "Beetroot juice", "#",
                         "#comment", '"', '""', "'", "date", "100%", "1,5", ";", "\t", "\\", "\x00"])
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
cell = st.one_of(dates, numbers, words, text)
separator = st.sampled_from([",", ",", ",", ";", "\t", '","', ", "])
garbage_row = st.one_of(
    st.lists(cell, min_size=0, max_size=14).flatmap(lambda cells: separator.map(lambda s: s.join(cells))),
    st.tuples(dates, st.lists(st.one_of(numbers, words, dates), max_size=12)).map(
        lambda t: ",".join([t[0], *t[1]])),
    text,
    st.sampled_from(["", "   ", "# a comment", HEADER, ",,,,,,,,,,", '"unterminated, quote', VALID[3]]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inserts=st.lists(st.tuples(st.integers(0, len(VALID)), garbage_row), min_size=1, max_size=12),
       line_end=st.sampled_from(["\n", "\r\n", "\r"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]),
       policy=st.sampled_from([None, "first", "last", "mean"]))
def test_garbage_rows_never_break_the_accounting(inserts, line_end, encoding, policy) -> None:
    lines = list(VALID)
    for pos, garbage in sorted(inserts, key=lambda x: -x[0]):
        lines.insert(pos, garbage)
    body = line_end.join([HEADER, *lines]) + line_end
    data = body.encode(encoding, errors="replace")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        path.write_bytes(data)
        try:
            td = read_log(path, PROTOCOL, duplicates=policy)
        except DataError as err:
            assert str(path) in str(err)
            event("DataError")
            return
        assert path.read_bytes() == data
    r = td.report
    event("read" + ("" if r.usable else " (not usable)"))
    assert r.rows_read == r.rows_used + r.rows_dropped
    assert r.rows_read <= body.count(line_end) + body.count("\n") + body.count("\r")
    assert sum(r.dropped_by_reason.values()) == r.rows_dropped == len(r.dropped_lines)
    defect_lines = {d.line for d in r.defects}
    assert set(r.dropped_lines) <= defect_lines            # every dropped row says why, at its line
    assert len(td.data) == PROTOCOL.total_days
    assert r.days_logged + r.days_missing == r.days_expected == PROTOCOL.trial_days
    assert td.data["logged"].sum() >= r.days_logged
    for name in ("severity", "sleep_hours", "systolic_bp"):
        values = td.data[name].dropna()
        lo, hi = PROTOCOL.outcome(name).value_range
        assert values.between(lo, hi).all()
    assert r.usable == (not any(d.severity == "error" for d in r.defects))
    assert not r.usable or td.data[PROTOCOL.primary.name].notna().any()   # "usable" has a primary day
    r.text()
    r.to_dict()


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00", b"\xfe\xff", b"date\n\x00", b"\x1f\x8b\x08\x00" * 50])
def test_odd_bytes_raise_data_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(raw)
    with pytest.raises(DataError):
        read_log(path, PROTOCOL)
