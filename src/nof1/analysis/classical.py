"""Classical analyses that respect the design: GLS with AR(1) errors, paired periods, naive Welch.

* ``gls_ar1`` — regression of the outcome on condition (and a linear trend when asked), with
  AR(1) errors on the calendar day: missing and washout days are gaps (correlation φ^gap), not
  neighbours. REML, t-interval with n − p degrees of freedom (as R's ``nlme::gls``).
* ``paired_periods`` — the AHRQ N-of-1 analysis: in each pair (block) the treatment period mean
  minus the control period mean, then a t-interval over pairs (df = pairs − 1). Valid whatever
  the autocorrelation within periods; wide with few pairs, which is the honest answer.
* ``welch_naive`` — day-level Welch t-test. It treats days as independent, so with
  autocorrelated days its interval is too narrow; it is shown for comparison and always labelled.

Calibration (``benchmarks/calibration.py``, 56-day trials, 4,000 per cell): ``paired_periods``
keeps its 5% false-positive rate (4.4–5.8%) whatever φ; ``gls_ar1`` runs a little liberal
(5.7–8.8%, worst at φ = 0.7 — it plugs in the REML φ as if known, as nlme does; with φ known it
is exactly 5%); ``welch_naive`` reaches 15–19% at φ = 0.4 and 24–36% at φ = 0.7. Carryover
(onset/decay time constant 2 days) biases every estimate towards zero when washout days are
kept (by 0.16–0.54 of a unit effect; ``gls_ar1`` most, because at high φ it leans on the days
around each switch); excluding 3 washout days cuts the bias to 0.04–0.13.

Every method takes ``fit(trial_data, outcome, contrast, *, ci_level, seed, washout_days,
**options)``; ``washout_days=None`` uses the protocol's ``design.washout_days``, and the first
``washout_days`` days of every period are left out. Data a method cannot use give
``MethodResult.unavailable`` with the reason.

Example:
    >>> import nof1
    >>> res = nof1.analyze(td, methods=["gls_ar1", "paired_periods", "welch_naive"])  # doctest: +SKIP
    >>> res.get("severity", "gls_ar1").extras["phi"]                                  # doctest: +SKIP
    0.41
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nof1.analysis.base import Contrast, MethodResult, register_method
from nof1.constants import CI_LEVEL, TREND_AUTO_DAYS

if TYPE_CHECKING:
    from nof1.data import TrialData
    from nof1.protocol import Outcome, Protocol

#: Fewest usable days per compared condition for the day-level methods.
MIN_DAYS_PER_CONDITION: int = 3
#: Fewest complete pairs for ``paired_periods`` (a t-interval needs df >= 1).
MIN_PAIRS: int = 2
#: With this many pairs or fewer, ``paired_periods`` notes that its interval is wide by nature.
FEW_PAIRS: int = 3

WELCH_WARNING = (
    "ignores autocorrelation: treats days as independent, so the interval is too narrow and the "
    "p-value too small when consecutive days are correlated; for comparison only"
)


# --------------------------------------------------------------------------- shared helpers
def resolve_outcome(trial_data: TrialData, outcome: Outcome | str) -> Outcome:
    """The protocol's :class:`Outcome` for a name (or the object itself)."""
    if isinstance(outcome, str):
        return trial_data.protocol.outcome(outcome)
    return outcome


def resolve_washout(protocol: Protocol, washout_days: int | None) -> int:
    """Washout days to exclude: the given number, else the protocol's ``design.washout_days``."""
    return int(protocol.design.washout_days if washout_days is None else washout_days)


def contrast_problem(protocol: Protocol, contrast: Contrast) -> str | None:
    """Why a contrast cannot be analysed (unknown or identical conditions), else None."""
    t, c = contrast
    for key in (t, c):
        if key not in protocol.conditions:
            return f"condition '{key}' is not declared in the protocol (declared: {', '.join(protocol.conditions)})"
    if t == c:
        return f"a contrast needs two different conditions, got {t} vs {c}"
    return None


