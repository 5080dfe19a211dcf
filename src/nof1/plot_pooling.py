"""Forest plot of a pooled series of N-of-1 trials (drawn from :meth:`PooledResult.forest_data`).

Each participant has two rows of marks: their own single-trial estimate (open circle) and their
shrunken estimate from the pooled model (filled circle), each with its interval. Below them, the
population mean effect and the predictive effect in a new person are diamonds. The band around
zero spans ±mcid (effects too small to matter). Colours are from the Okabe–Ito palette (safe for
colour-blind readers) and every mark also differs by shape.

Example:
    >>> from nof1.plot_pooling import forest_plot_pooled
    >>> fig = forest_plot_pooled(result)          # doctest: +SKIP
    >>> fig.savefig("forest.png", dpi=150)        # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from nof1.pooling import PooledResult

#: Okabe–Ito colours.
OWN_COLOUR = "#E69F00"        # orange
SHRUNKEN_COLOUR = "#0072B2"   # blue
POPULATION_COLOUR = "#000000"
NEW_PERSON_COLOUR = "#009E73"  # bluish green
BAND_COLOUR = "#999999"


def _draw(ax: Axes, y: float, row: Any, *, colour: str, marker: str, filled: bool, size: float) -> None:
    lo, hi = row["ci_low"], row["ci_high"]
    if lo is not None and hi is not None and lo == lo and hi == hi:
        ax.plot([lo, hi], [y, y], color=colour, lw=1.6, solid_capstyle="butt", zorder=2)
    ax.plot([row["estimate"]], [y], marker=marker, ms=size, color=colour,
            markerfacecolor=colour if filled else "white", markeredgewidth=1.6, ls="none", zorder=3)


def forest_plot_pooled(result: PooledResult, ax: Axes | None = None, *, contrast: str | None = None
                       ) -> Figure:
    """Forest plot of one contrast (default: the first) of a :class:`PooledResult`.

    Returns the matplotlib Figure (drawn into ``ax`` when given).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    label = contrast or result.default_contrast
    data = result.forest_data(label)
    outcome = result.outcome
    if ax is None:
        n_rows = data["participant"].nunique()
        fig, ax = plt.subplots(figsize=(7.0, 1.2 + 0.45 * n_rows))
    else:
        fig = ax.figure
    people = [p for p in dict.fromkeys(data.loc[data["kind"].isin(["own", "shrunken"]), "participant"])]
    ticks, names = [], []
    y = 0.0
    for pid in people:
        rows = data[(data["participant"] == pid)]
        own = rows[rows["kind"] == "own"]
        shr = rows[rows["kind"] == "shrunken"]
        if not own.empty:
            _draw(ax, y + 0.17, own.iloc[0], colour=OWN_COLOUR, marker="o", filled=False, size=6)
        if not shr.empty:
            _draw(ax, y - 0.17, shr.iloc[0], colour=SHRUNKEN_COLOUR, marker="o", filled=True, size=6)
        ticks.append(y)
        names.append(str(pid))
        y -= 1.0
    y -= 0.3
    ax.axhline(y + 0.65, color=BAND_COLOUR, lw=0.8)
    for kind, text, colour in (("population", "population mean", POPULATION_COLOUR),
                               ("new_person", "a new person", NEW_PERSON_COLOUR)):
        rows = data[data["kind"] == kind]
        if not rows.empty:
            _draw(ax, y, rows.iloc[0], colour=colour, marker="D", filled=True, size=8)
            ticks.append(y)
            names.append(text)
            y -= 1.0
    if outcome.mcid is not None:
        ax.axvspan(-outcome.mcid, outcome.mcid, color=BAND_COLOUR, alpha=0.18, lw=0, zorder=0)
    ax.axvline(0.0, color=BAND_COLOUR, lw=1.0, ls="--", zorder=1)
    ax.set_yticks(ticks)
    ax.set_yticklabels(names)
    ax.set_ylim(y + 0.4, 0.6)
    x_name, y_name = label.split("-", 1) if "-" in label else (label, "")
    better = "← better" if outcome.better == "lower" else "better →"
    level = data["ci_level"].dropna()
    lvl = f"{float(level.iloc[0]):.0%} intervals" if not level.empty else "intervals"
    ax.set_xlabel(f"{outcome.display}: {x_name} minus {y_name} ({better}); {lvl}")
    handles = [
        Line2D([], [], marker="o", color=OWN_COLOUR, markerfacecolor="white", ls="-",
               label="own trial alone"),
        Line2D([], [], marker="o", color=SHRUNKEN_COLOUR, ls="-", label="shrunken (pooled)"),
        Line2D([], [], marker="D", color=POPULATION_COLOUR, ls="-", label="population mean"),
        Line2D([], [], marker="D", color=NEW_PERSON_COLOUR, ls="-", label="new person"),
    ]
    if outcome.mcid is not None:
        handles.append(Patch(color=BAND_COLOUR, alpha=0.3, label=f"within ±mcid ({outcome.mcid:g})"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              fontsize="small")
    ax.set_title(f"Series of {len(people)} N-of-1 trials ({result.method})", loc="left")
    fig.tight_layout()
    return fig


__all__ = ["forest_plot_pooled"]
