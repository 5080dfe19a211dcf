"""Build the tutorial notebooks from this script (so they can be regenerated and reviewed as code).

Run from the repository root::

    .venv/bin/python notebooks/_build.py            # writes notebooks/0*.ipynb (no outputs)
    .venv/bin/python -m pytest --nbmake notebooks   # executes them

Each notebook starts with a sentence on what it is for and reads as a tutorial. The notebooks find
the repository from their own folder, use small simulation sizes so each runs well under a minute,
and write files only into a temporary folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
from pathlib import Path
import tempfile

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown

import nof1
from nof1 import plot


def say(text):   # prose whose numbers come from the cells above, shown as Markdown
    return Markdown(text)

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
report. The data are the bundled simulated sample (`data/sample/`), so the true effects are known
(`data/sample/true_parameters.json`).
"""),
        code(SETUP),
        code("""
import json

truth = json.loads((ROOT / "data" / "sample" / "true_parameters.json").read_text())["beetroot_log"]
sev = truth["outcomes"]["severity"]
say(f"The sample was simulated with beetroot juice lowering nightly severity by {-sev['effect']:g} "
    f"points, with a carryover time constant of {sev['carryover_days']:g} days.")
"""),
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
continuous = [o.name for o in protocol.ordered_outcomes
              if o.type == "continuous" and o.role != "covariate"]
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
builds up over the first days of each beetroot period and fades after it.
"""),
        code("""
days = trial.data[trial.data["phase"] == "trial"]
wrong = days[days["condition_taken"].astype(object) != days["condition"].astype(object)]
assert len(wrong) == 1 and wrong["condition"].iloc[0] == "B"      # the sentence below says so
day = wrong.iloc[0]
say(f"The primary analysis is *as randomised* (intention to treat): {day['date']:%Y-%m-%d} "
    f"(ringed), the day the {protocol.conditions[day['condition_taken']].label.lower()} was taken "
    f"by mistake, counts as a {protocol.conditions[day['condition']].label.lower()} day, as the "
    "schedule says. The as-treated analysis below follows what was actually taken.")
"""),
        code("""
print("carryover time constant τ (days):", bayes.extras["tau"])
fig = plot.timeline(trial, "severity", result=result)
"""),
        md("""
## Did the juice do anything? Manipulation check, covariate, adherence, blinding

The protocol declares a saliva nitric-oxide strip as a *manipulation check* (did the nitrate reach
the participant at all?), daily stress as a *covariate* adjusted for (it moves severity whatever is
drunk; the check below makes sure the juice does not move it, which would make it a mediator), and
the log holds adherence and the participant's weekly guess of the condition (the blinding check).
"""),
        code("""
from nof1.analysis.sections import section_lines

for which in ("manipulation_checks", "covariates", "adherence", "blinding"):
    for line in section_lines(result, which):
        print(line)
    print()
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


