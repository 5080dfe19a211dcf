"""Convergence diagnostics of a pooled posterior: arviz_stats against ``nof1.models.convergence``.

A posterior of 2 chains x 1,000 draws x 253 scalars (a 50-person pooled fit's checked
variables), each side in a fresh process with its import included: arviz_stats' ``rhat`` and
``ess`` (bulk, tail) over the Dataset, which is what ``hierarchical.diagnostics`` called before,
and ``hierarchical.diagnostics`` itself now. Prints wall-clock seconds (with the load average)
and the largest relative difference of the diagnostics.
Run: ``.venv/bin/python benchmarks/bench_diagnostics.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
import numpy as np, xarray as xr
import nof1.models.hierarchical as H

rng = np.random.default_rng(1)
C, D, P = 2, 1000, 50
def v(*shape):
    return rng.normal(size=(C, D, *shape))
post = xr.Dataset({
    "mu": (("chain", "draw", "treatment"), v(1)),
    "between_sd": (("chain", "draw", "treatment"), np.exp(v(1))),
    "beta": (("chain", "draw", "participant", "treatment"), v(P, 1)),
    "alpha": (("chain", "draw", "participant"), v(P)),
    "phi": (("chain", "draw", "participant"), np.tanh(v(P))),
    "sigma": (("chain", "draw", "participant"), np.exp(v(P))),
    "delta": (("chain", "draw", "participant"), v(P)),
    "tau": (("chain", "draw"), np.exp(v())),
})
stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((C, D), bool))})
tree = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})
t = time.perf_counter()
if sys.argv[1] == "arviz_stats":
    import arviz_stats as az
    out = [az.rhat(post), az.ess(post, method="bulk"), az.ess(post, method="tail")]
    seconds = time.perf_counter() - t
    values = [np.concatenate([np.ravel(o[n].values) for n in post.data_vars]) for o in out]
else:
    H.diagnostics(tree)
    seconds = time.perf_counter() - t
    from nof1.models import convergence as cv
    values = [np.concatenate([np.ravel(f(post[n].values)) for n in post.data_vars])
              for f in (cv.rhat, cv.ess_bulk, cv.ess_tail)]
print(json.dumps({"seconds": seconds, "values": [v.tolist() for v in values]}))
"""


def run(which: str) -> dict:
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", CHILD, which], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    import numpy as np

    for _ in range(2):
        ref, ours = run("arviz_stats"), run("nof1")
        diff = max(float(np.max(np.abs(np.subtract(a, b)) / np.abs(b)))
                   for a, b in zip(ours["values"], ref["values"], strict=True))
        print(f"arviz_stats (import + rhat, ess bulk/tail): {ref['seconds']:.3f} s; "
              f"nof1 hierarchical.diagnostics (import + all): {ours['seconds']:.3f} s; "
              f"largest relative difference {diff:.1e}; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
