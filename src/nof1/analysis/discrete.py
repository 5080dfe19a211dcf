"""Ordinal ratings, counts and yes/no outcomes: Bayesian models and their classical counterparts.

Bayesian (not registered here — the single registered ``bayes`` method dispatches on the outcome
type and calls these):

* :func:`fit_bayes_discrete` — ordinal (cumulative logit), count (negative binomial) or binary
  (logistic) model with the continuous model's onset/decay exposure and an AR(1) latent term
  (:mod:`nof1.models.discrete_pymc`). Effect on the model scale (``extras['scale']``: ``logit``
  or ``log_rate_ratio``) plus the difference on the outcome's own scale (``rating_difference``,
  ``difference_per_day`` or ``risk_difference``), on which the mcid probabilities — and so the
  verdict — are computed.
* :func:`fit_period_level` — weekly or sparse continuous outcomes with at most two measurements
  per period: the carryover term is not identifiable, so the comparison is made with the period
  as the unit (closed-form normal model on the post-washout period means).

Classical counterparts (registered): ``ordinal_po`` (proportional-odds regression),
``count_glm_hac`` (Poisson GLM, Newey–West SEs on the day index) and ``binary_glm_hac``
(logistic GLM, Newey–West SEs).

Which days enter the Bayesian models depends on ``analysis.carryover``: ``model`` — every observed
trial day, τ estimated; ``exclude`` — washout days dropped, instant switch (τ = 0); ``none`` — every
day, instant switch. The run-in is not used (the exposure starts at 0 on the first trial day). The
classical methods always drop the washout days (as ``gls_ar1`` does).

Example:
    >>> import nof1
    >>> from nof1.analysis.discrete import fit_bayes_discrete, ordinal_po
    >>> r = fit_bayes_discrete(td, "pain", ("B", "A"), draws=500, seed=1)    # doctest: +SKIP
    >>> r.extras["scale"], r.extras["rating_difference"]["estimate"]          # doctest: +SKIP
    ('logit', -1.1)
    >>> ordinal_po(td, "pain", ("B", "A")).estimate                           # doctest: +SKIP
    -0.93
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nof1.analysis.base import Contrast, MethodResult, register_method
from nof1.analysis.classical import contrast_problem as _contrast_problem
from nof1.analysis.classical import resolve_outcome as _outcome
from nof1.analysis.classical import resolve_washout as _washout
from nof1.analysis.classical import trend_on as _trend_on
from nof1.constants import CI_LEVEL

if TYPE_CHECKING:
    from nof1.data import TrialData
    from nof1.models.discrete_pymc import DiscretePosterior, DiscretePriors
    from nof1.protocol import Outcome, Protocol

__all__ = [
    "DiscreteFit",
    "PeriodLevelFit",
    "binary_glm_hac",
    "count_glm_hac",
    "fit_bayes_discrete",
    "fit_period_level",
    "needs_period_level",
    "ordinal_po",
    "prepare_series",
]

#: Below this many observed days of a compared condition the models are not fitted.
MIN_DAYS_PER_CONDITION: int = 2
#: Sampler diagnostics: refit once (longer) when R-hat or bulk ESS miss these, give up above
#: ``RHAT_FAIL``.
RHAT_OK: float = 1.05
ESS_OK: float = 200.0
RHAT_FAIL: float = 1.1
#: Measurements per period at or below which the carryover term is not identifiable.
SPARSE_PER_PERIOD: int = 2

_MCID_SCALE = {"ordinal": "rating_difference", "count": "difference_per_day",
               "binary": "risk_difference"}
_SCALE = {"ordinal": "logit", "count": "log_rate_ratio", "binary": "logit"}


# =========================================================================== shared helpers
def _quantiles(x: np.ndarray, ci_level: float) -> tuple[float, float, float]:
    a = (1.0 - ci_level) / 2.0
    lo, med, hi = np.quantile(np.ravel(x), [a, 0.5, 1.0 - a])
    return float(med), float(lo), float(hi)


def _interval_dict(x: np.ndarray, ci_level: float, transform: Any = None) -> dict[str, float]:
    med, lo, hi = _quantiles(x, ci_level)
    if transform is not None:
        med, lo, hi = (float(transform(v)) for v in (med, lo, hi))
    return {"estimate": med, "ci_low": lo, "ci_high": hi}


def decision_probabilities(draws: np.ndarray, better: str, mcid: float | None) -> dict[str, float]:
    """prob_benefit and, with an mcid, prob_meaningful_benefit / _harm and prob_negligible.

    ``draws`` are effects (treatment − control) on the scale of ``mcid``.

    Example:
        >>> p = decision_probabilities(np.array([-2.0, -1.5, 0.5, 0.2]), "lower", 1.0)
        >>> p["prob_benefit"], p["prob_meaningful_benefit"], p["prob_negligible"]
        (0.5, 0.5, 0.5)
    """
    d = np.ravel(np.asarray(draws, dtype=float))
    sign = -1.0 if better == "lower" else 1.0
    good = sign * d
    out = {"prob_benefit": float(np.mean(good > 0))}
    if mcid is not None:
        out["prob_meaningful_benefit"] = float(np.mean(good >= mcid))
        out["prob_meaningful_harm"] = float(np.mean(good <= -mcid))
        out["prob_negligible"] = float(np.mean(np.abs(d) < mcid))
    return out


@dataclass
class SeriesSpec:
    """One outcome's series prepared for a model (see :func:`prepare_series`)."""

    frame: pd.DataFrame
    data: Any
    treatments: list[str]
    carryover: str
    carryover_identifiable: bool
    washout_days: int
    trend: bool
    notes: list[str] = field(default_factory=list)

    def contrast_vector(self, contrast: Contrast) -> np.ndarray:
        """c such that c'β is the contrast (control has β = 0)."""
        c = np.zeros(len(self.treatments))
        t, k = contrast
        if t in self.treatments:
            c[self.treatments.index(t)] += 1.0
        if k in self.treatments:
            c[self.treatments.index(k)] -= 1.0
        return c


