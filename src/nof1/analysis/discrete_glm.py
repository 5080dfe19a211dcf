"""Classical counterparts of the discrete Bayesian models (registered methods).

``ordinal_po`` (proportional-odds regression), ``count_glm_hac`` (Poisson GLM, Newey–West SEs on
the day index) and ``binary_glm_hac`` (logistic GLM, Newey–West SEs). Their effects are on a
model scale (``logit`` or ``log_rate_ratio``, see :mod:`nof1.analysis.effect`); the GLMs also
report the difference on the outcome's own scale (delta method). They always drop the washout
days (as ``gls_ar1`` does).

Example:
    >>> from nof1.analysis.discrete_glm import ordinal_po
    >>> ordinal_po(td, "pain", ("B", "A")).estimate                           # doctest: +SKIP
    -0.93
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nof1.analysis.base import Contrast, MethodResult, register_method
from nof1.analysis.classical import contrast_problem as _contrast_problem
from nof1.analysis.classical import resolve_outcome as _outcome
from nof1.analysis.classical import resolve_washout as _washout
from nof1.analysis.classical import trend_on as _trend_on
from nof1.analysis.discrete_bayes import recode as _recode
from nof1.constants import CI_LEVEL

if TYPE_CHECKING:
    from nof1.data import TrialData
    from nof1.protocol import Outcome, Protocol

__all__ = ["binary_glm_hac", "count_glm_hac", "hac_on_days", "newey_west_lags", "ordinal_po"]


def _classical_days(trial_data: TrialData, o: Outcome, contrast: Contrast,
                    washout_days: int | None) -> tuple[pd.DataFrame, int]:
    protocol = trial_data.protocol
    if "participant" in trial_data.data.columns and trial_data.data["participant"].nunique() > 1:
        raise ValueError("a series of several participants: analyse one participant at a time")
    w = _washout(protocol, washout_days)
    frame = trial_data.outcome_frame(o.name)
    frame = frame[frame["day_in_period"].to_numpy() > w].reset_index(drop=True)
    frame["condition"] = frame["condition"].astype(object)
    return frame, w


def _design(frame: pd.DataFrame, protocol: Protocol, contrast: Contrast, use_trend: bool,
            const: bool) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Design matrix (condition indicators vs the reference, optional trend per 28 days)."""
    cond = frame["condition"].to_numpy()
    levels = [k for k in protocol.conditions if (cond == k).any()]
    ref = protocol.control if protocol.control in levels else levels[0]
    others = [k for k in levels if k != ref]
    cols = ([np.ones(len(frame))] if const else []) + [(cond == k).astype(float) for k in others]
    names = (["const"] if const else []) + others
    if use_trend:
        d = frame["day"].to_numpy(dtype=float)
        cols.append((d - d.mean()) / 28.0)
        names.append("trend")
    X = np.column_stack(cols) if cols else np.zeros((len(frame), 0))
    c = np.zeros(X.shape[1])
    off = 1 if const else 0
    t, k = contrast
    if t != ref:
        c[off + others.index(t)] += 1.0
    if k != ref:
        c[off + others.index(k)] -= 1.0
    return X, names, c


def newey_west_lags(n_days: int) -> int:
    """Newey–West automatic lag: floor(4·(N/100)^(2/9)) for a span of N days.

    Example:
        >>> newey_west_lags(56), newey_west_lags(112)
        (3, 4)
    """
    return int(math.floor(4.0 * (max(n_days, 1) / 100.0) ** (2.0 / 9.0)))


def hac_on_days(scores: np.ndarray, day: np.ndarray, bread: np.ndarray, maxlags: int) -> np.ndarray:
    """Sandwich covariance with Bartlett (Newey–West) weights on the calendar-day index.

    Scores of days without an observation are zero, so a lag of l means l calendar days. With
    consecutive days this equals statsmodels' ``cov_type="HAC"`` (no small-sample correction).

    Example:
        >>> s = np.array([[1.0], [-1.0], [0.5]])
        >>> hac_on_days(s, np.array([1, 2, 4]), np.eye(1), 0).item()
        2.25
    """
    day = np.asarray(day, dtype=np.int64)
    grid = np.zeros((int(day.max() - day.min()) + 1, scores.shape[1]))
    grid[day - day.min()] = scores
    S = grid.T @ grid
    for lag in range(1, maxlags + 1):
        g = grid[lag:].T @ grid[:-lag]
        S += (1.0 - lag / (maxlags + 1.0)) * (g + g.T)
    return bread @ S @ bread


