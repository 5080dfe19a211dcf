"""Speed of the Bayesian engines (prints figures; targets in brackets, from issues 5 and 16).

* exact engine, one 56-day ABAB fit, warm                       [<= 10 ms]
* the whole ``bayes`` method on that trial (fit + draws + predictive check)
* batched exact engine, 2,000 trials: 56-day ABAB, and the bundled beetroot design (14-day run-in
  + 8 x 14 days, trend on), next to ``gls_ar1_batch`` on the same trials [bayes + gls <= 10 s]
* PyMC engine: cold fit in a fresh process with empty compile caches (PyTensor's and JAX's)
  [<= 10 s], warm refit of a new data set with the compiled model [<= 3 s], both 2 chains x
  (1000 tune + 1000 draws), BlackJAX NUTS, the chains one after the other.

Times are CPU (process) seconds, so that other work on a shared machine does not inflate them;
the PyMC figures are wall-clock seconds of a subprocess (from its start, imports included) and
are printed with the load average. Run: ``.venv/bin/python benchmarks/bench_bayes.py [--no-pymc]``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nof1.models.bayes_exact import ModelPriors, SeriesData, fit_exact, fit_exact_batch
from nof1.models.exposure import exposure

ROOT = Path(__file__).resolve().parents[1]
ABAB = np.repeat([0, 1, 0, 1], 14).astype(float)


def ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float) -> np.ndarray:
    z = rng.standard_normal(shape)
    e = np.empty(shape)
    e[:, 0] = z[:, 0]
    for t in range(1, shape[1]):
        e[:, t] = phi * e[:, t - 1] + math.sqrt(1 - phi * phi) * z[:, t]
    return e


def timed(fn, repeat: int = 1) -> float:
    """Median CPU time of ``fn`` (process time: independent of other load on a shared machine;
    the engines are single-threaded numpy, so it is the wall time of an idle machine)."""
    out = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        out.append(time.process_time() - t)
    return statistics.median(out)


def bench_exact() -> None:
    rng = np.random.default_rng(1)
    y = 5 - exposure(ABAB, 1.5) + ar1(rng, (1, 56), 0.4)[0]
    data = SeriesData(y=y, day=np.arange(1, 57), u=ABAB[None])
    priors = ModelPriors.from_scale(10.0)
    fit_exact(data, priors).summary(mcid=1.0)
    t = timed(lambda: fit_exact(data, priors).summary(mcid=1.0), 15)
    print(f"exact engine, one 56-day fit (carryover modelled), warm: {1000 * t:.1f} ms  [target <= 10 ms]")
    fixed = ModelPriors.from_scale(10.0, tau_fixed=0.0)
    t = timed(lambda: fit_exact(data, fixed).summary(mcid=1.0), 15)
    print(f"exact engine, one 56-day fit (tau fixed), warm: {1000 * t:.1f} ms")

    import nof1
    from nof1.analysis.bayes import bayes
    from nof1.data import TrialData

    p = nof1.Protocol.model_validate({
        "schema_version": 1, "id": "bench", "title": "bench",
        "conditions": {"A": {"label": "A", "role": "control"}, "B": {"label": "B", "role": "treatment"}},
        "design": {"period_days": 14, "sequence": ["A", "B", "A", "B"]},
        "outcomes": [{"name": "y", "range": [0, 10], "better": "lower", "mcid": 1, "role": "primary"}],
    })
    import pandas as pd

    td = TrialData.from_frame(p, pd.DataFrame({"day": np.arange(1, 57), "y": y}))
    bayes(td, "y", ("B", "A"), seed=1)
    seeds = iter(range(100, 200))
    t = timed(lambda: bayes(td, "y", ("B", "A"), seed=next(seeds)), 5)
    print(f"bayes method (fit + 4000 draws + predictive check), 56 days: {1000 * t:.0f} ms")


def bench_batch(n: int = 2000) -> None:
    from nof1.models.gls import gls_ar1_batch

    rng = np.random.default_rng(2)
    priors = ModelPriors.from_scale(10.0)
    # 56-day ABAB, no run-in
    Y = 5 - exposure(ABAB, 1.0) + 1.5 * ar1(rng, (n, 56), 0.4)
    day = np.arange(1, 57)
    fit_exact_batch(Y[:50], ABAB, day, priors=priors, mcid=1.0)
    tb = timed(lambda: fit_exact_batch(Y, ABAB, day, priors=priors, mcid=1.0))
    X = np.column_stack([np.ones(56), ABAB])
    Yg = np.where((np.arange(56) % 14) < 4, np.nan, Y)
    tg = timed(lambda: gls_ar1_batch(Yg, X, day))
    print(f"batched exact engine, {n} trials of 56 days: {tb:.2f} s (+ gls_ar1_batch {tg:.2f} s = "
          f"{tb + tg:.2f} s)  [target bayes + gls <= 10 s]")
    # the bundled beetroot design: 14-day run-in + BABABAAB x 14 days, trend on
    seq = "BABABAAB"
    u = np.concatenate([np.zeros(14)] + [np.full(14, 1.0 if c == "B" else 0.0) for c in seq])
    days = u.size
    Y = 5 - exposure(u, 1.0) + 1.5 * ar1(rng, (n, days), 0.4)
    day = np.arange(1, days + 1)
    tb = timed(lambda: fit_exact_batch(Y, u, day, priors=priors, mcid=1.0, trend=True, run_in_days=14))
    trend = (day - day.mean()) / 28.0
    X = np.column_stack([np.ones(days), (day <= 14).astype(float), trend, u])
    wash = np.concatenate([np.zeros(14, bool), np.tile(np.arange(14) < 4, 8)])
    tg = timed(lambda: gls_ar1_batch(np.where(wash, np.nan, Y), X, day))
    print(f"batched exact engine, {n} trials of the beetroot design ({days} days, run-in, trend): "
          f"{tb:.2f} s (+ gls_ar1_batch {tg:.2f} s = {tb + tg:.2f} s)")


PYMC_SCRIPT = r"""
import time, math, numpy as np
t0 = time.perf_counter()
from nof1.models.bayes_exact import ModelPriors, SeriesData
from nof1.models.bayes_pymc import fit_pymc
from nof1.models.exposure import exposure
u = np.repeat([0, 1, 0, 1], 14).astype(float)
def data(seed, n=56):
    rng = np.random.default_rng(seed)
    e = np.empty(56); e[0] = rng.standard_normal()
    for t in range(1, 56):
        e[t] = 0.4 * e[t - 1] + math.sqrt(1 - 0.16) * rng.standard_normal()
    return SeriesData(y=(5 - exposure(u, 1.5) + e)[:n], day=np.arange(1, n + 1), u=u[None, :n])
