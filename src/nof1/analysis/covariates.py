"""Covariates: daily measurements adjusted for (``analysis.adjust_for``), and the mediator check.

An outcome with ``role: covariate`` (hours slept, stress 0-10, caffeine after 14:00 yes/no,
exercise minutes) is not analysed as an outcome. When the protocol lists it in
``analysis.adjust_for``, ``bayes`` (both engines: the covariates are more flat-prior columns of
the linear model, so the exact engine stays exact), ``gls_ar1`` and the Bayesian discrete models
add it, centred, as a column of the model of every primary, secondary and safety outcome; days
without a covariate value are left out of the adjusted fit. This module builds the model inputs;
:func:`nof1.analysis.sections.covariate_section` puts the adjusted and the unadjusted effect side
by side and runs the mediator check (:func:`nof1.analysis.sections.mediator_check`).

A covariate that the treatment itself moves is a *mediator* (sleep may improve *because* the legs
are calmer): adjusting for it removes part of the effect the trial wants to measure. The
randomisation protects only the unadjusted comparison, so the covariate section tests each
covariate for a difference between conditions (``gls_ar1`` on the covariate, washout excluded)
and warns when it is larger than chance explains (p < :data:`MEDIATOR_ALPHA`); the unadjusted
effect is then the one to read.

Example:
    >>> res = nof1.analyze(td, methods=["gls_ar1"], seed=1)                 # doctest: +SKIP
    >>> res.extras["covariates"]["mediator_check"]["stress"]["flag"]        # doctest: +SKIP
    False
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from nof1.data import TrialData
    from nof1.protocol import Outcome, Protocol

__all__ = ["ADJUSTING_METHODS", "MEDIATOR_ALPHA", "adjustment_for", "coefficient_summary",
           "covariate_matrix"]

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
