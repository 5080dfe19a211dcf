"""Calibration of the classical methods by simulation: false-positive rate, coverage, bias.

For two 56-day designs — a fixed ABAB of 4 × 14-day periods and randomised pairs (4 pairs of
7-day periods, each pair AB or BA at random, drawn per simulated trial) — and for
autocorrelation φ ∈ {0, 0.4, 0.7}, carryover τ ∈ {none, 2 days} (first-order onset/decay,
``nof1.models.exposure``) and washout ∈ {0, 3 days excluded}, it simulates ``--trials`` trials
per cell with a stationary AR(1) error (sd 1) and

* effect 0: the false-positive rate at α = 0.05 (p < 0.05, or a 95% interval excluding 0 for
  methods without a p-value);
* effect −1: the coverage of the 95% interval, the bias and the mean interval width.

Methods: ``gls_ar1`` (batched REML, :func:`nof1.models.gls.gls_ar1_batch`), ``paired_periods``,
``welch_naive`` and ``randomization`` (FPR only, pairs design only; 16 allocations, so its
smallest attainable p is 2/16 and it can never reject at 0.05 — the row ``randomization@0.125``
checks that P(p ≤ 0.125) = 0.125 under the null instead).

Every method family is a small function ``family(batch, washout) -> dict of arrays`` registered
in ``FAMILIES``; another family (e.g. ``bayes``) is added by writing one such function and
adding it to the dict. Seeded; vectorised; prints a table and writes
``benchmarks/out/calibration_classical.csv``.

Run:
    .venv/bin/python benchmarks/calibration.py            # 4,000 trials per cell, about 1 minute
    .venv/bin/python benchmarks/calibration.py --trials 500

Example:
    >>> b = simulate_cells("pairs", phi=0.4, tau=None, effect=0.0, n=100, seed=1)   # doctest: +SKIP
    >>> gls_family(b, washout=3)["estimate"].shape                                   # doctest: +SKIP
    (100,)
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from nof1.models.exposure import exposure
from nof1.models.gls import gls_ar1_batch

N_DAYS = 56
DESIGNS = {
    "ABAB_fixed": {"period_days": 14, "n_pairs": 2, "randomised": False},
    "pairs_random": {"period_days": 7, "n_pairs": 4, "randomised": True},
}
PHIS = (0.0, 0.4, 0.7)
TAUS: tuple[float | None, ...] = (None, 2.0)
WASHOUTS = (0, 3)
EFFECT = -1.0
ALPHA = 0.05
CI_LEVEL = 0.95
OUT = Path(__file__).resolve().parent / "out" / "calibration_classical.csv"


@dataclass(frozen=True)
class SimBatch:
    """Simulated trials of one cell: outcomes and the day-level design of each trial."""

    y: NDArray[np.float64]         # (n, days)
    treat: NDArray[np.bool_]       # (n, days) scheduled = taken treatment indicator
    period: NDArray[np.int64]      # (days,) period index 0..P-1
    pair: NDArray[np.int64]        # (days,) pair index 0..K-1
    day_in_period: NDArray[np.int64]  # (days,) 1-based
    flips: NDArray[np.int64]       # (n, K) 1 where the pair is BA
    randomised: bool
    true_effect: float

    @property
    def day(self) -> NDArray[np.int64]:
        return np.arange(1, self.y.shape[1] + 1)


# --------------------------------------------------------------------------- simulation
def ar1_errors(rng: np.random.Generator, n: int, days: int, phi: float, sd: float = 1.0) -> NDArray[np.float64]:
    """Stationary AR(1) series (n, days) with marginal sd ``sd`` and lag-1 correlation ``phi``."""
    e = np.empty((n, days))
    e[:, 0] = rng.normal(scale=sd, size=n)
    innov = rng.normal(scale=sd * np.sqrt(1.0 - phi * phi), size=(n, days))
    for t in range(1, days):
        e[:, t] = phi * e[:, t - 1] + innov[:, t]
    return e


def simulate_cells(design: str, *, phi: float, tau: float | None, effect: float, n: int, seed: int) -> SimBatch:
    """``n`` trials of ``design`` with effect × exposure(treatment, τ) + AR(1) noise."""
    spec = DESIGNS[design]
    rng = np.random.default_rng(seed)
    k, length = spec["n_pairs"], spec["period_days"]
    flips = rng.integers(0, 2, size=(n, k)) if spec["randomised"] else np.zeros((n, k), dtype=np.int64)
    period_treat = np.empty((n, 2 * k), dtype=bool)
    period_treat[:, 0::2] = flips == 1  # AB (flip 0): first period control
    period_treat[:, 1::2] = flips == 0
    treat = np.repeat(period_treat, length, axis=1)
    x = exposure(treat.astype(float), tau=0.0 if tau is None else tau)
    y = effect * x + ar1_errors(rng, n, treat.shape[1], phi)
    period = np.repeat(np.arange(2 * k), length)
    return SimBatch(y=y, treat=treat, period=period, pair=period // 2,
                    day_in_period=np.tile(np.arange(1, length + 1), 2 * k), flips=flips,
                    randomised=spec["randomised"], true_effect=effect)


# --------------------------------------------------------------------------- method families
def _t_ci(est: NDArray, se: NDArray, df: NDArray | float) -> dict[str, NDArray]:
    q = stats.t.ppf(0.5 + CI_LEVEL / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.t.sf(np.abs(est / se), df)
    return {"estimate": est, "ci_low": est - q * se, "ci_high": est + q * se, "p_value": p}


def gls_family(b: SimBatch, washout: int) -> dict[str, NDArray]:
    """gls_ar1: REML AR(1) on the day index, washout days as gaps (NaN)."""
    y = np.where(b.day_in_period > washout, b.y, np.nan)
    n, days = y.shape
    if b.randomised:
        X = np.stack([np.ones((n, days)), b.treat.astype(float)], axis=-1)
    else:
        X = np.column_stack([np.ones(days), b.treat[0].astype(float)])
    fit = gls_ar1_batch(y, X, b.day)
    return fit.contrast([0.0, 1.0], CI_LEVEL)


def paired_family(b: SimBatch, washout: int) -> dict[str, NDArray]:
    """paired_periods: treatment period mean minus control period mean per pair, t over pairs."""
    keep = b.day_in_period > washout
    periods = np.unique(b.period)
    means = np.stack([b.y[:, keep & (b.period == j)].mean(axis=1) for j in periods], axis=1)
    first, second = means[:, 0::2], means[:, 1::2]
    diff = np.where(b.flips == 1, first - second, second - first)  # treatment minus control
    k = diff.shape[1]
    return _t_ci(diff.mean(axis=1), diff.std(axis=1, ddof=1) / np.sqrt(k), k - 1)


def welch_family(b: SimBatch, washout: int) -> dict[str, NDArray]:
    """welch_naive: day-level Welch t-test, days treated as independent."""
    keep = (b.day_in_period > washout)[None, :]
    t_mask, c_mask = keep & b.treat, keep & ~b.treat
    nt, nc = t_mask.sum(axis=1), c_mask.sum(axis=1)
    mt = (b.y * t_mask).sum(axis=1) / nt
    mc = (b.y * c_mask).sum(axis=1) / nc
    vt = (((b.y - mt[:, None]) ** 2) * t_mask).sum(axis=1) / (nt - 1)
    vc = (((b.y - mc[:, None]) ** 2) * c_mask).sum(axis=1) / (nc - 1)
    se2 = vt / nt + vc / nc
    df = se2 ** 2 / ((vt / nt) ** 2 / (nt - 1) + (vc / nc) ** 2 / (nc - 1))
    return _t_ci(mt - mc, np.sqrt(se2), df)


def randomization_family(b: SimBatch, washout: int) -> dict[str, NDArray]:
    """randomization: exact test over the 2^K pair orders (pairs design only)."""
    if not b.randomised:
        n = b.y.shape[0]
        return {"p_value": np.full(n, np.nan)}
    k = b.flips.shape[1]
    allocs = np.array(list(itertools.product([0, 1], repeat=k)))  # (A, K) flips
    keep = b.day_in_period > washout
    first_half = (b.period % 2 == 0)
    # treatment indicator per allocation and day: pair BA (flip 1) treats its first period
    t_day = np.where(first_half[None, :], allocs[:, b.pair] == 1, allocs[:, b.pair] == 0) & keep[None, :]
    c_day = ~t_day & keep[None, :]
    W = t_day / t_day.sum(axis=1, keepdims=True) - c_day / c_day.sum(axis=1, keepdims=True)  # (A, days)
    s = b.y @ W.T  # (n, A)
    index = (b.flips * (2 ** np.arange(k - 1, -1, -1))).sum(axis=1)  # row of each trial's allocation
    obs = s[np.arange(len(index)), index]
    tol = 1e-10
    p = (np.abs(s) >= np.abs(obs)[:, None] - tol).mean(axis=1)
    return {"p_value": p}


#: name -> family; add e.g. "bayes": bayes_family to extend the table.
FAMILIES: dict[str, Callable[[SimBatch, int], dict[str, NDArray]]] = {
    "gls_ar1": gls_family,
    "paired_periods": paired_family,
    "welch_naive": welch_family,
    "randomization": randomization_family,
}


# --------------------------------------------------------------------------- summaries
def rejects(out: dict[str, NDArray], alpha: float = ALPHA) -> NDArray[np.float64]:
    """1 where the method rejects 'no effect' (p < alpha, else interval excludes 0); NaN if unusable."""
    if "p_value" in out:
        p = out["p_value"]
        return np.where(np.isfinite(p), (p < alpha).astype(float), np.nan)
    lo, hi = out["ci_low"], out["ci_high"]
    ok = np.isfinite(lo) & np.isfinite(hi)
    return np.where(ok, ((lo > 0) | (hi < 0)).astype(float), np.nan)


def summarise(out: dict[str, NDArray], truth: float, null: bool) -> dict[str, float]:
    """FPR (null cells) or coverage/bias/width (effect cells) of one method in one cell."""
    if null:
        r = rejects(out)
        return {"fpr": float(np.nanmean(r)) if np.isfinite(r).any() else np.nan,
                "usable": float(np.isfinite(r).mean())}
    if "ci_low" not in out:
        return {}
    lo, hi, est = out["ci_low"], out["ci_high"], out["estimate"]
    ok = np.isfinite(lo) & np.isfinite(hi)
    return {
        "coverage": float(np.mean((lo[ok] <= truth) & (truth <= hi[ok]))),
        "bias": float(np.mean(est[ok]) - truth),
        "ci_width": float(np.mean(hi[ok] - lo[ok])),
    }


def run(n_trials: int = 4000, seed: int = 20261201) -> pd.DataFrame:
    """Every cell of the grid; one row per design × φ × τ × washout × method."""
    rows = []
    cell = 0
    for design, phi, tau, washout in itertools.product(DESIGNS, PHIS, TAUS, WASHOUTS):
        results: dict[str, dict[str, float]] = {m: {} for m in FAMILIES}
        for effect in (0.0, EFFECT):
            cell += 1
            b = simulate_cells(design, phi=phi, tau=tau, effect=effect, n=n_trials, seed=seed + cell)
            for name, family in FAMILIES.items():
                if name == "randomization" and (effect != 0.0 or not b.randomised):
                    continue
                out = family(b, washout)
                results[name].update(summarise(out, effect, null=(effect == 0.0)))
                if name == "randomization":
                    p = out["p_value"]
                    results["randomization@0.125"] = {"fpr": float(np.mean(p <= 0.125 + 1e-12)),
                                                      "usable": 1.0}
        for name, vals in results.items():
            if not vals:
                continue
            rows.append({"design": design, "phi": phi, "carryover_tau": "none" if tau is None else tau,
                         "washout": washout, "method": name, **vals})
    cols = ["design", "phi", "carryover_tau", "washout", "method", "fpr", "coverage", "bias", "ci_width"]
    out = pd.DataFrame(rows)
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan
    return out[cols]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=4000, help="simulated trials per cell (default 4000)")
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    t0 = time.perf_counter()
    table = run(args.trials, args.seed)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT, index=False)
    with pd.option_context("display.width", 140, "display.max_rows", 500,
                           "display.float_format", lambda v: f"{v:.3f}"):
        print(table.to_string(index=False))
    mc_se = np.sqrt(ALPHA * (1 - ALPHA) / args.trials)
    print(f"\n{args.trials} trials per cell; Monte Carlo SE of a 5% rate {mc_se:.3f}, of 95% coverage "
          f"{np.sqrt(0.95 * 0.05 / args.trials):.3f}; {time.perf_counter() - t0:.0f} s; written to {OUT}")


if __name__ == "__main__":
    main()
