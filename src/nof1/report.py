"""The HTML report of an analysed N-of-1 trial: one self-contained file to keep or share.

The report follows the CENT 2015 reporting items that apply to a single N-of-1 trial: the
question and the verdict in plain words with honest caveats; the protocol (conditions, schedule
of periods, blinding) with its fingerprint; what actually happened (period lengths, washout,
adherence, deviations, missing days by condition, defects found in the log); results per outcome
(primary first, secondary labelled exploratory, safety outcomes); the benefit–harm line; safety
alerts (at the top); sensitivity analyses; the methods and priors in words; and what is needed to
reproduce the numbers (versions, seed, protocol fingerprint, data hash).

Everything is in the one file: figures are embedded as SVG ``data:`` URIs and the styles are
inline, so the report opens offline and makes no network request. All text taken from the
protocol, the log or the results is HTML-escaped.

The report computes no statistics: it lays out what :func:`nof1.analyze` (and, when given,
:func:`nof1.washout_sensitivity`, :mod:`nof1.safety`) returned, plus descriptive tallies of the log.

Example:
    >>> import nof1
    >>> from nof1.report import render
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")          # doctest: +SKIP
    >>> td = nof1.read_log("data/sample/beetroot_log.csv", p)                # doctest: +SKIP
    >>> res = nof1.analyze(td, seed=1)                                       # doctest: +SKIP
    >>> render(res, "beetroot-report.html")                                  # doctest: +SKIP
    PosixPath('beetroot-report.html')
"""

from __future__ import annotations

import base64
import html
import io
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nof1._version import __version__
from nof1.constants import (
    INTERVAL_KIND,
    VERDICT_BENEFIT,
    VERDICT_HARM,
    VERDICT_INCONCLUSIVE,
    VERDICT_NO_EFFECT,
)
from nof1.formatting import fmt_number, fmt_p, fmt_prob
from nof1.report_sections import section_html

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nof1.analysis.base import MethodResult
    from nof1.analysis.core import AnalysisResult
    from nof1.data import TrialData
    from nof1.protocol import Outcome, Protocol

__all__ = ["SECTION_IDS", "METHOD_DESCRIPTIONS", "benefit_harm_sentence", "normalise_alerts",
           "render", "to_html"]

#: ``id`` of every top-level section, in the order they appear.
SECTION_IDS: tuple[str, ...] = (
    "safety-alerts", "summary", "benefit-harm", "protocol", "trial", "manipulation-check", "results",
    "covariates", "adherence", "blinding", "sensitivity", "methods", "reproducibility",
)
#: Sections present only when the analysis has them (a manipulation check, covariates, guesses).
OPTIONAL_SECTION_IDS: tuple[str, ...] = ("manipulation-check", "covariates", "adherence", "blinding")

#: A fixed paragraph describing each method, shown in the methods section.
METHOD_DESCRIPTIONS: dict[str, str] = {
    "bayes": (
        "Bayesian model of the daily values: a mean per condition, day-to-day correlation (AR(1) "
        "errors on the calendar day, so missing days are gaps) and, when the protocol asks for "
        "carryover: model, an effect that builds up and fades with a first-order time constant "
        "tau after each switch, so washout days are used rather than dropped. It gives the "
        "probability that the effect is a benefit, a meaningful benefit (beyond the MCID), "
        "negligible, or a meaningful harm; the verdict comes from these and the protocol's decision "
        "rules, fixed before the data were seen."
    ),
    "gls_ar1": (
        "Regression of the daily values on the condition with AR(1) errors on the calendar day "
        "(generalised least squares, REML). Washout days are left out. The interval allows for "
        "day-to-day correlation, which a plain t-test ignores."
    ),
    "paired_periods": (
        "The classic paired analysis: the mean of each period (washout days left out), the "
        "treatment-minus-control difference within each pair, and a t-interval over the pair "
        "differences. Robust to autocorrelation within periods, but with few pairs the interval "
        "is wide by nature."
    ),
    "randomization": (
        "Randomisation test: the observed difference is compared with the differences under every "
        "allocation the randomisation scheme could have produced. It assumes nothing about the "
        "distribution of the data, but its smallest possible p-value is 1 / (number of "
        "allocations), so a short trial cannot reach conventional significance however large "
        "the effect."
    ),
    "welch_naive": (
        "Welch's t-test comparing all treatment days with all control days as if they were "
        "independent. Shown only for comparison: with autocorrelated daily data its interval is "
        "too narrow and its p-value too small."
    ),
    "nap": (
        "Non-overlap of all pairs (NAP): the share of (control day, treatment day) pairs in which "
        "the treatment day is better (ties count half). 0.5 means no separation, 1 complete "
        "separation. An index, not an effect in outcome units."
    ),
    "tau": (
        "Kendall's Tau for non-overlap between conditions (from -1 to 1; 0 = no separation). An "
        "index, not an effect in outcome units."
    ),
}

_ROLE_WORDS = {"primary": "primary", "secondary": "secondary (exploratory)", "safety": "safety",
               "manipulation_check": "manipulation check", "covariate": "covariate"}
_VERDICT_CLASS = {
    VERDICT_BENEFIT: "benefit", VERDICT_HARM: "harm", VERDICT_NO_EFFECT: "none",
    VERDICT_INCONCLUSIVE: "inconclusive",
}


