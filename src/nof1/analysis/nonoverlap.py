"""Non-overlap indices NAP and Tau: descriptive, in the outcome's benefit direction.

NAP (non-overlap of all pairs; Parker & Vannest 2009) is the share of all (control day,
treatment day) pairs in which the treatment day is *better* (by the outcome's ``better``), ties
counting ½: 0.5 means no separation, 1 complete separation in favour of the treatment.
Tau = 2·NAP − 1 (range −1..1, 0 = no separation). They are **not effects in outcome units**:
the methods report the index itself as ``estimate``/``ci_low``/``ci_high`` and say so with
``extras["scale"] = "nap"`` or ``"tau"``.

Standard error and interval follow SingleCaseES 0.7.4 (``calc_ES(ES = c("NAP", "Tau"))``):
the "unbiased" variance of Sen (1967)/Mee (1990) with NAP truncated to
[½/(mn), 1 − ½/(mn)] in the leading term, and Newcombe's (2006) score-type interval "method 5":
the roots θ of ``m·n·(NAP − θ)²·(2 − θ)(1 + θ) = z²·θ(1 − θ)·(2 + h + (1 + 2h)·θ(1 − θ))``,
``h = (m + n)/2 − 1``, below and above NAP ([1, 1] when NAP = 1, [0, 0] when NAP = 0). Tau's SE
and interval are the linear transforms. SingleCaseES finds the roots with R's ``uniroot`` at its
default tolerance (about 1.2e-4), so its interval ends can differ from the exact roots computed
here by up to about 1e-4; :func:`newcombe_interval` with ``tol=R_UNIROOT_TOL`` runs the same
Brent search as R's ``zeroin`` and reproduces SingleCaseES digit for digit.

Like SingleCaseES, the SE and interval assume independent days; with autocorrelated days they
are too narrow. These indices describe separation; they do not estimate an effect.

Example:
    >>> r = nonoverlap([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29], better="higher")
    >>> round(r["nap"], 3), round(r["tau"], 3)
    (0.917, 0.833)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nof1.analysis.base import Contrast, MethodResult, register_method
from nof1.analysis.classical import (
    constant_problem,
    prepare_days,
)
from nof1.constants import CI_LEVEL

if TYPE_CHECKING:
    from nof1.data import TrialData
    from nof1.protocol import Outcome

#: R's ``uniroot`` default tolerance, ``.Machine$double.eps^0.25``.
R_UNIROOT_TOL: float = float(np.finfo(float).eps ** 0.25)
#: Fewest usable days per condition (the unbiased SE divides by (m − 1)(n − 1)).
MIN_DAYS_NONOVERLAP: int = 2
_EPS = float(np.finfo(float).eps)

NAP_MEANING = ("share of (control day, treatment day) pairs in which the treatment day was better, "
               "ties counted 1/2; 0.5 = no separation, 1 = complete separation in favour of treatment; "
               "not an effect in outcome units")
TAU_MEANING = ("Tau = 2*NAP - 1: -1 (every control day better) to 1 (every treatment day better), "
               "0 = no separation; not an effect in outcome units")


def _zeroin(f: Callable[[float], float], ax: float, bx: float, fa: float, fb: float, tol: float,
            maxit: int = 1000) -> float:
    """Brent's root finder exactly as R's ``zeroin`` (``R_zeroin2``), so results match ``uniroot``."""
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def newcombe_interval(nap: float, m: int, n: int, ci_level: float = CI_LEVEL,
                      tol: float = 1e-12) -> tuple[float, float]:
    """Newcombe's (2006) method-5 score interval for NAP with m control and n treatment days.

    ``tol`` is the root-finding tolerance; ``R_UNIROOT_TOL`` reproduces SingleCaseES exactly.

    Example:
        >>> lo, hi = newcombe_interval(0.7714285714285714, 5, 7, tol=R_UNIROOT_TOL)
        >>> round(lo, 9), round(hi, 9)
        (0.430532065, 0.932244381)
    """
    from scipy import stats

    h = (m + n) / 2.0 - 1.0
    z = float(stats.norm.ppf(1.0 - (1.0 - ci_level) / 2.0))

    def f(x: float) -> float:
        return m * n * (nap - x) ** 2 * (2.0 - x) * (1.0 + x) - z * z * x * (1.0 - x) * (
            2.0 + h + (1.0 + 2.0 * h) * x * (1.0 - x))

    lo = _zeroin(f, 0.0, nap, f(0.0), f(nap), tol) if nap > 0 else 0.0
    hi = _zeroin(f, nap, 1.0, f(nap), f(1.0), tol) if nap < 1 else 1.0
    return float(lo), float(hi)


def nonoverlap(
    control: Sequence[float],
    treatment: Sequence[float],
    *,
    better: str = "higher",
    ci_level: float = CI_LEVEL,
    tol: float = 1e-12,
) -> dict[str, Any]:
    """NAP and Tau of ``treatment`` vs ``control`` in the benefit direction, with SEs and intervals.

    Returns a dict: ``nap``, ``tau``, ``se_nap``, ``se_tau``, ``ci_nap`` and ``ci_tau`` (tuples),
    ``n_control``, ``n_treatment``. ``better="lower"`` is SingleCaseES's ``improvement =
    "decrease"``.

    Example:
        >>> r = nonoverlap([13.6, 12.6, 15.8], [6.0, 4.1, 7.2, 3.3, 5.5, 6.1, 2.0], better="lower")
        >>> r["nap"], r["ci_nap"]
        (1.0, (1.0, 1.0))
    """
    a = np.asarray(control, dtype=float)
    b = np.asarray(treatment, dtype=float)
    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower', got {better!r}")
    if better == "lower":
        a, b = -a, -b
    m, n = a.size, b.size
    if m < 1 or n < 1:
        raise ValueError("both conditions need at least one value")
    q = (b[None, :] > a[:, None]) + 0.5 * (b[None, :] == a[:, None])
    nap = float(q.mean())
    se = float("nan")
    if m > 1 and n > 1:
        q1 = float(((q - nap).sum(axis=1) ** 2).sum() / (m * n * n))
        q2 = float(((q - nap).sum(axis=0) ** 2).sum() / (m * m * n))
        x = float(((q - nap) ** 2).sum() / (m * n))
        trunc = 0.5 / (m * n)
        nap_t = min(max(nap, trunc), 1.0 - trunc)
        var = (nap_t * (1.0 - nap_t) + n * q1 + m * q2 - 2.0 * x) / ((m - 1) * (n - 1))
        se = math.sqrt(var) if var >= 0 else float("nan")
    lo, hi = newcombe_interval(nap, m, n, ci_level, tol=tol)
    return {
        "nap": nap, "tau": 2.0 * nap - 1.0, "se_nap": se, "se_tau": 2.0 * se,
        "ci_nap": (lo, hi), "ci_tau": (2.0 * lo - 1.0, 2.0 * hi - 1.0),
        "n_control": m, "n_treatment": n,
    }


def _fit_index(
    index: str, trial_data: TrialData, outcome: Outcome | str, contrast: Contrast,
    ci_level: float, washout_days: int | None,
) -> MethodResult:
    prep = prepare_days(index, trial_data, outcome, contrast, washout_days, MIN_DAYS_NONOVERLAP)
    if isinstance(prep, MethodResult):
        return prep
    o, days, w = prep
    yt = days.loc[days["condition"] == contrast[0], "y"].to_numpy(dtype=float)
    yc = days.loc[days["condition"] == contrast[1], "y"].to_numpy(dtype=float)
    problem = constant_problem(np.concatenate([yt, yc]))
    if problem:
        return MethodResult.unavailable(index, o.name, contrast, problem)
    r = nonoverlap(yc, yt, better=o.better, ci_level=ci_level)
    est, se = (r["nap"], r["se_nap"]) if index == "nap" else (r["tau"], r["se_tau"])
    lo, hi = r["ci_nap"] if index == "nap" else r["ci_tau"]
    notes = [
        f"{index.upper()} is a non-overlap index on its own scale, not an effect in outcome units "
        f"({'0.5' if index == 'nap' else '0'} = no separation; benefit direction: {o.better} is better)",
        "SE and interval assume independent days (as SingleCaseES); with autocorrelated days they are too narrow",
    ]
    extras: dict[str, Any] = {
        "scale": index, "nap": r["nap"], "tau": r["tau"], "se": se if math.isfinite(se) else None,
        "n_control": r["n_control"], "n_treatment": r["n_treatment"], "better": o.better,
        "meaning": NAP_MEANING if index == "nap" else TAU_MEANING, "washout_days": w,
    }
    return MethodResult(
        method=index, outcome=o.name, contrast=contrast, estimate=est, ci_low=lo, ci_high=hi,
        ci_level=ci_level, extras=extras, notes=tuple(notes),
    )


@register_method(
    "nap", outcome_types=("continuous", "ordinal", "count"), order=70,
    description="non-overlap of all pairs (descriptive index, 0.5 = no separation)",
)
def nap(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    **options: Any,
) -> MethodResult:
    """NAP of treatment vs control days (washout excluded) with SingleCaseES's SE and interval.

    ``estimate``/``ci_low``/``ci_high`` are NAP itself (``extras["scale"] == "nap"``).

    Example:
        >>> nap(td, "severity", ("B", "A")).extras["nap"]    # doctest: +SKIP
        0.81
    """
    return _fit_index("nap", trial_data, outcome, contrast, ci_level, washout_days)


@register_method(
    "tau", outcome_types=("continuous", "ordinal", "count"), order=71,
    description="Tau non-overlap = 2*NAP - 1 (descriptive index, 0 = no separation)",
)
def tau(
    trial_data: TrialData,
    outcome: Outcome | str,
    contrast: Contrast,
    *,
    ci_level: float = CI_LEVEL,
    seed: int | None = None,
    washout_days: int | None = None,
    **options: Any,
) -> MethodResult:
    """Tau (= 2·NAP − 1) of treatment vs control days, with SingleCaseES's SE and interval.

    ``estimate``/``ci_low``/``ci_high`` are Tau itself (``extras["scale"] == "tau"``).

    Example:
        >>> tau(td, "severity", ("B", "A")).extras["tau"]    # doctest: +SKIP
        0.62
    """
    return _fit_index("tau", trial_data, outcome, contrast, ci_level, washout_days)
