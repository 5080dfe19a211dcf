"""The sections of an analysis beyond the effects: manipulation check, covariates, adherence and
blinding (``AnalysisResult.extras``: ``manipulation_checks``, ``covariates``, ``adherence``,
``blinding``; the same keys in the JSON of ``nof1 analyze --json``).

:func:`add_sections` is called by :func:`nof1.analyze` after the methods have run.

Example:
    >>> res = nof1.analyze(td, seed=1)                                  # doctest: +SKIP
    >>> res.extras["manipulation_checks"]["no_strip"]["sentence"]        # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from nof1.analysis.base import contrasts_for
from nof1.analysis.covariates import MEDIATOR_ALPHA

if TYPE_CHECKING:
    from nof1.analysis.base import MethodResult
    from nof1.analysis.core import AnalysisResult
    from nof1.data import TrialData

__all__ = ["add_sections", "covariate_section", "manipulation_check", "mediator_check"]


def _first_available(by_method: dict[str, MethodResult]) -> MethodResult | None:
    for name in ("bayes", *by_method):
        r = by_method.get(name)
        if r is not None and r.available and r.estimate is not None:
            return r
    return None


def manipulation_check(result: AnalysisResult, outcome: str) -> dict[str, Any]:
    """Did the intervention do what it should biologically? From the first available method
    (``bayes`` first) of the first contrast: moved as expected when the interval excludes 0 in
    the outcome's ``better`` direction."""
    p = result.protocol
    o = p.outcome(outcome)
    label, by_method = next(iter(result.results[outcome].items()))
    r = _first_available(by_method)
    t, c = (p.conditions[k].label for k in label.split("-"))
    if r is None:
        return {"outcome": outcome, "contrast": label, "moved": None,
                "sentence": f"The manipulation check {o.display} could not be analysed."}
    up = o.better != "lower"
    expected = "higher" if up else "lower"
    lvl = f"{r.ci_level:.0%}" if r.ci_level else ""
    text = f"{r.estimate:+.2f} ({lvl} CI {r.ci_low:+.2f} to {r.ci_high:+.2f}; {r.method})"
    moved = (r.ci_low > 0) if up else (r.ci_high < 0)
    wrong = (r.ci_high < 0) if up else (r.ci_low > 0)
    out: dict[str, Any] = {"outcome": outcome, "label": o.display, "contrast": label,
                           "method": r.method, "estimate": r.estimate, "ci_low": r.ci_low,
                           "ci_high": r.ci_high, "expected": expected, "moved": bool(moved)}
    if moved:
        out["sentence"] = (f"Did the intervention do what it should biologically? Yes: "
                           f"{o.display} was {expected} on {t} than on {c}, {text}.")
    elif wrong:
        out["sentence"] = (f"Did the intervention do what it should biologically? No: {o.display} "
                           f"moved the wrong way on {t} ({text}). Check the product and the "
                           "measurement; a null result on the symptoms then means little.")
    else:
        out["sentence"] = (f"Did the intervention do what it should biologically? Not shown: "
                           f"{o.display} did not move clearly ({text}), so the intervention may "
                           "not have reached its target, and a null result on the symptoms "
                           "means little.")
    return out


def add_sections(result: AnalysisResult, itt: TrialData, *, registry: dict, options: dict[str, Any],
                 washout_days: int | None, seed_for: Any) -> None:
    """Fill ``result.extras`` with the manipulation-check, covariate, adherence and blinding
    sections (each only when it applies) and the unadjusted effects of adjusted methods."""
    from nof1.analysis.adherence import adherence_section
    from nof1.analysis.blinding import blinding_check

    p = result.protocol
    ci = p.analysis.ci_level
    checks = {o.name: manipulation_check(result, o.name) for o in p.ordered_outcomes
              if o.role == "manipulation_check" and o.name in result.results}
    if checks:
        result.extras["manipulation_checks"] = checks
    if p.analysis.adjust_for:
        unadjusted: dict[str, dict[str, dict[str, MethodResult]]] = {}
        for outcome, by_contrast in result.results.items():
            o = p.outcome(outcome)
            for label, by_method in by_contrast.items():
                for name, r in by_method.items():
                    if not r.available or "adjusted_for" not in r.extras:
                        continue
                    un = registry[name].fit(itt, o, r.contrast, ci_level=ci,
                                            seed=seed_for(result.seed, o.name, label, name),
                                            washout_days=washout_days, **{**options, "adjust": False})
                    unadjusted.setdefault(outcome, {}).setdefault(label, {})[name] = un
                    brief = {"available": un.available}
                    if un.available:
                        brief.update(estimate=un.estimate, ci_low=un.ci_low, ci_high=un.ci_high)
                    else:
                        brief["reason"] = un.reason
                    by_method[name] = dataclasses.replace(r, extras={**r.extras, "unadjusted": brief})
        section = covariate_section(itt, result.results, unadjusted, ci_level=ci,
                                    washout_days=washout_days)
        if section is not None:
            result.extras["covariates"] = section
    primary = p.primary.name
    if primary in result.results:
        label, by_method = next(iter(result.results[primary].items()))
        r = by_method.get("bayes")
        result.extras["adherence"] = adherence_section(
            result.trial_data, r, result.verdicts.get(primary, {}).get(label), ci_level=ci,
            seed=seed_for(result.seed, primary, label, "as_treated"))
    blinding = blinding_check(result.trial_data, ci_level=ci)
    if blinding is not None:
        result.extras["blinding"] = blinding


