"""Blinding indices, adherence / as-treated, the manipulation check, and the sections of the
beetroot sample in the terminal, the JSON and the report (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import nof1
from nof1.analysis.adherence import adherence_counts, as_randomised, as_treated
from nof1.analysis.blinding import bang_index, blinding_check, james_index
from nof1.cli import app
from nof1.data import TrialData, read_log

ROOT = Path(__file__).resolve().parents[1]
BEETROOT = ROOT / "protocols" / "beetroot-juice-rls.yaml"
SAMPLE_LOG = ROOT / "data" / "sample" / "beetroot_log.csv"

# Houweling, Shapiro, Cohen & Kahn (2014), Clin Trials 11:547, table 2, investigators' guesses
# (rows guessed active / sham / don't know; columns active / sham), and the published indices as
# reproduced by the R package BI (Schwartz & Mercaldo) and BlindingIndex.jl: James 0.896
# (se 0.011, 95% CI 0.875-0.918); Bang active 0.115 (se 0.018, 0.08-0.15), sham 0.022
# (se 0.019, -0.016-0.06).
HOUWELING = [[48, 22], [4, 30], [330, 319]]


def test_james_index_reproduces_the_published_example() -> None:
    j = james_index(HOUWELING)
    assert round(j["index"], 3) == 0.896 and round(j["se"], 3) == 0.011
    assert (round(j["ci_low"], 3), round(j["ci_high"], 3)) == (0.875, 0.918)


def test_bang_index_reproduces_the_published_example() -> None:
    active = bang_index(correct=48, incorrect=4, dont_know=330)
    sham = bang_index(correct=30, incorrect=22, dont_know=319)
    assert (round(active["index"], 3), round(active["se"], 3)) == (0.115, 0.018)
    assert (round(active["ci_low"], 2), round(active["ci_high"], 2)) == (0.08, 0.15)
    assert (round(sham["index"], 3), round(sham["se"], 3)) == (0.022, 0.019)
    assert (round(sham["ci_low"], 3), round(sham["ci_high"], 2)) == (-0.016, 0.06)


def test_blinding_indices_closed_forms_and_edge_cases() -> None:
    # CRISP (Bang et al. 2004, table 7 counts): Bang = (correct - incorrect) / n per arm
    assert bang_index(82, 25, 170)["index"] == pytest.approx(57 / 277)
    assert bang_index(29, 27, 83)["index"] == pytest.approx(2 / 139)
    # all "don't know": complete blinding by James' definition; Bang undefined
    assert james_index([[0, 0], [0, 0], [5, 4]])["index"] == 1.0
    assert bang_index(0, 0, 5)["index"] is None
    # every guess right: James 0 (complete unblinding), Bang +1; every guess wrong: Bang -1
    assert james_index([[10, 0], [0, 10], [0, 0]])["index"] == pytest.approx(0.0)
    assert bang_index(10, 0, 0)["index"] == 1.0 and bang_index(0, 10, 0)["index"] == -1.0
    # random guessing without "don't know": James 0.5, Bang 0
    assert james_index([[5, 5], [5, 5], [0, 0]])["index"] == pytest.approx(0.5)


def test_blinding_check_on_guesses_in_the_log(tmp_path: Path) -> None:
    p = nof1.load_protocol(BEETROOT)
    td = read_log(SAMPLE_LOG, p)
    b = blinding_check(td)
    assert b["n_guesses"] == 15 and b["table"]["counts"] == [[4, 0], [1, 5], [3, 2]]
    assert b["bang"]["A"]["index"] == pytest.approx(5 / 7) and b["bang"]["B"]["index"] == pytest.approx(3 / 8)
    assert b["held"] is False and "Placebo juice days the guesses were right more often" in b["sentence"]
    # guesses are read by label words, keys or "don't know"; codes are not guesses
    text = SAMPLE_LOG.read_text().splitlines()
    header = text[0].split(",")
    gi = header.index("guess")
    rows = [line.split(",") for line in text[1:30]]
    rows[20][gi], rows[21][gi], rows[22][gi] = "Beetroot juice", "Z", "not sure"
    path = tmp_path / "log.csv"
    path.write_text("\n".join([text[0], *(",".join(r) for r in rows)]) + "\n")
    td2 = read_log(path, p)
    g = td2.data.set_index(td2.data["date"].dt.strftime("%Y-%m-%d"))["guess"]
    assert g[rows[20][0]] == "B" and g[rows[22][0]] == "dont_know" and pd.isna(g[rows[21][0]])
    bad = [d for d in td2.report.defects if d.kind == "bad_guess"]
    assert [d.line for d in bad] == [23] and "blinded codes are not guesses" in bad[0].message


def test_adherence_counts_and_the_as_randomised_population() -> None:
    td = read_log(SAMPLE_LOG, nof1.load_protocol(BEETROOT))
    c = adherence_counts(td)
    assert c["by_condition"]["A"] == {"days_logged": 53, "deviations": 0, "adherence_below_1": 2,
                                      "days_not_as_planned": 2,
                                      "mean_adherence": pytest.approx(51.5 / 53)}
    assert c["by_condition"]["B"]["deviations"] == 1 and c["by_condition"]["B"]["adherence_below_1"] == 1
    assert [d["date"] for d in c["days"]] == ["2027-01-03", "2027-01-29", "2027-02-18", "2027-03-25"]
    itt = as_randomised(td)
    assert (itt.trial["condition_taken"] == itt.trial["condition"]).all()
    assert td.trial.loc[td.trial["date"] == "2027-02-18", "condition_taken"].item() == "A"  # untouched


def _sim_trial(adherence: np.ndarray, effect: float = -2.0, seed: int = 1) -> TrialData:
    p = nof1.Protocol.model_validate({
        "schema_version": 1, "id": "adh", "title": "Adherence",
        "conditions": {"A": {"label": "Placebo", "role": "control"}, "B": {"label": "Active", "role": "treatment"}},
        "design": {"period_days": 7, "sequence": ["A", "B", "A", "B", "B", "A"], "start_date": "2026-01-01"},
        "outcomes": [{"name": "y", "type": "continuous", "range": [-20, 20], "better": "lower", "mcid": 1,
                      "role": "primary"}],
        "analysis": {"carryover": "none"}})
    u = np.repeat([0, 1, 0, 1, 1, 0], 7).astype(float)
    rng = np.random.default_rng(seed)
    y = 3.0 + effect * u * adherence + rng.normal(0, 0.7, u.size)
    return TrialData.from_frame(p, pd.DataFrame({"day": np.arange(1, 43), "y": y, "adherence": adherence}))


def test_as_treated_equals_the_primary_model_when_every_dose_was_taken() -> None:
    td = _sim_trial(np.ones(42))
    at = as_treated(td, td.protocol.primary, ("B", "A"), ci_level=0.95, seed=1)
    primary = nof1.analyze(td, methods=["bayes"], seed=1).get("y", "bayes")
    assert at.estimate == pytest.approx(primary.estimate, abs=1e-9)
    assert at.ci_low == pytest.approx(primary.ci_low, abs=1e-9)


def test_as_treated_disagrees_when_many_doses_were_missed() -> None:
    adh = np.ones(42)
    u = np.repeat([0, 1, 0, 1, 1, 0], 7)
    adh[np.flatnonzero(u == 1)[::2]] = 0.0         # every other active day missed
    td = _sim_trial(adh, effect=-2.0, seed=3)
    res = nof1.analyze(td, methods=["bayes"], seed=1)
    sec = res.extras["adherence"]
    assert sec["by_condition"]["B"]["adherence_below_1"] == 11
    at, pr = sec["as_treated"], sec["primary"]
    assert at["ci_low"] < -2.0 < at["ci_high"]                  # dose-weighted: the full effect
    assert pr["estimate"] > -1.6                                # as randomised: diluted (about -1)
    assert sec["disagree"] is True and "disagrees with the primary one" in sec["sentence"]


@pytest.fixture(scope="module")
def sample_json() -> dict:
    runner = CliRunner()
    out = runner.invoke(app, ["analyze", str(BEETROOT), str(SAMPLE_LOG), "--outcome", "no_strip,severity",
                              "--methods", "bayes,gls_ar1", "--seed", "1", "--json", "--quiet"])
    assert out.exit_code == 0, out.output[-800:]
    return json.loads(out.stdout)


def test_beetroot_sample_sections_in_the_json(sample_json: dict) -> None:
    j = sample_json
    mc = j["manipulation_checks"]["no_strip"]
    assert mc["moved"] is True and mc["ci_low"] > 0 and "Yes:" in mc["sentence"]
    assert list(j["outcomes"])[0] == "no_strip"                      # shown first
    cov = j["covariates"]
    assert cov["adjusted_for"] == ["stress"] and cov["possible_mediators"] == []
    sev = cov["effects"]["severity"]["B-A"]
    assert sev["bayes"]["interval_width_ratio"] < 0.85 and sev["gls_ar1"]["interval_width_ratio"] < 0.9
    assert j["outcomes"]["severity"]["methods"]["bayes"]["unadjusted"]["available"] is True
    assert j["adherence"]["days_not_as_planned"] == 4 and "as_treated" in j["adherence"]
    assert j["blinding"]["n_guesses"] == 15 and j["blinding"]["james"]["index"] == pytest.approx(0.4)
    assert "stress" not in j["outcomes"]                              # a covariate, not an outcome


def test_beetroot_sample_sections_in_the_terminal_and_the_report(tmp_path: Path) -> None:
    runner = CliRunner()
    report = tmp_path / "r.html"
    out = runner.invoke(app, ["analyze", str(BEETROOT), str(SAMPLE_LOG), "--outcome", "no_strip,severity",
                              "--methods", "bayes,gls_ar1", "--seed", "1", "--quiet", "--report", str(report)])
    assert out.exit_code == 0, out.output[-800:]
    text = out.stdout
    for heading in ("Manipulation check: did the intervention do what it should biologically?",
                    "Covariates: adjusted for stress", "Adherence (primary analysis as randomised",
                    "Blinding check (15 guesses"):
        assert heading in text, heading
    assert text.index("Manipulation check") < text.index("Worst RLS severity")
    page = report.read_text()
    for sid in ('id="manipulation-check"', 'id="covariates"', 'id="adherence"', 'id="blinding"',
                'id="blinding-table"'):
        assert sid in page, sid
    assert page.index('id="manipulation-check"') < page.index('id="results"')


def test_manipulation_check_that_did_not_move_says_so() -> None:
    p = nof1.Protocol.model_validate({
        "schema_version": 1, "id": "mc", "title": "Manipulation check",
        "conditions": {"A": {"label": "Placebo", "role": "control"}, "B": {"label": "Active", "role": "treatment"}},
        "design": {"period_days": 7, "sequence": ["A", "B", "A", "B", "B", "A"], "start_date": "2026-01-01"},
        "outcomes": [{"name": "y", "type": "continuous", "range": [-20, 20], "better": "lower", "mcid": 1,
                      "role": "primary"},
                     {"name": "strip", "type": "continuous", "range": [0, 5], "better": "higher", "mcid": 1,
                      "role": "manipulation_check"}],
        "analysis": {"carryover": "none"}})
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"day": np.arange(1, 43), "y": rng.normal(3, 1, 42),
                          "strip": np.clip(np.round(rng.normal(1.5, 0.6, 42)), 0, 5)})
    res = nof1.analyze(TrialData.from_frame(p, frame), methods=["bayes"], seed=1)
    assert list(res.results) == ["strip", "y"]
    mc = res.extras["manipulation_checks"]["strip"]
    assert mc["moved"] is False and mc["ci_low"] < 0 < mc["ci_high"]
    assert "Not shown" in mc["sentence"] and "a null result on the symptoms means little" in mc["sentence"]


def test_messy_sample_reports_not_logged_cells_and_filled_conditions_by_line(tmp_path: Path) -> None:
    p = nof1.load_protocol(BEETROOT)
    td = read_log(ROOT / "data" / "sample" / "beetroot_log_messy.csv", p, duplicates="last")
    na = {(d.line, d.column) for d in td.report.defects if d.kind == "not_logged" and "'n/a'" in d.message}
    assert na == {(94, "sleep_hours"), (95, "systolic_bp")}
    lines = SAMPLE_LOG.read_text().splitlines()
    ci = lines[0].split(",").index("condition")
    i = next(k for k, line in enumerate(lines) if line.startswith("2027-01-10"))
    cells = lines[i].split(",")
    scheduled = cells[ci]
    cells[ci] = ""
    lines[i] = ",".join(cells)
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n")
    filled = [d for d in read_log(path, p).report.defects if d.kind == "condition_filled"]
    assert [d.line for d in filled] == [i + 1]
    assert filled[0].message == f"condition blank: filled from the schedule, code {scheduled}"
