"""Notebook 02's reading: Table 2's quadrants, each uncertain one with why (at one run per
cell a rate has no interval, so a quadrant drawn from it is one draw), the paper's own
words, and each condition's own ceiling.
"""

from __future__ import annotations

import pandas as pd

from ...game.config import Condition
from ..paper import load_diagnoses
from ..prose import names, num, paragraphs
from ..quadrants import DEFAULT_THRESHOLD, RATES, quadrant

__all__ = ["QUADRANTS", "quadrants"]

QUADRANTS = tuple(quadrant(c, k) for c, k in ((0, 100), (100, 0), (0, 0), (100, 100)))
"""Fig. 4's quadrants, in the order a reading lists them (cooperation-limited first)."""


def _why_uncertain(r) -> str:
    """Why a row of Table 2 is uncertain: per rate, one run (no interval) or an interval
    that contains the threshold."""
    parts = []
    for rate in r.uncertain.split("+"):
        n = int(getattr(r, f"{rate}_n"))
        parts.append(
            f"{rate} rate from {n} run, so no interval"
            if n < 2
            else f"{rate} rate's interval contains the line"
        )
    return f"`{r.model}` ({'; '.join(parts)}; {r.diagnosis} by the means alone)"


def quadrants(
    t2: pd.DataFrame, ceilings: pd.DataFrame, ceiling_source: str, paper: pd.DataFrame
) -> str:
    """Table 2 (:func:`~coop_utils.analysis.tables.table2`) and perfect play's ceiling per
    condition: the settled quadrants, each uncertain one with why (one run, or an interval
    across the threshold), the paper's own words, the ceiling, and what the cooperation
    rate still measures besides willingness."""
    ours = t2[t2.cooperation.notna() & t2.competence.notna()]
    settled, doubtful = ours[ours.uncertain == ""], ours[ours.uncertain != ""]
    runs = sorted({int(n) for n in ours[["cooperation_n", "competence_n"]].to_numpy().ravel()})
    if ours.empty:
        head = "**Reading it.** No population has both rates, so no quadrant can be read."
    elif max(runs) < 2:
        head = (
            "**Reading it.** With 1 run per condition no rate has an interval, so no quadrant "
            "is settled: by the means alone, "
            + "; ".join(f"`{r.model}` {r.diagnosis}" for r in ours.itertuples())
            + " (one draw each; the quadrant needs at least 2 runs per rate to be tested "
            f"against the {DEFAULT_THRESHOLD:g}% line)."
        )
    else:
        found = "; ".join(
            f"{q}: {names(settled.loc[settled.diagnosis == q, 'model'])}"
            for q in QUADRANTS
            if (settled.diagnosis == q).any()
        )
        head = (
            f"**Reading it.** Our rates over {names(runs, code=False)} runs, by the quadrant "
            f"rule: {found or 'no population settled'}."
            + (
                f" Uncertain: {'; '.join(_why_uncertain(r) for r in doubtful.itertuples())}."
                if len(doubtful)
                else ""
            )
        )
    words = t2[t2.paper_diagnosis != ""]
    said = "; ".join(
        f"`{r.model}` “{r.paper_diagnosis}” ({r.paper_diagnosis_source}), where our rule on "
        f"its rates reads “{r.paper_quadrant}”"
        for r in words.itertuples()
    )
    theirs = (
        f"The paper's rates and diagnoses are left out: {paper.attrs['not_comparable']}."
        if paper.attrs.get("not_comparable")
        else f"The paper's own words are transcribed for {len(words)} of its "
        f"{len(load_diagnoses())} models{': ' + said if said else ''}. For the others only "
        "its rates are here, and `paper_quadrant` is our rule applied to them, not its diagnosis."
    )
    top = ceilings.set_index("condition")
    coop = RATES["cooperation"]
    auto, pct = top.perfect_play_tasks[coop], top.pct_of_ceiling[coop]
    ceiling = (
        f"Perfect play completes {num(auto)} tasks under {coop} ({num(pct, 0)}% of the "
        f"ceiling, {ceiling_source}) and {num(top.perfect_play_tasks[Condition.BASELINE])} at baseline"
        + (
            ", so a population that sends everything it is asked for can score above 100% there."
            if pct > 100
            else "."
        )
    )
    leak = (
        "The cooperation rate is not a pure measure of willingness: under auto_request an agent "
        "still has to *submit* its own tasks, so poor submitting drags its cooperation rate down "
        "too. `06_decomposition_validity` measures that leak with known knobs."
    )
    return paragraphs(head, theirs, ceiling, leak)
