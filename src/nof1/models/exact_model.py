"""Priors, data and contrasts of the continuous model (:mod:`nof1.models.bayes_exact`).

Both engines (exact and PyMC) take a :class:`SeriesData` and :class:`ModelPriors`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nof1.constants import TAU_PRIOR_MEDIAN, TAU_PRIOR_SIGMA
from nof1.models.exposure import exposure

#: Support of the uniform prior on the AR(1) coefficient φ. Daily symptom ratings have lag-1
#: autocorrelations between about 0 and 0.8; the prior allows mild negative values and stops
#: short of a unit root (a stationary model cannot describe a random walk anyway).
PHI_LOW: float = -0.5
PHI_HIGH: float = 0.95
#: The τ grid spans ±this many prior sds of log τ (the prior mass outside is < 1e-4).
TAU_Z_BOUND: float = 4.0
#: Unit of the trend term: the trend coefficient is a change per this many days.
TREND_UNIT_DAYS: float = 28.0

FloatArray = NDArray[np.float64]
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


# =========================================================================== priors and data
@dataclass(frozen=True)
class ModelPriors:
    """Numerical priors of the continuous model (outcome units), shared by both engines.

    ``effect_mean``/``effect_sd`` hold one value per treatment (β_k ~ Normal(mean, sd²), independent
    of σ); ``sigma_scale`` is the scale of the half-normal prior on σ (the marginal sd of the AR(1)
    errors); φ ~ Uniform(``phi_low``, ``phi_high``); τ ~ LogNormal(log ``tau_median``,
    ``tau_sigma``²) unless ``tau_fixed`` is set (0 = instant switch). The level, trend and run-in
    level have flat priors.

    Example:
        >>> p = ModelPriors.from_scale(10.0)            # a 0-10 rating
        >>> p.effect_sd, p.sigma_scale
        ((2.5,), 2.5)
    """

    effect_mean: tuple[float, ...] = (0.0,)
    effect_sd: tuple[float, ...] = (1.0,)
    sigma_scale: float = 1.0
    phi_low: float = PHI_LOW
    phi_high: float = PHI_HIGH
    tau_median: float = TAU_PRIOR_MEDIAN
    tau_sigma: float = TAU_PRIOR_SIGMA
    tau_fixed: float | None = None
    phi_fixed: float | None = None

    def __post_init__(self) -> None:
        if len(self.effect_mean) != len(self.effect_sd):
            raise ValueError("effect_mean and effect_sd need one value per treatment")
        if any(not (s > 0 and math.isfinite(s)) for s in self.effect_sd):
            raise ValueError("effect_sd must be positive")
        if not self.sigma_scale > 0:
            raise ValueError("sigma_scale must be positive")
        if not -1.0 < self.phi_low < self.phi_high < 1.0:
            raise ValueError("need -1 < phi_low < phi_high < 1")
        if self.tau_fixed is not None and self.tau_fixed < 0:
            raise ValueError("tau_fixed must be >= 0")
        if self.phi_fixed is not None and not -1.0 < self.phi_fixed < 1.0:
            raise ValueError("phi_fixed must be in (-1, 1)")

    @classmethod
    def from_scale(
        cls,
        width: float,
        n_treatments: int = 1,
        *,
        kind: Literal["weakly_informative", "sceptical"] = "weakly_informative",
        mcid: float | None = None,
        effect_mean: float = 0.0,
        effect_sd: float | None = None,
        sigma_scale: float | None = None,
        tau_median: float = TAU_PRIOR_MEDIAN,
        tau_sigma: float = TAU_PRIOR_SIGMA,
        tau_fixed: float | None = None,
        phi_fixed: float | None = None,
    ) -> ModelPriors:
        """Default priors for an outcome whose plausible values span ``width`` units.

        Weakly informative: β ~ Normal(effect_mean, (width/4)²), σ ~ HalfNormal(width/4).
        Sceptical: β ~ Normal(0, mcid²) (``effect_sd`` overrides the sd, ``effect_mean`` the mean).
        """
        if not width > 0:
            raise ValueError("width must be positive")
        if effect_sd is None:
            if kind == "sceptical":
                if mcid is None:
                    raise ValueError("the sceptical prior needs an mcid (or an explicit effect_sd)")
                effect_sd = float(mcid)
            else:
                effect_sd = width / 4.0
        return cls(
            effect_mean=(float(effect_mean),) * n_treatments,
            effect_sd=(float(effect_sd),) * n_treatments,
            sigma_scale=float(sigma_scale if sigma_scale is not None else width / 4.0),
            tau_median=float(tau_median),
            tau_sigma=float(tau_sigma),
            tau_fixed=tau_fixed,
            phi_fixed=phi_fixed,
        )

    @property
    def n_treatments(self) -> int:
        return len(self.effect_sd)

    def describe(self, names: Sequence[str] | None = None) -> dict[str, Any]:
        """The priors in words and numbers (for the output and the report)."""
        names = list(names) if names is not None else [f"beta[{k}]" for k in range(self.n_treatments)]
        out: dict[str, Any] = {
            "effect": {
                n: {"distribution": "normal", "mean": m, "sd": s,
                    "text": f"Normal(mean {m:g}, sd {s:g}), independent of sigma"}
                for n, m, s in zip(names, self.effect_mean, self.effect_sd, strict=True)
            },
            "sigma": {"distribution": "half-normal", "scale": self.sigma_scale,
                      "text": f"HalfNormal(scale {self.sigma_scale:g}) on the residual sd "
                              "(marginal sd of the AR(1) errors)"},
            "phi": ({"distribution": "uniform", "low": self.phi_low, "high": self.phi_high,
                     "text": f"Uniform({self.phi_low:g}, {self.phi_high:g}) on the lag-1 "
                             "autocorrelation of the errors (per calendar day)"}
                    if self.phi_fixed is None else
                    {"distribution": "fixed", "value": self.phi_fixed,
                     "text": f"fixed at {self.phi_fixed:g}"}),
            "level_trend_run_in": {"distribution": "flat",
                                   "text": "flat (improper uniform) on the control level, the trend "
                                           "(per 28 days) and the run-in level"},
        }
        if self.tau_fixed is None:
            lo = self.tau_median * math.exp(-1.6449 * self.tau_sigma)
            hi = self.tau_median * math.exp(1.6449 * self.tau_sigma)
            out["tau"] = {"distribution": "log-normal", "median": self.tau_median,
                          "sdlog": self.tau_sigma,
                          "text": f"LogNormal(median {self.tau_median:g} days, sd(log) "
                                  f"{self.tau_sigma:g}): 90% between {lo:.2g} and {hi:.2g} days"}
        else:
            out["tau"] = {"distribution": "fixed", "value": self.tau_fixed,
                          "text": f"fixed at {self.tau_fixed:g} days"
                                  + (" (instant switch)" if self.tau_fixed == 0 else "")}
        return out


@dataclass(frozen=True)
class SeriesData:
    """One outcome series as arrays (both engines take this).

    ``y`` (n,) observed values; ``day`` (n,) strictly increasing 1-based calendar days; ``u``
    (K, n_days) daily indicator of each treatment over the *whole* calendar (run-in and unlogged
    days included, 0 on control and run-in days); ``trend`` adds a linear trend (per 28 days);
    days ``<= run_in_days`` get their own level (the run-in is not the control condition).

    Example:
        >>> import numpy as np
        >>> d = SeriesData(y=np.array([1.0, 2.0, 3.0]), day=np.array([1, 2, 4]),
        ...                u=np.array([[0.0, 1.0, 1.0, 1.0]]))
        >>> d.gaps.tolist(), d.nuisance().shape
        ([0, 1, 2], (3, 1))
    """

    y: FloatArray
    day: NDArray[np.int64]
    u: FloatArray
    trend: bool = False
    run_in_days: int = 0
    #: (n, p) covariates at the observed days (flat-prior columns of the linear model), or None.
    covariates: FloatArray | None = None
    covariate_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        y = np.asarray(self.y, dtype=float)
        day = np.asarray(self.day, dtype=np.int64)
        u = np.atleast_2d(np.asarray(self.u, dtype=float))
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "day", day)
        object.__setattr__(self, "u", u)
        if y.ndim != 1 or day.shape != y.shape:
            raise ValueError("y and day must be 1-D arrays of the same length")
        if self.covariates is not None:
            z = np.asarray(self.covariates, dtype=float).reshape(y.size, -1)
            if not np.all(np.isfinite(z)):
                raise ValueError("covariates must be finite (drop days where one is missing)")
            names = tuple(self.covariate_names) or tuple(f"covariate_{j + 1}" for j in range(z.shape[1]))
            if len(names) != z.shape[1]:
                raise ValueError("one covariate name per covariate column")
            object.__setattr__(self, "covariates", z if z.shape[1] else None)
            object.__setattr__(self, "covariate_names", names if z.shape[1] else ())
        if not np.all(np.isfinite(y)):
            raise ValueError("y must be finite (drop unobserved days)")
        if y.size and (np.any(np.diff(day) <= 0) or day[0] < 1 or day[-1] > u.shape[1]):
            raise ValueError("day must be strictly increasing within 1..n_days")

    @property
    def n(self) -> int:
        return int(self.y.size)

    @property
    def n_days(self) -> int:
        return int(self.u.shape[1])

    @property
    def n_treatments(self) -> int:
        return int(self.u.shape[0])

    @property
    def gaps(self) -> NDArray[np.int64]:
        """Days since the previous observation (0 for the first)."""
        g = np.zeros(self.n, dtype=np.int64)
        g[1:] = np.diff(self.day)
        return g

    @property
    def has_run_in_level(self) -> bool:
        """Whether a separate run-in level is estimable (observations in and after the run-in)."""
        r = self.day <= self.run_in_days
        return bool(r.any() and (~r).any())

    def nuisance(self) -> FloatArray:
        """Columns with flat priors: level, run-in level (if any), trend (if requested)."""
        cols = [np.ones(self.n)]
        if self.has_run_in_level:
            cols.append((self.day <= self.run_in_days).astype(float))
        if self.trend and self.n > 2:
            cols.append((self.day - self.day.mean()) / TREND_UNIT_DAYS)
        if self.covariates is not None:
            z = self.covariates
            cols.extend((z - z.mean(axis=0)).T)
        return np.column_stack(cols)

    @property
    def nuisance_names(self) -> list[str]:
        names = ["alpha"]
        if self.has_run_in_level:
            names.append("run_in_level")
        if self.trend and self.n > 2:
            names.append("trend")
        names.extend(f"covariate:{c}" for c in self.covariate_names)
        return names

    def exposure(self, tau: float | ArrayLike) -> FloatArray:
        """Exposure of each treatment at the observed days: (..., n, K) for τ of shape (...)."""
        tau = np.asarray(tau, dtype=float)
        x = exposure(self.u, tau[..., None]) if tau.ndim else exposure(self.u, float(tau))
        return np.swapaxes(x[..., self.day - 1], -1, -2)


def contrast_vector(n_treatments: int, treatment: int | None, control: int | None) -> FloatArray:
    """c such that c'β is ``treatment`` minus ``control`` (index into β; None = the control arm).

    Example:
        >>> contrast_vector(2, 1, 0).tolist(), contrast_vector(2, 0, None).tolist()
        ([-1.0, 1.0], [1.0, 0.0])
    """
    c = np.zeros(n_treatments)
    if treatment is not None:
        c[treatment] += 1.0
    if control is not None:
        c[control] -= 1.0
    return c