def _glm_hac(name: str, family: str, trial_data: TrialData, outcome: Outcome | str,
             contrast: Contrast, ci_level: float, washout_days: int | None,
             trend: bool | str | None, maxlags: int | None) -> MethodResult:
    from scipy import stats

    o = _outcome(trial_data, outcome)
    protocol = trial_data.protocol
    problem = _contrast_problem(protocol, contrast)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    try:
        frame, w = _classical_days(trial_data, o, contrast, washout_days)
    except ValueError as err:
        return MethodResult.unavailable(name, o.name, contrast, str(err))
    y = frame["y"].to_numpy(dtype=float)
    codes, _, problem = _recode(family, o, y)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    cond = frame["condition"].to_numpy()
    for key in contrast:
        sel = cond == key
        if sel.sum() < 3:
            return MethodResult.unavailable(
                name, o.name, contrast,
                f"condition {key} has {int(sel.sum())} usable day(s) outside the {w}-day washout; "
                "at least 3 are needed")
        vals = y[sel]
        if family == "binary" and np.ptp(vals) == 0:
            return MethodResult.unavailable(
                name, o.name, contrast,
                f"perfect separation: every usable day of condition {key} is {int(vals[0])}, so the "
                "odds ratio is infinite or zero (no finite estimate)")
        if family == "count" and np.all(vals == 0):
            return MethodResult.unavailable(
                name, o.name, contrast,
                f"every usable day of condition {key} has a count of 0, so the rate ratio has no "
                "finite estimate")
    if np.ptp(y) == 0:
        return MethodResult.unavailable(name, o.name, contrast,
                                        f"all usable values are equal ({y[0]:g}): nothing to compare")
    use_trend = _trend_on(protocol, trend)
    X, names, c = _design(frame, protocol, contrast, use_trend, const=True)
    # the GLM module, not statsmodels.api (which imports all of statsmodels: 0.25 s more)
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    fam = families.Poisson() if family == "count" else families.Binomial()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = GLM(y, X, family=fam).fit()
    except Exception as err:  # noqa: BLE001 - statsmodels raises many kinds (PerfectSeparation…)
        return MethodResult.unavailable(name, o.name, contrast, f"the GLM could not be fitted: {err}")
    beta = np.asarray(res.params, dtype=float)
    if not np.all(np.isfinite(beta)) or np.max(np.abs(beta[1:])) > 25:
        return MethodResult.unavailable(name, o.name, contrast,
                                        "(quasi-)perfect separation: the estimate diverges")
    mu = np.asarray(res.fittedvalues, dtype=float)
    day = frame["day"].to_numpy(dtype=np.int64)
    L = newey_west_lags(int(day.max() - day.min() + 1)) if maxlags is None else int(maxlags)
    weight = mu if family == "count" else mu * (1.0 - mu)
    H = X.T @ (weight[:, None] * X)
    bread = np.linalg.inv(H)
    cov = hac_on_days(X * (y - mu)[:, None], day, bread, L)
    est = float(c @ beta)
    se = float(math.sqrt(max(c @ cov @ c, 0.0)))
    if not (math.isfinite(se) and se > 0):
        return MethodResult.unavailable(name, o.name, contrast, "the standard error is not finite")
    z = float(stats.norm.ppf(0.5 + ci_level / 2.0))
    lo, hi = est - z * se, est + z * se
    p_value = float(2.0 * stats.norm.sf(abs(est / se)))
    # outcome-scale difference at the trend centre, delta method
    b_t = np.zeros_like(beta)
    b_c = np.zeros_like(beta)
    b_t[0] = b_c[0] = 1.0
    t, k = contrast
    for key, vec in ((t, b_t), (k, b_c)):
        if key in names:
            vec[names.index(key)] = 1.0
    eta_t, eta_c = float(b_t @ beta), float(b_c @ beta)
    if family == "count":
        m_t, m_c = math.exp(eta_t), math.exp(eta_c)
        grad = m_t * b_t - m_c * b_c
    else:
        m_t, m_c = 1.0 / (1.0 + math.exp(-eta_t)), 1.0 / (1.0 + math.exp(-eta_c))
        grad = m_t * (1 - m_t) * b_t - m_c * (1 - m_c) * b_c
    diff = m_t - m_c
    diff_se = float(math.sqrt(max(grad @ cov @ grad, 0.0)))
    key = "difference_per_day" if family == "count" else "risk_difference"
    extras: dict[str, Any] = {
        "scale": "log_rate_ratio" if family == "count" else "logit",
        "se": se, "hac_lags": L, "n_days": int(len(frame)),
        "n_days_by_condition": {k2: int((cond == k2).sum()) for k2 in dict.fromkeys(cond)},
        "washout_days": w, "trend": use_trend,
        key: {"estimate": diff, "ci_low": diff - z * diff_se, "ci_high": diff + z * diff_se},
    }
    ratio = {"estimate": math.exp(est), "ci_low": math.exp(lo), "ci_high": math.exp(hi)}
    notes = [f"Newey–West (Bartlett, {L} day lags) standard errors on the calendar-day index; "
             "Wald interval"]
    if family == "count":
        extras["rate_ratio"] = ratio
        dispersion = float(np.sum((y - mu) ** 2 / mu) / max(len(y) - X.shape[1], 1))
        extras["pearson_dispersion"] = dispersion
        notes.append(
            "Poisson quasi-likelihood: the rate ratio is consistent whatever the overdispersion and "
            "the sandwich SEs cover it (and autocorrelation), so a negative binomial fit is not "
            "needed for validity" + (f"; the counts are overdispersed (Pearson χ²/df = "
                                     f"{dispersion:.1f})" if dispersion > 1.5 else ""))
    else:
        extras["odds_ratio"] = ratio
    if w:
        notes.append(f"the first {w} day(s) of every period were left out as washout")
    if use_trend:
        notes.append("adjusted for a linear time trend")
    return MethodResult(method=name, outcome=o.name, contrast=contrast, estimate=est, ci_low=lo,
                        ci_high=hi, ci_level=ci_level, p_value=p_value, extras=extras,
                        notes=tuple(notes), fit=res)


