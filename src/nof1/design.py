"""Design a trial before starting it: power, assurance and a comparison of alternative designs.

:func:`evaluate` simulates many trials of a protocol's design (each trial draws its own allocation
from the protocol's randomisation scheme, as the real trial will), analyses every simulated trial
with the pre-registered analyses — vectorised across trials — and reports, per method:

============== =====================================================================================
method         a simulated trial "succeeds" when ...
============== =====================================================================================
``bayes``      the verdict is *likely meaningful benefit* under the protocol's decision rules:
               P(meaningful benefit) >= ``decision.benefit_prob`` and P(meaningful harm) <
               ``decision.harm_prob_max`` (the exact engine, :mod:`nof1.models.bayes_exact`)
``gls_ar1``    two-sided p < 0.05 **and** the estimate points in the benefit direction (GLS with
               AR(1) errors on the calendar day, REML, washout excluded; :mod:`nof1.models.gls`)
``randomization`` two-sided p < 0.05 **and** the observed mean difference points in the benefit
               direction (the exact test over the scheme's allocations, washout excluded)
============== =====================================================================================

* **power**: the share of successes when the true effect is ``effect``;
* **false-positive rate**: the share of successes when the true effect is 0 (the same seeds, so
  the same allocations and the same noise: only the effect differs);
* **expected interval width** (bayes: credible interval, gls_ar1: confidence interval at the
  protocol's ``ci_level``), **expected P(meaningful benefit)** (bayes), the **smallest attainable
  randomisation p** of the design, and a Monte Carlo standard error for every rate and mean.

With ``pilot=`` (a run-in or pilot log) the day-to-day sd and autocorrelation φ are not fixed:
an AR(1) model is fitted to the pilot with the exact Bayesian engine and every simulated trial
draws its own (sd, φ) from that posterior — **assurance** (expected power over what the pilot
leaves uncertain) rather than power at a point.

:func:`compare` evaluates variations of the design (period length, pairs, washout, run-in)
within a bounded total duration and ranks them by Bayesian power, then by duration.

Effect sign: ``effect`` is treatment minus control in outcome units (negative = better for an
outcome with ``better: lower``). By default it is one MCID in the benefit direction.

The parts: :mod:`nof1.design_common` (defaults, :class:`DesignError`, the analysis settings),
:mod:`nof1.design_pilot` (pilot estimates for assurance), :mod:`nof1.design_methods` (the
analyses run on a batch of simulated trials), :mod:`nof1.design_results` (power tables) and
:mod:`nof1.design_variants` (design variants); this module simulates and evaluates
(:func:`evaluate`) and compares designs (:func:`compare`), and re-exports the public names.

Example:
    >>> import nof1
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")            # doctest: +SKIP
    >>> ev = nof1.design.evaluate(p, effect=-1, sd=1.5, phi=0.4, sims=2000, seed=1)  # doctest: +SKIP
    >>> ev.summary()[["method", "power", "power_se", "fpr"]]                    # doctest: +SKIP
    >>> cmp = nof1.design.compare(p, effect=-1, sd=1.5, phi=0.4, seed=1)        # doctest: +SKIP
    >>> cmp.table.head()                                                        # doctest: +SKIP
    >>> fig = cmp.plot()                                                        # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nof1._version import __version__
from nof1.design_common import (
    ALPHA,
    DEFAULT_DURATION_FACTOR,
    DEFAULT_METHODS,
    DesignError,
    Progress,
    compare_grid,
    design_facts,
    design_outcome,
)
from nof1.design_methods import (
    Context,
    MethodDraws,
    analyse_bayes,
    analyse_gls,
    analyse_randomization,
    min_randomization_p,
    randomization_reference,
)
from nof1.design_pilot import PilotEstimate, estimate_pilot
from nof1.design_results import DesignEvaluation, MethodPower, method_power
from nof1.design_variants import default_alternatives, design_variant, expand_alternatives
from nof1.jsonsafe import json_safe
from nof1.seeds import task_seed

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nof1.models.bayes_exact import GridSpec
    from nof1.protocol import Outcome, Protocol
    from nof1.simulation import SimulatedBatch

__all__ = [
    "ALPHA",
    "DEFAULT_METHODS",
    "DesignComparison",
    "DesignError",
    "DesignEvaluation",
    "MethodPower",
    "PilotEstimate",
    "compare",
    "compare_grid",
    "default_alternatives",
    "design_facts",
    "design_variant",
    "estimate_pilot",
    "evaluate",
]


def _ar1_rows(rng: np.random.Generator, phi: NDArray, sd: NDArray, n_days: int) -> NDArray[np.float64]:
    """Stationary AR(1) series, one row per trial with its own φ and sd (the simulator's model)."""
    m = phi.size
    z = rng.standard_normal((m, n_days))
    e = np.empty((m, n_days))
    e[:, 0] = sd * z[:, 0]
    s = sd * np.sqrt(1.0 - phi * phi)
    for t in range(1, n_days):
        e[:, t] = phi * e[:, t - 1] + s * z[:, t]
    return e


def _simulate_pair(
    protocol: Protocol, outcome: Outcome, *, effect: float, sd: float | None, phi: float | None,
    carryover_days: float | None, trend: float, missing: float, baseline: float, sims: int, seed: int,
    pilot: PilotEstimate | None,
) -> tuple[SimulatedBatch, SimulatedBatch]:
    """Batches under the effect and under no effect: same seed (allocations, noise, missing days)."""
    from dataclasses import replace

    from nof1.simulation import simulate_batch

    common = dict(carryover_days=carryover_days, trend=trend, baseline=baseline, missing=missing,
                  n=sims, seed=seed, allocations="random", include_run_in=True, outcome=outcome.name)
    if pilot is None:
        b1 = simulate_batch(protocol, effect=effect, sd=sd, phi=phi, **common)
        b0 = simulate_batch(protocol, effect=0.0, sd=sd, phi=phi, **common)
        return b1, b0
    # assurance: the noise-free mean from the simulator, AR(1) noise with per-trial (sd, φ)
    sd_i, phi_i = pilot.draw(sims, seed=task_seed(seed, "pilot-draws"))
    m1 = simulate_batch(protocol, effect=effect, sd=0.0, phi=0.0, **common)
    m0 = simulate_batch(protocol, effect=0.0, sd=0.0, phi=0.0, **common)
    e = _ar1_rows(np.random.default_rng(task_seed(seed, "pilot-noise")), phi_i, sd_i, m1.n_days)
    r = outcome.value_range
    out = []
    for m in (m1, m0):
        y = m.y + e
        if r is not None:
            y = np.clip(y, r[0], r[1])
        params = dict(m.params, sd="pilot posterior", phi="pilot posterior")
        out.append(replace(m, y=y, params=params))
    return out[0], out[1]


def _check_methods(methods: Iterable[str]) -> tuple[str, ...]:
    ms = tuple(dict.fromkeys(methods))
    unknown = [m for m in ms if m not in DEFAULT_METHODS]
    if unknown or not ms:
        raise DesignError(f"unknown design method(s) {unknown or list(ms)} (choose from "
                          f"{', '.join(DEFAULT_METHODS)})")
    return ms


def _check_number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                  open_low: bool = False, open_high: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise DesignError(f"{name} must be a number, got {value!r}")
    v = float(value)
    bad = not math.isfinite(v)
    if low is not None:
        bad |= v < low or (open_low and v == low)
    if high is not None:
        bad |= v > high or (open_high and v == high)
    if bad:
        lo = "" if low is None else f"{'>' if open_low else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if open_high else '<='} {high:g}"
        raise DesignError(f"{name} must be {' and '.join(x for x in (lo, hi) if x) or 'finite'}, got {value!r}")
    return v


def _prepare_randomization(ctx: Context, seed: int, notes: list[str]) -> dict[str, Any]:
    """Set the reference set of allocations on ``ctx``; the design's smallest attainable p."""
    protocol = ctx.protocol
    allocs, exact = randomization_reference(protocol, task_seed(seed, "allocations"))
    ctx.randomization_allocations, ctx.randomization_exact = allocs, exact
    contrast = (protocol.treatments[ctx.contrast_code - 1], protocol.control)
    min_two, min_one = min_randomization_p(protocol, allocs, exact, contrast)
    if min_two >= ctx.alpha:
        notes.append(
            f"randomization: with {protocol.n_allocations} possible allocations the smallest attainable "
            f"two-sided p is {min_two:.3g} >= {ctx.alpha:g}, so this test can never reach significance "
            f"however large the effect (one-sided minimum {min_one:.3g})")
    if not exact:
        notes.append(f"randomization: {protocol.n_allocations:,} allocations; power uses a Monte Carlo "
                     f"reference set of {len(allocs):,}")
    return {"min_p_value": min_two, "min_p_value_one_sided": min_one,
            "n_allocations": protocol.n_allocations}


def evaluate(
    protocol: Protocol,
    *,
    effect: float | None = None,
    sd: float | None = None,
    phi: float | None = None,
    carryover_days: float | None = None,
    trend: float = 0.0,
    missing: float = 0.0,
    baseline: float | None = None,
    sims: int = 2000,
    seed: int,
    methods: Sequence[str] = DEFAULT_METHODS,
    pilot: Any = None,
    outcome: str | None = None,
    alpha: float = ALPHA,
    progress: Progress | None = None,
    bayes_grid: GridSpec | None = None,
) -> DesignEvaluation:
    """Power (or assurance), false-positive rate and precision of the protocol's design.

    Args:
        protocol: the protocol whose design is evaluated.
        effect: true effect, treatment minus control in outcome units (default: one MCID in the
            benefit direction, i.e. ``-mcid`` when lower is better).
        sd, phi: day-to-day sd and lag-1 autocorrelation of the outcome (AR(1) on the calendar
            day). Required unless ``pilot`` is given; not allowed together with it.
        carryover_days: true onset/offset time constant τ in days (default: instant switch).
        trend: true linear drift per day; missing: probability a day is not logged.
        baseline: control level (default: the pilot's level, else the middle of the range).
        sims: simulated trials (the same number again is run at effect 0 for the false-positive
            rate, with the same seed).
        seed: seed of everything random.
        methods: any of ``bayes``, ``gls_ar1``, ``randomization``.
        pilot: a run-in or pilot log (see :func:`estimate_pilot`) or a :class:`PilotEstimate`:
            every simulated trial then draws its own (sd, φ) from the pilot's posterior.
        outcome: the outcome (default: the primary; must be continuous).
        alpha: two-sided level of the classical criteria.
        progress: called as ``progress(message, fraction_done)``.
        bayes_grid: quadrature grid of the exact engine (default: its ``BATCH_GRID``).

    Returns:
        A :class:`DesignEvaluation`.

    Example:
        >>> ev = evaluate(p, effect=-1, sd=1.5, phi=0.4, sims=2000, seed=1)  # doctest: +SKIP
        >>> ev.summary()                                                     # doctest: +SKIP
    """
    t0 = time.perf_counter()
    o = design_outcome(protocol, outcome)
    ms = _check_methods(methods)
    if isinstance(sims, bool) or not isinstance(sims, int | np.integer) or sims < 2:
        raise DesignError(f"sims must be a whole number >= 2, got {sims!r}")
    sims = int(sims)
    seed = int(seed)
    notes: list[str] = []
    if "bayes" in ms and o.schedule == "weekly":
        ms = tuple(m for m in ms if m != "bayes")
        notes.append(f"bayes: '{o.name}' is measured weekly, so the analysis fits it at the period level "
                     "(nof1.analysis.discrete.fit_period_level), which design evaluation does not batch; "
                     "bayes is left out")
        if not ms:
            raise DesignError(f"'{o.name}' is weekly: evaluate it with methods gls_ar1 or randomization")
    eff = (-o.mcid if o.better == "lower" else o.mcid) if effect is None else \
        _check_number("effect", effect)
    est: PilotEstimate | None = None
    if pilot is not None:
        if sd is not None or phi is not None:
            raise DesignError("give either a pilot or sd and phi, not both: with a pilot both are drawn "
                              "from its posterior")
        est = pilot if isinstance(pilot, PilotEstimate) else estimate_pilot(
            pilot, protocol, outcome=o.name, seed=task_seed(seed, "pilot"))
    else:
        missing_args = [n for n, v in (("sd", sd), ("phi", phi)) if v is None]
        if missing_args:
            raise DesignError(f"{' and '.join(missing_args)} required (or give a pilot log to estimate them)")
        sd = _check_number("sd", sd, low=0.0, open_low=True)
        phi = _check_number("phi", phi, low=-1.0, high=1.0, open_low=True, open_high=True)
    tau = None if carryover_days is None else _check_number("carryover_days", carryover_days, low=0.0)
    trend = _check_number("trend", trend)
    missing = _check_number("missing", missing, low=0.0, high=1.0, open_high=True)
    if baseline is None:
        if est is not None:
            baseline = est.mean
        else:
            from nof1.simulation import default_parameters

            baseline = default_parameters(o)["baseline"]
    baseline = _check_number("baseline", baseline)
    alpha = _check_number("alpha", alpha, low=0.0, high=1.0, open_low=True, open_high=True)

    def report(msg: str, frac: float) -> None:
        if progress is not None:
            progress(msg, frac)

    report("simulating", 0.0)
    b1, b0 = _simulate_pair(protocol, o, effect=eff, sd=sd, phi=phi, carryover_days=tau, trend=trend,
                            missing=missing, baseline=baseline, sims=sims, seed=seed, pilot=est)
    ctx = Context(protocol=protocol, outcome=o, contrast_code=1, ci_level=protocol.analysis.ci_level,
                   alpha=alpha)
    results: dict[str, MethodPower] = {}
    share = {"bayes": 0.8, "gls_ar1": 0.1, "randomization": 0.1}
    total = sum(share[m] for m in ms)
    done = 0.05
    for name in ms:
        extras: dict[str, Any] = {}
        if name == "randomization":
            if not protocol.is_randomized:
                notes.append("randomization: the sequence is fixed, not randomised; the test is unavailable")
                continue
            extras = _prepare_randomization(ctx, seed, notes)
        draws: list[MethodDraws] = []
        for label, batch in (("effect", b1), ("no effect", b0)):
            report(f"{name}: {label}", min(done, 0.99))
            if name == "gls_ar1":
                draws.append(analyse_gls(batch, ctx))
            elif name == "bayes":
                draws.append(analyse_bayes(batch, ctx, grid=bayes_grid))
            else:
                draws.append(analyse_randomization(batch, ctx))
            done += 0.95 * share[name] / total / 2
        results[name] = method_power(name, draws[0], draws[1], ctx, extras)
    report("done", 1.0)
    scenario = {
        "effect": eff, "sd": sd if est is None else None, "phi": phi if est is None else None,
        "carryover_days": tau, "trend": trend, "missing": missing, "baseline": baseline,
        "sims": sims, "seed": seed, "alpha": alpha,
        "effect_in_mcid": eff / o.mcid, "benefit_direction": o.better,
        "assurance": est is not None,
    }
    if "bayes" in ms and abs(eff) <= o.mcid * (1 + 1e-9):
        bp = protocol.analysis.decision.benefit_prob
        notes.append(
            f"bayes: the true effect is {abs(eff) / o.mcid:.2g} mcid; the verdict 'likely meaningful "
            f"benefit' needs P(effect beyond the mcid) >= {bp:g}, so at exactly one mcid its power tends "
            f"to about {1 - bp:.0%} however long the trial (and to 0 below one mcid). Judge the design "
            "by gls_ar1 power and interval width, or evaluate at the effect you hope to detect.")
    if est is not None:
        notes.append(
            f"assurance: sd and phi drawn per simulated trial from the pilot's posterior "
            f"({est.n_days} {est.source}; sd {est.sd:.2g} [{est.sd_interval[0]:.2g}, "
            f"{est.sd_interval[1]:.2g}], phi {est.phi:.2f} [{est.phi_interval[0]:.2f}, "
            f"{est.phi_interval[1]:.2f}])")
    return DesignEvaluation(
        protocol=protocol, outcome=o.name, scenario=scenario, design=design_facts(protocol),
        methods=results, pilot=est, seconds=time.perf_counter() - t0, notes=notes,
    )


@dataclass
class DesignComparison:
    """Evaluations of alternative designs, ranked (by Bayesian power, then total days).

    ``table`` has one row per design: ``rank``, ``period_days``, ``pairs``, ``washout_days``,
    ``run_in_days``, ``total_days``, ``power_<method>`` (and ``_se``), ``fpr_<method>``,
    ``min_p_randomization``, ``mean_ci_width`` (the first method with an interval, bayes by
    default) and ``current`` (the protocol's own design).

    Example:
        >>> cmp = compare(p, effect=-1, sd=1.5, phi=0.4, seed=1)      # doctest: +SKIP
        >>> cmp.best                                                  # doctest: +SKIP
        >>> cmp.plot().savefig("designs.png")                         # doctest: +SKIP
    """

    protocol: Protocol
    table: pd.DataFrame
    evaluations: list[DesignEvaluation]
    scenario: dict[str, Any]
    rank_by: str
    max_total_days: int | None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """The ranked table."""
        return self.table

    @property
    def best(self) -> dict[str, Any]:
        """The top-ranked design (a row of the table)."""
        return self.table.iloc[0].to_dict()

    def plot(self, **kwargs: Any) -> Figure:
        """Power against total days, one line per period length (:func:`nof1.plot.design_comparison`).

        Draws the power column the table is ranked by unless ``power=`` says otherwise.
        """
        from nof1.plot import design_comparison

        if self.rank_by.startswith("power_"):
            kwargs.setdefault("power", self.rank_by)
        return design_comparison(self.table, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "nof1_version": __version__,
            "protocol": {"id": self.protocol.id, "fingerprint": self.protocol.fingerprint},
            "scenario": self.scenario,
            "rank_by": self.rank_by,
            "max_total_days": self.max_total_days,
            "designs": self.table.to_dict(orient="records"),
            "notes": list(self.notes),
            "seconds": self.seconds,
        })

    def __str__(self) -> str:
        return self.table.to_string(index=False, float_format=lambda x: f"{x:.3f}")

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False, float_format=lambda x: f"{x:.3f}")


