"""Speed of the Bayesian discrete models: a 56-day trial of a 0–10 rating (ordinal), a count or
a yes/no outcome, fitted end to end (``--family ordinal|count|binary``; default ordinal).

Measures, in this fresh process (so the first fit pays for ``import pymc`` and for building the
model; PyTensor's on-disk compile cache is assumed warm — run the script twice the first time):

* ``first fit``: wall time from before ``import pymc`` to the finished ``fit_bayes_discrete``
  result (2 chains × 1,000 draws after 1,000 tuning, BlackJAX NUTS, chains one after the other),
  i.e. what a user waits for in ``nof1 analyze`` — with empty caches when
  ``JAX_COMPILATION_CACHE_DIR`` and ``PYTENSOR_FLAGS=base_compiledir=`` point at a new folder;
* ``refit``: the same model on new data (compiled program reused, only sampling);

with CPU seconds and the load average (the machine is shared, so wall times vary with load).
``--json`` prints one JSON line instead (read by ``bench_speed_targets.py``, which runs this
script in fresh processes with empty caches).
The reference point is the R package nof1, which needs ≈ 43 s for the same-sized ordinal fit
without autocorrelation or carryover (JAGS, its default run length). Targets: first fit ≤ 10 s, refit ≤ 1.5 s.

Run:
    PYTENSOR_FLAGS=base_compiledir=.venv/pytensor-cache .venv/bin/python benchmarks/bench_ordinal.py

Example:
    >>> trial_data(seed=1).protocol.primary.type      # doctest: +SKIP
    'ordinal'
"""

from __future__ import annotations

import argparse
import json
import os
import time

T_START = time.perf_counter()
C_START = time.process_time()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from calibration_ordinal import simulate_trial  # noqa: E402

from nof1.data import TrialData  # noqa: E402
from nof1.models.exposure import exposure  # noqa: E402
from nof1.protocol import Protocol  # noqa: E402


def _protocol(family: str) -> Protocol:
    outcome = {"name": "pain", "type": family, "better": "lower", "role": "primary",
               "mcid": 1.0 if family == "count" else 0.1}
    if family == "binary":
        outcome["range"] = [0, 1]
    return Protocol.model_validate({
        "schema_version": 1, "id": f"bench-{family}", "title": f"{family} benchmark",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Active", "role": "treatment"}},
        "design": {"period_days": 14, "sequence": ["A", "B", "A", "B"]},
        "outcomes": [outcome], "analysis": {"carryover": "model"},
    })


def trial_data(seed: int, family: str = "ordinal") -> TrialData:
    """A simulated 56-day ABAB trial: a 0–10 rating (calibration_ordinal's generator: latent
    effect −1, latent AR(1) with φ 0.5 and sd 1, onset/decay τ = 1 day), or, from the same
    latent structure, a negative-binomial count (mean 3 on placebo, dispersion 5, log rate
    ratio −0.5) or a yes/no outcome (P(yes) 0.5 on placebo, log odds ratio −1)."""
    if family == "ordinal":
        return simulate_trial(beta=-1.0, phi=0.5, seed=seed)[0]
    p = _protocol(family)
    rng = np.random.default_rng(seed)
    sched = p.schedule()
    n = len(sched)
    x = exposure((sched["condition"] == "B").to_numpy(float), 1.0)
    z = np.empty(n)
    z[0] = 0.5 * rng.standard_normal()
    for i in range(1, n):
        z[i] = 0.5 * z[i - 1] + 0.5 * np.sqrt(1 - 0.25) * rng.standard_normal()
    if family == "count":
        mean = np.exp(np.log(3.0) - 0.5 * x + z)
        y = rng.negative_binomial(5.0, 5.0 / (5.0 + mean)).astype(float)
    else:
        y = (rng.random(n) < 1 / (1 + np.exp(-(-1.0 * x + z)))).astype(float)
    return TrialData.from_frame(p, pd.DataFrame({"day": sched["day"], "pain": y}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", choices=("ordinal", "count", "binary"), default="ordinal")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    opts = ap.parse_args()
    from nof1.analysis.discrete import fit_bayes_discrete

    rows = []

    def run(label: str, seed: int, t0: float, c0: float) -> None:
        r = fit_bayes_discrete(trial_data(seed, opts.family), "pain", ("B", "A"), seed=seed)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        d = r.fit.posterior_draws.diagnostics
        rows.append({
            "run": label, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "translate_s": round(d["compile_seconds"], 2),
            "sampling_s": round(d["sampling_seconds"], 2),
            "tree_size": round(d["mean_tree_size"], 1),
            "r_hat": round(r.extras["r_hat"], 3), "ess_bulk": round(r.extras["ess_bulk"]),
            "estimate": round(r.estimate, 2),
        })

    run("first fit (fresh process)", 1, T_START, C_START)
    run("refit (compiled model reused)", 2, time.perf_counter(), time.process_time())
    run("refit again", 3, time.perf_counter(), time.process_time())
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    if opts.json:
        print(json.dumps({"family": opts.family, "first_fit_s": rows[0]["wall_s"],
                          "refit_s": min(r["wall_s"] for r in rows[1:]),
                          "r_hat": max(r["r_hat"] for r in rows), "load": load[0]}))
        return
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False))
    print(f"\nload average during the run: {load[0]:.2f} (1 min), {load[1]:.2f} (5 min) on "
          f"{os.cpu_count()} CPUs (wall times grow with the load of other processes)")
    first, refit = rows[0], min(r["wall_s"] for r in rows[1:])
    print(f"{opts.family}: first fit {first['wall_s']:.1f} s wall (target <= 10 s; ordinal was "
          f"41-45 s with numba chains; R nof1 ~43 s without AR or carryover); refit {refit:.2f} s "
          f"(target <= 1.5 s)")


if __name__ == "__main__":
    main()
