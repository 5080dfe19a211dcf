"""Speed of design evaluation (``nof1.design``) on the beetroot protocol (126 days, 4 pairs).

Times, after a warm-up (imports, first calls):

* 2,000 simulated trials of the default design through ``gls_ar1`` and ``bayes`` (one batch:
  simulation + batched REML GLS + batched exact Bayesian engine) — target <= 10 s;
* the same through :func:`nof1.design.evaluate` (which also runs the 2,000 trials at effect 0
  for the false-positive rate, and the randomisation test);
* 10,000 simulated trials through ``gls_ar1`` — target <= 5 s;
* loops of statsmodels fits on the same simulated trials (1,000): the like-for-like one —
  ``sm.GLS`` with the AR(1) correlation φ^|Δday| inside a bounded scalar search for the REML φ
  (timed on a fifth of them and scaled) — plus ``GLSAR.iterative_fit`` (Yule-Walker ρ, days
  treated as consecutive) and a single ``sm.GLS`` at nof1's φ̂; with the speed ratio of the
  batched REML fit against each (CPU time);
* :func:`nof1.design.compare` with its defaults (the ``nof1 design --compare`` table).

Run with ``.venv/bin/python benchmarks/bench_design.py [--sims 2000] [--gls-sims 10000]
[--statsmodels 1000] [--no-compare]``. Timings are wall-clock medians of ``--repeats`` runs and
CPU time of the process (on a shared machine the CPU time is the steadier figure).

Example output (2 shared CPU cores)::

    design evaluation, beetroot protocol (126 days; sd 1.5, phi 0.4, effect -1.5)
      2000 trials: simulate + gls_ar1 + bayes          4.1 s wall  (target 10 s: OK)
      ...
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import nof1
from nof1.design import compare, evaluate
from nof1.design_methods import Context, analyse_bayes, analyse_gls
from nof1.simulation import simulate_batch

ROOT = Path(__file__).resolve().parents[1]
EFFECT, SD, PHI = -1.5, 1.5, 0.4


def _timed(func: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Median wall time and median CPU time of ``repeats`` runs, and the last result."""
    walls, cpus = [], []
    out = None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = func()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), out


