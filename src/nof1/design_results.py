"""Results of a design evaluation: each method's power, false-positive rate and interval width
with Monte Carlo errors (:class:`MethodPower`), and :class:`DesignEvaluation` (tables, plot,
JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nof1._version import __version__
from nof1.constants import (
    VERDICT_BENEFIT,
    VERDICT_HARM,
    VERDICT_INCONCLUSIVE,
    VERDICT_NO_EFFECT,
)
from nof1.design_common import mean_se, rate_se
from nof1.design_methods import Context, MethodDraws
from nof1.design_pilot import PilotEstimate
from nof1.jsonsafe import json_safe

if TYPE_CHECKING:

    from nof1.protocol import Protocol

@dataclass(frozen=True)
class MethodPower:
    """Operating characteristics of one analysis method for one design and scenario."""

    method: str
    criterion: str
    power: float
    power_se: float
    fpr: float
    fpr_se: float
    mean_estimate: float
    mean_ci_width: float | None = None
    mean_ci_width_se: float | None = None
    mean_prob_meaningful_benefit: float | None = None
    mean_prob_meaningful_benefit_se: float | None = None
    min_p_value: float | None = None
    min_p_value_one_sided: float | None = None
    n_allocations: int | None = None
    verdict_shares: Mapping[str, float] | None = None
    verdict_shares_null: Mapping[str, float] | None = None
    n_sims: int = 0
    n_unavailable: int = 0
    n_unavailable_null: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items()}
        out["verdict_shares"] = dict(self.verdict_shares) if self.verdict_shares else None
        out["verdict_shares_null"] = dict(self.verdict_shares_null) if self.verdict_shares_null else None
        return json_safe(out)


_CRITERIA = {
    "bayes": "verdict 'likely meaningful benefit': P(meaningful benefit) >= {bp:g} and "
             "P(meaningful harm) < {hp:g}",
    "gls_ar1": "two-sided p < {alpha:g} and the estimate in the benefit direction",
    "randomization": "two-sided p < {alpha:g} and the mean difference in the benefit direction",
}


@dataclass
class DesignEvaluation:
    """Power, false-positive rate and precision of one design under one scenario.

    ``methods[name]`` is a :class:`MethodPower`; :meth:`summary` gives the same as a table (one
    row per method). ``assurance`` is true when (sd, φ) were drawn from a pilot's posterior.

    Example:
        >>> ev = evaluate(p, effect=-1, sd=1.5, phi=0.4, sims=500, seed=1)     # doctest: +SKIP
        >>> ev.power("bayes"), ev.methods["gls_ar1"].fpr                       # doctest: +SKIP
        (0.23, 0.046)
    """

    protocol: Protocol
    outcome: str
    scenario: dict[str, Any]
    design: dict[str, Any]
    methods: dict[str, MethodPower]
    pilot: PilotEstimate | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def assurance(self) -> bool:
        """True when the rates average over a pilot's posterior of (sd, φ) (assurance)."""
        return self.pilot is not None

    def power(self, method: str = "bayes") -> float:
        """Power (assurance with a pilot) of one method."""
        return self.methods[method].power

    def summary(self) -> pd.DataFrame:
        """One row per method: power and false-positive rate with Monte Carlo SEs, precision."""
        rows = []
        for m in self.methods.values():
            rows.append({
                "method": m.method, "power": m.power, "power_se": m.power_se, "fpr": m.fpr,
                "fpr_se": m.fpr_se, "mean_estimate": m.mean_estimate, "mean_ci_width": m.mean_ci_width,
                "mean_ci_width_se": m.mean_ci_width_se,
                "mean_prob_meaningful_benefit": m.mean_prob_meaningful_benefit,
                "mean_prob_meaningful_benefit_se": m.mean_prob_meaningful_benefit_se,
                "min_p_value": m.min_p_value, "n_sims": m.n_sims, "n_unavailable": m.n_unavailable,
                "criterion": m.criterion,
            })
        return pd.DataFrame(rows)

    @property
    def table(self) -> pd.DataFrame:
        """The :meth:`summary` table."""
        return self.summary()

    def to_frame(self) -> pd.DataFrame:
        return self.summary()

    def row(self) -> dict[str, Any]:
        """One flat row (design facts, then per-method columns) as used by :func:`compare`."""
        d = self.design
        out: dict[str, Any] = {k: d.get(k) for k in ("period_days", "pairs", "washout_days",
                                                     "run_in_days", "total_days")}
        for name, m in self.methods.items():
            out[f"power_{name}"] = m.power
            out[f"power_{name}_se"] = m.power_se
        for name, m in self.methods.items():
            out[f"fpr_{name}"] = m.fpr
        if "randomization" in self.methods:
            out["min_p_randomization"] = self.methods["randomization"].min_p_value
        widths = {n: m.mean_ci_width for n, m in self.methods.items() if m.mean_ci_width is not None}
        if widths:
            first = next(iter(widths))
            out["mean_ci_width"] = widths[first]
            for n, w in widths.items():
                out[f"mean_ci_width_{n}"] = w
        if "bayes" in self.methods:
            out["mean_prob_meaningful_benefit"] = self.methods["bayes"].mean_prob_meaningful_benefit
        out["n_allocations"] = d.get("n_allocations")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: protocol identity, design, scenario, pilot and every method's numbers."""
        return json_safe({
            "nof1_version": __version__,
            "protocol": {"id": self.protocol.id, "fingerprint": self.protocol.fingerprint},
            "outcome": self.outcome,
            "design": self.design,
            "scenario": self.scenario,
            "assurance": self.assurance,
            "pilot": self.pilot.to_dict() if self.pilot is not None else None,
            "methods": {k: v.to_dict() for k, v in self.methods.items()},
            "notes": list(self.notes),
            "seconds": self.seconds,
        })

    def __str__(self) -> str:
        cols = ["method", "power", "power_se", "fpr", "fpr_se", "mean_ci_width",
                "mean_prob_meaningful_benefit", "min_p_value"]
        return self.summary()[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}")

    def _repr_html_(self) -> str:
        return self.summary().to_html(index=False, float_format=lambda x: f"{x:.3f}")


