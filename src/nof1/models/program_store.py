"""Traced JAX programs of a model kept on disk between processes (``jax.export``).

JAX's persistent compilation cache (``JAX_COMPILATION_CACHE_DIR``) keeps compiled XLA programs,
but a new process must still build the PyMC model, translate its graph to JAX and trace the
sampler before JAX can even look a program up: about 3 s of every pooled fit. Here the traced
and lowered programs of one model structure — its starting point, log density, reported
quantities and NUTS chains — are serialised with ``jax.export`` beside that cache
(``<JAX_COMPILATION_CACHE_DIR>/nof1-programs``, or ``NOF1_PROGRAM_STORE``; set it to ``off`` to
disable), so a later process of the same structure loads them in milliseconds, without PyMC.

A stored program is the same program: the draws are bit-identical with or without the store
(``tests/test_program_store.py``; ``benchmarks/bench_reproducibility.py``). Entries are keyed
by the structure, the versions of JAX, BlackJAX, PyMC and PyTensor, and a hash of nof1's model
code, so a change to any of them makes new entries; an unreadable entry is rebuilt. The PyMC
model stays the single statement of each model: a stored program is its translation.

Example:
    >>> store = ProgramStore.default()                                # doctest: +SKIP
    >>> jm = store.model(("series-model", key), build)                # doctest: +SKIP
    >>> jm.outputs(positions, jm.args(values))["mu"].shape            # doctest: +SKIP
    (2, 1000, 1)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ProgramModel", "ProgramStore", "code_fingerprint"]

#: Environment variable naming the store's folder (``off`` disables it).
STORE_ENV: str = "NOF1_PROGRAM_STORE"


@functools.cache
def code_fingerprint() -> str:
    """Hash of what a stored program depends on: the versions of the packages that trace and
    lower it and the source of nof1's model modules."""
    h = hashlib.sha256()
    for pkg in ("jax", "jaxlib", "blackjax", "pymc", "pytensor", "numpy"):
        try:
            h.update(f"{pkg}={metadata.version(pkg)};".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{pkg}=none;".encode())
    here = Path(__file__).resolve().parent
    for path in sorted([*here.glob("*.py"), here.parent / "devices.py"]):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _export_module() -> Any:
    from jax import export

    return export


@dataclass
class ProgramModel:
    """A model's programs as exported JAX functions of (raveled unconstrained parameters, data
    arrays): the same interface as :class:`nof1.models.jax_nuts.JaxModel` for
    :func:`~nof1.models.jax_nuts.sample`, plus ``meta`` (what the caller stored with it, e.g.
    each output's dims) and the folder of its NUTS programs."""

    data_names: tuple[str, ...]
    data_dtypes: tuple[str, ...]
    data_shapes: tuple[tuple[int, ...], ...]
    dim: int
    point_map_info: tuple[tuple[str, tuple[int, ...], int, str], ...]
    output_names: tuple[str, ...]
    meta: dict[str, Any]
    folder: Path | None
    init_exp: Any
    logp_exp: Any
    outputs_exp: Any
    samplers: dict[tuple, Callable[..., Any]] = field(default_factory=dict)
    build: Callable[[], tuple[Any, tuple[Any, ...], dict[str, Any]]] | None = None
    _translated: Any = None
    _jits: dict[str, Any] = field(default_factory=dict)

    def translated(self) -> Any:
        """The model translated to JAX (built on first use: only tracing a NUTS program not yet
        stored needs it)."""
        if self._translated is None:
            if self.build is None:
                raise RuntimeError("this stored model has no builder to translate it again")
            self._translated = self.build()[0]
        return self._translated

    def _jit(self, name: str, exp: Any) -> Any:
        fn = self._jits.get(name)
        if fn is None:
            from nof1.models.jax_nuts import jax

            fn = self._jits[name] = jax().jit(exp.call)
        return fn

    def args(self, values: dict[str, Any]) -> tuple[Any, ...]:
        """The data arguments, as :meth:`JaxModel.args`."""
        from nof1.models.jax_nuts import jax

        jnp = jax().numpy
        missing = [n for n in self.data_names if n not in values]
        if missing:
            raise KeyError(f"no values for the data container(s) {missing}")
        out = tuple(jnp.asarray(np.asarray(values[n], dtype=d))
                    for n, d in zip(self.data_names, self.data_dtypes, strict=True))
        for n, a, s in zip(self.data_names, out, self.data_shapes, strict=True):
            if tuple(a.shape) != tuple(s):
                raise ValueError(f"data {n!r} has shape {tuple(a.shape)}; this program was "
                                 f"traced for {tuple(s)}")
        return out

    def logdensity(self, data: tuple[Any, ...]) -> Callable[[Any], Any]:
        """The translated model's log density (what a NUTS program is traced from: the same
        program, so the same draws, as a model that is not stored; differentiating through the
        exported log density instead costs 40% more per gradient)."""
        return self.translated().logdensity(data)

    def initial_point(self, args: tuple[Any, ...]) -> np.ndarray:
        return np.asarray(self._jit("init", self.init_exp)(*args), dtype=float)

    def log_density(self, q: np.ndarray, args: tuple[Any, ...]) -> float:
        from nof1.models.jax_nuts import jax

        return float(self._jit("logp", self.logp_exp)(jax().numpy.asarray(q), *args))

    def outputs(self, positions: np.ndarray, args: tuple[Any, ...]) -> dict[str, np.ndarray]:
        from nof1.models.jax_nuts import jax

        pos = np.asarray(positions, dtype=float)
        lead = pos.shape[:-1]
        outs = self._jit("outputs", self.outputs_exp)(
            jax().numpy.asarray(pos.reshape(-1, pos.shape[-1])), *args)
        return {name: np.asarray(v).reshape(*lead, *np.shape(v)[1:])
                for name, v in zip(self.output_names, outs, strict=True)}

    # ------------------------------------------------------------------ NUTS programs
    def sampler_program(self, tune: int, draws: int, trace: Callable[[], Any]) -> Any:
        """The exported chain of :func:`~nof1.models.jax_nuts.sampler` for (tune, draws): loaded
        from the folder, or ``trace()`` (a jitted chain) exported and saved."""
        export = _export_module()
        path = None if self.folder is None else self.folder / f"nuts-{tune}-{draws}.bin"
        exp = _load(path)
        if exp is None:
            from nof1.models.jax_nuts import jax

            j = jax()
            specs = (j.ShapeDtypeStruct((2,), np.uint32),
                     j.ShapeDtypeStruct((self.dim,), np.float64),
                     tuple(j.ShapeDtypeStruct(s, np.dtype(d))
                           for s, d in zip(self.data_shapes, self.data_dtypes, strict=True)),
                     j.ShapeDtypeStruct((), np.float64))
            exp = export.export(trace())(*specs)
            _save(path, exp)
        return exp


def _load(path: Path | None) -> Any:
    if path is None or not path.is_file():
        return None
    try:
        return _export_module().deserialize(bytearray(path.read_bytes()))
    except Exception:          # an unreadable entry (partial write, other version): rebuild
        return None


def _save(path: Path | None, exp: Any) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(exp.serialize())
        os.replace(tmp, path)
    except OSError:            # a read-only or full disk: the program still runs, unsaved
        return


class ProgramStore:
    """Where :class:`ProgramModel` entries live (one folder per model structure)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    @classmethod
    def default(cls) -> ProgramStore:
        """``NOF1_PROGRAM_STORE`` (``off``: none), else ``<JAX_COMPILATION_CACHE_DIR>/nof1-programs``
        (none when JAX's persistent cache is not set either: nothing is written to disk)."""
        env = os.environ.get(STORE_ENV, "").strip()
        if env.lower() in ("off", "0", "none", "false"):
            return cls(None)
        if env:
            return cls(Path(env))
        jax_dir = os.environ.get("JAX_COMPILATION_CACHE_DIR", "").strip()
        return cls(Path(jax_dir) / "nof1-programs" if jax_dir else None)

    def folder(self, key: Sequence[Any]) -> Path | None:
        """The folder of the structure ``key`` (its ``repr`` must be stable across runs)."""
        if self.root is None:
            return None
        from nof1.models.jax_nuts import jax

        backend = jax().default_backend()
        digest = hashlib.sha256(f"{backend};{code_fingerprint()};{key!r}".encode()).hexdigest()
        return self.root / digest[:40]

    def model(self, key: Sequence[Any], build: Callable[[], tuple[Any, tuple[Any, ...],
                                                                 dict[str, Any]]]) -> Any:
        """The programs of structure ``key``: loaded when stored, else ``build()`` →
        (a translated :class:`~nof1.models.jax_nuts.JaxModel`, example data arguments, ``meta``
        (JSON-able)) exported and stored. A model whose programs cannot be exported is returned
        as translated (``meta`` then is its ``meta`` attribute, set here)."""
        folder = self.folder(key)
        loaded = self._load(folder)
        if loaded is not None:
            loaded.build = build
            return loaded
        jm, args, meta = build()
        if folder is None:
            jm.meta = meta
            return jm
        try:
            pm = export_model(jm, args, meta, folder)
            pm.build, pm._translated = build, jm
        except Exception:   # noqa: BLE001 - e.g. a starting point JAX cannot trace (LKJ's
            # sd_dist keeps an RNG): the translated model serves this process, nothing stored
            jm.meta = meta
            return jm
        _save(folder / "init.bin", pm.init_exp)
        _save(folder / "logp.bin", pm.logp_exp)
        _save(folder / "outputs.bin", pm.outputs_exp)
        info = {"data_names": pm.data_names, "data_dtypes": pm.data_dtypes,
                "data_shapes": [list(s) for s in pm.data_shapes], "dim": pm.dim,
                "point_map_info": [[n, list(sh), sz, dt] for n, sh, sz, dt in
                                   pm.point_map_info],
                "output_names": pm.output_names, "meta": meta, "key": repr(key)}
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                json.dump(info, fh)
            os.replace(tmp, folder / "model.json")
        except OSError:
            pass
        return pm

    @staticmethod
    def _load(folder: Path | None) -> ProgramModel | None:
        if folder is None or not (folder / "model.json").is_file():
            return None
        try:
            info = json.loads((folder / "model.json").read_text())
        except (OSError, ValueError):
            return None
        exps = [_load(folder / f"{n}.bin") for n in ("init", "logp", "outputs")]
        if any(e is None for e in exps):
            return None
        return ProgramModel(
            data_names=tuple(info["data_names"]), data_dtypes=tuple(info["data_dtypes"]),
            data_shapes=tuple(tuple(s) for s in info["data_shapes"]), dim=int(info["dim"]),
            point_map_info=tuple((n, tuple(sh), int(sz), str(dt))
                                 for n, sh, sz, dt in info["point_map_info"]),
            output_names=tuple(info["output_names"]), meta=info["meta"], folder=folder,
            init_exp=exps[0], logp_exp=exps[1], outputs_exp=exps[2])


def export_model(jm: Any, args: tuple[Any, ...], meta: dict[str, Any],
                 folder: Path | None) -> ProgramModel:
    """Export a translated :class:`~nof1.models.jax_nuts.JaxModel`'s starting point, log density
    and reported quantities (any number of draws: a symbolic batch size) for data shaped as
    ``args``."""
    from nof1.models.jax_nuts import jax

    j = jax()
    jnp = j.numpy
    export = _export_module()
    data_specs = tuple(j.ShapeDtypeStruct(np.shape(a), a.dtype) for a in args)
    q_spec = j.ShapeDtypeStruct((jm.dim,), np.float64)

    def init(*data: Any) -> Any:
        return jnp.concatenate([jnp.ravel(jnp.asarray(p, dtype=jnp.float64))
                                for p in jm.init_fn(*data)])

    def logp(q: Any, *data: Any) -> Any:
        return jm.logdensity(data)(q)

    def outputs(qs: Any, *data: Any) -> Any:
        return j.vmap(lambda q: jm.output_fn(*jm.unravel(q), *data))(qs)

    (b,) = export.symbolic_shape("b")
    init_exp = export.export(j.jit(init))(*data_specs)
    logp_exp = export.export(j.jit(logp))(q_spec, *data_specs)
    outputs_exp = export.export(j.jit(outputs))(
        j.ShapeDtypeStruct((b, jm.dim), np.float64), *data_specs)
    return ProgramModel(
        data_names=tuple(jm.data_names), data_dtypes=tuple(str(a.dtype) for a in args),
        data_shapes=tuple(tuple(np.shape(a)) for a in args), dim=int(jm.dim),
        point_map_info=tuple((str(n), tuple(int(x) for x in sh), int(sz), str(dt))
                             for n, sh, sz, dt in jm.point_map_info),
        output_names=tuple(jm.output_names), meta=meta, folder=folder,
        init_exp=init_exp, logp_exp=logp_exp, outputs_exp=outputs_exp)
