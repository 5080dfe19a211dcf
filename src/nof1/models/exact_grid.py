"""The quadrature of the exact engine (:mod:`nof1.models.bayes_exact`): the (φ, τ) grid, the σ
nodes and the closed-form likelihood at each node.

Given (φ, τ) the cross products of the augmented design [nuisance, x(τ), y] are whitened by the
gap-aware AR(1) transform (:func:`_gram`, :func:`_combine`); the flat nuisance terms are swept out
and the normal prior on β and σ are integrated in closed form / on σ nodes (:func:`_evaluate`).
:func:`run_grid` runs a coarse midpoint pass, then composite Gauss-Legendre passes where the mass is.
Every array carries a leading batch axis (trials), so single and batched fits share this code.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nof1.models.exact_model import TAU_Z_BOUND, TREND_UNIT_DAYS, FloatArray, ModelPriors
from nof1.models.exposure import decay_factor

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@dataclass(frozen=True)
class GridSpec:
    """Resolution of the quadrature.

    A coarse midpoint pass over the whole prior range of φ and z = (log τ − log median)/sdlog
    locates the posterior mass; then ``passes`` composite Gauss-Legendre passes split each axis
    at quantiles ``pieces`` of the previous pass's marginal (so that a sharp peak and a long
    thin tail are both resolved) with ``*_per_piece`` nodes per piece. σ is integrated on
    ``sigma_nodes`` equally spaced nodes in log σ spanning ± ``sigma_halfwidth`` approximate
    posterior sds (trapezoid rule: exponentially accurate for this smooth integrand).
    """

    phi_coarse: int = 12
    tau_coarse: int = 8
    sigma_coarse: int = 5
    pieces: tuple[float, ...] = (0.002, 0.02, 0.15, 0.5, 0.85, 0.98, 0.998)
    phi_per_piece: int = 2
    tau_per_piece: int = 3
    passes: int = 1
    sigma_nodes: int = 9
    sigma_halfwidth: float = 5.5
    tail: float = 1e-9  # coarse cells with less relative mass than this are left out


#: Grid for single analyses (accuracy first: interval ends within ~1e-3 posterior sd).
SINGLE_GRID = GridSpec(phi_coarse=24, tau_coarse=16, sigma_coarse=9,
                       pieces=(0.0005, 0.005, 0.03, 0.12, 0.3, 0.5, 0.7, 0.88, 0.97, 0.995, 0.9995),
                       phi_per_piece=4, tau_per_piece=4, passes=2, sigma_nodes=15, sigma_halfwidth=7.0)
#: Grid for batches of simulated trials (power, calibration): checked against SINGLE_GRID.
BATCH_GRID = GridSpec(sigma_nodes=7, sigma_halfwidth=4.5)


def cell_quantile(p: float, mass: FloatArray, edges: FloatArray) -> FloatArray:
    """Quantile of a piecewise-uniform density (mass per cell (B, n), edges (B, n+1))."""
    return _cell_quantiles(np.array([p]), mass, edges)[:, 0]


def _cell_quantiles(ps: FloatArray, mass: FloatArray, edges: FloatArray) -> FloatArray:
    """Quantiles ``ps`` (P,) of piecewise-uniform densities: (B, P)."""
    mass = mass / mass.sum(axis=1, keepdims=True)
    cdf = np.concatenate([np.zeros((mass.shape[0], 1)), np.cumsum(mass, axis=1)], axis=1)
    j = np.clip((cdf[:, None, :] < ps[:, None]).sum(axis=2) - 1, 0, mass.shape[1] - 1)  # (B, P)
    r = np.arange(mass.shape[0])[:, None]
    c0, m, e0, e1 = cdf[r, j], mass[r, j], edges[r, j], edges[r, j + 1]
    frac = np.where(m > 0, (ps - c0) / np.where(m > 0, m, 1.0), 0.5)
    return e0 + np.clip(frac, 0.0, 1.0) * (e1 - e0)


# =========================================================================== linear algebra
def _sweep(a: FloatArray, k: int) -> FloatArray:
    """Sweep a batch of symmetric matrices (trailing dims) on pivot k (Goodnight's operator).

    After sweeping the pivots of block A in [[A, b], [b', c]] the result is
    [[-A⁻¹, A⁻¹b], [b'A⁻¹, c − b'A⁻¹b]].
    """
    d = a[..., k, k]
    col = a[..., :, k] / d[..., None]
    out = a[..., :, k, None] * col[..., None, :]
    np.subtract(a, out, out=out)
    out[..., k, :] = col
    out[..., :, k] = col
    out[..., k, k] = -1.0 / d
    return out


# =========================================================================== batch preparation
@dataclass
class _Prepared:
    """Arrays of a chunk of trials, ready for the grid."""

    y: FloatArray  # (B, n), 0 where missing
    mask: NDArray[np.bool_]  # (B, n)
    nuis: FloatArray  # (B, n, p_n) zero rows where missing
    u: FloatArray  # (Bu, K, n_days)
    day: NDArray[np.int64]  # (Bd, n)
    prev: NDArray[np.int64]  # (B, n) index of the previous observation (0 when none)
    first: NDArray[np.bool_]  # (B, n) the first observation
    gap_values: NDArray[np.int64]  # (G,)
    gap_onehot: NDArray[np.bool_]  # (B, n, G)
    gap_counts: FloatArray  # (B, G)
    n_obs: FloatArray  # (B,)
    p_n: int
    K: int


def prepare_series(Y: FloatArray, day: NDArray[np.int64], u: FloatArray, *, trend: bool,
             run_in_days: int, covariates: FloatArray | None = None) -> _Prepared:
    B, n = Y.shape
    mask = np.isfinite(Y)
    y = np.where(mask, Y, 0.0)
    day_b = np.broadcast_to(day, (B, n))
    idx = np.where(mask, np.arange(n), -1)
    last = np.maximum.accumulate(idx, axis=1)
    prev = np.concatenate([np.full((B, 1), -1), last[:, :-1]], axis=1)
    has_prev = mask & (prev >= 0)
    first = mask & (prev < 0)
    prev_c = np.maximum(prev, 0)
    gap = np.where(has_prev, day_b - np.take_along_axis(day_b, prev_c, axis=1), 0)
    gap_values = np.unique(gap[has_prev]) if has_prev.any() else np.zeros(0, dtype=np.int64)
    onehot = (gap[..., None] == gap_values) & has_prev[..., None]
    n_obs = mask.sum(axis=1).astype(float)
    cols = [np.ones((B, n))]
    if run_in_days > 0:
        r = (day_b <= run_in_days) & mask
        if (r.any(axis=1) & (mask & ~r).any(axis=1)).all():
            cols.append(r.astype(float))
    if trend:
        dm = np.where(mask, day_b, 0.0).sum(axis=1) / np.maximum(n_obs, 1)
        cols.append((day_b - dm[:, None]) / TREND_UNIT_DAYS)
    if covariates is not None:      # (B or 1, n, p): more flat-prior columns
        z = np.broadcast_to(np.asarray(covariates, dtype=float), (B, n, np.shape(covariates)[-1]))
        z = np.where(mask[..., None], z, 0.0)
        zm = z.sum(axis=1, keepdims=True) / np.maximum(n_obs, 1)[:, None, None]
        cols.extend(np.moveaxis(np.where(mask[..., None], z - zm, 0.0), -1, 0))
    nuis = np.stack(cols, axis=-1) * mask[..., None]
    return _Prepared(y=y, mask=mask, nuis=nuis, u=u, day=np.atleast_2d(day), prev=prev_c,
                     first=first, gap_values=gap_values.astype(np.int64), gap_onehot=onehot,
                     gap_counts=onehot.sum(axis=1).astype(float), n_obs=n_obs,
                     p_n=nuis.shape[-1], K=u.shape[-2])


def _exposure_scan(u: FloatArray, tau: FloatArray) -> FloatArray:
    """:func:`nof1.models.exposure.exposure` of ``u`` (..., n_days) for a batch of τ broadcasting
    against ``u.shape[:-1]``, by a doubling scan (log2(n_days) array steps instead of one Python
    step per day; the same sums, rounded differently at the 1e-16 level).

    x_t = Σ_{s<=t} a^(t−s)·(1 − a)·u_s with a = e^(−1/τ): after the step with offset k every x_t
    holds the terms s > t − 2k.
    """
    a = decay_factor(tau)[..., None]
    x = (1.0 - a) * u
    n = x.shape[-1]
    k = 1
    ak = a
    while k < n:
        x[..., k:] += ak * x[..., :-k]
        ak = ak * ak
        k *= 2
    return x


def _gram(prep: _Prepared, taus: FloatArray | None) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Cross-product blocks of the augmented design V = [nuisance, x(τ), y] for each τ.

    Returns F (first-observation term), T0, T1, T2 (one per gap value): shapes (B, nτ, q, q) and
    (B, nτ, G, q, q).
    """
    B, n = prep.y.shape
    K = prep.K
    if taus is None:
        Bx = max(prep.u.shape[0], prep.day.shape[0])
        uu = np.broadcast_to(prep.u, (Bx, *prep.u.shape[1:]))
        d = np.broadcast_to(prep.day - 1, (Bx, n))
        x = np.take_along_axis(uu, np.broadcast_to(d[:, None, :], (Bx, K, n)), axis=-1)
        x = np.swapaxes(x, -1, -2)[:, None]  # (Bx, 1, n, K)
    else:
        full = _exposure_scan(prep.u[:, None], taus[..., None])  # (B?, nτ, K, n_days)
        if prep.day.shape[0] == 1:  # one calendar for all trials: a plain take
            x = np.swapaxes(np.take(full, prep.day[0] - 1, axis=-1), -1, -2)  # (B?, nτ, n, K)
        else:
            Bx = max(full.shape[0], prep.day.shape[0])
            full = np.broadcast_to(full, (Bx, *full.shape[1:]))
            d = np.broadcast_to(prep.day - 1, (Bx, n))
            idx = np.broadcast_to(d[:, None, None, :], (*full.shape[:-1], n))
            x = np.swapaxes(np.take_along_axis(full, idx, axis=-1), -1, -2)  # (Bx, nτ, n, K)
    nt = x.shape[1]
    x = np.broadcast_to(x, (B, nt, n, prep.K)) * prep.mask[:, None, :, None]
    V = np.concatenate([
        np.broadcast_to(prep.nuis[:, None], (B, nt, n, prep.p_n)),
        x,
        np.broadcast_to(prep.y[:, None, :, None], (B, nt, n, 1)),
    ], axis=-1)
    Vp = (np.take(V, prep.prev[0], axis=2) if B == 1
          else np.take_along_axis(V, prep.prev[:, None, :, None], axis=2))
    Vt = np.swapaxes(V, -1, -2)
    F = (Vt * prep.first[:, None, None, :]) @ V
    G = prep.gap_values.size
    q = V.shape[-1]
    T0 = np.empty((B, nt, G, q, q))
    T1 = np.empty((B, nt, G, q, q))
    T2 = np.empty((B, nt, G, q, q))
    Vpt = np.swapaxes(Vp, -1, -2)
    for g in range(G):
        wgt = prep.gap_onehot[:, None, None, :, g]
        T0[:, :, g] = (Vt * wgt) @ V
        c = (Vt * wgt) @ Vp
        T1[:, :, g] = c + np.swapaxes(c, -1, -2)
        T2[:, :, g] = (Vpt * wgt) @ Vp
    return F, T0, T1, T2


def _combine(prep: _Prepared, stats: tuple[FloatArray, ...], phis: FloatArray
             ) -> tuple[FloatArray, FloatArray]:
    """Whitened cross products M (B, nφ, nτ, q, q) and Σ log(1 − ρ²) (B, nφ) for each φ."""
    F, T0, T1, T2 = stats
    rho = np.power(phis[..., None], prep.gap_values.astype(float))  # (B, nφ, G)
    one_m = 1.0 - rho * rho
    a, c, d = 1.0 / one_m, rho / one_m, rho * rho / one_m
    M = np.einsum("bfg,btgij->bftij", a, T0)
    M += F[:, None]  # = F + a·T0 − c·T1 + d·T2, in that order, with one array of this size
    M -= np.einsum("bfg,btgij->bftij", c, T1)
    M += np.einsum("bfg,btgij->bftij", d, T2)
    logdet = np.einsum("bg,bfg->bf", prep.gap_counts, np.log(one_m))
    return M, logdet


@dataclass
class _GridEval:
    """Log weights and conditional moments of β on one (φ, τ, σ) grid."""

    logw: FloatArray  # (B, nφ, nτ, S)
    beta_mean: FloatArray | None  # (B, nφ, nτ, S, K); None when not asked for (a locating pass)
    beta_cov: FloatArray | None  # (B, nφ, nτ, S, K, K)
    sigma: FloatArray  # (B, nφ, nτ, S)
    M: FloatArray  # (B, nφ, nτ, q, q) whitened cross products


@dataclass
class _Axis:
    """Quadrature nodes (B, n) with cells (B, n+1): cell i holds node i and its width is node i's
    weight (midpoint rule, or Gauss-Legendre, whose nodes interlace the cumulative weights)."""

    nodes: FloatArray
    edges: FloatArray

    @classmethod
    def midpoint(cls, edges: FloatArray) -> _Axis:
        return cls(nodes=0.5 * (edges[:, 1:] + edges[:, :-1]), edges=edges)

    @property
    def log_weights(self) -> FloatArray:
        with np.errstate(divide="ignore"):
            return np.log(np.diff(self.edges, axis=1))


def _buffer(work: dict[str, FloatArray] | None, name: str, shape: tuple[int, ...]) -> FloatArray:
    """A work array of this shape: the one kept in ``work`` under ``name`` when it fits."""
    if work is None:
        return np.empty(shape)
    a = work.get(name)
    if a is None or a.shape != shape:
        a = work[name] = np.empty(shape)
    return a


def _evaluate(prep: _Prepared, priors: ModelPriors, phi_ax: _Axis, z_ax: _Axis | None,
              n_sigma: int, halfwidth: float, moments: bool = True,
              work: dict[str, FloatArray] | None = None) -> _GridEval:
    """Evaluate the posterior on the (φ, z) quadrature nodes (per trial) and σ nodes (the
    conditional moments of β only with ``moments``: the passes that locate the mass need the
    weights alone).

    The arrays over (B, nφ, nτ, S) are computed in the arrays of ``work`` (kept by the caller
    between passes: fresh arrays of this size cost more in page faults than the arithmetic); the
    result refers to them until the next call with the same ``work``.
    """
    B = prep.y.shape[0]
    K, p_n = prep.K, prep.p_n
    phis = phi_ax.nodes
    log_dphi = phi_ax.log_weights
    if z_ax is None:
        taus = None if not priors.tau_fixed else np.full((1, 1), float(priors.tau_fixed))
        log_ztau = np.zeros((1, 1))
    else:
        z = z_ax.nodes
        taus = priors.tau_median * np.exp(priors.tau_sigma * z)
        log_ztau = -0.5 * z * z - _LOG_SQRT_2PI + z_ax.log_weights
    stats = _gram(prep, taus)
    M, logdet_phi = _combine(prep, stats, phis)
    # sweep the nuisance pivots, keeping only the block not yet swept (the entries of the sweep
    # operator there: a_ij − a_ik·(a_jk / a_kk))
    S = M
    logdet_n = np.zeros(M.shape[:3])
    for _ in range(p_n):
        d = S[..., 0, 0]
        logdet_n += np.log(d)
        col = S[..., 1:, 0]
        S = S[..., 1:, 1:] - col[..., :, None] * (col / d[..., None])[..., None, :]
    R = S  # (B, nφ, nτ, K+1, K+1): [[A_r, b_r], [b_r', c_r]]
    nu_exact = prep.n_obs - p_n - K
    nu = np.maximum(nu_exact, 1.0)
    dmean = np.asarray(priors.effect_mean, dtype=float)
    dprec = 1.0 / np.asarray(priors.effect_sd, dtype=float) ** 2
    # centre of the σ nodes: a residual variance, regularised by the prior on β (two fixed-point steps)
    s2 = np.maximum(R[..., K, K], 1e-300) / (prep.n_obs[:, None, None] - p_n).clip(min=1.0)
    pb = _prior_block(dprec, dmean)
    for _ in range(2):
        if K == 1:  # the sweep below on pivot 0, written out
            a00 = R[..., 0, 0] + s2 * pb[0, 0]
            a10 = R[..., 1, 0] + s2 * pb[1, 0]
            rss = R[..., 1, 1] + s2 * pb[1, 1]
            rss -= a10 * (a10 / a00)
        else:
            Sw = R + s2[..., None, None] * pb
            for k in range(K):
                Sw = _sweep(Sw, k)
            rss = Sw[..., K, K]
        s2 = np.maximum(rss, 1e-12 * s2) / (prep.n_obs[:, None, None] - p_n).clip(min=1.0)
    omega = 1.0 / np.sqrt(2.0 * nu)
    znodes = np.linspace(-halfwidth, halfwidth, n_sigma)
    step = omega * (znodes[1] - znodes[0]) if n_sigma > 1 else np.ones(B)
    # terms that do not depend on σ
    cell = -0.5 * logdet_phi[:, :, None] - 0.5 * logdet_n
    cell += log_dphi[:, :, None]
    cell += np.broadcast_to(log_ztau, (B, log_ztau.shape[1]))[:, None, :]
    cell += np.log(step)[:, None, None]
    # The arrays over (B, nφ, nτ, S) are updated in place: few fresh allocations of that size
    # (each new large array costs page faults that outweigh the arithmetic).
    shape = (*s2.shape, n_sigma)  # (B, nφ, nτ, S)
    ls = np.add((0.5 * np.log(s2))[..., None], omega[:, None, None, None] * znodes,
                out=_buffer(work, "ls", shape))
    sig2 = np.multiply(ls, 2.0, out=_buffer(work, "sig2", shape))
    np.exp(sig2, out=sig2)
    if K == 1:
        d, dm = float(dprec[0]), float(dprec[0] * dmean[0])
        a = np.multiply(sig2, d, out=_buffer(work, "a", shape))
        a += R[..., 0, 0, None]
        b = np.multiply(sig2, dm, out=_buffer(work, "b", shape))
        b += R[..., 0, 1, None]
        quad = np.multiply(sig2, dm * float(dmean[0]), out=_buffer(work, "quad", shape))
        quad += R[..., 1, 1, None]
        bmean = np.divide(b, a, out=_buffer(work, "bmean", shape))
        b *= bmean
        quad -= b
        bcov = np.divide(sig2, a, out=b)[..., None, None] if moments else None
        logdet_r = np.log(a, out=a)
        bmean = bmean[..., None] if moments else None
    else:
        Sw = R[..., None, :, :] + sig2[..., None, None] * _prior_block(dprec, dmean)
        logdet_r = np.zeros(Sw.shape[:-2])
        for k in range(K):
            logdet_r += np.log(Sw[..., k, k])
            Sw = _sweep(Sw, k)
        quad = Sw[..., K, K]
        bmean = Sw[..., :K, K] if moments else None
        bcov = -Sw[..., :K, :K] * sig2[..., None, None] if moments else None
    logw = ls
    logw *= (1.0 - nu_exact)[:, None, None, None]
    logdet_r *= 0.5
    logw -= logdet_r
    quad *= 0.5
    quad /= sig2
    logw -= quad
    np.multiply(sig2, 0.5 / priors.sigma_scale**2, out=quad)
    logw -= quad
    logw += cell[..., None]
    logw[~np.isfinite(logw)] = -np.inf
    return _GridEval(logw=logw, beta_mean=bmean, beta_cov=bcov, sigma=np.sqrt(sig2, out=sig2), M=M)


def _prior_block(dprec: FloatArray, dmean: FloatArray) -> FloatArray:
    """[[D, Dm], [m'D, m'Dm]] for the normal prior on β (precisions D)."""
    K = dprec.size
    out = np.zeros((K + 1, K + 1))
    out[:K, :K] = np.diag(dprec)
    out[:K, K] = out[K, :K] = dprec * dmean
    out[K, K] = float(np.sum(dprec * dmean**2))
    return out


@functools.lru_cache(maxsize=16)
def _leggauss(n: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Legendre nodes and weights on [-1, 1] (cached; read-only)."""
    x, w = np.polynomial.legendre.leggauss(n)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


def _composite(mass: FloatArray, edges: FloatArray, pieces: Sequence[float], per_piece: int,
               tail: float) -> _Axis:
    """Composite Gauss-Legendre axis split at quantiles of a piecewise-uniform marginal.

    The axis covers the cells holding relative mass > ``tail`` (plus one neighbour each side);
    pieces of zero width (coinciding quantiles) get zero weight.
    """
    mass = mass / mass.sum(axis=1, keepdims=True)
    keep = mass > tail
    n = mass.shape[1]
    first = np.argmax(keep, axis=1)
    last = n - 1 - np.argmax(keep[:, ::-1], axis=1)
    rows = np.arange(mass.shape[0])
    lo = edges[rows, np.maximum(first - 1, 0)]
    hi = edges[rows, np.minimum(last + 2, n)]
    qs = _cell_quantiles(np.asarray(pieces, dtype=float), mass, edges)
    bounds = np.concatenate([lo[:, None], np.clip(qs, lo[:, None], hi[:, None]), hi[:, None]], axis=1)
    bounds = np.maximum.accumulate(bounds, axis=1)
    x, w = _leggauss(per_piece)
    half = 0.5 * np.diff(bounds, axis=1)[..., None]
    mid = 0.5 * (bounds[:, 1:] + bounds[:, :-1])[..., None]
    B = mass.shape[0]
    nodes = (mid + half * x).reshape(B, -1)
    widths = (half * w).reshape(B, -1)
    new_edges = np.concatenate([lo[:, None], lo[:, None] + np.cumsum(widths, axis=1)], axis=1)
    return _Axis(nodes=nodes, edges=new_edges)


def run_grid(prep: _Prepared, priors: ModelPriors, grid: GridSpec,
              work: dict[str, FloatArray] | None = None) -> tuple[_GridEval, _Axis, _Axis | None]:
    """Coarse midpoint pass, then composite Gauss-Legendre passes where the mass is (the work
    arrays of the passes are reused: see :func:`_evaluate`)."""
    work = {} if work is None else work
    B = prep.y.shape[0]
    if priors.phi_fixed is not None:
        phi_ax = _Axis.midpoint(np.broadcast_to(priors.phi_fixed + np.array([-5e-4, 5e-4]), (B, 2)).copy())
    else:
        phi_ax = _Axis.midpoint(np.broadcast_to(
            np.linspace(priors.phi_low, priors.phi_high, grid.phi_coarse + 1), (B, grid.phi_coarse + 1)
        ).copy())
    z_ax = (_Axis.midpoint(np.linspace(-TAU_Z_BOUND, TAU_Z_BOUND, grid.tau_coarse + 1)[None])
            if priors.tau_fixed is None else None)
    ev = _evaluate(prep, priors, phi_ax, z_ax, grid.sigma_coarse, grid.sigma_halfwidth,
                   moments=grid.passes == 0, work=work)
    for i in range(grid.passes):
        w = np.subtract(ev.logw, ev.logw.max(axis=(1, 2, 3), keepdims=True), out=ev.logw)
        np.exp(w, out=w)
        if priors.phi_fixed is None:
            phi_ax = _composite(w.sum(axis=(2, 3)), phi_ax.edges, grid.pieces, grid.phi_per_piece,
                                grid.tail)
        if z_ax is not None:
            z_ax = _composite(w.sum(axis=(1, 3)), np.broadcast_to(z_ax.edges, (B, z_ax.edges.shape[1])),
                              grid.pieces, grid.tau_per_piece, grid.tail)
        ev = _evaluate(prep, priors, phi_ax, z_ax, grid.sigma_nodes, grid.sigma_halfwidth,
                       moments=i == grid.passes - 1, work=work)
    return ev, phi_ax, z_ax


def normalised_weights(logw: FloatArray) -> FloatArray:
    B = logw.shape[0]
    flat = logw.reshape(B, -1)
    w = np.subtract(flat, flat.max(axis=1, keepdims=True))
    np.exp(w, out=w)
    w /= w.sum(axis=1, keepdims=True)
    return w.reshape(logw.shape)
