"""At design time: how much can the onset/offset assumption move the estimate?

With an onset/offset time constant τ (first-order exposure, :mod:`nof1.models.exposure`), an
analysis that assumes an instant switch (τ = 0) misses part of the effect on the first days of
every period. Its bias is deterministic: fit the noise-free outcome effect·x_t(τ) with the
instant-switch model (level + effect, the protocol's trend term, the washout days left out) by
GLS with the AR(1) correlation φ^|Δday|; the bias is the estimate minus the effect. It is linear
in the effect, so :func:`onset_design` reports it for an effect of one MCID and asks which
washout (at the protocol's period length) or which period length (at its washout) brings it
below MCID/4 for onsets up to ``tau_max`` days (default 4, the longest of the onset
sensitivity analysis).

Example:
    >>> import nof1
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")      # doctest: +SKIP
    >>> onset_design(p, phi=0.4)["sentence"]                             # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from nof1.protocol import Protocol

__all__ = ["instant_switch_bias", "onset_design"]


def instant_switch_bias(conditions: list[str], control: str, period_days: int, washout_days: int, *,
                        tau: float, phi: float, effect: float = 1.0, trend: bool = False) -> float:
    """Bias of the instant-switch GLS estimate when the truth has onset/offset time constant ``tau``.

    ``conditions``: the condition of each period in order (e.g. ``["A", "B", "B", "A"]``); every
    non-control condition counts as treatment.

    Example:
        >>> round(instant_switch_bias(["A", "B", "A", "B"], "A", 14, 0, tau=0.0, phi=0.4), 12)
        0.0
        >>> instant_switch_bias(["A", "B", "A", "B"], "A", 14, 0, tau=2.0, phi=0.4) < 0
        True
    """
    from nof1.models.exposure import exposure

    u = np.repeat([0.0 if c == control else 1.0 for c in conditions], period_days)
    dip = np.tile(np.arange(1, period_days + 1), len(conditions))
    x = exposure(u, float(tau))
    keep = dip > washout_days
    day = np.arange(1, u.size + 1)[keep]
    cols = [np.ones(day.size), u[keep]]
    if trend:
        cols.append((day - day.mean()) / 28.0)
    X = np.column_stack(cols)
    y = effect * x[keep]
    S = np.power(float(phi), np.abs(day[:, None] - day[None, :]).astype(float)) if phi != 0 else np.eye(day.size)
    Si = np.linalg.inv(S)
    beta = np.linalg.solve(X.T @ Si @ X, X.T @ Si @ y)
    return float(beta[1] - effect)


def onset_design(protocol: Protocol, *, phi: float, tau_max: float = 4.0, outcome: str | None = None
                 ) -> dict[str, Any]:
    """The instant-switch bias of the design for onsets up to ``tau_max`` days, and the washout or
    period length that keeps it below MCID/4 (see the module docstring).

    Returns ``bias`` (by τ in 1, 2, ``tau_max``; effect = one MCID), ``threshold`` (MCID/4),
    ``washout_needed`` (days, at the protocol's period length; None if no washout shorter than the
    period does it), ``period_needed`` (days, at the protocol's washout; None beyond 4 x the
    period), and a ``sentence``.
    """
    from nof1.analysis.classical import trend_on

    o = protocol.primary if outcome is None else protocol.outcome(outcome)
    d = protocol.design
    period = int(d.period_days or 0)
    if period == 0 or o.mcid is None:
        return {"available": False, "reason": "needs fixed-length periods and an mcid", "sentence": ""}
    conds = [c for c, _ in protocol.periods_for()]
    control = protocol.control
    w = int(d.washout_days)
    mcid = float(o.mcid)
    thr = mcid / 4.0
    trend = bool(trend_on(protocol, None))
    taus = sorted({1.0, 2.0, float(tau_max)})

    def worst(p_days: int, wash: int) -> float:
        return max(abs(instant_switch_bias(conds, control, p_days, wash, tau=t, phi=phi, effect=mcid,
                                           trend=trend)) for t in taus)

    bias = {f"{t:g}": instant_switch_bias(conds, control, period, w, tau=t, phi=phi, effect=mcid, trend=trend)
            for t in taus}
    now = worst(period, w)
    washout_needed = next((k for k in range(0, period - 2) if worst(period, k) < thr), None)
    period_needed = next((p for p in range(max(w + 3, 3), 4 * period + 1) if worst(p, w) < thr), None)
    mode = protocol.analysis.carryover
    head = (f"Onset: if the effect takes up to {tau_max:g} days to appear and fade, an analysis assuming an "
            f"instant switch is off by up to {now:.2f} (effect of one MCID, {mcid:g}) with "
            f"{w} washout day(s) in {period}-day periods")
    if now < thr:
        tail = (f"; that is below MCID/4 ({thr:g}): the onset assumption matters little in this design"
                + (f" (the shortest washout that does: {washout_needed} days)." if washout_needed is not None
                   and washout_needed < w else "."))
    else:
        opts = []
        if washout_needed is not None:
            opts.append(f"{washout_needed} washout days (periods of {period})")
        if period_needed is not None:
            opts.append(f"periods of {period_needed} days (washout {w})")
        tail = (f"; to keep it below MCID/4 ({thr:g}) use " + " or ".join(opts) + "." if opts else
                f"; no washout shorter than the period keeps it below MCID/4 ({thr:g}).")
    note = ("" if mode != "model" else
            " (The analysis estimates tau, carryover: model, which removes most of this bias at the cost of "
            "a wider interval; the onset sensitivity of nof1 analyze shows how much it leans on the tau prior.)")
    return {"available": True, "tau_max": tau_max, "phi": phi, "effect": mcid, "bias": bias,
            "worst_bias": now, "threshold": thr, "washout_days": w, "period_days": period,
            "washout_needed": washout_needed, "period_needed": period_needed,
            "sentence": head + tail + note}
