"""How many runs a cell gets: the adaptive stopping rule of ``coop evaluate``.

Why adaptive: the paper ran 5 runs per cell, and its own intervals show that 5 is more
than some models need (o3's 34.4 ± 2.6 tasks is ± 1.3 points of optimal) and fewer than
others need (o3-mini's 102.8 ± 17.3 is ± 8.5 points). A fixed count either spends a user's
money on precision nobody asked for or leaves a diagnosis inside its own noise. Here each
cell (one model under one condition) is played in batches on seeds ``seed, seed+1, ...``
until its 95% half-width of % of optimal is at most ``target`` points, or it has had
``max_runs`` runs, or the budget is spent, whichever comes first.

Why two stages (Stein's): a cell that stops as soon as its own t-interval is narrow stops
early exactly when its sample sd happens to be small, so the interval it stops with covers
the mean less often than it says (92% at a minimum of 3 runs, 94% at 5, by
``benchmarks/stopping_coverage.py``). Here the first ``min_runs`` usable runs fix the sd
``s0``; the cell needs ``n = ⌈(t₀ · s0 / target)²⌉`` runs (``t₀`` the 97.5% t quantile
with ``min_runs − 1`` degrees of freedom), and its interval is ``mean ± t₀ · s0 / √n``.
Since ``n`` depends on the first runs' sd alone and a normal sample's mean is independent
of its sd, ``(mean − μ) · √n / s0`` is Student t with ``min_runs − 1`` degrees of freedom
whatever ``n`` is, capped at ``max_runs`` or not: the interval covers 95% by construction.

Everything here is pure: :func:`adapt` drives any ``play`` function (the grid runner in
:mod:`.protocol`, a simulation in the tests), so the rule is tested without playing a game.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from scipy import stats as sps

from ...analysis.stats import t_interval

Status = Literal["open", "settled", "capped", "stopped"]

MIN_RUNS = 5
"""Runs every cell gets first: the first stage, whose sd fixes how many runs the cell needs
(its t quantile with 4 degrees of freedom; 2 runs would give 12.7)."""


@dataclass(frozen=True)
class StopRule:
    """When a cell has had enough runs."""

    target: float = 5.0
    """Largest acceptable 95% t half-width of the cell's % of optimal, in points."""
    min_runs: int = MIN_RUNS
    """Runs every cell gets before the rule is consulted (a t-interval of 2 runs is ±6 sd)."""
    batch: int = 2
    """Runs added to an open cell per round of batches."""
    max_runs: int = 10
    """Runs (seeds played, degraded ones included: they were paid for) no cell exceeds."""

    def __post_init__(self) -> None:
        if not self.target > 0:
            raise ValueError(f"target must be a positive half-width in points, got {self.target}")
        if not 2 <= self.min_runs <= self.max_runs:
            raise ValueError(
                f"need 2 <= min_runs <= max_runs, got min_runs={self.min_runs}, "
                f"max_runs={self.max_runs}"
            )
        if self.batch < 1:
            raise ValueError(f"batch must be at least 1, got {self.batch}")


@dataclass(frozen=True)
class CellState:
    """Where one cell stands: ``runs`` seeds played, ``n`` of them usable (not degraded)."""

    runs: int
    n: int
    mean: float
    half_width: float
    status: Status

    def as_dict(self) -> dict[str, Any]:
        """The cell as evaluation.json and summary.json write it, in % of optimal."""
        return {
            "runs": self.runs,
            "usable": self.n,
            "pct_optimal": self.mean,
            "half_width": self.half_width,
            "status": self.status,
        }


def _stein(usable: Sequence[float], rule: StopRule) -> tuple[float, int]:
    """(t₀ · s0, runs needed) from the first ``min_runs`` usable runs (module docstring)."""
    first = list(usable[: rule.min_runs])
    ts0 = float(sps.t.ppf(0.975, rule.min_runs - 1)) * float(pd.Series(first).std(ddof=1))
    return ts0, max(rule.min_runs, math.ceil((ts0 / rule.target) ** 2 - 1e-9))


