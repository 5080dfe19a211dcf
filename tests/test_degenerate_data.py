"""Data with no variation: no method answers from it (issue 19, item 2).

A condition whose values do not vary (constant severity, B always 3 and A always 6, everything at
the bottom of the range) leaves nothing to estimate uncertainty from: every method is unavailable
with one plain reason, and no numpy warning reaches the user. The property test runs every
registered method over degenerate series and asserts that each is either unavailable with a plain
reason or has a finite interval of positive width.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nof1
from nof1.analysis.base import registered_methods
from nof1.data import TrialData
from nof1.protocol import Protocol

SEQUENCE = ["A", "B", "A", "B"]
PERIOD = 7


def _protocol(outcome_type: str = "continuous", randomized: bool = False, washout: int = 0) -> Protocol:
    rng: dict = {"randomization": {"scheme": "pairs", "pairs": 2, "seed": 3}} if randomized else {}
    out = {"name": "y", "type": outcome_type, "better": "lower", "mcid": 1, "role": "primary"}
    if outcome_type in ("continuous", "ordinal"):
        out["range"] = [0, 10]
    design = {"period_days": PERIOD, "washout_days": washout, **rng}
    if not randomized:
        design["sequence"] = SEQUENCE
    return Protocol.model_validate({
        "schema_version": 1, "id": "degenerate", "title": "Degenerate",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Juice", "role": "treatment"}},
        "design": design, "outcomes": [out]})


def _trial(p: Protocol, values: np.ndarray) -> TrialData:
    days = np.arange(1, p.total_days + 1)
    keep = ~np.isnan(values)
    return TrialData.from_frame(p, pd.DataFrame({"day": days[keep], "y": values[keep]}))


def _by_condition(p: Protocol, a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
    cond = np.array(p.allocation_days())
    y = np.zeros(cond.size)
    y[cond == "A"] = a
    y[cond == "B"] = b
    return y


def _quiet_analyze(td: TrialData, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = nof1.analyze(td, seed=1, engine="exact", **kwargs)
    numpy_warnings = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not numpy_warnings, [str(w.message) for w in numpy_warnings]
    return res


NUMPY_TEXT = re.compile(r"encountered in|must be a positive integer|array|shape|dtype|axis|"
                        r"singular matrix|Traceback|Error\b|\bnan\b|inf\b", re.IGNORECASE)


@pytest.mark.parametrize(("a", "b", "reason"), [
    (5.0, 5.0, "every value under Juice and Placebo is 5"),
    (0.0, 0.0, "every value under Juice and Placebo is 0"),
    (6.0, 3.0, "every value under Juice is 3 and every value under Placebo is 6"),
])
def test_constant_conditions_make_every_method_unavailable(a: float, b: float, reason: str) -> None:
    p = _protocol(randomized=True)
    res = _quiet_analyze(_trial(p, _by_condition(p, a, b)))
    methods = res.results["y"]["B-A"]
    assert set(methods) == {n for n, s in registered_methods().items()
                            if s.default and "continuous" in s.outcome_types}
    for r in methods.values():
        assert not r.available, r
        assert r.reason == f"{reason}: there is no day-to-day variation to estimate uncertainty from"
    assert res.verdict("y") is None


def test_one_constant_condition_is_enough_for_a_continuous_outcome() -> None:
    p = _protocol()
    b = np.random.default_rng(1).normal(4, 1, 14).round(1)
    res = _quiet_analyze(_trial(p, _by_condition(p, 6.0, b)))
    for r in res.results["y"]["B-A"].values():
        assert not r.available
        assert r.reason == ("every value under Placebo is 6: there is no day-to-day variation to "
                            "estimate uncertainty from")


def test_near_constant_relative_to_the_range_is_constant() -> None:
    p = _protocol()
    y = _by_condition(p, 6.0, 3.0) + np.random.default_rng(2).normal(0, 1e-9, p.total_days)
    res = _quiet_analyze(_trial(p, y), methods=["bayes", "gls_ar1"])
    for r in res.results["y"]["B-A"].values():
        assert not r.available and "to within" in r.reason and "is 6" in r.reason


def test_constant_after_the_washout_is_named_so() -> None:
    p = _protocol(washout=2)
    y = _by_condition(p, 6.0, np.random.default_rng(3).normal(4, 1, 14).round(1))
    cond = np.array(p.allocation_days())
    y[(cond == "A") & (np.arange(28) % PERIOD < 2)] = [5.0, 5.5, 4.5, 5.0]   # washout days vary
    r = _quiet_analyze(_trial(p, y), methods=["gls_ar1"]).get("y", "gls_ar1")
    assert not r.available
    assert r.reason.startswith("every value under Placebo after the 2-day washout is 6")


def test_direct_method_calls_go_through_the_same_check() -> None:
    from nof1.analysis.bayes import bayes
    from nof1.analysis.classical import gls_ar1

    p = _protocol()
    td = _trial(p, _by_condition(p, 5.0, 5.0))
    for fit in (bayes, gls_ar1):
        r = fit(td, "y", ("B", "A"), seed=1)
        assert not r.available and "no day-to-day variation" in r.reason


def test_a_safety_count_with_no_events_on_placebo_is_still_analysed() -> None:
    """Zero events under one condition is data for a count or binary outcome (no headache on
    placebo is the usual case): only when every compared condition is constant is it refused."""
    from nof1.analysis.degenerate import variation_problem

    p = _protocol("count")
    b = np.random.default_rng(4).poisson(2, 14).astype(float)
    assert variation_problem(_trial(p, _by_condition(p, 0.0, b)), "y", ("B", "A")) is None
    assert variation_problem(_trial(p, _by_condition(p, 0.0, 0.0)), "y", ("B", "A")) == (
        "every value under Juice and Placebo is 0: there is no day-to-day variation to estimate "
        "uncertainty from")


# --------------------------------------------------------------------------- the property
def _series(kind: str, seed: int, p: Protocol) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = p.total_days
    cond = np.array(p.allocation_days())
    if kind == "constant":
        return np.full(n, float(rng.integers(0, 11)))
    if kind == "two-valued":              # each day one of two values
        lo, hi = sorted(rng.choice(11, 2, replace=False).astype(float))
        return np.where(rng.random(n) < rng.uniform(0.05, 0.95), hi, lo)
    if kind == "condition-valued":        # one value per condition
        a, b = rng.integers(0, 11, 2).astype(float)
        return _by_condition(p, a, b)
    if kind == "range-bound":             # everything at a bound, or at both bounds
        return np.where(rng.random(n) < rng.choice([0.0, 0.5, 1.0]), 10.0, 0.0)
    if kind == "one-day":                 # one observed day per condition
        y = np.full(n, np.nan)
        for c in ("A", "B"):
            y[rng.choice(np.flatnonzero(cond == c))] = float(rng.integers(0, 11))
        return y
    y = np.round(rng.normal(5, 1.5, n), 1).clip(0, 10)   # "tiny-noise": one condition nearly constant
    y[cond == "A"] = 6.0 + rng.normal(0, 1e-8, int(np.sum(cond == "A")))
    return y


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["constant", "two-valued", "condition-valued", "range-bound", "one-day",
                             "tiny-noise"]),
       seed=st.integers(0, 2**31 - 1), randomized=st.booleans())
def test_property_degenerate_series(kind: str, seed: int, randomized: bool) -> None:
    """Every registered continuous method on degenerate series: unavailable with a plain reason,
    or finite numbers with an interval of positive width (or, for a test without an interval, a
    p-value in (0, 1])."""
    p = _protocol(randomized=randomized)
    names = [n for n, s in registered_methods().items() if "continuous" in s.outcome_types]
    res = _quiet_analyze(_trial(p, _series(kind, seed, p)), methods=names)
    for name, r in res.results["y"]["B-A"].items():
        if not r.available:
            assert r.reason and not NUMPY_TEXT.search(r.reason), (name, r.reason)
            continue
        assert r.estimate is None or np.isfinite(r.estimate), (name, r)
        if r.ci_low is None and r.ci_high is None:
            assert r.p_value is not None and 0 < r.p_value <= 1, (name, r)
            continue
        assert np.isfinite(r.ci_low) and np.isfinite(r.ci_high), (name, r)
        assert r.ci_high > r.ci_low, (name, kind, r.ci_low, r.ci_high)
        assert r.ci_low <= r.estimate <= r.ci_high, (name, r)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outcome_type=st.sampled_from(["ordinal", "count", "binary"]),
       value=st.integers(0, 1), randomized=st.booleans())
def test_property_constant_discrete_outcomes(outcome_type: str, value: int, randomized: bool) -> None:
    """Constant ordinal/count/binary series: every method applying to the type (the PyMC
    Bayesian models included) is unavailable with the plain reason, without compiling a model."""
    p = _protocol(outcome_type, randomized=randomized)
    names = [n for n, s in registered_methods().items() if outcome_type in s.outcome_types]
    res = _quiet_analyze(_trial(p, np.full(p.total_days, float(value))), methods=names)
    for r in res.results["y"]["B-A"].values():
        assert not r.available
        assert r.reason == (f"every value under Juice and Placebo is {value}: there is no day-to-day "
                            "variation to estimate uncertainty from")
