"""Safety: day-by-day alert checks on safety outcomes, and the joint benefit–harm probability.

* :func:`safety_alerts` checks every safety outcome's ``alert`` thresholds (``below``, ``above``,
  ``at_least``) day by day. With ``consecutive_days: N`` an alert fires on the N-th consecutive
  day past a threshold and on every further day of the same run; a day without a value breaks the
  run (for weekly outcomes: a scheduled measurement without a value breaks it, unscheduled days
  are skipped, so N counts consecutive measurements). Run-in days are checked too.
* :func:`benefit_harm` combines the Bayesian results of the primary and the safety outcomes into
  P(primary improves by more than its mcid AND no safety outcome worsens by more than its mcid).
  The outcomes are fitted separately, so their posteriors are combined as independent;
  correlated residuals between outcomes are not modelled.

Example:
    >>> import nof1
    >>> from nof1.safety import safety_alerts, benefit_harm
    >>> for a in safety_alerts(td):                                   # doctest: +SKIP
    ...     print(a.date, a.message)
    2026-12-09 systolic_bp 88 below 90
    >>> benefit_harm(nof1.analyze(td, seed=1))["probability"]         # doctest: +SKIP
    0.71
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from nof1.analysis.core import AnalysisResult
    from nof1.data import TrialData
    from nof1.protocol import Outcome

__all__ = ["BENEFIT_HARM_METHOD", "SafetyAlert", "alert_words", "benefit_harm", "direction_words",
           "outcome_draws", "risk_probability_words", "risk_words", "safety_alerts"]

#: How :func:`benefit_harm` combines the outcomes (stated in its output).
BENEFIT_HARM_METHOD = ("posteriors combined as independent (outcomes fitted separately; the joint "
                       "probability is the product of the marginal posterior probabilities — those "
                       "each outcome's result reports, else computed from its draws — i.e. the "
                       "share of independently paired draws); correlated residuals not modelled")

_RULE_TEXT = {"below": "below", "above": "above", "at_least": "at least"}


@dataclass(frozen=True)
class SafetyAlert:
    """One day on which a safety outcome crossed an alert threshold.

    ``rule`` is ``below``, ``above`` or ``at_least``; ``consecutive`` is the length of the run of
    days past the threshold ending on this day (≥ the rule's ``consecutive_days``).

    Example:
        >>> a = SafetyAlert(date=dt.date(2026, 12, 9), day=9, outcome="systolic_bp", value=88.0,
        ...                 threshold=90.0, rule="below", message="systolic_bp 88 below 90")
        >>> a.to_dict()["date"]
        '2026-12-09'
    """

    date: dt.date | None
    day: int
    outcome: str
    value: float
    threshold: float
    rule: str
    message: str
    consecutive: int = 1
    period: int | None = None
    condition: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (ISO date, or ``day N`` when the trial has no dates)."""
        return {
            "date": self.date.isoformat() if self.date is not None else f"day {self.day}",
            "day": self.day, "outcome": self.outcome, "value": self.value,
            "threshold": self.threshold, "rule": self.rule, "consecutive": self.consecutive,
            "period": self.period, "condition": self.condition, "message": self.message,
        }


def _fmt(v: float) -> str:
    return f"{v:g}"


# =========================================================================== words
def direction_words(o: Outcome) -> tuple[str, str]:
    """(worse, better) direction of an outcome in plain words: ``("fall", "rise")`` when higher is
    better, ``("rise", "fall")`` when lower is better; counts and yes/no outcomes say
    ``increase``/``decrease``.

    Example:
        >>> from nof1.protocol import Outcome
        >>> direction_words(Outcome(name="systolic_bp", better="higher"))
        ('fall', 'rise')
    """
    down, up = ("decrease", "increase") if o.type in ("count", "binary") else ("fall", "rise")
    return (down, up) if o.better == "higher" else (up, down)


def _unit_words(o: Outcome, value: float) -> str:
    if o.unit:
        return f" {o.unit}"
    if o.type in ("ordinal", "continuous") and o.range is not None:
        return " point" if value == 1 else " points"
    return ""


def risk_words(o: Outcome) -> str:
    """What counts as harm on a safety outcome, in plain words: its worse direction beyond the mcid.

    Example:
        >>> from nof1.protocol import Outcome
        >>> risk_words(Outcome(name="systolic_bp", better="higher", mcid=10, unit="mmHg"))
        'a fall of more than 10 mmHg'
        >>> risk_words(Outcome(name="headache", type="ordinal", range=(0, 10), better="lower", mcid=2))
        'a rise of more than 2 points'
        >>> risk_words(Outcome(name="gum_bleeding", type="binary", better="lower"))
        'any increase'
    """
    worse, _ = direction_words(o)
    if o.mcid is None:
        return f"any {worse}"
    return f"a {worse} of more than {o.mcid:g}{_unit_words(o, o.mcid)}"


def alert_words(o: Outcome) -> str:
    """The outcome's alert thresholds in words ('' when it has none).

    Example:
        >>> from nof1.protocol import Alert, Outcome
        >>> alert_words(Outcome(name="systolic_bp", better="higher", unit="mmHg", role="safety",
        ...                     alert=Alert(below=90)))
        'alert below 90 mmHg'
        >>> alert_words(Outcome(name="headache", type="ordinal", range=(0, 10), better="lower",
        ...                     role="safety", alert=Alert(at_least=7, consecutive_days=2)))
        'alert at 7 or more on 2 days in a row'
    """
    a = o.alert
    if a is None:
        return ""
    unit = f" {o.unit}" if o.unit else ""
    parts = []
    if a.below is not None:
        parts.append(f"below {a.below:g}{unit}")
    if a.above is not None:
        parts.append(f"above {a.above:g}{unit}")
    if a.at_least is not None:
        parts.append(f"at {a.at_least:g}{unit} or more")
    what = "measurements" if o.schedule == "weekly" else "days"
    run = f" on {a.consecutive_days} {what} in a row" if a.consecutive_days > 1 else ""
    return "alert " + " or ".join(parts) + run


def risk_probability_words(o: Outcome, extras: dict[str, Any]) -> str | None:
    """'P(a fall of more than 10 mmHg) 11%' from a Bayesian result's extras (None without one).

    Example:
        >>> from nof1.protocol import Outcome
        >>> o = Outcome(name="systolic_bp", better="higher", mcid=10, unit="mmHg")
        >>> risk_probability_words(o, {"prob_meaningful_harm": 0.114, "prob_benefit": 0.002})
        'P(a fall of more than 10 mmHg) 11%; P(any fall) >99%'
    """
    from nof1.formatting import fmt_prob

    worse, _ = direction_words(o)
    out = []
    harm = _reported_prob(extras, "prob_meaningful_harm") if o.mcid is not None else None
    if harm is not None:
        out.append(f"P({risk_words(o)}) {fmt_prob(harm)}")
    benefit = _reported_prob(extras, "prob_benefit")
    if benefit is not None:
        out.append(f"P(any {worse}) {fmt_prob(1.0 - benefit)}")
    return "; ".join(out) or None


def _rows_for(trial_data: TrialData, o: Outcome) -> pd.DataFrame:
    """The days whose values are checked, in order (weekly: measurements and scheduled days)."""
    d = trial_data.data.sort_values("day")
    if o.schedule != "weekly":
        return d
    protocol = trial_data.protocol
    has_value = d[o.name].notna().to_numpy()
    scheduled = np.zeros(len(d), dtype=bool)
    lengths = d.groupby("period")["day"].transform("size").to_numpy()
    dip = d["day_in_period"].to_numpy()
    trial = (d["phase"] == "trial").to_numpy()
    for length in np.unique(lengths):
        days = protocol.measure_days(o, int(length))
        sel = trial & (lengths == length)
        scheduled[sel] = np.isin(dip[sel], days)
    return d[has_value | scheduled]


def safety_alerts(trial_data: TrialData) -> list[SafetyAlert]:
    """Every alert of every safety outcome, in date order (outcomes in protocol order per day).

    Example:
        >>> [a.to_dict()["message"] for a in safety_alerts(td)]       # doctest: +SKIP
        ['systolic_bp 88 below 90']
    """
    protocol = trial_data.protocol
    alerts: list[SafetyAlert] = []
    for o in protocol.outcomes:
        if o.role != "safety" or o.alert is None or o.name not in trial_data.data.columns:
            continue
        rules = [(r, getattr(o.alert, r)) for r in ("below", "above", "at_least")
                 if getattr(o.alert, r) is not None]
        need = int(o.alert.consecutive_days)
        rows = _rows_for(trial_data, o)
        values = rows[o.name].to_numpy(dtype=float)
        has_date = "date" in rows.columns
        for rule, threshold in rules:
            run = 0
            for i, v in enumerate(values):
                if not math.isfinite(v):
                    run = 0
                    continue
                crossed = (v < threshold if rule == "below" else
                           v > threshold if rule == "above" else v >= threshold)
                run = run + 1 if crossed else 0
                if run < need:
                    continue
                row = rows.iloc[i]
                date = None
                if has_date and not pd.isna(row["date"]):
                    date = pd.Timestamp(row["date"]).date()
                cond = row.get("condition_taken", None)
                cond = None if cond is None or pd.isna(cond) else str(cond)
                unit = f" {o.unit}" if o.unit else ""
                text = f"{o.name} {_fmt(v)}{unit} {_RULE_TEXT[rule]} {_fmt(threshold)}{unit}"
                if need > 1:
                    what = "measurements" if o.schedule == "weekly" else "days"
                    text += f" for {run} consecutive {what}"
                alerts.append(SafetyAlert(
                    date=date, day=int(row["day"]), outcome=o.name, value=float(v),
                    threshold=float(threshold), rule=rule, message=text, consecutive=run,
                    period=int(row["period"]) if "period" in row and not pd.isna(row["period"]) else None,
                    condition=cond,
                ))
    order = {o.name: i for i, o in enumerate(protocol.outcomes)}
    alerts.sort(key=lambda a: (a.day, order.get(a.outcome, 0), a.rule))
    return alerts


# =========================================================================== benefit–harm
def outcome_draws(result: Any, contrast_label: str) -> np.ndarray | None:
    """Posterior draws of a ``bayes`` result's effect on its mcid scale, or None.

    Uses ``result.fit.effect_draws(contrast_label)`` when the fit has it, else the values of
    ``result.fit.posterior["effect"]`` (a DataTree with a posterior group, or a Dataset).

    Example:
        >>> outcome_draws(res.get("severity", "bayes"), "B-A").shape      # doctest: +SKIP
        (4000,)
    """
    if result is None or not getattr(result, "available", False):
        return None
    fit = getattr(result, "fit", None)
    if fit is None:
        return None
    draws = None
    getter = getattr(fit, "effect_draws", None)
    if callable(getter):
        try:
            draws = getter(contrast_label)
        except TypeError:
            draws = getter()
    else:
        post = getattr(fit, "posterior", None)
        if post is not None:
            try:
                node = post.get("posterior", post)
                draws = np.asarray(node["effect"].values)
            except (KeyError, TypeError, AttributeError):
                draws = None
    if draws is None:
        return None
    arr = np.ravel(np.asarray(draws, dtype=float))
    arr = arr[np.isfinite(arr)]
    return arr if arr.size else None


def _reported_prob(extras: dict[str, Any], key: str) -> float | None:
    """A probability a method result reports (None when it reports none or it is not finite)."""
    v = extras.get(key)
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _unavailable(reason: str, primary: str | None, safety: list[str]) -> dict[str, Any]:
    return {"available": False, "reason": reason, "probability": None, "primary": primary,
            "safety_outcomes": safety, "method": BENEFIT_HARM_METHOD}


def benefit_harm(
    analysis_result: AnalysisResult,
    *,
    contrast: str | None = None,
    method: str = "bayes",
) -> dict[str, Any]:
    """Joint posterior probability of a meaningful benefit on the primary with no meaningful harm.

    P(primary improves by more than its mcid AND every safety outcome worsens by at most its mcid)
    (the boundary rule of :func:`nof1.analysis.effect.decision_probabilities`), from the
    ``bayes`` results of ``contrast`` (default: the first, treatment vs control). A safety outcome
    without an mcid counts any worsening as harm. Posteriors are combined as independent (the
    outcomes are fitted separately): the probability is the product of the marginal
    probabilities, which is exactly the share of independently paired draws.

    Returns ``{"probability", "primary", "safety_outcomes", "method", "contrast",
    "prob_primary_benefit", "prob_no_harm" (per safety outcome), "available": True}``, or
    ``available: False`` with a ``reason`` when draws are missing (e.g. the ``bayes`` method was
    not run or could not fit an outcome).

    Example:
        >>> res = nof1.analyze(td, seed=1)                      # doctest: +SKIP
        >>> benefit_harm(res)["probability"]                    # doctest: +SKIP
        0.64
    """
    protocol = analysis_result.protocol
    primary = protocol.primary
    safety = [o for o in protocol.ordered_outcomes if o.role == "safety"]
    names = [o.name for o in safety]
    by_primary = analysis_result.results.get(primary.name)
    if not by_primary:
        return _unavailable(f"the primary outcome {primary.name} was not analysed", primary.name,
                            names)
    label = contrast or next(iter(by_primary))
    if primary.mcid is None:
        return _unavailable(f"the primary outcome {primary.name} has no mcid", primary.name, names)
    draws: dict[str, np.ndarray] = {}
    reported: dict[str, dict[str, Any]] = {}
    for o in [primary, *safety]:
        res = analysis_result.results.get(o.name, {}).get(label, {}).get(method)
        reported[o.name] = dict(res.extras) if res is not None and res.available else {}
        d = outcome_draws(res, label)
        if d is None:
            why = (f"the {method} method was not run on it" if res is None else
                   f"its {method} fit is not available ({res.reason})" if not res.available else
                   f"its {method} fit has no posterior draws")
            return _unavailable(f"{o.name} ({o.role}) has no posterior for {label}: {why}",
                                primary.name, names)
        draws[o.name] = d
    # the probabilities the results report (exact for the exact engine), so that the report
    # shows one number for each; from the draws when a result reports none
    p_primary = _reported_prob(reported[primary.name], "prob_meaningful_benefit")
    if p_primary is None:     # the one rule of nof1.analysis.effect (strictly more than the mcid)
        from nof1.analysis.effect import decision_probabilities

        p_primary = decision_probabilities(draws[primary.name], primary.better,
                                           primary.mcid)["prob_meaningful_benefit"]
    no_harm: dict[str, float] = {}
    notes: list[str] = []
    for o in safety:
        s = -1.0 if o.better == "lower" else 1.0
        worsening = -s * draws[o.name]          # > 0 means the outcome got worse
        limit = float(o.mcid) if o.mcid is not None else 0.0
        if o.mcid is None:
            notes.append(f"{o.name} has no mcid: any worsening counts as harm")
        harm = _reported_prob(reported[o.name], "prob_meaningful_harm") if o.mcid is not None else None
        no_harm[o.name] = 1.0 - harm if harm is not None else float(np.mean(worsening <= limit))
    prob = p_primary * float(np.prod(list(no_harm.values()))) if no_harm else p_primary
    if not safety:
        notes.append("the protocol has no safety outcomes: this is P(meaningful benefit) alone")
    return {
        "available": True, "probability": prob, "primary": primary.name,
        "safety_outcomes": names, "method": BENEFIT_HARM_METHOD, "contrast": label,
        "prob_primary_benefit": p_primary, "prob_no_harm": no_harm, "notes": notes,
    }