def cell_state(values: Sequence[float | None], rule: StopRule) -> CellState:
    """The state of a cell whose runs, seed by seed, gave ``values`` (None: a degraded run,
    which counts against the cap but not toward the interval). Before ``min_runs`` usable
    runs the half-width is the plain t one (NaN below 2); from then on the two-stage one."""
    usable = [v for v in values if v is not None]
    mean, half, n = t_interval(usable)
    needed = math.inf
    if n >= rule.min_runs:
        ts0, needed = _stein(usable, rule)
        half = ts0 / math.sqrt(n)
    if n >= needed:
        status: Status = "settled"
    elif len(values) >= rule.max_runs:
        status = "capped"
    else:
        status = "open"
    return CellState(len(values), n, mean, half, status)


def runs_wanted(values: Sequence[float | None], rule: StopRule) -> int:
    """Seeds the cell should have after its next batch (its current count when it is done):
    ``min_runs`` first, then at most ``batch`` more at a time up to the runs it needs."""
    if cell_state(values, rule).status != "open":
        return len(values)
    usable = [v for v in values if v is not None]
    if len(usable) < rule.min_runs:
        return min(len(values) + rule.min_runs - len(usable), rule.max_runs)
    short = _stein(usable, rule)[1] - len(usable)
    return min(len(values) + min(rule.batch, short), rule.max_runs)


def runs_for_target(sd: float, rule: StopRule) -> int:
    """Runs a cell whose run-to-run sd is ``sd`` points is expected to need under the
    two-stage rule (at least ``min_runs``; may exceed ``max_runs``, which then caps it)."""
    if not sd > 0:
        return rule.min_runs
    t0 = float(sps.t.ppf(0.975, rule.min_runs - 1))
    return max(rule.min_runs, math.ceil((t0 * sd / rule.target) ** 2 - 1e-9))


def sd_from_ci95(ci95: float, n: int = 5) -> float:
    """The run-to-run sd implied by a 95% t half-width over ``n`` runs (the paper's n=5)."""
    return ci95 * math.sqrt(n) / float(sps.t.ppf(0.975, n - 1))


Cell = Hashable


@dataclass(frozen=True)
class Played:
    """What a ``play`` call returns: per cell, its values seed by seed from the first seed
    (everything finished so far, which may be more than was asked when resuming), and why
    nothing more can be played, if so (the budget, a key the provider refused)."""

    values: Mapping[Cell, Sequence[float | None]]
    stopped: str | None = None


@dataclass
class Outcome:
    """The end of an adaptive phase: each cell's values and state, and why it ended."""

    values: dict[Cell, list[float | None]]
    states: dict[Cell, CellState]
    batches: int
    stopped: str | None = None
    """None when every cell is settled or capped; else why the phase ended early."""
    requested: list[dict[Cell, int]] = field(default_factory=list)
    """The seeds asked of ``play`` per cell, batch by batch."""


def adapt(
    cells: Sequence[Cell],
    play: Callable[[dict[Cell, int]], Played],
    rule: StopRule,
) -> Outcome:
    """Play ``cells`` in batches until each is settled or capped, or ``play`` says stop.

    ``play(wanted)`` must make sure each cell of ``wanted`` has run its first
    ``wanted[cell]`` seeds and return every cell's values. A batch that adds no run to any
    cell it asked for ends the phase (a run that keeps failing must not loop forever).
    A cell still open when the phase ends early is marked ``stopped``.
    """
    values: dict[Cell, list[float | None]] = {c: [] for c in cells}
    outcome = Outcome(values, {}, 0)
    while True:
        wanted = {c: runs_wanted(v, rule) for c, v in values.items()}
        wanted = {c: n for c, n in wanted.items() if n > len(values[c])}
        if not wanted:
            break
        played = play(wanted)
        outcome.batches += 1
        outcome.requested.append(wanted)
        before = {c: len(values[c]) for c in wanted}
        for c in cells:
            values[c] = list(played.values.get(c, values[c]))
        if played.stopped:
            outcome.stopped = played.stopped
            break
        if all(len(values[c]) <= before[c] for c in wanted):
            outcome.stopped = "no progress: a batch finished no new run (see the failures above)"
            break
    for c in cells:
        state = cell_state(values[c], rule)
        if state.status == "open" and outcome.stopped:
            state = CellState(state.runs, state.n, state.mean, state.half_width, "stopped")
        outcome.states[c] = state
    return outcome
