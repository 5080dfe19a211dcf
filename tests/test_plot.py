"""nof1.plot: every figure returns a Figure, accepts ax=, draws what it should, and is closed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import nof1  # noqa: E402
from nof1 import plot  # noqa: E402
from nof1.analysis.base import MethodResult  # noqa: E402
from nof1.data import TrialData  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BEETROOT = ROOT / "protocols" / "beetroot-juice-rls.yaml"
CLASSICAL = ["gls_ar1", "paired_periods", "randomization", "welch_naive", "nap", "tau"]


class FakeBayesFit:
    """Stands in for a Bayesian fit: posterior draws of the effect and a fitted-mean table."""

    def __init__(self, trial_data: TrialData) -> None:
        self.trial_data = trial_data

    def effect_draws(self) -> np.ndarray:
        return np.random.default_rng(3).normal(-1.3, 0.45, 2000)

    def fitted_mean(self, ci_level: float = 0.95) -> pd.DataFrame:
        d = self.trial_data.data
        mean = np.where(d["condition"] == "B", 4.3, 5.5)
        return pd.DataFrame({"day": d["day"], "mean": mean, "low": mean - 0.5, "high": mean + 0.5})


def fake_bayes(trial_data: TrialData, outcome: str = "severity") -> MethodResult:
    return MethodResult(
        method="bayes", outcome=outcome, contrast=("B", "A"), estimate=-1.3, ci_low=-2.2, ci_high=-0.4,
        ci_level=0.95,
        extras={"prob_benefit": 0.998, "prob_meaningful_benefit": 0.75, "prob_meaningful_harm": 0.0,
                "prob_negligible": 0.25, "tau": {"median": 1.4, "ci_low": 0.3, "ci_high": 4.0},
                "phi": {"median": 0.4}, "prior": {"effect": "Normal(0, 2.5)"}, "engine": "exact"},
        fit=FakeBayesFit(trial_data),
    )


@pytest.fixture(scope="module")
def protocol() -> nof1.Protocol:
    return nof1.load_protocol(BEETROOT)


@pytest.fixture(scope="module")
def trial(protocol: nof1.Protocol) -> TrialData:
    log = nof1.simulate(
        protocol, effect={"severity": -1.2, "systolic_bp": -6}, sd={"severity": 1.5, "systolic_bp": 8},
        baseline={"severity": 5.5, "systolic_bp": 128}, phi=0.4, carryover_days=1.5, seed=7,
        missing=0.05,
    )
    # one day on the other condition (period 1 is B: log A on its 10th day)
    day_in_p1 = log.index[log["period"] == 1][9]
    log.loc[day_in_p1, "condition"] = "A"
    return TrialData.from_frame(protocol, log)


@pytest.fixture(scope="module")
def result(trial: TrialData) -> Any:
    res = nof1.analyze(trial, methods=CLASSICAL, outcomes=["severity", "systolic_bp", "headache"], seed=1)
    res.results["severity"]["B-A"] = {"bayes": fake_bayes(trial), **res.results["severity"]["B-A"]}
    return res


@pytest.fixture(autouse=True)
def no_open_figures():
    plt.close("all")
    yield
    assert plt.get_fignums() == [], "a test left a figure open"


def by_gid(ax: Any, gid: str) -> list[Any]:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def n_points(ax: Any, gid: str) -> int:
    return sum(len(c.get_offsets()) for c in by_gid(ax, gid))


def test_import_nof1_does_not_import_matplotlib() -> None:
    code = "import nof1, nof1.plot, nof1.report, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_condition_colors_are_okabe_ito(protocol: nof1.Protocol) -> None:
    colors = plot.condition_colors(protocol)
    assert set(colors) == set(protocol.conditions)
    assert set(colors.values()) <= set(plot.OKABE_ITO.values())
    assert len(set(colors.values())) == len(colors)


def test_timeline_spans_points_missing(trial: TrialData, protocol: nof1.Protocol) -> None:
    fig = plot.timeline(trial, "severity")
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert len(by_gid(ax, "period-span")) == protocol.n_periods
    assert len(by_gid(ax, "washout-span")) == protocol.n_periods
    assert len(by_gid(ax, "run-in-span")) == 1
    observed = int(trial.data["severity"].notna().sum())
    assert n_points(ax, "observed") + n_points(ax, "observed-washout") == observed
    washout_obs = int((trial.data["washout"] & trial.data["severity"].notna()).sum())
    assert n_points(ax, "observed-washout") == washout_obs
    assert n_points(ax, "missing") == len(trial.data) - observed
    assert n_points(ax, "deviation") == 1
    assert by_gid(ax, "fitted-mean") == []
    plt.close(fig)


def test_timeline_draws_fitted_mean_and_band_from_bayes(trial: TrialData, result: Any) -> None:
    fig = plot.timeline(trial, "severity", result=result)
    ax = fig.axes[0]
    assert len(by_gid(ax, "fitted-mean")) == 1 and len(by_gid(ax, "fitted-band")) == 1
    plt.close(fig)
    fig = plot.timeline(trial, "severity", result=result.get("severity", "bayes"))
    assert len(by_gid(fig.axes[0], "fitted-mean")) == 1
    plt.close(fig)


def test_timeline_weekly_outcome_marks_only_missing_measure_days(trial: TrialData) -> None:
    fig = plot.timeline(trial, "irls")
    ax = fig.axes[0]
    observed = int(trial.data["irls"].notna().sum())
    # 2 measure days per period (7, 14) and per run-in: 18 expected
    assert n_points(ax, "observed") + n_points(ax, "observed-washout") == observed
    assert n_points(ax, "missing") == 18 - observed
    plt.close(fig)


def test_every_plot_accepts_ax(trial: TrialData, result: Any, protocol: nof1.Protocol) -> None:
    sens = pd.DataFrame({"washout_days": [0, 0, 4, 4], "method": ["gls_ar1", "paired_periods"] * 2,
                         "estimate": [-0.8, -0.9, -1.1, -1.2], "ci_low": [-1.5, -2.0, -1.9, -2.3],
                         "ci_high": [-0.1, 0.2, -0.3, -0.1]})
    design = pd.DataFrame({"period_days": [7, 7, 14, 14], "pairs": [2, 4, 2, 4],
                           "total_days": [28, 56, 56, 112], "power_bayes": [0.3, 0.5, 0.45, 0.8]})
    calls = [
        lambda ax: plot.timeline(trial, "severity", ax=ax),
        lambda ax: plot.period_means(trial, "severity", ax=ax),
        lambda ax: plot.effect_posterior(result.get("severity", "bayes"), protocol.outcome("severity"), ax=ax),
        lambda ax: plot.forest(result, "severity", ax=ax),
        lambda ax: plot.washout_sensitivity(sens, ax=ax),
        lambda ax: plot.safety(trial, "systolic_bp", ax=ax),
        lambda ax: plot.design_comparison(design, ax=ax),
    ]
    for call in calls:
        fig, ax = plt.subplots()
        assert call(ax) is fig
        assert len(fig.axes) == 1
        plt.close(fig)


def test_period_means_one_point_per_period_one_line_per_pair(trial: TrialData, protocol: nof1.Protocol) -> None:
    fig = plot.period_means(trial, "severity")
    ax = fig.axes[0]
    assert n_points(ax, "period-mean") == protocol.n_periods
    assert len(by_gid(ax, "pair-line")) == protocol.n_periods // 2
    table = plot.period_summary(trial, "severity")
    assert len(table) == protocol.n_periods
    assert (table["n"] <= table["days"] - table["washout_days"]).all()
    plt.close(fig)


def test_effect_posterior_band_and_probabilities(result: Any, protocol: nof1.Protocol) -> None:
    fig = plot.effect_posterior(result.get("severity", "bayes"), protocol.outcome("severity"))
    ax = fig.axes[0]
    assert len(by_gid(ax, "posterior")) >= 1
    band = by_gid(ax, "mcid-band")
    assert len(band) == 1
    x0, x1 = band[0].get_x(), band[0].get_x() + band[0].get_width()
    assert (x0, x1) == pytest.approx((-1.0, 1.0))
    text = by_gid(ax, "probabilities")[0].get_text()
    assert "P(meaningful benefit) = 75%" in text and "P(negligible) = 25%" in text
    assert "P(meaningful harm) = 0%" in text
    plt.close(fig)


def test_effect_posterior_without_draws_says_why(protocol: nof1.Protocol) -> None:
    r = MethodResult.unavailable("bayes", "severity", ("B", "A"), "too few days")
    fig = plot.effect_posterior(r, protocol.outcome("severity"))
    assert any("too few days" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_forest_draws_effect_scale_methods_and_lists_the_rest(result: Any) -> None:
    fig = plot.forest(result, "severity")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["bayes", "gls_ar1", "paired_periods", "welch_naive"]
    assert len(by_gid(ax, "estimate")) == 4 and len(by_gid(ax, "interval")) == 4
    notes = by_gid(ax, "method-notes")[0].get_text()
    assert "nap" in notes and "tau" in notes and "randomization" in notes
    plt.close(fig)


def test_forest_lists_unavailable_methods_with_reason(result: Any) -> None:
    fig = plot.forest(result, "headache")  # ordinal: only index and test methods
    notes = by_gid(fig.axes[0], "method-notes")[0].get_text()
    assert "gls_ar1: not available" in notes and "does not apply to ordinal" in notes
    plt.close(fig)


def test_washout_sensitivity_from_the_real_table(trial: TrialData) -> None:
    table = nof1.washout_sensitivity(trial, "severity")
    fig = plot.washout_sensitivity(table, mcid=1.0)
    ax = fig.axes[0]
    n_ok = int(table["estimate"].notna().sum())
    assert sum(len(line.get_xdata()) for line in by_gid(ax, "estimate")) == n_ok
    assert len(by_gid(ax, "mcid-band")) == 1
    plt.close(fig)


def test_safety_thresholds_and_alert_days(trial: TrialData) -> None:
    alerts = [{"date": "2027-01-20", "outcome": "systolic_bp", "value": 88.0, "message": "below 90"},
              {"day": 40, "outcome": "systolic_bp", "value": 89.0, "message": "below 90"},
              {"date": "2027-01-21", "outcome": "headache", "value": 8, "message": "headache"}]
    fig = plot.safety(trial, "systolic_bp", alerts)
    ax = fig.axes[0]
    assert len(by_gid(ax, "threshold")) == 1
    assert by_gid(ax, "threshold")[0].get_ydata()[0] == 90
    assert n_points(ax, "alert") == 2
    assert n_points(ax, "observed") == int(trial.data["systolic_bp"].notna().sum())
    plt.close(fig)


def test_design_comparison_one_line_per_period_length() -> None:
    design = pd.DataFrame({
        "period_days": [7, 7, 7, 14, 14, 21], "pairs": [2, 3, 4, 2, 4, 2], "washout_days": 2,
        "total_days": [28, 42, 56, 56, 112, 84], "power_bayes": [0.3, 0.4, 0.5, 0.45, 0.8, 0.5],
        "power_gls_ar1": [0.25, 0.35, 0.45, 0.4, 0.75, 0.45]})
    fig = plot.design_comparison(design, power="power_bayes")
    assert len(by_gid(fig.axes[0], "design-line")) == 3
    plt.close(fig)
    fig = plot.design_comparison(design)  # default: power_bayes only
    assert len(by_gid(fig.axes[0], "design-line")) == 3
    plt.close(fig)
    fig = plot.design_comparison(design, power=["power_bayes", "power_gls_ar1"])
    assert len(by_gid(fig.axes[0], "design-line")) == 6
    plt.close(fig)
    with pytest.raises(ValueError, match="power"):
        plot.design_comparison(design.drop(columns=["power_bayes", "power_gls_ar1"]))


def test_pooled_forest_is_lazy() -> None:
    try:
        import nof1.plot_pooling as pp
    except ModuleNotFoundError:
        with pytest.raises(AttributeError, match="plot_pooling"):
            _ = plot.pooled_forest
    else:
        assert plot.pooled_forest is pp.forest_plot_pooled


class FakeDiscreteFit:
    def effect_draws(self) -> np.ndarray:  # on the rating scale, as the discrete fits give them
        return np.random.default_rng(4).normal(-0.8, 0.4, 2000)


def fake_ordinal_bayes() -> MethodResult:
    return MethodResult(
        method="bayes", outcome="headache", contrast=("B", "A"), estimate=-0.9, ci_low=-1.8,
        ci_high=-0.1, ci_level=0.95,
        extras={"scale": "logit", "mcid_scale": "rating_difference",
                "rating_difference": {"estimate": -0.8, "ci_low": -1.6, "ci_high": -0.02},
                "prob_benefit": 0.98, "prob_meaningful_benefit": 0.01, "prob_negligible": 0.99,
                "prob_meaningful_harm": 0.0, "engine": "pymc", "prior": "effect ~ Normal(0, 1.5)"},
        fit=FakeDiscreteFit(),
    )


def test_latent_scale_results_are_drawn_on_the_outcome_scale(result: Any, protocol: nof1.Protocol) -> None:
    r = fake_ordinal_bayes()
    found = plot.outcome_scale_effect(r)
    assert found == ("rating_difference", r.extras["rating_difference"])
    fig = plot.effect_posterior(r, protocol.outcome("headache"))
    ax = fig.axes[0]
    assert len(by_gid(ax, "mcid-band")) == 1  # the MCID (2 rating points) applies to the draws
    (ci,) = by_gid(ax, "ci")
    assert ci.get_segments()[0][:, 0].tolist() == pytest.approx([-1.6, -0.02])
    assert "rating difference" in ax.get_xlabel()
    plt.close(fig)
    res = result
    saved = res.results["headache"]["B-A"]
    res.results["headache"]["B-A"] = {"bayes": r, **saved}
    try:
        fig = plot.forest(res, "headache")
        labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert labels == ["bayes (rating difference)"]
        plt.close(fig)
    finally:
        res.results["headache"]["B-A"] = saved


def test_forest_data_is_what_forest_draws(result: Any) -> None:
    data = plot.forest_data(result, "severity")
    assert list(data["label"]) == ["bayes", "gls_ar1", "paired_periods", "welch_naive"]
    assert (data["ci_low"] <= data["estimate"]).all() and (data["estimate"] <= data["ci_high"]).all()
    assert any(n.startswith("nap") for n in data.attrs["notes"])
    assert plot.forest_data(result, "headache").empty