def prepare_series(
    trial_data: TrialData,
    outcome: Outcome,
    *,
    carryover: str | None = None,
    washout_days: int | None = None,
    trend: bool | str | None = None,
) -> SeriesSpec:
    """Observed days, codes and exposure inputs of one outcome for the discrete models.

    Returns a :class:`SeriesSpec` whose ``data`` is a
    :class:`~nof1.models.discrete_pymc.DiscreteData` (``y`` raw values; callers recode). Weekly
    or sparse outcomes with at most two measurements per period fall back to an instant switch
    with washout days dropped (the onset/decay time constant cannot be identified).

    Raises ValueError for a series of several participants or a trial without trial days.

    Example:
        >>> spec = prepare_series(td, td.protocol.outcome("pain"))     # doctest: +SKIP
        >>> spec.carryover, spec.treatments                            # doctest: +SKIP
        ('model', ['B'])
    """
    from nof1.models.discrete_pymc import DiscreteData

    protocol = trial_data.protocol
    if "participant" in trial_data.data.columns and trial_data.data["participant"].nunique() > 1:
        raise ValueError("a series of several participants: analyse one participant at a time")
    mode = protocol.analysis.carryover if carryover is None else str(carryover)
    if mode not in ("model", "exclude", "none"):
        raise ValueError(f"carryover must be model, exclude or none, got '{mode}'")
    w = _washout(protocol, washout_days)
    trial = trial_data.trial.sort_values("day")
    if trial.empty:
        raise ValueError("the trial has no days")
    frame = trial_data.outcome_frame(outcome.name).sort_values("day").reset_index(drop=True)
    frame["condition"] = frame["condition"].astype(object)
    notes: list[str] = []
    identifiable = True
    per_period = frame.groupby("period")["y"].size() if len(frame) else pd.Series(dtype=int)
    if len(per_period) and per_period.max() <= SPARSE_PER_PERIOD:
        identifiable = False
        if mode == "model":
            notes.append(
                f"at most {SPARSE_PER_PERIOD} measurements per period: the onset/carryover time "
                "constant is not identifiable, so an instant switch is assumed and measurements "
                "in the washout days are left out (a period-level comparison)")
            mode = "exclude"
    if mode == "exclude":
        frame = frame[frame["day_in_period"].to_numpy() > w].reset_index(drop=True)
        if w:
            notes.append(f"the first {w} day(s) of every period were left out as washout")
    elif mode == "none":
        notes.append("instant switch between conditions assumed (carryover: none)")
    taken = trial["condition_taken"].astype(object).to_numpy()
    control = protocol.control
    present = [k for k in protocol.conditions if k != control and (taken == k).any()]
    u = np.column_stack([(taken == k).astype(float) for k in present]) if present else (
        np.zeros((len(trial), 0)))
    use_trend = _trend_on(protocol, trend)
    days = trial["day"].to_numpy(dtype=float)
    data = DiscreteData.from_daily(
        y=np.zeros(len(frame)), day=frame["day"].to_numpy(dtype=float), u=u, u_day=days,
        trend_center=float(np.mean(days)),
    )
    return SeriesSpec(frame=frame, data=data, treatments=present, carryover=mode,
                      carryover_identifiable=identifiable, washout_days=w, trend=use_trend,
                      notes=notes)


def _subset(spec: SeriesSpec, keep: np.ndarray) -> SeriesSpec:
    """The series restricted to the observed days ``keep`` (e.g. days with every covariate)."""
    from nof1.models.discrete_pymc import DiscreteData

    d = spec.data
    data = DiscreteData(y=d.y[keep], t=d.t[keep], x_fixed=d.x_fixed[keep], jump_t=d.jump_t,
                        jump_du=d.jump_du, trend=d.trend[keep])
    return replace(spec, frame=spec.frame[keep].reset_index(drop=True), data=data)


# =========================================================================== the posterior holder
@dataclass
class DiscreteFit:
    """Posterior of one discrete-outcome fit (``MethodResult.fit`` of the Bayesian result).

    ``effect_draws()`` returns the draws of the effect on the scale the mcid is expressed in
    (rating difference, difference per day or risk difference); ``latent_draws()`` the model-scale
    contrast (log odds ratio / log rate ratio). Both are flat arrays (chains × draws).

    Example:
        >>> fit = result.fit                                         # doctest: +SKIP
        >>> float(np.mean(fit.effect_draws() <= -1.0))               # doctest: +SKIP
        0.62
    """

    family: str
    outcome: str
    contrast: Contrast
    mcid_scale: str
    effect: np.ndarray
    latent: np.ndarray
    posterior_draws: DiscretePosterior
    spec: SeriesSpec

    @property
    def contrast_label(self) -> str:
        return f"{self.contrast[0]}-{self.contrast[1]}"

    def effect_draws(self, contrast_label: str | None = None) -> np.ndarray:
        """Draws of the effect on the mcid scale (``contrast_label`` must be this fit's, if given)."""
        if contrast_label is not None and contrast_label != self.contrast_label:
            raise KeyError(f"this fit is for contrast {self.contrast_label}, not {contrast_label}")
        return np.ravel(self.effect)

    def latent_draws(self, contrast_label: str | None = None) -> np.ndarray:
        """Draws of the model-scale contrast c'β (log odds ratio or log rate ratio)."""
        if contrast_label is not None and contrast_label != self.contrast_label:
            raise KeyError(f"this fit is for contrast {self.contrast_label}, not {contrast_label}")
        return np.ravel(self.latent)

    @property
    def posterior(self) -> Any:
        """An ``xarray.DataTree`` with the parameters plus ``effect`` (mcid scale) and
        ``effect_latent`` (model scale) in its ``posterior`` group."""
        tree = self.posterior_draws.to_datatree()
        ds = tree["posterior"].to_dataset()
        ds["effect"] = (("chain", "draw"), self.effect)
        ds["effect_latent"] = (("chain", "draw"), self.latent)
        import xarray as xr

        return xr.DataTree.from_dict({"posterior": ds})


# =========================================================================== Bayesian fit
def _resolve_priors(family: str, protocol: Protocol, priors: Any, effect_sd: float | None
                    ) -> tuple[DiscretePriors, str]:
    from nof1.models.discrete_pymc import DiscretePriors

    tp = protocol.analysis.tau_prior
    if isinstance(priors, DiscretePriors):
        return priors, "given"
    if isinstance(priors, dict):
        base = {"tau_median": tp.median, "tau_sigma": tp.sigma}
        base.update(priors)
        return DiscretePriors(**base), "given"
    if priors == "nof1_laughter":
        return DiscretePriors.nof1_laughter(), "nof1_laughter (R package nof1)"
    if priors not in (None, "default"):
        raise ValueError(f"unknown priors '{priors}' (default, nof1_laughter, a dict or DiscretePriors)")
    kind = protocol.analysis.prior.kind
    if effect_sd is None and kind == "sceptical":
        effect_sd = 0.5 if family == "count" else 1.0
    p = DiscretePriors(effect_sd=effect_sd, tau_median=tp.median, tau_sigma=tp.sigma)
    scale = "log rate ratio" if family == "count" else "log odds ratio"
    return p, f"{kind}: effect ~ Normal(0, {p.effect_sd_for(family):g}) on the {scale} scale"


