"""``nof1.seeds.task_seed``: the one seed derivation (stable across runs and versions, distinct
per task) and the derivations it replaced, whose numbers it keeps."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from nof1.seeds import task_seed


def _sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def test_task_seed_is_pinned() -> None:
    # fixed numbers: a change here changes every analysis, simulation and allocation
    assert task_seed(20261201, "severity", "B-A", "bayes") == 2703946769
    assert task_seed(1, "P01") == int.from_bytes(_sha("1:P01")[:4], "big")
    assert task_seed(None, "code", "K") == int.from_bytes(_sha("None:code:K")[:4], "big")


def test_task_seed_keeps_the_numbers_of_the_derivations_it_replaced() -> None:
    # analysis.core, pooling, distributed: sha256(":".join(seed, *keys)), first 4 bytes
    assert task_seed(7, "severity", "B-A", "gls_ar1") == int.from_bytes(_sha("7:severity:B-A:gls_ar1")[:4], "big")
    # interim analysis: the same with an "interim" key first
    assert task_seed(7, "interim", "look", 3) == int.from_bytes(_sha("7:interim:look:3")[:4], "big")
    # protocol allocations and blinded codes: first 8 bytes (an allocation must never change)
    for keys in (("pair", 0), ("block", 2), ("start_points",), ("code", "K")):
        text = ":".join(str(x) for x in (20261201, *keys))
        assert task_seed(20261201, *keys, bits=64) == int.from_bytes(_sha(text)[:8], "big")


def test_task_seed_is_the_same_in_a_fresh_interpreter() -> None:
    # not Python's salted hash(): the same in another process with another PYTHONHASHSEED
    code = "from nof1.seeds import task_seed; print(task_seed(3, 'P02', 'sweep', 1))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PYTHONPATH": ":".join(sys.path)})
    assert int(out.stdout) == task_seed(3, "P02", "sweep", 1)


def test_different_tasks_and_seeds_get_different_seeds() -> None:
    seeds = {task_seed(s, o, c, m) for s in (1, 2) for o in ("severity", "sleep")
             for c in ("B-A", "C-A") for m in ("bayes", "gls_ar1", "randomization")}
    assert len(seeds) == 2 * 2 * 2 * 3
    assert task_seed(1, "a", "b") != task_seed(1, "ab")          # keys are separated
    assert task_seed(1, "P01") == task_seed("1", "P01")           # keys are hashed as text
    assert all(0 <= s < 2**32 for s in seeds)


@pytest.mark.parametrize("bits", [1, 8, 32, 63, 64, 256])
def test_task_seed_width(bits: int) -> None:
    values = [task_seed(5, i, bits=bits) for i in range(200)]
    assert all(0 <= v < 2**bits for v in values)
    # narrower seeds are the top bits of wider ones
    assert task_seed(5, "x", bits=bits) == task_seed(5, "x", bits=256) >> (256 - bits)


@pytest.mark.parametrize("bits", [0, 257])
def test_task_seed_rejects_impossible_widths(bits: int) -> None:
    with pytest.raises(ValueError, match="bits"):
        task_seed(1, bits=bits)


def test_every_module_derives_its_seeds_with_task_seed() -> None:
    # the replaced helpers are gone and the public name of distributed is task_seed itself
    import nof1.analysis.core as core
    import nof1.design as design
    import nof1.distributed as distributed
    import nof1.interim_analysis as interim
    import nof1.pooling as pooling
    import nof1.protocol as protocol

    assert distributed.task_seed is task_seed
    for mod, old in ((core, "_seed_for"), (design, "_seed_for"), (pooling, "_task_seed"),
                     (protocol, "_hash_int"), (interim, "_seed")):
        assert not hasattr(mod, old), f"{mod.__name__}.{old} is back"
    src = "".join(Path(m.__file__).read_text(encoding="utf-8")
                  for m in (core, design, distributed, interim, pooling, protocol))
    assert "hashlib.sha256(\":\".join" not in src
