"""Pilot data for a design: the sd and autocorrelation of the outcome estimated, with their
uncertainty, from a run-in or a pilot log (:func:`estimate_pilot`), so that
:func:`nof1.design.evaluate` can average the power over them (assurance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nof1.design_common import DesignError, analysis_priors, get_outcome
from nof1.jsonsafe import json_safe

if TYPE_CHECKING:

    from nof1.protocol import Outcome, Protocol

@dataclass(frozen=True)
class PilotEstimate:
    """Posterior of the day-to-day sd and lag-1 autocorrelation φ from a pilot or run-in log.

    The model is the analysis model restricted to what a pilot can tell: a level (one per
    condition taken, and a separate run-in level when there are trial days too) plus stationary
    AR(1) errors on the calendar day (gaps for missing days), fitted with the exact Bayesian engine
    (:func:`nof1.models.bayes_exact.fit_exact`: a grid over φ, σ integrated by quadrature).
    ``sd`` is the marginal sd of the errors — the ``sd`` of :func:`nof1.simulate_batch`.

    Example:
        >>> est = estimate_pilot([5.1, 4.8, 5.6, 6.0, 5.2, 4.9, 5.5, 5.8, 6.1, 5.0], seed=1)
        >>> 0 < est.sd < 3 and -0.5 <= est.phi <= 0.95
        True
    """

    n_days: int
    source: str
    mean: float
    sd: float
    sd_interval: tuple[float, float]
    phi: float
    phi_interval: tuple[float, float]
    interval_level: float
    posterior: Any = field(repr=False, compare=False)

    def draw(self, n: int, seed: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``n`` joint posterior draws of (sd, φ)."""
        d = self.posterior.draws(n, seed=seed)
        return np.asarray(d["sigma"], dtype=float), np.asarray(d["phi"], dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "n_days": self.n_days, "source": self.source, "mean": self.mean,
            "sd": self.sd, "sd_interval": list(self.sd_interval),
            "phi": self.phi, "phi_interval": list(self.phi_interval),
            "interval_level": self.interval_level,
        })


def _pilot_series(pilot: Any, protocol: Protocol | None, outcome: Outcome | None
                  ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], int, str]:
    """(y, day, u (K, n_days), run_in_days, source) of a pilot given in any accepted form."""
    from nof1.data import TrialData

    if isinstance(pilot, str | Path | pd.DataFrame):
        if protocol is None:
            raise DesignError("reading a pilot log needs the protocol")
        from nof1.data import read_log

        pilot = read_log(pilot, protocol)
        report = pilot.report
        if report is not None and not report.usable:
            raise DesignError("the pilot log cannot be used: " + "; ".join(str(d) for d in report.errors[:5]))
    if isinstance(pilot, TrialData):
        if protocol is None:
            protocol = pilot.protocol
        o = outcome or protocol.primary
        data = pilot.data
        if "participant" in data.columns and data["participant"].nunique() > 1:
            raise DesignError("the pilot holds several participants: give one participant's log")
        if o.name not in data.columns:
            raise DesignError(f"the pilot has no column '{o.name}'")
        obs = data[data[o.name].notna()].sort_values("day")
        y = obs[o.name].to_numpy(dtype=float)
        day = obs["day"].to_numpy(dtype=np.int64)
        n_days = int(data["day"].max()) if len(data) else 0
        treatments = protocol.treatments
        u = np.zeros((len(treatments), max(n_days, 1)))
        taken = data.sort_values("day")
        dd = taken["day"].to_numpy(dtype=np.int64)
        for k, t in enumerate(treatments):
            on = taken["condition_taken"].astype(object).eq(t).fillna(False).to_numpy(dtype=bool)
            u[k, dd[on] - 1] = 1.0
        in_trial = obs["phase"].to_numpy() == "trial"
        run_in = int(protocol.design.run_in_days) if in_trial.any() else 0
        source = ("run-in days" if not in_trial.any() else
                  "run-in and trial days" if (~in_trial).any() else "trial days")
        return y, day, u, run_in, f"{source} of '{o.name}'"
    values = np.asarray(pilot, dtype=float)
    if values.ndim != 1:
        raise DesignError("a pilot given as numbers must be one value per consecutive day")
    day = np.arange(1, values.size + 1)
    keep = np.isfinite(values)
    n_t = len(protocol.treatments) if protocol is not None else 1
    return values[keep], day[keep], np.zeros((n_t, max(values.size, 1))), 0, "daily values"


def estimate_pilot(
    pilot: Any,
    protocol: Protocol | None = None,
    *,
    outcome: str | None = None,
    interval_level: float = 0.9,
    seed: int = 0,
) -> PilotEstimate:
    """Fit the AR(1) model to a pilot and summarise the posterior of sd and φ.

    Args:
        pilot: a :class:`~nof1.data.TrialData` (e.g. ``nof1.read_log(run_in_log, protocol)``),
            a log file path or DataFrame in the user log format (read against ``protocol``), or a
            sequence of daily values (consecutive days, NaN = not logged).
        protocol: the protocol (priors, outcome range and decision scale); taken from a
            TrialData when not given.
        outcome: the outcome (default: the primary).
        interval_level: level of the reported equal-tailed intervals.
        seed: seed of the posterior draws that summarise the level (``mean``).

    Raises:
        DesignError: fewer than 7 observed days, or an unusable outcome.

    Example:
        >>> est = estimate_pilot(run_in, p)      # doctest: +SKIP
        >>> est.sd, est.phi                       # doctest: +SKIP
        (1.48, 0.37)
    """
    from nof1.data import TrialData
    from nof1.models.bayes_exact import SINGLE_GRID, SeriesData, fit_exact

    if protocol is None and isinstance(pilot, TrialData):
        protocol = pilot.protocol
    o = None
    if protocol is not None:
        o = protocol.primary if outcome is None else get_outcome(protocol, outcome)
    y, day, u, run_in, source = _pilot_series(pilot, protocol, o)
    if y.size < 7:
        raise DesignError(
            f"the pilot has {y.size} observed day(s) of the outcome; at least 7 are needed to "
            "estimate its sd and autocorrelation")
    if np.ptp(y) == 0:
        raise DesignError(f"every pilot value is {y[0]:g}: there is no variation to estimate")
    priors = analysis_priors(protocol, o, n_treatments=u.shape[0], scale_hint=float(np.ptp(y)),
                              pilot=True, has_trial_days=bool(u.any()), y=y)
    data = SeriesData(y=y, day=day, u=u, trend=False, run_in_days=run_in)
    try:
        post = fit_exact(data, priors, grid=SINGLE_GRID)
    except ValueError as err:
        raise DesignError(f"the pilot cannot be fitted: {err}") from None
    sig = post.sigma_summary(interval_level)
    ph = post.phi_summary(interval_level)
    draws = post.draws(4000, seed=seed)
    level = float(np.median(draws["alpha"])) if "alpha" in draws else float(np.mean(y))
    return PilotEstimate(
        n_days=int(y.size), source=source, mean=level,
        sd=float(sig["median"]), sd_interval=(float(sig["ci"][0]), float(sig["ci"][1])),
        phi=float(ph["median"]), phi_interval=(float(ph["ci"][0]), float(ph["ci"][1])),
        interval_level=interval_level, posterior=post,
    )
