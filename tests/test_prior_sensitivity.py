"""Prior and onset sensitivity (result.prior_sensitivity(), result.onset_sensitivity()) and the
design-time onset statement, checked against independent computations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nof1
from nof1.analysis.prior_sensitivity import onset_sensitivity, prior_sensitivity
from nof1.data import TrialData
from nof1.onset_design import instant_switch_bias, onset_design

ROOT = Path(__file__).resolve().parents[1]
BEETROOT = ROOT / "protocols" / "beetroot-juice-rls.yaml"
LOG = ROOT / "data" / "sample" / "beetroot_log.csv"


@pytest.fixture(scope="module")
def sample() -> nof1.AnalysisResult:
    p = nof1.load_protocol(BEETROOT)
    td = nof1.read_log(LOG, p)
    return nof1.analyze(td, outcomes=["severity", "systolic_bp", "irls"], methods=["bayes", "gls_ar1"], seed=1)


def test_default_row_is_the_analysis(sample) -> None:
    ps = sample.prior_sensitivity("severity")
    rows = {r["prior"]: r for r in ps.rows}
    assert list(rows) == ["sceptical", "default"]          # no published evidence on RLS severity
    r = sample.get("severity", "bayes")
    assert rows["default"]["used"] and not rows["sceptical"]["used"]
    assert rows["default"]["estimate"] == pytest.approx(r.estimate, abs=1e-6)
    assert rows["default"]["prob_meaningful_benefit"] == pytest.approx(r.extras["prob_meaningful_benefit"], abs=1e-6)
    assert (rows["sceptical"]["mean"], rows["sceptical"]["sd"]) == (0.0, 1.0)
    assert (rows["default"]["mean"], rows["default"]["sd"]) == (0.0, 2.5)
    # cached: the same object twice
    assert sample.prior_sensitivity("severity") is ps


def test_sceptical_prior_matches_a_normal_update(sample) -> None:
    """Independent check: the likelihood implied by the default-prior posterior (normal
    approximation, prior divided out), combined with the sceptical prior by the conjugate formula."""
    rows = {r["prior"]: r for r in sample.prior_sensitivity("severity").rows}
    d = rows["default"]
    sd_d = (d["ci_high"] - d["ci_low"]) / (2 * 1.959964)
    prec_lik = 1 / sd_d**2 - 1 / 2.5**2
    m_lik = d["estimate"] / sd_d**2 / prec_lik
    prec_s = prec_lik + 1 / 1.0**2
    m_s = m_lik * prec_lik / prec_s
    s = rows["sceptical"]
    assert s["estimate"] == pytest.approx(m_s, abs=0.05)
    assert (s["ci_high"] - s["ci_low"]) / (2 * 1.959964) == pytest.approx(prec_s**-0.5, rel=0.06)
    assert abs(s["estimate"]) < abs(d["estimate"])          # shrunk towards no effect


def test_evidence_prior_is_used_and_stated(sample) -> None:
    ps = sample.prior_sensitivity("systolic_bp")
    rows = {r["prior"]: r for r in ps.rows}
    assert list(rows) == ["sceptical", "default", "evidence"]
    assert rows["evidence"]["used"] and (rows["evidence"]["mean"], rows["evidence"]["sd"]) == (-4.4, 4.0)
    assert "Siervo" in rows["evidence"]["about"]
    r = sample.get("systolic_bp", "bayes")
    assert r.estimate == pytest.approx(rows["evidence"]["estimate"], abs=1e-6)
    assert r.extras["prior"]["scale"]["kind"] == "evidence" and "Siervo" in r.extras["prior"]["evidence_source"]
    # the evidence prior pulls the estimate towards -4.4 compared with the default prior
    assert abs(rows["evidence"]["estimate"] + 4.4) < abs(rows["default"]["estimate"] + 4.4)
    assert ps.sentence.startswith("The verdict on systolic_bp")


def test_weekly_outcome_is_not_refitted(sample) -> None:
    ps = sample.prior_sensitivity("irls")
    assert not ps.available and "weekly" in ps.reason


def test_sentence_when_the_verdict_depends_on_the_prior() -> None:
    p = nof1.Protocol.model_validate({
        "schema_version": 1, "id": "dep", "title": "Depends",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Active", "role": "treatment"}},
        "design": {"period_days": 7, "sequence": ["A", "B", "A", "B"]},
        "outcomes": [{"name": "y", "type": "continuous", "range": [0, 10], "better": "lower",
                      "mcid": 1.0, "role": "primary"}],
        "analysis": {"carryover": "none", "trend": False},
    })
    rng = np.random.default_rng(4)
    u = np.repeat([0.0, 1.0, 0.0, 1.0], 7)
    # an effect of about -1.9 measured with little noise: likely meaningful under the weak prior,
    # shrunk below that by the sceptical prior
    found = None
    for seed in range(40):
        rng = np.random.default_rng(seed)
        y = 5.0 - 1.9 * u + rng.normal(0, 1.2, u.size)
        td = TrialData.from_frame(p, pd.DataFrame({"day": np.arange(1, 29), "y": y}))
        ps = prior_sensitivity(td, "y", ("B", "A"))
        if ps.depends_on_prior:
            found = ps
            break
    assert found is not None
    assert found.sentence.startswith("The verdict on y depends on the prior:")
    assert "under the sceptical prior" in found.sentence and "under the default prior" in found.sentence


def test_onset_sensitivity(sample) -> None:
    os_ = sample.onset_sensitivity()
    taus = [r["tau"] for r in os_.rows]
    assert taus == ["estimated", 0.0, 1.0, 2.0, 4.0]
    est = [r["estimate"] for r in os_.rows[1:]]
    assert os_.spread == pytest.approx(max(est) - min(est))
    assert os_.disagree == (os_.spread > 0.5)
    # tau fixed at 0 is the instant-switch model: the bayes analysis with carryover none
    td = sample.trial_data
    r0 = nof1.analyze(td, outcomes=["severity"], methods=["bayes"], seed=1, carryover="none").get("severity", "bayes")
    assert os_.rows[1]["estimate"] == pytest.approx(r0.estimate, abs=1e-6)
    # the sample's true onset is 1.5 days: fixing it longer makes the estimate larger in size
    assert abs(os_.rows[4]["estimate"]) > abs(os_.rows[1]["estimate"])


def test_onset_sentence_when_they_disagree() -> None:
    p = nof1.Protocol.model_validate({
        "schema_version": 1, "id": "fast", "title": "Short periods",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Active", "role": "treatment"}},
        "design": {"period_days": 5, "sequence": ["A", "B"] * 5},
        "outcomes": [{"name": "y", "type": "continuous", "range": [0, 10], "better": "lower",
                      "mcid": 1.0, "role": "primary"}],
        "analysis": {"trend": False},
    })
    from nof1.models.exposure import exposure

    u = np.tile(np.repeat([0.0, 1.0], 5), 5)
    y = 5.0 - 2.0 * exposure(u, 3.0) + np.random.default_rng(1).normal(0, 0.3, u.size)
    td = TrialData.from_frame(p, pd.DataFrame({"day": np.arange(1, u.size + 1), "y": y}))
    os_ = onset_sensitivity(td, "y", ("B", "A"))
    assert os_.disagree and "leans on the onset assumption" in os_.sentence


def test_json_and_report_carry_the_sensitivity(sample) -> None:
    doc = json.loads(json.dumps(sample.to_dict()))
    sev = doc["outcomes"]["severity"]
    assert [r["prior"] for r in sev["prior_sensitivity"]["priors"]] == ["sceptical", "default"]
    assert len(sev["onset_sensitivity"]["rows"]) == 5
    assert "onset_sensitivity" not in doc["outcomes"]["systolic_bp"]        # primary only
    irls = doc["outcomes"]["irls"]["prior_sensitivity"]                     # weekly: not refitted, says why
    assert irls["available"] is False and "weekly" in irls["reason"]
    assert not any(k.startswith("_") for k in doc)
    from nof1.report import to_html

    page = to_html(sample, figures=False)
    assert 'id="prior-sensitivity-severity-B-A"' in page and 'id="onset-sensitivity-B-A"' in page
    assert "Siervo" in page


def test_instant_switch_bias_against_a_direct_fit() -> None:
    """Independent computation: statsmodels GLS with the AR(1) covariance on the noise-free series."""
    import statsmodels.api as sm

    from nof1.models.exposure import exposure

    conds = ["A", "B", "B", "A"]
    u = np.repeat([0.0, 1.0, 1.0, 0.0], 14)
    dip = np.tile(np.arange(1, 15), 4)
    keep = dip > 2
    y = -1.0 * exposure(u, 2.0)[keep]
    day = np.arange(1, 57)[keep]
    cov = 0.6 ** np.abs(day[:, None] - day[None, :])
    fit = sm.GLS(y, sm.add_constant(u[keep]), sigma=cov).fit()
    assert instant_switch_bias(conds, "A", 14, 2, tau=2.0, phi=0.6, effect=-1.0) == \
        pytest.approx(fit.params[1] + 1.0, abs=1e-10)


def test_onset_design_statement() -> None:
    p = nof1.load_protocol(ROOT / "protocols" / "evening-exercise-rls.yaml")
    d = onset_design(p, phi=0.4)
    assert d["worst_bias"] > d["threshold"] == 0.25
    if d["period_needed"] is not None:
        conds = [c for c, _ in p.periods_for()]
        worst = max(abs(instant_switch_bias(conds, p.control, d["period_needed"], d["washout_days"], tau=t,
                                            phi=0.4, trend=False)) for t in (1.0, 2.0, 4.0))
        assert worst < 0.25
        assert f"periods of {d['period_needed']} days" in d["sentence"]
    b = onset_design(nof1.load_protocol(BEETROOT), phi=0.4)
    assert b["bias"]["4"] < 0 and abs(b["bias"]["1"]) < abs(b["bias"]["4"])
    assert math.isfinite(b["worst_bias"])
