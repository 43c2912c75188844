"""Fig. 4 (notebook 02): cooperation vs competence, the quadrant diagnosis."""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

from ..quadrants import DEFAULT_THRESHOLD, RATES
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


OURS = "ours (mean ± 95% t-CI)"
"""The legend entry of points computed from runs."""


def _rate_points(runs: pd.DataFrame) -> pd.DataFrame:
    """Each model's two rates from its runs, one row a model: ``model``, ``x`` (cooperation
    rate: mean % of optimal under auto_request), ``y`` (competence rate: under
    auto_fulfill) and their 95% t half-widths ``xerr``, ``yerr``."""
    sub = runs[runs["condition"].isin(list(RATES.values()))]
    cells = cell_summary(sub, "pct_optimal", ("model", "condition"))
    wide = cells.pivot(index="model", columns="condition", values=["mean", "ci95"])
    pts = pd.DataFrame(
        {
            "x": wide.get(("mean", RATES["cooperation"])),
            "y": wide.get(("mean", RATES["competence"])),
            "xerr": wide.get(("ci95", RATES["cooperation"])),
            "yerr": wide.get(("ci95", RATES["competence"])),
        }
    ).dropna(subset=["x", "y"])
    return pts.rename_axis("model").reset_index()


@styled
def quadrant_plot(
    runs: pd.DataFrame | None,
    paper: pd.DataFrame | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    scripted: bool | None = None,
    *,
    points: pd.DataFrame | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Cooperation rate (x: % of optimal under auto_request) vs competence rate (y: % of
    optimal under auto_fulfill), ours ± 95% t-CI, with quadrant labels (paper Fig. 4). The
    paper's points are hollow diamonds labelled '(paper)', joined to ours for the same model.

    ``points`` adds rates already summarised, one row a point: ``model``, ``x``, ``y``,
    ``xerr``, ``yerr`` (95% half-widths, NaN for none) and optionally ``label``, ``marker``
    and ``legend`` (the text beside it, its marker, its legend entry; by default the model,
    ``o`` and :data:`OURS`); ``runs`` may then be None. With
    ``ax`` the plot is drawn into those axes and the figure's title is left to the caller
    (the leaderboard's figure, :func:`coop_utils.run.evaluate.leaderboard.figure`)."""
    if runs is None and points is None:
        raise ValueError("quadrant_plot needs runs, or points already summarised")
    own = ax is None  # a figure of its own, titled here
    if own:
        sub = None if runs is None else runs[runs["condition"].isin(list(RATES.values()))]
        state = scripted_state(sub, scripted)
    parts = [] if runs is None else [_rate_points(runs)]
    pts = pd.concat([*parts, points], ignore_index=True) if points is not None else parts[0]
    for col, default in {"label": pts["model"], "marker": "o", "legend": OURS}.items():
        pts[col] = pts[col].fillna(default) if col in pts else default
    pp = paper_points(paper, "pct_optimal")
    pw = pp[pp["condition"].isin(list(RATES.values()))].pivot_table(
        index="model", columns="condition", values="value"
    )
    pw = pw.dropna() if set(RATES.values()) <= set(pw.columns) else pw.iloc[0:0]
    colors = model_colors(list(pts["model"]) + list(pw.index))
    fig, ax = subplots(figsize=(7.8, 7.4)) if own else (ax.figure, ax)
    ext = [105.0, *(pts["x"] + pts["xerr"].fillna(0)), *(pts["y"] + pts["yerr"].fillna(0))]
    lim = 5 * math.ceil(max(ext) * 1.04 / 5)
    quadrants = quadrant_axes(ax, threshold, lim)
    keys = pts["model"].map(canonical_model)
    for m, r in pw.iterrows():
        ax.plot(
            r[RATES["cooperation"]],
            r[RATES["competence"]],
            ms=8,
            mec=colors[m],
            zorder=2,
            **PAPER_MARKER,
        )
        for mine in pts[keys == canonical_model(m)].itertuples():
            ax.plot(
                [r[RATES["cooperation"]], mine.x],
                [r[RATES["competence"]], mine.y],
                color=colors[m],
                lw=0.7,
                alpha=0.6,
                zorder=1,
            )
    for r in pts.itertuples():
        ax.errorbar(
            r.x,
            r.y,
            xerr=None if pd.isna(r.xerr) else r.xerr,
            yerr=None if pd.isna(r.yerr) else r.yerr,
            fmt=r.marker,
            ms=9,
            color=colors[r.model],
            mec="black",
            mew=0.6,
            capsize=3,
            zorder=3,
        )
    handles = [
        Line2D([], [], marker=marker, ls="", color="0.5", mec="black", label=legend)
        for marker, legend in dict.fromkeys(zip(pts["marker"], pts["legend"]))
    ]
    if not pw.empty:
        handles.append(Line2D([], [], mec="0.3", label="paper (Table 2)", **PAPER_MARKER))
    legend = ax.legend(handles=handles, loc="center right", fontsize=9)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    taken = [t.get_window_extent(renderer) for t in quadrants]
    taken.append(legend.get_window_extent(renderer))
    for r in pts.itertuples():  # error bars are obstacles too
        xe = r.xerr if pd.notna(r.xerr) else 0.0
        ye = r.yerr if pd.notna(r.yerr) else 0.0
        (x0, y0), (x1, y1) = ax.transData.transform([(r.x - xe, r.y - ye), (r.x + xe, r.y + ye)])
        ((cx, cy),) = ax.transData.transform([(r.x, r.y)])
        taken.append(Bbox.from_extents(x0, cy - 7, x1, cy + 7))
        taken.append(Bbox.from_extents(cx - 7, y0, cx + 7, y1))
    for x, y in zip(pw.get(RATES["cooperation"], []), pw.get(RATES["competence"], [])):
        ((px, py),) = ax.transData.transform([(x, y)])
        taken.append(Bbox.from_extents(px - 7, py - 7, px + 7, py + 7))
    taken = place_labels(
        ax, pts["x"], pts["y"], list(pts["label"]), [colors[m] for m in pts["model"]], taken
    )
    place_labels(
        ax,
        pw.get(RATES["cooperation"], []),
        pw.get(RATES["competence"], []),
        [f"{m} (paper)" for m in pw.index],
        [colors[m] for m in pw.index],
        taken,
        fontsize=8.5,
        style="italic",
    )
    ax.set_xlabel("cooperation rate: % of optimal under auto_request\n(asking automated)")
    ax.set_ylabel("competence rate: % of optimal under auto_fulfill\n(sending automated)")
    if own:
        title_with_note(fig, "Cooperation vs competence", state)
    return fig
