"""Covariates: daily measurements adjusted for (``analysis.adjust_for``), and the mediator check.

An outcome with ``role: covariate`` (hours slept, stress 0-10, caffeine after 14:00 yes/no,
exercise minutes) is not analysed as an outcome. When the protocol lists it in
``analysis.adjust_for``, ``bayes`` (both engines: the covariates are more flat-prior columns of
the linear model, so the exact engine stays exact), ``gls_ar1`` and the Bayesian discrete models
add it, centred, as a column of the model of every primary, secondary and safety outcome; days
without a covariate value are left out of the adjusted fit. :func:`covariate_section` puts the
adjusted and the unadjusted effect side by side.

A covariate that the treatment itself moves is a *mediator* (sleep may improve *because* the legs
are calmer): adjusting for it removes part of the effect the trial wants to measure. The
randomisation protects only the unadjusted comparison, so :func:`covariate_section` tests each
covariate for a difference between conditions (``gls_ar1`` on the covariate, washout excluded)
and warns when it is larger than chance explains (p < 0.05); the unadjusted effect is then the
one to read.

Example:
    >>> res = nof1.analyze(td, methods=["gls_ar1"], seed=1)                 # doctest: +SKIP
    >>> res.extras["covariates"]["mediator_check"]["stress"]["flag"]        # doctest: +SKIP
    False
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from nof1.analysis.base import MethodResult
    from nof1.data import TrialData
    from nof1.protocol import Outcome, Protocol

__all__ = ["ADJUSTING_METHODS", "MEDIATOR_ALPHA", "adjustment_for", "coefficient_summary",
           "covariate_matrix", "covariate_section"]

#: Methods that adjust for ``analysis.adjust_for``.
ADJUSTING_METHODS = ("bayes", "gls_ar1")
#: Significance level of the mediator check (difference of a covariate between conditions).
MEDIATOR_ALPHA = 0.05
#: Roles of the outcomes that are adjusted.
_ADJUSTED_ROLES = ("primary", "secondary", "safety")


def adjustment_for(protocol: Protocol, outcome: Outcome, trial_data: TrialData | None = None) -> list[str]:
    """The covariates adjusted for in the analysis of ``outcome`` (none for covariates and
    manipulation checks); with ``trial_data``, only those logged on at least one trial day (a
    covariate that was never logged cannot be adjusted for).

    Example:
        >>> adjustment_for(p, p.primary)          # doctest: +SKIP
        ['stress']
    """
    if outcome.role not in _ADJUSTED_ROLES:
        return []
    names = [c for c in protocol.analysis.adjust_for if c != outcome.name]
    if trial_data is not None:
        trial = trial_data.trial
        names = [c for c in names if c in trial.columns and trial[c].notna().any()]
    return names


def covariate_matrix(trial_data: TrialData, names: list[str], days: NDArray[Any]) -> NDArray[np.float64]:
    """(len(days), len(names)) covariate values on the calendar ``days`` (NaN where not logged).

    Example:
        >>> covariate_matrix(td, ["stress"], np.array([15, 16])).shape     # doctest: +SKIP
        (2, 1)
    """
    data = trial_data.data
    if "participant" in data.columns and data["participant"].nunique() > 1:
        raise ValueError("a series of several participants: analyse one participant at a time")
    index = {int(d): i for i, d in enumerate(data["day"].to_numpy())}
    rows = np.array([index.get(int(d), -1) for d in np.asarray(days)], dtype=np.int64)
    out = np.full((rows.size, len(names)), np.nan)
    for j, name in enumerate(names):
        if name not in data.columns:
            continue
        col = data[name].to_numpy(dtype=float)
        out[rows >= 0, j] = col[rows[rows >= 0]]
    return out


def coefficient_summary(flat: dict[str, NDArray[np.float64]], names: list[str],
                        ci_level: float) -> dict[str, dict[str, float]]:
    """Posterior median and equal-tailed interval of each covariate's coefficient (outcome units
    per covariate unit) from flat draws keyed ``covariate:<name>``."""
    a = (1 - ci_level) / 2
    out: dict[str, dict[str, float]] = {}
    for name in names:
        v = flat.get(f"covariate:{name}")
        if v is None:
            continue
        lo, med, hi = np.quantile(np.asarray(v, dtype=float), [a, 0.5, 1 - a])
        out[name] = {"estimate": float(med), "ci_low": float(lo), "ci_high": float(hi)}
    return out


def _brief(r: MethodResult) -> dict[str, Any]:
    out: dict[str, Any] = {"available": r.available}
    if r.available:
        out.update(estimate=r.estimate, ci_low=r.ci_low, ci_high=r.ci_high)
        if r.p_value is not None:
            out["p_value"] = r.p_value
        for key in ("prob_benefit", "prob_meaningful_benefit"):
            if key in r.extras:
                out[key] = r.extras[key]
    else:
        out["reason"] = r.reason
    return out


def mediator_check(trial_data: TrialData, covariate: str, contrast: tuple[str, str], *,
                   ci_level: float, washout_days: int | None = None) -> dict[str, Any]:
    """Does ``covariate`` differ between the two conditions beyond chance? (``gls_ar1`` on the
    covariate, washout excluded; flagged when p < :data:`MEDIATOR_ALPHA`).

    Example:
        >>> mediator_check(td, "stress", ("B", "A"), ci_level=0.95)["flag"]     # doctest: +SKIP
        False
    """
    from nof1.analysis.classical import gls_ar1

    r = gls_ar1(trial_data, covariate, contrast, ci_level=ci_level, washout_days=washout_days,
                adjust=False)
    out: dict[str, Any] = {"method": "gls_ar1", "contrast": f"{contrast[0]}-{contrast[1]}", **_brief(r)}
    if not r.available:
        out["flag"] = None
        out["sentence"] = f"{covariate}: the difference between conditions could not be checked ({r.reason})."
        return out
    flag = bool(r.p_value is not None and r.p_value < MEDIATOR_ALPHA)
    out["flag"] = flag
    diff = f"{r.estimate:+.2f} ({ci_level:.0%} CI {r.ci_low:+.2f} to {r.ci_high:+.2f}, p = {r.p_value:.3f})"
    if flag:
        out["sentence"] = (
            f"{covariate} differs between conditions by {diff}, more than chance explains: the "
            "treatment may move it (a mediator), and adjusting for a mediator removes part of the "
            "real effect. Read the unadjusted effect as the total effect of the treatment.")
    else:
        out["sentence"] = (f"{covariate} does not differ between conditions beyond chance ({diff}); "
                           "adjusting for it is not expected to bias the effect.")
    return out


def covariate_section(trial_data: TrialData, results: dict[str, dict[str, dict[str, MethodResult]]],
                      unadjusted: dict[str, dict[str, dict[str, MethodResult]]], *,
                      ci_level: float, washout_days: int | None = None) -> dict[str, Any] | None:
    """The covariate section of an analysis: what was adjusted for, adjusted next to unadjusted
    effects per outcome/contrast/method, and the mediator check of every covariate.

    ``unadjusted`` mirrors ``results`` for the adjusting methods, fitted with ``adjust=False``.
    """
    protocol = trial_data.protocol
    names = list(protocol.analysis.adjust_for)
    if not names:
        return None
    from nof1.analysis.core import contrasts_for

    contrasts = contrasts_for(protocol)
    mediators = {c: mediator_check(trial_data, c, contrasts[0], ci_level=ci_level,
                                   washout_days=washout_days) for c in names}
    effects: dict[str, Any] = {}
    for outcome, by_contrast in unadjusted.items():
        for label, by_method in by_contrast.items():
            for method, un in by_method.items():
                adj = results[outcome][label][method]
                entry = {"adjusted": _brief(adj), "unadjusted": _brief(un)}
                if adj.available and un.available:
                    wa, wu = adj.ci_high - adj.ci_low, un.ci_high - un.ci_low
                    entry["interval_width_ratio"] = wa / wu if wu > 0 else math.nan
                if "covariate_coefficients" in adj.extras:
                    entry["coefficients"] = adj.extras["covariate_coefficients"]
                effects.setdefault(outcome, {}).setdefault(label, {})[method] = entry
    flagged = [c for c, m in mediators.items() if m.get("flag")]
    sentences = [m["sentence"] for m in mediators.values()]
    if flagged:
        sentences.insert(0, f"Possible mediator{'s' if len(flagged) > 1 else ''}: "
                            f"{', '.join(flagged)}. The adjusted effects may understate the effect "
                            "of the treatment.")
    return {"adjusted_for": names, "effects": effects, "mediator_check": mediators,
            "possible_mediators": flagged, "sentences": sentences}
