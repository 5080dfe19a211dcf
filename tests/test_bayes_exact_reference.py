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
