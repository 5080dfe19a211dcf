"""HTML of the prior and onset sensitivity analyses (a part of the report's sensitivity section).

Example:
    >>> html = assumptions_html(result)      # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nof1.analysis.core import AnalysisResult


def _n(v: Any, digits: int = 2) -> str:
    return "–" if v is None else f"{float(v):.{digits}f}"


def _pct(v: Any) -> str:
    if v is None:
        return "–"
    v = float(v)
    return "<1%" if 0 < v < 0.01 else (">99%" if 0.99 < v < 1 else f"{v:.0%}")


def _table(table_id: str, head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return (f'<div class="table-wrap"><table id="{table_id}"><thead><tr>{th}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def assumptions_html(result: AnalysisResult) -> str:
    """Prior sensitivity of every continuous Bayesian result, onset sensitivity of the primary."""
    parts: list[str] = []
    prior_parts: list[str] = []
    for outcome, by_contrast in result.results.items():
        o = result.protocol.outcome(outcome)
        for contrast, methods in by_contrast.items():
            r = methods.get("bayes")
            if r is None or not r.available or o.type != "continuous" or not r.scale.in_outcome_units:
                continue
            ps = result.prior_sensitivity(outcome, contrast)
            if not ps.available:
                continue
            rows = [[html.escape(row["prior"] + (" (used)" if row["used"] else "")),
                     f"Normal({row['mean']:g}, {row['sd']:g})", _n(row["estimate"]),
                     f"{_n(row['ci_low'])} to {_n(row['ci_high'])}", _pct(row["prob_meaningful_benefit"]),
                     html.escape(str(row["verdict"]))] for row in ps.rows]
            tid = f"prior-sensitivity-{outcome}-{contrast}"
            prior_parts.append(f"<h4>{html.escape(o.display)} ({html.escape(contrast)})</h4>"
                               + _table(tid, ["prior", "effect prior", "estimate", "interval",
                                              "P(meaningful benefit)", "verdict"], rows)
                               + f'<p class="{"note" if ps.depends_on_prior else "muted"}">'
                               f"{html.escape(ps.sentence)}</p>")
            ev = [row for row in ps.rows if row["prior"] == "evidence"]
            if ev:
                prior_parts.append(f'<p class="muted">Evidence prior: {html.escape(str(ev[0]["about"]))}</p>')
            if o.role == "primary":
                osens = result.onset_sensitivity(outcome, contrast)
                if osens.available:
                    orows = [[html.escape(str(row["analysis"])), _n(row["tau_median"], 1), _n(row["estimate"]),
                              f"{_n(row['ci_low'])} to {_n(row['ci_high'])}",
                              _pct(row["prob_meaningful_benefit"]), html.escape(str(row["verdict"]))]
                             for row in osens.rows]
                    parts.append("<h3>Onset time</h3><p>The carryover time constant τ is hard to learn from a "
                                 "few long periods, so the estimate may lean on its prior. The primary "
                                 "estimate with τ fixed at several values, next to the main analysis:</p>"
                                 + _table(f"onset-sensitivity-{contrast}",
                                          ["analysis", "τ (days)", "estimate", "interval",
                                           "P(meaningful benefit)", "verdict"], orows)
                                 + f'<p class="{"note" if osens.disagree else "muted"}">'
                                 f"{html.escape(osens.sentence)}</p>")
    if prior_parts:
        parts.insert(0, "<h3>Prior</h3><p>The same model and data under a sceptical prior (effect "
                        "Normal(0, MCID)), the default weakly informative prior (Normal(0, range/4)) and, "
                        "where the protocol cites published evidence, the evidence prior.</p>"
                     + "".join(prior_parts))
    return "".join(parts)
