"""The verdict: plain words from the decision probabilities and the protocol's decision rules.

Every Bayesian method puts ``prob_meaningful_benefit``, ``prob_meaningful_harm`` and
``prob_negligible`` in its extras; :func:`verdict` turns them into one of the four verdicts of
:mod:`nof1.constants`. Used by :func:`nof1.analyze`, the adherence and prior-sensitivity
sections, interim analyses, monitoring, design and pooling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nof1.constants import VERDICT_BENEFIT, VERDICT_HARM, VERDICT_INCONCLUSIVE, VERDICT_NO_EFFECT

if TYPE_CHECKING:
    from nof1.protocol import Decision

__all__ = ["verdict"]


def verdict(prob: dict[str, float | None], decision: Decision) -> str | None:
    """Plain-words verdict from posterior probabilities and the protocol's decision rules.

    ``prob`` holds ``prob_meaningful_benefit``, ``prob_meaningful_harm`` and ``prob_negligible``
    (P(|effect| <= mcid)), computed by the one rule of :mod:`nof1.analysis.effect`
    (:data:`~nof1.analysis.effect.VERDICT_KEYS`). Returns None when they are not available.

    Example:
        >>> from nof1.protocol import Decision
        >>> verdict({"prob_meaningful_benefit": 0.9, "prob_meaningful_harm": 0.0,
        ...          "prob_negligible": 0.1}, Decision())
        'likely meaningful benefit'
    """
    pb, ph, pn = (prob.get("prob_meaningful_benefit"), prob.get("prob_meaningful_harm"),
                  prob.get("prob_negligible"))
    if pb is None or ph is None:
        return None
    if pb >= decision.benefit_prob and ph < decision.harm_prob_max:
        return VERDICT_BENEFIT
    if ph >= decision.possible_harm_prob:
        return VERDICT_HARM
    if pn is not None and pn >= decision.no_effect_prob:
        return VERDICT_NO_EFFECT
    return VERDICT_INCONCLUSIVE
