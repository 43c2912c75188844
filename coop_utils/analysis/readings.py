"""The sentences of the notebooks' readings that rest on a test or an interval, written so
that they hold at any number of runs.

Why: a computed sentence is read as a conclusion at whatever parameters it was computed.
At one run per cell nothing can be tested, and "changes that survive Holm's correction:
none" would read as a finding of no effect; a zero baseline has no % change ("+nan%"); an
interval from one statistic beside a test of another can disagree ("+900% (7 to 1507) ...
not significant"). Each function here takes the table a notebook computed and says what
could not be tested and why, and sets a test beside the interval of the same statistic
(the paired mean difference for the paired t-test). ``tests/test_readings.py`` runs them
at 1 and 2 runs without executing a notebook.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats as sps

from .prose import interval, names, num, p_value
from .rounding import snap

__all__ = ["change", "paired_interval", "interventions_reading", "versus_default"]


def paired_interval(diff: float, sd_diff: float, n_pairs: int) -> tuple[float, float]:
    """95% t interval of a mean paired difference, the statistic of the paired t-test (so
    it excludes 0 exactly when that test's p is below 0.05); NaN below 2 pairs."""
    if n_pairs < 2 or math.isnan(sd_diff):
        return math.nan, math.nan
    half = sps.t.ppf(0.975, n_pairs - 1) * sd_diff / math.sqrt(n_pairs)
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


def interventions_reading(t3: pd.DataFrame) -> list[str]:
    """Notebook 03's reading of Table 3: what survives Holm's correction, what does not,
    what is identical to its baseline and what could not be tested, each said as such."""
    if t3.empty:
        return ["No intervention ran, so there is nothing to compare."]
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
    return out


def versus_default(r, d) -> str:
    """Notebook 05: a setting's cell ``r`` against the default's cell ``d`` of one model
    (rows of :func:`~coop_utils.analysis.tables.ablation_table`), said without an interval
    where the default has none and without a % change from a zero default."""
    moved = (
        f"{r.pct_vs_default:+.1f}%"
        if d.tasks and math.isfinite(r.pct_vs_default)
        else f"{num(r.tasks - d.tasks)} tasks from a default of 0"
    )
    if pd.isna(d.tasks_ci95):
        return f"by {moved} (the default has {int(d.n)} run, so no interval to compare with)"
    inside = abs(r.tasks - d.tasks) <= d.tasks_ci95
    return f"by {moved} ({'within' if inside else 'outside'} the default's interval)"


def baseline_reading(rates: pd.DataFrame, ratios: pd.DataFrame, reference: str) -> list[str]:
    """Notebook 01's reading of the count model (:func:`~coop_utils.analysis.stats.cell_rates`
    and :func:`~coop_utils.analysis.stats.rate_ratios` against ``reference``): the ranking,
    each rate's two intervals, and each ratio's tests, or why there are none."""
    ranked = rates.sort_values("rate", ascending=False)
    ref = rates.set_index("model").loc[reference]
    runs = sorted(set(rates["n"].astype(int)))
    head = f"**Reading it.** Ranked by tasks per run: {names(ranked.model)}."
    if max(runs) < 2:
        return [
            head + f" With 1 run per population there is no interval and no test: a "
            "run-to-run spread needs at least 2 runs, so this ranking is one draw each and "
            f"says nothing about how far apart the populations are. `{reference}` completed "
            f"{num(ref.rate)} tasks."
        ]
    dfs = sorted({f"{snap(d):.3g}" for d in rates["df"].dropna()}, key=float)  # BM df: real
    out = [
        head + f" With {names(runs, code=False)} runs per population each interval rests on "
        f"{names(dfs, code=False)} degrees of freedom: `{reference}` completes "
        f"{num(ref.rate)} tasks per run, {interval(ref.rate_lo, ref.rate_hi)} by the count "
        f"model beside {interval(ref.t_lo, ref.t_hi)} by the t-interval on the same runs."
    ]
    if ref.rate < 1e-6:  # the count model fits a zero count as a vanishing rate
        out.append(f"`{reference}` completed no task, so no rate ratio against it is defined.")
        return out
    lines = []
    for r in ratios.itertuples():
        if pd.isna(r.p):
            why = getattr(r, "not_estimable", "") or "not tested (no spread to test against)"
        else:
            why = f"p = {p_value(r.p)} beside Welch's {p_value(r.p_welch)}"
        lines.append(f"- `{r.model}` {r.rate_ratio:.3f} ({interval(r.rr_lo, r.rr_hi, 3)}), {why}")
    out.append("Rate ratios against it, with the model's test (clustered by seed) beside Welch's:")
    out.append("\n".join(lines))
    return out