def _recode(family: str, outcome: Outcome, y: np.ndarray) -> tuple[np.ndarray | None, int, str | None]:
    """Model codes of the observations, number of categories, or a reason they are unusable."""
    if y.size and not np.all(np.isclose(y, np.round(y))):
        bad = y[~np.isclose(y, np.round(y))][0]
        return None, 0, f"a {family} outcome needs whole numbers, found {bad:g}"
    yi = np.round(y).astype(np.int64)
    if family == "ordinal":
        lo, hi = (int(v) for v in outcome.value_range)
        out = yi[(yi < lo) | (yi > hi)]
        if out.size:
            return None, 0, f"value {out[0]} is outside the declared range [{lo}, {hi}]"
        return yi - lo, hi - lo + 1, None
    if family == "binary":
        bad = yi[(yi != 0) & (yi != 1)]
        if bad.size:
            return None, 0, f"a yes/no outcome must be 0 or 1, found {bad[0]}"
        return yi, 0, None
    if np.any(yi < 0):
        return None, 0, f"counts cannot be negative, found {yi[yi < 0][0]}"
    return yi, 0, None


def _indicator(treatments: list[str], key: str) -> np.ndarray:
    v = np.zeros(len(treatments))
    if key in treatments:
        v[treatments.index(key)] = 1.0
    return v


def _mcid_draws(family: str, post: DiscretePosterior, spec: SeriesSpec, contrast: Contrast,
                low: float) -> np.ndarray:
    """Draws (chains, draws) of the effect on the outcome's own scale at steady state."""
    from nof1.models.discrete_pymc import expected_rating, gauss_hermite_normal

    shape = post.beta.shape[:2]
    b_t = post.reference_eta(_indicator(spec.treatments, contrast[0]))
    b_c = post.reference_eta(_indicator(spec.treatments, contrast[1]))
    sigma = np.ravel(post.latent_sd())
    if family == "ordinal":
        cuts = post.flat("cuts")
        diff = expected_rating(cuts, b_t, sigma, low) - expected_rating(cuts, b_c, sigma, low)
    elif family == "count":
        alpha = post.flat("alpha")
        base = alpha + 0.5 * sigma**2
        diff = np.exp(base + b_t) - np.exp(base + b_c)
    else:
        alpha = post.flat("alpha")
        x, w = gauss_hermite_normal(32)
        lat = sigma[:, None] * x[None, :]

        def risk(b: np.ndarray) -> np.ndarray:
            return (0.5 * (1.0 + np.tanh(0.5 * (alpha[:, None] + b[:, None] + lat)))) @ w

        diff = risk(b_t) - risk(b_c)
    return diff.reshape(shape)


