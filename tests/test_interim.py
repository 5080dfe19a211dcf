"""Interim analysis (nof1.interim / nof1 status): predictive probabilities checked by simulation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nof1
from nof1.data import TrialData
from nof1.interim_analysis import VERDICTS, as_of, complete_pairs, predictive_verdicts
from nof1.models.bayes_exact import ModelPriors, SeriesData, fit_exact

ROOT = Path(__file__).resolve().parents[1]
BEETROOT = ROOT / "protocols" / "beetroot-juice-rls.yaml"
LOG = ROOT / "data" / "sample" / "beetroot_log.csv"


def small_protocol(**analysis) -> nof1.Protocol:
    """3 pairs of 7-day periods, no run-in, instant switch: cheap to fit thousands of times."""
    return nof1.Protocol.model_validate({
        "schema_version": 1, "id": "small", "title": "Small",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Active", "role": "treatment"}},
        "design": {"period_days": 7, "sequence": ["A", "B", "B", "A", "A", "B"]},
        "outcomes": [{"name": "y", "type": "continuous", "range": [0, 10], "better": "lower",
                      "mcid": 0.5, "role": "primary"}],
        "analysis": {"carryover": "none", "trend": False,
                     "prior": {"effect_sd": 1.0, "sigma_scale": 1.0}, **analysis},
    })


def ar1(rng: np.random.Generator, phi: float, sigma: float, n: int) -> np.ndarray:
    e = np.empty(n)
    e[0] = sigma * rng.standard_normal()
    for t in range(1, n):
        e[t] = phi * e[t - 1] + sigma * math.sqrt(1 - phi * phi) * rng.standard_normal()
    return e


def test_predictive_probability_matches_completed_trials() -> None:
    """Half-trials drawn from the analysis' prior, completed by predictive_verdicts: the mean
    predicted probability of 'likely meaningful benefit' equals the share of the actual
    completions (the same simulated trials run on) with that verdict, within Monte Carlo error."""
    p = small_protocol()
    rng = np.random.default_rng(20261204)
    n_trials, n_comp, cut = 300, 200, 21
    u = np.array([1.0 if c == "B" else 0.0 for c in p.allocation_days()])
    predicted, actual = [], []
    full_y = []
    for i in range(n_trials):
        effect = rng.normal(0.0, 1.0)                 # the analysis' priors: effect ~ N(0, 1),
        sigma = abs(rng.normal(0.0, 1.0))             # sigma ~ HalfNormal(1), phi ~ U(-0.5, 0.95)
        phi = rng.uniform(-0.5, 0.95)
        y = 5.0 + effect * u + ar1(rng, phi, sigma, u.size)
        full_y.append(y)
        frame = pd.DataFrame({"day": np.arange(1, cut + 1), "y": y[:cut]})
        td = TrialData.from_frame(p, frame)
        pred = predictive_verdicts(td, today=cut, completions=n_comp, seed=i)
        predicted.append(pred["probabilities"][nof1.constants.VERDICT_BENEFIT])
    # the actual completions, analysed as the trial would be
    from nof1.analysis.bayes import model_priors
    from nof1.models.bayes_exact import fit_exact_batch

    Y = np.array(full_y)
    pri = model_priors(p, p.primary, carryover="none")
    res = fit_exact_batch(Y, u, priors=pri, mcid=0.5, better="lower")
    actual = (res.prob_meaningful_benefit >= 0.8) & (res.prob_meaningful_harm < 0.05)
    predicted = np.asarray(predicted)
    # Var(actual_i | data so far) = q_i (1 - q_i) with q_i the exact predictive probability;
    # the completions add q_i (1 - q_i) / n_comp
    se = math.sqrt(np.sum(predicted * (1 - predicted)) * (1 + 1 / n_comp)) / n_trials
    diff = predicted.mean() - actual.mean()
    assert 0.15 < actual.mean() < 0.6       # a non-trivial share of benefit verdicts
    assert abs(diff) < 3 * se + 0.005, (predicted.mean(), actual.mean(), se)
    # and by bins of the predicted probability
    for lo, hi in ((0.0, 0.2), (0.2, 0.8), (0.8, 1.0001)):
        m = (predicted >= lo) & (predicted < hi)
        if m.sum() >= 20:
            se_b = math.sqrt(np.sum(predicted[m] * (1 - predicted[m]))) / m.sum()
            assert abs(predicted[m].mean() - actual[m].mean()) < 3 * se_b + 0.03, (lo, hi)


def test_no_future_days_gives_the_verdict_of_the_data() -> None:
    p = small_protocol()
    rng = np.random.default_rng(3)
    u = np.array([1.0 if c == "B" else 0.0 for c in p.allocation_days()])
    y = 5.0 - 1.5 * u + ar1(rng, 0.3, 0.8, u.size)
    td = TrialData.from_frame(p, pd.DataFrame({"day": np.arange(1, 43), "y": y}))
    pred = predictive_verdicts(td, today=42, completions=100, seed=1)
    r = nof1.analyze(td, methods=["bayes"], seed=1)
    assert pred["probabilities"][r.verdict()] == 1.0
    assert sorted(pred["probabilities"]) == sorted(VERDICTS)


def test_joint_draws_reproduce_the_exact_posterior() -> None:
    """The node draws used for completions: effect mean/sd equal the mixture's, within MC error."""
    rng = np.random.default_rng(5)
    u = np.repeat([0, 1, 0, 1], 7).astype(float)
    d = SeriesData(y=2.0 - 1.0 * u + ar1(rng, 0.4, 1.0, 28), day=np.arange(1, 29), u=u[None])
    post = fit_exact(d, ModelPriors.from_scale(10.0))
    s = post.summary()
    dr = post.draws(40_000, 2)
    b = dr["beta"][:, 0]
    assert abs(b.mean() - s["posterior_mean"]) < 4 * s["posterior_sd"] / math.sqrt(b.size)
    assert abs(b.std() / s["posterior_sd"] - 1) < 0.02
    assert abs(np.mean(dr["phi_node"]) - post.phi_summary()["mean"]) < 0.01


