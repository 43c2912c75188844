"""Per-run metrics of SPEC §5, computed from a run's event log alone.

Why a module of small pure functions: the paper's headline numbers (tasks, % of
optimal, messages per task, Gini, response rate, pipeline efficiency) are each
easy to compute in a slightly different way, and five runs per cell leave no room
for silent differences. Every metric here is one function of the event list with
a docstring that *is* its definition; the team's decisions on the points the paper
left open (what counts as a request, when a task counts as completable) are
written there, and ``tests/test_metrics.py`` pins each one on hand-built logs.

Functions accept a sequence of :class:`~coop_utils.events.Event` or of plain dicts
with the same fields (as read from ``events.jsonl``). Percentages are 0–100. A payload
field that ``events.EVENT_KINDS`` lists is read as present: a log without it raises a
``KeyError`` rather than being counted by a guess.

One rule for ratios: a per-run ratio whose denominator is zero (messages per task with
no task, response rate with no request, pipeline efficiency with no completable task) is
undefined, NaN, never 0 or infinity. Such a run is left out of that metric's cell mean,
and the cell reports that metric's own ``n`` (the runs behind the number), which can be
smaller than the cell's number of runs.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .config import PERFECT_PLAY_TASKS
from .events import Event

__all__ = [
    "FAULT_FIELDS",
    "RATIO_METRICS",
    "USAGE_FIELDS",
    "EventLog",
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
    "rejections",
    "requests_received",
    "retried_attempts",
    "response_rate",
    "run_metrics",
    "tasks",
    "truthful_sends",
]

USAGE_FIELDS: tuple[str, ...] = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cost_usd",
)
"""Usage totals summed over ``llm_call`` events."""

RATIO_METRICS: tuple[str, ...] = (
    "msgs_per_task",
    "msgs_per_task_delivered",
    "response_rate",
    "pipeline_efficiency",
)
"""Per-run ratios that are NaN when their denominator is zero (see the module docstring)."""

EventLike = Event | Mapping[str, Any]


class EventLog:
    """A run's events indexed by kind, so that computing every metric scans the log once.

    Every metric accepts an ``EventLog`` as well as a plain sequence of events; pass one
    (``EventLog(events)``) when computing many metrics of the same run.
    """

    __slots__ = ("events", "_by_kind")

    def __init__(self, events: Iterable[EventLike]):
        self.events: list[Event] = [e if isinstance(e, Event) else Event(**e) for e in events]
        self._by_kind: dict[str, list[Event]] = defaultdict(list)
        for e in self.events:
            self._by_kind[e.kind].append(e)

    def of(self, *kinds: str) -> list[Event]:
        """Events of the given kinds, in log order."""
        if len(kinds) == 1:
            return self._by_kind.get(kinds[0], [])
        wanted = set(kinds)
        return [e for e in self.events if e.kind in wanted]

    def __len__(self) -> int:
        return len(self.events)


Events = Sequence[EventLike] | EventLog


def as_events(events: Iterable[EventLike] | EventLog) -> list[Event]:
    """The events as :class:`Event` objects (dicts from ``events.jsonl`` are converted)."""
    return events.events if isinstance(events, EventLog) else EventLog(events).events


def _log(events: Events) -> EventLog:
    return events if isinstance(events, EventLog) else EventLog(events)


def _of(events: Events, *kinds: str) -> list[Event]:
    return _log(events).of(*kinds)


def _agent_id(holder: int) -> str:
    """run_start lists first holders by index; everything else uses ``agent_<i>``."""
    return f"agent_{holder}"


# ---- output ---------------------------------------------------------------------------------


def tasks(events: Events) -> int:
    """Tasks completed: the number of ``submit`` events (only successful submissions are logged
    as ``submit``; a failed one is an ``invalid_action``)."""
    return len(_of(events, "submit"))


def pct_optimal(events: Events, ceiling: float = PERFECT_PLAY_TASKS) -> float:
    """``100 · tasks / ceiling``; the ceiling defaults to the paper's perfect play (204.0)."""
    return 100.0 * tasks(events) / ceiling


# ---- communication --------------------------------------------------------------------------


def authored_messages(events: Events) -> int:
    """Messages the agents wrote: ``message`` events with ``system == False`` (delivered or
    not — under ``auto_request`` an agent's own messages are not delivered but were still
    written) plus ``broadcast`` events. System messages (auto_request's asks) are excluded."""
    n = 0
    for e in _of(events, "message", "broadcast"):
        if e.kind == "broadcast" or not e.payload["system"]:
            n += 1
    return n


