"""The Bayesian speed targets of issue 16, measured the way a user meets them, in one table.

Every row runs in a fresh Python process; "empty caches" rows point ``JAX_COMPILATION_CACHE_DIR``
and PyTensor's ``base_compiledir`` at new, empty folders (what a fresh clone has), "warm" rows
reuse the folders of the run before them (what every later run has):

* ordinal / count / binary 56-day fit, end to end in a fresh process (``bench_ordinal.py``;
  import, model build, compilation, 2 chains × 1,000 draws after 1,000 tuning), and a refit;
* the series (pooled) model, 50 people × 56 days, empty and warm caches, and 1,000 people ×
  56 days (warm), with the process's peak memory (``bench_pooling.py``);
* ``nof1 analyze`` of the bundled beetroot sample from a fresh ``git clone`` of this checkout's
  HEAD, empty caches (the README's first command after ``make demo``'s set-up);
* the exact engine's single 56-day fit (``bench_bayes.py``).

It prints the measured value next to the target, the load average while it ran (2 shared cores:
other processes make wall times longer) and exits 0 (it reports; it does not judge).

Run:
    .venv/bin/python benchmarks/bench_speed_targets.py [--skip-large] [--repeat 1]

Example:
    >>> row("ordinal fit, empty caches", 8.4, 10.0, "s")          # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["JAX_COMPILATION_CACHE_DIR"] = str(cache / "jax")
    env["PYTENSOR_FLAGS"] = f"base_compiledir={cache / 'pytensor'}"
    env["MPLBACKEND"] = "Agg"
    env.pop("XLA_FLAGS", None)
    return env


def _run(cmd: list[str], cache: Path, cwd: Path = ROOT, extra: dict | None = None) -> tuple[str, float]:
    env = _env(cache)
    env.update(extra or {})
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return out.stdout, wall


def _json_line(text: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no JSON line in:\n{text[-2000:]}")


ROWS: list[dict] = []


def row(measure: str, value: float, target: float, unit: str, note: str = "") -> None:
    ok = value <= target
    ROWS.append({"measure": measure, "value": value, "target": target, "unit": unit,
                 "met": ok, "note": note, "load": os.getloadavg()[0]})
    fmt = f"{value:.2f}" if unit == "s" and value < 10 else f"{value:.1f}" if unit != "ms" else f"{value:.1f}"
    print(f"  {measure:<58} {fmt:>8} {unit:<3} (target <= {target:g} {unit}: "
          f"{'met' if ok else 'NOT met'}){'  ' + note if note else ''}  [load {ROWS[-1]['load']:.1f}]",
          flush=True)


def discrete(family: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out, _ = _run([PY, str(HERE / "bench_ordinal.py"), "--family", family, "--json"], Path(tmp))
    r = _json_line(out)
    row(f"{family} 56-day fit, empty caches (fresh process)", r["first_fit_s"], 10.0, "s",
        f"r_hat {r['r_hat']:.3f}")
    if family == "ordinal":
        row("ordinal refit, new data", r["refit_s"], 1.5, "s")
    else:
        row(f"{family} refit, new data", r["refit_s"], 1.5, "s", "(no target; for reference)")


def series(participants: int, caches: Path, label: str, target: float,
           gradient: bool = False) -> dict:
    cmd = [PY, str(HERE / "bench_pooling.py"), "--participants", str(participants), "--json",
           "--no-own"]
    out, _ = _run(cmd + (["--gradient"] if gradient else []), caches)
    r = _json_line(out)
    note = (f"sampling {r['sampling_s']:.1f} s, peak {r['peak_rss_gib']:.2f} GiB, r_hat "
            f"{r['r_hat_max']:.3f}, divergences {r['divergences']}"
            + (", sampled again at 0.95" if r.get("retried") else ""))
    row(f"series model, {participants} people x 56 days, {label}", r["fit_s"], target, "s", note)
    if gradient:
        # why: NUTS's work is chains x (tune + draws) x steps per draw x one gradient
        passes = 2 if r.get("retried") else 1
        work = passes * 2 * 2000 * r["steps_per_draw"] * r["gradient_ms"] / 1e3
        print(f"    {r['steps_per_draw']:.1f} gradient evaluations per draw x "
              f"{r['gradient_ms']:.2f} ms per gradient (both cores: XLA splits each gradient "
              f"in two) x 2 chains x 2,000 iterations x {passes} pass(es) = {work:.0f} s of "
              f"gradients alone", flush=True)
    return r


def analyze_fresh_clone() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        cmd = [PY, "-c", "import sys; from nof1.cli import main; sys.exit(main())", "analyze",
               "protocols/beetroot-juice-rls.yaml", "data/sample/beetroot_log.csv"]
        _out, wall = _run(cmd, Path(tmp) / "caches", cwd=clone,
                          extra={"PYTHONPATH": str(clone / "src"), "PYTHONDONTWRITEBYTECODE": "1"})
    row("nof1 analyze, beetroot sample, fresh clone, empty caches", wall, 25.0, "s")


def exact() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out, _ = _run([PY, str(HERE / "bench_bayes.py"), "--no-pymc", "--trials", "200"], Path(tmp))
    m = re.search(r"one 56-day fit \(carryover modelled\), warm: ([0-9.]+) ms", out)
    if not m:
        raise RuntimeError(f"no exact-engine line in:\n{out}")
    row("exact engine, one 56-day fit", float(m.group(1)), 10.0, "ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-large", action="store_true", help="skip 1,000 people x 56 days")
    ap.add_argument("--only", choices=("discrete", "series", "analyze", "exact"), default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(f"issue 16 speed targets on {os.cpu_count()} CPUs (load average at start "
          f"{os.getloadavg()[0]:.1f})")
    if args.only in (None, "exact"):
        exact()
    if args.only in (None, "discrete"):
        for family in ("ordinal", "count", "binary"):
            discrete(family)
    if args.only in (None, "series"):
        with tempfile.TemporaryDirectory() as tmp:
            series(50, Path(tmp), "empty caches", 8.0)
            series(50, Path(tmp), "warm caches", 8.0)
            if not args.skip_large:
                series(1000, Path(tmp), "warm caches", 120.0, gradient=True)
    if args.only in (None, "analyze"):
        analyze_fresh_clone()
    met = sum(r["met"] for r in ROWS)
    print(f"\n{met} of {len(ROWS)} rows within their target; {time.perf_counter() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
