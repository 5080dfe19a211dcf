"""Bayesian models of ordinal ratings, counts and yes/no outcomes (the ``bayes`` method's fit).

:func:`fit_bayes_discrete` — ordinal (cumulative logit), count (negative binomial) or binary
(logistic) model with the continuous model's onset/decay exposure and an AR(1) latent term
(:mod:`nof1.models.discrete_pymc`). It is not registered itself: the single registered ``bayes``
method (:mod:`nof1.analysis.bayes`) dispatches on the outcome type and calls it. The effect is on
the model scale (``extras['scale']``: ``logit`` or ``log_rate_ratio``, see
:mod:`nof1.analysis.effect`) plus the difference on the outcome's own scale
(``rating_difference``, ``difference_per_day`` or ``risk_difference``, named by
``extras['mcid_scale']``), on which the decision probabilities — and so the verdict — are
computed with :func:`nof1.analysis.effect.decision_probabilities`.

Which days enter the models depends on ``analysis.carryover``: ``model`` — every observed trial
day, τ estimated; ``exclude`` — washout days dropped, instant switch (τ = 0); ``none`` — every
day, instant switch. The run-in is not used (the exposure starts at 0 on the first trial day).

Example:
    >>> from nof1.analysis.discrete_bayes import fit_bayes_discrete
    >>> r = fit_bayes_discrete(td, "pain", ("B", "A"), draws=500, seed=1)    # doctest: +SKIP
    >>> r.extras["scale"], r.extras["rating_difference"]["estimate"]          # doctest: +SKIP
    ('logit', -1.1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nof1.analysis.base import Contrast, MethodResult
from nof1.analysis.classical import contrast_problem as _contrast_problem
from nof1.analysis.classical import resolve_outcome as _outcome
from nof1.analysis.classical import resolve_washout as _washout
from nof1.analysis.classical import trend_on as _trend_on
from nof1.analysis.discrete_periods import SPARSE_PER_PERIOD
from nof1.analysis.effect import decision_probabilities
from nof1.constants import CI_LEVEL

if TYPE_CHECKING:
    from nof1.data import TrialData
    from nof1.models.discrete_pymc import DiscretePosterior, DiscretePriors
    from nof1.protocol import Outcome, Protocol

__all__ = [
    "DiscreteFit",
    "SeriesSpec",
    "fit_bayes_discrete",
    "prepare_series",
    "recode",
]

#: Below this many observed days of a compared condition the models are not fitted.
MIN_DAYS_PER_CONDITION: int = 2
#: Sampler diagnostics: refit once (longer) when R-hat or bulk ESS miss these, give up above
#: ``RHAT_FAIL``.
RHAT_OK: float = 1.05
ESS_OK: float = 200.0
RHAT_FAIL: float = 1.1

#: The outcome-scale effect (a key of :data:`nof1.analysis.effect.OUTCOME_EFFECT_KEYS`) and the
#: model scale (a key of :data:`nof1.analysis.effect.SCALES`) of each family.
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


def recode(family: str, outcome: Outcome, y: np.ndarray) -> tuple[np.ndarray | None, int, str | None]:
    """Model codes of the observations, number of categories, or a reason they are unusable.

    Example:
        >>> recode("binary", outcome, np.array([0.0, 1.0, 1.0]))[0]     # doctest: +SKIP
        array([0, 1, 1])
    """
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
    codes, n_cat, problem = recode(family, o, y)
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