def _verdict(wall: float, cpu: float, limit: float) -> str:
    """Target check on wall time; on a shared machine also say whether the CPU time is within it."""
    if wall <= limit:
        return f"(target {limit:g} s: OK)"
    return f"(target {limit:g} s: wall SLOWER; CPU {'within' if cpu <= limit else 'also over'})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sims", type=int, default=2000)
    ap.add_argument("--gls-sims", type=int, default=10_000)
    ap.add_argument("--statsmodels", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-compare", action="store_true")
    args = ap.parse_args()

    p = nof1.load_protocol(ROOT / "protocols" / "beetroot-juice-rls.yaml")
    o = p.primary
    ctx = Context(protocol=p, outcome=o, contrast_code=1, ci_level=p.analysis.ci_level, alpha=0.05)

    def batch(n: int, seed: int = 1):
        return simulate_batch(p, effect=EFFECT, sd=SD, phi=PHI, n=n, seed=seed, allocations="random",
                              include_run_in=True, outcome=o.name, baseline=5.0)

    # warm-up: imports and first calls
    w = batch(50)
    analyse_gls(w, ctx)
    analyse_bayes(w, ctx)
    evaluate(p, effect=EFFECT, sd=SD, phi=PHI, sims=20, seed=1)

    print(f"design evaluation, beetroot protocol ({p.total_days} days; sd {SD}, phi {PHI}, effect {EFFECT})")
    n = args.sims

    def both() -> tuple[float, float]:
        b = batch(n)
        g = analyse_gls(b, ctx)
        y = analyse_bayes(b, ctx)
        return float(g.success.mean()), float(y.success.mean())

    wall, cpu, (pg, pb) = _timed(both, args.repeats)
    print(f"  {n} trials: simulate + gls_ar1 + bayes        {wall:6.2f} s wall, {cpu:6.2f} s CPU  "
          f"{_verdict(wall, cpu, 10)}   power gls {pg:.3f}, bayes {pb:.3f}")
    parts = {}
    b = batch(n)
    for name, f in (("simulate", lambda: batch(n)), ("gls_ar1", lambda: analyse_gls(b, ctx)),
                    ("bayes", lambda: analyse_bayes(b, ctx))):
        parts[name] = _timed(f, 1)[0]
    print("    of which " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())
          + f"  (bayes {1000 * parts['bayes'] / n:.2f} ms per trial)")
    wall, cpu, ev = _timed(lambda: evaluate(p, effect=EFFECT, sd=SD, phi=PHI, sims=n, seed=1), 1)
    print(f"  evaluate(sims={n}): + {n} trials at effect 0, + randomisation test "
          f"{wall:6.2f} s wall, {cpu:6.2f} s CPU")

    ng = args.gls_sims

    def gls_only() -> float:
        return float(analyse_gls(batch(ng, seed=2), ctx).success.mean())

    wall, cpu, pg = _timed(gls_only, args.repeats)
    print(f"  {ng} trials: simulate + gls_ar1               {wall:6.2f} s wall, {cpu:6.2f} s CPU  "
          f"{_verdict(wall, cpu, 5)}   power gls {pg:.3f}")

    # ------------------------------------------------------------------ statsmodels loop
    import statsmodels.api as sm

    from nof1.models.gls import gls_ar1_batch

    k = args.statsmodels
    bs = batch(k, seed=3)
    run_in = p.design.run_in_days
    keep = bs.day > run_in
    y_all = np.where(bs.full("washout")[:, keep], np.nan, bs.y[:, keep])
    day = bs.day[keep]
    treat = bs.full("treat")[:, keep].astype(float)
    trend = (day - day.mean()).astype(float)
    X_all = np.stack([np.ones_like(treat), treat, np.broadcast_to(trend, treat.shape)], axis=-1)
    ours = gls_ar1_batch(y_all, X_all, day)

    def glsar_loop() -> np.ndarray:
        hits = np.zeros(k, dtype=bool)
        for i in range(k):
            m = np.isfinite(y_all[i])
            res = sm.GLSAR(y_all[i, m], X_all[i, m], rho=1).iterative_fit(maxiter=10)
            hits[i] = res.pvalues[1] < 0.05 and res.params[1] < 0
        return hits

    def gls_loop() -> np.ndarray:
        hits = np.zeros(k, dtype=bool)
        for i in range(k):
            m = np.isfinite(y_all[i])
            d = day[m]
            sigma = ours.phi[i] ** np.abs(d[:, None] - d[None, :])
            res = sm.GLS(y_all[i, m], X_all[i, m], sigma=sigma).fit()
            hits[i] = res.pvalues[1] < 0.05 and res.params[1] < 0
        return hits

    def reml_loop(n_fit: int) -> Callable[[], np.ndarray]:
        """statsmodels GLS inside a bounded scalar search for the REML φ (nof1's model, in a loop)."""
        from scipy.optimize import minimize_scalar

        def run() -> np.ndarray:
            hits = np.zeros(n_fit, dtype=bool)
            for i in range(n_fit):
                m = np.isfinite(y_all[i])
                yi, Xi, d = y_all[i, m], X_all[i, m], day[m]
                lag = np.abs(d[:, None] - d[None, :])
                n_obs, n_par = Xi.shape
                logdet_xtx = np.linalg.slogdet(Xi.T @ Xi)[1]

                def neg_reml(phi: float, yi: np.ndarray = yi, Xi: np.ndarray = Xi, lag: np.ndarray = lag,
                             n_obs: int = n_obs, n_par: int = n_par, ldx: float = logdet_xtx) -> float:
                    R = phi ** lag
                    res = sm.GLS(yi, Xi, sigma=R).fit()
                    s2 = res.ssr / (n_obs - n_par)   # ssr of the whitened model
                    xrx = np.linalg.slogdet(res.model.wexog.T @ res.model.wexog)[1]
                    ldr = np.linalg.slogdet(R)[1]
                    return 0.5 * ((n_obs - n_par) * np.log(2 * np.pi * s2) + (n_obs - n_par) + ldr
                                  + xrx - ldx)

                phi = minimize_scalar(neg_reml, bounds=(-0.99, 0.99), method="bounded",
                                      options={"xatol": 1e-4}).x
                res = sm.GLS(yi, Xi, sigma=phi ** lag).fit()
                hits[i] = res.pvalues[1] < 0.05 and res.params[1] < 0
            return hits

        return run

    def ours_fit() -> np.ndarray:
        fit = gls_ar1_batch(y_all, X_all, day)
        c = fit.contrast([0.0, 1.0, 0.0])
        return (c["p_value"] < 0.05) & (c["estimate"] < 0)

    n_reml = max(k // 5, 20)
    w_ours, c_ours, p_ours = _timed(ours_fit, args.repeats)
    w_glsar, c_glsar, p_glsar = _timed(glsar_loop, 1)
    w_gls, c_gls, p_gls = _timed(gls_loop, 1)
    w_reml, c_reml, p_reml = _timed(reml_loop(n_reml), 1)
    scale = k / n_reml
    print(f"  fits only, the same {k} simulated trials (CPU time per fit; ratio = CPU time vs nof1):")
    rows = [
        ("nof1 gls_ar1_batch: REML φ (grid + golden), gaps", c_ours, w_ours, p_ours, None),
        ("statsmodels GLS + REML φ search (scipy), loop", c_reml * scale, w_reml * scale, p_reml,
         f"(timed on {n_reml})"),
        ("statsmodels GLSAR iterative_fit, loop", c_glsar, w_glsar, p_glsar, "(Yule-Walker ρ, no gaps)"),
        ("statsmodels GLS at nof1's φ̂, loop", c_gls, w_gls, p_gls, "(φ given, one fit)"),
    ]
    for label, cpu_s, wall_s, dec, note in rows:
        ratio = "" if cpu_s is c_ours else f"  nof1 {cpu_s / c_ours:4.0f}x faster"
        same = np.mean(dec == p_ours[: dec.size])
        print(f"    {label:<50} {1e3 * cpu_s / k:7.3f} ms/fit CPU ({1e3 * wall_s / k:7.3f} wall)"
              f"  power {dec.mean():.3f}, same verdict as nof1 {same:6.1%}{ratio} {note or ''}")

    if not args.no_compare:
        wall, cpu, cmp = _timed(lambda: compare(p, effect=EFFECT, sd=SD, phi=PHI, seed=1), 1)
        print(f"  compare() defaults: {len(cmp.table)} designs x {cmp.scenario['sims']} trials (x2) "
              f"{wall:6.2f} s wall, {cpu:6.2f} s CPU")


if __name__ == "__main__":
    main()
