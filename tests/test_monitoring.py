"""Stopping rules (analysis.monitoring): validation, decisions and error rates by simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import nof1
from nof1.constants import VERDICT_BENEFIT, VERDICT_HARM
from nof1.errors import ProtocolError
from nof1.monitoring import (
    DEFAULT_RULE,
    approx_predictive,
    evaluate_monitoring,
    look_pairs,
    pair_end_days,
    threshold_decision,
)
from nof1.plan_keys import Monitoring
from nof1.protocol import Decision


def six_pairs(**analysis) -> nof1.Protocol:
    return nof1.Protocol.model_validate({
        "schema_version": 1, "id": "six", "title": "Six pairs",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Active", "role": "treatment"}},
        "design": {"period_days": 7, "randomization": {"scheme": "pairs", "pairs": 6, "seed": 3}},
        "outcomes": [{"name": "y", "type": "continuous", "range": [0, 10], "better": "lower",
                      "mcid": 1.0, "role": "primary"}],
        "analysis": {"carryover": "none", "trend": False, **analysis},
    })


def test_naive_peeking_inflates_the_false_positive_rate_and_the_rule_does_not() -> None:
    """At a true effect of 0: 'stop as soon as the 95% interval excludes 0, look after every pair'
    claims an effect far more often than the same interval read once at the end; the default
    rule's claims of meaningful benefit stay below 5% (and below the fixed design's + MC error)."""
    p = six_pairs()
    ev = evaluate_monitoring(p, sd=1.5, phi=0.4, sims=1500, seed=11, null_only=True)
    z = ev.null
    n = 1500
    fixed_any = z["fixed_interval"].any_effect_rate
    naive_any = z["naive"].any_effect_rate
    se = math.sqrt(naive_any * (1 - naive_any) / n + fixed_any * (1 - fixed_any) / n)
    assert 0.02 < fixed_any < 0.08              # the 95% interval read once: about 5%
    assert naive_any > 0.09 and naive_any - fixed_any > 4 * se   # six looks: inflated
    assert z["rule"].claim_rate <= 0.05
    assert z["rule"].claim_rate <= z["fixed"].claim_rate + 3 * math.sqrt(0.05 * 0.95 / n) + 0.01
    # the rule stops some trials early (futility) and never runs past the planned end
    assert z["rule"].expected_days < p.trial_days
    assert set(z["rule"].stopped_at) == {f"after pair {k}" for k in (2, 3, 4, 5)}
    s = ev.summary()
    assert list(s["rule"]) == ["fixed", "rule", "naive", "fixed_interval"]


def test_power_under_an_effect() -> None:
    p = six_pairs()
    ev = evaluate_monitoring(p, effect=-1.8, sd=1.5, phi=0.4, sims=400, seed=2)
    e = ev.effect
    assert e is not None
    # stopping early for efficacy shortens the trial and loses little power
    assert e["rule"].expected_days < e["fixed"].expected_days
    assert e["rule"].claim_rate > 0.5 and e["rule"].claim_rate > e["fixed"].claim_rate - 0.1
    d = ev.to_dict()
    assert d["rule_source"] == "nof1's default rule" and d["scenario"]["looks_at_pairs"] == [2, 3, 4, 5, 6]


def test_look_pairs_and_days() -> None:
    assert look_pairs(Monitoring(min_pairs=2, every_pairs=2), 6) == [2, 4, 6]
    assert look_pairs(DEFAULT_RULE, 4) == [2, 3, 4]
    assert pair_end_days(nof1.load_protocol("protocols/beetroot-juice-rls.yaml")) == [42, 70, 98, 126]


def test_threshold_decision_order() -> None:
    dec = Decision()
    rule = Monitoring.model_validate({"efficacy": {"by": "posterior", "prob": 0.9},
                                      "futility": {"by": "posterior", "prob": 0.1},
                                      "harm": {"by": "posterior", "prob": 0.5}})
    assert threshold_decision(rule, {"prob_meaningful_benefit": 0.95, "prob_meaningful_harm": 0.0},
                              None, dec)[0] == "stop for efficacy"
    # meaningful harm not excluded: no efficacy stop
    assert threshold_decision(rule, {"prob_meaningful_benefit": 0.92, "prob_meaningful_harm": 0.06},
                              None, dec)[0] == "continue"
    assert threshold_decision(rule, {"prob_meaningful_benefit": 0.05, "prob_meaningful_harm": 0.6},
                              None, dec)[0] == "stop for harm"
    assert threshold_decision(rule, {"prob_meaningful_benefit": 0.05, "prob_meaningful_harm": 0.1},
                              None, dec) == ("stop for futility", "P(meaningful benefit) 0.05 < 0.1")
    with pytest.raises(ValueError, match="predictive"):
        threshold_decision(DEFAULT_RULE, {"prob_meaningful_benefit": 0.5, "prob_meaningful_harm": 0.0},
                           None, dec)


def test_approx_predictive_limits() -> None:
    dec = Decision()
    # all information in: the predictive probability is the indicator of the verdict
    mean, sd = np.array([-2.0, 0.0]), np.array([0.5, 0.5])
    p = approx_predictive(mean, sd, 1.0, mcid=1.0, better="lower", decision=dec)
    assert p[VERDICT_BENEFIT].tolist() == [1.0, 0.0]
    # symmetric in the direction of benefit
    q = approx_predictive(-mean, sd, 0.5, mcid=1.0, better="higher", decision=dec)
    r = approx_predictive(mean, sd, 0.5, mcid=1.0, better="lower", decision=dec)
    assert np.allclose(q[VERDICT_BENEFIT], r[VERDICT_BENEFIT]) and np.allclose(q[VERDICT_HARM], r[VERDICT_HARM])


def test_approx_predictive_against_simulated_completions() -> None:
    """The design-time approximation against the completions nof1 status simulates."""
    from nof1.data import TrialData
    from nof1.interim_analysis import predictive_verdicts

    p = six_pairs()
    rng = np.random.default_rng(8)
    u = np.array([1.0 if c == "B" else 0.0 for c in p.allocation_days()])
    diffs = []
    for i, eff in enumerate((-2.0, -1.2, -0.6, 0.0)):
        e = np.empty(u.size)
        e[0] = rng.standard_normal()
        for t in range(1, u.size):
            e[t] = 0.4 * e[t - 1] + math.sqrt(1 - 0.16) * rng.standard_normal()
        y = 5.0 + eff * u + 1.5 * e
        cut = 42  # three of six pairs
        td = TrialData.from_frame(p, pd.DataFrame({"day": np.arange(1, cut + 1), "y": y[:cut]}))
        sim = predictive_verdicts(td, today=cut, completions=400, seed=i)["probabilities"][VERDICT_BENEFIT]
        r = nof1.analyze(td, methods=["bayes"], seed=1).get("y", "bayes")
        ap = approx_predictive(np.array([r.extras["posterior_mean"]]), np.array([r.extras["posterior_sd"]]),
                               0.5, mcid=1.0, better="lower", decision=p.analysis.decision)[VERDICT_BENEFIT][0]
        diffs.append(abs(sim - ap))
    assert max(diffs) < 0.12, diffs


def test_protocol_keys_are_validated() -> None:
    base = six_pairs().model_dump(mode="json", exclude_defaults=True)
    base["analysis"]["monitoring"] = {"every_pairs": 0}
    with pytest.raises(ValueError, match="every_pairs"):
        nof1.Protocol.model_validate(base)
    base["analysis"]["monitoring"] = {"efficacy": {"by": "posterior", "prob": 1.5}}
    with pytest.raises(ValueError, match="prob"):
        nof1.Protocol.model_validate(base)
    base["analysis"].pop("monitoring")
    base["analysis"]["prior"] = {"evidence": {"bp": {"effect_mean": -4.4, "effect_sd": 4,
                                                     "source": "Siervo et al. 2013"}}}
    with pytest.raises(ValueError, match="'bp' is not an outcome"):
        nof1.Protocol.model_validate(base)
    base["analysis"]["prior"] = {"evidence": {"y": {"effect_mean": -4.4, "effect_sd": 4}}}
    with pytest.raises(ValueError, match="source"):
        nof1.Protocol.model_validate(base)


def test_bundled_protocols_state_their_evidence() -> None:
    p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")
    ev = p.analysis.prior.evidence["systolic_bp"]
    assert (ev.effect_mean, ev.effect_sd) == (-4.4, 4.0) and "Siervo" in ev.source and "J Nutr 143:818" in ev.source
    assert "severity" not in p.analysis.prior.evidence       # no published effect on RLS severity
    assert p.analysis.monitoring is not None
    with pytest.raises(ProtocolError):
        nof1.load_protocol(__file__)