def test_as_of_and_pairs() -> None:
    p = nof1.load_protocol(BEETROOT)
    td = nof1.read_log(LOG, p)
    cut = as_of(td, 42)
    assert cut.data.loc[cut.data["day"] > 42, "severity"].isna().all()
    assert cut.data.loc[cut.data["day"] <= 42, "severity"].notna().sum() == \
        td.data.loc[td.data["day"] <= 42, "severity"].notna().sum()
    assert complete_pairs(td, 42) == (1, 4)   # run-in 14 + one pair of 14-day periods
    assert complete_pairs(td, 41) == (0, 4)


@pytest.mark.parametrize("day", [42, 56])
def test_interim_on_the_sample(day: int) -> None:
    p = nof1.load_protocol(BEETROOT)
    td = nof1.read_log(LOG, p)
    st = nof1.interim(td, seed=1, day=day, completions=300)
    assert st.progress["as_of_day"] == day and st.progress["trial_day"] == day - 14
    assert st.progress["days_to_go"] == 126 - day
    assert [h.label for h in st.horizons] == ["planned end", "+1 pair", "+2 pairs"]
    assert [h.end_day for h in st.horizons] == [126, 154, 182]
    for h in st.horizons:
        assert abs(sum(h.probabilities.values()) - 1) < 1e-9
    # the current posterior is the bayes analysis of the days so far
    r = nof1.analyze(as_of(td, day), outcomes=["severity"], methods=["bayes"], seed=1).get("severity", "bayes")
    assert st.current.estimate == pytest.approx(r.estimate, abs=1e-9)
    # day 56 is after the two-day headache episode of the sample (2027-01-21/22): safety first
    expected = "continue" if day == 42 else "stop: safety rule reached"
    assert st.recommendation == expected
    doc = json.loads(json.dumps(st.to_dict()))
    assert doc["recommendation"] == expected and len(doc["predictive"]) == 3


