"""Notebook 06's reading: how closely each decomposition rate follows the knobs it claims to
measure and how much it leaks the others (a knob the grid held constant, or a weight the
regression cannot tell from 0, is no evidence of a leak).
"""

from __future__ import annotations

import math

import pandas as pd

from ..prose import num, p_value, paragraphs

__all__ = ["recovery"]


def _weights(rec: pd.DataFrame, rate: str, claimed: bool) -> str:
    rows = rec[(rec.rate == rate) & (rec.claimed == claimed)]
    return ", ".join(
        f"`{k.knob}` not varied by this grid"
        if pd.isna(k.beta)
        else f"`{k.knob}` {num(k.beta, 2)} (p = {p_value(k.p)})"
        for k in rows.itertuples()
    )


def _cross(value: float) -> str:
    return num(value, 2) if math.isfinite(value) else "undefined (no knob it follows was varied)"


def recovery(rec: pd.DataFrame, alpha: float = 0.05) -> str:
    """:func:`~coop_utils.analysis.validity.recovery`'s table: each rate's weights on the knobs it should follow and ignore, its cross-talk, and whether the leak
    of ``p_submit`` into the cooperation rate was detected (p below ``alpha``), was not
    (which is not evidence of none), or could not be tested (the knob held constant)."""
    cross = rec.groupby("rate")["cross_talk"].first()
    leak = rec[(rec.rate == "cooperation") & (rec.knob == "p_submit")].iloc[0]
    if pd.isna(leak.p):
        found = (
            "This grid held `p_submit` constant (or had too few settings to fit it), so whether "
            "poor submitting drags the cooperation rate down could not be tested here."
        )
    elif leak.p < alpha:
        found = (
            f"`p_submit` weighs on the cooperation rate ({num(leak.beta, 2)}, p = "
            f"{p_value(leak.p)}): with requests automated an agent must still submit its own "
            "tasks, so a poor submitter looks uncooperative. Compare the two lines at the same "
            "`p_answer` in the figure. A low cooperation rate should be read together with the "
            "competence rate and, where possible, the pipeline efficiency under auto_request, "
            "before calling a model uncooperative."
        )
    else:
        found = (
            f"The weight of `p_submit` on the cooperation rate is not distinguishable from 0 "
            f"here (p = {p_value(leak.p)} over {int(leak.n_settings)} knob settings); that is "
            "not evidence of no leak: with requests automated an agent must still submit its "
            "own tasks, and a grid with more settings or runs may detect it."
        )
    return paragraphs(
        "**Reading it.** Standardised weights of the knobs each rate should follow, then of "
        f"those it should ignore. Competence rate: {_weights(rec, 'competence', True)}; ignores "
        f"{_weights(rec, 'competence', False)}; cross-talk {_cross(cross['competence'])}. "
        f"Cooperation rate: {_weights(rec, 'cooperation', True)}; ignores "
        f"{_weights(rec, 'cooperation', False)}; cross-talk {_cross(cross['cooperation'])}.",
        "With replies automated, willingness to answer cannot matter to the competence rate. "
        + found
        + " This is what the grid of known knobs adds to the paper's decomposition.",
    )
