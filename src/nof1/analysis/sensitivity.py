"""Washout sensitivity: how the classical estimates move as more early-period days are dropped.

Carryover from the previous period biases the contrast towards zero on the first days of each
period. Re-running ``gls_ar1`` and ``paired_periods`` with 0, 2, 4, 7 washout days shows whether
the estimate depends on that choice: an estimate that grows as washout grows points to carryover
(and an interval that widens shows the price in lost days).

Example:
    >>> import nof1
    >>> nof1.washout_sensitivity(td, "severity")          # doctest: +SKIP
       washout_days          method  estimate  ci_low  ci_high  p_value  n_days available reason
    0             0         gls_ar1     -1.21   -1.90    -0.52    0.001      56      True   None
    ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from nof1.analysis.base import Contrast
from nof1.analysis.classical import gls_ar1, paired_periods, resolve_outcome

if TYPE_CHECKING:
    from nof1.data import TrialData
    from nof1.protocol import Outcome

COLUMNS = ["washout_days", "method", "estimate", "ci_low", "ci_high", "p_value", "n_days",
           "available", "reason"]


def washout_sensitivity(
    trial_data: TrialData,
    outcome: Outcome | str | None = None,
    days: Sequence[int] | None = (0, 2, 4, 7),
    *,
    contrast: Contrast | None = None,
    ci_level: float | None = None,
    methods: Sequence[str] = ("gls_ar1", "paired_periods"),
) -> pd.DataFrame:
    """Re-run ``gls_ar1`` and ``paired_periods`` at each washout length; one row per length × method.

    Args:
        trial_data: the aligned trial.
        outcome: outcome name (default: the primary outcome).
        days: washout lengths (None: the protocol's ``analysis.washout_sensitivity``).
        contrast: (treatment, control) (default: the first treatment vs the control).
        ci_level: interval level (default: the protocol's ``analysis.ci_level``).
        methods: which of ``gls_ar1`` and ``paired_periods`` to run.

    Returns:
        A DataFrame with columns washout_days, method, estimate, ci_low, ci_high, p_value,
        n_days, available and reason (numbers missing where a method could not run, e.g. a
        washout as long as the period).

    Example:
        >>> washout_sensitivity(td, "severity", days=(0, 4)).shape   # doctest: +SKIP
        (4, 9)
    """
    protocol = trial_data.protocol
    o = resolve_outcome(trial_data, outcome if outcome is not None else protocol.primary)
    contrast = contrast or (protocol.treatments[0], protocol.control)
    level = protocol.analysis.ci_level if ci_level is None else ci_level
    lengths = list(protocol.analysis.washout_sensitivity if days is None else days)
    fits = {"gls_ar1": gls_ar1, "paired_periods": paired_periods}
    unknown = [m for m in methods if m not in fits]
    if unknown:
        raise ValueError(f"washout_sensitivity runs {', '.join(fits)}; got {', '.join(unknown)}")
    rows = []
    for w in lengths:
        for name in methods:
            r = fits[name](trial_data, o, contrast, ci_level=level, seed=None, washout_days=int(w))
            rows.append({
                "washout_days": int(w), "method": name, "estimate": r.estimate, "ci_low": r.ci_low,
                "ci_high": r.ci_high, "p_value": r.p_value,
                "n_days": r.extras.get("n_days") if r.available else None,
                "available": r.available, "reason": r.reason,
            })
    out = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("estimate", "ci_low", "ci_high", "p_value"):
        out[col] = out[col].astype(float)
    out["n_days"] = out["n_days"].astype("Int64")
    return out
