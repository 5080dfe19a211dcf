"""First-order onset/decay exposure shared by the simulator and every model.

x_t = x_{t-1}·e^(−1/τ) + u_t·(1 − e^(−1/τ)) on the calendar-day index, with x = 0 before the
first trial day. τ → 0 is an instant switch (x_t = u_t). Over a gap of g days without logged
values the recursion still runs day by day (the exposure depends on what was *taken*, not on
what was logged), so callers pass the full daily treatment indicator.

Example:
    >>> import numpy as np
    >>> exposure(np.array([0, 1, 1, 1, 0, 0]), tau=0.0).tolist()
    [0.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    >>> np.round(exposure(np.array([0, 1, 1]), tau=1.0), 3).tolist()
    [0.0, 0.632, 0.865]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def decay_factor(tau: ArrayLike) -> NDArray[np.float64]:
    """e^(−1/τ), with τ <= 0 giving 0 (instant switch)."""
    tau = np.asarray(tau, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(tau > 0, np.exp(-1.0 / np.where(tau > 0, tau, 1.0)), 0.0)


def exposure(u: ArrayLike, tau: float | ArrayLike, x0: float = 0.0) -> NDArray[np.float64]:
    """Exposure series for a daily treatment indicator ``u`` (last axis = days).

    ``tau`` may be a scalar or an array broadcasting against ``u.shape[:-1]`` (a batch of
    time constants, e.g. a grid), in which case the result has the broadcast batch shape.
    """
    u = np.asarray(u, dtype=float)
    a = decay_factor(tau)
    batch = np.broadcast_shapes(u.shape[:-1], a.shape)
    a = np.broadcast_to(a, batch)[..., None] if batch else a
    n = u.shape[-1]
    x = np.empty((*batch, n))
    prev = np.full(batch, float(x0))
    ub = np.broadcast_to(u, (*batch, n))
    a_ = a[..., 0] if batch else a
    for t in range(n):
        prev = prev * a_ + ub[..., t] * (1.0 - a_)
        x[..., t] = prev
    return x


def exposure_multi(codes: ArrayLike, n_levels: int, tau: float | ArrayLike) -> NDArray[np.float64]:
    """Exposure to each of ``n_levels`` conditions from a daily condition code (0 = control).

    Returns an array (..., n_levels - 1, days): one exposure series per treatment condition.
    Negative codes (run-in, not on any condition) count as control.
    """
    codes = np.asarray(codes)
    return np.stack([exposure((codes == k).astype(float), tau) for k in range(1, n_levels)], axis=-2)
