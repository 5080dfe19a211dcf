"""Hierarchical model of a series of N-of-1 trials (PyMC, array level; no files or protocols).

Person ``i`` on calendar day ``t`` (participant's own day index) has

    mean_it = alpha_i + sum_k beta_ik * x_ikt  (+ delta_i * trend_it)
    y_it | y_prev ~ N(mean_it + phi_i^g (y_prev - mean_prev), sigma_i^2 (1 - phi_i^(2g)))

where ``g`` is the gap in days since the person's previous observed value (the first observation
is stationary, N(mean, sigma_i^2)), and ``x_ikt`` is the first-order onset/decay exposure to
treatment ``k`` (see :mod:`nof1.models.exposure`):

    x_t = (1 - a) * sum_{s <= t} a^(t - s) u_s,   a = exp(-1 / tau),

computed by the recursion x_t = a·x_{t−1} + (1 − a)·u_t along the days
(:func:`nof1.models.ar1.ar1_filter`): with a shared ``tau`` once per distinct treatment pattern
(people who took the same conditions on the same days of their own calendars share one; a
randomised-pairs design of 4 pairs has at most 16) and then gathered to each person; with
partially pooled ``log tau_i`` for every person; ``tau="none"`` is an instant switch (``x = u``).

Effects are non-centred: ``beta_i = mu + L z_i`` with ``L`` the Cholesky factor of the
between-person covariance (one treatment: ``L = sigma_between``; several: an LKJ prior on the
correlations). ``beta_new = mu + L z_new`` is the effect in a new person from the same population
(``z_new`` is sampled with the model, so it is part of the posterior). ``phi_i = tanh(m + s w_i)``
is partially pooled. Each person's level (their mean over observed days, from which the
control baseline ``alpha_i`` follows: the sampler sees effects and levels nearly uncorrelated), residual sds ``sigma_i`` and trends ``delta_i`` are
per person (each person has many days, so pooling them buys nothing and slows the sampler).

With ``pooled=False`` the same model is fitted with every person's parameters independent (their
own single-trial fits, in one vectorised graph); ``tau`` is then per person.

Example:
    >>> import numpy as np
    >>> from nof1.models.hierarchical import SeriesArrays, HierarchicalPriors, fit_series
    >>> codes = np.tile(np.repeat([0, 1, 0, 1], 7), (3, 1))          # 3 people, ABAB weeks
    >>> rng = np.random.default_rng(1)
    >>> p, d = np.repeat(np.arange(3), 28), np.tile(np.arange(28), 3)
    >>> y = 5 - 1.0 * codes[p, d] + rng.normal(0, 1, p.size)
    >>> arrays = SeriesArrays.build(p, d, y, codes, participants=["a", "b", "c"], treatments=["B"])
    >>> tree = fit_series(arrays, HierarchicalPriors(), draws=200, tune=200, seed=1)  # doctest: +SKIP
    >>> float(tree.posterior["mu"].median())                                          # doctest: +SKIP
    -1.0
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nof1.models.ar1 import ar1_filter
from nof1.models.determinism import with_ieee_math

if TYPE_CHECKING:
    import pymc as pm
    import xarray as xr

TauMode = Literal["shared", "pooled", "none"]

#: Variables whose convergence is checked (those present in a given fit).
DIAGNOSTIC_VARS: tuple[str, ...] = (
    "mu", "between_sd", "beta", "alpha", "phi", "sigma", "tau", "tau_pop", "tau_between_sd",
    "phi_pop", "phi_between_sd", "delta",
)


@dataclass(frozen=True)
class SeriesArrays:
    """Observed data of a series of trials on a padded (participant × day) grid.

    Attributes:
        y: observed values, shape (n_obs,), ordered by participant then day.
        participant: participant index (0..N-1) of each observation.
        day: 0-based day index of each observation on the participant's own calendar.
        treatment: (N, K, T) indicator that treatment k was taken on day t (control, run-in
            and unknown days are 0); the exposure is computed from it on every day.
        trend: (N, T) standardised time for a linear trend term, or None for no trend.
        participants: participant labels (length N).
        treatments: treatment labels (length K), each contrasted with control.
    """

    y: NDArray[np.float64]
    participant: NDArray[np.int64]
    day: NDArray[np.int64]
    treatment: NDArray[np.float64]
    trend: NDArray[np.float64] | None
    participants: tuple[str, ...]
    treatments: tuple[str, ...]

    @classmethod
    def build(
        cls,
        participant: ArrayLike,
        day: ArrayLike,
        y: ArrayLike,
        codes: ArrayLike,
        *,
        participants: Sequence[str],
        treatments: Sequence[str],
        trend: ArrayLike | None = None,
    ) -> SeriesArrays:
        """Arrays from observations and a (N, T) grid of daily condition codes.

        ``codes[i, t]`` is 0 for control, ``k`` (1..K) for treatment ``k`` and any negative
        number for a day on no condition (run-in, unknown). Observations are sorted by
        participant and day; duplicate (participant, day) pairs are refused.
        """
        p = np.asarray(participant, dtype=np.int64)
        d = np.asarray(day, dtype=np.int64)
        yy = np.asarray(y, dtype=float)
        c = np.asarray(codes)
        if not (p.shape == d.shape == yy.shape) or p.ndim != 1:
            raise ValueError("participant, day and y must be 1-d arrays of the same length")
        if c.ndim != 2:
            raise ValueError("codes must be a (participants, days) array")
        n, t = c.shape
        if len(participants) != n:
            raise ValueError(f"{len(participants)} participant labels for {n} rows of codes")
        if p.size == 0:
            raise ValueError("no observations")
        if p.min() < 0 or p.max() >= n or d.min() < 0 or d.max() >= t:
            raise ValueError("participant or day index outside the codes grid")
        if not np.all(np.isfinite(yy)):
            raise ValueError("y has missing or infinite values; pass observed values only")
        order = np.lexsort((d, p))
        p, d, yy = p[order], d[order], yy[order]
        if np.any((np.diff(p) == 0) & (np.diff(d) == 0)):
            raise ValueError("two observations on the same participant and day")
        k = len(treatments)
        treat = np.stack([(c == j + 1).astype(float) for j in range(k)], axis=1)
        tr = None if trend is None else np.asarray(trend, dtype=float).reshape(n, t)
        return cls(yy, p, d, treat, tr, tuple(str(x) for x in participants),
                   tuple(str(x) for x in treatments))

    @property
    def n_participants(self) -> int:
        return len(self.participants)

    @property
    def n_treatments(self) -> int:
        return len(self.treatments)

    @property
    def n_days(self) -> int:
        return int(self.treatment.shape[-1])

    def treatment_share(self) -> NDArray[np.float64]:
        """(N, K) share of each participant's observed days on each treatment."""
        on = self.treatment[self.participant, :, self.day]                      # (n_obs, K)
        counts = np.bincount(self.participant, minlength=self.n_participants).astype(float)
        sums = np.zeros((self.n_participants, self.n_treatments))
        np.add.at(sums, self.participant, on)
        return sums / np.maximum(counts, 1.0)[:, None]

    def lags(self) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.bool_]]:
        """Index of each observation's predecessor (same participant), the gap in days, and
        whether it is the participant's first observation (predecessor 0, gap 1 then)."""
        first = np.ones(self.y.size, dtype=bool)
        first[1:] = self.participant[1:] != self.participant[:-1]
        prev = np.arange(self.y.size) - 1
        prev[first] = 0
        gap = np.ones(self.y.size)
        gap[~first] = (self.day[~first] - self.day[prev[~first]]).astype(float)
        return prev, gap, first

    def max_gap(self) -> int:
        """The largest gap in days between a person's consecutive observations (1 if none)."""
        _prev, gap, first = self.lags()
        return int(gap[~first].max()) if np.any(~first) else 1


