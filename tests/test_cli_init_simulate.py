"""``nof1 init`` (a new protocol from questions or flags) and ``nof1 simulate`` (a practice log)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nof1
from nof1.cli import main
from nof1.protocol import protocol_from_dict
from nof1.starter import COMMON_OUTCOMES, new_protocol, protocol_yaml

MOUTHWASH = ["--intervention", "No mouthwash", "--control", "Usual mouthwash", "--period-days", "28",
             "--pairs", "2", "--outcomes", "severity,sleep_hours,gum_bleeding", "--seed", "20270111",
             "--start", "2027-01-11"]


def run(capsys, *args: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# --------------------------------------------------------------------------- init
def test_init_from_flags_writes_a_valid_protocol(tmp_path: Path, capsys) -> None:
    path = tmp_path / "mouthwash.yaml"
    code, _, err = run(capsys, "init", str(path), *MOUTHWASH, "--no-input")
    assert code == 0, err
    p = nof1.load_protocol(path)
    assert p.conditions["B"].label == "No mouthwash" and p.conditions["A"].role == "control"
    assert p.design.period_days == 28 and p.n_periods == 4 and p.design.washout_days == 7
    assert [o.name for o in p.outcomes] == ["severity", "sleep_hours", "gum_bleeding"]
    assert [o.role for o in p.outcomes] == ["primary", "secondary", "safety"]
    assert p.outcome("gum_bleeding").alert.at_least == 1
    assert str(p.design.start_date) == "2027-01-11" and p.design.randomization.seed == 20270111
    assert any("gums bleed" in s for s in p.safety)
    # the file is the validated mapping: the same fingerprint
    data = new_protocol(intervention="No mouthwash", control="Usual mouthwash", period_days=28, pairs=2,
                        outcomes=["severity", "sleep_hours", "gum_bleeding"], seed=20270111,
                        start_date="2027-01-11")
    assert protocol_from_dict(data).fingerprint == p.fingerprint
    assert p.fingerprint in err and f"nof1 simulate {path}" in err
    assert path.read_text().startswith("# Written by nof1 init")


def test_init_asks_the_questions_and_explains_bad_answers(tmp_path: Path, capsys, monkeypatch) -> None:
    path = tmp_path / "beet.yaml"
    answers = "\n".join(["Beetroot juice", "Placebo juice", "", "four", "5", "severity,sytolic_bp",
                         "severity,systolic_bp", "", "", "double", "01/03/2027", "2027-03-01"]) + "\n"
    code, _, err = run(capsys, "init", str(path), "--seed", "7", stdin=answers, monkeypatch=monkeypatch)
    assert code == 0, err
    assert "'four' is not a whole number" in err
    assert "unknown outcome 'sytolic_bp' (did you mean 'systolic_bp'?)" in err
    assert "'01/03/2027' is not a date in the form YYYY-MM-DD" in err
    assert "systolic_bp: Systolic blood pressure (mmHg); safety: the risk is a fall of more than 10 mmHg" in err
    p = nof1.load_protocol(path)
    assert p.title == "Beetroot juice against placebo juice" and p.id == "beetroot-juice-against-placebo-juice"
    assert p.design.period_days == 14 and p.design.randomization.pairs == 5 and p.design.washout_days == 3
    assert p.design.blinding == "double" and str(p.design.start_date) == "2027-03-01"
    bp = p.outcome("systolic_bp")
    assert bp.role == "safety" and bp.better == "higher" and bp.alert.below == 90


def test_init_never_overwrites_without_force(tmp_path: Path, capsys) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("my own notes")
    code, _, err = run(capsys, "init", str(path), *MOUTHWASH, "--no-input")
    assert code == 1 and "already exists" in err and "--force" in err
    assert path.read_text() == "my own notes"
    code, _, err = run(capsys, "init", str(path), *MOUTHWASH, "--no-input", "--force")
    assert code == 0 and nof1.load_protocol(path).n_periods == 4


def test_init_errors_name_what_to_do(tmp_path: Path, capsys, monkeypatch) -> None:
    path = tmp_path / "x.yaml"
    code, _, err = run(capsys, "init", str(path), "--no-input")
    assert code == 1 and "--no-input needs --intervention" in err
    code, _, err = run(capsys, "init", str(path), *MOUTHWASH[:8], "--outcomes", "systolic_bp,severity", "--no-input")
    assert code == 1 and "the first outcome is the primary" in err and "put severity first" in err
    code, _, err = run(capsys, "init", str(path), "--intervention", "X", stdin="", monkeypatch=monkeypatch)
    assert code == 1 and "input closed" in err and "--no-input" in err
    assert not path.exists()
    code, out, _ = run(capsys, "init", "-", "--help-outcomes")
    assert code == 0 and out.splitlines()[0].startswith("severity:") and len(out.splitlines()) == len(COMMON_OUTCOMES)


@pytest.mark.parametrize("name", list(COMMON_OUTCOMES))
def test_every_catalogue_outcome_makes_a_valid_protocol(name: str) -> None:
    outcomes = [name] if COMMON_OUTCOMES[name][0].get("role") != "safety" else ["pain", name]
    data = new_protocol(intervention="Magnesium", control="Placebo", period_days=7, pairs=3,
                        outcomes=outcomes, seed=1)
    p = protocol_from_dict(data)
    o = p.outcome(name)
    if o.role == "safety":     # the alert and the safe direction agree
        assert o.alert is not None and (o.better == "higher") == (o.alert.below is not None)
    import yaml

    assert protocol_from_dict(yaml.safe_load(protocol_yaml(data))).fingerprint == p.fingerprint


# --------------------------------------------------------------------------- simulate
def test_simulate_writes_a_log_that_validates_and_analyses(tmp_path: Path, capsys) -> None:
    proto = tmp_path / "mouthwash.yaml"
    assert run(capsys, "init", str(proto), *MOUTHWASH, "--no-input")[0] == 0
    log = tmp_path / "practice.csv"
    code, _, err = run(capsys, "simulate", str(proto), "-o", str(log), "--effect", "-1.5",
                       "--effect", "sleep_hours=0.5", "--seed", "3")
    assert code == 0, err
    assert "true effect: severity -1.5, sleep_hours +0.5; seed 3" in err and "Fake data" in err
    frame = pd.read_csv(log)
    p = nof1.load_protocol(proto)
    assert list(frame.columns) == ["date", "severity", "sleep_hours", "gum_bleeding", "condition", "period",
                                   "adherence", "note"]
    assert frame["note"].iloc[0].startswith("SIMULATED DATA")
    assert frame["date"].iloc[0] == "2027-01-11" and len(frame) <= p.total_days
    assert set(frame["severity"].dropna() * 2 % 1) == {0.0}          # logged in half points
    assert frame["gum_bleeding"].dropna().isin([0, 1]).all()
    # the whole path works on it: validate, then the simulated effect is found
    code, out, _ = run(capsys, "validate", str(proto), str(log))
    assert code == 0 and "usable" in out
    td = nof1.read_log(log, p)
    res = nof1.analyze(td, outcomes=["severity"], methods=["paired_periods"], seed=1)
    r = res.get("severity", "paired_periods")
    assert r.ci_low < -1.5 < r.ci_high
    # same seed, same file
    again = tmp_path / "again.csv"
    run(capsys, "simulate", str(proto), "-o", str(again), "--effect", "-1.5", "--effect", "sleep_hours=0.5",
        "--seed", "3")
    assert again.read_bytes() == log.read_bytes()


def test_simulate_default_effect_is_one_mcid_of_benefit_and_blinded_logs_use_codes(tmp_path: Path, capsys) -> None:
    beet = Path(__file__).resolve().parents[1] / "protocols" / "beetroot-juice-rls.yaml"
    log = tmp_path / "beet.csv"
    code, _, err = run(capsys, "simulate", str(beet), "-o", str(log))
    assert code == 0 and "severity -1;" in err and "blinded codes" in err
    frame = pd.read_csv(log)
    p = nof1.load_protocol(beet)
    assert set(frame["condition"].dropna()) == set(p.blinded_codes.values())
    bp = frame["systolic_bp"].dropna()
    assert 110 < bp.mean() < 140 and bp.std() < 15            # a realistic blood pressure, not 60-220
    assert np.all(bp == np.round(bp))


def test_simulate_errors(tmp_path: Path, capsys) -> None:
    beet = str(Path(__file__).resolve().parents[1] / "protocols" / "beetroot-juice-rls.yaml")
    code, _, err = run(capsys, "simulate", beet, "-o", str(tmp_path / "l.csv"), "--effect", "severty=-1")
    assert code == 1 and "'severty' is not an outcome of the protocol" in err
    code, _, err = run(capsys, "simulate", beet, "-o", str(tmp_path / "l.csv"), "--effect", "big")
    assert code == 1 and "'big' is not a number" in err
    mine = tmp_path / "mine.csv"
    mine.write_text("keep me")
    code, _, err = run(capsys, "simulate", beet, "-o", str(mine))
    assert code == 1 and "already exists" in err and mine.read_text() == "keep me"
