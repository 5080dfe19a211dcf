"""One sampling path for every Bayesian model: a PyMC model's log density in JAX, BlackJAX NUTS.

The PyMC model stays the single statement of each model (priors, transforms, likelihood). Here
its log density (with the log-Jacobians of the transforms) is translated to a JAX function in
which **every** ``pm.Data`` container of the model is an argument (``model.data_vars``, in their
order: a container added to a model later is picked up without any change here), so one
translation — and one XLA program per array shape — serves every data set of that structure:
every outcome, replicate and padding bucket. The model's starting point (PyMC's support points,
on the unconstrained scale) and the quantities reported from the draws (free variables and
deterministics) are translated the same way.

Sampling (:func:`sample`): each chain is one compiled program — Stan's windowed warm-up (a fast
window adapting the step size by dual averaging, doubling slow windows estimating a diagonal
mass matrix by Welford's algorithm, a final fast window) built from BlackJAX's adaptation pieces,
then NUTS draws, all in one ``lax.scan`` over the same NUTS kernel. The chains run in this
process (no forking: JAX's thread pools make ``fork`` unsafe), one per device at once: when nof1
imports JAX, it asks XLA for one CPU device per core (``--xla_force_host_platform_device_count``),
so two chains on two cores take the time of one. A chain's draws depend only on its seed and
start, not on how many ran beside it. Nothing assumes a CPU: where JAX sees a GPU, the same programs run there.

``JAX_COMPILATION_CACHE_DIR`` (set by the Makefile) keeps the compiled programs between runs;
the numbers are the same with a cold or a warm cache (``benchmarks/bench_reproducibility.py``).

Example:
    >>> import pymc as pm                                            # doctest: +SKIP
    >>> with pm.Model() as m:                                        # doctest: +SKIP
    ...     y = pm.Data("y", np.zeros(3)); mu = pm.Normal("mu", 0, 10)
    ...     pm.Normal("obs", mu, 1, observed=y)
    >>> jm = translate(m, outputs=["mu"])                            # doctest: +SKIP
    >>> res = sample(jm, {"y": np.array([1.0, 2.0, 3.0])}, seeds=[1, 2],
    ...              tune=500, draws=500)                            # doctest: +SKIP
    >>> jm.outputs(res.positions, {"y": ...})["mu"].shape            # doctest: +SKIP
    (2, 500)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["JaxModel", "Samples", "chain_devices", "jax", "run_chains", "sample", "sampler",
           "translate", "unravel"]


def jax() -> Any:
    """JAX in double precision (imported on first use; one CPU device per core when nof1
    imports it first)."""
    from nof1.devices import request_cpu_devices

    request_cpu_devices()
    import jax as _jax

    _jax.config.update("jax_enable_x64", True)
    # JAX's persistent cache keeps programs that took over a second to compile (its default):
    # keeping every small one too cost 3 s on an empty cache (ordinal first fit 8 s -> 11 s)
    return _jax


def unravel(point_map_info: Sequence[tuple[str, Any, int, Any]], q: Any) -> list[Any]:
    """The free variables (unconstrained, each in its shape) from one raveled point ``q``, by
    PyMC's ``point_map_info`` ((name, shape, size, dtype) in order)."""
    out, offset = [], 0
    for _name, shape, size, _dtype in point_map_info:
        out.append(q[offset:offset + size].reshape(shape))
        offset += size
    return out


