"""One pass over a run's events: the rows of every per-agent, per-turn, per-message,
per-thought, per-transfer and per-round frame (:mod:`.frames` concatenates them)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .. import metrics
from ..thoughts import word_count

MESSAGE_COLUMNS = (
    "round", "turn", "kind", "sender", "to", "content", "system", "delivered", "pieces",
    "requests", "n_requests",
)  # fmt: skip
TRANSFER_COLUMNS = (
    "round", "turn", "sender", "to", "piece", "value", "true_value", "manipulated", "via",
    "skipped", "bonus",
)  # fmt: skip
# The two largest frames are built from tuples in these column orders (cheaper than dicts).


@dataclass
class RunRows:
    """Everything the frames need from one run, built in one pass over its events."""

    head: dict[str, Any]
    run: dict[str, Any]
    agents: list[dict[str, Any]] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    thoughts: list[dict[str, Any]] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    per_round: list[dict[str, Any]] = field(default_factory=list)


def walk_events(log: metrics.EventLog, labels: dict[str, str], config: dict, out: RunRows) -> None:
    """Build the per-agent, per-turn, per-message, per-thought, per-transfer, per-round rows."""
    instant: dict[int, bool] = {}
    turn_issues: dict[int, Counter] = defaultdict(Counter)
    asked: dict[str, set[tuple[str, str]]] = defaultdict(set)  # holder -> {(requester, piece)}
    answered: dict[str, set[tuple[str, str]]] = defaultdict(set)  # holder -> {(requester, piece)}
    sends: Counter = Counter()
    truthful: dict[str, set] = defaultdict(set)  # (recipient, piece): counted once
    received: Counter = Counter()
    written: Counter = Counter()
    round_tasks: Counter = Counter()
    round_msgs: Counter = Counter()
    round_transfers: Counter = Counter()
    turn_rows: dict[int, dict[str, Any]] = {}
    final: dict[str, Any] = {}
    for e in log.events:
        k, p = e.kind, e.payload
        if k == "turn_start":
            instant[e.turn] = bool(p.get("instant", False))
        elif k in ("agent_reply", "llm_error"):
            row = {
                "round": e.round,
                "turn": e.turn,
                "agent": e.agent,
                "label": labels.get(e.agent),
                "instant": instant.get(e.turn, False),
                "lost": k == "llm_error",
                "n_actions": int(p.get("n_actions", 0) or 0),
                "reason": p.get("reason"),
            }
            turn_rows[e.turn] = row
            out.turns.append(row)
            thought = (p.get("private_thoughts") or "").strip() if k == "agent_reply" else ""
            if thought:
                out.thoughts.append(
                    {
                        "round": e.round,
                        "turn": e.turn,
                        "agent": e.agent,
                        "label": labels.get(e.agent),
                        "text": thought,
                        "words": word_count(thought),
                    }
                )
        elif k in ("parse_error", "invalid_action"):
            turn_issues[e.turn][k] += 1
        elif k in ("message", "broadcast"):
            system = bool(p.get("system", False))
            delivered = bool(p.get("delivered", True)) if k == "message" else True
            requests = list(p.get("requests") or ())
            if not system:
                written[e.agent] += 1
                round_msgs[e.round] += 1
            out.messages.append(
                (
                    e.round,
                    e.turn,
                    k,
                    e.agent,
                    p.get("to", "all"),
                    p.get("content", ""),
                    system,
                    delivered,
                    list(p.get("pieces") or ()),
                    requests,
                    len(requests),
                )
            )
        elif k in ("transfer", "transfer_skipped"):
            via = p.get("via", "agent")
            value, true_value = p.get("value"), p.get("true_value")
            if via == "agent":
                sends[e.agent] += 1
                if value == true_value:
                    truthful[e.agent].add((p["to"], p["piece"]))
                answered[e.agent].add((p["to"], p["piece"]))
            if k == "transfer":
                received[p["to"]] += 1
                round_transfers[e.round] += 1
            out.transfers.append(
                (
                    e.round,
                    e.turn,
                    e.agent,
                    p["to"],
                    p["piece"],
                    value,
                    true_value,
                    value != true_value,
                    via,
                    k == "transfer_skipped",
                    p.get("bonus", 0),
                )
            )
        elif k == "submit":
            round_tasks[e.round] += 1
        elif k in ("round_end", "run_end"):
            final = p
    for t, row in turn_rows.items():
        row["parse_errors"] = turn_issues[t]["parse_error"]
        row["invalid_actions"] = turn_issues[t]["invalid_action"]
    for requester, holder, piece in metrics.requests_received(log):  # one definition
        asked[holder].add((requester, piece))
    revenues, done = final.get("revenues", {}), final.get("tasks_done", {})
    for agent in labels or revenues:
        got = asked[agent]
        out.agents.append(
            {
                "agent": agent,
                "label": labels.get(agent),
                "revenue": float(revenues.get(agent, 0.0)),
                "tasks_done": int(done.get(agent, 0)),
                "requests_received": len(got),
                "requests_answered": len(got & answered[agent]),
                "sends": sends[agent],
                "truthful_sends": len(truthful[agent]),
                "pieces_received": received[agent],
                "messages_written": written[agent],
            }
        )
    rounds = int(config.get("rounds") or max([e.round for e in log.events] or [0]))
    cumulative = 0
    for r in range(1, rounds + 1):
        cumulative += round_tasks[r]
        out.per_round.append(
            {
                "round": r,
                "tasks": round_tasks[r],
                "cumulative_tasks": cumulative,
                "messages": round_msgs[r],
                "transfers": round_transfers[r],
            }
        )