def _ci(d: dict[str, Any]) -> str:
    if not d.get("available", True) or d.get("estimate") is None:
        return f"not available ({d.get('reason', '')})"
    return f"{d['estimate']:+.2f} ({d['ci_low']:+.2f} to {d['ci_high']:+.2f})"


def section_lines(result: AnalysisResult, which: str) -> list[str]:
    """Plain-text lines of one section (``manipulation_checks``, ``covariates``, ``adherence``,
    ``blinding``) for the terminal and the report; [] when the section is absent.

    Example:
        >>> print("\\n".join(section_lines(res, "blinding")))           # doctest: +SKIP
    """
    p = result.protocol
    sec = result.extras.get(which)
    if not sec:
        return []
    label = {k: c.label for k, c in p.conditions.items()}
    lines: list[str] = []
    if which == "manipulation_checks":
        lines.append("Manipulation check: did the intervention do what it should biologically?")
        lines.extend(f"  {m['sentence']}" for m in sec.values())
    elif which == "covariates":
        lines.append(f"Covariates: adjusted for {', '.join(sec['adjusted_for'])} "
                     "(adjusted and unadjusted effect side by side)")
        for outcome, by_contrast in sec["effects"].items():
            for contrast, by_method in by_contrast.items():
                for method, e in by_method.items():
                    ratio = e.get("interval_width_ratio")
                    width = f"; interval {ratio:.2f} x as wide" if ratio is not None else ""
                    lines.append(f"  {outcome} ({contrast}) {method}: adjusted {_ci(e['adjusted'])}, "
                                 f"unadjusted {_ci(e['unadjusted'])}{width}")
        lines.extend(f"  {s}" for s in sec["sentences"])
    elif which == "adherence":
        lines.append(f"Adherence (primary analysis {sec['population']}):")
        for k, c in sec["by_condition"].items():
            mean = c["mean_adherence"]
            lines.append(f"  {label[k]}: {c['days_logged']} logged days, {c['deviations']} with "
                         f"another condition taken, {c['adherence_below_1']} with a dose below full"
                         + (f" (mean adherence {mean:.2f})" if mean is not None else ""))
        for d in sec.get("days", [])[:10]:
            lines.append(f"    {d['date']}: {d['what']} (scheduled {label.get(d['scheduled'], d['scheduled'])}, "
                         f"taken {label.get(d['taken'], d['taken'])}"
                         + (f", adherence {d['adherence']:g}" if d["adherence"] is not None else "") + ")")
        lines.append(f"  {sec['sentence']}")
    elif which == "blinding":
        t, c = sec["table"]["columns"]
        counts = sec["table"]["counts"]
        lines.append(f"Blinding check ({sec['n_guesses']} guesses; blinding: {sec['blinding']}):")
        for row_name, row in zip(("guessed " + label[t], "guessed " + label[c], "don't know"),
                                 counts, strict=True):
            lines.append(f"  {row_name:<28} on {label[t]}: {row[0]:>3}   on {label[c]}: {row[1]:>3}")
        for k, b in sec["bang"].items():
            if b["index"] is not None:
                lines.append(f"  Bang's index, {label[k]}: {b['index']:+.2f} ({b['ci_low']:+.2f} to "
                             f"{b['ci_high']:+.2f}; 0 = random guessing, +1 = unblinded)")
        j = sec["james"]
        if j.get("index") is not None:
            lines.append(f"  James' index: {j['index']:.2f} ({j['ci_low']:.2f} to {j['ci_high']:.2f}; "
                         "1 = blinded, 0.5 = random guessing, 0 = unblinded)")
        lines.append(f"  {sec['sentence']}")
    return lines


