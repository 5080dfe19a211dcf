"""Build the tutorial notebooks from this script (so they can be regenerated and reviewed as code).

Run from the repository root::

    .venv/bin/python notebooks/_build.py            # writes notebooks/0*.ipynb (no outputs)
    .venv/bin/python -m pytest --nbmake notebooks   # executes them

Each notebook starts with a sentence on what it is for and reads as a tutorial. The notebooks find
the repository from their own folder, use small simulation sizes so each runs well under a minute,
and write files only into a temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
from pathlib import Path
import tempfile

import matplotlib.pyplot as plt
import pandas as pd

import nof1
from nof1 import plot

# The repository root (the notebooks live in notebooks/).
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "protocols").is_dir())
OUT = Path(tempfile.mkdtemp(prefix="nof1-notebook-"))   # anything we write goes here
pd.set_option("display.width", 120)
"""


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip())


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(text.strip())


# --------------------------------------------------------------------------- 01
def design_notebook() -> nbformat.NotebookNode:
    cells = [
        md("""
# 1. Design an N-of-1 trial

This notebook is for planning: it turns a question ("does beetroot juice help my restless legs?")
into a protocol file, shows the day-by-day schedule it implies, and checks by simulation whether the
design can answer the question before a single day is logged.
"""),
        code(SETUP),
        md("""
## The protocol

A protocol is a small YAML file written *before* the trial. It fixes what is compared (the
conditions), in what order and for how long (the design), what is measured (the outcomes) and how
it will be analysed. The bundled example compares concentrated beetroot juice with a
nitrate-depleted placebo juice in four randomised pairs of 14-day periods.
"""),
        code("""
protocol = nof1.load_protocol(ROOT / "protocols" / "beetroot-juice-rls.yaml")
for line in protocol.summary_lines():
    print(line)
print("fingerprint:", protocol.fingerprint)
"""),
        md("""
The **fingerprint** is a hash of the protocol's content. Quote it when you start: anyone can later
check that the analysis used exactly the plan you wrote down, not one adjusted after seeing the data.

You can also write a protocol in code. Validation happens immediately, with readable messages:
"""),
        code("""
small = nof1.Protocol.model_validate({
    "schema_version": 1, "id": "coffee-sleep", "title": "Afternoon coffee and sleep",
    "conditions": {"A": {"label": "No coffee after 12:00", "role": "control"},
                   "B": {"label": "Coffee at 15:00", "role": "treatment"}},
    "design": {"period_days": 7, "randomization": {"scheme": "pairs", "pairs": 3, "seed": 42},
               "washout_days": 1, "blinding": "none"},
    "outcomes": [{"name": "sleep_quality", "type": "continuous", "range": [0, 10],
                  "better": "higher", "mcid": 1, "role": "primary"}],
})
print(small.sequence, small.total_days, "days")

from nof1.protocol import protocol_from_dict

broken = small.model_dump(mode="json", exclude_none=True)
broken["design"]["period_days"] = 0
broken["outcomes"][0]["better"] = "smaller"
try:
    protocol_from_dict(broken)
except nof1.ProtocolError as err:   # every problem, with where it is
    print(err)
"""),
        md("""
## The schedule

The randomisation seed turns the scheme (each pair AB or BA by coin flip) into a fixed sequence.
The period table is what you (or the helper who prepares blinded bottles) follow:
"""),
        code("""
from nof1.schedule import blinded_view, log_template, period_table

period_table(protocol)
"""),
        md("""
The first `washout_days` of each period are marked as washout: analyses that *exclude* carryover
leave them out, the Bayesian carryover model uses them (notebook 3 explains why). In a blinded
trial the participant sees codes, not condition names:
"""),
        code("""
schedule = protocol.schedule()
blinded_view(protocol, schedule).iloc[12:20]
"""),
        md("""
A blank log sheet with every date and a column per outcome is one call away (the command line
equivalent is `nof1 template PROTOCOL -o log.csv`):
"""),
        code("""
sheet = log_template(protocol)
sheet.to_csv(OUT / "log_sheet.csv", index=False)
sheet.head(3)
"""),
        md("""
## Can this design answer the question?

Power depends on how big the effect is compared with the day-to-day noise, on how strongly
consecutive days are correlated (φ), and on how many times the conditions alternate. We assume an
effect of −1.2 points (a bit more than the MCID of 1), a day-to-day sd of 1.5, φ = 0.4 and a
carryover time constant of 1.5 days, and simulate the trial many times. (`sims` is small here so the
notebook runs fast; use 1000+ for a real decision.)
"""),
        code("""
from nof1 import design

evaluation = design.evaluate(protocol, effect=-1.2, sd=1.5, phi=0.4, carryover_days=1.5,
                             sims=200, seed=1)
print(evaluation)
"""),
        md("""
`power` is how often each method reaches its success criterion when the effect is real; `fpr` how
often it does when there is no effect (it should be near 5% or lower). Note the randomisation test:
with 4 pairs there are only 16 possible allocations, so its p-value can never go below 2/16 = 0.125
— it *cannot* succeed with this design, however large the effect.

Now compare alternatives: shorter or longer periods, more or fewer pairs.
"""),
        code("""
comparison = design.compare(protocol, {"period_days": [7, 14], "pairs": [2, 4, 6]},
                            effect=-1.2, sd=1.5, phi=0.4, carryover_days=1.5, sims=120, seed=1)
comparison.table[["rank", "period_days", "pairs", "total_days", "power_bayes", "power_gls_ar1",
                  "current"]]
"""),
        code("""
fig = plot.design_comparison(comparison.table, power=["power_bayes", "power_gls_ar1"])
"""),
        md("""
The two methods answer different questions, and the plot shows it. `gls_ar1` power is the chance
of detecting *some* benefit (p < 0.05): it grows with every extra pair. Bayesian power is the chance
of the verdict "likely meaningful benefit", i.e. of being at least 80% sure the benefit is larger
than the MCID. When the true effect (1.2 points) is barely above the MCID (1 point), that takes far
more data than detecting an effect at all — so it barely moves across these designs. This is not a
flaw: it is the honest answer to "will I be able to tell whether the benefit is big enough to
matter?". If that is your question, a longer trial will not rescue a small effect; if any benefit is
worth having, plan on the `gls_ar1` curve.

At equal total length, shorter periods give more pairs but lose a larger share of their days to
washout. Pick the shortest design that reaches the power you want for *your* question, write it
into the protocol, and note the new fingerprint before you start.
"""),
    ]
    return new_notebook(cells=cells, metadata=_metadata())


