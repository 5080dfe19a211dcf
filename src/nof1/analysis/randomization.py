"""Randomisation test that follows the protocol's own randomisation scheme.

Under the null hypothesis of no effect the outcome series would have been the same whatever
allocation was drawn, so the statistic is recomputed under *every* allocation the scheme could
have produced (:meth:`Protocol.allocations`: 2^k for k pairs, (k!)^b for b blocks, the admissible
phase start days for ``start_points``) and the observed one is compared with that distribution.
Only the design's randomness is used: no normality, no independence between days.

Statistics (``statistic=``):
* ``"mean_difference"`` (default) — mean of the treatment days minus mean of the control days,
  over observed non-washout trial days, by the *scheduled* condition (SCRT's "B-A"/"A-B");
* ``"phase_means"`` — mean of the treatment phase means minus mean of the control phase means
  (SCRT's "PB-PA"/"PA-PB").

The washout (first ``washout_days`` of each period) is recomputed under each allocation, since
for ``start_points`` the periods move. ``p_value`` is two-sided (|stat| >= |observed|, with a
float tolerance for ties); ``p_value_one_sided`` counts allocations at least as extreme in the
outcome's benefit direction (SCRT's upper-tail p of "A-B" for a lower-is-better outcome).
Above ``MAX_EXACT_ALLOCATIONS`` allocations a seeded Monte Carlo sample of
``MONTE_CARLO_ALLOCATIONS`` is used, the observed allocation included: p = (1 + hits)/(M + 1).

``min_p_value`` is the smallest two-sided p the design can give at all: the share of
allocations whose statistic is ± the observed one for *every* possible outcome series (e.g. the
mirror allocation of a pairs design), so 2/2^k for k pairs with complete data.

Example:
    >>> r = randomization(td, "severity", ("B", "A"))                      # doctest: +SKIP
    >>> r.p_value, r.extras["n_allocations"], r.extras["min_p_value"]      # doctest: +SKIP
    (0.125, 16, 0.125)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from nof1.analysis.base import Contrast, MethodResult, register_method
from nof1.analysis.classical import contrast_problem, resolve_outcome, resolve_washout
from nof1.constants import CI_LEVEL, MAX_EXACT_ALLOCATIONS, MONTE_CARLO_ALLOCATIONS

if TYPE_CHECKING:
    from nof1.data import TrialData
    from nof1.protocol import Outcome, Protocol

STATISTICS = ("mean_difference", "phase_means")
_CHUNK = 8192


def allocation_matrices(
    protocol: Protocol, allocations: Sequence[tuple], washout_days: int
) -> tuple[NDArray[np.int16], NDArray[np.int16], NDArray[np.bool_], NDArray[np.int16]]:
    """Day-level design of each allocation, vectorised.

    Returns ``(codes, phase, washout, phase_codes)``: condition code of each trial day (index in
    ``protocol.conditions``), period index (0-based) of each day, washout flag of each day — all
    (n_allocations, trial_days) — and the condition code of each period (n_allocations, n_periods).
    Row ``i`` equals ``protocol.allocation_days(allocations[i])`` coded.

    Example:
        >>> codes, phase, wash, pc = allocation_matrices(p, p.allocations(), 2)   # doctest: +SKIP
    """
    keys = list(protocol.conditions)
    if protocol.scheme == "start_points":  # allocation = start days of phases 2..k (periods_for)
        seq = np.array([keys.index(c) for c in protocol.design.sequence], dtype=np.int16)
        starts_ = np.array(allocations, dtype=np.int64).reshape(len(allocations), len(seq) - 1)
        bounds = np.column_stack([np.ones(len(allocations), dtype=np.int64), starts_,
                                  np.full(len(allocations), protocol.trial_days + 1)])
        lengths = np.diff(bounds, axis=1)
        pcodes = np.broadcast_to(seq, lengths.shape)
    else:  # allocation = condition of each period, all periods period_days long
        pcodes = np.searchsorted(np.array(keys), np.array(allocations, dtype=str), sorter=np.argsort(keys))
        pcodes = np.argsort(keys)[pcodes].astype(np.int16)
        lengths = np.full(pcodes.shape, int(protocol.design.period_days), dtype=np.int64)
    n_days = int(lengths[0].sum())
    day = np.arange(n_days)
    ends = np.cumsum(lengths, axis=1)
    starts = ends - lengths
    rows = np.arange(len(allocations))[:, None]
    if (lengths == lengths[0]).all():
        ph = np.repeat(np.arange(lengths.shape[1]), lengths[0])
        phase = np.broadcast_to(ph, (len(allocations), n_days)).astype(np.int16)
        dip = day - starts[0][ph]
        wash = np.broadcast_to(dip < washout_days, phase.shape)
    else:
        phase = (day[None, None, :] >= ends[:, :-1, None]).sum(axis=1).astype(np.int16)
        wash = (day[None, :] - starts[rows, phase]) < washout_days
    codes = pcodes[rows, phase]
    return codes, phase, np.asarray(wash), pcodes


def _statistic_weights(
    codes: NDArray, phase: NDArray, wash: NDArray, pcodes: NDArray, observed: NDArray[np.bool_],
    t: int, c: int, statistic: str,
) -> NDArray[np.float64]:
    """Weights w (n_alloc, days) with statistic = w @ y; rows with an empty group are NaN."""
    use = observed[None, :] & ~wash
    if statistic == "mean_difference":
        in_t = (codes == t) & use
        in_c = (codes == c) & use
        nt = in_t.sum(axis=1, keepdims=True)
        nc = in_c.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = in_t / nt - in_c / nc
        bad = (nt[:, 0] == 0) | (nc[:, 0] == 0)
    else:
        n_alloc, n_days = codes.shape
        w = np.zeros((n_alloc, n_days))
        k_t = np.zeros(n_alloc)
        k_c = np.zeros(n_alloc)
        rows = np.arange(n_alloc)
        for j in range(pcodes.shape[1]):
            in_j = (phase == j) & use
            cnt = in_j.sum(axis=1)
            has = cnt > 0
            k_t += has & (pcodes[:, j] == t)
            k_c += has & (pcodes[:, j] == c)
        for j in range(pcodes.shape[1]):
            in_j = (phase == j) & use
            cnt = in_j.sum(axis=1)
            pc = pcodes[:, j]
            sign = np.where(pc == t, 1.0 / np.maximum(k_t, 1), np.where(pc == c, -1.0 / np.maximum(k_c, 1), 0.0))
            scale = np.where(cnt > 0, sign / np.maximum(cnt, 1), 0.0)
            w += in_j * scale[rows][:, None]
        bad = (k_t == 0) | (k_c == 0)
    w = np.where(bad[:, None], np.nan, w)
    return w


def randomization_distribution(
    protocol: Protocol,
    allocations: Sequence[tuple],
    y: NDArray[np.float64],
    contrast: Contrast,
    *,
    washout_days: int = 0,
    statistic: str = "mean_difference",
    reference: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """The statistic under each allocation (chunked, so memory stays small).

    ``y`` holds one value per trial day (NaN = not observed). Each allocation's statistic is
    ``w @ y`` for a weight vector ``w`` over days. Returns ``(stats, same, mirror)``: NaN where a
    group is empty under that allocation, and whether ``w`` equals ``reference`` or ``−reference``
    (all False without a reference) — allocations tied with the reference for *every* ``y``.

    Example:
        >>> s, _, _ = randomization_distribution(p, p.allocations(), y, ("B", "A"))  # doctest: +SKIP
    """
    keys = list(protocol.conditions)
    t, c = keys.index(contrast[0]), keys.index(contrast[1])
    observed = ~np.isnan(y)
    y0 = np.where(observed, y, 0.0)
    stats, same, mirror = [], [], []
    for i in range(0, len(allocations), _CHUNK):
        codes, phase, wash, pcodes = allocation_matrices(protocol, allocations[i:i + _CHUNK], washout_days)
        w = _statistic_weights(codes, phase, wash, pcodes, observed, t, c, statistic)
        stats.append(w @ y0)
        if reference is None:
            same.append(np.zeros(len(w), dtype=bool))
            mirror.append(np.zeros(len(w), dtype=bool))
        else:
            same.append(np.all(np.abs(w - reference) <= 1e-12, axis=1))
            mirror.append(np.all(np.abs(w + reference) <= 1e-12, axis=1))
    return np.concatenate(stats), np.concatenate(same), np.concatenate(mirror)


def _observed_weights(
    protocol: Protocol, allocation: tuple, y: NDArray[np.float64], contrast: Contrast, washout_days: int,
    statistic: str,
) -> NDArray[np.float64]:
    keys = list(protocol.conditions)
    codes, phase, wash, pcodes = allocation_matrices(protocol, [allocation], washout_days)
    return _statistic_weights(codes, phase, wash, pcodes, ~np.isnan(y), keys.index(contrast[0]),
                              keys.index(contrast[1]), statistic)[0]


def _observed_allocation(trial_data: TrialData) -> tuple:
    """The allocation actually scheduled in the data (sequence of periods or phase start days)."""
    protocol = trial_data.protocol
    trial = trial_data.trial.sort_values("day")
    firsts = trial.groupby("period", sort=True).first()
    if protocol.scheme == "start_points":
        offset = int(trial["day"].min()) - 1
        return tuple(int(d) - offset for d in firsts["day"].iloc[1:])
    return tuple(str(c) for c in firsts["condition"])


@register_method(
    "randomization", outcome_types=("continuous", "ordinal", "count", "binary"), order=40,
    description="exact randomisation test over the protocol's allocations (design-based)",
)
def randomization(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    statistic: str = "mean_difference",
    **options: Any,
) -> MethodResult:
    """Randomisation test of treatment vs control under the protocol's randomisation scheme.

    A test, not an estimator: no ``estimate`` or interval; the observed statistic (treatment
    minus control, outcome units: ``extras["scale"]`` is ``outcome``) is in
    ``extras["observed"]``. Extras: ``scale``, ``observed``,
    ``statistic``, ``n_allocations`` (size of the reference set), ``n_allocations_possible``,
    ``exact``, ``min_p_value``, ``min_p_value_one_sided``, ``p_value_one_sided``, ``direction``,
    ``n_as_extreme``.

    Example:
        >>> r = randomization(td, "severity", ("B", "A"), statistic="phase_means")   # doctest: +SKIP
        >>> r.extras["exact"], r.extras["n_allocations"]                               # doctest: +SKIP
        (True, 16)
    """
    name = "randomization"
    o = resolve_outcome(trial_data, outcome)
    protocol = trial_data.protocol
    problem = contrast_problem(protocol, contrast)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    if statistic not in STATISTICS:
        return MethodResult.unavailable(
            name, o.name, contrast, f"unknown statistic '{statistic}' (choose from {', '.join(STATISTICS)})")
    if not protocol.is_randomized:
        return MethodResult.unavailable(
            name, o.name, contrast,
            "the sequence was fixed, not randomised: there is no randomisation distribution to refer "
            "the result to (declare design.randomization to use this test)")
    trial = trial_data.trial.sort_values("day")
    if "participant" in trial.columns and trial["participant"].nunique() > 1:
        return MethodResult.unavailable(name, o.name, contrast,
                                        "a series of several participants: analyse one participant at a time")
    y = trial[o.name].to_numpy(dtype=float)
    if len(y) != protocol.trial_days:
        return MethodResult.unavailable(
            name, o.name, contrast, f"the data hold {len(y)} trial days but the protocol has {protocol.trial_days}")
    w = resolve_washout(protocol, washout_days)
    obs_alloc = _observed_allocation(trial_data)
    obs_w = _observed_weights(protocol, obs_alloc, y, contrast, w, statistic)
    if not np.isfinite(obs_w).all():
        usable = trial[trial[o.name].notna() & (trial["day_in_period"] > w)]
        missing = [k for k in contrast if not (usable["condition"] == k).any()]
        return MethodResult.unavailable(
            name, o.name, contrast,
            f"condition {' and '.join(missing)} has no usable day (observed, scheduled, outside the "
            f"{w}-day washout): the statistic is undefined")
    observed = float(obs_w @ np.where(np.isnan(y), 0.0, y))
    values = y[~np.isnan(y)]
    if values.size and np.ptp(values) == 0:
        return MethodResult.unavailable(
            name, o.name, contrast,
            f"all observed values are equal ({values[0]:g}): every allocation gives the same statistic")
    n_total = protocol.n_allocations
    exact = n_total <= MAX_EXACT_ALLOCATIONS
    notes: list[str] = []
    if exact:
        allocations = protocol.allocations()
        if tuple(obs_alloc) not in set(allocations):
            return MethodResult.unavailable(
                name, o.name, contrast,
                f"the schedule in the data ({obs_alloc}) is not one the '{protocol.scheme}' scheme could have "
                "produced")
    else:
        rng_seed = 0 if seed is None else int(seed)
        allocations = [obs_alloc, *protocol.sample_allocations(MONTE_CARLO_ALLOCATIONS, rng_seed)]
    stats, same, mirror = randomization_distribution(protocol, allocations, y, contrast, washout_days=w,
                                                     statistic=statistic, reference=obs_w)
    defined = np.isfinite(stats)
    n_undefined = int((~defined).sum())
    if n_undefined:
        notes.append(f"{n_undefined} allocation(s) leave a condition without usable days and were left out")
    s = stats[defined]
    n = int(s.size)
    tol = 1e-9 * max(1.0, float(np.nanmax(np.abs(y))))
    two = int((np.abs(s) >= abs(observed) - tol).sum())
    if o.better == "lower":
        one = int((s <= observed + tol).sum())
        direction = f"{contrast[0]} lower than {contrast[1]}"
    else:
        one = int((s >= observed - tol).sum())
        direction = f"{contrast[0]} higher than {contrast[1]}"
    same, mirror = same[defined], mirror[defined]
    if exact:
        min_two = max(int((same | mirror).sum()), 1) / n
        min_one = max(int(same.sum()), 1) / n
        p_two, p_one = two / n, one / n
    else:
        # the observed allocation is row 0 of the sample: p = (1 + hits among the M draws)/(M + 1)
        p_two, p_one = two / n, one / n
        min_two = min_one = 1.0 / n
        notes.append(f"Monte Carlo over {n - 1:,} allocations drawn at random (of {n_total:,}) plus the "
                     "observed one; the p-value has sampling error")
    if w:
        notes.append(f"the first {w} day(s) of every period were left out as washout")
    if min_two > 0.05:
        notes.append(f"with {n_total} possible allocations the smallest attainable two-sided p is "
                     f"{min_two:.3g}: this design cannot reach p < 0.05 however large the effect")
    return MethodResult(
        method=name, outcome=o.name, contrast=contrast, p_value=p_two,
        extras={
            "scale": "outcome", "observed": observed, "statistic": statistic, "n_allocations": n,
            "n_allocations_possible": n_total, "exact": exact, "min_p_value": min_two,
            "min_p_value_one_sided": min_one, "p_value_one_sided": p_one, "direction": direction,
            "n_as_extreme": two, "n_as_extreme_one_sided": one, "washout_days": w,
        },
        notes=tuple(notes),
    )
