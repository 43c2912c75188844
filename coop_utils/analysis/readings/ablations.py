"""Notebook 05's readings: what each ablation setting moved, against the default setting.

Which settings change the game and which only its wording or reward is read from the
settings themselves (:data:`~coop_utils.game.config.ABLATIONS`), not listed here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from ...game.config import ABLATIONS
from ..prose import names, num, paragraphs

__all__ = ["RENAMES_PIECES", "settings", "versus_default"]

GAME = ("rounds", "n_agents")
"""Fields whose change changes the game itself, so perfect play scales with it."""
RENAMES_PIECES = "neutral_items"
"""The wording that renames every piece: scripted agents' coin flips are keyed on piece
names, so their runs differ by chance there (perfect play flips none)."""


def versus_default(r, d) -> str:
    """A setting's cell ``r`` against the default's cell ``d`` of one model (rows of
    :func:`~coop_utils.analysis.tables.ablation_table`), said without an interval where the
    default has none and without a % change from a zero default."""
    moved = (
        f"{r.pct_vs_default:+.1f}%"
        if d.tasks and math.isfinite(r.pct_vs_default)
        else f"{num(r.tasks - d.tasks)} tasks from a default of 0"
    )
    if pd.isna(d.tasks_ci95):
        return f"by {moved} (the default has {int(d.n)} run, so no interval to compare with)"
    inside = abs(r.tasks - d.tasks) <= d.tasks_ci95
    return f"by {moved} ({'within' if inside else 'outside'} the default's interval)"


def settings(ab: pd.DataFrame, ran: Sequence[str]) -> str:
    """The ablation table ``ab`` over the settings ``ran``: how perfect play scales with the
    game's settings; which scripted populations the wording and reward settings left exactly
    where they were (the check they exist for offline: scripted policies read neither) and
    which they moved; what renaming the pieces moved."""
    cells = ab.set_index(["model", "setting"])
    game = [s for s in ABLATIONS if s in ran and set(ABLATIONS[s]) & set(GAME)]
    others = ("default", RENAMES_PIECES, *game)
    wording = [s for s in ABLATIONS if s in ran and s not in others]

    def perfect(s: str) -> str:
        r = cells.loc[("perfect", s)]
        ref = "" if r.isna()["paper_tasks"] else f" (the paper: {r.paper_tasks:.0f})"
        return f"{r.tasks:.1f} tasks at `{s}`{ref}"

    def moved(models: list[str], setting: str) -> str:
        return "; ".join(
            f"`{m}` {versus_default(cells.loc[(m, setting)], cells.loc[(m, 'default')])}"
            for m in models
        )

    scripted = [m for m in ab.model.unique() if m != "perfect"]
    still = [
        m
        for m in scripted
        if (ab[(ab.model == m) & ab.setting.isin(wording)].pct_vs_default == 0).all()
    ]
    shifted = [m for m in scripted if m not in still]
    return paragraphs(
        "**Reading it.** Perfect play scales with the game: "
        + "; ".join(perfect(s) for s in ["default", *game])
        + ".",
        (
            f"The wording and reward settings ({names(wording)}) leave {names(still)} exactly "
            f"where they were{'' if not shifted else ' and move ' + names(shifted)}: offline, "
            "that is the check they exist for (scripted policies read neither)."
            if wording
            else ""
        ),
        (
            f"`{RENAMES_PIECES}` renames every piece, and the behaviour agents' coin flips are "
            f"keyed on piece names, so it moves {moved(scripted, RENAMES_PIECES)}."
            if RENAMES_PIECES in ran
            else ""
        ),
        "With model runs, those are the settings where wording effects show up.",
    )
