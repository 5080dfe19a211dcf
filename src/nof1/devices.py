"""How many CPU devices JAX offers, so that MCMC chains run in parallel (one per core).

XLA's CPU backend is one device unless asked for more before JAX starts
(``--xla_force_host_platform_device_count``). ``import nof1`` asks for one per core (at most
:data:`MAX_CHAIN_DEVICES`) when JAX is not yet imported and ``XLA_FLAGS`` does not already say
how many; nothing is imported here. ArviZ imports JAX when it is installed, so this must happen
before the first ``import arviz``: importing nof1 first is enough. A chain's draws do not
depend on how many devices there are (:func:`nof1.models.jax_nuts.run_chains`).

Example:
    >>> import os
    >>> request_cpu_devices()          # no effect once JAX is imported
    >>> "XLA_FLAGS" in os.environ or "jax" in __import__("sys").modules
    True
"""

from __future__ import annotations

import os
import sys

__all__ = ["MAX_CHAIN_DEVICES", "request_cpu_devices"]

#: Most CPU devices requested (one per core up to this).
MAX_CHAIN_DEVICES: int = 8


def request_cpu_devices() -> None:
    """Ask XLA for one CPU device per core (up to :data:`MAX_CHAIN_DEVICES`) if JAX has not
    started and ``XLA_FLAGS`` sets no device count (a user's setting wins)."""
    if "jax" in sys.modules:
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" in flags:
        return
    n = max(1, min(os.cpu_count() or 1, MAX_CHAIN_DEVICES))
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()
