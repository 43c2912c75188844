"""Fig. 5 (notebook 03): the interventions' effects as % change, beside the paper's."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ...game.config import INTERVENTIONS, PERFECT_PLAY_TASKS, Condition
from ..stats import canonical_model, cell_summary
from .style import (
    CONDITION_COLORS,
    INK,
    perfect_handle,
    rotate_ticks,
    scripted_models,
    scripted_state,
    styled,
    subplots,
    title_with_note,
    zero_marks,
)


def _paper_intervention_tasks(paper: pd.DataFrame | None) -> pd.DataFrame:
    """Paper task counts per (model, condition): Tables 1 and 5 directly; policy and
    incentive derived from Table 3's % change on the Table 1 baseline (a direct value wins)."""
    if paper is None or paper.empty:
        return pd.DataFrame(columns=["key", "condition", "value", "derived"])
    tasks = paper[paper["metric"] == "tasks"].assign(key=lambda d: d["model"].map(canonical_model))
    rows = [
        dict(key=r.key, condition=r.condition, value=r.value, derived=False)
        for r in tasks.itertuples()
    ]
    base = tasks[tasks["condition"] == Condition.BASELINE].set_index("key")["value"]
    have = {(r["key"], r["condition"]) for r in rows}
    pct = paper[paper["metric"] == "pct_change_tasks"]
    for r in pct.assign(key=pct["model"].map(canonical_model)).itertuples():
        if (r.key, r.condition) not in have and r.key in base.index:
            value = base[r.key] * (1 + r.value / 100)
            rows.append(dict(key=r.key, condition=r.condition, value=value, derived=True))
    return pd.DataFrame(rows)


@styled
def intervention_effects(
    runs: pd.DataFrame,
    paper: pd.DataFrame | None = None,
    conditions: Sequence[str] = (Condition.BASELINE, *INTERVENTIONS),
    perfect: float = PERFECT_PLAY_TASKS,
    scripted: bool | None = None,
) -> Figure:
    """Tasks per model under baseline and each intervention (mean ± 95% t-CI) with the
    perfect-play line (paper Fig. 5). The paper's values are hollow markers on the matching
    bar: diamonds where the paper reports the count, circles where it is derived from
    Table 3's % change. Scripted populations get no paper markers (except perfect play)."""
    sub = runs[runs["condition"].isin(conditions)]
    state = scripted_state(sub, scripted)
    scripted_pops = scripted_models(sub)
    cells = cell_summary(sub, "tasks", ("model", "condition"))
    base = cells[cells["condition"] == conditions[0]].set_index("model")["mean"]
    models = sorted(cells["model"].unique(), key=lambda m: (-base.get(m, -1), str(m)))
    present = [c for c in conditions if c in set(cells["condition"])]
    width = 0.8 / max(len(present), 1)
    fig, ax = subplots(figsize=(max(8.0, 1.3 * len(models) + 3), 5.6))
    x = np.arange(len(models))
    pt = _paper_intervention_tasks(paper)
    marked = set()
    for j, cond in enumerate(present):
        c = cells[cells["condition"] == cond].set_index("model").reindex(models)
        xs = x - 0.4 + width * (j + 0.5)
        ax.bar(
            xs,
            c["mean"],
            width,
            yerr=c["ci95"],  # none drawn for a single run: no zero-width "interval"
            capsize=3,
            label=cond,
            color=CONDITION_COLORS.get(cond, "0.6"),
            edgecolor="black",
            linewidth=0.5,
        )
        zero_marks(ax, xs, c["mean"])
        for xi, m in zip(xs, models):
            key = canonical_model(m)
            if m in scripted_pops and key != "perfect_play":
                continue
            for r in pt[(pt["key"] == key) & (pt["condition"] == cond)].itertuples():
                marker = "o" if r.derived else "D"
                marked.add(marker)
                ax.plot(
                    xi,
                    r.value,
                    marker=marker,
                    ms=7,
                    mfc="white",
                    mec="black",
                    mew=1.4,
                    ls="",
                    zorder=4,
                )
    ax.axhline(perfect, color=INK, ls="--", lw=1.2)
    top = max([perfect, *(cells["mean"] + cells["ci95"].fillna(0)).dropna()])
    ax.set_ylim(0, top * 1.3)
    ax.set_xticks(x, models)
    rotate_ticks(ax, 20)
    single = " (no bar: 1 run)" if cells["ci95"].isna().any() else ""
    ax.set_ylabel(f"tasks per run (mean ± 95% t-CI{single})")
    ax.grid(axis="x", visible=False)
    handles, _ = ax.get_legend_handles_labels()
    handles.append(perfect_handle(perfect, None))
    if "D" in marked:
        handles.append(
            Line2D([], [], marker="D", ls="", mfc="white", mec="black", label="paper (Tables 1, 5)")
        )
    if "o" in marked:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                mfc="white",
                mec="black",
                label="paper, from Table 3 % change",
            )
        )
    ax.legend(handles=handles, loc="upper right", ncols=2, fontsize=9)
    title_with_note(fig, "Tasks completed under each intervention", state)
    return fig
