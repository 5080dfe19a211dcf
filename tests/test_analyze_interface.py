"""nof1.analyze with the classical methods: summary rows, interface JSON shape, bad input."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

import nof1
from nof1.data import TrialData
from nof1.protocol import Protocol

CLASSICAL = ["gls_ar1", "paired_periods", "randomization", "welch_naive", "nap", "tau"]


def make_protocol(design: dict[str, Any] | None = None) -> Protocol:
    return Protocol.model_validate({
        "schema_version": 1, "id": "demo", "title": "Demo",
        "conditions": {"A": {"label": "Placebo", "role": "control"}, "B": {"label": "Juice", "role": "treatment"}},
        "design": design or {"period_days": 7, "washout_days": 2,
                             "randomization": {"scheme": "pairs", "pairs": 4, "seed": 3}},
        "outcomes": [
            {"name": "severity", "type": "continuous", "range": [0, 10], "better": "lower", "mcid": 1.0,
             "role": "primary"},
            {"name": "sleep", "type": "continuous", "better": "higher"},
        ],
    })


def simulated_frame(p: Protocol, seed: int = 0, effect: float = -1.2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = p.trial_days
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = 0.4 * e[t - 1] + rng.normal(scale=0.9)
    treat = np.array(p.allocation_days()) == "B"
    return pd.DataFrame({"day": np.arange(1, n + 1), "severity": 5 + effect * treat + e,
                         "sleep": 6 + rng.normal(size=n)}).drop(index=[i for i in (3, 17, 40) if i < n])


def no_nan(obj: Any) -> bool:
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(no_nan(v) for v in obj.values())
    if isinstance(obj, list):
        return all(no_nan(v) for v in obj)
    return True


@pytest.fixture(scope="module")
def result() -> nof1.AnalysisResult:
    p = make_protocol()
    td = TrialData.from_frame(p, simulated_frame(p))
    return nof1.analyze(td, methods=CLASSICAL, seed=5)


def test_summary_one_row_per_outcome_and_method(result: nof1.AnalysisResult) -> None:
    s = result.summary()
    assert len(s) == 2 * len(CLASSICAL)
    assert s.groupby(["outcome", "method"]).size().eq(1).all()
    assert s["available"].all(), s.loc[~s["available"], "reason"].tolist()
    est = s.set_index(["outcome", "method"])
    assert est.loc[("severity", "gls_ar1"), "ci_low"] < est.loc[("severity", "gls_ar1"), "estimate"]


def test_to_dict_matches_interface_shape(result: nof1.AnalysisResult) -> None:
    d = result.to_dict()
    text = json.dumps(d, allow_nan=False)  # JSON-serialisable without NaN
    assert no_nan(json.loads(text))
    sev = d["outcomes"]["severity"]
    assert {"type", "better", "mcid", "role", "verdict", "methods"} <= set(sev)
    m = sev["methods"]
    for name in ("gls_ar1", "paired_periods", "welch_naive"):
        assert {"estimate", "ci_low", "ci_high", "ci_level", "p_value"} <= set(m[name])
    assert "phi" in m["gls_ar1"] and -0.99 <= m["gls_ar1"]["phi"] <= 0.99
    assert m["paired_periods"]["pairs"] == 4
    assert {"p_value", "n_allocations", "min_p_value"} <= set(m["randomization"])
    assert m["randomization"]["n_allocations"] == 16
    assert m["nap"]["scale"] == "nap" and m["tau"]["scale"] == "tau"
    assert "warning" in m["welch_naive"]
    assert result.get("severity", "gls_ar1").estimate < 0


def bad(td: TrialData, outcome: str = "severity") -> dict[str, nof1.MethodResult]:
    res = nof1.analyze(td, outcomes=[outcome], methods=CLASSICAL, seed=1)
    return {name: res.get(outcome, name) for name in CLASSICAL}


def assert_unavailable(results: dict[str, nof1.MethodResult], methods: list[str], words: str) -> None:
    for name in methods:
        r = results[name]
        assert not r.available, f"{name} should be unavailable"
        assert words in r.reason, f"{name}: {r.reason}"
        d = r.to_dict()
        assert d["available"] is False and d["reason"]
        json.dumps(d, allow_nan=False)


def test_too_few_days_in_a_condition() -> None:
    p = make_protocol()
    frame = simulated_frame(p)
    treat = np.array(p.allocation_days()) == "B"
    b_days = np.flatnonzero(treat) + 1
    candidates = [d for d in b_days if d % 7 == 4 and d in set(frame["day"])]
    keep_b = {candidates[0]}  # one B day (outside the washout) survives
    frame = frame[~frame["day"].isin(set(b_days) - keep_b)]
    r = bad(TrialData.from_frame(p, frame))
    assert_unavailable(r, ["gls_ar1", "welch_naive", "nap", "tau"], "has 1 usable day")
    assert_unavailable(r, ["paired_periods"], "at least 2 complete pairs")


def test_condition_never_taken() -> None:
    p = make_protocol()
    frame = simulated_frame(p)
    frame["condition"] = "A"  # the treatment was never taken
    td = TrialData.from_frame(p, frame)
    # a method on the days as logged (what was taken) cannot compare the conditions
    from nof1.analysis.base import registered_methods

    r = {name: registered_methods()[name].fit(td, p.outcome("severity"), ("B", "A"), ci_level=0.95,
                                              seed=1, washout_days=None) for name in CLASSICAL}
    assert_unavailable(r, ["gls_ar1", "welch_naive", "nap", "tau"], "never taken")
    assert_unavailable(r, ["paired_periods"], "at least 2 complete pairs")
    # the randomisation test is by design (intention to treat): it still runs on the schedule
    assert r["randomization"].available
    # nof1.analyze is as randomised (intention to treat): the methods compare the schedule's
    # conditions, and the adherence section counts every active day as a deviation
    res = nof1.analyze(td, outcomes=["severity"], methods=CLASSICAL, seed=1)
    assert res.get("severity", "gls_ar1").available
    counts = res.extras["adherence"]["by_condition"]["B"]
    assert counts["deviations"] == counts["days_logged"] > 0


def test_all_values_equal() -> None:
    p = make_protocol()
    frame = simulated_frame(p)
    frame["severity"] = 4.0
    assert_unavailable(bad(TrialData.from_frame(p, frame)), CLASSICAL,
                       "every value under Juice and Placebo is 4: there is no day-to-day variation")


def test_single_pair() -> None:
    p = make_protocol({"period_days": 7, "randomization": {"scheme": "pairs", "pairs": 1, "seed": 1}})
    r = bad(TrialData.from_frame(p, simulated_frame(p)))
    assert_unavailable(r, ["paired_periods"], "at least 2 complete pairs")
    rr = r["randomization"]  # 2 allocations: runs, but says it can never be significant
    assert rr.available and rr.extras["n_allocations"] == 2 and rr.p_value == 1.0
    assert any("cannot reach p < 0.05" in n for n in rr.notes)
    assert r["gls_ar1"].available


def test_fixed_sequence_for_randomization() -> None:
    p = make_protocol({"period_days": 7, "sequence": list("ABAB")})
    r = bad(TrialData.from_frame(p, simulated_frame(p)))
    assert_unavailable(r, ["randomization"], "fixed, not randomised")
    assert all(r[m].available for m in CLASSICAL if m != "randomization")
