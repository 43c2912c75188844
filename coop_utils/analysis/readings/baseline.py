"""Notebook 01's readings: the perfect-play ceiling and the count model of Table 1."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...game.config import EnvConfig
from ..prose import interval, names, num, p_value, paragraphs
from ..rounding import snap
from ..stats import t_interval

__all__ = ["ceiling", "count_model"]


def ceiling(hundred: Any, rounds: int) -> str:
    """Why perfect play completes what it does at ``rounds`` rounds, and what ``pct_optimal``
    divides by. ``hundred``: the notebook's ceiling (``run.experiments.ceiling``: its
    ``perfect`` runs, ``tasks``, ``comparable`` and ``differences``)."""
    tasks = hundred.perfect.tasks
    mean, half, _ = t_interval(tasks)
    cfg = EnvConfig(rounds=rounds)
    cycle = cfg.n_agents * cfg.tasks_per_agent * (cfg.rounds // 2)
    beyond = tasks.max() > cycle
    return paragraphs(
        f"Each task slot needs two rounds (request, then submit, then the replacement's "
        f"requests), so {cfg.n_agents} agents × {cfg.tasks_per_agent} slots × ⌊{cfg.rounds} "
        f"rounds / 2⌋ = {cycle} tasks"
        + (
            ", plus the occasional task dealt already covered by pieces its owner holds"
            if beyond
            else ""
        )
        + f": our perfect play completes {mean:.1f} ± {half:.1f} (range {tasks.min()} to "
        f"{tasks.max()}).",
        f"`pct_optimal` divides by the paper's {hundred.tasks:.1f} so that our percentages and "
        "the paper's are on one scale."
        if hundred.comparable
        else f"`pct_optimal` divides by our perfect play at this setting ({hundred.tasks:.1f} "
        "tasks), so perfect play is 100% by construction. The paper's numbers belong to its own "
        "setting, so its columns and overlays are left out below "
        f"({'; '.join(hundred.differences)}).",
    )


def count_model(rates: pd.DataFrame, ratios: pd.DataFrame, reference: str, scripted: bool) -> str:
    """The count model (:func:`~coop_utils.analysis.stats.cell_rates` and
    :func:`~coop_utils.analysis.stats.rate_ratios` against ``reference``): the ranking,
    each rate's two intervals, and each ratio's tests, or why there are none; then what the
    ranking reflects (the scripted presets' knobs, or the models)."""
    ranked = rates.sort_values("rate", ascending=False)
    ref = rates.set_index("model").loc[reference]
    runs = sorted(set(rates["n"].astype(int)))
    head = f"**Reading it.** Ranked by tasks per run: {names(ranked.model)}."
    what = (
        "Offline, the ranking reflects the knobs we gave the scripted presets (a withholder "
        "answers few requests, a bungler rarely asks or submits, a rival withholds from agents "
        "ahead of it on the board), not any model."
        if scripted
        else "Table 1 shows each model beside the paper's value."
    )
    if max(runs) < 2:
        return paragraphs(
            head + " With 1 run per population there is no interval and no test: a "
            "run-to-run spread needs at least 2 runs, so this ranking is one draw each and "
            f"says nothing about how far apart the populations are. `{reference}` completed "
            f"{num(ref.rate)} tasks.",
            what,
        )
    dfs = sorted({f"{snap(d):.3g}" for d in rates["df"].dropna()}, key=float)  # BM df: real
    first = (
        head + f" With {names(runs, code=False)} runs per population each interval rests on "
        f"{names(dfs, code=False)} degrees of freedom: `{reference}` completes "
        f"{num(ref.rate)} tasks per run, {interval(ref.rate_lo, ref.rate_hi)} by the count "
        f"model beside {interval(ref.t_lo, ref.t_hi)} by the t-interval on the same runs."
    )
    if ref.rate < 1e-6:  # the count model fits a zero count as a vanishing rate
        nothing = f"`{reference}` completed no task, so no rate ratio against it is defined."
        return paragraphs(first, nothing, what)
    lines = []
    for r in ratios.itertuples():
        if pd.isna(r.p):
            why = getattr(r, "not_estimable", "") or "not tested (no spread to test against)"
        else:
            why = f"p = {p_value(r.p)} beside Welch's {p_value(r.p_welch)}"
        lines.append(f"- `{r.model}` {r.rate_ratio:.3f} ({interval(r.rr_lo, r.rr_hi, 3)}), {why}")
    return paragraphs(
        first,
        "Rate ratios against it, with the model's test (clustered by seed) beside Welch's:",
        "\n".join(lines),
        what,
    )
