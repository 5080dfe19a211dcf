"""``nof1.models.convergence`` against arviz_stats (to a relative 1e-10) and closed forms.

arviz_stats is imported here only, as the reference. Its tail ESS on a Dataset or DataTree (what
our fits called) uses ``prob = rcParams["stats.ci_prob"] = 0.89``, the quantiles 0.11 and
0.89; on a plain array it needs ``prob`` (it raises without one).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from nof1.models.convergence import TAIL_PROB, ess_bulk, ess_tail, rhat

azs = pytest.importorskip("arviz_stats")
xr = pytest.importorskip("xarray")

RTOL = 1e-10


def ar1(rng: np.random.Generator, phi: float, shape: tuple[int, ...]) -> np.ndarray:
    """Stationary AR(1) chains of unit innovations, shape (chains, draws, *rest)."""
    e = rng.normal(size=shape)
    x = np.empty_like(e)
    x[:, 0] = e[:, 0] / math.sqrt(1 - phi**2)
    for t in range(1, shape[1]):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x


def _cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240611)
    nan = rng.normal(size=(2, 200, 3))
    nan[1, 17, 1] = np.nan                               # one NaN in element 1 only
    half_inf = rng.normal(size=(2, 100))
    half_inf[rng.uniform(size=half_inf.shape) < 0.6] = np.inf
    return {
        "iid normal": rng.normal(size=(4, 1000)),
        "AR(1) phi=0.9": ar1(rng, 0.9, (4, 1000)),
        "AR(1) phi=0.99": ar1(rng, 0.99, (2, 300)),
        "different means": rng.normal(size=(4, 500)) + np.arange(4.0)[:, None],
        "one chain stuck": np.concatenate([rng.normal(size=(1, 200)), np.zeros((1, 200))]),
        "student t 1 df": rng.standard_t(1, size=(4, 800)),
        "odd draws": rng.normal(size=(3, 501)),
        "1 chain": rng.normal(size=(1, 1000)),
        "4 chains, 3 params": rng.normal(size=(4, 400, 3)),
        "(2, 500, 3, 4)": rng.normal(size=(2, 500, 3, 4)),
        "integer draws (ties)": rng.poisson(2.0, size=(4, 300)),
        "integers as floats": rng.poisson(0.3, size=(2, 250, 2)).astype(float),
        "mostly ones (binary)": (rng.uniform(size=(4, 400)) < 0.97).astype(float),
        "rounded (ties)": np.round(rng.normal(size=(2, 333, 2)), 1),
        "constant": np.full((2, 100), 3.0),
        "constant and not": np.stack([np.full((2, 100), -1.5), rng.normal(size=(2, 100))], -1),
        "with a NaN": nan,
        "all NaN": np.full((2, 50), np.nan),
        "with inf": np.where(rng.uniform(size=(2, 100)) < 0.1, np.inf, rng.normal(size=(2, 100))),
        "mostly inf": half_inf,
        "float32": rng.normal(size=(2, 300, 4)).astype(np.float32),
        "9 draws": rng.normal(size=(2, 9)),
        "5 draws": rng.normal(size=(2, 5)),
        "3 draws": rng.normal(size=(2, 3)),
    }


CASES = _cases()


def _reference(x: np.ndarray) -> dict[str, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # arviz warns on 0/0 (constant draws)
        return {
            "rhat": np.asarray(azs.rhat(x), dtype=float),
            "bulk": np.asarray(azs.ess(x, method="bulk"), dtype=float),
            "tail": np.asarray(azs.ess(x, method="tail", prob=TAIL_PROB), dtype=float),
            "tail 5/95": np.asarray(azs.ess(x, method="tail", prob=(0.05, 0.95)), dtype=float),
        }


def _ours(x: np.ndarray) -> dict[str, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ours computes silently
        return {
            "rhat": np.asarray(rhat(x)),
            "bulk": np.asarray(ess_bulk(x)),
            "tail": np.asarray(ess_tail(x)),
            "tail 5/95": np.asarray(ess_tail(x, prob=(0.05, 0.95))),
        }


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Largest relative difference where both are finite (NaN/inf must match exactly)."""
    fin = np.isfinite(b)
    assert np.array_equal(np.isnan(a), np.isnan(b)), (a, b)
    assert np.array_equal(a[~fin & ~np.isnan(b)], b[~fin & ~np.isnan(b)])
    return float(np.max(np.abs(a[fin] - b[fin]) / np.abs(b[fin]), initial=0.0))


@pytest.mark.parametrize("name", list(CASES))
def test_matches_arviz_stats(name: str) -> None:
    x = CASES[name]
    ours, ref = _ours(x), _reference(x)
    for key in ref:
        assert ours[key].shape == ref[key].shape == x.shape[2:], key
        assert rel_diff(ours[key], ref[key]) <= RTOL, (name, key, ours[key], ref[key])


def test_scalar_for_two_dimensional_draws() -> None:
    x = CASES["iid normal"]
    assert all(isinstance(f(x), float) for f in (rhat, ess_bulk, ess_tail))


