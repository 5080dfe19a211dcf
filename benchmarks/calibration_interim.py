"""Calibration of the predictive probabilities of ``nof1 status`` (:mod:`nof1.interim_analysis`).

Trials are drawn from the analysis' own prior (effect, σ, φ and, with ``carryover: model``, τ;
level, trend and run-in level are flat, so any fixed values do), cut at a given day, and the
predictive probability of "likely meaningful benefit" at the planned end is computed from the
cut log (``--completions`` simulated completions each). The same trials are then actually
completed (their own simulated future) and analysed with the batched exact engine. If the
predictive probabilities are right, their mean equals the share of actual benefit verdicts, in
total and within bins of the prediction (Monte Carlo SE printed next to each).

Designs: ``small`` (3 pairs of 7-day periods, instant switch, effect prior N(0, 1), σ prior
HalfNormal(1), cut at day 21) and ``beetroot`` (the bundled protocol: run-in, carryover model,
trend, cut at calendar day 70 = two of four pairs).

Run: ``.venv/bin/python benchmarks/calibration_interim.py [--trials 400] [--completions 200]``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import nof1  # noqa: E402
from nof1.analysis.bayes import model_priors  # noqa: E402
from nof1.constants import VERDICT_BENEFIT  # noqa: E402
from nof1.data import TrialData  # noqa: E402
from nof1.interim_analysis import predictive_verdicts  # noqa: E402
from nof1.models.bayes_exact import fit_exact_batch  # noqa: E402
from nof1.models.exposure import exposure  # noqa: E402


def small() -> nof1.Protocol:
    return nof1.Protocol.model_validate({
        "schema_version": 1, "id": "small", "title": "Small",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Active", "role": "treatment"}},
        "design": {"period_days": 7, "sequence": ["A", "B", "B", "A", "A", "B"]},
        "outcomes": [{"name": "y", "type": "continuous", "range": [0, 10], "better": "lower",
                      "mcid": 0.5, "role": "primary"}],
        "analysis": {"carryover": "none", "trend": False, "prior": {"effect_sd": 1.0, "sigma_scale": 1.0}},
    })


def run(p: nof1.Protocol, cut: int, trials: int, completions: int, seed: int) -> None:
    o = p.primary
    pri = model_priors(p, o, carryover=p.analysis.carryover)
    rng = np.random.default_rng(seed)
    run_in = p.design.run_in_days
    u_trial = np.array([0.0 if c == p.control else 1.0 for c in p.allocation_days()])
    u = np.concatenate([np.zeros(run_in), u_trial])
    n = u.size
    Y = np.empty((trials, n))
    pred = np.empty(trials)
    t0 = time.perf_counter()
    for i in range(trials):
        effect = rng.normal(pri.effect_mean[0], pri.effect_sd[0])
        sigma = abs(rng.normal(0.0, pri.sigma_scale))
        phi = rng.uniform(pri.phi_low, pri.phi_high)
        tau = 0.0 if pri.tau_fixed is not None else pri.tau_median * math.exp(pri.tau_sigma * rng.standard_normal())
        e = np.empty(n)
        e[0] = sigma * rng.standard_normal()
        for t in range(1, n):
            e[t] = phi * e[t - 1] + sigma * math.sqrt(1 - phi * phi) * rng.standard_normal()
        y = 5.0 + effect * exposure(u, tau) + e
        Y[i] = y
        td = TrialData.from_frame(p, pd.DataFrame({"day": np.arange(1, cut + 1), o.name: y[:cut]}))
        pred[i] = predictive_verdicts(td, today=cut, completions=completions, seed=i)["probabilities"][VERDICT_BENEFIT]
    from nof1.analysis.classical import trend_on

    res = fit_exact_batch(Y, u, priors=pri, mcid=o.mcid, better=o.better, trend=trend_on(p, None),
                          run_in_days=run_in, ci_level=p.analysis.ci_level)
    dec = p.analysis.decision
    actual = (res.prob_meaningful_benefit >= dec.benefit_prob) & (res.prob_meaningful_harm < dec.harm_prob_max)
    se = math.sqrt(np.sum(pred * (1 - pred)) * (1 + 1 / completions)) / trials
    print(f"{p.id}: {trials} trials cut at day {cut} of {n}, {completions} completions each "
          f"({time.perf_counter() - t0:.0f} s; load {os.getloadavg()[0]:.1f})")
    print(f"  all trials        predicted {pred.mean():.3f}   observed {actual.mean():.3f}   "
          f"difference {pred.mean() - actual.mean():+.3f} (MC SE {se:.3f})")
    for lo, hi in ((0.0, 0.1), (0.1, 0.5), (0.5, 0.9), (0.9, 1.0001)):
        m = (pred >= lo) & (pred < hi)
        if m.sum() == 0:
            continue
        se_b = math.sqrt(np.sum(pred[m] * (1 - pred[m])) * (1 + 1 / completions)) / m.sum()
        print(f"  predicted {lo:.1f}-{min(hi, 1):.1f}  n {int(m.sum()):>4}  predicted {pred[m].mean():.3f}   "
              f"observed {actual[m].mean():.3f}   (MC SE {se_b:.3f})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--completions", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--designs", default="small,beetroot")
    args = ap.parse_args()
    for name in args.designs.split(","):
        if name == "small":
            run(small(), 21, args.trials, args.completions, args.seed)
        else:
            run(nof1.load_protocol(ROOT / "protocols" / "beetroot-juice-rls.yaml"), 70, args.trials,
                args.completions, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
