"""gls_ar1, paired_periods and welch_naive on TrialData: R/scipy agreement, washout, edge cases."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from nlme_reference import D1, D2, D3, R_REF  # datasets with gaps and nlme's numbers on them
from scipy import stats

from nof1.analysis.classical import (
    gls_ar1,
    paired_periods,
    period_means,
    residual_lag1_autocorrelation,
    usable_days,
    welch_naive,
)
from nof1.data import TrialData
from nof1.protocol import Protocol


def make_protocol(design: dict[str, Any], conditions: str = "AB", better: str = "lower",
                  **analysis: Any) -> Protocol:
    conds = {k: {"label": f"cond {k}", "role": "control" if i == 0 else "treatment"}
             for i, k in enumerate(conditions)}
    spec = {
        "schema_version": 1, "id": "test", "title": "Test", "conditions": conds, "design": design,
        "outcomes": [{"name": "y", "type": "continuous", "better": better, "mcid": 1.0, "role": "primary"}],
    }
    if analysis:
        spec["analysis"] = analysis
    return Protocol.model_validate(spec)


def trial(protocol: Protocol, day: list[int], y: list[float], **cols: Any) -> TrialData:
    return TrialData.from_frame(protocol, pd.DataFrame({"day": day, "y": y, **cols}))


@pytest.fixture(scope="module")
def td1() -> TrialData:
    p = make_protocol({"period_days": 7, "sequence": list("ABAB")})
    return trial(p, D1["day"], D1["y"])


@pytest.fixture(scope="module")
def td2() -> TrialData:
    """D2 with its washout days present but full of nonsense: they must be excluded."""
    p = make_protocol({"period_days": 6, "sequence": list("ABCBCA"), "washout_days": 2}, conditions="ABC")
    day = list(D2["day"])
    y = list(D2["y"])
    for d in range(1, 37):
        if (d - 1) % 6 < 2:
            day.append(d)
            y.append(100.0 + d)
    return trial(p, day, y)


@pytest.fixture(scope="module")
def td3() -> TrialData:
    p = make_protocol({"period_days": 5, "sequence": list("ABBAABBA"),
                       "randomization": {"scheme": "pairs", "pairs": 4}})
    return trial(p, D3["day"], D3["y"])


# --------------------------------------------------------------------------- gls_ar1
@pytest.mark.parametrize("name", ["D1", "D3"])
def test_gls_ar1_matches_nlme(name: str, td1: TrialData, td3: TrialData) -> None:
    td = td1 if name == "D1" else td3
    ref = R_REF[name]
    r = gls_ar1(td, "y", ("B", "A"), ci_level=0.95)
    assert r.available, r.reason
    assert r.estimate == pytest.approx(ref["beta"][1], abs=1e-5)
    assert (r.ci_low, r.ci_high) == pytest.approx(ref["ci_B"], abs=1e-5)
    assert r.p_value == pytest.approx(ref["p_B"], rel=1e-4)
    assert r.extras["phi"] == pytest.approx(ref["phi"], abs=1e-5)
    assert r.extras["sigma"] == pytest.approx(ref["sigma"], abs=1e-6)
    assert r.extras["df"] == ref["df"]
    assert r.extras["n_days"] == len(DATA_DAYS[name])
    assert r.extras["trend"] is False


DATA_DAYS = {"D1": D1["day"], "D3": D3["day"]}


def test_gls_ar1_three_conditions_trend_washout_and_pairwise(td2: TrialData) -> None:
    ref = R_REF["D2"]
    rb = gls_ar1(td2, "y", ("B", "A"), trend=True)
    assert rb.estimate == pytest.approx(ref["beta"][1], abs=1e-5)
    assert (rb.ci_low, rb.ci_high) == pytest.approx(ref["ci_B"], abs=1e-5)
    assert rb.extras["phi"] == pytest.approx(ref["phi"], abs=1e-5)
    assert rb.extras["n_days"] == 23  # washout days (with values of 100+) left out
    assert rb.extras["trend_per_day"] == pytest.approx(ref["beta"][3], abs=1e-6)
    rc = gls_ar1(td2, "y", ("C", "A"), trend=True)
    assert rc.estimate == pytest.approx(ref["beta"][2], abs=1e-5)
    rbc = gls_ar1(td2, "y", ("B", "C"), trend=True)
    assert rbc.estimate == pytest.approx(ref["B_minus_C"], abs=1e-5)
    assert (rbc.ci_low, rbc.ci_high) == pytest.approx(ref["ci_B_minus_C"], abs=1e-5)
    # with the washout kept, the nonsense values enter and the estimate changes
    assert gls_ar1(td2, "y", ("B", "A"), trend=True, washout_days=0).extras["n_days"] == 35


def test_gls_ar1_trend_auto_follows_trial_length() -> None:
    long = make_protocol({"period_days": 22, "sequence": list("ABAB")})  # 88 days > 84
    short = make_protocol({"period_days": 21, "sequence": list("ABAB")})
    rng = np.random.default_rng(4)
    for p, expected in ((long, True), (short, False)):
        n = p.trial_days
        td = trial(p, list(range(1, n + 1)), list(rng.normal(size=n)))
        assert gls_ar1(td, "y", ("B", "A")).extras["trend"] is expected
    no_trend = make_protocol({"period_days": 22, "sequence": list("ABAB")}, trend=False)
    td = trial(no_trend, list(range(1, 89)), list(rng.normal(size=88)))
    assert gls_ar1(td, "y", ("B", "A")).extras["trend"] is False
    assert gls_ar1(td, "y", ("B", "A"), trend=True).extras["trend"] is True


def test_gls_ar1_uses_condition_taken() -> None:
    p = make_protocol({"period_days": 7, "sequence": list("ABAB")})
    rng = np.random.default_rng(9)
    y = rng.normal(size=28)
    taken = ["A"] * 7 + ["B"] * 7 + ["A"] * 7 + ["B"] * 7
    taken[8] = "A"  # a deviation: A taken on a scheduled B day
    td = trial(p, list(range(1, 29)), list(y), condition=taken)
    r = gls_ar1(td, "y", ("B", "A"))
    assert r.extras["n_days_by_condition"] == {"A": 15, "B": 13}


# --------------------------------------------------------------------------- paired_periods
def test_paired_periods_matches_ttest_rel(td3: TrialData) -> None:
    r = paired_periods(td3, "y", ("B", "A"), ci_level=0.9)
    day = np.array(D3["day"])
    y = np.array(D3["y"])
    period = (day - 1) // 5
    seq = "ABBAABBA"
    means = {k: y[period == k].mean() for k in range(8)}
    b = [means[k] for k in range(8) if seq[k] == "B"]
    a = [means[k] for k in range(8) if seq[k] == "A"]
    # pairs are (0,1), (2,3), (4,5), (6,7): B and A periods in pair order
    tt = stats.ttest_rel(b, a)
    ci = tt.confidence_interval(0.9)
    assert r.estimate == pytest.approx(float(np.mean(np.subtract(b, a))), abs=1e-12)
    assert r.p_value == pytest.approx(tt.pvalue, abs=1e-12)
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert r.extras["pairs"] == 4 and r.extras["df"] == 3
    assert r.extras["pair_differences"] == pytest.approx(list(np.subtract(b, a)), abs=1e-12)
    assert r.notes == ()


def test_paired_periods_excludes_washout_and_deviations() -> None:
    p = make_protocol({"period_days": 7, "sequence": list("ABBAAB"), "washout_days": 3,
                       "randomization": {"scheme": "pairs", "pairs": 3}})
    rng = np.random.default_rng(12)
    y = rng.normal(size=42)
    taken = list("A" * 7 + "B" * 7 + "B" * 7 + "A" * 7 + "A" * 7 + "B" * 7)
    taken[40] = "A"  # deviation on day 41 (scheduled B)
    td = trial(p, list(range(1, 43)), list(y), condition=taken)
    r = paired_periods(td, "y", ("B", "A"))
    days = usable_days(td, "y", 3)
    assert (days["day_in_period"] > 3).all() and len(days) == 24
    keep = (np.arange(42) % 7 >= 3) & (np.arange(42) != 40)
    per = np.arange(42) // 7
    m = {k: y[keep & (per == k)].mean() for k in range(6)}
    assert r.extras["pair_differences"] == pytest.approx([m[1] - m[0], m[2] - m[3], m[5] - m[4]])
    assert r.extras["n_days"] == 23
    assert any("wide by nature" in n for n in r.notes)  # 3 pairs


def test_paired_periods_unavailable_cases() -> None:
    p = make_protocol({"period_days": 7, "sequence": list("ABA")})  # 3 periods: no complete pairs
    td = trial(p, list(range(1, 22)), list(np.arange(21.0)))
    r = paired_periods(td, "y", ("B", "A"))
    assert not r.available and "pairs" in r.reason
    p = make_protocol({"period_days": 7, "sequence": list("ABBA")})
    day = [d for d in range(1, 29) if not 22 <= d <= 28]  # period 4 entirely missing
    td = trial(p, day, list(np.random.default_rng(1).normal(size=len(day))))
    r = paired_periods(td, "y", ("B", "A"))
    assert not r.available
    assert "at least 2 complete pairs" in r.reason and "found 1 of 2" in r.reason
    assert r.to_dict()["pairs"] == 1


def test_period_means_table(td3: TrialData) -> None:
    table = period_means(usable_days(td3, "y", 0), ("B", "A"))
    assert list(table.columns) == ["pair", "treatment_mean", "control_mean", "difference"]
    assert table["pair"].tolist() == [1, 2, 3, 4]


# --------------------------------------------------------------------------- welch_naive
def test_welch_naive_matches_scipy(td1: TrialData) -> None:
    r = welch_naive(td1, "y", ("B", "A"), ci_level=0.95)
    cond = np.array(list(D1["cond"]))
    y = np.array(D1["y"])
    tt = stats.ttest_ind(y[cond == "B"], y[cond == "A"], equal_var=False)
    ci = tt.confidence_interval(0.95)
    assert r.estimate == pytest.approx(y[cond == "B"].mean() - y[cond == "A"].mean(), abs=1e-12)
    assert r.p_value == pytest.approx(tt.pvalue, abs=1e-12)
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert "autocorrelation" in r.extras["warning"]
    assert any("ignores autocorrelation" in n for n in r.notes)
    # lag-1 autocorrelation of within-condition residuals over consecutive days, by hand
    day = np.array(D1["day"])
    e = y - np.where(cond == "B", y[cond == "B"].mean(), y[cond == "A"].mean())
    pairs = [(i, i + 1) for i in range(len(day) - 1) if day[i + 1] - day[i] == 1]
    a = np.array([e[i] for i, _ in pairs])
    b = np.array([e[j] for _, j in pairs])
    expected = (a * b).sum() / math.sqrt((a * a).sum() * (b * b).sum())
    assert r.extras["residual_lag1_autocorrelation"] == pytest.approx(expected, abs=1e-12)


def test_residual_lag1_autocorrelation_edge_cases() -> None:
    assert residual_lag1_autocorrelation([1, 3, 5], [1.0, -1.0, 2.0]) is None
    assert residual_lag1_autocorrelation([1, 2], [0.0, 0.0]) is None
    assert residual_lag1_autocorrelation([2, 1, 3], [1.0, 1.0, 1.0]) == pytest.approx(1.0)


# --------------------------------------------------------------------------- unavailable
@pytest.mark.parametrize("method", [gls_ar1, paired_periods, welch_naive])
def test_unknown_or_identical_contrast(method: Any, td1: TrialData) -> None:
    assert "not declared" in method(td1, "y", ("Z", "A")).reason
    assert "two different" in method(td1, "y", ("A", "A")).reason


def test_washout_as_long_as_the_period_leaves_nothing(td1: TrialData) -> None:
    for method in (gls_ar1, welch_naive):
        r = method(td1, "y", ("B", "A"), washout_days=7)
        assert not r.available and "never taken on a usable day" in r.reason
    r = paired_periods(td1, "y", ("B", "A"), washout_days=7)
    assert not r.available and "found 0" in r.reason


def test_gls_ar1_sparse_measurements_note() -> None:
    p = make_protocol({"period_days": 14, "sequence": list("ABABABAB")})
    day = list(range(7, 113, 7))
    y = list(np.random.default_rng(3).normal(size=len(day)) - 1.0 * (np.array(day) - 1) // 14 % 2)
    r = gls_ar1(trial(p, day, y), "y", ("B", "A"), trend=False)
    assert r.available
    assert r.extras["phi_between_measurements"] == pytest.approx(r.extras["phi"] ** 7)
    assert any("every 7 days" in n for n in r.notes)
