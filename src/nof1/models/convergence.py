"""MCMC convergence diagnostics: rank-normalised split R-hat, bulk and tail ESS.

A vectorised re-implementation of ``arviz_stats.rhat`` (default ``method="rank"``) and
``arviz_stats.ess`` (``method="bulk"`` and ``method="tail"``), following Vehtari, Gelman,
Simpson, Carpenter and Bürkner (2021), "Rank-normalization, folding, and localization: an
improved R-hat for assessing convergence of MCMC", Bayesian Analysis 16(2). It reproduces
arviz_stats 1.x step by step (the tests compare the two to a relative 1e-10), but imports only
numpy and the standard library: importing arviz_stats costs about a second per process (it
loads scipy.stats and its LOO module), and even ``scipy.special`` costs a third of a second.

Every function takes draws of shape ``(chains, draws, *rest)`` and returns an array of shape
``rest`` (a float when ``rest`` is empty), computing all trailing elements at once.

The computation, as in arviz_stats:

* **Split chains.** Each chain is cut into a first and a last half of ``draws // 2`` draws;
  with an odd number of draws the middle draw is dropped.
* **Rank normalisation.** Average ranks ``r`` (ties share the mean of their ranks) over all
  split draws of one element, then ``z = Φ⁻¹((r − 3/8) / (S + 1/4))``, S the number of split
  draws. Φ⁻¹ is evaluated once per possible rank with :meth:`statistics.NormalDist.inv_cdf`
  (Wichura's AS241, accurate to about 1e-16 relative; arviz uses ``scipy.stats.norm.ppf``,
  the Cephes ``ndtri``: the two agree to a few units in the last place).
* **R-hat** = max(bulk, folded): the classic R-hat (within-chain variances with ddof 1,
  ``sqrt((B/W + n − 1) / n)``) of the rank-normalised split chains, and of the rank-normalised
  ``|x − median(x)|`` (the median over all split draws).
* **ESS** of a (split) array: autocovariances by FFT (zero-padded to the next 5-smooth length
  ≥ 2n, divided by n), Geyer's initial positive sequence over pairs of autocorrelations (at
  most lags up to n − 2), then the initial monotone sequence, ``τ = −1 + 2 Σρ + ρ_last``
  bounded below by ``1 / log10(S)``, and ESS = S / τ. The bulk ESS is that of the
  rank-normalised split chains; the tail ESS is the smaller ESS of the split indicators
  ``x ≤ q`` for the quantiles q at ``(1 − prob)`` and ``prob`` of the unsplit draws.

Degenerate input, as in arviz_stats (nothing is raised and no warning is emitted):

* any NaN among an element's draws → NaN for R-hat and both ESS;
* fewer than 4 draws → NaN; R-hat with fewer than 2 chains → NaN;
* constant draws → R-hat NaN (0/0 between/within variance), ESS = the number of split draws
  ``chains * 2 * (draws // 2)`` (arviz returns the array size when the values span less than
  ``np.finfo(float).resolution``, 1e-15; the same rule applies to the tail indicators, so an
  element whose tail indicators are constant gets that ESS too);
* ±inf draws are ranked like any other value (infinities tie with each other). When more
  than half of an element's draws are infinite its folded values are NaN and, as in
  arviz (Python's ``max`` with a NaN second argument), R-hat is the bulk R-hat alone.

Example:
    >>> import numpy as np
    >>> from nof1.models.convergence import ess_bulk, ess_tail, rhat
    >>> draws = np.random.default_rng(1).normal(size=(4, 1000, 3))    # chains, draws, params
    >>> rhat(draws).shape, bool(np.all(rhat(draws) < 1.01))
    ((3,), True)
    >>> bool(np.all(ess_bulk(draws) > 3000)), bool(np.all(ess_tail(draws) > 2000))
    (True, True)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["ess_bulk", "ess_tail", "rhat", "TAIL_PROB"]

#: ``prob`` of :func:`ess_tail` by default: the quantiles at 0.11 and 0.89. It is what
#: ``arviz_stats.ess(dataset, method="tail")`` uses (``rcParams["stats.ci_prob"]``); Stan and
#: ArviZ 0.x use the 5% and 95% quantiles (``prob=(0.05, 0.95)``).
TAIL_PROB: float = 0.89

_MIN_DRAWS = 4
_RESOLUTION = float(np.finfo(float).resolution)  # arviz's "constant array" threshold, 1e-15


# ============================================================================= helpers
def _as_elements(x: ArrayLike) -> tuple[NDArray[np.floating], tuple[int, ...]]:
    """(chains, draws, *rest) draws → (elements, chains, draws) array and ``rest``."""
    a = np.asarray(x)
    if a.ndim < 2:
        raise ValueError(f"draws must have shape (chains, draws, ...), got shape {a.shape}")
    if a.dtype.kind != "f":  # integers and booleans, as arviz's float conversions do
        a = a.astype(np.float64)
    rest = a.shape[2:]
    a = np.moveaxis(a.reshape(a.shape[0], a.shape[1], math.prod(rest)), 2, 0)
    return np.ascontiguousarray(a), rest


def _finish(out: NDArray[np.float64], rest: tuple[int, ...]) -> NDArray[np.float64] | float:
    return float(out[0]) if rest == () else out.reshape(rest)


def _valid(a: NDArray[np.floating], min_chains: int) -> NDArray[np.bool_]:
    """Elements arviz computes: enough chains and draws, and no NaN."""
    if a.shape[1] < min_chains or a.shape[2] < _MIN_DRAWS:
        return np.zeros(a.shape[0], dtype=bool)
    return ~np.isnan(a).any(axis=(1, 2))


def _split(a: NDArray[Any]) -> NDArray[Any]:
    """Each chain → its first and last ``draws // 2`` draws, as separate chains."""
    half = a.shape[2] // 2
    return np.concatenate((a[:, :, :half], a[:, :, a.shape[2] - half:]), axis=1)


