"""Design evaluation: vectorised power against a slow, obviously correct loop, error rates,
monotonicity, design comparison, pilot-based assurance and the ``nof1 design`` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nof1
from nof1 import Protocol, load_protocol
from nof1.data import TrialData
from nof1.design import (
    DesignError,
    PilotEstimate,
    compare,
    compare_grid,
    default_alternatives,
    design_variant,
    estimate_pilot,
    evaluate,
)
from nof1.design_methods import (
    Context,
    analyse_bayes,
    analyse_gls,
    analyse_randomization,
    randomization_reference,
)
from nof1.simulation import simulate, simulate_batch

ROOT = Path(__file__).resolve().parents[1]
BEETROOT = ROOT / "protocols" / "beetroot-juice-rls.yaml"


@pytest.fixture(scope="module")
def beetroot() -> Protocol:
    return load_protocol(BEETROOT)


def small_protocol(pairs: int = 3, period: int = 7, washout: int = 1, run_in: int = 0,
                   carryover: str = "exclude", trend: bool | str = "auto") -> Protocol:
    """Two conditions, randomised pairs, a 0-10 primary outcome (mcid 1, lower is better)."""
    return Protocol.model_validate({
        "schema_version": 1, "id": "small", "title": "Small",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Active", "role": "treatment"}},
        "design": {"period_days": period, "randomization": {"scheme": "pairs", "pairs": pairs, "seed": 3},
                   "washout_days": washout, "run_in_days": run_in},
        "outcomes": [{"name": "severity", "range": [0, 10], "better": "lower", "mcid": 1.0,
                      "role": "primary"}],
        "analysis": {"carryover": carryover, "trend": trend},
    })


def _combined_se(a: float, b: float) -> float:
    return math.sqrt(a * a + b * b)


# --------------------------------------------------------------------------- vs the slow loop
def _has_bayes_method() -> bool:
    from nof1.analysis.base import registered_methods

    return "bayes" in registered_methods()


def _bayes_verdict_single(td: TrialData) -> str | None:
    """Verdict of one trial from the exact engine's single-series fit (used until the ``bayes``
    method is registered): the series is assembled from the TrialData, not from a batch."""
    from nof1.analysis.core import verdict
    from nof1.design_common import analysis_priors, trend_for
    from nof1.models.bayes_exact import SeriesData, fit_exact

    p = td.protocol
    o = p.primary
    d = td.data.sort_values("day")
    obs = d[d[o.name].notna()]
    u = (d["condition_taken"].astype(object) == "B").fillna(False).to_numpy(dtype=float)[None, :]
    series = SeriesData(y=obs[o.name].to_numpy(float), day=obs["day"].to_numpy(np.int64), u=u,
                        trend=trend_for(p), run_in_days=p.design.run_in_days)
    post = fit_exact(series, analysis_priors(p, o, n_treatments=1))
    return verdict(post.summary(better=o.better, mcid=o.mcid), p.analysis.decision)


def test_vectorised_power_matches_slow_loop() -> None:
    """simulate → TrialData → analyze, one trial at a time, agrees with the batched power
    (gls_ar1 on 200 trials; bayes, whose single fits are slower, on the first 80)."""
    p = small_protocol(pairs=3, period=7, washout=1, run_in=7)
    effect, sd, phi, n_slow = -1.6, 1.2, 0.3, {"gls_ar1": 200, "bayes": 80}
    fast = evaluate(p, effect=effect, sd=sd, phi=phi, sims=1500, seed=11,
                    methods=("bayes", "gls_ar1"))
    registered = _has_bayes_method()
    rng = np.random.default_rng(5)
    hits = {"bayes": 0, "gls_ar1": 0}
    for i in range(n_slow["gls_ar1"]):
        alloc = p.sample_allocations(1, int(rng.integers(2**31)))[0]
        log = simulate(p, effect=effect, sd=sd, phi=phi, seed=1000 + i, outcome="severity",
                       allocation=alloc)
        td = TrialData.from_frame(p, log, allocation=alloc, start=log.attrs["nof1_simulation"]["start"])
        with_bayes = i < n_slow["bayes"]
        methods = ["gls_ar1", "bayes"] if with_bayes and registered else ["gls_ar1"]
        res = nof1.analyze(td, outcomes=["severity"], methods=methods, seed=i)
        g = res.get("severity", "gls_ar1")
        hits["gls_ar1"] += bool(g.available and g.p_value < 0.05 and g.estimate < 0)
        if with_bayes:
            v = res.verdict("severity") if registered else _bayes_verdict_single(td)
            hits["bayes"] += v == "likely meaningful benefit"
    for method, k in hits.items():
        slow = k / n_slow[method]
        slow_se = math.sqrt(max(slow * (1 - slow), 1e-4) / n_slow[method])
        m = fast.methods[method]
        assert abs(m.power - slow) < 3 * _combined_se(m.power_se, slow_se), (method, m.power, slow)


def test_gls_and_randomization_match_the_methods_trial_by_trial(beetroot: Protocol) -> None:
    """Per trial, the batched gls_ar1 and randomisation test give the registered methods' numbers."""
    b = simulate_batch(beetroot, effect=-1.0, sd=1.5, phi=0.4, n=8, seed=4, allocations="random",
                       include_run_in=True, outcome="severity", baseline=5.0, missing=0.1)
    ctx = Context(protocol=beetroot, outcome=beetroot.primary, contrast_code=1, ci_level=0.95,
                   alpha=0.05)
    ctx.randomization_allocations, ctx.randomization_exact = randomization_reference(beetroot, 1)
    rand = analyse_randomization(b, ctx)
    gls = analyse_gls(b, ctx)
    for i in range(b.n):
        frame = pd.DataFrame({"day": b.day, "severity": b.y[i]}).dropna()
        td = TrialData.from_frame(beetroot, frame, allocation=b.allocations[i])
        res = nof1.analyze(td, outcomes=["severity"], methods=["randomization", "gls_ar1"], seed=1)
        r, g = res.get("severity", "randomization"), res.get("severity", "gls_ar1")
        assert rand.p_value[i] == pytest.approx(r.p_value, abs=1e-12)
        assert rand.estimate[i] == pytest.approx(r.extras["observed"], abs=1e-10)
        assert gls.estimate[i] == pytest.approx(g.estimate, abs=2e-3)
        assert gls.p_value[i] == pytest.approx(g.p_value, abs=2e-3)


