"""Interim analysis of an unfinished trial: how far it is, what the data say now, where it is heading.

:func:`interim` takes the log as it stands (it may end today and have missing days) and reports

* **progress**: the last logged day, trial days done and to go, complete pairs (blocks);
* the **current posterior** of the primary outcome — the ``bayes`` analysis on the days so far;
* the **predictive probability of each verdict** if the trial runs to its planned end, and if it
  is extended by 1 or 2 pairs: ``completions`` joint posterior draws of (φ, τ, σ, effect, level,
  trend, run-in level) from the exact engine; for each, the remaining days are simulated from the
  model — the AR(1) error continues from the last observed residual (the future depends on the
  past only through it), days go unlogged at the rate seen so far, extension pairs take a random
  order — and the completed trial is analysed as the real one will be (without the covariate
  adjustment of ``analysis.adjust_for``: future covariate values are unknown, so the predictions
  use the unadjusted model; the current posterior is the adjusted analysis) (batched exact engine on
  :func:`nof1.design.compare_grid`, checked against the analysis grid there; the protocol's
  priors and decision rules). The share of completions ending with each verdict
  is its predictive probability (Monte Carlo SE ≤ 0.5/√completions);
* the protocol's **stopping rule** (``analysis.monitoring``, or nof1's default rule, said so)
  applied at the latest planned look, and the **safety alerts**;
* a **recommendation** in plain words: "continue", "you could stop: benefit is already likely",
  "the trial is unlikely to become conclusive" or "stop: safety rule reached".

Checked by simulation (tests/test_interim.py): half-trials simulated from the prior, completed by
this function, and then actually completed: the predicted share of "likely meaningful benefit"
matches the observed share within Monte Carlo error.

Example:
    >>> import nof1
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")          # doctest: +SKIP
    >>> td = nof1.read_log("my_log_so_far.csv", p)                           # doctest: +SKIP
    >>> st = nof1.interim(td, seed=1)                                        # doctest: +SKIP
    >>> st.recommendation, st.summary()                                      # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nof1.constants import VERDICT_BENEFIT, VERDICT_HARM, VERDICT_INCONCLUSIVE, VERDICT_NO_EFFECT
from nof1.errors import AnalysisError
from nof1.jsonsafe import json_safe
from nof1.seeds import task_seed

if TYPE_CHECKING:
    from nof1.analysis.base import MethodResult
    from nof1.data import TrialData
    from nof1.plan_keys import Monitoring
    from nof1.protocol import Outcome, Protocol

__all__ = [
    "COMPLETIONS",
    "RECOMMENDATIONS",
    "VERDICTS",
    "Horizon",
    "InterimResult",
    "as_of",
    "complete_pairs",
    "interim",
    "predictive_verdicts",
]

#: Simulated completions per horizon (Monte Carlo SE of a probability <= 0.016).
COMPLETIONS: int = 1000
#: Verdicts in the order they are shown.
VERDICTS: tuple[str, ...] = (VERDICT_BENEFIT, VERDICT_NO_EFFECT, VERDICT_INCONCLUSIVE, VERDICT_HARM)
REC_CONTINUE = "continue"
REC_EFFICACY = "you could stop: benefit is already likely"
REC_FUTILITY = "the trial is unlikely to become conclusive"
REC_SAFETY = "stop: safety rule reached"
REC_DONE = "the trial is complete: analyse it with nof1 analyze"
RECOMMENDATIONS: tuple[str, ...] = (REC_CONTINUE, REC_EFFICACY, REC_FUTILITY, REC_SAFETY, REC_DONE)


# =========================================================================== cutting a log
def _last_logged_day(trial_data: TrialData) -> int:
    d = trial_data.data
    outcome_cols = [o.name for o in trial_data.protocol.outcomes if o.name in d.columns]
    seen = d[outcome_cols].notna().any(axis=1).to_numpy()
    return int(d["day"].to_numpy()[seen].max()) if seen.any() else 0


def as_of(trial_data: TrialData, day: int) -> TrialData:
    """The trial as it stood at the end of calendar ``day`` (run-in included): later values removed.

    Days after ``day`` keep their *scheduled* condition (what was taken later is not known then).

    Example:
        >>> td42 = as_of(td, 42)        # run-in (14) + 28 trial days          # doctest: +SKIP
    """
    data = trial_data.data.copy()
    later = data["day"].to_numpy() > int(day)
    for o in trial_data.protocol.outcomes:
        if o.name in data.columns:
            data.loc[later, o.name] = np.nan
    data.loc[later, "condition_taken"] = data.loc[later, "condition"]
    if "logged" in data.columns:
        data.loc[later, "logged"] = False
    return replace(trial_data, data=data, report=None)


def complete_pairs(trial_data: TrialData, day: int) -> tuple[int, int]:
    """(pairs complete by the end of calendar ``day``, pairs planned); pairs = blocks for blocks designs."""
    d = trial_data.data
    trial = d[d["period"] > 0]
    pair = trial["pair"]
    if pair.isna().all():
        return 0, 0
    last = trial.groupby(pair.astype("int64"))["day"].max()
    return int((last <= day).sum()), int(last.size)


# =========================================================================== completions
@dataclass
class _Fit:
    """The interim posterior of the primary outcome and what is needed to complete the trial."""

    post: Any  # ExactPosterior
    data: Any  # SeriesData
    info: dict[str, Any]
    priors: Any
    contrast_vec: NDArray[np.float64]


def _fit_interim(trial_data: TrialData, o: Outcome, contrast: tuple[str, str]) -> _Fit:
    from nof1.analysis.bayes import model_priors, series_data
    from nof1.models.bayes_exact import contrast_vector, fit_exact

    data, info = series_data(trial_data, o)
    if data.n < 5:
        raise AnalysisError(f"'{o.name}': only {data.n} observed days so far; the model needs at least 5")
    priors = model_priors(trial_data.protocol, o, y=data.y, carryover=info["carryover"])
    idx = {k: i for i, k in enumerate(info["treatments"])}
    c = contrast_vector(len(idx), idx.get(contrast[0]), idx.get(contrast[1]))
    return _Fit(post=fit_exact(data, priors), data=data, info=info, priors=priors, contrast_vec=c)


def _extension(protocol: Protocol, extra_pairs: int, n: int, rng: np.random.Generator
               ) -> tuple[NDArray[np.object_], NDArray[np.int64]]:
    """Conditions (n, days) and day-in-period (days,) of ``extra_pairs`` more pairs (blocks), each in
    a random order (every condition once per pair, as the randomisation would give)."""
    period = int(protocol.design.period_days or 0)
    keys = np.array(list(protocol.conditions), dtype=object)
    m = keys.size
    if extra_pairs == 0 or period == 0:
        return np.empty((n, 0), dtype=object), np.empty(0, dtype=np.int64)
    orders = np.argsort(rng.uniform(size=(n, extra_pairs, m)), axis=-1)
    cond = np.repeat(keys[orders].reshape(n, extra_pairs * m), period, axis=1)
    dip = np.tile(np.arange(1, period + 1), extra_pairs * m)
    return cond, dip


def predictive_verdicts(trial_data: TrialData, *, today: int, extra_pairs: int = 0,
                        completions: int = COMPLETIONS, seed: int, outcome: str | None = None,
                        contrast: tuple[str, str] | None = None, fit: Any = None) -> dict[str, Any]:
    """Predictive probability of each verdict when the trial observed up to calendar day ``today``
    runs to its planned end plus ``extra_pairs`` pairs (see the module docstring for the method).

    Returns ``probabilities`` (verdict -> share of completions), ``se`` (their Monte Carlo SE),
    ``prob_meaningful_benefit`` (mean and quantiles over completions), ``end_day`` and
    ``completions``.

    Example:
        >>> predictive_verdicts(td, today=42, seed=1)["probabilities"]      # doctest: +SKIP
    """
    from nof1.analysis.base import contrasts_for
    from nof1.analysis.decision import verdict
    from nof1.design import compare_grid
    from nof1.models.bayes_exact import fit_exact_batch
    from nof1.models.exposure import exposure

    protocol = trial_data.protocol
    o = protocol.primary if outcome is None else protocol.outcome(outcome)
    contrast = contrasts_for(protocol)[0] if contrast is None else contrast
    f = _fit_interim(trial_data, o, contrast) if fit is None else fit
    rng = np.random.default_rng(seed)
    n = int(completions)
    frame = trial_data.data
    n0 = len(frame)
    ext_cond, ext_dip = _extension(protocol, extra_pairs, n, rng)
    N = n0 + ext_cond.shape[1]
    treatments = f.info["treatments"]
    taken = frame["condition_taken"].astype(object).to_numpy()
    base_u = np.stack([(taken == t).astype(float) for t in treatments])  # (K, n0)
    if ext_cond.shape[1]:
        ext_u = np.stack([(ext_cond == t).astype(float) for t in treatments], axis=1)  # (n, K, e)
        u = np.concatenate([np.broadcast_to(base_u, (n, *base_u.shape)), ext_u], axis=-1)
    else:
        u = base_u[None]
    # joint posterior draws at the quadrature nodes (β and the nuisance terms given the node)
    draws = f.post.draws(n, rng)
    phi, tau, sigma = draws["phi_node"], draws["tau_node"], draws["sigma_node"]
    beta = draws["beta"]
    days = np.arange(1, N + 1)
    data = f.data
    mu = np.broadcast_to(draws["alpha"][:, None], (n, N)).copy()
    if "run_in_level" in draws:
        mu += draws["run_in_level"][:, None] * (days <= data.run_in_days)
    if "trend" in draws:
        from nof1.models.bayes_exact import TREND_UNIT_DAYS

        mu += draws["trend"][:, None] * ((days - data.day.mean()) / TREND_UNIT_DAYS)
    x = exposure(np.broadcast_to(u, (n, *u.shape[1:])), tau[:, None])  # (n, K, N)
    mu += np.einsum("nkd,nk->nd", x, beta)
    last = int(data.day[-1])
    e = np.empty((n, N))
    e[:, last - 1] = data.y[-1] - mu[:, last - 1]
    innov = sigma * np.sqrt(1.0 - phi * phi)
    z = rng.standard_normal((n, N))
    for t in range(last, N):
        e[:, t] = phi * e[:, t - 1] + innov * z[:, t]
    ysim = mu + e
    # observed values up to today, simulated afterwards; future days unlogged at the observed rate
    y_obs = frame[o.name].to_numpy(dtype=float)
    Y = np.full((n, N), np.nan)
    Y[:, :n0] = y_obs[None, :]
    rate = _missing_rate(trial_data, o, today)
    fut = days > today
    keep = rng.uniform(size=(n, N)) >= rate
    Y[:, fut] = np.where(keep[:, fut], ysim[:, fut], np.nan)
    if f.info["carryover"] == "exclude" and protocol.design.washout_days > 0:
        w = int(protocol.design.washout_days)
        wash = np.concatenate([(frame["period"].to_numpy() > 0) & (frame["day_in_period"].to_numpy() <= w),
                               ext_dip <= w])
        Y[:, wash] = np.nan
    res = fit_exact_batch(
        Y, u, days, priors=f.priors, contrast=f.contrast_vec, ci_level=protocol.analysis.ci_level,
        mcid=o.mcid, better=o.better, trend=data.trend, run_in_days=data.run_in_days, grid=compare_grid(),
    )
    dec = protocol.analysis.decision
    pmb, pmh = np.asarray(res.prob_meaningful_benefit), np.asarray(res.prob_meaningful_harm)
    pneg = np.asarray(res.prob_negligible)
    v = np.array([verdict({"prob_meaningful_benefit": a, "prob_meaningful_harm": b, "prob_negligible": c},
                          dec) for a, b, c in zip(pmb, pmh, pneg, strict=True)], dtype=object)
    probs = {k: float(np.mean(v == k)) for k in VERDICTS}
    return {
        "extra_pairs": int(extra_pairs), "end_day": int(N), "completions": n,
        "probabilities": probs,
        "se": {k: math.sqrt(p * (1 - p) / n) for k, p in probs.items()},
        "prob_meaningful_benefit": {"mean": float(pmb.mean()),
                                    "quantiles": [float(q) for q in np.quantile(pmb, [0.1, 0.5, 0.9])]},
        "missing_rate": rate,
    }


def _missing_rate(trial_data: TrialData, o: Outcome, today: int) -> float:
    d = trial_data.data
    rows = (d["period"].to_numpy() > 0) & (d["day"].to_numpy() <= today)
    if not rows.any():
        return 0.0
    return float(np.isnan(d.loc[rows, o.name].to_numpy(dtype=float)).mean())


# =========================================================================== result
@dataclass
class Horizon:
    """Predictive probabilities of the verdicts at one end point (planned end, or extended)."""

    label: str
    extra_pairs: int
    end_day: int
    end_date: dt.date | None
    days_to_go: int
    probabilities: dict[str, float]
    se: dict[str, float]
    completions: int
    prob_meaningful_benefit: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "extra_pairs": self.extra_pairs, "end_day": self.end_day,
                "end_date": None if self.end_date is None else self.end_date.isoformat(),
                "days_to_go": self.days_to_go, "completions": self.completions,
                "probabilities": self.probabilities, "se": self.se,
                "prob_meaningful_benefit": self.prob_meaningful_benefit}


@dataclass
class InterimResult:
    """What :func:`interim` found (``nof1 status``): progress, posterior, predictions, advice."""

    protocol: Protocol
    outcome: str
    contrast: tuple[str, str]
    seed: int
    progress: dict[str, Any]
    current: MethodResult
    horizons: list[Horizon]
    monitoring: dict[str, Any]
    alerts: list[dict[str, Any]]
    recommendation: str
    reasons: list[str]
    notes: list[str]
    seconds: float

    def summary(self) -> pd.DataFrame:
        """One row per horizon: end day, days to go and the predictive probability of each verdict."""
        rows = []
        for h in self.horizons:
            row: dict[str, Any] = {"horizon": h.label, "end_day": h.end_day, "days_to_go": h.days_to_go}
            row.update(h.probabilities)
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``nof1 status --json``."""
        from nof1._version import __version__
        cur = self.current.to_dict()
        return json_safe({
            "nof1_version": __version__,
            "protocol": {"id": self.protocol.id, "fingerprint": self.protocol.fingerprint},
            "outcome": self.outcome, "contrast": f"{self.contrast[0]}-{self.contrast[1]}",
            "seed": self.seed, "progress": self.progress, "current": cur,
            "current_verdict": self.current_verdict,
            "predictive": [h.to_dict() for h in self.horizons],
            "monitoring": self.monitoring, "safety_alerts": self.alerts,
            "recommendation": self.recommendation, "reasons": self.reasons, "notes": self.notes,
            "seconds": self.seconds,
        })

    @property
    def current_verdict(self) -> str | None:
        from nof1.analysis.decision import verdict

        if not self.current.available:
            return None
        return verdict(dict(self.current.extras), self.protocol.analysis.decision)

    def text(self) -> list[str]:
        """The terminal summary, line by line."""
        from nof1.formatting import fmt_number, fmt_prob

        p, g = self.protocol, self.progress
        o = p.outcome(self.outcome)
        out = [f"{p.title}  (protocol {p.id}, {p.fingerprint})"]
        when = f" ({g['as_of_date']})" if g.get("as_of_date") else ""
        if g["trial_day"] <= 0:
            out.append(f"as of day {g['as_of_day']}{when}: still in the run-in "
                       f"({g['run_in_days']} days); the trial proper has not started")
        else:
            out.append(f"as of day {g['as_of_day']}{when}: trial day {g['trial_day']} of {g['trial_days']} "
                       f"(run-in {g['run_in_days']} days before), {g['days_to_go']} days to go")
        out.append(f"complete pairs: {g['complete_pairs']} of {g['planned_pairs']}; "
                   f"{o.name} logged on {g['days_logged']} trial days, missing on {g['days_missing']}")
        t, c = self.contrast
        out.append("")
        out.append(f"now ({o.display}, {p.conditions[t].label} minus {p.conditions[c].label}, "
                   f"{o.better} is better, MCID {o.mcid:g}):")
        r = self.current
        if r.available:
            x = r.extras
            out.append(f"  effect {fmt_number(r.estimate)} ({r.ci_level:.0%} interval {fmt_number(r.ci_low)} "
                       f"to {fmt_number(r.ci_high)}); P(benefit) {fmt_prob(x.get('prob_benefit'))}, "
                       f"P(meaningful benefit) {fmt_prob(x.get('prob_meaningful_benefit'))}, "
                       f"P(meaningful harm) {fmt_prob(x.get('prob_meaningful_harm'))}")
            out.append(f"  verdict if it ended today: {self.current_verdict}")
        else:
            out.append(f"  no estimate yet: {r.reason}")
        if self.horizons:
            out.append("")
            n = self.horizons[0].completions
            out.append(f"predictive probability of each verdict ({n} simulated completions each, "
                       f"Monte Carlo SE <= {0.5 / math.sqrt(n):.3f}):")
            width = max(len(h.label) for h in self.horizons)
            heads = ["benefit", "no effect", "inconclusive", "harm"]
            out.append("  " + " " * width + "  days to go  " + "  ".join(f"{h:>12}" for h in heads))
            for h in self.horizons:
                cells = "  ".join(f"{h.probabilities[k]:>12.2f}" for k in VERDICTS)
                out.append(f"  {h.label:<{width}}  {h.days_to_go:>10}  {cells}")
            out.append("  benefit = 'likely meaningful benefit', no effect = 'likely no meaningful effect', "
                       "inconclusive = 'inconclusive', harm = 'possible harm'")
        m = self.monitoring
        out.append("")
        out.append(f"stopping rule ({m['source']}): {m['text']}")
        if m.get("look") is not None:
            lk = m["look"]
            out.append(f"  latest planned look: after pair {lk['pairs']} (day {lk['day']}): {lk['decision']}"
                       + (f" — {lk['because']}" if lk.get("because") else ""))
        if m.get("next_look_day") is not None:
            out.append(f"  next planned look: after pair {m['next_look_pairs']} (day {m['next_look_day']})")
        if self.alerts:
            out.append(f"SAFETY ALERTS ({len(self.alerts)}):")
            for a in self.alerts:
                out.append(f"  {a.get('date') or 'day ' + str(a.get('day'))}: {a.get('message')}")
        else:
            out.append("safety alerts: none")
        out.append("")
        out.append(f"recommendation: {self.recommendation}")
        for reason in self.reasons:
            out.append(f"  {reason}")
        for note in self.notes:
            out.append(f"note: {note}")
        return out