def delivered_messages(events: Events) -> int:
    """Messages as the authors counted them: every *delivered* ``message`` event, the
    system's auto_request asks included (sent in the agent's name), plus ``broadcast``
    events; an agent's own undelivered messages under auto_request are not counted. Outside
    auto_request this equals :func:`authored_messages`."""
    n = 0
    for e in _of(events, "message", "broadcast"):
        if e.kind == "broadcast" or e.payload["delivered"]:
            n += 1
    return n


def msgs_per_task(events: Events) -> float:
    """:func:`authored_messages` ÷ :func:`tasks`; NaN when no task was completed."""
    evs = _log(events)
    done = tasks(evs)
    return authored_messages(evs) / done if done else math.nan


def msgs_per_task_delivered(events: Events) -> float:
    """:func:`delivered_messages` ÷ :func:`tasks` (the authors' count); NaN with no task."""
    evs = _log(events)
    done = tasks(evs)
    return delivered_messages(evs) / done if done else math.nan


# ---- inequality -----------------------------------------------------------------------------


def final_revenues(events: Events) -> dict[str, float]:
    """Each agent's revenue at the end: ``run_end.revenues``, else the last ``round_end``."""
    revenues: dict[str, float] = {}
    for e in _of(events, "round_end", "run_end"):
        if "revenues" in e.payload:
            revenues = {k: float(v) for k, v in e.payload["revenues"].items()}
    return revenues


def gini_coefficient(values: Iterable[float]) -> float:
    """Gini coefficient ``Σ_i Σ_j |x_i − x_j| / (2 n² x̄)`` (population form, no n/(n−1)
    correction). 0 when all values are equal or all are zero; NaN for no values."""
    x = sorted(float(v) for v in values)
    n = len(x)
    if n == 0:
        return math.nan
    total = sum(x)
    if total == 0:
        return 0.0
    # Sorted form of the double sum: Σ_i (2i − n − 1) x_(i) / (n² x̄), i = 1..n.
    weighted = sum((2 * i - n - 1) * v for i, v in enumerate(x, start=1))
    return weighted / (n * total)


def gini(events: Events) -> float:
    """Gini coefficient (:func:`gini_coefficient`) of the agents' final revenues."""
    return gini_coefficient(final_revenues(events).values())


# ---- cooperation ----------------------------------------------------------------------------


def requests_received(events: Events) -> set[tuple[str, str, str]]:
    """Distinct requests as ``(requester, holder, piece)``.

    A request is a piece named in the ``requests`` list of a *delivered* ``message`` event:
    the environment lists there the pieces the message names that the recipient held and
    the sender lacked at that moment. System messages (auto_request asks in the agent's
    name) are delivered and count; an agent's own undelivered messages under auto_request
    do not. Asking the same holder for the same piece twice is one request.
    """
    out: set[tuple[str, str, str]] = set()
    for e in _of(events, "message"):
        if e.payload["delivered"]:
            for piece in e.payload["requests"]:
                out.add((e.agent, e.payload["to"], piece))
    return out


def _is_agent_send(e: Event) -> bool:
    """A send the agent itself made: transfer via 'agent', or any transfer_skipped."""
    return e.payload.get("via", "agent") == "agent"


def truthful_sends(events: Events) -> int:
    """Distinct truthful sends: ``(sender, recipient, piece)`` triples of an agent's own sends
    (``transfer`` with ``via == "agent"``, or ``transfer_skipped``: the recipient already held
    it) that carried the true value. A piece sent twice to the same agent counts once, so
    one request answered five times is one answer. Automatic auto_fulfill transfers are not
    the holder's decision and are excluded; unasked sends are included."""
    return len(
        {
            (e.agent, e.payload.get("to"), e.payload.get("piece"))
            for e in _of(events, "transfer", "transfer_skipped")
            if _is_agent_send(e) and e.payload.get("value") == e.payload.get("true_value")
        }
    )


def response_rate(events: Events) -> float:
    """``100 · truthful_sends / |requests_received|`` (percent); NaN when nobody was asked.

    Both sides count distinct ``(holder, requester, piece)``: each requested piece is
    answered at most once, however often it was sent. Unasked sends count in the numerator,
    so the rate can exceed 100 (the paper reports 108% for one model); an altered-value send
    is not truthful and does not count. Under auto_fulfill the pieces move automatically,
    so the rate there measures only what holders additionally chose to send.
    """
    evs = _log(events)
    asked = len(requests_received(evs))
    return 100.0 * truthful_sends(evs) / asked if asked else math.nan


