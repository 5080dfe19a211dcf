"""Series of N-of-1 trials: pool several people's trials of one protocol.

:func:`pool` fits a hierarchical Bayesian model (:mod:`nof1.models.hierarchical`) to a
:class:`~nof1.data.TrialData` whose ``data`` has a ``participant`` column (each person on their
own calendar and randomised sequence). It reports, for each contrast (each treatment against
control, plus the protocol's ``analysis.contrasts``):

* ``population``: the population mean effect μ with its equal-tailed interval;
* ``between_sd``: the between-person sd of the effect;
* ``new_person``: the predictive distribution of the effect in a new person (μ + σ_between·z)
  and the probability that a new person benefits meaningfully (by more than the mcid);
* ``participants``: each person's shrunken (partially pooled) estimate next to their own
  single-trial estimate.

``method="mixedlm"`` is the classical counterpart: a linear mixed model with random intercepts
and slopes by participant (statsmodels ``MixedLM``, REML). It ignores autocorrelation and models
carryover only by dropping the washout days, so its intervals are too narrow when days are
autocorrelated; it is there for comparison.

Example:
    >>> import nof1
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")       # doctest: +SKIP
    >>> td = nof1.read_log("series_log.csv", p)                           # doctest: +SKIP
    >>> res = nof1.pool(td, seed=1)                                       # doctest: +SKIP
    >>> res.summary()                                                     # doctest: +SKIP
    >>> res.to_dict()["new_person"]["prob_meaningful_benefit"]           # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from nof1._version import __version__
from nof1.analysis.base import Contrast
from nof1.constants import DEFAULT_SEED, INTERVAL_KIND
from nof1.data import DataReport, TrialData
from nof1.errors import AnalysisError, DataError
from nof1.jsonsafe import json_safe
from nof1.seeds import task_seed
from nof1.trial_data import require_series, split_series

if TYPE_CHECKING:
    import xarray as xr

    from nof1.models.hierarchical import HierarchicalPriors, SeriesArrays
    from nof1.protocol import Outcome, Protocol

PoolMethod = Literal["bayes", "mixedlm"]
TauOption = Literal["shared", "pooled", "none"]
OwnOption = Literal["auto", "bayes", "gls_ar1", "model", "none"]

#: Outcome types the pooled models accept (ordinal ratings are treated as interval-scaled).
POOLABLE_TYPES = ("continuous", "ordinal")

MIXEDLM_NOTE = (
    "classical linear mixed model (random intercepts and slopes by participant, REML): ignores "
    "autocorrelation and carryover (washout days are dropped, nothing else), so its intervals "
    "are too narrow when days are autocorrelated; person-level intervals are conditional on the "
    "estimated variance components"
)


# --------------------------------------------------------------------------- series helpers
def series_from_trials(trials: Mapping[str, TrialData]) -> TrialData:
    """One series :class:`TrialData` from single trials of the same protocol, keyed by participant.

    Each trial keeps its own schedule (start date, randomised sequence); a ``participant``
    column is added in front.

    Example:
        >>> td = series_from_trials({"P01": td1, "P02": td2})   # doctest: +SKIP
        >>> td.participants                                      # doctest: +SKIP
        ['P01', 'P02']
    """
    if not trials:
        raise DataError("no trials to combine")
    protocols = {t.protocol.fingerprint for t in trials.values()}
    if len(protocols) != 1:
        raise DataError("the trials follow different protocols; a series needs one protocol")
    frames = []
    for pid, td in trials.items():
        d = td.data.drop(columns=["participant"], errors="ignore").copy()
        d.insert(0, "participant", str(pid))
        frames.append(d)
    data = pd.concat(frames, ignore_index=True)
    reports = [t.report for t in trials.values() if t.report is not None]
    report = DataReport(
        source="series",
        rows_read=sum(r.rows_read for r in reports),
        rows_used=sum(r.rows_used for r in reports),
        rows_dropped=sum(r.rows_dropped for r in reports),
        defects=[d for r in reports for d in r.defects],
        days_expected=sum(r.days_expected for r in reports),
        days_logged=sum(r.days_logged for r in reports),
        notes=[f"a series of {len(trials)} participants: {', '.join(map(str, trials))}"],
    )
    first = next(iter(trials.values()))
    return TrialData(protocol=first.protocol, data=data, report=report, start=None, source="series")


# --------------------------------------------------------------------------- summaries
def contrast_vector(contrast: Contrast, protocol: Protocol) -> np.ndarray:
    """Weights over ``protocol.treatments`` giving ``contrast`` (X minus Y) as a combination of
    treatment-vs-control effects.

    Example:
        >>> contrast_vector(("C", "B"), p)   # treatments [B, C]   # doctest: +SKIP
        array([-1.,  1.])
    """
    treatments = protocol.treatments
    c = np.zeros(len(treatments))
    x, y = contrast
    if x != protocol.control:
        c[treatments.index(x)] += 1.0
    if y != protocol.control:
        c[treatments.index(y)] -= 1.0
    return c


def summarise_draws(draws: np.ndarray, outcome: Outcome, ci_level: float, *, probs: bool = True
                    ) -> dict[str, Any]:
    """Posterior median, equal-tailed interval and the decision probabilities of effect draws
    (:func:`nof1.analysis.effect.decision_probabilities`: all four keys, the last three None
    without an mcid).

    Example:
        >>> summarise_draws(np.array([-2.0, -1.0, 0.5]), outcome, 0.95)["prob_benefit"]  # doctest: +SKIP
        0.6666666666666666
    """
    d = np.asarray(draws, dtype=float).ravel()
    lo, hi = (1 - ci_level) / 2, 1 - (1 - ci_level) / 2
    out: dict[str, Any] = {
        "estimate": float(np.median(d)),
        "ci_low": float(np.quantile(d, lo)),
        "ci_high": float(np.quantile(d, hi)),
        "ci_level": ci_level,
    }
    if probs:
        from nof1.analysis.effect import decision_probabilities

        out.update(decision_probabilities(d, outcome.better, outcome.mcid))
    return out


def _normal_summary(est: float, se: float, ci_level: float) -> dict[str, Any]:
    from scipy import stats

    z = float(stats.norm.ppf(1 - (1 - ci_level) / 2))
    return {"estimate": float(est), "ci_low": float(est - z * se), "ci_high": float(est + z * se),
            "ci_level": ci_level, "se": float(se)}


# --------------------------------------------------------------------------- result
@dataclass
class ContrastPool:
    """Pooled results of one contrast (``label`` such as ``B-A``)."""

    label: str
    contrast: Contrast
    population: dict[str, Any]
    between_sd: dict[str, Any]
    new_person: dict[str, Any]
    participants: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"population": self.population, "between_sd": self.between_sd,
                "new_person": self.new_person, "participants": self.participants}


@dataclass
class PooledResult:
    """The result of :func:`pool`.

    ``contrasts`` maps a contrast label (``"B-A"``) to its :class:`ContrastPool`; the first is
    each result's default. ``posterior`` is the DataTree of the Bayesian fit (None for
    ``mixedlm``), ``fit`` the statsmodels result of ``mixedlm``.

    Example:
        >>> res = nof1.pool(td, seed=1, draws=500)        # doctest: +SKIP
        >>> res.summary().query("kind == 'population'")   # doctest: +SKIP
        >>> res.save("pooled.nc")                          # doctest: +SKIP
    """

    protocol: Protocol
    outcome: Outcome
    method: PoolMethod
    seed: int
    ci_level: float
    contrasts: dict[str, ContrastPool]
    participants: list[str]
    n_days: dict[str, int]
    own_method: str | None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    model_extras: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    data_hash: str | None = None
    posterior: xr.DataTree | None = field(default=None, repr=False)
    fit: Any = field(default=None, repr=False)

    # ------------------------------------------------------------------ access
    @property
    def default_contrast(self) -> str:
        return next(iter(self.contrasts))

    def __getitem__(self, label: str) -> ContrastPool:
        return self.contrasts[label]

    @property
    def population(self) -> dict[str, Any]:
        """Population mean effect of the first contrast."""
        return self.contrasts[self.default_contrast].population

    @property
    def between_sd(self) -> dict[str, Any]:
        return self.contrasts[self.default_contrast].between_sd

    @property
    def new_person(self) -> dict[str, Any]:
        return self.contrasts[self.default_contrast].new_person

    # ------------------------------------------------------------------ tables
    def summary(self) -> pd.DataFrame:
        """One row per contrast × (participant, population, between_sd, new_person).

        Participant rows hold the shrunken estimate and, in ``own_*`` columns, the person's own
        single-trial estimate.
        """
        rows: list[dict[str, Any]] = []
        keys = ("estimate", "ci_low", "ci_high", "ci_level", "prob_benefit",
                "prob_meaningful_benefit", "prob_meaningful_harm")
        for label, cp in self.contrasts.items():
            for pid, entry in cp.participants.items():
                own = entry.get("own") or {}
                row = {"contrast": label, "participant": pid, "kind": "participant"}
                row.update({k: entry.get(k) for k in keys})
                row.update({"own_estimate": own.get("estimate"), "own_ci_low": own.get("ci_low"),
                            "own_ci_high": own.get("ci_high"), "own_method": own.get("method")})
                rows.append(row)
            for kind in ("population", "between_sd", "new_person"):
                entry = getattr(cp, kind)
                row = {"contrast": label, "participant": kind, "kind": kind}
                row.update({k: entry.get(k) for k in keys})
                rows.append(row)
        cols = ["contrast", "participant", "kind", *keys, "own_estimate", "own_ci_low",
                "own_ci_high", "own_method"]
        return pd.DataFrame(rows, columns=cols)

    def forest_data(self, contrast: str | None = None) -> pd.DataFrame:
        """Tidy rows for a forest plot: each participant's own and shrunken estimate, then the
        population mean and the new-person predictive.

        Columns: ``contrast``, ``participant``, ``kind`` (``own``, ``shrunken``, ``population``,
        ``new_person``), ``estimate``, ``ci_low``, ``ci_high``, ``ci_level``, ``method``. All
        contrasts unless one is named.
        """
        rows: list[dict[str, Any]] = []
        labels = [contrast] if contrast is not None else list(self.contrasts)
        for label in labels:
            if label not in self.contrasts:
                raise AnalysisError(f"no contrast '{label}' (contrasts: {', '.join(self.contrasts)})")
            cp = self.contrasts[label]
            for pid, entry in cp.participants.items():
                own = entry.get("own") or {}
                if own.get("estimate") is not None:
                    rows.append({"contrast": label, "participant": pid, "kind": "own",
                                 "estimate": own["estimate"], "ci_low": own.get("ci_low"),
                                 "ci_high": own.get("ci_high"), "ci_level": own.get("ci_level"),
                                 "method": own.get("method")})
                rows.append({"contrast": label, "participant": pid, "kind": "shrunken",
                             "estimate": entry["estimate"], "ci_low": entry.get("ci_low"),
                             "ci_high": entry.get("ci_high"), "ci_level": entry.get("ci_level"),
                             "method": self.method})
            for kind in ("population", "new_person"):
                e = getattr(cp, kind)
                rows.append({"contrast": label, "participant": kind, "kind": kind,
                             "estimate": e["estimate"], "ci_low": e.get("ci_low"),
                             "ci_high": e.get("ci_high"), "ci_level": e.get("ci_level"),
                             "method": self.method})
        return pd.DataFrame(rows, columns=["contrast", "participant", "kind", "estimate",
                                           "ci_low", "ci_high", "ci_level", "method"])

    def to_dict(self) -> dict[str, Any]:
        """JSON of ``nof1 pool --json``: the first contrast at the top level (``population``,
        ``between_sd``, ``new_person``, ``participants``), every contrast under ``contrasts``."""
        first = self.contrasts[self.default_contrast]
        o = self.outcome
        out: dict[str, Any] = {
            "nof1_version": __version__,
            "protocol": {"id": self.protocol.id, "fingerprint": self.protocol.fingerprint},
            "outcome": {"name": o.name, "type": o.type, "better": o.better, "mcid": o.mcid,
                        "label": o.display},
            "method": self.method,
            "own_method": self.own_method,
            "interval": INTERVAL_KIND,
            "contrast": first.label,
            **first.to_dict(),
            "contrasts": {label: cp.to_dict() for label, cp in self.contrasts.items()},
            "model": self.model_extras,
            "n_participants": len(self.participants),
            "n_days": self.n_days,
            "diagnostics": self.diagnostics,
            "seed": self.seed,
            "settings": self.settings,
            "notes": self.notes,
            "reproducibility": {"seed": self.seed, "protocol_fingerprint": self.protocol.fingerprint,
                                "data_hash": self.data_hash},
        }
        return json_safe(out)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def save(self, path: str | Path) -> Path:
        """Write the posterior (DataTree) and this summary (root attribute ``nof1_pooled``) to a
        netCDF file. Only for ``method="bayes"``."""
        if self.posterior is None:
            raise AnalysisError(f"method '{self.method}' has no posterior to save; use to_json()")
        path = Path(path)
        tree = self.posterior.copy()
        tree.attrs = {**tree.attrs, "nof1_pooled": self.to_json(indent=None),
                      "nof1_version": __version__}
        from nof1.outputs import write_atomic

        return write_atomic(path, lambda tmp: tree.to_netcdf(tmp), force=True)


# --------------------------------------------------------------------------- data → arrays
def _check_outcome(protocol: Protocol, outcome: str | None) -> Outcome:
    if outcome is None:
        return protocol.primary
    try:
        o = protocol.outcome(outcome)
    except KeyError as err:
        raise AnalysisError(str(err.args[0])) from None
    if o.type not in POOLABLE_TYPES:
        raise AnalysisError(
            f"pooling models continuous (and ordinal, as interval-scaled) outcomes; '{o.name}' is "
            f"{o.type}"
        )
    return o


def _trend_on(protocol: Protocol) -> bool:
    from nof1.analysis.classical import trend_on

    return trend_on(protocol, None)


def _observations(trial_data: TrialData, outcome: Outcome, *, drop_washout: bool) -> pd.DataFrame:
    d = trial_data.data
    keep = (d["phase"] == "trial") & d[outcome.name].notna()
    if drop_washout:
        keep &= ~d["washout"].astype(bool)
    return d.loc[keep]


def series_arrays(
    trial_data: TrialData, outcome: Outcome, *, drop_washout: bool, trend: bool
) -> SeriesArrays:
    """The padded (participant × day) arrays of the hierarchical model for one outcome.

    The day axis is each participant's own ``day`` (run-in included, so exposure starts at 0 on
    the first trial day); the daily treatment indicator comes from ``condition_taken``.
    """
    from nof1.models.hierarchical import SeriesArrays

    protocol = trial_data.protocol
    d = trial_data.data
    parts = trial_data.participants
    index = {p: i for i, p in enumerate(parts)}
    pidx = d["participant"].astype(str).map(index).to_numpy(dtype=np.int64)
    days = d["day"].to_numpy(dtype=np.int64)
    n_days = int(days.max())
    code_of = {protocol.control: 0, **{t: k + 1 for k, t in enumerate(protocol.treatments)}}
    taken = d["condition_taken"].astype(object).to_numpy()
    trial = (d["phase"] == "trial").to_numpy()
    codes = np.full((len(parts), n_days), -1, dtype=np.int64)
    cvals = np.array([code_of.get(c, -1) if isinstance(c, str) else -1 for c in taken])
    codes[pidx[trial], days[trial] - 1] = cvals[trial]
    trend_grid = None
    if trend:
        trend_grid = np.zeros((len(parts), n_days))
        for i in range(len(parts)):
            tdays = days[(pidx == i) & trial]
            if tdays.size:
                lo, hi = float(tdays.min()), float(tdays.max())
                half = max((hi - lo) / 2.0, 1.0)
                trend_grid[i] = (np.arange(1, n_days + 1) - (lo + hi) / 2.0) / half
    obs = _observations(trial_data, outcome, drop_washout=drop_washout)
    if obs.empty:
        raise DataError(f"no observed values of '{outcome.name}' on trial days", source=trial_data.source)
    missing = [p for p in parts if p not in set(obs["participant"].astype(str))]
    if missing:
        raise DataError(
            f"participant(s) {', '.join(missing)} have no observed '{outcome.name}' on trial days",
            source=trial_data.source,
        )
    try:
        return SeriesArrays.build(
            obs["participant"].astype(str).map(index).to_numpy(dtype=np.int64),
            obs["day"].to_numpy(dtype=np.int64) - 1,
            obs[outcome.name].to_numpy(dtype=float),
            codes, participants=parts, treatments=protocol.treatments, trend=trend_grid,
        )
    except ValueError as err:
        raise DataError(str(err), source=trial_data.source) from None


def default_priors(protocol: Protocol, outcome: Outcome, y: np.ndarray) -> HierarchicalPriors:
    """Priors of the pooled model from the protocol's ``analysis.prior`` and the outcome.

    The effect prior matches the single-trial Bayesian model: Normal(effect_mean, sd) with sd =
    ``prior.effect_sd``, else the mcid for ``sceptical``, else range/4 (2 × the data sd when the
    outcome has no range). The between-person sd is half-normal with half that scale; baselines
    are centred on the data mean (sd range/2); residual sds are half-normal(range/4).
    """
    from nof1.models.hierarchical import HierarchicalPriors

    pr = protocol.analysis.prior
    vr = outcome.value_range
    width = (vr[1] - vr[0]) if vr is not None and all(map(math.isfinite, vr)) else None
    sd_y = float(np.std(y)) if y.size > 1 and np.std(y) > 0 else 1.0
    scale = width / 4.0 if width else 2.0 * sd_y
    if pr.effect_sd is not None:
        effect_sd = float(pr.effect_sd)
    elif pr.kind == "sceptical" and outcome.mcid is not None:
        effect_sd = float(outcome.mcid)
    else:
        effect_sd = scale
    tp = protocol.analysis.tau_prior
    return HierarchicalPriors(
        effect_mean=float(pr.effect_mean), effect_sd=effect_sd, between_sd_scale=effect_sd / 2.0,
        baseline_mean=float(np.mean(y)), baseline_sd=(width / 2.0 if width else 5.0 * sd_y),
        sigma_scale=float(pr.sigma_scale) if pr.sigma_scale is not None else scale,
        tau_median=float(tp.median), tau_sigma=float(tp.sigma), trend_sd=scale,
    )


# --------------------------------------------------------------------------- own fits
def _own_with_method(single: TrialData, *, seed: int, outcome: str, method: str,
                     options: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A participant's own single-trial result for every contrast, with one registered method."""
    from nof1.analysis.core import analyze

    res = analyze(single, outcomes=[outcome], methods=[method], seed=seed, **dict(options))
    out: dict[str, dict[str, Any]] = {}
    for label, by_method in res.results[outcome].items():
        r = by_method[method]
        if not r.available:
            out[label] = {"method": method, "available": False, "reason": r.reason}
            continue
        e: dict[str, Any] = {"method": method, "estimate": r.estimate, "ci_low": r.ci_low,
                             "ci_high": r.ci_high, "ci_level": r.ci_level}
        for k in ("prob_benefit", "prob_meaningful_benefit", "prob_meaningful_harm"):
            if k in r.extras:
                e[k] = r.extras[k]
        out[label] = e
    return out


