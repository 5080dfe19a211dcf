"""More than two conditions, end to end: schedule, simulate, ingest, analyse, randomise, pool."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

import nof1
from nof1.analysis import contrasts_for, registered_methods
from nof1.data import TrialData
from nof1.pooling import series_from_trials
from nof1.schedule import build_schedule

ROOT = Path(__file__).resolve().parents[1]
THREE_ARM = {
    "schema_version": 1, "id": "three-arm-test", "title": "Placebo, citrulline, arginine",
    "conditions": {"A": {"label": "Placebo", "role": "control"},
                   "B": {"label": "Citrulline", "role": "treatment"},
                   "C": {"label": "Arginine", "role": "treatment"}},
    "design": {"period_days": 7, "randomization": {"scheme": "blocks", "blocks": 3, "seed": 42},
               "washout_days": 2, "start_date": "2026-03-02", "run_in_days": 7},
    "outcomes": [{"name": "severity", "type": "continuous", "range": [0, 10], "better": "lower",
                  "mcid": 1.0, "role": "primary"}],
    "analysis": {"carryover": "model", "contrasts": [["C", "B"]]},
}
EFFECTS = {"B": -1.0, "C": -2.0}
TRUE = {"B-A": -1.0, "C-A": -2.0, "C-B": -1.0}
#: Simulation seed of the single trial. gls_ar1 covers all three true contrasts for 26 of seeds
#: 0-29 (marginal coverage 0.93-0.97); this test asserts coverage, so it uses one of those seeds.
SIM_SEED = 0


@pytest.fixture(scope="module")
def protocol() -> nof1.Protocol:
    return nof1.Protocol.model_validate(THREE_ARM)


@pytest.fixture(scope="module")
def analysed(protocol):
    log = nof1.simulate(protocol, effect=EFFECTS, sd=1.0, phi=0.3, carryover_days=1.0,
                        baseline=5.0, seed=SIM_SEED)
    td = nof1.read_log(log, protocol)
    return td, nof1.analyze(td, seed=7)


def test_blocks_schedule_and_allocations(protocol) -> None:
    seq = protocol.sequence
    assert len(seq) == 9
    for b in range(3):
        assert sorted(seq[3 * b: 3 * b + 3]) == ["A", "B", "C"]
    assert protocol.n_allocations == math.factorial(3) ** 3 == len(protocol.allocations())
    assert seq in set(protocol.allocations())
    sched = build_schedule(protocol)
    trial = sched[sched["phase"] == "trial"]
    assert len(sched) == 7 + 63 and set(trial["condition"]) == {"A", "B", "C"}
    assert list(trial.groupby("pair")["condition"].nunique()) == [3, 3, 3]
    assert int(trial["washout"].sum()) == 9 * 2
    # any allocation the scheme allows gives a schedule of the same shape
    other = protocol.allocations()[100]
    assert list(build_schedule(protocol, allocation=other)["condition"].iloc[7::7]) == list(other)


def test_contrasts_are_each_treatment_vs_control_then_requested(protocol) -> None:
    assert contrasts_for(protocol) == [("B", "A"), ("C", "A"), ("C", "B")]


def test_simulated_log_has_three_conditions_and_true_effects(protocol) -> None:
    log = nof1.simulate(protocol, effect=EFFECTS, sd=1.0, phi=0.3, seed=2)
    assert set(log["condition"].dropna()) == {"A", "B", "C"}
    assert log.attrs["nof1_simulation"]["outcomes"]["severity"]["effect"] == EFFECTS


def test_analyze_reports_every_contrast_for_every_registered_method(analysed) -> None:
    td, res = analysed
    assert td.report.usable
    methods = [n for n, s in registered_methods().items() if s.default and "continuous" in s.outcome_types]
    by_contrast = res.results["severity"]
    assert list(by_contrast) == ["B-A", "C-A", "C-B"]
    for label in by_contrast:
        assert set(methods) <= set(by_contrast[label])
    doc = res.to_dict()["outcomes"]["severity"]
    assert set(doc["contrasts"]) == {"B-A", "C-A", "C-B"}


def test_gls_recovers_the_three_contrasts(analysed) -> None:
    _, res = analysed
    est = {}
    for label, truth in TRUE.items():
        r = res.get("severity", "gls_ar1", label)
        assert r.available and r.ci_level == 0.95
        assert r.ci_low < truth < r.ci_high, (label, r.ci_low, r.ci_high)
        est[label] = r.estimate
    # the pairwise contrast is the difference of the two treatment contrasts (one model)
    assert math.isclose(est["C-B"], est["C-A"] - est["B-A"], abs_tol=0.05)


def test_paired_periods_uses_blocks(analysed) -> None:
    _, res = analysed
    for label in TRUE:
        r = res.get("severity", "paired_periods", label)
        assert r.available, r.reason
        assert r.extras.get("pairs") in (None, 3)


def test_randomization_test_uses_the_block_allocations(analysed, protocol) -> None:
    _, res = analysed
    for label in TRUE:
        r = res.get("severity", "randomization", label)
        assert r.available, r.reason
        assert r.extras["n_allocations"] == protocol.n_allocations == 216
        # the p-value of an exact test is a multiple of 1/216
        k = r.p_value * 216
        assert abs(k - round(k)) < 1e-6 and r.p_value >= r.extras["min_p_value"]


def test_bundled_three_arm_protocol() -> None:
    path = ROOT / "protocols" / "citrulline-arginine-rls.yaml"
    p = nof1.load_protocol(path)
    assert len(p.conditions) == 3 and p.scheme == "blocks"
    log = nof1.simulate(p, effect={t: -1.0 for t in p.treatments}, sd=1.5, phi=0.3, seed=1)
    td = nof1.read_log(log, p)
    methods = ["gls_ar1", "paired_periods", "randomization"]
    res = nof1.analyze(td, outcomes=[p.primary.name], methods=methods or None, seed=1)
    labels = {f"{t}-{p.control}" for t in p.treatments}
    assert labels <= set(res.results[p.primary.name])


# --------------------------------------------------------------------------- pooled, three arms
def _series(protocol: nof1.Protocol, n: int, seed: int) -> TrialData:
    rng = np.random.default_rng(seed)
    allocations = protocol.allocations()
    trials = {}
    for i in range(n):
        start = dt.date(2026, 1, 5) + dt.timedelta(days=int(rng.integers(0, 40)))
        alloc = allocations[int(rng.integers(0, len(allocations)))]
        eff = {"B": -1.0 + 0.3 * rng.normal(), "C": -2.0 + 0.3 * rng.normal()}
        log = nof1.simulate(protocol, effect=eff, sd=1.0, phi=0.3, carryover_days=1.0,
                            baseline=5.0, seed=int(rng.integers(2**31)), start=start,
                            allocation=alloc)
        trials[f"Q{i + 1}"] = TrialData.from_frame(protocol, log, start=start, allocation=alloc)
    return series_from_trials(trials)


def test_pooled_mixedlm_three_arms(protocol) -> None:
    td = _series(protocol, 5, 3)
    res = nof1.pool(td, method="mixedlm", seed=1)
    assert list(res.contrasts) == ["B-A", "C-A", "C-B"]
    pops = {k: cp.population["estimate"] for k, cp in res.contrasts.items()}
    assert math.isclose(pops["C-B"], pops["C-A"] - pops["B-A"], abs_tol=1e-10)
    for label, truth in TRUE.items():
        pop = res[label].population
        assert pop["ci_low"] - 0.5 < truth < pop["ci_high"] + 0.5
    doc = res.to_dict()
    assert set(doc["contrasts"]) == {"B-A", "C-A", "C-B"} and doc["contrast"] == "B-A"


@pytest.mark.slow
def test_pooled_bayes_three_arms(protocol) -> None:
    td = _series(protocol, 4, 4)
    res = nof1.pool(td, seed=2, draws=400, tune=300)
    assert list(res.contrasts) == ["B-A", "C-A", "C-B"]
    post = res.posterior["posterior"]
    assert {"between_corr", "between_cov", "beta_new"} <= set(post.data_vars)
    mu = post["mu"].values.reshape(-1, 2)
    cb = mu[:, 1] - mu[:, 0]
    assert math.isclose(res["C-B"].population["estimate"], float(np.median(cb)), rel_tol=1e-12)
    for label, truth in TRUE.items():
        pop = res[label].population
        assert pop["ci_low"] < truth < pop["ci_high"], label
    assert res.diagnostics["r_hat_max"] < 1.05
    assert "B~C" in res.to_dict()["model"]["between_corr"]
    pairs = list(itertools.combinations(["B-A", "C-A", "C-B"], 2))
    assert all(res[a].participants.keys() == res[b].participants.keys() for a, b in pairs)
