"""Speed of the pooled (hierarchical) model: 50 participants × 56 days by default.

Simulates a series (each person with their own start date, randomised pairs sequence and effect
``β_i ~ N(−1, 0.5)``, AR(1) φ = 0.3, carryover τ = 1 day, 5% missing days), then times

* the hierarchical model alone (``nof1.pool(..., own="none")``: graph compilation + NUTS), and
* each person's own single-trial fit (``own="auto"``, run separately),

and prints the figures with the convergence diagnostics and the recovered population mean.
Run with ``.venv/bin/python benchmarks/bench_pooling.py [--participants 50] [--draws 1000]
[--tune 1000] [--chains 2] [--cores 1]``; export
``PYTENSOR_FLAGS=base_compiledir=.venv/pytensor-cache`` so that compiled code is cached.

Example output (2 shared CPU cores)::

    pooled model, 50 participants x 56 days (2 chains x 1000 draws, 1000 tune, 1 core)
      model fit (compile + sample)      48.9 s   (limit 120 s: OK)
      ...
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time

import numpy as np

import nof1
from nof1.data import TrialData
from nof1.pooling import own_estimates, series_from_trials

LIMIT_SECONDS = 120.0


def protocol() -> nof1.Protocol:
    """Randomised pairs of 7-day periods: 4 pairs = 56 trial days, 2 washout days."""
    return nof1.Protocol.model_validate({
        "schema_version": 1, "id": "bench-pool", "title": "Pooling benchmark",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Active", "role": "treatment"}},
        "design": {"period_days": 7, "washout_days": 2,
                   "randomization": {"scheme": "pairs", "pairs": 4, "seed": 1}},
        "outcomes": [{"name": "severity", "range": [0, 10], "better": "lower", "mcid": 1,
                      "role": "primary"}],
    })


def series(n: int, seed: int = 1) -> tuple[TrialData, np.ndarray]:
    p = protocol()
    rng = np.random.default_rng(seed)
    effects = -1.0 + 0.5 * rng.normal(size=n)
    allocations = p.allocations()
    trials = {}
    for i in range(n):
        start = dt.date(2026, 1, 1) + dt.timedelta(days=int(rng.integers(0, 90)))
        alloc = allocations[int(rng.integers(0, len(allocations)))]
        log = nof1.simulate(p, effect=float(effects[i]), sd=1.0, phi=0.3, carryover_days=1.0,
                            baseline=5.0, missing=0.05, seed=int(rng.integers(2**31)),
                            outcome="severity", start=start, allocation=alloc)
        trials[f"P{i + 1:03d}"] = TrialData.from_frame(p, log, start=start, allocation=alloc)
    return series_from_trials(trials), effects


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=50)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--cores", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-own", action="store_true", help="skip the own single-trial fits")
    ap.add_argument("--gradient", action="store_true",
                    help="also time one log-density gradient (what NUTS evaluates at every step)")
    ap.add_argument("--json", action="store_true",
                    help="print one JSON line (fit seconds, sampling seconds, peak memory, "
                         "diagnostics) instead of the text")
    args = ap.parse_args()
    os.environ.setdefault("PYTENSOR_FLAGS", "base_compiledir=.venv/pytensor-cache")

    t_sim = time.perf_counter()
    td, effects = series(args.participants, args.seed)
    simulate_s = time.perf_counter() - t_sim
    n_days = protocol().trial_days
    t0 = time.perf_counter()
    res = nof1.pool(td, seed=args.seed, draws=args.draws, tune=args.tune, chains=args.chains,
                    cores=args.cores, own="none")
    fit_s = time.perf_counter() - t0
    sampling = float(res.posterior["posterior"].attrs.get("sampling_time", float("nan")))
    d = res.diagnostics
    pop, sd_b = res.population, res.between_sd
    steps = float(res.posterior["sample_stats"]["n_steps"].mean())
    grad_ms = float("nan")
    if args.gradient:
        from nof1.models.hierarchical import gradient_seconds
        from nof1.pooling import series_model_inputs

        arrays, priors, tau_mode = series_model_inputs(td, res.outcome)
        grad_ms = 1e3 * gradient_seconds(arrays, priors, tau=tau_mode)
    if args.json:
        import json
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2   # KiB -> GiB
        print(json.dumps({"participants": args.participants, "days": n_days,
                          "fit_s": round(fit_s, 2), "sampling_s": round(sampling, 2),
                          "simulate_s": round(simulate_s, 2), "peak_rss_gib": round(peak, 2),
                          "r_hat_max": d["r_hat_max"], "ess_bulk_min": d["ess_bulk_min"],
                          "divergences": d["divergences"],
                          "steps_per_draw": round(steps, 2), "gradient_ms": round(grad_ms, 3),
                          "retried": res.posterior["posterior"].attrs.get("retried", ""),
                          "target_accept": res.settings["target_accept"],
                          "mu": [pop["estimate"], pop["ci_low"], pop["ci_high"]],
                          "true_mean": float(effects.mean()), "load": os.getloadavg()[0]}))
        return
    print(f"pooled model, {args.participants} participants x {n_days} days "
          f"({args.chains} chains x {args.draws} draws, {args.tune} tune, chains in parallel)")
    verdict = "OK" if fit_s <= LIMIT_SECONDS else "TOO SLOW"
    print(f"  model fit (compile + sample)   {fit_s:7.1f} s   (limit {LIMIT_SECONDS:.0f} s: {verdict})")
    print(f"    of which NUTS sampling        {sampling:7.1f} s")
    if not args.no_own:
        t0 = time.perf_counter()
        method, _ = own_estimates(td, res.outcome, seed=args.seed)
        print(f"  own single-trial fits ({method})  {time.perf_counter() - t0:7.1f} s")
    print(f"  r_hat max {d['r_hat_max']:.3f}, bulk ESS min {d['ess_bulk_min']:.0f}, "
          f"divergences {d['divergences']}")
    print(f"  population mean {pop['estimate']:.2f} [{pop['ci_low']:.2f}, {pop['ci_high']:.2f}] "
          f"(true mean of the simulated effects {effects.mean():.2f}); between-person sd "
          f"{sd_b['estimate']:.2f} [{sd_b['ci_low']:.2f}, {sd_b['ci_high']:.2f}] (true 0.5)")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