# --------------------------------------------------------------------------- error rates
def test_false_positive_rates_near_nominal() -> None:
    p = small_protocol(pairs=6, period=7, washout=1)
    ev = evaluate(p, effect=0.0, sd=1.5, phi=0.4, sims=1000, seed=2, methods=("gls_ar1", "randomization"))
    for name in ("gls_ar1", "randomization"):
        m = ev.methods[name]
        assert m.power == m.fpr                      # effect 0: both batches are the same trials
        assert m.fpr <= 0.08, name                   # nominal one-sided 0.025 (two-sided 0.05 + direction)
    assert ev.methods["randomization"].min_p_value == pytest.approx(2 / 64)


def test_min_attainable_randomization_p(beetroot: Protocol) -> None:
    ev = evaluate(beetroot, effect=-3.0, sd=1.0, phi=0.2, sims=200, seed=1, methods=("randomization",))
    m = ev.methods["randomization"]
    assert m.min_p_value == pytest.approx(0.125)        # two-sided: 2 / 2**4 (the mirror allocation)
    assert m.min_p_value_one_sided == pytest.approx(0.0625)
    assert m.power == 0.0 and any("can never reach" in n for n in ev.notes)
    six = design_variant(beetroot, pairs=6)
    m6 = evaluate(six, effect=-3.0, sd=1.0, phi=0.2, sims=200, seed=1, methods=("randomization",))
    assert m6.methods["randomization"].min_p_value == pytest.approx(2 / 64)
    assert m6.methods["randomization"].power > 0.9


# --------------------------------------------------------------------------- monotonicity
def test_power_increases_with_effect_and_pairs() -> None:
    p = small_protocol(pairs=4, period=7, washout=1)
    powers = [evaluate(p, effect=e, sd=1.5, phi=0.3, sims=600, seed=3, methods=("gls_ar1",)).power("gls_ar1")
              for e in (-0.5, -1.0, -2.0)]
    assert powers[0] < powers[1] < powers[2]
    by_pairs = [evaluate(design_variant(p, pairs=k), effect=-1.0, sd=1.5, phi=0.3, sims=600, seed=3,
                         methods=("gls_ar1",)) for k in (2, 4, 8)]
    assert by_pairs[0].power("gls_ar1") < by_pairs[1].power("gls_ar1") < by_pairs[2].power("gls_ar1")
    widths = [e.methods["gls_ar1"].mean_ci_width for e in by_pairs]
    assert widths[0] > widths[1] > widths[2]


