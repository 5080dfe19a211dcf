"""The PyMC engine: same model as the exact engine (agreement), diagnostics, save/reload."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nof1.models.bayes_exact import ModelPriors, SeriesData, fit_exact
from nof1.models.exposure import exposure

pytest.importorskip("pymc")

ABAB = np.repeat([0, 1, 0, 1], 14).astype(float)


def simulate(seed: int, beta: float, phi: float, tau: float, sd: float, missing: float = 0.0
             ) -> SeriesData:
    rng = np.random.default_rng(seed)
    e = np.empty(56)
    e[0] = rng.standard_normal()
    for t in range(1, 56):
        e[t] = phi * e[t - 1] + math.sqrt(1 - phi * phi) * rng.standard_normal()
    y = 4.0 + beta * exposure(ABAB, tau) + sd * e
    keep = rng.uniform(size=56) >= missing
    return SeriesData(y=y[keep], day=np.arange(1, 57)[keep], u=ABAB[None])


@pytest.mark.slow
def test_engines_agree_on_simulated_data():
    import arviz as az

    from nof1.models.bayes_pymc import fit_pymc

    priors = ModelPriors.from_scale(10.0)
    cases = [simulate(1, -1.0, 0.4, 1.0, 1.0), simulate(2, -2.0, 0.6, 2.5, 1.2, missing=0.1),
             simulate(3, 0.0, 0.2, 1.0, 0.8)]
    for i, data in enumerate(cases):
        s = fit_exact(data, priors).summary()
        # Monte Carlo error of a 2.5% quantile is about 2.7 / sqrt(ESS) posterior sd: with
        # ESS > 7,000 the 0.1-sd tolerance below is more than 3 Monte Carlo standard errors.
        post = fit_pymc(data, priors, draws=6000, tune=700, chains=4, cores=2, seed=10 + i)
        d = post.diagnostics
        assert d["max_rhat"] < 1.01 and d["min_ess_bulk"] > 3000 and d["divergences"] == 0, d
        ess_beta = float(az.ess(post.tree, var_names=["beta"], method="tail")["beta"].min())
        assert ess_beta > 7000, ess_beta
        b = post.draws()["beta"][:, 0]
        sd = s["posterior_sd"]
        assert abs(b.mean() - s["posterior_mean"]) < 0.05 * sd, i
        assert abs(np.quantile(b, 0.025) - s["ci_low"]) < 0.1 * sd, i
        assert abs(np.quantile(b, 0.975) - s["ci_high"]) < 0.1 * sd, i
        assert abs(np.mean(b < 0) - s["prob_benefit"]) < 0.02, i


def test_pymc_method_diagnostics_truth_and_round_trip(tmp_path):
    from test_bayes_method import make_protocol, make_trial

    from nof1.analysis.bayes import bayes, load_fit

    td = make_trial(make_protocol(), {"B": -1.5}, seed=3)
    r = bayes(td, "severity", ("B", "A"), seed=4, engine="pymc", draws=300, tune=300, chains=2)
    assert r.available and r.extras["engine"] == "pymc"
    diag = r.extras["diagnostics"]
    assert diag["max_rhat"] < 1.02 and diag["min_ess_bulk"] > 150 and diag["chains"] == 2
    assert r.ci_low < -1.5 < r.ci_high
    assert r.extras["tau"]["ci"][0] < r.extras["tau"]["median"] < r.extras["tau"]["ci"][1]
    assert 0 <= r.extras["ppc"]["p_value"] <= 1
    exact = bayes(td, "severity", ("B", "A"), seed=4)
    assert abs(r.estimate - exact.estimate) < 0.25 * exact.extras["posterior_sd"]
    path = r.fit.save(tmp_path / "pymc.nc")
    back = load_fit(path)
    assert back.engine == "pymc" and "sample_stats" in back.tree.children
    assert np.allclose(back.effect_draws(), r.fit.effect_draws())
    assert back.summary()["estimate"] == pytest.approx(r.estimate)
    assert back.attrs["versions"]["pymc"] is not None