def fit_bayes_discrete(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    carryover: str | None = None,
    autocorrelation: bool = True,
    priors: Any = None,
    effect_sd: float | None = None,
    trend: bool | str | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    cores: int | None = None,
    target_accept: float = 0.9,
    adjust: bool = True,
    **options: Any,
) -> MethodResult:
    """Bayesian analysis of an ordinal, count or binary outcome (method name ``bayes``).

    Options: ``carryover`` (model/exclude/none; default the protocol's), ``autocorrelation``
    (latent AR(1) on/off), ``priors`` (``"default"``, ``"nof1_laughter"``, a dict of
    :class:`~nof1.models.discrete_pymc.DiscretePriors` fields, or an instance), ``effect_sd`` (prior
    sd on the model scale), ``trend``, ``draws``/``tune``/``chains``/``cores``/``target_accept``.

    ``estimate``/``ci_low``/``ci_high`` are the posterior median and equal-tailed interval of the
    model-scale effect (``extras['scale']``: ``logit`` = log (cumulative) odds ratio, or
    ``log_rate_ratio``). The outcome-scale effect is in ``rating_difference`` (ordinal),
    ``difference_per_day`` (count) or ``risk_difference`` (binary), with the ``prob_meaningful_*``
    and ``prob_negligible`` computed on that scale using the outcome's ``mcid``; ``prob_benefit``
    is P(effect in the better direction) (the same on both scales).

    Example:
        >>> r = fit_bayes_discrete(td, "pain", ("B", "A"), draws=500, seed=1)   # doctest: +SKIP
        >>> r.extras["rating_difference"]                                         # doctest: +SKIP
        {'estimate': -1.2, 'ci_low': -2.3, 'ci_high': -0.2}
    """
    from nof1.models.discrete_pymc import convergence, fit_discrete

    name = "bayes"
    o = _outcome(trial_data, outcome)
    family = o.type
    if family not in ("ordinal", "count", "binary"):
        return MethodResult.unavailable(
            name, o.name, contrast,
            f"fit_bayes_discrete handles ordinal, count and binary outcomes, not {family}")
    protocol = trial_data.protocol
    problem = _contrast_problem(protocol, contrast)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    try:
        spec = prepare_series(trial_data, o, carryover=carryover, washout_days=washout_days,
                              trend=trend)
        prior, prior_text = _resolve_priors(family, protocol, priors, effect_sd)
    except ValueError as err:
        return MethodResult.unavailable(name, o.name, contrast, str(err))
    from nof1.analysis.covariates import adjustment_for, covariate_matrix

    adjust_for = adjustment_for(protocol, o, trial_data) if adjust else []
    z = None
    if adjust_for:
        z = covariate_matrix(trial_data, adjust_for, spec.frame["day"].to_numpy())
        ok = np.isfinite(z).all(axis=1)
        if not ok.all():
            spec.notes.append(f"{int((~ok).sum())} day(s) without a value of {', '.join(adjust_for)} "
                              "left out of the adjusted fit")
            spec = _subset(spec, ok)
            z = z[ok]
        sd = z.std(axis=0)
        z_scale = np.where(sd > 0, sd, 1.0)
        z = (z - z.mean(axis=0)) / z_scale
    frame = spec.frame
    y = frame["y"].to_numpy(dtype=float)
    codes, n_cat, problem = _recode(family, o, y)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    cond = frame["condition"].to_numpy()
    counts = {key: int((cond == key).sum()) for key in contrast}
    for key, k in counts.items():
        if k < MIN_DAYS_PER_CONDITION:
            return MethodResult.unavailable(
                name, o.name, contrast,
                f"condition {key} has {k} observed day(s) that can be used; at least "
                f"{MIN_DAYS_PER_CONDITION} are needed", n_days_by_condition=counts)
    if protocol.control not in set(cond) and protocol.control not in contrast:
        spec.notes.append(f"the control {protocol.control} was never observed: effects are "
                          "relative to a condition without data and rest on the prior")
    data = spec.data
    from nof1.models.discrete_pymc import DiscreteData

    data = DiscreteData(y=codes, t=data.t, x_fixed=data.x_fixed, jump_t=data.jump_t,
                        jump_du=data.jump_du, trend=data.trend, covariates=z)
    # an unadjusted refit keeps the adjusted model's covariate columns, as zeros: the same
    # compiled program, the unadjusted posterior (see fit_discrete's covariate_slots)
    slots = len(adjustment_for(protocol, o, trial_data))
    kwargs = dict(n_categories=n_cat, carryover=spec.carryover == "model",
                  autocorrelation=bool(autocorrelation), trend=spec.trend, draws=draws,
                  tune=int(tune), chains=int(chains), seed=seed, target_accept=target_accept,
                  cores=cores, covariate_slots=slots)
    c = spec.contrast_vector(contrast)
    notes = list(spec.notes)
    try:
        post = fit_discrete(family, data, prior, **kwargs)
        latent = post.contrast(c)
        conv = convergence(post, {"beta": latent})
        if not (conv["r_hat"] <= RHAT_OK and conv["ess_bulk"] >= ESS_OK):
            kwargs.update(draws=2 * draws, tune=2 * int(tune), target_accept=0.95,
                          seed=None if seed is None else seed + 1)
            post = fit_discrete(family, data, prior, **kwargs)
            latent = post.contrast(c)
            conv = convergence(post, {"beta": latent})
            notes.append("sampled a second time with longer tuning after weak diagnostics")
    except (ValueError, FloatingPointError, RuntimeError) as err:
        return MethodResult.unavailable(name, o.name, contrast, f"the model could not be fitted: {err}")
    if not math.isfinite(conv["r_hat"]) or conv["r_hat"] > RHAT_FAIL:
        return MethodResult.unavailable(
            name, o.name, contrast,
            f"the sampler did not converge (R-hat {conv['r_hat']:.3f}); the result would not be "
            "trustworthy", r_hat=conv["r_hat"])
    low = float(o.value_range[0]) if family == "ordinal" else 0.0
    effect = _mcid_draws(family, post, spec, contrast, low)
    conv_all = convergence(post, {"beta": latent, "effect": effect})
    if conv_all["r_hat"] > RHAT_OK or conv_all["ess_bulk"] < ESS_OK:
        notes.append(f"sampler diagnostics are weak (R-hat {conv_all['r_hat']:.3f}, bulk ESS "
                     f"{conv_all['ess_bulk']:.0f}); treat the interval as approximate")
    if post.diagnostics["divergences"]:
        notes.append(f"{post.diagnostics['divergences']} divergent transition(s) in sampling")
    est, lo, hi = _quantiles(latent, ci_level)
    extras: dict[str, Any] = {"scale": _SCALE[family], "engine": "pymc"}
    scale_name = _MCID_SCALE[family]
    extras[scale_name] = _interval_dict(effect, ci_level)
    if family == "count":
        extras["rate_ratio"] = _interval_dict(latent, ci_level, math.exp)
    else:
        extras["odds_ratio"] = _interval_dict(latent, ci_level, math.exp)
    probs = decision_probabilities(effect, o.better, o.mcid)
    probs["prob_benefit"] = decision_probabilities(latent, o.better, None)["prob_benefit"]
    extras.update(probs)
    if o.mcid is None:
        notes.append("no mcid declared: meaningful-benefit probabilities are not computed")
    else:
        extras["mcid_scale"] = scale_name
    d = post.diagnostics
    extras.update({
        "r_hat": conv_all["r_hat"], "ess_bulk": conv_all["ess_bulk"],
        "divergences": d["divergences"], "chains": d["chains"], "draws": d["draws"],
        "carryover": spec.carryover, "carryover_identifiable": spec.carryover_identifiable,
        "autocorrelation": bool(autocorrelation), "trend": spec.trend,
        "washout_days": spec.washout_days if spec.carryover == "exclude" else 0,
        "n_days": int(len(frame)), "n_days_by_condition": {
            k: int((cond == k).sum()) for k in dict.fromkeys([protocol.control, *spec.treatments])},
        "prior": prior_text, "seconds": d["total_seconds"],
    })
    if spec.carryover == "model":
        extras["tau_median"] = float(np.median(post.tau))
    if autocorrelation:
        extras["phi"] = float(np.median(post.phi))
        extras["latent_sd"] = float(np.median(post.sigma))
    if family == "count":
        extras["dispersion"] = float(np.median(post.dispersion))
    if family == "ordinal":
        present = np.unique(codes) + int(o.value_range[0])
        extras["categories_observed"] = [int(v) for v in present]
        if len(present) < n_cat:
            notes.append(f"{n_cat - len(present)} of {n_cat} rating values never occurred; their "
                         "cut points rest on the prior")
    model_text = {
        "ordinal": "cumulative-logit (proportional odds) model",
        "count": "negative binomial model (log link)",
        "binary": "logistic model",
    }[family]
    terms = []
    terms.append("onset/decay exposure (time constant estimated)" if spec.carryover == "model"
                 else "instant switch")
    if autocorrelation:
        terms.append("AR(1) latent day-to-day noise")
    if spec.trend:
        terms.append("linear trend")
    if adjust_for:
        terms.append(f"covariate{'s' if len(adjust_for) > 1 else ''} {', '.join(adjust_for)}")
        extras["adjusted_for"] = list(adjust_for)
        delta = post.flat("delta") / z_scale[None, :]
        extras["covariate_coefficients"] = {
            c: {**_interval_dict(delta[:, j], ci_level), "scale": _SCALE[family]}
            for j, c in enumerate(adjust_for)}
    notes.insert(0, f"{model_text} with {', '.join(terms)}; effect on the {_SCALE[family]} scale, "
                 f"{scale_name.replace('_', ' ')} at steady state averaged over the latent noise")
    fit = DiscreteFit(family=family, outcome=o.name, contrast=contrast, mcid_scale=scale_name,
                      effect=effect, latent=latent, posterior_draws=post, spec=spec)
    return MethodResult(method=name, outcome=o.name, contrast=contrast, estimate=est, ci_low=lo,
                        ci_high=hi, ci_level=ci_level, extras=extras, notes=tuple(notes), fit=fit)