# --------------------------------------------------------------------------- 02
def analyse_notebook() -> nbformat.NotebookNode:
    cells = [
        md("""
# 2. Analyse the beetroot-juice trial

This notebook walks through the analysis of a finished N-of-1 trial: reading the log (and the
problems found in it), running every analysis, reading the plots, and writing the shareable HTML
report. The data are the bundled simulated sample (`data/sample/`), so the true effects are known:
beetroot juice lowers nightly severity by 1.2 points, with a carryover time constant of 1.5 days.
"""),
        code(SETUP),
        md("""
## Reading the log

Real logs are messy. `read_log` aligns the log to the protocol's schedule and accounts for every
row: used, or dropped with the reason. Here is the messy export of the sample; a day logged twice
with different values needs a policy (`duplicates="last"` keeps the later entry).
"""),
        code("""
protocol = nof1.load_protocol(ROOT / "protocols" / "beetroot-juice-rls.yaml")
messy = nof1.read_log(ROOT / "data" / "sample" / "beetroot_log_messy.csv", protocol, duplicates="last")
print(messy.report.text())
"""),
        md("""
Nothing is changed silently: out-of-range values, a non-number, an unknown condition code and the
duplicates are all listed with their line. We continue with the clean version of the same log.
"""),
        code("""
trial = nof1.read_log(ROOT / "data" / "sample" / "beetroot_log.csv", protocol)
print(trial.report.text())
"""),
        md("""
## Looking before testing

Plot the primary outcome over time first. The background shows the condition of each period (the
participant was blinded; the analysis is not), hatching marks washout days, and ticks at the bottom
mark missing days.
"""),
        code("""
fig = plot.timeline(trial, "severity")
"""),
        code("""
fig = plot.period_means(trial, "severity")
"""),
        md("""
Each line joins the two periods of a pair. Beetroot periods are lower in every pair — the pattern of
a consistent effect — but four pairs are few, so we need the analyses to say how sure we can be.

## Analysing

`nof1.analyze` runs every method that applies to each outcome: the Bayesian model with carryover
and autocorrelation (`bayes`, giving the probabilities behind the verdict), regression with AR(1)
errors (`gls_ar1`), the paired-periods t-interval, the randomisation test, a naive t-test for
comparison only, and the non-overlap indices. The exact (grid) engine fits continuous outcomes in
well under a second. Ordinal and count outcomes (headache, awakenings) need PyMC and are left out
here to keep the notebook fast; analyse them with `nof1 analyze ... --outcome headache`.
"""),
        code("""
continuous = [o.name for o in protocol.ordered_outcomes if o.type == "continuous"]
result = nof1.analyze(trial, outcomes=continuous, seed=1, engine="exact")
summary = result.summary()
summary[summary["outcome"] == "severity"][["method", "estimate", "ci_low", "ci_high", "p_value",
                                             "prob_benefit", "prob_meaningful_benefit"]].round(3)
"""),
        code("""
print("verdict for severity:", result.verdict("severity"))
"""),
        md("""
Why "inconclusive" when every estimate points to benefit? Because the question is not only
"is beetroot better?" but "is it better *by enough to matter*?". With four pairs the posterior is
almost sure of *some* benefit, but still wide enough that a benefit smaller than the MCID of one
point remains quite plausible — so the honest answer is that more pairs would tell.

The estimates agree in direction; their intervals differ because the methods make different
assumptions. The forest plot puts them side by side with the ±MCID band (effects too small to
matter). NAP and Tau are indices, not effects in points, so they are listed under the plot.
"""),
        code("""
fig = plot.forest(result, "severity")
"""),
        md("""
The Bayesian posterior says how plausible each size of effect is, and gives the three
probabilities behind the verdict: a meaningful benefit (beyond −1 point), a negligible difference,
a meaningful harm. The verdict rules (fixed in the protocol before unblinding) ask for at least 80%
probability of a meaningful benefit before calling it "likely".
"""),
        code("""
bayes = result.get("severity", "bayes")
print({k: round(bayes.extras[k], 3) for k in ("prob_benefit", "prob_meaningful_benefit",
                                               "prob_negligible", "prob_meaningful_harm")})
fig = plot.effect_posterior(bayes, protocol.outcome("severity"))
"""),
        md("""
The model also estimates how fast the effect appears and fades (the carryover time constant τ).
The timeline can show its fitted mean with that carryover curve and a 95% credible band: the effect
builds up over the first days of each beetroot period and fades after it. Note the dip on
2027-02-18 (ringed), the day the placebo bottle was taken by mistake: the model follows what was
taken, not the schedule.
"""),
        code("""
print("carryover time constant τ (days):", bayes.extras["tau"])
fig = plot.timeline(trial, "severity", result=result)
"""),
        md("""
## Safety

Nitrate lowers blood pressure. The protocol declares systolic BP as a safety outcome with an alert
below 90 mmHg; the safety plot shows the threshold and any alert days.
"""),
        code("""
try:
    from nof1.safety import safety_alerts
    alerts = safety_alerts(trial)
except ModuleNotFoundError:
    alerts = []
print(len(alerts), "alert(s)")
fig = plot.safety(trial, "systolic_bp", alerts)
"""),
        md("""
## Sensitivity to the washout

The classical methods drop the first days of each period. Does the answer depend on how many?
"""),
        code("""
sensitivity = nof1.washout_sensitivity(trial, "severity")
fig = plot.washout_sensitivity(sensitivity, mcid=protocol.outcome("severity").mcid)
sensitivity.round(3)
"""),
        md("""
## The report

Everything above — plus the protocol, a CENT-style account of the trial, caveats in plain words and
what is needed to reproduce the numbers — goes into one self-contained HTML file that opens offline.
"""),
        code("""
from nof1.report import render

path = render(result, OUT / "beetroot-report.html", sensitivity=sensitivity)
print(path, f"{path.stat().st_size / 1e6:.1f} MB")
plt.close("all")
"""),
        md("""
The command line does the same in one step: `nof1 analyze PROTOCOL LOG --report report.html`.
"""),
    ]
    return new_notebook(cells=cells, metadata=_metadata())


