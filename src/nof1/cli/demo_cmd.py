"""``nof1 demo``: the whole workflow on the bundled beetroot-juice sample, in under a minute.

Steps: validate the bundled protocol (OK + fingerprint) → ingest the messy sample log and show
what was found in it → ingest the clean log → analyse it → write ``nof1-demo/report.html`` in the
current directory. Every step says what it did; anything left out to keep the demo fast is said,
with the command that runs it.

The demo analyses continuous outcomes with the exact (grid) Bayesian engine and the ordinal
headache (a safety outcome: the benefit–harm probability needs it) with its PyMC model — about
30 s on an empty compile cache, 8 s on a warm one. For secondary outcomes whose Bayesian model
needs PyMC (the count of awakenings) it runs only the classical methods, to stay under a minute
on a first run, and prints the command that runs the Bayesian analysis.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from nof1.cli.analyze_cmd import fit_with_progress, print_result, washout_table
from nof1.cli.app import app, console, err_console, handles_errors
from nof1.errors import Nof1Error

DEMO_DIR = "nof1-demo"
REPORT_NAME = "report.html"
PROTOCOL = "protocols/beetroot-juice-rls.yaml"
CLEAN_LOG = "data/sample/beetroot_log.csv"
MESSY_LOG = "data/sample/beetroot_log_messy.csv"
#: Outcome types the exact (grid) Bayesian engine fits in well under a second.
FAST_TYPES = ("continuous",)


def bundled(relative: str) -> Path:
    """Path of a bundled sample file: inside the installed package, else in the source checkout.

    Example:
        >>> bundled("protocols/beetroot-juice-rls.yaml").name
        'beetroot-juice-rls.yaml'
    """
    candidates: list[Path] = []
    try:
        pkg = resources.files("nof1")
        candidates.append(Path(str(pkg.joinpath("sample", Path(relative).name))))
        candidates.append(Path(str(pkg)).parents[1] / relative)
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - nof1 is always importable here
        pass
    for path in candidates:
        if path.is_file():
            return path
    raise Nof1Error(
        f"the bundled sample file {relative} was not found (looked in {', '.join(map(str, candidates))}); "
        "run the demo from a source checkout (git clone ... && make demo)"
    )


def _step(n: int, total: int, text: str) -> None:
    console.print(f"\n[{n}/{total}] {text}", markup=False, style="bold cyan")


def _owned_by_demo(path: Path) -> bool:
    """True when ``path`` does not exist or is a report an earlier demo wrote (safe to replace).

    Example:
        >>> _owned_by_demo(Path("no-such-file.html"))
        True
    """
    if not path.exists():
        return True
    if not path.is_file():
        return False
    head = path.read_text(encoding="utf-8", errors="replace")[:2000]
    return '<meta name="generator" content="nof1' in head


def slow_outcomes(protocol: Any) -> list[Any]:
    """Outcomes the demo analyses without their Bayesian model: secondary outcomes whose Bayesian
    fit would compile a PyMC model (ordinal, count, binary).

    Continuous outcomes use the exact engine (well under a second). Safety outcomes are always
    fitted — the benefit–harm probability needs their posteriors — and so is the primary.

    Example:
        >>> [o.name for o in slow_outcomes(load_protocol("protocols/beetroot-juice-rls.yaml"))]  # doctest: +SKIP
        ['awakenings']
    """
    from nof1.analysis.base import registered_methods

    bayes = registered_methods()["bayes"]
    return [o for o in protocol.ordered_outcomes
            if o.role == "secondary" and o.type not in FAST_TYPES and o.type in bayes.outcome_types]


def _fast_methods(outcome: Any) -> list[str]:
    """The default methods for ``outcome`` without ``bayes`` (the demo's choice for slow outcomes).

    Example:
        >>> _fast_methods(p.outcome("headache"))      # doctest: +SKIP
        ['ordinal_po', 'randomization', 'nap', 'tau']
    """
    from nof1.analysis.base import registered_methods

    return [name for name, spec in registered_methods().items()
            if spec.default and outcome.type in spec.outcome_types and name != "bayes"]


def merge_results(parts: list[Any], protocol: Any) -> Any:
    """One :class:`AnalysisResult` from results of separate ``analyze`` calls on the same trial.

    Outcomes keep the protocol's order. Seeds are per outcome/contrast/method, so the numbers are
    those a single call would give for the same methods.

    Example:
        >>> a = nof1.analyze(td, outcomes=["severity"], seed=1)                       # doctest: +SKIP
        >>> b = nof1.analyze(td, outcomes=["headache"], methods=["ordinal_po"], seed=1)  # doctest: +SKIP
        >>> list(merge_results([b, a], td.protocol).results)                           # doctest: +SKIP
        ['severity', 'headache']
    """
    from nof1.analysis.core import AnalysisResult

    results: dict[str, Any] = {}
    verdicts: dict[str, Any] = {}
    for part in parts:
        results.update(part.results)
        verdicts.update(part.verdicts)
    order = [o.name for o in protocol.ordered_outcomes if o.name in results]
    first = parts[0]
    return AnalysisResult(protocol=first.protocol, trial_data=first.trial_data,
                          results={k: results[k] for k in order}, seed=first.seed,
                          verdicts={k: verdicts.get(k, {}) for k in order})


@app.command()
@handles_errors
def demo(
    all_outcomes: Annotated[bool, typer.Option(
        "--all-outcomes", help="Also fit the ordinal/count outcomes (PyMC; slower, minutes on a cold cache).")] = False,
    seed: Annotated[int | None, typer.Option(help="Seed of the analysis.")] = None,
) -> None:
    """Run the whole workflow on the bundled beetroot-juice sample and write nof1-demo/report.html."""
    from nof1.data import read_log
    from nof1.protocol import load_protocol

    t0 = time.perf_counter()
    total = 5
    protocol_path, messy_path, clean_path = bundled(PROTOCOL), bundled(MESSY_LOG), bundled(CLEAN_LOG)
    out_dir = Path.cwd() / DEMO_DIR
    report_path = out_dir / REPORT_NAME
    if out_dir.exists() and not out_dir.is_dir():
        raise Nof1Error(f"{out_dir} exists and is not a folder; move it away to run the demo")
    if not _owned_by_demo(report_path):
        raise Nof1Error(f"{report_path} exists and was not written by nof1 demo; move it away to run the demo")

    _step(1, total, f"Validate the protocol {PROTOCOL}")
    p = load_protocol(protocol_path)
    console.print(f"OK {PROTOCOL}  {p.fingerprint}", markup=False)
    for line in p.summary_lines():
        console.print(f"  {line}", markup=False)

    _step(2, total, f"Ingest the messy log {MESSY_LOG} (duplicates resolved with 'last')")
    messy = read_log(messy_path, p, duplicates="last")
    if messy.report is not None:
        console.print(messy.report.text(), markup=False)
    console.print("Every row is accounted for: used, or dropped with the reason above. Nothing is "
                  "changed in the file.", markup=False, style="dim")

    _step(3, total, f"Ingest the clean log {CLEAN_LOG}")
    td = read_log(clean_path, p)
    rep = td.report
    if rep is not None:
        console.print(f"{rep.rows_read} rows, {rep.days_logged} of {rep.days_expected} trial days logged, "
                      f"{rep.days_missing} missing; usable: {'yes' if rep.usable else 'no'}", markup=False)
    if rep is not None and not rep.usable:
        raise Nof1Error(f"{CLEAN_LOG}: the bundled clean log is not usable (see above)")

    _step(4, total, "Analyse (Bayesian models and classical methods)")
    skipped = [] if all_outcomes else slow_outcomes(p)
    fast = [o.name for o in p.ordered_outcomes if o not in skipped and o.role != "covariate"]
    options: dict[str, Any] = {} if all_outcomes else {"engine": "exact"}
    if skipped:
        names = ", ".join(f"{o.name} ({o.type})" for o in skipped)
        console.print(f"to keep the demo under a minute, the Bayesian model is skipped for: {names} — it "
                      "compiles a PyMC model (about 30 s on a first run); its classical methods are shown. "
                      "Run the Bayesian analysis with:", markup=False, style="yellow")
        for o in skipped:
            console.print(f"  nof1 analyze {PROTOCOL} {CLEAN_LOG} --outcome {o.name}", markup=False,
                          style="yellow")
        console.print("  or the whole demo with: nof1 demo --all-outcomes", markup=False, style="yellow")
    pymc_fitted = [o for o in p.ordered_outcomes if o.name in fast and o.type not in FAST_TYPES]
    if pymc_fitted:
        names = ", ".join(f"{o.name} ({o.type}, {o.role})" for o in pymc_fitted)
        console.print(f"{names}: fitted with a PyMC model — about 30 s the first time (compiling it), "
                      "a few seconds after that", markup=False, style="dim")
    parts = [fit_with_progress(td, outcomes=fast, seed=seed, **options)]
    for o in skipped:
        parts.append(fit_with_progress(td, outcomes=[o.name], methods=_fast_methods(o), seed=seed))
    result = merge_results(parts, p) if len(parts) > 1 else parts[0]
    alerts = result.safety_alerts()
    print_result(result, console, alerts=alerts, benefit_harm=result.benefit_harm(), show_data=False)

    _step(5, total, f"Write the report {DEMO_DIR}/{REPORT_NAME}")
    out_dir.mkdir(exist_ok=True)
    from nof1.report import render

    sensitivity = washout_table(td, p.primary.name)
    with err_console.status("drawing the figures ...", spinner="dots"):
        written = render(result, report_path, sensitivity=sensitivity, alerts=alerts, overwrite=True,
                         inputs=(protocol_path, messy_path, clean_path))
    console.print(f"report: {written}", markup=False, style="bold green")
    console.print(f"open it in a browser: file://{written.resolve()}", markup=False)
    console.print(f"demo finished in {time.perf_counter() - t0:.0f} s", markup=False, style="dim")