# --------------------------------------------------------------------------- small helpers
def _e(value: Any) -> str:
    """HTML-escape any value's text."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any, digits: int = 2) -> str:
    return _e(fmt_number(value, digits, minus="−"))


def _pct(p: Any) -> str:
    return _e(fmt_prob(p))


def _p(p: Any) -> str:
    return _e(fmt_p(p))


def _interval(r: MethodResult) -> str:
    if r.ci_low is None or r.ci_high is None:
        return "–"
    return f"{_num(r.ci_low)} to {_num(r.ci_high)}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Sequence[int] = (),
           row_classes: Sequence[str] | None = None, table_id: str | None = None) -> str:
    """An HTML table; cells are already-escaped HTML."""
    num = set(numeric)
    head = "".join(f'<th class="num">{h}</th>' if i in num else f"<th>{h}</th>" for i, h in enumerate(header))
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{row_classes[k]}"' if row_classes and row_classes[k] else ""
        cells = "".join(f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    tid = f' id="{table_id}"' if table_id else ""
    return (f'<div class="table-wrap"><table{tid}><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _kv(pairs: Iterable[tuple[str, str]]) -> str:
    """A definition list; values are already-escaped HTML."""
    return '<dl class="kv">' + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def _figure_uri(fig: Figure) -> str:
    """The figure as an SVG ``data:`` URI (fonts as paths, reproducible ids); closes the figure."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    with plt.rc_context({"svg.fonttype": "path", "svg.hashsalt": "nof1"}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(fig: Figure, alt: str, caption: str) -> str:
    return (f'<figure><img src="{_figure_uri(fig)}" alt="{_e(alt)}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _condition_label(protocol: Protocol, key: str) -> str:
    c = protocol.conditions.get(key)
    return c.label if c is not None else key


def _contrast_keys(label: str) -> tuple[str, str]:
    t, _, c = label.partition("-")
    return t, c


def _units(o: Outcome) -> str:
    if o.unit:
        return o.unit
    return "points" if o.range is not None else "units"


# --------------------------------------------------------------------------- alerts and inputs
def normalise_alerts(alerts: Iterable[Any] | None) -> list[dict[str, Any]]:
    """Safety alerts as plain dicts (``date``, ``outcome``, ``value``, ``message``, ...).

    Accepts the alert objects of :func:`nof1.safety.safety_alerts` (anything with ``to_dict()``)
    or mappings.

    Example:
        >>> normalise_alerts([{"date": "2027-01-03", "outcome": "systolic_bp", "value": 88,
        ...                    "message": "systolic_bp 88 below 90"}])[0]["value"]
        88
    """
    out: list[dict[str, Any]] = []
    for a in alerts or []:
        if hasattr(a, "to_dict"):
            out.append(dict(a.to_dict()))
        elif isinstance(a, Mapping):
            out.append(dict(a))
        else:
            out.append({k: getattr(a, k, None) for k in ("date", "day", "outcome", "value", "message")})
    return out


@dataclass
class _Context:
    result: AnalysisResult
    trial_data: TrialData
    protocol: Protocol
    alerts: list[dict[str, Any]]
    benefit_harm: Any
    sensitivity: pd.DataFrame | None
    figures: bool


# --------------------------------------------------------------------------- sections
#: Alerts listed in full at the top of the report; further ones are one click away.
ALERTS_SHOWN = 3


def _alert_item(p: Protocol, a: Mapping[str, Any]) -> str:
    when = _e(a.get("date") or (f"day {a['day']}" if a.get("day") is not None else ""))
    cond = f' <span class="muted">({_e(_condition_label(p, str(a["condition"])))})</span>' if a.get("condition") else ""
    return f'<li data-alert="{_e(a.get("outcome"))}"><strong>{when}</strong> {_e(a.get("message"))}{cond}</li>'


def _section_alerts(ctx: _Context) -> str:
    checked = [o for o in ctx.protocol.outcomes if o.role == "safety"]
    if not ctx.alerts:
        what = ", ".join(_e(o.display) for o in checked) or "no safety outcomes declared"
        body = f'<p class="note">No safety alert on any day. Checked: {what}.</p>'
        return f'<section id="safety-alerts" class="alerts clear"><h2>Safety alerts: none</h2>{body}</section>'
    p = ctx.protocol
    n = len(ctx.alerts)
    shown = "".join(_alert_item(p, a) for a in ctx.alerts[:ALERTS_SHOWN])
    by_outcome: dict[str, int] = {}
    for a in ctx.alerts:
        by_outcome[str(a.get("outcome"))] = by_outcome.get(str(a.get("outcome")), 0) + 1
    counts = ""
    if n > ALERTS_SHOWN:
        labels = {o.name: o.display for o in checked}
        counts = " By outcome: " + "; ".join(f"{_e(labels.get(k, k))} {v}" for k, v in by_outcome.items()) + "."
    body = (f"<p><strong>{n} alert(s).</strong> Review them before acting on the result; "
            f"follow the protocol's safety notes.{counts}</p>"
            f'<ul class="alert-list" id="alerts-list">{shown}</ul>')
    if n > ALERTS_SHOWN:
        more = "".join(_alert_item(p, a) for a in ctx.alerts[ALERTS_SHOWN:])
        body += (f'<details class="more-alerts"><summary>{n - ALERTS_SHOWN} more alert(s)</summary>'
                 f'<ul class="alert-list">{more}</ul></details>')
    if ctx.protocol.safety:
        body += ('<ul class="safety-notes">'
                 + "".join(f"<li>{_e(x)}</li>" for x in ctx.protocol.safety) + "</ul>")
    return f'<section id="safety-alerts" class="alerts"><h2>Safety alerts</h2>{body}</section>'


def _first_contrast(result: AnalysisResult, outcome: str) -> str | None:
    by_contrast = result.results.get(outcome, {})
    return next(iter(by_contrast), None)


def _verdict_sentence(ctx: _Context, outcome: str, contrast: str) -> tuple[str, str]:
    """(css class, HTML) of the plain-words verdict for one outcome and contrast.

    The key figures (effect, interval, probability of a meaningful benefit — for a safety outcome,
    of its risk) come first as a short list (``dl.answer``), then the verdict in words.
    """
    from nof1.safety import direction_words, risk_words

    p, result = ctx.protocol, ctx.result
    o = p.outcome(outcome)
    safety = o.role == "safety"
    t, c = _contrast_keys(contrast)
    tl, cl = _e(_condition_label(p, t)), _e(_condition_label(p, c))
    v = result.verdicts.get(outcome, {}).get(contrast)
    methods = result.results[outcome][contrast]
    bayes = methods.get("bayes")
    parts: list[str] = []
    shown: MethodResult | None = None
    kind = "credible"
    if bayes is not None and bayes.available and bayes.estimate is not None:
        shown = bayes
        parts.append(_effect_words(o, bayes, tl, cl, "credible"))
        x = bayes.extras
        probs = []
        worse, better = direction_words(o)
        if safety:
            if x.get("prob_meaningful_harm") is not None and o.mcid:
                probs.append(f"of {_e(risk_words(o))} (the risk): <strong>{_pct(x['prob_meaningful_harm'])}</strong>")
            if x.get("prob_benefit") is not None:
                probs.append(f"of any {worse}: {_pct(1.0 - float(x['prob_benefit']))}")
            if x.get("prob_negligible") is not None:
                probs.append(f"of a change too small to matter: {_pct(x['prob_negligible'])}")
        else:
            if x.get("prob_benefit") is not None:
                probs.append(f"that {tl} is better: <strong>{_pct(x['prob_benefit'])}</strong>")
            if x.get("prob_meaningful_benefit") is not None and o.mcid:
                probs.append(f"better by at least the MCID of {o.mcid:g}: <strong>{_pct(x['prob_meaningful_benefit'])}</strong>")
            if x.get("prob_negligible") is not None:
                probs.append(f"negligible difference: {_pct(x['prob_negligible'])}")
            if x.get("prob_meaningful_harm") is not None:
                probs.append(f"worse by at least the MCID: {_pct(x['prob_meaningful_harm'])}")
        if probs:
            parts.append("Probability " + "; ".join(probs) + ".")
    else:
        reason = (bayes.reason if bayes is not None and not bayes.available
                  else "the Bayesian analysis was not run")
        parts.append(f"No probability-based verdict: {_e(reason)}.")
        effect = next((r for name, r in methods.items() if name in ("gls_ar1", "paired_periods")
                       and r.available and r.estimate is not None), None)
        if effect is not None:
            shown, kind = effect, "confidence"
            parts.append(f"Classical estimate ({_e(effect.method)}): " + _effect_words(o, effect, tl, cl, "confidence"))
    risk = _e(risk_words(o))
    words = {
        VERDICT_BENEFIT: f"{tl} likely gives a meaningful benefit over {cl}.",
        VERDICT_NO_EFFECT: (f"With {tl}, {risk} is unlikely: any change is likely too small to matter."
                            if safety else f"Any difference between {tl} and {cl} is likely too small to matter."),
        VERDICT_HARM: (f"With {tl}, {risk} is possible (possible harm)." if safety
                       else f"{tl} may be worse than {cl} (possible harm)."),
        VERDICT_INCONCLUSIVE: (f"The trial cannot yet tell whether {tl} brings {risk}." if safety else
                               f"The trial cannot yet tell whether {tl} helps compared with {cl}; more pairs would help."),
    }.get(v or "", "")
    cls = _VERDICT_CLASS.get(v or "", "inconclusive")
    head = f'<div class="words">{_e(v.capitalize()) if v else "No verdict"}</div>'
    lead = f"<p>{words}</p>" if words else ""
    key = _key_figures(o, shown, tl, cl, kind) if shown is not None else ""
    return cls, f'{head}{key}{lead}<p class="detail">{" ".join(parts)}</p>'


def _key_figures(o: Outcome, r: MethodResult, tl: str, cl: str, kind: str) -> str:
    """The answer at a glance: effect, interval and the probability that matters (escaped HTML)."""
    from nof1.safety import risk_words

    est, lo, hi = r.estimate, r.ci_low, r.ci_high
    units = _e(_units(o))
    if not r.scale.in_outcome_units:
        found = r.outcome_effect()
        if found is not None:
            est, lo, hi = found.estimate, found.ci_low, found.ci_high
            units = found.units or units
        else:
            units = f"({_e(r.scale.name)} scale)"
    level = f"{r.ci_level:.0%} " if r.ci_level else ""
    items = [(f"Effect ({tl} − {cl})", "answer-effect", f"{_num(est)} {units}"),
             (f"{level}{kind} interval", "answer-interval",
              "–" if lo is None or hi is None else f"{_num(lo)} to {_num(hi)}")]
    x = r.extras
    if o.role == "safety":
        if o.mcid and x.get("prob_meaningful_harm") is not None:
            items.append((f"P({_e(risk_words(o))})", "answer-prob", _pct(x["prob_meaningful_harm"])))
    elif x.get("prob_meaningful_benefit") is not None and o.mcid:
        items.append((f"P(meaningful benefit, at least {o.mcid:g})", "answer-prob",
                      _pct(x["prob_meaningful_benefit"])))
    elif r.method == "bayes" and x.get("prob_benefit") is not None:
        items.append(("P(benefit)", "answer-prob", _pct(x["prob_benefit"])))
    return '<dl class="answer">' + "".join(
        f'<div><dt>{label}</dt><dd class="{cls}">{value}</dd></div>' for label, cls, value in items) + "</dl>"


def _effect_words(o: Outcome, r: MethodResult, tl: str, cl: str, kind: str) -> str:
    """'With X, severity was on average 1.3 points lower than with Y (effect −1.30; ...).'"""
    from nof1.safety import risk_words

    scale = r.scale.name
    level = f"{r.ci_level:.0%} " if r.ci_level else ""
    better = f"the risk is {_e(risk_words(o))}" if o.role == "safety" else f"{o.better} is better"
    est, lo, hi = r.estimate, r.ci_low, r.ci_high
    what, units = "", _e(_units(o))
    if not r.scale.in_outcome_units:
        found = r.outcome_effect()
        if found is None:
            return (f"The effect of {tl} against {cl} on {_e(o.display)} is {_num(r.estimate)} on the "
                    f"{_e(scale)} scale ({level}{kind} interval {_interval(r)}; {better}).")
        est, lo, hi = found.estimate, found.ci_low, found.ci_high
        what = f"; {_e(found.label)}, from the {_e(scale)}-scale model"
        units = found.units or units
    est = float(est)
    direction = "lower" if est < 0 else "higher"
    size = _num(abs(est)).replace("−", "")
    interval = "–" if lo is None or hi is None else f"{_num(lo)} to {_num(hi)}"
    return (f"With {tl}, {_e(o.display)} was on average {size} {units} {direction} than with "
            f"{cl} (effect {_num(est)}{what}; {level}{kind} interval {interval}; {better}).")


def _caveats(ctx: _Context) -> list[str]:
    """Honest caveats (escaped HTML) about the primary result."""
    p, result, td = ctx.protocol, ctx.result, ctx.trial_data
    out: list[str] = []
    primary = p.primary.name
    contrast = _first_contrast(result, primary)
    methods = result.results.get(primary, {}).get(contrast or "", {})
    pp = methods.get("paired_periods")
    pairs = pp.extras.get("pairs") if pp is not None else None
    planned = pp.extras.get("pairs_planned") if pp is not None else None
    design = p.design
    if pairs is not None:
        pl = f" of {planned} planned" if planned and planned != pairs else ""
        lengths = f" of {design.period_days} days" if design.period_days else ""
        out.append(f"Based on {pairs} complete pair(s){pl}{lengths}: one person, over these weeks. "
                   "The result is about you in this period, not evidence for other people.")
    else:
        out.append(f"Based on {p.n_periods} periods: one person, over these weeks. The result is about "
                   "you in this period, not evidence for other people.")
    rnd = methods.get("randomization")
    if rnd is not None and rnd.available:
        n_alloc = rnd.extras.get("n_allocations")
        min_p = rnd.extras.get("min_p_value")
        if min_p is not None:
            reach = ("so it cannot reach p &lt; 0.05 whatever the effect"
                     if float(min_p) >= 0.05 else "")
            alloc = f"{n_alloc} possible allocations" if n_alloc else "the allocations of the scheme"
            out.append(f"The randomisation test compares against {alloc}; its smallest possible p-value "
                       f"is {_p(min_p)}{', ' + reach if reach else ''}.")
    blinding = design.blinding
    if blinding == "none":
        out.append("Not blinded: knowing what you take can change how you rate symptoms (expectation "
                   "effects), which can look like a treatment effect.")
    else:
        holder = f" The key was held by {_e(design.key_holder)}." if design.key_holder else ""
        out.append(f"Blinding: {_e(blinding)}. It holds only if the products could not be told apart "
                   f"(taste, look, smell or side effects).{holder}")
    w = design.washout_days
    carry = p.analysis.carryover
    if carry == "model":
        out.append(f"Carryover: the Bayesian model estimates how the effect builds up and fades after each "
                   f"switch; the classical methods leave out the first {w} day(s) of each period as washout. "
                   "If the effect takes longer than that to appear or fade, classical estimates shrink "
                   "towards zero (see the washout sensitivity).")
    elif carry == "exclude":
        out.append(f"Carryover: the first {w} day(s) of each period are left out as washout; an effect that "
                   "lingers longer than that is not accounted for (see the washout sensitivity).")
    else:
        out.append("Carryover: the analysis assumes the effect switches on and off at once; any lingering "
                   "effect dilutes the difference.")
    rep = td.report
    if rep is not None and rep.missing_by_condition:
        miss = {k: v for k, v in rep.missing_by_condition.items() if v}
        if miss:
            words = ", ".join(f"{_e(_condition_label(p, k))}: {v}" for k, v in miss.items())
            out.append(f"Missing days by condition ({words}). Days missing for a reason linked to "
                       "symptoms (a bad night not logged) can bias the comparison.")
    if rep is not None and rep.deviations:
        out.append(f"{len(rep.deviations)} deviation(s) from the schedule were logged; the analyses use "
                   "what was actually taken.")
    secondary = [o for o in p.outcomes if o.role == "secondary" and o.name in result.results]
    if secondary:
        out.append(f"{len(secondary)} secondary outcome(s) are exploratory: with several outcomes, some "
                   "will look different by chance.")
    welch = methods.get("welch_naive")
    if welch is not None and welch.available:
        out.append("The naive Welch t-test is shown for comparison only: it treats days as independent, "
                   "so its interval is too narrow.")
    return out


def _section_summary(ctx: _Context) -> str:
    p, result = ctx.protocol, ctx.result
    primary = p.primary
    question = p.description or p.title
    parts = ['<section id="summary"><h2>Question and answer</h2>',
             f"<p><strong>Question.</strong> {_e(question)}</p>"]
    if primary.name in result.results:
        for contrast in result.results[primary.name]:
            cls, text = _verdict_sentence(ctx, primary.name, contrast)
            parts.append(f'<div class="verdict {cls}" data-outcome="{_e(primary.name)}">'
                         f'<div class="muted">Primary outcome: {_e(primary.display)}</div>{text}</div>')
    else:
        parts.append(f"<p>The primary outcome ({_e(primary.display)}) was not analysed in this run.</p>")
    others = [o for o in p.ordered_outcomes if o.name in result.results and o.role != "primary"]
    if others:
        rows = []
        for o in others:
            v = result.verdict(o.name)
            rows.append((f'<a href="#outcome-{_e(o.name)}">{_e(o.display)}</a>', _e(_ROLE_WORDS[o.role]),
                         _e(v or "no verdict")))
        parts.append("<h4>Other outcomes</h4>" + _table(["outcome", "role", "verdict"], rows))
    parts.append('<h4>Caveats</h4><ul class="caveats">' + "".join(f"<li>{c}</li>" for c in _caveats(ctx)) + "</ul>")
    parts.append("</section>")
    return "".join(parts)


def benefit_harm_sentence(protocol: Protocol, bh: Any) -> str:
    """The benefit–harm line in plain words (text, not HTML) from :func:`nof1.safety.benefit_harm`.

    Example:
        >>> benefit_harm_sentence(p, {"available": False, "reason": "bayes was not run"})  # doctest: +SKIP
        'No benefit–harm probability: bayes was not run.'
    """
    if bh is None:
        return "No benefit–harm probability."
    if isinstance(bh, str):
        return bh
    if not isinstance(bh, Mapping):
        return str(bh)
    if not bh.get("available", bh.get("probability") is not None):
        return f"No benefit–harm probability: {bh.get('reason', 'not available')}."
    prob = bh.get("probability")
    primary = protocol.outcome(bh["primary"]) if bh.get("primary") else protocol.primary
    contrast = str(bh.get("contrast") or "")
    t, _, c = contrast.partition("-")
    tl = _condition_label(protocol, t) if t else "the treatment"
    from nof1.safety import risk_words

    safety = [protocol.outcome(n) for n in bh.get("safety_outcomes", [])]
    mcid = f" by at least {primary.mcid:g}" if primary.mcid else ""
    risks = [f"{risk_words(o)} in {o.display}" for o in safety]
    harm = (" with no " + " and no ".join(r.removeprefix("a ").removeprefix("any ") for r in risks)
            if risks else "")
    pct = _pct(prob).replace("&lt;", "<").replace("&gt;", ">")
    return f"Probability that {tl} improves {primary.display}{mcid}{harm}: {pct}."


def _section_benefit_harm(ctx: _Context) -> str:
    bh = ctx.benefit_harm
    head = '<section id="benefit-harm"><h2>Benefit and harm</h2>'
    if hasattr(bh, "to_dict") and not isinstance(bh, Mapping | str):
        bh = bh.to_dict()
    parts = [head, f'<p class="bh-line"><strong>{_e(benefit_harm_sentence(ctx.protocol, bh))}</strong></p>']
    if isinstance(bh, Mapping) and bh.get("available", False):
        rows = []
        p = ctx.protocol
        if bh.get("prob_primary_benefit") is not None and bh.get("primary"):
            o = p.outcome(bh["primary"])
            rows.append((_e(o.display), "meaningful benefit", _pct(bh["prob_primary_benefit"])))
        for name, value in dict(bh.get("prob_no_harm") or {}).items():
            rows.append((_e(p.outcome(name).display), "no meaningful harm", _pct(value)))
        if rows:
            parts.append(_table(["outcome", "probability of", "probability"], rows, numeric=(2,),
                                table_id="benefit-harm-table"))
        if bh.get("method"):
            parts.append(f'<p class="note">How: {_e(bh["method"])}.</p>')
        for note in bh.get("notes") or []:
            parts.append(f'<p class="note">{_e(note)}</p>')
    elif bh is None:
        parts.append('<p class="note">Read the primary and safety outcomes together below.</p>')
    parts.append("</section>")
    return "".join(parts)


def _plain(value: Any) -> str:
    """A value as short readable text (floats rounded, mappings as k=v)."""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return "" if value is None else str(value)


def _better_cell(o: Outcome) -> str:
    """``lower``/``higher``; for a safety outcome also its risk ('higher (risk: a fall)')."""
    if o.role != "safety":
        return _e(o.better)
    from nof1.safety import direction_words

    return f"{_e(o.better)} (risk: a {_e(direction_words(o)[0])})"


def _section_protocol(ctx: _Context) -> str:
    p, td = ctx.protocol, ctx.trial_data
    from nof1.schedule import period_table

    d = p.design
    conds = _table(
        ["key", "condition", "role", "description", "blinded code"],
        [(_e(k), _e(c.label), _e(c.role), _e(c.description or ""), _e(p.blinded_codes.get(k, "") if p.is_blinded else ""))
         for k, c in p.conditions.items()],
    )
    r = d.randomization
    scheme = _e(p.scheme) + (f" (seed {r.seed})" if r is not None and r.seed is not None else "")
    design = _kv([
        ("design", f"N-of-1 trial, {p.n_periods} periods"
                   + (f" of {d.period_days} days" if d.period_days else "") + f", sequence {_e(' '.join(p.sequence))}"),
        ("randomisation", scheme + f"; {p.n_allocations} possible allocations"),
        ("run-in", f"{d.run_in_days} days"),
        ("washout", f"first {d.washout_days} day(s) of each period (analysis: carryover {_e(p.analysis.carryover)})"),
        ("blinding", _e(d.blinding) + (f"; key held by {_e(d.key_holder)}" if d.key_holder else "")),
        ("total", f"{p.total_days} days ({p.trial_days} trial days)"),
        ("decision rules", _e(_plain(p.analysis.decision.model_dump()))),
    ])
    outcomes = _table(
        ["outcome", "role", "type", "better", "MCID", "schedule", "range"],
        [(f"{_e(o.display)} <span class=\"mono\">({_e(o.name)})</span>", _e(_ROLE_WORDS[o.role]), _e(o.type),
          _better_cell(o), _num(o.mcid, 2) if o.mcid else "–", _e(o.schedule),
          _e(f"{o.range[0]:g}–{o.range[1]:g}") if o.range else "–") for o in p.ordered_outcomes],
    )
    table = period_table(p, td.start, unblind=True)
    rows = []
    for row in table.itertuples(index=False):
        first = "" if pd.isna(row.first_date) else pd.Timestamp(row.first_date).date().isoformat()
        last = "" if pd.isna(row.last_date) else pd.Timestamp(row.last_date).date().isoformat()
        rows.append((str(row.period) if row.period else "run-in", "" if pd.isna(row.pair) or not row.period else str(int(row.pair)),
                     _e(row.condition), _e(row.label), _e(first), _e(last), str(row.days), str(row.washout_days)))
    sched = _table(["period", "pair", "condition", "label", "first day", "last day", "days", "washout days"],
                   rows, numeric=(6, 7), table_id="schedule-table")
    return (f'<section id="protocol"><h2>Protocol</h2>'
            f"<p><strong>{_e(p.title)}</strong> (id <span class=\"mono\">{_e(p.id)}</span>, version {_e(p.version)})"
            + (f", by {_e(p.author)}" if p.author else "") + "</p>"
            f'<p>Fingerprint: <span class="mono fp" id="fingerprint">{_e(p.fingerprint)}</span>. '
            "The protocol was fixed before the trial; the fingerprint identifies it exactly.</p>"
            f"<h3>Conditions</h3>{conds}<h3>Design</h3>{design}<h3>Outcomes</h3>{outcomes}"
            f"<h3>Schedule of periods</h3>{sched}</section>")


def _section_trial(ctx: _Context) -> str:
    """CENT-style account of what happened: periods, washout, adherence, deviations, missing, defects."""
    p, td = ctx.protocol, ctx.trial_data
    data = td.data
    rep = td.report
    outcome_cols = [o.name for o in p.outcomes]
    rows = []
    for period, g in data.groupby("period", sort=True):
        first = g.iloc[0]
        logged = int(g[outcome_cols].notna().any(axis=1).sum())
        prim = int(g[p.primary.name].notna().sum())
        adh = g["adherence"].astype(float)
        adherence = _num(adh.mean() * 100, 0) + "%" if adh.notna().any() else "–"
        sched_c = g["condition"].astype(object)
        taken = g["condition_taken"].astype(object)
        off = int(sum(1 for s, t in zip(sched_c, taken, strict=True)
                      if not pd.isna(s) and not pd.isna(t) and s != t))
        cond = "run-in" if not period else f"{first['condition']}: {_condition_label(p, str(first['condition']))}"
        rows.append((str(period) if period else "run-in", _e(cond), str(len(g)), str(int(g["washout"].sum())),
                     str(logged), str(prim), adherence, str(off)))
    periods = _table(["period", "condition", "days", "washout", "days logged", f"{_e(p.primary.name)} observed",
                      "adherence", "other condition taken"], rows, numeric=(2, 3, 4, 5, 6, 7),
                     table_id="period-account")
    parts = ['<section id="trial"><h2>What happened (trial summary)</h2>',
             "<p>Reported along the CENT 2015 items for N-of-1 trials: periods and their lengths "
             "(including run-in and washout), what was taken in each period, adherence, deviations "
             "and missing data.</p>", periods]
    if rep is not None:
        kv = [("log", _e(rep.source or td.source or "(in memory)")),
              ("rows read / used / dropped", f"{rep.rows_read} / {rep.rows_used} / {rep.rows_dropped}"),
              ("trial days expected / logged / missing", f"{rep.days_expected} / {rep.days_logged} / {rep.days_missing}")]
        if rep.missing_by_condition:
            kv.append(("missing days by condition", _e(", ".join(
                f"{_condition_label(p, k)} {v}" + (f" of {rep.expected_by_condition[k]}" if k in rep.expected_by_condition else "")
                for k, v in rep.missing_by_condition.items()))))
        if rep.adherence:
            kv.append(("adherence", _adherence_words(p, rep.adherence)))
        if rep.unknown_columns:
            kv.append(("columns not in the protocol (ignored)", _e(", ".join(rep.unknown_columns))))
        parts.append(_kv(kv))
        if rep.deviations:
            rows = [(_e(dev.get("date")), _e(dev.get("line")),
                     _e(_condition_label(p, str(dev.get("scheduled")))), _e(_condition_label(p, str(dev.get("taken")))))
                    for dev in rep.deviations]
            parts.append("<h3>Deviations from the schedule</h3>" + _table(
                ["date", "log line", "scheduled", "taken"], rows, table_id="deviations-table")
                + '<p class="note">The analyses use what was actually taken.</p>')
        if rep.defects:
            parts.append("<h3>Problems found in the log</h3>" + _table(
                ["severity", "where", "problem"],
                [(_e(dft.severity), _e(str(dft).split(": ", 1)[0] if dft.line or dft.column else "log"), _e(dft.message))
                 for dft in rep.defects], table_id="defects-table"))
        else:
            parts.append('<p id="no-defects">No problems were found in the log.</p>')
        if rep.notes:
            parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in rep.notes) + "</ul>")
    parts.append("</section>")
    return "".join(parts)


