"""Covariate adjustment and the mediator check (issue 15)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import nof1
from nof1.analysis.classical import gls_ar1
from nof1.data import TrialData
from nof1.models.bayes_exact import ModelPriors, SeriesData, fit_exact, fit_exact_batch
from nof1.models.gls import gls_ar1_batch
from nof1.protocol import protocol_from_dict

PERIOD = 7
SEQ = ["A", "B", "B", "A", "B", "A", "A", "B"]
U = np.repeat([1.0 if c == "B" else 0.0 for c in SEQ], PERIOD)      # 56 days
DAYS = np.arange(1, U.size + 1)


def protocol(adjust: list[str], **extra: object) -> nof1.Protocol:
    data = {
        "schema_version": 1, "id": "cov", "title": "Covariates",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Active", "role": "treatment"}},
        "design": {"period_days": PERIOD, "sequence": SEQ, "start_date": "2026-01-01"},
        "outcomes": [
            {"name": "y", "type": "continuous", "range": [-50, 50], "better": "lower", "mcid": 1,
             "role": "primary"},
            {"name": "z", "type": "continuous", "range": [-50, 50], "role": "covariate"},
        ],
        "analysis": {"carryover": "none", "adjust_for": adjust, **extra},
    }
    return protocol_from_dict(data)


def ar1(rng: np.random.Generator, shape: tuple[int, ...], phi: float, sd: float) -> np.ndarray:
    e = np.empty(shape)
    e[..., 0] = rng.normal(0, sd, shape[:-1])
    for t in range(1, shape[-1]):
        e[..., t] = phi * e[..., t - 1] + np.sqrt(1 - phi**2) * rng.normal(0, sd, shape[:-1])
    return e


def trial(y: np.ndarray, z: np.ndarray, adjust: list[str]) -> TrialData:
    return TrialData.from_frame(protocol(adjust), pd.DataFrame({"day": DAYS, "y": y, "z": z}))


def test_protocol_checks_adjust_for() -> None:
    with pytest.raises(Exception, match="'y' is not an outcome with role: covariate"):
        protocol(["y"])
    with pytest.raises(Exception, match="better .* is required for every outcome except covariates"):
        protocol_from_dict({**json.loads(protocol([]).model_dump_json(exclude_defaults=True)),
                            "outcomes": [{"name": "y", "type": "continuous", "mcid": 1,
                                          "role": "primary"}]})


def test_exact_engine_with_a_covariate_is_ols_when_phi_and_tau_are_fixed() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    z = rng.normal(0, 2, U.size)
    y = 3.0 - 1.0 * U + 0.7 * z + rng.normal(0, 1, U.size)
    data = SeriesData(y=y, day=DAYS, u=U[None], covariates=z[:, None], covariate_names=("z",))
    post = fit_exact(data, ModelPriors.from_scale(10.0, tau_fixed=0.0, phi_fixed=0.0, effect_sd=1e4))
    ols = sm.OLS(y, np.column_stack([np.ones(U.size), U, z])).fit()
    s = post.summary()
    assert s["posterior_mean"] == pytest.approx(ols.params[1], abs=2e-3)
    # β | data is a Student-t with n - p dof: its sd is the OLS se × sqrt(dof / (dof - 2))
    dof = U.size - 3
    assert s["posterior_sd"] == pytest.approx(ols.bse[1] * np.sqrt(dof / (dof - 2)), rel=0.02)
    draws = post.draws(4000, seed=1)
    assert np.mean(draws["covariate:z"]) == pytest.approx(ols.params[2], abs=0.01)


def test_gls_ar1_adjusted_equals_statsmodels_gls_at_the_fitted_phi() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    z = ar1(rng, (U.size,), 0.5, 1.5)
    y = 4.0 - 1.2 * U + 0.6 * z + ar1(rng, (U.size,), 0.4, 1.0)
    r = gls_ar1(trial(y, z, ["z"]), "y", ("B", "A"), washout_days=0)
    phi = r.extras["phi"]
    X = np.column_stack([np.ones(U.size), U, z - z.mean()])
    V = phi ** np.abs(np.subtract.outer(DAYS, DAYS))
    ref = sm.GLS(y, X, sigma=V).fit()
    assert r.estimate == pytest.approx(ref.params[1], rel=1e-6)
    assert r.extras["se"] == pytest.approx(ref.bse[1], rel=1e-3)
    assert r.extras["covariate_coefficients"]["z"]["estimate"] == pytest.approx(ref.params[2], rel=1e-6)
    assert r.extras["adjusted_for"] == ["z"]


def test_adjusting_for_a_prognostic_daily_covariate_narrows_the_interval_and_keeps_coverage() -> None:
    """2,000 simulated trials: the covariate moves the outcome but not with the condition."""
    rng = np.random.default_rng(20261215)
    B, effect = 2000, -1.0
    z = ar1(rng, (B, U.size), 0.3, 1.0)
    Y = 5.0 + effect * U + 0.8 * z + ar1(rng, (B, U.size), 0.3, 1.0)
    pri = ModelPriors.from_scale(10.0, tau_fixed=0.0)
    adj = fit_exact_batch(Y, U, priors=pri, covariates=z[..., None])
    una = fit_exact_batch(Y, U, priors=pri)
    cov_adj = np.mean((adj.ci_low < effect) & (effect < adj.ci_high))
    cov_una = np.mean((una.ci_low < effect) & (effect < una.ci_high))
    width = np.mean(adj.ci_high - adj.ci_low) / np.mean(una.ci_high - una.ci_low)
    assert 0.935 <= cov_adj <= 0.965 and 0.935 <= cov_una <= 0.965, (cov_adj, cov_una)
    assert width < 0.85, width                    # residual sd 1 instead of sqrt(1 + 0.64)
    # the Normal(0, 2.5) effect prior shrinks by about sd²/2.5² = 2%; 3 Monte Carlo se = 0.02
    assert abs(np.mean(adj.estimate) - effect) < 0.045
    # the same with GLS (the same covariate columns): narrower and unbiased too
    X = np.stack([np.column_stack([np.ones(U.size), U, zi]) for zi in z])
    g_adj = gls_ar1_batch(Y, X, DAYS).contrast([0, 1, 0])
    g_una = gls_ar1_batch(Y, X[..., :2], DAYS).contrast([0, 1])
    assert np.mean(g_adj["ci_high"] - g_adj["ci_low"]) < 0.85 * np.mean(g_una["ci_high"] - g_una["ci_low"])
    assert abs(np.mean(g_adj["estimate"]) - effect) < 0.02


def test_the_mediator_check_flags_a_covariate_the_treatment_moves() -> None:
    """Sleep improves *because* the legs are calmer: adjusting removes part of the effect."""
    rng = np.random.default_rng(7)
    B, direct, via = 1000, -0.5, 1.5                     # total effect -0.5 + 0.8 * 1.5 ... below
    m = 1.0 + via * U + ar1(rng, (B, U.size), 0.3, 0.7)  # the mediator
    z = ar1(rng, (B, U.size), 0.3, 0.7)                  # a prognostic covariate, not a mediator
    X = np.column_stack([np.ones(U.size), U])
    flag_m = gls_ar1_batch(m, X, DAYS).contrast([0, 1])["p_value"] < 0.05
    flag_z = gls_ar1_batch(z, X, DAYS).contrast([0, 1])["p_value"] < 0.05
    assert flag_m.mean() > 0.99                          # a mediator is flagged
    assert 0.03 <= flag_z.mean() <= 0.08, flag_z.mean()  # a covariate that is not, about 5% of the time
    # one trial through nof1.analyze: flagged, with the warning; the adjusted effect is the direct one
    y = 5.0 + direct * U - 0.6 * m[0] + ar1(rng, (U.size,), 0.3, 0.8)
    res = nof1.analyze(trial(y, m[0], ["z"]), methods=["gls_ar1", "bayes"], seed=2)
    sec = res.extras["covariates"]
    assert sec["possible_mediators"] == ["z"] and sec["mediator_check"]["z"]["flag"] is True
    assert "mediator" in sec["sentences"][0] and "unadjusted effect" in sec["mediator_check"]["z"]["sentence"]
    total = direct - 0.6 * via
    e = sec["effects"]["y"]["B-A"]["gls_ar1"]
    assert e["unadjusted"]["ci_low"] < total < e["unadjusted"]["ci_high"]
    assert e["adjusted"]["ci_low"] < direct < e["adjusted"]["ci_high"]
    assert res.get("y", "bayes").extras["unadjusted"]["estimate"] == pytest.approx(
        e["unadjusted"]["estimate"], abs=0.3)
    # a prognostic covariate is not flagged and the sentence says so
    y2 = 5.0 + direct * U + 0.8 * z[1] + ar1(rng, (U.size,), 0.3, 0.8)
    res2 = nof1.analyze(trial(y2, z[1], ["z"]), methods=["gls_ar1"], seed=2)
    chk = res2.extras["covariates"]["mediator_check"]["z"]
    assert chk["flag"] is False and "does not differ between conditions beyond chance" in chk["sentence"]


def test_days_without_the_covariate_are_left_out_and_said() -> None:
    rng = np.random.default_rng(9)
    z = rng.normal(0, 1, U.size)
    y = 2.0 - U + 0.5 * z + rng.normal(0, 1, U.size)
    z[[3, 20, 40]] = np.nan
    r = gls_ar1(trial(y, z, ["z"]), "y", ("B", "A"), washout_days=0)
    assert r.extras["n_days"] == U.size - 3
    assert any("3 day(s) without a value of z" in n for n in r.notes)
    un = gls_ar1(trial(y, z, ["z"]), "y", ("B", "A"), washout_days=0, adjust=False)
    assert un.extras["n_days"] == U.size and "adjusted_for" not in un.extras


@pytest.mark.slow
def test_discrete_bayes_adjusts_for_a_covariate() -> None:
    """Count outcome, log rate 0.5 - 0.4·u + 0.5·z: the PyMC model with the covariate as pm.Data."""
    rng = np.random.default_rng(11)
    z = rng.normal(0, 1, U.size)
    y = rng.poisson(np.exp(0.5 - 0.4 * U + 0.5 * z))
    p = protocol(["z"])
    data = json.loads(p.model_dump_json(exclude_defaults=True))
    data["outcomes"][0] = {"name": "y", "type": "count", "better": "lower", "mcid": 1, "role": "primary"}
    pc = protocol_from_dict(data)
    td = TrialData.from_frame(pc, pd.DataFrame({"day": DAYS, "y": y, "z": z}))
    r = nof1.analyze(td, methods=["bayes"], seed=3, draws=400, tune=400).get("y", "bayes")
    assert r.available and r.extras["adjusted_for"] == ["z"]
    coef = r.extras["covariate_coefficients"]["z"]
    assert coef["ci_low"] < 0.5 < coef["ci_high"] and coef["ci_low"] > 0
    assert r.ci_low < -0.4 < r.ci_high
    assert r.extras["diagnostics"]["r_hat"] < 1.05 if "diagnostics" in r.extras else True
    un = r.extras["unadjusted"]
    assert un["available"] and un["ci_high"] - un["ci_low"] > r.ci_high - r.ci_low


def test_pymc_engine_agrees_with_the_exact_engine_on_the_adjusted_sample() -> None:
    """The covariate is a column of the nuisance design in both engines (beetroot sample, stress)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    p = nof1.load_protocol(root / "protocols" / "beetroot-juice-rls.yaml")
    td = nof1.read_log(root / "data" / "sample" / "beetroot_log.csv", p)
    ex = nof1.analyze(td, outcomes=["severity"], methods=["bayes"], seed=1).get("severity", "bayes")
    pm_ = nof1.analyze(td, outcomes=["severity"], methods=["bayes"], seed=1, engine="pymc",
                       draws=500, tune=500).get("severity", "bayes")
    d = pm_.extras["diagnostics"]
    assert d["max_rhat"] < 1.02 and d["min_ess_bulk"] > 300 and d["divergences"] == 0
    sd = ex.extras["posterior_sd"]
    assert abs(pm_.estimate - ex.estimate) < 0.1 * sd          # Monte Carlo error of 500 x 2 draws
    ce, cp = ex.extras["covariate_coefficients"]["stress"], pm_.extras["covariate_coefficients"]["stress"]
    assert abs(ce["estimate"] - cp["estimate"]) < 0.03
    assert ce["ci_low"] > 0.4 and ex.extras["adjusted_for"] == pm_.extras["adjusted_for"] == ["stress"]
