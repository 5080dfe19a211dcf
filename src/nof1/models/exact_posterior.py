"""The exact posterior of one series (:func:`fit_exact`, :class:`ExactPosterior`: summaries,
hyperparameters, draws) and the posterior predictive check of the residual autocorrelation
(see :mod:`nof1.models.bayes_exact`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nof1.constants import CI_LEVEL
from nof1.models.exact_grid import (
    SINGLE_GRID,
    GridSpec,
    cell_quantile,
    normalised_weights,
    prepare_series,
    run_grid,
)
from nof1.models.exact_mixture import mixture_cdf, mixture_summaries, single_mixture_summaries
from nof1.models.exact_model import FloatArray, ModelPriors, SeriesData


@dataclass
class ExactPosterior:
    """The exact posterior of one series: a weighted set of (φ, τ, σ) nodes with normal β.

    ``weights`` (C,), ``phi``, ``tau``, ``sigma`` (C,) node values, ``beta_mean`` (C, K),
    ``beta_cov`` (C, K, K); cell widths for φ and z = (log τ − log median)/sdlog; ``M`` the
    whitened cross products per (φ, τ) cell for drawing the nuisance terms.
    """

    data: SeriesData
    priors: ModelPriors
    weights: FloatArray
    phi: FloatArray
    tau: FloatArray
    sigma: FloatArray
    beta_mean: FloatArray
    beta_cov: FloatArray
    phi_edges: FloatArray
    z_edges: FloatArray | None
    cell_mass: FloatArray  # (nφ, nτ)
    M: FloatArray  # (nφ, nτ, q, q)
    sigma_step: float
    _cell_index: NDArray[np.int64] = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))

    # ------------------------------------------------------------------ contrasts
    def contrast_mixture(self, c: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(weights, means, sds) of the normal mixture of c'β."""
        c = np.asarray(c, dtype=float)
        m = np.einsum("ck,k->c", self.beta_mean, c)  # not BLAS (threads: slow on a busy machine)
        s = np.sqrt(np.einsum("ckl,k,l->c", self.beta_cov, c, c))
        return self.weights, m, s

    def summary(self, c: ArrayLike | None = None, *, ci_level: float = CI_LEVEL,
                better: Literal["lower", "higher"] = "lower", mcid: float | None = None
                ) -> dict[str, float | None]:
        """Median, equal-tailed interval, mean, sd and decision probabilities of c'β.

        Example:
            >>> post.summary(better="lower", mcid=1.0)["prob_negligible"]   # doctest: +SKIP
            0.07
        """
        c = np.eye(self.priors.n_treatments)[0] if c is None else np.asarray(c, dtype=float)
        w, m, s = self.contrast_mixture(c)
        if self._cell_index.size != w.size:  # no cell structure: the general path
            out = mixture_summaries(w[None, :, None], m[None, :, None], s[None, :, None],
                             ci_level=ci_level, better=better, mcid=mcid)
            return {k: (None if v is None else float(v[0])) for k, v in out.items()}
        return single_mixture_summaries(w, m, s, self._cell_index, ci_level=ci_level, better=better, mcid=mcid)

    def prob_below(self, c: ArrayLike, x: float) -> float:
        """P(c'β < x)."""
        w, m, s = self.contrast_mixture(c)
        return float(mixture_cdf(np.array([x]), w[None], m[None], s[None])[0])

    # ------------------------------------------------------------------ hyperparameters
    def phi_summary(self, ci_level: float = CI_LEVEL) -> dict[str, Any]:
        """Posterior median, equal-tailed interval and mean of φ."""
        if self.priors.phi_fixed is not None:
            f = float(self.priors.phi_fixed)
            return {"median": f, "ci": [f, f], "mean": f, "fixed": True}
        mass = self.cell_mass.sum(axis=1)[None]
        a = (1 - ci_level) / 2
        q = [float(cell_quantile(p, mass, self.phi_edges[None])[0]) for p in (0.5, a, 1 - a)]
        return {"median": q[0], "ci": [q[1], q[2]], "mean": float(self.weights @ self.phi),
                "fixed": False}

    def tau_summary(self, ci_level: float = CI_LEVEL) -> dict[str, Any]:
        """Posterior median and equal-tailed interval of τ (days); fixed τ is reported as such."""
        if self.z_edges is None:
            t = float(self.priors.tau_fixed or 0.0)
            return {"median": t, "ci": [t, t], "fixed": True}
        mass = self.cell_mass.sum(axis=0)[None]
        a = (1 - ci_level) / 2
        z = [float(cell_quantile(p, mass, self.z_edges[None])[0]) for p in (0.5, a, 1 - a)]
        t = [self.priors.tau_median * math.exp(self.priors.tau_sigma * v) for v in z]
        return {"median": t[0], "ci": [t[1], t[2]], "fixed": False}

    def sigma_summary(self, ci_level: float = CI_LEVEL) -> dict[str, Any]:
        """Posterior median and interval of σ (from the node mixture in log σ)."""
        order = np.argsort(self.sigma)
        cdf = np.cumsum(self.weights[order])
        a = (1 - ci_level) / 2
        q = [float(np.interp(p, cdf, self.sigma[order])) for p in (0.5, a, 1 - a)]
        return {"median": q[0], "ci": [q[1], q[2]]}

    # ------------------------------------------------------------------ draws
    def draws(self, n: int, seed: int | np.random.Generator | None = None) -> dict[str, FloatArray]:
        """Posterior draws (for plots and checks): nodes by weight, jittered within their cell,
        then β and the nuisance terms from their conditional normals at the node.

        Returns arrays ``beta`` (n, K), nuisance arrays (``alpha``, ``trend``, ``run_in_level``
        when present), ``phi``, ``tau``, ``sigma`` and the node values ``phi_node``, ``tau_node``.
        """
        rng = np.random.default_rng(seed)
        K, p_n = self.priors.n_treatments, self.data.nuisance().shape[1]
        idx = rng.choice(self.weights.size, size=n, p=self.weights / self.weights.sum())
        L = np.linalg.cholesky(self.beta_cov[idx] + 1e-300 * np.eye(K))
        beta = self.beta_mean[idx] + np.einsum("nkl,nl->nk", L, rng.standard_normal((n, K)))
        sig = self.sigma[idx]
        # nuisance | β, σ, cell: N(A_nn⁻¹(b_n − A_nβ β), σ² A_nn⁻¹)
        cell = self._cell_index[idx]
        Mc = self.M.reshape(-1, *self.M.shape[-2:])[cell]
        Ann = Mc[:, :p_n, :p_n]
        rhs = Mc[:, :p_n, -1] - np.einsum("nij,nj->ni", Mc[:, :p_n, p_n:p_n + K], beta)
        mean_n = np.linalg.solve(Ann, rhs[..., None])[..., 0]
        Ln = np.linalg.cholesky(np.linalg.inv(Ann))
        nuis = mean_n + sig[:, None] * np.einsum("nij,nj->ni", Ln, rng.standard_normal((n, p_n)))
        # jitter the hyperparameters within their cells (piecewise-constant density)
        fi, ti = np.divmod(cell, self.cell_mass.shape[1])
        phi = self.phi_edges[fi] + rng.uniform(size=n) * (self.phi_edges[fi + 1] - self.phi_edges[fi])
        if self.z_edges is None:
            tau = np.full(n, float(self.priors.tau_fixed or 0.0))
        else:
            z = self.z_edges[ti] + rng.uniform(size=n) * (self.z_edges[ti + 1] - self.z_edges[ti])
            tau = self.priors.tau_median * np.exp(self.priors.tau_sigma * z)
        sigma = sig * np.exp(self.sigma_step * (rng.uniform(size=n) - 0.5))
        out = {"beta": beta, "phi": phi, "tau": tau, "sigma": sigma,
               "phi_node": self.phi[idx], "tau_node": self.tau[idx], "sigma_node": sig}
        for j, name in enumerate(self.data.nuisance_names):
            out[name] = nuis[:, j]
        return out


