"""``nof1 analyze PROTOCOL LOG``: every analysis of a trial, as a terminal summary, JSON or report.

The command reads the protocol and the log, calls :func:`nof1.analyze` (with a progress display
on stderr), and prints. It computes nothing itself: numbers come from the analysis, safety alerts
from :mod:`nof1.safety`, the washout sensitivity from :func:`nof1.washout_sensitivity`.

Example (shell)::

    nof1 analyze protocols/beetroot-juice-rls.yaml data/sample/beetroot_log.csv
    nof1 analyze protocol.yaml log.csv --outcome severity --methods bayes,gls_ar1 --seed 7 --json
    nof1 analyze protocol.yaml log.csv --report my-trial.html
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from nof1.cli.app import (
    app,
    check_output_path,
    command_inputs,
    console,
    err_console,
    handles_errors,
    write_stdout,
)
from nof1.errors import Nof1Error
from nof1.formatting import fmt_number, fmt_p, fmt_prob

if TYPE_CHECKING:
    from nof1.analysis.base import MethodResult
    from nof1.analysis.core import AnalysisResult
    from nof1.data import TrialData

ENGINES = ("exact", "pymc")
DUPLICATE_POLICIES = ("first", "last", "mean")


# --------------------------------------------------------------------------- helpers shared with demo
def split_names(values: Sequence[str] | None) -> list[str] | None:
    """Names from a repeatable, comma-separated option (``--outcome a --outcome b,c``).

    Example:
        >>> split_names(["severity", "irls,sleep_hours"])
        ['severity', 'irls', 'sleep_hours']
        >>> split_names(None) is None
        True
    """
    if not values:
        return None
    out: list[str] = []
    for v in values:
        out.extend(part.strip() for part in str(v).split(",") if part.strip())
    return list(dict.fromkeys(out)) or None


def _method_row(r: MethodResult) -> tuple[list[str], str]:
    """Cells of one method's row and its note (printed under the table)."""
    if not r.available:
        return [r.method, "–", "–", "–", "–", "–"], f"not available: {r.reason}"
    x = r.extras
    interval = "–" if r.ci_low is None or r.ci_high is None else f"{fmt_number(r.ci_low)} to {fmt_number(r.ci_high)}"
    detail = []
    scale = r.scale
    if scale.kind == "index":
        detail.append(f"index: {scale.meaning}")
    elif scale.kind == "model":
        found = r.outcome_effect()
        detail.append(f"on the {scale.name} scale")
        if found is not None:
            detail.append(f"{found.label} {fmt_number(found.estimate)} "
                          f"({fmt_number(found.ci_low)} to {fmt_number(found.ci_high)})")
    if x.get("pairs") is not None:
        detail.append(f"{x['pairs']} pairs")
    if x.get("min_p_value") is not None:
        detail.append(f"smallest possible p {fmt_p(float(x['min_p_value']))}")
    tau = x.get("tau")
    if isinstance(tau, Mapping) and tau.get("median") is not None:
        detail.append(f"carryover tau {fmt_number(tau['median'], 1)} d")
    if r.method == "welch_naive":
        detail.append("ignores autocorrelation (comparison only)")
    return ([r.method, fmt_number(r.estimate), interval, fmt_p(r.p_value), fmt_prob(x.get("prob_benefit")),
             fmt_prob(x.get("prob_meaningful_benefit"))], "; ".join(detail))


def print_alerts(alerts: Iterable[Mapping[str, Any]], out: Console) -> None:
    """Safety alerts first, in red, one line each (or a line saying there are none).

    Example:
        >>> from rich.console import Console
        >>> print_alerts([], Console(highlight=False))
        safety alerts: none
    """
    alerts = list(alerts)
    if not alerts:
        out.print("safety alerts: none", markup=False, style="green")
        return
    out.print(f"SAFETY ALERTS ({len(alerts)}): review before acting on the result", markup=False,
              style="bold red")
    for a in alerts:
        when = a.get("date") or (f"day {a['day']}" if a.get("day") is not None else "")
        out.print(f"  {when}: {a.get('message', '')}", markup=False, style="red")