def _choose_own(own: OwnOption, first: TrialData, outcome: str, seed: int) -> tuple[str, dict[str, Any]]:
    """Pick the single-trial method: the exact ``bayes`` engine, else ``gls_ar1``, else the
    model without pooling."""
    from nof1.analysis.base import registered_methods

    if own in ("model", "none"):
        return own, {}
    registry = registered_methods()
    candidates: list[tuple[str, dict[str, Any]]] = []
    if own in ("auto", "bayes") and "bayes" in registry:
        candidates.append(("bayes", {"engine": "exact"}))
    if own in ("auto", "gls_ar1") and "gls_ar1" in registry:
        candidates.append(("gls_ar1", {}))
    for name, opts in candidates:
        try:
            trial = _own_with_method(first, seed=seed, outcome=outcome, method=name, options=opts)
        except (TypeError, AnalysisError):
            continue
        if any(e.get("estimate") is not None for e in trial.values()):
            return name, opts
    if own in ("bayes", "gls_ar1"):
        raise AnalysisError(f"the single-trial method '{own}' is not available for this outcome")
    return "model", {}


def own_estimates(
    trial_data: TrialData, outcome: Outcome, *, seed: int, own: OwnOption = "auto",
    client: Any = None, fit_kwargs: Mapping[str, Any] | None = None,
) -> tuple[str | None, dict[str, dict[str, dict[str, Any]]]]:
    """Each participant's own single-trial estimates: ``(method, {pid: {contrast: entry}})``."""
    from nof1.distributed import map_participants

    parts = split_series(trial_data)
    if own == "none":
        return None, {}
    method, opts = _choose_own(own, next(iter(parts.values())), outcome.name, task_seed(seed, "own"))
    if method != "model":
        res = map_participants(_own_task, trial_data, client=client, seed=task_seed(seed, "own"),
                               outcome=outcome.name, method=method, options=opts)
        return method, res
    return "model_no_pooling", _own_model_fit(trial_data, outcome, seed=seed,
                                              fit_kwargs=fit_kwargs or {})


