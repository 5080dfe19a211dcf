"""What every part of design evaluation shares: the defaults (methods, significance level, the
alternatives :func:`nof1.design.compare` tries), :class:`DesignError`, the outcome a design is
evaluated on, :func:`design_facts`, and the analysis settings the simulated trials are analysed
with (the Bayesian analysis' own priors, the exact engine's grids, the trend).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from nof1.errors import Nof1Error

if TYPE_CHECKING:

    from nof1.models.bayes_exact import GridSpec, ModelPriors
    from nof1.protocol import Outcome, Protocol

#: Methods evaluated by default (the primary Bayesian analysis first).
DEFAULT_METHODS: tuple[str, ...] = ("bayes", "gls_ar1", "randomization")

#: Two-sided significance level of the classical criteria.
ALPHA: float = 0.05

#: Largest reference set the randomisation test enumerates in a design evaluation; larger
#: schemes use a Monte Carlo sample of :data:`DESIGN_MC_ALLOCATIONS` allocations (the real
#: analysis samples more; the power it implies is the same to within Monte Carlo error).
DESIGN_MAX_ALLOCATIONS: int = 5_000
DESIGN_MC_ALLOCATIONS: int = 2_000

#: Period lengths and pair counts tried by :func:`compare` when no alternatives are given (2 pairs
#: is left out: with one degree of freedom between pairs it is rarely a sensible plan).
DEFAULT_PERIOD_DAYS: tuple[int, ...] = (7, 10, 14, 21)
DEFAULT_PAIRS: tuple[int, ...] = (3, 4, 5, 6, 8)

#: Default bound on total days in :func:`compare`: this multiple of the protocol's total days.
DEFAULT_DURATION_FACTOR: float = 1.5

#: Overrides :func:`design_variant` understands.
DESIGN_KEYS: tuple[str, ...] = ("period_days", "pairs", "washout_days", "run_in_days")
Progress = Callable[[str, float], None]


def compare_grid() -> GridSpec:
    """Quadrature grid of the exact Bayesian engine used by :func:`compare` (many designs).

    The engine's ``BATCH_GRID`` with a coarser first pass (8 φ × 6 τ cells, 5 σ nodes), five
    refinement pieces instead of seven and 7 σ nodes over ±5 posterior sds: about half the cost.
    Checked against ``BATCH_GRID`` on 400 simulated beetroot trials with carryover (τ = 1 day):
    mean |ΔP(meaningful benefit)| 5e-4 (max 8e-3), no verdict changed, mean interval width within
    0.005 — far below the Monte Carlo error of a comparison (tests/test_design.py repeats the
    check). :func:`evaluate` uses ``BATCH_GRID`` itself.
    """
    from dataclasses import replace

    from nof1.models.bayes_exact import BATCH_GRID

    return replace(BATCH_GRID, phi_coarse=8, tau_coarse=6, sigma_coarse=5, sigma_nodes=7,
                   sigma_halfwidth=5.0, pieces=(0.01, 0.1, 0.5, 0.9, 0.99))


class DesignError(Nof1Error, ValueError):
    """An impossible design request (missing sd/phi, unsupported outcome, invalid variant)."""


def rate_se(x: NDArray[np.bool_]) -> tuple[float, float]:
    """Share and its Monte Carlo standard error sqrt(p(1-p)/n)."""
    n = int(x.size)
    if n == 0:
        return float("nan"), float("nan")
    p = float(np.mean(x))
    return p, math.sqrt(max(p * (1.0 - p), 0.0) / n)


def mean_se(x: NDArray[np.float64]) -> tuple[float, float]:
    """Mean of the finite values and its Monte Carlo standard error (sd/sqrt(n))."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else float("nan")
    return float(x.mean()), se


def benefit_sign(outcome: Outcome) -> float:
    """-1 when lower is better, +1 when higher is better."""
    return -1.0 if outcome.better == "lower" else 1.0


def design_outcome(protocol: Protocol, outcome: str | None) -> Outcome:
    o = protocol.primary if outcome is None else get_outcome(protocol, outcome)
    if o.type != "continuous":
        raise DesignError(
            f"design evaluation supports continuous outcomes; '{o.name}' is {o.type} "
            "(choose a continuous outcome with outcome=...)")
    if o.mcid is None:
        raise DesignError(f"outcome '{o.name}' has no mcid: the decision rules need one")
    return o


def get_outcome(protocol: Protocol, name: str) -> Outcome:
    try:
        return protocol.outcome(name)
    except KeyError as err:
        raise DesignError(str(err.args[0])) from None


def design_facts(protocol: Protocol) -> dict[str, Any]:
    """Period length, pairs, washout, run-in and durations of a protocol's design.

    Example:
        >>> design_facts(p)["total_days"]        # doctest: +SKIP
        126
    """
    r = protocol.design.randomization
    k = len(protocol.conditions)
    pairs = (r.pairs if protocol.scheme == "pairs" and r.pairs is not None
             else r.blocks if protocol.scheme == "blocks" and r.blocks is not None
             else protocol.n_periods // k if protocol.scheme != "start_points" else None)
    return {
        "scheme": protocol.scheme,
        "period_days": protocol.design.period_days if protocol.scheme != "start_points" else None,
        "pairs": pairs,
        "periods": protocol.n_periods,
        "washout_days": protocol.design.washout_days,
        "run_in_days": protocol.design.run_in_days,
        "trial_days": protocol.trial_days,
        "total_days": protocol.total_days,
        "n_allocations": protocol.n_allocations,
    }


def analysis_priors(protocol: Protocol | None, outcome: Outcome | None, *, n_treatments: int,
                     scale_hint: float = 1.0, pilot: bool = False, has_trial_days: bool = True,
                     y: NDArray[np.float64] | None = None) -> ModelPriors:
    """The Bayesian analysis' priors for a protocol's outcome: :func:`nof1.analysis.bayes.model_priors`.

    Without a protocol (a bare pilot series) there is no analysis to follow: weakly informative
    priors scaled to twice the series' spread (``scale_hint``), carryover off.
    """
    from nof1.analysis.bayes import model_priors
    from nof1.models.bayes_exact import ModelPriors

    if protocol is not None and outcome is not None:
        pri = model_priors(protocol, outcome, n_treatments=n_treatments, y=y)
    else:
        pri = ModelPriors.from_scale(max(scale_hint, 1e-6) * 2, n_treatments, tau_fixed=0.0)
    if pilot and not has_trial_days:
        # nothing was taken: the carryover time constant has no information, fix it
        from dataclasses import replace

        pri = replace(pri, tau_fixed=0.0)
    return pri


def batch_grid() -> GridSpec:
    from nof1.models.bayes_exact import BATCH_GRID

    return BATCH_GRID


def trend_for(protocol: Protocol) -> bool:
    from nof1.analysis.classical import trend_on

    return bool(trend_on(protocol, None))
