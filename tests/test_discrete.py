"""Ordinal / count / binary outcomes: Bayesian recovery, classical counterparts, sparse data.

Sampling is kept small (2 chains × 400 draws after 400 tuning) and every fit is seeded; the
recovery checks use datasets simulated from the model with fixed seeds, so they are
deterministic (and were checked to hold for neighbouring seeds, i.e. they are not cherry-picked
on a borderline case).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("PYTENSOR_FLAGS", "base_compiledir=" + os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv", "pytensor-cache"))

from nof1.analysis.discrete import (  # noqa: E402
    binary_glm_hac,
    count_glm_hac,
    decision_probabilities,
    fit_bayes_discrete,
    fit_period_level,
    hac_on_days,
    needs_period_level,
    newey_west_lags,
    ordinal_po,
)
from nof1.data import TrialData  # noqa: E402
from nof1.models.exposure import exposure  # noqa: E402
from nof1.protocol import Protocol  # noqa: E402

SMALL = {"draws": 400, "tune": 400, "chains": 2}


# --------------------------------------------------------------------------- generators
def make_protocol(otype: str, *, value_range: list | None = None, better: str = "lower",
                  mcid: float | None = 1.0, schedule: str = "daily", period_days: int = 14,
                  sequence: tuple = ("A", "B", "A", "B"), washout: int = 0,
                  carryover: str = "model", conditions: int = 2) -> Protocol:
    conds: dict[str, Any] = {"A": {"label": "Control", "role": "control"},
                             "B": {"label": "Treatment", "role": "treatment"}}
    if conditions == 3:
        conds["C"] = {"label": "Other", "role": "treatment"}
    out: dict[str, Any] = {"name": "y", "type": otype, "better": better, "mcid": mcid,
                           "role": "primary", "schedule": schedule}
    if value_range is not None:
        out["range"] = value_range
    return Protocol.model_validate({
        "schema_version": 1, "id": "t", "title": "t", "conditions": conds,
        "design": {"period_days": period_days, "sequence": list(sequence),
                   "washout_days": washout},
        "outcomes": [out], "analysis": {"carryover": carryover},
    })


def latent_series(protocol: Protocol, *, beta: dict[str, float], phi: float, sigma: float,
                  tau: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Schedule and latent η_t = Σ β_k x_kt(τ) + z_t (z stationary AR(1), sd sigma)."""
    rng = np.random.default_rng(seed)
    sched = protocol.schedule()
    sched = sched[sched["phase"] == "trial"].reset_index(drop=True)
    n = len(sched)
    eta = np.zeros(n)
    for key, b in beta.items():
        eta += b * exposure((sched["condition"] == key).to_numpy(float), tau)
    z = np.empty(n)
    z[0] = sigma * rng.standard_normal()
    for i in range(1, n):
        z[i] = phi * z[i - 1] + sigma * math.sqrt(1 - phi**2) * rng.standard_normal()
    return sched, eta + z


def trial(protocol: Protocol, sched: pd.DataFrame, y: np.ndarray) -> TrialData:
    frame = pd.DataFrame({"day": sched["day"].to_numpy(), "y": y,
                          "condition": sched["condition"].astype(object).to_numpy()})
    frame = frame[~np.isnan(y)]
    return TrialData.from_frame(protocol, frame)


def ordinal_cuts(k: int) -> np.ndarray:
    p = np.arange(1, k) / k
    return np.log(p / (1 - p))


