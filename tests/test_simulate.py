"""Simulator: large simulated batches checked against the model's formulas, and the log form."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nof1
from nof1 import Protocol, load_protocol
from nof1.data import TrialData
from nof1.models.exposure import exposure
from nof1.simulation import (
    SimulatedBatch,
    SimulationError,
    default_parameters,
    ordinal_cutpoints,
    ordinal_mean,
    simulate,
    simulate_batch,
)

ROOT = Path(__file__).resolve().parents[1]
BEETROOT = ROOT / "protocols" / "beetroot-juice-rls.yaml"


@pytest.fixture(scope="module")
def beetroot() -> Protocol:
    return load_protocol(BEETROOT)


def make_protocol(**design: object) -> Protocol:
    """A small two-condition protocol (pairs of 14-day periods, 7-day run-in)."""
    d = {"period_days": 14, "randomization": {"scheme": "pairs", "pairs": 3, "seed": 5},
         "run_in_days": 7, "washout_days": 3}
    d.update(design)
    return Protocol.model_validate({
        "schema_version": 1, "id": "sim", "title": "Sim",
        "conditions": {"A": {"label": "Control", "role": "control"},
                       "B": {"label": "Active", "role": "treatment"}},
        "design": d,
        "outcomes": [
            {"name": "y", "range": [0, 10], "better": "lower", "mcid": 1, "role": "primary"},
            {"name": "pain", "type": "ordinal", "range": [0, 4], "better": "lower"},
            {"name": "events", "type": "count", "better": "lower"},
            {"name": "flare", "type": "binary", "better": "lower"},
            {"name": "weekly", "range": [0, 40], "better": "lower", "schedule": "weekly"},
        ],
    })


def three_arm() -> Protocol:
    return Protocol.model_validate({
        "schema_version": 1, "id": "three", "title": "Three arms",
        "conditions": {"P": {"label": "Placebo", "role": "control"},
                       "C": {"label": "Citrulline", "role": "treatment"},
                       "R": {"label": "Arginine", "role": "treatment"}},
        "design": {"period_days": 10, "randomization": {"scheme": "blocks", "blocks": 3, "seed": 1},
                   "washout_days": 2},
        "outcomes": [{"name": "y", "better": "lower", "mcid": 1, "role": "primary"}],
    })


def lag1(r: np.ndarray) -> float:
    """Pooled lag-1 autocorrelation of mean-zero residual rows."""
    return float((r[:, 1:] * r[:, :-1]).sum() / np.sqrt((r[:, 1:] ** 2).sum() * (r[:, :-1] ** 2).sum()))


# ---------------------------------------------------------------- continuous: the formulas
def test_mean_difference_sd_and_autocorrelation_match_the_parameters(beetroot: Protocol) -> None:
    b = simulate_batch(beetroot, effect=-1.2, sd=1.5, phi=0.4, baseline=5.5, n=4000, seed=11,
                       allocations="random")
    assert isinstance(b, SimulatedBatch)
    assert b.y.shape == (4000, 112) and b.treat.shape == (4000, 112)
    assert b.day[0] == 15 and b.day[-1] == 126 and not b.run_in.any()
    # treatment minus control, all days (instant switch) and steady-state (non-washout) days
    assert b.difference(exclude_washout=False).mean() == pytest.approx(-1.2, abs=0.03)
    assert b.difference().mean() == pytest.approx(-1.2, abs=0.03)
    resid = b.y - (5.5 - 1.2 * b.treat)
    assert resid.std() == pytest.approx(1.5, rel=0.02)
    assert resid[:, 0].std() == pytest.approx(1.5, rel=0.05)      # stationary from day one
    assert resid[:, -1].std() == pytest.approx(1.5, rel=0.05)
    assert lag1(resid) == pytest.approx(0.4, abs=0.02)
    assert lag1(resid[:, ::2][:, :40]) == pytest.approx(0.16, abs=0.03)   # phi**2 at lag 2


@pytest.mark.parametrize("phi", [0.0, -0.3, 0.8])
def test_autocorrelation_over_a_range_of_phi(beetroot: Protocol, phi: float) -> None:
    b = simulate_batch(beetroot, effect=0.0, sd=2.0, phi=phi, n=2000, seed=3)
    assert lag1(b.y) == pytest.approx(phi, abs=0.025)
    assert b.y.std() == pytest.approx(2.0, rel=0.04)


def test_trend_is_per_calendar_day_from_the_first_day(beetroot: Protocol) -> None:
    b = simulate_batch(beetroot, effect=0.0, sd=1.0, trend=0.05, baseline=2.0, n=2000, seed=4,
                       include_run_in=True)
    assert b.day[0] == 1 and b.y.shape[1] == 126 and b.run_in[:14].all() and not b.run_in[14:].any()
    slope, intercept = np.polyfit(b.day - 1, b.y.mean(axis=0), 1)
    assert slope == pytest.approx(0.05, abs=0.002)
    assert intercept == pytest.approx(2.0, abs=0.05)


def test_carryover_onset_and_decay_follow_the_exposure_formula(beetroot: Protocol) -> None:
    tau, effect, base = 2.0, -2.0, 5.0
    b = simulate_batch(beetroot, effect=effect, sd=1.0, phi=0.3, carryover_days=tau, baseline=base,
                       n=6000, seed=21, allocations="random")
    treat, period, dip = b.full("treat"), b.full("period"), b.full("day_in_period")
    prev = np.full_like(treat, -1)
    prev[:, 14:] = treat[:, :-14]            # condition of the previous period (14-day periods)
    for k in (1, 2, 4, 8):
        on = (treat == 1) & (prev == 0) & (dip == k) & (period > 1)
        off = (treat == 0) & (prev == 1) & (dip == k)
        assert b.y[on].mean() == pytest.approx(base + effect * (1 - math.exp(-k / tau)), abs=0.06)
        assert b.y[off].mean() == pytest.approx(base + effect * math.exp(-k / tau), abs=0.06)
    # the true exposure array is the shared formula
    np.testing.assert_allclose(b.exposure[0], exposure(treat[0], tau))
    # the naive contrast on non-washout days is the same contrast of the true means
    keep = ~b.full("washout")
    mean = base + effect * b.exposure
    expected = np.mean([mean[i][keep[i] & (treat[i] == 1)].mean() - mean[i][keep[i] & (treat[i] == 0)].mean()
                        for i in range(200)])
    assert -2.0 < expected < -1.9                         # a little onset leaks past day 4
    assert b.difference().mean() == pytest.approx(expected, abs=0.03)


def test_missing_days_are_nan_at_the_given_rate(beetroot: Protocol) -> None:
    b = simulate_batch(beetroot, effect=-1.0, sd=1.0, missing=0.1, n=3000, seed=5)
    assert np.isnan(b.y).mean() == pytest.approx(0.1, abs=0.005)
    assert not np.isnan(simulate_batch(beetroot, effect=-1.0, sd=1.0, n=50, seed=5).y).any()


# ---------------------------------------------------------------- ordinal, count, binary
def test_ordinal_means_match_the_cumulative_logit_formula(beetroot: Protocol) -> None:
    assert ordinal_cutpoints(11).shape == (10,)
    assert float(ordinal_mean(0.0, 0, 10)) == pytest.approx(5.0)
    b = simulate_batch(beetroot, effect=1.0, sd=0.0, baseline=-0.5, n=2000, seed=6, outcome="headache")
    assert b.outcome_type == "ordinal"
    assert set(np.unique(b.y)) <= set(range(11))
    treat = b.full("treat")
    assert b.y[treat == 0].mean() == pytest.approx(float(ordinal_mean(-0.5, 0, 10)), abs=0.04)
    assert b.y[treat == 1].mean() == pytest.approx(float(ordinal_mean(0.5, 0, 10)), abs=0.04)
    # the effect is a log cumulative odds ratio: the same at every cut point
    for k in (1, 5, 8):
        p0, p1 = (b.y[treat == 0] <= k).mean(), (b.y[treat == 1] <= k).mean()
        log_or = math.log(p0 / (1 - p0)) - math.log(p1 / (1 - p1))
        assert log_or == pytest.approx(1.0, abs=0.06)
    # a latent AR(1) term (sd > 0): average the formula over eta ~ Normal(mu, sd)
    b2 = simulate_batch(beetroot, effect=0.0, sd=1.2, phi=0.5, baseline=-1.0, n=2000, seed=7,
                        outcome_type="ordinal")
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    expected = float((weights * ordinal_mean(-1.0 + 1.2 * nodes, 0, 10)).sum() / weights.sum())
    assert b2.y.mean() == pytest.approx(expected, abs=0.05)


def test_count_means_are_poisson_log_normal(beetroot: Protocol) -> None:
    b = simulate_batch(beetroot, effect=math.log(0.5), sd=0.0, baseline=math.log(3.0), n=2000,
                       seed=8, outcome_type="count")
    treat = b.full("treat")
    assert np.all(b.y == np.round(b.y)) and b.y.min() >= 0
    assert b.y[treat == 0].mean() == pytest.approx(3.0, rel=0.01)
    assert b.y[treat == 0].var() == pytest.approx(3.0, rel=0.03)           # Poisson: var = mean
    assert b.y[treat == 1].mean() / b.y[treat == 0].mean() == pytest.approx(0.5, rel=0.02)
    b2 = simulate_batch(beetroot, effect=0.0, sd=0.4, phi=0.3, baseline=0.5, n=2000, seed=9,
                        outcome_type="count")
    assert b2.y.mean() == pytest.approx(math.exp(0.5 + 0.4**2 / 2), rel=0.02)
    assert b2.y.var() > 1.3 * b2.y.mean()                                 # overdispersed


def test_binary_means_are_logistic(beetroot: Protocol) -> None:
    b = simulate_batch(beetroot, effect=1.0, sd=0.0, baseline=-1.0, n=2000, seed=10,
                       outcome_type="binary")
    treat = b.full("treat")
    assert set(np.unique(b.y)) == {0.0, 1.0}
    p0, p1 = b.y[treat == 0].mean(), b.y[treat == 1].mean()
    assert p0 == pytest.approx(1 / (1 + math.exp(1.0)), abs=0.01)
    assert p1 == pytest.approx(0.5, abs=0.01)
    assert math.log(p1 / (1 - p1)) - math.log(p0 / (1 - p0)) == pytest.approx(1.0, abs=0.05)


# ---------------------------------------------------------------- allocations, designs
def test_random_allocations_come_from_the_scheme(beetroot: Protocol) -> None:
    b = simulate_batch(beetroot, effect=0.0, sd=1.0, n=3200, seed=12, allocations="random")
    allocs = beetroot.allocations()
    assert len(b.allocations) == 3200 and b.allocation_index.shape == (3200,)
    counts = np.bincount(b.allocation_index, minlength=16)
    assert counts.min() > 140 and counts.max() < 260                        # about 200 each
    for i in (0, 1, 2, 3199):
        assert allocs[b.allocation_index[i]] == b.allocations[i]
        days = beetroot.allocation_days(b.allocations[i])
        assert b.treat[i].tolist() == [int(c == "B") for c in days]
    assert b.period.shape == (112,) and b.washout.shape == (112,)           # boundaries never move
    assert b.pair.tolist()[:28] == [1] * 28
    realised = simulate_batch(beetroot, effect=0.0, sd=1.0, n=10, seed=12)
    assert realised.treat.shape == (112,)
    assert set(realised.allocation_index.tolist()) == {allocs.index(beetroot.realised_allocation)}


def test_three_conditions_take_per_condition_effects() -> None:
    p = three_arm()
    b = simulate_batch(p, effect={"C": -1.0, "R": -0.5}, sd=1.0, phi=0.2, n=3000, seed=13,
                       allocations="random")
    assert b.conditions == ("P", "C", "R")
    assert b.exposure.shape == (3000, 2, 90)
    assert b.difference(treatment=1).mean() == pytest.approx(-1.0, abs=0.03)
    assert b.difference(treatment=2).mean() == pytest.approx(-0.5, abs=0.03)
    assert set(np.unique(b.treat)) == {0, 1, 2}
    assert (b.allocation_index >= 0).all() and b.allocation_index.max() < 6**3
    one = simulate_batch(p, effect=-0.7, sd=1.0, n=2000, seed=14)           # a number: every arm
    assert one.difference(treatment=1).mean() == pytest.approx(-0.7, abs=0.05)
    assert one.difference(treatment=2).mean() == pytest.approx(-0.7, abs=0.05)
    log = simulate(p, effect={"C": -2.0}, sd=1.0, seed=1, start="2027-01-04")
    truth = log.attrs["nof1_simulation"]["outcomes"]["y"]
    assert truth["effect"] == {"C": -2.0, "R": 0.0}
    assert set(log["condition"]) == {"P", "C", "R"}


def test_start_points_layouts_move_with_the_allocation() -> None:
    p = Protocol.model_validate({
        "schema_version": 1, "id": "sp", "title": "Start points",
        "conditions": {"A": {"label": "Rest", "role": "control"},
                       "B": {"label": "Exercise", "role": "treatment"}},
        "design": {"sequence": ["A", "B", "A", "B"], "total_days": 40, "washout_days": 1,
                   "randomization": {"scheme": "start_points", "min_phase_days": 7, "seed": 2}},
        "outcomes": [{"name": "y", "better": "lower", "mcid": 1, "role": "primary"}],
    })
    b = simulate_batch(p, effect=-1.0, sd=1.0, n=500, seed=15, allocations="random")
    assert b.treat.shape == (500, 40) and b.period.shape == (500, 40)
    assert b.difference().mean() == pytest.approx(-1.0, abs=0.05)
    allocs = p.allocations()
    for i in (0, 7, 499):
        assert allocs[b.allocation_index[i]] == b.allocations[i]
        assert b.treat[i].tolist() == [int(c == "B") for c in p.allocation_days(b.allocations[i])]


# ---------------------------------------------------------------- the log form
def test_log_has_the_user_format_and_round_trips(beetroot: Protocol) -> None:
    log = simulate(beetroot, effect={"severity": -1.2, "systolic_bp": -6.0},
                   sd={"severity": 1.5, "systolic_bp": 8.0},
                   baseline={"severity": 5.5, "systolic_bp": 128.0},
                   phi=0.4, carryover_days=1.5, missing=0.05, seed=2, resolution={"severity": 0.5})
    outcomes = [o.name for o in beetroot.outcomes]
    assert list(log.columns) == ["date", *outcomes, "condition", "period", "adherence", "note"]
    assert log["date"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    assert log["date"].iloc[0] == "2026-12-01"
    dropped = log.attrs["nof1_simulation"]["dropped_dates"]
    assert len(log) + len(dropped) == beetroot.total_days
    assert set(dropped).isdisjoint(log["date"])
    sev = log["severity"]
    assert (sev * 2 == (sev * 2).round()).all() and sev.between(0, 10).all()
    assert str(log["headache"].dtype) == "Int64" and str(log["awakenings"].dtype) == "Int64"
    assert log.loc[log["period"] == 0, "condition"].isna().all()
    assert (log.loc[log["period"] > 0, "adherence"] == 1.0).all()

    td = TrialData.from_frame(beetroot, log)
    assert td.report.defects == [] and td.report.rows_dropped == 0
    assert int(td.data["logged"].sum()) == len(log)
    logged = td.data[td.data["logged"]].reset_index(drop=True)
    np.testing.assert_allclose(logged["severity"], log["severity"])
    taken = logged.loc[logged["phase"] == "trial", "condition_taken"].tolist()
    assert taken == logged.loc[logged["phase"] == "trial", "condition"].tolist()


def test_log_round_trips_through_read_log(beetroot: Protocol, tmp_path: Path) -> None:
    from nof1.data import read_log

    log = simulate(beetroot, effect=-1.0, sd=1.5, phi=0.3, seed=3, missing=0.03, codes=True)
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    td = read_log(path, beetroot)
    assert [d for d in td.report.defects if d.severity != "info"] == []
    assert td.report.rows_read == len(log) and td.report.rows_dropped == 0
    assert int(td.data["logged"].sum()) == len(log)


def test_weekly_outcomes_are_blank_except_on_measure_days(beetroot: Protocol) -> None:
    log = simulate(beetroot, effect=-1.0, sd=1.5, seed=4)
    sched = beetroot.schedule()
    due = sched["day_in_period"].isin([7, 14]).to_numpy()
    assert log["irls"].notna().to_numpy().tolist() == due.tolist()
    assert log["severity"].notna().all()
    b = simulate_batch(beetroot, effect=-4.0, sd=4.0, baseline=20.0, n=5, seed=4, outcome="irls")
    observed = ~np.isnan(b.y)
    assert observed.sum(axis=1).tolist() == [16] * 5
    assert np.all(b.full("day_in_period")[observed] % 7 == 0)


def test_same_seed_same_output_and_other_seed_differs(beetroot: Protocol) -> None:
    kw = dict(effect=-1.2, sd=1.5, phi=0.4, carryover_days=1.5, missing=0.05)
    a, b = simulate(beetroot, seed=9, **kw), simulate(beetroot, seed=9, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert not simulate(beetroot, seed=10, **kw)["severity"].equals(a["severity"])
    x = simulate_batch(beetroot, n=200, seed=9, allocations="random", **kw)
    y = simulate_batch(beetroot, n=200, seed=9, allocations="random", **kw)
    np.testing.assert_array_equal(x.y, y.y)
    np.testing.assert_array_equal(x.treat, y.treat)
    # an outcome's values do not depend on which other outcomes are simulated
    alone = simulate(beetroot, seed=9, outcome="severity", **kw)
    assert list(alone.columns) == ["date", "severity", "condition", "period", "adherence", "note"]
    np.testing.assert_array_equal(alone["severity"].to_numpy(), a["severity"].to_numpy())


def test_participant_codes_start_and_allocation(beetroot: Protocol) -> None:
    alloc = ("A", "B") * 4
    log = simulate(beetroot, effect=-1.0, sd=1.0, seed=5, participant="P01", codes=True,
                   start="2027-02-01", allocation=alloc)
    assert log.columns[0] == "participant" and set(log["participant"]) == {"P01"}
    assert log["date"].iloc[0] == "2027-02-01"
    codes = beetroot.blinded_codes
    trial = log[log["period"] > 0]
    expected = [codes[c] for c in beetroot.allocation_days(alloc)]
    assert trial["condition"].tolist() == expected
    with pytest.raises(SimulationError, match="allocation"):
        simulate(beetroot, effect=-1.0, sd=1.0, seed=5, allocation=("A", "A") * 4)


def test_defaults_for_outcomes_without_parameters() -> None:
    p = make_protocol()
    assert default_parameters(p.outcome("y")) == {"baseline": 5.0, "sd": 1.0}
    assert default_parameters(p.outcome("pain")) == {"baseline": 0.0, "sd": 1.0}
    assert default_parameters(p.outcome("events"))["baseline"] == 0.0
    log = simulate(p, effect={"y": -1.0, "events": math.log(0.5)}, sd=1.0, seed=6)
    truth = log.attrs["nof1_simulation"]["outcomes"]
    assert truth["pain"]["effect"] == 0.0 and truth["weekly"]["baseline"] == 20.0
    assert truth["events"]["effect"] == pytest.approx(math.log(0.5))
    assert log["pain"].dropna().between(0, 4).all()
    assert set(log["flare"].dropna().unique()) <= {0, 1}


def test_invalid_parameters_raise_readable_errors(beetroot: Protocol) -> None:
    bad = [
        (dict(effect=-1.0, sd=1.0, phi=1.0), "phi"),
        (dict(effect=-1.0, sd=-1.0), "sd"),
        (dict(effect=-1.0, sd=1.0, missing=1.0), "missing"),
        (dict(effect={"nope": 1.0}, sd=1.0), "nope"),
        (dict(effect={"A": 1.0, "B": -1.0}, sd=1.0), "control"),
        (dict(effect=-1.0, sd=1.0, carryover_days=-2), "carryover_days"),
    ]
    for kwargs, word in bad:
        with pytest.raises(SimulationError, match=word):
            simulate(beetroot, seed=1, **kwargs)
    with pytest.raises(SimulationError, match="outcome"):
        simulate(beetroot, effect=-1.0, sd=1.0, seed=1, outcome="nope")
    with pytest.raises(SimulationError, match="n must"):
        simulate_batch(beetroot, effect=-1.0, sd=1.0, seed=1, n=0)
    with pytest.raises(SimulationError, match="does not match"):
        simulate_batch(beetroot, effect=-1.0, sd=1.0, seed=1, outcome="headache", outcome_type="count")
    with pytest.raises(ValueError):          # a SimulationError is also a ValueError
        simulate_batch(beetroot, effect=-1.0, sd=1.0, seed=1, allocations="all")


def test_public_name_is_the_function_in_any_import_order(beetroot: Protocol) -> None:
    import nof1.simulation as module

    assert nof1.simulate is module.simulate
    a = nof1.simulate(beetroot, effect=-1.0, sd=1.0, seed=1)
    b = module.simulate(beetroot, effect=-1.0, sd=1.0, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert nof1.simulate_batch is simulate_batch


# ---------------------------------------------------------------- bundled sample data
SAMPLE = ROOT / "data" / "sample"


def _load_sample_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_sample_data", SAMPLE / "make_sample_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sample_files_are_what_the_script_makes() -> None:
    built = _load_sample_script().build()
    assert set(built) == {"beetroot_log.csv", "beetroot_log_messy.csv", "planted_defects.json",
                          "series_log.csv", "true_parameters.json", "beetroot_app_export.csv"}
    for name, text in built.items():
        assert (SAMPLE / name).read_text(encoding="utf-8") == text, f"{name}: run `make sample-data`"
        assert len(text.encode()) < 100_000


def test_sample_log_matches_its_documented_truth(beetroot: Protocol) -> None:
    import json

    truth = json.loads((SAMPLE / "true_parameters.json").read_text())["beetroot_log"]
    log = pd.read_csv(SAMPLE / "beetroot_log.csv", dtype={"condition": "str", "note": "str"})
    assert len(log) == beetroot.total_days - 4
    assert set(truth["missing_dates"]).isdisjoint(log["date"])
    codes = beetroot.blinded_codes
    assert set(log["condition"].dropna()) == {codes["A"], codes["B"]}
    sched = beetroot.schedule().assign(date=lambda d: d["date"].dt.strftime("%Y-%m-%d"))
    merged = log.merge(sched[["date", "code"]], on="date")
    deviating = merged[(merged["condition"] != merged["code"]) & merged["code"].notna()]
    assert deviating["date"].tolist() == [truth["wrong_bottle"]["date"]]
    assert log["systolic_bp"].min() == 88 and (log["systolic_bp"] < 90).sum() == 1
    high = log.loc[log["headache"] >= 7, "date"].tolist()
    assert high == sorted(truth["headache_episode"])
    assert (log["severity"] * 2 % 1 == 0).all()
    # the log is clean: it aligns to the schedule with no defects
    td = TrialData.from_frame(beetroot, log.assign(condition=log["condition"].map(
        {v: k for k, v in codes.items()})))
    assert td.report.defects == [] and td.report.days_logged == 108


def test_planted_defects_point_at_their_lines() -> None:
    import json

    lines = (SAMPLE / "beetroot_log_messy.csv").read_text().split("\n")
    defects = json.loads((SAMPLE / "planted_defects.json").read_text())
    kinds = {d["kind"] for d in defects}
    assert {"comment_line", "blank_line", "unknown_column", "normalised_date", "exact_duplicate",
            "conflicting_duplicate", "non_numeric", "out_of_range", "non_integer",
            "unknown_condition"} <= kinds
    for d in defects:
        assert set(d) == {"line", "kind", "column", "description"}
        text = lines[d["line"] - 1]
        match d["kind"]:
            case "comment_line":
                assert text.startswith("#")
            case "blank_line":
                assert text == ""
            case "unknown_column":
                assert d["line"] == 1 and d["column"] in text.split(",")
            case "exact_duplicate":
                assert text == lines[d["line"] - 2]
            case "conflicting_duplicate":
                prev = lines[d["line"] - 2]
                assert text.split(",")[0] == prev.split(",")[0] and text != prev
            case "non_numeric":
                assert ",bad," in text
            case "out_of_range":
                assert ",14," in text
            case "non_integer":
                assert ",1.5," in text
            case "unknown_condition":
                assert ",Q," in text
            case "deviation":
                assert ",Y," in text or ",Z," in text
            case "normalised_date" | "time_shift":
                assert not pd.Series([text.split(",")[0]]).str.match(r"^\d{4}-\d{2}-\d{2}$").all()


def test_series_log_has_six_participants_with_their_own_schedules(beetroot: Protocol) -> None:
    import json

    truth = json.loads((SAMPLE / "true_parameters.json").read_text())["series_log"]
    series = pd.read_csv(SAMPLE / "series_log.csv", dtype={"condition": "str"})
    assert list(series.columns) == ["participant", "date", "severity", "irls", "condition", "period"]
    assert sorted(series["participant"].unique()) == [f"P0{i}" for i in range(1, 7)]
    allocs = {"".join(a) for a in beetroot.allocations()}
    for pid, g in series.groupby("participant"):
        t = truth["participants"][pid]
        assert g["date"].iloc[0] == t["start"]
        assert t["allocation"] in allocs
        assert len(g) + len(t["missing_dates"]) == beetroot.total_days
        seq = g[g["period"] > 0].groupby("period")["condition"].first()
        assert "".join(seq) == t["allocation"]


def test_parameter_dicts_may_name_outcomes_that_are_not_simulated(beetroot: Protocol) -> None:
    full = dict(effect={"severity": -1.0, "systolic_bp": -6.0}, sd={"severity": 1.0, "systolic_bp": 6.0},
                phi={"severity": 0.3, "systolic_bp": 0.2}, carryover_days={"severity": 1.0})
    log = simulate(beetroot, seed=1, outcome="severity", **full)
    truth = log.attrs["nof1_simulation"]["outcomes"]
    assert list(truth) == ["severity"] and truth["severity"]["phi"] == 0.3
    with pytest.raises(SimulationError, match="not outcomes of the protocol"):
        simulate(beetroot, seed=1, effect=-1.0, sd=1.0, phi={"nope": 0.2})


def test_model_inputs_give_the_exact_engines_calendar(beetroot: Protocol) -> None:
    """Without the run-in simulated (day 15 first), the treatment indicators are padded with
    zeros from day 1; washout days are missing only when asked."""
    b = simulate_batch(beetroot, effect=-1.0, sd=1.0, n=5, seed=2)
    y, u = b.model_inputs(exclude_washout=True)
    first = int(b.day[0])
    assert first == 15 and u.shape == (5, 1, b.n_days + first - 1)
    assert not u[:, :, : first - 1].any()
    assert np.array_equal(u[:, 0, first - 1:], (b.full("treat") == 1).astype(float))
    assert np.isnan(y[b.full("washout")]).all() and b.full("washout").any()
    y_all, _ = b.model_inputs(exclude_washout=False)
    assert np.array_equal(y_all, b.y, equal_nan=True)
