"""Run per-person fits and design sweeps on a Dask cluster, or locally, with identical results.

Every task gets its own seed derived from the caller's seed and the task's identity (the
participant id, or the grid point's position), never from the worker that runs it, so a run on a
cluster gives exactly the result of the same run on one machine.

Example:
    >>> from dask.distributed import Client, LocalCluster            # doctest: +SKIP
    >>> from nof1.distributed import map_participants, run_design_sweep
    >>> def n_days(td, *, seed):
    ...     return int(td.trial["logged"].sum())
    >>> map_participants(n_days, series, seed=1)                      # doctest: +SKIP
    {'P01': 56, 'P02': 54}
    >>> with Client(LocalCluster(n_workers=2, processes=False)) as client:   # doctest: +SKIP
    ...     table = run_design_sweep(power, {"pairs": [2, 3, 4], "effect": [-1, -1.5]},
    ...                              client=client, seed=1)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from nof1.constants import DEFAULT_SEED
from nof1.seeds import task_seed

if TYPE_CHECKING:
    from nof1.data import TrialData


def _run(func: Callable[..., Any], calls: list[tuple[tuple, dict[str, Any]]], client: Any) -> list[Any]:
    """Run ``func(*args, **kwargs)`` for each call, on ``client`` if given, keeping the order.

    Tasks are submitted with ``pure=False`` (fresh keys), so a repeated run never picks up a
    stale result cached on the cluster.
    """
    if client is None:
        return [func(*args, **kwargs) for args, kwargs in calls]
    futures = [client.submit(func, *args, pure=False, **kwargs) for args, kwargs in calls]
    return client.gather(futures)


def map_participants(
    func: Callable[..., Any],
    trial_data: TrialData,
    client: Any = None,
    *,
    seed: int | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """``func(single_trial, seed=s, **kwargs)`` for every participant of a series.

    ``single_trial`` is the participant's own :class:`~nof1.data.TrialData` (see
    :func:`nof1.pooling.split_series`); ``s`` is derived from ``seed`` and the participant id.
    With a ``dask.distributed`` ``client`` the calls run on the cluster (``func`` and its
    arguments must then be picklable for process-based workers); else one after the other.
    Returns ``{participant: result}`` in the series' order.

    Example:
        >>> map_participants(lambda td, seed: len(td.data), series)   # doctest: +SKIP
        {'P01': 70, 'P02': 70}
    """
    from nof1.trial_data import split_series

    seed = DEFAULT_SEED if seed is None else int(seed)
    parts = split_series(trial_data)
    calls = [
        ((single,), {"seed": task_seed(seed, pid), **kwargs}) for pid, single in parts.items()
    ]
    results = _run(func, calls, client)
    return dict(zip(parts, results, strict=True))


def expand_grid(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Grid points: the Cartesian product of a ``{name: values}`` mapping (first name varies
    slowest), or a list of parameter dicts as given.

    Example:
        >>> expand_grid({"pairs": [2, 3], "effect": [-1.0]})
        [{'pairs': 2, 'effect': -1.0}, {'pairs': 3, 'effect': -1.0}]
    """
    if isinstance(grid, Mapping):
        names = list(grid)
        values = [list(grid[n]) for n in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    return [dict(point) for point in grid]


def run_design_sweep(
    func: Callable[..., Any],
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    client: Any = None,
    *,
    seed: int | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """``func(**point, seed=s, **kwargs)`` at every grid point, on ``client`` or locally.

    ``s`` is derived from ``seed`` and the point's position in the grid. Returns one row per
    point: the point's parameters, then the result — its keys as columns when ``func`` returns a
    mapping, else one ``result`` column.

    Example:
        >>> def width(pairs, sd, *, seed):
        ...     return {"half_width": 1.96 * sd / (2 * pairs) ** 0.5}
        >>> run_design_sweep(width, {"pairs": [2, 8], "sd": [1.0]}, seed=1).round(3)
           pairs   sd  half_width
        0      2  1.0        0.98
        1      8  1.0        0.49
    """
    seed = DEFAULT_SEED if seed is None else int(seed)
    points = expand_grid(grid)
    calls = [
        ((), {**point, "seed": task_seed(seed, "sweep", i), **kwargs}) for i, point in enumerate(points)
    ]
    results = _run(func, calls, client)
    rows: list[dict[str, Any]] = []
    for point, res in zip(points, results, strict=True):
        row = dict(point)
        if isinstance(res, Mapping):
            clash = [k for k in res if k in row]
            if clash:
                raise ValueError(f"result keys {clash} clash with grid parameters")
            row.update(res)
        else:
            row["result"] = res
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["expand_grid", "map_participants", "run_design_sweep", "task_seed"]
