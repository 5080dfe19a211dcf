"""The exact engine reproduces its saved outputs (written before it was sped up) to 1e-10.

Single fits (τ estimated or fixed, gaps, run-in, trend, a covariate, three conditions, φ fixed):
summaries, hyperparameter summaries, node weights and moments, seeded draws; batched fits: every
summary array. Regenerate the reference only for an intended change of results:
``python tests/exact_reference_cases.py``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from exact_reference_cases import (
    REFERENCE,
    batch_cases,
    batch_outputs,
    single_cases,
    single_outputs,
)

RTOL, ATOL = 1e-10, 1e-13


def _compare(new, ref, path="") -> None:
    if isinstance(ref, dict):
        assert set(new) == set(ref), path
        for k in ref:
            _compare(new[k], ref[k], f"{path}.{k}")
    elif isinstance(ref, list):
        np.testing.assert_allclose(np.asarray(new, dtype=float), np.asarray(ref, dtype=float),
                                   rtol=RTOL, atol=ATOL, err_msg=path)
    elif ref is None or isinstance(ref, bool):
        assert new == ref, path
    else:
        np.testing.assert_allclose(float(new), float(ref), rtol=RTOL, atol=ATOL, err_msg=path)


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


@pytest.mark.parametrize("name", list(single_cases()))
def test_single_fit_matches_saved_reference(reference, name):
    data, priors, opts = single_cases()[name]
    _compare(single_outputs(data, priors, opts), reference["single"][name], name)


@pytest.mark.parametrize("name", list(batch_cases()))
def test_batch_fit_matches_saved_reference(reference, name):
    args, kw = batch_cases()[name]
    _compare(batch_outputs(args, kw), reference["batch"][name], name)


def test_single_mixture_summaries_match_the_general_path():
    """A single fit's summaries (cell-merged start, Halley on the full mixture) equal the general
    mixture summaries (Newton from the moment-matched normal) on random mixtures, bimodal and
    skewed ones included."""
    from nof1.models.exact_mixture import mixture_summaries, single_mixture_summaries

    rng = np.random.default_rng(7)
    for i in range(25):
        cells, per = int(rng.integers(1, 300)), int(rng.integers(1, 16))
        cell = np.repeat(np.arange(cells), per)
        m = rng.normal(0, 1, cells)[cell] + 0.2 * rng.normal(size=cell.size)
        if i % 3 == 0:
            m += np.where(rng.uniform(size=cell.size) < 0.3, 4.0, 0.0)  # a second mode
        s = np.exp(rng.normal(-1.0, 0.5, cell.size))
        w = rng.dirichlet(np.full(cell.size, 0.5))
        ci, better = float(rng.choice([0.8, 0.9, 0.95, 0.99])), str(rng.choice(["lower", "higher"]))
        mcid = None if i % 4 == 0 else float(rng.uniform(0.1, 2.0))
        new = single_mixture_summaries(w, m, s, cell, ci_level=ci, better=better, mcid=mcid)
        old = mixture_summaries(w[None, :, None], m[None, :, None], s[None, :, None], ci_level=ci,
                         better=better, mcid=mcid)
        for k, v in old.items():
            if v is None:
                assert new[k] is None
            else:
                sd = float(old["posterior_sd"][0])
                np.testing.assert_allclose(new[k], float(v[0]), rtol=1e-10, atol=1e-10 * sd, err_msg=k)
