"""Every per-run metric as one row (the runs frame's columns), and rates across runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a frame is built: scoring a run needs none
    import pandas as pd

from ...game.config import PERFECT_PLAY_TASKS
from ..quadrants import RATES
from .faults import (
    agent_turns,
    invalid_actions,
    llm_usage,
    lost_turn_share,
    lost_turns,
    manipulated_values,
    parse_ambiguities,
    parse_errors,
    provider_errors,
    refusals,
    retried_attempts,
)
from .log import Events, as_log
from .play import (
    authored_messages,
    delivered_messages,
    gini,
    msgs_per_task,
    msgs_per_task_delivered,
    pct_optimal,
    pipeline_efficiency,
    requests_received,
    response_rate,
    tasks,
    truthful_sends,
)


def run_metrics(events: Events, ceiling: float = PERFECT_PLAY_TASKS) -> dict:
    """Every per-run metric above, as one dict (the columns of ``load.load_runs``)."""
    evs = as_log(events)
    return {
        "tasks": tasks(evs),
        "pct_optimal": pct_optimal(evs, ceiling),
        "messages": authored_messages(evs),
        "msgs_per_task": msgs_per_task(evs),
        "messages_delivered": delivered_messages(evs),
        "msgs_per_task_delivered": msgs_per_task_delivered(evs),
        "gini": gini(evs),
        "requests": len(requests_received(evs)),
        "truthful_sends": truthful_sends(evs),
        "response_rate": response_rate(evs),
        "pipeline_efficiency": pipeline_efficiency(evs),
        "invalid_actions": invalid_actions(evs),
        "parse_errors": parse_errors(evs),
        "parse_ambiguities": parse_ambiguities(evs),
        "lost_turns": lost_turns(evs),
        "provider_errors": provider_errors(evs),
        "refusals": refusals(evs),
        "retried_attempts": retried_attempts(evs),
        "agent_turns": agent_turns(evs),
        "lost_turn_share": lost_turn_share(evs),
        "manipulated_values": manipulated_values(evs),
        **llm_usage(evs),
    }


# ---- across runs ----------------------------------------------------------------------------


def cooperation_competence(runs: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per model: cooperation rate (mean pct_optimal under ``auto_request``, where asking is
    automated so only willingness to send remains) and competence rate (mean pct_optimal
    under ``auto_fulfill``, where sending is automated so only asking and submitting remain).

    One row per model, in sorted order. Columns: ``model, cooperation, cooperation_ci95,
    cooperation_n, competence, competence_ci95, competence_n`` (and ``scripted`` — True if
    any run of the model is; a missing flag is False — when the input has it). Half-widths
    are Student-t at ``confidence``; NaN for fewer than 2 runs.
    """
    import pandas as pd  # local, as below: scoring a run needs neither pandas nor statsmodels

    from ..stats import t_interval, with_flag  # local: scoring a run needs no statsmodels

    rows = []
    for model, g in runs.groupby("model", sort=True):
        row: dict[str, Any] = {"model": model}
        for name, condition in RATES.items():
            vals = g.loc[g["condition"] == condition, "pct_optimal"]
            mean, half, n = t_interval(vals, confidence)
            row.update({name: mean, f"{name}_ci95": half, f"{name}_n": n})
        rows.append(with_flag(row, g))
    return pd.DataFrame(rows)
