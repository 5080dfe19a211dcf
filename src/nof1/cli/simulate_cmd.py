"""``nof1 simulate PROTOCOL -o log.csv``: a realistic fake log, to try the whole path first.

The log has the protocol's own format (the columns of ``nof1 template``), one row per day,
run-in included, with day-to-day correlation, an effect that builds up and fades after each
switch, a few missing days and values rounded the way people log them. It is made by
:func:`nof1.simulate`; the first row's note says that the data are simulated.

Example (shell)::

    nof1 simulate my-trial.yaml -o practice-log.csv
    nof1 simulate my-trial.yaml -o practice-log.csv --effect -1.5 --effect sleep_hours=0.5 --seed 3
    nof1 analyze my-trial.yaml practice-log.csv
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nof1.cli.app import app, err_console, handles_errors, write_output
from nof1.errors import Nof1Error

if TYPE_CHECKING:
    from nof1.protocol import Outcome, Protocol

#: Day-to-day level and spread of outcomes people commonly log (baseline, sd; latent scale for
#: ordinal, count and yes/no outcomes — see nof1.simulation). Others get nof1.simulation's defaults.
REALISTIC = {
    "severity": (5.5, 1.5), "irls": (20.0, 3.0), "pain": (5.0, 1.5), "fatigue": (5.0, 1.5),
    "mood": (6.0, 1.2), "sleep_hours": (6.5, 0.8), "awakenings": (math.log(1.5), 0.3),
    "systolic_bp": (125.0, 7.0), "headache": (-4.0, 0.6), "gi_upset": (-4.0, 0.6),
    "gum_bleeding": (-2.5, 0.5),
}


def parse_effects(values: list[str] | None, protocol: Protocol) -> dict[str, float]:
    """``--effect`` values: a bare number is the primary outcome's effect, ``name=value`` another's.

    Default: one MCID of benefit on the primary outcome (so the practice analysis has something
    to find); every other outcome 0.

    Example:
        >>> parse_effects(["-1.5", "sleep_hours=0.4"], p)        # doctest: +SKIP
        {'severity': -1.5, 'sleep_hours': 0.4}
    """
    primary = protocol.primary
    if not values:
        sign = -1.0 if primary.better == "lower" else 1.0
        return {primary.name: sign * float(primary.mcid or 1.0)}
    names = [o.name for o in protocol.outcomes]
    out: dict[str, float] = {}
    for raw in values:
        name, sep, number = raw.rpartition("=")
        name = name.strip() if sep else primary.name
        if name not in names:
            raise Nof1Error(f"--effect {raw}: '{name}' is not an outcome of the protocol "
                            f"(outcomes: {', '.join(names)})")
        try:
            out[name] = float(number.replace("−", "-"))
        except ValueError:
            raise Nof1Error(f"--effect {raw}: '{number}' is not a number; e.g. --effect -1.5 or "
                            f"--effect {names[-1]}=2") from None
    return out


def _resolution(o: Outcome) -> float | None:
    if o.type != "continuous" or o.range is None:
        return None
    width = float(o.range[1] - o.range[0])
    return 0.5 if width <= 20 else 1.0


@app.command()
@handles_errors
def simulate(
    protocol: Annotated[Path, typer.Argument(help="Protocol file.")],
    output: Annotated[str, typer.Option("-o", "--output", help="CSV file to write ('-' prints it).")],
    effect: Annotated[list[str] | None, typer.Option(
        help="True effect (treatment minus control, outcome units; ordinal/count/yes-no outcomes: latent "
             "scale): a number for the primary outcome, or NAME=VALUE; repeatable. "
             "Default: one MCID of benefit on the primary.")] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same log.")] = 1,
    phi: Annotated[float, typer.Option(help="Day-to-day correlation (AR(1)), 0 to <1.")] = 0.4,
    carryover_days: Annotated[float, typer.Option(
        help="Time constant (days) of the effect's build-up and fade after each switch.")] = 1.0,
    missing: Annotated[float, typer.Option(help="Share of days not logged, 0 to <1.")] = 0.03,
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD) if the protocol has none.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a realistic fake log of the protocol's trial, for practice before the real one."""
    from nof1.protocol import load_protocol
    from nof1.simulation import simulate as simulate_log

    if output != "-" and Path(output).exists() and not force:
        raise Nof1Error(f"{output} already exists; choose another name or pass --force to overwrite")
    p = load_protocol(protocol)
    effects = parse_effects(effect, p)
    known = {o.name: REALISTIC[o.name] for o in p.outcomes if o.name in REALISTIC}
    if start is not None:
        import datetime as dt

        try:
            dt.date.fromisoformat(start)
        except ValueError:
            raise Nof1Error(f"--start '{start}' is not a date in the form YYYY-MM-DD") from None
    log = simulate_log(
        p, effect=effects, sd={k: v[1] for k, v in known.items()},
        baseline={k: v[0] for k, v in known.items()}, phi=phi, carryover_days=carryover_days,
        missing=missing, seed=seed, start=start, codes=p.is_blinded,
        resolution={o.name: r for o in p.outcomes if (r := _resolution(o)) is not None},
    )
    log["note"] = log["note"].astype(object)
    log.loc[log.index[0], "note"] = f"SIMULATED DATA (nof1 simulate, seed {seed}) - not a real trial"
    write_output(log.to_csv(index=False), output, force=force)
    if output == "-":
        return
    words = ", ".join(f"{k} {v:+g}" for k, v in effects.items())
    err_console.print(f"simulated {len(log)} logged days of {p.total_days} (run-in included); true effect: "
                      f"{words}; seed {seed}. Fake data, for practice only.", markup=False)
    if p.is_blinded:
        err_console.print("the log uses the blinded codes, as a blinded participant would", markup=False)
    first = str(log["date"].iloc[0])
    if p.design.start_date is None:
        hint = (f" and the log's first day ({first}) is not the trial's first day ({start or 'unknown'})"
                if start and first != start else "")
        err_console.print(f"the protocol has no start date{hint}: give the same --start {start or first} "
                          "to nof1 analyze / nof1 validate", markup=False)
    err_console.print(f"next: nof1 analyze {protocol} {output}", markup=False)