def test_bayes_power_increases_and_reports_verdict_shares() -> None:
    p = small_protocol(pairs=4, period=7, washout=1, carryover="model")
    lo = evaluate(p, effect=-1.5, sd=1.0, phi=0.3, sims=300, seed=4, methods=("bayes",))
    hi = evaluate(p, effect=-2.5, sd=1.0, phi=0.3, sims=300, seed=4, methods=("bayes",))
    b_lo, b_hi = lo.methods["bayes"], hi.methods["bayes"]
    assert b_lo.power < b_hi.power
    assert b_lo.mean_prob_meaningful_benefit < b_hi.mean_prob_meaningful_benefit
    assert b_hi.fpr <= 0.05
    assert sum(b_lo.verdict_shares.values()) == pytest.approx(1.0)
    assert b_lo.verdict_shares["likely meaningful benefit"] == pytest.approx(b_lo.power)


# --------------------------------------------------------------------------- compare
def test_compare_ranks_a_clearly_better_design_first(beetroot: Protocol) -> None:
    cmp = compare(beetroot, [{"period_days": 7, "pairs": 2}, {"period_days": 14, "pairs": 6}],
                  effect=-2.0, sd=1.5, phi=0.4, sims=120, seed=5, methods=("bayes", "gls_ar1"))
    t = cmp.table
    assert cmp.rank_by == "power_bayes"
    assert list(t["rank"]) == [1, 2]
    assert (t.iloc[0]["period_days"], t.iloc[0]["pairs"]) == (14, 6)
    assert t.iloc[0]["power_bayes"] > t.iloc[1]["power_bayes"]
    for col in ("period_days", "pairs", "washout_days", "run_in_days", "total_days", "power_bayes",
                "power_gls_ar1", "fpr_bayes", "fpr_gls_ar1", "mean_ci_width", "current"):
        assert col in t.columns
    json.dumps(cmp.to_dict())


def test_compare_at_one_mcid_ranks_by_gls_with_a_note(beetroot: Protocol) -> None:
    cmp = compare(beetroot, {"period_days": [14], "pairs": [2, 6]}, effect=-1.0, sd=1.5, phi=0.4,
                  sims=80, seed=5, methods=("bayes", "gls_ar1"))
    assert cmp.rank_by == "power_gls_ar1"
    assert any("cannot tell designs apart" in n for n in cmp.notes)
    assert cmp.table.iloc[0]["pairs"] == 6


def test_default_alternatives_and_variants(beetroot: Protocol) -> None:
    alts = default_alternatives(beetroot)
    bound = math.ceil(1.5 * beetroot.total_days)
    assert {"period_days": 14, "pairs": 4, "washout_days": 4, "run_in_days": 14} in alts
    for a in alts:
        v = design_variant(beetroot, **a)
        assert v.total_days <= bound
        assert v.design.washout_days < v.design.period_days
    v = design_variant(beetroot, period_days=7, pairs=6, washout_days=2, run_in_days=7)
    assert (v.design.period_days, v.n_periods, v.total_days, v.n_allocations) == (7, 12, 91, 64)
    with pytest.raises(DesignError, match="unknown design override"):
        design_variant(beetroot, periods=3)
    with pytest.raises(DesignError, match="not valid"):
        design_variant(beetroot, period_days=4)              # washout 4 >= period 4


