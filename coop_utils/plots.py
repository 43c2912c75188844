"""The paper's figures, regenerated from run data, one function per figure.

Why: a figure is where a reader decides what the study found, so each one here
(1) shows the uncertainty it was computed with (95% t-intervals over runs; Wilson
intervals only where thoughts are pooled), (2) puts the paper's published numbers
beside ours as references — hatched bars or hollow diamonds, always labelled as the
paper's, never blended into our data — and (3) says in its title when the data come
from scripted agents, because those results describe the machinery, not any model.

Every function takes the frames of :mod:`coop_utils.load` (runs, thoughts, transfers,
per-round) or the tables of :mod:`coop_utils.stats` / :mod:`coop_utils.thoughts`,
returns a matplotlib ``Figure`` (outside pyplot, so nothing is shown or leaked) and
:func:`save` writes PNG and PDF. Whether data are scripted is read from a ``scripted``
column; a frame without one needs ``scripted=True/False`` — there is no silent default.
Paper references are the frame of :func:`coop_utils.paper.load_paper`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import networkx as nx
import numpy as np
import pandas as pd
import seaborn as sns
import statsmodels.api as sm
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import Bbox

from .config import CONDITIONS, PAPER_MODELS, PERFECT_PLAY_TASKS
from .paths import atomic_path
from .stats import canonical_model, capability_correlation, cell_summary, load_elo

__all__ = [
    "CONDITION_COLORS",
    "SCRIPTED_NOTE",
    "baseline_bars",
    "ablation_effects",
    "capability_scatter",
    "decomposition_validity",
    "exchange_network",
    "intervention_effects",
    "model_colors",
    "quadrant_axes",
    "quadrant_plot",
    "save",
    "tasks_per_round",
    "thought_classes",
]

SCRIPTED_NOTE = "scripted agents — not model behaviour"
PARTLY_SCRIPTED_NOTE = "includes scripted agents — those are not model behaviour"

SCRIPTED_PRESETS: tuple[str, ...] = (
    "perfect_play",
    "cooperator",
    "withholder",
    "bungler",
    "free_rider",
    "manipulator",
    "rival",
    "reciprocator",
)
_PALETTE = {
    **dict(zip(PAPER_MODELS, sns.color_palette("tab10", 10)[:8])),
    **dict(zip(SCRIPTED_PRESETS, sns.color_palette("Dark2", 8))),
}
_EXTRA_PALETTE = sns.color_palette("Set1", 9) + sns.color_palette("Set3", 12)

CONDITION_COLORS: dict[str, tuple[float, float, float]] = dict(
    zip(
        ("baseline", "policy", "incentive", "limited", "auto_request", "auto_fulfill"),
        sns.color_palette("Set2", 6),
    )
)

PAPER_BAR = dict(facecolor="none", hatch="////", linewidth=1.2)
"""Paper references are drawn hatched (bars) or hollow (markers); our data solid."""
PAPER_MARKER = dict(marker="D", mfc="none", mew=1.5, ls="")
INK = "0.25"


def model_colors(models: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One stable colour per model across all figures: the paper's 8 models and the scripted
    presets have fixed colours (matched by canonical name); other names by sorted order."""
    out, extra = {}, 0
    for m in sorted(set(models), key=str):
        key = canonical_model(m).removeprefix("local:").removeprefix("scripted/")
        if key in _PALETTE:
            out[m] = _PALETTE[key]
        else:
            out[m] = _EXTRA_PALETTE[extra % len(_EXTRA_PALETTE)]
            extra += 1
    return out


