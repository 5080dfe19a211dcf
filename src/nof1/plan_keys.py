"""Protocol keys of the pre-registered interim plan and of evidence-based priors.

These pydantic models are part of the protocol (``analysis.monitoring`` and
``analysis.prior.evidence``); they live here so that :mod:`nof1.protocol` stays small. The
statistics that use them are in :mod:`nof1.monitoring` (stopping rules and their operating
characteristics), :mod:`nof1.interim_analysis` (``nof1 status``) and
:mod:`nof1.analysis.prior_sensitivity`.

Example:
    >>> m = Monitoring.model_validate({"every_pairs": 1, "min_pairs": 2,
    ...                                "efficacy": {"by": "posterior", "prob": 0.9}})
    >>> m.efficacy.prob, m.futility.by
    (0.9, 'predictive')
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["EvidencePrior", "Monitoring", "Threshold"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Threshold(_Model):
    """One stopping threshold, judged ``by`` the posterior or by the predictive probability.

    (The key is ``by``, not ``on``: YAML reads a bare ``on`` as the boolean true.)

    ``posterior``: efficacy stops when P(meaningful benefit) >= ``prob`` (with P(meaningful harm)
    below ``decision.harm_prob_max``); futility when P(meaningful benefit) < ``prob``; harm when
    P(meaningful harm) >= ``prob``. ``predictive``: the same with the predictive probability that
    the trial, run to its planned end, gives the verdict "likely meaningful benefit" (efficacy,
    futility) or "possible harm" (harm).
    """

    by: Literal["posterior", "predictive"] = "posterior"
    prob: float = Field(gt=0, lt=1)


class Monitoring(_Model):
    """``analysis.monitoring``: interim looks and stopping rules, fixed before the data.

    Looks happen when ``min_pairs``, ``min_pairs + every_pairs``, ... pairs (blocks) are complete;
    the last pair is the planned end, where the ordinary verdict applies. Leave a threshold out
    (``null``) to have no rule of that kind.
    """

    every_pairs: int = Field(default=1, ge=1, description="Look after every k complete pairs.")
    min_pairs: int = Field(default=2, ge=1, description="First look after this many complete pairs.")
    efficacy: Threshold | None = Threshold(by="posterior", prob=0.9)
    futility: Threshold | None = Threshold(by="predictive", prob=0.05)
    harm: Threshold | None = Threshold(by="posterior", prob=0.8)


class EvidencePrior(_Model):
    """An informative normal prior on one outcome's effect (treatment minus control), with its source.

    ``effect_mean`` and ``effect_sd`` are in the outcome's units on the sign convention of the
    effect; ``source`` says where the numbers come from (a citation and how the sd was chosen).
    """

    effect_mean: float
    effect_sd: float = Field(gt=0)
    source: str = Field(min_length=10, description="Citation and reasoning behind the numbers.")

    @model_validator(mode="after")
    def _finite(self) -> EvidencePrior:
        if not (math.isfinite(self.effect_mean) and math.isfinite(self.effect_sd)):
            raise ValueError("effect_mean and effect_sd must be finite numbers")
        return self
