"""The effect contract: the one shape every method's effect takes, and the decision probabilities.

Every registered method returns a :class:`~nof1.analysis.base.MethodResult` whose effect is
described here (as CausalPy has one effect shape for its Bayesian and OLS models):

* **A closed set of scales** (:data:`SCALES`). ``extras["scale"]`` of every available result names
  one of them, and :class:`~nof1.analysis.base.MethodResult` refuses any other word:

  ========================  =======  ===========================================  ========
  name                      kind     what ``estimate`` / ``ci_low`` / ``ci_high`` are  no effect
  ========================  =======  ===========================================  ========
  ``outcome``               outcome  treatment minus control in the outcome's units  0
  ``logit``                 model    log (cumulative) odds ratio                   0
  ``log_rate_ratio``        model    log rate ratio                                0
  ``nap``                   index    non-overlap of all pairs (a probability)      0.5
  ``tau``                   index    Tau non-overlap (= 2·NAP − 1)                 0
  ========================  =======  ===========================================  ========

  A test without an estimate (the randomisation test) has the scale of its observed statistic
  (``outcome``) and ``estimate`` None.
* **The effect on the outcome's own scale** when the model works on another: a model-scale result
  carries it in ``extras`` under one of :data:`OUTCOME_EFFECT_KEYS` (``rating_difference``,
  ``difference_per_day``, ``risk_difference``), as ``{estimate, ci_low, ci_high}``;
  ``extras["mcid_scale"]`` names the one the MCID — and so the verdict — applies to.
  :meth:`MethodResult.effect` gives the :class:`Effect` on the method's scale and
  :meth:`MethodResult.outcome_effect` the conversion to the outcome's scale (the effect itself
  on the outcome scale, the reported difference for a model scale, None for an index).
* **One rule for the decision probabilities** (:func:`decision_probabilities` from draws,
  :func:`decision_probabilities_mixture` from a normal mixture, :func:`decision_probabilities_from_cdf`
  from any continuous posterior's CDF), see :data:`BOUNDARY_RULE`.

Plots, the report, the CLI, pooling and design only read these; none of them keeps its own list
of scale words.

Example:
    >>> from nof1.analysis.effect import SCALES, decision_probabilities
    >>> SCALES["log_rate_ratio"].kind, SCALES["nap"].null
    ('model', 0.5)
    >>> decision_probabilities([-2.0, -1.0, 0.5, 1.5], better="lower", mcid=1.0)
    {'prob_benefit': 0.5, 'prob_meaningful_benefit': 0.25, 'prob_meaningful_harm': 0.25, 'prob_negligible': 0.5}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "BOUNDARY_RULE",
    "DECISION_KEYS",
    "OUTCOME_EFFECT_KEYS",
    "OUTCOME_EFFECT_UNITS",
    "SCALES",
    "VERDICT_KEYS",
    "Effect",
    "Scale",
    "check_decision_probabilities",
    "decision_probabilities",
    "decision_probabilities_from_cdf",
    "decision_probabilities_mixture",
    "get_scale",
    "outcome_effect",
]

ScaleKind = Literal["outcome", "model", "index"]


@dataclass(frozen=True)
class Scale:
    """One scale an effect can be reported on.

    ``kind``: ``outcome`` (the outcome's own units: comparable with the MCID and across methods),
    ``model`` (a link scale of a GLM-type model; the result also reports its effect on the
    outcome's scale), ``index`` (a descriptive index that is not an effect size and is never drawn
    on the effect axis). ``null`` is the value meaning "no difference".

    Example:
        >>> SCALES["logit"].words
        'log odds ratio'
    """

    name: str
    kind: ScaleKind
    words: str
    null: float = 0.0
    #: How to read a value (for indices), e.g. "0.5 = no separation, 1 = complete".
    meaning: str = ""

    @property
    def in_outcome_units(self) -> bool:
        """True when estimates on this scale are in the outcome's units (comparable with its MCID)."""
        return self.kind == "outcome"


#: The closed set of effect scales (the values ``extras["scale"]`` may take).
SCALES: Mapping[str, Scale] = MappingProxyType({s.name: s for s in (
    Scale("outcome", "outcome", "outcome units"),
    Scale("logit", "model", "log odds ratio"),
    Scale("log_rate_ratio", "model", "log rate ratio"),
    Scale("nap", "index", "NAP (non-overlap of all pairs)", null=0.5,
          meaning="0.5 = no separation, 1 = complete"),
    Scale("tau", "index", "Tau (non-overlap)", meaning="0 = no separation, ±1 = complete"),
)})

#: Extras holding a model-scale result's effect on the outcome's own scale, with what they mean
#: (in the order they are looked for when ``extras["mcid_scale"]`` does not name one).
OUTCOME_EFFECT_KEYS: Mapping[str, str] = MappingProxyType({
    "rating_difference": "difference in the expected rating",
    "difference_per_day": "difference in events per day",
    "risk_difference": "difference in the probability of yes",
})

#: The units in which an outcome-scale effect is printed, when not the outcome's own units.
OUTCOME_EFFECT_UNITS: Mapping[str, str] = MappingProxyType({
    "difference_per_day": "per day",
    "risk_difference": "(probability)",
})

#: The decision probabilities a Bayesian result puts in ``extras`` (all four keys always present;
#: the last three None without an MCID).
DECISION_KEYS: tuple[str, ...] = ("prob_benefit", "prob_meaningful_benefit", "prob_meaningful_harm",
                                  "prob_negligible")
#: The keys :func:`nof1.analysis.core.verdict` reads.
VERDICT_KEYS: tuple[str, ...] = DECISION_KEYS[1:]

#: The boundary rule of :func:`decision_probabilities` and :func:`decision_probabilities_mixture`.
BOUNDARY_RULE: str = (
    "benefit: the effect points strictly in the better direction (P(good > 0)); meaningful "
    "benefit: strictly more than the MCID in the better direction (P(good > mcid)); meaningful "
    "harm: strictly more than the MCID in the worse direction (P(good < -mcid)); negligible: the "
    "rest, P(|effect| <= mcid) = 1 - meaningful benefit - meaningful harm, so the three always "
    "sum to 1. An effect exactly at ±mcid is negligible, not meaningful (the public contract says "
    "'by more than the mcid'). For continuous posteriors (normal mixtures, draws of continuous "
    "quantities) the boundaries have probability 0 and the rule changes no number; it decides "
    "only ties of draws at exactly 0 or ±mcid.")


def get_scale(name: str | None) -> Scale:
    """The :class:`Scale` called ``name``; raises ValueError for a word outside :data:`SCALES`.

    Example:
        >>> get_scale("tau").kind
        'index'
    """
    if name not in SCALES:
        raise ValueError(f"unknown effect scale {name!r} (the closed set: {', '.join(SCALES)})")
    return SCALES[str(name)]


@dataclass(frozen=True)
class Effect:
    """An effect with its interval on a named scale.

    ``name`` is ``"effect"`` for a method's own estimate, or the key of an outcome-scale effect
    (e.g. ``rating_difference``) reported next to a model-scale one. ``label`` is what tables and
    plots print next to the method's name (empty for the method's own estimate).

    Example:
        >>> e = Effect(-1.2, -2.0, -0.4, 0.95, SCALES["outcome"])
        >>> e.in_outcome_units, e.excludes_null
        (True, True)
    """

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    ci_level: float | None
    scale: Scale
    name: str = "effect"

    @property
    def in_outcome_units(self) -> bool:
        return self.scale.in_outcome_units

    @property
    def label(self) -> str:
        return "" if self.name == "effect" else self.name.replace("_", " ")

    @property
    def units(self) -> str | None:
        """The units to print after the number (None: the outcome's own units).

        Example:
            >>> Effect(0.1, 0.0, 0.2, 0.95, SCALES["outcome"], name="risk_difference").units
            '(probability)'
        """
        return OUTCOME_EFFECT_UNITS.get(self.name)

    @property
    def excludes_null(self) -> bool | None:
        """True when the interval lies wholly on one side of the scale's no-effect value."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return not (self.ci_low <= self.scale.null <= self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "scale": self.scale.name}


def _opt(v: Any) -> float | None:
    return None if v is None else float(v)


def outcome_effect(estimate: float | None, ci_low: float | None, ci_high: float | None,
                   ci_level: float | None, extras: Mapping[str, Any]) -> Effect | None:
    """The effect on the outcome's own scale of a result with these numbers and extras.

    On the ``outcome`` scale (or with no scale given) the estimate itself; on a ``model`` scale the
    reported outcome-scale effect (``extras[extras["mcid_scale"]]`` first, then the keys of
    :data:`OUTCOME_EFFECT_KEYS`), None when there is none; None on an ``index`` scale.
    :meth:`MethodResult.outcome_effect` is the usual way to call it.

    Example:
        >>> outcome_effect(-0.9, -1.5, -0.3, 0.95, {"scale": "logit",
        ...     "rating_difference": {"estimate": -0.8, "ci_low": -1.6, "ci_high": -0.1}}).name
        'rating_difference'
    """
    scale = get_scale(extras.get("scale", "outcome"))
    if scale.kind == "outcome":
        return Effect(_opt(estimate), _opt(ci_low), _opt(ci_high), ci_level, scale)
    if scale.kind == "index":
        return None
    first = extras.get("mcid_scale")
    for key in [*([first] if isinstance(first, str) else []), *OUTCOME_EFFECT_KEYS]:
        value = extras.get(key)
        if isinstance(value, Mapping) and value.get("estimate") is not None:
            return Effect(_opt(value.get("estimate")), _opt(value.get("ci_low")),
                          _opt(value.get("ci_high")), ci_level, SCALES["outcome"], name=key)
    return None


# =========================================================================== decision probabilities
def _sign(better: str) -> float:
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")
    return -1.0 if better == "lower" else 1.0


def _mcid(mcid: float | None) -> float | None:
    if mcid is None or (isinstance(mcid, float) and math.isnan(mcid)):
        return None
    m = float(mcid)
    if not m > 0:
        raise ValueError(f"the mcid must be positive, got {mcid}")
    return m


def decision_probabilities(draws: ArrayLike, better: str, mcid: float | None
                           ) -> dict[str, float | None]:
    """``prob_benefit``, ``prob_meaningful_benefit``, ``prob_meaningful_harm``, ``prob_negligible``
    from posterior draws of an effect (treatment − control) on the scale of ``mcid``.

    The rule at the boundaries is :data:`BOUNDARY_RULE`: strict inequalities for benefit and for
    meaningful benefit/harm, negligible = the rest (``|effect| <= mcid``), so the three decision
    probabilities sum to 1. For continuous posteriors ties have probability 0; only draws exactly
    at 0 or ±mcid are affected. Without an mcid the last three are None (all four keys are always
    present).

    Example:
        >>> decision_probabilities([-2.0, -0.5, 0.2, 1.5], better="higher", mcid=1.0)
        {'prob_benefit': 0.5, 'prob_meaningful_benefit': 0.25, 'prob_meaningful_harm': 0.25, 'prob_negligible': 0.5}
        >>> decision_probabilities([-1.0, 1.0], better="lower", mcid=1.0)["prob_negligible"]
        1.0
    """
    import numpy as np

    d = np.ravel(np.asarray(draws, dtype=float))
    if d.size == 0 or not np.all(np.isfinite(d)):
        raise ValueError("decision probabilities need finite draws")
    good = _sign(better) * d
    m = _mcid(mcid)
    out: dict[str, float | None] = {"prob_benefit": float(np.mean(good > 0))}
    if m is None:
        out.update(prob_meaningful_benefit=None, prob_meaningful_harm=None, prob_negligible=None)
        return out
    ben, harm = float(np.mean(good > m)), float(np.mean(good < -m))
    out.update(prob_meaningful_benefit=ben, prob_meaningful_harm=harm,
               prob_negligible=float(np.mean(np.abs(d) <= m)))
    return out


def decision_probabilities_from_cdf(cdf: Callable[[tuple[float, ...]], Any], better: str,
                                    mcid: float | None) -> dict[str, Any]:
    """The decision probabilities of a continuous posterior from its CDF.

    The one rule (:data:`BOUNDARY_RULE`) written on a CDF, for engines that evaluate their own
    (the exact engine's normal mixtures, single or batched). ``cdf`` is called once with the
    thresholds ``(0, -mcid, mcid)`` (``(0,)`` without an mcid) and returns, for each, P(effect <=
    threshold) (a float, or an array over a batch). For a continuous posterior P(effect < x) is
    the same number, so: benefit ``cdf(0)`` when lower is better, else ``1 - cdf(0)``;
    P(effect < -mcid) = ``cdf(-mcid)``, P(effect > mcid) = ``1 - cdf(mcid)``; negligible the rest,
    clipped to [0, 1] against rounding. The last three are None without an mcid.

    Example:
        >>> from scipy import stats
        >>> p = decision_probabilities_from_cdf(stats.norm(-1.0, 1.0).cdf, "lower", 1.0)
        >>> round(p["prob_meaningful_benefit"], 4), round(p["prob_negligible"], 4)
        (0.5, 0.4772)
    """
    import numpy as np

    def value(v: Any) -> Any:
        return float(v) if np.ndim(v) == 0 else v

    sign = _sign(better)
    m = _mcid(mcid)
    at = cdf((0.0,) if m is None else (0.0, -m, m))
    below0 = value(at[0])
    out: dict[str, Any] = {"prob_benefit": below0 if sign < 0 else 1.0 - below0}
    if m is None:
        out.update(prob_meaningful_benefit=None, prob_meaningful_harm=None, prob_negligible=None)
        return out
    low, high = value(at[1]), 1.0 - value(at[2])      # P(effect < -mcid), P(effect > mcid)
    ben, harm = (low, high) if sign < 0 else (high, low)
    out.update(prob_meaningful_benefit=ben, prob_meaningful_harm=harm,
               prob_negligible=value(np.clip(1.0 - low - high, 0.0, 1.0)))
    return out


def decision_probabilities_mixture(weights: ArrayLike, means: ArrayLike, sds: ArrayLike,
                                   better: str, mcid: float | None) -> dict[str, Any]:
    """The decision probabilities of an effect whose posterior is a mixture of normals.

    ``weights``, ``means`` and ``sds`` have the same shape ``(..., components)``; the weights of
    each mixture sum to 1 and every sd is positive (a continuous posterior: the boundaries have
    probability 0 and the rule of :data:`BOUNDARY_RULE` gives the same numbers as its draws
    would). Returns floats for a single mixture (1-d input), else arrays of the leading shape;
    the last three are None without an mcid. ``prob_negligible`` is 1 − meaningful benefit −
    meaningful harm, clipped to [0, 1] against rounding.

    Example:
        >>> p = decision_probabilities_mixture([1.0], [-1.0], [1.0], better="lower", mcid=1.0)
        >>> round(p["prob_benefit"], 4), round(p["prob_meaningful_benefit"], 4)
        (0.8413, 0.5)
    """
    import numpy as np
    from scipy import special

    w, mu, s = (np.asarray(a, dtype=float) for a in (weights, means, sds))
    if not (w.shape == mu.shape == s.shape) or w.ndim == 0:
        raise ValueError("weights, means and sds must have the same shape (..., components)")
    if np.any(s <= 0):
        raise ValueError("every component sd must be positive")

    def cdf(points: tuple[float, ...]) -> list[Any]:
        return [np.sum(w * special.ndtr((x - mu) / s), axis=-1) for x in points]

    return decision_probabilities_from_cdf(cdf, better, mcid)


def check_decision_probabilities(extras: Mapping[str, Any], *, has_mcid: bool) -> list[str]:
    """Problems with the decision probabilities in ``extras`` (empty list when they keep the
    contract): every key of :data:`DECISION_KEYS` present, each in [0, 1], and with an mcid the
    three decision probabilities not None and summing to 1.

    Example:
        >>> check_decision_probabilities({"prob_benefit": 0.9}, has_mcid=False)
        ['prob_meaningful_benefit is missing', 'prob_meaningful_harm is missing', 'prob_negligible is missing']
    """
    problems = [f"{k} is missing" for k in DECISION_KEYS if k not in extras]
    for k in DECISION_KEYS:
        v = extras.get(k)
        if v is not None and not (0.0 <= float(v) <= 1.0):
            problems.append(f"{k} = {v} is not a probability")
    if extras.get("prob_benefit") is None and "prob_benefit" in extras:
        problems.append("prob_benefit is None")
    if has_mcid and not problems:
        vals = [extras.get(k) for k in VERDICT_KEYS]
        if any(v is None for v in vals):
            problems.append("an mcid is declared but a decision probability is None")
        elif abs(sum(float(v) for v in vals) - 1.0) > 1e-6:
            problems.append(f"the decision probabilities sum to {sum(float(v) for v in vals):.6g}, not 1")
    return problems
