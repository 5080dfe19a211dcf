"""The continuous model of :mod:`nof1.models.bayes_exact` in PyMC (NUTS): the general engine and
the cross-check of the exact one. Same model, same priors (:class:`ModelPriors`).

Likelihood: the AR(1)-with-gaps errors as conditional normals on the observed days,
``y_1 ~ N(μ_1, σ²)``, ``y_i | y_prev ~ N(μ_i + φ^g·(y_prev − μ_prev), σ²(1 − φ^{2g}))`` with ``g``
the gap in days. Exposure with τ inside the graph in closed form (no scan): the recursion
``x_t = a·x_{t−1} + (1 − a)·u_t`` (``a = e^{−1/τ}``) sums to ``x_t = (1 − a)·Σ_{s ≤ t} a^{t−s}·u_s``;
writing the daily indicator as a sum of its jumps Δ_j on switch days s_j gives
``x_t = Σ_{j: s_j <= t} Δ_j·(1 − exp(−(t − s_j + 1)/τ))`` — one exponential per observed day and
switch (a few hundred, not days²), stable for every τ.

The model is built on standardised data (y − mean)/sd with every prior transformed accordingly
(an affine change of variables: flat priors stay flat, the posterior is the same), so one compiled
model serves every outcome and replicate of the same structure.

Sampling: PyMC writes the model's log density (with the Jacobians of its transforms); PyTensor
translates that graph to JAX with the data as *arguments*, and BlackJAX's NUTS (Stan's windowed
step-size and diagonal mass-matrix adaptation, then NUTS draws) runs on it, warm-up and draws in
one XLA program per chain — what ``pm.sample(nuts_sampler="blackjax")`` does, except that
``pm.sample`` bakes the data into the program and so recompiles it for every data set. Here a
model structure — (treatments, nuisance columns, τ free or fixed) — is compiled once per process
(and kept in JAX's on-disk compilation cache when ``JAX_COMPILATION_CACHE_DIR`` is set, as the
Makefile does), series are padded to a multiple of 32 days (padding rows add a constant to the
log density, nothing else) so that outcomes of similar length share the compiled sampler, and a
new data set is just a new argument. Why not PyMC's own NUTS: its log density is compiled by numba,
which took 20 s on an empty compile cache for this model; the JAX program is traced and compiled in about 3.5 s.
The chains run in this process, one per device at once (one CPU device per core;
:func:`nof1.models.jax_nuts.run_chains`; a chain of 2,000 iterations takes 0.2-0.4 s; JAX's
thread pools make forking unsafe). PyMC and JAX are imported inside the functions
(``import nof1`` stays light).

Example:
    >>> import numpy as np
    >>> from nof1.models.bayes_exact import ModelPriors, SeriesData
    >>> from nof1.models.bayes_pymc import fit_pymc
    >>> u = np.repeat([0, 1, 0, 1], 14).astype(float)
    >>> y = 5 - u + np.random.default_rng(1).normal(0, 1, 56)
    >>> post = fit_pymc(SeriesData(y=y, day=np.arange(1, 57), u=u[None]),
    ...                 ModelPriors.from_scale(10.0), draws=300, tune=300, seed=1)  # doctest: +SKIP
    >>> post.diagnostics["max_rhat"] < 1.01                                          # doctest: +SKIP
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from nof1.models.bayes_exact import ModelPriors, SeriesData
from nof1.models.determinism import with_ieee_math

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["PymcPosterior", "clear_cache", "fit_pymc", "RHAT_MAX", "ESS_MIN"]

#: Convergence thresholds: notes are raised when r-hat exceeds / ESS falls below these.
RHAT_MAX: float = 1.01
ESS_MIN: float = 400.0

#: Series are padded to a multiple of this many rows, and their switch days to a multiple of
#: ``SWITCH_BUCKET``, so that data sets of similar size share one compiled sampler.
ROW_BUCKET: int = 32
SWITCH_BUCKET: int = 8

_DATA_COMMON = ("y", "nuis", "prev", "gap", "has_prev", "w", "b_mu", "b_sd", "s_scale", "phi_lo",
                "phi_hi")
_DATA_TAU_FREE = ("jumps", "lag", "lag_mask", "tau_mu", "tau_sd")
_DATA_TAU_FIXED = ("x",)


@dataclass
class _Compiled:
    """One model structure: the PyMC model and its log density as a JAX function of
    (raveled unconstrained parameters, data arrays), plus the samplers compiled for it."""

    model: Any
    data_names: tuple[str, ...]
    jax_logp: Callable[..., Any]
    point_map_info: Any
    samplers: dict[tuple, Callable[..., Any]] = field(default_factory=dict)

    def unravel(self, q: Any) -> list[Any]:
        from nof1.models.jax_nuts import unravel

        return unravel(self.point_map_info, q)

    def logdensity(self, data: tuple[Any, ...]) -> Callable[[Any], Any]:
        return lambda q: self.jax_logp(*self.unravel(q), *data)[0]


_CACHE: dict[tuple, _Compiled] = {}


def clear_cache() -> None:
    """Forget the compiled models (tests of cold compilation use this)."""
    _CACHE.clear()


@dataclass
class PymcPosterior:
    """NUTS draws in outcome units plus convergence diagnostics.

    ``tree`` is the ArviZ DataTree (groups ``posterior``, ``sample_stats``, ``observed_data``);
    ``diagnostics`` holds ``max_rhat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences`` and
    ``warnings`` (a list of plain sentences, empty when all is well).
    """

    data: SeriesData
    priors: ModelPriors
    tree: xr.DataTree
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def draws(self) -> dict[str, NDArray[np.float64]]:
        """Flattened draws (chains stacked): ``beta`` (n, K), nuisance terms, φ, τ, σ."""
        post = self.tree["posterior"]
        out: dict[str, NDArray[np.float64]] = {}
        beta = np.asarray(post["beta"].values, dtype=float)
        out["beta"] = beta.reshape(-1, beta.shape[-1])
        for name in (*self.data.nuisance_names, "phi", "tau", "sigma"):
            if name in post:
                out[name] = np.asarray(post[name].values, dtype=float).reshape(-1)
        return out


def _structure(data: SeriesData, priors: ModelPriors) -> tuple[int, int, bool]:
    return (data.n_treatments, len(data.nuisance_names), priors.tau_fixed is None)


def _jax() -> Any:
    """JAX in double precision (imported on first use; :func:`nof1.models.jax_nuts.jax`)."""
    from nof1.models.jax_nuts import jax

    return jax()


def _build(K: int, p_n: int, tau_free: bool) -> _Compiled:
    """The PyMC model of one structure, and its log density translated to JAX.

    The ``pm.Data`` containers hold placeholders; in the JAX function they are replaced by
    arguments, so one translation serves every data set of this structure.
    """
    _jax()
    import pymc as pm
    import pytensor.tensor as pt
    from pymc.blocking import DictToArrayBijection
    from pytensor.graph.replace import graph_replace

    from nof1.models.jax_nuts import jaxify

    n, n_days = 4, 4
    with pm.Model() as model:
        y = pm.Data("y", np.zeros(n))
        nuis = pm.Data("nuis", np.ones((n, p_n)))
        prev = pm.Data("prev", np.zeros(n, dtype=np.int64))
        gap = pm.Data("gap", np.ones(n, dtype=np.int64))
        has_prev = pm.Data("has_prev", np.zeros(n))
        w = pm.Data("w", np.ones(n))  # 1 = observed day, 0 = padding
        b_mu = pm.Data("b_mu", np.zeros(K))
        b_sd = pm.Data("b_sd", np.ones(K))
        s_scale = pm.Data("s_scale", 1.0)
        phi_lo = pm.Data("phi_lo", -0.5)
        phi_hi = pm.Data("phi_hi", 0.95)
        alpha = pm.Flat("alpha", shape=p_n)
        beta = pm.Normal("beta", mu=b_mu, sigma=b_sd, shape=K)
        sigma = pm.HalfNormal("sigma", sigma=s_scale)
        phi = pm.Uniform("phi", lower=phi_lo, upper=phi_hi)
        if tau_free:
            jumps = pm.Data("jumps", np.zeros((n_days, K)))
            lag = pm.Data("lag", np.ones((n, n_days)))
            lag_mask = pm.Data("lag_mask", np.zeros((n, n_days)))
            tau_mu = pm.Data("tau_mu", 0.0)
            tau_sd = pm.Data("tau_sd", 1.0)
            tau = pm.LogNormal("tau", mu=tau_mu, sigma=tau_sd)
            rise = (1.0 - pt.exp(-lag / tau)) * lag_mask  # response to a unit jump, (n, J)
            x = pt.dot(rise, jumps)  # (n, K)
        else:
            x = pm.Data("x", np.zeros((n, K)))
        mu = pt.dot(nuis, alpha) + pt.dot(x, beta)
        rho = pt.pow(phi, gap)
        cond_mu = mu + has_prev * rho * (y[prev] - mu[prev])
        # Padding rows (w = 0, with y, nuis, x = 0 and no predecessor) are N(0 | 0, 1): a constant.
        cond_sd = w * sigma * pt.sqrt(1.0 - has_prev * rho * rho) + (1.0 - w)
        pm.Normal("y_obs", mu=cond_mu, sigma=cond_sd, observed=y)
    names = _DATA_COMMON + (_DATA_TAU_FREE if tau_free else _DATA_TAU_FIXED)
    shared = [model[name] for name in names]
    args = [v.type() for v in shared]
    logp = graph_replace([model.logp()], dict(zip(shared, args, strict=True)), strict=False)[0]
    value_vars = model.value_vars
    jax_logp = jaxify([*value_vars, *args], [logp])
    # Every free variable has a static shape ((p_n,), (K,) or scalar): the raveling map needs
    # no initial point (``model.initial_point()`` would compile a function just for that).
    info = DictToArrayBijection.map(
        {v.name: np.zeros(v.type.shape) for v in value_vars}).point_map_info
    return _Compiled(model=model, data_names=names, jax_logp=jax_logp, point_map_info=info)


def _sampler(comp: _Compiled, tune: int, draws: int) -> Callable[..., Any]:
    """One chain as one compiled XLA program (:func:`nof1.models.jax_nuts.sampler`, the sampler
    every Bayesian model of nof1 shares)."""
    from nof1.models.jax_nuts import sampler

    return sampler(comp, tune, draws)


def _padded(payload: dict[str, Any], n: int) -> dict[str, Any]:
    """The payload padded to a multiple of ``ROW_BUCKET`` rows (and ``SWITCH_BUCKET`` switches)."""
    n_pad = -(-n // ROW_BUCKET) * ROW_BUCKET
    extra = n_pad - n
    out = dict(payload)
    out["w"] = np.concatenate([np.ones(n), np.zeros(extra)])
    for name, fill in (("y", 0.0), ("prev", 0), ("gap", 1), ("has_prev", 0.0)):
        v = np.asarray(payload[name])
        out[name] = np.concatenate([v, np.full(extra, fill, dtype=v.dtype)])
    for name in ("nuis", "x"):
        if name in payload:
            v = np.asarray(payload[name], dtype=float)
            out[name] = np.concatenate([v, np.zeros((extra, v.shape[1]))])
    if "jumps" in payload:
        J = payload["jumps"].shape[0]
        j_extra = -(-J // SWITCH_BUCKET) * SWITCH_BUCKET - J
        out["jumps"] = np.concatenate([payload["jumps"], np.zeros((j_extra, payload["jumps"].shape[1]))])
        out["lag"] = np.pad(payload["lag"], ((0, extra), (0, j_extra)), constant_values=1.0)
        out["lag_mask"] = np.pad(payload["lag_mask"], ((0, extra), (0, j_extra)))
    return out


def _payload(data: SeriesData, priors: ModelPriors, center: float, scale: float) -> dict[str, Any]:
    """pm.Data values (standardised) for one series."""
    n = data.n
    prev = np.concatenate([[0], np.arange(n - 1)]).astype(np.int64)
    gaps = data.gaps.copy()
    gaps[0] = 1
    has_prev = np.ones(n)
    has_prev[0] = 0.0
    out: dict[str, Any] = {
        "y": (data.y - center) / scale,
        "nuis": data.nuisance(),
        "prev": prev,
        "gap": gaps.astype(np.int64),
        "has_prev": has_prev,
        "b_mu": np.asarray(priors.effect_mean, dtype=float) / scale,
        "b_sd": np.asarray(priors.effect_sd, dtype=float) / scale,
        "s_scale": priors.sigma_scale / scale,
        "phi_lo": priors.phi_low,
        "phi_hi": priors.phi_high,
    }
    if priors.tau_fixed is None:
        switch_days, jumps = _jumps(data.u)
        lag = (data.day[:, None] - switch_days[None, :] + 1).astype(float)
        out["jumps"] = jumps
        out["lag"] = np.maximum(lag, 1.0)
        out["lag_mask"] = (lag >= 1).astype(float)
        out["tau_mu"] = math.log(priors.tau_median)
        out["tau_sd"] = priors.tau_sigma
    else:
        out["x"] = data.exposure(float(priors.tau_fixed))
    return out


def _jumps(u: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Switch days (1-based) and the jump of each treatment's daily indicator there, (J,), (J, K).

    At least one row (a zero jump) so that the shapes are never empty.
    """
    padded = np.concatenate([np.zeros((u.shape[0], 1)), u], axis=1)
    d = np.diff(padded, axis=1)  # (K, n_days): jump on day t (1-based t = index + 1)
    idx = np.flatnonzero(np.any(d != 0, axis=0))
    if idx.size == 0:
        return np.array([1], dtype=np.int64), np.zeros((1, u.shape[0]))
    return (idx + 1).astype(np.int64), d[:, idx].T.copy()