def _adherence_words(p: Protocol, adherence: Mapping[str, Any]) -> str:
    """Adherence from the data report in words (escaped HTML)."""
    parts = []
    if adherence.get("days_recorded") is not None:
        parts.append(f"recorded on {_e(adherence['days_recorded'])} trial days")
    by = adherence.get("mean_by_condition")
    if isinstance(by, Mapping) and by:
        parts.append("mean " + ", ".join(f"{_e(_condition_label(p, str(k)))} {_num(float(v) * 100, 0)}%"
                                         for k, v in by.items() if v is not None))
    if adherence.get("days_below_1") is not None:
        dates = adherence.get("dates_below_1") or []
        shown = f" ({_e(', '.join(map(str, dates[:8])))}{', ...' if len(dates) > 8 else ''})" if dates else ""
        parts.append(f"{_e(adherence['days_below_1'])} day(s) below full{shown}")
    extra = {k: v for k, v in adherence.items()
             if k not in ("days_recorded", "mean_by_condition", "days_below_1", "dates_below_1", "mean")}
    if extra:
        parts.append(_e(_plain(extra)))
    return "; ".join(parts) if parts else _e(_plain(adherence))


def _method_rows(ctx: _Context, methods: Mapping[str, MethodResult]) -> tuple[list[list[str]], list[str]]:
    rows, classes = [], []
    for name, r in methods.items():
        if not r.available:
            rows.append([_e(name), "–", "–", "–", "–", "–", f"not available: {_e(r.reason)}"])
            classes.append("unavailable")
            continue
        x = r.extras
        detail = []
        for key, words in (("phi", "AR(1) φ"), ("pairs", "pairs"), ("n_allocations", "allocations"),
                           ("scale", "scale"), ("engine", "engine")):
            value = x.get(key)
            if key == "scale" and r.scale.kind != "model":
                continue  # outcome units need no mention; the index methods say so in their notes
            if isinstance(value, Mapping):
                value = value.get("median", value.get("estimate"))
            if value is not None:
                detail.append(f"{words} {_num(value, 2) if isinstance(value, float) else _e(value)}")
        tau = x.get("tau")
        if isinstance(tau, Mapping) and tau.get("median") is not None:
            detail.append(f"carryover τ {_num(tau['median'], 1)} days")
        elif x.get("tau_median") is not None:
            detail.append(f"carryover τ {_num(x['tau_median'], 1)} days")
        found = r.outcome_effect() if not r.scale.in_outcome_units else None
        if found is not None:
            detail.append(f"{_e(found.label)} {_num(found.estimate)} "
                          f"({_num(found.ci_low)} to {_num(found.ci_high)})")
        detail.extend(_e(n) for n in r.notes)
        rows.append([_e(name), _num(r.estimate), _interval(r), _p(r.p_value), _pct(x.get("prob_benefit")),
                     _pct(x.get("prob_meaningful_benefit")), "; ".join(detail)])
        classes.append("")
    return rows, classes