def usable_days(trial_data: TrialData, outcome: str, washout_days: int) -> pd.DataFrame:
    """Observed trial days of ``outcome`` outside the washout (first ``washout_days`` of each period).

    Columns: day, period, pair, day_in_period, washout, condition (taken), scheduled, y.

    Example:
        >>> usable_days(td, "severity", 4).groupby("condition")["y"].mean()   # doctest: +SKIP
    """
    frame = trial_data.outcome_frame(outcome)
    if "participant" in frame.columns and frame["participant"].nunique() > 1:
        raise ValueError("a series of several participants: analyse one participant at a time")
    keep = frame["day_in_period"].to_numpy() > washout_days
    out = frame.loc[keep].reset_index(drop=True)
    out["condition"] = out["condition"].astype(object)
    out["scheduled"] = out["scheduled"].astype(object)
    return out


def _counts_problem(days: pd.DataFrame, contrast: Contrast, washout: int, minimum: int) -> str | None:
    """Reason when a compared condition has fewer than ``minimum`` usable days."""
    counts = days["condition"].value_counts()
    for key in contrast:
        k = int(counts.get(key, 0))
        if k == 0:
            return (f"condition {key} was never taken on a usable day (no observed days outside the "
                    f"{washout}-day washout)")
        if k < minimum:
            return (f"condition {key} has {k} usable day{'s' if k != 1 else ''} (observed, outside the "
                    f"{washout}-day washout); at least {minimum} are needed")
    return None


def prepare_days(
    name: str, trial_data: TrialData, outcome: Outcome | str, contrast: Contrast,
    washout_days: int | None, min_days: int,
) -> tuple[Outcome, pd.DataFrame, int] | MethodResult:
    """The usable days of a method, or the unavailable result saying why there are none.

    Checks the contrast, drops the washout (``washout_days`` or the protocol's), and requires
    ``min_days`` usable days in each compared condition. Returns ``(outcome, days, washout)``.

    Example:
        >>> prep = prepare_days("gls_ar1", td, "severity", ("B", "A"), None, 3)   # doctest: +SKIP
        >>> if isinstance(prep, MethodResult): print(prep.reason)                 # doctest: +SKIP
    """
    o = resolve_outcome(trial_data, outcome)
    problem = contrast_problem(trial_data.protocol, contrast)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    w = resolve_washout(trial_data.protocol, washout_days)
    try:
        days = usable_days(trial_data, o.name, w)
    except ValueError as err:
        return MethodResult.unavailable(name, o.name, contrast, str(err))
    problem = _counts_problem(days, contrast, w, min_days)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    return o, days, w


def constant_problem(values: np.ndarray, what: str = "outcome") -> str | None:
    """Why ``values`` cannot be analysed when they are all equal, else None."""
    if values.size and np.ptp(values) == 0:
        return f"all usable values of the {what} are equal ({values[0]:g}): there is no variation to analyse"
    return None


def trend_on(protocol: Protocol, option: bool | str | None) -> bool:
    """Whether to fit a linear trend: ``option``, else the protocol's ``analysis.trend``
    (``"auto"`` = on for trials longer than ``TREND_AUTO_DAYS``)."""
    setting = protocol.analysis.trend if option is None else option
    if setting == "auto":
        return protocol.trial_days > TREND_AUTO_DAYS
    return bool(setting)


def _t_interval(est: float, se: float, df: float, ci_level: float) -> tuple[float, float, float]:
    from scipy import stats

    q = float(stats.t.ppf(0.5 + ci_level / 2.0, df))
    p = float(2.0 * stats.t.sf(abs(est / se), df))
    return est - q * se, est + q * se, p