def test_degenerate_values() -> None:
    """The documented degenerate results (the same as arviz_stats: see the cases above)."""
    assert math.isnan(rhat(CASES["constant"]))
    assert ess_bulk(CASES["constant"]) == ess_tail(CASES["constant"]) == 200.0
    assert ess_bulk(np.full((3, 101), 2.0)) == 3 * 2 * 50  # split draws: the middle one dropped
    r = rhat(CASES["with a NaN"])
    assert math.isnan(r[1]) and np.isfinite(r[[0, 2]]).all()
    assert math.isnan(ess_bulk(CASES["with a NaN"])[1]) and math.isnan(ess_tail(CASES["with a NaN"])[1])
    assert math.isnan(rhat(CASES["1 chain"])) and math.isfinite(ess_bulk(CASES["1 chain"]))
    assert all(math.isnan(f(CASES["3 draws"])) for f in (rhat, ess_bulk, ess_tail))
    assert math.isnan(rhat(CASES["all NaN"])) and math.isnan(ess_bulk(CASES["all NaN"]))
    assert rhat(np.zeros((2, 10, 0, 3))).shape == (0, 3)
    with pytest.raises(ValueError, match="chains, draws"):
        rhat(np.zeros(10))


def test_dataset_interface_default_is_our_default() -> None:
    """What ``azs.ess(dataset, method="tail")`` (the fits' old call) returns is ess_tail(x)."""
    x = CASES["4 chains, 3 params"]
    ds = xr.Dataset({"v": (("chain", "draw", "k"), x)})
    np.testing.assert_allclose(ess_tail(x), azs.ess(ds, method="tail")["v"].values, rtol=RTOL)
    np.testing.assert_allclose(ess_bulk(x), azs.ess(ds, method="bulk")["v"].values, rtol=RTOL)
    np.testing.assert_allclose(rhat(x), azs.rhat(ds)["v"].values, rtol=RTOL)


def test_many_elements_at_once_equal_one_at_a_time() -> None:
    x = np.random.default_rng(5).standard_t(3, size=(2, 301, 40))
    x[:, :, 7] = np.round(x[:, :, 7])                    # ties in one element
    for f in (rhat, ess_bulk, ess_tail):
        together = f(x)
        alone = np.array([f(x[:, :, j]) for j in range(x.shape[2])])
        np.testing.assert_array_equal(together, alone)


def test_helpers_match_scipy() -> None:
    """The FFT length (scipy.fftpack.next_fast_len) and the normal scores (scipy's ndtri)."""
    from scipy.fftpack import next_fast_len
    from scipy.special import ndtri

    from nof1.models.convergence import _next_fast_len, _normal_scores

    assert all(_next_fast_len(n) == next_fast_len(n) for n in range(1, 5000))
    for size in (8, 2000, 8001):
        ranks = np.arange(2 * size - 1) / 2.0 + 1.0
        expected = ndtri((ranks - 3 / 8) / (size + 1 / 4))
        np.testing.assert_allclose(_normal_scores(size, np.dtype(np.float64)), expected,
                                   rtol=1e-14, atol=1e-15)


def test_iid_ess_is_about_the_number_of_draws() -> None:
    """ESS of iid draws ≈ chains × draws.

    Simulated over 60 seeds, one element's bulk ESS / 4,000 has sd 0.043 and mean 0.985 (the
    Geyer truncation's bias), so the mean over 200 elements has sd 0.003: within 0.04 of 1 is
    more than 8 sd from the mean. The tail ESS (indicators at the 0.11/0.89 quantiles) has
    mean 0.962 and sd 0.0026 for the 200-element mean: within 0.06 of 1.
    """
    x = np.random.default_rng(11).normal(size=(4, 1000, 200))
    assert abs(np.mean(ess_bulk(x)) / 4000 - 1) < 0.04
    assert abs(np.mean(ess_tail(x)) / 4000 - 1) < 0.06
    r = rhat(x)
    assert np.all(r < 1.01) and abs(np.mean(r) - 1) < 0.002


def test_ar1_ess_is_the_closed_form() -> None:
    """Bulk ESS of stationary AR(1) chains ≈ S (1 − φ) / (1 + φ).

    For a Gaussian AR(1) rank normalisation is almost the identity, so the bulk ESS estimates
    S / τ with τ = (1 + φ) / (1 − φ) = 19 at φ = 0.9: 20,000 draws → 1,052.6. Simulated over
    60 seeds, one element's ratio to that has sd 0.085, and the mean over 100 elements has
    mean 0.997 and sd 0.010: within 0.06 of 1 is about 6 sd.
    """
    phi = 0.9
    x = ar1(np.random.default_rng(12), phi, (4, 5000, 100))
    target = x.shape[0] * x.shape[1] * (1 - phi) / (1 + phi)
    ratio = np.asarray(ess_bulk(x)) / target
    assert abs(np.mean(ratio) - 1) < 0.06
    assert np.all((ratio > 0.6) & (ratio < 1.4))            # each within about 4.7 sd


def test_vectorised_speed() -> None:
    import time

    x = np.random.default_rng(0).normal(size=(2, 1000, 1000))
    rhat(x[:, :, :1])                                        # the normal scores' table
    for f in (rhat, ess_bulk, ess_tail):
        t = time.perf_counter()
        f(x)
        assert time.perf_counter() - t < 2.0, f.__name__   # ~0.2 s; loose for loaded machines


def test_importing_is_cheap() -> None:
    """No arviz_stats, scipy.stats or scipy.special behind the diagnostics."""
    code = ("import sys, nof1.models.hierarchical, nof1.models.convergence; "
            "print(sorted(m for m in ('arviz_stats', 'scipy.stats', 'scipy.special', 'scipy') "
            "if m in sys.modules))")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.strip() == "[]", out.stdout
