"""The tutorial notebooks' prose states no result typed by hand: every decimal or date in the
Markdown is an input set in a code cell or a rule, and results are rendered by the cells that
compute them (``say(f"...")``); the committed notebooks are what ``notebooks/_build.py`` writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "_build.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


BUILD = _build_module()


@pytest.mark.parametrize("name", sorted(BUILD.NOTEBOOKS))
def test_no_result_is_typed_into_the_prose(name: str) -> None:
    assert BUILD.prose_numbers_typed_by_hand(BUILD.NOTEBOOKS[name]()) == []


@pytest.mark.parametrize("name", sorted(BUILD.NOTEBOOKS))
def test_the_committed_notebook_is_the_built_one(name: str) -> None:
    built = BUILD.NOTEBOOKS[name]()
    stored = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in built.cells]


def test_the_check_finds_a_typed_result_and_accepts_inputs_and_rules() -> None:
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook(cells=[
        new_code_cell("result = nof1.simulate(protocol, effect=-1.2, sd=1.5)"),
        new_markdown_cell("Simulated with an effect of −1.2 and sd 1.5; r-hat at most 1.01, 4 pairs."),
    ])
    assert BUILD.prose_numbers_typed_by_hand(nb) == []
    nb.cells.append(new_markdown_cell("The estimate was −1.34 on 2027-02-18, 0.87 probability."))
    found = BUILD.prose_numbers_typed_by_hand(nb)
    assert [f.split(" in ")[0] for f in found] == ["'-1.34'", "'2027-02-18'", "'0.87'"]