def _rank_column(rank_by: str, methods: Sequence[str], first: DesignEvaluation, table: pd.DataFrame,
                 notes: list[str]) -> str:
    """The column :func:`compare` ranks by (see its ``rank_by``)."""
    if rank_by != "auto":
        if rank_by not in table.columns:
            raise DesignError(f"cannot rank by '{rank_by}' (columns: {', '.join(table.columns)})")
        return rank_by
    if "bayes" not in methods:
        present = [f"power_{m}" for m in methods if f"power_{m}" in table.columns]
        if not present:
            raise DesignError("none of the requested methods could be evaluated on these designs")
        return present[0]
    eff = abs(float(first.scenario["effect_in_mcid"]))
    if eff > 1.0 + 1e-9:
        return "power_bayes"
    alt = "power_gls_ar1" if "gls_ar1" in methods else "mean_ci_width"
    bp = first.protocol.analysis.decision.benefit_prob
    notes.append(
        f"ranked by {alt}, not power_bayes: the true effect is {eff:.2g} mcid, and the verdict 'likely "
        f"meaningful benefit' needs P(effect beyond the mcid) >= {bp:g}; at an effect of exactly one mcid "
        f"its power tends to about {1 - bp:.0%} however long the trial (below one mcid, to 0), so it "
        "cannot tell designs apart. Evaluate at the effect you hope to detect (e.g. 1.5-2 mcid) to "
        "rank by the Bayesian verdict.")
    return alt