def _own_task(single: TrialData, *, seed: int, outcome: str, method: str,
              options: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return _own_with_method(single, seed=seed, outcome=outcome, method=method, options=options)


def _bayes_setup(trial_data: TrialData, outcome: Outcome, tau: TauOption | None,
                 overrides: Mapping[str, float] | None = None,
                 ) -> tuple[SeriesArrays, HierarchicalPriors, TauOption, bool]:
    import dataclasses

    protocol = trial_data.protocol
    carry = protocol.analysis.carryover
    drop_washout = carry == "exclude" and protocol.design.washout_days > 0
    tau_mode: TauOption = tau if tau is not None else ("shared" if carry == "model" else "none")
    arrays = series_arrays(trial_data, outcome, drop_washout=drop_washout, trend=_trend_on(protocol))
    priors = default_priors(protocol, outcome, arrays.y)
    if overrides:
        known = {f.name for f in dataclasses.fields(priors)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise AnalysisError(f"unknown prior setting(s) {', '.join(unknown)} "
                                f"(known: {', '.join(sorted(known))})")
        priors = dataclasses.replace(priors, **{k: float(v) for k, v in overrides.items()})
    return arrays, priors, tau_mode, drop_washout


def series_model_inputs(trial_data: TrialData, outcome: Outcome, tau: TauOption | None = None,
                        prior_overrides: Mapping[str, float] | None = None,
                        ) -> tuple[SeriesArrays, HierarchicalPriors, TauOption]:
    """The series model's arrays, priors and τ mode for ``outcome``, exactly as :func:`pool`
    fits them (for benchmarks and for fitting :mod:`nof1.models.hierarchical` directly).

    Example:
        >>> arrays, priors, tau = series_model_inputs(td, td.protocol.outcomes[0])  # doctest: +SKIP
    """
    arrays, priors, tau_mode, _drop = _bayes_setup(trial_data, outcome, tau, prior_overrides)
    return arrays, priors, tau_mode


def _own_model_fit(trial_data: TrialData, outcome: Outcome, *, seed: int,
                   fit_kwargs: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Own estimates from the same model without pooling (every person independent)."""
    from nof1.analysis.base import contrasts_for
    from nof1.models.hierarchical import fit_series

    protocol = trial_data.protocol
    arrays, priors, tau_mode, _ = _bayes_setup(trial_data, outcome, fit_kwargs.get("tau"),
                                               fit_kwargs.get("priors"))
    kw = {k: v for k, v in fit_kwargs.items() if k in ("draws", "tune", "chains", "cores")}
    tree = fit_series(arrays, priors, tau=tau_mode, pooled=False, seed=task_seed(seed, "nopool"), **kw)
    beta = _stack(tree, "beta")                                        # (S, N, K)
    ci = protocol.analysis.ci_level
    out: dict[str, dict[str, dict[str, Any]]] = {p: {} for p in arrays.participants}
    for contrast in contrasts_for(protocol):
        c = contrast_vector(contrast, protocol)
        label = f"{contrast[0]}-{contrast[1]}"
        draws = beta @ c
        for i, p in enumerate(arrays.participants):
            out[p][label] = {"method": "model_no_pooling",
                             **summarise_draws(draws[:, i], outcome, ci)}
    return out


def _stack(tree: xr.DataTree, name: str) -> np.ndarray:
    """Posterior draws of ``name`` with chain and draw stacked in front: (S, ...)."""
    da = tree["posterior"][name]
    arr = np.asarray(da.values, dtype=float)
    return arr.reshape(-1, *arr.shape[2:])


# --------------------------------------------------------------------------- pool
def pool(
    trial_data: TrialData,
    *,
    outcome: str | None = None,
    seed: int | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    cores: int | None = None,
    tau: TauOption | None = None,
    method: PoolMethod = "bayes",
    own: OwnOption = "auto",
    target_accept: float | None = None,
    client: Any = None,
    progressbar: bool = False,
    priors: Mapping[str, float] | None = None,
) -> PooledResult:
    """Pool a series of N-of-1 trials of one protocol.

    Args:
        trial_data: a series (``data`` has a ``participant`` column, at least two people).
        outcome: outcome name (default: the primary outcome); continuous or ordinal.
        seed: seed of every random step (default: the project's default seed).
        draws, tune, chains, cores, target_accept: NUTS settings (``cores`` is ignored: the
            chains run one per core at once; results do not depend on it). ``target_accept``
            default: 0.8, sampled again at 0.95 after divergent transitions
            (:func:`~nof1.models.hierarchical.fit_series`).
        tau: carryover time constant: ``shared`` (one for everyone), ``pooled`` (partially
            pooled ``log tau_i``) or ``none`` (instant switch). Default: ``shared`` when the
            protocol's ``analysis.carryover`` is ``model``, else ``none``. With ``exclude`` the
            washout days are dropped.
        method: ``bayes`` (hierarchical model) or ``mixedlm`` (classical linear mixed model,
            which ignores autocorrelation and carryover).
        own: each person's own single-trial estimate: ``auto`` (the exact ``bayes`` method if
            registered, else ``gls_ar1``, else the same model without pooling), a method name,
            ``model``, or ``none``.
        client: a ``dask.distributed.Client`` to run the own fits on (else locally).
        priors: overrides of the default priors (:func:`default_priors`), by field name of
            :class:`~nof1.models.hierarchical.HierarchicalPriors`, e.g.
            ``{"between_sd_scale": 0.5, "sigma_scale": 1.0}`` for a prior-sensitivity rerun.

    Example:
        >>> res = pool(td, seed=1, draws=500, tune=500)                # doctest: +SKIP
        >>> res.population["estimate"], res.new_person["prob_meaningful_benefit"]  # doctest: +SKIP
    """
    require_series(trial_data)
    protocol = trial_data.protocol
    o = _check_outcome(protocol, outcome)
    seed = DEFAULT_SEED if seed is None else int(seed)
    if method not in ("bayes", "mixedlm"):
        raise AnalysisError(f"method must be 'bayes' or 'mixedlm', got {method!r}")
    if tau is not None and tau not in ("shared", "pooled", "none"):
        raise AnalysisError(f"tau must be 'shared', 'pooled' or 'none', got {tau!r}")
    if own not in ("auto", "bayes", "gls_ar1", "model", "none"):
        raise AnalysisError(f"own must be auto, bayes, gls_ar1, model or none, got {own!r}")
    if priors and method == "mixedlm":
        raise AnalysisError("priors apply to method 'bayes' only")
    fit_kwargs = {"draws": draws, "tune": tune, "chains": chains, "cores": cores, "tau": tau,
                  "priors": priors}
    if method == "mixedlm":
        result = _pool_mixedlm(trial_data, o, seed=seed)
    else:
        result = _pool_bayes(trial_data, o, seed=seed, draws=draws, tune=tune, chains=chains,
                             cores=cores, tau=tau, target_accept=target_accept,
                             progressbar=progressbar, prior_overrides=priors)
    own_method, own_res = own_estimates(trial_data, o, seed=seed, own=own, client=client,
                                        fit_kwargs=fit_kwargs)
    result.own_method = own_method
    for label, cp in result.contrasts.items():
        for pid, entry in cp.participants.items():
            entry["own"] = own_res.get(pid, {}).get(label)
    return result


def _base_notes(trial_data: TrialData, outcome: Outcome) -> list[str]:
    notes = []
    if outcome.type == "ordinal":
        notes.append(f"'{outcome.name}' is ordinal; the pooled model treats its ratings as "
                     "interval-scaled")
    if outcome.mcid is None:
        notes.append(f"'{outcome.name}' has no mcid: no meaningful-benefit probabilities")
    return notes


def _pool_bayes(
    trial_data: TrialData, o: Outcome, *, seed: int, draws: int, tune: int, chains: int,
    cores: int | None, tau: TauOption | None, target_accept: float | None, progressbar: bool,
    prior_overrides: Mapping[str, float] | None = None,
) -> PooledResult:
    from nof1.analysis.base import contrasts_for
    from nof1.models.hierarchical import diagnostics, fit_series

    protocol = trial_data.protocol
    ci = protocol.analysis.ci_level
    arrays, priors, tau_mode, drop_washout = _bayes_setup(trial_data, o, tau, prior_overrides)
    if chains < 2:
        raise AnalysisError("at least 2 chains are needed to check convergence (r_hat)")
    tree = fit_series(arrays, priors, tau=tau_mode, pooled=True, draws=draws, tune=tune,
                      chains=chains, cores=cores, seed=seed, target_accept=target_accept,
                      progressbar=progressbar)
    mu = _stack(tree, "mu")                                              # (S, K)
    beta = _stack(tree, "beta")                                          # (S, N, K)
    beta_new = _stack(tree, "beta_new")                                  # (S, K)
    k = arrays.n_treatments
    if k == 1:
        cov = _stack(tree, "between_sd")[:, :, None] ** 2                # (S, 1, 1)
    else:
        cov = _stack(tree, "between_cov")                                # (S, K, K)
    contrasts: dict[str, ContrastPool] = {}
    for contrast in contrasts_for(protocol):
        c = contrast_vector(contrast, protocol)
        label = f"{contrast[0]}-{contrast[1]}"
        between = np.sqrt(np.einsum("i,sij,j->s", c, cov, c))
        parts = {p: summarise_draws(beta[:, i, :] @ c, o, ci)
                 for i, p in enumerate(arrays.participants)}
        contrasts[label] = ContrastPool(
            label=label, contrast=contrast,
            population=summarise_draws(mu @ c, o, ci),
            between_sd=summarise_draws(between, o, ci, probs=False),
            new_person=summarise_draws(beta_new @ c, o, ci),
            participants=parts,
        )
    diag = diagnostics(tree)
    extras: dict[str, Any] = {
        "description": "hierarchical Bayesian model: person-level baselines, effects beta_i = "
        "mu + L z_i (non-centred), AR(1) errors with partially pooled phi_i and gaps on the "
        "calendar-day index, first-order onset/decay exposure",
        "carryover": protocol.analysis.carryover,
        "tau_mode": tau_mode,
        "washout_days_dropped": drop_washout,
        "trend": arrays.trend is not None,
        "priors": priors.__dict__,
    }
    if tau_mode == "shared":
        extras["tau"] = summarise_draws(_stack(tree, "tau"), o, ci, probs=False)
    elif tau_mode == "pooled":
        extras["tau_pop"] = summarise_draws(_stack(tree, "tau_pop"), o, ci, probs=False)
        extras["tau_between_sd_log"] = summarise_draws(_stack(tree, "tau_between_sd"), o, ci,
                                                       probs=False)
    extras["phi_pop"] = summarise_draws(_stack(tree, "phi_pop"), o, ci, probs=False)
    extras["phi_between_sd_atanh"] = summarise_draws(_stack(tree, "phi_between_sd"), o, ci,
                                                     probs=False)
    if k > 1:
        corr = _stack(tree, "between_corr")
        extras["between_corr"] = {
            f"{a}~{b}": summarise_draws(corr[:, i, j], o, ci, probs=False)
            for i, a in enumerate(protocol.treatments) for j, b in enumerate(protocol.treatments)
            if i < j
        }
    notes = _base_notes(trial_data, o) + list(diag["warnings"])
    post_attrs = tree["posterior"].attrs
    if post_attrs.get("retried"):
        notes.append(str(post_attrs["retried"]))
    return PooledResult(
        protocol=protocol, outcome=o, method="bayes", seed=seed, ci_level=ci,
        contrasts=contrasts, participants=list(arrays.participants),
        n_days={p: int(np.sum(arrays.participant == i)) for i, p in enumerate(arrays.participants)},
        own_method=None, diagnostics=diag,
        settings={"draws": draws, "tune": tune, "chains": chains,
                  "target_accept": float(post_attrs.get("target_accept", target_accept or 0.0)),
                  "tau": tau_mode, "prior_overrides": dict(prior_overrides or {})},
        model_extras=extras, notes=notes, data_hash=trial_data.data_hash, posterior=tree,
    )


# --------------------------------------------------------------------------- mixedlm
def mixedlm_frame(trial_data: TrialData, outcome: Outcome) -> pd.DataFrame:
    """Rows of the classical mixed model: participant, y and one 0/1 column per treatment
    (``x_<key>``, what was taken that day; washout days dropped unless carryover is ``none``)."""
    protocol = trial_data.protocol
    drop = protocol.analysis.carryover != "none" and protocol.design.washout_days > 0
    obs = _observations(trial_data, outcome, drop_washout=drop)
    obs = obs[obs["condition_taken"].isin(list(protocol.conditions))]
    frame = pd.DataFrame({"participant": obs["participant"].astype(str).to_numpy(),
                          "y": obs[outcome.name].to_numpy(dtype=float)})
    taken = obs["condition_taken"].astype(str).to_numpy()
    for t in protocol.treatments:
        frame[f"x_{t}"] = (taken == t).astype(float)
    return frame


def fit_mixedlm(frame: pd.DataFrame, treatments: Sequence[str]) -> tuple[Any, list[str]]:
    """statsmodels MixedLM (REML) of ``y ~ 1 + x_k`` with random intercepts and slopes."""
    from statsmodels.regression.mixed_linear_model import MixedLM
    from statsmodels.tools.tools import add_constant

    cols = [f"x_{t}" for t in treatments]
    exog = add_constant(frame[cols], has_constant="add")
    model = MixedLM(frame["y"], exog, groups=frame["participant"], exog_re=exog)
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fit = model.fit(reml=True, method=["lbfgs", "powell"])
    converged = bool(getattr(fit, "converged", True))
    for item in w:
        msg = str(item.message).strip().splitlines()[0]
        retry_noise = msg.startswith("Retrying MixedLM") or "failed to converge" in msg
        if converged and retry_noise:
            continue     # the first optimiser gave up but a later one converged
        if msg not in caught:
            caught.append(msg)
    if not converged:
        caught.append("MixedLM did not converge: treat its numbers with suspicion")
    return fit, caught


def henderson_pev(fit: Any, frame: pd.DataFrame, treatments: Sequence[str]
                  ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Solve Henderson's mixed model equations at the REML variance components.

    Returns the solution vector ``[beta_hat; b_hat]`` (fixed effects, then each group's random
    effects), its prediction-error covariance matrix, and the group order. ``fixed + b_i`` is a
    person's BLUP; its interval uses this covariance (conditional on the variance components).
    """
    cols = ["const", *[f"x_{t}" for t in treatments]]
    x = np.column_stack([np.ones(len(frame)), frame[cols[1:]].to_numpy(dtype=float)])
    groups = list(dict.fromkeys(frame["participant"].astype(str)))
    gi = frame["participant"].astype(str).map({g: i for i, g in enumerate(groups)}).to_numpy()
    q = x.shape[1]
    z = np.zeros((len(frame), len(groups) * q))
    for j in range(q):
        z[np.arange(len(frame)), gi * q + j] = x[:, j]
    s2 = float(fit.scale)
    psi = np.asarray(fit.cov_re, dtype=float)
    psi_inv = np.linalg.pinv(psi)
    g_inv = np.kron(np.eye(len(groups)), psi_inv)
    y = frame["y"].to_numpy(dtype=float)
    top = np.hstack([x.T @ x, x.T @ z]) / s2
    bottom = np.hstack([z.T @ x / s2, z.T @ z / s2 + g_inv])
    lhs = np.vstack([top, bottom])
    rhs = np.concatenate([x.T @ y, z.T @ y]) / s2
    c = np.linalg.pinv(lhs)
    return c @ rhs, c, groups


def _pool_mixedlm(trial_data: TrialData, o: Outcome, *, seed: int) -> PooledResult:
    from scipy import stats

    from nof1.analysis.base import contrasts_for

    protocol = trial_data.protocol
    ci = protocol.analysis.ci_level
    treatments = protocol.treatments
    frame = mixedlm_frame(trial_data, o)
    missing = [p for p in trial_data.participants if p not in set(frame["participant"])]
    if missing:
        raise DataError(f"participant(s) {', '.join(missing)} have no observed '{o.name}' on "
                        "trial days", source=trial_data.source)
    fit, caught = fit_mixedlm(frame, treatments)
    names = [f"x_{t}" for t in treatments]
    fe = np.asarray(fit.fe_params[names], dtype=float)
    v_fe = np.asarray(fit.cov_params().loc[names, names], dtype=float)
    psi = np.asarray(fit.cov_re, dtype=float)[1:, 1:]          # slopes block
    sol, pev, groups = henderson_pev(fit, frame, treatments)
    q = len(treatments) + 1
    p_fix = q
    contrasts: dict[str, ContrastPool] = {}
    for contrast in contrasts_for(protocol):
        c = contrast_vector(contrast, protocol)
        label = f"{contrast[0]}-{contrast[1]}"
        est = float(c @ fe)
        se = float(np.sqrt(c @ v_fe @ c))
        popu = _normal_summary(est, se, ci)
        popu["p_value"] = float(2 * stats.norm.sf(abs(est / se))) if se > 0 else None
        between = float(np.sqrt(max(c @ psi @ c, 0.0)))
        newp = _normal_summary(est, float(np.sqrt(se**2 + between**2)), ci)
        parts: dict[str, dict[str, Any]] = {}
        for gidx, g in enumerate(groups):
            lvec = np.zeros(len(sol))
            lvec[1:p_fix] = c
            lvec[p_fix + gidx * q + 1: p_fix + gidx * q + q] = c
            parts[g] = _normal_summary(float(lvec @ sol), float(np.sqrt(max(lvec @ pev @ lvec, 0.0))), ci)
        parts = {p: parts[p] for p in trial_data.participants}
        contrasts[label] = ContrastPool(
            label=label, contrast=contrast, population=popu,
            between_sd={"estimate": between, "ci_low": None, "ci_high": None, "ci_level": None},
            new_person=newp, participants=parts,
        )
    diag = {"converged": bool(getattr(fit, "converged", True)), "warnings": caught,
            "reml_log_likelihood": float(fit.llf)}
    notes = [MIXEDLM_NOTE, *_base_notes(trial_data, o), *caught]
    counts = frame.groupby("participant").size()
    return PooledResult(
        protocol=protocol, outcome=o, method="mixedlm", seed=seed, ci_level=ci,
        contrasts=contrasts, participants=list(trial_data.participants),
        n_days={p: int(counts.get(p, 0)) for p in trial_data.participants}, own_method=None,
        diagnostics=diag, settings={"reml": True},
        model_extras={"description": MIXEDLM_NOTE, "residual_sd": float(np.sqrt(fit.scale)),
                      "washout_days_dropped": protocol.analysis.carryover != "none"
                      and protocol.design.washout_days > 0},
        notes=notes, data_hash=trial_data.data_hash, fit=fit,
    )


__all__ = [
    "ContrastPool", "PooledResult", "contrast_vector", "default_priors", "fit_mixedlm",
    "henderson_pev", "mixedlm_frame", "own_estimates", "pool", "series_arrays",
    "series_from_trials", "series_model_inputs", "split_series", "summarise_draws",
]