# --------------------------------------------------------------------------- pilot / assurance
def test_pilot_assurance_differs_sensibly_from_point_power(beetroot: Protocol) -> None:
    log = simulate(beetroot, effect=-1.5, sd=1.5, phi=0.4, seed=11, outcome="severity")
    short = nof1.read_log(log[log["period"] == 0], beetroot)         # 14 run-in days
    est = estimate_pilot(short, beetroot)
    assert est.n_days == 14 and "run-in" in est.source
    assert est.sd_interval[0] < est.sd < est.sd_interval[1]
    assert est.phi_interval[0] < est.phi < est.phi_interval[1]
    point = evaluate(beetroot, effect=-2.0, sd=est.sd, phi=est.phi, sims=400, seed=1, methods=("gls_ar1",))
    assured = evaluate(beetroot, effect=-2.0, pilot=est, sims=400, seed=1, methods=("gls_ar1",))
    assert assured.assurance and not point.assurance
    assert assured.pilot is est
    assert any("assurance" in n for n in assured.notes)
    # high point power: uncertainty about sd and phi from 14 days pulls the expected power down
    assert point.power("gls_ar1") > 0.95
    assert assured.power("gls_ar1") < point.power("gls_ar1") - 0.03
    # a long pilot (the whole 126-day log) pins sd and phi down much more tightly
    long = estimate_pilot(nof1.read_log(log, beetroot), beetroot)
    assert long.n_days > 100
    assert (long.sd_interval[1] - long.sd_interval[0]) < 0.5 * (est.sd_interval[1] - est.sd_interval[0])
    assert abs(long.sd - 1.5) < 0.3 and abs(long.phi - 0.4) < 0.2
    json.dumps(assured.to_dict())


def test_pilot_inputs_and_errors(beetroot: Protocol) -> None:
    rng = np.random.default_rng(3)
    values = 5 + np.cumsum(rng.normal(0, 0.5, 30)) * 0.3
    est = estimate_pilot(values, beetroot, seed=1)
    assert isinstance(est, PilotEstimate) and est.n_days == 30
    with pytest.raises(DesignError, match="at least 7"):
        estimate_pilot([1.0, 2.0, 3.0], beetroot)
    with pytest.raises(DesignError, match="either a pilot or sd and phi"):
        evaluate(beetroot, sd=1.0, pilot=est, sims=10, seed=1)
    with pytest.raises(DesignError, match="sd and phi required"):
        evaluate(beetroot, sims=10, seed=1)
    with pytest.raises(DesignError, match="continuous"):
        evaluate(beetroot, sd=1.0, phi=0.2, sims=10, seed=1, outcome="awakenings")
    with pytest.raises(DesignError, match="unknown design method"):
        evaluate(beetroot, sd=1.0, phi=0.2, sims=10, seed=1, methods=("welch",))


# --------------------------------------------------------------------------- result objects
def test_evaluation_result_object(beetroot: Protocol) -> None:
    ev = evaluate(beetroot, sd=1.5, phi=0.4, sims=60, seed=9, methods=("gls_ar1", "randomization"))
    assert ev.scenario["effect"] == -1.0                       # one mcid in the benefit direction
    t = ev.summary()
    assert list(t["method"]) == ["gls_ar1", "randomization"]
    assert {"power", "power_se", "fpr", "fpr_se", "mean_ci_width", "min_p_value"} <= set(t.columns)
    d = ev.to_dict()
    assert d["protocol"]["id"] == beetroot.id and d["design"]["total_days"] == 126
    assert json.loads(json.dumps(d))["methods"]["gls_ar1"]["n_sims"] == 60
    same = evaluate(beetroot, sd=1.5, phi=0.4, sims=60, seed=9, methods=("gls_ar1", "randomization"))
    pd.testing.assert_frame_equal(t, same.summary())            # reproducible from the seed
    assert "gls_ar1" in str(ev)


# --------------------------------------------------------------------------- quadrature check
def test_compare_grid_agrees_with_batch_grid(beetroot: Protocol) -> None:
    """The documented accuracy check of the coarser grid used by compare()."""
    from nof1.models.bayes_exact import BATCH_GRID

    assert compare_grid() != BATCH_GRID
    b = simulate_batch(beetroot, effect=-1.5, sd=1.5, phi=0.4, carryover_days=1.0, n=150, seed=3,
                       allocations="random", include_run_in=True, outcome="severity", baseline=5.0)
    ctx = Context(protocol=beetroot, outcome=beetroot.primary, contrast_code=1, ci_level=0.95,
                   alpha=0.05)
    ref = analyse_bayes(b, ctx, grid=BATCH_GRID)
    fast = analyse_bayes(b, ctx, grid=compare_grid())
    d = np.abs(fast.prob_meaningful_benefit - ref.prob_meaningful_benefit)
    assert d.mean() < 2e-3 and d.max() < 0.02
    assert np.mean(fast.success != ref.success) <= 0.01
    assert np.abs(fast.ci_width - ref.ci_width).mean() < 0.02


# --------------------------------------------------------------------------- command line
def _run(args: list[str]) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from nof1.cli import app

    r = CliRunner().invoke(app, args)
    return r.exit_code, r.stdout, r.stderr