def print_result(result: AnalysisResult, out: Console, *, alerts: list[dict[str, Any]] | None = None,
                 benefit_harm: Any = None, show_data: bool = True) -> None:
    """The terminal summary: alerts, data report, a table of methods and the verdict per outcome.

    Example:
        >>> print_result(nof1.analyze(td, seed=1), Console())    # doctest: +SKIP
    """
    from rich import box
    from rich.table import Table

    p = result.protocol
    print_alerts(alerts, out)
    out.print(f"\n{p.title}  (protocol {p.id}, {p.fingerprint})", markup=False, style="bold")
    rep = result.trial_data.report
    if show_data and rep is not None:
        out.print(rep.text(), markup=False)
    from nof1.analysis.sections import section_lines

    for line in ["", *section_lines(result, "manipulation_checks")][:None if
                 "manipulation_checks" in result.extras else 0]:
        out.print(line, markup=False, style="bold" if line and not line.startswith(" ") else None)
    for o in p.ordered_outcomes:
        if o.name not in result.results:
            continue
        role = {"primary": "primary", "secondary": "secondary, exploratory", "safety": "safety",
                "manipulation_check": "manipulation check", "covariate": "covariate"}[o.role]
        mcid = f", MCID {o.mcid:g}" if o.mcid else ""
        if o.role == "safety":
            from nof1.safety import alert_words, direction_words, risk_words

            # a safety outcome reads from its risk: "the risk is a fall of more than 10 mmHg"
            direction = "; ".join(x for x in (f"the risk is {risk_words(o)}", alert_words(o)) if x)
            _, up = direction_words(o)
            probs = (f"P({up})", f"P({up}>{o.mcid:g})" if o.mcid else "P(>MCID)")
        else:
            direction = f"{o.better} is better{mcid}"
            probs = ("P(better)", "P(>MCID)")
        for contrast, methods in result.results[o.name].items():
            t, _, c = contrast.partition("-")
            out.print()
            out.print(f"{o.display} [{role}]: {p.conditions[t].label} minus {p.conditions[c].label} "
                      f"({direction})", markup=False, style="bold")
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1))
            for col, justify in (("method", "left"), ("estimate", "right"), ("interval", "right"),
                                 ("p", "right"), (probs[0], "right"), (probs[1], "right")):
                table.add_column(col, justify=justify, no_wrap=True)
            notes = []
            for r in methods.values():
                cells, note = _method_row(r)
                table.add_row(*cells, style=None if r.available else "dim")
                if note:
                    notes.append(f"  {r.method}: {note}")
            out.print(table)
            for line in notes:
                out.print(line, markup=False, style="dim")
            v = result.verdicts.get(o.name, {}).get(contrast)
            style = {"likely meaningful benefit": "bold green", "possible harm": "bold red"}.get(v or "", "bold")
            if v is None:
                bayes = methods.get("bayes")
                v = ("none (the Bayesian method was not run for this outcome)" if bayes is None else
                     f"none (the Bayesian method could not run: {bayes.reason})" if not bayes.available else
                     "none (the decision rules need an MCID for this outcome)")
            out.print(f"verdict: {v}", markup=False, style=style)
            bayes = methods.get("bayes")
            if o.role == "safety" and bayes is not None and bayes.available:
                from nof1.safety import risk_probability_words

                risk = risk_probability_words(o, dict(bayes.extras))
                if risk:
                    out.print(f"risk: {risk}", markup=False, style="bold")
            from nof1.cli.sensitivity_view import print_assumptions

            print_assumptions(result, o.name, contrast, out)
    for which in ("covariates", "adherence", "blinding"):
        lines = section_lines(result, which)
        if lines:
            out.print()
            out.print(lines[0], markup=False, style="bold")
            for line in lines[1:]:
                out.print(line, markup=False)
    if benefit_harm is not None:
        from nof1.report import benefit_harm_sentence

        out.print(f"\nbenefit–harm: {benefit_harm_sentence(p, benefit_harm)}", markup=False)


def fit_with_progress(trial_data: TrialData, *, quiet: bool = False, **kwargs: Any) -> AnalysisResult:
    """``nof1.analyze`` with a spinner on stderr naming each fit as it starts.

    Example:
        >>> result = fit_with_progress(td, outcomes=["severity"], seed=1)   # doctest: +SKIP
    """
    from nof1.analysis import analyze

    if quiet:
        return analyze(trial_data, **kwargs)
    count = {"n": 0}
    with err_console.status("analysing ...", spinner="dots") as status:
        def progress(message: str) -> None:
            count["n"] += 1
            status.update(f"fit {count['n']}: {message}")

        result = analyze(trial_data, progress=progress, **kwargs)
    err_console.print(f"{count['n']} fits done", markup=False, style="dim")
    return result


def washout_table(trial_data: TrialData, outcome: str | None = None) -> Any:
    """The washout sensitivity table of ``outcome`` at the protocol's washout lengths.

    Example:
        >>> washout_table(td, "severity")[["washout_days", "method", "estimate"]]   # doctest: +SKIP
    """
    from nof1.analysis.sensitivity import washout_sensitivity

    return washout_sensitivity(trial_data, outcome, days=None)


# --------------------------------------------------------------------------- command
def _check_choice(value: str | None, choices: Sequence[str], option: str) -> None:
    if value is not None and value not in choices:
        raise typer.BadParameter(f"{option} must be one of {', '.join(choices)} (got '{value}')")