@register_method(
    "count_glm_hac", outcome_types=("count",), order=25,
    description="Poisson GLM (log link) with Newey–West SEs on the day index; washout excluded",
)
def count_glm_hac(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    trend: bool | str | None = None,
    maxlags: int | None = None,
    **options: Any,
) -> MethodResult:
    """Log rate ratio (treatment vs control) from a Poisson GLM with HAC standard errors.

    Extras: ``scale`` (``log_rate_ratio``), ``rate_ratio`` and ``difference_per_day`` (events per
    day at the trend centre, delta method) with intervals, ``se``, ``hac_lags``,
    ``pearson_dispersion``. Unavailable when a condition has only zero counts.

    Example:
        >>> count_glm_hac(td, "awakenings", ("B", "A")).extras["rate_ratio"]   # doctest: +SKIP
        {'estimate': 0.7, 'ci_low': 0.52, 'ci_high': 0.94}
    """
    return _glm_hac("count_glm_hac", "count", trial_data, outcome, contrast, ci_level,
                    washout_days, trend, maxlags)


@register_method(
    "binary_glm_hac", outcome_types=("binary",), order=25,
    description="logistic GLM with Newey–West SEs on the day index; washout excluded",
)
def binary_glm_hac(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    trend: bool | str | None = None,
    maxlags: int | None = None,
    **options: Any,
) -> MethodResult:
    """Log odds ratio (treatment vs control) from a logistic GLM with HAC standard errors.

    Extras: ``scale`` (``logit``), ``odds_ratio`` and ``risk_difference`` (delta method) with
    intervals, ``se``, ``hac_lags``. Unavailable with perfect separation (a condition whose days
    are all 0 or all 1).

    Example:
        >>> binary_glm_hac(td, "slept_through", ("B", "A")).extras["odds_ratio"]  # doctest: +SKIP
        {'estimate': 2.1, 'ci_low': 1.1, 'ci_high': 4.0}
    """
    return _glm_hac("binary_glm_hac", "binary", trial_data, outcome, contrast, ci_level,
                    washout_days, trend, maxlags)


def _po_rating_difference(model: Any, params: np.ndarray, cov: np.ndarray, names: list[str],
                          contrast: Contrast, values: np.ndarray) -> tuple[float, float]:
    """Expected rating under treatment minus under control (at the trend centre) of a fitted
    proportional-odds model, and its delta-method standard error (numerical gradient)."""
    from scipy import special

    nx = len(names)

    def x_of(key: str) -> np.ndarray:
        x = np.zeros(nx)
        if key in names:
            x[names.index(key)] = 1.0
        return x

    x_t, x_c = x_of(contrast[0]), x_of(contrast[1])

    def diff(theta: np.ndarray) -> float:
        cuts = np.asarray(model.transform_threshold_params(theta), dtype=float)
        out = 0.0
        for x, sign in ((x_t, 1.0), (x_c, -1.0)):
            probs = np.diff(special.expit(cuts - float(x @ theta[:nx])))
            out += sign * float(probs @ values)
        return out

    d0 = diff(params)
    grad = np.zeros(params.size)
    for j in range(params.size):
        h = 1e-5 * max(1.0, abs(params[j]))
        e = np.zeros(params.size)
        e[j] = h
        grad[j] = (diff(params + e) - diff(params - e)) / (2.0 * h)
    return d0, float(math.sqrt(max(grad @ cov @ grad, 0.0)))


