"""NAP and Tau: worked example, SingleCaseES 0.7.4 conformance (McKissick, Schmidt), methods."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nof1.analysis.nonoverlap import R_UNIROOT_TOL, nap, newcombe_interval, nonoverlap, tau
from nof1.data import TrialData
from nof1.protocol import Protocol

REF = Path(__file__).resolve().parent / "fixtures" / "reference"


def references(name: str) -> list[dict]:
    return json.loads((REF / "references.json").read_text())[name]["results"]


def check_against_singlecasees(a: pd.Series, b: pd.Series, refs: dict[str, dict]) -> None:
    exact = nonoverlap(a, b, better="lower")
    compat = nonoverlap(a, b, better="lower", tol=R_UNIROOT_TOL)
    for key, est, se, ci_exact, ci_compat in (
        ("NAP", "nap", "se_nap", exact["ci_nap"], compat["ci_nap"]),
        ("Tau", "tau", "se_tau", exact["ci_tau"], compat["ci_tau"]),
    ):
        ref = refs[key]
        assert exact[est] == pytest.approx(ref["Est"], abs=1e-12)
        assert exact[se] == pytest.approx(ref["SE"], abs=1e-12)
        # R's uniroot search reproduced: every digit
        assert ci_compat == pytest.approx((ref["CI_lower"], ref["CI_upper"]), abs=1e-12)
        # the exact roots differ from uniroot's by less than its tolerance (~1.2e-4) (x2 for Tau)
        assert ci_exact == pytest.approx((ref["CI_lower"], ref["CI_upper"]), abs=2.5e-4)


def test_worked_example_increase() -> None:
    r = nonoverlap([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29], better="higher")
    assert r["nap"] == pytest.approx(38.5 / 42, abs=1e-12)
    assert r["tau"] == pytest.approx(35 / 42, abs=1e-12)
    assert r["n_control"] == 6 and r["n_treatment"] == 7
    lo, hi = r["ci_nap"]
    assert lo < r["nap"] < hi
    assert r["ci_tau"] == pytest.approx((2 * lo - 1, 2 * hi - 1))
    flipped = nonoverlap([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29], better="lower")
    assert flipped["nap"] == pytest.approx(1 - 38.5 / 42)


@pytest.mark.parametrize("case", ["Period 1", "Period 2", "Period 3"])
def test_mckissick_per_case(case: str) -> None:
    data = pd.read_csv(REF / "singlecasees_mckissick2010.csv")
    g = data[data["case"] == case]
    refs = {r["ES"]: r for r in references("singlecasees_mckissick2010") if r["case"] == case}
    check_against_singlecasees(g.loc[g["phase"] == "A", "outcome"], g.loc[g["phase"] == "B", "outcome"], refs)


@pytest.mark.parametrize("subset", ["pooled A1+A2 vs B1+B2", "phase pair 1 (A1 vs B1)", "phase pair 2 (A2 vs B2)"])
def test_schmidt_faith_disruptive(subset: str) -> None:
    data = pd.read_csv(REF / "singlecasees_schmidt2007.csv")
    g = data[(data["case"] == "Faith") & (data["behavior_type"] == "Disruptive Behavior")]
    if subset.startswith("phase pair"):
        g = g[g["phase_pair"] == int(subset.split()[2])]
    refs = {r["ES"]: r for r in references("singlecasees_schmidt2007") if r["subset"] == subset}
    check_against_singlecasees(g.loc[g["phase"] == "A", "outcome"], g.loc[g["phase"] == "B", "outcome"], refs)


def test_newcombe_interval_edges_and_level() -> None:
    assert newcombe_interval(1.0, 3, 7) == (1.0, 1.0)
    assert newcombe_interval(0.0, 3, 7) == (0.0, 0.0)
    lo95, hi95 = newcombe_interval(0.7, 10, 10, 0.95)
    lo80, hi80 = newcombe_interval(0.7, 10, 10, 0.80)
    assert lo95 < lo80 < 0.7 < hi80 < hi95
    for x in (lo95, hi95):  # exact roots of the score equation
        h = 9.0
        z = 1.959963984540054
        f = 100 * (0.7 - x) ** 2 * (2 - x) * (1 + x) - z * z * x * (1 - x) * (2 + h + (1 + 2 * h) * x * (1 - x))
        assert abs(f) < 1e-9


def test_ties_and_bad_direction() -> None:
    r = nonoverlap([1, 2, 3], [3, 3, 3], better="higher")
    assert r["nap"] == pytest.approx(3 * (1 + 1 + 0.5) / 9)
    with pytest.raises(ValueError, match="better"):
        nonoverlap([1, 2], [3, 4], better="up")
    single = nonoverlap([1.0], [2.0, 3.0])
    assert math.isnan(single["se_nap"])


# --------------------------------------------------------------------------- methods on TrialData
def protocol(better: str) -> Protocol:
    return Protocol.model_validate({
        "schema_version": 1, "id": "t", "title": "T",
        "conditions": {"A": {"label": "a", "role": "control"}, "B": {"label": "b", "role": "treatment"}},
        "design": {"period_days": 7, "sequence": list("ABAB"), "washout_days": 1},
        "outcomes": [{"name": "y", "better": better, "mcid": 1.0, "role": "primary"},
                     {"name": "count", "type": "count", "better": "lower"}],
    })


def test_methods_report_the_index_not_an_effect() -> None:
    rng = np.random.default_rng(4)
    cond = np.repeat(list("ABAB"), 7)
    y = rng.normal(size=28) + 1.5 * (cond == "B")
    for better in ("higher", "lower"):
        p = protocol(better)
        td = TrialData.from_frame(p, pd.DataFrame({"day": range(1, 29), "y": y}))
        keep = np.tile(np.arange(7), 4) >= 1  # washout: first day of each period
        direct = nonoverlap(y[keep & (cond == "A")], y[keep & (cond == "B")], better=better)
        rn = nap(td, "y", ("B", "A"))
        rt = tau(td, "y", ("B", "A"))
        assert rn.estimate == pytest.approx(direct["nap"]) and rt.estimate == pytest.approx(direct["tau"])
        assert (rn.ci_low, rn.ci_high) == pytest.approx(direct["ci_nap"])
        assert (rt.ci_low, rt.ci_high) == pytest.approx(direct["ci_tau"])
        assert rn.extras["scale"] == "nap" and rt.extras["scale"] == "tau"
        assert rn.extras["se"] == pytest.approx(direct["se_nap"]) and rt.extras["se"] == pytest.approx(direct["se_tau"])
        assert rn.extras["n_control"] == 12 and rn.extras["n_treatment"] == 12
        assert rn.p_value is None
        d = rn.to_dict()
        assert d["scale"] == "nap" and "not an effect in outcome units" in d["meaning"]
        assert any("not an effect in outcome units" in n for n in d["notes"])
    assert nap(td, "y", ("B", "A")).estimate < 0.5  # lower is better, B is higher: worse


def test_count_outcome_and_unavailable() -> None:
    p = protocol("lower")
    td = TrialData.from_frame(p, pd.DataFrame({"day": range(1, 29), "y": np.ones(28),
                                               "count": np.arange(28) % 4}))
    assert nap(td, "count", ("B", "A")).available
    r = tau(td, "y", ("B", "A"))
    assert not r.available and "no day-to-day variation" in r.reason
    few = TrialData.from_frame(p, pd.DataFrame({"day": [2, 3, 9, 16, 17], "y": [1.0, 2.0, 3.0, 4.0, 5.0]}))
    r = nap(few, "y", ("B", "A"))
    assert not r.available and "condition B has 1 usable day" in r.reason