# --------------------------------------------------------------------------- gls_ar1
@register_method(
    "gls_ar1", outcome_types=("continuous",), order=20,
    description="GLS with AR(1) errors on the calendar day (REML); washout days excluded",
)
def gls_ar1(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    trend: bool | str | None = None,
    adjust: bool = True,
    **options: Any,
) -> MethodResult:
    """Effect of treatment vs control from a regression with AR(1) errors on the day index.

    All conditions' indicators are fitted together (control as reference); the requested
    contrast is the coefficient difference. ``trend`` (default: the protocol's
    ``analysis.trend``; ``"auto"`` = on for trials longer than 84 days) adds a linear term in day.

    Extras: ``phi``, ``sigma``, ``se``, ``df``, ``n_days``, ``n_days_by_condition``, ``trend``,
    ``washout_days`` (and ``trend_per_day`` with a trend).

    Example:
        >>> r = gls_ar1(td, "severity", ("B", "A"))            # doctest: +SKIP
        >>> r.estimate, r.extras["phi"]                         # doctest: +SKIP
        (-1.48, 0.43)
    """
    name = "gls_ar1"
    prep = prepare_days(name, trial_data, outcome, contrast, washout_days, MIN_DAYS_PER_CONDITION)
    if isinstance(prep, MethodResult):
        return prep
    o, days, w = prep
    protocol = trial_data.protocol
    from nof1.analysis.covariates import adjustment_for, covariate_matrix

    adjust_for = adjustment_for(protocol, o, trial_data) if adjust else []
    z = None
    dropped_cov = 0
    if adjust_for:
        z = covariate_matrix(trial_data, adjust_for, days["day"].to_numpy())
        ok = np.isfinite(z).all(axis=1)
        dropped_cov = int((~ok).sum())
        days, z = days[ok].reset_index(drop=True), z[ok]
        problem = _counts_problem(days, contrast, w, MIN_DAYS_PER_CONDITION)
        if problem:
            return MethodResult.unavailable(name, o.name, contrast,
                                            f"{problem} (days with every covariate of the adjustment)")
    problem = constant_problem(days["y"].to_numpy())
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    use_trend = trend_on(protocol, trend)
    levels = [k for k in protocol.conditions if (days["condition"] == k).any()]
    ref = protocol.control if protocol.control in levels else levels[0]
    others = [k for k in levels if k != ref]
    cond = days["condition"].to_numpy()
    cols = [np.ones(len(days))] + [(cond == k).astype(float) for k in others]
    day = days["day"].to_numpy(dtype=np.int64)
    if use_trend:
        cols.append((day - day.mean()).astype(float))
    n_base = len(cols)
    if z is not None:
        cols.extend((z - z.mean(axis=0)).T)
    X = np.column_stack(cols)
    from nof1.models.gls import gls_ar1_fit

    try:
        fit = gls_ar1_fit(days["y"].to_numpy(dtype=float), X, day)
    except ValueError as err:
        return MethodResult.unavailable(name, o.name, contrast, f"the model cannot be fitted: {err}")
    c = np.zeros(X.shape[1])
    t, k = contrast
    if t != ref:
        c[1 + others.index(t)] += 1.0
    if k != ref:
        c[1 + others.index(k)] -= 1.0
    res = fit.contrast(c, ci_level)
    if not all(math.isfinite(res[key]) for key in ("estimate", "ci_low", "ci_high", "p_value")):
        return MethodResult.unavailable(name, o.name, contrast, "the fit gave no finite interval")
    notes: list[str] = []
    extras: dict[str, Any] = {
        "scale": "outcome",
        "phi": fit.phi, "sigma": fit.sigma, "se": res["se"], "df": fit.df, "n_days": fit.n,
        "n_days_by_condition": {key: int((cond == key).sum()) for key in levels},
        "trend": use_trend, "washout_days": w,
    }
    if use_trend:
        extras["trend_per_day"] = float(fit.beta[n_base - 1])
        notes.append("adjusted for a linear time trend")
    if adjust_for:
        se = fit.se
        extras["adjusted_for"] = list(adjust_for)
        extras["covariate_coefficients"] = {
            name: {"estimate": float(fit.beta[n_base + j]), "se": float(se[n_base + j])}
            for j, name in enumerate(adjust_for)}
        if dropped_cov:
            notes.append(f"{dropped_cov} day(s) without a value of {', '.join(adjust_for)} left out "
                         "of the adjusted fit")
    step = int(np.median(np.diff(np.sort(day)))) if len(day) > 1 else 1
    if step > 1:
        extras["phi_between_measurements"] = float(fit.phi ** step)
        notes.append(f"measured about every {step} days: phi is the day-level autocorrelation; between "
                     f"measurements it is phi^{step} = {fit.phi ** step:.2f}, and phi itself is poorly determined")
    if fit.phi_at_bound:
        notes.append(f"the autocorrelation estimate sits at its bound ({fit.phi:+.2f}): the series "
                     "drifts more than an AR(1) around constant condition means can describe")
    if w:
        notes.append(f"the first {w} day(s) of every period were left out as washout")
    return MethodResult(
        method=name, outcome=o.name, contrast=contrast, estimate=res["estimate"],
        ci_low=res["ci_low"], ci_high=res["ci_high"], ci_level=ci_level, p_value=res["p_value"],
        extras=extras, notes=tuple(notes), fit=fit,
    )


