"""Blinding check: did the placebo fool the participant? Bang's and James' blinding indices.

A log column ``guess`` holds, on the days it is asked (e.g. at the end of every week), the
condition the participant believes they had, or "don't know". Cross-tabulated against what was
actually taken (rows: guessed treatment, guessed control, don't know; columns: treatment,
control) it gives:

* **Bang's index** per condition (Bang, Ni & Davis 2004, Control Clin Trials 25:143):
  BI = (correct − incorrect) / n, with n including "don't know". 0 = random guessing, 1 = every
  guess right (unblinded), −1 = every guess wrong (opposite guessing). SE² = [p_c(1−p_c) +
  p_i(1−p_i) + 2·p_c·p_i] / n.
* **James' index** for the whole trial (James, Bloch, Lee, Kraemer & Fuller 1996, Stat Med
  15:1421): a kappa-type agreement between guess and truth that counts "don't know" as blinded,
  with weights 0 (correct), 0.5 (incorrect) and 1 (don't know): BI = (1 + P_dk + (1 − P_dk)·κ_d)/2,
  between 0 (complete unblinding) and 1 (complete blinding), 0.5 = random guessing; blinding is
  judged lost when the upper limit of the interval is below 0.5. Its large-sample variance is the
  one given by James et al. (1996).

Intervals are normal approximations at the protocol's ``ci_level``. The guesses of one person
are not independent (they may repeat a belief), so the intervals are on the optimistic side.
Checked against the published worked example of Houweling et al. (2014, Clin Trials 11:547,
table 2; the values in the R package BI and BlindingIndex.jl) in ``tests/test_blinding.py``.

Example:
    >>> r = bang_index(correct=48, incorrect=4, dont_know=330)
    >>> round(r["index"], 3), round(r["se"], 3)
    (0.115, 0.018)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nof1.constants import CI_LEVEL

if TYPE_CHECKING:
    from nof1.data import TrialData

__all__ = ["DONT_KNOW", "bang_index", "blinding_check", "guess_table", "james_index"]

#: How "don't know" is stored in ``TrialData.data["guess"]``.
DONT_KNOW = "dont_know"
#: |Bang index| at most this is usually read as successful blinding (Bang et al. 2010).
BANG_NEGLIGIBLE = 0.2


def _z(ci_level: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.5 + ci_level / 2))


def bang_index(correct: int, incorrect: int, dont_know: int, *, ci_level: float = CI_LEVEL
               ) -> dict[str, Any]:
    """Bang's blinding index of one condition from its guess counts, with an interval.

    Example:
        >>> bang_index(correct=5, incorrect=5, dont_know=0)["index"]
        0.0
    """
    n = int(correct) + int(incorrect) + int(dont_know)
    out: dict[str, Any] = {"n": n, "correct": int(correct), "incorrect": int(incorrect),
                           "dont_know": int(dont_know)}
    if n == 0 or correct + incorrect == 0:
        out.update(index=None, se=None, ci_low=None, ci_high=None,
                   reason="no guesses" if n == 0 else "only \"don't know\" answers")
        return out
    pc, pi = correct / n, incorrect / n
    bi = pc - pi
    se = math.sqrt((pc * (1 - pc) + pi * (1 - pi) + 2 * pc * pi) / n)
    z = _z(ci_level)
    out.update(index=bi, se=se, ci_low=bi - z * se, ci_high=bi + z * se, ci_level=ci_level)
    return out


def james_index(table: Any, *, ci_level: float = CI_LEVEL) -> dict[str, Any]:
    """James' blinding index from the 3 × 2 table of counts.

    Rows: guessed treatment, guessed control, don't know; columns: actually treatment, control.

    Example:
        >>> round(james_index([[48, 22], [4, 30], [330, 319]])["index"], 3)
        0.896
    """
    x = np.asarray(table, dtype=float)
    if x.shape != (3, 2):
        raise ValueError("James' index needs a 3 x 2 table (guess T / C / don't know by actual T / C)")
    n = float(x.sum())
    out: dict[str, Any] = {"n": int(n)}
    if n == 0:
        out.update(index=None, se=None, ci_low=None, ci_high=None, reason="no guesses")
        return out
    if x[:2].sum() == 0:      # only "don't know": complete blinding by definition (James 1996)
        out.update(index=1.0, se=0.0, ci_low=1.0, ci_high=1.0, ci_level=ci_level)
        return out
    w = np.array([[0.0, 0.5], [0.5, 0.0]])           # correct 0, incorrect 0.5
    p = x / n
    p_dk = float(p[2].sum())
    row = p[:2].sum(axis=1)                           # P(guess T), P(guess C)
    col = p[:2].sum(axis=0)                           # P(actual j and not don't know)
    q = 1.0 - p_dk
    p_obs = float((w * p[:2]).sum()) / q
    e = float((w * np.outer(row, col)).sum())
    p_exp = e / q ** 2
    if p_exp <= 0:
        out.update(index=None, se=None, ci_low=None, ci_high=None,
                   reason="the expected disagreement is 0 (every guess names one condition)")
        return out
    kappa = (p_obs - p_exp) / p_exp
    bi = (1.0 + p_dk + q * kappa) / 2.0
    # large-sample variance (James et al. 1996)
    num = 0.0
    for i in range(2):
        for j in range(2):
            extra = sum(w[r, j] * row[r] + w[i, r] * col[r] for r in range(2))
            num += p[i, j] * q ** 2 * (q * w[i, j] - (1.0 + kappa) * extra) ** 2
    v1 = num / (4.0 * e ** 2)
    v2 = p_dk * q - q * (1.0 + kappa) * (p_dk + q * (1.0 + kappa) / 4.0)
    var = (v1 + v2) / n
    se = math.sqrt(max(var, 0.0))
    z = _z(ci_level)
    out.update(index=bi, se=se, ci_low=bi - z * se, ci_high=bi + z * se, ci_level=ci_level,
               kappa=kappa, p_dont_know=p_dk)
    return out


def guess_table(trial_data: TrialData, treatment: str, control: str) -> tuple[np.ndarray, list[int]]:
    """3 × 2 counts (guessed treatment / control / don't know by what was taken) on trial days
    with a guess, and the days used."""
    d = trial_data.trial
    if "guess" not in d.columns:
        return np.zeros((3, 2), dtype=int), []
    g = d["guess"].astype(object).to_numpy()
    taken = d["condition_taken"].astype(object).to_numpy()
    day = d["day"].to_numpy()
    table = np.zeros((3, 2), dtype=int)
    used: list[int] = []
    rows = {treatment: 0, control: 1, DONT_KNOW: 2}
    for gi, ti, di in zip(g, taken, day, strict=True):
        if not isinstance(gi, str) or ti not in (treatment, control) or gi not in rows:
            continue
        table[rows[gi], 0 if ti == treatment else 1] += 1
        used.append(int(di))
    return table, used


def blinding_check(trial_data: TrialData, *, ci_level: float = CI_LEVEL) -> dict[str, Any] | None:
    """Bang's index per condition, James' index and a sentence on whether blinding held.

    None when the log has no guesses. Treatment and control are the protocol's first treatment
    and its control; guesses naming a third condition are left out (counted in ``other``).

    Example:
        >>> blinding_check(td)["sentence"]                     # doctest: +SKIP
        'Blinding held: ...'
    """
    p = trial_data.protocol
    if "guess" not in trial_data.data.columns or not trial_data.data["guess"].notna().any():
        return None
    t, c = p.treatments[0], p.control
    table, used = guess_table(trial_data, t, c)
    n_all = int(trial_data.trial["guess"].notna().sum())
    label = {k: cond.label for k, cond in p.conditions.items()}
    bang = {
        t: bang_index(table[0, 0], table[1, 0], table[2, 0], ci_level=ci_level),
        c: bang_index(table[1, 1], table[0, 1], table[2, 1], ci_level=ci_level),
    }
    james = james_index(table, ci_level=ci_level)
    out: dict[str, Any] = {
        "n_guesses": int(table.sum()), "other": n_all - int(table.sum()),
        "table": {"rows": [f"guessed {t}", f"guessed {c}", "don't know"], "columns": [t, c],
                  "counts": table.tolist()},
        "bang": bang, "james": james, "ci_level": ci_level, "blinding": p.design.blinding,
    }
    problems = []
    for k, b in bang.items():
        if b["index"] is None:
            continue
        if b["ci_low"] > 0:
            problems.append(f"on {label[k]} days the guesses were right more often than chance "
                            f"(Bang {b['index']:+.2f}, {ci_level:.0%} CI {b['ci_low']:+.2f} to "
                            f"{b['ci_high']:+.2f})")
        elif b["ci_high"] < 0:
            problems.append(f"on {label[k]} days the guesses were wrong more often than chance "
                            f"(Bang {b['index']:+.2f}, {ci_level:.0%} CI {b['ci_low']:+.2f} to "
                            f"{b['ci_high']:+.2f}): opposite guessing")
    if james["index"] is not None and james["ci_high"] < 0.5:
        problems.append(f"James' index {james['index']:.2f} ({ci_level:.0%} CI {james['ci_low']:.2f} "
                        f"to {james['ci_high']:.2f}) is below 0.5")
    shown = "; ".join(f"{label[k]} {b['index']:+.2f}" for k, b in bang.items() if b["index"] is not None)
    j = (f"James {james['index']:.2f} ({ci_level:.0%} CI {james['ci_low']:.2f} to {james['ci_high']:.2f})"
         if james.get("index") is not None else "James' index not computable")
    if out["n_guesses"] == 0:
        out["held"] = None
        out["sentence"] = "No usable guesses were logged, so blinding cannot be checked."
    elif problems:
        out["held"] = False
        out["sentence"] = ("Blinding may not have held: " + "; ".join(problems) + ". Symptom "
                           "ratings may then reflect expectation as well as the juice.")
    else:
        out["held"] = True
        out["sentence"] = (f"Blinding held: the {out['n_guesses']} guesses are compatible with random "
                           f"guessing (Bang {shown}; {j}).")
    if 0 < out["n_guesses"] < 20:
        out["sentence"] += (f" Only {out['n_guesses']} guesses: the check can only detect a blind that "
                            "failed badly.")
    out["note"] = ("guesses of one person are not independent; the intervals are approximate and "
                   "on the optimistic side")
    return out