@dataclass(frozen=True)
class HierarchicalPriors:
    """Priors of the hierarchical model, in outcome units unless stated.

    ``effect_*``: population mean effect(s) ``mu ~ N(effect_mean, effect_sd)`` (and each
    person's effect when ``pooled=False``); ``between_sd_scale``: half-normal scale of the
    between-person sd of the effect; ``baseline_*``: each person's control-condition mean;
    ``sigma_scale``: half-normal scale of each person's residual (stationary) sd;
    ``tau_*``: log-normal shared time constant (days); ``tau_between_scale``: half-normal scale
    of the sd of ``log tau_i`` (option ``pooled``); ``phi_*``: ``atanh(phi)`` population mean
    and half-normal scale of its between-person sd; ``trend_sd``: per-person trend over the
    standardised time; ``lkj_eta``: LKJ shape of the correlation between treatments' effects.
    """

    effect_mean: float = 0.0
    effect_sd: float = 2.5
    between_sd_scale: float = 1.25
    baseline_mean: float = 0.0
    baseline_sd: float = 5.0
    sigma_scale: float = 2.5
    tau_median: float = 1.0
    tau_sigma: float = 0.98
    tau_between_scale: float = 0.5
    phi_mean: float = 0.2
    phi_sd: float = 0.5
    phi_between_scale: float = 0.3
    trend_sd: float = 2.5
    lkj_eta: float = 2.0


