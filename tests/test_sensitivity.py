"""washout_sensitivity: tidy table, agreement with the methods, lazy exports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nof1
import nof1.analysis
from nof1.analysis.classical import gls_ar1, paired_periods
from nof1.analysis.sensitivity import COLUMNS, washout_sensitivity
from nof1.data import TrialData
from nof1.models.exposure import exposure
from nof1.protocol import Protocol


@pytest.fixture(scope="module")
def td() -> TrialData:
    p = Protocol.model_validate({
        "schema_version": 1, "id": "t", "title": "T",
        "conditions": {"A": {"label": "a", "role": "control"}, "B": {"label": "b", "role": "treatment"}},
        "design": {"period_days": 7, "washout_days": 2, "randomization": {"scheme": "pairs", "pairs": 4, "seed": 2}},
        "outcomes": [{"name": "y", "better": "lower", "mcid": 1.0, "role": "primary"}],
    })
    u = (np.array(p.allocation_days()) == "B").astype(float)
    rng = np.random.default_rng(6)
    y = 5 - 2.0 * exposure(u, tau=2.0) + rng.normal(scale=0.5, size=u.size)  # slow onset/decay
    return TrialData.from_frame(p, pd.DataFrame({"day": np.arange(1, 57), "y": y}))


def test_table_shape_and_agreement(td: TrialData) -> None:
    out = washout_sensitivity(td, "y", days=(0, 2, 4, 7))
    assert list(out.columns) == COLUMNS
    assert len(out) == 8 and out["method"].tolist() == ["gls_ar1", "paired_periods"] * 4
    for w in (0, 2, 4):
        g = gls_ar1(td, "y", ("B", "A"), washout_days=w)
        pp = paired_periods(td, "y", ("B", "A"), washout_days=w)
        row_g = out[(out["washout_days"] == w) & (out["method"] == "gls_ar1")].iloc[0]
        row_p = out[(out["washout_days"] == w) & (out["method"] == "paired_periods")].iloc[0]
        assert row_g["estimate"] == pytest.approx(g.estimate) and row_g["n_days"] == g.extras["n_days"]
        assert row_p["ci_low"] == pytest.approx(pp.ci_low) and row_p["p_value"] == pytest.approx(pp.p_value)
    n_days = out.loc[out["method"] == "gls_ar1", "n_days"].tolist()
    assert n_days[:3] == [56, 40, 24]  # 8 periods of 7 days
    # carryover with a 2-day time constant: dropping early days moves the estimate away from 0
    est = out.loc[out["method"] == "gls_ar1", "estimate"].tolist()
    assert est[0] > est[2]
    # 7 washout days in 7-day periods leave nothing: rows present, unavailable, with a reason
    last = out[out["washout_days"] == 7]
    assert not last["available"].any() and last["reason"].str.len().gt(0).all()
    assert last["estimate"].isna().all()


def test_defaults_and_lazy_exports(td: TrialData) -> None:
    assert nof1.washout_sensitivity is washout_sensitivity
    assert nof1.analysis.washout_sensitivity is washout_sensitivity
    out = washout_sensitivity(td, days=None, methods=("paired_periods",))
    assert out["washout_days"].tolist() == list(td.protocol.analysis.washout_sensitivity)
    with pytest.raises(ValueError, match="welch"):
        washout_sensitivity(td, "y", methods=("welch_naive",))