def _section_results(ctx: _Context) -> str:
    from nof1 import plot

    p, result, td = ctx.protocol, ctx.result, ctx.trial_data
    parts = ['<section id="results"><h2>Results by outcome</h2>',
             "<p>Effects are the mean under the treatment minus the mean under the control, in the "
             f"outcome's units; intervals are {_e(INTERVAL_KIND)}. P(benefit) is the posterior "
             "probability that the effect points in the better direction; P(meaningful) that it does "
             "so by more than the MCID.</p>"]
    for o in p.ordered_outcomes:
        if o.name not in result.results:
            continue
        role = {"primary": '<span class="badge primary">primary</span>',
                "secondary": '<span class="badge exploratory">secondary · exploratory</span>',
                "safety": '<span class="badge safety">safety</span>',
                "manipulation_check": '<span class="badge exploratory">manipulation check</span>',
                "covariate": '<span class="badge exploratory">covariate</span>'}[o.role]
        parts.append(f'<article id="outcome-{_e(o.name)}" class="outcome" data-role="{_e(o.role)}">'
                     f"<h3>{_e(o.display)}{role}</h3>")
        mcid = f"; MCID {o.mcid:g}" if o.mcid else ""
        if o.role == "safety":
            from nof1.safety import alert_words, risk_words

            rule = alert_words(o)
            mcid = f"; the risk is {_e(risk_words(o))}" + (f"; {_e(rule)}" if rule else "")
        parts.append(f'<p class="note">{_e(o.type)} outcome, {_e(o.schedule)}'
                     + ("" if o.role == "safety" else f", {_e(o.better)} is better") + f"{mcid}."
                     + (" Exploratory: read as a pointer, not a conclusion." if o.role == "secondary" else "")
                     + "</p>")
        for contrast, methods in result.results[o.name].items():
            t, c = _contrast_keys(contrast)
            if len(result.results[o.name]) > 1:
                parts.append(f"<h4>{_e(_condition_label(p, t))} vs {_e(_condition_label(p, c))}</h4>")
            cls, text = _verdict_sentence(ctx, o.name, contrast)
            parts.append(f'<div class="verdict {cls}">{text}</div>')
            rows, classes = _method_rows(ctx, methods)
            heads = ["P(benefit)", "P(meaningful)"]
            if o.role == "safety":
                from nof1.safety import direction_words

                up = direction_words(o)[1]
                heads = [f"P({up})", f"P({up} &gt; {o.mcid:g})" if o.mcid else "P(meaningful)"]
            parts.append(_table(["method", "estimate", "interval", "p", *heads, "details"],
                                rows, numeric=(1, 2, 3, 4, 5), row_classes=classes,
                                table_id=f"methods-{o.name}-{contrast}"))
            if ctx.figures and len(plot.forest_data(result, o.name, contrast=contrast)):
                parts.append(_figure(plot.forest(result, o.name, contrast=contrast),
                                     f"Estimates by method for {o.display}",
                                     "Each method's estimate (point) and interval (line). The grey band is "
                                     "±MCID: effects inside it are too small to matter. Methods that give an "
                                     "index or only a p-value are listed under the plot."))
            if ctx.figures:
                bayes = methods.get("bayes")
                if bayes is not None and bayes.available and bayes.fit is not None:
                    parts.append(_figure(plot.effect_posterior(bayes, o),
                                         f"Posterior of the effect on {o.display}",
                                         "How plausible each size of effect is after seeing the data. The "
                                         "probabilities of a meaningful benefit, a negligible difference and "
                                         "a meaningful harm are the areas beyond and within ±MCID."))
        if ctx.figures:
            if o.role == "safety":
                alerts = [a for a in (ctx.alerts or []) if a.get("outcome") in (None, o.name)]
                parts.append(_figure(plot.safety(td, o.name, alerts), f"{o.display} over time",
                                     "Daily values with the alert thresholds (dashed) and alert days (triangles)."))
            else:
                parts.append(_figure(plot.timeline(td, o.name, result=result), f"{o.display} over time",
                                     "Daily values; background colour shows the condition of each period, "
                                     "hatching the washout days (hollow points), ticks at the bottom the "
                                     "missing days. A line and band, when shown, are the Bayesian model's "
                                     "fitted mean with its carryover curve."))
            if o.role == "primary":
                parts.append(_figure(plot.period_means(td, o.name), f"Period means of {o.display}",
                                     "The mean of each period (washout days left out); lines join the "
                                     "periods of a pair. The same direction in every pair is the pattern "
                                     "of a consistent effect."))
        parts.append("</article>")
    parts.append("</section>")
    return "".join(parts)


