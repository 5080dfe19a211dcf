"""Design a trial before starting it: power, assurance and a comparison of alternative designs.

:func:`evaluate` simulates many trials of a protocol's design (each trial draws its own allocation
from the protocol's randomisation scheme, as the real trial will), analyses every simulated trial
with the pre-registered analyses — vectorised across trials — and reports, per method:

============== =====================================================================================
method         a simulated trial "succeeds" when ...
============== =====================================================================================
``bayes``      the verdict is *likely meaningful benefit* under the protocol's decision rules:
               P(meaningful benefit) >= ``decision.benefit_prob`` and P(meaningful harm) <
               ``decision.harm_prob_max`` (the exact engine, :mod:`nof1.models.bayes_exact`)
``gls_ar1``    two-sided p < 0.05 **and** the estimate points in the benefit direction (GLS with
               AR(1) errors on the calendar day, REML, washout excluded; :mod:`nof1.models.gls`)
``randomization`` two-sided p < 0.05 **and** the observed mean difference points in the benefit
               direction (the exact test over the scheme's allocations, washout excluded)
============== =====================================================================================

* **power**: the share of successes when the true effect is ``effect``;
* **false-positive rate**: the share of successes when the true effect is 0 (the same seeds, so
  the same allocations and the same noise: only the effect differs);
* **expected interval width** (bayes: credible interval, gls_ar1: confidence interval at the
  protocol's ``ci_level``), **expected P(meaningful benefit)** (bayes), the **smallest attainable
  randomisation p** of the design, and a Monte Carlo standard error for every rate and mean.

With ``pilot=`` (a run-in or pilot log) the day-to-day sd and autocorrelation φ are not fixed:
an AR(1) model is fitted to the pilot with the exact Bayesian engine and every simulated trial
draws its own (sd, φ) from that posterior — **assurance** (expected power over what the pilot
leaves uncertain) rather than power at a point.

:func:`compare` evaluates variations of the design (period length, pairs, washout, run-in)
within a bounded total duration and ranks them by Bayesian power, then by duration.

Effect sign: ``effect`` is treatment minus control in outcome units (negative = better for an
outcome with ``better: lower``). By default it is one MCID in the benefit direction.

Example:
    >>> import nof1
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")            # doctest: +SKIP
    >>> ev = nof1.design.evaluate(p, effect=-1, sd=1.5, phi=0.4, sims=2000, seed=1)  # doctest: +SKIP
    >>> ev.summary()[["method", "power", "power_se", "fpr"]]                    # doctest: +SKIP
    >>> cmp = nof1.design.compare(p, effect=-1, sd=1.5, phi=0.4, seed=1)        # doctest: +SKIP
    >>> cmp.table.head()                                                        # doctest: +SKIP
    >>> fig = cmp.plot()                                                        # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nof1._version import __version__
from nof1.constants import (
    MAX_EXACT_ALLOCATIONS,
    VERDICT_BENEFIT,
    VERDICT_HARM,
    VERDICT_INCONCLUSIVE,
    VERDICT_NO_EFFECT,
)
from nof1.errors import Nof1Error
from nof1.jsonsafe import json_safe
from nof1.seeds import task_seed

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nof1.models.bayes_exact import GridSpec, ModelPriors
    from nof1.protocol import Outcome, Protocol
    from nof1.simulation import SimulatedBatch

__all__ = [
    "ALPHA",
    "DEFAULT_METHODS",
    "DesignComparison",
    "DesignError",
    "DesignEvaluation",
    "MethodPower",
    "PilotEstimate",
    "compare",
    "compare_grid",
    "default_alternatives",
    "design_facts",
    "design_variant",
    "estimate_pilot",
    "evaluate",
]

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

_PROGRESS = Callable[[str, float], None]


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


# =========================================================================== small helpers
def _rate(x: NDArray[np.bool_]) -> tuple[float, float]:
    """Share and its Monte Carlo standard error sqrt(p(1-p)/n)."""
    n = int(x.size)
    if n == 0:
        return float("nan"), float("nan")
    p = float(np.mean(x))
    return p, math.sqrt(max(p * (1.0 - p), 0.0) / n)


def _mean(x: NDArray[np.float64]) -> tuple[float, float]:
    """Mean of the finite values and its Monte Carlo standard error (sd/sqrt(n))."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else float("nan")
    return float(x.mean()), se


def _benefit_sign(outcome: Outcome) -> float:
    """-1 when lower is better, +1 when higher is better."""
    return -1.0 if outcome.better == "lower" else 1.0


def _design_outcome(protocol: Protocol, outcome: str | None) -> Outcome:
    o = protocol.primary if outcome is None else _get_outcome(protocol, outcome)
    if o.type != "continuous":
        raise DesignError(
            f"design evaluation supports continuous outcomes; '{o.name}' is {o.type} "
            "(choose a continuous outcome with outcome=...)")
    if o.mcid is None:
        raise DesignError(f"outcome '{o.name}' has no mcid: the decision rules need one")
    return o


def _get_outcome(protocol: Protocol, name: str) -> Outcome:
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


