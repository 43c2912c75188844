"""A run's event log as a readable transcript: who did what, turn by turn, and why.

The event log is complete but dense (thousands of JSON lines). When a model behaves
unexpectedly, the first thing to do is read what it saw happen and what it said it was
doing; :func:`transcript` prints exactly that for a range of rounds.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path

from ..game.events import Event, read_events


def _wrap(text: str, width: int, indent: str) -> str:
    return textwrap.fill(
        text, width=width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )


def _line(e: Event) -> str | None:
    p = e.payload
    if e.kind == "message":
        how = "system, in its name" if p["system"] else "undelivered" if not p["delivered"] else ""
        return f"messages {p['to']}{f' ({how})' if how else ''}: {p['content']!r}"
    if e.kind == "broadcast":
        return f"broadcasts: {p['content']!r}"
    if e.kind == "transfer":
        via = " (automatic)" if p["via"] == "auto_fulfill" else ""
        altered = f", told {p['value']} but true {p['true_value']}" if p["manipulated"] else ""
        return f"sends {p['piece']} to {p['to']}{via}{altered}"
    if e.kind == "transfer_skipped":
        return f"sends {p['piece']} to {p['to']} (already held: nothing moves)"
    if e.kind == "submit":
        penalty = f" (penalty {p['penalty']:,.0f})" if p["penalty"] else ""
        return f"SUBMITS {p['task_id']}: paid {p['paid']:,.0f}{penalty}"
    if e.kind in ("invalid_action", "parse_error"):
        return f"[{e.kind}] {p['reason']}"
    if e.kind == "llm_error":
        return f"[lost turn] {p['reason']}"
    return None


def transcript(
    events: Iterable[Event] | str | Path,
    rounds: Iterable[int] = (1,),
    width: int = 100,
    thoughts: bool = True,
) -> str:
    """The turns of ``rounds`` as text: each agent's actions and private thoughts."""
    if isinstance(events, str | Path):
        path = Path(events)
        events = read_events(path / "events.jsonl" if path.is_dir() else path)
    wanted = set(rounds)
    labels: dict[str, str] = {}
    out: list[str] = []
    for e in events:
        if e.kind == "run_start":
            labels = e.payload["agents"]
        if e.round not in wanted:
            continue
        if e.kind == "round_start":
            out.append(f"── round {e.round} " + "─" * max(0, width - 12 - len(str(e.round))))
        elif e.kind == "turn_start":
            tag = " (answers at once)" if e.payload.get("instant") else ""
            out.append(f"{e.agent} [{labels.get(e.agent, '?')}]{tag}")
        elif e.kind == "agent_reply" and thoughts and e.payload.get("private_thoughts"):
            out.append(_wrap("thinks: " + e.payload["private_thoughts"], width, "    "))
        elif e.kind == "round_end":
            done = sum(e.payload["tasks_done"].values())
            out.append(f"   end of round {e.round}: {done} task(s) completed so far")
        elif (line := _line(e)) is not None:
            out.append(_wrap(line, width, "    · "))
    return "\n".join(out)
