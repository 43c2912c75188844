"""How the group played: output, communication, inequality, cooperation, competence."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a frame is built: scoring a run needs none
    import pandas as pd

from ...game.config import PERFECT_PLAY_TASKS
from ...game.env import agent_id
from ...game.events import Event
from .log import Events, as_log, events_of

RATIO_METRICS: tuple[str, ...] = (
    "msgs_per_task",
    "msgs_per_task_delivered",
    "response_rate",
    "pipeline_efficiency",
)
"""Per-run ratios that are NaN when their denominator is zero (see the module docstring)."""


# ---- output ---------------------------------------------------------------------------------


def tasks(events: Events) -> int:
    """Tasks completed: the number of ``submit`` events (only successful submissions are logged
    as ``submit``; a failed one is an ``invalid_action``)."""
    return len(events_of(events, "submit"))


def pct_optimal(events: Events, ceiling: float = PERFECT_PLAY_TASKS) -> float:
    """``100 · tasks / ceiling``; the ceiling defaults to the paper's perfect play (204.0)."""
    return 100.0 * tasks(events) / ceiling


# ---- communication --------------------------------------------------------------------------


def authored_messages(events: Events) -> int:
    """Messages the agents wrote: ``message`` events with ``system == False`` (delivered or
    not — under ``auto_request`` an agent's own messages are not delivered but were still
    written) plus ``broadcast`` events. System messages (auto_request's asks) are excluded."""
    n = 0
    for e in events_of(events, "message", "broadcast"):
        if e.kind == "broadcast" or not e.payload["system"]:
            n += 1
    return n


def delivered_messages(events: Events) -> int:
    """Messages as the authors counted them: every *delivered* ``message`` event, the
    system's auto_request asks included (sent in the agent's name), plus ``broadcast``
    events; an agent's own undelivered messages under auto_request are not counted. Outside
    auto_request this equals :func:`authored_messages`."""
    n = 0
    for e in events_of(events, "message", "broadcast"):
        if e.kind == "broadcast" or e.payload["delivered"]:
            n += 1
    return n


def msgs_per_task(events: Events) -> float:
    """:func:`authored_messages` ÷ :func:`tasks`; NaN when no task was completed."""
    evs = as_log(events)
    done = tasks(evs)
    return authored_messages(evs) / done if done else math.nan


def msgs_per_task_delivered(events: Events) -> float:
    """:func:`delivered_messages` ÷ :func:`tasks` (the authors' count); NaN with no task."""
    evs = as_log(events)
    done = tasks(evs)
    return delivered_messages(evs) / done if done else math.nan


# ---- inequality -----------------------------------------------------------------------------


def final_revenues(events: Events) -> dict[str, float]:
    """Each agent's revenue at the end: ``run_end.revenues``, else the last ``round_end``."""
    revenues: dict[str, float] = {}
    for e in events_of(events, "round_end", "run_end"):
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
    for e in events_of(events, "message"):
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
            for e in events_of(events, "transfer", "transfer_skipped")
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
    evs = as_log(events)
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

    log = as_log(events)
    for e in log.of("run_start", "task_dealt", "transfer", "turn_start", "submit"):
        k, p = e.kind, e.payload
        if k == "run_start":
            for piece in p["pieces"]:
                held[agent_id(piece["holder"])].add(piece["name"])
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
    import pandas as pd  # local: scoring a run needs no pandas

    frame = pd.DataFrame(
        list(rows.values()), columns=["task_id", "owner", "ready_round", "submitted"]
    )
    return frame.astype({"submitted": bool})


def pipeline_efficiency(events: Events) -> float:
    """``100 · submitted completable tasks / completable tasks`` (:func:`completable_tasks`);
    NaN when no task became completable. Perfect play scores 100."""
    submitted = completable_tasks(events)["submitted"]
    return 100.0 * float(submitted.mean())  # the mean of no task is NaN