# =========================================================================== covariates
def _brief(r: MethodResult) -> dict[str, Any]:
    out: dict[str, Any] = {"available": r.available}
    if r.available:
        out.update(estimate=r.estimate, ci_low=r.ci_low, ci_high=r.ci_high)
        if r.p_value is not None:
            out["p_value"] = r.p_value
        for key in ("prob_benefit", "prob_meaningful_benefit"):
            if key in r.extras:
                out[key] = r.extras[key]
    else:
        out["reason"] = r.reason
    return out


def mediator_check(trial_data: TrialData, covariate: str, contrast: tuple[str, str], *,
                   ci_level: float, washout_days: int | None = None) -> dict[str, Any]:
    """Does ``covariate`` differ between the two conditions beyond chance? (``gls_ar1`` on the
    covariate, washout excluded; flagged when p < :data:`MEDIATOR_ALPHA`).

    Example:
        >>> mediator_check(td, "stress", ("B", "A"), ci_level=0.95)["flag"]     # doctest: +SKIP
        False
    """
    from nof1.analysis.classical import gls_ar1

    r = gls_ar1(trial_data, covariate, contrast, ci_level=ci_level, washout_days=washout_days,
                adjust=False)
    out: dict[str, Any] = {"method": "gls_ar1", "contrast": f"{contrast[0]}-{contrast[1]}", **_brief(r)}
    if not r.available:
        out["flag"] = None
        out["sentence"] = f"{covariate}: the difference between conditions could not be checked ({r.reason})."
        return out
    flag = bool(r.p_value is not None and r.p_value < MEDIATOR_ALPHA)
    out["flag"] = flag
    diff = f"{r.estimate:+.2f} ({ci_level:.0%} CI {r.ci_low:+.2f} to {r.ci_high:+.2f}, p = {r.p_value:.3f})"
    if flag:
        out["sentence"] = (
            f"{covariate} differs between conditions by {diff}, more than chance explains: the "
            "treatment may move it (a mediator), and adjusting for a mediator removes part of the "
            "real effect. Read the unadjusted effect as the total effect of the treatment.")
    else:
        out["sentence"] = (f"{covariate} does not differ between conditions beyond chance ({diff}); "
                           "adjusting for it is not expected to bias the effect.")
    return out


def covariate_section(trial_data: TrialData, results: dict[str, dict[str, dict[str, MethodResult]]],
                      unadjusted: dict[str, dict[str, dict[str, MethodResult]]], *,
                      ci_level: float, washout_days: int | None = None) -> dict[str, Any] | None:
    """The covariate section of an analysis: what was adjusted for, adjusted next to unadjusted
    effects per outcome/contrast/method, and the mediator check of every covariate.

    ``unadjusted`` mirrors ``results`` for the adjusting methods, fitted with ``adjust=False``.
    """
    protocol = trial_data.protocol
    names = list(protocol.analysis.adjust_for)
    if not names:
        return None
    contrasts = contrasts_for(protocol)
    mediators = {c: mediator_check(trial_data, c, contrasts[0], ci_level=ci_level,
                                   washout_days=washout_days) for c in names}
    effects: dict[str, Any] = {}
    for outcome, by_contrast in unadjusted.items():
        for label, by_method in by_contrast.items():
            for method, un in by_method.items():
                adj = results[outcome][label][method]
                entry = {"adjusted": _brief(adj), "unadjusted": _brief(un)}
                if adj.available and un.available:
                    wa, wu = adj.ci_high - adj.ci_low, un.ci_high - un.ci_low
                    entry["interval_width_ratio"] = wa / wu if wu > 0 else math.nan
                if "covariate_coefficients" in adj.extras:
                    entry["coefficients"] = adj.extras["covariate_coefficients"]
                effects.setdefault(outcome, {}).setdefault(label, {})[method] = entry
    flagged = [c for c, m in mediators.items() if m.get("flag")]
    sentences = [m["sentence"] for m in mediators.values()]
    if flagged:
        sentences.insert(0, f"Possible mediator{'s' if len(flagged) > 1 else ''}: "
                            f"{', '.join(flagged)}. The adjusted effects may understate the effect "
                            "of the treatment.")
    return {"adjusted_for": names, "effects": effects, "mediator_check": mediators,
            "possible_mediators": flagged, "sentences": sentences}
