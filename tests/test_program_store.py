"""Stored JAX programs (nof1.models.program_store): a later process of the same model structure
loads the traced programs instead of building the PyMC model, and gets the same draws."""

from __future__ import annotations

import numpy as np
import pytest

from nof1.models import hierarchical as h
from nof1.models.program_store import ProgramStore, code_fingerprint


def _arrays(seed: int = 3) -> h.SeriesArrays:
    rng = np.random.default_rng(seed)
    n, t = 3, 28
    codes = np.tile(np.repeat([0, 1, 0, 1], 7), (n, 1))
    keep = rng.random((n, t)) < 0.9
    keep[:, 0] = True
    p, d = np.nonzero(keep)
    y = 5.0 - 1.0 * codes[p, d] + rng.normal(0, 1, p.size)
    return h.SeriesArrays.build(p, d, y, codes, participants=["a", "b", "c"], treatments=["B"])


KW = {"draws": 120, "tune": 120, "seed": 5}


def _fit(arrays: h.SeriesArrays) -> np.ndarray:
    tree = h.fit_series(arrays, h.HierarchicalPriors(), **KW)
    return np.asarray(tree["posterior"]["beta"].values)


def test_stored_programs_give_the_same_draws_without_building_the_model(tmp_path, monkeypatch):
    arrays = _arrays()
    monkeypatch.setenv("NOF1_PROGRAM_STORE", "off")
    h.clear_cache()
    plain = _fit(arrays)

    monkeypatch.setenv("NOF1_PROGRAM_STORE", str(tmp_path))
    h.clear_cache()
    first = _fit(arrays)                      # builds, exports and stores
    folders = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(folders) == 1
    stored = sorted(p.name for p in folders[0].iterdir())
    assert stored == ["init.bin", "logp.bin", "model.json", "nuts-120-120.bin", "outputs.bin"]

    h.clear_cache()                           # a new process: nothing translated in memory

    def no_build(*_a, **_k):
        raise AssertionError("the PyMC model was built although its programs are stored")

    monkeypatch.setattr(h, "build_model", no_build)
    again = _fit(arrays)
    assert np.array_equal(plain, first)
    assert np.array_equal(first, again)
    assert type(h._CACHE[next(iter(h._CACHE))].jax_model).__name__ == "ProgramModel"
    h.clear_cache()


def test_an_unreadable_entry_is_rebuilt(tmp_path, monkeypatch):
    arrays = _arrays()
    monkeypatch.setenv("NOF1_PROGRAM_STORE", str(tmp_path))
    h.clear_cache()
    first = _fit(arrays)
    folder = next(p for p in tmp_path.iterdir() if p.is_dir())
    (folder / "logp.bin").write_bytes(b"not a program")
    (folder / "nuts-120-120.bin").write_bytes(b"")
    h.clear_cache()
    again = _fit(arrays)
    assert np.array_equal(first, again)
    assert (folder / "logp.bin").stat().st_size > 100        # written again
    h.clear_cache()


def test_store_folders_are_keyed_by_structure_and_code(tmp_path, monkeypatch):
    monkeypatch.setenv("NOF1_PROGRAM_STORE", str(tmp_path))
    store = ProgramStore.default()
    a = store.folder(("series-model", (8, 32), h.HierarchicalPriors()))
    b = store.folder(("series-model", (8, 32), h.HierarchicalPriors(effect_sd=1.0)))
    c = store.folder(("series-model", (16, 32), h.HierarchicalPriors()))
    assert a is not None and len({a, b, c}) == 3
    assert a == store.folder(("series-model", (8, 32), h.HierarchicalPriors()))
    assert len(code_fingerprint()) == 64
    monkeypatch.setenv("NOF1_PROGRAM_STORE", "off")
    assert ProgramStore.default().root is None
    monkeypatch.delenv("NOF1_PROGRAM_STORE")
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    assert ProgramStore.default().root is None               # nothing written to disk
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "jax"))
    assert ProgramStore.default().root == tmp_path / "jax" / "nof1-programs"


def test_a_stored_model_refuses_data_of_another_shape(tmp_path, monkeypatch):
    arrays = _arrays()
    monkeypatch.setenv("NOF1_PROGRAM_STORE", str(tmp_path))
    h.clear_cache()
    sizes = h.padded_sizes(arrays)
    comp = h._compiled(arrays, h.HierarchicalPriors(), "shared", True, sizes)
    values = h.model_data(arrays, n_participants=sizes[0], n_days=sizes[1], n_patterns=sizes[2],
                          n_gaps=sizes[3])
    values["y_grid"] = np.zeros((sizes[0], sizes[1] + 8))
    with pytest.raises(ValueError, match=r"data 'y_grid' has shape \(8, 40\); this program was "
                                         r"traced for \(8, 32\)"):
        comp.jax_model.args(values)
    h.clear_cache()


def test_a_model_whose_start_cannot_be_exported_runs_translated(tmp_path, monkeypatch):
    """Three conditions: the LKJ prior's starting point keeps a random generator, which JAX
    cannot trace; the translated model serves the process and nothing is stored."""
    rng = np.random.default_rng(1)
    n, t = 4, 28
    codes = np.tile(np.repeat([0, 1, 2, 0], 7), (n, 1))
    p, d = np.nonzero(np.ones((n, t), bool))
    y = 5.0 - 1.0 * (codes[p, d] == 1) + rng.normal(0, 1, p.size)
    arrays = h.SeriesArrays.build(p, d, y, codes, participants=list("abcd"),
                                  treatments=["B", "C"])
    draws = []
    for store in (str(tmp_path), "off"):
        monkeypatch.setenv("NOF1_PROGRAM_STORE", store)
        h.clear_cache()
        tree = h.fit_series(arrays, h.HierarchicalPriors(), draws=60, tune=60, seed=2)
        draws.append(np.asarray(tree["posterior"]["mu"].values))
        assert type(h._CACHE[next(iter(h._CACHE))].jax_model).__name__ == "JaxModel"
    assert list(tmp_path.iterdir()) == []
    assert draws[0].shape == (2, 60, 2) and np.array_equal(draws[0], draws[1])
    h.clear_cache()