@app.command()
@handles_errors
def analyze(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (.yaml or .json).")],
    log: Annotated[Path, typer.Argument(help="Log file (CSV/TSV/XLSX).")],
    outcome: Annotated[list[str] | None, typer.Option(
        "--outcome", help="Outcome(s) to analyse; repeat or comma-separate (default: all).")] = None,
    methods: Annotated[str | None, typer.Option(
        help="Comma-separated methods, e.g. bayes,gls_ar1 (default: the protocol's or all that apply).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of every random step (same seed, same numbers).")] = None,
    engine: Annotated[str | None, typer.Option(help="Bayesian engine: exact or pymc.")] = None,
    duplicates: Annotated[str | None, typer.Option(
        help="Resolve a day logged twice with different values: first, last or mean.")] = None,
    start: Annotated[str | None, typer.Option(help="Trial start date (YYYY-MM-DD) if not in the protocol.")] = None,
    date_format: Annotated[str | None, typer.Option(help="strftime format for ambiguous dates, e.g. %d/%m/%Y.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")] = False,
    report: Annotated[Path | None, typer.Option(help="Also write the HTML report to this file.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing report file.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress display on stderr.")] = False,
) -> None:
    """Analyse a trial: every applicable method on every outcome, with a verdict."""
    _check_choice(engine, ENGINES, "--engine")
    _check_choice(duplicates, DUPLICATE_POLICIES, "--duplicates")
    check_output_path(report, force=force)
    from nof1.data import read_log
    from nof1.protocol import load_protocol

    p = load_protocol(protocol)
    td = read_log(log, p, start=start, duplicates=duplicates, date_format=date_format)
    if td.report is not None and not td.report.usable:
        err_console.print(td.report.text(), markup=False)
        raise Nof1Error(f"{log}: the log cannot be analysed until the errors above are fixed")
    _check_primary_logged(td, log, split_names(outcome))
    options: dict[str, Any] = {}
    if engine is not None:
        options["engine"] = engine
    result = fit_with_progress(
        td, quiet=quiet, outcomes=split_names(outcome), methods=split_names([methods] if methods else None),
        seed=seed, **options,
    )
    alerts = result.safety_alerts()
    if as_json:
        write_stdout(json.dumps(result.to_dict(), indent=2))
    else:
        print_result(result, console, alerts=alerts, benefit_harm=result.benefit_harm())
    nothing = nothing_available(result)
    if nothing is not None:
        raise Nof1Error(nothing)
    if report is not None:
        _write_report(result, report, alerts=alerts, force=force, quiet=quiet)


def _check_primary_logged(td: TrialData, log: Path, outcomes: list[str] | None) -> None:
    """A log without a single value of the primary outcome cannot answer the trial's question."""
    import difflib

    o = td.protocol.primary
    if outcomes is not None and o.name not in outcomes:
        return
    if o.name in td.data.columns and td.data[o.name].notna().any():
        return
    extra = [str(c) for c in (td.report.unknown_columns if td.report is not None else [])]
    close = difflib.get_close_matches(o.name, extra, n=1, cutoff=0.6)
    hint = (f"; the log has a column '{close[0]}': rename it to '{o.name}'" if close else
            f"; the log's columns that are not outcomes: {', '.join(extra)}" if extra else "")
    raise Nof1Error(f"{log}: no value of the primary outcome '{o.name}' ({o.display}), so the trial's "
                    f"question cannot be answered; add a column named '{o.name}'{hint} "
                    "(or analyse other outcomes with --outcome)")


def nothing_available(result: AnalysisResult) -> str | None:
    """Why no method could analyse the primary outcome (or, when the primary was not asked for,
    any of the outcomes asked for), else None.

    Example:
        >>> nothing_available(nof1.analyze(constant_td))          # doctest: +SKIP
        "no method could analyse the primary outcome 'severity' (every value under ... is 5: ...)"
    """
    primary = result.protocol.primary.name
    names = [primary] if primary in result.results else list(result.results)
    found = [r for n in names for by in result.results[n].values() for r in by.values()]
    if not found or any(r.available for r in found):
        return None
    reasons = list(dict.fromkeys(r.reason or "no reason given" for r in found))
    why = reasons[0] if len(reasons) == 1 else "; ".join(
        f"{r.method}: {r.reason}" for r in {r.reason: r for r in found}.values())
    what = f"the primary outcome '{primary}'" if names == [primary] else \
        "the outcome" + ("s " if len(names) > 1 else " ") + ", ".join(f"'{n}'" for n in names)
    return f"no method could analyse {what} ({why})"


def _write_report(result: AnalysisResult, path: Path, *, alerts: list[dict[str, Any]] | None,
                  force: bool, quiet: bool) -> Path:
    from nof1.report import render

    primary = result.protocol.primary.name
    sensitivity = washout_table(result.trial_data, primary) if primary in result.results else None
    written = render(result, path, sensitivity=sensitivity, alerts=alerts, overwrite=force,
                     inputs=command_inputs())
    if not quiet:
        err_console.print(f"wrote report {written}", markup=False)
    return written
