"""Bit-for-bit reproducible PyTensor/numba code: same seed, same numbers, cold or warm cache.

PyTensor compiles models with numba and, by default, with LLVM "fast-math" flags, which let the
compiler reorder floating-point operations. The machine code it produces then depends on how it
was compiled: a model compiled from an empty cache and the same model loaded from a warm cache
gave log-density gradients differing in the last bit for about 0.5 % of entries (measured on the
ordinal model), and NUTS amplifies such differences into different draws — so the same seed gave
different numbers on a user's first and second run. With fast-math off the two are identical
(checked: 50 random points, every value and gradient bit-identical) and sampling is as fast
(ordinal 56-day fit: 3.4 s vs 3.8 s of sampling; ``benchmarks/bench_ordinal.py``).

Every nof1 function that compiles or samples a PyMC model runs under :func:`ieee_math` (the
samplers themselves are JAX programs, :mod:`nof1.models.jax_nuts`, compiled by XLA without
fast-math; PyTensor code is only compiled when a caller evaluates a model graph directly).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["ieee_math", "with_ieee_math"]


@contextmanager
def ieee_math() -> Iterator[None]:
    """Compile and run PyTensor's numba code with IEEE floating point (no fast-math).

    Example:
        >>> with ieee_math():                       # doctest: +SKIP
        ...     idata = pm.sample(random_seed=1)
    """
    import pytensor

    with pytensor.config.change_flags(numba__fastmath=False):
        yield


def with_ieee_math[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of :func:`ieee_math`.

    Example:
        >>> @with_ieee_math
        ... def fit(x): return x
        >>> fit(1)
        1
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with ieee_math():
            return func(*args, **kwargs)

    return wrapper