# =========================================================================== period-level fallback
def needs_period_level(trial_data: TrialData, outcome: Outcome | str) -> bool:
    """True when no period has more than two measurements of the outcome (weekly or sparse), so
    the onset/carryover term is not identifiable and :func:`fit_period_level` should be used for
    a continuous outcome.

    Example:
        >>> needs_period_level(td, "irls_total")    # measured on days 7 and 14   # doctest: +SKIP
        True
    """
    o = _outcome(trial_data, outcome)
    frame = trial_data.outcome_frame(o.name)
    if frame.empty:
        return False
    return int(frame.groupby("period")["y"].size().max()) <= SPARSE_PER_PERIOD


@dataclass
class PeriodLevelFit:
    """Posterior of the period-level normal model (a mixture of normals over σ).

    ``effect_draws()`` gives Monte Carlo draws of the contrast (seeded); ``cdf`` the exact
    posterior CDF.
    """

    contrast: Contrast
    weights: np.ndarray
    means: np.ndarray
    sds: np.ndarray
    table: pd.DataFrame
    seed: int | None = None
    n_draws: int = 20_000

    @property
    def contrast_label(self) -> str:
        return f"{self.contrast[0]}-{self.contrast[1]}"

    def cdf(self, x: float) -> float:
        from scipy import stats

        return float(np.sum(self.weights * stats.norm.cdf((x - self.means) / self.sds)))

    def quantile(self, p: float) -> float:
        from scipy import optimize

        lo = float(np.min(self.means - 40 * self.sds))
        hi = float(np.max(self.means + 40 * self.sds))
        return float(optimize.brentq(lambda v: self.cdf(v) - p, lo, hi, xtol=1e-10))

    def effect_draws(self, contrast_label: str | None = None) -> np.ndarray:
        """Seeded draws of the contrast from the exact posterior mixture."""
        if contrast_label is not None and contrast_label != self.contrast_label:
            raise KeyError(f"this fit is for contrast {self.contrast_label}, not {contrast_label}")
        rng = np.random.default_rng(self.seed)
        idx = rng.choice(len(self.weights), size=self.n_draws, p=self.weights)
        return rng.normal(self.means[idx], self.sds[idx])


def fit_period_level(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    effect_sd: float | None = None,
    trend: bool | str | None = None,
    **options: Any,
) -> MethodResult:
    """Period-level Bayesian comparison for weekly or sparse continuous outcomes (method ``bayes``).

    With at most two measurements per period the onset/carryover term cannot be identified, so
    each period is one unit: its value is the mean of its measurements after the washout (the
    condition is the one taken on those days). Model: period mean = μ + β_condition (+ trend)
    + e, e ~ Normal(0, σ²) independent between periods; β ~ Normal(m, s²) with the protocol's
    effect prior (weakly informative: sd = range/4; sceptical: sd = mcid; ``effect_sd``
    overrides), μ and the trend flat, p(σ) ∝ 1/σ. The posterior of the contrast is an exact
    mixture of normals over a fine grid in log σ (no sampling); intervals are equal-tailed.
    ``extras['carryover_identifiable']`` is False.

    Example:
        >>> r = fit_period_level(td, "irls_total", ("B", "A"))     # doctest: +SKIP
        >>> r.extras["periods"], r.extras["carryover_identifiable"]  # doctest: +SKIP
        (8, False)
    """
    from scipy import special

    name = "bayes"
    o = _outcome(trial_data, outcome)
    protocol = trial_data.protocol
    problem = _contrast_problem(protocol, contrast)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    if "participant" in trial_data.data.columns and trial_data.data["participant"].nunique() > 1:
        return MethodResult.unavailable(name, o.name, contrast,
                                        "a series of several participants: analyse one at a time")
    w = _washout(protocol, washout_days)
    frame = trial_data.outcome_frame(o.name)
    frame = frame[frame["day_in_period"].to_numpy() > w]
    frame = frame.assign(condition=frame["condition"].astype(object))
    if frame.empty:
        return MethodResult.unavailable(name, o.name, contrast,
                                        f"no measurements after the {w}-day washout")
    table = (frame.groupby(["period", "condition"], sort=True)
             .agg(y=("y", "mean"), n=("y", "size"), day=("day", "mean")).reset_index())
    n_by = {k: int((table["condition"] == k).sum()) for k in contrast}
    for key, k in n_by.items():
        if k == 0:
            return MethodResult.unavailable(name, o.name, contrast,
                                            f"no period of condition {key} has a usable measurement")
    levels = [k for k in protocol.conditions if (table["condition"] == k).any()]
    ref = protocol.control if protocol.control in levels else levels[0]
    others = [k for k in levels if k != ref]
    cond = table["condition"].to_numpy()
    cols = [np.ones(len(table))] + [(cond == k).astype(float) for k in others]
    use_trend = _trend_on(protocol, trend)
    if use_trend:
        dd = table["day"].to_numpy(dtype=float)
        cols.append((dd - dd.mean()) / 28.0)
    X = np.column_stack(cols)
    y = table["y"].to_numpy(dtype=float)
    n, p = X.shape
    if n - p < 1 or np.linalg.matrix_rank(X) < p:
        return MethodResult.unavailable(
            name, o.name, contrast,
            f"{n} period(s) with measurements are too few for a period-level comparison of "
            f"{len(levels)} condition(s) (at least {p + 1} are needed)", periods=n)
    # prior precision: flat on the intercept and trend, Normal(m, s^2) on each condition effect
    kind = protocol.analysis.prior.kind
    if effect_sd is None:
        effect_sd = protocol.analysis.prior.effect_sd
    if effect_sd is None:
        if kind == "sceptical" and o.mcid is not None:
            effect_sd = float(o.mcid)
        elif o.value_range is not None and math.isfinite(o.value_range[1] - o.value_range[0]):
            effect_sd = (o.value_range[1] - o.value_range[0]) / 4.0
        else:
            effect_sd = 10.0 * float(np.std(y) or 1.0)
    m = float(protocol.analysis.prior.effect_mean)
    P0 = np.zeros((p, p))
    b0 = np.zeros(p)
    for j in range(1, 1 + len(others)):
        P0[j, j] = 1.0 / effect_sd**2
        b0[j] = m / effect_sd**2
    c = np.zeros(p)
    t, k = contrast
    if t != ref:
        c[1 + others.index(t)] += 1.0
    if k != ref:
        c[1 + others.index(k)] -= 1.0
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    s_hat = max(float(np.sqrt(np.sum(resid**2) / (n - p))), 1e-8 * (1.0 + float(np.std(y))))
    log_sigma = np.log(s_hat) + np.linspace(-7.0, 5.0, 1601)
    logw = np.empty_like(log_sigma)
    means = np.empty_like(log_sigma)
    sds = np.empty_like(log_sigma)
    XtX, Xty, yty = X.T @ X, X.T @ y, float(y @ y)
    for i, ls in enumerate(log_sigma):
        s2 = math.exp(2.0 * ls)
        A = XtX / s2 + P0
        b = Xty / s2 + b0
        L = np.linalg.cholesky(A)
        mu = np.linalg.solve(A, b)
        cov_c = c @ np.linalg.solve(A, c)
        means[i] = float(c @ mu)
        sds[i] = math.sqrt(max(cov_c, 0.0))
        # log p(y | σ) up to constants (flat intercept/trend, normal effects), times p(σ) ∝ 1/σ,
        # on a grid uniform in log σ (the 1/σ prior is flat in log σ)
        logw[i] = (-n * ls - 0.5 * (yty / s2 - float(b @ mu)) - float(np.sum(np.log(np.diag(L)))))
    weights = np.exp(logw - special.logsumexp(logw))
    fit = PeriodLevelFit(contrast=contrast, weights=weights, means=means, sds=sds, table=table,
                         seed=seed)
    a = (1.0 - ci_level) / 2.0
    est, lo, hi = fit.quantile(0.5), fit.quantile(a), fit.quantile(1.0 - a)
    from scipy import stats

    sign = -1.0 if o.better == "lower" else 1.0

    def prob_above(x: float) -> float:
        return float(np.sum(weights * stats.norm.sf((x - means) / sds)))

    p_pos = prob_above(0.0)
    extras: dict[str, Any] = {
        "scale": "outcome", "engine": "period_level",
        "prob_benefit": p_pos if sign > 0 else 1.0 - p_pos,
        "carryover_identifiable": False, "periods": n,
        "periods_by_condition": n_by, "washout_days": w, "trend": use_trend,
        "sigma_period": float(np.exp(np.sum(weights * log_sigma))),
        "prior": f"effect ~ Normal({m:g}, {effect_sd:g}); intercept flat; p(sigma) ∝ 1/sigma",
    }
    if o.mcid is not None:
        mc = float(o.mcid)
        up, down = prob_above(mc), 1.0 - prob_above(-mc)
        extras["prob_meaningful_benefit"] = up if sign > 0 else down
        extras["prob_meaningful_harm"] = down if sign > 0 else up
        extras["prob_negligible"] = max(0.0, 1.0 - up - down)
    notes = [
        f"{int(table['n'].max())} or fewer measurements per period: the onset/carryover term is "
        "not identifiable, so periods are compared as units (mean of the measurements after the "
        f"{w}-day washout; normal model over {n} periods, σ integrated exactly)",
    ]
    return MethodResult(method=name, outcome=o.name, contrast=contrast, estimate=est, ci_low=lo,
                        ci_high=hi, ci_level=ci_level, extras=extras, notes=tuple(notes), fit=fit)


