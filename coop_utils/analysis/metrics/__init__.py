"""The paper's per-run metrics, computed from a run's event log alone.

Why a module of small pure functions: the paper's headline numbers (tasks, % of
optimal, messages per task, Gini, response rate, pipeline efficiency) are each
easy to compute in a slightly different way, and five runs per cell leave no room
for silent differences. Every metric here is one function of the event list with
a docstring that *is* its definition; the team's decisions on the points the paper
left open (what counts as a request, when a task counts as completable) are
written there, and ``tests/test_metrics.py`` pins each one on hand-built logs. One kind of
measure per module: :mod:`.play` (how the group played), :mod:`.faults` (what went wrong and
what it cost), :mod:`.summary` (a run's row, rates across runs), over :mod:`.log`.

Functions accept a sequence of :class:`~coop_utils.game.events.Event` or of plain dicts
with the same fields (as read from ``events.jsonl``). Percentages are 0–100. A payload
field that ``events.EVENT_KINDS`` lists is read as present: a log without it raises a
``KeyError`` rather than being counted by a guess.

One rule for ratios: a per-run ratio whose denominator is zero (messages per task with
no task, response rate with no request, pipeline efficiency with no completable task) is
undefined, NaN, never 0 or infinity. Such a run is left out of that metric's cell mean,
and the cell reports that metric's own ``n`` (the runs behind the number), which can be
smaller than the cell's number of runs.
"""

from .faults import (
    FAULT_FIELDS,
    REJECTION_RULES,
    USAGE_FIELDS,
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
    rejection_rule,
    rejections,
    retried_attempts,
)
from .log import EventLike, EventLog, Events, as_events
from .play import (
    RATIO_METRICS,
    authored_messages,
    completable_tasks,
    delivered_messages,
    final_revenues,
    gini,
    gini_coefficient,
    msgs_per_task,
    msgs_per_task_delivered,
    pct_optimal,
    pipeline_efficiency,
    requests_received,
    response_rate,
    tasks,
    truthful_sends,
)
from .summary import cooperation_competence, run_metrics

__all__ = [
    "FAULT_FIELDS",
    "REJECTION_RULES",
    "RATIO_METRICS",
    "USAGE_FIELDS",
    "EventLike",
    "EventLog",
    "Events",
    "agent_turns",
    "as_events",
    "authored_messages",
    "completable_tasks",
    "delivered_messages",
    "cooperation_competence",
    "final_revenues",
    "gini",
    "gini_coefficient",
    "invalid_actions",
    "llm_usage",
    "lost_turn_share",
    "lost_turns",
    "manipulated_values",
    "msgs_per_task",
    "msgs_per_task_delivered",
    "parse_ambiguities",
    "parse_errors",
    "pct_optimal",
    "pipeline_efficiency",
    "provider_errors",
    "refusals",
    "rejection_rule",
    "rejections",
    "requests_received",
    "retried_attempts",
    "response_rate",
    "run_metrics",
    "tasks",
    "truthful_sends",
]
