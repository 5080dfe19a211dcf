"""``nof1 design``: power (or assurance) of a protocol's design, and a comparison of alternatives.

Example:
    $ nof1 design protocols/beetroot-juice-rls.yaml --effect -1 --sd 1.5 --phi 0.4
    $ nof1 design protocols/beetroot-juice-rls.yaml --effect -1 --sd 1.5 --phi 0.4 --compare \\
          --plot designs.png
    $ nof1 design protocols/beetroot-juice-rls.yaml --pilot run_in.csv --json
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nof1.cli.app import app, check_output_path, console, err_console, handles_errors, write_file
from nof1.constants import DEFAULT_SEED

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from nof1.design import DesignComparison, DesignEvaluation


def _fmt(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:.{digits}f}"


def _p(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:.3f}" if x >= 0.001 else f"{x:.1g}"


def _pm(value: float | None, se: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.2f} ± {se:.2f}" if se is not None and math.isfinite(se) else f"{value:.2f}"


class _Progress:
    """A rich progress bar on stderr (no-op when stderr is not a terminal)."""

    def __init__(self, title: str) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                            TimeElapsedColumn(), console=err_console, transient=True)
        self.title = title
        self.task: Any = None

    def __enter__(self) -> Callable[[str, float], None]:
        self.bar.__enter__()
        self.task = self.bar.add_task(self.title, total=1.0)
        return self.update

    def update(self, message: str, fraction: float) -> None:
        self.bar.update(self.task, completed=max(0.0, min(1.0, fraction)),
                        description=f"{self.title}: {message}")

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)


def _scenario_line(ev_scenario: dict[str, Any], outcome: str, pilot: Any) -> str:
    s = ev_scenario
    parts = [f"outcome {outcome}", f"true effect {s['effect']:+g} ({s['effect_in_mcid']:+.2g} mcid)"]
    if pilot is None:
        parts += [f"sd {s['sd']:g}", f"phi {s['phi']:g}"]
    else:
        parts.append(f"sd and phi from the pilot ({pilot.n_days} days; {pilot.interval_level:.0%} intervals: "
                     f"sd {pilot.sd:.2g} "
                     f"[{pilot.sd_interval[0]:.2g}, {pilot.sd_interval[1]:.2g}], phi {pilot.phi:.2f} "
                     f"[{pilot.phi_interval[0]:.2f}, {pilot.phi_interval[1]:.2f}])")
    parts.append("carryover " + (f"tau {s['carryover_days']:g} days" if s.get("carryover_days") else "none"))
    if s.get("missing"):
        parts.append(f"{s['missing']:.0%} days missing")
    if s.get("trend"):
        parts.append(f"trend {s['trend']:+g}/day")
    parts.append(f"{s['sims']} simulated trials (+ {s['sims']} at no effect), seed {s['seed']}")
    return "; ".join(parts)


def _table(title: str) -> Any:
    from rich import box
    from rich.table import Table

    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 0, 0, 0),
                 pad_edge=False, show_edge=False, collapse_padding=True)


def _print_evaluation(ev: DesignEvaluation) -> None:
    d = ev.design
    p = ev.protocol
    kind = "assurance" if ev.assurance else "power"
    console.print(f"{p.title} ({p.id})  {p.fingerprint}", markup=False)
    console.print(
        f"design: {d['scheme']}, {d['periods']} periods"
        + (f" of {d['period_days']} days" if d.get("period_days") else "")
        + f", washout {d['washout_days']} days, run-in {d['run_in_days']} days, "
        f"{d['total_days']} days in all; {d['n_allocations']} possible allocations", markup=False)
    console.print(_scenario_line(ev.scenario, ev.outcome, ev.pilot), markup=False)
    console.print()
    table = _table(f"{kind.capitalize()} of the design")
    for col in ("method", kind, "false pos.", "CI width", "E P(benefit)", "min p"):
        table.add_column(col, no_wrap=True, justify="left" if col == "method" else "right")
    for m in ev.methods.values():
        table.add_row(m.method, _pm(m.power, m.power_se), _pm(m.fpr, m.fpr_se), _fmt(m.mean_ci_width),
                      _fmt(m.mean_prob_meaningful_benefit), _p(m.min_p_value))
    console.print(table)
    console.print(f"{kind} and false positives (true effect 0) ± Monte Carlo SE; CI width = mean width of "
                  f"the {ev.protocol.analysis.ci_level:.0%} interval; E P(benefit) = mean posterior "
                  "P(meaningful benefit); min p = smallest attainable two-sided p.", markup=False)
    for m in ev.methods.values():
        console.print(f"  {m.method}: success = {m.criterion}", markup=False)
    b = ev.methods.get("bayes")
    if b is not None and b.verdict_shares:
        shares = ", ".join(f"{k} {v:.0%}" for k, v in b.verdict_shares.items() if v > 0)
        console.print(f"  bayes verdicts under the effect: {shares}", markup=False)
    for note in ev.notes:
        console.print(f"note: {note}", markup=False)
    console.print(f"({ev.seconds:.1f} s)", markup=False, style="dim")


_SHORT = {"bayes": "bayes", "gls_ar1": "gls", "randomization": "rand"}


def _print_comparison(cmp: DesignComparison) -> None:
    t = cmp.table
    p = cmp.protocol
    ev = cmp.evaluations[0]
    console.print(f"{p.title} ({p.id})  {p.fingerprint}", markup=False)
    console.print(_scenario_line(cmp.scenario, ev.outcome, ev.pilot).replace(
        "simulated trials", "simulated trials per design"), markup=False)
    console.print()
    kind = "assurance" if ev.assurance else "power"
    bound = f"; at most {cmp.max_total_days} days in all" if cmp.max_total_days else ""
    methods = [c.removeprefix("power_") for c in t.columns
               if c.startswith("power_") and not c.endswith("_se")]
    rank = cmp.rank_by.replace("power_", f"{kind} ").replace("mean_ci_width", "interval width")
    table = _table(f"{kind.capitalize()} of alternative designs, ranked by {rank}, then duration{bound}")
    varies = [c for c in ("washout_days", "run_in_days") if t[c].nunique() > 1]
    cols = ["#", "period", "pairs"] + [c.split("_")[0].replace("run", "run-in") for c in varies] + ["days"]
    cols += [_SHORT.get(m, m) for m in methods]
    cols.append("fpr " + "/".join(_SHORT.get(m, m)[0] for m in methods))
    if "min_p_randomization" in t.columns:
        cols.append("min p")
    if "mean_ci_width" in t.columns:
        cols.append("width")
    for c in cols:
        table.add_column(c, no_wrap=True, justify="right")
    for r in t.to_dict(orient="records"):
        row = [f"{r['rank']}{'*' if r.get('current') else ''}", str(r["period_days"]), str(r["pairs"])]
        row += [str(r[c]) for c in varies] + [str(r["total_days"])]
        row += [_fmt(r[f"power_{m}"]) for m in methods]
        row.append("/".join(_fmt(r[f"fpr_{m}"], 2) for m in methods))
        if "min_p_randomization" in t.columns:
            row.append(_p(r["min_p_randomization"]))
        if "mean_ci_width" in t.columns:
            row.append(_fmt(r["mean_ci_width"]))
        table.add_row(*row)
    console.print(table)
    se = t[[c for c in t.columns if c.startswith("power_") and c.endswith("_se")]].max().max()
    same = {c: t[c].iloc[0] for c in ("washout_days", "run_in_days") if c not in varies}
    fixed = ", ".join(f"{k.split('_')[0].replace('run', 'run-in')} {v} days" for k, v in same.items())
    console.print(
        f"* = the protocol's design ({fixed} throughout). {kind.capitalize()} by method ("
        + ", ".join(methods) + f") ± at most {se:.3f} (Monte Carlo SE); fpr = the same at a true effect "
        f"of 0; width = mean width of the {methods[0]} interval; min p = smallest attainable two-sided "
        "randomisation p.", markup=False)
    for note in cmp.notes:
        console.print(f"note: {note}", markup=False)
    console.print(f"({cmp.seconds:.1f} s)", markup=False, style="dim")


def _progress_context(enabled: bool, title: str) -> Any:
    import contextlib

    if not enabled:
        @contextlib.contextmanager
        def silent() -> Iterator[None]:
            yield None

        return silent()
    return _Progress(title)


@app.command()
@handles_errors
def design(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (.yaml or .json).")],
    effect: Annotated[float | None, typer.Option(
        help="True effect, treatment minus control in outcome units (default: one mcid in the "
             "benefit direction).", allow_dash=True)] = None,
    sd: Annotated[float | None, typer.Option(help="Day-to-day sd of the outcome (required unless --pilot).")] = None,
    phi: Annotated[float | None, typer.Option(
        help="Lag-1 autocorrelation of the outcome from day to day (required unless --pilot).")] = None,
    carryover_days: Annotated[float | None, typer.Option(
        help="True onset/offset time constant in days (default: instant switch).")] = None,
    trend: Annotated[float, typer.Option(help="True linear drift per day.")] = 0.0,
    missing: Annotated[float, typer.Option(help="Probability that a day is not logged.")] = 0.0,
    sims: Annotated[int | None, typer.Option(
        help="Simulated trials (per design with --compare); default 2000, or 200 with --compare.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulations.")] = DEFAULT_SEED,
    methods: Annotated[str, typer.Option(
        help="Comma-separated methods: bayes, gls_ar1, randomization.")] = "bayes,gls_ar1,randomization",
    outcome: Annotated[str | None, typer.Option(help="Outcome (default: the primary).")] = None,
    compare: Annotated[bool, typer.Option(
        "--compare", help="Compare alternative designs (period length, pairs) and rank them.")] = False,
    max_total_days: Annotated[int | None, typer.Option(
        help="With --compare: longest total duration considered (default 1.5 x the protocol's).")] = None,
    rank_by: Annotated[str, typer.Option(
        help="With --compare: column to rank by (auto, power_bayes, power_gls_ar1, power_randomization, "
             "mean_ci_width).")] = "auto",
    pilot: Annotated[Path | None, typer.Option(
        help="Run-in or pilot log: estimate sd and phi from it and report assurance.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    plot: Annotated[Path | None, typer.Option(
        help="With --compare: write the power-vs-duration plot to this file (.png, .svg, .pdf).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing plot file.")] = False,
) -> None:
    """Power (or assurance with --pilot) of the protocol's design, or a ranked comparison of designs."""
    from nof1.design import compare as run_compare
    from nof1.design import evaluate
    from nof1.protocol import load_protocol

    if plot is not None and not compare:
        raise typer.BadParameter("--plot draws the design comparison; add --compare", param_hint="--plot")
    if pilot is None and (sd is None or phi is None):
        missing_opts = " and ".join(f"--{n}" for n, v in (("sd", sd), ("phi", phi)) if v is None)
        raise typer.BadParameter(f"{missing_opts} required (or give --pilot LOG to estimate them)")
    if pilot is not None and (sd is not None or phi is not None):
        raise typer.BadParameter("give either --pilot or --sd and --phi, not both")
    check_output_path(plot, force=force)
    method_list = [m.strip() for m in methods.split(",") if m.strip()]
    p = load_protocol(protocol)
    pilot_data: Any = None
    if pilot is not None:
        from nof1.design import estimate_pilot

        pilot_data = estimate_pilot(pilot, p, outcome=outcome, seed=seed)
    interactive = err_console.is_terminal
    kwargs: dict[str, Any] = dict(effect=effect, sd=sd, phi=phi, carryover_days=carryover_days, trend=trend,
                                  missing=missing, seed=seed, methods=method_list, pilot=pilot_data,
                                  outcome=outcome)
    if compare:
        with _progress_context(interactive, "comparing designs") as prog:
            result = run_compare(p, sims=sims or 200, max_total_days=max_total_days, rank_by=rank_by,
                                 progress=prog, **kwargs)
        if as_json:
            print(json.dumps(result.to_dict(), indent=2))
        else:
            _print_comparison(result)
        if plot is not None:
            fig = result.plot()
            fmt = plot.suffix.lstrip(".").lower() or "png"
            sys.stdout.flush()
            write_file(lambda tmp: fig.savefig(tmp, dpi=150, bbox_inches="tight", format=fmt), plot,
                       force=force)
        return
    with _progress_context(interactive, "simulating trials") as prog:
        ev = evaluate(p, sims=sims or 2000, progress=prog, **kwargs)
    if as_json:
        print(json.dumps(ev.to_dict(), indent=2))
    else:
        _print_evaluation(ev)