def _initvals(data: SeriesData, priors: ModelPriors, y_std: NDArray[np.float64], chains: int,
              rng: np.random.Generator) -> list[dict[str, Any]]:
    """Dispersed starting points around a least-squares fit (standardised scale)."""
    tau0 = priors.tau_median if priors.tau_fixed is None else float(priors.tau_fixed)
    X = np.column_stack([data.nuisance(), data.exposure(tau0)])
    coef, *_ = np.linalg.lstsq(X, y_std, rcond=None)
    resid = y_std - X @ coef
    s0 = float(max(np.std(resid), 0.05))
    p_n = data.nuisance().shape[1]
    out = []
    for _ in range(chains):
        d: dict[str, Any] = {
            "alpha": coef[:p_n] + rng.normal(0, 0.1, p_n),
            "beta": coef[p_n:] + rng.normal(0, 0.1, data.n_treatments),
            "sigma": s0 * float(np.exp(rng.normal(0, 0.1))),
            "phi": float(np.clip(rng.uniform(0.0, 0.6), priors.phi_low + 0.01, priors.phi_high - 0.01)),
        }
        if priors.tau_fixed is None:
            d["tau"] = float(priors.tau_median * np.exp(rng.normal(0, 0.3)))
        out.append(d)
    return out


@with_ieee_math
def fit_pymc(
    data: SeriesData,
    priors: ModelPriors,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int | None = None,
    cores: int | None = None,
    target_accept: float = 0.9,
) -> PymcPosterior:
    """Sample the continuous model with NUTS (the compiled model is reused across calls).

    Args:
        data, priors: as for :func:`nof1.models.bayes_exact.fit_exact`.
        draws, tune, chains: NUTS settings (``tune`` warm-up iterations with Stan's windowed
            adaptation of step size and diagonal mass matrix, then ``draws`` kept draws).
        seed: random seed (starting points and sampling); the draws depend only on it.
        cores: accepted for compatibility and ignored: the chains run in this process, one
            per device at once (each is one compiled program, a fraction of a second).
        target_accept: NUTS's target acceptance rate during adaptation.

    Returns:
        A :class:`PymcPosterior` with draws in outcome units and diagnostics.
    """
    import xarray as xr

    if priors.n_treatments != data.n_treatments:
        raise ValueError(f"priors describe {priors.n_treatments} treatments, data has {data.n_treatments}")
    if priors.phi_fixed is not None:
        raise ValueError("the PyMC engine estimates phi; phi_fixed is for the exact engine")
    if tune < 1 or draws < 1 or chains < 1:
        raise ValueError("tune, draws and chains must be at least 1")
    key = _structure(data, priors)
    if key not in _CACHE:
        _CACHE[key] = _build(*key)
    comp = _CACHE[key]
    jax = _jax()
    center = float(np.mean(data.y))
    scale = float(np.std(data.y))
    scale = scale if scale > 0 else 1.0
    payload = _padded(_payload(data, priors, center, scale), data.n)
    args = tuple(jax.numpy.asarray(payload[name]) for name in comp.data_names)
    rng = np.random.default_rng(seed)
    inits = _initvals(data, priors, (data.y - center) / scale, chains, rng)
    starts = [_to_unconstrained(comp, d, priors) for d in inits]
    chain_seeds = [int(v) for v in rng.integers(2**31, size=chains)]
    from nof1.models.jax_nuts import run_chains

    run = _sampler(comp, int(tune), int(draws))
    results = run_chains(run, args, starts, chain_seeds, float(target_accept))
    pos, div, n_steps, depth, step_size = (np.stack([r[i] for r in results]) for i in range(5))
    raw = _from_unconstrained(comp, pos, priors)
    new = {}
    alpha = raw["alpha"]  # (chain, draw, p_n), standardised
    for j, name in enumerate(data.nuisance_names):
        v = alpha[..., j] * scale
        new[name] = (("chain", "draw"), v + center if j == 0 else v)
    new["beta"] = (("chain", "draw", "treatment"), raw["beta"] * scale)
    new["sigma"] = (("chain", "draw"), raw["sigma"] * scale)
    new["phi"] = (("chain", "draw"), raw["phi"])
    if "tau" in raw:
        new["tau"] = (("chain", "draw"), raw["tau"])
    else:
        new["tau"] = (("chain", "draw"), np.full(raw["phi"].shape, float(priors.tau_fixed)))
    coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
    ds = xr.Dataset(new, coords={**coords, "treatment": np.arange(data.n_treatments)})
    stats = xr.Dataset({
        "diverging": (("chain", "draw"), div.astype(bool)),
        "tree_size": (("chain", "draw"), n_steps.astype(float)),
        "tree_depth": (("chain", "draw"), depth.astype(np.int64)),
        "step_size": (("chain", "draw"), np.repeat(step_size.reshape(chains, 1), draws, axis=1)),
    }, coords=coords, attrs={"sampler": "blackjax NUTS (window adaptation)"})
    obs = xr.Dataset({"y": (("obs",), data.y), "day": (("obs",), data.day)})
    tree = xr.DataTree.from_dict({"posterior": ds, "sample_stats": stats, "observed_data": obs})
    return PymcPosterior(data=data, priors=priors, tree=tree,
                         diagnostics=_diagnostics(tree, free_tau=priors.tau_fixed is None))


