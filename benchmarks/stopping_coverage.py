"""Coverage of ``coop evaluate``'s stopping rule, measured by simulation.

Why: a cell stops as soon as its 95% t half-width is at most the target, and it stops
early exactly when its sample sd happens to come out small, so the interval it stops with
covers the true mean less often than 95%. This plays the rule's own functions
(``runs_wanted`` and ``cell_state`` of ``coop_utils/run/evaluate/stopping.py``) on normal
runs of known mean and sd (points of optimal) and counts how often the final interval
covers the true mean, and how many runs a cell takes, for each minimum number of runs.

    python benchmarks/stopping_coverage.py                 # 10,000 cells per row
    python benchmarks/stopping_coverage.py --sims 2000 --min-runs 3 5

The table in docs/EVALUATE.md comes from the default command (seed 0).
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from coop_utils.run.evaluate.stopping import StopRule, cell_state, runs_wanted

SDS = (1.0, 5.0, 12.0, 25.0)
"""Run-to-run sds in points of optimal: from a steady model to the paper's widest spread."""


def simulate(sd: float, rule: StopRule, sims: int, rng: np.random.Generator) -> tuple[float, float]:
    """(coverage, mean runs) of the rule over ``sims`` cells whose runs are N(50, sd²)."""
    covered, runs = 0, 0
    for _ in range(sims):
        values: list[float | None] = []
        while (n := runs_wanted(values, rule)) > len(values):
            values += list(rng.normal(50.0, sd, n - len(values)))
        state = cell_state(values, rule)
        covered += not math.isnan(state.half_width) and abs(state.mean - 50.0) <= state.half_width
        runs += len(values)
    return covered / sims, runs / sims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=10_000)
    parser.add_argument("--min-runs", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    default = StopRule()
    print(
        f"target ±{default.target:g} points, batch {default.batch}, max {default.max_runs} runs; "
        f"{args.sims:,} simulated cells per row (coverage's Monte Carlo se ≈ "
        f"{100 * math.sqrt(0.95 * 0.05 / args.sims):.1f} points)\n"
    )
    print("| min runs | sd (points) | coverage of the 95% interval | expected runs |")
    print("|---:|---:|---:|---:|")
    for m in args.min_runs:
        rule = StopRule(default.target, m, default.batch, max(default.max_runs, m))
        for sd in SDS:
            coverage, runs = simulate(sd, rule, args.sims, rng)
            print(f"| {m} | {sd:g} | {100 * coverage:.1f}% | {runs:.2f} |")


if __name__ == "__main__":
    main()
