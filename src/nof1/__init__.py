"""nof1 — N-of-1 self-experiments: design, log, analyse honestly, share reproducibly.

The data path: :class:`Protocol` (validated file) → schedule (day → condition/period/washout) →
:class:`TrialData` (ingested, aligned log + defect report) → :func:`analyze` → result objects
with ``.summary()``, ``.to_dict()`` → report.

Example:
    >>> import nof1
    >>> protocol = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")   # doctest: +SKIP
    >>> data = nof1.read_log("data/sample/beetroot_log.csv", protocol)      # doctest: +SKIP
    >>> result = nof1.analyze(data, seed=1)                                 # doctest: +SKIP
    >>> result.summary()                                                    # doctest: +SKIP

Heavy dependencies (PyMC, statsmodels, matplotlib) are imported only when a function needs them,
so ``import nof1`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from nof1._version import __version__
from nof1.devices import request_cpu_devices
from nof1.errors import AnalysisError, DataError, Nof1Error, ProtocolError
from nof1.protocol import Protocol, load_protocol, protocol_from_text

# MCMC chains run one per CPU core: JAX must be told before it starts (nothing is imported)
request_cpu_devices()

# name -> module that defines it; imported on first access.
_LAZY: dict[str, str] = {
    "read_log": "nof1.data",
    "TrialData": "nof1.data",
    "DataReport": "nof1.data",
    "simulate": "nof1.simulation",
    "simulate_batch": "nof1.simulation",
    "analyze": "nof1.analysis",
    "AnalysisResult": "nof1.analysis",
    "MethodResult": "nof1.analysis",
    "washout_sensitivity": "nof1.analysis",
    "pool": "nof1.pooling",
    "interim": "nof1.interim_analysis",
}
_SUBMODULES = {"design", "plot", "report", "analysis", "data", "simulation", "schedule", "models", "pooling", "safety",
               "monitoring"}

__all__ = [
    "__version__", "Protocol", "load_protocol", "protocol_from_text", "Nof1Error", "ProtocolError", "DataError",
    "AnalysisError", *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"nof1.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'nof1' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