# --------------------------------------------------------------------------- paired_periods
def period_means(days: pd.DataFrame, contrast: Contrast) -> pd.DataFrame:
    """One row per pair with a complete contrast: pair, treatment and control period means.

    Uses the scheduled condition of each period and only days on which it was actually taken.

    Example:
        >>> period_means(usable_days(td, "severity", 4), ("B", "A"))   # doctest: +SKIP
    """
    t, c = contrast
    d = days[days["pair"].notna() & (days["condition"] == days["scheduled"])]
    d = d[d["scheduled"].isin([t, c])]
    means = d.groupby(["pair", "period", "scheduled"], sort=True)["y"].mean().reset_index()
    rows = []
    for pair, g in means.groupby("pair", sort=True):
        mt = g.loc[g["scheduled"] == t, "y"]
        mc = g.loc[g["scheduled"] == c, "y"]
        if len(mt) and len(mc):
            rows.append({"pair": int(pair), "treatment_mean": float(mt.mean()),
                         "control_mean": float(mc.mean())})
    out = pd.DataFrame(rows, columns=["pair", "treatment_mean", "control_mean"])
    out["difference"] = out["treatment_mean"] - out["control_mean"]
    return out


@register_method(
    "paired_periods", outcome_types=("continuous",), order=30,
    description="difference of period means within each pair, t-interval over pairs (AHRQ)",
)
def paired_periods(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    **options: Any,
) -> MethodResult:
    """Mean over pairs of (treatment period mean − control period mean), t-interval (df = pairs − 1).

    Washout days and days on which another condition than the scheduled one was taken are left
    out of the period means. Extras: ``pairs``, ``pair_differences``, ``pairs_planned``, ``se``,
    ``df``, ``n_days``.

    Example:
        >>> r = paired_periods(td, "severity", ("B", "A"))   # doctest: +SKIP
        >>> r.extras["pairs"], r.extras["pair_differences"]  # doctest: +SKIP
        (4, [-1.2, -0.8, -1.9, -0.4])
    """
    name = "paired_periods"
    o = resolve_outcome(trial_data, outcome)
    protocol = trial_data.protocol
    problem = contrast_problem(protocol, contrast)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    trial = trial_data.trial
    if trial["pair"].isna().all():
        return MethodResult.unavailable(
            name, o.name, contrast,
            "the periods do not form complete pairs (or blocks holding every condition once), so "
            "there is nothing to pair; use gls_ar1 or the randomization test")
    planned = int(trial["pair"].dropna().nunique())
    w = resolve_washout(protocol, washout_days)
    try:
        days = usable_days(trial_data, o.name, w)
    except ValueError as err:
        return MethodResult.unavailable(name, o.name, contrast, str(err))
    problem = constant_problem(days.loc[days["condition"].isin(contrast), "y"].to_numpy())
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    table = period_means(days, contrast)
    k = len(table)
    if k < MIN_PAIRS:
        return MethodResult.unavailable(
            name, o.name, contrast,
            f"needs at least {MIN_PAIRS} complete pairs (a {contrast[0]} and a {contrast[1]} period, "
            f"each with at least one usable day); found {k} of {planned} planned", pairs=k)
    diffs = table["difference"].to_numpy()
    if np.ptp(diffs) == 0:
        return MethodResult.unavailable(
            name, o.name, contrast,
            f"all {k} pair differences are equal ({diffs[0]:g}): the spread over pairs is zero and a "
            "t-interval is undefined", pairs=k)
    est = float(diffs.mean())
    se = float(diffs.std(ddof=1) / math.sqrt(k))
    lo, hi, p = _t_interval(est, se, k - 1, ci_level)
    notes = []
    if k <= FEW_PAIRS:
        notes.append(f"only {k} pairs: with {k - 1} degree(s) of freedom the interval is wide by nature; "
                     "that is the honest uncertainty of so few pairs")
    if k < planned:
        notes.append(f"{planned - k} of {planned} planned pairs had no usable data in one of their periods")
    used = days[days["pair"].isin(table["pair"]) & (days["condition"] == days["scheduled"])
                & days["scheduled"].isin(contrast)]
    return MethodResult(
        method=name, outcome=o.name, contrast=contrast, estimate=est, ci_low=lo, ci_high=hi,
        ci_level=ci_level, p_value=p,
        extras={"scale": "outcome", "pairs": k, "pairs_planned": planned, "pair_differences": [float(x) for x in diffs],
                "se": se, "df": k - 1, "n_days": int(len(used)), "washout_days": w},
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- welch_naive
def residual_lag1_autocorrelation(day: Sequence[int], residual: Sequence[float]) -> float | None:
    """Lag-1 autocorrelation of residuals over pairs of consecutive calendar days only.

    ``Σ e_t·e_{t+1} / sqrt(Σ e_t² · Σ e_{t+1}²)`` over pairs (t, t + 1) both present; None when
    there is no such pair.

    Example:
        >>> round(residual_lag1_autocorrelation([1, 2, 3, 5, 6], [1., 1., -1., -1., 1.]), 3)
        -0.333
    """
    day = np.asarray(day)
    e = np.asarray(residual, dtype=float)
    order = np.argsort(day)
    day, e = day[order], e[order]
    consecutive = np.diff(day) == 1
    if not consecutive.any():
        return None
    a, b = e[:-1][consecutive], e[1:][consecutive]
    den = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else None


@register_method(
    "welch_naive", outcome_types=("continuous",), order=60,
    description="day-level Welch t-test; ignores autocorrelation (for comparison only)",
)
def welch_naive(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    **options: Any,
) -> MethodResult:
    """Welch t-test of treatment days vs control days (washout excluded), days taken as independent.

    Extras: ``warning``, ``residual_lag1_autocorrelation`` (within-condition demeaned residuals,
    consecutive calendar days), ``df`` (Welch), ``n_treatment``, ``n_control``, ``se``.

    Example:
        >>> r = welch_naive(td, "severity", ("B", "A"))               # doctest: +SKIP
        >>> r.extras["residual_lag1_autocorrelation"]                 # doctest: +SKIP
        0.44
    """
    from scipy import stats

    name = "welch_naive"
    prep = prepare_days(name, trial_data, outcome, contrast, washout_days, MIN_DAYS_PER_CONDITION)
    if isinstance(prep, MethodResult):
        return prep
    o, days, w = prep
    d = days[days["condition"].isin(contrast)]
    problem = constant_problem(d["y"].to_numpy())
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    yt = d.loc[d["condition"] == contrast[0], "y"].to_numpy(dtype=float)
    yc = d.loc[d["condition"] == contrast[1], "y"].to_numpy(dtype=float)
    if yt.var() == 0 and yc.var() == 0:
        return MethodResult.unavailable(
            name, o.name, contrast,
            "the outcome does not vary within either condition: the Welch standard error is zero")
    res = stats.ttest_ind(yt, yc, equal_var=False)
    ci = res.confidence_interval(confidence_level=ci_level)
    est = float(yt.mean() - yc.mean())
    resid = d["y"].to_numpy(dtype=float) - d.groupby("condition")["y"].transform("mean").to_numpy(dtype=float)
    rho = residual_lag1_autocorrelation(d["day"].to_numpy(), resid)
    se = float(math.sqrt(yt.var(ddof=1) / len(yt) + yc.var(ddof=1) / len(yc)))
    notes = [WELCH_WARNING]
    if rho is not None and rho > 0.2:
        notes.append(f"the residual lag-1 autocorrelation is {rho:.2f}: this interval is too narrow; "
                     "prefer gls_ar1 or paired_periods")
    return MethodResult(
        method=name, outcome=o.name, contrast=contrast, estimate=est, ci_low=float(ci.low),
        ci_high=float(ci.high), ci_level=ci_level, p_value=float(res.pvalue),
        extras={"scale": "outcome", "warning": WELCH_WARNING, "residual_lag1_autocorrelation": rho, "df": float(res.df),
                "se": se, "n_treatment": len(yt), "n_control": len(yc), "n_days": len(yt) + len(yc),
                "washout_days": w},
        notes=tuple(notes),
    )