def simulate_ordinal(protocol: Protocol, beta: float, seed: int, phi: float = 0.5,
                     sigma: float = 0.8, tau: float = 1.0) -> tuple[TrialData, dict]:
    lo, hi = (int(v) for v in protocol.primary.range)
    cuts = ordinal_cuts(hi - lo + 1)
    sched, eta = latent_series(protocol, beta={"B": beta}, phi=phi, sigma=sigma, tau=tau, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    y = lo + np.searchsorted(cuts, eta + rng.logistic(size=eta.size)).astype(float)
    return trial(protocol, sched, y), {"cuts": cuts, "sigma": sigma, "low": lo}


# --------------------------------------------------------------------------- Bayesian recovery
@pytest.mark.slow
def test_ordinal_recovery_and_rating_difference() -> None:
    """True latent β and true steady-state rating difference inside the 95% intervals."""
    from nof1.models.discrete_pymc import expected_rating

    p = make_protocol("ordinal", value_range=[0, 10])
    td, truth = simulate_ordinal(p, beta=-1.5, seed=11)
    r = fit_bayes_discrete(td, "y", ("B", "A"), seed=3, **SMALL)
    assert r.available, r.reason
    assert r.ci_low < -1.5 < r.ci_high
    assert r.extras["scale"] == "logit"
    true_diff = float(expected_rating(truth["cuts"][None, :], np.array([-1.5]), truth["sigma"])[0]
                      - expected_rating(truth["cuts"][None, :], np.array([0.0]), truth["sigma"])[0])
    rd = r.extras["rating_difference"]
    assert rd["ci_low"] < true_diff < rd["ci_high"]
    assert rd["ci_low"] < rd["estimate"] < rd["ci_high"] < 0.5
    assert r.extras["r_hat"] < 1.05 and r.extras["ess_bulk"] > 150
    assert r.extras["carryover"] == "model" and r.extras["carryover_identifiable"] is True
    # probabilities on the rating scale, consistent with the draws of the fit
    d = r.fit.effect_draws("B-A")
    assert r.extras["prob_meaningful_benefit"] == pytest.approx(np.mean(d <= -1.0))
    assert r.extras["prob_negligible"] == pytest.approx(np.mean(np.abs(d) < 1.0))
    assert r.extras["prob_benefit"] > 0.9
    assert r.fit.posterior["posterior"]["effect"].shape == (2, 400)
    js = r.to_dict()
    assert set(js["rating_difference"]) == {"estimate", "ci_low", "ci_high"}


@pytest.mark.slow
def test_count_recovery() -> None:
    p = make_protocol("count", better="lower", mcid=0.5)
    sched, eta = latent_series(p, beta={"B": -0.6}, phi=0.4, sigma=0.3, tau=1.0, seed=21)
    rng = np.random.default_rng(22)
    base = math.log(3.0)
    y = rng.poisson(np.exp(base + eta)).astype(float)
    td = trial(p, sched, y)
    r = fit_bayes_discrete(td, "y", ("B", "A"), seed=4, **SMALL)
    assert r.available, r.reason
    assert r.extras["scale"] == "log_rate_ratio"
    assert r.ci_low < -0.6 < r.ci_high
    rr = r.extras["rate_ratio"]
    assert rr["ci_low"] < math.exp(-0.6) < rr["ci_high"]
    true_diff = math.exp(base + 0.3**2 / 2) * (math.exp(-0.6) - 1.0)
    dd = r.extras["difference_per_day"]
    assert dd["ci_low"] < true_diff < dd["ci_high"]
    assert r.extras["r_hat"] < 1.05
    assert r.extras["mcid_scale"] == "difference_per_day"
    # classical counterpart on the same data agrees roughly
    c = count_glm_hac(td, "y", ("B", "A"))
    assert c.available and c.ci_low < -0.6 < c.ci_high
    assert abs(c.estimate - r.estimate) < 0.25


@pytest.mark.slow
def test_binary_recovery() -> None:
    from nof1.models.discrete_pymc import gauss_hermite_normal

    p = make_protocol("binary", better="higher", mcid=0.1, period_days=21)
    sched, eta = latent_series(p, beta={"B": 1.5}, phi=0.5, sigma=0.7, tau=1.0, seed=31)
    rng = np.random.default_rng(32)
    y = (rng.random(eta.size) < 1 / (1 + np.exp(-(eta - 0.5)))).astype(float)
    td = trial(p, sched, y)
    r = fit_bayes_discrete(td, "y", ("B", "A"), seed=5, **SMALL)
    assert r.available, r.reason
    assert r.ci_low < 1.5 < r.ci_high
    x, w = gauss_hermite_normal(40)
    risk = [float(np.sum(w / (1 + np.exp(-(-0.5 + b + 0.7 * x))))) for b in (1.5, 0.0)]
    rd = r.extras["risk_difference"]
    assert rd["ci_low"] < risk[0] - risk[1] < rd["ci_high"]
    assert r.extras["odds_ratio"]["estimate"] == pytest.approx(math.exp(r.estimate))
    assert r.extras["prob_benefit"] > 0.9 and r.extras["r_hat"] < 1.05


@pytest.mark.slow
def test_sparse_categories_and_refit_uses_cache() -> None:
    """0–10 ratings where only 0, 1, 2 and 7 occur: the model fits on the full range."""
    p = make_protocol("ordinal", value_range=[0, 10], carryover="none")
    rng = np.random.default_rng(41)
    sched = p.schedule()
    is_b = (sched["condition"] == "B").to_numpy()
    y = np.where(is_b, rng.choice([0, 1, 2, 7], size=len(sched), p=[0.4, 0.3, 0.2, 0.1]),
                 rng.choice([0, 1, 2, 7], size=len(sched), p=[0.1, 0.2, 0.3, 0.4])).astype(float)
    td = trial(p, sched, y)
    r = fit_bayes_discrete(td, "y", ("B", "A"), seed=6, **SMALL)
    assert r.available, r.reason
    assert r.extras["categories_observed"] == [0, 1, 2, 7]
    assert any("never occurred" in n for n in r.notes)
    # B shifts the ratings down (observed mean difference about -2.7): the posterior agrees
    assert r.estimate < 0 and r.extras["rating_difference"]["estimate"] < -1
    assert float(np.mean(r.fit.effect_draws("B-A") < 0)) > 0.9
    assert np.all(np.isfinite(r.fit.posterior_draws.cuts))
    assert r.extras["r_hat"] < 1.05
    # the observed mean difference lies inside the rating-difference interval
    obs = y[is_b].mean() - y[~is_b].mean()
    rd = r.extras["rating_difference"]
    assert rd["ci_low"] < obs < rd["ci_high"]
    # a second fit of the same structure reuses the compiled model
    r2 = fit_bayes_discrete(td, "y", ("B", "A"), seed=7, **SMALL)
    assert r2.fit.posterior_draws.diagnostics["compiled_from_cache"] is True
    po = ordinal_po(td, "y", ("B", "A"))
    assert po.available and po.extras["categories_observed"] == [0.0, 1.0, 2.0, 7.0]
    assert np.sign(po.estimate) == np.sign(r.estimate)


def test_weekly_discrete_outcome_notes_carryover_not_identifiable() -> None:
    p = make_protocol("ordinal", value_range=[0, 4], schedule="weekly", washout=3,
                      sequence=("A", "B") * 4)
    td, _ = simulate_ordinal(p, beta=1.0, seed=51)
    keep = td.data["day_in_period"].isin([7, 14])
    td.data.loc[~keep, "y"] = np.nan
    r = fit_bayes_discrete(td, "y", ("B", "A"), seed=8, **SMALL)
    assert r.available, r.reason
    assert r.extras["carryover_identifiable"] is False and r.extras["carryover"] == "exclude"
    assert any("not identifiable" in n for n in r.notes)
    assert r.extras["n_days"] == 16


def test_three_conditions_contrast_between_treatments() -> None:
    """C vs B (neither the control): the contrast is β_C − β_B on every scale."""
    p = make_protocol("count", mcid=0.5, carryover="none", conditions=3, period_days=10,
                      sequence=("A", "B", "C", "B", "C", "A", "C", "A", "B"))
    sched, eta = latent_series(p, beta={"B": -0.2, "C": -0.9}, phi=0.0, sigma=0.0, tau=0.0,
                               seed=91)
    y = np.random.default_rng(92).poisson(np.exp(math.log(4.0) + eta)).astype(float)
    td = trial(p, sched, y)
    r = fit_bayes_discrete(td, "y", ("C", "B"), seed=9, autocorrelation=False, **SMALL)
    assert r.available, r.reason
    assert r.ci_low < -0.7 < r.ci_high and r.ci_high < 0
    dd = r.extras["difference_per_day"]
    assert dd["ci_low"] < 4.0 * (math.exp(-0.9) - math.exp(-0.2)) < dd["ci_high"]
    assert set(r.extras["n_days_by_condition"]) == {"A", "B", "C"}
    assert r.fit.effect_draws("C-B").size == 800
    with pytest.raises(KeyError):
        r.fit.effect_draws("B-A")
    c = count_glm_hac(td, "y", ("C", "B"))
    assert c.available and abs(c.estimate - r.estimate) < 0.1


def test_unavailable_cases() -> None:
    p = make_protocol("ordinal", value_range=[0, 10])
    sched = p.schedule()
    td = trial(p, sched, np.where(sched["condition"] == "A", 2.0, 3.0))
    assert fit_bayes_discrete(td, "y", ("B", "C"), **SMALL).available is False
    td_one = trial(p, sched, np.where(sched["condition"] == "A", 2.0, np.nan))
    r = fit_bayes_discrete(td_one, "y", ("B", "A"), **SMALL)
    assert not r.available and "condition B" in r.reason
    bad = trial(p, sched, np.full(len(sched), 2.5))
    assert "whole numbers" in fit_bayes_discrete(bad, "y", ("B", "A"), **SMALL).reason
    out_of_range = trial(p, sched, np.full(len(sched), 12.0))
    assert "outside the declared range" in fit_bayes_discrete(out_of_range, "y", ("B", "A")).reason
    # classical: complete separation and constant values (each condition constant: the shared
    # no-variation reason of nof1.analysis.degenerate)
    r = ordinal_po(td, "y", ("B", "A"))
    assert not r.available and r.reason.startswith("every value under Treatment is 3 and every value "
                                                   "under Control is 2: there is no day-to-day variation")
    const = trial(p, sched, np.full(len(sched), 4.0))
    assert not ordinal_po(const, "y", ("B", "A")).available
    pb = make_protocol("binary", mcid=0.1)
    sep = trial(pb, sched, np.where(sched["condition"] == "A", 0.0, 1.0))
    r = binary_glm_hac(sep, "y", ("B", "A"))
    assert not r.available and "no day-to-day variation" in r.reason
    sched_c = sched["condition"].to_numpy()
    sep_b = np.where(sched_c == "A", 0.0, (np.arange(len(sched)) % 3 > 0).astype(float))
    r = binary_glm_hac(trial(pb, sched, sep_b), "y", ("B", "A"))   # A never: separation
    assert not r.available and "separation" in r.reason
    pc = make_protocol("count", mcid=0.5)
    zeros = trial(pc, sched, np.where(sched["condition"] == "A", 0.0, 2.0 + np.arange(len(sched)) % 2))
    r = count_glm_hac(zeros, "y", ("B", "A"))
    assert not r.available and "count of 0" in r.reason
    cont = make_protocol("continuous", value_range=[0, 10])
    tc = trial(cont, sched, np.ones(len(sched)))
    assert not fit_bayes_discrete(tc, "y", ("B", "A")).available


# --------------------------------------------------------------------------- classical vs statsmodels
def _frame_xy(td: TrialData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f = td.outcome_frame("y")
    return f["y"].to_numpy(float), (f["condition"] == "B").to_numpy(float), f["day"].to_numpy()


def test_ordinal_po_matches_statsmodels() -> None:
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    p = make_protocol("ordinal", value_range=[0, 10], carryover="none")
    td, _ = simulate_ordinal(p, beta=1.0, seed=61, phi=0.0, sigma=0.0, tau=0.0)
    r = ordinal_po(td, "y", ("B", "A"))
    y, x, _ = _frame_xy(td)
    vals = np.unique(y)
    res = OrderedModel(np.searchsorted(vals, y), x[:, None], distr="logit").fit(
        method="bfgs", disp=False, maxiter=2000)
    assert r.estimate == pytest.approx(res.params[0], abs=1e-4)
    se = float(np.sqrt(res.cov_params().iloc[0, 0] if hasattr(res.cov_params(), "iloc")
                       else res.cov_params()[0, 0]))
    assert r.extras["se"] == pytest.approx(se, rel=1e-3)
    assert r.ci_high - r.ci_low == pytest.approx(2 * 1.959964 * se, rel=1e-3)
    assert any("independent" in n for n in r.notes)


@pytest.mark.parametrize("family", ["count", "binary"])
def test_glm_hac_matches_statsmodels(family: str) -> None:
    import statsmodels.api as sm

    p = make_protocol(family, mcid=0.5 if family == "count" else 0.1)
    sched, eta = latent_series(p, beta={"B": 0.8}, phi=0.5, sigma=0.5, tau=0.0, seed=71)
    rng = np.random.default_rng(72)
    y = (rng.poisson(np.exp(1.0 + eta)) if family == "count"
         else rng.random(eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    td = trial(p, sched, y)
    fn = count_glm_hac if family == "count" else binary_glm_hac
    r = fn(td, "y", ("B", "A"))
    yy, x, _ = _frame_xy(td)
    X = sm.add_constant(x)
    fam = sm.families.Poisson() if family == "count" else sm.families.Binomial()
    L = newey_west_lags(56)
    ref = sm.GLM(yy, X, family=fam).fit(cov_type="HAC", cov_kwds={"maxlags": L})
    assert r.estimate == pytest.approx(ref.params[1], rel=1e-6)
    assert r.extras["se"] == pytest.approx(ref.bse[1], rel=1e-6)
    assert r.extras["hac_lags"] == L == 3
    key = "rate_ratio" if family == "count" else "odds_ratio"
    assert r.extras[key]["estimate"] == pytest.approx(math.exp(ref.params[1]))
    assert r.p_value == pytest.approx(ref.pvalues[1], rel=1e-5)


def test_hac_on_days_treats_missing_days_as_gaps() -> None:
    rng = np.random.default_rng(3)
    s = rng.normal(size=(10, 2))
    day = np.array([1, 2, 3, 5, 6, 7, 8, 10, 11, 12])
    full = np.zeros((12, 2))
    full[day - 1] = s
    expected = full.T @ full
    for lag in (1, 2):
        g = full[lag:].T @ full[:-lag]
        expected += (1 - lag / 3) * (g + g.T)
    assert np.allclose(hac_on_days(s, day, np.eye(2), 2), expected)
    # with consecutive days it is the ordinary Newey–West sum over rows
    assert np.allclose(hac_on_days(s, np.arange(1, 11), np.eye(2), 0), s.T @ s)


# --------------------------------------------------------------------------- period-level fallback
def test_period_level_matches_t_interval_with_flat_prior() -> None:
    """With a very wide effect prior the period-level posterior is the classical t-interval."""
    from scipy import stats

    p = make_protocol("continuous", value_range=[0, 100], schedule="weekly", washout=3,
                      sequence=("A", "B", "B", "A", "A", "B"), mcid=2.0)
    rng = np.random.default_rng(81)
    sched = p.schedule()
    y = np.where(sched["day_in_period"].isin([7, 14]),
                 50 - 3 * (sched["condition"] == "B") + rng.normal(0, 2, len(sched)), np.nan)
    td = trial(p, sched, y)
    assert needs_period_level(td, "y")
    r = fit_period_level(td, "y", ("B", "A"), effect_sd=1e6)
    t = r.fit.table
    ya, yb = t.loc[t.condition == "A", "y"], t.loc[t.condition == "B", "y"]
    diff = yb.mean() - ya.mean()
    sp = math.sqrt(((len(ya) - 1) * ya.var() + (len(yb) - 1) * yb.var()) / (len(t) - 2))
    se = sp * math.sqrt(1 / len(ya) + 1 / len(yb))
    q = stats.t.ppf(0.975, len(t) - 2)
    assert r.estimate == pytest.approx(diff, abs=1e-6)
    assert r.ci_low == pytest.approx(diff - q * se, rel=1e-4)
    assert r.ci_high == pytest.approx(diff + q * se, rel=1e-4)
    assert r.extras["carryover_identifiable"] is False and r.extras["periods"] == 6
    pb = 1 - stats.t.cdf((-2.0 - diff) / se, len(t) - 2)
    assert r.extras["prob_meaningful_harm"] == pytest.approx(1 - stats.t.cdf((2.0 - diff) / se, 4),
                                                             abs=1e-4)
    assert r.extras["prob_meaningful_benefit"] == pytest.approx(1 - pb, abs=1e-4)
    draws = r.fit.effect_draws("B-A")
    assert abs(np.median(draws) - diff) < 0.1
    few = trial(p, sched.iloc[:28], y[:28])
    assert not fit_period_level(few, "y", ("B", "A")).available


# --------------------------------------------------------------------------- model internals
def test_ar1_filter_gradient_and_recursion_match() -> None:
    import pytensor
    import pytensor.tensor as pt

    from nof1.models.ar1 import _ar1_adjoint_py, _ar1_forward_py, ar1_filter

    rng = np.random.default_rng(0)
    eps0, a0, s0 = rng.normal(size=6), np.r_[0.0, rng.uniform(0.1, 0.9, 5)], rng.uniform(0.5, 2, 6)
    eps, a, s = pt.dvector("eps"), pt.dvector("a"), pt.dvector("s")
    wts = rng.normal(size=6)
    cost = pt.sum(ar1_filter(eps, a, s) * wts)
    f = pytensor.function([eps, a, s], [cost, *pytensor.grad(cost, [eps, a, s])])
    val, ge, ga, gs = f(eps0, a0, s0)
    z = _ar1_forward_py(eps0, a0, s0)
    assert val == pytest.approx(float(z @ wts))
    h = 1e-6
    for arr, grad in ((eps0, ge), (a0, ga), (s0, gs)):
        for i in range(1, 6):
            up, dn = arr.copy(), arr.copy()
            up[i] += h
            dn[i] -= h
            args_up = [up if arr is x else x for x in (eps0, a0, s0)]
            args_dn = [dn if arr is x else x for x in (eps0, a0, s0)]
            num = (_ar1_forward_py(*args_up) @ wts - _ar1_forward_py(*args_dn) @ wts) / (2 * h)
            assert grad[i] == pytest.approx(num, rel=1e-5, abs=1e-8)
    adj = _ar1_adjoint_py(eps0, a0, s0, z, wts)
    assert np.allclose(adj[0], ge) and np.allclose(adj[2], gs)
    # the recursion gives corr φ^gap: check the implied covariance for unit ε variance
    t = np.array([1.0, 2.0, 4.0, 7.0])
    phi = 0.6
    aa = np.r_[0.0, phi ** np.diff(t)]
    ss = np.sqrt(1 - aa**2)
    L = np.column_stack([_ar1_forward_py(np.eye(4)[:, j], aa, ss) for j in range(4)])
    assert np.allclose(L @ L.T, phi ** np.abs(t[:, None] - t[None, :]))


def test_expected_rating_and_probabilities() -> None:
    from nof1.models.discrete_pymc import expected_rating, ordinal_category_probs

    rng = np.random.default_rng(1)
    cuts = np.sort(rng.normal(0, 1.5, 6))
    z = rng.normal(0, 0.9, 200_000)
    probs = ordinal_category_probs(cuts[None, :], 0.4 + z).mean(axis=0)
    mc = float(probs @ np.arange(3, 10))
    assert expected_rating(cuts[None, :], np.array([0.4]), 0.9, low=3)[0] == pytest.approx(mc, abs=0.01)
    p = decision_probabilities(np.array([-2.0, -0.5, 0.2, 1.5]), "higher", 1.0)
    assert p == {"prob_benefit": 0.5, "prob_meaningful_benefit": 0.25,
                 "prob_meaningful_harm": 0.25, "prob_negligible": 0.5}
