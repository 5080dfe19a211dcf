"""How much a Bayesian result leans on its assumptions: the effect prior and the onset time τ.

:func:`prior_sensitivity` refits the continuous model of one outcome (exact engine, the same data,
model and decision rules) under three effect priors and reports, side by side, the estimate, the
interval, P(meaningful benefit) and the verdict:

* **sceptical**: Normal(0, mcid²) — small effects a priori;
* **default**: the weakly informative Normal(0, (range/4)²);
* **evidence**: the protocol's ``analysis.prior.evidence`` for the outcome (published evidence,
  with its ``source``), when there is one.

The row the analysis itself used is marked (``used``); if the protocol's prior is none of these
(e.g. a custom ``effect_sd``) it is added as ``protocol``. A plain sentence says whether the
verdict depends on the prior.

:func:`onset_sensitivity` refits the primary outcome with the onset/offset time constant τ fixed
at 0, 1, 2 and 4 days next to the main analysis (τ estimated under its prior, or fixed by the
protocol's ``carryover``) and says so when the estimates disagree by more than half the MCID:
four 14-day periods barely tell an instant switch from a half-day onset, so the estimate leans on
the τ prior.

Example:
    >>> res = nof1.analyze(td, seed=1)                          # doctest: +SKIP
    >>> ps = res.prior_sensitivity("severity")                  # doctest: +SKIP
    >>> ps.summary(), ps.sentence                               # doctest: +SKIP
    >>> res.onset_sensitivity().sentence                        # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nof1.jsonsafe import json_safe

if TYPE_CHECKING:
    from nof1.analysis.base import Contrast
    from nof1.data import TrialData
    from nof1.protocol import Outcome

__all__ = ["ONSET_TAUS", "OnsetSensitivity", "PriorSensitivity", "onset_sensitivity", "prior_sensitivity"]

#: Onset/offset time constants (days) of the onset sensitivity analysis.
ONSET_TAUS: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0)


@dataclass
class PriorSensitivity:
    """Results of one outcome and contrast under each effect prior (see the module docstring)."""

    outcome: str
    contrast: str
    rows: list[dict[str, Any]]
    sentence: str
    depends_on_prior: bool
    available: bool = True
    reason: str | None = None

    def summary(self) -> pd.DataFrame:
        """One row per prior: prior, mean, sd, estimate, interval, probabilities, verdict, used."""
        return pd.DataFrame(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"available": self.available, "reason": self.reason, "contrast": self.contrast,
                       "priors": self.rows, "depends_on_prior": self.depends_on_prior,
                       "sentence": self.sentence})


@dataclass
class OnsetSensitivity:
    """The primary estimate with τ fixed at several values next to the main analysis."""

    outcome: str
    contrast: str
    rows: list[dict[str, Any]]
    spread: float | None
    sentence: str
    disagree: bool
    available: bool = True
    reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"available": self.available, "reason": self.reason, "contrast": self.contrast,
                       "rows": self.rows, "spread": self.spread, "disagree": self.disagree,
                       "sentence": self.sentence})


def _setup(trial_data: TrialData, outcome: Outcome | str, contrast: Contrast
           ) -> tuple[Any, Any, Any, Any, Any, str | None]:
    """(outcome, series, info, base priors, contrast vector, None), or a reason why not last."""
    from nof1.analysis.bayes import model_priors, series_data
    from nof1.models.bayes_exact import contrast_vector

    protocol = trial_data.protocol
    o = protocol.outcome(outcome) if isinstance(outcome, str) else outcome
    if o.type != "continuous" or o.schedule != "daily":
        return o, None, None, None, None, (f"'{o.name}' is {o.type}, {o.schedule}: the sensitivity analyses refit "
                                     "the continuous daily model (exact engine) only")
    if o.mcid is None:
        return o, None, None, None, None, "no mcid: the sceptical prior and the verdict need one"
    from nof1.analysis.covariates import adjustment_for

    try:
        # the same covariate adjustment as the analysis (analysis.adjust_for)
        data, info = series_data(trial_data, o, adjust_for=adjustment_for(protocol, o, trial_data))
        base = model_priors(protocol, o, y=data.y, carryover=info["carryover"])
    except ValueError as err:
        return o, None, None, None, None, str(err)
    idx = {k: i for i, k in enumerate(info["treatments"])}
    for key in contrast:
        if key not in idx and key != info["control"]:
            return o, None, None, None, None, f"condition '{key}' is not in the model"
    c = contrast_vector(len(idx), idx.get(contrast[0]), idx.get(contrast[1]))
    return o, data, info, base, c, None


def _fit_row(data: Any, priors: Any, c: Any, o: Outcome, trial_data: TrialData) -> dict[str, Any]:
    from nof1.analysis.decision import verdict
    from nof1.models.bayes_exact import fit_exact

    post = fit_exact(data, priors)
    s = post.summary(c, ci_level=trial_data.protocol.analysis.ci_level, better=o.better, mcid=o.mcid)
    return {"estimate": s["estimate"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
            "prob_benefit": s["prob_benefit"], "prob_meaningful_benefit": s["prob_meaningful_benefit"],
            "prob_meaningful_harm": s["prob_meaningful_harm"],
            "verdict": verdict(s, trial_data.protocol.analysis.decision), "tau": post.tau_summary()["median"]}


def prior_sensitivity(trial_data: TrialData, outcome: Outcome | str, contrast: Contrast) -> PriorSensitivity:
    """The result of ``outcome`` (``contrast`` = (treatment, control)) under each effect prior.

    Example:
        >>> ps = prior_sensitivity(td, "severity", ("B", "A"))      # doctest: +SKIP
        >>> ps.summary()[["prior", "estimate", "prob_meaningful_benefit", "verdict"]]   # doctest: +SKIP
    """
    label = f"{contrast[0]}-{contrast[1]}"
    o, data, info, base, c, why = _setup(trial_data, outcome, contrast)
    name = o.name
    if data is None:
        return PriorSensitivity(outcome=name, contrast=label, rows=[], sentence="", depends_on_prior=False,
                                available=False, reason=why)
    protocol = trial_data.protocol
    k = base.n_treatments
    r = o.value_range
    width = float(r[1] - r[0]) if r is not None and np.isfinite(r[1] - r[0]) else 10.0 * float(o.mcid)
    choices: list[tuple[str, float, float, str]] = [
        ("sceptical", 0.0, float(o.mcid), "Normal(0, mcid): small effects a priori"),
        ("default", 0.0, width / 4.0, "weakly informative Normal(0, range/4)"),
    ]
    ev = protocol.analysis.prior.evidence.get(name)
    if ev is not None:
        choices.append(("evidence", float(ev.effect_mean), float(ev.effect_sd), ev.source))
    used_mean, used_sd = float(base.effect_mean[0]), float(base.effect_sd[0])
    if not any(abs(m - used_mean) < 1e-12 and abs(s - used_sd) < 1e-12 for _, m, s, _ in choices):
        choices.append(("protocol", used_mean, used_sd, "the protocol's analysis.prior"))
    rows = []
    for kind, m, s, text in choices:
        pri = replace(base, effect_mean=(m,) * k, effect_sd=(s,) * k)
        row = {"prior": kind, "mean": m, "sd": s, "about": text,
               "used": abs(m - used_mean) < 1e-12 and abs(s - used_sd) < 1e-12}
        row.update(_fit_row(data, pri, c, o, trial_data))
        row.pop("tau")
        rows.append(row)
    verdicts = {row["verdict"] for row in rows}
    depends = len(verdicts) > 1
    if depends:
        parts = ", ".join(f"'{row['verdict']}' under the {row['prior']} prior" for row in rows)
        sentence = f"The verdict on {name} depends on the prior: {parts}."
    else:
        n_words = "both priors" if len(rows) == 2 else f"all {len(rows)} priors"
        sentence = (f"The verdict on {name} ('{rows[0]['verdict']}') is the same under {n_words} "
                    f"({', '.join(row['prior'] for row in rows)}).")
    return PriorSensitivity(outcome=name, contrast=label, rows=rows, sentence=sentence, depends_on_prior=depends)


def onset_sensitivity(trial_data: TrialData, outcome: Outcome | str, contrast: Contrast,
                      taus: tuple[float, ...] = ONSET_TAUS) -> OnsetSensitivity:
    """The estimate with τ fixed at ``taus`` days next to the main analysis.

    Example:
        >>> onset_sensitivity(td, "severity", ("B", "A")).summary()      # doctest: +SKIP
    """
    label = f"{contrast[0]}-{contrast[1]}"
    o, data, info, base, c, why = _setup(trial_data, outcome, contrast)
    if data is None:
        return OnsetSensitivity(outcome=o.name, contrast=label, rows=[], spread=None, sentence="",
                                disagree=False, available=False, reason=why)
    main = _fit_row(data, base, c, o, trial_data)
    main_label = ("main (tau estimated)" if base.tau_fixed is None else
                  f"main (tau fixed at {base.tau_fixed:g}: carryover {info['carryover']})")
    rows = [{"tau": "estimated" if base.tau_fixed is None else float(base.tau_fixed), "analysis": main_label,
             "tau_median": main["tau"], **{k: v for k, v in main.items() if k != "tau"}}]
    for t in taus:
        row = _fit_row(data, replace(base, tau_fixed=float(t)), c, o, trial_data)
        row.pop("tau")
        rows.append({"tau": float(t), "analysis": f"tau fixed at {t:g} days", "tau_median": float(t), **row})
    est = [row["estimate"] for row in rows[1:]]
    spread = float(max(est) - min(est))
    half = 0.5 * float(o.mcid)
    disagree = spread > half
    lo = rows[1 + int(np.argmin(est))]
    hi = rows[1 + int(np.argmax(est))]
    if disagree:
        sentence = (f"The estimate leans on the onset assumption: with tau fixed between {min(taus):g} and "
                    f"{max(taus):g} days it ranges from {lo['estimate']:.2f} (tau {lo['tau']:g}) to "
                    f"{hi['estimate']:.2f} (tau {hi['tau']:g}), {spread:.2f} apart — more than half the "
                    f"MCID ({half:g}); the main analysis gives {main['estimate']:.2f}.")
    else:
        sentence = (f"The onset assumption matters little: with tau fixed between {min(taus):g} and "
                    f"{max(taus):g} days the estimate stays within {spread:.2f} (less than half the MCID, "
                    f"{half:g}); the main analysis gives {main['estimate']:.2f}.")
    return OnsetSensitivity(outcome=o.name, contrast=label, rows=rows, spread=spread, sentence=sentence,
                            disagree=disagree)
