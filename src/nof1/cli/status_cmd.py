"""``nof1 status PROTOCOL LOG``: where an unfinished trial stands and whether to keep going.

The command reads the protocol and the log so far, calls :func:`nof1.interim` and prints. It
computes nothing itself.

Example (shell)::

    nof1 status protocols/beetroot-juice-rls.yaml my_log.csv
    nof1 status protocols/beetroot-juice-rls.yaml my_log.csv --day 42 --json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nof1.cli.app import app, console, err_console, handles_errors
from nof1.constants import DEFAULT_SEED
from nof1.errors import Nof1Error


@app.command()
@handles_errors
def status(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (.yaml or .json).")],
    log: Annotated[Path, typer.Argument(help="Log so far (CSV/TSV/XLSX); it may end today.")],
    day: Annotated[int | None, typer.Option(
        help="Analyse the trial as it stood at the end of this calendar day (run-in included).")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="... or at the end of this date (YYYY-MM-DD).")] = None,
    completions: Annotated[int, typer.Option(
        help="Simulated completions per horizon (predictive probabilities).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the posterior draws and completions.")] = DEFAULT_SEED,
    start: Annotated[str | None, typer.Option(help="Trial start date (YYYY-MM-DD) if not in the protocol.")] = None,
    duplicates: Annotated[str | None, typer.Option(
        help="Resolve a day logged twice with different values: first, last or mean.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")] = False,
) -> None:
    """Interim status: progress, the current posterior, predictive probabilities, a recommendation."""
    from nof1.data import read_log
    from nof1.interim_analysis import interim
    from nof1.protocol import load_protocol

    if duplicates is not None and duplicates not in ("first", "last", "mean"):
        raise typer.BadParameter(f"--duplicates must be one of first, last, mean (got '{duplicates}')")
    if day is not None and as_of is not None:
        raise typer.BadParameter("give --day or --as-of, not both")
    p = load_protocol(protocol)
    td = read_log(log, p, start=start, duplicates=duplicates)
    if td.report is not None and not td.report.usable:
        err_console.print(td.report.text(), markup=False)
        raise Nof1Error(f"{log}: the log cannot be analysed until the errors above are fixed")
    with err_console.status("simulating completions ...", spinner="dots"):
        st = interim(td, seed=seed, day=day, date=as_of, completions=completions)
    if as_json:
        print(json.dumps(st.to_dict(), indent=2))
        return
    for line in st.text():
        style = "bold red" if line.startswith(("SAFETY", "recommendation: stop")) else None
        console.print(line, markup=False, style=style)
    console.print(f"({st.seconds:.1f} s)", markup=False, style="dim")