def fit_exact(data: SeriesData, priors: ModelPriors, *, grid: GridSpec = SINGLE_GRID) -> ExactPosterior:
    """Exact posterior of one series (see the module docstring for the model).

    Example:
        >>> rng = np.random.default_rng(3)
        >>> u = np.repeat([0, 1, 0, 1], 14).astype(float)
        >>> d = SeriesData(y=2.0 + 1.5 * u + rng.normal(0, 1, 56), day=np.arange(1, 57), u=u[None])
        >>> post = fit_exact(d, ModelPriors.from_scale(10.0))
        >>> 1.0 < post.summary()["estimate"] < 2.2
        True
    """
    if priors.n_treatments != data.n_treatments:
        raise ValueError(f"priors describe {priors.n_treatments} treatments, data has {data.n_treatments}")
    p_n = len(data.nuisance_names)
    if data.n < p_n + 2:
        raise ValueError(f"too few observations ({data.n}) for the model")
    prep = prepare_series(data.y[None], data.day, data.u[None], trend=data.trend and data.n > 2,
                    run_in_days=data.run_in_days if data.has_run_in_level else 0,
                    covariates=None if data.covariates is None else data.covariates[None])
    ev, phi_ax, z_ax = run_grid(prep, priors, grid)
    w = normalised_weights(ev.logw)[0]  # (nφ, nτ, S)
    nphi, ntau, ns = w.shape
    phis = phi_ax.nodes[0]
    if z_ax is None:
        taus = np.full(ntau, float(priors.tau_fixed or 0.0))
    else:
        taus = priors.tau_median * np.exp(priors.tau_sigma * z_ax.nodes[0])
    K = data.n_treatments
    flat_w = w.reshape(-1)
    keep = np.flatnonzero(flat_w > 1e-12 * flat_w.max())
    cell_index = keep // ns
    sig = ev.sigma[0].reshape(-1)
    kept_w = flat_w[keep]
    nu = max(data.n - p_n - K, 1.0)
    step = (1.0 / math.sqrt(2.0 * nu)) * (2.0 * grid.sigma_halfwidth / max(grid.sigma_nodes - 1, 1))
    return ExactPosterior(
        data=data,
        priors=priors,
        weights=kept_w / kept_w.sum(),
        phi=np.repeat(phis, ntau)[cell_index],
        tau=np.tile(taus, nphi)[cell_index],
        sigma=sig[keep],
        beta_mean=ev.beta_mean[0].reshape(-1, K)[keep],
        beta_cov=ev.beta_cov[0].reshape(-1, K, K)[keep],
        phi_edges=phi_ax.edges[0],
        z_edges=None if z_ax is None else z_ax.edges[0],
        cell_mass=w.sum(axis=2),
        M=ev.M[0],
        sigma_step=step,
        _cell_index=cell_index,
    )


