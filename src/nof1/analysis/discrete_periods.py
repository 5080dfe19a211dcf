"""Period-level Bayesian comparison of weekly or sparse continuous outcomes.

With at most :data:`SPARSE_PER_PERIOD` measurements per period the onset/carryover term is not
identifiable, so :func:`fit_period_level` compares periods as units (closed-form normal model on
the post-washout period means, σ integrated exactly on a grid). The posterior of the contrast is
a mixture of normals; its decision probabilities come from
:func:`nof1.analysis.effect.decision_probabilities_mixture`. Not registered itself: the ``bayes``
method calls it when :func:`needs_period_level` is true.

Example:
    >>> from nof1.analysis.discrete_periods import fit_period_level
    >>> fit_period_level(td, "irls_total", ("B", "A")).extras["periods"]    # doctest: +SKIP
    8
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nof1.analysis.base import Contrast, MethodResult
from nof1.analysis.classical import contrast_problem as _contrast_problem
from nof1.analysis.classical import resolve_outcome as _outcome
from nof1.analysis.classical import resolve_washout as _washout
from nof1.analysis.classical import trend_on as _trend_on
from nof1.analysis.effect import decision_probabilities_mixture
from nof1.constants import CI_LEVEL

if TYPE_CHECKING:
    from nof1.data import TrialData
    from nof1.protocol import Outcome

__all__ = ["SPARSE_PER_PERIOD", "PeriodLevelFit", "fit_period_level", "needs_period_level"]

#: Measurements per period at or below which the carryover term is not identifiable.
SPARSE_PER_PERIOD: int = 2


def needs_period_level(trial_data: TrialData, outcome: Outcome | str) -> bool:
    """True when no period has more than two measurements of the outcome (weekly or sparse), so
    the onset/carryover term is not identifiable and :func:`fit_period_level` should be used for
    a continuous outcome.

    Example:
        >>> needs_period_level(td, "irls_total")    # measured on days 7 and 14   # doctest: +SKIP
        True
    """
    o = _outcome(trial_data, outcome)
    frame = trial_data.outcome_frame(o.name)
    if frame.empty:
        return False
    return int(frame.groupby("period")["y"].size().max()) <= SPARSE_PER_PERIOD


@dataclass
class PeriodLevelFit:
    """Posterior of the period-level normal model (a mixture of normals over σ).

    ``effect_draws()`` gives Monte Carlo draws of the contrast (seeded); ``cdf`` the exact
    posterior CDF.
    """

    contrast: Contrast
    weights: np.ndarray
    means: np.ndarray
    sds: np.ndarray
    table: pd.DataFrame
    seed: int | None = None
    n_draws: int = 20_000

    @property
    def contrast_label(self) -> str:
        return f"{self.contrast[0]}-{self.contrast[1]}"

    def cdf(self, x: float) -> float:
        from scipy import stats

        return float(np.sum(self.weights * stats.norm.cdf((x - self.means) / self.sds)))

    def quantile(self, p: float) -> float:
        from scipy import optimize

        lo = float(np.min(self.means - 40 * self.sds))
        hi = float(np.max(self.means + 40 * self.sds))
        return float(optimize.brentq(lambda v: self.cdf(v) - p, lo, hi, xtol=1e-10))

    def effect_draws(self, contrast_label: str | None = None) -> np.ndarray:
        """Seeded draws of the contrast from the exact posterior mixture."""
        if contrast_label is not None and contrast_label != self.contrast_label:
            raise KeyError(f"this fit is for contrast {self.contrast_label}, not {contrast_label}")
        rng = np.random.default_rng(self.seed)
        idx = rng.choice(len(self.weights), size=self.n_draws, p=self.weights)
        return rng.normal(self.means[idx], self.sds[idx])


def fit_period_level(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    effect_sd: float | None = None,
    trend: bool | str | None = None,
    **options: Any,
) -> MethodResult:
    """Period-level Bayesian comparison for weekly or sparse continuous outcomes (method ``bayes``).

    With at most two measurements per period the onset/carryover term cannot be identified, so
    each period is one unit: its value is the mean of its measurements after the washout (the
    condition is the one taken on those days). Model: period mean = μ + β_condition (+ trend)
    + e, e ~ Normal(0, σ²) independent between periods; β ~ Normal(m, s²) with the protocol's
    effect prior (weakly informative: sd = range/4; sceptical: sd = mcid; ``effect_sd``
    overrides), μ and the trend flat, p(σ) ∝ 1/σ. The posterior of the contrast is an exact
    mixture of normals over a fine grid in log σ (no sampling); intervals are equal-tailed.
    ``extras['carryover_identifiable']`` is False.

    Example:
        >>> r = fit_period_level(td, "irls_total", ("B", "A"))     # doctest: +SKIP
        >>> r.extras["periods"], r.extras["carryover_identifiable"]  # doctest: +SKIP
        (8, False)
    """
    from scipy import special

    name = "bayes"
    o = _outcome(trial_data, outcome)
    protocol = trial_data.protocol
    problem = _contrast_problem(protocol, contrast)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    if "participant" in trial_data.data.columns and trial_data.data["participant"].nunique() > 1:
        return MethodResult.unavailable(name, o.name, contrast,
                                        "a series of several participants: analyse one at a time")
    w = _washout(protocol, washout_days)
    frame = trial_data.outcome_frame(o.name)
    frame = frame[frame["day_in_period"].to_numpy() > w]
    frame = frame.assign(condition=frame["condition"].astype(object))
    if frame.empty:
        return MethodResult.unavailable(name, o.name, contrast,
                                        f"no measurements after the {w}-day washout")
    table = (frame.groupby(["period", "condition"], sort=True)
             .agg(y=("y", "mean"), n=("y", "size"), day=("day", "mean")).reset_index())
    n_by = {k: int((table["condition"] == k).sum()) for k in contrast}
    for key, k in n_by.items():
        if k == 0:
            return MethodResult.unavailable(name, o.name, contrast,
                                            f"no period of condition {key} has a usable measurement")
    levels = [k for k in protocol.conditions if (table["condition"] == k).any()]
    ref = protocol.control if protocol.control in levels else levels[0]
    others = [k for k in levels if k != ref]
    cond = table["condition"].to_numpy()
    cols = [np.ones(len(table))] + [(cond == k).astype(float) for k in others]
    use_trend = _trend_on(protocol, trend)
    if use_trend:
        dd = table["day"].to_numpy(dtype=float)
        cols.append((dd - dd.mean()) / 28.0)
    X = np.column_stack(cols)
    y = table["y"].to_numpy(dtype=float)
    n, p = X.shape
    if n - p < 1 or np.linalg.matrix_rank(X) < p:
        return MethodResult.unavailable(
            name, o.name, contrast,
            f"{n} period(s) with measurements are too few for a period-level comparison of "
            f"{len(levels)} condition(s) (at least {p + 1} are needed)", periods=n)
    # prior precision: flat on the intercept and trend, Normal(m, s^2) on each condition effect
    kind = protocol.analysis.prior.kind
    if effect_sd is None:
        effect_sd = protocol.analysis.prior.effect_sd
    if effect_sd is None:
        if kind == "sceptical" and o.mcid is not None:
            effect_sd = float(o.mcid)
        elif o.value_range is not None and math.isfinite(o.value_range[1] - o.value_range[0]):
            effect_sd = (o.value_range[1] - o.value_range[0]) / 4.0
        else:
            effect_sd = 10.0 * float(np.std(y) or 1.0)
    m = float(protocol.analysis.prior.effect_mean)
    P0 = np.zeros((p, p))
    b0 = np.zeros(p)
    for j in range(1, 1 + len(others)):
        P0[j, j] = 1.0 / effect_sd**2
        b0[j] = m / effect_sd**2
    c = np.zeros(p)
    t, k = contrast
    if t != ref:
        c[1 + others.index(t)] += 1.0
    if k != ref:
        c[1 + others.index(k)] -= 1.0
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    s_hat = max(float(np.sqrt(np.sum(resid**2) / (n - p))), 1e-8 * (1.0 + float(np.std(y))))
    log_sigma = np.log(s_hat) + np.linspace(-7.0, 5.0, 1601)
    logw = np.empty_like(log_sigma)
    means = np.empty_like(log_sigma)
    sds = np.empty_like(log_sigma)
    XtX, Xty, yty = X.T @ X, X.T @ y, float(y @ y)
    for i, ls in enumerate(log_sigma):
        s2 = math.exp(2.0 * ls)
        A = XtX / s2 + P0
        b = Xty / s2 + b0
        L = np.linalg.cholesky(A)
        mu = np.linalg.solve(A, b)
        cov_c = c @ np.linalg.solve(A, c)
        means[i] = float(c @ mu)
        sds[i] = math.sqrt(max(cov_c, 0.0))
        # log p(y | σ) up to constants (flat intercept/trend, normal effects), times p(σ) ∝ 1/σ,
        # on a grid uniform in log σ (the 1/σ prior is flat in log σ)
        logw[i] = (-n * ls - 0.5 * (yty / s2 - float(b @ mu)) - float(np.sum(np.log(np.diag(L)))))
    weights = np.exp(logw - special.logsumexp(logw))
    fit = PeriodLevelFit(contrast=contrast, weights=weights, means=means, sds=sds, table=table,
                         seed=seed)
    a = (1.0 - ci_level) / 2.0
    est, lo, hi = fit.quantile(0.5), fit.quantile(a), fit.quantile(1.0 - a)
    extras: dict[str, Any] = {
        "scale": "outcome", "engine": "period_level",
        **decision_probabilities_mixture(weights, means, sds, o.better, o.mcid),
        "carryover_identifiable": False, "periods": n,
        "periods_by_condition": n_by, "washout_days": w, "trend": use_trend,
        "sigma_period": float(np.exp(np.sum(weights * log_sigma))),
        "prior": f"effect ~ Normal({m:g}, {effect_sd:g}); intercept flat; p(sigma) ∝ 1/sigma",
    }
    notes = [
        f"{int(table['n'].max())} or fewer measurements per period: the onset/carryover term is "
        "not identifiable, so periods are compared as units (mean of the measurements after the "
        f"{w}-day washout; normal model over {n} periods, σ integrated exactly)",
    ]
    return MethodResult(method=name, outcome=o.name, contrast=contrast, estimate=est, ci_low=lo,
                        ci_high=hi, ci_level=ci_level, extras=extras, notes=tuple(notes), fit=fit)