def method_power(name: str, eff: MethodDraws, null: MethodDraws, ctx: Context,
                  extras: Mapping[str, Any]) -> MethodPower:
    decision = ctx.protocol.analysis.decision
    crit = _CRITERIA[name].format(bp=decision.benefit_prob, hp=decision.harm_prob_max, alpha=ctx.alpha)
    power, power_se = rate_se(eff.success)
    fpr, fpr_se = rate_se(null.success)
    est, _ = mean_se(eff.estimate)
    width = width_se = pmb = pmb_se = None
    if eff.ci_width is not None:
        width, width_se = mean_se(eff.ci_width)
    if eff.prob_meaningful_benefit is not None:
        pmb, pmb_se = mean_se(eff.prob_meaningful_benefit)
    shares = shares_null = None
    if eff.verdicts is not None and null.verdicts is not None:
        order = (VERDICT_BENEFIT, VERDICT_NO_EFFECT, VERDICT_HARM, VERDICT_INCONCLUSIVE)
        shares = {v: float(np.mean(eff.verdicts == v)) for v in order}
        shares_null = {v: float(np.mean(null.verdicts == v)) for v in order}
    return MethodPower(
        method=name, criterion=crit, power=power, power_se=power_se, fpr=fpr, fpr_se=fpr_se,
        mean_estimate=est, mean_ci_width=width, mean_ci_width_se=width_se,
        mean_prob_meaningful_benefit=pmb, mean_prob_meaningful_benefit_se=pmb_se,
        verdict_shares=shares, verdict_shares_null=shares_null, n_sims=int(eff.success.size),
        n_unavailable=int((~eff.available).sum()), n_unavailable_null=int((~null.available).sum()),
        **extras,
    )
