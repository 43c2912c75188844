"""Tables 9–10 (notebook 05): each ablation setting's effect on tasks."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .style import (
    INK,
    PAPER_MARKER,
    model_colors,
    rotate_ticks,
    scripted_state,
    styled,
    subplots,
    title_with_note,
)


@styled
def ablation_effects(table: pd.DataFrame, scripted: bool | None = None) -> Figure:
    """Appendix ablations: tasks per model under each setting (left, mean ± 95% t-CI, the
    paper's value as a hollow diamond where it reports one) and the change from the default
    setting (right). Input: :func:`coop_utils.analysis.tables.ablation_table`."""
    state = scripted_state(table, scripted)
    settings = list(dict.fromkeys(table["setting"]))
    models = sorted(table["model"].unique())
    colors = model_colors(models)
    fig, (left, right) = subplots(1, 2, figsize=(13, 4.8), sharex=True)
    x = np.arange(len(settings))
    step = 0.7 / max(len(models), 1)
    for k, m in enumerate(models):
        t = table[table["model"] == m].set_index("setting").reindex(settings)
        xs = x - 0.35 + step * (k + 0.5)
        left.errorbar(
            xs,
            t["tasks"],
            yerr=t["tasks_ci95"].fillna(0),
            fmt="o",
            color=colors[m],
            capsize=3,
            label=m,
        )
        right.bar(xs, t["pct_vs_default"].fillna(0), step * 0.9, color=colors[m])
        if "paper_tasks" in t:
            left.plot(xs, t["paper_tasks"], color=colors[m], **PAPER_MARKER)
    left.set_ylabel("tasks per run (mean ± 95% t-CI)")
    right.set_ylabel("change from the default setting (%)")
    right.axhline(0, color=INK, lw=0.8)
    for ax in (left, right):
        ax.set_xticks(x, settings)
        rotate_ticks(ax)
        ax.grid(axis="x", visible=False)
    left.set_ylim(bottom=0)
    handles = [Line2D([], [], marker="o", ls="", color=colors[m], label=m) for m in models]
    if table.get("paper_tasks", pd.Series(dtype=float)).notna().any():
        handles.append(Line2D([], [], color=INK, label="paper", **PAPER_MARKER))
    fig.legend(handles=handles, loc="outside right center", fontsize=9, frameon=False)
    title_with_note(fig, "Ablations: rounds, group size, wording and reward scale", state)
    return fig