def compare(
    protocol: Protocol,
    alternatives: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]] | None = None,
    *,
    effect: float | None = None,
    sd: float | None = None,
    phi: float | None = None,
    carryover_days: float | None = None,
    trend: float = 0.0,
    missing: float = 0.0,
    baseline: float | None = None,
    sims: int = 200,
    seed: int,
    max_total_days: int | None = None,
    methods: Sequence[str] = DEFAULT_METHODS,
    pilot: Any = None,
    outcome: str | None = None,
    rank_by: str = "auto",
    progress: Progress | None = None,
    bayes_grid: GridSpec | None = None,
) -> DesignComparison:
    """Evaluate alternative designs under one scenario and rank them.

    Args:
        protocol: the starting protocol (its conditions, outcome, analysis plan and decision rules
            are kept; only the design changes).
        alternatives: designs to evaluate, as overrides of ``period_days``, ``pairs``,
            ``washout_days``, ``run_in_days``: a dict of lists (every combination) or a list of
            dicts. Default: :func:`default_alternatives` (7/10/14/21-day periods × 3–8 pairs).
        effect, sd, phi, carryover_days, trend, missing, baseline, pilot, outcome, methods: as
            for :func:`evaluate` (the pilot is fitted once).
        sims: simulated trials per design (and as many at effect 0).
        seed: seed; every design uses the same one (common random numbers make the ranking
            less noisy).
        max_total_days: drop designs longer than this (run-in included). Default: 1.5 × the
            protocol's total days for the default grid, no bound for given alternatives.
        rank_by: a column of the table to rank by (descending; ``mean_ci_width`` ascending),
            then total days ascending. ``"auto"``: ``power_bayes`` — unless the true effect is at
            most one MCID, where the Bayesian verdict cannot tell designs apart (its power tends
            to 1 − ``benefit_prob`` at an effect of exactly one MCID however long the trial, and
            to 0 below it); then ``power_gls_ar1`` (else ``mean_ci_width``), with a note.
        bayes_grid: quadrature grid of the exact engine (default :func:`compare_grid`).

    Returns:
        A :class:`DesignComparison`, best design first.

    Example:
        >>> cmp = compare(p, {"period_days": [7, 14], "pairs": [3, 4, 6]}, effect=-1, sd=1.5,
        ...               phi=0.4, seed=1)                         # doctest: +SKIP
        >>> cmp.table[["period_days", "pairs", "total_days", "power_bayes"]]   # doctest: +SKIP
    """
    t0 = time.perf_counter()
    o = design_outcome(protocol, outcome)
    ms = _check_methods(methods)
    if alternatives is None:
        variants = default_alternatives(protocol, max_total_days)
        bound = int(max_total_days) if max_total_days is not None else int(
            math.ceil(DEFAULT_DURATION_FACTOR * protocol.total_days))
    else:
        variants = expand_alternatives(alternatives)
        bound = None if max_total_days is None else int(max_total_days)
        if not variants:
            raise DesignError("no alternatives to compare")
    protocols: list[tuple[dict[str, Any], Protocol]] = []
    seen: set[tuple] = set()
    for v in variants:
        pv = design_variant(protocol, **v)
        key = (pv.design.period_days, pv.n_periods, pv.design.washout_days, pv.design.run_in_days)
        if key in seen:
            continue
        seen.add(key)
        if bound is not None and pv.total_days > bound:
            continue
        protocols.append((v, pv))
    if not protocols:
        raise DesignError(f"no alternative fits within {bound} total days")
    est = None
    if pilot is not None:
        est = pilot if isinstance(pilot, PilotEstimate) else estimate_pilot(
            pilot, protocol, outcome=o.name, seed=task_seed(int(seed), "pilot"))
    evaluations: list[DesignEvaluation] = []
    rows = []
    own = design_facts(protocol)
    for i, (_v, pv) in enumerate(protocols):
        def sub(msg: str, frac: float, i: int = i, pv: Protocol = pv) -> None:
            if progress is not None:
                progress(f"{pv.design.period_days}-day periods × {design_facts(pv)['pairs']}: {msg}",
                         (i + frac) / len(protocols))

        ev = evaluate(pv, effect=effect, sd=sd, phi=phi, carryover_days=carryover_days, trend=trend,
                      missing=missing, baseline=baseline, sims=sims, seed=seed, methods=ms, pilot=est,
                      outcome=o.name, progress=sub,
                      bayes_grid=compare_grid() if bayes_grid is None else bayes_grid)
        evaluations.append(ev)
        row = ev.row()
        row["current"] = all(row.get(k) == own.get(k) for k in ("period_days", "pairs", "washout_days",
                                                                   "run_in_days"))
        rows.append(row)
    table = pd.DataFrame(rows)
    notes: list[str] = []
    rank_col = _rank_column(rank_by, ms, evaluations[0], table, notes)
    ascending = rank_col == "mean_ci_width"
    table = table.sort_values([rank_col, "total_days"], ascending=[ascending, True], kind="stable",
                              na_position="last")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table = table.reset_index(drop=True)
    scenario = dict(evaluations[0].scenario)
    if est is not None:
        notes.append("assurance: sd and phi drawn from the pilot's posterior for every design")
    if "min_p_randomization" in table.columns:
        never = table.loc[table["min_p_randomization"] >= ALPHA, "pairs"].dropna().unique()
        if len(never):
            notes.append("randomization: designs with "
                         + ", ".join(str(int(x)) for x in sorted(never))
                         + " pairs can never reach a two-sided p < 0.05, whatever the effect")
    return DesignComparison(protocol=protocol, table=table, evaluations=evaluations, scenario=scenario,
                            rank_by=rank_col, max_total_days=bound, seconds=time.perf_counter() - t0,
                            notes=notes)
