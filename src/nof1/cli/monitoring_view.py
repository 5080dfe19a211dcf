"""``nof1 design --monitoring``: the sequential trial's error rates next to the fixed design.

Example (shell)::

    nof1 design protocols/beetroot-juice-rls.yaml --sd 1.5 --phi 0.4 --monitoring
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from nof1.cli.app import console, err_console

if TYPE_CHECKING:
    from nof1.monitoring import MonitoringEvaluation
    from nof1.protocol import Protocol


def run_monitoring(p: Protocol, *, effect: float | None, sd: float | None, phi: float | None,
                   carryover_days: float | None, missing: float, sims: int, seed: int, as_json: bool,
                   interactive: bool) -> MonitoringEvaluation:
    """Run :func:`nof1.monitoring.evaluate_monitoring` and print it (table or JSON)."""
    from nof1.monitoring import evaluate_monitoring

    kwargs: dict[str, Any] = dict(effect=effect, sd=sd, phi=phi, carryover_days=carryover_days,
                                  missing=missing, sims=sims, seed=seed)
    if interactive:
        with err_console.status("simulating the sequential trial ...", spinner="dots"):
            ev = evaluate_monitoring(p, **kwargs)
    else:
        ev = evaluate_monitoring(p, **kwargs)
    if as_json:
        print(json.dumps(ev.to_dict(), indent=2))
    else:
        print_monitoring(ev)
    return ev


def print_monitoring(ev: MonitoringEvaluation) -> None:
    """The table: fixed design, the stopping rule and the naive rule, then the share stopped per look."""
    from rich import box
    from rich.table import Table

    p, s = ev.protocol, ev.scenario
    console.print(f"{p.title} ({p.id})  {p.fingerprint}", markup=False)
    console.print(f"stopping rule ({ev.rule_source}): "
                  f"{ev.null['rule'].text}", markup=False)
    console.print(f"true effect {s['effect']:+g} and 0; sd {s['sd']:g}, phi {s['phi']:g}, "
                  + (f"carryover tau {s['carryover_days']:g} days, " if s.get("carryover_days") else "")
                  + f"{s['sims']} simulated trials at effect 0 and {s['effect_sims']} at the effect, seed {s['seed']}",
                  markup=False)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1))
    for col in ("analysis", "FPR", "power", "days", "p90", "days@0"):
        table.add_column(col, justify="left" if col == "analysis" else "right", no_wrap=True)
    names = {"fixed": "fixed design", "rule": "stopping rule", "naive": "naive peeking",
             "fixed_interval": "interval at end"}
    for key in ("fixed", "rule", "naive", "fixed_interval"):
        z = ev.null[key]
        e = ev.effect[key] if ev.effect is not None else None
        fp = z.claim_rate if key in ("fixed", "rule") else z.any_effect_rate
        table.add_row(names[key], f"{fp:.3f}±{z.claim_se:.3f}" if key in ("fixed", "rule") else f"{fp:.3f}",
                      "—" if e is None else f"{e.claim_rate:.3f}",
                      "—" if e is None else f"{e.expected_days:.0f}", "—" if e is None else f"{e.p90_days:.0f}",
                      f"{z.expected_days:.0f}")
    console.print(table)
    console.print("FPR = false-positive rate over all looks: claims of 'likely meaningful benefit' at a true "
                  "effect of 0 (fixed design: the verdict at the planned end; stopping rule; ± Monte Carlo SE), "
                  "or 95% intervals excluding 0 on either side (naive peeking after every pair; interval at "
                  "end = the same read once); power = the same claim at the true effect; days / p90 = expected "
                  "and 90th-percentile trial days (run-in excluded) at the effect, days@0 at effect 0.",
                  markup=False)
    for label, res in (("at effect 0", ev.null), ("at the effect", ev.effect)):
        if res is None or not res["rule"].stopped_at:
            continue
        cells = "; ".join(f"{k}: " + ", ".join(f"{w} {v:.0%}" for w, v in d.items() if v > 0)
                          for k, d in res["rule"].stopped_at.items())
        console.print(f"stopped by the rule {label}: {cells or 'none'}", markup=False)
    for note in ev.notes:
        console.print(f"note: {note}", markup=False)
    console.print(f"({ev.seconds:.1f} s)", markup=False, style="dim")
