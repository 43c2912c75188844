"""Tables 6–8 (notebook 04): classes of private thoughts per model and condition."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ...game.config import Condition
from ..stats import canonical_model
from .style import (
    PAPER_MARKER,
    model_colors,
    paper_points,
    rotate_ticks,
    scripted_models,
    scripted_state,
    styled,
    subplots,
    title_with_note,
    zero_marks,
)


def _interval(t: pd.DataFrame, measure: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Values and error bars of a thought measure: run-level intervals when the table has
    them (``thoughts.run_level_table``), none for pooled thoughts (not independent)."""
    vals = t[measure].to_numpy(dtype=float)
    if f"{measure}_ci95" in t.columns:  # NaN: one run, no interval
        return vals, t[f"{measure}_ci95"].to_numpy(float), "mean over runs ± 95% t-CI"
    return vals, None, "pooled thoughts, no interval"


_FLOOR_LABEL = "classifier's false-positive floor\n(at or below: not distinguishable from 0)"


def _class_of(measure: str) -> str:
    """The class a share column measures ('hard_defection_pct' → 'hard_defection')."""
    return measure.removesuffix("_pct")


@styled
def thought_classes(
    table: pd.DataFrame,
    paper: pd.DataFrame | None = None,
    condition: str | None = Condition.BASELINE,
    scripted: bool | None = None,
    floor: pd.DataFrame | None = None,
) -> Figure:
    """Share of private thoughts showing hard defection / soft conditionality, and market
    terms per 1,000 words, per model (paper Tables 7–8). Input: ``thoughts.run_level_table``
    (preferred: runs are the independent units) or ``thoughts.thought_table``. ``floor``
    (``thoughts.false_positive_floor``) draws each class's false-positive floor: a share at
    or below the dashed line is not distinguishable from zero."""
    t = table
    if condition is not None and "condition" in t.columns:
        t = t[t["condition"] == condition]
    state = scripted_state(t, scripted)
    t = t.sort_values("hard_defection_pct", ascending=False)
    models = list(t["model"])
    colors = model_colors(models)
    fig, axes = subplots(1, 3, figsize=(max(12.0, 1.9 * len(models) + 3), 5.0))
    x = np.arange(len(models))
    panels = (
        ("hard_defection_pct", "hard defection", "% of thoughts"),
        ("soft_conditional_pct", "soft conditional", "% of thoughts"),
        ("market_terms_per_1k_words", "market language", "terms per 1,000 words"),
    )
    scripted_pops = scripted_models(t) if "scripted" in t.columns else set()
    drew_paper = False
    for ax, (measure, name, unit) in zip(axes, panels):
        vals, err, how = _interval(t, measure)
        ax.bar(
            x,
            vals,
            0.65,
            yerr=err,
            capsize=3,
            color=[colors[m] for m in models],
            edgecolor="black",
            linewidth=0.5,
        )
        zero_marks(ax, x, vals)
        at = (
            None if floor is None else floor.set_index("class")["floor_pct"].get(_class_of(measure))
        )
        if at is not None:
            ax.axhline(at, ls="--", lw=1, color="0.3", zorder=3)
            ax.legend(
                handles=[Line2D([], [], ls="--", lw=1, color="0.3", label=_FLOOR_LABEL)],
                loc="upper right",
                fontsize=8,
            )
        pp = paper_points(paper, measure, condition or Condition.BASELINE)
        for i, m in enumerate(models):
            hit = pp[pp["key"] == canonical_model(m)]
            if not hit.empty and m not in scripted_pops:
                ci = hit["ci95"].iloc[0]
                ax.errorbar(
                    i,
                    hit["value"].iloc[0],
                    yerr=None if pd.isna(ci) else ci,
                    ms=7,
                    mec="black",
                    ecolor="black",
                    capsize=2,
                    zorder=4,
                    **PAPER_MARKER,
                )
                drew_paper = True
        ax.set_title(f"{name}\n({unit}; {how})", fontsize=10)
        ax.set_ylabel(unit)
        ax.set_xticks(x, models)
        rotate_ticks(ax)
        ax.grid(axis="x", visible=False)
        upper = vals if err is None else vals + np.nan_to_num(err[1] if err.ndim == 2 else err)
        hi = float(np.nanmax(upper)) if len(upper) and np.isfinite(upper).any() else 0.0
        ax.set_ylim(0, max(5.0, 1.15 * hi, 1.3 * (at or 0.0)))
        if len(vals) and np.nansum(vals) == 0:
            ax.text(
                0.5,
                0.6,
                "none found in any thought",
                transform=ax.transAxes,
                ha="center",
                color="0.4",
                style="italic",
            )
    counts = ", ".join(
        f"{m}: {int(n)}" + (f" in {int(r)} run{'s' if int(r) != 1 else ''}" if pd.notna(r) else "")
        for m, n, r in zip(models, t["n_thoughts"], t.get("n_runs", [math.nan] * len(t)))
    )
    fig.text(
        0.5,
        -0.02,
        f"thoughts per model — {counts}",
        ha="center",
        va="top",
        fontsize=8.5,
        color="0.35",
        wrap=True,
    )
    if drew_paper:
        axes[2].legend(
            handles=[Line2D([], [], mec="black", label="paper (Tables 7, 8)", **PAPER_MARKER)],
            loc="upper right",
            fontsize=9,
        )
    title_with_note(fig, f"Private-thought classes{' — ' + condition if condition else ''}", state)
    return fig
