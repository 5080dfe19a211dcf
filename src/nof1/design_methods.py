"""The analyses of a design evaluation, run on a whole batch of simulated trials at once:
``gls_ar1``, the exact ``bayes`` analysis and the randomisation test, each the model of the
method :func:`nof1.analyze` runs on a real trial (:class:`MethodDraws` per batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from nof1.constants import (
    MAX_EXACT_ALLOCATIONS,
    VERDICT_BENEFIT,
    VERDICT_HARM,
    VERDICT_INCONCLUSIVE,
    VERDICT_NO_EFFECT,
)
from nof1.design_common import (
    DESIGN_MAX_ALLOCATIONS,
    DESIGN_MC_ALLOCATIONS,
    DesignError,
    analysis_priors,
    batch_grid,
    benefit_sign,
    trend_for,
)

if TYPE_CHECKING:

    from nof1.models.bayes_exact import GridSpec
    from nof1.protocol import Outcome, Protocol
    from nof1.simulation import SimulatedBatch

@dataclass
class MethodDraws:
    """Per-trial results of one method on one batch (arrays of shape (n,))."""

    success: NDArray[np.bool_]
    available: NDArray[np.bool_]
    estimate: NDArray[np.float64]
    ci_width: NDArray[np.float64] | None = None
    p_value: NDArray[np.float64] | None = None
    prob_meaningful_benefit: NDArray[np.float64] | None = None
    verdicts: NDArray[np.object_] | None = None


@dataclass
class Context:
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


def analyse_gls(batch: SimulatedBatch, ctx: Context) -> MethodDraws:
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
    if trend_for(protocol):
        cols.append(np.broadcast_to((day - day.mean()).astype(float), y.shape))
    X = np.stack(cols, axis=-1)
    fit = gls_ar1_batch(y, X, day)
    c = np.zeros(X.shape[-1])
    c[ctx.contrast_code] = 1.0
    res = fit.contrast(c, ctx.ci_level)
    available = enough & fit.ok & np.isfinite(res["p_value"])
    est = np.where(available, res["estimate"], np.nan)
    p = np.where(available, res["p_value"], np.nan)
    sign = benefit_sign(ctx.outcome)
    success = available & (p < ctx.alpha) & (np.sign(est) == sign)
    return MethodDraws(success=success, available=available, estimate=est,
                        ci_width=np.where(available, res["ci_high"] - res["ci_low"], np.nan), p_value=p)


def _verdicts(pmb: NDArray, pmh: NDArray, pneg: NDArray | None, decision: Any) -> NDArray[np.object_]:
    """Vectorised :func:`nof1.analysis.core.verdict`."""
    out = np.full(pmb.shape, VERDICT_INCONCLUSIVE, dtype=object)
    if pneg is not None:
        out[pneg >= decision.no_effect_prob] = VERDICT_NO_EFFECT
    out[pmh >= decision.possible_harm_prob] = VERDICT_HARM
    out[(pmb >= decision.benefit_prob) & (pmh < decision.harm_prob_max)] = VERDICT_BENEFIT
    return out


def analyse_bayes(batch: SimulatedBatch, ctx: Context, grid: GridSpec | None = None) -> MethodDraws:
    """``bayes`` on every trial with the batched exact engine (the analysis' model and priors)."""
    from nof1.analysis.classical import MIN_DAYS_PER_CONDITION
    from nof1.models.bayes_exact import contrast_vector, fit_exact_batch

    protocol, o = ctx.protocol, ctx.outcome
    run_in = protocol.design.run_in_days
    day = batch.day
    treat = batch.full("treat")
    n_treat = len(protocol.conditions) - 1
    if not (day[0] == 1 or run_in == 0):
        raise DesignError("internal: the Bayesian design analysis needs the run-in days simulated")
    # daily treatment indicator over the whole calendar (run-in days = 0)
    y, u = batch.model_inputs(exclude_washout=protocol.analysis.carryover == "exclude")
    # the method's minimum: enough observed trial days on both compared conditions
    obs_trial = np.isfinite(y) & ~batch.full("run_in")
    enough = ((obs_trial & (treat == ctx.contrast_code)).sum(axis=1) >= MIN_DAYS_PER_CONDITION) & \
        ((obs_trial & (treat == 0)).sum(axis=1) >= MIN_DAYS_PER_CONDITION)
    priors = analysis_priors(protocol, o, n_treatments=n_treat)
    c = contrast_vector(n_treat, ctx.contrast_code - 1, None)
    res = fit_exact_batch(
        y, u, day, priors=priors, contrast=c, ci_level=ctx.ci_level, mcid=o.mcid, better=o.better,
        trend=trend_for(protocol), run_in_days=run_in, grid=grid if grid is not None else batch_grid(),
    )
    pmb = np.asarray(res.prob_meaningful_benefit, dtype=float)
    pmh = np.asarray(res.prob_meaningful_harm, dtype=float)
    pneg = None if res.prob_negligible is None else np.asarray(res.prob_negligible, dtype=float)
    verdicts = _verdicts(pmb, pmh, pneg, protocol.analysis.decision)
    available = enough & np.isfinite(pmb) & np.isfinite(res.ci_low) & np.isfinite(res.ci_high)
    success = available & (verdicts == VERDICT_BENEFIT)
    return MethodDraws(
        success=success, available=available, estimate=np.where(available, res.estimate, np.nan),
        ci_width=np.where(available, res.ci_high - res.ci_low, np.nan),
        prob_meaningful_benefit=np.where(available, pmb, np.nan), verdicts=verdicts,
    )


def randomization_reference(protocol: Protocol, seed: int) -> tuple[list[tuple], bool]:
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


def min_randomization_p(protocol: Protocol, allocations: Sequence[tuple], exact: bool,
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


def analyse_randomization(batch: SimulatedBatch, ctx: Context) -> MethodDraws:
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
    success = available & (p < ctx.alpha) & (np.sign(est) == benefit_sign(o))
    return MethodDraws(success=success, available=available, estimate=est, p_value=p)
