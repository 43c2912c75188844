"""Notebook 04's reading: the classifier's held-out scores and false-positive floor, and at
baseline what each population said beside what it did (at one run a thought share compared
with the floor is one run's share; a population that received no request has no answered
share).
"""

from __future__ import annotations

import pandas as pd

from ...game.config import Condition
from ..prose import interval, names, num, paragraphs
from ..thoughts import CLASSES

__all__ = ["classes"]


def _label(cls: str) -> str:
    return cls.replace("_", " ")


def _score(r, cls: str) -> str:
    """One held-out class score: precision and recall with their Wilson intervals; a ratio
    with no denominator (nothing predicted, or no example of the class) said as such."""
    precision = (
        f"precision {r.hits} of {r.predicted} ({r.precision:.2f}, "
        f"{interval(r.precision_lo, r.precision_hi, 2)})"
        if r.predicted
        else "precision undefined (nothing classed)"
    )
    recall = (
        f"recall {r.hits} of {r.actual} ({r.recall:.2f}, {interval(r.recall_lo, r.recall_hi, 2)})"
        if r.actual
        else "recall undefined (no example of the class)"
    )
    f1 = f", F1 {r.f1:.2f}" if pd.notna(r.f1) else ""
    return f"{_label(cls)}: {precision}, {recall}{f1}"


def _said_did(r) -> str:
    """One population at baseline: its hard-defection share of thoughts beside what it did
    with the requests it received."""
    if pd.isna(r.hard_defection_pct):
        said = "no thought to classify"
    else:
        said = f"{num(r.hard_defection_pct, 0)}% of thoughts classed hard defection" + (
            " (within the floor: not distinguishable from zero)"
            if r.hard_defection_pct and not r.hard_defection_above_floor
            else ""
        )
    if pd.isna(r.answered_pct):
        return f"`{r.model}`: {said}; received no request, so nothing answered or refused"
    altered = (
        f" ({num(r.manipulated_values, 0)} altered values per run)" if r.manipulated_values else ""
    )
    return (
        f"`{r.model}`: {said}; answered {num(r.answered_pct, 0)}% of requests, "
        f"{num(r.response_rate, 0)}% with true values{altered}"
    )


def classes(
    scores: pd.DataFrame,
    families: pd.DataFrame,
    floor: pd.DataFrame,
    run_level: pd.DataFrame,
    said_did: pd.DataFrame,
) -> str:
    """The classifier's held-out scores and false-positive floor, then at baseline each
    population's thought shares against that floor (a share inside it is not
    distinguishable from zero; at 1 run the run's share itself, not an interval, is compared
    with it) beside what it did with the requests it received."""
    held = scores[scores.split == "holdout"].set_index(["set", "class"])
    fl = floor.set_index("class")
    agents = run_level[run_level.condition == Condition.BASELINE]
    base = said_did[said_did.condition == Condition.BASELINE]
    one_run = agents.n_runs.max() < 2 if len(agents) else False
    inside = {
        c: agents.loc[(agents[f"{c}_pct"] > 0) & ~agents[f"{c}_above_floor"], "model"]
        for c in CLASSES
    }
    above = base.hard_defection_above_floor.fillna(False).astype(bool)
    both = base[(base.answered_pct >= 50) & (base.hard_defection_pct >= 50) & above]
    altered = base[base.manipulated_values > 0]
    return paragraphs(
        "**Reading it.** On the held-out idiom examples, written in the styles capable models "
        f"use ({int(families.n.sum())} thoughts in {len(families)} idiom families, 95% Wilson "
        "intervals): "
        + "; ".join(_score(held.loc[("idioms", c)], c) for c in CLASSES)
        + ". On the older held-out examples: "
        + "; ".join(_score(held.loc[("examples", c)], c) for c in CLASSES)
        + ". Every example was written here, so these say how the patterns read the idioms we "
        "know of, not every model's wording.",
        "The classifier's false-positive floor: "
        + "; ".join(
            f"{_label(c)} {num(fl.loc[c, 'floor_pct'])}% ({fl.loc[c, 'false_positives']} of "
            f"{fl.loc[c, 'negatives']} held-out thoughts without it)"
            for c in CLASSES
        )
        + ". At baseline, shares above zero but not above the floor (not distinguishable from "
        "zero): "
        + "; ".join(f"{_label(c)}: {names(inside[c])}" for c in CLASSES)
        + "."
        + (
            " With 1 run per cell a share has no interval, so each is one run's share set "
            "against the floor: one draw, not a test."
            if one_run
            else ""
        ),
        "At baseline, what each population said beside what it did:",
        "\n".join(f"- {_said_did(r)}" for r in base.itertuples()),
        (
            f"{names(both.model)} answered most requests yet most of their thoughts are classed "
            "hard defection: a thought counts as hard defection when it holds back *any* of the "
            "requests handled that turn, so a share of thoughts is not a share of requests "
            "refused."
            if len(both)
            else ""
        ),
        (
            f"{names(altered.model)} sent altered values, which no thought class measures: "
            "their answers count in `answered_pct` but not in the truthful `response_rate`."
            if len(altered)
            else ""
        ),
        "Agents whose thoughts make sending conditional (soft conditional) at baseline, above "
        f"the floor: {names(agents.loc[agents.soft_conditional_above_floor, 'model'])}.",
        "With model runs these tables show each model beside the paper's Tables 7–8, and an LLM "
        "judge can give a second opinion over the same thoughts "
        "(`coop_utils.analysis.thoughts.llm_judge`, agreement as Cohen's kappa, against the "
        "regexes and against the hand labels).",
    )