# --------------------------------------------------------------------------- 03
def carryover_notebook() -> nbformat.NotebookNode:
    cells = [
        md("""
# 3. Carryover and washout

This notebook explains why an effect that takes days to appear and fade (carryover) biases a naive
comparison of conditions, what dropping washout days does and does not fix, and how the carryover
model and the washout sensitivity analysis deal with it — using simulations where the true effect
is known.
"""),
        code(SETUP + """
import numpy as np
from nof1.models.exposure import exposure
"""),
        md("""
## An effect that builds up and fades

nof1 describes carryover as a first-order process: after a switch, the exposure to the treatment
moves towards its new level with time constant τ days (63% of the way after τ days, 95% after 3τ).
Here is the exposure for two 14-day periods on, two off, for three values of τ:
"""),
        code("""
u = np.tile(np.repeat([0.0, 1.0], 14), 2)          # off 14 days, on 14 days, twice
fig, ax = plt.subplots(figsize=(8, 3), layout="constrained")
for tau in (0.5, 1.5, 4.0):
    ax.plot(np.arange(1, u.size + 1), exposure(u, tau), label=f"τ = {tau} days")
ax.step(np.arange(1, u.size + 1), u, where="mid", color="grey", ls=":", label="taken")
ax.set_xlabel("day"); ax.set_ylabel("exposure (share of full effect)"); ax.legend(frameon=False)
"""),
        md("""
With τ = 4 days the first week of every period is a mixture of the old and the new condition.
A comparison that averages all days of each condition therefore sees less than the full
(steady-state) effect: it is **biased towards zero**.

## How big is the bias?

We simulate 2000 trials of the beetroot protocol with a true effect of −1.2 points and τ = 4 days,
and compare the two conditions by their plain means — once with all days, and once dropping the
first *w* days of every period as washout.
"""),
        code("""
protocol = nof1.load_protocol(ROOT / "protocols" / "beetroot-juice-rls.yaml")
TRUE_EFFECT, TAU = -1.2, 4.0

def with_washout(days):
    raw = protocol.model_dump(mode="json", exclude_none=True)
    raw["design"]["washout_days"] = days
    return nof1.protocol.protocol_from_dict(raw)

rows = []
for w in (0, 2, 4, 7):
    batch = nof1.simulate_batch(with_washout(w), effect=TRUE_EFFECT, sd=1.5, phi=0.4,
                                carryover_days=TAU, n=2000, seed=1)
    d = batch.difference(exclude_washout=True)
    rows.append({"washout days dropped": w, "mean estimate": d.mean(),
                 "bias": d.mean() - TRUE_EFFECT, "sd of estimate": d.std()})
naive = pd.DataFrame(rows).round(3)
naive
"""),
        md("""
With no washout the average estimate is well short of −1.2. Dropping days helps, but only when
the washout is long compared with τ — and every dropped day makes the estimate noisier (the sd
grows). With τ unknown in advance, a fixed washout is a guess: too short leaves bias, too long
throws away data.

"""),
        md("""
## The carryover model

The Bayesian model in nof1 does not drop days: it fits the exposure curve itself, estimating τ
along with the steady-state effect, the day-to-day correlation and the noise. τ has a prior — by
default log-normal with a median of 1 day (`analysis.tau_prior` in the protocol).
`nof1.design.evaluate` simulates trials and analyses each one (the exact engine, batched), so we
can check the bias the same way. `gls_ar1` drops the protocol's 4-day washout; the model uses
every day. We run the model twice: with the default τ prior, and with a protocol whose prior
expects slow carryover (median 4 days), as someone who knew the treatment's kinetics would have
pre-registered.
"""),
        code("""
from nof1 import design

slow_prior = protocol.model_dump(mode="json", exclude_none=True)
slow_prior["analysis"]["tau_prior"] = {"median": 4.0, "sigma": 0.7}
slow_prior = nof1.protocol.protocol_from_dict(slow_prior)

rows = []
for label, proto, methods in [("default τ prior, median 1 day", protocol, ("bayes", "gls_ar1")),
                              ("τ prior median 4 days", slow_prior, ("bayes",))]:
    ev = design.evaluate(proto, effect=TRUE_EFFECT, sd=1.5, phi=0.4, carryover_days=TAU,
                         sims=200, seed=2, methods=methods)
    for _, r in ev.summary().iterrows():
        name = "gls_ar1 (4 washout days dropped)" if r["method"] == "gls_ar1" else f"bayes ({label})"
        rows.append({"method": name, "mean estimate": r["mean_estimate"],
                     "bias": r["mean_estimate"] - TRUE_EFFECT,
                     "mean interval width": r["mean_ci_width"]})
pd.DataFrame(rows).round(3)
"""),
        md("""
Read the table honestly. With τ = 4 days, longer than the 4-day washout, `gls_ar1` is still pulled
towards zero. The model with the default prior is pulled about as much: four pairs cannot pin down
τ, so its estimate of τ leans on the prior (about a day) and it under-corrects. With a prior that
expects slow carryover, the model's average estimate is close to the true −1.2 — at the price of a
wider interval, because it now admits that the first days of each period carry less information.
Modelling carryover is only as good as what you tell the model about τ: pre-register a prior that
matches the treatment's known kinetics.

## Washout sensitivity on one trial

In a real trial we do not know τ. The washout sensitivity analysis re-runs the classical methods
with 0, 2, 4 and 7 days dropped: an estimate that grows as more days are dropped is the signature
of carryover. Here is one simulated trial with τ = 4 days that shows the pattern clearly (in a
single trial it is noisy — not every simulated trial shows it this well):
"""),
        code("""
log = nof1.simulate(protocol, effect={"severity": TRUE_EFFECT}, sd={"severity": 1.5},
                    baseline={"severity": 5.5}, phi=0.4, carryover_days=TAU, seed=12,
                    outcome="severity")
trial = nof1.TrialData.from_frame(protocol, log)
fig = plot.timeline(trial, "severity")
"""),
        code("""
sensitivity = nof1.washout_sensitivity(trial, "severity")
fig = plot.washout_sensitivity(sensitivity, mcid=1.0)
sensitivity[["washout_days", "method", "estimate", "ci_low", "ci_high", "n_days"]].round(2)
"""),
        md("""
**Take-aways.** Plan a washout at least as long as you expect the effect to take to appear and
fade (about 3τ); keep logging during washout days; pre-register `carryover: model` with a τ prior
that matches what is known about the treatment, so that the primary analysis uses every day; and
read the washout sensitivity: if estimates drift as more days are dropped, carryover is at work and
a short washout (or a too-confident τ prior) understates the effect.
"""),
        code("""
plt.close("all")
"""),
    ]
    return new_notebook(cells=cells, metadata=_metadata())


def _metadata() -> dict:
    return {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }


NOTEBOOKS = {
    "01_design_a_trial.ipynb": design_notebook,
    "02_analyse_beetroot_trial.ipynb": analyse_notebook,
    "03_carryover_and_washout.ipynb": carryover_notebook,
}


def main() -> None:
    for name, build in NOTEBOOKS.items():
        nb = build()
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
