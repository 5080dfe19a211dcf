"""Figures of an N-of-1 trial: they take data or results, draw them, and return the Figure.

Every function accepts ``ax=`` (draw into an existing Axes) and returns the
:class:`matplotlib.figure.Figure`. Nothing here estimates anything: numbers come from the
analysis (:func:`nof1.analyze`, :func:`nof1.washout_sensitivity`, the design and safety modules)
or are plain descriptive views of the log (period means, missing days). matplotlib is imported
inside the functions, so ``import nof1`` never imports it.

Colours follow the Okabe–Ito palette (distinguishable with the common colour-vision
deficiencies); conditions are also told apart by labels and markers, never by colour alone.

Example:
    >>> import nof1
    >>> from nof1 import plot
    >>> p = nof1.load_protocol("protocols/beetroot-juice-rls.yaml")          # doctest: +SKIP
    >>> td = nof1.read_log("data/sample/beetroot_log.csv", p)                # doctest: +SKIP
    >>> res = nof1.analyze(td, seed=1)                                       # doctest: +SKIP
    >>> fig = plot.timeline(td, "severity", result=res)                      # doctest: +SKIP
    >>> fig = plot.forest(res, "severity")                                   # doctest: +SKIP
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nof1.formatting import fmt_p, fmt_prob

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from nof1.analysis.base import MethodResult
    from nof1.analysis.core import AnalysisResult
    from nof1.data import TrialData
    from nof1.protocol import Outcome, Protocol

__all__ = [
    "OKABE_ITO",
    "condition_colors",
    "period_summary",
    "timeline",
    "period_means",
    "effect_posterior",
    "forest",
    "forest_data",
    "outcome_scale_effect",
    "washout_sensitivity",
    "safety",
    "design_comparison",
]

#: The Okabe–Ito colour-blind-safe palette.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
_CONTROL_COLOR = OKABE_ITO["sky_blue"]
_TREATMENT_COLORS = (OKABE_ITO["orange"], OKABE_ITO["green"], OKABE_ITO["purple"],
                     OKABE_ITO["yellow"], OKABE_ITO["vermillion"], OKABE_ITO["blue"])
_RUN_IN_COLOR = "#BBBBBB"
_POINT_COLOR = "#222222"
_FIT_COLOR = OKABE_ITO["blue"]
_ALERT_COLOR = OKABE_ITO["vermillion"]
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


_RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "nof1",
}


# --------------------------------------------------------------------------- helpers
def condition_colors(protocol: Protocol) -> dict[str, str]:
    """Colour of each condition key: the control sky blue, treatments orange, green, purple, ...

    Example:
        >>> condition_colors(p)        # doctest: +SKIP
        {'A': '#56B4E9', 'B': '#E69F00'}
    """
    out = {protocol.control: _CONTROL_COLOR}
    for i, key in enumerate(protocol.treatments):
        out[key] = _TREATMENT_COLORS[i % len(_TREATMENT_COLORS)]
    return out


def _condition_markers(protocol: Protocol) -> dict[str, str]:
    keys = [protocol.control, *protocol.treatments]
    return {k: _MARKERS[i % len(_MARKERS)] for i, k in enumerate(keys)}


def _styled[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """Run a plotting function under the project's rc settings (font sizes, no top/right spines)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import matplotlib.pyplot as plt

        with plt.rc_context(_RC):
            return func(*args, **kwargs)

    return wrapper


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.get_figure(root=True), ax
    fig, new_ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, new_ax


def _outcome(protocol: Protocol, outcome: str | Outcome) -> Outcome:
    if isinstance(outcome, str):
        return protocol.outcome(outcome)
    return outcome


def _outcome_axis_label(o: Outcome) -> str:
    """A y-axis label short enough for the axis: the label, or the name and unit when it is long."""
    label = o.display
    if len(label) > 32:
        label = o.name.replace("_", " ")
    if o.unit and o.unit not in label:
        label = f"{label} ({o.unit})"
    return label


def _benefit_note(o: Outcome) -> str:
    """'lower is better'; for a safety outcome its risk ('risk: a fall of more than 10 mmHg')."""
    if o.role == "safety":
        from nof1.safety import risk_words

        return f"risk: {risk_words(o)}"
    return "lower is better" if o.better == "lower" else "higher is better"


class _DayAxis:
    """Maps the calendar-day index to x positions: matplotlib dates when the trial has dates."""

    def __init__(self, data: pd.DataFrame) -> None:
        dates = data["date"] if "date" in data.columns else pd.Series(dtype="datetime64[s]")
        self.dated = len(dates) > 0 and bool(dates.notna().all())
        if self.dated:
            import matplotlib.dates as mdates

            first = data.loc[data["day"].idxmin()]
            self.origin = float(mdates.date2num(pd.Timestamp(first["date"]).to_pydatetime())) - float(first["day"])
        else:
            self.origin = 0.0

    def __call__(self, day: Any) -> Any:
        return np.asarray(day, dtype=float) + self.origin

    def format(self, ax: Axes) -> None:
        if self.dated:
            import matplotlib.dates as mdates

            locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        else:
            ax.set_xlabel("day of trial (run-in included)")


