"""GLS with AR(1) errors on the calendar day (REML): R reference numbers, direct likelihood, batch.

R reference numbers (pinned; the tests do not need R) were produced with R 4.2.2 and nlme 3.1-162:

    d <- data.frame(day = ..., condition = factor(...), y = ...)
    f <- gls(y ~ condition [+ day], data = d, correlation = corAR1(form = ~ day), method = "REML")
    summary(f)$tTable; coef(f$modelStruct$corStruct, unconstrained = FALSE); f$sigma
    logLik(f); intervals(f, which = "coef")

Because ``day`` has gaps, nlme's ``Initialize.corAR1`` converts the structure to
``corARMA(p = 1, q = 0)`` on the day covariate (correlation φ^|Δday|), which is our model.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from nlme_reference import D1, D2, D3, R_REF  # datasets with gaps and nlme's numbers on them
from scipy import optimize

from nof1.models.gls import GLSFit, gls_ar1_batch, gls_ar1_fit

DATA = {"D1": D1, "D2": D2, "D3": D3}


def design(data: dict, trend: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cond = np.array(list(data["cond"]))
    levels = sorted(set(cond))
    cols = [np.ones(len(cond))] + [(cond == lv).astype(float) for lv in levels[1:]]
    day = np.array(data["day"])
    if trend:
        cols.append(day.astype(float))
    return np.asarray(data["y"], dtype=float), np.column_stack(cols), day


def direct_reml(y: np.ndarray, X: np.ndarray, day: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, float]:
    """Independent REML: full correlation matrix φ^|Δday|, Cholesky, bounded scalar optimiser."""
    n, p = X.shape
    lag = np.abs(day[:, None] - day[None, :])

    def parts(phi: float) -> tuple[float, np.ndarray, np.ndarray, float]:
        R = phi ** lag
        L = np.linalg.cholesky(R)
        Xs = np.linalg.solve(L, X)
        ys = np.linalg.solve(L, y)
        xtx = Xs.T @ Xs
        beta = np.linalg.solve(xtx, Xs.T @ ys)
        rss = float(((ys - Xs @ beta) ** 2).sum())
        s2 = rss / (n - p)
        ll = -0.5 * ((n - p) * np.log(2 * np.pi * s2) + (n - p) + 2 * np.log(np.diag(L)).sum()
                     + np.linalg.slogdet(xtx)[1])
        return ll, beta, s2 * np.linalg.inv(xtx), s2

    grid = np.linspace(-0.98, 0.98, 99)
    k = int(np.argmax([parts(g)[0] for g in grid]))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(lambda f: -parts(f)[0], bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-10})
    ll, beta, cov, s2 = parts(res.x)
    return float(res.x), beta, cov, ll


# --------------------------------------------------------------------------- R conformance
@pytest.mark.parametrize("name", ["D1", "D2", "D3"])
def test_matches_nlme_reml(name: str) -> None:
    ref = R_REF[name]
    y, X, day = design(DATA[name], trend=(name == "D2"))
    fit = gls_ar1_fit(y, X, day)
    np.testing.assert_allclose(fit.beta, ref["beta"], atol=1e-5)
    np.testing.assert_allclose(fit.se, ref["se"], atol=1e-5)
    assert fit.phi == pytest.approx(ref["phi"], abs=1e-5)
    assert fit.sigma == pytest.approx(ref["sigma"], abs=1e-6)
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-6)
    assert fit.df == ref["df"]
    c = np.zeros(X.shape[1])
    c[1] = 1.0
    r = fit.contrast(c, 0.95)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(ref["ci_B"], abs=1e-5)
    assert r["p_value"] == pytest.approx(ref["p_B"], rel=1e-4)


def test_pairwise_contrast_matches_releveled_nlme() -> None:
    ref = R_REF["D2"]
    y, X, day = design(D2, trend=True)
    r = gls_ar1_fit(y, X, day).contrast([0, 1, -1, 0], 0.95)
    assert r["estimate"] == pytest.approx(ref["B_minus_C"], abs=1e-5)
    assert r["se"] == pytest.approx(ref["se_B_minus_C"], abs=1e-5)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(ref["ci_B_minus_C"], abs=1e-5)


# --------------------------------------------------------------------------- direct likelihood
@pytest.mark.parametrize("name", ["D1", "D2", "D3"])
def test_matches_direct_full_matrix_reml(name: str) -> None:
    y, X, day = design(DATA[name], trend=(name == "D2"))
    phi, beta, cov, ll = direct_reml(y, X, day)
    fit = gls_ar1_fit(y, X, day)
    assert fit.phi == pytest.approx(phi, abs=1e-6)
    np.testing.assert_allclose(fit.beta, beta, atol=1e-7)
    np.testing.assert_allclose(fit.cov, cov, rtol=1e-6, atol=1e-8)
    assert fit.loglik == pytest.approx(ll, abs=1e-8)


def test_direct_reml_on_random_series_with_trend_and_gaps() -> None:
    rng = np.random.default_rng(7)
    day = np.sort(rng.choice(np.arange(1, 90), size=60, replace=False))
    cond = (day // 10) % 3
    X = np.column_stack([np.ones(60), cond == 1, cond == 2, (day - day.mean()) / 7]).astype(float)
    e = np.zeros(90)
    for t in range(1, 90):
        e[t] = 0.6 * e[t - 1] + rng.normal()
    y = 50 + 2.0 * (cond == 1) - 1.0 * (cond == 2) + e[day - 1]
    phi, beta, cov, ll = direct_reml(y, X, day)
    fit = gls_ar1_fit(y, X, day)
    assert fit.phi == pytest.approx(phi, abs=1e-6)
    np.testing.assert_allclose(fit.beta, beta, atol=1e-6)
    np.testing.assert_allclose(fit.se, np.sqrt(np.diag(cov)), atol=1e-7)


def test_gaps_are_not_neighbours() -> None:
    """Dropping a day must change the fit (gap = correlation φ²), not just shorten the series."""
    y, X, day = design(D3)
    fit = gls_ar1_fit(y, X, day)
    squeezed = gls_ar1_fit(y, X, np.arange(1, len(day) + 1))
    assert abs(fit.phi - squeezed.phi) > 0.01


def test_unsorted_days_give_the_same_fit() -> None:
    y, X, day = design(D1)
    order = np.random.default_rng(3).permutation(len(day))
    a = gls_ar1_fit(y, X, day)
    b = gls_ar1_fit(y[order], X[order], day[order])
    np.testing.assert_allclose(a.beta, b.beta, atol=1e-10)
    assert a.phi == pytest.approx(b.phi, abs=1e-10)


# --------------------------------------------------------------------------- batch
def test_batch_with_nan_masks_equals_single_fits() -> None:
    rng = np.random.default_rng(11)
    n_days = 28
    day = np.arange(1, n_days + 1)
    X = np.column_stack([np.ones(n_days), np.repeat([0, 1, 0, 1], 7)])
    Y = rng.normal(size=(25, n_days)) + np.cumsum(rng.normal(size=(25, n_days)) * 0.3, axis=1)
    Y[rng.random(Y.shape) < 0.15] = np.nan
    batch = gls_ar1_batch(Y, X, day)
    assert batch.ok.all()
    for i in range(Y.shape[0]):
        keep = ~np.isnan(Y[i])
        single = gls_ar1_fit(Y[i, keep], X[keep], day[keep])
        assert batch.phi[i] == pytest.approx(single.phi, abs=1e-6)
        np.testing.assert_allclose(batch.beta[i], single.beta, atol=1e-6)
        np.testing.assert_allclose(batch.se[i], single.se, atol=1e-6)
        assert batch.n[i] == keep.sum()


def test_batch_with_per_trial_designs() -> None:
    rng = np.random.default_rng(5)
    day = np.arange(1, 29)
    designs = rng.integers(0, 2, size=(12, 4))  # pairs AB / BA
    treat = np.array([np.repeat(np.ravel([[a, 1 - a] for a in row]), 7)[:28] for row in designs[:, :2]])
    X = np.stack([np.column_stack([np.ones(28), t]) for t in treat])
    Y = rng.normal(size=(12, 28)) - 1.0 * treat
    batch = gls_ar1_batch(Y, X, day)
    for i in range(12):
        single = gls_ar1_fit(Y[i], X[i], day)
        np.testing.assert_allclose(batch.beta[i], single.beta, atol=1e-6)
    out = batch.contrast([0, 1], 0.9)
    assert np.all(out["ci_low"] < out["estimate"]) and np.all(out["estimate"] < out["ci_high"])


def test_batch_marks_unusable_trials() -> None:
    X = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    Y = np.array([
        [1.0, 2.0, 1.5, 3.0, 2.5, 3.5],        # fine
        [2.0, 2.0, 2.0, 2.0, 2.0, 2.0],        # constant
        [1.0, np.nan, np.nan, np.nan, 2.0, 3.0],  # 3 observations, 2 coefficients: df 1
        [1.0, 1.0, 1.0, 4.0, 4.0, 4.0],        # perfectly explained by the design
    ])
    r = gls_ar1_batch(Y, X, np.arange(1, 7))
    assert r.ok.tolist() == [True, False, False, False]
    assert np.isnan(r.beta[1:]).all() and np.isfinite(r.beta[0]).all()


def test_single_fit_errors_are_clear() -> None:
    X = np.column_stack([np.ones(4), [0, 0, 1, 1]])
    with pytest.raises(ValueError, match="degrees of freedom"):
        gls_ar1_fit([1.0, 2.0, 3.5], X[:3], [1, 2, 3])
    X = np.column_stack([np.ones(6), np.zeros(6)])
    with pytest.raises(ValueError, match="singular"):
        gls_ar1_fit([1.0, 2.0, 3.0, 4.0, 2.0, 1.0], X, np.arange(6))
    with pytest.raises(ValueError, match="unique"):
        gls_ar1_fit([1.0, 2.0, 3.0], np.ones((3, 1)), [1, 1, 2])
    with pytest.raises(ValueError, match="no residual variation"):
        gls_ar1_fit([2.0] * 6, np.ones((6, 1)), np.arange(6))


def test_phi_estimates_are_roughly_unbiased_and_bounded() -> None:
    rng = np.random.default_rng(2)
    m, n = 400, 56
    e = np.zeros((m, n))
    e[:, 0] = rng.normal(size=m)
    for t in range(1, n):
        e[:, t] = 0.5 * e[:, t - 1] + np.sqrt(1 - 0.25) * rng.normal(size=m)
    X = np.column_stack([np.ones(n), np.repeat([0, 1, 0, 1], 14)])
    r = gls_ar1_batch(e, X, np.arange(1, n + 1))
    assert np.all(np.abs(r.phi) <= 0.99)
    assert 0.38 < np.median(r.phi) < 0.56  # REML is a little low-biased at n = 56
    assert abs(float(np.mean(r.beta[:, 1]))) < 0.1
    assert isinstance(gls_ar1_fit(e[0], X, np.arange(1, n + 1)), GLSFit)


def test_batch_speed() -> None:
    """2,000 trials of 56 days with 10% missing in well under the power-analysis budget."""
    rng = np.random.default_rng(1)
    Y = rng.normal(size=(2000, 56))
    Y[rng.random(Y.shape) < 0.1] = np.nan
    X = np.column_stack([np.ones(56), np.repeat([0, 1, 0, 1], 14)])
    t0 = time.perf_counter()
    r = gls_ar1_batch(Y, X, np.arange(1, 57))
    assert time.perf_counter() - t0 < 3.0
    assert r.ok.all()