def _to_unconstrained(comp: _Compiled, init: dict[str, Any], priors: ModelPriors) -> np.ndarray:
    """A starting point (constrained values on the standardised scale) as the raveled vector."""
    parts = []
    for name, _shape, _size, _dtype in comp.point_map_info:
        if name in ("alpha", "beta"):
            v = np.asarray(init[name], dtype=float)
        elif name == "sigma_log__":
            v = np.log(init["sigma"])
        elif name == "tau_log__":
            v = np.log(init["tau"])
        elif name == "phi_interval__":
            lo, hi = priors.phi_low, priors.phi_high
            v = np.log(init["phi"] - lo) - np.log(hi - init["phi"])
        else:  # pragma: no cover - the model has no other free variables
            raise KeyError(f"unexpected free variable {name}")
        parts.append(np.ravel(np.asarray(v, dtype=float)))
    return np.concatenate(parts)


def _from_unconstrained(comp: _Compiled, draws: np.ndarray, priors: ModelPriors
                        ) -> dict[str, np.ndarray]:
    """(chains, draws, dim) raveled draws → constrained values by name, (chains, draws, ...)."""
    out: dict[str, np.ndarray] = {}
    offset = 0
    lead = draws.shape[:2]
    for name, shape, size, _dtype in comp.point_map_info:
        v = draws[..., offset:offset + size].reshape(*lead, *shape)
        offset += size
        if name in ("alpha", "beta"):
            out[name] = v
        elif name == "sigma_log__":
            out["sigma"] = np.exp(v)
        elif name == "tau_log__":
            out["tau"] = np.exp(v)
        elif name == "phi_interval__":
            lo, hi = priors.phi_low, priors.phi_high
            out["phi"] = lo + (hi - lo) / (1.0 + np.exp(-v))
    return out