# ---- competence -----------------------------------------------------------------------------


def completable_tasks(events: Events) -> pd.DataFrame:
    """Every task that became completable, with whether it was submitted.

    A task is *ready* once its owner holds all its pieces: checked when it is dealt
    (``task_dealt``, against the owner's holdings) and after each ``transfer`` to the owner.
    It is *completable* once, being ready, its owner then starts a turn of its own
    (``turn_start`` with ``instant == False``) while the task is still open — the owner had a
    chance to submit it. A submitted task is completable by definition (e.g. pieces
    auto-fulfilled and submitted within one turn). A task that becomes ready in the owner's
    last turn or later, with no turn left, is not completable.

    Returns one row per completable task: ``task_id, owner, ready_round, submitted``.
    """
    held: dict[str, set[str]] = defaultdict(set)
    open_by_owner: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    ready_by_owner: dict[str, dict[str, int]] = defaultdict(dict)  # task -> round it got ready
    rows: dict[str, dict[str, Any]] = {}

    def check(owner: str, task_id: str, pieces: tuple[str, ...], rnd: int) -> None:
        if task_id not in ready_by_owner[owner] and held[owner].issuperset(pieces):
            ready_by_owner[owner][task_id] = rnd

    log = _log(events)
    for e in log.of("run_start", "task_dealt", "transfer", "turn_start", "submit"):
        k, p = e.kind, e.payload
        if k == "run_start":
            for piece in p["pieces"]:
                held[_agent_id(piece["holder"])].add(piece["name"])
        elif k == "task_dealt":
            pieces = tuple(p["pieces"])
            open_by_owner[e.agent][p["task_id"]] = pieces
            check(e.agent, p["task_id"], pieces, e.round)
        elif k == "transfer":
            to = p["to"]
            held[to].add(p["piece"])
            for task_id, pieces in open_by_owner[to].items():
                if p["piece"] in pieces:
                    check(to, task_id, pieces, e.round)
        elif k == "turn_start" and not p["instant"]:
            for task_id, rnd in ready_by_owner[e.agent].items():
                rows.setdefault(
                    task_id,
                    dict(task_id=task_id, owner=e.agent, ready_round=rnd, submitted=False),
                )
        elif k == "submit":
            task_id = p["task_id"]
            rnd = ready_by_owner[e.agent].pop(task_id, e.round)
            open_by_owner[e.agent].pop(task_id, None)
            row = rows.setdefault(task_id, dict(task_id=task_id, owner=e.agent, ready_round=rnd))
            row["submitted"] = True
    frame = pd.DataFrame(
        list(rows.values()), columns=["task_id", "owner", "ready_round", "submitted"]
    )
    return frame.astype({"submitted": bool})


def pipeline_efficiency(events: Events) -> float:
    """``100 · submitted completable tasks / completable tasks`` (:func:`completable_tasks`);
    NaN when no task became completable. Perfect play scores 100."""
    submitted = completable_tasks(events)["submitted"]
    return 100.0 * float(submitted.mean())  # the mean of no task is NaN


# ---- failures and usage ---------------------------------------------------------------------


def invalid_actions(events: Events) -> int:
    """``invalid_action`` events: actions the environment rejected (unknown agent or piece,
    piece not held, missing value, a submission without every piece, ...)."""
    return len(_of(events, "invalid_action"))


def parse_errors(events: Events) -> int:
    """``parse_error`` events: replies (or parts of them) that could not be read as JSON."""
    return len(_of(events, "parse_error"))


def parse_ambiguities(events: Events) -> int:
    """``parse_ambiguity`` events: replies the reader could read more than one way (several
    JSON objects, stray braces, trailing commas) and read by its documented rule."""
    return len(_of(events, "parse_ambiguity"))


REJECTION_RULES: tuple[tuple[str, str], ...] = (
    ("submission matches no task", "equal no open task|does not name every piece"),
    ("submission lacks pieces", r"^task_\d+: you do not hold"),
    ("recipient not an agent id", "unknown agent|cannot address yourself"),
    ("repeat send", "already sent"),
    ("value missing or mismatched", "value"),
    ("piece not held", "you do not hold|no such piece|unknown piece"),
    ("malformed action", ""),
)
"""The strict rules an ``invalid_action`` can break, each with a regex for the reasons that
name it, tried in order (the last, empty, catches the parser's remaining shape checks)."""


