"""The registered ``bayes`` method: extras, carryover options, contrasts, verdict, save/reload."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import nof1
from nof1.analysis.bayes import BayesFit, bayes, load_fit, model_priors, series_data
from nof1.analysis.core import verdict
from nof1.constants import VERDICT_BENEFIT, VERDICT_HARM, VERDICT_INCONCLUSIVE, VERDICT_NO_EFFECT
from nof1.data import TrialData
from nof1.models.exposure import exposure
from nof1.protocol import Decision, Protocol


def make_protocol(sequence=("A", "B", "A", "B"), period_days=14, conditions=("A", "B"), *,
                  analysis=None, run_in=0, weekly=False) -> Protocol:
    conds = {c: {"label": f"cond {c}", "role": "control" if i == 0 else "treatment"}
             for i, c in enumerate(conditions)}
    outcomes = [{"name": "severity", "type": "continuous", "range": [0, 10], "better": "lower",
                 "mcid": 1.0, "role": "primary"}]
    if weekly:
        outcomes.append({"name": "weekly_score", "type": "continuous", "range": [0, 40],
                         "better": "lower", "mcid": 4.0, "schedule": "weekly"})
    return Protocol.model_validate({
        "schema_version": 1, "id": "bayes-test", "title": "Bayes test",
        "conditions": conds,
        "design": {"period_days": period_days, "sequence": list(sequence), "washout_days": 4,
                   "run_in_days": run_in},
        "outcomes": outcomes,
        "analysis": analysis or {},
    })


def make_trial(protocol: Protocol, effects: dict[str, float], *, phi=0.4, tau=1.0, sd=1.0, seed=1,
               missing=0.0) -> TrialData:
    rng = np.random.default_rng(seed)
    sched = protocol.schedule()
    n = len(sched)
    y = np.full(n, 5.0)
    for c, eff in effects.items():
        u = (sched["condition"] == c).to_numpy(dtype=float)
        y += eff * exposure(u, tau)
    e = np.empty(n)
    e[0] = rng.standard_normal()
    for t in range(1, n):
        e[t] = phi * e[t - 1] + math.sqrt(1 - phi * phi) * rng.standard_normal()
    y = y + sd * e
    y[rng.uniform(size=n) < missing] = np.nan
    frame = pd.DataFrame({"day": sched["day"], "severity": y})
    if "weekly_score" in [o.name for o in protocol.outcomes]:
        ws = np.full(n, np.nan)
        dip = sched["day_in_period"].to_numpy()
        take = (dip % 7 == 0) & (sched["phase"] == "trial").to_numpy()
        ws[take] = 20 + 4 * y[take]
        frame["weekly_score"] = ws
    return TrialData.from_frame(protocol, frame)


@pytest.fixture(scope="module")
def trial() -> TrialData:
    return make_trial(make_protocol(), {"B": -1.5}, seed=3)


def test_bayes_result_contract(trial):
    res = nof1.analyze(trial, methods=["bayes"], seed=5)
    r = res.get("severity", "bayes")
    assert r.available and r.ci_low < r.estimate < r.ci_high and r.ci_level == 0.95
    x = r.extras
    for key in ("prob_benefit", "prob_meaningful_benefit", "prob_meaningful_harm", "prob_negligible",
                "posterior_mean", "posterior_sd", "tau", "phi", "prior", "engine", "carryover", "ppc"):
        assert key in x, key
    assert x["engine"] == "exact" and x["carryover"] == "model"
    assert set(x["tau"]) >= {"median", "ci"} and x["tau"]["ci"][0] < x["tau"]["median"] < x["tau"]["ci"][1]
    assert set(x["phi"]) >= {"median", "ci"}
    assert x["prior"]["effect"]["B - A"]["sd"] == 2.5 and x["prior"]["scale"]["width"] == 10.0
    assert 0 <= x["ppc"]["p_value"] <= 1
    pn = x["prob_negligible"] + x["prob_meaningful_benefit"] + x["prob_meaningful_harm"]
    assert pn == pytest.approx(1.0, abs=1e-9)
    assert r.ci_low < -1.5 < r.ci_high
    d = res.to_dict()["outcomes"]["severity"]
    assert d["verdict"] == verdict(dict(x), trial.protocol.analysis.decision)
    assert {"estimate", "ci_low", "ci_high", "prob_benefit", "prob_meaningful_benefit",
            "prob_meaningful_harm"} <= set(d["methods"]["bayes"])
    assert isinstance(r.fit, BayesFit)
    draws = r.fit.effect_draws()
    assert abs(draws.mean() - x["posterior_mean"]) < 0.1 * x["posterior_sd"]
    fm = r.fit.fitted_mean()
    assert list(fm.columns) == ["day", "mean", "low", "high"] and len(fm) == 56
    assert (fm["low"] <= fm["mean"]).all() and (fm["mean"] <= fm["high"]).all()
    post = r.fit.posterior
    assert float(post["posterior"]["effect"].mean()) == pytest.approx(float(draws.mean()))


@pytest.mark.parametrize("mode", ["model", "exclude", "none"])
def test_carryover_options(trial, mode):
    r = bayes(trial, "severity", ("B", "A"), seed=1, carryover=mode)
    assert r.available and r.extras["carryover"] == mode
    if mode == "model":
        assert r.extras["tau"]["fixed"] is False and r.extras["days_used"] == 56
    elif mode == "exclude":
        assert r.extras["tau"] == {"median": 0.0, "ci": [0.0, 0.0], "fixed": True}
        assert r.extras["days_used"] == 56 - 4 * 4 and r.extras["washout_days"] == 4
    else:
        assert r.extras["tau"]["fixed"] and r.extras["days_used"] == 56
    assert r.extras["prior"]["tau"]["distribution"] == ("log-normal" if mode == "model" else "fixed")


def test_protocol_settings_are_used():
    p = make_protocol(analysis={"carryover": "none", "prior": {"kind": "sceptical"}, "ci_level": 0.9})
    td = make_trial(p, {"B": -1.5}, seed=3)
    weak = bayes(td, "severity", ("B", "A"), seed=1, ci_level=0.9)
    assert weak.extras["prior"]["effect"]["B - A"]["sd"] == 1.0  # sceptical: sd = mcid
    assert weak.ci_level == 0.9 and weak.extras["carryover"] == "none"
    pri = model_priors(p, p.primary)
    assert pri.tau_fixed == 0.0 and pri.effect_sd == (1.0,)


def test_save_and_reload_round_trip(trial, tmp_path):
    r = bayes(trial, "severity", ("B", "A"), seed=11)
    path = r.fit.save(tmp_path / "fit.nc")
    back = load_fit(path)
    assert back.engine == "exact" and back.contrast == ("B", "A") and back.treatments == ["B"]
    assert back.attrs["protocol_fingerprint"] == trial.protocol.fingerprint
    assert back.attrs["data_hash"] == trial.data_hash and back.attrs["seed"] == 11
    assert back.attrs["versions"]["nof1"] == nof1.__version__ and "arviz" in back.attrs["versions"]
    s0, s1 = r.fit.summary(), back.summary()
    for k, v in s0.items():
        assert s1[k] == pytest.approx(v, rel=1e-12, abs=1e-12), k
    assert np.allclose(back.effect_draws(), r.fit.effect_draws())
    assert back.fitted_mean()["mean"].to_numpy() == pytest.approx(r.fit.fitted_mean()["mean"].to_numpy())


def test_three_conditions_and_pairwise_contrast():
    p = make_protocol(sequence=("A", "B", "C", "C", "A", "B", "B", "C", "A"), period_days=10,
                      conditions=("A", "B", "C"), analysis={"contrasts": [["B", "C"]]})
    td = make_trial(p, {"B": -1.5, "C": -0.5}, seed=2, sd=0.8)
    res = nof1.analyze(td, methods=["bayes"], seed=3)
    rb, rc, rbc = (res.get("severity", "bayes", k) for k in ("B-A", "C-A", "B-C"))
    assert rb.ci_low < -1.5 < rb.ci_high and rc.ci_low < -0.5 < rc.ci_high
    assert rbc.ci_low < -1.0 < rbc.ci_high
    assert rbc.extras["posterior_mean"] == pytest.approx(
        rb.extras["posterior_mean"] - rc.extras["posterior_mean"], abs=1e-9)
    assert rb.fit.tree is rbc.fit.tree  # one fit per outcome, viewed per contrast
    assert set(rb.extras["prior"]["effect"]) == {"B - A", "C - A"}


def test_unavailable_cases(trial):
    assert not bayes(trial, "severity", ("B", "Z"), seed=1).available
    assert not bayes(trial, "severity", ("B", "A"), seed=1, engine="stan").available
    p = make_protocol(sequence=("A", "B", "A", "B"))
    td = make_trial(p, {"B": -1.0}, seed=1)
    data = td.data.copy()
    data.loc[data["condition"] == "B", "severity"] = np.nan
    data.loc[data.index[15], "severity"] = 4.0
    td2 = TrialData(protocol=p, data=data)
    r = bayes(td2, "severity", ("B", "A"), seed=1)
    assert not r.available and "too few observed days on B" in r.reason


def test_weekly_outcome_goes_to_the_period_level_model():
    p = make_protocol(weekly=True)
    td = make_trial(p, {"B": -1.0}, seed=4)
    r = bayes(td, "weekly_score", ("B", "A"), seed=1)
    assert r.available and r.extras["engine"] == "period_level"


def test_trend_auto_and_missing_days():
    p = make_protocol(sequence=("A", "B") * 4, period_days=14, run_in=14)
    td = make_trial(p, {"B": -1.0}, seed=6, missing=0.1)
    r = bayes(td, "severity", ("B", "A"), seed=1)
    assert r.available and r.extras["trend"] is True  # 112 trial days > 84
    data, info = series_data(td, "severity")
    assert data.has_run_in_level and "trend" in data.nuisance_names
    assert info["run_in_days_used"] > 0 and "run_in_level" in r.fit.tree["posterior"]


def test_verdict_rules():
    d = Decision()
    assert verdict({"prob_meaningful_benefit": 0.85, "prob_meaningful_harm": 0.01,
                    "prob_negligible": 0.14}, d) == VERDICT_BENEFIT
    assert verdict({"prob_meaningful_benefit": 0.85, "prob_meaningful_harm": 0.06,
                    "prob_negligible": 0.09}, d) == VERDICT_INCONCLUSIVE
    assert verdict({"prob_meaningful_benefit": 0.05, "prob_meaningful_harm": 0.1,
                    "prob_negligible": 0.85}, d) == VERDICT_NO_EFFECT
    assert verdict({"prob_meaningful_benefit": 0.3, "prob_meaningful_harm": 0.25,
                    "prob_negligible": 0.45}, d) == VERDICT_HARM
    assert verdict({"prob_meaningful_benefit": 0.5, "prob_meaningful_harm": 0.1,
                    "prob_negligible": 0.4}, d) == VERDICT_INCONCLUSIVE
    assert verdict({"prob_meaningful_benefit": None, "prob_meaningful_harm": None}, d) is None


def test_import_nof1_does_not_import_pymc():
    code = ("import sys, nof1, nof1.analysis.bayes, nof1.models.bayes_pymc; "
            "assert 'pymc' not in sys.modules and 'pytensor' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
