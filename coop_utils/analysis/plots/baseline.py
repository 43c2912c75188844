"""Table 1 and Fig. 3 (notebook 01): tasks per model beside the paper's, and capability."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import statsmodels.api as sm
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import Bbox

from ...game.config import PERFECT_PLAY_TASKS, Condition
from ..stats import canonical_model, capability_correlation, cell_summary, load_elo
from .labels import place_labels
from .style import (
    INK,
    PAPER_BAR,
    PAPER_MARKER,
    model_colors,
    paper_points,
    paper_sources,
    perfect_handle,
    rotate_ticks,
    scripted_models,
    scripted_state,
    styled,
    subplots,
    title_with_note,
    zero_marks,
)


@styled
def baseline_bars(
    runs: pd.DataFrame,
    paper: pd.DataFrame | None = None,
    metric: str = "tasks",
    condition: str = Condition.BASELINE,
    perfect: float = PERFECT_PLAY_TASKS,
    scripted: bool | None = None,
) -> Figure:
    """``metric`` per model under ``condition`` (mean ± 95% t-CI over runs), the perfect-play
    line (for tasks), and the paper's values as hatched bars beside ours (paper Table 1).
    Models only the paper ran are shown as hatched bars alone."""
    sub = runs[runs["condition"] == condition]
    state = scripted_state(sub, scripted)
    cells = cell_summary(sub, metric, "model").sort_values("mean", ascending=False)
    cells["key"] = cells["model"].map(canonical_model)
    scripted_pops = scripted_models(sub)
    p = paper_points(paper, metric, condition)
    perfect_row = p[p["key"] == "perfect_play"]
    paper_by_key = p.drop_duplicates("key").set_index("key")
    # Slots: our populations (with the paper's value beside, where one applies), then the
    # paper's models we did not run. A scripted population never takes a model's value.
    slots: list[tuple[str, pd.Series | None, pd.Series | None]] = []
    paired: set[str] = set()
    for _, r in cells.iterrows():
        key = r["key"]
        ref = None
        if key in paper_by_key.index and (r["model"] not in scripted_pops or key == "perfect_play"):
            ref = paper_by_key.loc[key]
            paired.add(key)
        if key == "perfect_play" and metric == "tasks":
            ref = None  # drawn as the ceiling line instead
        slots.append((r["model"], r, ref))
    for key, ref in paper_by_key.sort_values("value", ascending=False).iterrows():
        if key not in paired and key != "perfect_play":
            slots.append((ref["model"], None, ref))
    colors = model_colors([name for name, _, _ in slots])
    fig, ax = subplots(figsize=(max(7.5, 0.8 * len(slots) + 3.5), 5.4))
    width = 0.38
    tops = [0.0]
    for i, (m, mine, ref) in enumerate(slots):
        both = mine is not None and ref is not None
        if mine is not None:
            x = i - width / 2 if both else i
            err = None if math.isnan(mine["ci95"]) else mine["ci95"]
            ax.bar(
                x,
                mine["mean"],
                width if both else 1.6 * width,
                color=colors[m],
                yerr=err,
                capsize=4,
                edgecolor="black",
                linewidth=0.6,
            )
            zero_marks(ax, [x], [mine["mean"]])
            tops.append(mine["mean"] + (err or 0))
        if ref is not None:
            x = i + width / 2 if both else i
            ci = ref["ci95"] if pd.notna(ref["ci95"]) else None
            ax.bar(
                x,
                ref["value"],
                width if both else 1.6 * width,
                edgecolor=colors[m],
                yerr=ci,
                capsize=4,
                ecolor="0.35",
                **PAPER_BAR,
            )
            tops.append(ref["value"] + (ci or 0))
    handles = [Patch(facecolor="0.6", edgecolor="black", label="ours (mean ± 95% t-CI)")]
    if not p[p["key"] != "perfect_play"].empty:
        handles.append(Patch(edgecolor="0.3", label=f"paper ({paper_sources(p)})", **PAPER_BAR))
    if metric == "tasks" and perfect:
        ci = None
        if not perfect_row.empty and pd.notna(perfect_row["ci95"].iloc[0]):
            ci = float(perfect_row["ci95"].iloc[0])
            ax.axhspan(perfect - ci, perfect + ci, color="0.88", zorder=0)
        ax.axhline(perfect, color=INK, linestyle="--", linewidth=1.2, zorder=1)
        handles.append(perfect_handle(perfect, ci))
        tops.append(perfect)
        sec = ax.secondary_yaxis(
            "right", functions=(lambda t: 100 * t / perfect, lambda q: q * perfect / 100)
        )
        sec.set_ylabel(f"% of optimal (tasks ÷ {perfect:g})")
    ax.set_ylim(0, max(tops) * 1.32 or 1)
    ticks = [
        f"{m}\n(n={mine['n']} runs)" if mine is not None else f"{m}\n(paper only)"
        for m, mine, _ in slots
    ]
    ax.set_xticks(range(len(slots)), ticks)
    rotate_ticks(ax)
    ax.set_xlim(-0.7, len(slots) - 0.3)
    ax.set_ylabel(f"{metric.replace('_', ' ')} per run")
    ax.legend(handles=handles, loc="upper right", frameon=True, fontsize=9)
    ax.grid(axis="x", visible=False)
    title_with_note(fig, f"{metric.replace('_', ' ').capitalize()} per model — {condition}", state)
    return fig


# ---- Fig. 3: capability ----------------------------------------------------------------------


def _paper_corr_lines(paper: pd.DataFrame | None) -> list[str]:
    if paper is None:
        return []
    rows = paper[paper["metric"].isin(["pearson_r_elo_tasks", "spearman_rho_elo_tasks"])]
    if rows.empty:
        return []
    parts = []
    for r in rows.itertuples():
        name = "r" if r.metric.startswith("pearson") else "ρ"
        m = re.search(r"p\s*=\s*([\d.]+)", str(r.source))
        parts.append(f"{name} = {r.value:.2f}" + (f" (p = {m.group(1)})" if m else ""))
    n = re.search(r"all_(\d+)", str(rows["model"].iloc[0]))
    return [
        f"paper ({'n=' + n.group(1) + ', ' if n else ''}{paper_sources(rows)}): " + ", ".join(parts)
    ]


def _scripted_strip(ax: Axes, refs: pd.DataFrame, colors: dict) -> None:
    """Scripted populations beside the scatter: same y axis, no Elo (they have none)."""
    x = np.arange(len(refs))
    for i, r in enumerate(refs.itertuples()):
        ax.errorbar(
            i,
            r.mean,
            yerr=None if math.isnan(r.ci95) else r.ci95,
            fmt="s",
            ms=7,
            color=colors[r.model],
            mec="black",
            mew=0.6,
            capsize=3,
        )
    ax.set_xticks(x, [f"{m}\n(n={n})" for m, n in zip(refs["model"], refs["n"])], fontsize=8.5)
    rotate_ticks(ax, 45)
    ax.set_xlim(-0.6, len(refs) - 0.4)
    ax.set_title("scripted populations\n(no capability score)", fontsize=9.5, color="0.3")
    ax.grid(axis="x", visible=False)
    ax.tick_params(axis="y", labelleft=False)


@styled
def capability_scatter(
    runs: pd.DataFrame,
    elo: pd.DataFrame | None = None,
    paper: pd.DataFrame | None = None,
    metric: str = "tasks",
    condition: str = Condition.BASELINE,
    scripted: bool | None = None,
) -> Figure:
    """Arena Elo vs ``metric`` per model (mean ± 95% t-CI), an OLS line with its 95% band
    and r / ρ (paper Fig. 3). The paper's points (hollow diamonds) are placed at *our* Elo
    snapshot because the paper's snapshot is not published. Scripted populations have no
    capability score: they are drawn in a strip beside the scatter, on the same y axis."""
    elo = load_elo() if elo is None else elo
    sub = runs[runs["condition"] == condition]
    state = scripted_state(sub, scripted)
    scripted_pops = scripted_models(sub)
    cells = cell_summary(sub, metric, "model")
    e = elo.assign(key=elo["model"].map(canonical_model)).drop_duplicates("key")[["key", "elo"]]
    model_cells = cells[~cells["model"].isin(scripted_pops)]
    pts = model_cells.assign(key=model_cells["model"].map(canonical_model)).merge(e, on="key")
    refs = cells[cells["model"].isin(scripted_pops)].sort_values("mean", ascending=False)
    corr = capability_correlation(pts, e.rename(columns={"key": "model"}), condition=None)
    p = paper_points(paper, metric, condition).merge(e, on="key", how="inner")
    colors = model_colors(list(pts["model"]) + list(p["model"]) + list(refs["model"]))
    if len(refs):
        fig, (ax, strip) = subplots(
            1,
            2,
            figsize=(10.5, 6.2),
            sharey=True,
            gridspec_kw={"width_ratios": [4.2, 0.35 * len(refs) + 0.6]},
        )
    else:
        fig, ax = subplots(figsize=(8.6, 6.2))
    xs = np.concatenate([pts["elo"].to_numpy(float), p["elo"].to_numpy(float)])
    tops = [*(pts["mean"] + pts["ci95"].fillna(0)), *(p["value"] + p["ci95"].fillna(0))]
    tops += [*(refs["mean"] + refs["ci95"].fillna(0)), 1.0]
    xlo, xhi = (xs.min(), xs.max()) if len(xs) else (1300.0, 1450.0)
    pad = max(12.0, 0.12 * (xhi - xlo))
    ax.set_xlim(xlo - pad, xhi + pad)
    ax.set_ylim(0, 1.25 * max(tops))
    if len(pts) >= 3:
        fit = sm.OLS(pts["mean"], sm.add_constant(pts["elo"])).fit()
        grid = np.linspace(pts["elo"].min() - 5, pts["elo"].max() + 5, 100)
        pred = fit.get_prediction(sm.add_constant(grid)).summary_frame(alpha=0.05)
        ax.plot(grid, pred["mean"], color=INK, lw=1.2)
        ax.fill_between(
            grid, pred["mean_ci_lower"], pred["mean_ci_upper"], color="0.5", alpha=0.15, lw=0
        )
    for r in pts.itertuples():
        ax.errorbar(
            r.elo,
            r.mean,
            yerr=None if math.isnan(r.ci95) else r.ci95,
            fmt="o",
            ms=8,
            color=colors[r.model],
            mec="black",
            mew=0.6,
            capsize=3,
            zorder=3,
        )
    for r in p.itertuples():
        ax.errorbar(
            r.elo,
            r.value,
            yerr=r.ci95 if pd.notna(r.ci95) else None,
            ms=7,
            mec=colors[r.model],
            ecolor=colors[r.model],
            capsize=2,
            elinewidth=0.8,
            zorder=2,
            **PAPER_MARKER,
        )
    if len(refs):
        _scripted_strip(strip, refs, colors)
    c = corr.set_index("method")
    n_ours = int(c.loc["pearson", "n"])
    if n_ours >= 3:
        lines = [
            f"ours (n={n_ours} models): r = {c.loc['pearson', 'statistic']:.2f} "
            f"(p = {c.loc['pearson', 'p']:.2f}), ρ = {c.loc['spearman', 'statistic']:.2f} "
            f"(p = {c.loc['spearman', 'p']:.2f})"
        ]
    elif scripted_pops and len(pts) == 0:
        lines = ["ours: scripted populations only — no capability score (right)"]
    else:
        lines = [f"ours: {len(pts)} model(s) with an Elo score — too few for a correlation"]
    if len(p) > 3:  # what the hollow points give, beside what the paper reports
        points = p.rename(columns={"value": "tasks"})
        pc = capability_correlation(points, e.rename(columns={"key": "model"})).iloc[0]
        lines.append(
            f"paper's points at this snapshot (n={int(pc.n)}): r = {pc.statistic:.2f} "
            f"(95% CI {pc.lo:.2f} to {pc.hi:.2f}; one left out: {pc.loo_lo:.2f} to {pc.loo_hi:.2f})"
        )
    lines += [f"{x}, at its own Elo snapshot" for x in _paper_corr_lines(paper)]
    note = ax.text(
        0.015,
        0.985,
        "\n".join(lines),
        transform=ax.transAxes,
        va="top",
        ha="left",
        fontsize=9,
        zorder=5,
        bbox=dict(boxstyle="round,pad=0.4", facecolor="white", edgecolor="0.7", alpha=0.95),
    )
    as_of = ", ".join(sorted(set(elo["as_of"].astype(str)))) if "as_of" in elo.columns else "?"
    ax.set_xlabel(f"Chatbot Arena text Elo (LMArena snapshot of {as_of})")
    ax.set_ylabel(f"{metric.replace('_', ' ')} per run under {condition}")
    handles = []
    if len(pts):
        handles.append(
            Line2D([], [], marker="o", ls="", color="0.5", mec="black", label="ours (± 95% t-CI)")
        )
    if not p.empty:
        label = "paper (Table 1), placed at this Elo snapshot"
        handles.append(Line2D([], [], mec="0.3", label=label, **PAPER_MARKER))
    if len(refs):
        handles.append(
            Line2D(
                [],
                [],
                marker="s",
                ls="",
                color="0.5",
                mec="black",
                label="ours, scripted (± 95% t-CI)",
            )
        )
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    taken = [note.get_window_extent(renderer)]
    for x, y in zip(p["elo"], p["value"]):
        ((px, py),) = ax.transData.transform([(x, y)])
        taken.append(Bbox.from_extents(px - 6, py - 6, px + 6, py + 6))
    taken = place_labels(
        ax, pts["elo"], pts["mean"], list(pts["model"]), [colors[m] for m in pts["model"]], taken
    )
    place_labels(
        ax,
        p["elo"],
        p["value"],
        [f"{m} (paper)" for m in p["model"]],
        [colors[m] for m in p["model"]],
        taken,
        fontsize=8.5,
        style="italic",
    )
    title_with_note(fig, "Capability vs collective performance", state)
    return fig
