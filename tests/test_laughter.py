"""Ordinal model vs the R package nof1 on its ``laughter`` data (reference section 2).

R nof1 0.5.0 (JAGS, 3 × 50,000 kept draws): posterior of beta_Laughter mean −0.3239, 95%
equal-tailed interval −1.9775 to 1.3160, median −0.3218, P(beta > 0) = 0.350. Model: logit
P(Y > r) = −c_r + β·Treat, β ~ N(0, sd 2), c_1 ~ U(−20, 20), c_r − c_{r−1} ~ U(0, 20), no
autocorrelation, no carryover.

Our model with ``autocorrelation=False``, ``carryover="none"`` and ``priors="nof1_laughter"`` is
the same model and the same priors: P(y ≤ r) = logistic(c_r − β·Treat) is R's
logit P(Y > r) = −c_r + β·Treat; the cut points are parameterised exactly as in R (c_1 plus
cumulative positive increments with the same uniform priors; with the uniform cut-point prior
the exposure is not centred, so the prior is on the control-referenced cut points as in R).
Categories 3, 4 and 10 never occur; their cut-point increments are pushed towards 0 and are
bounded only by the uniform priors, in both implementations.

Remaining differences are Monte Carlo error only. With 4 chains × 1,000 NUTS draws the bulk ESS
of β is ≈ 4,000–5,000 (NUTS draws are nearly independent here), so the MC standard error of the
mean is ≈ 0.84/√4500 ≈ 0.013 and that of the 2.5% / 97.5% quantiles ≈ 0.03–0.04; the tolerances
(±0.05 mean, ±0.1 interval ends) are ≥ 3 MC standard errors. Observed with this test's settings
(seed 20240101, 4 × 1,000 draws): mean −0.300, median −0.284, interval −1.991 to 1.349,
P(β > 0) 0.362, cut-point means within 0.04 of R's (R: −3.672 −2.796 −2.441 −2.087 −0.755 0.040
0.434 0.849 1.967 2.330) — agreement to MC error, including the cut points of the empty
categories.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("PYTENSOR_FLAGS", "base_compiledir=" + os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv", "pytensor-cache"))

from nof1.analysis.discrete import fit_bayes_discrete  # noqa: E402
from nof1.data import TrialData  # noqa: E402
from nof1.protocol import Protocol  # noqa: E402

# a copy of ../shared/reference/datasets/nof1_laughter.csv (tests/fixtures/reference/README.md)
DATA = Path(__file__).resolve().parent / "fixtures" / "reference" / "nof1_laughter.csv"
R_MEAN, R_LOW, R_HIGH, R_MEDIAN, R_P_POS = -0.3239, -1.9775, 1.3160, -0.3218, 0.3500
R_CUT_MEANS = [-3.672, -2.796, -2.441, -2.087, -0.755, 0.040, 0.434, 0.849, 1.967, 2.330]


def laughter_trial() -> TrialData:
    raw = pd.read_csv(DATA)
    protocol = Protocol.model_validate({
        "schema_version": 1, "id": "laughter", "title": "Laughter (R nof1 example)",
        "conditions": {"A": {"label": "Usual Routine", "role": "control"},
                       "B": {"label": "Laughter", "role": "treatment"}},
        "design": {"period_days": 3, "sequence": ["A", "B", "A", "B", "A", "B"]},
        "outcomes": [{"name": "laughter", "type": "ordinal", "range": [1, 11], "better": "higher",
                      "mcid": 1.0, "role": "primary"}],
        "analysis": {"carryover": "none"},
    })
    frame = pd.DataFrame({"day": raw["session"], "laughter": raw["outcome"].astype(float),
                          "condition": raw["phase"]})
    return TrialData.from_frame(protocol, frame)


@pytest.mark.slow
def test_laughter_matches_r_nof1() -> None:
    td = laughter_trial()
    r = fit_bayes_discrete(td, "laughter", ("B", "A"), autocorrelation=False, carryover="none",
                           priors="nof1_laughter", chains=4, draws=1000, tune=1000, seed=20240101)
    assert r.available, r.reason
    beta = r.fit.latent_draws("B-A")
    lo, med, hi = np.quantile(beta, [0.025, 0.5, 0.975])
    assert float(np.mean(beta)) == pytest.approx(R_MEAN, abs=0.05)
    assert med == pytest.approx(R_MEDIAN, abs=0.05)
    assert lo == pytest.approx(R_LOW, abs=0.1)
    assert hi == pytest.approx(R_HIGH, abs=0.1)
    assert r.extras["prob_benefit"] == pytest.approx(R_P_POS, abs=0.03)
    assert r.extras["r_hat"] < 1.01 and r.extras["ess_bulk"] > 1500
    cuts = r.fit.posterior_draws.flat("cuts").mean(axis=0)
    assert np.allclose(cuts, R_CUT_MEANS, atol=0.1)
    assert r.extras["autocorrelation"] is False and r.extras["carryover"] == "none"
    assert r.extras["categories_observed"] == [1, 2, 5, 6, 7, 8, 9, 11]
    assert r.extras["prior"].startswith("nof1_laughter")
