"""Data sets and outputs of the exact engine compared with a saved reference
(``tests/fixtures/reference/bayes_exact_reference.json``, written by the engine before its speed-up
with ``python tests/exact_reference_cases.py``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from nof1.models.bayes_exact import ModelPriors, SeriesData, fit_exact, fit_exact_batch
from nof1.models.exposure import exposure

REFERENCE = Path(__file__).parent / "fixtures" / "reference" / "bayes_exact_reference.json"
ABAB = np.repeat([0, 1, 0, 1], 14).astype(float)


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], phi: float) -> np.ndarray:
    z = rng.standard_normal(shape)
    e = np.empty(shape)
    e[..., 0] = z[..., 0]
    for t in range(1, shape[-1]):
        e[..., t] = phi * e[..., t - 1] + math.sqrt(1 - phi * phi) * z[..., t]
    return e


def single_cases() -> dict[str, tuple[SeriesData, ModelPriors, dict]]:
    """name -> (data, priors, summary options)."""
    out = {}
    rng = np.random.default_rng(1)
    y = 5 - exposure(ABAB, 1.5) + _ar1(rng, (56,), 0.4)
    d = SeriesData(y=y, day=np.arange(1, 57), u=ABAB[None])
    out["abab_tau"] = (d, ModelPriors.from_scale(10.0), {"mcid": 1.0})
    out["abab_tau0"] = (d, ModelPriors.from_scale(10.0, tau_fixed=0.0), {"mcid": 1.0})
    out["abab_null_higher"] = (
        SeriesData(y=3 + 1.2 * _ar1(rng, (56,), 0.6), day=np.arange(1, 57), u=ABAB[None]),
        ModelPriors.from_scale(10.0, kind="sceptical", mcid=0.5), {"mcid": 0.5, "better": "higher"})
    # run-in, trend, gaps, a covariate
    seq = "BABABAAB"
    u = np.concatenate([np.zeros(14)] + [np.full(14, 1.0 if c == "B" else 0.0) for c in seq])
    yy = 4 + 0.8 * exposure(u, 2.0) + 0.01 * np.arange(u.size) + _ar1(rng, (u.size,), 0.3)
    keep = rng.uniform(size=u.size) > 0.25
    day = np.arange(1, u.size + 1)[keep]
    z = rng.normal(size=day.size)
    out["beetroot_gaps_cov"] = (
        SeriesData(y=yy[keep] + 0.3 * z, day=day, u=u[None], trend=True, run_in_days=14,
                   covariates=z[:, None], covariate_names=("sleep",)),
        ModelPriors.from_scale(10.0, tau_median=2.0), {"mcid": 1.0})
    # three conditions (K = 2), φ fixed
    codes = np.repeat([0, 1, 2, 0, 2, 1], 10)
    U = np.stack([(codes == 1).astype(float), (codes == 2).astype(float)])
    y3 = 2 + 1.0 * exposure(U[0], 1.0) - 0.5 * exposure(U[1], 1.0) + _ar1(rng, (60,), 0.2)
    out["three_arm_phi_fixed"] = (
        SeriesData(y=y3, day=np.arange(1, 61), u=U),
        ModelPriors.from_scale(10.0, n_treatments=2, phi_fixed=0.3), {"mcid": 1.0})
    out["three_arm"] = (SeriesData(y=y3, day=np.arange(1, 61), u=U),
                        ModelPriors.from_scale(10.0, n_treatments=2), {})
    return out


def single_outputs(data: SeriesData, priors: ModelPriors, opts: dict) -> dict:
    post = fit_exact(data, priors)
    K = priors.n_treatments
    res = {"summary": post.summary(**opts),
           "phi": post.phi_summary(), "tau": post.tau_summary(), "sigma": post.sigma_summary(),
           "n_nodes": int(post.weights.size),
           "weights_head": post.weights[:50].tolist(), "beta_mean_sum": float(post.beta_mean.sum()),
           "beta_cov_sum": float(post.beta_cov.sum()), "M_sum": float(post.M.sum()),
           "prob_below": post.prob_below(np.eye(K)[0], -0.5)}
    if K == 2:
        res["summary_contrast"] = post.summary(np.array([-1.0, 1.0]), ci_level=0.9, mcid=0.5)
    d = post.draws(200, seed=3)
    res["draws"] = {k: np.asarray(v).reshape(-1)[:20].tolist() for k, v in d.items()}
    return res


def batch_cases() -> dict[str, tuple[tuple, dict]]:
    rng = np.random.default_rng(2)
    Y = 5 - exposure(ABAB, 1.0) + 1.5 * _ar1(rng, (6, 56), 0.4)
    Y[2, [3, 4, 20]] = np.nan
    seq = "BABABAAB"
    u = np.concatenate([np.zeros(14)] + [np.full(14, 1.0 if c == "B" else 0.0) for c in seq])
    Y2 = 5 - exposure(u, 1.0) + 1.5 * _ar1(rng, (5, u.size), 0.4)
    return {
        "abab": ((Y, ABAB), {"priors": ModelPriors.from_scale(10.0), "mcid": 1.0}),
        "abab_tau0": ((Y, ABAB), {"priors": ModelPriors.from_scale(10.0, tau_fixed=0.0), "mcid": 1.0}),
        "beetroot": ((Y2, u, np.arange(1, u.size + 1)),
                     {"priors": ModelPriors.from_scale(10.0), "mcid": 1.0, "trend": True,
                      "run_in_days": 14, "better": "higher"}),
    }


def batch_outputs(args: tuple, kw: dict) -> dict:
    r = fit_exact_batch(*args, **kw)
    return {k: v.tolist() for k, v in r.__dict__.items() if isinstance(v, np.ndarray)}


def compute_all() -> dict:
    return {"single": {k: single_outputs(*v) for k, v in single_cases().items()},
            "batch": {k: batch_outputs(*v) for k, v in batch_cases().items()}}


if __name__ == "__main__":
    REFERENCE.write_text(json.dumps(compute_all(), indent=1, default=float) + "\n")
    print(f"wrote {REFERENCE}")