pr = ModelPriors.from_scale(10.0)
t1 = time.perf_counter()
p = fit_pymc(data(1), pr, draws=1000, tune=1000, chains=2, seed=1)
t2 = time.perf_counter()
q = fit_pymc(data(2), pr, draws=1000, tune=1000, chains=2, seed=2)
t3 = time.perf_counter()
r = fit_pymc(data(3, 50), pr, draws=1000, tune=1000, chains=2, seed=3)
t4 = time.perf_counter()
print(f"{t1 - t0:.2f} {t2 - t1:.2f} {t3 - t2:.2f} {t4 - t3:.2f} {q.diagnostics['max_rhat']:.4f} "
      f"{q.diagnostics['min_ess_bulk']:.0f}")
"""


def bench_pymc() -> None:
    for label, compiledir in (("empty compile caches", tempfile.mkdtemp(prefix="nof1-pt-")),
                              ("warm compile caches", None)):
        env = dict(os.environ)
        if compiledir is not None:
            env["PYTENSOR_FLAGS"] = f"base_compiledir={compiledir}"
            env["JAX_COMPILATION_CACHE_DIR"] = f"{compiledir}/jax"
        else:
            env.setdefault("PYTENSOR_FLAGS", f"base_compiledir={ROOT / '.venv' / 'pytensor-cache'}")
            env.setdefault("JAX_COMPILATION_CACHE_DIR", str(ROOT / ".venv" / "jax-cache"))
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", PYMC_SCRIPT], env=env, capture_output=True,
                             text=True, check=True).stdout.split()
        wall = time.perf_counter() - start
        imp, first, refit, other, rhat, ess = out
        print(f"PyMC engine ({label}, wall clock, load {os.getloadavg()[0]:.1f}): import "
              f"{float(imp):.1f} s, first fit {float(first):.1f} s (process start to first fit "
              f"done ~{wall - float(refit) - float(other):.1f} s) [cold target <= 10 s]; refit of "
              f"new data {float(refit):.1f} s [target <= 3 s] (r-hat {rhat}, bulk ESS {ess}); "
              f"a 50-day series (same compiled sampler) {float(other):.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-pymc", action="store_true", help="skip the PyMC timings")
    ap.add_argument("--trials", type=int, default=2000)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    bench_exact()
    bench_batch(args.trials)
    if not args.no_pymc:
        bench_pymc()


if __name__ == "__main__":
    main()