def _section_sensitivity(ctx: _Context) -> str:
    head = '<section id="sensitivity"><h2>Sensitivity analyses</h2>'
    t = ctx.sensitivity
    if t is None:
        return head + ("<p class=\"note\">The washout sensitivity analysis was not run for this report. "
                       "Run it with <code>nof1.washout_sensitivity(trial_data)</code> and pass the table "
                       "to <code>render(..., sensitivity=table)</code>, or use "
                       "<code>nof1 analyze ... --report</code>, which includes it.</p>"
                       + _assumptions(ctx) + "</section>")
    t = pd.DataFrame(t)
    t = t[[c for c in t.columns if t[c].notna().any() and not (c == "available" and t[c].all())]]
    parts = [head, "<h3>Washout</h3><p>The same analysis with more or fewer days left out at the start "
             "of each period. If the estimate grows as more days are dropped, the effect takes time to "
             "appear or fade and short washouts dilute it.</p>"]
    cols = [c for c in t.columns if c not in ("fit",)]
    rows = [[_num(v) if isinstance(v, float | np.floating) else _e(_plain(v)) for v in row]
            for row in t[cols].itertuples(index=False)]
    numeric = [i for i, c in enumerate(cols) if pd.api.types.is_numeric_dtype(t[c])]
    parts.append(_table([_e(c) for c in cols], rows, numeric=numeric, table_id="washout-table"))
    if ctx.figures and len(t):
        from nof1 import plot

        mcid = ctx.protocol.primary.mcid
        if "outcome" in t.columns and len(t):
            name = str(t["outcome"].iloc[0])
            if name in {o.name for o in ctx.protocol.outcomes}:
                mcid = ctx.protocol.outcome(name).mcid
        parts.append(_figure(plot.washout_sensitivity(t, mcid=mcid), "Washout sensitivity",
                             "Estimates and intervals for each number of days left out."))
    parts.append(_assumptions(ctx))
    parts.append("</section>")
    return "".join(parts)