# --------------------------------------------------------------------------- 04
def series_notebook() -> nbformat.NotebookNode:
    cells = [
        md("""
# 4. A series of N-of-1 trials

This notebook is for pooling several people's N-of-1 trials of the same protocol: one joint
analysis gives each person a sharper answer to "does it work for me?", and gives the group the
average effect and how much people differ. It uses the bundled six-person series, whose true
effects are known, so we can check the answers.
"""),
        code(SETUP + """
import json
"""),
        md("""
## Why run a series?

A single N-of-1 trial answers one person's question. When several people run the same protocol —
each from their own start date, with their own randomised order — a joint analysis answers three
more:

* **the average effect μ** in people like these (what a conventional group trial reports);
* **how much people differ**, the between-person sd σ: does the treatment help everyone a
  little, or some people a lot and others not at all?
* **what a new person can expect** before trying it: the predictive distribution of μ + σ·z.

It can also sharpen each person's own answer. A hierarchical (partially pooled) model treats each
person's effect as drawn from the population distribution, so a noisy single-trial estimate is
pulled — *shrunk* — towards the group mean: more when the person's own data say little and people
seem alike, less when their data are clear or people clearly differ. This *borrowing of strength*
is the approach of Zucker et al. (1997), who combined single-patient trials with a Bayesian
hierarchical model (Zucker DR, Schmid CH, McIntosh MW, D'Agostino RB, Selker HP, Lau J. Combining
single patient (N-of-1) trials to estimate population treatment effects and to evaluate
individual patient responses to treatment. *J Clin Epidemiol* 1997;50:401–410).
"""),
        md("""
## The series log

`data/sample/series_log.csv` holds six simulated people who each ran the beetroot-juice protocol
of notebook 2: a 14-day run-in, then four randomised pairs of 14-day periods, rating their
restless-legs severity every night (0–10, lower is better). It is one file with a `participant`
column; the conditions are logged with their unblinded keys (`A` placebo juice, `B` beetroot
juice). `read_log` reads a series like a single trial, and works out each person's start date and
randomised sequence from their own rows.
"""),
        code("""
protocol = nof1.load_protocol(ROOT / "protocols" / "beetroot-juice-rls.yaml")
series = nof1.read_log(ROOT / "data" / "sample" / "series_log.csv", protocol)
print("\\n".join(series.report.text().splitlines()[:3]))

people = pd.DataFrame({
    pid: {"start": info["start"], "sequence": " ".join(info["sequence"]),
          "read from": info["sequence_source"],
          "trial days logged": f"{info['days_logged']} of {info['days_expected']}"}
    for pid, info in series.report.participants.items()
}).T
people
"""),
        md("""
Everyone has their own calendar and their own order of the eight periods (`series.report.text()`
gives the full account, including that the start dates were inferred from the first logged day).
Because the data are simulated, the truth is on file — the sequences above are the allocations
listed in `data/sample/true_parameters.json`, which also holds each person's true effect. We load
it now and look at the effects only at the end.
"""),
        code("""
truth = json.loads((ROOT / "data" / "sample" / "true_parameters.json").read_text())["series_log"]
assert all(people.loc[p, "sequence"].replace(" ", "") == t["allocation"]
           for p, t in truth["participants"].items())
"""),
        md("""
## A first look

Before any model: each person's plain difference in mean severity between beetroot and placebo
days, with the protocol's 4 washout days at the start of each period left out.
"""),
        code("""
d = series.data
steady = d[(d["phase"] == "trial") & ~d["washout"].astype(bool)]
raw = steady.pivot_table(index="participant", columns="condition_taken", values="severity",
                         aggfunc="mean")
raw["B − A"] = raw["B"] - raw["A"]
raw.round(2)
"""),
        code("""
diff = raw["B − A"]
who = ("Everyone's severity is" if (diff < 0).all()
       else f"{(diff < 0).sum()} of {len(diff)} people's severities are")
say(f"{who} lower on beetroot juice, by between about {-diff.max():.1f} and {-diff.min():.1f} "
    "points. How much of that spread is real difference between people, and how much is the noise "
    "of a 16-week trial with autocorrelated nights? That is what the pooled models sort out.")
"""),
        md("""

## The classical counterpart: a linear mixed model

The textbook analysis of a series is a linear mixed model with a random intercept and a random
treatment effect for each person. `method="mixedlm"` fits it (statsmodels, REML) in about a
second. It is here for comparison only: it treats the days as independent — **ignoring the
autocorrelation** of symptoms from one night to the next — and deals with **carryover** only by
dropping the washout days, so its intervals are too narrow.
"""),
        code("""
classical = nof1.pool(series, method="mixedlm", seed=1, own="none")
print(classical.notes[0])
classical.summary()[["participant", "estimate", "ci_low", "ci_high"]].round(2)
"""),
        md("""
## The hierarchical Bayesian model

`nof1.pool` fits one PyMC model to the whole series. Each person has their own baseline, noise
level and night-to-night autocorrelation (partially pooled), and — because these trials are
longer than 12 weeks — their own linear trend. Each person's effect is β_i = μ + σ·z_i. The
protocol says `carryover: model`, so by default the effect also builds up and fades with a time
constant τ shared by everyone.

**Small sampling, for the tutorial only.** The default fit (2 chains × 1000 draws after 1000
tuning steps, with τ) takes a minute or more, much of it compiling the model the first time. To
keep this notebook quick we draw 2 × 300 after 300 tuning steps and leave out the carryover term
(`tau="none"`: the effect switches on and off at once), a smaller model that compiles and samples
somewhat faster. With 14-day periods and carryover of a day or two this pulls the estimates
slightly towards zero, because the first days of each period are counted at full effect. For a
real analysis run the pre-registered model with the default sampling —
`nof1.pool(series, seed=1)`, or on the command line
`nof1 pool protocols/beetroot-juice-rls.yaml data/sample/series_log.csv` — and set
`PYTENSOR_FLAGS=base_compiledir=<folder>` so the compiled model is reused next time.

`pool` also analyses each person's trial on its own (the exact single-trial Bayesian model of
notebook 2) so that their own and their shrunken estimates can be compared.
"""),
        code("""
result = nof1.pool(series, seed=1, draws=300, tune=300, chains=2, cores=1, tau="none")
print("each person's own trial analysed alone with:", result.own_method)
"""),
        md("""
First, convergence. The two chains should agree (r̂ at most 1.01), there should be enough
effectively independent draws (ESS: at least 100 per chain) and no divergent transitions.
`result.notes` says in words what falls short. With only 300 draws per chain some warnings are
expected here: they mean "sample longer before trusting the second decimal" — which is what the
default settings do.
"""),
        code("""
diag = result.diagnostics
print(f"worst r_hat {diag['r_hat_max']:.3f} ({diag['r_hat_var']}); "
      f"smallest bulk ESS {diag['ess_bulk_min']:.0f} ({diag['ess_bulk_var']}); "
      f"smallest tail ESS {diag['ess_tail_min']:.0f} ({diag['ess_tail_var']}); "
      f"divergences {diag['divergences']}")
for note in result.notes:
    print("note:", note)
"""),
        md("""
## What the group learns

Effects are beetroot minus placebo in severity points, so negative is better; the MCID (the
smallest change that matters) is 1 point.
"""),
        code("""
mcid = protocol.primary.mcid
pop, between, new = result.population, result.between_sd, result.new_person

def interval(e, sign="+"):
    return f"{e['estimate']:{sign}.2f} (95% interval {e['ci_low']:{sign}.2f} to {e['ci_high']:{sign}.2f})"

print("population mean effect μ:", interval(pop))
print(f"    P(μ < 0) = {pop['prob_benefit']:.2f};  P(μ < −{mcid:g}) = {pop['prob_meaningful_benefit']:.2f}")
print("between-person sd σ:     ", interval(between, sign=""))
print("a new person's effect:   ", interval(new))
print(f"    P(a new person benefits at all) = {new['prob_benefit']:.2f}")
print(f"    P(a new person benefits meaningfully, by more than {mcid:g} point) = "
      f"{new['prob_meaningful_benefit']:.2f}")
print()
print(f"simulated from: μ = {truth['effect_distribution']['mean']}, σ = "
      f"{truth['effect_distribution']['sd']}; the six drawn effects average "
      f"{truth['drawn_effect_mean']}")
"""),
        code("""
from nof1.formatting import fmt_number, fmt_prob

# the words below hold for these numbers; the checks keep them honest when the numbers move
assert pop["prob_benefit"] > 0.95 and pop["prob_meaningful_benefit"] < 0.8
assert pop["ci_high"] > -mcid > pop["ci_low"]
assert between["ci_low"] < 0.2 and between["ci_high"] > 1
assert new["prob_benefit"] > 0.8 and new["prob_meaningful_benefit"] < 0.5
say(f"The group is almost sure that beetroot juice helps *on average* ({fmt_prob(pop['prob_benefit'])}), "
    f"but not that the average benefit reaches the MCID ({fmt_prob(pop['prob_meaningful_benefit'])}): "
    f"μ's interval runs from {-pop['ci_high']:.1f} to {-pop['ci_low']:.1f} points of benefit. With "
    "six people the between-person sd is poorly pinned down — its interval runs from "
    f"{between['ci_low']:.2f} to {between['ci_high']:.1f} points — so the prediction for a new "
    f"person is wide: they would very likely benefit somewhat ({fmt_prob(new['prob_benefit'])}), but "
    f"the chance of a meaningful benefit is below one half ({fmt_prob(new['prob_meaningful_benefit'])}). "
    "That is the honest answer for the next person considering the juice: try it, in your own "
    "N-of-1 trial.")
"""),
        md("""

## What each person learns

Each person's shrunken estimate next to their own single-trial estimate, the mixed model's
estimate and the true effect the data were simulated with:
"""),
        code("""
rows = result.summary().query("kind == 'participant'").set_index("participant")
blups = classical.summary().query("kind == 'participant'").set_index("participant")
table = pd.DataFrame({
    "true effect": pd.Series({p: t["severity_effect"] for p, t in truth["participants"].items()}),
    "own": rows["own_estimate"], "own low": rows["own_ci_low"], "own high": rows["own_ci_high"],
    "shrunken": rows["estimate"], "shrunken low": rows["ci_low"], "shrunken high": rows["ci_high"],
    "P(meaningful benefit)": rows["prob_meaningful_benefit"],
    "mixed model": blups["estimate"],
}).astype(float)
table.round(2)
"""),
        code("""
true = table["true effect"]
for name in ("own", "shrunken"):
    rmse = ((table[name] - true) ** 2).mean() ** 0.5
    width = (table[f"{name} high"] - table[f"{name} low"]).mean()
    covered = (table[f"{name} low"] <= true) & (true <= table[f"{name} high"])
    print(f"{name:>8}: root-mean-square error {rmse:.2f}, mean 95% interval width {width:.2f}, "
          f"intervals covering the true effect: {covered.sum()} of {len(true)}")
"""),
        code("""
def err(name, p):
    return abs(table.loc[p, name] - table.loc[p, "true effect"])

def covers(name, p):
    return table.loc[p, f"{name} low"] <= table.loc[p, "true effect"] <= table.loc[p, f"{name} high"]

rmse = {name: ((table[name] - true) ** 2).mean() ** 0.5 for name in ("own", "shrunken")}
dist, drawn = truth["effect_distribution"], table["true effect"]
# the words below hold for these numbers; the checks keep them honest when the numbers move
assert err("shrunken", "P02") < err("own", "P02") and err("shrunken", "P04") < err("own", "P04")
assert rmse["shrunken"] > rmse["own"]                                 # no pay-off on average
assert covers("own", "P06") and not covers("shrunken", "P06")
assert err("own", "P01") < err("shrunken", "P01") and err("own", "P05") < err("shrunken", "P05")
assert drawn.std() > dist["sd"] > between["estimate"]
assert classical.between_sd["estimate"] > between["estimate"]
say(f\"\"\"
Read the table against the truth. Shrinkage pulls everyone towards the group mean, and the pooled
intervals are narrower — the borrowed strength. For P02 and P04, whose own trials overstated and
understated their effects, that helps. But shrinkage is a bet that people are alike unless their
data clearly say otherwise, and in this series the bet does not pay off on average (root-mean-square
error {rmse['shrunken']:.2f} shrunken against {rmse['own']:.2f} own):

* **P06** really is different (true effect {fmt_number(drawn['P06'], minus='−')}, about
  {(dist['mean'] - drawn['P06']) / dist['sd']:.1f} population sds from the mean), and their own
  trial shows it. With six people the model cannot tell a truly different person from a lucky
  one, so it pulls P06 a long way towards the group, and the shrunken interval misses the truth.
* **P01 and P05** have small true effects ({fmt_number(drawn['P01'], minus='−')} and {fmt_number(drawn['P05'], minus='−')}), which their
  own trials happened to estimate closely; shrinkage moves them towards the mean of about
  {fmt_number(pop['estimate'], 1, minus='−')}.

The six drawn effects happen to be more spread out (sd about {drawn.std():.1f}) than the population
they were drawn from (σ = {dist['sd']:g}), while the data of six people suggest less spread than
that (σ about {between['estimate']:.2f}), so the model shrinks more than the truth warrants. The
mixed model, whose point estimate of σ is larger ({classical.between_sd['estimate']:.2f}), shrinks
less.
\"\"\")
"""),
        md("""
Over many series shrinkage lowers the average error — in the checks of `docs/scaling.md` it did so
in 37 of 48 simulated series of eight people — but not for every person or every series. Report
both estimates; for a person whose own trial is clear, their own estimate is their answer, and the
shrunken one says how it looks in the light of everyone else.

## The forest plot

The forest plot shows the same numbers: for each person their own estimate (open circle) and
shrunken estimate (filled), then the population mean and a new person (diamonds). The grey band is
±MCID: effects inside it are too small to matter.
"""),
        code("""
fig = plot.pooled_forest(result)
"""),
        md("""
`result.summary()` and `result.forest_data()` are the tables behind this, and `result.to_dict()`
(or `to_json()`) is the machine-readable result of `nof1 pool --json`, with the seed, settings,
diagnostics and the protocol's fingerprint for reproducibility:
"""),
        code("""
path = OUT / "pooled-severity.json"
path.write_text(result.to_json())
summary = result.to_dict()
print(path.name, "keys:", ", ".join(summary))
print("settings:", summary["settings"])
"""),
        md("""
## Scaling up: many people, many machines

The pooled model is one joint fit whose cost grows linearly with the number of people; its chains
can run in parallel on one machine (`cores=2`). The per-person work — each person's own
single-trial analysis, or one simulation per grid point of a design sweep — is independent, and
`nof1.distributed` runs it either here, one after the other, or on a
[Dask](https://distributed.dask.org) cluster when given a `Client`. Each task's seed comes from
the run's seed and the task's identity (the participant id), never from the worker, so results do
not depend on where they ran. Without a client it runs locally:
"""),
        code("""
from nof1.distributed import map_participants

def own_gls(single_trial, *, seed):
    res = nof1.analyze(single_trial, outcomes=["severity"], methods=["gls_ar1"], seed=seed)
    return round(res.get("severity", "gls_ar1").estimate, 2)

map_participants(own_gls, series, seed=1)     # no client: runs here
"""),
        md("""
On a cluster the same call takes `client=Client(...)` — for example
`Client(LocalCluster(n_workers=2))` on one machine, or `Client("tcp://scheduler:8786")` for a
cluster started with `dask scheduler` and `dask worker` — and `nof1.pool(series, client=client)`
runs the own fits there. Functions sent to process-based workers must be importable (defined in a
module, not in a notebook). We do not start a cluster here: `docs/scaling.md` has the details, the
measured cost of the pooled model (50 people × 56 days: 30–45 s on two cores, more when the
machine is busy) and
`run_design_sweep` for design grids.
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


# --------------------------------------------------------------------------- 05
def interim_notebook() -> nbformat.NotebookNode:
    cells = [
        md("""
# 5. Four weeks in: should I keep going? Stopping rules and priors

This notebook is for the middle of a trial. Four weeks into the beetroot-juice trial (trial day
28, calendar day 42 after the 14-day run-in) it asks what the data say so far, how likely each
final verdict is if the trial runs to its end (or longer), what the pre-registered stopping rule
says, and how much the answers lean on the priors and on the assumed onset time.
"""),
        code(SETUP),
        md("""
## The trial as it stood on day 42

`nof1.interim` works on a log that ends today, with missing days. Here we take the bundled sample
log and look at it as it stood at the end of calendar day 42 (one complete pair of periods).
"""),
        code("""
protocol = nof1.load_protocol(ROOT / "protocols" / "beetroot-juice-rls.yaml")
log = nof1.read_log(ROOT / "data" / "sample" / "beetroot_log.csv", protocol)
status = nof1.interim(log, seed=1, day=42, completions=400)
print("\\n".join(status.text()))
"""),
        md("""
**How the predictive probabilities are made.** The exact engine gives the joint posterior of the
autocorrelation φ, the onset time τ, the noise sd σ, the effect and the level. For each of 400
joint draws the remaining 84 days are simulated from the model (the AR(1) noise continues from the
last observed day; days go unlogged at the rate seen so far), and the completed trial is analysed
exactly as the real one will be. The share of completions ending with each verdict is its
predictive probability; with 400 completions its Monte Carlo SE is at most 0.025.
"""),
        code("""
table = status.summary().set_index("horizon")
ax = table.drop(columns=["end_day", "days_to_go"]).plot.barh(stacked=True, figsize=(8, 2.6), width=0.7)
ax.set_xlabel("predictive probability of the final verdict")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=2, frameon=False)
ax.invert_yaxis()
table
"""),
        md("""
Extending the trial by one or two pairs makes a conclusive verdict somewhat more likely, but most
of the uncertainty is about the effect itself, not about the number of days.

## The stopping rule, and what it costs in errors
"""),
        code("""
rule = protocol.analysis.monitoring
looks = list(range(rule.min_pairs, protocol.design.randomization.pairs, rule.every_pairs))
say(f"The protocol fixes a stopping rule before the data (`analysis.monitoring`): looks after pair "
    f"{', '.join(map(str, looks))} (and the end); stop for efficacy when P(meaningful benefit) >= "
    f"{rule.efficacy.prob:g}, for futility when the predictive probability of a benefit verdict at "
    f"the planned end falls below {rule.futility.prob:g}, for harm when P(meaningful harm) >= "
    f"{rule.harm.prob:g}. Day 42 is before the first look, so the rule says *continue*.")
"""),
        md("""
Is the rule safe? `evaluate_monitoring` simulates the whole sequential trial many times at a true
effect of 0 (how often does it wrongly claim a benefit?) and at 1.5 MCID (how often does it find
it, and how soon?), next to the fixed design and the naive habit of stopping as soon as the 95%
interval excludes 0 (small simulation here; `benchmarks/bench_monitoring.py` runs 4,000 trials
per cell).
"""),
        code("""
from nof1.monitoring import evaluate_monitoring

ev = evaluate_monitoring(protocol, sd=1.5, phi=0.4, sims=300, seed=1)
ev.summary()[["rule", "false_positive_rate", "any_effect_claimed_at_0", "power", "expected_days",
              "expected_days_at_0"]].round(3)
"""),
        md("""
The rule's false-positive rate stays far below 5% while it stops most no-effect trials early
for futility (expected duration at no effect well under the planned 112 days). Naive peeking
after every pair claims an effect (on either side) in about twice as many no-effect trials as
the same interval read once at the end.

## What did we assume? Prior and onset sensitivity

The analysis of the first 42 days under the sceptical, default and (for systolic blood pressure,
where published evidence exists) evidence priors:
"""),
        code("""
from nof1.interim_analysis import as_of

early = as_of(log, 42)
result = nof1.analyze(early, outcomes=["severity", "systolic_bp"], methods=["bayes"], seed=1)
for outcome in ("severity", "systolic_bp"):
    ps = result.prior_sensitivity(outcome)
    display(ps.summary()[["prior", "mean", "sd", "used", "estimate", "ci_low", "ci_high",
                          "prob_meaningful_benefit", "verdict"]].round(2))
    print(ps.sentence)
print(protocol.analysis.prior.evidence["systolic_bp"].source)
"""),
        md("""
And the primary estimate with the onset time τ fixed at 0, 1, 2 and 4 days next to the main
analysis, which estimates τ under its prior:
"""),
        code("""
onset = result.onset_sensitivity()
display(onset.summary()[["analysis", "estimate", "ci_low", "ci_high", "prob_meaningful_benefit"]].round(2))
print(onset.sentence)
"""),
        md("""
## Four weeks later

At day 70 the second pair is complete: the first planned look. The rule is applied with the data
as they stood at the end of that pair; the sample also had a two-day headache episode in the
meantime, and a safety alert always comes first.
"""),
        code("""
later = nof1.interim(log, seed=1, day=70, completions=400)
print(later.monitoring["look"])
print(later.recommendation)
print("\\n".join(later.reasons))
"""),
    ]
    return new_notebook(cells=cells, metadata=_metadata())


NOTEBOOKS = {
    "01_design_a_trial.ipynb": design_notebook,
    "02_analyse_beetroot_trial.ipynb": analyse_notebook,
    "03_carryover_and_washout.ipynb": carryover_notebook,
    "04_series_of_trials.ipynb": series_notebook,
    "05_interim_and_priors.ipynb": interim_notebook,
}


def _keep_ids(nb: nbformat.NotebookNode, path: Path) -> None:
    """Reuse the cell ids of the notebook already at ``path`` for cells that did not change.

    nbformat gives new cells random ids, so without this every rebuild would rewrite every
    notebook; with it, an unchanged notebook comes out byte-identical.
    """
    if not path.exists():
        return
    old = nbformat.read(path, as_version=4)
    for new_cell, old_cell in zip(nb.cells, old.cells, strict=False):
        if (new_cell.cell_type, new_cell.source) == (old_cell.cell_type, old_cell.source) and "id" in old_cell:
            new_cell.id = old_cell.id


#: Numbers that prose may state without a cell computing them: rules and constants, not results.
PROSE_CONSTANTS = frozenset({
    "1.01",     # the r-hat threshold of the convergence checks
    "0.025",    # the largest Monte Carlo SE of a probability from 400 completions, sqrt(0.25/400)
    "0.125",    # 2/16: the smallest p-value of a randomisation test over 16 allocations
    "0.05",     # the significance level of the classical tests
})
_PROSE_NUMBER = re.compile(r"(?<![\w.])[−-]?\d+\.\d+|\b\d{4}-\d{2}-\d{2}\b")


def prose_numbers_typed_by_hand(nb: nbformat.NotebookNode) -> list[str]:
    """Numbers in a notebook's Markdown that no code cell holds: results typed into the prose.

    A result belongs in the output of the cell that computes it (``say(f"...")`` renders a
    sentence with its numbers as Markdown), so that the prose cannot go stale when the results
    move. Prose may repeat an input that a code cell sets (an effect of -1.2 simulated, a period
    length), a rule (:data:`PROSE_CONSTANTS`) and whole numbers; decimals and dates must come
    from a cell.
    """
    code_text = " ".join(c.source for c in nb.cells if c.cell_type == "code").replace("−", "-")
    found = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for m in _PROSE_NUMBER.finditer(cell.source):
            token = m.group(0).replace("−", "-")
            if token.lstrip("-") in PROSE_CONSTANTS or token in code_text:
                continue
            context = cell.source[max(0, m.start() - 40): m.end() + 20].replace("\n", " ")
            found.append(f"{token!r} in ...{context}...")
    return found


def main() -> None:
    for name, build in NOTEBOOKS.items():
        nb = build()
        typed = prose_numbers_typed_by_hand(nb)
        if typed:
            raise SystemExit(f"{name}: numbers typed into the prose (compute them in a cell and "
                             "show them with say(...)):\n  " + "\n  ".join(typed))
        path = HERE / name
        _keep_ids(nb, path)
        nbformat.validate(nb)
        text = nbformat.writes(nb) + "\n"
        if path.exists() and path.read_text(encoding="utf-8") == text:
            print("unchanged", path)
            continue
        path.write_text(text, encoding="utf-8")
        print("wrote", path)


if __name__ == "__main__":
    main()
