"""Every PyMC model of nof1 is compiled and sampled with IEEE floating point (no fast-math).

With fast-math, a model compiled from an empty cache and the same model loaded from a warm cache
differ in the last bit of some gradients, and the same seed gives different draws on a user's
first and second run (``benchmarks/bench_reproducibility.py`` shows the cold/warm comparison).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytensor
import pytest

from nof1.models import bayes_pymc, discrete_pymc, hierarchical
from nof1.models.determinism import ieee_math, with_ieee_math


class Seen(Exception):
    """Raised by the spies below once they have recorded the flag."""


def spy(record: dict):
    def inner(*args, **kwargs):
        record["fastmath"] = bool(pytensor.config.numba__fastmath)
        raise Seen

    return inner


def test_context_manager_restores_the_flag() -> None:
    before = pytensor.config.numba__fastmath
    with ieee_math():
        assert pytensor.config.numba__fastmath is False
    assert pytensor.config.numba__fastmath == before
    assert with_ieee_math(lambda: pytensor.config.numba__fastmath)() is False


def test_continuous_pymc_model_builds_without_fastmath(monkeypatch: pytest.MonkeyPatch) -> None:
    record: dict = {}
    monkeypatch.setattr(bayes_pymc, "_structure", spy(record))
    data = SimpleNamespace(n_treatments=1)
    priors = SimpleNamespace(n_treatments=1, phi_fixed=None)
    with pytest.raises(Seen):
        bayes_pymc.fit_pymc(data, priors)
    assert record == {"fastmath": False}


def test_discrete_model_builds_without_fastmath(monkeypatch: pytest.MonkeyPatch) -> None:
    record: dict = {}
    monkeypatch.setattr(discrete_pymc, "_pad_length", spy(record))
    data = SimpleNamespace(n=10, y=np.zeros(10), n_treatments=1)
    with pytest.raises(Seen):
        discrete_pymc.fit_discrete("count", data)
    assert record == {"fastmath": False}


def test_hierarchical_model_builds_without_fastmath(monkeypatch: pytest.MonkeyPatch) -> None:
    record: dict = {}
    monkeypatch.setattr(hierarchical, "padded_sizes", spy(record))
    with pytest.raises(Seen):
        hierarchical.fit_series(None)
    assert record == {"fastmath": False}