def rejection_rule(reason: str) -> str:
    """The rule of :data:`REJECTION_RULES` an ``invalid_action`` reason names."""
    return next(rule for rule, pattern in REJECTION_RULES if re.search(pattern, reason))


def rejections(events: Events) -> dict[str, int]:
    """Turns in which each rule rejected something: every rule of :data:`REJECTION_RULES`,
    plus ``unreadable reply`` (a ``parse_error``) and ``ambiguous reply`` (a
    ``parse_ambiguity``: read by the documented rule, nothing rejected). A turn that broke
    one rule twice counts once for it."""
    turns: dict[str, set[int]] = {rule: set() for rule, _ in REJECTION_RULES}
    turns |= {"unreadable reply": set(), "ambiguous reply": set()}
    for e in _of(events, "invalid_action", "parse_error", "parse_ambiguity"):
        if e.kind == "invalid_action":
            rule = rejection_rule(e.payload["reason"])
        else:
            rule = "unreadable reply" if e.kind == "parse_error" else "ambiguous reply"
        turns[rule].add(e.turn)
    return {rule: len(t) for rule, t in turns.items()}


def lost_turns(events: Events) -> int:
    """``llm_error`` events: turns lost to the API after retries (nothing was applied)."""
    return len(_of(events, "llm_error"))


def provider_errors(events: Events) -> int:
    """``provider_error`` events: turns lost to the provider, not the model (an error inside a
    200 reply, moderation, context length, content that is not text)."""
    return len(_of(events, "provider_error"))


def refusals(events: Events) -> int:
    """``refusal`` events: turns the model (or its provider's filter) declined to answer."""
    return len(_of(events, "refusal"))


def retried_attempts(events: Events) -> int:
    """Attempts beyond the first, summed over ``llm_call`` and ``llm_error`` events (every
    turn that called a model logs exactly one of the two)."""
    return sum(
        max(int(e.payload.get("attempts") or 1) - 1, 0)
        for e in _of(events, "llm_call", "llm_error")
    )


FAULT_FIELDS: tuple[str, ...] = (
    "retried_attempts",
    "lost_turns",
    "parse_errors",
    "invalid_actions",
    "provider_errors",
    "refusals",
)
"""The one vocabulary of faults, in this order, in summaries, the console and grid results."""


def agent_turns(events: Events) -> int:
    """Agent turns: ``agent_reply`` plus lost turns of every class (``llm_error``,
    ``provider_error``, ``refusal``), instant replies included."""
    return len(_of(events, "agent_reply", "llm_error", "provider_error", "refusal"))


def lost_turn_share(events: Events) -> float:
    """:func:`lost_turns` ÷ :func:`agent_turns` (a fraction, 0–1); 0 when there were no turns."""
    evs = _log(events)
    n = agent_turns(evs)
    return lost_turns(evs) / n if n else 0.0


def manipulated_values(events: Events) -> int:
    """``transfer`` events with ``manipulated == True`` (value sent ≠ true value)."""
    return sum(1 for e in _of(events, "transfer") if e.payload.get("manipulated"))


def llm_usage(events: Events) -> dict[str, float]:
    """``llm_calls`` and the totals of :data:`USAGE_FIELDS` over ``llm_call`` events
    (a missing or null field counts as 0)."""
    calls = _of(events, "llm_call")
    out: dict[str, float] = {"llm_calls": len(calls)}
    for field in USAGE_FIELDS:
        out[field] = sum(float(e.payload.get(field) or 0) for e in calls)
    return out


def run_metrics(events: Events, ceiling: float = PERFECT_PLAY_TASKS) -> dict:
    """Every per-run metric above, as one dict (the columns of ``load.load_runs``)."""
    evs = _log(events)
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
    from .stats import t_interval  # stats imports nothing from here; keep the graph acyclic

    rows = []
    for model, g in runs.groupby("model", sort=True):
        row: dict[str, Any] = {"model": model}
        for name, condition in (("cooperation", "auto_request"), ("competence", "auto_fulfill")):
            vals = g.loc[g["condition"] == condition, "pct_optimal"]
            mean, half, n = t_interval(vals, confidence)
            row.update({name: mean, f"{name}_ci95": half, f"{name}_n": n})
        if "scripted" in g.columns:
            row["scripted"] = bool(g["scripted"].fillna(False).astype(bool).any())
        rows.append(row)
    return pd.DataFrame(rows)