def _styled(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draw inside one consistent seaborn style without touching global rcParams."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> Figure:
        rc = {"figure.dpi": 100, "savefig.dpi": 200, "axes.titleweight": "bold"}
        with sns.axes_style("whitegrid"), sns.plotting_context("paper", font_scale=1.2):
            with mpl.rc_context(rc):
                return fn(*args, **kwargs)

    return wrapper


def _subplots(nrows: int = 1, ncols: int = 1, figsize=(8, 5), **kw):
    """A figure outside pyplot's registry (no leaks, no double display in notebooks)."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)  # a renderer, so labels can be measured and placed
    return fig, fig.subplots(nrows, ncols, **kw)


def _scripted_state(frame: pd.DataFrame | None, scripted: bool | None) -> str | None:
    """'all', 'some' or None (not scripted); raises when it cannot be known."""
    if scripted is not None:
        return "all" if scripted else None
    if frame is not None and "scripted" in frame.columns and not frame.empty:
        s = frame["scripted"].fillna(False).astype(bool)
        return "all" if s.all() else ("some" if s.any() else None)
    raise ValueError(
        "cannot tell whether these data come from scripted agents: the frame has no "
        "'scripted' column, so pass scripted=True or scripted=False"
    )


def _scripted_models(frame: pd.DataFrame) -> set[str]:
    if "scripted" not in frame.columns:
        return set()
    flags = frame.groupby("model")["scripted"].apply(lambda s: bool(s.astype(bool).any()))
    return {m for m, f in flags.items() if f}


def _title(fig: Figure, title: str, state: str | None) -> None:
    note = {"all": SCRIPTED_NOTE, "some": PARTLY_SCRIPTED_NOTE}.get(state or "")
    fig.suptitle(f"{title}\n[{note}]" if note else title, fontsize=13)


def _paper(paper: pd.DataFrame | None, metric: str, condition: str | None = None) -> pd.DataFrame:
    cols = ["model", "condition", "metric", "value", "ci95", "source", "key"]
    if paper is None or paper.empty:
        return pd.DataFrame(columns=cols)
    p = paper[paper["metric"] == metric]
    if condition is not None:
        p = p[p["condition"] == condition]
    return p.assign(key=p["model"].map(canonical_model))


def _sources(p: pd.DataFrame) -> str:
    src = sorted({str(s).split(" (")[0] for s in p.get("source", pd.Series(dtype=str)).dropna()})
    return ", ".join(src) if src else "paper"


def _rotate(ax: Axes, degrees: float = 30) -> None:
    ax.tick_params(axis="x", labelrotation=degrees)
    for t in ax.get_xticklabels():
        t.set_horizontalalignment("right")
        t.set_rotation_mode("anchor")


def _perfect_handle(perfect: float, ci: float | None) -> Line2D:
    text = f"perfect play (paper): {perfect:g}" + (f" ± {ci:g}" if ci else "") + " tasks"
    return Line2D([], [], color=INK, ls="--", lw=1.2, label=text)


def _zero_marks(ax: Axes, xs: Sequence[float], values: Sequence[float]) -> None:
    """Write '0' where a bar has zero height, so an empty slot is not read as missing data."""
    for x, v in zip(xs, values):
        if pd.notna(v) and v == 0:
            ax.text(x, 0, "0", ha="center", va="bottom", fontsize=8, color=INK)


# ---- label placement -------------------------------------------------------------------------

_OFFSETS = (
    (7, 5, "left", "bottom"),
    (7, -5, "left", "top"),
    (-7, 5, "right", "bottom"),
    (-7, -5, "right", "top"),
    (0, 9, "center", "bottom"),
    (0, -9, "center", "top"),
    (10, 0, "left", "center"),
    (-10, 0, "right", "center"),
    (16, 16, "left", "bottom"),
    (-16, -16, "right", "top"),
    (16, -16, "left", "top"),
    (-16, 16, "right", "bottom"),
    (0, 22, "center", "bottom"),
    (0, -22, "center", "top"),
)


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _place_labels(
    ax: Axes,
    xs: Sequence[float],
    ys: Sequence[float],
    texts: Sequence[str],
    colors: Sequence,
    obstacles: list[Bbox] | None = None,
    **text_kw,
) -> list[Bbox]:
    """Label points without overlapping each other, the points, or the axes' edge.

    Each label tries a ring of offsets around its point and keeps the first that collides
    with nothing already placed (else the least colliding, with a leader line). Returns the
    occupied boxes (display units) so several calls can share them via ``obstacles``.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    pts = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.empty((0, 2))
    taken = list(obstacles or []) + [Bbox.from_extents(x - 6, y - 6, x + 6, y + 6) for x, y in pts]
    kw = {"fontsize": 9, **text_kw}
    for x, y, text, color in zip(xs, ys, texts, colors):
        best, best_score = _OFFSETS[0], math.inf
        for offset in _OFFSETS:
            dx, dy, ha, va = offset
            t = ax.annotate(
                text,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                color=color,
                **kw,
            )
            box = t.get_window_extent(renderer).padded(2)
            t.remove()
            outside = box.width * box.height - _overlap(box, frame)
            score = sum(_overlap(box, o) for o in taken) + 10 * outside
            if score < best_score:
                best, best_score, best_box = offset, score, box
            if score == 0:
                break
        dx, dy, ha, va = best
        leader = dict(arrowstyle="-", color="0.6", lw=0.6) if abs(dx) + abs(dy) > 20 else None
        ax.annotate(
            text,
            (x, y),
            xytext=(dx, dy),
            textcoords="offset points",
            ha=ha,
            va=va,
            color=color,
            arrowprops=leader,
            **kw,
        )
        taken.append(best_box)
    return taken


# ---- Table 1: baseline ---------------------------------------------------------------------


@_styled
def baseline_bars(
    runs: pd.DataFrame,
    paper: pd.DataFrame | None = None,
    metric: str = "tasks",
    condition: str = "baseline",
    perfect: float = PERFECT_PLAY_TASKS,
    scripted: bool | None = None,
) -> Figure:
    """``metric`` per model under ``condition`` (mean ± 95% t-CI over runs), the perfect-play
    line (for tasks), and the paper's values as hatched bars beside ours (paper Table 1).
    Models only the paper ran are shown as hatched bars alone."""
    sub = runs[runs["condition"] == condition]
    state = _scripted_state(sub, scripted)
    cells = cell_summary(sub, metric, "model").sort_values("mean", ascending=False)
    cells["key"] = cells["model"].map(canonical_model)
    scripted_models = _scripted_models(sub)
    p = _paper(paper, metric, condition)
    perfect_row = p[p["key"] == "perfect_play"]
    paper_by_key = p.drop_duplicates("key").set_index("key")
    # Slots: our populations (with the paper's value beside, where one applies), then the
    # paper's models we did not run. A scripted population never takes a model's value.
    slots: list[tuple[str, pd.Series | None, pd.Series | None]] = []
    paired: set[str] = set()
    for _, r in cells.iterrows():
        key = r["key"]
        ref = None
        if key in paper_by_key.index and (
            r["model"] not in scripted_models or key == "perfect_play"
        ):
            ref = paper_by_key.loc[key]
            paired.add(key)
        if key == "perfect_play" and metric == "tasks":
            ref = None  # drawn as the ceiling line instead
        slots.append((r["model"], r, ref))
    for key, ref in paper_by_key.sort_values("value", ascending=False).iterrows():
        if key not in paired and key != "perfect_play":
            slots.append((ref["model"], None, ref))
    colors = model_colors([name for name, _, _ in slots])
    fig, ax = _subplots(figsize=(max(7.5, 0.8 * len(slots) + 3.5), 5.4))
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
            _zero_marks(ax, [x], [mine["mean"]])
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
        handles.append(Patch(edgecolor="0.3", label=f"paper ({_sources(p)})", **PAPER_BAR))
    if metric == "tasks" and perfect:
        ci = None
        if not perfect_row.empty and pd.notna(perfect_row["ci95"].iloc[0]):
            ci = float(perfect_row["ci95"].iloc[0])
            ax.axhspan(perfect - ci, perfect + ci, color="0.88", zorder=0)
        ax.axhline(perfect, color=INK, linestyle="--", linewidth=1.2, zorder=1)
        handles.append(_perfect_handle(perfect, ci))
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
    _rotate(ax)
    ax.set_xlim(-0.7, len(slots) - 0.3)
    ax.set_ylabel(f"{metric.replace('_', ' ')} per run")
    ax.legend(handles=handles, loc="upper right", frameon=True, fontsize=9)
    ax.grid(axis="x", visible=False)
    _title(fig, f"{metric.replace('_', ' ').capitalize()} per model — {condition}", state)
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
    return [f"paper ({'n=' + n.group(1) + ', ' if n else ''}{_sources(rows)}): " + ", ".join(parts)]


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
    _rotate(ax, 45)
    ax.set_xlim(-0.6, len(refs) - 0.4)
    ax.set_title("scripted populations\n(no capability score)", fontsize=9.5, color="0.3")
    ax.grid(axis="x", visible=False)
    ax.tick_params(axis="y", labelleft=False)


@_styled
def capability_scatter(
    runs: pd.DataFrame,
    elo: pd.DataFrame | None = None,
    paper: pd.DataFrame | None = None,
    metric: str = "tasks",
    condition: str = "baseline",
    scripted: bool | None = None,
) -> Figure:
    """Arena Elo vs ``metric`` per model (mean ± 95% t-CI), an OLS line with its 95% band
    and r / ρ (paper Fig. 3). The paper's points (hollow diamonds) are placed at *our* Elo
    snapshot because the paper's snapshot is not published. Scripted populations have no
    capability score: they are drawn in a strip beside the scatter, on the same y axis."""
    elo = load_elo() if elo is None else elo
    sub = runs[runs["condition"] == condition]
    state = _scripted_state(sub, scripted)
    scripted_models = _scripted_models(sub)
    cells = cell_summary(sub, metric, "model")
    e = elo.assign(key=elo["model"].map(canonical_model)).drop_duplicates("key")[["key", "elo"]]
    model_cells = cells[~cells["model"].isin(scripted_models)]
    pts = model_cells.assign(key=model_cells["model"].map(canonical_model)).merge(e, on="key")
    refs = cells[cells["model"].isin(scripted_models)].sort_values("mean", ascending=False)
    corr = capability_correlation(pts, e.rename(columns={"key": "model"}), condition=None)
    p = _paper(paper, metric, condition).merge(e, on="key", how="inner")
    colors = model_colors(list(pts["model"]) + list(p["model"]) + list(refs["model"]))
    if len(refs):
        fig, (ax, strip) = _subplots(
            1,
            2,
            figsize=(10.5, 6.2),
            sharey=True,
            gridspec_kw={"width_ratios": [4.2, 0.35 * len(refs) + 0.6]},
        )
    else:
        fig, ax = _subplots(figsize=(8.6, 6.2))
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
    elif scripted_models and len(pts) == 0:
        lines = ["ours: scripted populations only — no capability score (right)"]
    else:
        lines = [f"ours: {len(pts)} model(s) with an Elo score — too few for a correlation"]
    lines += _paper_corr_lines(paper)
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
    taken = _place_labels(
        ax, pts["elo"], pts["mean"], list(pts["model"]), [colors[m] for m in pts["model"]], taken
    )
    _place_labels(
        ax,
        p["elo"],
        p["value"],
        [f"{m} (paper)" for m in p["model"]],
        [colors[m] for m in p["model"]],
        taken,
        fontsize=8.5,
        style="italic",
    )
    _title(fig, "Capability vs collective performance", state)
    return fig


# ---- Fig. 4: cooperation vs competence -------------------------------------------------------


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


@_styled
def quadrant_plot(
    runs: pd.DataFrame,
    paper: pd.DataFrame | None = None,
    threshold: float = 50.0,
    scripted: bool | None = None,
) -> Figure:
    """Cooperation rate (x: % of optimal under auto_request) vs competence rate (y: % of
    optimal under auto_fulfill), ours ± 95% t-CI, with quadrant labels (paper Fig. 4). The
    paper's points are hollow diamonds labelled '(paper)'."""
    sub = runs[runs["condition"].isin(["auto_request", "auto_fulfill"])]
    state = _scripted_state(sub, scripted)
    cells = cell_summary(sub, "pct_optimal", ("model", "condition"))
    wide = cells.pivot(index="model", columns="condition", values=["mean", "ci95"])
    pts = pd.DataFrame(
        {
            "x": wide.get(("mean", "auto_request")),
            "y": wide.get(("mean", "auto_fulfill")),
            "xerr": wide.get(("ci95", "auto_request")),
            "yerr": wide.get(("ci95", "auto_fulfill")),
        }
    ).dropna(subset=["x", "y"])
    pp = _paper(paper, "pct_optimal")
    pw = pp[pp["condition"].isin(["auto_request", "auto_fulfill"])].pivot_table(
        index="model", columns="condition", values="value"
    )
    pw = pw.dropna() if {"auto_request", "auto_fulfill"} <= set(pw.columns) else pw.iloc[0:0]
    colors = model_colors(list(pts.index) + list(pw.index))
    fig, ax = _subplots(figsize=(7.8, 7.4))
    ext = [105.0, *(pts["x"] + pts["xerr"].fillna(0)), *(pts["y"] + pts["yerr"].fillna(0))]
    lim = 5 * math.ceil(max(ext) * 1.04 / 5)
    quadrants = quadrant_axes(ax, threshold, lim)
    ours_keys = {canonical_model(m): m for m in pts.index}
    for m, r in pw.iterrows():
        ax.plot(r["auto_request"], r["auto_fulfill"], ms=8, mec=colors[m], zorder=2, **PAPER_MARKER)
        mine = ours_keys.get(canonical_model(m))
        if mine is not None:
            ax.plot(
                [r["auto_request"], pts.loc[mine, "x"]],
                [r["auto_fulfill"], pts.loc[mine, "y"]],
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
    for x, y in zip(pw.get("auto_request", []), pw.get("auto_fulfill", [])):
        ((px, py),) = ax.transData.transform([(x, y)])
        taken.append(Bbox.from_extents(px - 7, py - 7, px + 7, py + 7))
    taken = _place_labels(
        ax, pts["x"], pts["y"], list(pts.index), [colors[m] for m in pts.index], taken
    )
    _place_labels(
        ax,
        pw.get("auto_request", []),
        pw.get("auto_fulfill", []),
        [f"{m} (paper)" for m in pw.index],
        [colors[m] for m in pw.index],
        taken,
        fontsize=8.5,
        style="italic",
    )
    ax.set_xlabel("cooperation rate: % of optimal under auto_request\n(asking automated)")
    ax.set_ylabel("competence rate: % of optimal under auto_fulfill\n(sending automated)")
    _title(fig, "Cooperation vs competence", state)
    return fig


# ---- Fig. 5: interventions -------------------------------------------------------------------


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
    base = tasks[tasks["condition"] == "baseline"].set_index("key")["value"]
    have = {(r["key"], r["condition"]) for r in rows}
    pct = paper[paper["metric"] == "pct_change_tasks"]
    for r in pct.assign(key=pct["model"].map(canonical_model)).itertuples():
        if (r.key, r.condition) not in have and r.key in base.index:
            value = base[r.key] * (1 + r.value / 100)
            rows.append(dict(key=r.key, condition=r.condition, value=value, derived=True))
    return pd.DataFrame(rows)


@_styled
def intervention_effects(
    runs: pd.DataFrame,
    paper: pd.DataFrame | None = None,
    conditions: Sequence[str] = ("baseline", "policy", "incentive", "limited"),
    perfect: float = PERFECT_PLAY_TASKS,
    scripted: bool | None = None,
) -> Figure:
    """Tasks per model under baseline and each intervention (mean ± 95% t-CI) with the
    perfect-play line (paper Fig. 5). The paper's values are hollow markers on the matching
    bar: diamonds where the paper reports the count, circles where it is derived from
    Table 3's % change. Scripted populations get no paper markers (except perfect play)."""
    sub = runs[runs["condition"].isin(conditions)]
    state = _scripted_state(sub, scripted)
    scripted_models = _scripted_models(sub)
    cells = cell_summary(sub, "tasks", ("model", "condition"))
    base = cells[cells["condition"] == conditions[0]].set_index("model")["mean"]
    models = sorted(cells["model"].unique(), key=lambda m: (-base.get(m, -1), str(m)))
    present = [c for c in conditions if c in set(cells["condition"])]
    width = 0.8 / max(len(present), 1)
    fig, ax = _subplots(figsize=(max(8.0, 1.3 * len(models) + 3), 5.6))
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
            yerr=c["ci95"].fillna(0),
            capsize=3,
            label=cond,
            color=CONDITION_COLORS.get(cond, "0.6"),
            edgecolor="black",
            linewidth=0.5,
        )
        _zero_marks(ax, xs, c["mean"])
        for xi, m in zip(xs, models):
            key = canonical_model(m)
            if m in scripted_models and key != "perfect_play":
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
    _rotate(ax, 20)
    ax.set_ylabel("tasks per run (mean ± 95% t-CI)")
    ax.grid(axis="x", visible=False)
    handles, _ = ax.get_legend_handles_labels()
    handles.append(_perfect_handle(perfect, None))
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
    _title(fig, "Tasks completed under each intervention", state)
    return fig


# ---- Tables 6–8: private thoughts ------------------------------------------------------------


def _interval(t: pd.DataFrame, measure: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Values and error bars of a thought measure from either kind of table."""
    vals = t[measure].to_numpy(dtype=float)
    if f"{measure}_ci95" in t.columns:  # thoughts.run_level_table (NaN: one run, no interval)
        return vals, t[f"{measure}_ci95"].to_numpy(float), "mean over runs ± 95% t-CI"
    cls = measure.removesuffix("_pct")
    if f"{cls}_lo" in t.columns:  # thoughts.thought_table (pooled thoughts)
        err = np.vstack(
            [vals - t[f"{cls}_lo"].to_numpy(float), t[f"{cls}_hi"].to_numpy(float) - vals]
        )
        return vals, err, "pooled thoughts, Wilson 95% CI"
    return vals, None, "pooled"


@_styled
def thought_classes(
    table: pd.DataFrame,
    paper: pd.DataFrame | None = None,
    condition: str | None = "baseline",
    scripted: bool | None = None,
) -> Figure:
    """Share of private thoughts showing hard defection / soft conditionality, and market
    terms per 1,000 words, per model (paper Tables 7–8). Input: ``thoughts.run_level_table``
    (preferred: runs are the independent units) or ``thoughts.thought_table``."""
    t = table
    if condition is not None and "condition" in t.columns:
        t = t[t["condition"] == condition]
    state = _scripted_state(t, scripted)
    t = t.sort_values("hard_defection_pct", ascending=False)
    models = list(t["model"])
    colors = model_colors(models)
    fig, axes = _subplots(1, 3, figsize=(max(12.0, 1.9 * len(models) + 3), 5.0))
    x = np.arange(len(models))
    panels = (
        ("hard_defection_pct", "hard defection", "% of thoughts"),
        ("soft_conditional_pct", "soft conditional", "% of thoughts"),
        ("market_terms_per_1k_words", "market language", "terms per 1,000 words"),
    )
    scripted_models = _scripted_models(t) if "scripted" in t.columns else set()
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
        _zero_marks(ax, x, vals)
        pp = _paper(paper, measure, condition or "baseline")
        for i, m in enumerate(models):
            hit = pp[pp["key"] == canonical_model(m)]
            if not hit.empty and m not in scripted_models:
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
        _rotate(ax)
        ax.grid(axis="x", visible=False)
        upper = vals if err is None else vals + np.nan_to_num(err[1] if err.ndim == 2 else err)
        hi = float(np.nanmax(upper)) if len(upper) and np.isfinite(upper).any() else 0.0
        ax.set_ylim(0, max(5.0, 1.15 * hi))
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
    _title(fig, f"Private-thought classes{' — ' + condition if condition else ''}", state)
    return fig


# ---- one run: who sent to whom ---------------------------------------------------------------


def _revenue_map(revenue, run_id) -> dict[str, float] | None:
    if revenue is None:
        return None
    if isinstance(revenue, pd.DataFrame):
        r = revenue
        if "run_id" in r.columns and run_id is not None:
            r = r[r["run_id"] == run_id]
        return dict(zip(r["agent"], r["revenue"].astype(float)))
    if isinstance(revenue, pd.Series):
        return {str(k): float(v) for k, v in revenue.items()}
    return {str(k): float(v) for k, v in dict(revenue).items()}


def _label_map(agents, run_id) -> dict[str, str]:
    """Agent id -> its own label, from an agents frame (``load_agents``); else empty."""
    if not isinstance(agents, pd.DataFrame) or "label" not in agents.columns:
        return {}
    a = agents[agents["run_id"] == run_id] if "run_id" in agents.columns and run_id else agents
    return dict(zip(a["agent"], a["label"].astype(str)))


def _agent_index(a: str) -> int:
    tail = str(a).rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 10**6


_ALTERED = LinearSegmentedColormap.from_list("altered", ["#636363", "#fd8d3c", "#cb181d"])


@_styled
def exchange_network(
    transfers: pd.DataFrame,
    run_id: str | None = None,
    revenue: pd.DataFrame | pd.Series | Mapping[str, float] | None = None,
    agents: Sequence[str] | None = None,
    scripted: bool | None = None,
) -> Figure:
    """Who sent pieces to whom in one run: arrow width = pieces sent, arrow colour = share of
    them sent with an altered value, node size = final revenue (or pieces received when no
    revenue is given). Nodes are labelled with the agent number and, when ``revenue`` is the
    agents frame of a mixed population, coloured by each agent's own label."""
    if run_id is None:
        run_id = transfers["run_id"].iloc[0] if len(transfers) else None
    t = transfers[transfers["run_id"] == run_id] if run_id is not None else transfers
    state = _scripted_state(t, scripted)
    names = sorted(
        set(agents or []) | set(t["sender"]) | set(t["to"]), key=lambda a: (_agent_index(a), str(a))
    )
    manip = (
        t["manipulated"].fillna(False).astype(bool)
        if "manipulated" in t.columns
        else pd.Series(False, index=t.index)
    )
    g = nx.DiGraph()
    g.add_nodes_from(names)
    for (s, r), grp in t.assign(_m=manip).groupby(["sender", "to"]):
        g.add_edge(s, r, weight=len(grp), altered=float(grp["_m"].mean()))
    rev = _revenue_map(revenue, run_id)
    kinds = _label_map(revenue, run_id)
    kind_colors = model_colors(sorted(set(kinds.values()))) if len(set(kinds.values())) > 1 else {}
    fills = [kind_colors.get(kinds.get(n), "#c6dbef") for n in names]
    received = t.groupby("to").size().reindex(names, fill_value=0)
    size_val = pd.Series([rev.get(n, 0.0) for n in names], index=names) if rev else received
    smax = float(size_val.max()) or 1.0
    node_sizes = [250 + 1500 * float(v) / smax for v in size_val]
    pos = nx.circular_layout(names)
    fig, ax = _subplots(figsize=(8.2, 7.8))
    edges = list(g.edges(data=True))
    wmax = max((d["weight"] for *_, d in edges), default=1)
    nx.draw_networkx_nodes(
        g,
        pos,
        ax=ax,
        node_size=node_sizes,
        node_color=fills,
        edgecolors="#08519c",
        linewidths=1.2,
    )
    nx.draw_networkx_labels(
        g,
        pos,
        ax=ax,
        font_size=10,
        font_weight="bold",
        labels={n: str(n).replace("agent_", "") for n in names},
    )
    if edges:
        nx.draw_networkx_edges(
            g,
            pos,
            ax=ax,
            edgelist=[(u, v) for u, v, _ in edges],
            width=[0.6 + 5.0 * d["weight"] / wmax for *_, d in edges],
            edge_color=[_ALTERED(d["altered"]) for *_, d in edges],
            alpha=0.7,
            arrows=True,
            arrowstyle="-|>",
            arrowsize=11,
            connectionstyle="arc3,rad=0.12",
            node_size=node_sizes,
            min_source_margin=4,
            min_target_margin=8,
        )
    ax.set_axis_off()
    ax.margins(0.06)
    if bool(manip.any()):
        sm_ = mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(0, 100), cmap=_ALTERED)
        bar = fig.colorbar(sm_, ax=ax, shrink=0.5, pad=0.01)
        bar.set_label("% of the pieces on an arrow sent with an altered value")
    size_note = "node size: final revenue" if rev else "node size: pieces received"
    handles = [
        Line2D([], [], color="#636363", lw=0.6 + 5.0 / wmax, label="1 piece"),
        Line2D([], [], color="#636363", lw=5.6, label=f"{wmax} pieces (most on one arrow)"),
        Line2D([], [], marker="o", ls="", color="#c6dbef", mec="#08519c", ms=12, label=size_note),
    ]
    handles += [
        Line2D([], [], marker="o", ls="", color=c, mec="#08519c", ms=10, label=k)
        for k, c in kind_colors.items()
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=3,
        fontsize=9,
        frameon=False,
    )
    title = f"Who sent to whom — run {run_id}\n{len(t)} pieces sent; nodes are agent numbers"
    _title(fig, title, state)
    return fig


# ---- tasks per round -------------------------------------------------------------------------


@_styled
def tasks_per_round(
    per_round: pd.DataFrame,
    cumulative: bool = False,
    scripted: bool | None = None,
    ncols: int = 3,
) -> Figure:
    """Tasks completed per round (or cumulative), mean over runs with a 95% t band, one line
    per model and one panel per condition (paper conditions' order, ``ncols`` per row)."""
    state = _scripted_state(per_round, scripted)
    d = per_round.sort_values(["run_id", "round"])
    if cumulative:
        d = d.assign(tasks=d.groupby("run_id")["tasks"].cumsum())
    cells = cell_summary(d, "tasks", ("condition", "model", "round"))
    present = set(cells["condition"])
    conds = [c for c in CONDITIONS if c in present] + sorted(present - set(CONDITIONS))
    colors = model_colors(list(cells["model"].unique()))
    ncols = max(1, min(ncols, len(conds)))
    nrows = math.ceil(len(conds) / ncols)
    fig, axes = _subplots(
        nrows,
        ncols,
        figsize=(7.5, 4.6) if len(conds) == 1 else (4.6 * ncols + 2.2, 3.6 * nrows + 0.8),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    flat = axes.ravel()
    styles = dict(zip(sorted(colors), ["-", "--", "-.", ":"] * len(colors)))
    for ax, cond in zip(flat, conds):
        c = cells[cells["condition"] == cond]
        for m, g in c.groupby("model"):
            ax.plot(g["round"], g["mean"], color=colors[m], lw=1.6, ls=styles[m], label=m)
            ax.fill_between(
                g["round"],
                g["lo"].fillna(g["mean"]),
                g["hi"].fillna(g["mean"]),
                color=colors[m],
                alpha=0.15,
                lw=0,
            )
        ax.set_title(cond, fontsize=11)
        ax.set_ylim(bottom=0)
        ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in flat[len(conds) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("round")
    what = "cumulative tasks" if cumulative else "tasks completed in the round"
    for row in axes:
        row[0].set_ylabel(f"{what}\n(mean over runs, 95% t band)")
    per_cell = d.groupby(["model", "condition"])["run_id"].nunique().groupby("model")
    lo, hi = per_cell.min(), per_cell.max()

    def runs_label(m: str) -> str:
        n = f"{lo[m]}" if lo[m] == hi[m] else f"{lo[m]}–{hi[m]}"
        return f"{m} ({n} run{'' if n == '1' else 's'}" + (" per panel)" if len(conds) > 1 else ")")

    handles = [
        Line2D([], [], color=colors[m], lw=2, ls=styles[m], label=runs_label(m))
        for m in sorted(colors)
    ]
    if len(conds) == 1:  # one panel: keep the plot wide, the legend inside it
        flat[0].legend(handles=handles, loc="upper left", fontsize=9)
    else:
        fig.legend(handles=handles, loc="outside right center", fontsize=9, frameon=False)
    _title(fig, "Cumulative tasks by round" if cumulative else "Tasks completed per round", state)
    return fig


@_styled
def ablation_effects(table: pd.DataFrame, scripted: bool | None = None) -> Figure:
    """Appendix ablations: tasks per model under each setting (left, mean ± 95% t-CI, the
    paper's value as a hollow diamond where it reports one) and the change from the default
    setting (right). Input: :func:`coop_utils.tables.ablation_table`."""
    state = _scripted_state(table, scripted)
    settings = list(dict.fromkeys(table["setting"]))
    models = sorted(table["model"].unique())
    colors = model_colors(models)
    fig, (left, right) = _subplots(1, 2, figsize=(13, 4.8), sharex=True)
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
        _rotate(ax)
        ax.grid(axis="x", visible=False)
    left.set_ylim(bottom=0)
    handles = [Line2D([], [], marker="o", ls="", color=colors[m], label=m) for m in models]
    if table.get("paper_tasks", pd.Series(dtype=float)).notna().any():
        handles.append(Line2D([], [], color=INK, label="paper", **PAPER_MARKER))
    fig.legend(handles=handles, loc="outside right center", fontsize=9, frameon=False)
    _title(fig, "Ablations: rounds, group size, wording and reward scale", state)
    return fig


@_styled
def decomposition_validity(table: pd.DataFrame, scripted: bool | None = True) -> Figure:
    """How well the decomposition recovers known knobs. Left: cooperation rate against the
    answer probability; right: competence rate against the request probability. One line
    per submit probability, and the remaining knob as marker shape, dodged: a knob that
    leaks into a rate separates lines or markers; one that does not leaves them on top of
    each other. Input: :func:`coop_utils.validity.knob_table`."""
    state = _scripted_state(table, scripted)
    fig, (left, right) = _subplots(1, 2, figsize=(12.5, 5), sharey=True)
    submits = sorted(table["p_submit"].unique())
    colors = dict(zip(submits, sns.color_palette("viridis", len(submits) + 1)[1:]))
    shapes = ["o", "s", "^", "D", "v", "P"]
    panels = (
        (left, "cooperation", "p_answer", "p_request", "answer probability (p_answer)"),
        (right, "competence", "p_request", "p_answer", "request probability (p_request)"),
    )
    for ax, rate, knob, dodge, label in panels:
        dodges = sorted(table[dodge].unique())
        width = 0.035
        for s in submits:
            t = table[table["p_submit"] == s]
            means = t.groupby(knob)[rate].mean()
            ax.plot(means.index, means.to_numpy(), color=colors[s], lw=1.4, alpha=0.8)
            for k, d in enumerate(dodges):
                u = t[t[dodge] == d].sort_values(knob)
                xs = u[knob] + (k - (len(dodges) - 1) / 2) * width
                ax.errorbar(
                    xs,
                    u[rate],
                    yerr=u[f"{rate}_ci95"].fillna(0),
                    fmt=shapes[k % 6],
                    color=colors[s],
                    mec="black",
                    mew=0.4,
                    ms=6,
                    capsize=2,
                    elinewidth=0.8,
                )
        ax.set_xlabel(f"known {label}")
        ax.set_title(
            f"{rate} rate (auto_{'request' if rate == 'cooperation' else 'fulfill'})", fontsize=11
        )
        ax.set_xlim(-0.1, 1.1)
        handles = [
            Line2D([], [], color=colors[s], lw=2, label=f"p_submit = {s:g}") for s in submits
        ]
        handles += [
            Line2D(
                [],
                [],
                marker=shapes[k % 6],
                ls="",
                color="0.5",
                mec="black",
                label=f"{dodge} = {d:g}",
            )
            for k, d in enumerate(dodges)
        ]
        ax.legend(handles=handles, fontsize=8.5, loc="upper left", frameon=True)
    left.set_ylabel("% of optimal (mean ± 95% t-CI over runs)")
    _title(fig, "Does the decomposition measure what it claims?", state)
    return fig


def save(fig: Figure, name: str, folder: str | Path = "figures") -> list[Path]:
    """Write ``folder/name.png`` (200 dpi) and ``folder/name.pdf``; returns the two paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.pdf"]
    for p in paths:  # no creation date or version stamps: regenerating leaves files unchanged
        meta = (
            {"Software": None} if p.suffix == ".png" else {"CreationDate": None, "Producer": None}
        )
        dpi = 200 if p.suffix == ".png" else None
        with atomic_path(p) as tmp:  # a killed run never leaves half a figure
            fig.savefig(tmp, format=p.suffix[1:], bbox_inches="tight", dpi=dpi, metadata=meta)
    return paths
