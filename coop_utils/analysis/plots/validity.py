"""Beyond the paper (notebook 06): does each decomposition rate follow its own knob?"""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .style import scripted_state, styled, subplots, title_with_note


@styled
def decomposition_validity(table: pd.DataFrame, scripted: bool | None = True) -> Figure:
    """How well the decomposition recovers known knobs. Left: cooperation rate against the
    answer probability; right: competence rate against the request probability. One line
    per submit probability, and the remaining knob as marker shape, dodged: a knob that
    leaks into a rate separates lines or markers; one that does not leaves them on top of
    each other. Input: :func:`coop_utils.analysis.validity.knob_table`."""
    state = scripted_state(table, scripted)
    fig, (left, right) = subplots(1, 2, figsize=(12.5, 5), sharey=True)
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
    title_with_note(fig, "Does the decomposition measure what it claims?", state)
    return fig
