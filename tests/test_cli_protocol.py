"""Command line: validate, schedule, template, schema (protocol only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nof1 import load_protocol
from nof1.cli import main

ROOT = Path(__file__).resolve().parents[1]
BEETROOT = str(ROOT / "protocols" / "beetroot-juice-rls.yaml")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_validate_prints_ok_fingerprint_and_summary(capsys) -> None:
    code, out, _ = run(capsys, "validate", BEETROOT)
    p = load_protocol(BEETROOT)
    assert code == 0
    assert out.startswith("OK ") and p.fingerprint in out
    assert "8 periods of 14 days" in out and "total days: 126" in out


def test_validate_json(capsys) -> None:
    code, out, _ = run(capsys, "validate", BEETROOT, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True and doc["protocol"]["id"] == "beetroot-juice-rls"


def test_validate_bad_protocol_lists_every_problem(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(BEETROOT).read_text().replace("washout_days: 4", "washout_days: 14")
                   .replace("period_days: 14", "period_dayz: 14"))
    code, out, err = run(capsys, "validate", str(bad))
    assert code == 1
    assert "did you mean 'period_days'" in err
    assert str(bad) in err and "Traceback" not in err


def test_schedule_formats(tmp_path: Path, capsys) -> None:
    code, out, err = run(capsys, "schedule", BEETROOT, "--format", "csv")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("date,day,phase,period,pair,condition")
    assert len(lines) == 1 + 126
    assert "blinded codes" in err and "key" in err
    assert "Beetroot juice" not in out  # blinded
    code, out, _ = run(capsys, "schedule", BEETROOT, "--format", "csv", "--unblind")
    assert "Beetroot juice" in out
    code, out, _ = run(capsys, "schedule", BEETROOT, "--format", "json", "--start", "2027-01-01")
    doc = json.loads(out)
    assert doc["days"][0]["date"] == "2027-01-01" and len(doc["days"]) == 126
    ics = tmp_path / "trial.ics"
    code, _, _ = run(capsys, "schedule", BEETROOT, "--format", "ics", "-o", str(ics))
    assert code == 0 and ics.read_text().count("BEGIN:VEVENT") == 9
    # never overwrite without --force
    code, _, err = run(capsys, "schedule", BEETROOT, "--format", "ics", "-o", str(ics))
    assert code == 1 and "already exists" in err
    code, _, _ = run(capsys, "schedule", BEETROOT, "--format", "ics", "-o", str(ics), "--force")
    assert code == 0
    code, out, _ = run(capsys, "schedule", BEETROOT)
    assert code == 0 and "run-in" in out


def test_template_refuses_overwrite(tmp_path: Path, capsys) -> None:
    target = tmp_path / "log.csv"
    code, _, err = run(capsys, "template", BEETROOT, "-o", str(target))
    assert code == 0 and target.exists()
    assert "clinician" in err  # safety notes shown
    text = target.read_text().splitlines()
    assert text[0].split(",")[:3] == ["date", "period", "condition"]
    assert len(text) == 127
    target.write_text("my precious log\n")
    code, _, err = run(capsys, "template", BEETROOT, "-o", str(target))
    assert code == 1 and "already exists" in err
    assert target.read_text() == "my precious log\n"


def test_schema_is_json(capsys) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0 and json.loads(out)["title"] == "nof1 protocol"


def test_usage_error_exits_2(capsys) -> None:
    code, _, _ = run(capsys, "schedule", BEETROOT, "--format", "pdf")
    assert code == 2
    code, _, _ = run(capsys, "no-such-command")
    assert code == 2


@pytest.mark.parametrize("content", [b"", b"\x00\x01binary", b"- just\n- a list\n"])
def test_console_script_never_prints_traceback(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "nof1", "validate", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and str(path) in proc.stderr


def test_missing_file_and_directory(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path / "none.yaml"))
    assert code == 1 and "no such file" in err
    code, _, err = run(capsys, "validate", str(tmp_path))
    assert code == 1 and "is a directory" in err
