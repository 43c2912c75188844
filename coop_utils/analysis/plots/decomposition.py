"""Fig. 4 (notebook 02): cooperation vs competence, the quadrant diagnosis."""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

from ...game.config import Condition
from ..quadrants import DEFAULT_THRESHOLD
from ..stats import canonical_model, cell_summary
from .labels import place_labels
from .style import (
    PAPER_MARKER,
    model_colors,
    paper_points,
    scripted_state,
    styled,
    subplots,
    title_with_note,
)


def quadrant_axes(ax: Axes, threshold: float, lim: float, hints: bool = True) -> list:
    """Square axes from 0 to ``lim`` with the threshold lines and Fig. 4's four quadrant
    names in the corners (with what each means when ``hints``); returns the name labels,
    so point labels can be placed around them."""
    ax.set_xlim(0, lim)
    ax.set_ylim(0, lim)
    ax.set_aspect("equal")
    ax.axvline(threshold, color="0.4", lw=1, ls=":")
    ax.axhline(threshold, color="0.4", lw=1, ls=":")
    box = dict(boxstyle="round,pad=0.3", facecolor="white", edgecolor="none", alpha=0.85)
    hint = {
        "cooperation-limited": "\n(asks & submits, won't send)",
        "competence-limited": "\n(sends, can't ask or submit)",
    }
    corners = (
        (0.015, 0.985, "cooperation-limited", "left", "top"),
        (0.985, 0.985, "cooperative & competent", "right", "top"),
        (0.015, 0.015, "both limited", "left", "bottom"),
        (0.985, 0.015, "competence-limited", "right", "bottom"),
    )
    return [
        ax.text(
            tx,
            ty,
            text + (hint.get(text, "") if hints else ""),
            transform=ax.transAxes,
            ha=ha,
            va=va,
            fontsize=9,
            color="0.35",
            style="italic",
            bbox=box,
        )
        for tx, ty, text, ha, va in corners
    ]


@styled
def quadrant_plot(
    runs: pd.DataFrame,
    paper: pd.DataFrame | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    scripted: bool | None = None,
) -> Figure:
    """Cooperation rate (x: % of optimal under auto_request) vs competence rate (y: % of
    optimal under auto_fulfill), ours ± 95% t-CI, with quadrant labels (paper Fig. 4). The
    paper's points are hollow diamonds labelled '(paper)'."""
    sub = runs[runs["condition"].isin([Condition.AUTO_REQUEST, Condition.AUTO_FULFILL])]
    state = scripted_state(sub, scripted)
    cells = cell_summary(sub, "pct_optimal", ("model", "condition"))
    wide = cells.pivot(index="model", columns="condition", values=["mean", "ci95"])
    pts = pd.DataFrame(
        {
            "x": wide.get(("mean", Condition.AUTO_REQUEST)),
            "y": wide.get(("mean", Condition.AUTO_FULFILL)),
            "xerr": wide.get(("ci95", Condition.AUTO_REQUEST)),
            "yerr": wide.get(("ci95", Condition.AUTO_FULFILL)),
        }
    ).dropna(subset=["x", "y"])
    pp = paper_points(paper, "pct_optimal")
    pw = pp[pp["condition"].isin([Condition.AUTO_REQUEST, Condition.AUTO_FULFILL])].pivot_table(
        index="model", columns="condition", values="value"
    )
    pw = (
        pw.dropna()
        if {Condition.AUTO_REQUEST, Condition.AUTO_FULFILL} <= set(pw.columns)
        else pw.iloc[0:0]
    )
    colors = model_colors(list(pts.index) + list(pw.index))
    fig, ax = subplots(figsize=(7.8, 7.4))
    ext = [105.0, *(pts["x"] + pts["xerr"].fillna(0)), *(pts["y"] + pts["yerr"].fillna(0))]
    lim = 5 * math.ceil(max(ext) * 1.04 / 5)
    quadrants = quadrant_axes(ax, threshold, lim)
    ours_keys = {canonical_model(m): m for m in pts.index}
    for m, r in pw.iterrows():
        ax.plot(
            r[Condition.AUTO_REQUEST],
            r[Condition.AUTO_FULFILL],
            ms=8,
            mec=colors[m],
            zorder=2,
            **PAPER_MARKER,
        )
        mine = ours_keys.get(canonical_model(m))
        if mine is not None:
            ax.plot(
                [r[Condition.AUTO_REQUEST], pts.loc[mine, "x"]],
                [r[Condition.AUTO_FULFILL], pts.loc[mine, "y"]],
                color=colors[m],
                lw=0.7,
                alpha=0.6,
                zorder=1,
            )
    for m, r in pts.iterrows():
        ax.errorbar(
            r["x"],
            r["y"],
            xerr=None if pd.isna(r["xerr"]) else r["xerr"],
            yerr=None if pd.isna(r["yerr"]) else r["yerr"],
            fmt="o",
            ms=9,
            color=colors[m],
            mec="black",
            mew=0.6,
            capsize=3,
            zorder=3,
        )
    handles = [
        Line2D([], [], marker="o", ls="", color="0.5", mec="black", label="ours (mean ± 95% t-CI)")
    ]
    if not pw.empty:
        handles.append(Line2D([], [], mec="0.3", label="paper (Table 2)", **PAPER_MARKER))
    legend = ax.legend(handles=handles, loc="center right", fontsize=9)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    taken = [t.get_window_extent(renderer) for t in quadrants]
    taken.append(legend.get_window_extent(renderer))
    for _, r in pts.iterrows():  # error bars are obstacles too
        xe = r["xerr"] if pd.notna(r["xerr"]) else 0.0
        ye = r["yerr"] if pd.notna(r["yerr"]) else 0.0
        (x0, y0), (x1, y1) = ax.transData.transform(
            [(r["x"] - xe, r["y"] - ye), (r["x"] + xe, r["y"] + ye)]
        )
        ((cx, cy),) = ax.transData.transform([(r["x"], r["y"])])
        taken.append(Bbox.from_extents(x0, cy - 7, x1, cy + 7))
        taken.append(Bbox.from_extents(cx - 7, y0, cx + 7, y1))
    for x, y in zip(pw.get(Condition.AUTO_REQUEST, []), pw.get(Condition.AUTO_FULFILL, [])):
        ((px, py),) = ax.transData.transform([(x, y)])
        taken.append(Bbox.from_extents(px - 7, py - 7, px + 7, py + 7))
    taken = place_labels(
        ax, pts["x"], pts["y"], list(pts.index), [colors[m] for m in pts.index], taken
    )
    place_labels(
        ax,
        pw.get(Condition.AUTO_REQUEST, []),
        pw.get(Condition.AUTO_FULFILL, []),
        [f"{m} (paper)" for m in pw.index],
        [colors[m] for m in pw.index],
        taken,
        fontsize=8.5,
        style="italic",
    )
    ax.set_xlabel("cooperation rate: % of optimal under auto_request\n(asking automated)")
    ax.set_ylabel("competence rate: % of optimal under auto_fulfill\n(sending automated)")
    title_with_note(fig, "Cooperation vs competence", state)
    return fig
