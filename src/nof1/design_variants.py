"""Variants of a protocol's design for :func:`nof1.design.compare`: one variant
(:func:`design_variant`: period length, pairs, washout, run-in) and the default alternatives.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nof1.design_common import (
    DEFAULT_DURATION_FACTOR,
    DEFAULT_PAIRS,
    DEFAULT_PERIOD_DAYS,
    DESIGN_KEYS,
    DesignError,
    design_facts,
)

if TYPE_CHECKING:

    from nof1.protocol import Protocol

def design_variant(protocol: Protocol, **overrides: Any) -> Protocol:
    """A copy of the protocol with another period length, number of pairs, washout or run-in.

    ``pairs`` is the number of pairs for a ``pairs`` scheme, of blocks for a ``blocks`` scheme,
    and of repetitions of the first cycle for a fixed sequence. The realised sequence is dropped
    when the number of periods changes (it is redrawn from the randomisation seed).

    Example:
        >>> design_variant(p, period_days=7, pairs=6).total_days      # doctest: +SKIP
        98
    """
    from nof1.protocol import ProtocolError, protocol_from_dict

    unknown = [k for k in overrides if k not in DESIGN_KEYS]
    if unknown:
        raise DesignError(f"unknown design override(s) {unknown} (allowed: {', '.join(DESIGN_KEYS)})")
    if protocol.scheme == "start_points" and ("pairs" in overrides or "period_days" in overrides):
        raise DesignError("a start_points design has no pairs or fixed periods to vary; vary "
                          "washout_days or run_in_days, or use a pairs/blocks scheme")
    data = protocol.model_dump(mode="json", exclude_none=True)
    d = data["design"]
    for key in ("period_days", "washout_days", "run_in_days"):
        if overrides.get(key) is not None:
            d[key] = int(overrides[key])
    pairs = overrides.get("pairs")
    if pairs is not None:
        pairs = int(pairs)
        k = len(protocol.conditions)
        if protocol.scheme == "pairs":
            if d["randomization"].get("pairs") != pairs or "sequence" in d and len(d["sequence"]) != 2 * pairs:
                d["randomization"]["pairs"] = pairs
                d.pop("sequence", None)
        elif protocol.scheme == "blocks":
            if d["randomization"].get("blocks") != pairs or "sequence" in d and len(d["sequence"]) != k * pairs:
                d["randomization"]["blocks"] = pairs
                d.pop("sequence", None)
        else:
            cycle = list(protocol.sequence[:k])
            d["sequence"] = cycle * pairs
    try:
        return protocol_from_dict(data, source="design variant")
    except ProtocolError as err:
        raise DesignError(f"the design variant {overrides} is not valid: "
                          + "; ".join(str(p) for p in err.problems) if err.problems else str(err)) from None


def default_alternatives(protocol: Protocol, max_total_days: int | None = None) -> list[dict[str, int]]:
    """The default comparison grid: period lengths 7/10/14/21 days × 3, 4, 5, 6, 8 pairs within the bound.

    The protocol's washout and run-in are kept (a washout that would not fit a shorter period is
    cut to half of it). The protocol's own design is always included. ``max_total_days`` defaults
    to 1.5 × the protocol's total days.

    Example:
        >>> len(default_alternatives(p))         # doctest: +SKIP
        18
    """
    facts = design_facts(protocol)
    bound = int(max_total_days) if max_total_days is not None else int(
        math.ceil(DEFAULT_DURATION_FACTOR * protocol.total_days))
    k = len(protocol.conditions)
    run_in = protocol.design.run_in_days
    washout = protocol.design.washout_days
    out: list[dict[str, int]] = []
    for period in DEFAULT_PERIOD_DAYS:
        w = washout if washout < period else period // 2
        for pairs in DEFAULT_PAIRS:
            if run_in + period * pairs * k <= bound:
                out.append({"period_days": period, "pairs": pairs, "washout_days": w, "run_in_days": run_in})
    own = {"period_days": facts["period_days"], "pairs": facts["pairs"], "washout_days": washout,
           "run_in_days": run_in}
    if own not in out:
        out.append(own)
    return out


def expand_alternatives(alternatives: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(alternatives, Mapping):
        names = list(alternatives)
        values = [list(v) if isinstance(v, list | tuple | range | np.ndarray) else [v]
                  for v in alternatives.values()]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    return [dict(a) for a in alternatives]