def _expected_mask(trial_data: TrialData, o: Outcome) -> np.ndarray:
    """Days on which ``o`` should have been recorded (daily: every day; weekly: its measure days)."""
    data = trial_data.data
    if o.schedule == "daily":
        return np.ones(len(data), dtype=bool)
    lengths = data.groupby("period")["day"].transform("size").to_numpy()
    dip = data["day_in_period"].to_numpy()
    protocol = trial_data.protocol
    return np.array([int(d) in protocol.measure_days(o, int(n)) for d, n in zip(dip, lengths, strict=True)],
                    dtype=bool)


def _period_blocks(data: pd.DataFrame) -> list[dict[str, Any]]:
    """First/last day, condition and washout days of each period (run-in = period 0)."""
    blocks = []
    keys = ["participant", "period"] if "participant" in data.columns else ["period"]
    for _, g in data.groupby(keys, sort=False):
        first = g.iloc[0]
        cond = first["condition"]
        wash = g.loc[g["washout"].astype(bool), "day"]
        blocks.append({
            "period": int(first["period"]),
            "pair": first["pair"],
            "condition": None if (cond is None or pd.isna(cond)) else str(cond),
            "first_day": int(g["day"].min()),
            "last_day": int(g["day"].max()),
            "washout_first": int(wash.min()) if len(wash) else None,
            "washout_last": int(wash.max()) if len(wash) else None,
        })
    return blocks


def _shade_periods(ax: Axes, trial_data: TrialData, xmap: _DayAxis, *, label_periods: bool = True) -> None:
    """Shade run-in and periods by condition; hatch washout days; label each period at the top."""
    protocol = trial_data.protocol
    colors = condition_colors(protocol)
    seen: set[str] = set()
    for b in _period_blocks(trial_data.data):
        left, right = xmap(b["first_day"] - 0.5), xmap(b["last_day"] + 0.5)
        if b["period"] == 0:
            label = "run-in" if "run-in" not in seen else None
            seen.add("run-in")
            ax.axvspan(left, right, color=_RUN_IN_COLOR, alpha=0.25, lw=0, label=label, gid="run-in-span")
            if label_periods:
                ax.text((left + right) / 2, 1.0, "run-in", transform=ax.get_xaxis_transform(),
                        ha="center", va="bottom", fontsize=8, color="#555555")
            continue
        key = b["condition"]
        cond = protocol.conditions.get(key) if key is not None else None
        label = f"{key}: {cond.label}" if cond is not None else str(key)
        ax.axvspan(left, right, color=colors.get(key, _RUN_IN_COLOR), alpha=0.22, lw=0,
                   label=label if key not in seen else None, gid="period-span")
        seen.add(key)
        if b["washout_first"] is not None:
            ax.axvspan(xmap(b["washout_first"] - 0.5), xmap(b["washout_last"] + 0.5), facecolor="none",
                       edgecolor="#8C8C8C", hatch="///", lw=0,
                       label="washout days" if "washout" not in seen else None, gid="washout-span")
            seen.add("washout")
        if label_periods:
            ax.text((left + right) / 2, 1.0, key, transform=ax.get_xaxis_transform(), ha="center",
                    va="bottom", fontsize=9, fontweight="bold", color="#333333")


def _legend_below(ax: Axes, ncol: int = 4) -> None:
    """Legend under the x axis (below the tick labels and the axis label, if any)."""
    from matplotlib.transforms import offset_copy

    handles, labels = ax.get_legend_handles_labels()
    if handles:
        drop = 40 if ax.get_xlabel() else 24
        where = offset_copy(ax.transAxes, fig=ax.get_figure(root=True), y=-drop, units="points")
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.0, 0.0), bbox_transform=where,
                  ncol=ncol, frameon=False, borderaxespad=0.0)