@dataclass
class JaxModel:
    """A PyMC model's log density, starting point and reported quantities as JAX functions of
    (raveled unconstrained parameters, data arrays in ``data_names`` order)."""

    model: Any
    data_names: tuple[str, ...]
    logp_fn: Callable[..., Any]
    point_map_info: Any
    init_fn: Callable[..., Any]
    output_names: tuple[str, ...]
    output_fn: Callable[..., Any]
    samplers: dict[tuple, Callable[..., Any]] = field(default_factory=dict)
    #: what a caller keeps with the model (nof1.models.program_store: e.g. each output's dims)
    meta: dict[str, Any] = field(default_factory=dict)
    _outputs_jit: Any = None
    _logp_jit: Any = None

    @property
    def dim(self) -> int:
        return int(sum(size for _n, _s, size, _d in self.point_map_info))

    def unravel(self, q: Any) -> list[Any]:
        return unravel(self.point_map_info, q)

    def logdensity(self, data: tuple[Any, ...]) -> Callable[[Any], Any]:
        return lambda q: self.logp_fn(*self.unravel(q), *data)[0]

    def args(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The data arguments (``values[name]`` for every data container, with its dtype)."""
        jnp = jax().numpy
        missing = [n for n in self.data_names if n not in values]
        if missing:
            raise KeyError(f"no values for the data container(s) {missing}")
        return tuple(jnp.asarray(np.asarray(values[n], dtype=self.model[n].dtype))
                     for n in self.data_names)

    def initial_point(self, args: tuple[Any, ...]) -> np.ndarray:
        """PyMC's starting point (support points) on the raveled unconstrained scale."""
        parts = self.init_fn(*args)
        return np.concatenate([np.ravel(np.asarray(p, dtype=float)) for p in parts])

    def log_density(self, q: np.ndarray, args: tuple[Any, ...]) -> float:
        """The log density at one raveled unconstrained point."""
        if self._logp_jit is None:
            j = jax()
            self._logp_jit = j.jit(lambda q, data: self.logdensity(data)(q))
        return float(self._logp_jit(jax().numpy.asarray(q), args))

    def outputs(self, positions: np.ndarray, args: tuple[Any, ...]) -> dict[str, np.ndarray]:
        """Reported quantities for raveled draws (..., dim): ``{name: (..., *shape)}``."""
        j = jax()
        if self._outputs_jit is None:
            def one(q: Any, data: tuple[Any, ...]) -> list[Any]:
                return self.output_fn(*self.unravel(q), *data)

            self._outputs_jit = j.jit(j.vmap(one, in_axes=(0, None)))
        pos = np.asarray(positions, dtype=float)
        lead = pos.shape[:-1]
        outs = self._outputs_jit(j.numpy.asarray(pos.reshape(-1, pos.shape[-1])), args)
        return {name: np.asarray(v).reshape(*lead, *np.shape(v)[1:])
                for name, v in zip(self.output_names, outs, strict=True)}


def jaxify(inputs: Sequence[Any], outputs: Sequence[Any]) -> Callable[..., Any]:
    """A PyTensor graph as a JAX function of ``inputs``: PyTensor's JAX rewrites, then its JAX
    dispatch — what ``pymc.sampling.jax.get_jaxified_graph`` does, without importing that
    module (0.6–1 s: it loads ArviZ's NumPyro converter, and it sets ``XLA_FLAGS`` to 100
    CPU devices). Shared variables left in the graph become constants; a random generator
    among them is a ValueError (as in PyMC)."""
    import pytensor.tensor as pt
    from pytensor.compile import SharedVariable, mode
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.replace import clone_replace
    from pytensor.graph.traversal import graph_inputs
    from pytensor.link.jax.dispatch import jax_funcify
    from pytensor.tensor.random.type import RandomType

    outs = list(outputs)
    shared = [v for v in graph_inputs(outs) if isinstance(v, SharedVariable)]
    if any(isinstance(v.type, RandomType) for v in shared):
        raise ValueError("the graph draws random numbers (a shared random generator): it "
                         "cannot be translated to a deterministic JAX function")
    if shared:
        outs = clone_replace(outs, replace={v: pt.constant(v.get_value(borrow=True))
                                            for v in shared})
    fgraph = FunctionGraph(inputs=list(inputs), outputs=outs, clone=True)
    mode.JAX.optimizer.rewrite(fgraph)
    return jax_funcify(fgraph)


def translate(model: Any, outputs: Sequence[str]) -> JaxModel:
    """Translate ``model`` (log density, starting point, ``outputs``) to JAX, data as arguments.

    ``outputs`` name free variables or deterministics of the model. The shapes of the free
    variables are those at the containers' current values.
    """
    jax()
    import pytensor.tensor as pt
    from pymc.blocking import DictToArrayBijection
    from pymc.initial_point import make_initial_point_expression
    from pytensor.graph.replace import graph_replace

    shared = list(model.data_vars)
    names = tuple(v.name for v in shared)
    args = [v.type() for v in shared]
    swap = dict(zip(shared, args, strict=True))
    value_vars = model.value_vars
    logp = graph_replace([model.logp()], swap, strict=False)[0]
    logp_fn = jaxify([*value_vars, *args], [logp])
    init = make_initial_point_expression(
        free_rvs=model.free_RVs, rvs_to_transforms=model.rvs_to_transforms,
        initval_strategies=model.rvs_to_initial_values, return_transformed=True)
    init = [pt.as_tensor_variable(v) for v in graph_replace(init, swap, strict=False)]
    try:
        init_fn = jaxify(args, init)
    except ValueError:
        # Some support points keep a random draw's RNG in the graph (LKJCholeskyCov's sd_dist),
        # which JAX cannot take: evaluate the starting point with PyTensor's Python linker.
        import pytensor

        init_pt = pytensor.function(args, init, mode="FAST_COMPILE", on_unused_input="ignore")

        def init_fn(*data: Any) -> list[Any]:
            return init_pt(*[np.asarray(v) for v in data])
    outs = model.replace_rvs_by_values([model[n] for n in outputs])
    outs = graph_replace(outs, swap, strict=False)
    output_fn = jaxify([*value_vars, *args], outs)
    # The raveling map needs each free variable's shape: from the starting point at the
    # containers' current values (shapes are fixed per structure; dims may hide them).
    ip = init_fn(*[np.asarray(v.get_value()) for v in shared])
    info = DictToArrayBijection.map(
        {v.name: np.zeros(np.shape(p)) for v, p in zip(value_vars, ip, strict=True)}
    ).point_map_info
    return JaxModel(model=model, data_names=names, logp_fn=logp_fn, point_map_info=info,
                    init_fn=init_fn, output_names=tuple(outputs), output_fn=output_fn)


def sampler(jm: Any, tune: int, draws: int) -> Callable[..., Any]:
    """One chain as one compiled XLA program: ``run(key, q0, data, target_accept)`` →
    (positions (draws, dim), divergent, integration steps, tree depth, step size).

    ``jm`` offers ``logdensity(data) -> (q -> log density)`` and a ``samplers`` dict (a
    :class:`JaxModel`, or the continuous model's record). Warm-up is Stan's windowed adaptation
    as BlackJAX implements it (``build_schedule``: a fast window adapting the step size by dual
    averaging, doubling slow windows estimating the diagonal mass matrix by Welford's algorithm,
    a final fast window; the step size restarts after each slow window and ends at its
    dual-averaging mean), built from BlackJAX's own adaptation pieces. Warm-up and draws are one
    ``lax.scan`` over the same NUTS kernel (adaptation frozen after warm-up), so the kernel is
    compiled once, not twice. Compiled on first call for each data shape; cached per
    (tune, draws): the target acceptance rate is an argument, so a refit with a higher one
    (after divergences) reuses the program. ``run.parallel`` is the same chain mapped over devices
    (``jax.pmap``; leading axis of ``key`` and ``q0`` = one chain per device), which
    :func:`sample` uses; ``run.traces`` lists the data shapes of each compilation (one per
    data shape and group width).
    """
    key = (tune, draws)
    if key in jm.samplers:
        return jm.samplers[key]
    j = jax()
    jnp = j.numpy
    traces: list[tuple] = []

    def make_chain() -> Callable[..., Any]:
        # BlackJAX is imported only to trace a chain (1 s; a stored program does not need it),
        # and before tracing: its modules compute constants with JAX when imported
        import blackjax
        from blackjax.adaptation.mass_matrix import mass_matrix_adaptation
        from blackjax.adaptation.step_size import dual_averaging_adaptation
        from blackjax.adaptation.window_adaptation import build_schedule

        schedule = np.asarray(build_schedule(tune), dtype=np.int64).reshape(tune, 2)
        total = tune + draws
        xs_stage = np.concatenate([schedule[:, 0], np.zeros(draws, np.int64)])
        xs_window_end = np.concatenate([schedule[:, 1], np.zeros(draws, np.int64)]).astype(bool)
        xs_tuning = np.arange(total) < tune
        xs_last = np.arange(total) == tune - 1
        kernel = blackjax.nuts.build_kernel()
        mm_init, mm_update, mm_final = mass_matrix_adaptation(True)

        def chain(rng_key: Any, q0: Any, data: tuple[Any, ...], target: Any) -> tuple[Any, ...]:
            traces.append(tuple(np.shape(d) for d in data))   # runs once per compilation
            logdensity = jm.logdensity(data)
            da_init, da_update, da_final = dual_averaging_adaptation(target)

            def body(carry: Any, xs: Any) -> tuple[Any, tuple[Any, ...]]:
                state, da, mm, eps = carry
                k, stage, window_end, tuning, last = xs
                state, info = kernel(k, state, logdensity, eps, mm.inverse_mass_matrix)

                def adapt(da: Any, mm: Any, eps: Any) -> tuple[Any, Any, Any]:
                    da_new = da_update(da, info.acceptance_rate)
                    mm_new = j.lax.cond(stage == 1, lambda m: mm_update(m, state.position),
                                        lambda m: m, mm)
                    # end of a slow window: new mass matrix, step size restarted from its average
                    mm_new, da_new = j.lax.cond(
                        window_end, lambda m, d: (mm_final(m), da_init(da_final(d))),
                        lambda m, d: (m, d), mm_new, da_new)
                    eps_new = jnp.where(last, da_final(da_new), jnp.exp(da_new.log_step_size))
                    return da_new, mm_new, eps_new

                da, mm, eps = j.lax.cond(tuning, adapt, lambda d, m, e: (d, m, e), da, mm, eps)
                return (state, da, mm, eps), (state.position, info.is_divergent,
                                              info.num_integration_steps,
                                              info.num_trajectory_expansions)

            carry = (blackjax.nuts.init(q0, logdensity), da_init(1.0), mm_init(q0.size),
                     jnp.asarray(1.0))
            xs = (j.random.split(rng_key, total), jnp.asarray(xs_stage),
                  jnp.asarray(xs_window_end), jnp.asarray(xs_tuning), jnp.asarray(xs_last))
            (_, _, _, eps), (pos, div, n_steps, depth) = j.lax.scan(body, carry, xs)
            return pos[tune:], div[tune:], n_steps[tune:], depth[tune:], eps

        return chain

    program = getattr(jm, "sampler_program", None)
    if program is not None:
        # a stored model (nof1.models.program_store): the chain traced once, kept on disk
        fn = program(tune, draws, lambda: j.jit(make_chain())).call
    else:
        fn = make_chain()
    run = j.jit(fn)
    run.parallel = j.pmap(fn, in_axes=(0, 0, None, None))
    run.traces = traces
    jm.samplers[key] = run
    return run


def chain_devices() -> int:
    """How many chains run at once: JAX's local devices, on a CPU at most one per core (nof1
    asks for one per core when it imports JAX first; PyMC's JAX module asks for 100)."""
    j = jax()
    n = int(j.local_device_count())
    if j.default_backend() == "cpu":
        n = min(n, os.cpu_count() or 1)
    return max(1, n)


def run_chains(run: Any, args: tuple[Any, ...], starts: Sequence[np.ndarray],
               seeds: Sequence[int], target_accept: float = 0.9,
               parallel: int | None = None) -> list[tuple[np.ndarray, ...]]:
    """Run one chain per (start, seed) with a :func:`sampler` program, ``parallel`` at a time
    (default :func:`chain_devices`), each chain on its own device (``pmap``). The draws of a
    chain depend only on its seed and start: the same whether it ran alone or beside others
    (``tests/test_jax_engine.py`` checks this bit for bit)."""
    j = jax()
    width = max(1, min(int(parallel or chain_devices()), len(seeds), j.local_device_count()))
    out: list[tuple[np.ndarray, ...]] = []
    for lo in range(0, len(seeds), width):
        group = list(range(lo, min(lo + width, len(seeds))))
        keys = j.numpy.stack([j.random.PRNGKey(int(seeds[i])) for i in group])
        q0 = j.numpy.asarray(np.stack([np.asarray(starts[i], dtype=float) for i in group]))
        res = run.parallel(keys, q0, args, j.numpy.asarray(float(target_accept)))
        arrays = [np.asarray(r) for r in res]
        out.extend(tuple(a[g] for a in arrays) for g in range(len(group)))
    return out


@dataclass
class Samples:
    """Raveled unconstrained draws (chains, draws, dim) and per-draw sampler statistics."""

    positions: np.ndarray
    diverging: np.ndarray
    tree_size: np.ndarray
    depth: np.ndarray
    step_size: np.ndarray
    seconds: float


def jittered_starts(jm: JaxModel, args: tuple[Any, ...], n: int, rng: np.random.Generator,
                    jitter: float = 1.0) -> list[np.ndarray]:
    """``n`` starting points: PyMC's initial point plus U(−jitter, jitter) on the unconstrained
    scale (redrawn up to 20 times until the log density is finite), as PyMC's ``jitter+``."""
    q0 = jm.initial_point(args)
    out = []
    for _ in range(n):
        start = q0
        for _attempt in range(20):
            cand = q0 + rng.uniform(-jitter, jitter, size=q0.size)
            if np.isfinite(jm.log_density(cand, args)):
                start = cand
                break
        out.append(start)
    return out


def sample(jm: Any, args: tuple[Any, ...], *, starts: Sequence[np.ndarray], seeds: Sequence[int],
           tune: int, draws: int, target_accept: float = 0.9,
           parallel: int | None = None) -> Samples:
    """One chain per (start, seed), as many at once as there are devices (:func:`run_chains`);
    see :func:`sampler`.

    Example:
        >>> res = sample(jm, args, starts=starts, seeds=[1, 2], tune=1000, draws=1000)  # doctest: +SKIP
        >>> res.positions.shape                                                        # doctest: +SKIP
        (2, 1000, 7)
    """
    import time

    if tune < 1 or draws < 1 or not seeds:
        raise ValueError("tune, draws and chains must be at least 1")
    run = sampler(jm, int(tune), int(draws))
    t0 = time.perf_counter()
    results = run_chains(run, args, starts, seeds, target_accept, parallel)
    pos, div, n_steps, depth, step = (np.stack([r[i] for r in results]) for i in range(5))
    return Samples(positions=pos, diverging=div.astype(bool), tree_size=n_steps.astype(float),
                   depth=depth.astype(np.int64), step_size=step.astype(float),
                   seconds=time.perf_counter() - t0)
