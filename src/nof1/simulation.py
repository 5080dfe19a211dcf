"""Simulated N-of-1 trials: one log in the user's format, or large batches of arrays.

Two entry points share one generative model:

* :func:`simulate` returns **one** trial as a log DataFrame in the user log format (``date``,
  one column per outcome, ``condition``, ``period``, ``adherence``, ``note``; ``participant`` when
  given), run-in included. Use it for examples, tests and sample data.
* :func:`simulate_batch` returns **many** trials of one outcome as arrays
  (:class:`SimulatedBatch`), vectorised across trials. Use it for power analysis and calibration.

The model, day by day (``t`` = calendar day, 1 = first day of the run-in)::

    eta_t = baseline + sum_k effect_k * x_kt + trend * (t - 1) + e_t
    e_t   = phi * e_(t-1) + sqrt(1 - phi**2) * sd * z_t,   e_1 = sd * z_1,   z ~ Normal(0, 1)
    x_kt  = exposure to treatment k (nof1.models.exposure.exposure, time constant carryover_days;
            u_t = 1 on days of treatment k, 0 on control and run-in days)

so ``e`` is a stationary AR(1) series with sd ``sd`` and lag-1 correlation ``phi``. The observed
value depends on the outcome type:

=========== ==================================================================================
type        observation given ``eta_t``
=========== ==================================================================================
continuous  ``y = eta`` (clipped to the outcome's range; optionally rounded to ``resolution``)
ordinal     cumulative logit: ``P(y <= lo + j) = logistic(c_j - eta)``; cut points ``c_j`` are
            the logistic quantiles ``logit(j / K)`` (K categories) so that ``eta = 0`` spreads
            the ratings evenly over the range. ``baseline``, ``effect`` and ``sd`` are on this
            latent logit scale; ``effect`` is a log cumulative odds ratio (positive = higher
            ratings). See :func:`ordinal_cutpoints` and :func:`ordinal_mean`.
count       Poisson with log rate ``eta`` (the AR(1) term makes it overdispersed, Poisson-
            log-normal); ``baseline`` is the log rate, ``effect`` a log rate ratio, ``sd`` the
            sd of the latent log-rate term. Mean ``exp(mu + sd**2 / 2)`` where ``mu`` is
            ``eta`` without ``e``.
binary      Bernoulli with logit ``eta``; ``effect`` is a log odds ratio.
=========== ==================================================================================

Example:
    >>> import nof1
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")          # doctest: +SKIP
    >>> log = nof1.simulate(p, effect=-1.2, sd=1.5, phi=0.4, seed=1)          # doctest: +SKIP
    >>> batch = nof1.simulate_batch(p, effect=-1.2, sd=1.5, phi=0.4, n=10_000, seed=1)  # doctest: +SKIP
    >>> batch.y.shape                                                         # doctest: +SKIP
    (10000, 112)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nof1.errors import Nof1Error
from nof1.models.exposure import exposure as _exposure
from nof1.models.exposure import exposure_multi as _exposure_multi

if TYPE_CHECKING:
    from nof1.protocol import Outcome, Protocol

__all__ = [
    "SimulatedBatch",
    "SimulationError",
    "default_parameters",
    "ordinal_cutpoints",
    "ordinal_mean",
    "simulate",
    "simulate_batch",
]

#: Start date used by :func:`simulate` when neither ``start`` nor ``design.start_date`` is given.
DEFAULT_START = dt.date(2026, 1, 1)

OutcomeType = Literal["continuous", "ordinal", "count", "binary"]
Number = float | int
EffectSpec = Number | Mapping[str, Any]


class SimulationError(Nof1Error, ValueError):
    """Invalid simulation parameters (also a :class:`ValueError`)."""


# --------------------------------------------------------------------------- helpers (public)
def ordinal_cutpoints(n_categories: int) -> NDArray[np.float64]:
    """Cut points ``logit(j / K)``, ``j = 1..K-1``, of the simulated ordinal outcomes.

    With latent location 0 (and no latent noise) every one of the ``K`` categories has
    probability ``1/K``.

    Example:
        >>> ordinal_cutpoints(3).round(3).tolist()
        [-0.693, 0.693]
    """
    if n_categories < 2:
        raise SimulationError(f"an ordinal outcome needs at least 2 categories, got {n_categories}")
    j = np.arange(1, n_categories) / n_categories
    return np.log(j / (1.0 - j))


def ordinal_mean(eta: float | NDArray[np.float64], low: int, high: int) -> NDArray[np.float64]:
    """Expected rating ``E[y | eta]`` of the simulated ordinal outcome on ``[low, high]``.

    This is the formula for ``sd = 0``; with latent noise, average it over ``eta ~ Normal(mu, sd)``.

    Example:
        >>> round(float(ordinal_mean(0.0, 0, 10)), 6)
        5.0
    """
    cuts = ordinal_cutpoints(int(high - low + 1))
    eta = np.asarray(eta, dtype=float)
    cdf = 1.0 / (1.0 + np.exp(-(cuts - eta[..., None])))   # P(y <= low + j), j = 0..K-2
    # E[y] = low + sum_j P(y > low + j)
    return low + np.sum(1.0 - cdf, axis=-1)


def default_parameters(outcome: Outcome) -> dict[str, float]:
    """Baseline and sd used for an outcome when none is given (see the table below).

    ============ ========================================= ==========================
    type         baseline                                  sd
    ============ ========================================= ==========================
    continuous   middle of ``range`` (0 without a range)   range width / 10 (else 1)
    ordinal      0 on the latent scale (evenly spread)     1.0 (latent, logit scale)
    count        log of 1 event/day, or of width/10 when   0.3 (latent log rate)
                 the range has a finite upper end
    binary       0 (probability 1/2)                       0.5 (latent, logit scale)
    ============ ========================================= ==========================

    Example:
        >>> from nof1.protocol import Outcome
        >>> default_parameters(Outcome(name="y", range=(0, 10), better="lower"))
        {'baseline': 5.0, 'sd': 1.0}
    """
    r = outcome.value_range
    if outcome.type == "continuous":
        if r is None:
            return {"baseline": 0.0, "sd": 1.0}
        return {"baseline": (r[0] + r[1]) / 2.0, "sd": (r[1] - r[0]) / 10.0}
    if outcome.type == "ordinal":
        return {"baseline": 0.0, "sd": 1.0}
    if outcome.type == "count":
        rate = 1.0 if r is None or not math.isfinite(r[1]) else max((r[1] - r[0]) / 10.0, 0.5)
        return {"baseline": math.log(rate), "sd": 0.3}
    return {"baseline": 0.0, "sd": 0.5}


# --------------------------------------------------------------------------- batch result
@dataclass(frozen=True)
class SimulatedBatch:
    """Many simulated trials of one outcome, as arrays (see :func:`simulate_batch`).

    Day-level design arrays (``treat``, ``exposure``, ``period``, ``pair``, ``washout``,
    ``day_in_period``) are 1-D ``(n_days,)`` when every trial shares them (the realised
    allocation, or period schemes whose period boundaries never move) and 2-D ``(n, n_days)``
    otherwise; either way they broadcast against ``y``.

    Attributes:
        y: ``(n, n_days)`` outcomes, NaN on missing days (and, for weekly outcomes, on days
            without a measurement).
        day: ``(n_days,)`` calendar day index (1 = first run-in day) of the simulated days.
        treat: condition code per day: 0 = control (and run-in), ``k`` = ``conditions[k]``.
            For two conditions this is the 0/1 treatment indicator.
        exposure: true exposure ``x`` per day; shape of ``treat`` for two conditions, with an
            extra axis before days (one row per treatment) for three or more.
        period: period number (0 = run-in).
        pair: pair or block number (0 = run-in, -1 when the periods do not form complete pairs).
        washout: True on the first ``washout_days`` days of each period.
        day_in_period: 1-based day within the period (or within the run-in).
        run_in: ``(n_days,)`` True on run-in days.
        allocations: the allocation used by each trial (length ``n``).
        allocation_index: ``(n,)`` index of each trial's allocation in ``protocol.allocations()``
            (-1 when the scheme has too many allocations to enumerate).
        conditions: condition keys by code (control first, then the treatments).
        outcome_type: ``continuous``, ``ordinal``, ``count`` or ``binary``.
        params: the true parameters used (effect, sd, phi, carryover_days, trend, baseline,
            missing, seed, ...).
    """

    y: NDArray[np.float64]
    day: NDArray[np.int64]
    treat: NDArray[np.int64]
    exposure: NDArray[np.float64]
    period: NDArray[np.int64]
    pair: NDArray[np.int64]
    washout: NDArray[np.bool_]
    day_in_period: NDArray[np.int64]
    run_in: NDArray[np.bool_]
    allocations: tuple[tuple, ...]
    allocation_index: NDArray[np.int64]
    conditions: tuple[str, ...]
    outcome_type: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of simulated trials."""
        return int(self.y.shape[0])

    @property
    def n_days(self) -> int:
        """Number of simulated days per trial."""
        return int(self.y.shape[1])

    def full(self, name: str) -> NDArray:
        """A day-level array broadcast to ``(n, n_days)`` (e.g. ``batch.full("treat")``)."""
        value = np.asarray(getattr(self, name))
        if name == "exposure" and len(self.conditions) > 2:
            return np.broadcast_to(value, (self.n, len(self.conditions) - 1, self.n_days))
        return np.broadcast_to(value, (self.n, self.n_days))

    def model_inputs(self, *, exclude_washout: bool) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The outcome (n, n_days) with washout days missing when ``exclude_washout`` (the
        protocol's ``carryover: exclude``), and the daily treatment indicators (n, K, D) over
        the whole calendar from day 1 (run-in days and any day before the first simulated one
        are 0): what the batched exact engine (``fit_exact_batch``) takes.

        Example:
            >>> y, u = b.model_inputs(exclude_washout=True)     # doctest: +SKIP
            >>> u.shape[1] == len(b.conditions) - 1              # doctest: +SKIP
            True
        """
        y = self.y
        if exclude_washout:
            y = np.where(self.full("washout"), np.nan, y)
        treat = self.full("treat")
        n_treat = len(self.conditions) - 1
        u = np.stack([(treat == k).astype(float) for k in range(1, n_treat + 1)], axis=1)
        first = int(self.day[0])
        if first != 1:
            u = np.concatenate([np.zeros((u.shape[0], n_treat, first - 1)), u], axis=-1)
        return y, u

    def difference(self, *, exclude_washout: bool = True, treatment: int = 1) -> NDArray[np.float64]:
        """Per-trial naive mean difference, treatment (code ``treatment``) minus control.

        Run-in days are left out, and washout days too unless ``exclude_washout`` is false.
        Trials with no observed day in one arm give NaN.

        Example:
            >>> b = simulate_batch(p, effect=-1.0, sd=1.0, n=100, seed=1)   # doctest: +SKIP
            >>> b.difference().mean()                                       # doctest: +SKIP
            -1.0...
        """
        keep = ~self.full("run_in") & ~np.isnan(self.y)
        if exclude_washout:
            keep &= ~self.full("washout")
        treat = self.full("treat")
        y = np.where(keep, self.y, 0.0)
        t_mask = keep & (treat == treatment)
        c_mask = keep & (treat == 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mt = (y * t_mask).sum(axis=1) / t_mask.sum(axis=1)
            mc = (y * c_mask).sum(axis=1) / c_mask.sum(axis=1)
        return mt - mc


# --------------------------------------------------------------------------- validation
def _check_scalar(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                  low_open: bool = False, high_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SimulationError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise SimulationError(f"{name} must be finite, got {value!r}")
    if low is not None and (v < low or (low_open and v == low)):
        raise SimulationError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (v > high or (high_open and v == high)):
        raise SimulationError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return v


def _check_phi(name: str, value: Any) -> float:
    return _check_scalar(name, value, low=-1.0, high=1.0, low_open=True, high_open=True)


def _check_tau(name: str, value: Any) -> float:
    if value is None:
        return 0.0
    return _check_scalar(name, value, low=0.0)


def _condition_effects(protocol: Protocol, value: Any, where: str) -> NDArray[np.float64]:
    """Effect per treatment condition (in ``protocol.treatments`` order)."""
    treatments = protocol.treatments
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in protocol.conditions]
        if unknown:
            raise SimulationError(
                f"{where}: {unknown} are not conditions (conditions: {', '.join(protocol.conditions)})"
            )
        ctrl = value.get(protocol.control)
        if ctrl is not None and _check_scalar(f"{where}[{protocol.control}]", ctrl) != 0.0:
            raise SimulationError(
                f"{where}: the control condition '{protocol.control}' has effect 0 by definition "
                "(effects are treatment minus control)"
            )
        return np.array([_check_scalar(f"{where}[{k}]", value.get(k, 0.0)) for k in treatments])
    v = _check_scalar(where, value)
    return np.full(len(treatments), v)


# --------------------------------------------------------------------------- day layout
@dataclass(frozen=True)
class _Layout:
    code: NDArray[np.int64]
    period: NDArray[np.int64]
    pair: NDArray[np.int64]
    washout: NDArray[np.bool_]
    day_in_period: NDArray[np.int64]
    period_length: NDArray[np.int64]


def _layout(protocol: Protocol, allocation: tuple | None) -> _Layout:
    """Day-level arrays for the whole calendar (run-in first) under one allocation."""
    order = [protocol.control, *protocol.treatments]
    code_of = {k: i for i, k in enumerate(order)}
    periods = protocol.periods_for(allocation)
    run_in = protocol.design.run_in_days
    washout = protocol.design.washout_days
    k = len(protocol.conditions)
    pair_of: list[int] = []
    if len(periods) % k == 0 and all(
        sorted(c for c, _ in periods[g * k:(g + 1) * k]) == sorted(protocol.conditions)
        for g in range(len(periods) // k)
    ):
        pair_of = [i // k + 1 for i in range(len(periods))]
    else:
        pair_of = [-1] * len(periods)
    lengths = np.array([n for _, n in periods], dtype=np.int64)
    codes = np.array([code_of[c] for c, _ in periods], dtype=np.int64)
    period_ids = np.arange(1, len(periods) + 1)
    dip = np.concatenate([np.arange(1, n + 1) for n in lengths]) if len(lengths) else np.array([], int)
    out_code = np.concatenate([np.zeros(run_in, np.int64), np.repeat(codes, lengths)])
    out_period = np.concatenate([np.zeros(run_in, np.int64), np.repeat(period_ids, lengths)])
    out_pair = np.concatenate([np.zeros(run_in, np.int64), np.repeat(np.array(pair_of), lengths)])
    out_dip = np.concatenate([np.arange(1, run_in + 1), dip]).astype(np.int64)
    out_len = np.concatenate([np.full(run_in, run_in), np.repeat(lengths, lengths)]).astype(np.int64)
    out_wash = np.concatenate([np.zeros(run_in, bool), dip <= washout])
    return _Layout(out_code, out_period, out_pair, out_wash, out_dip, out_len)


def _measured(protocol: Protocol, outcome: Outcome | None, layout: _Layout) -> NDArray[np.bool_]:
    """True on the days the outcome is measured (every day for daily outcomes)."""
    if outcome is None or outcome.schedule == "daily":
        return np.ones(layout.code.shape, dtype=bool)
    out = np.zeros(layout.code.shape, dtype=bool)
    for length in np.unique(layout.period_length):
        days = protocol.measure_days(outcome, int(length))
        sel = layout.period_length == length
        out[sel] = np.isin(layout.day_in_period[sel], days)
    return out


# --------------------------------------------------------------------------- core generator
def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float, sd: float) -> NDArray[np.float64]:
    """Stationary AR(1) series along the last axis (loops over days, vectorised over rows)."""
    z = rng.standard_normal(shape)
    if sd == 0.0:
        return np.zeros(shape)
    if phi == 0.0:
        return sd * z
    e = np.empty(shape)
    e[:, 0] = sd * z[:, 0]
    s = sd * math.sqrt(1.0 - phi * phi)
    for t in range(1, shape[1]):
        np.multiply(e[:, t - 1], phi, out=e[:, t])
        e[:, t] += s * z[:, t]
    return e


def _observe(
    rng: np.random.Generator,
    eta: NDArray[np.float64],
    outcome_type: str,
    value_range: tuple[float, float] | None,
) -> NDArray[np.float64]:
    """Draw observations given the linear predictor (latent noise included)."""
    if outcome_type == "continuous":
        y = eta
        if value_range is not None:
            y = np.clip(y, value_range[0], value_range[1])
        return y
    if outcome_type == "ordinal":
        lo, hi = int(value_range[0]), int(value_range[1])
        cuts = ordinal_cutpoints(hi - lo + 1)
        ystar = eta + rng.logistic(size=eta.shape)
        return (lo + np.searchsorted(cuts, ystar, side="left")).astype(float)
    if outcome_type == "count":
        lam = np.exp(np.minimum(eta, 30.0))
        y = rng.poisson(lam).astype(float)
        if value_range is not None:
            y = np.clip(y, value_range[0], value_range[1])
        return y
    if outcome_type == "binary":
        p = 1.0 / (1.0 + np.exp(-eta))
        return (rng.random(eta.shape) < p).astype(float)
    raise SimulationError(
        f"unknown outcome type '{outcome_type}' (continuous, ordinal, count or binary)"
    )


def _exposures(codes: NDArray[np.int64], n_levels: int, tau: float) -> NDArray[np.float64]:
    """Exposure to the treatment (two conditions) or to each treatment (an extra axis before days)."""
    if n_levels == 2:
        return _exposure((codes == 1).astype(float), tau)
    return _exposure_multi(codes, n_levels, tau)


def _draw(
    *,
    rng_latent: np.random.Generator,
    rng_obs: np.random.Generator,
    n: int,
    x: NDArray[np.float64],
    day: NDArray[np.int64],
    effects: NDArray[np.float64],
    baseline: float,
    sd: float,
    phi: float,
    trend: float,
    outcome_type: str,
    value_range: tuple[float, float] | None,
) -> NDArray[np.float64]:
    """Outcomes ``(n, days)`` given the exposure ``x`` (shared ``(days,)`` or per trial)."""
    if len(effects) == 1:
        mean = effects[0] * x
    else:
        mean = np.einsum("k,...kt->...t", effects, x)
    mean = mean + baseline + trend * (day - 1).astype(float)
    eta = np.broadcast_to(mean, (n, day.shape[0])) + _ar1(rng_latent, (n, day.shape[0]), phi, sd)
    return np.array(_observe(rng_obs, eta, outcome_type, value_range), dtype=float, copy=None)


# --------------------------------------------------------------------------- simulate (one log)
def _per_outcome(value: Any, outcomes: Sequence[str], focus: str, what: str) -> dict[str, Any]:
    """Resolve a number-or-dict parameter to {outcome: value} (numbers go to the focus outcome).

    Dict keys must be outcomes of the protocol; those not simulated are ignored.
    """
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in outcomes]
        if unknown:
            raise SimulationError(
                f"{what}: {unknown} are not outcomes of the protocol (outcomes: {', '.join(outcomes)})"
            )
        return dict(value)
    if value is None:
        return {}
    return {focus: value}


def _resolve_effects(protocol: Protocol, effect: Any, outcomes: Sequence[str], focus: str) -> dict[str, Any]:
    if isinstance(effect, Mapping) and effect and all(k in protocol.conditions for k in effect) \
            and not any(k in outcomes for k in effect):
        return {focus: dict(effect)}        # {condition: effect} for the focus outcome
    return _per_outcome(effect, outcomes, focus, "effect")


def simulate(
    protocol: Protocol,
    *,
    effect: EffectSpec,
    sd: Number | Mapping[str, Number],
    phi: Number | Mapping[str, Number] = 0.0,
    carryover_days: Number | Mapping[str, Number] | None = None,
    trend: Number | Mapping[str, Number] = 0.0,
    baseline: Number | Mapping[str, Number] | None = None,
    missing: float = 0.0,
    seed: int,
    outcome: str | Sequence[str] | None = None,
    start: dt.date | str | None = None,
    participant: str | None = None,
    allocation: tuple | None = None,
    resolution: Number | Mapping[str, Number] | None = None,
    codes: bool = False,
) -> pd.DataFrame:
    """Simulate one trial as a log in the user log format (run-in and trial days).

    Columns: ``participant`` (only when given), ``date`` (ISO string), one column per outcome
    (float for continuous outcomes, nullable integer otherwise; blank when not measured),
    ``condition`` (the condition key taken; blank in the run-in), ``period`` (0 = run-in),
    ``adherence`` (1 on trial days) and ``note``. Missing days are dropped rows.

    Parameters (``outcome`` names the *focus* outcome: the primary by default, or the single
    outcome named, or the first of a list):

    * ``effect``: a number (the focus outcome's effect); a dict ``{outcome: effect}``; for three
      or more conditions an effect may itself be a dict ``{condition: effect}`` (treatment minus
      control; unnamed treatments get 0; a bare number applies to every treatment), and a dict
      whose keys are all condition keys is read as per-condition effects of the focus outcome.
      Outcomes without an effect get 0. Scales: see the module docstring (ordinal: latent logit
      scale; count: log rate ratio; binary: log odds ratio).
    * ``sd``, ``baseline``, ``trend``: a number for the focus outcome or a dict per outcome;
      others get :func:`default_parameters` (trend 0). Dicts may name outcomes that are not
      simulated (they are ignored), but not names that are no outcome of the protocol.
    * ``phi``, ``carryover_days``: a number applies to **every** outcome (they describe the
      person's day-to-day dynamics and the treatment's kinetics); a dict sets them per outcome
      (others 0 and instant switch).
    * ``missing``: probability that a whole day is missing (its row is dropped).
    * ``outcome``: outcome name(s) to simulate (default: all of the protocol's outcomes).
    * ``start``: first date (default: ``design.start_date``, else 2026-01-01).
    * ``allocation``: the allocation to simulate (default: the realised one).
    * ``resolution``: round continuous values to multiples of this (number for every continuous
      outcome, or a dict per outcome); default: no rounding.
    * ``codes``: log the blinded code (``protocol.blinded_codes``) instead of the key, as a
      blinded participant would.

    Weekly outcomes are filled only on their measure days (``protocol.measure_days``; the run-in
    counts as one period). The same seed gives the same frame. ``frame.attrs["nof1_simulation"]``
    holds the true parameters.

    Example:
        >>> import nof1
        >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")     # doctest: +SKIP
        >>> log = nof1.simulate(p, effect={"severity": -1.2, "systolic_bp": -6},
        ...                     sd={"severity": 1.5, "systolic_bp": 8},
        ...                     baseline={"severity": 5.5, "systolic_bp": 128},
        ...                     phi=0.4, carryover_days=1.5, seed=7)      # doctest: +SKIP
        >>> list(log.columns)                                               # doctest: +SKIP
        ['date', 'severity', 'irls', ..., 'condition', 'period', 'adherence', 'note']
    """
    all_names = [o.name for o in protocol.outcomes]
    if outcome is None:
        names = all_names
        focus = protocol.primary.name
    else:
        names = [outcome] if isinstance(outcome, str) else list(outcome)
        unknown = [n for n in names if n not in all_names]
        if unknown or not names:
            raise SimulationError(
                f"outcome: {unknown or names} not in the protocol (outcomes: {', '.join(all_names)})"
            )
        focus = names[0]
    missing = _check_scalar("missing", missing, low=0.0, high=1.0, high_open=True)
    effects = _resolve_effects(protocol, effect, all_names, focus)
    sds = _per_outcome(sd, all_names, focus, "sd")
    baselines = _per_outcome(baseline, all_names, focus, "baseline")
    trends = _per_outcome(trend, all_names, focus, "trend")
    phis = _per_outcome(phi, all_names, focus, "phi") if isinstance(phi, Mapping) \
        else dict.fromkeys(names, phi)
    taus = _per_outcome(carryover_days, all_names, focus, "carryover_days") \
        if isinstance(carryover_days, Mapping) else dict.fromkeys(names, carryover_days)
    resolutions = _per_outcome(resolution, all_names, focus, "resolution") \
        if isinstance(resolution, Mapping) else dict.fromkeys(names, resolution)

    if allocation is not None:
        allocation = tuple(allocation)
        if protocol.n_allocations <= 100_000 and allocation not in set(protocol.allocations()):
            raise SimulationError(
                f"allocation {allocation} is not one the protocol's '{protocol.scheme}' scheme can produce"
            )
    layout = _layout(protocol, allocation)
    n_days = int(layout.code.shape[0])
    day = np.arange(1, n_days + 1, dtype=np.int64)
    n_levels = len(protocol.conditions)

    root = np.random.default_rng(seed)
    streams = root.spawn(2 * len(all_names) + 1)
    miss_rng = streams[-1]
    dropped = miss_rng.random(n_days) < missing if missing > 0 else np.zeros(n_days, dtype=bool)

    start_date = protocol.start_date(start) or DEFAULT_START
    dates = [(start_date + dt.timedelta(days=int(d) - 1)).isoformat() for d in day]
    order = [protocol.control, *protocol.treatments]
    frame: dict[str, Any] = {}
    if participant is not None:
        frame["participant"] = [str(participant)] * n_days
    frame["date"] = dates
    truth: dict[str, Any] = {}
    for name in names:
        o = protocol.outcome(name)
        i = all_names.index(name)
        defaults = default_parameters(o)
        eff = _condition_effects(protocol, effects.get(name, 0.0), f"effect[{name}]")
        s = _check_scalar(f"sd[{name}]", sds.get(name, defaults["sd"]), low=0.0)
        b = _check_scalar(f"baseline[{name}]", baselines.get(name, defaults["baseline"]))
        tr = _check_scalar(f"trend[{name}]", trends.get(name, 0.0))
        ph = _check_phi(f"phi[{name}]", phis.get(name, 0.0))
        tau = _check_tau(f"carryover_days[{name}]", taus.get(name))
        y = _draw(
            rng_latent=streams[2 * i], rng_obs=streams[2 * i + 1], n=1,
            x=_exposures(layout.code, n_levels, tau), day=day, effects=eff, baseline=b, sd=s,
            phi=ph, trend=tr, outcome_type=o.type, value_range=o.value_range,
        )[0]
        res = resolutions.get(name)
        if o.type == "continuous" and res is not None:
            r = _check_scalar(f"resolution[{name}]", res, low=0.0, low_open=True)
            y = np.round(np.round(y / r) * r, 10)
            if o.value_range is not None:
                y = np.clip(y, *o.value_range)
        y = np.where(_measured(protocol, o, layout), y, np.nan)
        if o.type == "continuous":
            frame[name] = y
        else:
            frame[name] = pd.array(y, dtype="Int64")      # NaN -> <NA>
        truth[name] = {
            "type": o.type,
            "effect": (float(eff[0]) if n_levels == 2
                       else {k: float(v) for k, v in zip(protocol.treatments, eff, strict=True)}),
            "sd": s, "phi": ph, "carryover_days": tau or None, "trend": tr, "baseline": b,
        }
    show = protocol.blinded_codes if codes else {k: k for k in protocol.conditions}
    frame["condition"] = pd.array(
        [None if c_period == 0 else show[order[c]] for c, c_period in zip(layout.code, layout.period, strict=True)],
        dtype="str",
    )
    frame["period"] = layout.period
    frame["adherence"] = np.where(layout.period > 0, 1.0, np.nan)
    frame["note"] = pd.array([""] * n_days, dtype="str")
    out = pd.DataFrame(frame)
    out = out.loc[~dropped].reset_index(drop=True)
    out.attrs["nof1_simulation"] = {
        "seed": seed, "missing": missing, "start": start_date.isoformat(),
        "allocation": list(protocol.realised_allocation if allocation is None else allocation),
        "participant": participant, "codes": codes, "outcomes": truth,
        "dropped_dates": [d for d, m in zip(dates, dropped, strict=True) if m],
    }
    return out


# --------------------------------------------------------------------------- simulate_batch
def simulate_batch(
    protocol: Protocol,
    *,
    effect: Number | Mapping[str, Number],
    sd: Number,
    phi: Number = 0.0,
    carryover_days: Number | None = None,
    trend: Number = 0.0,
    baseline: Number = 0.0,
    missing: float = 0.0,
    n: int = 10_000,
    seed: int,
    outcome_type: OutcomeType | None = None,
    allocations: Literal["realised", "random"] = "realised",
    include_run_in: bool = False,
    outcome: str | None = None,
) -> SimulatedBatch:
    """Simulate ``n`` trials of one outcome, vectorised across trials.

    The model is the one of :func:`simulate` (module docstring). ``effect`` is a number, or for
    three or more conditions a dict ``{condition: effect}`` (unnamed treatments 0; a number
    applies to every treatment). ``outcome_type`` is ``continuous`` unless ``outcome`` names a
    protocol outcome, whose type, range (clipping, ordinal categories; ordinal without an outcome
    uses 0-10) and weekly schedule are then used. ``missing`` is the probability that a day is
    missing (NaN in ``y``).

    ``allocations="realised"`` simulates every trial under the protocol's realised allocation;
    ``"random"`` draws one allocation per trial from the randomisation scheme
    (``protocol.sample_allocations``), which power analysis needs.

    Run-in days are left out unless ``include_run_in`` is true (``day`` keeps the calendar index,
    so the trend term ``trend * (day - 1)`` counts from the first run-in day either way).

    Example:
        >>> b = simulate_batch(p, effect=-1.0, sd=1.5, phi=0.4, n=10_000, seed=3,
        ...                    allocations="random")                  # doctest: +SKIP
        >>> b.y.shape, b.treat.shape                                  # doctest: +SKIP
        ((10000, 112), (10000, 112))
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise SimulationError(f"n must be a whole number >= 1, got {n!r}")
    n = int(n)
    o = protocol.outcome(outcome) if outcome is not None else None
    if o is not None:
        if outcome_type is not None and outcome_type != o.type:
            raise SimulationError(
                f"outcome_type '{outcome_type}' does not match outcome '{o.name}' of type '{o.type}'"
            )
        otype, vrange = o.type, o.value_range
    else:
        otype = outcome_type or "continuous"
        vrange = (0.0, 10.0) if otype == "ordinal" else None
    if otype not in ("continuous", "ordinal", "count", "binary"):
        raise SimulationError(f"unknown outcome_type '{otype}' (continuous, ordinal, count or binary)")
    if allocations not in ("realised", "random"):
        raise SimulationError(f"allocations must be 'realised' or 'random', got {allocations!r}")
    eff = _condition_effects(protocol, effect, "effect")
    s = _check_scalar("sd", sd, low=0.0)
    ph = _check_phi("phi", phi)
    tau = _check_tau("carryover_days", carryover_days)
    tr = _check_scalar("trend", trend)
    b = _check_scalar("baseline", baseline)
    missing = _check_scalar("missing", missing, low=0.0, high=1.0, high_open=True)

    root = np.random.default_rng(seed)
    rng_alloc, rng_latent, rng_obs, rng_miss = root.spawn(4)

    # allocations -> unique layouts -> per-trial index
    if allocations == "random":
        alloc_seed = int(rng_alloc.integers(0, 2**63 - 1))
        trial_allocs = [tuple(a) for a in protocol.sample_allocations(n, alloc_seed)]
    else:
        trial_allocs = [tuple(protocol.realised_allocation)] * n
    unique: dict[tuple, int] = {}
    which = np.empty(n, dtype=np.int64)
    for i, a in enumerate(trial_allocs):
        which[i] = unique.setdefault(a, len(unique))
    layouts = [_layout(protocol, a) for a in unique]
    run_in_days = protocol.design.run_in_days
    first = 0 if include_run_in else run_in_days
    n_total = int(layouts[0].code.shape[0])
    day = np.arange(first + 1, n_total + 1, dtype=np.int64)

    def stacked(attr: str) -> NDArray:
        arrs = np.stack([getattr(lay, attr)[first:] for lay in layouts])
        if np.all(arrs == arrs[0]):
            return arrs[0].copy()
        return arrs[which]

    # exposure per unique allocation over the full calendar (run-in included), then sliced
    codes_u = np.stack([lay.code for lay in layouts])
    n_levels = len(protocol.conditions)
    x_u = _exposures(codes_u, n_levels, tau)[..., first:]
    shared = len(layouts) == 1 or bool(np.all(codes_u == codes_u[0]))
    x = x_u[0] if shared else x_u[which]
    y = _draw(rng_latent=rng_latent, rng_obs=rng_obs, n=n, x=x, day=day, effects=eff, baseline=b,
              sd=s, phi=ph, trend=tr, outcome_type=otype, value_range=vrange)
    if missing > 0:
        y[rng_miss.random(y.shape) < missing] = np.nan
    if o is not None and o.schedule == "weekly":
        meas = np.stack([_measured(protocol, o, lay)[first:] for lay in layouts])
        meas = meas[0] if np.all(meas == meas[0]) else meas[which]
        y = np.where(meas, y, np.nan)

    index_of: dict[tuple, int] | None = None
    if protocol.n_allocations <= 100_000:
        index_of = {tuple(a): i for i, a in enumerate(protocol.allocations())}
    uidx = np.array([index_of.get(a, -1) if index_of is not None else -1 for a in unique], dtype=np.int64)

    params: dict[str, Any] = {
        "effect": (float(eff[0]) if n_levels == 2
                   else {k: float(v) for k, v in zip(protocol.treatments, eff, strict=True)}),
        "sd": s, "phi": ph, "carryover_days": tau or None, "trend": tr, "baseline": b,
        "missing": missing, "seed": seed, "n": n, "outcome_type": otype, "outcome": outcome,
        "allocations": allocations, "include_run_in": include_run_in,
    }
    return SimulatedBatch(
        y=y,
        day=day,
        treat=stacked("code"),
        exposure=x,
        period=stacked("period"),
        pair=stacked("pair"),
        washout=stacked("washout"),
        day_in_period=stacked("day_in_period"),
        run_in=day <= run_in_days,
        allocations=tuple(trial_allocs),
        allocation_index=uidx[which],
        conditions=(protocol.control, *protocol.treatments),
        outcome_type=otype,
        params=params,
    )