def _assumptions(ctx: _Context) -> str:
    from nof1.report_assumptions import assumptions_html

    return assumptions_html(ctx.result)


def _prior_words(prior: Any) -> str:
    if prior is None:
        return ""
    if isinstance(prior, str):
        return _e(prior)
    if isinstance(prior, Mapping):
        return _kv([(str(k), _e(_plain(v))) for k, v in prior.items()])
    return _e(_plain(prior))


def _section_methods(ctx: _Context) -> str:
    p, result = ctx.protocol, ctx.result
    used = list(dict.fromkeys(name for by_c in result.results.values() for m in by_c.values() for name in m))
    parts = ['<section id="methods"><h2>Methods and priors</h2>',
             f"<p>Intervals are {_e(INTERVAL_KIND)} at the protocol's level "
             f"({p.analysis.ci_level:.0%}). The time axis of every model is the calendar day, so missing "
             "days are gaps, not neighbours. Effects are treatment minus control.</p><dl class=\"kv\">"]
    for name in used:
        parts.append(f"<dt>{_e(name)}</dt><dd>{_e(METHOD_DESCRIPTIONS.get(name, _registered_description(name)))}</dd>")
    parts.append("</dl>")
    priors = []
    for by_c in result.results.values():
        for methods in by_c.values():
            for r in methods.values():
                if r.available and r.extras.get("prior") is not None:
                    priors.append((r.outcome, r.method, r.extras.get("prior"), r.extras.get("engine")))
    a = p.analysis
    prior_text = (f"Protocol prior: {_e(a.prior.kind.replace('_', ' '))} for the effect"
                  + (f" (mean {a.prior.effect_mean:g}" + (f", sd {a.prior.effect_sd:g}" if a.prior.effect_sd else "") + ")")
                  + f"; carryover time constant τ log-normal with median {a.tau_prior.median:g} day(s) and "
                  f"log-sd {a.tau_prior.sigma:g}.")
    parts.append(f"<h3>Priors</h3><p>{prior_text}</p>")
    seen: set[str] = set()
    for outcome, method, prior, engine in priors:
        key = f"{outcome}:{method}"
        if key in seen:
            continue
        seen.add(key)
        eng = f" (engine: {_e(engine)})" if engine else ""
        parts.append(f"<h4>{_e(method)} — {_e(outcome)}{eng}</h4>{_prior_words(prior)}")
    parts.append("</section>")
    return "".join(parts)


