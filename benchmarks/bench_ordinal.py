"""Speed of the Bayesian ordinal model: a 56-day 0–10 rating trial, fitted end to end.

Measures, in this fresh process (so the first fit pays for ``import pymc`` and for building the
model; PyTensor's on-disk compile cache is assumed warm — run the script twice the first time):

* ``first fit``: wall time from before ``import pymc`` to the finished ``fit_bayes_discrete``
  result (2 chains × 1,000 draws after 1,000 tuning, BlackJAX NUTS, chains one after the other),
  i.e. what a user waits for in ``nof1 analyze`` — with empty caches when
  ``JAX_COMPILATION_CACHE_DIR`` and ``PYTENSOR_FLAGS=base_compiledir=`` point at a new folder;
* ``refit``: the same model on new data (compiled program reused, only sampling);

with CPU seconds and the load average (the machine is shared, so wall times vary with load).
The reference point is the R package nof1, which needs ≈ 43 s for the same-sized ordinal fit
without autocorrelation or carryover (JAGS, its default run length). Targets: first fit ≤ 10 s, refit ≤ 1.5 s.

Run:
    PYTENSOR_FLAGS=base_compiledir=.venv/pytensor-cache .venv/bin/python benchmarks/bench_ordinal.py

Example:
    >>> trial_data(seed=1).protocol.primary.type      # doctest: +SKIP
    'ordinal'
"""

from __future__ import annotations

import os
import time

T_START = time.perf_counter()
C_START = time.process_time()

import pandas as pd  # noqa: E402
from calibration_ordinal import simulate_trial  # noqa: E402

from nof1.data import TrialData  # noqa: E402


def trial_data(seed: int) -> TrialData:
    """A simulated 56-day ABAB trial of a 0–10 rating (calibration_ordinal's generator): latent
    effect −1, latent AR(1) with φ 0.5 and sd 1, onset/decay τ = 1 day."""
    return simulate_trial(beta=-1.0, phi=0.5, seed=seed)[0]


def main() -> None:
    from nof1.analysis.discrete import fit_bayes_discrete

    rows = []

    def run(label: str, seed: int, t0: float, c0: float) -> None:
        r = fit_bayes_discrete(trial_data(seed), "pain", ("B", "A"), seed=seed)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        d = r.fit.posterior_draws.diagnostics
        rows.append({
            "run": label, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "translate_s": round(d["compile_seconds"], 2),
            "sampling_s": round(d["sampling_seconds"], 2),
            "tree_size": round(d["mean_tree_size"], 1),
            "r_hat": round(r.extras["r_hat"], 3), "ess_bulk": round(r.extras["ess_bulk"]),
            "estimate": round(r.estimate, 2),
            "rating_diff": round(r.extras["rating_difference"]["estimate"], 2),
        })

    run("first fit (fresh process)", 1, T_START, C_START)
    run("refit (compiled model reused)", 2, time.perf_counter(), time.process_time())
    run("refit again", 3, time.perf_counter(), time.process_time())
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False))
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"\nload average during the run: {load[0]:.2f} (1 min), {load[1]:.2f} (5 min) on "
          f"{os.cpu_count()} CPUs (wall times grow with the load of other processes)")
    first, refit = rows[0], min(r["wall_s"] for r in rows[1:])
    print(f"first fit {first['wall_s']:.1f} s wall (target <= 10 s; was 41-45 s with numba "
          f"chains; R nof1 ~43 s without AR or carryover); refit {refit:.2f} s (target <= 1.5 s)")


if __name__ == "__main__":
    main()
