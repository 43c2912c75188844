"""One run (notebook 00): who sent to whom, and tasks completed round by round."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import networkx as nx
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ...game.config import CONDITIONS
from ..stats import cell_summary
from .style import model_colors, scripted_state, styled, subplots, title_with_note


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


@styled
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
    state = scripted_state(t, scripted)
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
    fig, ax = subplots(figsize=(8.2, 7.8))
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
    title_with_note(fig, title, state)
    return fig


# ---- tasks per round -------------------------------------------------------------------------


@styled
def tasks_per_round(
    per_round: pd.DataFrame,
    cumulative: bool = False,
    scripted: bool | None = None,
    ncols: int = 3,
) -> Figure:
    """Tasks completed per round (or cumulative), mean over runs with a 95% t band, one line
    per model and one panel per condition (paper conditions' order, ``ncols`` per row)."""
    state = scripted_state(per_round, scripted)
    d = per_round.sort_values(["run_id", "round"])
    if cumulative:
        d = d.assign(tasks=d.groupby("run_id")["tasks"].cumsum())
    cells = cell_summary(d, "tasks", ("condition", "model", "round"))
    present = set(cells["condition"])
    conds = [c for c in CONDITIONS if c in present] + sorted(present - set(CONDITIONS))
    colors = model_colors(list(cells["model"].unique()))
    ncols = max(1, min(ncols, len(conds)))
    nrows = math.ceil(len(conds) / ncols)
    fig, axes = subplots(
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
    title_with_note(
        fig, "Cumulative tasks by round" if cumulative else "Tasks completed per round", state
    )
    return fig