# =========================================================================== classical counterparts
def _classical_days(trial_data: TrialData, o: Outcome, contrast: Contrast,
                    washout_days: int | None) -> tuple[pd.DataFrame, int]:
    protocol = trial_data.protocol
    if "participant" in trial_data.data.columns and trial_data.data["participant"].nunique() > 1:
        raise ValueError("a series of several participants: analyse one participant at a time")
    w = _washout(protocol, washout_days)
    frame = trial_data.outcome_frame(o.name)
    frame = frame[frame["day_in_period"].to_numpy() > w].reset_index(drop=True)
    frame["condition"] = frame["condition"].astype(object)
    return frame, w


def _design(frame: pd.DataFrame, protocol: Protocol, contrast: Contrast, use_trend: bool,
            const: bool) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Design matrix (condition indicators vs the reference, optional trend per 28 days)."""
    cond = frame["condition"].to_numpy()
    levels = [k for k in protocol.conditions if (cond == k).any()]
    ref = protocol.control if protocol.control in levels else levels[0]
    others = [k for k in levels if k != ref]
    cols = ([np.ones(len(frame))] if const else []) + [(cond == k).astype(float) for k in others]
    names = (["const"] if const else []) + others
    if use_trend:
        d = frame["day"].to_numpy(dtype=float)
        cols.append((d - d.mean()) / 28.0)
        names.append("trend")
    X = np.column_stack(cols) if cols else np.zeros((len(frame), 0))
    c = np.zeros(X.shape[1])
    off = 1 if const else 0
    t, k = contrast
    if t != ref:
        c[off + others.index(t)] += 1.0
    if k != ref:
        c[off + others.index(k)] -= 1.0
    return X, names, c


def newey_west_lags(n_days: int) -> int:
    """Newey–West automatic lag: floor(4·(N/100)^(2/9)) for a span of N days.

    Example:
        >>> newey_west_lags(56), newey_west_lags(112)
        (3, 4)
    """
    return int(math.floor(4.0 * (max(n_days, 1) / 100.0) ** (2.0 / 9.0)))


def hac_on_days(scores: np.ndarray, day: np.ndarray, bread: np.ndarray, maxlags: int) -> np.ndarray:
    """Sandwich covariance with Bartlett (Newey–West) weights on the calendar-day index.

    Scores of days without an observation are zero, so a lag of l means l calendar days. With
    consecutive days this equals statsmodels' ``cov_type="HAC"`` (no small-sample correction).

    Example:
        >>> s = np.array([[1.0], [-1.0], [0.5]])
        >>> hac_on_days(s, np.array([1, 2, 4]), np.eye(1), 0).item()
        2.25
    """
    day = np.asarray(day, dtype=np.int64)
    grid = np.zeros((int(day.max() - day.min()) + 1, scores.shape[1]))
    grid[day - day.min()] = scores
    S = grid.T @ grid
    for lag in range(1, maxlags + 1):
        g = grid[lag:].T @ grid[:-lag]
        S += (1.0 - lag / (maxlags + 1.0)) * (g + g.T)
    return bread @ S @ bread


def _glm_hac(name: str, family: str, trial_data: TrialData, outcome: Outcome | str,
             contrast: Contrast, ci_level: float, washout_days: int | None,
             trend: bool | str | None, maxlags: int | None) -> MethodResult:
    from scipy import stats

    o = _outcome(trial_data, outcome)
    protocol = trial_data.protocol
    problem = _contrast_problem(protocol, contrast)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    try:
        frame, w = _classical_days(trial_data, o, contrast, washout_days)
    except ValueError as err:
        return MethodResult.unavailable(name, o.name, contrast, str(err))
    y = frame["y"].to_numpy(dtype=float)
    codes, _, problem = _recode(family, o, y)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    cond = frame["condition"].to_numpy()
    for key in contrast:
        sel = cond == key
        if sel.sum() < 3:
            return MethodResult.unavailable(
                name, o.name, contrast,
                f"condition {key} has {int(sel.sum())} usable day(s) outside the {w}-day washout; "
                "at least 3 are needed")
        vals = y[sel]
        if family == "binary" and np.ptp(vals) == 0:
            return MethodResult.unavailable(
                name, o.name, contrast,
                f"perfect separation: every usable day of condition {key} is {int(vals[0])}, so the "
                "odds ratio is infinite or zero (no finite estimate)")
        if family == "count" and np.all(vals == 0):
            return MethodResult.unavailable(
                name, o.name, contrast,
                f"every usable day of condition {key} has a count of 0, so the rate ratio has no "
                "finite estimate")
    if np.ptp(y) == 0:
        return MethodResult.unavailable(name, o.name, contrast,
                                        f"all usable values are equal ({y[0]:g}): nothing to compare")
    use_trend = _trend_on(protocol, trend)
    X, names, c = _design(frame, protocol, contrast, use_trend, const=True)
    import statsmodels.api as sm

    fam = sm.families.Poisson() if family == "count" else sm.families.Binomial()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sm.GLM(y, X, family=fam).fit()
    except Exception as err:  # noqa: BLE001 - statsmodels raises many kinds (PerfectSeparation…)
        return MethodResult.unavailable(name, o.name, contrast, f"the GLM could not be fitted: {err}")
    beta = np.asarray(res.params, dtype=float)
    if not np.all(np.isfinite(beta)) or np.max(np.abs(beta[1:])) > 25:
        return MethodResult.unavailable(name, o.name, contrast,
                                        "(quasi-)perfect separation: the estimate diverges")
    mu = np.asarray(res.fittedvalues, dtype=float)
    day = frame["day"].to_numpy(dtype=np.int64)
    L = newey_west_lags(int(day.max() - day.min() + 1)) if maxlags is None else int(maxlags)
    weight = mu if family == "count" else mu * (1.0 - mu)
    H = X.T @ (weight[:, None] * X)
    bread = np.linalg.inv(H)
    cov = hac_on_days(X * (y - mu)[:, None], day, bread, L)
    est = float(c @ beta)
    se = float(math.sqrt(max(c @ cov @ c, 0.0)))
    if not (math.isfinite(se) and se > 0):
        return MethodResult.unavailable(name, o.name, contrast, "the standard error is not finite")
    z = float(stats.norm.ppf(0.5 + ci_level / 2.0))
    lo, hi = est - z * se, est + z * se
    p_value = float(2.0 * stats.norm.sf(abs(est / se)))
    # outcome-scale difference at the trend centre, delta method
    b_t = np.zeros_like(beta)
    b_c = np.zeros_like(beta)
    b_t[0] = b_c[0] = 1.0
    t, k = contrast
    for key, vec in ((t, b_t), (k, b_c)):
        if key in names:
            vec[names.index(key)] = 1.0
    eta_t, eta_c = float(b_t @ beta), float(b_c @ beta)
    if family == "count":
        m_t, m_c = math.exp(eta_t), math.exp(eta_c)
        grad = m_t * b_t - m_c * b_c
    else:
        m_t, m_c = 1.0 / (1.0 + math.exp(-eta_t)), 1.0 / (1.0 + math.exp(-eta_c))
        grad = m_t * (1 - m_t) * b_t - m_c * (1 - m_c) * b_c
    diff = m_t - m_c
    diff_se = float(math.sqrt(max(grad @ cov @ grad, 0.0)))
    key = "difference_per_day" if family == "count" else "risk_difference"
    extras: dict[str, Any] = {
        "scale": "log_rate_ratio" if family == "count" else "logit",
        "se": se, "hac_lags": L, "n_days": int(len(frame)),
        "n_days_by_condition": {k2: int((cond == k2).sum()) for k2 in dict.fromkeys(cond)},
        "washout_days": w, "trend": use_trend,
        key: {"estimate": diff, "ci_low": diff - z * diff_se, "ci_high": diff + z * diff_se},
    }
    ratio = {"estimate": math.exp(est), "ci_low": math.exp(lo), "ci_high": math.exp(hi)}
    notes = [f"Newey–West (Bartlett, {L} day lags) standard errors on the calendar-day index; "
             "Wald interval"]
    if family == "count":
        extras["rate_ratio"] = ratio
        dispersion = float(np.sum((y - mu) ** 2 / mu) / max(len(y) - X.shape[1], 1))
        extras["pearson_dispersion"] = dispersion
        notes.append(
            "Poisson quasi-likelihood: the rate ratio is consistent whatever the overdispersion and "
            "the sandwich SEs cover it (and autocorrelation), so a negative binomial fit is not "
            "needed for validity" + (f"; the counts are overdispersed (Pearson χ²/df = "
                                     f"{dispersion:.1f})" if dispersion > 1.5 else ""))
    else:
        extras["odds_ratio"] = ratio
    if w:
        notes.append(f"the first {w} day(s) of every period were left out as washout")
    if use_trend:
        notes.append("adjusted for a linear time trend")
    return MethodResult(method=name, outcome=o.name, contrast=contrast, estimate=est, ci_low=lo,
                        ci_high=hi, ci_level=ci_level, p_value=p_value, extras=extras,
                        notes=tuple(notes), fit=res)


@register_method(
    "count_glm_hac", outcome_types=("count",), order=25,
    description="Poisson GLM (log link) with Newey–West SEs on the day index; washout excluded",
)
def count_glm_hac(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    trend: bool | str | None = None,
    maxlags: int | None = None,
    **options: Any,
) -> MethodResult:
    """Log rate ratio (treatment vs control) from a Poisson GLM with HAC standard errors.

    Extras: ``scale`` (``log_rate_ratio``), ``rate_ratio`` and ``difference_per_day`` (events per
    day at the trend centre, delta method) with intervals, ``se``, ``hac_lags``,
    ``pearson_dispersion``. Unavailable when a condition has only zero counts.

    Example:
        >>> count_glm_hac(td, "awakenings", ("B", "A")).extras["rate_ratio"]   # doctest: +SKIP
        {'estimate': 0.7, 'ci_low': 0.52, 'ci_high': 0.94}
    """
    return _glm_hac("count_glm_hac", "count", trial_data, outcome, contrast, ci_level,
                    washout_days, trend, maxlags)


@register_method(
    "binary_glm_hac", outcome_types=("binary",), order=25,
    description="logistic GLM with Newey–West SEs on the day index; washout excluded",
)
def binary_glm_hac(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    trend: bool | str | None = None,
    maxlags: int | None = None,
    **options: Any,
) -> MethodResult:
    """Log odds ratio (treatment vs control) from a logistic GLM with HAC standard errors.

    Extras: ``scale`` (``logit``), ``odds_ratio`` and ``risk_difference`` (delta method) with
    intervals, ``se``, ``hac_lags``. Unavailable with perfect separation (a condition whose days
    are all 0 or all 1).

    Example:
        >>> binary_glm_hac(td, "slept_through", ("B", "A")).extras["odds_ratio"]  # doctest: +SKIP
        {'estimate': 2.1, 'ci_low': 1.1, 'ci_high': 4.0}
    """
    return _glm_hac("binary_glm_hac", "binary", trial_data, outcome, contrast, ci_level,
                    washout_days, trend, maxlags)


@register_method(
    "ordinal_po", outcome_types=("ordinal",), order=25,
    description="proportional-odds (cumulative logit) regression; ignores autocorrelation",
)
def ordinal_po(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    trend: bool | str | None = None,
    **options: Any,
) -> MethodResult:
    """Log cumulative odds ratio from statsmodels' ``OrderedModel`` (logit), Wald interval.

    Categories are the rating values observed (outside the washout). The model treats days as
    independent, so with autocorrelated days its interval is too narrow; the randomisation test
    is the design-based check. Unavailable when the ratings of the two conditions do not overlap
    (complete separation) or there is only one observed value.

    Example:
        >>> ordinal_po(td, "pain", ("B", "A")).extras["odds_ratio"]    # doctest: +SKIP
        {'estimate': 0.45, 'ci_low': 0.22, 'ci_high': 0.9}
    """
    from scipy import stats

    name = "ordinal_po"
    o = _outcome(trial_data, outcome)
    protocol = trial_data.protocol
    problem = _contrast_problem(protocol, contrast)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    try:
        frame, w = _classical_days(trial_data, o, contrast, washout_days)
    except ValueError as err:
        return MethodResult.unavailable(name, o.name, contrast, str(err))
    y = frame["y"].to_numpy(dtype=float)
    _, _, problem = _recode("ordinal", o, y)
    if problem:
        return MethodResult.unavailable(name, o.name, contrast, problem)
    cond = frame["condition"].to_numpy()
    for key in contrast:
        k = int((cond == key).sum())
        if k < 3:
            return MethodResult.unavailable(
                name, o.name, contrast,
                f"condition {key} has {k} usable day(s) outside the {w}-day washout; at least 3 "
                "are needed")
    values = np.unique(y)
    if values.size < 2:
        return MethodResult.unavailable(name, o.name, contrast,
                                        f"all usable ratings are equal ({values[0]:g})")
    yt, yc = y[cond == contrast[0]], y[cond == contrast[1]]
    if yt.max() < yc.min() or yc.max() < yt.min():
        return MethodResult.unavailable(
            name, o.name, contrast,
            "complete separation: every rating under one condition is below every rating under the "
            "other, so the odds ratio has no finite estimate")
    use_trend = _trend_on(protocol, trend)
    X, names, c = _design(frame, protocol, contrast, use_trend, const=False)
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    codes = np.searchsorted(values, y)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = OrderedModel(codes, X, distr="logit")
            res = model.fit(method="bfgs", disp=False, maxiter=2000)
    except Exception as err:  # noqa: BLE001 - statsmodels raises many kinds
        return MethodResult.unavailable(name, o.name, contrast, f"the model could not be fitted: {err}")
    beta = np.asarray(res.params, dtype=float)[: X.shape[1]]
    cov = np.asarray(res.cov_params(), dtype=float)[: X.shape[1], : X.shape[1]]
    est = float(c @ beta)
    se = float(math.sqrt(c @ cov @ c)) if np.all(np.isfinite(cov)) and c @ cov @ c > 0 else math.nan
    converged = bool(res.mle_retvals.get("converged", True))
    if not (math.isfinite(est) and math.isfinite(se)) or abs(est) > 20 or not converged:
        return MethodResult.unavailable(
            name, o.name, contrast,
            "the proportional-odds model did not converge to a finite estimate (quasi-complete "
            "separation or too few distinct ratings)")
    z = float(stats.norm.ppf(0.5 + ci_level / 2.0))
    lo, hi = est - z * se, est + z * se
    extras: dict[str, Any] = {
        "scale": "logit", "se": se,
        "odds_ratio": {"estimate": math.exp(est), "ci_low": math.exp(lo), "ci_high": math.exp(hi)},
        "n_days": int(len(frame)), "categories_observed": [int(v) for v in values],
        "washout_days": w, "trend": use_trend,
    }
    notes = [
        "proportional-odds regression (statsmodels OrderedModel, logit); treats days as "
        "independent, so with autocorrelated days the interval is too narrow — the randomisation "
        "test is the design-based check",
    ]
    if w:
        notes.append(f"the first {w} day(s) of every period were left out as washout")
    return MethodResult(method=name, outcome=o.name, contrast=contrast, estimate=est, ci_low=lo,
                        ci_high=hi, ci_level=ci_level,
                        p_value=float(2.0 * stats.norm.sf(abs(est / se))), extras=extras,
                        notes=tuple(notes), fit=res)
