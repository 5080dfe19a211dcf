"""Safety alerts day by day and the joint benefit–harm probability (synthetic data and draws)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from nof1.analysis.base import MethodResult
from nof1.analysis.core import AnalysisResult
from nof1.data import TrialData
from nof1.protocol import Protocol
from nof1.safety import BENEFIT_HARM_METHOD, SafetyAlert, benefit_harm, outcome_draws, safety_alerts


def protocol(**design: object) -> Protocol:
    return Protocol.model_validate({
        "schema_version": 1, "id": "s", "title": "Safety",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Drug", "role": "treatment"}},
        "design": {"period_days": 7, "sequence": ["A", "B", "A", "B"], "run_in_days": 2,
                   "start_date": "2026-12-01", **design},
        "outcomes": [
            {"name": "severity", "type": "continuous", "range": [0, 10], "better": "lower",
             "mcid": 1.0, "role": "primary"},
            {"name": "systolic_bp", "type": "continuous", "better": "higher", "mcid": 5.0,
             "role": "safety", "unit": "mmHg", "alert": {"below": 90, "consecutive_days": 2}},
            {"name": "nausea", "type": "binary", "better": "lower", "mcid": 0.1,
             "role": "safety", "alert": {"at_least": 1}},
            {"name": "weight", "type": "continuous", "better": "lower", "role": "safety",
             "schedule": "weekly", "alert": {"above": 80, "below": 60, "consecutive_days": 2}},
        ],
    })


def trial(p: Protocol, **columns: dict[int, float]) -> TrialData:
    days = np.arange(1, p.total_days + 1)
    frame = pd.DataFrame({"day": days, "severity": 5.0, "systolic_bp": 110.0, "nausea": 0.0})
    for name, values in columns.items():
        frame[name] = np.nan if name == "weight" else frame.get(name, np.nan)
        for day, v in values.items():
            frame.loc[frame["day"] == day, name] = v
    return TrialData.from_frame(p, frame)


def test_alerts_with_consecutive_days_and_gaps() -> None:
    p = protocol()
    # bp below 90 on days 3, 5, 6, 7, 9 (day 4 fine, day 8 missing): runs 1 | 3 | 1
    bp = {3: 85.0, 4: 95.0, 5: 88.0, 6: 89.0, 7: 80.0, 8: np.nan, 9: 85.0, 10: 90.0}
    td = trial(p, systolic_bp=bp, nausea={2: 1.0, 12: 1.0})
    alerts = safety_alerts(td)
    bp_alerts = [a for a in alerts if a.outcome == "systolic_bp"]
    assert [a.day for a in bp_alerts] == [6, 7]                  # 2nd and 3rd day of the run
    assert [a.consecutive for a in bp_alerts] == [2, 3]
    a = bp_alerts[0]
    assert a.date == dt.date(2026, 12, 6) and a.value == 89.0 and a.threshold == 90.0
    assert a.rule == "below" and "for 2 consecutive days" in a.message and "mmHg" in a.message
    assert a.condition == "A" and a.period == 1                # day 6 = trial day 4, period 1
    nausea = [a for a in alerts if a.outcome == "nausea"]
    assert [a.day for a in nausea] == [2, 12]                 # run-in days are checked too
    assert nausea[0].rule == "at_least" and nausea[0].condition is None
    assert [a.day for a in alerts] == sorted(a.day for a in alerts)
    d = a.to_dict()
    assert d["date"] == "2026-12-06" and d["rule"] == "below" and d["message"] == a.message


def test_threshold_boundaries() -> None:
    p = protocol()
    td = trial(p, systolic_bp={3: 90.0, 4: 90.0}, nausea={5: 0.99})
    assert safety_alerts(td) == []          # below is strict; at_least 1 not reached by 0.99


def test_weekly_outcome_counts_consecutive_measurements() -> None:
    p = protocol()
    # weight measured on day 7 of each 7-day period (days 9, 16, 23, 30 with 2 run-in days)
    td = trial(p, weight={9: 85.0, 16: 86.0, 23: 70.0, 30: 55.0})
    w = [a for a in safety_alerts(td) if a.outcome == "weight"]
    assert [(a.day, a.rule, a.consecutive) for a in w] == [(16, "above", 2)]
    assert "consecutive measurements" in w[0].message
    # a missed scheduled measurement breaks the run
    td2 = trial(p, weight={9: 85.0, 23: 86.0})
    assert [a for a in safety_alerts(td2) if a.outcome == "weight"] == []


def test_no_dates_and_no_safety_outcomes() -> None:
    p = protocol(start_date=None)
    td = trial(p, nausea={4: 1.0})
    (a,) = safety_alerts(td)
    assert a.date is None and a.to_dict()["date"] == "day 4"
    plain = Protocol.model_validate({
        "schema_version": 1, "id": "x", "title": "x",
        "conditions": {"A": {"label": "a", "role": "control"}, "B": {"label": "b", "role": "treatment"}},
        "design": {"period_days": 7, "sequence": ["A", "B"]},
        "outcomes": [{"name": "y", "better": "lower", "mcid": 1, "role": "primary"}]})
    frame = pd.DataFrame({"day": np.arange(1, 15), "y": 1.0})
    assert safety_alerts(TrialData.from_frame(plain, frame)) == []
    with pytest.raises(AttributeError):
        SafetyAlert(None, 1, "y", 1.0, 0.0, "above", "m").day = 2  # frozen


# --------------------------------------------------------------------------- benefit–harm
@dataclass
class DrawsFit:
    draws: np.ndarray

    def effect_draws(self, contrast_label: str | None = None) -> np.ndarray:
        return self.draws


@dataclass
class PosteriorFit:
    posterior: object


def result_with(p: Protocol, fits: dict[str, object],
                extras: dict[str, dict] | None = None) -> AnalysisResult:
    td = trial(p)
    results = {}
    for name, fit in fits.items():
        if fit is None:
            r = MethodResult.unavailable("bayes", name, ("B", "A"), "could not fit")
        else:
            r = MethodResult(method="bayes", outcome=name, contrast=("B", "A"), estimate=0.0,
                             ci_low=-1.0, ci_high=1.0, ci_level=0.95, fit=fit,
                             extras=(extras or {}).get(name, {}))
        results[name] = {"B-A": {"bayes": r}}
    return AnalysisResult(protocol=p, trial_data=td, results=results, seed=1)


def test_benefit_harm_from_independent_draws() -> None:
    import xarray as xr

    p = protocol()
    rng = np.random.default_rng(0)
    sev = rng.normal(-1.5, 0.6, 4000)          # better lower, mcid 1
    bp = rng.normal(-3.0, 3.0, 3000)           # better higher, mcid 5: harm when < -5
    nau = rng.normal(0.05, 0.05, 2000)         # better lower, mcid 0.1: harm when > 0.1
    wt = rng.normal(0.0, 1.0, 1000)            # no mcid: any increase is harm
    post = xr.DataTree.from_dict({"posterior": xr.Dataset(
        {"effect": (("chain", "draw"), bp.reshape(2, 1500))})})
    res = result_with(p, {"severity": DrawsFit(sev), "systolic_bp": PosteriorFit(post),
                          "nausea": DrawsFit(nau), "weight": DrawsFit(wt)})
    out = benefit_harm(res)
    assert out["available"] is True and out["contrast"] == "B-A"
    assert out["primary"] == "severity"
    assert out["safety_outcomes"] == ["systolic_bp", "nausea", "weight"]
    assert out["method"] == BENEFIT_HARM_METHOD and "independent" in out["method"]
    p1 = np.mean(sev <= -1.0)
    q = [np.mean(bp >= -5.0), np.mean(nau <= 0.1), np.mean(wt <= 0.0)]
    assert out["prob_primary_benefit"] == pytest.approx(p1)
    assert out["prob_no_harm"] == pytest.approx(dict(zip(out["safety_outcomes"], q, strict=True)))
    assert out["probability"] == pytest.approx(p1 * np.prod(q))
    # the product equals the share of independently paired draws (up to Monte Carlo error)
    m = 200_000
    paired = ((rng.choice(sev, m) <= -1) & (rng.choice(bp, m) >= -5)
              & (rng.choice(nau, m) <= 0.1) & (rng.choice(wt, m) <= 0))
    assert out["probability"] == pytest.approx(paired.mean(), abs=0.01)
    assert any("weight has no mcid" in n for n in out["notes"])
    assert outcome_draws(res.results["systolic_bp"]["B-A"]["bayes"], "B-A").shape == (3000,)


def test_benefit_harm_unavailable_when_draws_missing() -> None:
    p = protocol()
    rng = np.random.default_rng(1)
    ok = DrawsFit(rng.normal(size=100))
    res = result_with(p, {"severity": ok, "systolic_bp": None, "nausea": ok, "weight": ok})
    out = benefit_harm(res)
    assert out["available"] is False and out["probability"] is None
    assert "systolic_bp" in out["reason"] and "could not fit" in out["reason"]
    res2 = result_with(p, {"severity": ok, "nausea": ok, "weight": ok})
    assert "systolic_bp (safety) has no posterior for B-A: the bayes method was not run on it" in (
        benefit_harm(res2)["reason"])
    res3 = result_with(p, {"severity": PosteriorFit(None), "systolic_bp": ok, "nausea": ok,
                           "weight": ok})
    assert "no posterior draws" in benefit_harm(res3)["reason"]


def test_benefit_harm_uses_the_probabilities_the_results_report() -> None:
    """Where a result reports P(meaningful benefit/harm) (exact for the exact engine), that number
    is used, so the report shows one value per outcome; draws are the fallback."""
    p = protocol()
    rng = np.random.default_rng(3)
    sev = rng.normal(-1.5, 0.6, 4000)
    fits = {"severity": DrawsFit(sev), "systolic_bp": DrawsFit(rng.normal(0, 1, 4000)),
            "nausea": DrawsFit(rng.normal(0, 0.05, 4000)), "weight": DrawsFit(rng.normal(0, 1, 4000))}
    # weight has no mcid: a harm probability it reports is not the event needed (any worsening)
    res = result_with(p, fits, {"severity": {"prob_meaningful_benefit": 0.61},
                                "systolic_bp": {"prob_meaningful_harm": 0.25},
                                "weight": {"prob_meaningful_harm": 0.5}})
    out = benefit_harm(res)
    no_harm_nausea = float(np.mean(fits["nausea"].draws <= 0.1))
    no_harm_weight = float(np.mean(fits["weight"].draws <= 0.0))
    assert out["prob_primary_benefit"] == 0.61
    assert out["prob_no_harm"] == pytest.approx({"systolic_bp": 0.75, "nausea": no_harm_nausea,
                                                 "weight": no_harm_weight})
    assert out["probability"] == pytest.approx(0.61 * 0.75 * no_harm_nausea * no_harm_weight)
