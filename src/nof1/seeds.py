"""The one seed derivation of the package: :func:`task_seed`.

Every random step takes a seed; a step that runs several tasks (an outcome × contrast × method in
:func:`nof1.analyze`, a participant in a series, a design simulation, an interim look) derives
each task's seed from the run's seed and the task's identity with :func:`task_seed`, so a task's
numbers do not depend on which other tasks ran, in which order or on which worker.

The derivation is the SHA-256 of ``":".join(str(x) for x in (seed, *keys))``, read big-endian,
its top ``bits`` bits kept: version-, platform- and ``PYTHONHASHSEED``-independent.
"""

from __future__ import annotations

import hashlib

__all__ = ["task_seed"]


def task_seed(seed: object, *keys: object, bits: int = 32) -> int:
    """A reproducible seed (an integer in ``[0, 2**bits)``) for one task of a run.

    Args:
        seed: the run's seed (``None`` is hashed as the text ``"None"``).
        *keys: the task's identity, e.g. ``("severity", "B-A", "bayes")``; each is hashed as
            ``str(key)``, so ``1`` and ``"1"`` give the same seed.
        bits: width of the result, 1-256. The default 32 suits every seed of numpy, PyMC and
            JAX; the protocol's allocations use 64 (their historical width).

    Example:
        >>> task_seed(1, "P01") == task_seed(1, "P01") != task_seed(1, "P02")
        True
        >>> task_seed(20261201, "severity", "B-A", "bayes")
        2703946769
    """
    if not 1 <= bits <= 256:
        raise ValueError(f"bits must be between 1 and 256, got {bits}")
    digest = hashlib.sha256(":".join(str(x) for x in (seed, *keys)).encode()).digest()
    return int.from_bytes(digest, "big") >> (256 - bits)