def _registered_description(name: str) -> str:
    from nof1.analysis.base import registered_methods

    spec = registered_methods().get(name)
    return spec.description if spec is not None and spec.description else "(no description)"


def _section_reproducibility(ctx: _Context) -> str:
    rep = ctx.result.reproducibility()
    versions = rep.get("versions", {})
    source = ctx.trial_data.source or (ctx.trial_data.report.source if ctx.trial_data.report else None)
    kv = [("seed", f'<span class="mono" id="seed">{_e(rep.get("seed"))}</span>'),
          ("protocol fingerprint", f'<span class="mono fp">{_e(rep.get("protocol_fingerprint"))}</span>'),
          ("data hash", f'<span class="mono fp" id="data-hash">{_e(rep.get("data_hash"))}</span>'),
          ("versions", _e(", ".join(f"{k} {v}" for k, v in versions.items() if v)))]
    cmd = f"nof1 analyze PROTOCOL {source or 'LOG'} --seed {rep.get('seed')}"
    return ('<section id="reproducibility"><h2>Reproducing these numbers</h2>'
            "<p>The same protocol (same fingerprint), the same data (same hash), the same seed and the "
            "same versions give the same numbers.</p>" + _kv(kv)
            + f"<p>Command: <code>{_e(cmd)}</code></p></section>")


