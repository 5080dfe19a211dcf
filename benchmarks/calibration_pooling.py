"""Calibration of the pooled (series-of-trials) model, and its sampler settings compared.

Each simulated series is ``--participants`` people (default 20), each a 56-day randomised-pairs
trial (7-day periods, 2 washout days, 5% of days missing, own start date and sequence) with
their own effect ``β_i ~ N(μ = −1, 0.5²)``, AR(1) errors (φ = 0.3, sd 1) and first-order
onset/decay (τ = 1 day): ``bench_pooling.series``, a new seed per series. Every series is fitted
by ``nof1.pool`` (hierarchical model, 2 chains × 1,000 draws after 1,000 tuning):

* with the default sampler settings (NUTS target acceptance 0.8, chains in parallel), and
* with ``--compare`` (default on) also at target acceptance 0.9, the setting before issue 16,

and reports the coverage of the true population mean μ = −1 and between-person sd 0.5 by the 95%
intervals (target 92–98%), the worst r̂, divergences, and — on the same series — how far the
two settings' interval ends are apart, in units of their Monte Carlo standard error (an
interval end of 2,000 draws with ESS ≥ 400 moves by about 0.06 posterior sds from run to run).

Run:
    .venv/bin/python benchmarks/calibration_pooling.py [--series 60] [--participants 20]

Example:
    >>> td, effects = series(20, seed=3)        # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_pooling import series

import nof1

OUT = Path(__file__).resolve().parent / "out" / "calibration_pooling.csv"
MU, BETWEEN_SD = -1.0, 0.5


def fit_row(td: nof1.TrialData, seed: int, target_accept: float | None, prefix: str) -> dict:
    t0 = time.perf_counter()
    res = nof1.pool(td, seed=seed, own="none", target_accept=target_accept)
    pop, sd_b = res.population, res.between_sd
    d = res.diagnostics
    mu_draws = np.asarray(res.posterior["posterior"]["mu"]).ravel()
    return {
        f"{prefix}seconds": time.perf_counter() - t0,
        f"{prefix}mu_low": pop["ci_low"], f"{prefix}mu_high": pop["ci_high"],
        f"{prefix}mu_est": pop["estimate"], f"{prefix}mu_sd": float(mu_draws.std()),
        f"{prefix}mu_covered": pop["ci_low"] <= MU <= pop["ci_high"],
        f"{prefix}sd_low": sd_b["ci_low"], f"{prefix}sd_high": sd_b["ci_high"],
        f"{prefix}sd_covered": sd_b["ci_low"] <= BETWEEN_SD <= sd_b["ci_high"],
        f"{prefix}r_hat": d["r_hat_max"], f"{prefix}ess_bulk": d["ess_bulk_min"],
        f"{prefix}divergences": d["divergences"],
        f"{prefix}target_accept": res.settings["target_accept"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=60)
    ap.add_argument("--participants", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7000)
    ap.add_argument("--no-compare", action="store_true", help="skip the target_accept 0.9 fits")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    t_start = time.perf_counter()
    rows = []
    for i in range(args.series):
        seed = args.seed + i
        td, _effects = series(args.participants, seed)
        row = {"series": i, "seed": seed}
        row.update(fit_row(td, seed, None, ""))
        if not args.no_compare:
            row.update(fit_row(td, seed, 0.9, "old_"))
        rows.append(row)
        if (i + 1) % 10 == 0:
            print(f"  {i + 1}/{args.series} series, {time.perf_counter() - t_start:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    n = len(df)

    def cover(col: str) -> str:
        p = df[col].mean()
        return f"{p:.3f} (± {1.96 * np.sqrt(p * (1 - p) / n):.3f})"

    print(f"\npooled model, {n} series of {args.participants} people x 56 days, 95% intervals")
    print(f"  default settings (target_accept {df['target_accept'].iloc[0]:.2f}; "
          f"{int((df['target_accept'] > 0.8).sum())} series resampled at 0.95 after divergences)")
    print(f"    coverage of mu = {MU}: {cover('mu_covered')}; of between sd {BETWEEN_SD}: "
          f"{cover('sd_covered')}")
    print(f"    worst r_hat {df['r_hat'].max():.3f}, smallest bulk ESS {df['ess_bulk'].min():.0f}, "
          f"divergences {int(df['divergences'].sum())}; median fit {df['seconds'].median():.1f} s")
    if not args.no_compare:
        print("  target_accept 0.9 (before issue 16), same series")
        print(f"    coverage of mu: {cover('old_mu_covered')}; of between sd: {cover('old_sd_covered')}")
        print(f"    worst r_hat {df['old_r_hat'].max():.3f}, divergences "
              f"{int(df['old_divergences'].sum())}; median fit {df['old_seconds'].median():.1f} s")
        # interval ends of the two settings, in posterior sds of mu: the Monte Carlo error of a
        # 2.5% quantile from ESS draws is about sqrt(q(1-q))/(phi(z_q) sqrt(ESS)) sds = 2.7/sqrt(ESS)
        ess = np.minimum(df["ess_bulk"], df["old_ess_bulk"]).clip(lower=1)
        mc = 2.7 / np.sqrt(ess) * np.sqrt(2)        # sd of the difference of two independent runs
        for end in ("low", "high"):
            z = (df[f"mu_{end}"] - df[f"old_mu_{end}"]) / df["mu_sd"] / mc
            print(f"    mu interval {end} end, new - old: mean {z.mean():+.2f}, sd {z.std():.2f} "
                  f"Monte Carlo sds (no systematic change: mean within ±{2 / np.sqrt(n):.2f}; "
                  f"sd near 1 or below)")
    runtime = time.perf_counter() - t_start
    print(f"\n{n} series in {runtime / 60:.1f} min; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs; wrote {args.out}")


if __name__ == "__main__":
    main()
