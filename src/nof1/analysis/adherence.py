"""Adherence: days not taken as planned, intention to treat and the as-treated sensitivity analysis.

A day is *not as planned* when the log's condition differs from the schedule (a deviation: the
wrong bottle) or its ``adherence`` is below 1 (a missed or partial dose). :func:`adherence_counts`
counts them per scheduled condition.

The primary analysis is **as randomised** (intention to treat): every method of
:func:`nof1.analyze` sees the scheduled condition on every trial day (:func:`as_randomised`),
which is what the randomisation protects. The **as-treated** analysis
(:func:`as_treated`) is a sensitivity analysis: the continuous ``bayes`` model (exact engine)
with the exposure built from what was actually taken, each day's dose weighted by its adherence
(a missed dose is exposure 0 that day, half a bottle 0.5; the onset/decay then follows). It is
shown next to the primary result with a sentence when the two disagree.

Example:
    >>> adherence_counts(td)["by_condition"]["B"]["days_not_as_planned"]      # doctest: +SKIP
    2
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from nof1.analysis.base import MethodResult
    from nof1.data import TrialData
    from nof1.protocol import Outcome

__all__ = ["adherence_counts", "adherence_section", "as_randomised", "as_treated"]


def _logged_trial(trial_data: TrialData):  # type: ignore[no-untyped-def]
    d = trial_data.trial
    return d[d["logged"].to_numpy(dtype=bool)]


def adherence_counts(trial_data: TrialData) -> dict[str, Any]:
    """Per scheduled condition: logged days, deviations (another condition taken), days with
    adherence below 1, and the days not as planned (either), with their dates.

    Example:
        >>> adherence_counts(td)["days_not_as_planned"]          # doctest: +SKIP
        4
    """
    p = trial_data.protocol
    d = _logged_trial(trial_data)
    sched = d["condition"].astype(object).to_numpy()
    taken = d["condition_taken"].astype(object).to_numpy()
    adh = d["adherence"].to_numpy(dtype=float)
    dates = d["date"].dt.strftime("%Y-%m-%d").to_numpy() if d["date"].notna().all() \
        else d["day"].astype(str).to_numpy()
    deviation = taken != sched
    partial = np.isfinite(adh) & (adh < 1)
    out: dict[str, Any] = {"by_condition": {}, "days_logged": int(len(d))}
    for k in p.conditions:
        sel = sched == k
        out["by_condition"][k] = {
            "days_logged": int(sel.sum()),
            "deviations": int((sel & deviation).sum()),
            "adherence_below_1": int((sel & partial).sum()),
            "days_not_as_planned": int((sel & (deviation | partial)).sum()),
            "mean_adherence": float(np.nanmean(adh[sel])) if np.isfinite(adh[sel]).any() else None,
        }
    bad = deviation | partial
    out["days_not_as_planned"] = int(bad.sum())
    out["days"] = [
        {"date": str(dates[i]), "scheduled": sched[i], "taken": taken[i],
         "adherence": None if not np.isfinite(adh[i]) else float(adh[i]),
         "what": ("deviation" if deviation[i] else "") + (" and " if deviation[i] and partial[i] else "")
         + ("dose below full" if partial[i] else "")}
        for i in np.flatnonzero(bad)]
    return out


def as_randomised(trial_data: TrialData) -> TrialData:
    """The trial as randomised: ``condition_taken`` set to the scheduled condition on every trial
    day (the analysis population of the primary analysis). The same object when nothing differs.

    Example:
        >>> itt = as_randomised(td); (itt.trial["condition_taken"] == itt.trial["condition"]).all()   # doctest: +SKIP
        True
    """
    d = trial_data.data
    trial = (d["phase"] == "trial").to_numpy()
    sched = d["condition"].astype(object).to_numpy()
    taken = d["condition_taken"].astype(object).to_numpy()
    if not (trial & (sched != taken)).any():
        return trial_data
    new = taken.copy()
    new[trial] = sched[trial]
    data = d.copy()
    import pandas as pd

    data["condition_taken"] = pd.array(new, dtype="object")
    return dataclasses.replace(trial_data, data=data)


def as_treated(trial_data: TrialData, outcome: Outcome, contrast: tuple[str, str], *,
               ci_level: float, seed: int) -> MethodResult:
    """The continuous ``bayes`` model with the exposure of what was actually taken, each day's
    dose weighted by its adherence (exact engine; covariates as in the primary analysis).

    Example:
        >>> as_treated(td, p.primary, ("B", "A"), ci_level=0.95, seed=1).estimate    # doctest: +SKIP
        -1.41
    """
    from nof1.analysis.base import MethodResult
    from nof1.analysis.bayes import model_priors, series_data
    from nof1.analysis.covariates import adjustment_for
    from nof1.models.bayes_exact import contrast_vector, fit_exact

    name = "as_treated"
    if outcome.type != "continuous" or outcome.schedule != "daily":
        return MethodResult.unavailable(name, outcome.name, contrast,
                                        "the as-treated analysis is for continuous daily outcomes")
    p = trial_data.protocol
    try:
        data, info = series_data(trial_data, outcome, adjust_for=adjustment_for(p, outcome, trial_data))
        d = trial_data.data
        dose = d["adherence"].to_numpy(dtype=float)
        dose = np.where(np.isfinite(dose), np.clip(dose, 0.0, 1.0), 1.0)
        u = data.u * dose[None, :]
        data = dataclasses.replace(data, u=u)
        priors = model_priors(p, outcome, y=data.y, carryover=info["carryover"])
        post = fit_exact(data, priors)
    except (ValueError, np.linalg.LinAlgError) as err:
        return MethodResult.unavailable(name, outcome.name, contrast, f"the model cannot be fitted: {err}")
    t, c = contrast
    k = info["treatments"]
    cvec = contrast_vector(len(k), k.index(t) if t in k else None, k.index(c) if c in k else None)
    s = post.summary(cvec, ci_level=ci_level, better=outcome.better or "lower", mcid=outcome.mcid)
    extras = {key: s[key] for key in ("prob_benefit", "prob_meaningful_benefit",
                                      "prob_meaningful_harm", "prob_negligible") if key in s}
    extras["exposure"] = "what was taken, dose-weighted by adherence"
    return MethodResult(method=name, outcome=outcome.name, contrast=contrast, estimate=s["estimate"],
                        ci_low=s["ci_low"], ci_high=s["ci_high"], ci_level=ci_level, extras=extras)


def adherence_section(trial_data: TrialData, primary: MethodResult | None, primary_verdict: str | None,
                      *, ci_level: float, seed: int) -> dict[str, Any]:
    """Counts, the as-treated sensitivity analysis of the primary outcome next to the primary
    (as randomised) result, and a sentence when they disagree."""
    from nof1.analysis.decision import verdict

    p = trial_data.protocol
    counts = adherence_counts(trial_data)
    out: dict[str, Any] = {"population": "as randomised (intention to treat)", **counts}
    o = p.primary
    if primary is None or not primary.available:
        out["sentence"] = ("The as-treated comparison needs the primary bayes result, which is "
                           "not available.")
        return out
    at = as_treated(trial_data, o, primary.contrast, ci_level=ci_level, seed=seed)
    out["primary"] = {"method": primary.method, "estimate": primary.estimate, "ci_low": primary.ci_low,
                      "ci_high": primary.ci_high, "verdict": primary_verdict}
    if not at.available:
        out["as_treated"] = {"available": False, "reason": at.reason}
        out["sentence"] = f"As-treated analysis not available: {at.reason}."
        return out
    at_verdict = verdict(dict(at.extras), p.analysis.decision)
    out["as_treated"] = {"estimate": at.estimate, "ci_low": at.ci_low, "ci_high": at.ci_high,
                         "verdict": at_verdict, **dict(at.extras)}
    n_bad = counts["days_not_as_planned"]
    def excl(lo: float, hi: float) -> bool:
        return lo > 0 or hi < 0

    disagree = (at_verdict != primary_verdict
                or excl(at.ci_low, at.ci_high) != excl(primary.ci_low, primary.ci_high)
                or not primary.ci_low <= at.estimate <= primary.ci_high)
    out["disagree"] = bool(disagree)
    def fmt(e: float, lo: float, hi: float) -> str:
        return f"{e:+.2f} ({ci_level:.0%} CI {lo:+.2f} to {hi:+.2f})"

    both = (f"as randomised {fmt(primary.estimate, primary.ci_low, primary.ci_high)}, as treated "
            f"{fmt(at.estimate, at.ci_low, at.ci_high)}")
    if n_bad == 0:
        out["sentence"] = f"Every logged trial day was taken as planned; {both}."
    elif disagree:
        out["sentence"] = (f"The as-treated analysis disagrees with the primary one ({both}; "
                           f"verdicts: {primary_verdict} vs {at_verdict}): the conclusion depends on "
                           f"the {n_bad} day(s) not taken as planned. The primary analysis (as "
                           "randomised) is the one the randomisation protects.")
    else:
        out["sentence"] = (f"{n_bad} day(s) were not taken as planned; the as-treated analysis "
                           f"agrees with the primary one ({both}).")
    return out
