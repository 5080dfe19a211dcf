"""The effect contract over the whole method registry (issue 18).

Like lifelines' suite over all fitters: every registered method × every outcome type it declares ×
a few awkward data sets (a typical trial, gaps, two measurements a period, a condition with no
data, a constant outcome, one period, one pair). Whatever the data, a method

* never raises and emits no numpy warning;
* when unavailable, says why (a plain sentence);
* when available, names a scale from the closed set (:data:`nof1.analysis.effect.SCALES`), has
  finite numbers with the estimate inside its interval, gives its effect on the outcome's own scale
  when it works on another (a model scale), and — if it reports decision probabilities — all four
  keys under the one boundary rule, so that the verdict can be taken;
* has a JSON-safe ``to_dict()`` (``json.dumps(..., allow_nan=False)``).

The parametrisation is read from the registry, so a new method is checked as soon as it is
registered. MCMC is kept small (200 draws, 200 tuning steps, 2 chains).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("PYTENSOR_FLAGS", "base_compiledir=" + os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv", "pytensor-cache"))

from nof1.analysis.base import MethodResult, registered_methods  # noqa: E402
from nof1.analysis.core import verdict  # noqa: E402
from nof1.analysis.effect import (  # noqa: E402
    DECISION_KEYS,
    SCALES,
    check_decision_probabilities,
    decision_probabilities,
    decision_probabilities_mixture,
)
from nof1.data import TrialData  # noqa: E402
from nof1.protocol import Decision, Protocol  # noqa: E402

PERIOD, WASHOUT = 7, 2
OPTIONS = {"draws": 200, "tune": 200, "chains": 2}
CONTRAST = ("B", "A")
OUTCOME_TYPES = ("continuous", "ordinal", "count", "binary")
DATASETS = ("typical", "gaps", "weekly", "no_data_for_B", "constant", "one_period", "one_pair")


@cache
def protocol(outcome_type: str) -> Protocol:
    out = {"name": "y", "type": outcome_type, "better": "lower", "role": "primary",
           "mcid": {"continuous": 1.0, "ordinal": 1.0, "count": 0.5, "binary": 0.1}[outcome_type]}
    if outcome_type == "continuous":
        out["range"] = [0, 10]
    if outcome_type == "ordinal":
        out["range"] = [0, 6]
    return Protocol.model_validate({
        "schema_version": 1, "id": f"contract-{outcome_type}", "title": "Contract",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Juice", "role": "treatment"}},
        "design": {"period_days": PERIOD, "washout_days": WASHOUT,
                   "randomization": {"scheme": "pairs", "pairs": 2, "seed": 5}},
        "outcomes": [out]})


def values(outcome_type: str, dataset: str) -> np.ndarray:
    """One value per scheduled day (NaN = not logged)."""
    p = protocol(outcome_type)
    cond = np.array(p.allocation_days())
    period = np.repeat(np.arange(1, len(cond) // PERIOD + 1), PERIOD)
    rng = np.random.default_rng(20261206)
    b = (cond == "B").astype(float)
    z = rng.normal(0.0, 1.0, cond.size)
    if outcome_type == "continuous":
        y = np.clip(np.round(2 * (5.0 - 1.5 * b + 1.2 * z)) / 2, 0, 10)
    elif outcome_type == "ordinal":
        y = np.clip(np.round(3.5 - 1.2 * b + 1.0 * z), 0, 6)
    elif outcome_type == "count":
        y = rng.poisson(np.exp(0.9 - 0.5 * b)).astype(float)
    else:
        y = (rng.uniform(size=cond.size) < np.where(b > 0, 0.3, 0.65)).astype(float)
    if dataset == "gaps":
        y[::3] = np.nan
        y[9:13] = np.nan
    elif dataset == "weekly":            # two measurements a period: the period-level fit
        y[(np.arange(cond.size) % PERIOD) < 4] = np.nan
        y[(np.arange(cond.size) % PERIOD) == 5] = np.nan
    elif dataset == "no_data_for_B":
        y[cond == "B"] = np.nan
    elif dataset == "constant":
        y[:] = 1.0
    elif dataset == "one_period":
        y[period != 1] = np.nan
    elif dataset == "one_pair":
        y[period > 2] = np.nan
    return y


@cache
def trial(outcome_type: str, dataset: str) -> TrialData:
    p = protocol(outcome_type)
    y = values(outcome_type, dataset)
    days = np.arange(1, p.total_days + 1)
    keep = ~np.isnan(y)
    return TrialData.from_frame(p, pd.DataFrame({"day": days[keep], "y": y[keep]}))


CASES = [(name, t) for name, spec in registered_methods().items() for t in OUTCOME_TYPES
         if t in spec.outcome_types]


@cache
def fit(method: str, outcome_type: str, dataset: str) -> MethodResult:
    td = trial(outcome_type, dataset)
    spec = registered_methods()[method]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = spec.fit(td, td.protocol.outcome("y"), CONTRAST, ci_level=0.9, seed=11,
                     washout_days=None, **OPTIONS)
    numpy_warnings = [w for w in caught if issubclass(w.category, RuntimeWarning)
                      and "numpy" in str(w.filename)]
    assert not numpy_warnings, [str(w.message) for w in numpy_warnings]
    return r


def test_the_registry_is_loaded_and_every_method_declares_outcome_types() -> None:
    methods = registered_methods()
    assert {"bayes", "gls_ar1", "paired_periods", "welch_naive", "randomization", "nap", "tau",
            "ordinal_po", "count_glm_hac", "binary_glm_hac"} <= set(methods)
    for spec in methods.values():
        assert spec.outcome_types and spec.outcome_types <= set(OUTCOME_TYPES), spec.name


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize(("method", "outcome_type"), CASES)
def test_method_keeps_the_effect_contract(method: str, outcome_type: str, dataset: str) -> None:
    r = fit(method, outcome_type, dataset)
    assert isinstance(r, MethodResult)
    assert (r.method, r.outcome, r.contrast) == (method, "y", CONTRAST)
    out = r.to_dict()
    json.dumps(out, allow_nan=False)                   # JSON-safe, whatever the data
    if not r.available:
        assert isinstance(r.reason, str) and len(r.reason) > 10, r.reason
        assert out["available"] is False and out["reason"] == r.reason
        assert r.outcome_effect() is None
        return
    # a scale from the closed set, set explicitly by the method
    assert r.extras.get("scale") in SCALES, f"{method} sets no scale from {list(SCALES)}"
    assert out["scale"] == r.scale.name
    numbers = [r.estimate, r.ci_low, r.ci_high, r.p_value]
    assert all(v is None or math.isfinite(v) for v in numbers)
    if r.estimate is not None:
        assert r.ci_low is not None and r.ci_high is not None and r.ci_level == 0.9
        assert r.ci_low <= r.estimate <= r.ci_high
        assert r.ci_low < r.ci_high
    else:
        assert r.p_value is not None, f"{method}: neither an estimate nor a p-value"
    if r.p_value is not None:
        assert 0.0 <= r.p_value <= 1.0
    if r.scale.kind == "index":
        assert r.outcome_effect() is None
        assert 0.0 - 1.0 <= r.estimate <= 1.0
    else:
        e = r.outcome_effect()
        assert e is not None and e.scale.name == "outcome", f"{method}: no outcome-scale effect"
        if r.scale.kind == "model":
            assert e.name != "effect" and e.estimate is not None
            assert e.ci_low <= e.estimate <= e.ci_high
            if "mcid_scale" in r.extras:
                assert e.name == r.extras["mcid_scale"]
    # decision probabilities: all or nothing, one rule; Bayesian methods must give them
    if method == "bayes" or any(k in r.extras for k in DECISION_KEYS):
        assert check_decision_probabilities(r.extras, has_mcid=True) == []
        v = verdict(dict(r.extras), Decision())
        assert isinstance(v, str) and v


def test_the_contract_sees_available_results_of_every_case() -> None:
    """The awkward data sets must not make the test vacuous: on typical data every method runs."""
    missing = [(m, t) for m, t in CASES if not fit(m, t, "typical").available]
    assert missing == [], [(m, t, fit(m, t, "typical").reason) for m, t in missing]


def test_a_result_with_a_scale_outside_the_closed_set_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown effect scale 'log_odds'"):
        MethodResult("x", "y", CONTRAST, estimate=0.1, ci_low=0.0, ci_high=0.2,
                     extras={"scale": "log_odds"})


# --------------------------------------------------------------------------- decision probabilities
def test_decision_probabilities_from_draws_follow_the_boundary_rule() -> None:
    # exact ties at 0 and at ±mcid: strict for benefit and meaningful, ties are negligible
    d = np.array([-2.0, -1.0, 0.0, 1.0, 3.0])
    p = decision_probabilities(d, "lower", 1.0)
    assert p == {"prob_benefit": 0.4, "prob_meaningful_benefit": 0.2,
                 "prob_meaningful_harm": 0.2, "prob_negligible": 0.6}
    q = decision_probabilities(d, "higher", 1.0)
    assert q["prob_meaningful_benefit"] == 0.2 and q["prob_meaningful_harm"] == 0.2
    assert q["prob_benefit"] == 0.4
    none = decision_probabilities(d, "lower", None)
    assert none == {"prob_benefit": 0.4, "prob_meaningful_benefit": None,
                    "prob_meaningful_harm": None, "prob_negligible": None}
    with pytest.raises(ValueError):
        decision_probabilities(d, "lower", 0.0)


def test_draws_and_mixture_agree_with_the_closed_form() -> None:
    from scipy import stats

    w = np.array([0.3, 0.7])
    m = np.array([-1.5, -0.4])
    s = np.array([0.5, 0.9])
    p = decision_probabilities_mixture(w, m, s, "lower", 1.0)

    def cdf(x: float) -> float:
        return float(np.sum(w * stats.norm.cdf(x, m, s)))

    assert p["prob_benefit"] == pytest.approx(cdf(0.0), abs=1e-12)
    assert p["prob_meaningful_benefit"] == pytest.approx(cdf(-1.0), abs=1e-12)
    assert p["prob_meaningful_harm"] == pytest.approx(1 - cdf(1.0), abs=1e-12)
    assert sum(p[k] for k in DECISION_KEYS[1:]) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(3)
    comp = rng.choice(2, size=400_000, p=w)
    draws = rng.normal(m[comp], s[comp])
    q = decision_probabilities(draws, "lower", 1.0)
    for k in DECISION_KEYS:
        assert q[k] == pytest.approx(p[k], abs=3e-3)
    # batched: the leading axes are kept
    b = decision_probabilities_mixture(np.tile(w, (3, 1)), np.tile(m, (3, 1)), np.tile(s, (3, 1)),
                                       "higher", 1.0)
    assert b["prob_benefit"].shape == (3,)
    assert b["prob_benefit"][0] == pytest.approx(1 - p["prob_benefit"], abs=1e-12)
    assert b["prob_meaningful_benefit"][1] == pytest.approx(p["prob_meaningful_harm"], abs=1e-12)


def test_ordinal_po_rating_difference_matches_the_closed_form_when_saturated() -> None:
    """With two rating values the proportional-odds model is a saturated logistic model: the
    expected ratings are the observed means and the delta-method SE is that of a difference of
    proportions."""
    from nof1.analysis.discrete_glm import ordinal_po

    p = protocol("ordinal")
    cond = np.array(p.allocation_days())
    day_in = np.tile(np.arange(1, PERIOD + 1), len(cond) // PERIOD)
    rng = np.random.default_rng(8)
    y = (rng.uniform(size=cond.size) < np.where(cond == "B", 0.3, 0.6)).astype(float) + 2.0
    td = TrialData.from_frame(p, pd.DataFrame({"day": np.arange(1, cond.size + 1), "y": y}))
    r = ordinal_po(td, "y", CONTRAST, ci_level=0.95, trend=False)
    used = day_in > WASHOUT
    yb, ya = y[used & (cond == "B")] - 2, y[used & (cond == "A")] - 2
    rd = r.extras["rating_difference"]
    assert rd["estimate"] == pytest.approx(yb.mean() - ya.mean(), abs=1e-5)
    se = math.sqrt(yb.mean() * (1 - yb.mean()) / yb.size + ya.mean() * (1 - ya.mean()) / ya.size)
    assert (rd["ci_high"] - rd["ci_low"]) / (2 * 1.959964) == pytest.approx(se, rel=1e-3)
    assert r.outcome_effect().name == "rating_difference"


def test_a_registered_method_that_breaks_the_contract_is_not_shown() -> None:
    from nof1.analysis.base import _REGISTRY, register_method

    @register_method("contract_breaker", outcome_types=("continuous",), default=False)
    def breaker(trial_data, outcome, contrast, **options):  # type: ignore[no-untyped-def]
        extras = {} if options.get("no_scale") else {
            "scale": "outcome", "prob_benefit": 0.9, "prob_meaningful_benefit": 0.7,
            "prob_meaningful_harm": 0.0, "prob_negligible": 0.2}
        return MethodResult("contract_breaker", "y", contrast, estimate=-1.0, ci_low=-2.0,
                            ci_high=0.0, ci_level=0.9, extras=extras)

    try:
        td = trial("continuous", "typical")
        r = breaker(td, "y", CONTRAST, no_scale=True)
        assert not r.available and "declares no effect scale" in r.reason
        r = breaker(td, "y", CONTRAST)
        assert not r.available and "sum to 0.9" in r.reason
    finally:
        _REGISTRY.pop("contract_breaker", None)


def test_glm_outcome_effects_match_the_closed_form() -> None:
    """Without a trend the Poisson and logistic GLMs are saturated: the outcome-scale effect is the
    difference of the observed means, the model-scale one the log of their ratio / odds ratio."""
    from nof1.analysis.discrete_glm import binary_glm_hac, count_glm_hac

    for outcome_type, fn in (("count", count_glm_hac), ("binary", binary_glm_hac)):
        p = protocol(outcome_type)
        y = values(outcome_type, "typical")
        cond = np.array(p.allocation_days())
        used = np.tile(np.arange(1, PERIOD + 1), len(cond) // PERIOD) > WASHOUT
        mb, ma = y[used & (cond == "B")].mean(), y[used & (cond == "A")].mean()
        r = fn(trial(outcome_type, "typical"), "y", CONTRAST, ci_level=0.95, trend=False)
        e = r.outcome_effect()
        assert e.name == ("difference_per_day" if outcome_type == "count" else "risk_difference")
        assert e.estimate == pytest.approx(mb - ma, abs=1e-6)
        latent = (math.log(mb / ma) if outcome_type == "count"
                  else math.log(mb / (1 - mb)) - math.log(ma / (1 - ma)))
        assert r.effect.estimate == pytest.approx(latent, abs=1e-6)
        assert r.effect.scale.kind == "model"