@register_method(
    "ordinal_po", outcome_types=("ordinal",), order=25,
    description="proportional-odds (cumulative logit) regression; ignores autocorrelation",
)
def ordinal_po(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    trend: bool | str | None = None,
    **options: Any,
) -> MethodResult:
    """Log cumulative odds ratio from statsmodels' ``OrderedModel`` (logit), Wald interval.

    Extras: ``scale`` (``logit``), ``odds_ratio``, and ``rating_difference`` — the expected rating
    under treatment minus under control (at the trend centre), the effect on the outcome's own
    scale, with a delta-method interval.

    Categories are the rating values observed (outside the washout). The model treats days as
    independent, so with autocorrelated days its interval is too narrow; the randomisation test
    is the design-based check. Unavailable when the ratings of the two conditions do not overlap
    (complete separation) or there is only one observed value.

    Example:
        >>> ordinal_po(td, "pain", ("B", "A")).extras["odds_ratio"]    # doctest: +SKIP
        {'estimate': 0.45, 'ci_low': 0.22, 'ci_high': 0.9}
    """
    from scipy import stats

    name = "ordinal_po"
    o = _outcome(trial_data, outcome)
    protocol = trial_data.protocol
    problem = _contrast_problem(protocol, contrast)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    try:
        frame, w = _classical_days(trial_data, o, contrast, washout_days)
    except ValueError as err:
        return MethodResult.unavailable(name, o.name, contrast, str(err))
    y = frame["y"].to_numpy(dtype=float)
    _, _, problem = _recode("ordinal", o, y)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    cond = frame["condition"].to_numpy()
    for key in contrast:
        k = int((cond == key).sum())
        if k < 3:
            return MethodResult.unavailable(
                name, o.name, contrast,
                f"condition {key} has {k} usable day(s) outside the {w}-day washout; at least 3 "
                "are needed")
    values = np.unique(y)
    if values.size < 2:
        return MethodResult.unavailable(name, o.name, contrast,
                                        f"all usable ratings are equal ({values[0]:g})")
    yt, yc = y[cond == contrast[0]], y[cond == contrast[1]]
    if yt.max() < yc.min() or yc.max() < yt.min():
        return MethodResult.unavailable(
            name, o.name, contrast,
            "complete separation: every rating under one condition is below every rating under the "
            "other, so the odds ratio has no finite estimate")
    use_trend = _trend_on(protocol, trend)
    X, names, c = _design(frame, protocol, contrast, use_trend, const=False)
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    codes = np.searchsorted(values, y)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = OrderedModel(codes, X, distr="logit")
            res = model.fit(method="bfgs", disp=False, maxiter=2000)
    except Exception as err:  # noqa: BLE001 - statsmodels raises many kinds
        return MethodResult.unavailable(name, o.name, contrast, f"the model could not be fitted: {err}")
    beta = np.asarray(res.params, dtype=float)[: X.shape[1]]
    cov = np.asarray(res.cov_params(), dtype=float)[: X.shape[1], : X.shape[1]]
    est = float(c @ beta)
    se = float(math.sqrt(c @ cov @ c)) if np.all(np.isfinite(cov)) and c @ cov @ c > 0 else math.nan
    converged = bool(res.mle_retvals.get("converged", True))
    if not (math.isfinite(est) and math.isfinite(se)) or abs(est) > 20 or not converged:
        return MethodResult.unavailable(
            name, o.name, contrast,
            "the proportional-odds model did not converge to a finite estimate (quasi-complete "
            "separation or too few distinct ratings)")
    z = float(stats.norm.ppf(0.5 + ci_level / 2.0))
    lo, hi = est - z * se, est + z * se
    rd, rd_se = _po_rating_difference(model, np.asarray(res.params, dtype=float),
                                      np.asarray(res.cov_params(), dtype=float), names, contrast,
                                      values)
    extras: dict[str, Any] = {
        "scale": "logit", "se": se,
        "odds_ratio": {"estimate": math.exp(est), "ci_low": math.exp(lo), "ci_high": math.exp(hi)},
        "rating_difference": {"estimate": rd, "ci_low": rd - z * rd_se, "ci_high": rd + z * rd_se},
        "n_days": int(len(frame)), "categories_observed": [int(v) for v in values],
        "washout_days": w, "trend": use_trend,
    }
    notes = [
        "proportional-odds regression (statsmodels OrderedModel, logit); treats days as "
        "independent, so with autocorrelated days the interval is too narrow — the randomisation "
        "test is the design-based check",
    ]
    if w:
        notes.append(f"the first {w} day(s) of every period were left out as washout")
    return MethodResult(method=name, outcome=o.name, contrast=contrast, estimate=est, ci_low=lo,
                        ci_high=hi, ci_level=ci_level,
                        p_value=float(2.0 * stats.norm.sf(abs(est / se))), extras=extras,
                        notes=tuple(notes), fit=res)
