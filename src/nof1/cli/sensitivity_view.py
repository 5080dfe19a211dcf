"""Terminal view of the prior and onset sensitivity of a Bayesian result (used by ``nof1 analyze``).

Example:
    >>> from rich.console import Console
    >>> print_assumptions(result, "severity", "B-A", Console())     # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nof1.formatting import fmt_number, fmt_prob

if TYPE_CHECKING:
    from rich.console import Console

    from nof1.analysis.core import AnalysisResult


def print_assumptions(result: AnalysisResult, outcome: str, contrast: str, out: Console) -> None:
    """Prior sensitivity (and, for the primary, onset sensitivity) under the outcome's table."""
    r = result.results.get(outcome, {}).get(contrast, {}).get("bayes")
    o = result.protocol.outcome(outcome)
    if r is None or not r.available or o.type != "continuous" or not r.scale.in_outcome_units:
        return
    ps = result.prior_sensitivity(outcome, contrast)
    if ps.available:
        out.print("prior sensitivity (exact engine):", markup=False, style="dim")
        for row in ps.rows:
            mark = "*" if row["used"] else " "
            out.print(f" {mark}{row['prior']:<10} N({row['mean']:g}, {row['sd']:g})  "
                      f"{fmt_number(row['estimate'])} ({fmt_number(row['ci_low'])} to {fmt_number(row['ci_high'])})  "
                      f"P(>MCID) {fmt_prob(row['prob_meaningful_benefit'])}  {row['verdict']}",
                      markup=False, style="dim")
        out.print(f"  {ps.sentence} (* = the analysis' prior)", markup=False,
                  style="bold yellow" if ps.depends_on_prior else "dim")
    else:
        out.print(f"prior sensitivity: not available ({ps.reason})", markup=False, style="dim")
    if o.role != "primary":
        return
    osens = result.onset_sensitivity(outcome, contrast)
    if osens.available:
        cells = ", ".join(f"{'est.' if row['tau'] == 'estimated' else 'tau ' + format(row['tau'], 'g')}: "
                          f"{fmt_number(row['estimate'])}" for row in osens.rows)
        out.print(f"onset sensitivity: {cells}", markup=False, style="dim")
        out.print(f"  {osens.sentence}", markup=False, style="bold yellow" if osens.disagree else "dim")