# =========================================================================== the interim analysis
def _date_of(trial_data: TrialData, day: int) -> dt.date | None:
    d = trial_data.data
    if "date" not in d.columns or d["date"].isna().all():
        return None
    first = pd.Timestamp(d["date"].iloc[0]).date()
    return first + dt.timedelta(days=int(day) - 1)


def _day_of(trial_data: TrialData, date: dt.date | str) -> int:
    if isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date)
        except ValueError:
            raise AnalysisError(f"as-of date '{date}' is not a date (expected YYYY-MM-DD)") from None
    first = _date_of(trial_data, 1)
    if first is None:
        raise AnalysisError("the trial has no start date, so an as-of date cannot be placed; give a day number")
    return (date - first).days + 1


def interim(
    trial_data: TrialData,
    *,
    seed: int,
    day: int | None = None,
    date: dt.date | str | None = None,
    completions: int = COMPLETIONS,
    extra_pairs: tuple[int, ...] = (1, 2),
    outcome: str | None = None,
) -> InterimResult:
    """Interim analysis of an unfinished trial (``nof1 status``); see the module docstring.

    Args:
        trial_data: the log so far (:func:`nof1.read_log`); days after its last logged day are
            the future.
        seed: seed of the posterior draws and the simulated completions.
        day, date: analyse the trial as it stood at the end of this calendar day (run-in included)
            or date instead of its last logged day.
        completions: simulated completions per horizon.
        extra_pairs: extensions to predict besides the planned end.
        outcome: the outcome (default: the primary).

    Example:
        >>> st = interim(td, seed=1)                       # doctest: +SKIP
        >>> st.recommendation                              # doctest: +SKIP
        'continue'
    """
    from nof1.analysis.base import contrasts_for
    from nof1.analysis.bayes import bayes
    from nof1.monitoring import DEFAULT_RULE, rule_text

    t0 = time.perf_counter()
    protocol = trial_data.protocol
    if trial_data.participants and len(trial_data.participants) > 1:
        raise AnalysisError("status works on one participant's log at a time")
    o = protocol.primary if outcome is None else protocol.outcome(outcome)
    if o.type != "continuous" or o.schedule != "daily":
        raise AnalysisError(f"interim predictions need a continuous daily outcome; '{o.name}' is "
                            f"{o.type}, {o.schedule}")
    if completions < 100:
        raise AnalysisError(f"completions must be at least 100, got {completions}")
    if date is not None and day is not None:
        raise AnalysisError("give an as-of day or an as-of date, not both")
    last_logged = _last_logged_day(trial_data)
    today = last_logged if day is None and date is None else (int(day) if day is not None
                                                              else _day_of(trial_data, date))
    total = int(len(trial_data.data))
    if today < 1:
        raise AnalysisError("nothing has been logged yet")
    if today > total:
        today = total
    td = as_of(trial_data, today) if today < last_logged else trial_data
    from nof1.analysis.adherence import as_randomised

    td = as_randomised(td)  # as the primary analysis of nof1 analyze: as randomised
    contrast = contrasts_for(protocol)[0]
    run_in = int(protocol.design.run_in_days)
    done_pairs, planned_pairs = complete_pairs(td, today)
    frame = td.data
    trial_rows = (frame["period"].to_numpy() > 0) & (frame["day"].to_numpy() <= today)
    yv = frame[o.name].to_numpy(dtype=float)
    progress = {
        "as_of_day": today, "as_of_date": None if _date_of(td, today) is None else _date_of(td, today).isoformat(),
        "last_logged_day": last_logged, "run_in_days": run_in, "trial_day": max(0, today - run_in),
        "trial_days": int(protocol.trial_days), "total_days": total, "days_to_go": max(0, total - today),
        "complete_pairs": done_pairs, "planned_pairs": planned_pairs,
        "days_logged": int(np.isfinite(yv[trial_rows]).sum()),
        "days_missing": int(np.isnan(yv[trial_rows]).sum()),
    }
    current = bayes(td, o, contrast, ci_level=protocol.analysis.ci_level, seed=int(seed))
    notes: list[str] = []
    horizons: list[Horizon] = []
    fit = None
    try:
        fit = _fit_interim(td, o, contrast)
    except (AnalysisError, ValueError, np.linalg.LinAlgError) as err:
        notes.append(f"no predictive probabilities: {err}")
    if fit is not None and protocol.analysis.adjust_for:
        notes.append("the predictive probabilities use the model without the covariate adjustment "
                     f"({', '.join(protocol.analysis.adjust_for)}): future covariate values are unknown")
    if fit is not None:
        for k, extra in enumerate((0, *extra_pairs)):
            if extra and not protocol.design.period_days:
                notes.append("extensions need a design with fixed period lengths")
                break
            pred = predictive_verdicts(td, today=today, extra_pairs=extra, completions=completions,
                                       seed=task_seed(seed, "interim", k), outcome=o.name, contrast=contrast, fit=fit)
            label = "planned end" if extra == 0 else f"+{extra} pair" + ("s" if extra > 1 else "")
            horizons.append(Horizon(
                label=label, extra_pairs=extra, end_day=pred["end_day"], end_date=_date_of(td, pred["end_day"]),
                days_to_go=max(0, pred["end_day"] - today), probabilities=pred["probabilities"],
                se=pred["se"], completions=pred["completions"],
                prob_meaningful_benefit=pred["prob_meaningful_benefit"]))
    rule: Monitoring = protocol.analysis.monitoring or DEFAULT_RULE
    source = "the protocol's analysis.monitoring" if protocol.analysis.monitoring is not None else \
        "none in the protocol; nof1's default rule, shown for information"
    monitoring = _apply_rule(td, o, contrast, rule, today=today, done_pairs=done_pairs,
                             planned_pairs=planned_pairs, seed=int(seed), completions=completions,
                             today_pred=horizons[0].probabilities if horizons else None)
    monitoring.update(source=source, text=rule_text(rule), rule=rule.model_dump(mode="json"))
    from nof1.safety import safety_alerts

    alerts = [a.to_dict() for a in safety_alerts(td)]
    rec, reasons = _recommend(protocol, progress, monitoring, alerts, horizons,
                              from_protocol=protocol.analysis.monitoring is not None)
    return InterimResult(protocol=protocol, outcome=o.name, contrast=contrast, seed=int(seed),
                         progress=progress, current=current, horizons=horizons, monitoring=monitoring,
                         alerts=alerts, recommendation=rec, reasons=reasons, notes=notes,
                         seconds=time.perf_counter() - t0)