@functools.lru_cache(maxsize=16)
def _normal_scores(size: int, dtype: np.dtype[Any]) -> NDArray[np.float64]:
    """Φ⁻¹((r − 3/8) / (size + 1/4)) for r = 1, 1.5, 2, …, size (index 2r − 2).

    The probabilities and the scores are rounded to ``dtype`` as in arviz, whose ranks
    (scipy's ``rankdata``) keep the floating type of the draws, float32 included, and whose
    ``norm.ppf`` then evaluates ``ndtri`` in that type (float32 for float16).
    """
    ranks = ((np.arange(2 * size - 1) + 2.0) / 2.0).astype(dtype)
    c = 3 / 8
    p = (ranks - c) / (size - 2 * c + 1)  # the expression of arviz's _backtransform_ranks
    inv = NormalDist().inv_cdf
    # p reaches 1 only when rounded to float16; ndtri(1) = inf
    scores = np.array([inv(v) if 0.0 < v < 1.0 else math.copysign(math.inf, v - 0.5)
                       for v in p.tolist()])
    return scores.astype(np.promote_types(dtype, np.float32)).astype(np.float64)  # ndtri's loop


def _z_scale(a: NDArray[np.floating]) -> NDArray[np.float64]:
    """Rank-normalise each element over all its (chains × draws) values.

    Average ranks for ties; NaN values stay NaN and are left out of the ranking (scipy's
    ``rankdata(nan_policy="omit")``), while the normalising size counts them (arviz).
    """
    n_el = a.shape[0]
    flat = a.reshape(n_el, -1)
    size = flat.shape[1]
    scores = _normal_scores(size, flat.dtype)
    order = np.argsort(flat, axis=1)  # NaN last; ties need no stable order
    srt = np.take_along_axis(flat, order, axis=1)
    z_sorted = np.broadcast_to(scores[::2], (n_el, size))  # no ties: rank = position + 1
    # ties, sparse: p = row * size + i for each sorted pair srt[i] == srt[i + 1] (NaN never
    # ties); a run of consecutive p is one tie block, from its first p to its last p + 1
    rows_t, cols_t = np.nonzero(srt[:, 1:] == srt[:, :-1])
    nan_rows = np.flatnonzero(np.isnan(srt[:, -1]))
    if rows_t.size or nan_rows.size:
        z_sorted = z_sorted.copy()
    if rows_t.size:
        p = rows_t * size + cols_t
        new_run = np.ones(p.size, dtype=bool)
        new_run[1:] = np.diff(p) != 1
        run = np.cumsum(new_run) - 1
        first = cols_t[new_run]
        last = np.append(cols_t[np.flatnonzero(new_run)[1:] - 1], cols_t[-1]) + 1
        # a tie block's average rank is r = (first + last) / 2 + 1: the table index 2r − 2
        value = scores[first + last][run]
        flat_z = z_sorted.reshape(-1)
        flat_z[p] = value
        flat_z[p + 1] = value
    if nan_rows.size:
        sub = z_sorted[nan_rows]
        sub[np.isnan(srt[nan_rows])] = np.nan
        z_sorted[nan_rows] = sub
    z = np.empty((n_el, size))
    np.put_along_axis(z, order, z_sorted, axis=1)
    return z.reshape(a.shape)