# --------------------------------------------------------------------------- public API
def to_html(
    result: AnalysisResult,
    *,
    sensitivity: pd.DataFrame | None = None,
    alerts: Iterable[Any] | None = None,
    benefit_harm: Any = None,
    figures: bool = True,
) -> str:
    """The report as one self-contained HTML string.

    Args:
        result: the result of :func:`nof1.analyze` (it carries the protocol and the trial data).
        sensitivity: the table of :func:`nof1.washout_sensitivity` (optional; the section says
            how to produce it when missing).
        alerts: safety alerts (:func:`nof1.safety.safety_alerts`); default: those of the result's
            trial data. Pass ``[]`` to state that there are none.
        benefit_harm: the benefit–harm summary (:func:`nof1.safety.benefit_harm`); default:
            :meth:`AnalysisResult.benefit_harm`.
        figures: embed the figures (SVG); False gives a text-only report (faster).

    Example:
        >>> page = to_html(res)                   # doctest: +SKIP
        >>> page.startswith("<!DOCTYPE html>")    # doctest: +SKIP
        True
    """
    td = result.trial_data
    alert_list = normalise_alerts(result.safety_alerts() if alerts is None else alerts)
    bh = result.benefit_harm() if benefit_harm is None else benefit_harm
    ctx = _Context(result=result, trial_data=td, protocol=result.protocol, alerts=alert_list,
                   benefit_harm=bh, sensitivity=sensitivity, figures=figures)
    p = ctx.protocol
    present = {sid for sid in OPTIONAL_SECTION_IDS if section_html(result, sid)}
    toc = " ".join(f'<a href="#{sid}">{sid.replace("-", " ")}</a>' for sid in SECTION_IDS
                   if sid not in OPTIONAL_SECTION_IDS or sid in present)
    body = [
        '<header class="top"><div class="kind">Report of an N-of-1 trial</div>'
        f"<h1>{_e(p.title)}</h1>"
        f'<div class="muted">protocol {_e(p.id)} v{_e(p.version)} · analysed with nof1 {_e(__version__)} · '
        f"seed {_e(result.seed)}</div></header>",
        f'<nav class="toc">{toc}</nav>',
        _section_alerts(ctx),
        _section_summary(ctx),
        _section_benefit_harm(ctx),
        _section_protocol(ctx),
        _section_trial(ctx),
        section_html(result, "manipulation-check"),
        _section_results(ctx),
        section_html(result, "covariates"),
        section_html(result, "adherence"),
        section_html(result, "blinding"),
        _section_sensitivity(ctx),
        _section_methods(ctx),
        _section_reproducibility(ctx),
        "<footer>Generated by nof1, a toolkit for N-of-1 self-experiments. This report describes one "
        "person's trial; it is not medical advice. Discuss changes to treatment with your clinician."
        "</footer>",
    ]
    template = string.Template(resources.files("nof1").joinpath("templates/report.html").read_text("utf-8"))
    return template.substitute(title=_e(f"N-of-1 trial report: {p.title}"), version=_e(__version__),
                               body="\n".join(body))


def render(
    result: AnalysisResult,
    path: str | Path,
    *,
    sensitivity: pd.DataFrame | None = None,
    alerts: Iterable[Any] | None = None,
    benefit_harm: Any = None,
    figures: bool = True,
    overwrite: bool = False,
    inputs: Iterable[Any] = (),
) -> Path:
    """Write the HTML report (see :func:`to_html`) to ``path`` and return the path.

    Never overwrites an existing file unless ``overwrite=True``, and never the trial's log or any
    of ``inputs`` (raises :class:`~nof1.errors.OutputError`); the write is atomic
    (:func:`nof1.outputs.write_atomic`).

    Example:
        >>> render(res, "report.html", sensitivity=nof1.washout_sensitivity(td))   # doctest: +SKIP
        PosixPath('report.html')
    """
    from nof1.outputs import check_output, write_atomic

    protected = (*inputs, result.trial_data.source)
    path = check_output(path, inputs=protected, force=overwrite)
    page = to_html(result, sensitivity=sensitivity, alerts=alerts, benefit_harm=benefit_harm, figures=figures)
    return write_atomic(path, page, inputs=protected, force=overwrite)