# =========================================================================== pilot
@dataclass(frozen=True)
class PilotEstimate:
    """Posterior of the day-to-day sd and lag-1 autocorrelation φ from a pilot or run-in log.

    The model is the analysis model restricted to what a pilot can tell: a level (one per
    condition taken, and a separate run-in level when there are trial days too) plus stationary
    AR(1) errors on the calendar day (gaps for missing days), fitted with the exact Bayesian engine
    (:func:`nof1.models.bayes_exact.fit_exact`: a grid over φ, σ integrated by quadrature).
    ``sd`` is the marginal sd of the errors — the ``sd`` of :func:`nof1.simulate_batch`.

    Example:
        >>> est = estimate_pilot([5.1, 4.8, 5.6, 6.0, 5.2, 4.9, 5.5, 5.8, 6.1, 5.0], seed=1)
        >>> 0 < est.sd < 3 and -0.5 <= est.phi <= 0.95
        True
    """

    n_days: int
    source: str
    mean: float
    sd: float
    sd_interval: tuple[float, float]
    phi: float
    phi_interval: tuple[float, float]
    interval_level: float
    posterior: Any = field(repr=False, compare=False)

    def draw(self, n: int, seed: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``n`` joint posterior draws of (sd, φ)."""
        d = self.posterior.draws(n, seed=seed)
        return np.asarray(d["sigma"], dtype=float), np.asarray(d["phi"], dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "n_days": self.n_days, "source": self.source, "mean": self.mean,
            "sd": self.sd, "sd_interval": list(self.sd_interval),
            "phi": self.phi, "phi_interval": list(self.phi_interval),
            "interval_level": self.interval_level,
        })


def _pilot_series(pilot: Any, protocol: Protocol | None, outcome: Outcome | None
                  ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], int, str]:
    """(y, day, u (K, n_days), run_in_days, source) of a pilot given in any accepted form."""
    from nof1.data import TrialData

    if isinstance(pilot, str | Path | pd.DataFrame):
        if protocol is None:
            raise DesignError("reading a pilot log needs the protocol")
        from nof1.data import read_log

        pilot = read_log(pilot, protocol)
        report = pilot.report
        if report is not None and not report.usable:
            raise DesignError("the pilot log cannot be used: " + "; ".join(str(d) for d in report.errors[:5]))
    if isinstance(pilot, TrialData):
        if protocol is None:
            protocol = pilot.protocol
        o = outcome or protocol.primary
        data = pilot.data
        if "participant" in data.columns and data["participant"].nunique() > 1:
            raise DesignError("the pilot holds several participants: give one participant's log")
        if o.name not in data.columns:
            raise DesignError(f"the pilot has no column '{o.name}'")
        obs = data[data[o.name].notna()].sort_values("day")
        y = obs[o.name].to_numpy(dtype=float)
        day = obs["day"].to_numpy(dtype=np.int64)
        n_days = int(data["day"].max()) if len(data) else 0
        treatments = protocol.treatments
        u = np.zeros((len(treatments), max(n_days, 1)))
        taken = data.sort_values("day")
        dd = taken["day"].to_numpy(dtype=np.int64)
        for k, t in enumerate(treatments):
            on = taken["condition_taken"].astype(object).eq(t).fillna(False).to_numpy(dtype=bool)
            u[k, dd[on] - 1] = 1.0
        in_trial = obs["phase"].to_numpy() == "trial"
        run_in = int(protocol.design.run_in_days) if in_trial.any() else 0
        source = ("run-in days" if not in_trial.any() else
                  "run-in and trial days" if (~in_trial).any() else "trial days")
        return y, day, u, run_in, f"{source} of '{o.name}'"
    values = np.asarray(pilot, dtype=float)
    if values.ndim != 1:
        raise DesignError("a pilot given as numbers must be one value per consecutive day")
    day = np.arange(1, values.size + 1)
    keep = np.isfinite(values)
    n_t = len(protocol.treatments) if protocol is not None else 1
    return values[keep], day[keep], np.zeros((n_t, max(values.size, 1))), 0, "daily values"


def estimate_pilot(
    pilot: Any,
    protocol: Protocol | None = None,
    *,
    outcome: str | None = None,
    interval_level: float = 0.9,
    seed: int = 0,
) -> PilotEstimate:
    """Fit the AR(1) model to a pilot and summarise the posterior of sd and φ.

    Args:
        pilot: a :class:`~nof1.data.TrialData` (e.g. ``nof1.read_log(run_in_log, protocol)``),
            a log file path or DataFrame in the user log format (read against ``protocol``), or a
            sequence of daily values (consecutive days, NaN = not logged).
        protocol: the protocol (priors, outcome range and decision scale); taken from a
            TrialData when not given.
        outcome: the outcome (default: the primary).
        interval_level: level of the reported equal-tailed intervals.
        seed: seed of the posterior draws that summarise the level (``mean``).

    Raises:
        DesignError: fewer than 7 observed days, or an unusable outcome.

    Example:
        >>> est = estimate_pilot(run_in, p)      # doctest: +SKIP
        >>> est.sd, est.phi                       # doctest: +SKIP
        (1.48, 0.37)
    """
    from nof1.data import TrialData
    from nof1.models.bayes_exact import SINGLE_GRID, SeriesData, fit_exact

    if protocol is None and isinstance(pilot, TrialData):
        protocol = pilot.protocol
    o = None
    if protocol is not None:
        o = protocol.primary if outcome is None else _get_outcome(protocol, outcome)
    y, day, u, run_in, source = _pilot_series(pilot, protocol, o)
    if y.size < 7:
        raise DesignError(
            f"the pilot has {y.size} observed day(s) of the outcome; at least 7 are needed to "
            "estimate its sd and autocorrelation")
    if np.ptp(y) == 0:
        raise DesignError(f"every pilot value is {y[0]:g}: there is no variation to estimate")
    priors = _analysis_priors(protocol, o, n_treatments=u.shape[0], scale_hint=float(np.ptp(y)),
                              pilot=True, has_trial_days=bool(u.any()), y=y)
    data = SeriesData(y=y, day=day, u=u, trend=False, run_in_days=run_in)
    try:
        post = fit_exact(data, priors, grid=SINGLE_GRID)
    except ValueError as err:
        raise DesignError(f"the pilot cannot be fitted: {err}") from None
    sig = post.sigma_summary(interval_level)
    ph = post.phi_summary(interval_level)
    draws = post.draws(4000, seed=seed)
    level = float(np.median(draws["alpha"])) if "alpha" in draws else float(np.mean(y))
    return PilotEstimate(
        n_days=int(y.size), source=source, mean=level,
        sd=float(sig["median"]), sd_interval=(float(sig["ci"][0]), float(sig["ci"][1])),
        phi=float(ph["median"]), phi_interval=(float(ph["ci"][0]), float(ph["ci"][1])),
        interval_level=interval_level, posterior=post,
    )


# =========================================================================== analysis settings
def _analysis_priors(protocol: Protocol | None, outcome: Outcome | None, *, n_treatments: int,
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


def _batch_grid() -> GridSpec:
    from nof1.models.bayes_exact import BATCH_GRID

    return BATCH_GRID


def _trend_on(protocol: Protocol) -> bool:
    from nof1.analysis.classical import trend_on

    return bool(trend_on(protocol, None))


# =========================================================================== batch analyses
@dataclass
class _MethodDraws:
    """Per-trial results of one method on one batch (arrays of shape (n,))."""

    success: NDArray[np.bool_]
    available: NDArray[np.bool_]
    estimate: NDArray[np.float64]
    ci_width: NDArray[np.float64] | None = None
    p_value: NDArray[np.float64] | None = None
    prob_meaningful_benefit: NDArray[np.float64] | None = None
    verdicts: NDArray[np.object_] | None = None


@dataclass
class _Context:
    protocol: Protocol
    outcome: Outcome
    contrast_code: int  # code of the treatment in batch.treat (1 = first treatment)
    ci_level: float
    alpha: float
    randomization_allocations: list[tuple] | None = None
    randomization_exact: bool = True


def _trial_view(batch: SimulatedBatch, protocol: Protocol) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """(y, day, treat, washout) restricted to the trial days (run-in dropped)."""
    run_in = protocol.design.run_in_days
    keep = batch.day > run_in
    y = batch.y[:, keep]
    day = batch.day[keep]
    treat = batch.full("treat")[:, keep]
    wash = batch.full("washout")[:, keep]
    return y, day, treat, wash


def _analyse_gls(batch: SimulatedBatch, ctx: _Context) -> _MethodDraws:
    """``gls_ar1`` on every trial: the model of :func:`nof1.analysis.classical.gls_ar1`."""
    from nof1.analysis.classical import MIN_DAYS_PER_CONDITION
    from nof1.models.gls import gls_ar1_batch

    protocol = ctx.protocol
    y, day, treat, wash = _trial_view(batch, protocol)
    y = np.where(wash, np.nan, y)
    obs = np.isfinite(y)
    n_levels = len(protocol.conditions)
    counts = np.stack([(obs & (treat == k)).sum(axis=1) for k in range(n_levels)], axis=1)
    enough = (counts >= MIN_DAYS_PER_CONDITION).all(axis=1)
    cols = [np.ones(y.shape)] + [(treat == k).astype(float) for k in range(1, n_levels)]
    if _trend_on(protocol):
        cols.append(np.broadcast_to((day - day.mean()).astype(float), y.shape))
    X = np.stack(cols, axis=-1)
    fit = gls_ar1_batch(y, X, day)
    c = np.zeros(X.shape[-1])
    c[ctx.contrast_code] = 1.0
    res = fit.contrast(c, ctx.ci_level)
    available = enough & fit.ok & np.isfinite(res["p_value"])
    est = np.where(available, res["estimate"], np.nan)
    p = np.where(available, res["p_value"], np.nan)
    sign = _benefit_sign(ctx.outcome)
    success = available & (p < ctx.alpha) & (np.sign(est) == sign)
    return _MethodDraws(success=success, available=available, estimate=est,
                        ci_width=np.where(available, res["ci_high"] - res["ci_low"], np.nan), p_value=p)


def _verdicts(pmb: NDArray, pmh: NDArray, pneg: NDArray | None, decision: Any) -> NDArray[np.object_]:
    """Vectorised :func:`nof1.analysis.core.verdict`."""
    out = np.full(pmb.shape, VERDICT_INCONCLUSIVE, dtype=object)
    if pneg is not None:
        out[pneg >= decision.no_effect_prob] = VERDICT_NO_EFFECT
    out[pmh >= decision.possible_harm_prob] = VERDICT_HARM
    out[(pmb >= decision.benefit_prob) & (pmh < decision.harm_prob_max)] = VERDICT_BENEFIT
    return out


def _analyse_bayes(batch: SimulatedBatch, ctx: _Context, grid: GridSpec | None = None) -> _MethodDraws:
    """``bayes`` on every trial with the batched exact engine (the analysis' model and priors)."""
    from nof1.analysis.classical import MIN_DAYS_PER_CONDITION
    from nof1.models.bayes_exact import contrast_vector, fit_exact_batch

    protocol, o = ctx.protocol, ctx.outcome
    run_in = protocol.design.run_in_days
    y = batch.y
    day = batch.day
    treat = batch.full("treat")
    n_treat = len(protocol.conditions) - 1
    if protocol.analysis.carryover == "exclude":
        y = np.where(batch.full("washout"), np.nan, y)
    if not (day[0] == 1 or run_in == 0):
        raise DesignError("internal: the Bayesian design analysis needs the run-in days simulated")
    # daily treatment indicator over the whole calendar (run-in days = 0)
    u = np.stack([(treat == k).astype(float) for k in range(1, n_treat + 1)], axis=1)
    if day[0] != 1:
        pad = np.zeros((u.shape[0], n_treat, int(day[0]) - 1))
        u = np.concatenate([pad, u], axis=-1)
    # the method's minimum: enough observed trial days on both compared conditions
    obs_trial = np.isfinite(y) & ~batch.full("run_in")
    enough = ((obs_trial & (treat == ctx.contrast_code)).sum(axis=1) >= MIN_DAYS_PER_CONDITION) & \
        ((obs_trial & (treat == 0)).sum(axis=1) >= MIN_DAYS_PER_CONDITION)
    priors = _analysis_priors(protocol, o, n_treatments=n_treat)
    c = contrast_vector(n_treat, ctx.contrast_code - 1, None)
    res = fit_exact_batch(
        y, u, day, priors=priors, contrast=c, ci_level=ctx.ci_level, mcid=o.mcid, better=o.better,
        trend=_trend_on(protocol), run_in_days=run_in, grid=grid if grid is not None else _batch_grid(),
    )
    pmb = np.asarray(res.prob_meaningful_benefit, dtype=float)
    pmh = np.asarray(res.prob_meaningful_harm, dtype=float)
    pneg = None if res.prob_negligible is None else np.asarray(res.prob_negligible, dtype=float)
    verdicts = _verdicts(pmb, pmh, pneg, protocol.analysis.decision)
    available = enough & np.isfinite(pmb) & np.isfinite(res.ci_low) & np.isfinite(res.ci_high)
    success = available & (verdicts == VERDICT_BENEFIT)
    return _MethodDraws(
        success=success, available=available, estimate=np.where(available, res.estimate, np.nan),
        ci_width=np.where(available, res.ci_high - res.ci_low, np.nan),
        prob_meaningful_benefit=np.where(available, pmb, np.nan), verdicts=verdicts,
    )


def _randomization_reference(protocol: Protocol, seed: int) -> tuple[list[tuple], bool]:
    """The reference set of allocations: all of them, or a Monte Carlo sample for large schemes."""
    n_total = protocol.n_allocations
    if n_total <= min(MAX_EXACT_ALLOCATIONS, DESIGN_MAX_ALLOCATIONS):
        return list(protocol.allocations()), True
    return list(protocol.sample_allocations(DESIGN_MC_ALLOCATIONS, seed)), False


def _allocation_layout(protocol: Protocol, allocations: Sequence[tuple], washout: int
                       ) -> tuple[NDArray[np.int16], NDArray[np.bool_]]:
    """Condition code (index in ``protocol.conditions``) and washout flag per trial day."""
    from nof1.analysis.randomization import allocation_matrices

    codes, _phase, wash, _pc = allocation_matrices(protocol, list(allocations), washout)
    return codes, np.asarray(wash)


def _md_stats(y0: NDArray, obs: NDArray, codes: NDArray, wash: NDArray, t: int, c: int
              ) -> NDArray[np.float64]:
    """Mean-difference statistic of every trial (rows of y0) under every allocation (rows of codes)."""
    in_t = ((codes == t) & ~wash).astype(float)
    in_c = ((codes == c) & ~wash).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        st = (y0 @ in_t.T) / (obs @ in_t.T)
        sc = (y0 @ in_c.T) / (obs @ in_c.T)
    return st - sc


def _min_randomization_p(protocol: Protocol, allocations: Sequence[tuple], exact: bool,
                         contrast: tuple[str, str]) -> tuple[float, float]:
    """Smallest attainable two-sided and one-sided p of the design (complete data)."""
    if not exact:
        n = len(allocations) + 1
        return 1.0 / n, 1.0 / n
    keys = list(protocol.conditions)
    t, c = keys.index(contrast[0]), keys.index(contrast[1])
    codes, wash = _allocation_layout(protocol, allocations, protocol.design.washout_days)
    in_t = (codes == t) & ~wash
    in_c = (codes == c) & ~wash
    with np.errstate(divide="ignore", invalid="ignore"):
        w = in_t / in_t.sum(axis=1, keepdims=True) - in_c / in_c.sum(axis=1, keepdims=True)
    ok = np.isfinite(w).all(axis=1)
    w = w[ok]
    realised = tuple(protocol.realised_allocation)
    try:
        i = [a for a, good in zip(allocations, ok, strict=True) if good].index(realised)
    except ValueError:
        i = 0
    same = np.all(np.abs(w - w[i]) <= 1e-12, axis=1)
    mirror = np.all(np.abs(w + w[i]) <= 1e-12, axis=1)
    n = int(w.shape[0])
    return max(int((same | mirror).sum()), 1) / n, max(int(same.sum()), 1) / n


def _analyse_randomization(batch: SimulatedBatch, ctx: _Context) -> _MethodDraws:
    """The randomisation test (mean difference, washout excluded, two-sided) on every trial."""
    protocol, o = ctx.protocol, ctx.outcome
    y, _day, _treat, _wash = _trial_view(batch, protocol)
    obs = np.isfinite(y).astype(float)
    y0 = np.where(obs > 0, y, 0.0)
    keys = list(protocol.conditions)
    contrast = (protocol.treatments[ctx.contrast_code - 1], protocol.control)
    t, c = keys.index(contrast[0]), keys.index(contrast[1])
    allocs = ctx.randomization_allocations or []
    washout = protocol.design.washout_days
    # observed statistic: each trial under its own allocation (unique allocations only)
    unique: dict[tuple, int] = {}
    which = np.array([unique.setdefault(tuple(a), len(unique)) for a in batch.allocations])
    codes_u, wash_u = _allocation_layout(protocol, list(unique), washout)
    in_t = ((codes_u == t) & ~wash_u)[which]
    in_c = ((codes_u == c) & ~wash_u)[which]
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = ((y0 * in_t).sum(1) / (obs * in_t).sum(1) - (y0 * in_c).sum(1) / (obs * in_c).sum(1))
    tol = 1e-9 * np.maximum(1.0, np.nanmax(np.abs(np.where(obs > 0, y, 0.0)), axis=1))
    hits = np.zeros(y.shape[0])
    defined = np.zeros(y.shape[0])
    chunk = max(1, 4_000_000 // max(y.shape[0], 1))
    for s in range(0, len(allocs), chunk):
        codes, wash = _allocation_layout(protocol, allocs[s:s + chunk], washout)
        st = _md_stats(y0, obs, codes, wash, t, c)
        fin = np.isfinite(st)
        defined += fin.sum(axis=1)
        hits += (fin & (np.abs(st) >= np.abs(observed)[:, None] - tol[:, None])).sum(axis=1)
    if ctx.randomization_exact:
        p = hits / np.where(defined > 0, defined, np.nan)
    else:
        p = (1.0 + hits) / (1.0 + defined)
    available = np.isfinite(observed) & np.isfinite(p)
    p = np.where(available, p, np.nan)
    est = np.where(available, observed, np.nan)
    success = available & (p < ctx.alpha) & (np.sign(est) == _benefit_sign(o))
    return _MethodDraws(success=success, available=available, estimate=est, p_value=p)


# =========================================================================== results
@dataclass(frozen=True)
class MethodPower:
    """Operating characteristics of one analysis method for one design and scenario."""

    method: str
    criterion: str
    power: float
    power_se: float
    fpr: float
    fpr_se: float
    mean_estimate: float
    mean_ci_width: float | None = None
    mean_ci_width_se: float | None = None
    mean_prob_meaningful_benefit: float | None = None
    mean_prob_meaningful_benefit_se: float | None = None
    min_p_value: float | None = None
    min_p_value_one_sided: float | None = None
    n_allocations: int | None = None
    verdict_shares: Mapping[str, float] | None = None
    verdict_shares_null: Mapping[str, float] | None = None
    n_sims: int = 0
    n_unavailable: int = 0
    n_unavailable_null: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items()}
        out["verdict_shares"] = dict(self.verdict_shares) if self.verdict_shares else None
        out["verdict_shares_null"] = dict(self.verdict_shares_null) if self.verdict_shares_null else None
        return json_safe(out)


_CRITERIA = {
    "bayes": "verdict 'likely meaningful benefit': P(meaningful benefit) >= {bp:g} and "
             "P(meaningful harm) < {hp:g}",
    "gls_ar1": "two-sided p < {alpha:g} and the estimate in the benefit direction",
    "randomization": "two-sided p < {alpha:g} and the mean difference in the benefit direction",
}


@dataclass
class DesignEvaluation:
    """Power, false-positive rate and precision of one design under one scenario.

    ``methods[name]`` is a :class:`MethodPower`; :meth:`summary` gives the same as a table (one
    row per method). ``assurance`` is true when (sd, φ) were drawn from a pilot's posterior.

    Example:
        >>> ev = evaluate(p, effect=-1, sd=1.5, phi=0.4, sims=500, seed=1)     # doctest: +SKIP
        >>> ev.power("bayes"), ev.methods["gls_ar1"].fpr                       # doctest: +SKIP
        (0.23, 0.046)
    """

    protocol: Protocol
    outcome: str
    scenario: dict[str, Any]
    design: dict[str, Any]
    methods: dict[str, MethodPower]
    pilot: PilotEstimate | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def assurance(self) -> bool:
        """True when the rates average over a pilot's posterior of (sd, φ) (assurance)."""
        return self.pilot is not None

    def power(self, method: str = "bayes") -> float:
        """Power (assurance with a pilot) of one method."""
        return self.methods[method].power

    def summary(self) -> pd.DataFrame:
        """One row per method: power and false-positive rate with Monte Carlo SEs, precision."""
        rows = []
        for m in self.methods.values():
            rows.append({
                "method": m.method, "power": m.power, "power_se": m.power_se, "fpr": m.fpr,
                "fpr_se": m.fpr_se, "mean_estimate": m.mean_estimate, "mean_ci_width": m.mean_ci_width,
                "mean_ci_width_se": m.mean_ci_width_se,
                "mean_prob_meaningful_benefit": m.mean_prob_meaningful_benefit,
                "mean_prob_meaningful_benefit_se": m.mean_prob_meaningful_benefit_se,
                "min_p_value": m.min_p_value, "n_sims": m.n_sims, "n_unavailable": m.n_unavailable,
                "criterion": m.criterion,
            })
        return pd.DataFrame(rows)

    @property
    def table(self) -> pd.DataFrame:
        """The :meth:`summary` table."""
        return self.summary()

    def to_frame(self) -> pd.DataFrame:
        return self.summary()

    def row(self) -> dict[str, Any]:
        """One flat row (design facts, then per-method columns) as used by :func:`compare`."""
        d = self.design
        out: dict[str, Any] = {k: d.get(k) for k in ("period_days", "pairs", "washout_days",
                                                     "run_in_days", "total_days")}
        for name, m in self.methods.items():
            out[f"power_{name}"] = m.power
            out[f"power_{name}_se"] = m.power_se
        for name, m in self.methods.items():
            out[f"fpr_{name}"] = m.fpr
        if "randomization" in self.methods:
            out["min_p_randomization"] = self.methods["randomization"].min_p_value
        widths = {n: m.mean_ci_width for n, m in self.methods.items() if m.mean_ci_width is not None}
        if widths:
            first = next(iter(widths))
            out["mean_ci_width"] = widths[first]
            for n, w in widths.items():
                out[f"mean_ci_width_{n}"] = w
        if "bayes" in self.methods:
            out["mean_prob_meaningful_benefit"] = self.methods["bayes"].mean_prob_meaningful_benefit
        out["n_allocations"] = d.get("n_allocations")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: protocol identity, design, scenario, pilot and every method's numbers."""
        return json_safe({
            "nof1_version": __version__,
            "protocol": {"id": self.protocol.id, "fingerprint": self.protocol.fingerprint},
            "outcome": self.outcome,
            "design": self.design,
            "scenario": self.scenario,
            "assurance": self.assurance,
            "pilot": self.pilot.to_dict() if self.pilot is not None else None,
            "methods": {k: v.to_dict() for k, v in self.methods.items()},
            "notes": list(self.notes),
            "seconds": self.seconds,
        })

    def __str__(self) -> str:
        cols = ["method", "power", "power_se", "fpr", "fpr_se", "mean_ci_width",
                "mean_prob_meaningful_benefit", "min_p_value"]
        return self.summary()[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}")

    def _repr_html_(self) -> str:
        return self.summary().to_html(index=False, float_format=lambda x: f"{x:.3f}")


def _method_power(name: str, eff: _MethodDraws, null: _MethodDraws, ctx: _Context,
                  extras: Mapping[str, Any]) -> MethodPower:
    decision = ctx.protocol.analysis.decision
    crit = _CRITERIA[name].format(bp=decision.benefit_prob, hp=decision.harm_prob_max, alpha=ctx.alpha)
    power, power_se = _rate(eff.success)
    fpr, fpr_se = _rate(null.success)
    est, _ = _mean(eff.estimate)
    width = width_se = pmb = pmb_se = None
    if eff.ci_width is not None:
        width, width_se = _mean(eff.ci_width)
    if eff.prob_meaningful_benefit is not None:
        pmb, pmb_se = _mean(eff.prob_meaningful_benefit)
    shares = shares_null = None
    if eff.verdicts is not None and null.verdicts is not None:
        order = (VERDICT_BENEFIT, VERDICT_NO_EFFECT, VERDICT_HARM, VERDICT_INCONCLUSIVE)
        shares = {v: float(np.mean(eff.verdicts == v)) for v in order}
        shares_null = {v: float(np.mean(null.verdicts == v)) for v in order}
    return MethodPower(
        method=name, criterion=crit, power=power, power_se=power_se, fpr=fpr, fpr_se=fpr_se,
        mean_estimate=est, mean_ci_width=width, mean_ci_width_se=width_se,
        mean_prob_meaningful_benefit=pmb, mean_prob_meaningful_benefit_se=pmb_se,
        verdict_shares=shares, verdict_shares_null=shares_null, n_sims=int(eff.success.size),
        n_unavailable=int((~eff.available).sum()), n_unavailable_null=int((~null.available).sum()),
        **extras,
    )


# =========================================================================== simulation
def _ar1_rows(rng: np.random.Generator, phi: NDArray, sd: NDArray, n_days: int) -> NDArray[np.float64]:
    """Stationary AR(1) series, one row per trial with its own φ and sd (the simulator's model)."""
    m = phi.size
    z = rng.standard_normal((m, n_days))
    e = np.empty((m, n_days))
    e[:, 0] = sd * z[:, 0]
    s = sd * np.sqrt(1.0 - phi * phi)
    for t in range(1, n_days):
        e[:, t] = phi * e[:, t - 1] + s * z[:, t]
    return e


def _simulate_pair(
    protocol: Protocol, outcome: Outcome, *, effect: float, sd: float | None, phi: float | None,
    carryover_days: float | None, trend: float, missing: float, baseline: float, sims: int, seed: int,
    pilot: PilotEstimate | None,
) -> tuple[SimulatedBatch, SimulatedBatch]:
    """Batches under the effect and under no effect: same seed (allocations, noise, missing days)."""
    from dataclasses import replace

    from nof1.simulation import simulate_batch

    common = dict(carryover_days=carryover_days, trend=trend, baseline=baseline, missing=missing,
                  n=sims, seed=seed, allocations="random", include_run_in=True, outcome=outcome.name)
    if pilot is None:
        b1 = simulate_batch(protocol, effect=effect, sd=sd, phi=phi, **common)
        b0 = simulate_batch(protocol, effect=0.0, sd=sd, phi=phi, **common)
        return b1, b0
    # assurance: the noise-free mean from the simulator, AR(1) noise with per-trial (sd, φ)
    sd_i, phi_i = pilot.draw(sims, seed=task_seed(seed, "pilot-draws"))
    m1 = simulate_batch(protocol, effect=effect, sd=0.0, phi=0.0, **common)
    m0 = simulate_batch(protocol, effect=0.0, sd=0.0, phi=0.0, **common)
    e = _ar1_rows(np.random.default_rng(task_seed(seed, "pilot-noise")), phi_i, sd_i, m1.n_days)
    r = outcome.value_range
    out = []
    for m in (m1, m0):
        y = m.y + e
        if r is not None:
            y = np.clip(y, r[0], r[1])
        params = dict(m.params, sd="pilot posterior", phi="pilot posterior")
        out.append(replace(m, y=y, params=params))
    return out[0], out[1]


def _check_methods(methods: Iterable[str]) -> tuple[str, ...]:
    ms = tuple(dict.fromkeys(methods))
    unknown = [m for m in ms if m not in DEFAULT_METHODS]
    if unknown or not ms:
        raise DesignError(f"unknown design method(s) {unknown or list(ms)} (choose from "
                          f"{', '.join(DEFAULT_METHODS)})")
    return ms


def _check_number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                  open_low: bool = False, open_high: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise DesignError(f"{name} must be a number, got {value!r}")
    v = float(value)
    bad = not math.isfinite(v)
    if low is not None:
        bad |= v < low or (open_low and v == low)
    if high is not None:
        bad |= v > high or (open_high and v == high)
    if bad:
        lo = "" if low is None else f"{'>' if open_low else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if open_high else '<='} {high:g}"
        raise DesignError(f"{name} must be {' and '.join(x for x in (lo, hi) if x) or 'finite'}, got {value!r}")
    return v


def _prepare_randomization(ctx: _Context, seed: int, notes: list[str]) -> dict[str, Any]:
    """Set the reference set of allocations on ``ctx``; the design's smallest attainable p."""
    protocol = ctx.protocol
    allocs, exact = _randomization_reference(protocol, task_seed(seed, "allocations"))
    ctx.randomization_allocations, ctx.randomization_exact = allocs, exact
    contrast = (protocol.treatments[ctx.contrast_code - 1], protocol.control)
    min_two, min_one = _min_randomization_p(protocol, allocs, exact, contrast)
    if min_two >= ctx.alpha:
        notes.append(
            f"randomization: with {protocol.n_allocations} possible allocations the smallest attainable "
            f"two-sided p is {min_two:.3g} >= {ctx.alpha:g}, so this test can never reach significance "
            f"however large the effect (one-sided minimum {min_one:.3g})")
    if not exact:
        notes.append(f"randomization: {protocol.n_allocations:,} allocations; power uses a Monte Carlo "
                     f"reference set of {len(allocs):,}")
    return {"min_p_value": min_two, "min_p_value_one_sided": min_one,
            "n_allocations": protocol.n_allocations}


def evaluate(
    protocol: Protocol,
    *,
    effect: float | None = None,
    sd: float | None = None,
    phi: float | None = None,
    carryover_days: float | None = None,
    trend: float = 0.0,
    missing: float = 0.0,
    baseline: float | None = None,
    sims: int = 2000,
    seed: int,
    methods: Sequence[str] = DEFAULT_METHODS,
    pilot: Any = None,
    outcome: str | None = None,
    alpha: float = ALPHA,
    progress: _PROGRESS | None = None,
    bayes_grid: GridSpec | None = None,
) -> DesignEvaluation:
    """Power (or assurance), false-positive rate and precision of the protocol's design.

    Args:
        protocol: the protocol whose design is evaluated.
        effect: true effect, treatment minus control in outcome units (default: one MCID in the
            benefit direction, i.e. ``-mcid`` when lower is better).
        sd, phi: day-to-day sd and lag-1 autocorrelation of the outcome (AR(1) on the calendar
            day). Required unless ``pilot`` is given; not allowed together with it.
        carryover_days: true onset/offset time constant τ in days (default: instant switch).
        trend: true linear drift per day; missing: probability a day is not logged.
        baseline: control level (default: the pilot's level, else the middle of the range).
        sims: simulated trials (the same number again is run at effect 0 for the false-positive
            rate, with the same seed).
        seed: seed of everything random.
        methods: any of ``bayes``, ``gls_ar1``, ``randomization``.
        pilot: a run-in or pilot log (see :func:`estimate_pilot`) or a :class:`PilotEstimate`:
            every simulated trial then draws its own (sd, φ) from the pilot's posterior.
        outcome: the outcome (default: the primary; must be continuous).
        alpha: two-sided level of the classical criteria.
        progress: called as ``progress(message, fraction_done)``.
        bayes_grid: quadrature grid of the exact engine (default: its ``BATCH_GRID``).

    Returns:
        A :class:`DesignEvaluation`.

    Example:
        >>> ev = evaluate(p, effect=-1, sd=1.5, phi=0.4, sims=2000, seed=1)  # doctest: +SKIP
        >>> ev.summary()                                                     # doctest: +SKIP
    """
    t0 = time.perf_counter()
    o = _design_outcome(protocol, outcome)
    ms = _check_methods(methods)
    if isinstance(sims, bool) or not isinstance(sims, int | np.integer) or sims < 2:
        raise DesignError(f"sims must be a whole number >= 2, got {sims!r}")
    sims = int(sims)
    seed = int(seed)
    notes: list[str] = []
    if "bayes" in ms and o.schedule == "weekly":
        ms = tuple(m for m in ms if m != "bayes")
        notes.append(f"bayes: '{o.name}' is measured weekly, so the analysis fits it at the period level "
                     "(nof1.analysis.discrete.fit_period_level), which design evaluation does not batch; "
                     "bayes is left out")
        if not ms:
            raise DesignError(f"'{o.name}' is weekly: evaluate it with methods gls_ar1 or randomization")
    eff = (-o.mcid if o.better == "lower" else o.mcid) if effect is None else \
        _check_number("effect", effect)
    est: PilotEstimate | None = None
    if pilot is not None:
        if sd is not None or phi is not None:
            raise DesignError("give either a pilot or sd and phi, not both: with a pilot both are drawn "
                              "from its posterior")
        est = pilot if isinstance(pilot, PilotEstimate) else estimate_pilot(
            pilot, protocol, outcome=o.name, seed=task_seed(seed, "pilot"))
    else:
        missing_args = [n for n, v in (("sd", sd), ("phi", phi)) if v is None]
        if missing_args:
            raise DesignError(f"{' and '.join(missing_args)} required (or give a pilot log to estimate them)")
        sd = _check_number("sd", sd, low=0.0, open_low=True)
        phi = _check_number("phi", phi, low=-1.0, high=1.0, open_low=True, open_high=True)
    tau = None if carryover_days is None else _check_number("carryover_days", carryover_days, low=0.0)
    trend = _check_number("trend", trend)
    missing = _check_number("missing", missing, low=0.0, high=1.0, open_high=True)
    if baseline is None:
        if est is not None:
            baseline = est.mean
        else:
            from nof1.simulation import default_parameters

            baseline = default_parameters(o)["baseline"]
    baseline = _check_number("baseline", baseline)
    alpha = _check_number("alpha", alpha, low=0.0, high=1.0, open_low=True, open_high=True)

    def report(msg: str, frac: float) -> None:
        if progress is not None:
            progress(msg, frac)

    report("simulating", 0.0)
    b1, b0 = _simulate_pair(protocol, o, effect=eff, sd=sd, phi=phi, carryover_days=tau, trend=trend,
                            missing=missing, baseline=baseline, sims=sims, seed=seed, pilot=est)
    ctx = _Context(protocol=protocol, outcome=o, contrast_code=1, ci_level=protocol.analysis.ci_level,
                   alpha=alpha)
    results: dict[str, MethodPower] = {}
    share = {"bayes": 0.8, "gls_ar1": 0.1, "randomization": 0.1}
    total = sum(share[m] for m in ms)
    done = 0.05
    for name in ms:
        extras: dict[str, Any] = {}
        if name == "randomization":
            if not protocol.is_randomized:
                notes.append("randomization: the sequence is fixed, not randomised; the test is unavailable")
                continue
            extras = _prepare_randomization(ctx, seed, notes)
        draws: list[_MethodDraws] = []
        for label, batch in (("effect", b1), ("no effect", b0)):
            report(f"{name}: {label}", min(done, 0.99))
            if name == "gls_ar1":
                draws.append(_analyse_gls(batch, ctx))
            elif name == "bayes":
                draws.append(_analyse_bayes(batch, ctx, grid=bayes_grid))
            else:
                draws.append(_analyse_randomization(batch, ctx))
            done += 0.95 * share[name] / total / 2
        results[name] = _method_power(name, draws[0], draws[1], ctx, extras)
    report("done", 1.0)
    scenario = {
        "effect": eff, "sd": sd if est is None else None, "phi": phi if est is None else None,
        "carryover_days": tau, "trend": trend, "missing": missing, "baseline": baseline,
        "sims": sims, "seed": seed, "alpha": alpha,
        "effect_in_mcid": eff / o.mcid, "benefit_direction": o.better,
        "assurance": est is not None,
    }
    if "bayes" in ms and abs(eff) <= o.mcid * (1 + 1e-9):
        bp = protocol.analysis.decision.benefit_prob
        notes.append(
            f"bayes: the true effect is {abs(eff) / o.mcid:.2g} mcid; the verdict 'likely meaningful "
            f"benefit' needs P(effect beyond the mcid) >= {bp:g}, so at exactly one mcid its power tends "
            f"to about {1 - bp:.0%} however long the trial (and to 0 below one mcid). Judge the design "
            "by gls_ar1 power and interval width, or evaluate at the effect you hope to detect.")
    if est is not None:
        notes.append(
            f"assurance: sd and phi drawn per simulated trial from the pilot's posterior "
            f"({est.n_days} {est.source}; sd {est.sd:.2g} [{est.sd_interval[0]:.2g}, "
            f"{est.sd_interval[1]:.2g}], phi {est.phi:.2f} [{est.phi_interval[0]:.2f}, "
            f"{est.phi_interval[1]:.2f}])")
    return DesignEvaluation(
        protocol=protocol, outcome=o.name, scenario=scenario, design=design_facts(protocol),
        methods=results, pilot=est, seconds=time.perf_counter() - t0, notes=notes,
    )


# =========================================================================== design variants
def design_variant(protocol: Protocol, **overrides: Any) -> Protocol:
    """A copy of the protocol with another period length, number of pairs, washout or run-in.

    ``pairs`` is the number of pairs for a ``pairs`` scheme, of blocks for a ``blocks`` scheme,
    and of repetitions of the first cycle for a fixed sequence. The realised sequence is dropped
    when the number of periods changes (it is redrawn from the randomisation seed).

    Example:
        >>> design_variant(p, period_days=7, pairs=6).total_days      # doctest: +SKIP
        98
    """
    from nof1.protocol import ProtocolError, protocol_from_dict

    unknown = [k for k in overrides if k not in DESIGN_KEYS]
    if unknown:
        raise DesignError(f"unknown design override(s) {unknown} (allowed: {', '.join(DESIGN_KEYS)})")
    if protocol.scheme == "start_points" and ("pairs" in overrides or "period_days" in overrides):
        raise DesignError("a start_points design has no pairs or fixed periods to vary; vary "
                          "washout_days or run_in_days, or use a pairs/blocks scheme")
    data = protocol.model_dump(mode="json", exclude_none=True)
    d = data["design"]
    for key in ("period_days", "washout_days", "run_in_days"):
        if overrides.get(key) is not None:
            d[key] = int(overrides[key])
    pairs = overrides.get("pairs")
    if pairs is not None:
        pairs = int(pairs)
        k = len(protocol.conditions)
        if protocol.scheme == "pairs":
            if d["randomization"].get("pairs") != pairs or "sequence" in d and len(d["sequence"]) != 2 * pairs:
                d["randomization"]["pairs"] = pairs
                d.pop("sequence", None)
        elif protocol.scheme == "blocks":
            if d["randomization"].get("blocks") != pairs or "sequence" in d and len(d["sequence"]) != k * pairs:
                d["randomization"]["blocks"] = pairs
                d.pop("sequence", None)
        else:
            cycle = list(protocol.sequence[:k])
            d["sequence"] = cycle * pairs
    try:
        return protocol_from_dict(data, source="design variant")
    except ProtocolError as err:
        raise DesignError(f"the design variant {overrides} is not valid: "
                          + "; ".join(str(p) for p in err.problems) if err.problems else str(err)) from None


def default_alternatives(protocol: Protocol, max_total_days: int | None = None) -> list[dict[str, int]]:
    """The default comparison grid: period lengths 7/10/14/21 days × 3, 4, 5, 6, 8 pairs within the bound.

    The protocol's washout and run-in are kept (a washout that would not fit a shorter period is
    cut to half of it). The protocol's own design is always included. ``max_total_days`` defaults
    to 1.5 × the protocol's total days.

    Example:
        >>> len(default_alternatives(p))         # doctest: +SKIP
        18
    """
    facts = design_facts(protocol)
    bound = int(max_total_days) if max_total_days is not None else int(
        math.ceil(DEFAULT_DURATION_FACTOR * protocol.total_days))
    k = len(protocol.conditions)
    run_in = protocol.design.run_in_days
    washout = protocol.design.washout_days
    out: list[dict[str, int]] = []
    for period in DEFAULT_PERIOD_DAYS:
        w = washout if washout < period else period // 2
        for pairs in DEFAULT_PAIRS:
            if run_in + period * pairs * k <= bound:
                out.append({"period_days": period, "pairs": pairs, "washout_days": w, "run_in_days": run_in})
    own = {"period_days": facts["period_days"], "pairs": facts["pairs"], "washout_days": washout,
           "run_in_days": run_in}
    if own not in out:
        out.append(own)
    return out


def _expand(alternatives: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(alternatives, Mapping):
        names = list(alternatives)
        values = [list(v) if isinstance(v, list | tuple | range | np.ndarray) else [v]
                  for v in alternatives.values()]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    return [dict(a) for a in alternatives]


@dataclass
class DesignComparison:
    """Evaluations of alternative designs, ranked (by Bayesian power, then total days).

    ``table`` has one row per design: ``rank``, ``period_days``, ``pairs``, ``washout_days``,
    ``run_in_days``, ``total_days``, ``power_<method>`` (and ``_se``), ``fpr_<method>``,
    ``min_p_randomization``, ``mean_ci_width`` (the first method with an interval, bayes by
    default) and ``current`` (the protocol's own design).

    Example:
        >>> cmp = compare(p, effect=-1, sd=1.5, phi=0.4, seed=1)      # doctest: +SKIP
        >>> cmp.best                                                  # doctest: +SKIP
        >>> cmp.plot().savefig("designs.png")                         # doctest: +SKIP
    """

    protocol: Protocol
    table: pd.DataFrame
    evaluations: list[DesignEvaluation]
    scenario: dict[str, Any]
    rank_by: str
    max_total_days: int | None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """The ranked table."""
        return self.table

    @property
    def best(self) -> dict[str, Any]:
        """The top-ranked design (a row of the table)."""
        return self.table.iloc[0].to_dict()

    def plot(self, **kwargs: Any) -> Figure:
        """Power against total days, one line per period length (:func:`nof1.plot.design_comparison`).

        Draws the power column the table is ranked by unless ``power=`` says otherwise.
        """
        from nof1.plot import design_comparison

        if self.rank_by.startswith("power_"):
            kwargs.setdefault("power", self.rank_by)
        return design_comparison(self.table, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "nof1_version": __version__,
            "protocol": {"id": self.protocol.id, "fingerprint": self.protocol.fingerprint},
            "scenario": self.scenario,
            "rank_by": self.rank_by,
            "max_total_days": self.max_total_days,
            "designs": self.table.to_dict(orient="records"),
            "notes": list(self.notes),
            "seconds": self.seconds,
        })

    def __str__(self) -> str:
        return self.table.to_string(index=False, float_format=lambda x: f"{x:.3f}")

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False, float_format=lambda x: f"{x:.3f}")


def _rank_column(rank_by: str, methods: Sequence[str], first: DesignEvaluation, table: pd.DataFrame,
                 notes: list[str]) -> str:
    """The column :func:`compare` ranks by (see its ``rank_by``)."""
    if rank_by != "auto":
        if rank_by not in table.columns:
            raise DesignError(f"cannot rank by '{rank_by}' (columns: {', '.join(table.columns)})")
        return rank_by
    if "bayes" not in methods:
        present = [f"power_{m}" for m in methods if f"power_{m}" in table.columns]
        if not present:
            raise DesignError("none of the requested methods could be evaluated on these designs")
        return present[0]
    eff = abs(float(first.scenario["effect_in_mcid"]))
    if eff > 1.0 + 1e-9:
        return "power_bayes"
    alt = "power_gls_ar1" if "gls_ar1" in methods else "mean_ci_width"
    bp = first.protocol.analysis.decision.benefit_prob
    notes.append(
        f"ranked by {alt}, not power_bayes: the true effect is {eff:.2g} mcid, and the verdict 'likely "
        f"meaningful benefit' needs P(effect beyond the mcid) >= {bp:g}; at an effect of exactly one mcid "
        f"its power tends to about {1 - bp:.0%} however long the trial (below one mcid, to 0), so it "
        "cannot tell designs apart. Evaluate at the effect you hope to detect (e.g. 1.5-2 mcid) to "
        "rank by the Bayesian verdict.")
    return alt


def compare(
    protocol: Protocol,
    alternatives: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]] | None = None,
    *,
    effect: float | None = None,
    sd: float | None = None,
    phi: float | None = None,
    carryover_days: float | None = None,
    trend: float = 0.0,
    missing: float = 0.0,
    baseline: float | None = None,
    sims: int = 200,
    seed: int,
    max_total_days: int | None = None,
    methods: Sequence[str] = DEFAULT_METHODS,
    pilot: Any = None,
    outcome: str | None = None,
    rank_by: str = "auto",
    progress: _PROGRESS | None = None,
    bayes_grid: GridSpec | None = None,
) -> DesignComparison:
    """Evaluate alternative designs under one scenario and rank them.

    Args:
        protocol: the starting protocol (its conditions, outcome, analysis plan and decision rules
            are kept; only the design changes).
        alternatives: designs to evaluate, as overrides of ``period_days``, ``pairs``,
            ``washout_days``, ``run_in_days``: a dict of lists (every combination) or a list of
            dicts. Default: :func:`default_alternatives` (7/10/14/21-day periods × 3–8 pairs).
        effect, sd, phi, carryover_days, trend, missing, baseline, pilot, outcome, methods: as
            for :func:`evaluate` (the pilot is fitted once).
        sims: simulated trials per design (and as many at effect 0).
        seed: seed; every design uses the same one (common random numbers make the ranking
            less noisy).
        max_total_days: drop designs longer than this (run-in included). Default: 1.5 × the
            protocol's total days for the default grid, no bound for given alternatives.
        rank_by: a column of the table to rank by (descending; ``mean_ci_width`` ascending),
            then total days ascending. ``"auto"``: ``power_bayes`` — unless the true effect is at
            most one MCID, where the Bayesian verdict cannot tell designs apart (its power tends
            to 1 − ``benefit_prob`` at an effect of exactly one MCID however long the trial, and
            to 0 below it); then ``power_gls_ar1`` (else ``mean_ci_width``), with a note.
        bayes_grid: quadrature grid of the exact engine (default :func:`compare_grid`).

    Returns:
        A :class:`DesignComparison`, best design first.

    Example:
        >>> cmp = compare(p, {"period_days": [7, 14], "pairs": [3, 4, 6]}, effect=-1, sd=1.5,
        ...               phi=0.4, seed=1)                         # doctest: +SKIP
        >>> cmp.table[["period_days", "pairs", "total_days", "power_bayes"]]   # doctest: +SKIP
    """
    t0 = time.perf_counter()
    o = _design_outcome(protocol, outcome)
    ms = _check_methods(methods)
    if alternatives is None:
        variants = default_alternatives(protocol, max_total_days)
        bound = int(max_total_days) if max_total_days is not None else int(
            math.ceil(DEFAULT_DURATION_FACTOR * protocol.total_days))
    else:
        variants = _expand(alternatives)
        bound = None if max_total_days is None else int(max_total_days)
        if not variants:
            raise DesignError("no alternatives to compare")
    protocols: list[tuple[dict[str, Any], Protocol]] = []
    seen: set[tuple] = set()
    for v in variants:
        pv = design_variant(protocol, **v)
        key = (pv.design.period_days, pv.n_periods, pv.design.washout_days, pv.design.run_in_days)
        if key in seen:
            continue
        seen.add(key)
        if bound is not None and pv.total_days > bound:
            continue
        protocols.append((v, pv))
    if not protocols:
        raise DesignError(f"no alternative fits within {bound} total days")
    est = None
    if pilot is not None:
        est = pilot if isinstance(pilot, PilotEstimate) else estimate_pilot(
            pilot, protocol, outcome=o.name, seed=task_seed(int(seed), "pilot"))
    evaluations: list[DesignEvaluation] = []
    rows = []
    own = design_facts(protocol)
    for i, (_v, pv) in enumerate(protocols):
        def sub(msg: str, frac: float, i: int = i, pv: Protocol = pv) -> None:
            if progress is not None:
                progress(f"{pv.design.period_days}-day periods × {design_facts(pv)['pairs']}: {msg}",
                         (i + frac) / len(protocols))

        ev = evaluate(pv, effect=effect, sd=sd, phi=phi, carryover_days=carryover_days, trend=trend,
                      missing=missing, baseline=baseline, sims=sims, seed=seed, methods=ms, pilot=est,
                      outcome=o.name, progress=sub,
                      bayes_grid=compare_grid() if bayes_grid is None else bayes_grid)
        evaluations.append(ev)
        row = ev.row()
        row["current"] = all(row.get(k) == own.get(k) for k in ("period_days", "pairs", "washout_days",
                                                                   "run_in_days"))
        rows.append(row)
    table = pd.DataFrame(rows)
    notes: list[str] = []
    rank_col = _rank_column(rank_by, ms, evaluations[0], table, notes)
    ascending = rank_col == "mean_ci_width"
    table = table.sort_values([rank_col, "total_days"], ascending=[ascending, True], kind="stable",
                              na_position="last")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table = table.reset_index(drop=True)
    scenario = dict(evaluations[0].scenario)
    if est is not None:
        notes.append("assurance: sd and phi drawn from the pilot's posterior for every design")
    if "min_p_randomization" in table.columns:
        never = table.loc[table["min_p_randomization"] >= ALPHA, "pairs"].dropna().unique()
        if len(never):
            notes.append("randomization: designs with "
                         + ", ".join(str(int(x)) for x in sorted(never))
                         + " pairs can never reach a two-sided p < 0.05, whatever the effect")
    return DesignComparison(protocol=protocol, table=table, evaluations=evaluations, scenario=scenario,
                            rank_by=rank_col, max_total_days=bound, seconds=time.perf_counter() - t0,
                            notes=notes)