def test_status_cli(tmp_path, capsys) -> None:
    from nof1.cli import main

    lines = LOG.read_text().splitlines()
    # a log that ends today (2027-01-11 = day 42, itself not logged in the sample), with the
    # sample's missing days: by default the status is as of the last logged day
    short = tmp_path / "log.csv"
    short.write_text("\n".join([lines[0], *(ln for ln in lines[1:] if ln[:10] <= "2027-01-11")]) + "\n")
    code = main(["status", str(BEETROOT), str(short), "--completions", "300", "--seed", "2"])
    out = capsys.readouterr().out
    assert code == 0
    assert "predictive probability of each verdict" in out and "recommendation: continue" in out
    assert "as of day 41 (2027-01-10)" in out and "complete pairs: 0 of 4" in out
    code = main(["status", str(BEETROOT), str(short), "--as-of", "2027-01-11", "--completions", "300"])
    out = capsys.readouterr().out
    assert code == 0 and "as of day 42 (2027-01-11)" in out and "complete pairs: 1 of 4" in out
    code = main(["status", str(BEETROOT), str(LOG), "--day", "56", "--completions", "300", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["progress"]["as_of_day"] == 56
    assert doc["recommendation"] == "stop: safety rule reached"
    code = main(["status", str(BEETROOT), str(LOG), "--day", "0"])
    err = capsys.readouterr().err
    assert code == 1 and "nothing has been logged" in err


def _reference_completions(p: nof1.Protocol, y_obs: np.ndarray, n_days: int, n: int, seed: int) -> np.ndarray:
    """Completions by an independent sampler: (effect, sigma, phi) from the prior, importance
    weights from the exact marginal likelihood of the observed days (the flat level integrated
    out with the full AR(1) covariance), the level from its conditional normal, and the future
    days from the Gaussian conditional distribution given the observed days."""
    from scipy import linalg

    rng = np.random.default_rng(seed)
    u = np.array([1.0 if c == "B" else 0.0 for c in p.allocation_days()])
    m = y_obs.size
    t = np.arange(n_days)
    M = 20_000
    eff = rng.normal(0, 1.0, M)
    sig = np.abs(rng.normal(0, 1.0, M))
    phi = rng.uniform(-0.5, 0.95, M)
    logw = np.empty(M)
    ahat = np.empty(M)
    avar = np.empty(M)
    for i in range(M):
        R = phi[i] ** np.abs(t[:m, None] - t[None, :m])
        L = linalg.cho_factor(R)
        r = y_obs - eff[i] * u[:m]
        Ri1 = linalg.cho_solve(L, np.ones(m))
        Rir = linalg.cho_solve(L, r)
        a11 = Ri1.sum()
        ah = Rir.sum() / a11
        q = r @ Rir - a11 * ah * ah
        logdet = 2 * np.log(np.diag(L[0])).sum()
        logw[i] = -(m - 1) * np.log(sig[i]) - 0.5 * logdet - 0.5 * np.log(a11) - 0.5 * q / sig[i] ** 2
        ahat[i], avar[i] = ah, sig[i] ** 2 / a11
    w = np.exp(logw - logw.max())
    idx = rng.choice(M, size=n, p=w / w.sum())
    out = np.empty((n, n_days))
    out[:, :m] = y_obs
    for j, i in enumerate(idx):
        alpha = rng.normal(ahat[i], np.sqrt(avar[i]))
        mu = alpha + eff[i] * u
        S = sig[i] ** 2 * phi[i] ** np.abs(t[:, None] - t[None, :])
        Soo, Sfo, Sff = S[:m, :m], S[m:, :m], S[m:, m:]
        K = np.linalg.solve(Soo, Sfo.T).T
        mean_f = mu[m:] + K @ (y_obs - mu[:m])
        cov_f = Sff - K @ Sfo.T
        out[j, m:] = rng.multivariate_normal(mean_f, cov_f)
    return out


def test_completions_match_an_independent_sampler() -> None:
    """The completions of predictive_verdicts against importance sampling with full covariances:
    the predictive probability of 'likely meaningful benefit' and the mean/sd of the future
    contrast agree within Monte Carlo error."""
    from nof1.analysis.bayes import model_priors
    from nof1.models.bayes_exact import fit_exact_batch

    p = small_protocol()
    u = np.array([1.0 if c == "B" else 0.0 for c in p.allocation_days()])
    pri = model_priors(p, p.primary, carryover="none")
    rng = np.random.default_rng(12)
    for k, (eff, phi) in enumerate(((-0.9, 0.3), (-0.5, 0.7))):
        y = 5.0 + eff * u + ar1(rng, phi, 0.8, u.size)
        cut = 21
        td = TrialData.from_frame(p, pd.DataFrame({"day": np.arange(1, cut + 1), "y": y[:cut]}))
        n = 1500
        ours = predictive_verdicts(td, today=cut, completions=n, seed=k)["probabilities"][nof1.constants.VERDICT_BENEFIT]
        ref_y = _reference_completions(p, y[:cut], u.size, n, seed=100 + k)
        res = fit_exact_batch(ref_y, u, priors=pri, mcid=0.5, better="lower")
        ref = float(np.mean((res.prob_meaningful_benefit >= 0.8) & (res.prob_meaningful_harm < 0.05)))
        se = math.sqrt(ref * (1 - ref) / n * 2)
        assert abs(ours - ref) < 4 * se + 0.01, (k, ours, ref, se)
