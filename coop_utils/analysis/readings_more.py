"""The readings of notebooks 02, 04 and 06, written so that they hold at any number of runs
(the same aim as :mod:`.readings`, which holds those of 01, 03 and 05).

Why: at one run per cell a rate has no interval, so a quadrant drawn from it is one draw; a
thought share compared with the classifier's floor is one run's share; a population that
received no request has no answered share ("nan%"); and a knob the grid held constant, or
a weight the regression cannot tell from 0, is no evidence of a leak. Each function takes
the tables its notebook computed and says which of these holds. ``tests/test_readings.py``
runs them at 1 and 2 runs without executing a notebook.
"""

from __future__ import annotations

import math

import pandas as pd

from .prose import interval, names, num, p_value

__all__ = ["decomposition_reading", "reasoning_reading", "validity_reading"]

QUADRANTS = ("cooperation-limited", "competence-limited", "both limited", "cooperative & competent")


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


def decomposition_reading(
    t2: pd.DataFrame, ceilings: pd.DataFrame, ceiling_source: str, paper: pd.DataFrame
) -> list[str]:
    """Notebook 02's reading of Table 2 (:func:`~coop_utils.analysis.tables.table2`) and of
    perfect play's ceiling per condition: the settled quadrants, each uncertain one with
    why (one run, or an interval across the 50% line), the paper's own words, the ceiling."""
    from .paper import load_diagnoses

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
            "against the 50% line)."
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
    auto, pct = top.perfect_play_tasks["auto_request"], top.pct_of_ceiling["auto_request"]
    ceiling = (
        f"Perfect play completes {num(auto)} tasks under auto_request ({num(pct, 0)}% of the "
        f"ceiling, {ceiling_source}) and {num(top.perfect_play_tasks['baseline'])} at baseline"
        + (
            ", so a population that sends everything it is asked for can score above 100% there."
            if pct > 100
            else "."
        )
    )
    return [head, theirs, ceiling]


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


def reasoning_reading(
    scores: pd.DataFrame,
    families: pd.DataFrame,
    floor: pd.DataFrame,
    run_level: pd.DataFrame,
    said_did: pd.DataFrame,
) -> list[str]:
    """Notebook 04's reading: the classifier's held-out scores and false-positive floor,
    then at baseline each population's thought shares against that floor (a share inside it
    is not distinguishable from zero; at 1 run the run's share itself, not an interval, is
    compared with it) beside what it did with the requests it received."""
    from .thoughts import CLASSES

    held = scores[scores.split == "holdout"].set_index(["set", "class"])
    fl = floor.set_index("class")
    agents = run_level[run_level.condition == "baseline"]
    base = said_did[said_did.condition == "baseline"]
    one_run = agents.n_runs.max() < 2 if len(agents) else False
    inside = {
        c: agents.loc[(agents[f"{c}_pct"] > 0) & ~agents[f"{c}_above_floor"], "model"]
        for c in CLASSES
    }
    above = base.hard_defection_above_floor.fillna(False).astype(bool)
    both = base[(base.answered_pct >= 50) & (base.hard_defection_pct >= 50) & above]
    altered = base[base.manipulated_values > 0]
    return [
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
    ]


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


def validity_reading(rec: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """Notebook 06's reading of :func:`~coop_utils.analysis.validity.recovery`: each rate's
    weights on the knobs it should follow and ignore, its cross-talk, and whether the leak
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
    return [
        "**Reading it.** Standardised weights of the knobs each rate should follow, then of "
        f"those it should ignore. Competence rate: {_weights(rec, 'competence', True)}; ignores "
        f"{_weights(rec, 'competence', False)}; cross-talk {_cross(cross['competence'])}. "
        f"Cooperation rate: {_weights(rec, 'cooperation', True)}; ignores "
        f"{_weights(rec, 'cooperation', False)}; cross-talk {_cross(cross['cooperation'])}.",
        "With replies automated, willingness to answer cannot matter to the competence rate. "
        + found
        + " This is what the grid of known knobs adds to the paper's decomposition.",
    ]
