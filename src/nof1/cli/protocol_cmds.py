"""Commands about the protocol itself: validate, schedule, template, schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nof1.cli.app import app, console, err_console, handles_errors, write_output


def _load(path: Path):
    from nof1.protocol import load_protocol

    return load_protocol(path)


def _show_safety(protocol) -> None:
    for note in protocol.safety:
        err_console.print(f"safety: {note}", markup=False)


@app.command()
@handles_errors
def validate(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (.yaml or .json).")],
    log: Annotated[Path | None, typer.Argument(help="Optional log (CSV/TSV/XLSX) to check against it.")] = None,
    duplicates: Annotated[str | None, typer.Option(
        help="Resolve the same day logged twice with different values: first, last or mean.")] = None,
    start: Annotated[str | None, typer.Option(help="Trial start date (YYYY-MM-DD) if not in the protocol.")] = None,
    date_format: Annotated[str | None, typer.Option(help="strftime format for ambiguous dates, e.g. %d/%m/%Y.")] = None,
    day_starts_at: Annotated[str, typer.Option(help="Entries stamped before this time count for the previous day.")] = "04:00",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check a protocol, and a log against it. Exit 0 when usable, 1 when not."""
    p = _load(protocol)
    if log is None:
        if as_json:
            print(json.dumps({"ok": True, "protocol": {"id": p.id, "fingerprint": p.fingerprint},
                              "summary": p.summary_lines()}, indent=2))
            return
        console.print(f"OK {protocol}  {p.fingerprint}", markup=False)
        for line in p.summary_lines():
            console.print(f"  {line}", markup=False)
        return
    if duplicates is not None and duplicates not in ("first", "last", "mean"):
        raise typer.BadParameter("--duplicates must be first, last or mean")
    from nof1.data import read_log

    td = read_log(log, p, start=start, duplicates=duplicates, date_format=date_format,
                  day_starts_at=day_starts_at)
    report = td.report
    alerts = _alerts(td)
    if as_json:
        out = {"ok": report.usable, "protocol": {"id": p.id, "fingerprint": p.fingerprint},
               "data": report.to_dict(), "safety_alerts": alerts}
        print(json.dumps(out, indent=2, default=str))
    else:
        console.print(f"protocol {protocol}  {p.fingerprint}", markup=False)
        console.print(report.text(), markup=False)
        for a in alerts:
            console.print(f"SAFETY ALERT {a['date']}: {a['message']}", markup=False)
    if not report.usable:
        raise typer.Exit(1)


def _alerts(td) -> list[dict]:
    try:
        from nof1.safety import safety_alerts
    except ModuleNotFoundError as err:
        if err.name != "nof1.safety":
            raise
        return []
    return [a.to_dict() for a in safety_alerts(td)]


@app.command()
@handles_errors
def schedule(
    protocol: Annotated[Path, typer.Argument(help="Protocol file.")],
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD); default design.start_date.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, ics or json.")] = "table",
    output: Annotated[str | None, typer.Option("-o", "--output", help="Write to this file.")] = None,
    unblind: Annotated[bool, typer.Option(help="Show the real conditions of a blinded protocol.")] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
) -> None:
    """Print the day-by-day schedule (blinded codes unless --unblind)."""
    from nof1.schedule import blinded_view, build_schedule, period_table, schedule_to_ics

    if fmt not in ("table", "csv", "ics", "json"):
        raise typer.BadParameter("--format must be table, csv, ics or json")
    p = _load(protocol)
    show_real = unblind or not p.is_blinded
    if p.is_blinded:
        holder = p.design.key_holder or "a helper who is not the participant"
        err_console.print(
            f"{p.design.blinding}-blind protocol: "
            + ("showing the REAL conditions (unblinded) — keep this away from the participant; "
               if unblind else "showing blinded codes; ")
            + f"the key (code → condition) should be held by {holder}.", markup=False)
    _show_safety(p)
    err_console.print(f"{p.id}  {p.fingerprint}", markup=False)
    if fmt == "ics":
        write_output(schedule_to_ics(p, start, unblind=show_real), output, force=force)
        return
    sched = build_schedule(p, start)
    view = sched if show_real else blinded_view(p, sched)
    if fmt == "csv":
        text = view.assign(date=view["date"].dt.strftime("%Y-%m-%d")).to_csv(index=False)
        write_output(text, output, force=force)
        return
    if fmt == "json":
        records = json.loads(view.assign(date=view["date"].dt.strftime("%Y-%m-%d")).to_json(orient="records"))
        doc = {"protocol": {"id": p.id, "fingerprint": p.fingerprint}, "blinded": not show_real,
               "days": records}
        write_output(json.dumps(doc, indent=2), output, force=force)
        return
    periods = period_table(p, start, unblind=show_real)
    from rich.table import Table

    table = Table(title=f"{p.title} — {p.total_days} days")
    for col in ("period", "pair", "condition", "label", "day", "from", "to", "days", "washout"):
        table.add_column(col, no_wrap=True)
    for r in periods.itertuples(index=False):
        has_dates = r.first_date is not None and str(r.first_date) != "NaT"
        first = f"{r.first_date:%Y-%m-%d}" if has_dates else ""
        last = f"{r.last_date:%Y-%m-%d}" if has_dates else ""
        table.add_row(str(r.period) if r.period else "run-in", "" if str(r.pair) in ("<NA>", "0") else str(r.pair),
                      str(r.condition), str(r.label), str(r.first_day), first, last, str(r.days), str(r.washout_days))
    if output:
        write_output(periods.to_string(index=False), output, force=force)
    else:
        console.print(table)


@app.command()
@handles_errors
def template(
    protocol: Annotated[Path, typer.Argument(help="Protocol file.")],
    output: Annotated[str, typer.Option("-o", "--output", help="CSV file to write (never overwritten without --force).")],
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD); default design.start_date.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a blank log sheet with every date and a column per outcome."""
    from nof1.schedule import log_template

    p = _load(protocol)
    _show_safety(p)
    sheet = log_template(p, start)
    write_output(sheet.to_csv(index=False), output, force=force)


@app.command()
@handles_errors
def schema() -> None:
    """Print the protocol JSON Schema (for editors that autocomplete YAML)."""
    from nof1.protocol import protocol_json_schema

    print(json.dumps(protocol_json_schema(), indent=2))