def _diagnostics(tree: xr.DataTree, *, free_tau: bool) -> dict[str, Any]:
    """r-hat, bulk/tail ESS over the sampled parameters, divergences, and warnings.

    The diagnostics are :mod:`nof1.models.convergence`'s (arviz_stats' numbers, without
    importing it).
    """
    from nof1.models import convergence as cv

    names = ["beta", "sigma", "phi", "alpha"] + (["tau"] if free_tau else [])
    post = tree["posterior"]
    names = [n for n in names if n in post]
    draws = [np.asarray(post[n].transpose("chain", "draw", ...).values) for n in names]
    rhat = [cv.rhat(v) for v in draws]
    ess_b = [cv.ess_bulk(v) for v in draws]
    ess_t = [cv.ess_tail(v) for v in draws]

    def _agg(per_var: list[Any], fn: Any) -> float:
        vals = [float(fn(np.asarray(v))) for v in per_var]
        return float(fn(np.asarray(vals))) if vals else float("nan")

    div = int(np.asarray(tree["sample_stats"]["diverging"].values).sum())
    n_chains = int(tree["posterior"].sizes["chain"])
    out: dict[str, Any] = {
        "max_rhat": _agg(rhat, np.nanmax),
        "min_ess_bulk": _agg(ess_b, np.nanmin),
        "min_ess_tail": _agg(ess_t, np.nanmin),
        "divergences": div,
        "chains": n_chains,
        "draws": int(tree["posterior"].sizes["draw"]),
    }
    notes = []
    if n_chains > 1 and out["max_rhat"] > RHAT_MAX:
        notes.append(f"r-hat {out['max_rhat']:.3f} > {RHAT_MAX}: the chains disagree; run more "
                     "draws/tune or use the exact engine")
    if out["min_ess_bulk"] < ESS_MIN or out["min_ess_tail"] < ESS_MIN:
        notes.append(f"effective sample size {min(out['min_ess_bulk'], out['min_ess_tail']):.0f} < "
                     f"{ESS_MIN:.0f}: intervals are imprecise; run more draws")
    if div > 0:
        notes.append(f"{div} divergent transition(s): the sampler may have missed part of the "
                     "posterior; compare with the exact engine")
    out["warnings"] = notes
    return out
