"""Dask helpers: per-person fits and design sweeps give the same results on a cluster as locally."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import nof1
from nof1.data import TrialData
from nof1.distributed import expand_grid, map_participants, run_design_sweep, task_seed
from nof1.pooling import series_from_trials

PROTOCOL = {
    "schema_version": 1, "id": "dask-test", "title": "Dask test",
    "conditions": {"A": {"label": "Placebo", "role": "control"},
                   "B": {"label": "Active", "role": "treatment"}},
    "design": {"period_days": 7, "randomization": {"scheme": "pairs", "pairs": 3, "seed": 1}},
    "outcomes": [{"name": "severity", "type": "continuous", "range": [0, 10], "better": "lower",
                  "mcid": 1.0, "role": "primary"}],
}


@pytest.fixture(scope="module")
def series() -> TrialData:
    p = nof1.Protocol.model_validate(PROTOCOL)
    allocations = p.allocations()
    trials = {}
    for i in range(5):
        start = dt.date(2026, 2, 1) + dt.timedelta(days=3 * i)
        log = nof1.simulate(p, effect=-1.0, sd=1.0, phi=0.2, seed=i, outcome="severity",
                            start=start, allocation=allocations[i % len(allocations)])
        trials[f"P{i}"] = TrialData.from_frame(p, log, start=start, allocation=allocations[i % len(allocations)])
    return series_from_trials(trials)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def person_fit(td: TrialData, *, seed: int, noise: float = 0.0) -> dict[str, float]:
    """A per-person 'fit' with a random step: mean difference plus a bootstrap-like draw."""
    rng = np.random.default_rng(seed)
    obs = td.outcome_frame("severity")
    diff = obs.loc[obs["condition"] == "B", "y"].mean() - obs.loc[obs["condition"] == "A", "y"].mean()
    boot = obs["y"].to_numpy()[rng.integers(0, len(obs), size=len(obs))].mean()
    return {"diff": float(diff), "boot": float(boot) + noise, "n": len(obs)}


def sweep_point(pairs: int, effect: float, *, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    draws = effect + rng.normal(0.0, 1.0 / np.sqrt(pairs), size=200)
    return {"power": float(np.mean(draws < -0.5)), "first": float(draws[0])}


def test_map_participants_equals_local_run(series, client) -> None:
    local = map_participants(person_fit, series, seed=3, noise=0.5)
    remote = map_participants(person_fit, series, client=client, seed=3, noise=0.5)
    assert list(local) == series.participants == list(remote)
    assert local == remote
    # seeds are per participant, not per worker or position: same seed, same result
    assert local["P0"]["boot"] != local["P1"]["boot"]
    again = map_participants(person_fit, series, seed=3, noise=0.5)
    assert again == local


def test_design_sweep_equals_local_run(client) -> None:
    grid = {"pairs": [2, 3, 4, 6], "effect": [-1.0, -0.5]}
    local = run_design_sweep(sweep_point, grid, seed=9)
    remote = run_design_sweep(sweep_point, grid, client=client, seed=9)
    pd.testing.assert_frame_equal(local, remote)
    assert list(local.columns) == ["pairs", "effect", "power", "first"]
    assert len(local) == 8 and local["first"].nunique() == 8
    # more pairs, more power (same effect)
    strong = local[local["effect"] == -1.0].sort_values("pairs")
    assert strong["power"].iloc[-1] >= strong["power"].iloc[0]


def test_sweep_with_non_mapping_results_and_list_grid() -> None:
    out = run_design_sweep(lambda n, seed: n * 2, [{"n": 1}, {"n": 5}], seed=1)
    assert out.to_dict("list") == {"n": [1, 5], "result": [2, 10]}
    assert expand_grid({"a": [1, 2], "b": ["x"]}) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    assert task_seed(1, "P0") == task_seed(1, "P0") != task_seed(2, "P0")


def test_pool_own_fits_on_a_cluster_match_local(series, client) -> None:
    local = nof1.pool(series, method="mixedlm", seed=4)
    remote = nof1.pool(series, method="mixedlm", seed=4, client=client)
    assert local.to_dict()["participants"] == remote.to_dict()["participants"]
