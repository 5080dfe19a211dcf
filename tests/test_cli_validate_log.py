"""`nof1 validate PROTOCOL LOG`: the log report on the command line and its exit codes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nof1.cli import main

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "protocols" / "beetroot-juice-rls.yaml"
NOF1 = Path(sys.executable).parent / "nof1"
HEADER = "date,severity,sleep_hours,condition,adherence,note,mood"


def _log(tmp_path: Path, extra: list[str] = ()) -> Path:
    start = dt.date(2026, 12, 1)
    lines = [HEADER]
    for i in range(20):
        code = "" if i < 14 else "Z"          # period 1 of the beetroot schedule is B = code Z
        lines.append(f"{start + dt.timedelta(days=i)},{i % 8},7.5,{code},1,,fine")
    lines[5] = lines[5].replace(",7.5,", ",25,")  # line 6: sleep_hours out of range -> warning
    path = tmp_path / "log.csv"
    path.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", str(PROTOCOL), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_usable_log_with_warnings_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(_log(tmp_path)))
    assert code == 0, err
    assert f"log {tmp_path / 'log.csv'}: usable" in out
    assert "rows: 20 read = 20 used + 0 dropped" in out
    assert "line 6, column 'sleep_hours': value 25 is outside the range [0, 14]" in out
    assert "unknown columns kept aside (not analysed): mood" in out
    assert "Traceback" not in out + err


def test_conflicting_duplicates_exit_1_until_a_policy_is_given(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(tmp_path, ["2026-12-16,9,7.5,Z,1,,again"])
    code, out, _ = _run(capsys, str(path))
    assert code == 1
    assert "NOT usable" in out
    assert "line 22, column 'severity': 2026-12-16 is logged more than once with different values (lines 17, 22: severity 7 vs 9)" in out
    code, out, _ = _run(capsys, str(path), "--duplicates", "last")
    assert code == 0 and "duplicates='last' keeps line 22" in out
    code, _, err = _run(capsys, str(path), "--duplicates", "median")
    assert code == 2 and "first, last or mean" in err


def test_json_output_has_the_interface_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(_log(tmp_path, ["", "not a date,1,,,,,"])), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["ok"] is True and doc["protocol"]["id"] == "beetroot-juice-rls"
    data = doc["data"]
    assert {"rows_read", "days_used", "days_missing", "defects"} <= set(data)
    assert data["rows_read"] == 22 and data["rows_used"] == 20 and data["rows_dropped"] == 2
    assert data["days_used"] == 6 and data["days_missing"] == 106
    lines = {(d["line"], d["kind"]) for d in data["defects"]}
    assert {(6, "out_of_range"), (22, "blank_line"), (23, "unparseable_date"), (1, "unknown_column")} <= lines
    assert all({"line", "column", "message"} <= set(d) for d in data["defects"])


def test_date_format_and_day_start_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dm.csv"
    path.write_text("date,severity\n02/12/2026,3\n2026-12-04 02:00,4\n", encoding="utf-8")
    code, out, _ = _run(capsys, str(path))
    assert code == 1 and "ambiguous date '02/12/2026'" in out and "--date-format" in out
    code, out, _ = _run(capsys, str(path), "--date-format", "%d/%m/%Y", "--day-starts-at", "01:00",
                        "--json")
    doc = json.loads(out)
    assert code == 0 and doc["data"]["days_used"] == 0       # both are run-in days
    assert [x["date"] for x in doc["data"]["normalised_dates"]] == ["2026-12-02"]


def test_unreadable_log_is_one_error_line_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(tmp_path / "missing.csv"))
    assert code == 1 and out == ""
    assert f"error: {tmp_path / 'missing.csv'}: no such file; expected a log" in err
    assert "Traceback" not in err


def test_the_installed_command(tmp_path: Path) -> None:
    assert NOF1.exists(), NOF1
    path = _log(tmp_path, ["2026-12-16,9,7.5,Z,1,,again"])
    ok = subprocess.run([str(NOF1), "validate", str(PROTOCOL), str(path), "--duplicates", "last", "--json"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["data"]["rows_read"] == 21