def test_cli_design_table_and_json() -> None:
    code, out, _ = _run(["design", str(BEETROOT), "--effect", "-1.5", "--sd", "1.5", "--phi", "0.4",
                         "--sims", "60", "--methods", "gls_ar1,randomization"])
    assert code == 0, out
    assert "gls_ar1" in out and "randomization" in out and "0.125" in out
    code, out, _ = _run(["design", str(BEETROOT), "--sd", "1.5", "--phi", "0.4", "--sims", "40",
                         "--methods", "gls_ar1", "--json"])
    assert code == 0
    doc = json.loads(out)
    assert doc["scenario"]["effect"] == -1.0 and doc["methods"]["gls_ar1"]["n_sims"] == 40


def test_cli_design_usage_errors(tmp_path: Path) -> None:
    code, _, err = _run(["design", str(BEETROOT), "--effect", "-1"])
    assert code == 2 and "--sd" in err
    code, _, err = _run(["design", str(BEETROOT), "--sd", "1", "--phi", "0.3", "--plot", "x.png"])
    assert code == 2 and "--compare" in err
    existing = tmp_path / "plot.png"
    existing.write_bytes(b"keep")
    code, _, err = _run(["design", str(BEETROOT), "--sd", "1", "--phi", "0.3", "--compare", "--plot",
                         str(existing)])
    assert code == 1 and "already exists" in err and existing.read_bytes() == b"keep"
    code, _, err = _run(["design", str(tmp_path / "missing.yaml"), "--sd", "1", "--phi", "0.3"])
    assert code == 1 and "Traceback" not in err


def test_cli_compare_with_plot_and_pilot(tmp_path: Path, beetroot: Protocol) -> None:
    png = tmp_path / "designs.png"
    code, out, err = _run(["design", str(BEETROOT), "--effect", "-2", "--sd", "1.5", "--phi", "0.4",
                           "--compare", "--max-total-days", "80", "--sims", "40", "--methods",
                           "gls_ar1,randomization", "--plot", str(png)])
    assert code == 0, out + err
    assert png.exists() and png.stat().st_size > 1000
    assert "ranked by power gls_ar1" in out
    assert all(f" {d} " in out for d in ("56", "70", "74"))           # 7x3, 7x4, 10x3 pairs
    log = simulate(beetroot, effect=-1.5, sd=1.5, phi=0.4, seed=2, outcome="severity")
    pilot = tmp_path / "run_in.csv"
    log[log["period"] == 0].to_csv(pilot, index=False)
    code, out, err = _run(["design", str(BEETROOT), "--pilot", str(pilot), "--sims", "40",
                           "--methods", "gls_ar1", "--json"])
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["assurance"] is True and doc["pilot"]["n_days"] == 14


# --------------------------------------------------------------------------- priors
def _with_prior(p: Protocol, prior: dict) -> Protocol:
    doc = p.model_dump(mode="json", exclude_none=True)
    doc["analysis"] = {**doc.get("analysis", {}), "prior": prior}
    return Protocol.model_validate(doc)


def test_design_uses_the_analysis_priors_and_follows_the_protocols_prior() -> None:
    from nof1.analysis.bayes import model_priors
    from nof1.design_common import analysis_priors

    base = small_protocol(pairs=3, period=7, washout=1, carryover="exclude")
    hopeful = _with_prior(base, {"evidence": {"severity": {
        "effect_mean": -3.0, "effect_sd": 0.3, "source": "a made-up, very confident earlier trial"}}})
    sceptical = _with_prior(base, {"kind": "sceptical"})
    for p in (base, hopeful, sceptical):       # the same builder, not a copy of it
        assert analysis_priors(p, p.primary, n_treatments=1) == model_priors(p, p.primary, 1)
    assert model_priors(hopeful, hopeful.primary, 1) != model_priors(base, base.primary, 1)

    def run(p: Protocol) -> float:
        r = evaluate(p, effect=-1.0, sd=1.5, phi=0.3, sims=200, seed=5, methods=("bayes",))
        return r.methods["bayes"].mean_prob_meaningful_benefit

    # a confident prior that the effect is -3 pulls every simulated posterior towards benefit
    assert run(hopeful) > run(base) + 0.1
    assert run(sceptical) < run(base)
