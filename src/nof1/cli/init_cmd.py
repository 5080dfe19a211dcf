"""``nof1 init FILE``: write a new protocol from a short series of questions (or from flags).

Every answer can be given as a flag; the command asks only for what is missing (``--no-input``
asks nothing and uses the defaults, which needs at least ``--intervention`` and ``--control``).
The protocol is validated before it is written, and an existing file is never overwritten
without ``--force``.

Example (shell)::

    nof1 init my-trial.yaml
    nof1 init my-trial.yaml --intervention "No mouthwash" --control "Usual mouthwash" \
        --period-days 28 --pairs 2 --outcomes severity,sleep_hours,gum_bleeding --no-input
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from nof1.cli.app import app, err_console, handles_errors, write_output
from nof1.errors import Nof1Error

BLINDING = ("none", "single", "double")


def _ask(question: str, default: Any = None, parse: Callable[[str], Any] = str, tries: int = 5) -> Any:
    """Ask on stderr, read one line; blank = the default; a bad answer is explained and asked again."""
    shown = f" [{default}]" if default not in (None, "") else ""
    for _ in range(tries):
        err_console.print(f"{question}{shown}: ", markup=False, end="")
        line = sys.stdin.readline()
        if not line:
            raise Nof1Error(f"no answer to '{question}' (input closed); give every answer as a flag "
                            "(see nof1 init --help) or add --no-input to use the defaults")
        text = line.strip()
        if not text and default is not None:
            return default
        try:
            return parse(text)
        except (ValueError, Nof1Error) as err:
            err_console.print(f"  {err}", markup=False)
    raise Nof1Error(f"no usable answer to '{question}' after {tries} tries")


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"'{text}' is not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"expected a whole number from {low} to {high}, got {value}")
        return value

    return parse


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.lower() not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got '{text}'")
        return text.lower()

    return parse


def _nonempty(text: str) -> str:
    if not text:
        raise ValueError("please type a short name, e.g. 'Beetroot juice'")
    return text


def _outcome_list(text: str) -> str:
    from nof1.starter import check_outcomes

    check_outcomes(text.split(","))
    return text


def _date(text: str) -> str:
    import datetime as dt

    if not text:
        return ""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a date in the form YYYY-MM-DD (e.g. 2027-03-01)") from None
    return text


@app.command()
@handles_errors
def init(
    output: Annotated[str, typer.Argument(help="Protocol file to write (.yaml); '-' prints it.")],
    intervention: Annotated[str | None, typer.Option(help="What you try, e.g. 'Beetroot juice'.")] = None,
    control: Annotated[str | None, typer.Option(
        help="What you compare it with, e.g. 'Placebo juice' or 'Usual routine'.")] = None,
    period_days: Annotated[int | None, typer.Option(min=1, max=366, help="Days in each period.")] = None,
    pairs: Annotated[int | None, typer.Option(min=1, max=64, help="Pairs of periods (each AB or BA at random).")] = None,
    outcomes: Annotated[str | None, typer.Option(
        help="Comma-separated outcomes from the list in --help-outcomes; the first is the primary.")] = None,
    washout_days: Annotated[int | None, typer.Option(
        min=0, help="First days of each period treated as washout (default: a quarter of the period).")] = None,
    run_in_days: Annotated[int | None, typer.Option(min=0, max=366, help="Baseline days before period 1.")] = None,
    blinding: Annotated[str | None, typer.Option(help="none, single or double.")] = None,
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD); can be set later.")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Randomisation seed (default: today as YYYYMMDD).")] = None,
    title: Annotated[str | None, typer.Option(help="Title (default: 'INTERVENTION against CONTROL').")] = None,
    no_input: Annotated[bool, typer.Option("--no-input", help="Ask nothing; use the defaults.")] = False,
    help_outcomes: Annotated[bool, typer.Option("--help-outcomes", help="List the common outcomes and exit.")] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a new protocol from a few questions (or flags), validated, ready for nof1 schedule."""
    from nof1.protocol import protocol_from_dict
    from nof1.starter import default_washout, new_protocol, outcome_choices, protocol_yaml

    if help_outcomes:
        for line in outcome_choices():
            print(line)
        return
    if output != "-" and Path(output).exists() and not force:
        raise Nof1Error(f"{output} already exists; choose another name or pass --force to overwrite")
    if blinding is not None and blinding not in BLINDING:
        raise typer.BadParameter(f"--blinding must be none, single or double (got '{blinding}')")
    ask = not no_input
    if intervention is None:
        if not ask:
            raise Nof1Error("--no-input needs --intervention (what you try) and --control")
        intervention = _ask("What do you want to try (the intervention)?", None, _nonempty)
    if control is None:
        if not ask:
            raise Nof1Error("--no-input needs --control (what you compare the intervention with)")
        control = _ask("What do you compare it with (the control, e.g. a placebo or your usual routine)?",
                       None, _nonempty)
    if period_days is None:
        period_days = _ask("How many days in each period?", 14, _whole(1, 366)) if ask else 14
    if pairs is None:
        pairs = _ask("How many pairs of periods (each pair is one period of each, in random order)?", 4,
                     _whole(1, 64)) if ask else 4
    if outcomes is None:
        if ask:
            err_console.print("Common outcomes (the first you name is the primary, the question of the trial):",
                              markup=False)
            for line in outcome_choices():
                err_console.print(f"  {line}", markup=False)
        outcomes = _ask("Outcomes, comma-separated", "severity,sleep_hours", _outcome_list) if ask else "severity"
    if washout_days is None:
        suggested = default_washout(period_days)
        washout_days = _ask("Washout days at the start of each period (logged as usual; the classical analyses leave them out)",
                            suggested, _whole(0, max(period_days - 1, 0))) if ask else suggested
    if run_in_days is None:
        run_in_days = _ask("Run-in days (your usual routine, logged, before period 1)", 14,
                           _whole(0, 366)) if ask else 14
    if blinding is None:
        blinding = _ask("Blinding (none, single: you do not know, double: nor does whoever rates)", "none",
                        _choice(BLINDING)) if ask else "none"
    if start is None and ask:
        start = _ask("First day (YYYY-MM-DD; blank to decide later)", "", _date) or None
    data = new_protocol(intervention=intervention, control=control, period_days=period_days, pairs=pairs,
                        outcomes=[x for x in outcomes.split(",")], washout_days=washout_days,
                        run_in_days=run_in_days, blinding=blinding, start_date=start, seed=seed, title=title)
    p = protocol_from_dict(data, source=output)      # validated before anything is written
    write_output(protocol_yaml(data), output, force=force)
    if output == "-":
        return
    err_console.print(f"{p.title}: {p.n_periods} periods of {p.design.period_days} days "
                      f"({p.total_days} days with the run-in), {p.n_allocations} possible allocations; "
                      f"fingerprint {p.fingerprint}", markup=False)
    if p.design.start_date is None:
        err_console.print("no start date yet: add design.start_date to the file or give --start to "
                          "nof1 schedule / nof1 template", markup=False)
    err_console.print("next: edit the descriptions in the file, then", markup=False)
    for cmd in (f"nof1 validate {output}", f"nof1 schedule {output}",
                f"nof1 simulate {output} -o practice-log.csv", f"nof1 analyze {output} practice-log.csv"):
        err_console.print(f"  {cmd}", markup=False)
