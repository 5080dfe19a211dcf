"""Ordinal ratings, counts and yes/no outcomes — the names importers use, re-exported.

The code lives in three modules, one concept each:

* :mod:`nof1.analysis.discrete_bayes` — the Bayesian ordinal/count/binary models
  (:func:`fit_bayes_discrete`, :class:`DiscreteFit`, :func:`prepare_series`);
* :mod:`nof1.analysis.discrete_periods` — period-level fits of weekly or sparse continuous
  outcomes (:func:`fit_period_level`, :func:`needs_period_level`);
* :mod:`nof1.analysis.discrete_glm` — the classical GLMs (registered: ``ordinal_po``,
  ``count_glm_hac``, ``binary_glm_hac``).

:func:`decision_probabilities` is :func:`nof1.analysis.effect.decision_probabilities`.

Example:
    >>> from nof1.analysis.discrete import fit_bayes_discrete, ordinal_po      # doctest: +SKIP
"""

from __future__ import annotations

from nof1.analysis.discrete_bayes import (
    ESS_OK,
    MIN_DAYS_PER_CONDITION,
    RHAT_FAIL,
    RHAT_OK,
    DiscreteFit,
    SeriesSpec,
    fit_bayes_discrete,
    prepare_series,
    recode,
)
from nof1.analysis.discrete_glm import (
    binary_glm_hac,
    count_glm_hac,
    hac_on_days,
    newey_west_lags,
    ordinal_po,
)
from nof1.analysis.discrete_periods import (
    SPARSE_PER_PERIOD,
    PeriodLevelFit,
    fit_period_level,
    needs_period_level,
)
from nof1.analysis.effect import decision_probabilities

__all__ = [
    "ESS_OK",
    "MIN_DAYS_PER_CONDITION",
    "RHAT_FAIL",
    "RHAT_OK",
    "SPARSE_PER_PERIOD",
    "DiscreteFit",
    "PeriodLevelFit",
    "SeriesSpec",
    "binary_glm_hac",
    "count_glm_hac",
    "decision_probabilities",
    "fit_bayes_discrete",
    "fit_period_level",
    "hac_on_days",
    "needs_period_level",
    "newey_west_lags",
    "ordinal_po",
    "prepare_series",
    "recode",
]
