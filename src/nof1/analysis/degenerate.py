"""Data with no variation: the check every registered method goes through before it fits.

A condition whose values do not vary from day to day (severity always 6 under placebo) gives no
information about the day-to-day noise, so no method can say how uncertain a difference is: a
Bayesian interval would be the prior's shape squeezed to nothing (±3.5e-8), a GLS or t-interval
has a zero standard error. :func:`variation_problem` finds such data and
:func:`nof1.analysis.base.register_method` makes every method unavailable with its one plain
reason, e.g. *"every value under Placebo is 6: there is no day-to-day variation to estimate
uncertainty from"*.

The rule:

* only observed trial days (run-in excluded) under the condition actually taken count; a
  condition is constant when at least two of its values span no more than
  :data:`RELATIVE_TOLERANCE` of the outcome's scale (the range width, else the largest absolute
  value, at least 1) — on all its days, or on its days after the washout (the days the
  ``exclude`` analyses use);
* a continuous outcome is refused when *any* compared condition is constant;
* an ordinal, count or binary outcome only when *every* compared condition is constant: zero
  events under one condition (no headache on placebo, the usual case for a safety outcome) is
  data those models handle, not an absence of variation.

Example:
    >>> variation_problem(td, "severity", ("B", "A"))     # doctest: +SKIP
    'every value under Placebo is 6: there is no day-to-day variation to estimate uncertainty from'
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nof1.data import TrialData
    from nof1.protocol import Outcome

#: Values spanning at most this fraction of the outcome's scale count as constant.
RELATIVE_TOLERANCE: float = 1e-6
NO_VARIATION = "there is no day-to-day variation to estimate uncertainty from"


def _scale(outcome: Outcome, y: np.ndarray) -> float:
    r = outcome.value_range
    if r is not None and math.isfinite(r[1] - r[0]):
        return float(r[1] - r[0])
    return max(1.0, float(np.max(np.abs(y)))) if y.size else 1.0


def _value_text(values: np.ndarray) -> str:
    spread = float(np.ptp(values))
    middle = float(np.median(values))
    if spread == 0:
        return f"{middle:g}"
    return f"{middle:.6g} (to within {spread:.1g})"


def variation_problem(trial_data: TrialData, outcome: Outcome | str, contrast: tuple[str, str], *,
                      washout_days: int | None = None) -> str | None:
    """The plain reason why ``contrast`` of ``outcome`` has no variation to work with, else None.

    Unknown conditions, a series of several participants and outcomes without a column are left
    to the methods (they say why themselves).

    Example:
        >>> variation_problem(td, "severity", ("B", "A")) is None     # doctest: +SKIP
        True
    """
    protocol = trial_data.protocol
    try:
        o = protocol.outcome(outcome) if isinstance(outcome, str) else outcome
    except KeyError:
        return None
    keys = list(dict.fromkeys(k for k in contrast if k in protocol.conditions))
    data = trial_data.data
    if len(keys) < 2 or o.name not in data.columns:
        return None
    if "participant" in data.columns and data["participant"].nunique() > 1:
        return None
    trial = data[data["phase"] == "trial"]
    y = trial[o.name].to_numpy(dtype=float)
    observed = ~np.isnan(y)
    taken = trial["condition_taken"].astype(object).to_numpy()
    washout = int(protocol.design.washout_days if washout_days is None else washout_days)
    steady = trial["day_in_period"].to_numpy() > washout
    tol = RELATIVE_TOLERANCE * _scale(o, y[observed])
    constant: dict[str, tuple[np.ndarray, str]] = {}
    for k in keys:
        subsets = [(observed & (taken == k), "")]
        if washout > 0:
            subsets.append((observed & (taken == k) & steady, f" after the {washout}-day washout"))
        for rows, words in subsets:
            values = y[rows]
            if values.size >= 2 and float(np.ptp(values)) <= tol:
                constant[k] = (values, words)
                break
    if not constant or (o.type != "continuous" and len(constant) < len(keys)):
        return None
    label = {k: protocol.conditions[k].label for k in keys}
    texts = {k: _value_text(v) for k, (v, _) in constant.items()}
    words = {w for _, w in constant.values()}
    if len(constant) > 1 and len(set(texts.values())) == 1 and len(words) == 1:
        names = " and ".join(label[k] for k in constant)
        return f"every value under {names}{words.pop()} is {next(iter(texts.values()))}: {NO_VARIATION}"
    parts = [f"every value under {label[k]}{w} is {texts[k]}" for k, (_, w) in constant.items()]
    return f"{' and '.join(parts)}: {NO_VARIATION}"


__all__ = ["NO_VARIATION", "RELATIVE_TOLERANCE", "variation_problem"]
