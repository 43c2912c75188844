"""Notebook 03's readings: Table 3's changes, each test beside the interval of its own
statistic (the paired mean difference for the paired t-test), and the runs a study needs.
"""

from __future__ import annotations

import math

import pandas as pd

from ..prose import interval, names, num, p_value, paragraphs
from ..stats import t_half_width

__all__ = ["change", "changes", "paired_interval", "runs_needed"]


def paired_interval(diff: float, sd_diff: float, n_pairs: int) -> tuple[float, float]:
    """95% t interval of a mean paired difference, the statistic of the paired t-test (so
    it excludes 0 exactly when that test's p is below 0.05); NaN below 2 pairs."""
    if n_pairs < 2 or math.isnan(sd_diff):
        return math.nan, math.nan
    half = t_half_width(sd_diff, n_pairs)
    return diff - half, diff + half


def _pct(pct: float, baseline: float) -> str:
    if baseline == 0:
        return "from a baseline of 0 tasks (no % change)"
    return f"{pct:+.0f}%" if math.isfinite(pct) else "no % change"


def change(r) -> str:
    """One Table 3 row (:func:`~coop_utils.analysis.tables.table3`): its % change in tasks,
    the paired difference with its interval and unadjusted p (one statistic), then the
    Holm-adjusted p, or why there is no test."""
    head = f"`{r.model}` under {r.condition}: {_pct(r.pct_change, r.baseline_tasks)}"
    n = int(r.n_pairs) if pd.notna(r.n_pairs) else 0
    if n < 2:
        return f"{head}, not tested ({n} paired seed{'s' * (n != 1)}; a paired test needs 2)"
    lo, hi = paired_interval(r.diff, r.sd_diff, n)
    return (
        f"{head}, {'+' * (r.diff > 0)}{num(r.diff)} tasks per run (paired 95% CI {interval(lo, hi)}, p = "
        f"{p_value(r.p)} over {n} seeds; Holm-adjusted p = {p_value(r.p_holm)})"
    )


def changes(t3: pd.DataFrame) -> str:
    """Table 3 (:func:`~coop_utils.analysis.tables.table3`): what survives Holm's correction,
    what does not, what is identical to its baseline and what could not be tested, each said
    as such."""
    if t3.empty:
        return "No intervention ran, so there is nothing to compare."
    tested = t3[t3["p"].notna()]
    found = tested[tested["reject"]]
    other = tested[~tested["reject"]]
    same = t3[t3["identical"]]
    untested = t3[t3["p"].isna() & ~t3["identical"]]
    out = []
    if tested.empty:
        n = int(t3["n_pairs"].fillna(0).max())
        out.append(
            "**Reading it.** Nothing could be tested: "
            + (
                f"with {n} paired seed{'s' * (n != 1)} per cell there is no paired variability "
                "(a paired t-test needs at least 2 seeds that vary), so no change can be "
                "called significant or not."
                if n < 2
                else "every cell that ran repeats its baseline or lacks a pair."
            )
        )
    else:
        out.append("**Reading it.** Changes that survive Holm's correction:")
        out.append("\n".join(f"- {change(r)}" for r in found.itertuples()) or "- none")
    if len(other):
        out.append(
            f"Not significant after correction: {'; '.join(change(r) for r in other.itertuples())}."
            " A non-significant change is not evidence of no change: at these run counts a "
            "small effect goes undetected most of the time (see the runs a study needs, below)."
        )
    if len(untested) and len(tested):
        out.append(f"Not tested: {'; '.join(change(r) for r in untested.itertuples())}.")
    if len(same):
        out.append(
            f"Identical to baseline, seed for seed: "
            f"{names(same.model + ' under ' + same.condition, code=False)}. These policies "
            "ignore that intervention and the seed fixes everything else, so every run repeats "
            "its baseline exactly: there is no variability to test (`p` is undefined and the "
            "paired interval has zero width). This shows the offline runs are deterministic; "
            "it is not evidence about how the analysis treats a real null effect."
        )
    worse = found[found["pct_change"] < 0]
    if len(worse):
        rival = worse.model.str.contains("rival").any()
        out.append(
            f"An intervention can backfire: {names(worse.model + ' under ' + worse.condition, code=False)} "
            "did worse."
            + (
                " For the rival this follows from its knob: bonuses spread revenues apart on "
                "the board, so more requesters are ahead of it, and it withholds from those ahead."
                if rival
                else ""
            )
        )
    return paragraphs(*out)


def runs_needed(power: pd.DataFrame, changes: tuple[float, ...]) -> str:
    """The runs per condition that detect each relative change in ``changes`` (0.10: 10%),
    from :func:`~coop_utils.analysis.stats.paper_plan`'s table: the range over the paper's
    models at their estimated spreads, and the most at the spreads' upper bounds."""

    def need(f: float) -> str:
        low = power[f"runs_for_{round(100 * f)}pct"]
        high = power[f"runs_for_{round(100 * f)}pct_upper"]
        return (
            f"a {100 * f:.0f}% change needs {low.min()} to {low.max()} runs per condition at "
            f"the estimated spreads, and up to {high.max()} at their upper bound"
        )

    return (
        "From the paper's own spreads, by the paired test, detecting "
        + "; ".join(need(f) for f in changes)
        + ", depending on the model."
    )