def _rhat_classic(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """sqrt((B/W + n − 1) / n) of (elements, chains, n) draws."""
    n = z.shape[2]
    chain_mean = np.mean(z, axis=2)
    chain_var = np.var(z, axis=2, ddof=1)
    between = n * np.var(chain_mean, axis=1, ddof=1)
    within = np.mean(chain_var, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((between / within + n - 1) / n)


def _next_fast_len(target: int) -> int:
    """The smallest 5-smooth number ≥ target (``scipy.fftpack.next_fast_len``)."""
    n = max(int(target), 1)
    while True:
        m = n
        for f in (2, 3, 5):
            while m % f == 0:
                m //= f
        if m == 1:
            return n
        n += 1


def _autocov(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Autocovariances at every lag along the last axis (FFT; divided by n, as arviz)."""
    n = a.shape[-1]
    m = _next_fast_len(2 * n)
    centred = a - a.mean(axis=-1, keepdims=True)
    spec = np.fft.rfft(centred, n=m, axis=-1)
    spec *= np.conjugate(spec)
    cov = np.fft.irfft(spec, n=m, axis=-1)[..., :n]
    cov /= n
    return cov


def _ess_split(a: NDArray[Any]) -> NDArray[np.float64]:
    """ESS of (elements, chains, n) already split draws (arviz's ``_ess``)."""
    a = np.asarray(a, dtype=np.float64)
    n_el, n_chain, n = a.shape
    total = n_chain * n
    out = np.full(n_el, float(total))
    live = ~((a.max(axis=(1, 2)) - a.min(axis=(1, 2))) < _RESOLUTION)
    if not live.any():
        return out
    a = a[live]
    k = a.shape[0]
    acov = _autocov(a)  # (k, chains, n)
    chain_mean = a.mean(axis=2)
    mean_var = np.mean(acov[:, :, 0], axis=1) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    var_plus += np.var(chain_mean, axis=1, ddof=1)  # always ≥ 2 chains after splitting
    acov_mean = np.ascontiguousarray(acov.transpose(0, 2, 1)).mean(axis=2)  # (k, lags)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1.0 - (mean_var[:, None] - acov_mean) / var_plus[:, None]
    rho[:, 0] = 1.0
    # Geyer's initial positive sequence on pairs (rho[2j], rho[2j+1]): arviz visits pairs
    # j = 1..n_pairs while every earlier pair sum is > 0, and keeps the last visited pair
    # only when its sum is ≥ 0.
    n_pairs = max((n - 3) // 2, 0)
    pair = rho[:, 0:2 * n_pairs + 1:2] + rho[:, 1:2 * n_pairs + 2:2]  # (k, n_pairs + 1)
    positive = np.zeros((k, n_pairs + 1), dtype=bool)
    positive[:, :n_pairs] = pair[:, :n_pairs] > 0
    stop = np.argmin(positive, axis=1)  # the last visited pair: the first one not > 0
    rows = np.arange(k)
    # Geyer's initial monotone sequence: the running minimum of the pair sums before it
    mono = np.minimum.accumulate(pair, axis=1)
    before = np.arange(n_pairs + 1)[None, :] < stop[:, None]
    body = np.sum(np.where(before, mono, 0.0), axis=1)
    even = rho[rows, 2 * stop]
    kept = (pair[rows, stop] >= 0) | (even > 0)
    last = np.where(stop == 0, 1.0, np.where(kept, even, 0.0))
    tau = -1.0 + 2.0 * body + last
    tau = np.maximum(tau, 1 / np.log10(total))
    ess = total / tau
    ess[np.isnan(rho[:, 1])] = np.nan
    out[live] = ess
    return out


# ============================================================================= public API
def rhat(x: ArrayLike) -> NDArray[np.float64] | float:
    """Rank-normalised split R-hat: ``arviz_stats.rhat(x)`` (``method="rank"``).

    Args:
        x: draws, shape ``(chains, draws, *rest)``.

    Returns:
        R-hat per trailing element, shape ``rest`` (a float for 2-D ``x``): the larger of the
        bulk (rank-normalised) and folded split R-hat. NaN with fewer than 2 chains or 4
        draws, for constant draws, and for elements with any NaN draw.
    """
    a, rest = _as_elements(x)
    out = np.full(a.shape[0], np.nan)
    ok = _valid(a, min_chains=2)
    if ok.any():
        split = _split(a[ok])
        bulk = _rhat_classic(_z_scale(split))
        with np.errstate(invalid="ignore"):
            folded = np.abs(split - np.median(split, axis=(1, 2), keepdims=True))
        tail = _rhat_classic(_z_scale(folded))
        out[ok] = np.where(tail > bulk, tail, bulk)  # Python's max(bulk, tail), NaN included
    return _finish(out, rest)


def ess_bulk(x: ArrayLike) -> NDArray[np.float64] | float:
    """Bulk effective sample size: ``arviz_stats.ess(x, method="bulk")``.

    Args:
        x: draws, shape ``(chains, draws, *rest)``; one chain is enough.

    Returns:
        ESS of the rank-normalised split chains, shape ``rest`` (a float for 2-D ``x``). NaN
        with fewer than 4 draws or any NaN draw; ``chains * 2 * (draws // 2)`` for constant
        draws.
    """
    a, rest = _as_elements(x)
    out = np.full(a.shape[0], np.nan)
    ok = _valid(a, min_chains=1)
    if ok.any():
        out[ok] = _ess_split(_z_scale(_split(a[ok])))
    return _finish(out, rest)


def ess_tail(x: ArrayLike, prob: float | Sequence[float] = TAIL_PROB
             ) -> NDArray[np.float64] | float:
    """Tail effective sample size: ``arviz_stats.ess(x, method="tail", prob=prob)``.

    Args:
        x: draws, shape ``(chains, draws, *rest)``; one chain is enough.
        prob: a float p for the quantiles ``1 − p`` and ``p`` (the default 0.89 is what
            arviz_stats uses on a Dataset or DataTree), or a (low, high) pair of quantiles,
            e.g. ``(0.05, 0.95)`` for Stan's definition.

    Returns:
        The smaller ESS of the split indicators ``x ≤ quantile`` at the two quantiles of all
        the draws, shape ``rest`` (a float for 2-D ``x``). NaN with fewer than 4 draws or any
        NaN draw; ``chains * 2 * (draws // 2)`` for constant draws.
    """
    low, high = (sorted((prob, 1 - prob)) if not isinstance(prob, Sequence) else prob)
    a, rest = _as_elements(x)
    out = np.full(a.shape[0], np.nan)
    ok = _valid(a, min_chains=1)
    if ok.any():
        b = a[ok]
        flat = b.reshape(b.shape[0], -1)
        ess = []
        for p in (low, high):
            with np.errstate(invalid="ignore"):  # inf draws: inf − inf in the interpolation
                q = np.quantile(flat, p, axis=1)
            ess.append(_ess_split(_split(b <= q[:, None, None])))
        out[ok] = np.where(ess[1] < ess[0], ess[1], ess[0])  # Python's min(low, high)
    return _finish(out, rest)
