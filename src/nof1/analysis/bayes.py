"""The ``bayes`` method: Bayesian effect estimates with honest uncertainty.

Continuous daily outcomes use the model of :mod:`nof1.models.bayes_exact`::

    y_t = α + Σ_k β_k·x_kt(τ) + [γ·trend_t] + [δ·run-in_t] + e_t,   e stationary AR(1) (φ, σ)

on the calendar-day index (unlogged days are gaps: correlation φ^gap), with x_k the first-order
onset/decay exposure to treatment k computed day by day from what was *taken*. β_k is the
steady-state effect of treatment k minus control. ``analysis.carryover``: ``model`` — τ has the
protocol's log-normal prior (``analysis.tau_prior``); ``exclude`` — washout days are dropped and
τ = 0; ``none`` — τ = 0 on every day. The trend term is on for trials longer than 12 weeks unless
``analysis.trend`` says otherwise; run-in days (if logged) inform φ and σ with their own level.

Priors (``analysis.prior``; stated in ``extras['prior']``): β ~ Normal(effect_mean, sd²) with
sd = range/4 (weakly informative) or mcid (``kind: sceptical``, centred on no effect), *not*
scaled by σ; σ ~ HalfNormal(range/4); φ ~ Uniform(−0.5, 0.95); level, trend, run-in level flat.
Without a range the scale is 10 × mcid, else 4 × the sd of the observed values (said so).

Engines (option ``engine``): ``exact`` (default) — quadrature over (φ, τ, σ), closed form
otherwise; ``pymc`` — the same model sampled by NUTS, with r-hat/ESS/divergence checks. Both
report the posterior median, an equal-tailed interval, P(benefit), P(meaningful benefit/harm),
P(|effect| ≤ mcid) (:mod:`nof1.analysis.effect`), summaries of τ and φ and a posterior predictive check of the residual lag-1
autocorrelation. ``MethodResult.fit`` is a :class:`BayesFit` (posterior as an ArviZ DataTree,
``save``/:func:`load_fit`).

Ordinal, count and binary outcomes are dispatched to
:func:`nof1.analysis.discrete_bayes.fit_bayes_discrete`, and weekly/sparse continuous outcomes (at most
two measurements per period, where onset cannot be identified) to
:func:`nof1.analysis.discrete_periods.fit_period_level`.

Example:
    >>> import nof1
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")              # doctest: +SKIP
    >>> td = nof1.read_log("data/sample/beetroot_log.csv", p)                    # doctest: +SKIP
    >>> r = nof1.analyze(td, methods=["bayes"], seed=1).get("severity", "bayes")  # doctest: +SKIP
    >>> r.estimate, r.extras["prob_meaningful_benefit"], r.extras["tau"]         # doctest: +SKIP
    >>> r.fit.save("severity.nc")                                                # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nof1._version import __version__
from nof1.analysis.base import Contrast, MethodResult, register_method
from nof1.analysis.classical import trend_on as _trend_on
from nof1.constants import CI_LEVEL
from nof1.jsonsafe import json_safe
from nof1.models.bayes_exact import (
    ModelPriors,
    SeriesData,
    contrast_vector,
    fit_exact,
    residual_lag1_check,
)

if TYPE_CHECKING:
    import xarray as xr

    from nof1.data import TrialData
    from nof1.protocol import Outcome, Protocol

__all__ = [
    "BayesFit",
    "bayes",
    "load_fit",
    "model_priors",
    "series_data",
]

#: Posterior draws kept for plots and checks (exact engine).
EXACT_DRAWS: int = 4000
#: Fewest observed days per compared condition.
MIN_DAYS_PER_CONDITION: int = 3
#: PyMC defaults.
PYMC_DRAWS, PYMC_TUNE, PYMC_CHAINS = 1000, 1000, 2
#: Predictive p-value below which the residual autocorrelation check is flagged.
PPC_ALERT: float = 0.05

# One fit per outcome serves every contrast of an ``analyze`` call (which derives a different seed
# for each contrast): a cached fit is reused for a contrast it has not served yet, or when the
# seed is the same; asking again for a contrast it already served, with another seed, refits.
_FIT_CACHE: OrderedDict[tuple, tuple[BayesFit, int, set[Contrast]]] = OrderedDict()
_FIT_CACHE_SIZE = 16


# =========================================================================== priors and data
def _scale_width(outcome: Outcome, y: NDArray[np.float64] | None) -> tuple[float, str]:
    """Plausible spread of the outcome (the range width) and where it came from."""
    r = outcome.value_range
    if r is not None and math.isfinite(r[1] - r[0]):
        return float(r[1] - r[0]), f"the outcome's range [{r[0]:g}, {r[1]:g}]"
    if outcome.mcid is not None:
        return 10.0 * float(outcome.mcid), f"10 x mcid ({outcome.mcid:g}; the outcome has no range)"
    if y is not None and np.size(y) >= 2 and float(np.std(y)) > 0:
        return 4.0 * float(np.std(y, ddof=1)), "4 x the sd of the observed values (no range, no mcid)"
    raise ValueError(f"outcome '{outcome.name}' has no range, no mcid and too few values to scale the priors")


def model_priors(protocol: Protocol, outcome: Outcome, n_treatments: int | None = None, *,
                 y: NDArray[np.float64] | None = None, carryover: str | None = None) -> ModelPriors:
    """The priors of the ``bayes`` analysis of one outcome (protocol's ``analysis.prior``/``tau_prior``).

    Example:
        >>> p = Protocol.model_validate({...})                         # doctest: +SKIP
        >>> model_priors(p, p.primary).effect_sd                       # doctest: +SKIP
        (2.5,)
    """
    a = protocol.analysis
    k = len(protocol.treatments) if n_treatments is None else n_treatments
    width, _ = _scale_width(outcome, y)
    mode = a.carryover if carryover is None else carryover
    ev = a.prior.evidence.get(outcome.name)  # an evidence prior replaces the effect prior
    return ModelPriors.from_scale(
        width, k, kind=a.prior.kind, mcid=outcome.mcid,
        effect_mean=a.prior.effect_mean if ev is None else ev.effect_mean,
        effect_sd=a.prior.effect_sd if ev is None else ev.effect_sd, sigma_scale=a.prior.sigma_scale,
        tau_median=a.tau_prior.median, tau_sigma=a.tau_prior.sigma,
        tau_fixed=None if mode == "model" else 0.0,
    )


def series_data(trial_data: TrialData, outcome: Outcome | str, *, carryover: str | None = None,
                washout_days: int | None = None, trend: bool | str | None = None,
                adjust_for: list[str] | tuple[str, ...] = ()
                ) -> tuple[SeriesData, dict[str, Any]]:
    """The arrays of one outcome for the continuous model, and facts about them.

    ``u`` marks, for every calendar day (run-in included, where it is 0), which treatment was
    taken (``condition_taken``); ``carryover='exclude'`` drops the first ``washout_days`` days of
    every period. The info dict has ``treatments``, ``control``, ``carryover``, ``washout_days``,
    ``days_by_condition`` (observed days used, per condition taken) and ``trend``.
    """
    protocol = trial_data.protocol
    o = protocol.outcome(outcome) if isinstance(outcome, str) else outcome
    mode = protocol.analysis.carryover if carryover is None else carryover
    if mode not in ("model", "exclude", "none"):
        raise ValueError(f"carryover must be model, exclude or none, got {mode!r}")
    treatments = list(protocol.treatments)
    data = trial_data.data
    days = data["day"].to_numpy(dtype=np.int64)
    if not np.array_equal(days, np.arange(1, days.size + 1)):
        raise ValueError("the trial data must have one row per calendar day (a single participant)")
    taken = data["condition_taken"].astype(object).to_numpy()
    u = np.stack([(taken == t).astype(float) for t in treatments])
    frame = trial_data.outcome_frame(o.name, include_run_in=True)
    washout = int(protocol.design.washout_days if washout_days is None else washout_days)
    keep = np.ones(len(frame), dtype=bool)
    if mode == "exclude" and washout > 0:
        keep = ~((frame["period"].to_numpy() > 0) & (frame["day_in_period"].to_numpy() <= washout))
    frame = frame[keep]
    covariates = None
    n_missing_cov = 0
    if adjust_for:
        from nof1.analysis.covariates import covariate_matrix

        z = covariate_matrix(trial_data, list(adjust_for), frame["day"].to_numpy())
        ok = np.isfinite(z).all(axis=1)
        n_missing_cov = int((~ok).sum())
        frame, covariates = frame[ok], z[ok]
    y = frame["y"].to_numpy(dtype=float)
    day = frame["day"].to_numpy(dtype=np.int64)
    run_in = int(protocol.design.run_in_days)
    trial_rows = frame["period"].to_numpy() > 0
    cond = frame["condition"].astype(object).to_numpy()
    counts = {c: int(np.sum(trial_rows & (cond == c))) for c in protocol.conditions}
    series = SeriesData(y=y, day=day, u=u, trend=_trend_on(protocol, trend), run_in_days=run_in,
                        covariates=covariates, covariate_names=tuple(adjust_for))
    info = {"treatments": treatments, "control": protocol.control, "carryover": mode,
            "washout_days": washout if mode == "exclude" else 0, "days_by_condition": counts,
            "trend": series.trend, "run_in_days_used": int(np.sum(day <= run_in)),
            "adjusted_for": list(adjust_for), "days_without_covariate": n_missing_cov}
    return series, info


# =========================================================================== the fit object
@dataclass
class BayesFit:
    """A fitted continuous Bayesian model of one outcome (all contrasts of that outcome).

    ``posterior`` is an ``xarray.DataTree`` (ArviZ 1.x): group ``posterior`` (``beta`` by
    treatment, ``effect`` of this view's contrast, nuisance terms, ``phi``, ``tau``, ``sigma``),
    for PyMC also ``sample_stats`` and ``observed_data``; for the exact engine the group
    ``exact_mixture`` holds the normal-mixture representation (weights, means, covariances) from
    which every summary is computed exactly, also after :func:`load_fit`.

    Example:
        >>> fit = res.get("severity", "bayes").fit        # doctest: +SKIP
        >>> fit.effect_draws().mean(), fit.fitted_mean().head()   # doctest: +SKIP
        >>> fit.save("severity.nc"); load_fit("severity.nc").summary()   # doctest: +SKIP
    """

    tree: xr.DataTree
    engine: str
    outcome: str
    treatments: list[str]
    control: str
    contrast: Contrast
    attrs: dict[str, Any] = field(default_factory=dict)
    data: SeriesData | None = None

    # ------------------------------------------------------------------ contrasts
    def _cvec(self, contrast: Contrast | str | None = None) -> NDArray[np.float64]:
        if isinstance(contrast, str):  # a label such as "B-A" (treatment minus control)
            t, sep, c = contrast.partition("-")
            if not sep:
                raise KeyError(f"contrast label '{contrast}' is not of the form 'B-A'")
            contrast = (t, c)
        t, c = self.contrast if contrast is None else contrast
        idx = {k: i for i, k in enumerate(self.treatments)}
        for key in (t, c):
            if key not in idx and key != self.control:
                raise KeyError(f"condition '{key}' is not in this fit ({[self.control, *self.treatments]})")
        return contrast_vector(len(self.treatments), idx.get(t), idx.get(c))

    def for_contrast(self, contrast: Contrast) -> BayesFit:
        """The same fit viewed for another contrast (shares the posterior)."""
        return replace(self, contrast=contrast)

    @property
    def posterior(self) -> xr.DataTree:
        """The DataTree, with ``posterior.effect`` = this view's contrast."""
        import xarray as xr

        post = self.tree["posterior"].to_dataset()
        effect = xr.DataArray(self._cvec(), dims=("treatment",)).dot(post["beta"])
        post = post.assign(effect=effect)
        post["effect"].attrs["contrast"] = f"{self.contrast[0]} minus {self.contrast[1]}"
        groups = {"/": self.tree.to_dataset(), "posterior": post}
        for name, node in self.tree.children.items():
            if name != "posterior":
                groups[name] = node.to_dataset()
        return xr.DataTree.from_dict(groups)

    def effect_draws(self, contrast: Contrast | str | None = None) -> NDArray[np.float64]:
        """Posterior draws of the effect (treatment minus control) of a contrast.

        ``contrast`` is a ``(treatment, control)`` tuple or a label such as ``"B-A"``.
        """
        beta = np.asarray(self.tree["posterior"]["beta"].values, dtype=float)
        return (beta.reshape(-1, beta.shape[-1]) @ self._cvec(contrast)).ravel()

    def _mixture(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]] | None:
        if "exact_mixture" not in self.tree.children:
            return None
        g = self.tree["exact_mixture"]
        return (np.asarray(g["weight"].values, dtype=float), np.asarray(g["beta_mean"].values, dtype=float),
                np.asarray(g["beta_cov"].values, dtype=float))

    def summary(self, contrast: Contrast | None = None, *, ci_level: float | None = None,
                better: str | None = None, mcid: float | None = None) -> dict[str, float | None]:
        """Median, equal-tailed interval, mean, sd and decision probabilities of a contrast.

        Exact (mixture) for the exact engine, from the draws for PyMC. Defaults come from the
        attributes stored with the fit (ci_level, better, mcid).
        """
        from nof1.models.exact_mixture import mixture_summaries

        ci_level = float(self.attrs.get("ci_level", CI_LEVEL) if ci_level is None else ci_level)
        better = str(self.attrs.get("better", "lower") if better is None else better)
        if mcid is None:
            m = self.attrs.get("mcid")
            mcid = None if m is None or (isinstance(m, float) and math.isnan(m)) else float(m)
        c = self._cvec(contrast)
        mix = self._mixture()
        if mix is not None:
            w, mean, cov = mix
            mm = mean @ c
            ss = np.sqrt(np.einsum("ckl,k,l->c", cov, c, c))
            out = mixture_summaries(w[None, :, None], mm[None, :, None], ss[None, :, None],
                                    ci_level=ci_level, better=better, mcid=mcid)
            return {k: (None if v is None else float(v[0])) for k, v in out.items()}
        return _draw_summary(self.effect_draws(contrast), ci_level=ci_level, better=better, mcid=mcid)

    # ------------------------------------------------------------------ fitted mean
    def fitted_mean(self, ci_level: float = CI_LEVEL, n_draws: int = 1000) -> pd.DataFrame | None:
        """Posterior mean outcome on every calendar day under what was taken, with an interval
        (for a covariate-adjusted fit: at the covariates' mean values).

        Columns ``day``, ``mean`` (posterior mean of μ_t), ``low``, ``high`` (equal-tailed).
        """
        if self.data is None:
            return None
        data = self.data
        post = self.tree["posterior"]
        beta = np.asarray(post["beta"].values, dtype=float).reshape(-1, len(self.treatments))
        m = beta.shape[0]
        rng = np.random.default_rng(0)
        idx = rng.choice(m, size=min(n_draws, m), replace=False)
        days = np.arange(1, data.n_days + 1)
        full = SeriesData(y=np.zeros(days.size), day=days, u=data.u, trend=False, run_in_days=0)
        tau = np.asarray(post["tau"].values, dtype=float).reshape(-1)[idx]
        x = full.exposure(tau)  # (d, n_days, K)
        mu = np.einsum("dnk,dk->dn", x, beta[idx])
        mu += np.asarray(post["alpha"].values, dtype=float).reshape(-1)[idx, None]
        if "run_in_level" in post:
            mu += np.asarray(post["run_in_level"].values).reshape(-1)[idx, None] * (days <= data.run_in_days)
        if "trend" in post:
            mu += (np.asarray(post["trend"].values).reshape(-1)[idx, None]
                   * ((days - data.day.mean()) / 28.0))
        a = (1 - ci_level) / 2
        return pd.DataFrame({"day": days, "mean": mu.mean(axis=0), "low": np.quantile(mu, a, axis=0),
                             "high": np.quantile(mu, 1 - a, axis=0)})

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the posterior (netCDF, via xarray/netCDF4) with its provenance attributes:
        protocol fingerprint, data hash, seed, engine, priors and the nof1/PyMC/ArviZ versions."""
        path = Path(path)
        tree = self.tree.copy()
        attrs = {k: (v if isinstance(v, str) else json.dumps(json_safe(v)))
                 for k, v in self.attrs.items() if v is not None}
        attrs.update({"engine": self.engine, "outcome": self.outcome, "control": self.control,
                      "treatments": json.dumps(self.treatments), "contrast": json.dumps(list(self.contrast))})
        if self.data is not None:
            attrs["series"] = json.dumps({
                "u": self.data.u.tolist(), "trend": self.data.trend,
                "run_in_days": self.data.run_in_days,
                "covariates": None if self.data.covariates is None else self.data.covariates.tolist(),
                "covariate_names": list(self.data.covariate_names)})
            tree["observed_data"] = _observed(self.data)
        tree.attrs = attrs
        from nof1.outputs import write_atomic

        return write_atomic(path, lambda tmp: tree.to_netcdf(tmp, engine="netcdf4"), force=True)


def _observed(data: SeriesData) -> Any:
    import xarray as xr

    return xr.DataTree(xr.Dataset({"y": (("obs",), data.y), "day": (("obs",), data.day)}))


def load_fit(path: str | Path) -> BayesFit:
    """Reload a :class:`BayesFit` written by :meth:`BayesFit.save`.

    Example:
        >>> fit = load_fit("severity.nc")            # doctest: +SKIP
        >>> fit.attrs["protocol_fingerprint"]        # doctest: +SKIP
        'sha256:...'
    """
    import xarray as xr

    tree = xr.open_datatree(Path(path), engine="netcdf4").load()
    raw = dict(tree.attrs)
    attrs: dict[str, Any] = {}
    for k, v in raw.items():
        if isinstance(v, str):
            try:
                attrs[k] = json.loads(v)
                continue
            except ValueError:
                pass
        attrs[k] = v.item() if isinstance(v, np.generic) else v
    data = None
    if "series" in attrs and "observed_data" in tree.children:
        s, obs = attrs.pop("series"), tree["observed_data"]
        data = SeriesData(y=np.asarray(obs["y"].values, dtype=float),
                          day=np.asarray(obs["day"].values, dtype=np.int64),
                          u=np.asarray(s["u"], dtype=float), trend=bool(s["trend"]),
                          run_in_days=int(s["run_in_days"]),
                          covariates=None if s.get("covariates") is None
                          else np.asarray(s["covariates"], dtype=float),
                          covariate_names=tuple(s.get("covariate_names", ())))
    return BayesFit(tree=tree, engine=str(attrs.pop("engine")), outcome=str(attrs.pop("outcome")),
                    treatments=list(attrs.pop("treatments")), control=str(attrs.pop("control")),
                    contrast=tuple(attrs.pop("contrast")), attrs=attrs, data=data)


def _draw_summary(draws: NDArray[np.float64], *, ci_level: float, better: str, mcid: float | None
                  ) -> dict[str, float | None]:
    a = (1 - ci_level) / 2
    lo, med, hi = np.quantile(draws, [a, 0.5, 1 - a])
    out: dict[str, float | None] = {
        "estimate": float(med), "ci_low": float(lo), "ci_high": float(hi),
        "posterior_mean": float(np.mean(draws)), "posterior_sd": float(np.std(draws, ddof=1)),
    }
    from nof1.analysis.effect import decision_probabilities

    out.update(decision_probabilities(draws, better, mcid))
    return out


# =========================================================================== fitting
def _versions() -> dict[str, str | None]:
    import importlib.metadata as md

    out: dict[str, str | None] = {"nof1": __version__}
    for pkg in ("numpy", "scipy", "pymc", "arviz", "xarray", "jax", "blackjax"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # pragma: no cover
            out[pkg] = None
    return out


def _exact_tree(post: Any, data: SeriesData, draws: dict[str, NDArray[np.float64]]) -> xr.DataTree:
    import xarray as xr

    def cd(v: NDArray[np.float64]) -> tuple[tuple[str, ...], NDArray[np.float64]]:
        return (("chain", "draw"), v[None, :])

    n = draws["phi"].size
    ds = {"beta": (("chain", "draw", "treatment"), draws["beta"][None])}
    for name in (*data.nuisance_names, "phi", "tau", "sigma"):
        ds[name] = cd(draws[name])
    posterior = xr.Dataset(ds, coords={"chain": [0], "draw": np.arange(n),
                                       "treatment": np.arange(data.n_treatments)})
    mixture = xr.Dataset({
        "weight": (("component",), post.weights),
        "beta_mean": (("component", "treatment"), post.beta_mean),
        "beta_cov": (("component", "treatment", "treatment2"), post.beta_cov),
        "phi": (("component",), post.phi),
        "tau": (("component",), post.tau),
        "sigma": (("component",), post.sigma),
    })
    return xr.DataTree.from_dict({"posterior": posterior, "exact_mixture": mixture,
                                  "observed_data": _observed(data).to_dataset()})


def _fit(data: SeriesData, priors: ModelPriors, *, engine: str, seed: int, draws: int | None,
         tune: int | None, chains: int | None, ci_level: float
         ) -> tuple[xr.DataTree, dict[str, Any], dict[str, NDArray[np.float64]]]:
    """Run one engine: (tree, facts for extras, flat draws)."""
    facts: dict[str, Any] = {}
    if engine == "exact":
        post = fit_exact(data, priors)
        flat = post.draws(int(draws or EXACT_DRAWS), seed)
        tree = _exact_tree(post, data, flat)
        facts["phi"] = post.phi_summary(ci_level)
        facts["tau"] = post.tau_summary(ci_level)
        facts["sigma"] = post.sigma_summary(ci_level)
        if priors.tau_fixed is None and post.z_edges is not None:
            from nof1.models.bayes_exact import TAU_Z_BOUND

            facts["tau_at_grid_edge"] = bool(post.z_edges[-1] >= TAU_Z_BOUND - 1e-9
                                             and post.cell_mass.sum(axis=0)[-1] > 1e-3)
        return tree, facts, flat
    from nof1.models.bayes_pymc import fit_pymc

    res = fit_pymc(data, priors, draws=int(draws or PYMC_DRAWS), tune=int(tune or PYMC_TUNE),
                   chains=int(chains or PYMC_CHAINS), seed=seed)
    flat = res.draws()
    a = (1 - ci_level) / 2
    for name in ("phi", "tau", "sigma"):
        v = flat[name]
        lo, med, hi = np.quantile(v, [a, 0.5, 1 - a])
        facts[name] = {"median": float(med), "ci": [float(lo), float(hi)]}
        if name == "tau":
            facts[name]["fixed"] = priors.tau_fixed is not None
    facts["diagnostics"] = res.diagnostics
    return res.tree, facts, flat


def _sparse(trial_data: TrialData, o: Outcome) -> bool:
    """At most two measurements per period: onset/carryover not identifiable (period level)."""
    if o.schedule == "weekly":
        return True
    f = trial_data.outcome_frame(o.name)
    if f.empty:
        return False
    from nof1.analysis.discrete_periods import SPARSE_PER_PERIOD

    return int(f.groupby("period").size().max()) <= SPARSE_PER_PERIOD


@register_method(
    "bayes", outcome_types=("continuous", "ordinal", "count", "binary"), order=10,
    description="Bayesian model: AR(1) errors on the calendar day, onset/carryover time constant, "
                "posterior probabilities of benefit and harm",
)
def bayes(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    engine: str = "exact",
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    carryover: str | None = None,
    trend: bool | str | None = None,
    adjust: bool = True,
    **options: Any,
) -> MethodResult:
    """Bayesian estimate of ``contrast`` (treatment minus control) for one outcome.

    Options: ``engine`` ("exact" | "pymc"), ``draws``, ``tune``, ``chains`` (PyMC), ``carryover``
    and ``trend`` (override the protocol). ``estimate`` is the posterior median, ``ci_low``/
    ``ci_high`` the equal-tailed interval at ``ci_level``; extras as described in the module.

    Example:
        >>> r = bayes(td, "severity", ("B", "A"), seed=1)          # doctest: +SKIP
        >>> r.extras["prob_meaningful_benefit"], r.extras["tau"]   # doctest: +SKIP
    """
    from nof1.analysis.covariates import adjustment_for

    protocol = trial_data.protocol
    o = protocol.outcome(outcome) if isinstance(outcome, str) else outcome
    name = "bayes"
    adjust_for = adjustment_for(protocol, o, trial_data) if adjust else []
    if o.type != "continuous" or _sparse(trial_data, o):
        from nof1.analysis.discrete_bayes import fit_bayes_discrete
        from nof1.analysis.discrete_periods import fit_period_level

        kw = {k: v for k, v in (("draws", draws), ("tune", tune), ("chains", chains),
                                ("carryover", carryover), ("trend", trend)) if v is not None}
        if o.type != "continuous":
            return fit_bayes_discrete(trial_data, o, contrast, ci_level=ci_level, seed=seed,
                                               washout_days=washout_days, adjust=adjust, **kw,
                                               **options)
        kw.pop("carryover", None)
        for k in ("draws", "tune", "chains"):
            kw.pop(k, None)
        return fit_period_level(trial_data, o, contrast, ci_level=ci_level, seed=seed,
                                         washout_days=washout_days, **kw, **options)
    t, c = contrast
    for key in (t, c):
        if key not in protocol.conditions:
            return MethodResult.unavailable(name, o.name, contrast,
                                            f"condition '{key}' is not declared in the protocol")
    if t == c:
        return MethodResult.unavailable(name, o.name, contrast, "the two conditions are the same")
    if engine not in ("exact", "pymc"):
        return MethodResult.unavailable(name, o.name, contrast,
                                        f"unknown engine '{engine}' (exact or pymc)")
    if trial_data.participants and len(trial_data.participants) > 1:
        return MethodResult.unavailable(name, o.name, contrast,
                                        "a series of several participants: use nof1.pool or analyse one at a time")
    try:
        data, info = series_data(trial_data, o, carryover=carryover, washout_days=washout_days,
                                 trend=trend, adjust_for=adjust_for)
    except ValueError as err:
        return MethodResult.unavailable(name, o.name, contrast, str(err))
    few = [k for k in (t, c) if info["days_by_condition"].get(k, 0) < MIN_DAYS_PER_CONDITION]
    if few:
        return MethodResult.unavailable(
            name, o.name, contrast,
            f"too few observed days on {', '.join(few)} (need {MIN_DAYS_PER_CONDITION} each"
            + (", after excluding washout days)" if info["carryover"] == "exclude" else ")"))
    try:
        priors = model_priors(protocol, o, y=data.y, carryover=info["carryover"])
    except ValueError as err:
        return MethodResult.unavailable(name, o.name, contrast, str(err))
    seed = 0 if seed is None else int(seed)
    key = (id(trial_data), trial_data.data_hash, protocol.fingerprint, o.name, engine, draws, tune,
           chains, info["carryover"], info["washout_days"], info["trend"], priors, tuple(adjust_for))
    entry = _FIT_CACHE.get(key)
    base = None
    if entry is not None and (entry[1] == seed or contrast not in entry[2]):
        base = entry[0]
        entry[2].add(contrast)
    notes: list[str] = []
    if base is None:
        try:
            tree, facts, flat = _fit(data, priors, engine=engine, seed=seed, draws=draws, tune=tune,
                                     chains=chains, ci_level=ci_level)
        except (ValueError, np.linalg.LinAlgError) as err:
            return MethodResult.unavailable(name, o.name, contrast, f"the model cannot be fitted: {err}")
        ppc = residual_lag1_check(data, flat, seed=seed)
        width, width_source = _scale_width(o, data.y)
        prior_words = priors.describe([f"{k} - {info['control']}" for k in info["treatments"]])
        prior_words["scale"] = {"width": width, "source": width_source, "kind": protocol.analysis.prior.kind}
        if o.name in protocol.analysis.prior.evidence:
            prior_words["scale"]["kind"] = "evidence"
            prior_words["evidence_source"] = protocol.analysis.prior.evidence[o.name].source
        attrs: dict[str, Any] = {
            "protocol_fingerprint": protocol.fingerprint, "data_hash": trial_data.data_hash,
            "seed": seed, "ci_level": ci_level, "better": o.better, "mcid": o.mcid,
            "carryover": info["carryover"], "washout_days": info["washout_days"],
            "trend": info["trend"], "priors": prior_words, "versions": _versions(),
            "facts": facts, "ppc": ppc, "info": info,
        }
        if adjust_for:
            from nof1.analysis.covariates import coefficient_summary

            attrs["covariate_coefficients"] = coefficient_summary(flat, adjust_for, ci_level)
        base = BayesFit(tree=tree, engine=engine, outcome=o.name, treatments=info["treatments"],
                        control=info["control"], contrast=contrast, attrs=attrs, data=data)
        _FIT_CACHE[key] = (base, seed, {contrast})
        while len(_FIT_CACHE) > _FIT_CACHE_SIZE:
            _FIT_CACHE.popitem(last=False)
    fit = base.for_contrast(contrast)
    facts, ppc = fit.attrs["facts"], fit.attrs["ppc"]
    s = fit.summary(contrast, ci_level=ci_level, better=o.better, mcid=o.mcid)
    extras: dict[str, Any] = {
        "prob_benefit": s["prob_benefit"],
        "prob_meaningful_benefit": s["prob_meaningful_benefit"],
        "prob_meaningful_harm": s["prob_meaningful_harm"],
        "prob_negligible": s["prob_negligible"],
        "posterior_mean": s["posterior_mean"],
        "posterior_sd": s["posterior_sd"],
        "tau": facts["tau"],
        "phi": facts["phi"],
        "sigma": facts["sigma"],
        "prior": fit.attrs["priors"],
        "engine": engine,
        "carryover": info["carryover"],
        "trend": info["trend"],
        "days_used": int(data.n),
        "ppc": ppc,
        "scale": "outcome",
    }
    if info["carryover"] == "exclude":
        extras["washout_days"] = info["washout_days"]
    if adjust_for:
        extras["adjusted_for"] = list(adjust_for)
        extras["covariate_coefficients"] = fit.attrs.get("covariate_coefficients")
        if info["days_without_covariate"]:
            notes.append(f"{info['days_without_covariate']} day(s) without a value of "
                         f"{', '.join(adjust_for)} left out of the adjusted fit")
    if o.mcid is None:
        notes.append("no mcid: meaningful-benefit/harm probabilities (and a verdict) need one")
    if "diagnostics" in facts:
        d = facts["diagnostics"]
        extras["diagnostics"] = {k: v for k, v in d.items() if k != "warnings"}
        notes.extend(d["warnings"])
    if ppc.get("p_value") is not None and ppc["p_value"] < PPC_ALERT:
        notes.append(f"posterior predictive check: the residual lag-1 autocorrelation "
                     f"({ppc['observed']:.2f}) is unusual for the model (p = {ppc['p_value']:.3f}); "
                     "the errors or the carryover may be mis-specified")
    phi = facts["phi"]
    if not phi.get("fixed") and phi["ci"][1] > priors.phi_high - 0.02:
        notes.append(f"the autocorrelation φ presses against its upper bound {priors.phi_high:g}: "
                     "the outcome may drift (consider the trend term)")
    if facts.get("tau_at_grid_edge"):
        notes.append("the carryover time constant τ reaches the longest value considered: onset is "
                     "too slow to separate from the effect in these periods")
    return MethodResult(
        method=name, outcome=o.name, contrast=contrast, estimate=s["estimate"], ci_low=s["ci_low"],
        ci_high=s["ci_high"], ci_level=ci_level, extras=extras, notes=tuple(notes), fit=fit,
    )
