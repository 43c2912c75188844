"""Shared by every figure: colours, the scripted note, paper-reference styles, and save."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib as mpl
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ...game.config import PAPER_MODELS, PERFECT_PLAY_TASKS, Condition
from ...paths import atomic_path
from ..stats import canonical_model, scripted_flag

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

_PAPER_COLOR_ORDER = (
    Condition.BASELINE,
    Condition.POLICY,
    Condition.INCENTIVE,
    Condition.LIMITED,
    Condition.AUTO_REQUEST,
    Condition.AUTO_FULFILL,
)
_COLOR_ORDER = dict.fromkeys((*_PAPER_COLOR_ORDER, *Condition))
CONDITION_COLORS: dict[str, tuple[float, float, float]] = dict(
    zip(_COLOR_ORDER, sns.color_palette("Set2", len(_COLOR_ORDER)))
)
"""One colour per condition: the paper's six keep theirs (baseline, its three interventions,
the decomposition's two), and any other condition takes the next of Set2's colours."""

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


def styled(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draw inside one consistent seaborn style without touching global rcParams."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> Figure:
        rc = {"figure.dpi": 100, "savefig.dpi": 200, "axes.titleweight": "bold"}
        with sns.axes_style("whitegrid"), sns.plotting_context("paper", font_scale=1.2):
            with mpl.rc_context(rc):
                return fn(*args, **kwargs)

    return wrapper


def subplots(nrows: int = 1, ncols: int = 1, figsize=(8, 5), **kw):
    """A figure outside pyplot's registry (no leaks, no double display in notebooks)."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)  # a renderer, so labels can be measured and placed
    return fig, fig.subplots(nrows, ncols, **kw)


def scripted_state(frame: pd.DataFrame | None, scripted: bool | None) -> str | None:
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


def scripted_models(frame: pd.DataFrame) -> set[str]:
    if "scripted" not in frame.columns:
        return set()
    return {m for m, g in frame.groupby("model") if scripted_flag(g)}


def title_with_note(fig: Figure, title: str, state: str | None) -> None:
    note = {"all": SCRIPTED_NOTE, "some": PARTLY_SCRIPTED_NOTE}.get(state or "")
    fig.suptitle(f"{title}\n[{note}]" if note else title, fontsize=13)


def paper_points(
    paper: pd.DataFrame | None, metric: str, condition: str | None = None
) -> pd.DataFrame:
    cols = ["model", "condition", "metric", "value", "ci95", "source", "key"]
    if paper is None or paper.empty:
        return pd.DataFrame(columns=cols)
    p = paper[paper["metric"] == metric]
    if condition is not None:
        p = p[p["condition"] == condition]
    return p.assign(key=p["model"].map(canonical_model))


def paper_sources(p: pd.DataFrame) -> str:
    src = sorted({str(s).split(" (")[0] for s in p.get("source", pd.Series(dtype=str)).dropna()})
    return ", ".join(src) if src else "paper"


def rotate_ticks(ax: Axes, degrees: float = 30) -> None:
    ax.tick_params(axis="x", labelrotation=degrees)
    for t in ax.get_xticklabels():
        t.set_horizontalalignment("right")
        t.set_rotation_mode("anchor")


def perfect_handle(perfect: float, ci: float | None) -> Line2D:
    whose = "paper" if perfect == PERFECT_PLAY_TASKS else "ours, at this setting"
    text = f"perfect play ({whose}): {perfect:.4g}" + (f" ± {ci:g}" if ci else "") + " tasks"
    return Line2D([], [], color=INK, ls="--", lw=1.2, label=text)


def zero_marks(ax: Axes, xs: Sequence[float], values: Sequence[float]) -> None:
    """Write '0' where a bar has zero height, so an empty slot is not read as missing data."""
    for x, v in zip(xs, values):
        if pd.notna(v) and v == 0:
            ax.text(x, 0, "0", ha="center", va="bottom", fontsize=8, color=INK)


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
