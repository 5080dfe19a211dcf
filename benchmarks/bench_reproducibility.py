"""Same seed, same numbers — on an empty and on a warm compile cache (PyTensor and JAX).

Each PyMC-backed analysis is run twice in fresh processes that share one new, empty compile
directory (PyTensor's, and JAX's persistent compilation cache inside it): the first run compiles
every model (cold), the second loads them from the caches (warm). The script prints a hash of the draws and the headline estimate of both runs and whether
they are bit-identical. Before nof1 compiled with IEEE math (``nof1/models/determinism.py``)
they were not: the numba fast-math code differed in the last bit between the two, and NUTS
turned that into different draws (e.g. ordinal estimate −0.826 vs −0.849 with the same seed).

Analyses: the continuous model with ``engine="pymc"`` and the ordinal headache model on the
bundled beetroot sample, and the pooled (hierarchical) model on the bundled series sample with
small sampling. Expect several minutes (every model is compiled from scratch once).

Run: ``.venv/bin/python benchmarks/bench_reproducibility.py``

Example:
    >>> print(SCRIPT.splitlines()[1])                 # doctest: +SKIP
    import hashlib, sys, time
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import hashlib, sys, time
import numpy as np
import nof1
root = sys.argv[1]
p = nof1.load_protocol(f"{root}/protocols/beetroot-juice-rls.yaml")
td = nof1.read_log(f"{root}/data/sample/beetroot_log.csv", p)
series = nof1.read_log(f"{root}/data/sample/series_log.csv", p)

def digest(arr):
    return hashlib.sha256(np.ascontiguousarray(np.asarray(arr, dtype=float)).tobytes()).hexdigest()[:16]

t = time.perf_counter()
r = nof1.analyze(td, outcomes=["severity"], methods=["bayes"], engine="pymc", seed=7)
b = r.get("severity", "bayes")
print("continuous_pymc", digest(b.fit.effect_draws("B-A")), repr(b.estimate), f"{time.perf_counter() - t:.1f}")
t = time.perf_counter()
r = nof1.analyze(td, outcomes=["headache"], methods=["bayes"], seed=7)
b = r.get("headache", "bayes")
print("ordinal", digest(b.fit.effect_draws("B-A")), repr(b.estimate), f"{time.perf_counter() - t:.1f}")
t = time.perf_counter()
pooled = nof1.pool(series, seed=7, draws=300, tune=300, chains=2)
post = pooled.posterior["posterior"]
print("pooled", digest(np.concatenate([post[v].values.ravel() for v in sorted(post.data_vars)])),
      repr(pooled.population["estimate"]), f"{time.perf_counter() - t:.1f}")
"""


def run(compiledir: str) -> dict[str, tuple[str, str, str]]:
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={compiledir}",
               JAX_COMPILATION_CACHE_DIR=f"{compiledir}/jax")
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT)], env=env, capture_output=True,
                         text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        name, dig, est, secs = line.split()
        rows[name] = (dig, est, secs)
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nof1-repro-") as compiledir:
        t0 = time.perf_counter()
        cold = run(compiledir)
        warm = run(compiledir)
    print(f"{'analysis':<16} {'cold: draws hash':<18} {'estimate':<22} {'s':>6}   "
          f"{'warm: draws hash':<18} {'estimate':<22} {'s':>6}   identical")
    for name in cold:
        c, w = cold[name], warm[name]
        print(f"{name:<16} {c[0]:<18} {c[1]:<22} {c[2]:>6}   {w[0]:<18} {w[1]:<22} {w[2]:>6}   "
              f"{'yes' if c[:2] == w[:2] else 'NO'}")
    print(f"total {time.perf_counter() - t0:.0f} s; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
