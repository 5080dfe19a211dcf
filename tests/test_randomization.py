"""Randomisation test: SCRT conformance (start_points), brute force on small designs, Monte Carlo."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import nof1.analysis.randomization as rmod
from nof1.analysis.randomization import allocation_matrices, randomization
from nof1.data import TrialData
from nof1.protocol import Protocol

REF = Path(__file__).resolve().parent / "fixtures" / "reference"


def make_protocol(design: dict[str, Any], conditions: str = "AB", better: str = "lower") -> Protocol:
    conds = {k: {"label": f"cond {k}", "role": "control" if i == 0 else "treatment"}
             for i, k in enumerate(conditions)}
    return Protocol.model_validate({
        "schema_version": 1, "id": "test", "title": "Test", "conditions": conds, "design": design,
        "outcomes": [{"name": "y", "type": "continuous", "better": better, "mcid": 1.0, "role": "primary"},
                     {"name": "rating", "type": "ordinal", "range": [0, 4], "better": "higher"}],
    })


def scrt_protocol(limit: int) -> Protocol:
    return make_protocol({"total_days": 24, "sequence": list("ABAB"), "phase_starts": [7, 13, 19],
                          "randomization": {"scheme": "start_points", "min_phase_days": limit}})


# --------------------------------------------------------------------------- SCRT conformance
@pytest.fixture(scope="module")
def scrt() -> tuple[pd.DataFrame, dict]:
    data = pd.read_csv(REF / "scrt_abab_onghena1992.csv")
    refs = json.loads((REF / "references.json").read_text())["scrt_abab_onghena1992"]["results"]
    return data, refs


@pytest.mark.parametrize("limit", [3, 4, 5])
def test_scrt_abab_start_points(limit: int, scrt: tuple[pd.DataFrame, dict]) -> None:
    data, refs = scrt
    p = scrt_protocol(limit)
    ref = {r["statistic"]: r for r in refs if r["limit"] == limit}
    assert p.n_allocations == len(p.allocations()) == ref["A-B"]["n_assignments"]
    td = TrialData.from_frame(p, pd.DataFrame({"day": data["session"], "y": data["outcome"]}))
    for statistic, one, two in (("mean_difference", "A-B", "|A-B|"), ("phase_means", "PA-PB", "|PA-PB|")):
        r = randomization(td, "y", ("B", "A"), statistic=statistic)
        assert r.available, r.reason
        assert r.extras["exact"] is True
        assert r.extras["n_allocations"] == ref[one]["n_assignments"]
        assert r.extras["observed"] == pytest.approx(-ref[one]["observed"])  # ours is B - A
        # lower is better, so the one-sided p is SCRT's upper tail of A - B
        assert r.extras["n_as_extreme_one_sided"] == ref[one]["p_numerator"]
        assert r.extras["p_value_one_sided"] == pytest.approx(ref[one]["p_value"], abs=1e-12)
        assert r.p_value == pytest.approx(ref[two]["p_value"], abs=1e-12)
    # the higher-is-better tail is SCRT's "B-A"
    p_hi = make_protocol(p.design.model_dump(), better="higher")
    td_hi = TrialData.from_frame(p_hi, pd.DataFrame({"day": data["session"], "y": data["outcome"]}))
    r = randomization(td_hi, "y", ("B", "A"))
    assert r.extras["p_value_one_sided"] == pytest.approx(ref["B-A"]["p_value"], abs=1e-12)


def test_start_points_allocations_and_periods() -> None:
    p = scrt_protocol(4)
    allocs = p.allocations()
    assert len(allocs) == 165 and len(set(allocs)) == 165
    assert all(p._start_allocation_at(i) == a for i, a in enumerate(allocs))
    for a in allocs[:: 17]:
        lengths = [n for _, n in p.periods_for(a)]
        assert sum(lengths) == 24 and min(lengths) >= 4
        assert [c for c, _ in p.periods_for(a)] == list("ABAB")
    assert p.realised_allocation == (7, 13, 19)
    assert [n for _, n in p.periods_for()] == [6, 6, 6, 6]
    sample = p.sample_allocations(3000, seed=1)
    assert set(sample) <= set(allocs)
    assert p.sample_allocations(50, seed=2) == p.sample_allocations(50, seed=2)
    # long designs never enumerate: 553 million allocations, sampled and drawn instantly
    big = make_protocol({"total_days": 112, "sequence": list("ABABABAB"),
                         "randomization": {"scheme": "start_points", "min_phase_days": 7, "seed": 3}})
    assert big.n_allocations == 553_270_671
    starts = big.realised_allocation
    assert big._admissible_starts(starts)
    assert all(big._admissible_starts(a) for a in big.sample_allocations(20, seed=4))


def test_start_points_schedule_and_analysis_with_washout() -> None:
    p = make_protocol({"total_days": 30, "sequence": list("ABAB"), "washout_days": 2,
                       "randomization": {"scheme": "start_points", "min_phase_days": 5, "seed": 11}})
    sched = p.schedule()
    assert len(sched) == 30
    assert sched["pair"].tolist() == [1] * int((sched["period"] <= 2).sum()) + [2] * int((sched["period"] > 2).sum())
    y = np.random.default_rng(3).normal(size=30) - 1.0 * (sched["condition"] == "B").to_numpy()
    td = TrialData.from_frame(p, pd.DataFrame({"day": range(1, 31), "y": y}))
    r = randomization(td, "y", ("B", "A"))
    # brute force: every admissible start tuple, washout recomputed per allocation
    hits = 0
    allocs = p.allocations()
    obs = None
    stats = []
    for a in allocs:
        cond, dip = [], []
        for c, n in p.periods_for(a):
            cond += [c] * n
            dip += list(range(1, n + 1))
        cond, dip = np.array(cond), np.array(dip)
        use = dip > 2
        s = y[use & (cond == "B")].mean() - y[use & (cond == "A")].mean()
        stats.append(s)
        if a == p.realised_allocation:
            obs = s
    stats = np.array(stats)
    hits = int((np.abs(stats) >= abs(obs) - 1e-12).sum())
    assert r.extras["observed"] == pytest.approx(obs, abs=1e-12)
    assert r.p_value == pytest.approx(hits / len(allocs), abs=1e-12)
    assert r.extras["p_value_one_sided"] == pytest.approx(float((stats <= obs + 1e-12).mean()), abs=1e-12)


# --------------------------------------------------------------------------- brute force, pairs
def brute_force(y: np.ndarray, allocs: list[tuple], period_days: int, washout: int,
                observed: tuple, t: str = "B", c: str = "A") -> tuple[float, float, float]:
    stats = {}
    for a in allocs:
        cond = np.repeat(np.array(a), period_days)
        dip = np.tile(np.arange(1, period_days + 1), len(a))
        use = (dip > washout) & ~np.isnan(y)
        stats[a] = y[use & (cond == t)].mean() - y[use & (cond == c)].mean()
    obs = stats[observed]
    s = np.array(list(stats.values()))
    return obs, float((np.abs(s) >= abs(obs) - 1e-12).mean()), float((s <= obs + 1e-12).mean())


def test_three_pairs_brute_force_with_missing_days_and_washout() -> None:
    p = make_protocol({"period_days": 5, "sequence": list("BAABAB"), "washout_days": 1,
                       "randomization": {"scheme": "pairs", "pairs": 3}})
    allocs = p.allocations()
    assert len(allocs) == 8
    hand = [tuple(itertools.chain.from_iterable(x)) for x in itertools.product([("A", "B"), ("B", "A")], repeat=3)]
    assert sorted(allocs) == sorted(hand)
    rng = np.random.default_rng(8)
    y = rng.normal(size=30) - 0.8 * np.repeat(np.array(list("BAABAB")) == "B", 5)
    y[[2, 13, 14, 27]] = np.nan
    days = [d for d in range(1, 31) if not np.isnan(y[d - 1])]
    td = TrialData.from_frame(p, pd.DataFrame({"day": days, "y": y[np.array(days) - 1]}))
    r = randomization(td, "y", ("B", "A"))
    obs, p2, p1 = brute_force(y, hand, 5, 1, tuple("BAABAB"))
    assert r.extras["observed"] == pytest.approx(obs, abs=1e-12)
    assert r.p_value == pytest.approx(p2, abs=1e-12)
    assert r.extras["p_value_one_sided"] == pytest.approx(p1, abs=1e-12)
    assert r.extras["n_allocations"] == 8
    # with missing days the mirror allocation is no longer an exact mirror of the statistic
    assert r.extras["min_p_value_one_sided"] == pytest.approx(1 / 8)
    assert r.extras["min_p_value"] >= 1 / 8


def test_min_p_value_complete_data_pairs() -> None:
    p = make_protocol({"period_days": 3, "sequence": list("ABBAAB"),
                       "randomization": {"scheme": "pairs", "pairs": 3}})
    y = np.arange(18.0) % 5
    td = TrialData.from_frame(p, pd.DataFrame({"day": range(1, 19), "y": y}))
    r = randomization(td, "y", ("B", "A"))
    assert r.extras["min_p_value"] == pytest.approx(2 / 8)  # the mirror always ties in |stat|
    assert r.extras["min_p_value_one_sided"] == pytest.approx(1 / 8)
    assert r.p_value >= r.extras["min_p_value"]
    assert any("cannot reach p < 0.05" in n for n in r.notes)
    d = r.to_dict()
    assert {"p_value", "n_allocations", "min_p_value"} <= set(d)


def test_blocks_three_conditions_brute_force() -> None:
    p = make_protocol({"period_days": 4, "sequence": list("CABBCA"),
                       "randomization": {"scheme": "blocks", "blocks": 2}}, conditions="ABC")
    allocs = p.allocations()
    assert len(allocs) == 36
    rng = np.random.default_rng(5)
    y = rng.normal(size=24)
    td = TrialData.from_frame(p, pd.DataFrame({"day": range(1, 25), "y": y}))
    for contrast in (("B", "A"), ("C", "A"), ("C", "B")):
        r = randomization(td, "y", contrast)
        obs, p2, p1 = brute_force(y, allocs, 4, 0, tuple("CABBCA"), *contrast)
        assert r.p_value == pytest.approx(p2, abs=1e-12)
        assert r.extras["p_value_one_sided"] == pytest.approx(p1, abs=1e-12)


def test_allocation_matrices_equal_allocation_days() -> None:
    designs = [
        make_protocol({"period_days": 3, "sequence": list("ABBA"), "washout_days": 1,
                       "randomization": {"scheme": "pairs", "pairs": 2}}),
        make_protocol({"period_days": 2, "sequence": list("CABBCA"),
                       "randomization": {"scheme": "blocks", "blocks": 2}}, conditions="ABC"),
        scrt_protocol(5),
    ]
    for p in designs:
        allocs = p.allocations()
        codes, phase, wash, _ = allocation_matrices(p, allocs, p.design.washout_days)
        keys = list(p.conditions)
        for i, a in enumerate(allocs):
            assert [keys[k] for k in codes[i]] == p.allocation_days(a)
            dip = np.concatenate([np.arange(n) for _, n in p.periods_for(a)])
            assert (wash[i] == (dip < p.design.washout_days)).all()


# --------------------------------------------------------------------------- Monte Carlo
def test_monte_carlo_above_the_exact_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_protocol({"period_days": 2, "randomization": {"scheme": "pairs", "pairs": 8, "seed": 4}})
    rng = np.random.default_rng(1)
    y = rng.normal(size=32) - 0.7 * np.repeat(np.array(p.sequence) == "B", 2)
    td = TrialData.from_frame(p, pd.DataFrame({"day": range(1, 33), "y": y}))
    exact = randomization(td, "y", ("B", "A"))
    assert exact.extras["exact"] and exact.extras["n_allocations"] == 256
    monkeypatch.setattr(rmod, "MAX_EXACT_ALLOCATIONS", 100)
    monkeypatch.setattr(rmod, "MONTE_CARLO_ALLOCATIONS", 4000)
    mc = randomization(td, "y", ("B", "A"), seed=7)
    assert mc.extras["exact"] is False
    assert mc.extras["n_allocations"] == 4001 and mc.extras["n_allocations_possible"] == 256
    assert mc.p_value == pytest.approx(exact.p_value, abs=0.03)
    assert mc.p_value >= 1 / 4001 and mc.extras["min_p_value"] == pytest.approx(1 / 4001)
    assert randomization(td, "y", ("B", "A"), seed=7).p_value == mc.p_value
    assert any("Monte Carlo" in n for n in mc.notes)


# --------------------------------------------------------------------------- unavailable & types
def test_fixed_sequence_is_unavailable() -> None:
    p = make_protocol({"period_days": 7, "sequence": list("ABAB")})
    td = TrialData.from_frame(p, pd.DataFrame({"day": range(1, 29), "y": np.arange(28.0) % 3}))
    r = randomization(td, "y", ("B", "A"))
    assert not r.available and "fixed, not randomised" in r.reason
    assert r.to_dict()["available"] is False


def test_schedule_outside_the_scheme_is_unavailable() -> None:
    p = make_protocol({"period_days": 3, "randomization": {"scheme": "pairs", "pairs": 2, "seed": 1}})
    td = TrialData.from_frame(p, pd.DataFrame({"day": range(1, 13), "y": np.arange(12.0)}),
                              allocation=("A", "A", "B", "B"))
    r = randomization(td, "y", ("B", "A"))
    assert not r.available and "could have produced" in r.reason


def test_unknown_statistic_and_ordinal_outcome() -> None:
    p = make_protocol({"period_days": 3, "randomization": {"scheme": "pairs", "pairs": 3, "seed": 1}})
    rng = np.random.default_rng(2)
    td = TrialData.from_frame(p, pd.DataFrame({"day": range(1, 19), "y": rng.normal(size=18),
                                               "rating": rng.integers(0, 5, size=18)}))
    assert "unknown statistic" in randomization(td, "y", ("B", "A"), statistic="median").reason
    r = randomization(td, "rating", ("B", "A"))
    assert r.available and r.extras["direction"] == "B higher than A"
