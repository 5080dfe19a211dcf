"""Calibration of the Bayesian ordinal model: coverage of its 95% intervals over simulated trials.

Each simulated trial is a 56-day ABAB design (14-day periods) with a 0–10 rating generated from
the model's own structure: cumulative logit with the cut points logit(j/11) (ratings spread over
the whole range at η = 0), a latent AR(1) term (sd σ = 1, lag-1 correlation φ) and first-order
onset/decay of the treatment (τ = 1 day). Cells: true latent effect β ∈ {0, −0.75, −1.5} ×
φ ∈ {0.3, 0.6}; ``--trials`` trials per cell (default 34: 204 trials in all).

Every trial is analysed end to end with :func:`nof1.analysis.discrete.fit_bayes_discrete`
(defaults: carryover modelled, AR(1) latent, 2 chains × 1,000 draws after 1,000 tuning). Reported
per cell and overall: coverage of the true latent β by the 95% interval (target 92–98%), coverage
of the true steady-state rating difference (E[rating | B] − E[rating | A], averaged over the
latent noise), mean interval width, bias of the posterior median, worst R-hat.

``--compare-independent`` also fits every trial with the latent AR(1) term switched off
(``autocorrelation=False``: days independent given the exposure) — the simulation check behind
the choice of an AR(1) latent term. Compare the rating-difference coverage (the same estimand for
both models; the latent β of the independent model is attenuated by the ignored latent variance,
so its β coverage mixes two problems).

Writes one row per trial to ``benchmarks/out/calibration_ordinal.csv`` and prints the tables and
the runtime.

Run:
    PYTENSOR_FLAGS=base_compiledir=.venv/pytensor-cache \\
        .venv/bin/python benchmarks/calibration_ordinal.py --compare-independent
    # 100 more trials of one cell (new seeds), written to their own file:
    .venv/bin/python benchmarks/calibration_ordinal.py --cell=-1.5,0.6 --first-trial 34 \
        --trials 100 --out benchmarks/out/calibration_ordinal_cell.csv

Example:
    >>> td, truth = simulate_trial(beta=-0.75, phi=0.3, seed=1)    # doctest: +SKIP
    >>> round(truth["rating_difference"], 2)                       # doctest: +SKIP
    -0.9
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nof1.data import TrialData
from nof1.models.exposure import exposure
from nof1.protocol import Protocol

OUT = Path(__file__).resolve().parent / "out" / "calibration_ordinal.csv"
K = 11
CUTS = np.log((np.arange(1, K) / K) / (1 - np.arange(1, K) / K))
SIGMA, TAU = 1.0, 1.0
BETAS = (0.0, -0.75, -1.5)
PHIS = (0.3, 0.6)

PROTOCOL = Protocol.model_validate({
    "schema_version": 1, "id": "calibration-ordinal", "title": "Ordinal calibration",
    "conditions": {"A": {"label": "Placebo", "role": "control"},
                   "B": {"label": "Active", "role": "treatment"}},
    "design": {"period_days": 14, "sequence": ["A", "B", "A", "B"]},
    "outcomes": [{"name": "pain", "type": "ordinal", "range": [0, 10], "better": "lower",
                  "mcid": 1.0, "role": "primary"}],
    "analysis": {"carryover": "model"},
})


def true_rating_difference(beta: float) -> float:
    """E[rating | B] − E[rating | A] at steady state, averaged over the N(0, σ²) latent term."""
    from nof1.models.discrete_pymc import expected_rating

    c = CUTS[None, :]
    return float(expected_rating(c, np.array([beta]), SIGMA, n_nodes=64)[0]
                 - expected_rating(c, np.array([0.0]), SIGMA, n_nodes=64)[0])


def simulate_trial(beta: float, phi: float, seed: int) -> tuple[TrialData, dict]:
    """One simulated trial and its true values."""
    rng = np.random.default_rng(seed)
    sched = PROTOCOL.schedule()
    n = len(sched)
    x = exposure((sched["condition"] == "B").to_numpy(float), TAU)
    z = np.empty(n)
    z[0] = SIGMA * rng.standard_normal()
    for i in range(1, n):
        z[i] = phi * z[i - 1] + SIGMA * np.sqrt(1 - phi**2) * rng.standard_normal()
    y = np.searchsorted(CUTS, beta * x + z + rng.logistic(size=n)).astype(float)
    td = TrialData.from_frame(PROTOCOL, pd.DataFrame({"day": sched["day"], "pain": y}))
    return td, {"beta": beta, "rating_difference": true_rating_difference(beta)}


def fit_row(td: TrialData, truth: dict, seed: int, autocorrelation: bool, prefix: str) -> dict:
    from nof1.analysis.discrete import fit_bayes_discrete

    t0 = time.perf_counter()
    r = fit_bayes_discrete(td, "pain", ("B", "A"), seed=seed, autocorrelation=autocorrelation)
    row = {f"{prefix}seconds": time.perf_counter() - t0, f"{prefix}available": r.available}
    if not r.available:
        return row
    rd = r.extras["rating_difference"]
    row.update({
        f"{prefix}estimate": r.estimate, f"{prefix}ci_low": r.ci_low, f"{prefix}ci_high": r.ci_high,
        f"{prefix}covered": r.ci_low <= truth["beta"] <= r.ci_high,
        f"{prefix}rd_estimate": rd["estimate"], f"{prefix}rd_ci_low": rd["ci_low"],
        f"{prefix}rd_ci_high": rd["ci_high"],
        f"{prefix}rd_covered": rd["ci_low"] <= truth["rating_difference"] <= rd["ci_high"],
        f"{prefix}r_hat": r.extras["r_hat"], f"{prefix}ess_bulk": r.extras["ess_bulk"],
        f"{prefix}divergences": r.extras["divergences"],
    })
    return row


def summarise(df: pd.DataFrame, prefix: str) -> pd.DataFrame:
    d = df[df[f"{prefix}available"]].copy()
    d["width"] = d[f"{prefix}ci_high"] - d[f"{prefix}ci_low"]
    d["rd_width"] = d[f"{prefix}rd_ci_high"] - d[f"{prefix}rd_ci_low"]
    d["error"] = d[f"{prefix}estimate"] - d["beta"]
    agg = {
        "trials": (f"{prefix}covered", "size"),
        "coverage_beta": (f"{prefix}covered", "mean"),
        "coverage_rating_diff": (f"{prefix}rd_covered", "mean"),
        "width_beta": ("width", "mean"), "width_rating_diff": ("rd_width", "mean"),
        "bias_beta": ("error", "mean"), "max_r_hat": (f"{prefix}r_hat", "max"),
        "divergences": (f"{prefix}divergences", "sum"),
    }
    by = d.groupby(["beta", "phi"]).agg(**agg).reset_index()
    total = d.assign(beta="all", phi="all").groupby(["beta", "phi"]).agg(**agg).reset_index()
    return pd.concat([by, total], ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=34, help="trials per cell (6 cells)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", type=Path, default=OUT, help="CSV file for the per-trial rows")
    ap.add_argument("--compare-independent", action="store_true",
                    help="also fit every trial without the latent AR(1) term")
    ap.add_argument("--cell", action="append", default=None, metavar="BETA,PHI",
                    help="run only this cell (repeatable), e.g. --cell=-1.5,0.6")
    ap.add_argument("--first-trial", type=int, default=0,
                    help="index of the first trial per cell (to add new trials to an earlier run)")
    args = ap.parse_args()
    all_cells = [(b, p) for b in BETAS for p in PHIS]
    chosen = all_cells
    if args.cell:
        chosen = [tuple(float(v) for v in c.split(",")) for c in args.cell]
        unknown = [c for c in chosen if c not in all_cells]
        if unknown:
            ap.error(f"unknown cell(s) {unknown}; cells are {all_cells}")
    t_start = time.perf_counter()
    rows = []
    cells = chosen
    for beta, phi in cells:
        ci = all_cells.index((beta, phi))     # seeds depend on the cell, not on the selection
        for i in range(args.first_trial, args.first_trial + args.trials):
            seed = args.seed + 10_000 * ci + i
            td, truth = simulate_trial(beta, phi, seed)
            row = {"beta": beta, "phi": phi, "trial": i, "seed": seed,
                   "true_rating_difference": truth["rating_difference"]}
            row.update(fit_row(td, truth, seed, True, ""))
            if args.compare_independent:
                row.update(fit_row(td, truth, seed, False, "indep_"))
            rows.append(row)
        done = (cells.index((beta, phi)) + 1) * args.trials
        print(f"  {done}/{len(cells) * args.trials} trials, {time.perf_counter() - t_start:.0f} s",
              flush=True)
    df = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.3f}".format):
        print("\nBayesian ordinal model (AR(1) latent, carryover modelled): 95% intervals")
        print(summarise(df, "").to_string(index=False))
        if args.compare_independent:
            print("\nSame data, latent AR(1) switched off (days independent given the exposure)")
            print(summarise(df, "indep_").to_string(index=False))
    runtime = time.perf_counter() - t_start
    print(f"\n{len(df)} trials in {runtime / 60:.1f} min ({runtime / len(df):.1f} s per trial"
          f"{' incl. the independent-days fit' if args.compare_independent else ''}); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; wrote {args.out}")


if __name__ == "__main__":
    main()
