"""``nof1 pool PROTOCOL LOG``: pool a series of N-of-1 trials (a log with a ``participant`` column).

The command reads the protocol and the log, calls :func:`nof1.pool` and prints a table per
contrast (population mean effect, between-person sd, a new person, each participant's own and
shrunken estimate) or the JSON of :meth:`nof1.pooling.PooledResult.to_dict`. It computes nothing
itself.

Example (shell)::

    nof1 pool protocols/beetroot-juice-rls.yaml series_log.csv --seed 7
    nof1 pool protocol.yaml series_log.csv --method mixedlm --json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from nof1.cli.app import app, console, err_console, handles_errors
from nof1.errors import DataError
from nof1.formatting import fmt_number, fmt_prob

if TYPE_CHECKING:
    from nof1.pooling import ContrastPool, PooledResult


def _interval(e: dict[str, Any] | None) -> str:
    if not e or e.get("ci_low") is None or e.get("ci_high") is None:
        return "–"
    return f"[{fmt_number(e['ci_low'])}, {fmt_number(e['ci_high'])}]"


def _own(e: dict[str, Any] | None) -> str:
    if not e:
        return "–"
    if e.get("estimate") is None:
        return "n/a"
    return f"{fmt_number(e['estimate'])} {_interval(e)}"


def contrast_table(result: PooledResult, cp: ContrastPool) -> Table:
    """A rich table of one contrast: population, between-person sd, new person, participants."""
    from rich import box

    level = f"{result.ci_level:.0%}"
    o = result.outcome
    better = "lower" if o.better == "lower" else "higher"
    mcid = f", mcid {o.mcid:g}" if o.mcid is not None else ""
    t = Table(title=f"{o.display}: {cp.contrast[0]} minus {cp.contrast[1]} ({better} is better{mcid})",
              title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    probs = result.method == "bayes"
    t.add_column("", no_wrap=True)
    t.add_column("pooled", justify="right", no_wrap=True)
    t.add_column(f"{level} interval", justify="right", no_wrap=True)
    if probs:
        t.add_column("P(ben.)", justify="right", no_wrap=True)
        t.add_column("P(>mcid)", justify="right", no_wrap=True)
    t.add_column(f"own trial [{level}]", justify="right", no_wrap=True)

    def row(name: str, e: dict[str, Any], own: str = "", with_probs: bool = True) -> None:
        cells = [name, fmt_number(e["estimate"]), _interval(e)]
        if probs:
            cells += ([fmt_prob(e.get("prob_benefit")), fmt_prob(e.get("prob_meaningful_benefit"))]
                      if with_probs else ["", ""])
        t.add_row(*cells, own)

    row("population", cp.population)
    row("between sd", cp.between_sd, with_probs=False)
    row("new person", cp.new_person)
    t.add_section()
    for pid, e in cp.participants.items():
        row(str(pid), e, _own(e.get("own")))
    return t


def print_result(result: PooledResult) -> None:
    """The terminal summary: a table per contrast, then the model, diagnostics and notes."""
    label = ("hierarchical Bayesian model (PyMC)" if result.method == "bayes"
             else "linear mixed model (statsmodels MixedLM)")
    console.print(f"{result.protocol.title}: {len(result.participants)} participants, "
                  f"{label}; seed {result.seed}", markup=False)
    for cp in result.contrasts.values():
        console.print(contrast_table(result, cp))
    if result.method == "bayes":
        console.print("pooled: each participant's shrunken (partially pooled) estimate; P(ben.) = "
                      "posterior probability of any benefit, P(>mcid) = of a benefit larger than "
                      "the mcid", markup=False)
    else:
        console.print("pooled: fixed effect (population), BLUP (participants); normal intervals",
                      markup=False)
    if result.own_method:
        console.print(f"own trial: each person's single trial analysed alone ({result.own_method})",
                      markup=False)
    extras = result.model_extras
    if result.method == "bayes":
        if "tau" in extras:
            console.print(f"carryover time constant tau (shared): {fmt_number(extras['tau']['estimate'])} "
                          f"days ({_interval(extras['tau'])})", markup=False)
        d = result.diagnostics
        console.print(f"diagnostics: r_hat max {fmt_number(d.get('r_hat_max'), 3)}, bulk ESS min "
                      f"{fmt_number(d.get('ess_bulk_min'), 0)}, divergences {d.get('divergences', 0)}",
                      markup=False)
    for note in result.notes:
        err_console.print(f"note: {note}", markup=False)


@app.command("pool")
@handles_errors
def pool_command(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (.yaml or .json).")],
    log: Annotated[Path, typer.Argument(help="Log of a series of trials (has a 'participant' column).")],
    seed: Annotated[int | None, typer.Option(help="Seed of every random step.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    outcome: Annotated[str | None, typer.Option(help="Outcome to pool (default: the primary).")] = None,
    method: Annotated[str, typer.Option(help="bayes (hierarchical model) or mixedlm (classical).")] = "bayes",
    tau: Annotated[str | None, typer.Option(
        help="Carryover time constant: shared, pooled or none (default from the protocol).")] = None,
    draws: Annotated[int, typer.Option(min=50, help="Posterior draws per chain.")] = 1000,
    tune: Annotated[int, typer.Option(min=50, help="Tuning steps per chain.")] = 1000,
    chains: Annotated[int, typer.Option(min=2, help="Chains.")] = 2,
    cores: Annotated[int, typer.Option(min=1, help="Run this many chains in parallel.")] = 1,
    own: Annotated[str, typer.Option(
        help="Each person's own estimate: auto, bayes, gls_ar1, model or none.")] = "auto",
    duplicates: Annotated[str | None, typer.Option(
        help="Resolve the same day logged twice with different values: first, last or mean.")] = None,
) -> None:
    """Pool a series of N-of-1 trials: population effect, between-person spread, a new person,
    and each participant's own and shrunken estimate."""
    if method not in ("bayes", "mixedlm"):
        raise typer.BadParameter("--method must be bayes or mixedlm")
    if tau is not None and tau not in ("shared", "pooled", "none"):
        raise typer.BadParameter("--tau must be shared, pooled or none")
    if own not in ("auto", "bayes", "gls_ar1", "model", "none"):
        raise typer.BadParameter("--own must be auto, bayes, gls_ar1, model or none")
    if duplicates is not None and duplicates not in ("first", "last", "mean"):
        raise typer.BadParameter("--duplicates must be first, last or mean")
    from nof1.data import read_log
    from nof1.pooling import pool
    from nof1.protocol import load_protocol

    p = load_protocol(protocol)
    td = read_log(log, p, duplicates=duplicates)
    if td.report is not None and not td.report.usable:
        problems = "; ".join(str(d) for d in td.report.errors[:5])
        raise DataError(f"the log is not usable: {problems}", source=str(log))
    if "participant" not in td.data.columns:
        raise DataError("the log has no 'participant' column: nof1 pool needs a series of trials "
                        "(one column naming the person on each row); use nof1 analyze for one "
                        "person's trial", source=str(log))
    if not as_json:
        err_console.print(f"pooling {len(td.participants)} participants ({method}) ...",
                          markup=False)
    result = pool(td, outcome=outcome, seed=seed, method=method,  # type: ignore[arg-type]
                  tau=tau, draws=draws, tune=tune, chains=chains, cores=cores,
                  own=own)  # type: ignore[arg-type]
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
        return
    print_result(result)