def _apply_rule(td: TrialData, o: Outcome, contrast: tuple[str, str], rule: Monitoring, *, today: int,
                done_pairs: int, planned_pairs: int, seed: int, completions: int,
                today_pred: dict[str, float] | None = None) -> dict[str, Any]:
    """The stopping rule at the latest planned look (data as they stood at the end of that pair)."""
    from nof1.monitoring import look_pairs, threshold_decision

    looks = [k for k in look_pairs(rule, planned_pairs) if k < planned_pairs]
    past = [k for k in looks if k <= done_pairs]
    d = td.data
    trial = d[d["period"] > 0]
    pair_end = (trial.groupby(trial["pair"].astype("int64"))["day"].max()
                if not trial["pair"].isna().all() else pd.Series(dtype="int64"))
    out: dict[str, Any] = {"looks_at_pairs": looks, "look": None, "next_look_pairs": None, "next_look_day": None}
    future = [k for k in looks if k > done_pairs]
    if future and future[0] in pair_end.index:
        out["next_look_pairs"] = future[0]
        out["next_look_day"] = int(pair_end[future[0]])
    if not past:
        return out
    k = past[-1]
    look_day = int(pair_end[k])
    at = as_of(td, look_day)
    from nof1.analysis.bayes import bayes

    r = bayes(at, o, contrast, ci_level=td.protocol.analysis.ci_level, seed=seed)
    if not r.available:
        out["look"] = {"pairs": k, "day": look_day, "decision": "continue",
                       "because": f"no posterior at the look: {r.reason}"}
        return out
    pred = None
    needs_pred = any(t is not None and t.by == "predictive" for t in (rule.efficacy, rule.futility, rule.harm))
    if needs_pred and look_day >= today and today_pred is not None:
        pred = today_pred  # the look is today: the predictive probabilities just computed
    elif needs_pred:
        pred = predictive_verdicts(at, today=look_day, completions=completions, seed=task_seed(seed, "interim", "look", k),
                                   outcome=o.name, contrast=contrast)["probabilities"]
    decision, because = threshold_decision(rule, r.extras, pred, td.protocol.analysis.decision)
    out["look"] = {"pairs": k, "day": look_day, "decision": decision, "because": because,
                   "prob_meaningful_benefit": r.extras.get("prob_meaningful_benefit"),
                   "prob_meaningful_harm": r.extras.get("prob_meaningful_harm"),
                   "predictive": pred}
    return out