# =========================================================================== posterior predictive check
def _lag1(r: FloatArray, pairs: NDArray[np.bool_]) -> FloatArray:
    """Lag-1 autocorrelation of each row of ``r`` over consecutive-day pairs (``pairs`` marks
    observations whose predecessor is the previous calendar day)."""
    c = r - r.mean(axis=1, keepdims=True)
    num = (c[:, 1:] * c[:, :-1])[:, pairs[1:]].mean(axis=1)
    den = (c * c).mean(axis=1)
    return num / np.where(den > 0, den, np.nan)


def residual_lag1_check(data: SeriesData, draws: dict[str, FloatArray], seed: int | None = None,
                        n: int = 1000) -> dict[str, Any]:
    """Posterior predictive check of the residual lag-1 autocorrelation.

    For each posterior draw θ: the observed statistic is the lag-1 autocorrelation (over pairs of
    consecutive calendar days) of the residuals y − μ(θ); the replicated one is the same statistic
    of AR(1)-with-gaps errors simulated with that draw's φ and σ. The two-sided predictive p-value
    2·min(P(T_rep >= T_obs), P(T_rep <= T_obs)) is small when the errors are more (or less)
    autocorrelated than the AR(1) model allows, or when the mean model (e.g. the carryover) is
    wrong and leaves structure in the residuals.

    ``draws`` holds ``beta`` (m, K), the nuisance terms by name, ``phi``, ``sigma`` and ``tau``.

    Example:
        >>> u = np.repeat([0, 1, 0, 1], 14).astype(float)
        >>> d = SeriesData(y=np.random.default_rng(0).normal(size=56), day=np.arange(1, 57), u=u[None])
        >>> post = fit_exact(d, ModelPriors.from_scale(10.0, tau_fixed=0.0))
        >>> 0 <= residual_lag1_check(d, post.draws(500, 1), seed=1)["p_value"] <= 1
        True
    """
    rng = np.random.default_rng(seed)
    m = draws["phi"].shape[0]
    idx = rng.choice(m, size=min(n, m), replace=False) if m > n else np.arange(m)
    k = idx.size
    gaps = data.gaps
    pairs = gaps == 1
    if pairs[1:].sum() < 3:
        return {"statistic": "residual lag-1 autocorrelation", "p_value": None,
                "reason": "fewer than 3 pairs of consecutive observed days"}
    phi, sigma = draws["phi"][idx], draws["sigma"][idx]
    tau = draws.get("tau_node", draws["tau"])[idx]
    beta = draws["beta"][idx]
    nuis = data.nuisance()
    mu = np.zeros((k, data.n))
    for j, name in enumerate(data.nuisance_names):
        mu += draws[name][idx][:, None] * nuis[:, j]
    utau = np.unique(tau)
    if utau.size <= 64:
        x = data.exposure(utau)  # (T, n, K)
        pos = np.searchsorted(utau, tau)
        mu += np.einsum("dnk,dk->dn", x[pos], beta)
    else:
        mu += np.einsum("dnk,dk->dn", data.exposure(tau), beta)
    t_obs = _lag1(data.y[None, :] - mu, pairs)
    rho = np.power(phi[:, None], gaps[None, 1:].astype(float))
    e = np.empty((k, data.n))
    e[:, 0] = rng.standard_normal(k)
    z = rng.standard_normal((k, data.n - 1))
    for i in range(1, data.n):
        r = rho[:, i - 1]
        e[:, i] = r * e[:, i - 1] + np.sqrt(1.0 - r * r) * z[:, i - 1]
    t_rep = _lag1(sigma[:, None] * e, pairs)
    ok = np.isfinite(t_obs) & np.isfinite(t_rep)
    p_hi = float(np.mean(t_rep[ok] >= t_obs[ok]))
    p_lo = float(np.mean(t_rep[ok] <= t_obs[ok]))
    return {
        "statistic": "residual lag-1 autocorrelation",
        "observed": float(np.mean(t_obs[ok])),
        "predicted": float(np.mean(t_rep[ok])),
        "predicted_interval": [float(np.quantile(t_rep[ok], 0.025)), float(np.quantile(t_rep[ok], 0.975))],
        "p_value": min(1.0, 2.0 * min(p_hi, p_lo)),
    }