def outcome_scale_effect(result: MethodResult) -> tuple[str, Mapping[str, Any]] | None:
    """``(name, {estimate, ci_low, ci_high})`` of a result's effect on the outcome's own scale.

    Kept for callers of earlier versions: the conversion is the result's own
    (:meth:`~nof1.analysis.base.MethodResult.outcome_effect`, see :mod:`nof1.analysis.effect`);
    this only reshapes it. None for an index, or a model-scale result without one; a result
    already in outcome units gives ``("effect", ...)``.

    Example:
        >>> outcome_scale_effect(r)     # doctest: +SKIP
        ('rating_difference', {'estimate': -0.8, 'ci_low': -1.6, 'ci_high': -0.1})
    """
    e = result.outcome_effect()
    if e is None:
        return None
    return e.name, {"estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high}


def _bayes_result(result: AnalysisResult | MethodResult | None, outcome: str) -> MethodResult | None:
    """The Bayesian MethodResult of ``outcome`` from an AnalysisResult (or the MethodResult given)."""
    if result is None:
        return None
    if hasattr(result, "results"):
        by_contrast = result.results.get(outcome, {})
        for methods in by_contrast.values():
            r = methods.get("bayes")
            if r is not None and r.available:
                return r
        return None
    return result if getattr(result, "available", False) else None


def _fitted_frame(mr: MethodResult) -> pd.DataFrame | None:
    """The fitted-mean table a Bayesian fit exposes (``fit.fitted_mean()``), if it does."""
    fit = mr.fit
    accessor = getattr(fit, "fitted_mean", None) if fit is not None else None
    if accessor is None:
        return None
    frame = accessor(ci_level=mr.ci_level) if mr.ci_level is not None else accessor()
    if frame is None:
        return None
    frame = pd.DataFrame(frame)
    needed = {"day", "mean"}
    return frame if needed <= set(frame.columns) else None


def _effect_draws(mr: MethodResult) -> np.ndarray | None:
    """Posterior draws of the effect held by a Bayesian fit (``fit.effect_draws()`` or posterior)."""
    fit = mr.fit
    if fit is None:
        return None
    accessor = getattr(fit, "effect_draws", None)
    if accessor is not None:
        draws = accessor() if callable(accessor) else accessor
        return np.asarray(draws, dtype=float).ravel()
    posterior = getattr(fit, "posterior", None)
    if posterior is not None:
        try:
            return np.asarray(posterior["effect"], dtype=float).ravel()
        except (KeyError, TypeError):
            return None
    return None


# --------------------------------------------------------------------------- descriptive table
def period_summary(trial_data: TrialData, outcome: str, *, exclude_washout: bool = True) -> pd.DataFrame:
    """One row per period: condition, pair, days, observed days and the mean of the outcome.

    A descriptive view of the log (no model): the mean of the observed values of each period,
    leaving out washout days when ``exclude_washout`` (as the period-level analyses do).

    Example:
        >>> period_summary(td, "severity")[["period", "condition", "n", "mean"]]   # doctest: +SKIP
    """
    data = trial_data.trial
    o = trial_data.protocol.outcome(outcome)
    expected = _expected_mask(trial_data, o)[(trial_data.data["phase"] == "trial").to_numpy()]
    rows = []
    keys = ["participant", "period"] if "participant" in data.columns else ["period"]
    data = data.assign(_expected=expected)
    for _, g in data.groupby(keys, sort=False):
        first = g.iloc[0]
        used = g[~g["washout"].astype(bool)] if exclude_washout else g
        values = used[outcome].dropna()
        row = {
            "period": int(first["period"]),
            "pair": first["pair"],
            "condition": str(first["condition"]),
            "first_day": int(g["day"].min()),
            "days": len(g),
            "washout_days": int(g["washout"].astype(bool).sum()),
            "expected": int(g["_expected"].sum()),
            "observed": int(g[outcome].notna().sum()),
            "n": len(values),
            "mean": float(values.mean()) if len(values) else math.nan,
        }
        if "participant" in g.columns:
            row = {"participant": str(first["participant"]), **row}
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- timeline
@_styled
def timeline(
    trial_data: TrialData,
    outcome: str,
    result: AnalysisResult | MethodResult | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Daily values over the whole trial, periods shaded by condition.

    Draws: run-in (grey), each period shaded in its condition's colour and labelled with its key,
    washout days hatched, observed days as points (hollow on washout days, which 'exclude'
    analyses leave out), days taken off-schedule ringed, missing days as ticks at the bottom, and —
    when ``result`` holds a Bayesian fit exposing ``fit.fitted_mean()`` — the fitted mean with its
    carryover curve and credible band.

    Args:
        trial_data: the aligned log (:func:`nof1.read_log` or ``TrialData.from_frame``).
        outcome: outcome name.
        result: an :class:`AnalysisResult` or the ``bayes`` :class:`MethodResult` (optional).
        ax: Axes to draw into (default: a new figure).

    Returns:
        The Figure.

    Example:
        >>> fig = timeline(td, "severity")          # doctest: +SKIP
    """
    o = trial_data.protocol.outcome(outcome)
    data = trial_data.data
    fig, ax = _new_axes(ax, (11, 4.2))
    xmap = _DayAxis(data)
    _shade_periods(ax, trial_data, xmap)

    y = data[outcome].to_numpy(dtype=float)
    observed = ~np.isnan(y)
    washout = data["washout"].astype(bool).to_numpy()
    x = xmap(data["day"].to_numpy())
    solid = observed & ~washout
    hollow = observed & washout
    ax.scatter(x[solid], y[solid], s=16, color=_POINT_COLOR, zorder=3, label="observed", gid="observed")
    ax.scatter(x[hollow], y[hollow], s=16, facecolors="white", edgecolors=_POINT_COLOR, zorder=3,
               linewidths=0.9, label="observed (washout day)" if hollow.any() else None,
               gid="observed-washout")
    if observed.sum() > 1:
        ax.plot(x[observed], y[observed], color=_POINT_COLOR, lw=0.5, alpha=0.35, zorder=2)

    scheduled = data["condition"].astype(object).to_numpy()
    taken = data["condition_taken"].astype(object).to_numpy()
    off = np.array([
        observed[i] and not pd.isna(scheduled[i]) and not pd.isna(taken[i]) and taken[i] != scheduled[i]
        for i in range(len(data))
    ], dtype=bool)
    if off.any():
        ax.scatter(x[off], y[off], s=80, facecolors="none", edgecolors=_ALERT_COLOR, linewidths=1.4,
                   zorder=4, label="other condition taken", gid="deviation")

    missing = _expected_mask(trial_data, o) & ~observed
    if missing.any():
        ax.scatter(x[missing], np.full(int(missing.sum()), 0.02), marker="|", s=60,
                   color=_ALERT_COLOR, transform=ax.get_xaxis_transform(), zorder=4,
                   label=f"missing day ({int(missing.sum())})", gid="missing", clip_on=False)

    mr = _bayes_result(result, outcome)
    fitted = _fitted_frame(mr) if mr is not None else None
    if fitted is not None:
        fx = xmap(fitted["day"].to_numpy())
        if {"low", "high"} <= set(fitted.columns):
            level = f"{mr.ci_level:.0%} " if mr.ci_level else ""
            ax.fill_between(fx, fitted["low"].to_numpy(float), fitted["high"].to_numpy(float),
                            color=_FIT_COLOR, alpha=0.2, lw=0, label=f"{level}credible band",
                            gid="fitted-band", zorder=2)
        ax.plot(fx, fitted["mean"].to_numpy(float), color=_FIT_COLOR, lw=1.8, zorder=3,
                label="fitted mean (with carryover)", gid="fitted-mean")

    if o.value_range is not None and math.isfinite(o.value_range[1]):
        lo, hi = o.value_range
        cur_lo, cur_hi = ax.get_ylim()
        span = hi - lo
        if (cur_hi - cur_lo) > 0.4 * span:
            ax.set_ylim(lo - 0.03 * span, hi + 0.03 * span)
    ax.set_ylabel(_outcome_axis_label(o))
    ax.set_title(f"{o.display} — daily values ({_benefit_note(o)})", loc="left", pad=16)
    ax.set_xlim(xmap(data["day"].min() - 0.5), xmap(data["day"].max() + 0.5))
    xmap.format(ax)
    _legend_below(ax, ncol=5)
    return fig


# --------------------------------------------------------------------------- period means
@_styled
def period_means(
    trial_data: TrialData, outcome: str, ax: Axes | None = None, *, exclude_washout: bool = True
) -> Figure:
    """Mean of each period, grouped by pair (or block), with a line joining the periods of a pair.

    A steep line in the same direction in every pair is the pattern of a consistent effect. Washout
    days are left out of the means unless ``exclude_washout=False``. Periods that do not form
    pairs (e.g. a start-points design) are drawn by period number without lines.

    Example:
        >>> fig = period_means(td, "severity")      # doctest: +SKIP
    """
    protocol = trial_data.protocol
    o = protocol.outcome(outcome)
    table = period_summary(trial_data, outcome, exclude_washout=exclude_washout)
    fig, ax = _new_axes(ax, (6.5, 4))
    colors = condition_colors(protocol)
    markers = _condition_markers(protocol)
    order = [protocol.control, *protocol.treatments]
    offsets = {k: (i - (len(order) - 1) / 2) * 0.18 for i, k in enumerate(order)}
    paired = len(table) > 0 and table["pair"].notna().all()
    xcol = "pair" if paired else "period"
    if paired:
        for _, g in table.groupby("pair", sort=True):
            g = g.assign(_x=[float(p) + offsets.get(c, 0.0) for p, c in zip(g["pair"], g["condition"], strict=True)])
            g = g.sort_values("_x")
            ok = g["mean"].notna()
            if ok.sum() > 1:
                ax.plot(g.loc[ok, "_x"], g.loc[ok, "mean"], color="#666666", lw=1.2, zorder=2, gid="pair-line")
    for key in order:
        g = table[table["condition"] == key]
        if g.empty:
            continue
        xs = g[xcol].astype(float).to_numpy() + (offsets[key] if paired else 0.0)
        cond = protocol.conditions[key]
        ax.scatter(xs, g["mean"], s=60, color=colors[key], marker=markers[key], edgecolors="#222222",
                   linewidths=0.7, zorder=3, label=f"{key}: {cond.label}", gid="period-mean")
    ticks = sorted(table[xcol].dropna().astype(int).unique()) if len(table) else []
    ax.set_xticks(ticks)
    ax.set_xlabel("pair" if paired else "period")
    ax.set_ylabel(f"period mean: {_outcome_axis_label(o)}")
    wash = " (washout days excluded)" if exclude_washout and protocol.design.washout_days else ""
    ax.set_title(f"Period means by {'pair' if paired else 'period'}{wash}", loc="left")
    if o.mcid:
        ax.text(0.99, 0.02, f"MCID = {o.mcid:g}; {_benefit_note(o)}", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=8, color="#555555")
    _legend_below(ax, ncol=2)
    return fig


# --------------------------------------------------------------------------- effect posterior
@_styled
def effect_posterior(method_result: MethodResult, outcome: Outcome, ax: Axes | None = None) -> Figure:
    """Posterior density of the effect with the ±MCID band and the decision probabilities.

    Uses the draws the Bayesian fit holds (``method_result.fit.effect_draws()``); the three
    probabilities written on the plot are the method's own (``extras``), not recomputed here.

    Args:
        method_result: the ``bayes`` :class:`MethodResult` of one outcome.
        outcome: the protocol's :class:`~nof1.protocol.Outcome` (for the MCID and direction).
        ax: Axes to draw into.

    Example:
        >>> fig = effect_posterior(res.get("severity", "bayes"), p.outcome("severity"))  # doctest: +SKIP
    """
    fig, ax = _new_axes(ax, (6.5, 3.8))
    extras = method_result.extras
    scale = method_result.scale
    # Draws of a model-scale fit are on the MCID's scale (e.g. the rating difference) when the
    # result says so; the numbers drawn on the plot must then come from that scale too.
    effect = method_result.effect
    on_outcome_scale = scale.in_outcome_units
    if not on_outcome_scale and isinstance(extras.get("mcid_scale"), str):
        found = method_result.outcome_effect()
        if found is not None:
            effect, on_outcome_scale = found, True
    summary: Mapping[str, Any] = effect.to_dict()
    if on_outcome_scale:
        unit_word = (f" ({effect.label})" if effect.label
                     else (f" ({outcome.unit})" if outcome.unit else ""))
    else:
        unit_word = f" ({scale.name} scale)"
    t, c = method_result.contrast
    sides = "← benefit · harm →" if outcome.better == "lower" else "← harm · benefit →"
    ax.set_xlabel(f"effect {t} − {c}{unit_word}      {sides}")
    ax.set_yticks([])
    ax.spines[["left"]].set_visible(False)
    draws = _effect_draws(method_result) if method_result.available else None
    if draws is None or draws.size == 0:
        reason = method_result.reason if not method_result.available else "the fit holds no posterior draws"
        ax.text(0.5, 0.5, f"no posterior to draw: {reason}", transform=ax.transAxes, ha="center",
                va="center", wrap=True)
        ax.set_title(f"{outcome.display}: posterior of the effect", loc="left")
        return fig
    ax.hist(draws, bins=min(80, max(20, int(np.sqrt(draws.size)))), density=True, histtype="stepfilled",
            color=OKABE_ITO["blue"], alpha=0.35, edgecolor=OKABE_ITO["blue"], lw=1.0, gid="posterior")
    mcid = outcome.mcid if on_outcome_scale else None
    if mcid:
        ax.axvspan(-mcid, mcid, color="#999999", alpha=0.18, lw=0, gid="mcid-band",
                   label=f"negligible: |effect| < MCID ({mcid:g})")
    ax.axvline(0, color="#333333", lw=1, ls="--")
    if summary.get("estimate") is not None:
        ax.axvline(float(summary["estimate"]), color=OKABE_ITO["blue"], lw=1.5)
    if summary.get("ci_low") is not None and summary.get("ci_high") is not None:
        level = f"{method_result.ci_level:.0%} " if method_result.ci_level else ""
        ax.hlines(0, float(summary["ci_low"]), float(summary["ci_high"]), color="#222222", lw=4,
                  label=f"{level}credible interval", gid="ci")
    xl = ax.get_xlim()
    ax.set_xlim(xl)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.1)
    centre = float(np.median(draws))
    box_right = centre < (xl[0] + xl[1]) / 2
    lines = []
    for key, words in (("prob_meaningful_benefit", "P(meaningful benefit)"),
                       ("prob_negligible", "P(negligible)"),
                       ("prob_meaningful_harm", "P(meaningful harm)")):
        value = extras.get(key)
        if value is not None:
            lines.append(f"{words} = {fmt_prob(value)}")
    if lines:
        ax.text(0.98 if box_right else 0.02, 0.97, "\n".join(lines), transform=ax.transAxes,
                ha="right" if box_right else "left", va="top", fontsize=9,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "#999999"},
                gid="probabilities", zorder=5, multialignment="left")
    ax.set_title(f"{outcome.display}: posterior of the effect ({_benefit_note(outcome)})", loc="left")
    if mcid or summary.get("ci_low") is not None:
        _legend_below(ax, ncol=2)
    return fig


# --------------------------------------------------------------------------- forest
def _effect_rows(methods: Mapping[str, MethodResult]) -> tuple[list[tuple[str, float, float | None, float | None, str]], list[str]]:
    """Rows (label, estimate, low, high, kind) on the effect scale and notes for the rest."""
    rows: list[tuple[str, float, float | None, float | None, str]] = []
    notes: list[str] = []
    for name, r in methods.items():
        if not r.available:
            notes.append(f"{name}: not available — {r.reason}")
            continue
        scale = r.scale
        if scale.kind == "index":
            value = "" if r.estimate is None else f"{r.estimate:.2f}"
            ci = (f" [{r.ci_low:.2f}, {r.ci_high:.2f}]"
                  if r.ci_low is not None and r.ci_high is not None else "")
            p = f", p = {fmt_p(r.p_value)}" if r.p_value is not None else ""
            notes.append(f"{name}: {value}{ci}{p} (index, not in outcome units)")
            continue
        effect = r.outcome_effect()
        if effect is None or effect.estimate is None:
            if r.estimate is not None:
                notes.append(f"{name}: {r.estimate:.2f} on the {scale.name} scale (not in outcome units)")
            elif r.p_value is not None:
                notes.append(f"{name}: p = {fmt_p(r.p_value)} (a test, no estimate)")
            continue
        kind = "bayes" if "prob_benefit" in r.extras else "classical"
        label = f"{name} ({effect.label})" if effect.label else name
        rows.append((label, effect.estimate, effect.ci_low, effect.ci_high, kind))
    return rows, notes


def forest_data(analysis_result: AnalysisResult, outcome: str, *, contrast: str | None = None) -> pd.DataFrame:
    """The numbers :func:`forest` draws: one row per method on the effect scale.

    Columns ``label``, ``estimate``, ``ci_low``, ``ci_high`` and ``kind`` (``bayes`` or
    ``classical``); ``attrs["notes"]`` lists the methods not drawn (indices, tests without an
    estimate, methods that could not run, with their reason).

    Example:
        >>> forest_data(res, "severity")[["label", "estimate"]]     # doctest: +SKIP
    """
    by_contrast = analysis_result.results[outcome]
    key = contrast or next(iter(by_contrast))
    rows, notes = _effect_rows(by_contrast[key])
    frame = pd.DataFrame(rows, columns=["label", "estimate", "ci_low", "ci_high", "kind"])
    frame.attrs["notes"] = notes
    return frame


@_styled
def forest(
    analysis_result: AnalysisResult, outcome: str, ax: Axes | None = None, *, contrast: str | None = None
) -> Figure:
    """Every method's estimate and interval on the effect scale, one row per method.

    The grey band is ±MCID (effects too small to matter). Methods that report an index (NAP, Tau)
    or only a p-value (randomisation test), and methods that could not run (with their reason),
    are listed under the plot instead of being drawn on a scale they do not share.

    Args:
        analysis_result: the result of :func:`nof1.analyze`.
        outcome: outcome name.
        ax: Axes to draw into.
        contrast: contrast label such as ``"B-A"`` (default: the first).

    Example:
        >>> fig = forest(res, "severity")            # doctest: +SKIP
    """
    protocol = analysis_result.protocol
    o = protocol.outcome(outcome)
    by_contrast = analysis_result.results[outcome]
    key = contrast or next(iter(by_contrast))
    methods = by_contrast[key]
    rows, notes = _effect_rows(methods)
    height = 1.4 + 0.42 * max(len(rows), 1) + 0.16 * len(notes)
    fig, ax = _new_axes(ax, (7.5, height))
    t, c = key.split("-", 1) if "-" in key else (key, "")
    tl = protocol.conditions[t].label if t in protocol.conditions else t
    cl = protocol.conditions[c].label if c in protocol.conditions else c
    level = next((f"{r.ci_level:.0%} " for r in methods.values() if r.ci_level), "")
    ax.set_title(f"{o.display}: estimates and {level}intervals by method", loc="left")
    if not rows:
        ax.set_axis_off()
        text = "No method gave an effect estimate in outcome units."
        ax.text(0.0, 0.9, "\n".join([text, *notes]), transform=ax.transAxes, ha="left", va="top",
                fontsize=9, color="#333333", gid="method-notes")
        return fig
    colors = {"bayes": OKABE_ITO["blue"], "classical": "#222222"}
    markers = {"bayes": "D", "classical": "o"}
    ys = np.arange(len(rows))[::-1]
    if o.mcid:
        ax.axvspan(-o.mcid, o.mcid, color="#999999", alpha=0.18, lw=0, gid="mcid-band",
                   label=f"±MCID ({o.mcid:g})")
    ax.axvline(0, color="#333333", lw=1, ls="--")
    for y, (_label, est, lo, hi, kind) in zip(ys, rows, strict=True):
        if lo is not None and hi is not None:
            ax.hlines(y, lo, hi, color=colors[kind], lw=2.2, gid="interval")
        ax.plot([est], [y], marker=markers[kind], color=colors[kind], ms=7, ls="none", gid="estimate")
    ax.set_yticks(ys, [r[0] for r in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    unit = f" ({o.unit})" if o.unit else ""
    good, bad = (tl, cl) if o.better == "lower" else (cl, tl)
    ax.set_xlabel(f"effect: {tl} − {cl}{unit}\n← favours {good}          favours {bad} →")
    if notes:
        ax.annotate("\n".join(notes), xy=(0.0, 0.0), xycoords="axes fraction", xytext=(0, -50),
                    textcoords="offset points", ha="left", va="top", fontsize=8, color="#444444",
                    annotation_clip=False).set_gid("method-notes")
    return fig


# --------------------------------------------------------------------------- washout sensitivity
@_styled
def washout_sensitivity(table: pd.DataFrame, ax: Axes | None = None, *, mcid: float | None = None) -> Figure:
    """Estimates (with intervals) as more days at the start of each period are left out.

    ``table`` is the result of :func:`nof1.washout_sensitivity`: one row per washout length and
    method with ``washout_days``, ``method``, ``estimate``, ``ci_low`` and ``ci_high`` (and an
    ``outcome`` column when it holds several; the first outcome is drawn). Stable estimates
    mean the conclusion does not depend on the washout chosen.

    Example:
        >>> fig = washout_sensitivity(nof1.washout_sensitivity(td, "severity"))   # doctest: +SKIP
    """
    fig, ax = _new_axes(ax, (6.5, 3.8))
    t = pd.DataFrame(table).copy()
    if "outcome" in t.columns and t["outcome"].nunique() > 1:
        t = t[t["outcome"] == t["outcome"].iloc[0]]
    if "available" in t.columns:
        t = t[t["available"].fillna(False).astype(bool)]
    t = t[t["estimate"].notna()] if "estimate" in t.columns else t.iloc[0:0]
    if mcid is None and "mcid" in t.columns and t["mcid"].notna().any():
        mcid = float(t["mcid"].dropna().iloc[0])
    if mcid:
        ax.axhspan(-mcid, mcid, color="#999999", alpha=0.18, lw=0, gid="mcid-band", label=f"±MCID ({mcid:g})")
    ax.axhline(0, color="#333333", lw=1, ls="--")
    methods = list(dict.fromkeys(t["method"])) if "method" in t.columns else [None]
    palette = [OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["green"], OKABE_ITO["purple"],
               OKABE_ITO["vermillion"], "#222222"]
    width = 0.6
    for i, m in enumerate(methods):
        g = t if m is None else t[t["method"] == m]
        dx = (i - (len(methods) - 1) / 2) * (width / max(len(methods), 1))
        x = g["washout_days"].astype(float).to_numpy() + dx
        color = palette[i % len(palette)]
        if {"ci_low", "ci_high"} <= set(g.columns):
            ok = g["ci_low"].notna() & g["ci_high"].notna()
            ax.vlines(x[ok.to_numpy()], g.loc[ok, "ci_low"], g.loc[ok, "ci_high"], color=color, lw=2,
                      gid="interval")
        ax.plot(x, g["estimate"], marker=_MARKERS[i % len(_MARKERS)], color=color, lw=1, ms=6,
                label=str(m) if m is not None else "estimate", gid="estimate")
    if len(t):
        ax.set_xticks(sorted(t["washout_days"].astype(int).unique()))
    ax.set_xlabel("days left out at the start of each period (washout)")
    ax.set_ylabel("effect (treatment − control)")
    ax.set_title("Washout sensitivity", loc="left")
    if len(t):
        ax.legend(loc="best", frameon=False, fontsize=8)
    else:
        ax.text(0.5, 0.5, "no estimates in the table", transform=ax.transAxes, ha="center")
    return fig


# --------------------------------------------------------------------------- safety
def _alert_field(alert: Any, name: str) -> Any:
    if isinstance(alert, Mapping):
        return alert.get(name)
    return getattr(alert, name, None)


@_styled
def safety(
    trial_data: TrialData, outcome: str, alerts: Iterable[Any] | None = None, ax: Axes | None = None
) -> Figure:
    """A safety outcome over time with its alert thresholds and the alert days marked.

    ``alerts`` are the alerts of :func:`nof1.safety.safety_alerts` (objects or dicts with
    ``date`` or ``day``, ``outcome``, ``value``, ``message``); those for other outcomes are
    ignored.

    Example:
        >>> from nof1.safety import safety_alerts                          # doctest: +SKIP
        >>> fig = safety(td, "systolic_bp", safety_alerts(td))             # doctest: +SKIP
    """
    o = trial_data.protocol.outcome(outcome)
    data = trial_data.data
    fig, ax = _new_axes(ax, (11, 3.6))
    xmap = _DayAxis(data)
    _shade_periods(ax, trial_data, xmap)
    y = data[outcome].to_numpy(dtype=float)
    x = xmap(data["day"].to_numpy())
    ok = ~np.isnan(y)
    ax.plot(x[ok], y[ok], color=_POINT_COLOR, lw=0.6, alpha=0.5, zorder=2)
    ax.scatter(x[ok], y[ok], s=14, color=_POINT_COLOR, zorder=3, label="observed", gid="observed")
    if o.alert is not None:
        for name, value in (("below", o.alert.below), ("above", o.alert.above), ("at least", o.alert.at_least)):
            if value is not None:
                ax.axhline(value, color=_ALERT_COLOR, lw=1.3, ls="--", gid="threshold",
                           label=f"alert threshold: {name} {value:g}")
    days = _alert_days(trial_data, outcome, alerts or [])
    if days:
        rows = data.set_index("day")
        ax_days = [d for d in days if d in rows.index]
        vals = [float(rows.loc[d, outcome]) if not pd.isna(rows.loc[d, outcome]) else math.nan for d in ax_days]
        ax.scatter(xmap(ax_days), vals, marker="v", s=70, color=_ALERT_COLOR, edgecolors="#222222",
                   zorder=5, label=f"alert ({len(ax_days)})", gid="alert")
    ax.set_ylabel(_outcome_axis_label(o))
    ax.set_title(f"Safety: {o.display}", loc="left", pad=16)
    ax.set_xlim(xmap(data["day"].min() - 0.5), xmap(data["day"].max() + 0.5))
    xmap.format(ax)
    _legend_below(ax, ncol=5)
    return fig


def _alert_days(trial_data: TrialData, outcome: str, alerts: Iterable[Any]) -> list[int]:
    """Calendar-day indices of the alerts about ``outcome`` (matched by day, else by date)."""
    data = trial_data.data
    by_date = {}
    if data["date"].notna().all():
        by_date = {pd.Timestamp(d).date().isoformat(): int(day) for d, day in zip(data["date"], data["day"], strict=True)}
    out: list[int] = []
    for a in alerts:
        if _alert_field(a, "outcome") not in (None, outcome):
            continue
        day = _alert_field(a, "day")
        if day is None:
            date = _alert_field(a, "date")
            if date is None:
                continue
            day = by_date.get(pd.Timestamp(date).date().isoformat())
        if day is not None and int(day) not in out:
            out.append(int(day))
    return sorted(out)


# --------------------------------------------------------------------------- design comparison
@_styled
def design_comparison(
    table: pd.DataFrame, ax: Axes | None = None, *, power: str | Sequence[str] | None = None,
    target: float | None = 0.8,
) -> Figure:
    """Power against total trial days, one line per period length (from ``nof1.design.compare``).

    ``table`` has one row per design with ``period_days``, ``total_days`` and one or more
    ``power_<method>`` columns (e.g. ``power_bayes``, ``power_gls_ar1``), optionally their Monte
    Carlo standard errors ``power_<method>_se`` (drawn as ±2 se bars), ``pairs`` (points are
    labelled "4p") and ``current`` (the protocol's own design, ringed). ``power`` chooses the
    column(s) to draw (default: ``power_bayes`` if present, else the first ``power_<method>``
    column; several columns are drawn solid, dashed, dotted, ...). A dotted line marks the
    ``target`` power.

    Example:
        >>> fig = design_comparison(nof1.design.compare(p, effect=-1, sd=1.5, seed=1).table)  # doctest: +SKIP
    """
    t = pd.DataFrame(table)
    if power is None:
        found = [c for c in t.columns if str(c).startswith("power_") and not str(c).endswith("_se")]
        columns = ["power_bayes"] if "power_bayes" in found else found[:1]
    else:
        columns = [power] if isinstance(power, str) else list(power)
    missing = [c for c in columns if c not in t.columns]
    if not columns or missing:
        raise ValueError(f"design table has no power column {missing or 'power_*'} (columns: {list(t.columns)})")
    fig, ax = _new_axes(ax, (7, 4.2))
    group = "period_days" if "period_days" in t.columns else None
    palette = [OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["green"], OKABE_ITO["purple"],
               OKABE_ITO["vermillion"], OKABE_ITO["sky_blue"], "#222222"]
    styles = ["-", "--", ":", "-."]
    groups = list(t.groupby(group, sort=True)) if group else [(None, t)]
    for gi, (value, g) in enumerate(groups):
        g = g.sort_values("total_days")
        color = palette[gi % len(palette)]
        for ci, col in enumerate(columns):
            name = col.removeprefix("power_")
            label = (f"{int(value)}-day periods" if value is not None else "designs") + (
                f" ({name})" if len(columns) > 1 else "")
            ax.plot(g["total_days"], g[col], color=color, ls=styles[ci % len(styles)],
                    marker=_MARKERS[gi % len(_MARKERS)], ms=5, label=label, gid="design-line")
            se = f"{col}_se"
            if se in g.columns and g[se].notna().any():
                ax.errorbar(g["total_days"], g[col], yerr=2 * g[se].fillna(0.0), fmt="none",
                            ecolor=color, elinewidth=0.8, alpha=0.6, capsize=0)
        if "pairs" in g.columns:
            for xv, yv, n in zip(g["total_days"], g[columns[0]], g["pairs"], strict=True):
                if not (pd.isna(yv) or pd.isna(n)):
                    ax.annotate(f"{int(n)}p", (xv, yv), textcoords="offset points", xytext=(3, 4),
                                fontsize=7, color="#555555")
    if "current" in t.columns and t["current"].fillna(False).astype(bool).any():
        cur = t[t["current"].fillna(False).astype(bool)]
        ax.scatter(cur["total_days"], cur[columns[0]], s=180, facecolors="none", edgecolors="#222222",
                   linewidths=1.5, zorder=5, label="your protocol's design", gid="current-design")
    if target is not None:
        ax.axhline(target, color="#555555", lw=1, ls=":", label=f"target power {target:.0%}")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("total trial days")
    ax.set_ylabel("power" if len(columns) > 1 else f"power ({columns[0].removeprefix('power_')})")
    ax.set_title("Power of alternative designs", loc="left")
    _legend_below(ax, ncol=3)
    return fig


# --------------------------------------------------------------------------- pooled
def __getattr__(name: str) -> Any:
    """``pooled_forest`` is ``nof1.plot_pooling.forest_plot_pooled`` (imported on first use)."""
    if name == "pooled_forest":
        from nof1.plot_pooling import forest_plot_pooled

        return forest_plot_pooled
    raise AttributeError(f"module 'nof1.plot' has no attribute '{name}'")
