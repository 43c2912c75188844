"""The append-only event log: every state change of an episode, one JSON line each.

The log is the single source of truth downstream: metrics, statistics and
figures are computed from it alone, so nothing the environment does may bypass
it. Event kinds and their payloads are listed in ``EVENT_KINDS``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from ..paths import atomic_path

EVENT_KINDS = {
    "run_start": "config, seed, agents (labels), pieces [{name, value, holder}]",
    "task_dealt": "task_id, pieces, description (agent = owner)",
    "round_start": "order (agent ids in turn order)",
    "turn_start": "instant (true when a perfect holder answers right after a requester's turn)",
    "agent_reply": "private_thoughts, raw (model text, or null for scripted), n_actions, reasoning",
    "parse_error": "reason, raw",
    "parse_ambiguity": "reason (what the reading rule chose and what it left out), raw",
    "invalid_action": "reason, action (its JSON or raw text)",
    "llm_error": "reason, attempts, faults (each failed attempt's reason): a turn lost to the API",
    "provider_error": "reason, attempts, faults: a turn lost to the provider, not the model (error inside a 200, moderation, context length, content that is not text)",
    "refusal": "reason, attempts, faults, text (what the model or its filter said): the model declined",
    "llm_call": "model, finish_reason, input_tokens, cached_input_tokens, output_tokens (reasoning included), reasoning_tokens (null = not reported), latency_s, cost_usd (provider-reported where given, else priced), provider_cost_usd, priced_cost_usd, usage_error, attempts, faults (reasons of failed attempts), key (cache key), upstream_model (behind a gateway: the model it called)",
    "message": "to, content, delivered, system (auto_request), pieces (named pieces), requests (named pieces the recipient held and the sender lacked)",
    "broadcast": "content",
    "transfer": "to, piece, value, true_value, manipulated, bonus, via ('agent' | 'auto_fulfill')",
    "transfer_skipped": "to, piece, value, true_value, reason (recipient already holds it)",
    "submit": "task_id, pieces, reward, penalty, paid, altered (pieces with altered values), matched ('exact' | 'oldest_task' | 'lenient': how the answer found its task)",
    "round_end": "revenues {agent: revenue}, tasks_done {agent: n}",
    "run_end": "tasks, revenues, tasks_done",
}


@dataclass(slots=True)
class Event:
    """One state change. Not frozen: an episode logs thousands and a frozen dataclass takes
    several times longer to build, while the payload, the bulk of an event, is a dict that
    freezing would not protect anyway. Nothing changes an event once it is logged."""

    run_id: str
    seq: int
    round: int
    turn: int
    agent: str | None
    kind: str
    payload: dict[str, Any]

    def to_json(self) -> str:
        # The text of json.dumps(asdict(self)) without asdict's deep copy of the payload,
        # which took longer than playing a scripted episode.
        record = {name: getattr(self, name) for name in _EVENT_FIELDS}
        return json.dumps(record, separators=(",", ":"), sort_keys=False, default=_as_dict)


_EVENT_FIELDS = tuple(f.name for f in fields(Event))


def _as_dict(obj: Any) -> Any:
    """For ``json.dumps``: a dataclass inside a payload is written as ``asdict`` would."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a fsync'd temp file and rename: never half a file."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def write_events(path: Path, events: Iterable[Event]) -> None:
    write_atomic(path, "".join(e.to_json() + "\n" for e in events))


def read_events(path: str | os.PathLike) -> list[Event]:
    """The events of an ``events.jsonl``, in order. A line that is not an event (a log cut
    short by a kill, or edited by hand) is a ``ValueError`` naming the file and the line."""
    text = Path(path).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    try:  # one json.loads over the whole log is several times faster than one per line
        return [Event(**d) for d in json.loads("[" + ",".join(lines) + "]")]
    except (ValueError, TypeError):
        pass
    for n, line in enumerate(text.splitlines(), 1):
        try:
            if line.strip():
                Event(**json.loads(line))
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"{path}: line {n} is not an event ({exc}); the log is truncated or damaged"
            ) from None
    raise AssertionError("unreachable: some line failed to parse above")
