"""Analyses behind one interface: ``analyze(trial_data) -> AnalysisResult``.

Methods register themselves by name (:func:`register_method`); classical ones live in
``classical``, ``randomization`` and ``nonoverlap``, Bayesian ones in ``bayes`` and ``discrete``.
"""

from __future__ import annotations

from typing import Any

from nof1.analysis.base import (
    MethodResult,
    MethodSpec,
    contrasts_for,
    get_method,
    register_method,
    registered_methods,
)
from nof1.analysis.core import AnalysisResult, analyze
from nof1.analysis.decision import verdict

__all__ = [
    "AnalysisResult", "MethodResult", "MethodSpec", "analyze", "contrasts_for", "get_method",
    "register_method", "registered_methods", "verdict", "washout_sensitivity",
]


def __getattr__(name: str) -> Any:
    if name == "washout_sensitivity":
        from nof1.analysis.sensitivity import washout_sensitivity

        return washout_sensitivity
    raise AttributeError(name)
