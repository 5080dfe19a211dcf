"""NUTS chains on a compiled PyMC log density, in forked worker processes (the ordinal, count and
binary models; the continuous model samples with BlackJAX, see :mod:`nof1.models.bayes_pymc`).

``pm.sample`` compiles several functions per call and pickles the step method into each worker;
for one small model fitted again and again (every outcome, replicate and simulated trial) that
overhead dominates. Here a model is compiled once (its ``logp_dlogp`` function, evaluated once
before any fork so that the numba machine code exists), and each chain runs PyMC's own NUTS
step method (``pymc.step_methods.hmc.NUTS``, with its step-size and mass-matrix adaptation) on
it. Chains run in forked processes that inherit the compiled function — nothing is pickled or
recompiled — or one after the other where forking is not possible. The draws depend only on the
seeds, not on how the chains were run.

Example:
    >>> runs = sample_chains(target, seeds=[1, 2], tune=500, draws=500)   # doctest: +SKIP
    >>> runs[0].draws.shape, int(runs[0].diverging.sum())                 # doctest: +SKIP
    ((500, 5), 0)
"""

from __future__ import annotations

import multiprocessing as mp
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

__all__ = ["ChainRun", "NutsTarget", "run_chain", "sample_chains"]


class NutsTarget(Protocol):
    """What a compiled model offers the sampler (the models' ``_Compiled`` records have it)."""

    model: Any
    vars: list
    logp_dlogp: Any
    initial_point: dict[str, np.ndarray]
    point_map_info: Any


@dataclass
class ChainRun:
    """One chain: ``draws`` (draws, dim) on the unconstrained (raveled) scale and per-draw stats."""

    draws: np.ndarray
    diverging: np.ndarray
    tree_size: np.ndarray
    depth: np.ndarray
    step_size: float
    forked: bool = False


def _start_point(target: NutsTarget, rng: np.random.Generator, start: np.ndarray | None) -> np.ndarray:
    """``start`` when given and finite, else the initial point jittered by U(−1, 1)."""
    if start is not None:
        start = np.asarray(start, dtype=float)
        if np.isfinite(target.logp_dlogp(start)[0]):
            return start
    q0 = np.concatenate([np.ravel(target.initial_point[v.name]) for v in target.vars])
    for _attempt in range(20):
        cand = q0 + rng.uniform(-1.0, 1.0, size=q0.size)
        if np.isfinite(target.logp_dlogp(cand)[0]):
            return cand
    return q0


def run_chain(target: NutsTarget, seed: int, tune: int, draws: int, target_accept: float = 0.9,
              start: np.ndarray | None = None) -> ChainRun:
    """One NUTS chain: ``tune`` adaptation steps, then ``draws`` kept draws.

    Example:
        >>> run = run_chain(target, seed=1, tune=300, draws=300)      # doctest: +SKIP
    """
    from pymc.blocking import RaveledVars
    from pymc.step_methods.hmc import NUTS

    rng = np.random.default_rng(seed)
    step = NUTS(vars=target.vars, model=target.model, logp_dlogp_func=target.logp_dlogp,
                initial_point=target.initial_point, target_accept=target_accept, rng=rng)
    step.setup_chain(rng, tune, draws)
    step.tune = tune > 0
    step.reset_tuning()
    step.iter_count = 0
    q = RaveledVars(_start_point(target, rng, start), target.point_map_info)
    dim = q.data.size
    out = np.empty((draws, dim))
    diverging = np.zeros(draws, dtype=bool)
    tree_size = np.zeros(draws)
    depth = np.zeros(draws, dtype=np.int64)
    for i in range(tune + draws):
        if i == tune:
            step.stop_tuning()
        q, stats = step.astep(q)
        if i >= tune:
            st = stats[0] if isinstance(stats, list | tuple) else stats
            k = i - tune
            out[k] = q.data
            diverging[k] = bool(st.get("diverging", False))
            tree_size[k] = float(st.get("tree_size", 0.0))
            depth[k] = int(st.get("depth", 0))
    return ChainRun(draws=out, diverging=diverging, tree_size=tree_size, depth=depth,
                    step_size=float(np.asarray(step.step_size).ravel()[0]))


#: The target and start points of the chains being forked (set just before the fork; the worker
#: processes inherit it, so the compiled function is never pickled).
_ACTIVE: tuple[NutsTarget, Sequence[np.ndarray | None]] | None = None


def _worker(args: tuple[int, int, int, int, float]) -> ChainRun:
    index, seed, tune, draws, target_accept = args
    assert _ACTIVE is not None
    target, starts = _ACTIVE
    run = run_chain(target, seed, tune, draws, target_accept, starts[index])
    run.forked = True
    return run


def sample_chains(target: NutsTarget, seeds: Sequence[int], tune: int, draws: int,
                  target_accept: float = 0.9, n_cores: int = 1,
                  starts: Sequence[np.ndarray | None] | None = None) -> list[ChainRun]:
    """One chain per seed; in ``n_cores`` forked processes when possible, else sequentially.

    The model's data must already be set (``pm.set_data``) in this process.

    Example:
        >>> runs = sample_chains(target, [11, 12], tune=1000, draws=1000, n_cores=2)  # doctest: +SKIP
    """
    global _ACTIVE
    starts = list(starts) if starts is not None else [None] * len(seeds)
    if n_cores > 1 and len(seeds) > 1 and "fork" in mp.get_all_start_methods() \
            and not mp.current_process().daemon:
        _ACTIVE = (target, starts)
        try:
            with warnings.catch_warnings():
                # Python >= 3.12 warns that fork() in a multi-threaded process may deadlock, and
                # JAX (if the continuous model ran in this process) warns likewise. The other
                # threads are idle BLAS/XLA workers and the forked chains never call into BLAS
                # threads or JAX (they run numba code), so nothing in the child waits on them.
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called",
                                        category=RuntimeWarning)
                ctx = mp.get_context("fork")
                with ctx.Pool(processes=min(n_cores, len(seeds))) as pool:
                    return pool.map(_worker, [(i, int(s), tune, draws, target_accept)
                                              for i, s in enumerate(seeds)])
        except (OSError, AssertionError):
            pass
        finally:
            _ACTIVE = None
    return [run_chain(target, int(s), tune, draws, target_accept, starts[i])
            for i, s in enumerate(seeds)]
