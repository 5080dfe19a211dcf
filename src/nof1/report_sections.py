"""HTML of the manipulation-check, covariate, adherence and blinding sections of the report.

The words and numbers come from :mod:`nof1.analysis.sections` (the same lines as the terminal);
this module only lays them out.

Example:
    >>> html = section_html(res, "blinding")          # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nof1.analysis.core import AnalysisResult

__all__ = ["SECTION_TITLES", "section_html"]

#: Section id in the report -> (key in ``AnalysisResult.extras``, heading).
SECTION_TITLES = {
    "manipulation-check": ("manipulation_checks", "Manipulation check"),
    "covariates": ("covariates", "Covariates"),
    "adherence": ("adherence", "Adherence: as randomised and as treated"),
    "blinding": ("blinding", "Blinding check"),
}


def section_html(result: AnalysisResult, section_id: str) -> str:
    """One section as HTML ("" when the analysis has no such section)."""
    from nof1.analysis.sections import section_lines

    key, title = SECTION_TITLES[section_id]
    lines = section_lines(result, key)
    if not lines:
        return ""
    e = html.escape
    sec = result.extras[key]
    parts = [f'<section id="{section_id}"><h2>{e(title)}</h2>', f"<p>{e(lines[0])}</p>"]
    details = [ln.strip() for ln in lines[1:]]
    sentences: list[str] = []
    if key == "manipulation_checks":
        sentences = details
        details = []
    elif key == "covariates":
        sentences = list(sec["sentences"])
    elif key in ("adherence", "blinding"):
        sentences = [sec["sentence"]]
    details = [d for d in details if d not in sentences]
    if key == "blinding":
        t, c = sec["table"]["columns"]
        label = {k: v.label for k, v in result.protocol.conditions.items()}
        rows = "".join(
            f"<tr><td>{e(name)}</td><td class=\"num\">{r[0]}</td><td class=\"num\">{r[1]}</td></tr>"
            for name, r in zip((f"guessed {label[t]}", f"guessed {label[c]}", "don't know"),
                               sec["table"]["counts"], strict=True))
        parts.append(f'<div class="table-wrap"><table id="blinding-table"><thead><tr><th>guess</th><th>on {e(label[t])}</th>'
                     f"<th>on {e(label[c])}</th></tr></thead><tbody>{rows}</tbody></table></div>")
        details = [d for d in details if not d.startswith(("guessed", "don't know"))]
    if details:
        parts.append("<ul>" + "".join(f"<li>{e(d)}</li>" for d in details) + "</ul>")
    parts.extend(f'<p class="verdict-line">{e(s)}</p>' for s in sentences)
    parts.append("</section>")
    return "".join(parts)
