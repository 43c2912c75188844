"""Power: how many runs per cell a change needs, from a spread (the paper's own, say)."""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats as sps
from statsmodels.stats.power import TTestIndPower, TTestPower

from ...game.config import Condition


def runs_needed(
    sd: float,
    difference: float,
    power: float = 0.8,
    alpha: float = 0.05,
    paired: bool = False,
) -> pd.DataFrame:
    """Runs per cell needed to detect ``difference`` in a metric with standard deviation ``sd``.

    Two-sided t-test power (statsmodels). Unpaired (``paired=False``): a two-sample
    t-test with equal cells, ``sd`` the within-cell run-to-run sd, result = runs
    per condition. Paired: a one-sample t-test on per-seed differences, ``sd`` the
    sd of those differences, result = seeds run under both conditions.
    Returns ``effect_size`` (Cohen's d), ``n_exact`` and ``n`` (rounded up; never below 2,
    the fewest runs a t-test can use).
    """
    if sd <= 0 or difference == 0:
        raise ValueError("sd must be positive and difference non-zero")
    d = abs(difference) / sd
    solver = TTestPower() if paired else TTestIndPower()
    minimum = 2.0  # a t-test needs two runs per cell; a huge effect is detected with those
    if solver.power(d, minimum, alpha, alternative="two-sided") >= power:
        n = minimum
    else:
        n = float(solver.solve_power(d, None, alpha, power, alternative="two-sided"))
    return pd.DataFrame(
        [
            dict(
                sd=sd,
                difference=difference,
                effect_size=d,
                power=power,
                alpha=alpha,
                paired=paired,
                n_exact=n,
                n=int(math.ceil(n - 1e-9)),
            )
        ]
    )


SPREAD_TABLES = {Condition.BASELINE: "Table 1", Condition.LIMITED: "Table 5"}
"""Where the paper gives a model's tasks as mean ± 95% t half-width over 5 runs."""


def sd_bounds(sd: float, n: int = 5, confidence: float = 0.95) -> tuple[float, float]:
    """The chi-square interval of a run-to-run sd estimated from ``n`` runs: over 5 runs it
    spans 0.60 to 2.87 times the estimate, so a plan from one estimate is a range."""
    lo = sd * math.sqrt((n - 1) / sps.chi2.ppf(0.5 + confidence / 2, n - 1))
    hi = sd * math.sqrt((n - 1) / sps.chi2.ppf(0.5 - confidence / 2, n - 1))
    return lo, hi


def paper_plan(paper: pd.DataFrame, changes=(0.10, 0.25), n: int = 5) -> pd.DataFrame:
    """Runs per condition a study needs to detect each relative change in tasks with 80%
    power at α = 0.05, per paper model, from the paper's own spreads.

    The spread is the larger of the model's two published ones (Tables 1 and 5), taken from
    its 95% half-width over ``n`` runs; the test is the paired t-test over seeds the
    analysis runs, with the sd of a seed's difference taken as √2 · sd (no credit for the
    shared deal, which the paper cannot tell us). Each count is a range:
    ``runs_for_Xpct`` at the estimated sd and ``runs_for_Xpct_upper`` at its 95% upper
    bound (:func:`sd_bounds`)."""
    t_crit = sps.t.ppf(0.975, n - 1)
    rows = []
    tasks = paper[paper["metric"] == "tasks"]
    for model, g in tasks[tasks["model"] != "perfect_play"].groupby("model", sort=False):
        spreads = {
            SPREAD_TABLES[c]: ci * math.sqrt(n) / t_crit
            for c, ci in zip(g["condition"], g["ci95"])
            if c in SPREAD_TABLES and pd.notna(ci)
        }
        base = g[g["condition"] == Condition.BASELINE]
        if not spreads or base.empty:
            continue
        source, sd = max(spreads.items(), key=lambda kv: kv[1])
        row = {"model": model, "paper_tasks": float(base["value"].iloc[0]), "paper_sd": sd}
        row["sd_from"] = source
        for f in changes:
            diff = f * row["paper_tasks"]
            for suffix, s in (("", sd), ("_upper", sd_bounds(sd, n)[1])):
                need = runs_needed(math.sqrt(2) * s, diff, paired=True)
                row[f"runs_for_{round(100 * f)}pct{suffix}"] = int(need["n"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows)