def exposure_grid(treatment: Any, tau: Any, per_person: bool) -> Any:
    """Exposure (N, K, T) from daily indicators (N, K, T) (PyTensor): the first-order recursion
    x_t = a·x_{t−1} + (1 − a)·u_t, a = e^(−1/τ), run along the days for every person and
    treatment at once (:func:`nof1.models.ar1.ar1_filter`; O(N·K·T), no T × T kernel).

    ``tau`` is a scalar (shared) or a length-N vector (``per_person``).
    """
    import pytensor.tensor as pt

    a = pt.exp(-1.0 / tau)
    if per_person:
        a = a[:, None, None]
    a_full = pt.ones_like(treatment) * a
    return ar1_filter(treatment, a_full, 1.0 - a_full)


#: Padding buckets: participants to a multiple of ``PARTICIPANT_BUCKET`` and the day grid to a
#: multiple of ``DAY_BUCKET``, so that series of similar size share one compiled sampler.
PARTICIPANT_BUCKET: int = 8
DAY_BUCKET: int = 8
#: The table of φ, φ², … per person has the largest gap rounded up to a multiple of this.
GAP_BUCKET: int = 8
#: Distinct treatment patterns are padded to a multiple of this.
PATTERN_BUCKET: int = 8


def _round_up(n: int, step: int) -> int:
    return max(step, -(-int(n) // step) * step)


def treatment_patterns(treatment: np.ndarray, n_patterns: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The distinct daily treatment patterns (U, K, T) of a (N, K, T) indicator grid, padded with
    zero patterns to ``n_patterns``, and each participant's pattern (N,): people who took the
    same conditions on the same days of their own calendars share one (a randomised-pairs
    design with 4 pairs has at most 16), so a shared τ's exposure is computed once per pattern.

    Example:
        >>> u = np.array([[[0, 1, 1]], [[1, 0, 0]], [[0, 1, 1]]], dtype=float)
        >>> pats, idx = treatment_patterns(u)
        >>> pats.shape, idx.tolist()
        ((2, 1, 3), [0, 1, 0])
    """
    n = treatment.shape[0]
    flat = treatment.reshape(n, -1)
    rows, index = np.unique(flat, axis=0, return_inverse=True)
    u = rows.shape[0] if n_patterns is None else int(n_patterns)
    if u < rows.shape[0]:
        raise ValueError(f"{rows.shape[0]} treatment patterns do not fit in {u}")
    pats = np.zeros((u, *treatment.shape[1:]))
    pats[:rows.shape[0]] = rows.reshape(rows.shape[0], *treatment.shape[1:])
    return pats, np.asarray(index, dtype=np.int64).reshape(n)


def model_data(arrays: SeriesArrays, *, n_participants: int | None = None,
               n_days: int | None = None, n_patterns: int | None = None,
               n_gaps: int | None = None) -> dict[str, np.ndarray]:
    """The ``pm.Data`` values of the model for ``arrays`` on a (participant × day) grid, padded
    to the given sizes.

    ``y`` holds each observation in its cell (0 elsewhere), ``w`` is 1 on observed cells,
    ``first`` marks each person's first observation, ``prev_cell`` is the flat index of each observation's predecessor (the
    extra zero cell after the raveled grid for first observations and empty cells) and
    ``gap_cell`` the flat index of φ^gap in the (participant × ``n_gaps``) table of powers;
    ``treatment_patterns``/``pattern_of`` are :func:`treatment_patterns` of the treatment grid.
    Padding participants have no observations (their
    parameters follow the prior, which leaves everyone else's posterior unchanged); every cell
    without an observation adds a constant to the log density; padding days have no treatment.

    Example:
        >>> model_data(arrays, n_participants=8)["w"].sum() == arrays.y.size  # doctest: +SKIP
        True
    """
    n, k, t = arrays.n_participants, arrays.n_treatments, arrays.n_days
    n_pad = n if n_participants is None else int(n_participants)
    t_pad = t if n_days is None else int(n_days)
    if n_pad < n or t_pad < t:
        raise ValueError("padded sizes must not be smaller than the data")
    prev, gap, first = arrays.lags()
    pi, di = arrays.participant, arrays.day
    grid = {name: np.zeros((n_pad, t_pad)) for name in ("y", "w", "first")}
    grid["y"][pi, di] = arrays.y
    grid["w"][pi, di] = 1.0
    grid["first"][pi, di] = first
    # flat index (in the grid raveled, plus one zero cell at the end) of each observation's
    # predecessor: the same person's previous observation; the zero cell for first
    # observations and cells without one
    prev_cell = np.full((n_pad, t_pad), n_pad * t_pad, dtype=np.int64)
    prev_cell[pi[~first], di[~first]] = pi[prev[~first]] * t_pad + di[prev[~first]]
    # flat index of phi^gap in the (participant × gap) table of powers (gap 1 elsewhere)
    n_gaps = _round_up(arrays.max_gap(), GAP_BUCKET) if n_gaps is None else int(n_gaps)
    if n_gaps < arrays.max_gap():
        raise ValueError(f"{n_gaps} gaps in the table of powers, the data's largest is "
                         f"{arrays.max_gap()}")
    gap_cell = (np.arange(n_pad)[:, None] * n_gaps + np.zeros((1, t_pad), dtype=np.int64))
    gap_cell[pi, di] += gap.astype(np.int64) - 1
    treat = np.zeros((n_pad, k, t_pad))
    treat[:n, :, :t] = arrays.treatment
    centre = np.zeros((n_pad, k))
    centre[:n] = arrays.treatment_share()
    patterns, pattern_of = treatment_patterns(treat, n_patterns)
    out = {"y_grid": grid["y"], "observed": grid["w"],
           "obs_first": grid["first"], "prev_cell": prev_cell, "gap_cell": gap_cell,
           "n_gaps": np.asarray(n_gaps), "treatment_days": treat,
           "treatment_patterns": patterns, "pattern_of": pattern_of,
           "centre": centre}
    if arrays.trend is not None:
        trend = np.zeros((n_pad, t_pad))
        trend[:n, :t] = arrays.trend
        out["trend"] = trend
    return out


def build_model(
    arrays: SeriesArrays,
    priors: HierarchicalPriors | None = None,
    *,
    tau: TauMode = "shared",
    pooled: bool = True,
    n_participants: int | None = None,
    n_days: int | None = None,
    n_patterns: int | None = None,
    n_gaps: int | None = None,
) -> pm.Model:
    """The PyMC model (see the module docstring) for ``arrays``.

    Every data array is a ``pm.Data`` container (:func:`model_data`, padded to the given sizes),
    so the model's log density translated to JAX takes them as arguments and one translation
    serves every series of the same padded shape.

    Example:
        >>> model = build_model(arrays, HierarchicalPriors(), tau="shared")   # doctest: +SKIP
    """
    import pymc as pm
    import pytensor.tensor as pt

    pr = priors or HierarchicalPriors()
    k = arrays.n_treatments
    if tau not in ("shared", "pooled", "none"):
        raise ValueError(f"tau must be 'shared', 'pooled' or 'none', got {tau!r}")
    values = model_data(arrays, n_participants=n_participants, n_days=n_days,
                        n_patterns=n_patterns, n_gaps=n_gaps)
    n_pad = values["treatment_days"].shape[0]
    labels = list(arrays.participants) + [f"_pad{i}" for i in range(n_pad - arrays.n_participants)]
    coords: dict[str, Any] = {"participant": labels, "treatment": list(arrays.treatments)}
    if k > 1:
        coords["treatment_bis"] = list(arrays.treatments)
    with pm.Model(coords=coords) as model:
        y = pm.Data("y_grid", values["y_grid"])                                  # (N, T)
        w = pm.Data("observed", values["observed"])
        first = pm.Data("obs_first", values["obs_first"])
        treat = pm.Data("treatment_days", values["treatment_days"])
        centre = pm.Data("centre", values["centre"])                              # (N, K)
        # ---- effects
        if pooled:
            mu = pm.Normal("mu", pr.effect_mean, pr.effect_sd, dims="treatment")
            z = pm.Normal("z_beta", 0.0, 1.0, dims=("participant", "treatment"))
            z_new = pm.Normal("z_new", 0.0, 1.0, dims="treatment")
            if k == 1:
                sd_b = pm.HalfNormal("between_sd", pr.between_sd_scale, dims="treatment")
                beta = pm.Deterministic("beta", mu + z * sd_b, dims=("participant", "treatment"))
                pm.Deterministic("beta_new", mu + z_new * sd_b, dims="treatment")
            else:
                chol, corr, sds = pm.LKJCholeskyCov(
                    "chol_between", n=k, eta=pr.lkj_eta,
                    sd_dist=pm.HalfNormal.dist(pr.between_sd_scale, shape=k), compute_corr=True,
                )
                pm.Deterministic("between_sd", sds, dims="treatment")
                pm.Deterministic("between_corr", corr, dims=("treatment", "treatment_bis"))
                pm.Deterministic("between_cov", chol @ chol.T, dims=("treatment", "treatment_bis"))
                beta = pm.Deterministic("beta", mu + pt.dot(z, chol.T), dims=("participant", "treatment"))
                pm.Deterministic("beta_new", mu + pt.dot(chol, z_new), dims="treatment")
        else:
            beta = pm.Normal("beta", pr.effect_mean, pr.effect_sd, dims=("participant", "treatment"))
        # ---- baselines, residual sd, autocorrelation
        # the sampled level is each person's mean over their observed days; alpha (the control
        # baseline) follows from it: this decorrelates baselines and effects for the sampler
        level = pm.Normal("level", pr.baseline_mean, pr.baseline_sd, dims="participant")
        pm.Deterministic("alpha", level - (beta * centre).sum(axis=1), dims="participant")
        sigma = pm.HalfNormal("sigma", pr.sigma_scale, dims="participant")
        if pooled:
            phi_pop = pm.Normal("phi_pop_raw", pr.phi_mean, pr.phi_sd)
            phi_sd = pm.HalfNormal("phi_between_sd", pr.phi_between_scale)
            wz = pm.Normal("z_phi", 0.0, 1.0, dims="participant")
            phi = pm.Deterministic("phi", pt.tanh(phi_pop + phi_sd * wz), dims="participant")
            pm.Deterministic("phi_pop", pt.tanh(phi_pop))
        else:
            phi = pm.Deterministic(
                "phi", pt.tanh(pm.Normal("phi_raw", pr.phi_mean, pr.phi_sd, dims="participant")),
                dims="participant")
        # ---- exposure
        if tau == "none":
            x = treat
        else:
            log_med = math.log(pr.tau_median)
            if pooled and tau == "shared":
                tau_v = pm.LogNormal("tau", log_med, pr.tau_sigma)
                # one exposure per distinct treatment pattern, then each person's own
                patterns = pm.Data("treatment_patterns", values["treatment_patterns"])
                pattern_of = pm.Data("pattern_of", values["pattern_of"])
                x = exposure_grid(patterns, tau_v, per_person=False)[pattern_of]
            elif pooled:
                log_tau_pop = pm.Normal("log_tau_pop", log_med, pr.tau_sigma)
                tau_sd = pm.HalfNormal("tau_between_sd", pr.tau_between_scale)
                zt = pm.Normal("z_tau", 0.0, 1.0, dims="participant")
                tau_v = pm.Deterministic("tau", pt.exp(log_tau_pop + tau_sd * zt), dims="participant")
                pm.Deterministic("tau_pop", pt.exp(log_tau_pop))
                x = exposure_grid(treat, tau_v, per_person=True)
            else:
                tau_v = pm.LogNormal("tau", log_med, pr.tau_sigma, dims="participant")
                x = exposure_grid(treat, tau_v, per_person=True)
        mean = level[:, None] + (beta[:, :, None] * (x - centre[:, :, None])).sum(axis=1)  # (N, T)
        if arrays.trend is not None:
            trend = pm.Data("trend", values["trend"])
            delta = pm.Normal("delta", 0.0, pr.trend_sd, dims="participant")
            mean = mean + delta[:, None] * trend
        # ---- AR(1) likelihood with gaps, on the grid: each observation's predecessor (the
        # same person's previous observation, ``gap`` days back) is gathered from the residual
        # grid by its precomputed cell index; phi^gap is a power with an integer-valued
        # exponent (exact sign for phi < 0). Cost does not depend on the largest gap.
        prev_cell = pm.Data("prev_cell", values["prev_cell"])
        gap_cell = pm.Data("gap_cell", values["gap_cell"])
        resid = (y - mean) * w
        prev = pt.concatenate([resid.ravel(), pt.zeros((1,))])[prev_cell]
        # rho = phi^gap on every observation but each person's first (stationary) one, looked
        # up in each person's table of phi, phi^2, ... (products: exact sign for phi < 0)
        powers = [phi]
        for _g in range(1, max(1, int(values["n_gaps"]))):
            powers.append(powers[-1] * phi)
        table = pt.stack(powers, axis=1)                                  # (N, gaps)
        rho = w * (1.0 - first) * table.ravel()[gap_cell]
        # cells without an observation (w = 0, y = 0) are N(0 | 0, 1): a constant
        cond_mean = w * (mean + rho * prev)
        cond_sd = w * sigma[:, None] * pt.sqrt(1.0 - rho**2) + (1.0 - w)
        pm.Normal("y_obs", mu=cond_mean, sigma=cond_sd, observed=y)
    return model


@contextlib.contextmanager
def quiet_pymc() -> Iterator[None]:
    """Silence PyMC's informational logging (sampler chatter) within the block."""
    loggers = [logging.getLogger(n) for n in ("pymc", "pymc.sampling.mcmc", "pytensor")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        yield
    finally:
        for lg, lv in zip(loggers, levels, strict=True):
            lg.setLevel(lv)


@dataclass
class _Compiled:
    jax_model: Any            # nof1.models.jax_nuts.JaxModel, or a stored ProgramModel
    output_names: tuple[str, ...]
    dims: dict[str, list[str]]


_CACHE: dict[tuple, _Compiled] = {}


def clear_cache() -> None:
    """Forget the translated models (tests of cold compilation use this)."""
    _CACHE.clear()


def padded_sizes(arrays: SeriesArrays) -> tuple[int, int, int, int]:
    """(participants, days, treatment patterns, gaps) after rounding up to the padding buckets
    (patterns of the participant-padded grid: padding people add the empty one; gaps: the
    largest gap between a person's observations, the width of the table of φ powers)."""
    n_pad = _round_up(arrays.n_participants, PARTICIPANT_BUCKET)
    treat = np.zeros((n_pad, arrays.n_treatments, arrays.n_days))
    treat[:arrays.n_participants] = arrays.treatment
    n_pat = np.unique(treat.reshape(n_pad, -1), axis=0).shape[0]
    return (n_pad, _round_up(arrays.n_days, DAY_BUCKET), _round_up(n_pat, PATTERN_BUCKET),
            _round_up(arrays.max_gap(), GAP_BUCKET))


def _compiled(arrays: SeriesArrays, priors: HierarchicalPriors, tau: TauMode, pooled: bool,
              sizes: tuple[int, int, int, int]) -> _Compiled:
    """The model of one structure (sizes, treatments, trend, τ mode, pooling, priors) translated
    to JAX once per process; the data of any series of that structure are arguments."""
    from nof1.models.jax_nuts import translate
    from nof1.models.program_store import ProgramStore

    key = (sizes, arrays.n_treatments, arrays.trend is not None, tau, pooled, priors)
    hit = _CACHE.get(key)
    if hit is None:
        n_p, n_d, n_u, n_g = sizes

        def build() -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
            model = build_model(arrays, priors, tau=tau, pooled=pooled, n_participants=n_p,
                                n_days=n_d, n_patterns=n_u, n_gaps=n_g)
            names = tuple([v.name for v in model.free_RVs]
                          + [v.name for v in model.deterministics])
            jm = translate(model, names)
            args = jm.args(model_data(arrays, n_participants=n_p, n_days=n_d, n_patterns=n_u,
                                      n_gaps=n_g))
            dims = {n: list(model.named_vars_to_dims.get(n) or ()) for n in names}
            return jm, args, {"output_dims": dims}

        # kept on disk when JAX's cache is (nof1.models.program_store): a later process of
        # this structure skips PyMC and the tracing, and gets the same draws
        jm = ProgramStore.default().model(("series-model", *key), build)
        meta = jm.meta
        hit = _Compiled(jax_model=jm, output_names=tuple(jm.output_names),
                        dims=meta["output_dims"])
        _CACHE[key] = hit
    return hit


@with_ieee_math
def fit_series(
    arrays: SeriesArrays,
    priors: HierarchicalPriors | None = None,
    *,
    tau: TauMode = "shared",
    pooled: bool = True,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    cores: int | None = None,
    seed: int | None = None,
    target_accept: float | None = None,
    progressbar: bool = False,
) -> xr.DataTree:
    """Sample the model with NUTS; returns the posterior as a DataTree (ArviZ 1 layout).

    The PyMC model's log density is translated to JAX with the data as arguments and sampled by
    BlackJAX's NUTS (Stan's windowed adaptation; :mod:`nof1.models.jax_nuts`), chains one after
    the other; ``cores`` and ``progressbar`` are accepted for compatibility and ignored. Series
    are padded to buckets of participants and days (:func:`padded_sizes`), so one
    compiled program serves every series of similar size. The draws depend only on ``seed``.

    ``target_accept`` (NUTS's target acceptance rate) defaults to :data:`TARGET_ACCEPT` (0.8:
    trajectories half as long as at 0.9 on this model, no divergences in the benchmarks); when
    that default ends with divergent transitions, the chains are sampled again with
    :data:`TARGET_ACCEPT_RETRY` (0.95; the same compiled program) and the posterior's
    ``retried`` attribute says so. An explicit ``target_accept`` is used as given.

    The ``observed_data`` group is kept; deterministic quantities (``beta``, ``beta_new``,
    ``between_sd``, ``phi``, ``tau``) are in the ``posterior`` group, with the padding
    participants removed.
    """
    import time

    import xarray as xr

    from nof1.models.jax_nuts import jittered_starts, sample

    pr = priors or HierarchicalPriors()
    if tau not in ("shared", "pooled", "none"):
        raise ValueError(f"tau must be 'shared', 'pooled' or 'none', got {tau!r}")
    if chains < 1:
        raise ValueError("chains must be at least 1")
    sizes = padded_sizes(arrays)
    comp = _compiled(arrays, pr, tau, pooled, sizes)
    jm = comp.jax_model
    values = model_data(arrays, n_participants=sizes[0], n_days=sizes[1], n_patterns=sizes[2],
                        n_gaps=sizes[3])
    args = jm.args(values)
    rng = np.random.default_rng(seed)
    chain_seeds = [int(v) for v in rng.integers(2**31, size=chains)]
    starts = jittered_starts(jm, args, chains, rng)
    t0 = time.perf_counter()
    accept = TARGET_ACCEPT if target_accept is None else float(target_accept)
    # large grids: one chain at a time (two at once on XLA's CPU devices took 4.8 GB at
    # 1,000 people x 56 days after 40 iterations and kept growing; one chain: 0.6 GB)
    parallel = 1 if sizes[0] * sizes[1] > PARALLEL_CHAIN_CELLS else None
    res = sample(jm, args, starts=starts, seeds=chain_seeds, tune=tune, draws=draws,
                 target_accept=accept, parallel=parallel)
    retried = ""
    if target_accept is None and res.diverging.any():
        retried = (f"{int(res.diverging.sum())} divergent transitions at target_accept "
                   f"{accept}: sampled again at {TARGET_ACCEPT_RETRY}")
        accept = TARGET_ACCEPT_RETRY
        res = sample(jm, args, starts=starts, seeds=chain_seeds, tune=tune, draws=draws,
                     target_accept=accept, parallel=parallel)
    sampling_time = time.perf_counter() - t0
    values = jm.outputs(res.positions, args)
    n = arrays.n_participants
    coords: dict[str, Any] = {"chain": np.arange(chains), "draw": np.arange(draws),
                              "participant": list(arrays.participants),
                              "treatment": list(arrays.treatments)}
    if arrays.n_treatments > 1:
        coords["treatment_bis"] = list(arrays.treatments)
    data_vars = {}
    for name in comp.output_names:
        v = values[name]
        dims = list(comp.dims.get(name) or ())
        extra = v.ndim - 2 - len(dims)
        if extra > 0 or len(dims) != v.ndim - 2:
            dims = [f"{name}_dim_{i}" for i in range(v.ndim - 2)]
        for axis, dim in enumerate(dims):
            if dim == "participant":
                v = np.take(v, np.arange(n), axis=2 + axis)
        data_vars[name] = (["chain", "draw", *dims], v)
    used = {d for _n, (dims, _v) in data_vars.items() for d in dims}
    post = xr.Dataset(data_vars, coords={c: v for c, v in coords.items() if c in used},
                      attrs={"sampling_time": sampling_time, "target_accept": accept,
                             "retried": retried,
                             "sampler": "blackjax NUTS (window adaptation)"})
    sc = {"chain": coords["chain"], "draw": coords["draw"]}
    stats = xr.Dataset({
        "diverging": (("chain", "draw"), res.diverging),
        "tree_depth": (("chain", "draw"), res.depth),
        "n_steps": (("chain", "draw"), res.tree_size),
        "reached_max_treedepth": (("chain", "draw"), res.depth >= MAX_TREE_DEPTH),
        "step_size": (("chain", "draw"), np.repeat(res.step_size.reshape(chains, 1), draws, 1)),
    }, coords=sc, attrs={"sampling_time": sampling_time})
    obs = xr.Dataset({"y": (("obs",), arrays.y),
                      "participant": (("obs",), arrays.participant),
                      "day": (("obs",), arrays.day)})
    return xr.DataTree.from_dict({"posterior": post, "sample_stats": stats,
                                  "observed_data": obs})


#: Above this many (participant × day) grid cells the chains run one at a time (memory).
PARALLEL_CHAIN_CELLS: int = 20_000

#: NUTS's target acceptance rate of the series model by default, and after divergences.
TARGET_ACCEPT: float = 0.8
TARGET_ACCEPT_RETRY: float = 0.95

#: BlackJAX's NUTS doubles its trajectory at most this many times (as PyMC's and Stan's default).
MAX_TREE_DEPTH: int = 10


def gradient_seconds(arrays: SeriesArrays, priors: HierarchicalPriors | None = None, *,
                     tau: TauMode = "shared", pooled: bool = True, repeats: int = 200,
                     seed: int = 0) -> float:
    """Seconds per evaluation of the log density and its gradient (what NUTS does at every
    integration step) for ``arrays``, compiled as the sampler compiles it; the best of 3
    timings of ``repeats`` evaluations at a random point near the start. For benchmarks: the
    sampling time is about chains × (tune + draws) × steps per draw × this.

    Example:
        >>> gradient_seconds(arrays) < 0.01                    # doctest: +SKIP
        True
    """
    import time

    from nof1.models.jax_nuts import jax

    j = jax()
    sizes = padded_sizes(arrays)
    jm = _compiled(arrays, priors or HierarchicalPriors(), tau, pooled, sizes).jax_model
    args = jm.args(model_data(arrays, n_participants=sizes[0], n_days=sizes[1],
                              n_patterns=sizes[2], n_gaps=sizes[3]))
    rng = np.random.default_rng(seed)
    q = j.numpy.asarray(jm.initial_point(args) + rng.uniform(-0.5, 0.5, jm.dim))
    grad = j.jit(j.value_and_grad(lambda x: jm.logdensity(args)(x)))
    j.block_until_ready(grad(q))
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(int(repeats)):
            out = grad(q)
        j.block_until_ready(out)
        best = min(best, (time.perf_counter() - t0) / int(repeats))
    return best


def diagnostics(tree: xr.DataTree, var_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Convergence summary: worst r_hat, smallest bulk/tail ESS, divergences, and warnings.

    Thresholds: r_hat > 1.01, ESS below 100 per chain, any divergent transition.
    """
    # our vectorised arviz_stats.rhat / ess (bulk, tail): the same numbers without importing
    # arviz_stats (about 1 s)
    from nof1.models import convergence as cv

    post = tree["posterior"].to_dataset()
    names = [v for v in (var_names or DIAGNOSTIC_VARS) if v in post.data_vars]
    draws = {n: np.asarray(post[n].transpose("chain", "draw", ...).values) for n in names}
    rhat = {n: cv.rhat(v) for n, v in draws.items()}
    ess_bulk = {n: cv.ess_bulk(v) for n, v in draws.items()}
    ess_tail = {n: cv.ess_tail(v) for n, v in draws.items()}

    def worst(per_var: dict[str, Any], fn: Any) -> tuple[float, str | None]:
        best_v, best_n = None, None
        for name, val in per_var.items():
            vals = np.asarray(val, dtype=float).ravel()
            vals = vals[np.isfinite(vals)]
            if vals.size == 0:
                continue
            v = float(fn(vals))
            if best_v is None or fn([best_v, v]) == v:
                best_v, best_n = v, str(name)
        return (float("nan") if best_v is None else best_v), best_n

    r_max, r_var = worst(rhat, np.max)
    eb_min, eb_var = worst(ess_bulk, np.min)
    et_min, et_var = worst(ess_tail, np.min)
    stats = tree["sample_stats"].to_dataset()
    n_div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    n_chains = int(post.sizes.get("chain", 1))
    n_draws = int(post.sizes.get("draw", 0))
    tree_depth = int(stats["reached_max_treedepth"].sum()) if "reached_max_treedepth" in stats else 0
    warnings: list[str] = []
    if math.isfinite(r_max) and r_max > 1.01:
        warnings.append(f"r_hat up to {r_max:.3f} ({r_var}) > 1.01: chains disagree; sample longer")
    if math.isfinite(eb_min) and eb_min < 100 * n_chains:
        warnings.append(f"bulk ESS down to {eb_min:.0f} ({eb_var}); intervals are imprecise")
    if math.isfinite(et_min) and et_min < 100 * n_chains:
        warnings.append(f"tail ESS down to {et_min:.0f} ({et_var}); interval ends are imprecise")
    if n_div:
        warnings.append(f"{n_div} divergent transitions: the posterior may be biased")
    if tree_depth:
        warnings.append(f"{tree_depth} draws hit the maximum tree depth")
    return {
        "r_hat_max": r_max, "r_hat_var": r_var,
        "ess_bulk_min": eb_min, "ess_bulk_var": eb_var,
        "ess_tail_min": et_min, "ess_tail_var": et_var,
        "divergences": n_div, "max_treedepth_hits": tree_depth,
        "chains": n_chains, "draws": n_draws, "warnings": warnings,
    }
