"""Power: how many runs per cell a change needs, from a spread (the paper's own, say)."""

from __future__ import annotations

import math

import pandas as pd
from statsmodels.stats.power import TTestIndPower, TTestPower


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
