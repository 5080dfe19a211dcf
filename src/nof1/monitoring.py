"""Stopping rules written before the data (``analysis.monitoring``) and their error rates.

A rule looks after ``min_pairs``, ``min_pairs + every_pairs``, ... complete pairs (blocks) and
stops the trial early

* for **harm** when P(meaningful harm) (or the predictive probability of the verdict "possible
  harm") reaches its threshold — checked first;
* for **efficacy** when P(meaningful benefit) reaches its threshold while P(meaningful harm) stays
  below ``decision.harm_prob_max`` (or when the predictive probability of "likely meaningful
  benefit" at the planned end does); the trial then *claims* a meaningful benefit;
* for **futility** when P(meaningful benefit) (or its predictive probability) falls below its
  threshold.

A trial that is not stopped runs to its planned end and gets the ordinary verdict.

:func:`evaluate_monitoring` (``nof1 design --monitoring``) simulates the whole sequential trial:
every simulated trial is analysed at every look with the batched exact engine (the analysis'
model and priors), the rule is applied look by look, and it reports — next to the fixed design on
the same simulated trials — the **false-positive rate** (a claim of meaningful benefit when the
true effect is 0, over all looks), **power**, **expected and 90th-percentile duration** and the
**share stopped at each look**. It also runs the *naive* rule (stop as soon as the 95% interval
excludes 0, looking after every pair) to show what unplanned peeking does to the error rate.

Predictive thresholds are judged in the design simulation by a normal approximation (the final
posterior mean is normal around the current one with variance s² − s_end², s_end = s·√(k/K)
after k of K pairs; Spiegelhalter, Abrams & Myles 2004, ch. 6); ``nof1 status`` computes them by
simulating completions (:mod:`nof1.interim_analysis`). tests/test_monitoring.py compares the two.

Example:
    >>> import nof1
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")                 # doctest: +SKIP
    >>> ev = evaluate_monitoring(p, effect=-1.5, sd=1.5, phi=0.4, sims=4000, seed=1)  # doctest: +SKIP
    >>> ev.summary()                                                                 # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from nof1.constants import VERDICT_BENEFIT, VERDICT_HARM
from nof1.jsonsafe import json_safe
from nof1.plan_keys import Monitoring, Threshold

if TYPE_CHECKING:
    from nof1.protocol import Decision, Protocol

__all__ = [
    "DEFAULT_RULE",
    "NAIVE_RULE_TEXT",
    "MonitoringEvaluation",
    "approx_predictive",
    "evaluate_monitoring",
    "look_pairs",
    "pair_end_days",
    "rule_text",
    "threshold_decision",
]

#: nof1's default rule (benchmarks/bench_monitoring.py: overall false-positive rate <= 5% for the
#: bundled protocols at φ 0.4 and 0.7).
DEFAULT_RULE = Monitoring()
NAIVE_RULE_TEXT = "naive: stop as soon as the 95% interval excludes 0, looking after every pair"


def rule_text(rule: Monitoring) -> str:
    """The rule in words.

    Example:
        >>> rule_text(DEFAULT_RULE)[:46]
        'looks after pair 2 and then every pair; stop f'
    """
    parts = [f"looks after pair {rule.min_pairs} and then every "
             + ("pair" if rule.every_pairs == 1 else f"{rule.every_pairs} pairs")]
    words = {"efficacy": ("benefit", ">="), "futility": ("benefit", "<"), "harm": ("harm", ">=")}
    for name in ("efficacy", "futility", "harm"):
        t: Threshold | None = getattr(rule, name)
        if t is None:
            continue
        what, op = words[name]
        if t.by == "posterior":
            q = f"P(meaningful {what}) {op} {t.prob:g}"
        else:
            verdict = "likely meaningful benefit" if what == "benefit" else "possible harm"
            q = f"predictive P('{verdict}' at the planned end) {op} {t.prob:g}"
        parts.append(f"stop for {name} when {q}")
    return "; ".join(parts)


def look_pairs(rule: Monitoring, planned_pairs: int) -> list[int]:
    """Complete-pair counts at which the rule looks (the planned end, ``planned_pairs``, included).

    Example:
        >>> look_pairs(DEFAULT_RULE, 4)
        [2, 3, 4]
    """
    looks = list(range(rule.min_pairs, planned_pairs, rule.every_pairs))
    return [*looks, planned_pairs] if planned_pairs > 0 else []


def pair_end_days(protocol: Protocol) -> list[int]:
    """Calendar day (run-in included) on which each pair (block) ends: pair k ends on entry k-1."""
    from nof1.schedule import build_schedule

    s = build_schedule(protocol)
    trial = s[s["period"] > 0]
    if trial["pair"].isna().all():
        return []
    return [int(v) for v in trial.groupby(trial["pair"].astype("int64"))["day"].max().to_numpy()]


def threshold_decision(rule: Monitoring, post: Mapping[str, Any], predictive: Mapping[str, float] | None,
                       decision: Decision) -> tuple[str, str]:
    """Apply the rule to one look: (``continue`` | ``stop for harm`` | ``stop for efficacy`` |
    ``stop for futility``, the reason in words).

    ``post`` holds ``prob_meaningful_benefit`` and ``prob_meaningful_harm``; ``predictive`` the
    predictive probability of each final verdict (needed only for predictive thresholds).

    Example:
        >>> from nof1.protocol import Decision
        >>> threshold_decision(DEFAULT_RULE, {"prob_meaningful_benefit": 0.95,
        ...                    "prob_meaningful_harm": 0.0}, {VERDICT_BENEFIT: 0.99}, Decision())[0]
        'stop for efficacy'
    """
    pmb = float(post["prob_meaningful_benefit"])
    pmh = float(post["prob_meaningful_harm"])

    def pred(verdict: str) -> float:
        if predictive is None:
            raise ValueError("this rule needs predictive probabilities")
        return float(predictive[verdict])

    t = rule.harm
    if t is not None:
        v = pmh if t.by == "posterior" else pred(VERDICT_HARM)
        if v >= t.prob:
            what = "P(meaningful harm)" if t.by == "posterior" else "predictive P('possible harm')"
            return "stop for harm", f"{what} {v:.2f} >= {t.prob:g}"
    t = rule.efficacy
    if t is not None:
        v = pmb if t.by == "posterior" else pred(VERDICT_BENEFIT)
        if v >= t.prob and pmh < decision.harm_prob_max:
            what = "P(meaningful benefit)" if t.by == "posterior" else "predictive P('likely meaningful benefit')"
            return "stop for efficacy", f"{what} {v:.2f} >= {t.prob:g}"
    t = rule.futility
    if t is not None:
        v = pmb if t.by == "posterior" else pred(VERDICT_BENEFIT)
        if v < t.prob:
            what = "P(meaningful benefit)" if t.by == "posterior" else "predictive P('likely meaningful benefit')"
            return "stop for futility", f"{what} {v:.2f} < {t.prob:g}"
    return "continue", "no threshold reached"


def approx_predictive(mean: NDArray[np.float64], sd: NDArray[np.float64], fraction: float, *,
                      mcid: float, better: str, decision: Decision) -> dict[str, NDArray[np.float64]]:
    """Normal approximation of the predictive probability of the final verdicts benefit and harm.

    ``mean``, ``sd``: current posterior mean and sd of the effect; ``fraction``: share of the
    planned information available now (pairs done / pairs planned). The final sd is
    s·√fraction and the final mean ~ N(mean, s² − s_end²).

    Example:
        >>> from nof1.protocol import Decision
        >>> p = approx_predictive(np.array([-2.0]), np.array([0.5]), 0.5, mcid=1.0, better="lower",
        ...                       decision=Decision())
        >>> bool(p[VERDICT_BENEFIT][0] > 0.9)
        True
    """
    mean = np.asarray(mean, dtype=float)
    sd = np.asarray(sd, dtype=float)
    d = -1.0 if better == "lower" else 1.0
    s_end = sd * math.sqrt(max(min(fraction, 1.0), 1e-9))
    v = np.sqrt(np.maximum(sd**2 - s_end**2, 1e-12))
    thr = np.maximum(mcid + special.ndtri(decision.benefit_prob) * s_end,
                     -mcid + special.ndtri(1.0 - decision.harm_prob_max) * s_end)
    ben = special.ndtr((d * mean - thr) / v)
    harm = special.ndtr((-mcid - special.ndtri(decision.possible_harm_prob) * s_end - d * mean) / v)
    return {VERDICT_BENEFIT: ben, VERDICT_HARM: harm}


# =========================================================================== simulation
@dataclass
class _Looks:
    """Posterior summaries of every simulated trial at every look (arrays (looks, sims))."""

    pairs: list[int]
    days: list[int]
    pmb: NDArray[np.float64]
    pmh: NDArray[np.float64]
    pneg: NDArray[np.float64]
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    mean: NDArray[np.float64]
    sd: NDArray[np.float64]


def _fit_looks(protocol: Protocol, batch: Any, pairs: list[int], ends: list[int],
               progress: Callable[[float], None] | None = None) -> _Looks:
    from nof1.analysis.bayes import model_priors
    from nof1.analysis.classical import trend_on
    from nof1.models.bayes_exact import BATCH_GRID, contrast_vector, fit_exact_batch

    o = protocol.primary
    run_in = int(protocol.design.run_in_days)
    day = batch.day
    n_treat = len(protocol.conditions) - 1
    y, u = batch.model_inputs(exclude_washout=protocol.analysis.carryover == "exclude")
    priors = model_priors(protocol, o, n_treat)
    c = contrast_vector(n_treat, 0, None)
    out: dict[str, list[NDArray[np.float64]]] = {k: [] for k in
                                                 ("pmb", "pmh", "pneg", "ci_low", "ci_high", "mean", "sd")}
    for i, end in enumerate(ends):
        yk = np.where(day[None, :] <= end, y, np.nan)
        res = fit_exact_batch(yk, u, day, priors=priors, contrast=c, ci_level=protocol.analysis.ci_level,
                              mcid=o.mcid, better=o.better, trend=trend_on(protocol, None),
                              run_in_days=run_in, grid=BATCH_GRID)
        out["pmb"].append(np.asarray(res.prob_meaningful_benefit))
        out["pmh"].append(np.asarray(res.prob_meaningful_harm))
        out["pneg"].append(np.asarray(res.prob_negligible))
        out["ci_low"].append(res.ci_low)
        out["ci_high"].append(res.ci_high)
        out["mean"].append(res.posterior_mean)
        out["sd"].append(res.posterior_sd)
        if progress is not None:
            progress((i + 1) / len(ends))
    return _Looks(pairs=pairs, days=ends, **{k: np.stack(v) for k, v in out.items()})


@dataclass
class RuleOutcome:
    """Operating characteristics of one rule on one set of simulated trials."""

    name: str
    text: str
    claim_rate: float
    claim_se: float
    harm_rate: float
    expected_days: float
    p90_days: float
    stopped_at: dict[str, dict[str, float]]
    any_effect_rate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _run_rule(lk: _Looks, rule: Monitoring | str, protocol: Protocol, trial_days_at: list[int],
              trial_days: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.float64],
                                        dict[str, dict[str, float]], NDArray[np.bool_]]:
    """(claim of benefit, claim of harm, duration in trial days, share stopped per look, any effect
    claimed) for each simulated trial."""
    o = protocol.primary
    dec = protocol.analysis.decision
    K = lk.pairs[-1]
    n = lk.pmb.shape[1]
    active = np.ones(n, dtype=bool)
    claim = np.zeros(n, dtype=bool)
    harm = np.zeros(n, dtype=bool)
    anyeff = np.zeros(n, dtype=bool)
    dur = np.full(n, float(trial_days))
    stopped: dict[str, dict[str, float]] = {}
    sign_benefit = (lk.ci_high < 0) if o.better == "lower" else (lk.ci_low > 0)
    excludes = (lk.ci_high < 0) | (lk.ci_low > 0)
    if rule == "fixed" or rule == "naive":
        looks = range(len(lk.pairs)) if rule == "naive" else [len(lk.pairs) - 1]
        for i in looks:
            stop = active & excludes[i]
            claim |= stop & sign_benefit[i]
            harm |= stop & ~sign_benefit[i]
            anyeff |= stop
            dur[stop] = trial_days_at[i]
            if i < len(lk.pairs) - 1:
                stopped[f"after pair {lk.pairs[i]}"] = {"effect claimed": float(stop.mean())}
            active &= ~stop
        return claim, harm, dur, stopped, anyeff
    assert isinstance(rule, Monitoring)
    looks_at = look_pairs(rule, K)
    needs_pred = any(t is not None and t.by == "predictive" for t in (rule.efficacy, rule.futility, rule.harm))
    for i, k in enumerate(lk.pairs):
        if k not in looks_at:
            continue
        if k == K:  # the planned end: the ordinary verdict
            ben = (lk.pmb[i] >= dec.benefit_prob) & (lk.pmh[i] < dec.harm_prob_max)
            hrm = ~ben & (lk.pmh[i] >= dec.possible_harm_prob)
            claim |= active & ben
            harm |= active & hrm
            break
        pred = approx_predictive(lk.mean[i], lk.sd[i], k / K, mcid=float(o.mcid), better=o.better,
                                 decision=dec) if needs_pred else None

        def value(t: Threshold, post: NDArray[np.float64], verdict: str,
                  pred: dict[str, NDArray[np.float64]] | None = pred) -> NDArray[np.float64]:
            return post if t.by == "posterior" or pred is None else pred[verdict]

        s_harm = np.zeros(n, dtype=bool)
        s_eff = np.zeros(n, dtype=bool)
        s_fut = np.zeros(n, dtype=bool)
        if rule.harm is not None:
            s_harm = value(rule.harm, lk.pmh[i], VERDICT_HARM) >= rule.harm.prob
        if rule.efficacy is not None:
            s_eff = ~s_harm & (value(rule.efficacy, lk.pmb[i], VERDICT_BENEFIT) >= rule.efficacy.prob) \
                & (lk.pmh[i] < dec.harm_prob_max)
        if rule.futility is not None:
            s_fut = ~s_harm & ~s_eff & (value(rule.futility, lk.pmb[i], VERDICT_BENEFIT) < rule.futility.prob)
        s_harm &= active
        s_eff &= active
        s_fut &= active
        claim |= s_eff
        harm |= s_harm
        stop = s_harm | s_eff | s_fut
        dur[stop] = trial_days_at[i]
        stopped[f"after pair {k}"] = {"efficacy": float(s_eff.mean()), "futility": float(s_fut.mean()),
                                      "harm": float(s_harm.mean())}
        active &= ~stop
    return claim, harm, dur, stopped, claim | harm


def _outcome(name: str, text: str, res: tuple) -> RuleOutcome:
    claim, harm, dur, stopped, anyeff = res
    n = claim.size
    p = float(claim.mean())
    return RuleOutcome(name=name, text=text, claim_rate=p, claim_se=math.sqrt(max(p * (1 - p), 1e-12) / n),
                       harm_rate=float(harm.mean()), expected_days=float(dur.mean()),
                       p90_days=float(np.quantile(dur, 0.9)), stopped_at=stopped,
                       any_effect_rate=float(anyeff.mean()))


@dataclass
class MonitoringEvaluation:
    """Operating characteristics of a stopping rule next to the fixed design and the naive rule.

    ``null[name]`` and ``effect[name]`` are :class:`RuleOutcome` for ``fixed``, ``rule`` and
    ``naive``: ``claim_rate`` is the false-positive rate under ``null`` and the power under
    ``effect`` (a claim of meaningful benefit; for ``fixed``/``naive`` with the interval criterion,
    the interval excluding 0 on the benefit side), ``any_effect_rate`` any claimed effect.
    """

    protocol: Protocol
    rule: Monitoring
    rule_source: str
    scenario: dict[str, Any]
    null: dict[str, RuleOutcome]
    effect: dict[str, RuleOutcome] | None
    seconds: float
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """One row per rule: FPR (± SE), power, expected and 90th-percentile trial days."""
        rows = []
        for name in self.null:
            z = self.null[name]
            e = self.effect[name] if self.effect is not None else None
            rows.append({
                "rule": name, "false_positive_rate": z.claim_rate, "fpr_se": z.claim_se,
                "any_effect_claimed_at_0": z.any_effect_rate,
                "power": None if e is None else e.claim_rate, "power_se": None if e is None else e.claim_se,
                "expected_days": None if e is None else e.expected_days,
                "p90_days": None if e is None else e.p90_days,
                "expected_days_at_0": z.expected_days, "p90_days_at_0": z.p90_days,
            })
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "protocol": {"id": self.protocol.id, "fingerprint": self.protocol.fingerprint},
            "rule": self.rule.model_dump(mode="json"), "rule_text": rule_text(self.rule),
            "rule_source": self.rule_source, "scenario": self.scenario,
            "null": {k: v.to_dict() for k, v in self.null.items()},
            "effect": None if self.effect is None else {k: v.to_dict() for k, v in self.effect.items()},
            "seconds": self.seconds, "notes": self.notes,
        })


def evaluate_monitoring(
    protocol: Protocol,
    *,
    effect: float | None = None,
    sd: float,
    phi: float,
    carryover_days: float | None = None,
    missing: float = 0.0,
    sims: int = 4000,
    seed: int,
    rule: Monitoring | None = None,
    null_only: bool = False,
    effect_sims: int | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> MonitoringEvaluation:
    """Simulate the sequential trial under ``rule`` (default: the protocol's, else :data:`DEFAULT_RULE`).

    ``sims`` trials at a true effect of 0 (false-positive rate) and, unless ``null_only``,
    ``effect_sims`` (default: as many) at ``effect`` (default: 1.5 MCID in the benefit direction). Each
    simulated trial draws its own allocation from the protocol's scheme, as the real one will.

    Example:
        >>> ev = evaluate_monitoring(p, sd=1.5, phi=0.4, sims=4000, seed=1)   # doctest: +SKIP
        >>> ev.null["rule"].claim_rate <= 0.05                                # doctest: +SKIP
    """
    from nof1.errors import AnalysisError
    from nof1.simulation import default_parameters, simulate_batch

    t0 = time.perf_counter()
    o = protocol.primary
    if o.type != "continuous" or o.schedule != "daily":
        raise AnalysisError(f"monitoring simulation needs a continuous daily primary outcome; '{o.name}' is "
                            f"{o.type}, {o.schedule}")
    ends = pair_end_days(protocol)
    if not ends:
        raise AnalysisError("monitoring looks after complete pairs; this design has no pairs or blocks")
    chosen = rule if rule is not None else (protocol.analysis.monitoring or DEFAULT_RULE)
    source = ("given" if rule is not None else
              "the protocol's analysis.monitoring" if protocol.analysis.monitoring is not None
              else "nof1's default rule")
    eff = (-1.5 * o.mcid if o.better == "lower" else 1.5 * o.mcid) if effect is None else float(effect)
    run_in = int(protocol.design.run_in_days)
    pairs = list(range(1, len(ends) + 1))
    trial_days_at = [e - run_in for e in ends]
    common = dict(sd=sd, phi=phi, carryover_days=carryover_days, missing=missing, n=int(sims), seed=int(seed),
                  allocations="random", include_run_in=True, outcome=o.name,
                  baseline=default_parameters(o)["baseline"])

    def report(msg: str, frac: float) -> None:
        if progress is not None:
            progress(msg, frac)

    out: dict[str, dict[str, RuleOutcome]] = {}
    for label, value in (("null", 0.0), ("effect", eff)):
        if label == "effect" and null_only:
            break
        if label == "effect" and effect_sims is not None:
            common["n"] = int(effect_sims)
        batch = simulate_batch(protocol, effect=value, **common)
        base = 0.0 if label == "null" else 0.5
        lk = _fit_looks(protocol, batch, pairs, ends,
                        progress=lambda f, b=base, lab=label: report(f"fitting looks ({lab})",
                                                                    b + f * (1.0 if null_only else 0.5)))
        td = int(protocol.trial_days)
        fixed = _run_rule(lk, chosen, protocol, trial_days_at, td)
        res = {
            "fixed": _outcome("fixed", "the fixed design: the verdict at the planned end only",
                              _fixed_verdict(lk, protocol, td)),
            "rule": _outcome("rule", rule_text(chosen), fixed),
            "naive": _outcome("naive", NAIVE_RULE_TEXT, _run_rule(lk, "naive", protocol, trial_days_at, td)),
            "fixed_interval": _outcome("fixed_interval", "the 95% interval at the planned end only",
                                       _run_rule(lk, "fixed", protocol, trial_days_at, td)),
        }
        out[label] = res
    scenario = {"effect": eff, "sd": sd, "phi": phi, "carryover_days": carryover_days, "missing": missing,
                "sims": int(sims), "effect_sims": None if null_only else int(effect_sims or sims),
                "seed": int(seed), "looks_at_pairs": look_pairs(chosen, len(ends)),
                "pair_end_days": ends}
    notes = []
    if any(t is not None and t.by == "predictive" for t in (chosen.efficacy, chosen.futility, chosen.harm)):
        notes.append("predictive thresholds are judged here by a normal approximation (final mean normal "
                     "around the current one, final sd = current sd x sqrt(pairs done / planned)); "
                     "nof1 status simulates completions instead")
    return MonitoringEvaluation(protocol=protocol, rule=chosen, rule_source=source, scenario=scenario,
                                null=out["null"], effect=out.get("effect"),
                                seconds=time.perf_counter() - t0, notes=notes)


def _fixed_verdict(lk: _Looks, protocol: Protocol, trial_days: int) -> tuple:
    dec = protocol.analysis.decision
    ben = (lk.pmb[-1] >= dec.benefit_prob) & (lk.pmh[-1] < dec.harm_prob_max)
    harm = ~ben & (lk.pmh[-1] >= dec.possible_harm_prob)
    n = ben.size
    return ben, harm, np.full(n, float(trial_days)), {}, ben | harm
