"""``nof1 analyze``: terminal summary, --json (the interface JSON only), --report, options, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nof1 import load_protocol
from nof1.cli import main

ROOT = Path(__file__).resolve().parents[1]
BEETROOT = str(ROOT / "protocols" / "beetroot-juice-rls.yaml")
LOG = str(ROOT / "data" / "sample" / "beetroot_log.csv")
MESSY = str(ROOT / "data" / "sample" / "beetroot_log_messy.csv")
FAST = "gls_ar1,paired_periods,randomization,welch_naive"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_is_the_interface_document_and_nothing_else(capsys) -> None:
    code, out, err = run(capsys, "analyze", BEETROOT, LOG, "--outcome", "severity", "--methods", FAST,
                         "--json", "--seed", "3")
    assert code == 0, err
    doc = json.loads(out)  # the whole of stdout parses
    p = load_protocol(BEETROOT)
    assert doc["nof1_version"]
    assert doc["protocol"] == {"id": p.id, "fingerprint": p.fingerprint}
    for key in ("rows_read", "days_used", "days_missing", "defects"):
        assert key in doc["data"]
    assert doc["data"]["rows_read"] == 122 and doc["data"]["days_missing"] == 4
    sev = doc["outcomes"]["severity"]
    assert (sev["type"], sev["better"], sev["mcid"], sev["role"]) == ("continuous", "lower", 1.0, "primary")
    assert "verdict" in sev
    assert list(sev["methods"]) == FAST.split(",")
    gls = sev["methods"]["gls_ar1"]
    assert gls["ci_low"] < gls["estimate"] < gls["ci_high"] and "phi" in gls
    assert sev["methods"]["paired_periods"]["pairs"] == 4
    assert sev["methods"]["randomization"]["n_allocations"] == 16
    assert doc["reproducibility"]["seed"] == 3


def test_same_seed_same_numbers(capsys) -> None:
    args = ("analyze", BEETROOT, LOG, "--outcome", "severity,sleep_hours", "--methods", FAST, "--json",
            "--seed", "11")
    _, first, _ = run(capsys, *args)
    _, second, _ = run(capsys, *args)
    assert json.loads(first) == json.loads(second)


def test_outcome_option_repeatable_and_comma_list(capsys) -> None:
    _, out, _ = run(capsys, "analyze", BEETROOT, LOG, "--outcome", "severity", "--outcome", "irls,sleep_hours",
                    "--methods", "paired_periods", "--json")
    assert list(json.loads(out)["outcomes"]) == ["severity", "irls", "sleep_hours"]


def test_terminal_summary(capsys) -> None:
    code, out, err = run(capsys, "analyze", BEETROOT, LOG, "--outcome", "severity", "--methods", FAST)
    assert code == 0
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].startswith("safety alerts") or lines[0].startswith("SAFETY ALERTS")
    assert "Beetroot juice for restless legs" in out and "usable" in out
    assert "[primary]" in out and "Beetroot juice minus Placebo juice" in out
    for m in FAST.split(","):
        assert m in out
    assert "verdict:" in out
    assert "fits done" in err


def test_unknown_outcome_and_method_are_errors_not_tracebacks(capsys) -> None:
    code, out, err = run(capsys, "analyze", BEETROOT, LOG, "--outcome", "nope", "--methods", FAST)
    assert code == 1 and "nope" in err and "Traceback" not in err and out == ""
    code, _, err = run(capsys, "analyze", BEETROOT, LOG, "--methods", "magic")
    assert code == 1 and "magic" in err and "Traceback" not in err


@pytest.mark.parametrize("args", [("--engine", "fast"), ("--duplicates", "newest")])
def test_bad_choice_is_usage_error(capsys, args: tuple[str, str]) -> None:
    code, _, err = run(capsys, "analyze", BEETROOT, LOG, *args)
    assert code == 2 and args[0] in err


def test_missing_log_and_unusable_log(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "analyze", BEETROOT, str(tmp_path / "none.csv"))
    assert code == 1 and "Traceback" not in err
    # the messy log has conflicting duplicates: unusable without a --duplicates policy
    code, out, err = run(capsys, "analyze", BEETROOT, MESSY, "--methods", FAST, "--json")
    assert code == 1 and out == "" and "duplicates" in err
    code, out, _ = run(capsys, "analyze", BEETROOT, MESSY, "--methods", FAST, "--outcome", "severity",
                       "--duplicates", "last", "--json")
    assert code == 0 and json.loads(out)["data"]["rows_read"] == 126


def test_report_written_never_overwritten_without_force(capsys, tmp_path: Path) -> None:
    path = tmp_path / "trial.html"
    args = ("analyze", BEETROOT, LOG, "--outcome", "severity", "--methods", "gls_ar1,paired_periods",
            "--report", str(path), "--json")
    code, out, err = run(capsys, *args)
    assert code == 0, err
    json.loads(out)  # the report does not disturb --json
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>") and 'id="results"' in html and 'id="sensitivity"' in html
    assert "washout-table" in html  # the CLI passes the washout sensitivity
    path.write_text("keep me")
    code, out, err = run(capsys, *args)
    assert code == 1 and "already exists" in err and out == ""
    assert path.read_text() == "keep me"
    code, _, _ = run(capsys, *args, "--force")
    assert code == 0 and path.read_text().startswith("<!DOCTYPE html>")


def test_report_folder_must_exist(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "analyze", BEETROOT, LOG, "--report", str(tmp_path / "no" / "r.html"))
    assert code == 1 and "does not exist" in err


def test_bayes_entry_and_verdict_in_json(capsys) -> None:
    code, out, err = run(capsys, "analyze", BEETROOT, LOG, "--outcome", "severity", "--methods",
                         "bayes,gls_ar1", "--engine", "exact", "--json", "--seed", "2")
    assert code == 0, err
    sev = json.loads(out)["outcomes"]["severity"]
    bayes = sev["methods"]["bayes"]
    for key in ("estimate", "ci_low", "ci_high", "ci_level", "prob_benefit", "prob_meaningful_benefit",
                "prob_meaningful_harm"):
        assert isinstance(bayes[key], float), key
    assert bayes["ci_low"] < bayes["estimate"] < bayes["ci_high"]
    assert sev["verdict"] in ("likely meaningful benefit", "likely no meaningful effect", "possible harm",
                              "inconclusive — more pairs would help")
    _, again, _ = run(capsys, "analyze", BEETROOT, LOG, "--outcome", "severity", "--methods",
                      "bayes,gls_ar1", "--engine", "exact", "--json", "--seed", "2")
    assert json.loads(again) == json.loads(out)


def test_options_reach_analyze(capsys, monkeypatch) -> None:
    import nof1.analysis

    seen: dict = {}
    real = nof1.analysis.analyze

    def spy(trial_data, **kwargs):
        seen.update(kwargs)
        return real(trial_data, **kwargs)

    monkeypatch.setattr(nof1.analysis, "analyze", spy)
    code, _, _ = run(capsys, "analyze", BEETROOT, LOG, "--outcome", "severity", "--methods", "gls_ar1",
                     "--engine", "exact", "--seed", "9", "--json")
    assert code == 0
    assert seen["engine"] == "exact" and seen["seed"] == 9 and seen["outcomes"] == ["severity"]
    assert seen["methods"] == ["gls_ar1"] and callable(seen["progress"])


def test_json_lists_safety_alerts_and_benefit_harm(capsys) -> None:
    code, out, err = run(capsys, "analyze", BEETROOT, LOG, "--outcome", "severity,systolic_bp",
                         "--methods", "bayes,gls_ar1", "--engine", "exact", "--json", "--seed", "3")
    assert code == 0, err
    doc = json.loads(out)
    alerts = doc["safety"]["alerts"]
    # the planted safety events of the sample (data/sample/README.md): headache 8, systolic BP 88
    assert [(a["date"], a["outcome"], a["value"]) for a in alerts] == [
        ("2027-01-22", "headache", 8.0), ("2027-02-10", "systolic_bp", 88.0)]
    assert all(a["message"] and a["rule"] in ("below", "at_least", "above") for a in alerts)
    bh = doc["safety"]["benefit_harm"]
    # headache (a safety outcome) was not analysed here, so no joint probability — and it says why
    assert bh["available"] is False and "headache (safety) has no posterior" in bh["reason"] and bh["probability"] is None
    sbp = doc["outcomes"]["systolic_bp"]["methods"]
    assert sbp["bayes"]["estimate"] < 0 and sbp["gls_ar1"]["estimate"] < 0  # BP falls on beetroot
