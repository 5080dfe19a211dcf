"""The exact Bayesian engine: closed form against brute-force integration, GLS, recovery, batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from nof1.models.bayes_exact import (
    BATCH_GRID,
    SINGLE_GRID,
    ModelPriors,
    SeriesData,
    contrast_vector,
    fit_exact,
    fit_exact_batch,
    mixture_quantile,
    residual_lag1_check,
)
from nof1.models.exposure import exposure

ABAB = np.repeat([0, 1, 0, 1], 14).astype(float)


def ar1(rng: np.random.Generator, n: int, phi: float, size: int | None = None) -> np.ndarray:
    """Stationary AR(1) with unit marginal variance (rows = series when size is given)."""
    shape = (size, n) if size else (n,)
    z = rng.standard_normal(shape)
    e = np.empty(shape)
    e[..., 0] = z[..., 0]
    for t in range(1, n):
        e[..., t] = phi * e[..., t - 1] + math.sqrt(1 - phi * phi) * z[..., t]
    return e


# --------------------------------------------------------------------------- brute force
def brute_force(y, day, x, priors: ModelPriors, phis, phi_w):
    """Marginal posterior of β on a grid by direct 3-D quadrature over (α, β, log σ) using the
    full AR(1) correlation matrix (no whitening, no sweep), for a set of φ values with weights."""
    alpha = np.linspace(y.mean() - 3.5, y.mean() + 3.5, 71)
    beta = np.linspace(-4.5, 3.5, 321)
    ls = np.linspace(math.log(0.2), math.log(5), 71)
    A, Bt, L = np.meshgrid(alpha, beta, ls, indexing="ij", sparse=True)
    S2 = np.exp(2 * L)
    X = np.column_stack([np.ones_like(y), x])
    lag = np.abs(day[:, None] - day[None, :])
    logs, total = [], 0.0
    for ph in phis:
        R = ph ** lag
        Ri = np.linalg.inv(R)
        ld = np.linalg.slogdet(R)[1]
        XtX, Xty, yy = X.T @ Ri @ X, X.T @ Ri @ y, y @ Ri @ y
        Q = (yy - 2 * (A * Xty[0] + Bt * Xty[1]) + A * A * XtX[0, 0] + 2 * A * Bt * XtX[0, 1]
             + Bt * Bt * XtX[1, 1])
        lp = (-len(y) * L - 0.5 * ld - Q / (2 * S2)
              + stats.norm.logpdf(Bt, priors.effect_mean[0], priors.effect_sd[0])
              - S2 / (2 * priors.sigma_scale**2) + L)
        logs.append(lp)
    top = max(float(lp.max()) for lp in logs)
    for lp, w in zip(logs, phi_w, strict=True):
        total = total + w * np.exp(lp - top)
    pb = total.sum(axis=(0, 2))
    pb /= pb.sum()
    mean = float(pb @ beta)
    sd = math.sqrt(float(pb @ beta**2) - mean**2)
    cdf = np.cumsum(pb) - 0.5 * pb  # midpoint CDF at the grid points
    return mean, sd, lambda q: float(np.interp(q, beta, cdf))


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(5)
    u = np.repeat([0, 1, 0, 1, 0, 1], 5).astype(float)
    day = np.array([1, 2, 3, 5, 6, 7, 9, 10, 12, 13, 15, 16, 17, 20, 21, 23, 24, 26, 28, 29])
    x = exposure(u, 1.5)
    y = (3 - 1.2 * x + ar1(rng, 30, 0.5))[day - 1]
    priors = ModelPriors(effect_mean=(0.3,), effect_sd=(0.8,), sigma_scale=1.5, tau_fixed=1.5)
    return SeriesData(y=y, day=day, u=u[None]), x[day - 1], priors


def test_closed_form_matches_brute_force_at_fixed_phi_tau(tiny):
    data, x, priors = tiny
    fixed = ModelPriors(**{**priors.__dict__, "phi_fixed": 0.5})
    s = fit_exact(data, fixed).summary(mcid=1.0)
    mean, sd, cdf = brute_force(data.y, data.day, x, fixed, [0.5], [1.0])
    assert s["posterior_mean"] == pytest.approx(mean, abs=2e-3 * sd)
    assert s["posterior_sd"] == pytest.approx(sd, rel=2e-3)
    for q in ("ci_low", "estimate", "ci_high"):
        assert cdf(s[q]) == pytest.approx({"ci_low": 0.025, "estimate": 0.5, "ci_high": 0.975}[q], abs=2e-3)
    assert cdf(-1.0) == pytest.approx(s["prob_meaningful_benefit"], abs=2e-3)


def test_phi_integration_matches_brute_force(tiny):
    data, x, priors = tiny
    s = fit_exact(data, priors).summary()
    edges = np.linspace(priors.phi_low, priors.phi_high, 59)
    mids = 0.5 * (edges[1:] + edges[:-1])
    mean, sd, cdf = brute_force(data.y, data.day, x, priors, mids, np.ones_like(mids))
    assert s["posterior_mean"] == pytest.approx(mean, abs=3e-3 * sd)
    assert s["posterior_sd"] == pytest.approx(sd, rel=3e-3)
    assert cdf(s["ci_low"]) == pytest.approx(0.025, abs=2e-3)
    assert cdf(s["ci_high"]) == pytest.approx(0.975, abs=2e-3)


def test_tau_integration_matches_brute_force():
    """τ integrated by the engine vs a fine midpoint grid over z = log τ (φ, σ fixed-ish)."""
    rng = np.random.default_rng(8)
    u = ABAB
    day = np.arange(1, 57)
    y = 4 - 1.5 * exposure(u, 2.0) + 0.8 * ar1(rng, 56, 0.3)
    priors = ModelPriors.from_scale(10.0, phi_fixed=0.3)
    s = fit_exact(SeriesData(y=y, day=day, u=u[None]), priors).summary()
    # brute force: for each τ on a fine grid the engine at fixed τ (checked against direct
    # integration above), mixed with weights p(y|τ)·p(τ) from the normaliser of each fixed fit
    edges = np.linspace(-4, 4, 201)
    z = 0.5 * (edges[1:] + edges[:-1])
    taus = priors.tau_median * np.exp(priors.tau_sigma * z)
    from nof1.models.exact_grid import prepare_series, run_grid

    logml, means, sds = [], [], []
    for t in taus:
        pr = ModelPriors(**{**priors.__dict__, "tau_fixed": float(t)})
        prep = prepare_series(y[None], day[None], u[None, None], trend=False, run_in_days=0)
        ev, _, _ = run_grid(prep, pr, SINGLE_GRID)
        lw = ev.logw[0].reshape(-1)
        top = lw.max()
        w = np.exp(lw - top)
        logml.append(top + math.log(w.sum()))
        m, c = ev.beta_mean[0].reshape(-1), ev.beta_cov[0].reshape(-1)
        means.append((w @ m) / w.sum())
        sds.append(math.sqrt((w @ (c + m * m)) / w.sum() - means[-1] ** 2))
    logml = np.array(logml) + stats.norm.logpdf(z)
    wt = np.exp(logml - logml.max())
    wt /= wt.sum()
    mean = float(wt @ np.array(means))
    var = float(wt @ (np.array(sds) ** 2 + np.array(means) ** 2)) - mean**2
    assert s["posterior_mean"] == pytest.approx(mean, abs=2e-3 * math.sqrt(var))
    assert s["posterior_sd"] == pytest.approx(math.sqrt(var), rel=3e-3)


def test_flat_prior_posterior_mean_equals_gls():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(2)
    day = np.sort(rng.choice(np.arange(1, 57), 48, replace=False))
    y = (2.0 + 0.9 * ABAB + ar1(rng, 56, 0.5))[day - 1]
    X = np.column_stack([np.ones(day.size), ABAB[day - 1]])
    R = 0.5 ** np.abs(day[:, None] - day[None, :])
    gls = sm.GLS(y, X, sigma=R).fit()
    priors = ModelPriors(effect_sd=(1e4,), sigma_scale=100.0, tau_fixed=0.0, phi_fixed=0.5)
    s = fit_exact(SeriesData(y=y, day=day, u=ABAB[None]), priors).summary()
    assert s["posterior_mean"] == pytest.approx(gls.params[1], abs=1e-6)
    # the marginal posterior is a scaled t with n − p df around the GLS estimate (σ prior ~flat)
    assert s["posterior_sd"] == pytest.approx(gls.bse[1] * math.sqrt((48 - 2) / (48 - 2 - 2)), rel=0.03)


# --------------------------------------------------------------------------- recovery, priors
def test_simulation_recovery_and_coverage():
    rng = np.random.default_rng(11)
    n = 300
    Y = 5 - 1.0 * exposure(ABAB, 2.0) + 1.0 * ar1(rng, 56, 0.5, n)
    r = fit_exact_batch(Y, ABAB, priors=ModelPriors.from_scale(10.0), mcid=1.0)
    cover = np.mean((r.ci_low <= -1.0) & (r.ci_high >= -1.0))
    assert 0.91 <= cover <= 0.99
    assert abs(np.median(r.estimate) + 1.0) < 0.15
    assert 0.35 < np.median(r.phi_median) < 0.6


def test_single_fit_recovers_truth_and_hyperparameters():
    rng = np.random.default_rng(4)
    u = np.tile(np.repeat([0.0, 1.0], 14), 4)
    y = 6 + 2.0 * exposure(u, 3.0) + 0.7 * ar1(rng, u.size, 0.4)
    post = fit_exact(SeriesData(y=y, day=np.arange(1, u.size + 1), u=u[None]), ModelPriors.from_scale(10.0))
    s = post.summary(better="higher", mcid=1.0)
    assert s["ci_low"] < 2.0 < s["ci_high"]
    assert s["prob_benefit"] > 0.999 and s["prob_meaningful_benefit"] > 0.9
    tau, phi = post.tau_summary(), post.phi_summary()
    assert tau["ci"][0] < 3.0 < tau["ci"][1] and not tau["fixed"]
    assert phi["ci"][0] < 0.4 < phi["ci"][1]
    draws = post.draws(2000, seed=1)
    assert abs(np.mean(draws["beta"][:, 0]) - s["posterior_mean"]) < 0.1 * s["posterior_sd"]
    assert abs(np.mean(draws["alpha"]) - 6.0) < 1.0


def test_sceptical_prior_shrinks_towards_zero():
    rng = np.random.default_rng(9)
    y = 5 - 1.5 * ABAB + 1.5 * ar1(rng, 56, 0.3)
    data = SeriesData(y=y, day=np.arange(1, 57), u=ABAB[None])
    weak = fit_exact(data, ModelPriors.from_scale(10.0, tau_fixed=0.0)).summary(mcid=1.0)
    scep = fit_exact(data, ModelPriors.from_scale(10.0, kind="sceptical", mcid=1.0, tau_fixed=0.0)
                     ).summary(mcid=1.0)
    assert weak["estimate"] < scep["estimate"] < 0
    assert scep["posterior_sd"] < weak["posterior_sd"]
    assert scep["prob_meaningful_benefit"] < weak["prob_meaningful_benefit"]
    with pytest.raises(ValueError, match="mcid"):
        ModelPriors.from_scale(10.0, kind="sceptical")


def test_three_conditions_contrasts():
    rng = np.random.default_rng(3)
    seq = [0, 1, 2, 2, 0, 1, 1, 2, 0]
    codes = np.repeat(seq, 10)
    u = np.stack([(codes == 1), (codes == 2)]).astype(float)
    x = np.stack([exposure(u[0], 1.0), exposure(u[1], 1.0)])
    y = 5 - 1.5 * x[0] - 0.3 * x[1] + 0.8 * ar1(rng, codes.size, 0.3)
    post = fit_exact(SeriesData(y=y, day=np.arange(1, codes.size + 1), u=u),
                     ModelPriors.from_scale(10.0, n_treatments=2))
    b1 = post.summary(contrast_vector(2, 0, None))
    b2 = post.summary(contrast_vector(2, 1, None))
    d12 = post.summary(contrast_vector(2, 0, 1))
    assert b1["ci_low"] < -1.5 < b1["ci_high"] and b2["ci_low"] < -0.3 < b2["ci_high"]
    assert d12["ci_low"] < -1.2 < d12["ci_high"]
    assert d12["posterior_mean"] == pytest.approx(b1["posterior_mean"] - b2["posterior_mean"], abs=1e-9)
    draws = post.draws(20000, seed=2)["beta"]
    diff = draws[:, 0] - draws[:, 1]
    assert abs(diff.mean() - d12["posterior_mean"]) < 0.03 * d12["posterior_sd"]
    assert abs(diff.std() - d12["posterior_sd"]) < 0.03 * d12["posterior_sd"]
    batch = fit_exact_batch(y[None], u[None], priors=ModelPriors.from_scale(10.0, n_treatments=2),
                            contrast=contrast_vector(2, 0, 1), grid=SINGLE_GRID)
    assert batch.estimate[0] == pytest.approx(d12["estimate"], abs=0.01 * d12["posterior_sd"])


# --------------------------------------------------------------------------- batches
def test_batch_matches_single_fits_with_gaps():
    rng = np.random.default_rng(6)
    n = 6
    Y = 5 - 1.0 * exposure(ABAB, 1.0) + 1.2 * ar1(rng, 56, 0.5, n)
    Y[rng.uniform(size=Y.shape) < 0.15] = np.nan
    priors = ModelPriors.from_scale(10.0)
    rb = fit_exact_batch(Y, ABAB, priors=priors, mcid=1.0, grid=BATCH_GRID)
    for i in range(n):
        ok = np.isfinite(Y[i])
        s = fit_exact(SeriesData(y=Y[i, ok], day=np.arange(1, 57)[ok], u=ABAB[None]), priors
                      ).summary(mcid=1.0)
        sd = s["posterior_sd"]
        for k in ("estimate", "ci_low", "ci_high", "posterior_mean"):
            assert getattr(rb, k)[i] == pytest.approx(s[k], abs=0.02 * sd), k
        for k in ("prob_benefit", "prob_meaningful_benefit", "prob_negligible"):
            assert getattr(rb, k)[i] == pytest.approx(s[k], abs=0.005), k


def test_batch_trend_run_in_and_per_trial_designs():
    rng = np.random.default_rng(12)
    n = 4
    u = np.concatenate([np.zeros(14), ABAB])
    us = np.stack([u, np.concatenate([np.zeros(14), 1 - ABAB])])[rng.integers(0, 2, n)]
    Y = 5 + 0.3 * (np.arange(70) < 14) - us + 0.9 * ar1(rng, 70, 0.4, n)
    priors = ModelPriors.from_scale(10.0)
    rb = fit_exact_batch(Y, us, priors=priors, trend=True, run_in_days=14, grid=SINGLE_GRID)
    for i in range(n):
        s = fit_exact(SeriesData(y=Y[i], day=np.arange(1, 71), u=us[i][None], trend=True, run_in_days=14),
                      priors).summary()
        assert rb.estimate[i] == pytest.approx(s["estimate"], abs=1e-6 + 0.005 * s["posterior_sd"])
    frame = rb.to_frame()
    assert len(frame) == n and {"estimate", "ci_low", "ci_high", "tau_median"} <= set(frame.columns)


def test_mixture_quantile_against_scipy():
    w = np.array([[0.2, 0.5, 0.3]])
    m = np.array([[-1.0, 0.5, 3.0]])
    s = np.array([[0.5, 1.0, 2.0]])
    for p in (0.001, 0.025, 0.5, 0.975, 0.999):
        q = mixture_quantile(p, w, m, s)[0]
        assert float((w * special.ndtr((q - m) / s)).sum()) == pytest.approx(p, abs=1e-11)


def test_residual_autocorrelation_check_flags_misfit():
    rng = np.random.default_rng(1)
    u = np.repeat([0, 1, 0, 1], 28).astype(float)
    day = np.arange(1, 113)
    good = SeriesData(y=5 - u + ar1(rng, 112, 0.3), day=day, u=u[None])
    # strongly alternating errors: outside the model's φ range (−0.5, 0.95)
    bad = SeriesData(y=5 - u + ar1(rng, 112, -0.9), day=day, u=u[None])
    pr = ModelPriors.from_scale(10.0, tau_fixed=0.0)
    ok = residual_lag1_check(good, fit_exact(good, pr).draws(1000, 1), seed=1)
    flagged = residual_lag1_check(bad, fit_exact(bad, pr).draws(1000, 1), seed=1)
    assert ok["p_value"] > 0.05
    assert flagged["p_value"] < 0.02 and flagged["observed"] < flagged["predicted"]


def test_priors_describe_and_validation():
    p = ModelPriors.from_scale(10.0, n_treatments=2)
    d = p.describe(["B - A", "C - A"])
    assert d["effect"]["B - A"]["sd"] == 2.5 and d["tau"]["distribution"] == "log-normal"
    assert "0.2" in d["tau"]["text"] and "5" in d["tau"]["text"]
    assert ModelPriors.from_scale(10.0, tau_fixed=0.0).describe()["tau"]["value"] == 0.0
    with pytest.raises(ValueError):
        ModelPriors(effect_mean=(0.0,), effect_sd=(1.0, 1.0))
    with pytest.raises(ValueError):
        SeriesData(y=np.array([1.0, 2.0]), day=np.array([2, 1]), u=np.zeros((1, 3)))
