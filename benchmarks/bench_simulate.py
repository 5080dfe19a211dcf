"""Speed of ``nof1.simulate_batch``: 10,000 trials of 56 and of 126 days.

Prints the median wall time of a few runs for each case (realised and random allocations,
continuous and count outcomes). Run with ``.venv/bin/python benchmarks/bench_simulate.py``.

Example output (2 shared CPU cores)::

    simulate_batch, 10000 trials (median of 5 runs)
      56 days (2 pairs x 14, no run-in)      continuous realised   0.027 s
      ...
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from nof1 import Protocol
from nof1.simulation import simulate_batch

N = 10_000
REPEATS = 5


def protocol(pairs: int, run_in: int) -> Protocol:
    """Two conditions, pairs of 14-day periods, 4 washout days (the beetroot design)."""
    return Protocol.model_validate({
        "schema_version": 1, "id": "bench", "title": "Benchmark",
        "conditions": {"A": {"label": "Placebo", "role": "control"},
                       "B": {"label": "Active", "role": "treatment"}},
        "design": {"period_days": 14, "run_in_days": run_in, "washout_days": 4,
                   "randomization": {"scheme": "pairs", "pairs": pairs, "seed": 1}},
        "outcomes": [{"name": "severity", "range": [0, 10], "better": "lower", "mcid": 1,
                      "role": "primary"}],
    })


def median_time(fn: Callable[[], None], repeats: int = REPEATS) -> float:
    fn()                                   # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    cases = [
        ("56 days (2 pairs x 14, no run-in)", protocol(2, 0), False),
        ("126 days (14 run-in + 4 pairs x 14)", protocol(4, 14), True),
    ]
    print(f"simulate_batch, {N} trials (median of {REPEATS} runs)")
    for label, p, run_in in cases:
        for otype in ("continuous", "count"):
            for allocs in ("realised", "random"):
                def run(p=p, otype=otype, allocs=allocs, run_in=run_in) -> None:
                    b = simulate_batch(p, effect=-1.0, sd=1.5, phi=0.4, carryover_days=1.5,
                                       missing=0.03, n=N, seed=1, outcome_type=otype,
                                       allocations=allocs, include_run_in=run_in)
                    assert b.y.shape == (N, p.total_days if run_in else p.trial_days)
                t = median_time(run)
                print(f"  {label:<38} {otype:<10} {allocs:<8} {t:6.3f} s")


if __name__ == "__main__":
    main()
