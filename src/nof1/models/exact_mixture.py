"""Normal mixtures: the posterior of a contrast c'β under the exact engine
(:mod:`nof1.models.bayes_exact`) is a weighted sum of normals, one per (φ, τ, σ) node. CDF,
quantiles (safeguarded Newton / Halley on the mixture CDF) and the decision summaries.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from nof1.models.exact_model import FloatArray


def mixture_cdf(x: ArrayLike, w: FloatArray, m: FloatArray, s: FloatArray) -> FloatArray:
    """P(X <= x) for mixtures with weights/means/sds of shape (B, C) and x of shape (B,)."""
    x = np.asarray(x, dtype=float)
    return np.einsum("bc,bc->b", w, special.ndtr((x[:, None] - m) / s))


def mixture_quantile(
    p: float, w: FloatArray, m: FloatArray, s: FloatArray, *, x0: FloatArray | None = None,
    xtol: float = 1e-6, max_iter: int = 100
) -> FloatArray:
    """Quantile ``p`` of each mixture (rows of w, m, s; weights summing to 1).

    Safeguarded Newton on the mixture CDF from ``x0`` (default: the moment-matched normal
    quantile), falling back to bisection whenever a step leaves the current bracket. Stops for a
    row once a Newton step is smaller than ``xtol`` × its mixture sd (the step is applied, so
    by quadratic convergence the remaining error is of order xtol²).

    Example:
        >>> w = np.array([[0.5, 0.5]]); m = np.array([[-1.0, 1.0]]); s = np.ones((1, 2))
        >>> float(np.round(mixture_quantile(0.5, w, m, s), 12)[0])
        0.0
    """
    mean = np.einsum("bc,bc->b", w, m)
    sd = np.sqrt(np.maximum(np.einsum("bc,bc->b", w, s**2 + m**2) - mean**2, 1e-300))
    lo = np.min(m - 40.0 * s, axis=1)
    hi = np.max(m + 40.0 * s, axis=1)
    x = mean + sd * special.ndtri(p) if x0 is None else np.asarray(x0, dtype=float).copy()
    x = np.clip(x, lo, hi)
    rows = np.arange(x.size)
    inv_s = 1.0 / s
    ws = w * inv_s / math.sqrt(2.0 * math.pi)
    for _ in range(max_iter):
        if rows.size == 0:
            break
        sub = slice(None) if rows.size == x.size else rows  # no copies while every row is active
        xr = x[rows]
        z = (xr[:, None] - m[sub]) * inv_s[sub]
        F = np.einsum("bc,bc->b", w[sub], special.ndtr(z))
        z *= z
        z *= -0.5
        f = np.einsum("bc,bc->b", ws[sub], np.exp(z, out=z))
        err = F - p
        lo[rows] = np.where(err < 0, xr, lo[rows])
        hi[rows] = np.where(err > 0, xr, hi[rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            xn = xr - err / f
        bad = ~np.isfinite(xn) | (xn <= lo[rows]) | (xn >= hi[rows])
        xn = np.where(bad, 0.5 * (lo[rows] + hi[rows]), xn)
        exact = err == 0
        xn = np.where(exact, xr, xn)
        x[rows] = xn
        small = (np.abs(xn - xr) < xtol * sd[rows]) & ~bad
        narrow = hi[rows] - lo[rows] < 1e-12 * (1.0 + np.abs(xn))
        rows = rows[~(small | exact | narrow)]
    return x


def mixture_summaries(w: FloatArray, m: FloatArray, s: FloatArray, *, ci_level: float, better: str,
               mcid: float | None) -> dict[str, FloatArray | None]:
    """Exact summaries of one contrast from its mixture (w, m, s of shape (B, cells, S)).

    Quantiles are first located on the mixture with the σ nodes of each cell merged into one
    moment-matched normal (cheap), then polished by Newton steps on the full mixture.
    """
    B = w.shape[0]
    a = (1.0 - ci_level) / 2.0
    W = w.sum(axis=2)
    Wsafe = np.where(W > 0, W, 1.0)
    cm = np.einsum("bcs,bcs->bc", w, m) / Wsafe
    cs = np.sqrt(np.maximum(np.einsum("bcs,bcs->bc", w, s**2 + m**2) / Wsafe - cm**2, 1e-300))
    wf, mf, sf = w.reshape(B, -1), m.reshape(B, -1), s.reshape(B, -1)
    mean = np.einsum("bc,bc->b", wf, mf)
    sd = np.sqrt(np.maximum(np.einsum("bc,bc->b", wf, sf**2 + mf**2) - mean**2, 0.0))
    out: dict[str, FloatArray | None] = {}
    for name, p in (("estimate", 0.5), ("ci_low", a), ("ci_high", 1.0 - a)):
        x0 = mixture_quantile(p, W, cm, cs, xtol=1e-4)
        out[name] = mixture_quantile(p, wf, mf, sf, x0=x0, xtol=1e-5)
    out["posterior_mean"] = mean
    out["posterior_sd"] = sd
    # the one rule of the decision probabilities (nof1.analysis.effect), on the mixture's CDF
    from nof1.analysis.effect import decision_probabilities_from_cdf

    out.update(decision_probabilities_from_cdf(
        lambda xs: [mixture_cdf(np.full(B, x), wf, mf, sf) for x in xs], better, mcid))
    return out


_WORK = threading.local()


def _scratch(n_rows: int, n: int) -> FloatArray:
    """Work rows of length n kept between calls (per thread; grown as needed): a single fit's
    mixture has tens of thousands of components, and fresh arrays of that size cost more in page
    faults than the arithmetic on them. The caller owns the rows until its next call."""
    buf = getattr(_WORK, "buf", None)
    if buf is None or buf.shape[0] < n_rows or buf.shape[1] < n:
        buf = _WORK.buf = np.empty((n_rows, n))
    return buf[:n_rows, :n]


class _Mixture:
    """One mixture of C normals (w, m, s of shape (C,)) with the per-component terms of its CDF,
    density and density slope computed once, and work rows for ``rows`` points at a time (in
    ``work`` (5 + 2·rows, C) when given: see :func:`_scratch`)."""

    def __init__(self, w: FloatArray, m: FloatArray, s: FloatArray, rows: int = 3,
                 work: FloatArray | None = None) -> None:
        work = np.empty((5 + 2 * rows, w.size)) if work is None else work
        self.w, self.m, self.s = w, m, s
        # einsum, not BLAS: threaded BLAS calls on vectors cost milliseconds on a busy machine
        self.mean = float(np.einsum("c,c->", w, m))
        t = np.multiply(s, s, out=work[0])
        t += np.multiply(m, m, out=work[1])
        self.second = float(np.einsum("c,c->", w, t))
        self.sd = math.sqrt(max(self.second - self.mean**2, 1e-300))
        self.lo = float(np.min(np.subtract(m, np.multiply(s, 40.0, out=work[1]), out=work[0])))
        self.hi = float(np.max(np.add(m, work[1], out=work[0])))
        self.inv_s = np.divide(1.0, s, out=work[0])
        self.ws = np.multiply(w, self.inv_s, out=work[1])
        self.ws /= math.sqrt(2.0 * math.pi)
        self.m_s = np.multiply(m, self.inv_s, out=work[2])
        self.ws_2 = np.multiply(self.ws, self.inv_s, out=work[3])
        self.ws_2 *= self.inv_s
        self.ws_m = np.multiply(self.ws_2, m, out=work[4])
        self._z = work[5:5 + rows]
        self._f = work[5 + rows:5 + 2 * rows]

    def cdf(self, x: FloatArray) -> FloatArray:
        """P(X <= x) for each of the points x (P,)."""
        z = np.multiply.outer(x, self.inv_s, out=self._z[: x.size])
        z -= self.m_s
        return np.einsum("pc,c->p", special.ndtr(z, out=self._f[: x.size]), self.w)

    def quantiles(self, ps: FloatArray, x0: FloatArray, xtol: float, max_iter: int = 100) -> FloatArray:
        """Quantiles ``ps`` (P,) from ``x0`` (P,).

        The iteration of :func:`mixture_quantile` (a step safeguarded by a bracket, the same
        stopping rule) for several probabilities at once, with Halley's step (cubic convergence;
        the density's slope costs one more sum) in place of Newton's.
        """
        lo = np.full(ps.size, self.lo)
        hi = np.full(ps.size, self.hi)
        x = np.clip(np.asarray(x0, dtype=float), lo, hi)
        rows = np.arange(ps.size)
        for _ in range(max_iter):
            if rows.size == 0:
                break
            xr = x[rows]
            z = np.multiply.outer(xr, self.inv_s, out=self._z[: rows.size])
            z -= self.m_s
            F = np.einsum("pc,c->p", special.ndtr(z, out=self._f[: rows.size]), self.w)
            z *= z
            z *= -0.5
            np.exp(z, out=z)
            f = np.einsum("pc,c->p", z, self.ws)
            # f' = Σ w φ(z) (m − x)/s³ = Σ (ws·m/s²)·φ − x·Σ (ws/s²)·φ
            fp = np.einsum("pc,c->p", z, self.ws_m) - xr * np.einsum("pc,c->p", z, self.ws_2)
            err = F - ps[rows]
            lo[rows] = np.where(err < 0, xr, lo[rows])
            hi[rows] = np.where(err > 0, xr, hi[rows])
            with np.errstate(divide="ignore", invalid="ignore"):
                newton = err / f
                xn = xr - newton / (1.0 - 0.5 * newton * fp / f)
            # a step below the tolerance is taken even when rounding puts it on the bracket's end
            # (a converged step of less than an ulp); a larger step outside it is a bisection
            small = np.isfinite(xn) & (np.abs(xn - xr) < xtol * self.sd)
            bad = ~small & (~np.isfinite(xn) | (xn <= lo[rows]) | (xn >= hi[rows]))
            xn = np.where(bad, 0.5 * (lo[rows] + hi[rows]), xn)
            exact = err == 0
            xn = np.where(exact, xr, xn)
            x[rows] = xn
            narrow = hi[rows] - lo[rows] < 1e-12 * (1.0 + np.abs(xn))
            rows = rows[~(small | exact | narrow)]
        return x


def single_mixture_summaries(w: FloatArray, m: FloatArray, s: FloatArray, cell: NDArray[np.int64], *,
                       ci_level: float, better: str, mcid: float | None) -> dict[str, float | None]:
    """The summaries of :func:`mixture_summaries` for one mixture of C normals (w, m, s of shape (C,))
    whose components belong to (φ, τ) cells ``cell`` (C,).

    The quantiles are the roots of the mixture CDF to machine precision, as there: located on the
    mixture with the components of each cell merged into one moment-matched normal (a few thousand
    normals instead of tens of thousands), then polished on the full mixture until a step is below
    1e-6 posterior sd (Halley's cubic convergence: the error left is of order 1e-15 sd).
    """
    a = (1.0 - ci_level) / 2.0
    ps = np.array([0.5, a, 1.0 - a])
    work = _scratch(11, w.size)
    W = np.bincount(cell, weights=w)
    nz = W > 0
    W = W[nz]
    cm = np.bincount(cell, weights=np.multiply(w, m, out=work[0]))[nz] / W
    t = np.multiply(s, s, out=work[0])
    t += np.multiply(m, m, out=work[1])
    t *= w
    cs = np.sqrt(np.maximum(np.bincount(cell, weights=t)[nz] / W - cm * cm, 1e-300))
    merged = _Mixture(W, cm, cs)
    x = merged.quantiles(ps, merged.mean + merged.sd * special.ndtri(ps), xtol=1e-4)
    full = _Mixture(w, m, s, work=work)
    x = full.quantiles(ps, x, xtol=1e-6)
    mean = full.mean
    sd = math.sqrt(max(full.second - mean**2, 0.0))
    out: dict[str, float | None] = {"estimate": float(x[0]), "ci_low": float(x[1]),
                                    "ci_high": float(x[2]), "posterior_mean": mean, "posterior_sd": sd}
    # the one rule of the decision probabilities (nof1.analysis.effect); the three CDF values in
    # one evaluation of the full mixture
    from nof1.analysis.effect import decision_probabilities_from_cdf

    out.update(decision_probabilities_from_cdf(lambda xs: full.cdf(np.asarray(xs)), better, mcid))
    return out
