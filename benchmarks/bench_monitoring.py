"""Operating characteristics of nof1's default stopping rule on the bundled protocols.

For every bundled protocol (primary outcome: nightly 0-10 severity, MCID 1) at day-to-day
autocorrelation φ 0.4 and 0.7 (sd 1.5, no carryover in the truth, the protocol's analysis):
``--sims`` simulated trials (default 4,000) at a true effect of 0 and ``--power-sims`` (default
1,000) at 1.5 MCID, each
analysed at every look by the batched exact engine (:func:`nof1.monitoring.evaluate_monitoring`).
Prints, per cell:

* ``fpr fixed`` / ``fpr rule``: claims of "likely meaningful benefit" at effect 0 by the fixed
  design (verdict at the planned end) and by the default rule over all its looks, ± Monte Carlo SE;
* ``naive`` / ``once``: share of null trials in which the 95% interval excludes 0 at *some* look
  when looking after every pair (the naive rule), and when read once at the end;
* ``power fixed`` / ``power rule`` at 1.5 MCID; ``days`` = expected trial days (run-in excluded)
  under the rule at effect 0 and at 1.5 MCID, with the 90th percentile; ``stop@look`` = share of
  null trials stopped at each interim look (efficacy + futility + harm).

The script exits with status 1 if the default rule's false-positive rate exceeds 5% in any cell.
Run: ``.venv/bin/python benchmarks/bench_monitoring.py [--sims 4000] [--power-sims 1000] [--protocols a,b]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import nof1  # noqa: E402
from nof1.monitoring import DEFAULT_RULE, evaluate_monitoring, rule_text  # noqa: E402

PROTOCOLS = ("beetroot-juice-rls", "l-citrulline-rls", "citrulline-arginine-rls", "leafy-greens-rls",
             "stop-mouthwash-rls", "evening-exercise-rls")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=4000)
    ap.add_argument("--power-sims", type=int, default=1000, help="simulated trials at 1.5 MCID")
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--protocols", default=",".join(PROTOCOLS))
    ap.add_argument("--phis", default="0.4,0.7")
    args = ap.parse_args()
    print(f"default rule: {rule_text(DEFAULT_RULE)}")
    print(f"{args.sims} simulated trials per cell at effect 0 and {args.power_sims} at 1.5 MCID; sd 1.5; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    head = (f"{'protocol':<24} {'phi':>4} {'looks':>9} {'fpr fixed':>10} {'fpr rule':>14} {'naive':>6} "
            f"{'once':>6} {'power fixed':>11} {'power rule':>10} {'days@0 (p90)':>13} {'days@eff (p90)':>15}"
            "  stop@look (null)")
    print(head)
    worst = 0.0
    t0 = time.perf_counter()
    for pid in args.protocols.split(","):
        p = nof1.load_protocol(ROOT / "protocols" / f"{pid}.yaml")
        for phi in (float(x) for x in args.phis.split(",")):
            ev = evaluate_monitoring(p, sd=1.5, phi=phi, sims=args.sims, seed=args.seed, rule=DEFAULT_RULE,
                                     effect_sims=args.power_sims)
            z, e = ev.null, ev.effect
            assert e is not None
            worst = max(worst, z["rule"].claim_rate)
            looks = ",".join(map(str, ev.scenario["looks_at_pairs"]))
            stops = " ".join(f"{sum(v.values()):.2f}" for v in z["rule"].stopped_at.values()) or "-"
            print(f"{pid:<24} {phi:>4.1f} {looks:>9} {z['fixed'].claim_rate:>10.3f} "
                  f"{z['rule'].claim_rate:>7.3f} ± {z['rule'].claim_se:.3f} {z['naive'].any_effect_rate:>6.3f} "
                  f"{z['fixed_interval'].any_effect_rate:>6.3f} {e['fixed'].claim_rate:>11.3f} "
                  f"{e['rule'].claim_rate:>10.3f} {z['rule'].expected_days:>7.1f} ({z['rule'].p90_days:>3.0f}) "
                  f"{e['rule'].expected_days:>8.1f} ({e['rule'].p90_days:>3.0f})  {stops}", flush=True)
    print(f"largest false-positive rate of the default rule: {worst:.3f} (target <= 0.05: "
          f"{'OK' if worst <= 0.05 else 'EXCEEDED'}); {time.perf_counter() - t0:.0f} s; "
          f"load average {os.getloadavg()[0]:.1f}")
    return 0 if worst <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