def _recommend(protocol: Protocol, progress: dict[str, Any], monitoring: dict[str, Any],
               alerts: list[dict[str, Any]], horizons: list[Horizon], *, from_protocol: bool
               ) -> tuple[str, list[str]]:
    reasons: list[str] = []
    if alerts:
        days = ", ".join(sorted({str(a.get("date") or f"day {a.get('day')}") for a in alerts}))
        reasons.append(f"{len(alerts)} safety alert(s) ({days}; see above): pause and seek advice, as the "
                       "protocol's safety notes say; go on only if a clinician agrees (the predictive "
                       "probabilities above assume the trial goes on)")
        return REC_SAFETY, reasons
    look = monitoring.get("look")
    if look is not None and look["decision"] == "stop for harm":
        reasons.append(f"the stopping rule's harm threshold was reached at the look after pair {look['pairs']}: "
                       f"{look['because']}")
        return REC_SAFETY, reasons
    if progress["days_to_go"] == 0:
        reasons.append("every planned day is past")
        return REC_DONE, reasons
    plan = "the protocol's stopping rule" if from_protocol else "nof1's default stopping rule (not pre-registered)"
    if look is not None and look["decision"] == "stop for efficacy":
        reasons.append(f"{plan} was met at the look after pair {look['pairs']}: {look['because']}")
        return REC_EFFICACY, reasons
    if look is not None and look["decision"] == "stop for futility":
        reasons.append(f"{plan} was met at the look after pair {look['pairs']}: {look['because']}")
        return REC_FUTILITY, reasons
    if look is None:
        first = monitoring["looks_at_pairs"][0] if monitoring["looks_at_pairs"] else None
        reasons.append("too early for the stopping rule" + (f" (first look after pair {first})" if first else ""))
    else:
        reasons.append(f"no threshold of {plan} was reached at the look after pair {look['pairs']}")
    if horizons:
        h = horizons[0]
        conclusive = 1.0 - h.probabilities[VERDICT_INCONCLUSIVE]
        reasons.append(f"if it runs to the planned end: P(likely meaningful benefit) "
                       f"{h.probabilities[VERDICT_BENEFIT]:.2f}, P(any conclusive verdict) {conclusive:.2f}")
    return REC_CONTINUE, reasons
