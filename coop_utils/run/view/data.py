"""One run folder as the data of its page: the turns with what followed each, and what to find.

Everything comes from the folder alone (``events.jsonl``, ``run.json``, ``summary.json``)
and the seed (the prompts, :mod:`.prompts`). Every event lands in exactly one item: the
turn it happened in, or its round's own item (round start and end, requests the system
sent in an agent's name, tasks dealt before play); ``tests/test_view.py`` checks that none
is lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...analysis.plots.style import PARTLY_SCRIPTED_NOTE, SCRIPTED_NOTE
from ...analysis.thoughts import thought_spans
from ...game.events import Event, read_events
from ..plan import plays_offline
from .prompts import LOST, turn_messages

ACTION_KINDS = ("message", "broadcast", "transfer", "transfer_skipped", "submit")
"""Events an agent's own actions cause; the rest of a turn's events are what followed."""


def thought_marks(text: str) -> tuple[list[str], list[tuple[int, int, str]]]:
    """The classes of a thought and the character spans the classifier matched, each with
    its class (offsets into the text as recorded). The one place the page asks the thought
    classifier."""
    found = thought_spans(text or "")
    return list(found.classes), sorted((s.start, s.end, s.cls) for s in found.spans)


def describe(e: Event) -> str:
    """One line saying what an event was, for any kind."""
    p = e.payload
    k = e.kind
    if k == "message":
        how = " (sent by the system in its name)" if p.get("system") else ""
        how += "" if p.get("delivered", True) else " (not delivered)"
        return f"message to {p['to']}{how}: {p['content']}"
    if k == "broadcast":
        return f"broadcast: {p['content']}"
    if k == "transfer":
        via = " (automatic)" if p.get("via") == "auto_fulfill" else ""
        altered = f", value {p['value']} but true {p['true_value']}" if p["manipulated"] else ""
        return f"sent {p['piece']} to {p['to']}{via}{altered}"
    if k == "transfer_skipped":
        return f"sent {p['piece']} to {p['to']}: already held, nothing moved"
    if k == "submit":
        pen = (
            f", penalty {p['penalty']:,.0f} for altered {', '.join(p['altered'])}"
            if p["penalty"]
            else ""
        )
        return f"submitted {p['task_id']}: paid {p['paid']:,.0f}{pen} (matched {p['matched']})"
    if k == "task_dealt":
        return f"dealt {p['task_id']}: {', '.join(p['pieces'])}"
    if k == "invalid_action":
        return f"invalid action: {p['reason']} — {json.dumps(p['action'])}"
    if k in ("parse_error", "parse_ambiguity"):
        return f"{k.replace('_', ' ')}: {p['reason']}"
    if k in LOST:
        text = f" — said: {p['text']}" if p.get("text") else ""
        return f"turn lost ({k}) after {p.get('attempts', 1)} attempt(s): {p['reason']}{text}"
    if k == "llm_call":
        cost = f", ${p['cost_usd']:.4f}" if p.get("cost_usd") else ""
        return (
            f"model call {p.get('model')}: {p.get('input_tokens')} in, "
            f"{p.get('output_tokens')} out, {p.get('latency_s') or 0:.2f} s{cost}, "
            f"finish {p.get('finish_reason')}"
        )
    if k == "round_start":
        return "turn order: " + ", ".join(p["order"])
    if k == "round_end":
        return f"end of round: {sum(p['tasks_done'].values())} task(s) completed so far"
    if k == "run_start":
        return f"run starts: seed {p['seed']}, {len(p['agents'])} agents, {len(p['pieces'])} pieces"
    if k == "run_end":
        return f"run ends: {p['tasks']} task(s)"
    if k == "agent_reply":
        return f"reply with {p['n_actions']} action(s)"
    return f"{k}: {json.dumps(p)}"


def run_data(folder: str | Path) -> dict[str, Any]:
    """The page data of one run folder."""
    folder = Path(folder)
    events = read_events(folder / "events.jsonl")
    meta = _read_json(folder / "run.json")
    summary = _read_json(folder / "summary.json")
    start = events[0].payload
    labels = start["agents"]
    items = _items(events, labels)
    prompts, note = turn_messages(events)
    turns = [it for it in items if it["type"] == "turn"]
    revenue = summary.get("revenues") or events[-1].payload.get("revenues", {})
    done = summary.get("tasks_done") or events[-1].payload.get("tasks_done", {})
    scripted = bool(meta.get("scripted", summary.get("scripted")))
    return {
        "run_id": events[0].run_id,
        "folder": str(folder),
        "seed": start["seed"],
        "condition": start["config"]["condition"],
        "model": meta.get("model") or summary.get("model"),
        "scripted": scripted,
        "note": _note(scripted, set(labels.values())),
        "setting": meta.get("setting"),
        "mode": meta.get("mode"),
        "provenance": meta.get("provenance", {}),
        "config": start["config"],
        "summary": {k: v for k, v in summary.items() if not isinstance(v, dict | list)},
        "finished": bool(summary),
        "agents": [
            {"id": a, "label": lab, "revenue": revenue.get(a, 0), "tasks": done.get(a, 0)}
            for a, lab in labels.items()
        ],
        "rounds": _per_round(events),
        "network": _network(events),
        "tasks": _task_paths(events),
        "items": items,
        "kinds": _kinds(events),
        "jumps": _jumps(events, items),
        "prompt_note": note,
        "n_turns": len(turns),
        "_prompts": prompts,
    }


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _note(scripted: bool, labels: set[str]) -> str:
    """The notebooks' label: all seats scripted (in process or behind ``coop serve``), some, none."""
    if not scripted:
        return ""
    return SCRIPTED_NOTE if all(_offline(lab) for lab in labels) else PARTLY_SCRIPTED_NOTE


def _offline(label: str) -> bool:
    try:
        return plays_offline(label, None)
    except Exception:  # a model unknown here (another models file): not scripted
        return False


def _kinds(events: list[Event]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in events:
        out[e.kind] = out.get(e.kind, 0) + 1
    return out


def _items(events: list[Event], labels: dict[str, str]) -> list[dict]:
    """Round items and turn items in log order; each event in exactly one of them."""
    items: list[dict] = []
    rnd = turn = turn_no = None
    for e in events:
        ev = [e.seq, e.kind, describe(e), e.agent]
        if e.kind == "turn_start":
            turn = {
                "type": "turn",
                "n": sum(it["type"] == "turn" for it in items),
                "round": e.round,
                "agent": e.agent,
                "label": labels.get(e.agent, "?"),
                "instant": bool(e.payload.get("instant")),
                "events": [ev],
            }
            items.append(turn)
            turn_no = e.turn
            continue
        own = turn is not None and e.turn == turn_no and not _system(e)
        if e.kind in ("round_start", "round_end", "run_start", "run_end") or not own:
            if e.kind in ("round_start", "run_start") or items[-1] is not rnd:
                rnd = {"type": "round", "round": e.round, "events": []}
                items.append(rnd)
            if e.kind in ("round_end", "run_end"):
                turn = None
            rnd["events"].append(ev)
            continue
        turn["events"].append(ev)
        if e.kind == "agent_reply":
            p = e.payload
            classes, spans = thought_marks(p.get("private_thoughts") or "")
            turn |= {
                "thoughts": p.get("private_thoughts") or "",
                "raw": p.get("raw"),
                "reasoning": p.get("reasoning"),
                "classes": classes,
                "spans": spans,
            }
    return items


def _system(e: Event) -> bool:
    return e.kind == "message" and bool(e.payload.get("system"))


def _per_round(events: list[Event]) -> list[dict]:
    rows: dict[int, dict] = {}
    for e in events:
        if e.round < 1:
            continue
        r = rows.setdefault(e.round, {"round": e.round, "tasks": 0, "messages": 0, "transfers": 0})
        r["tasks"] += e.kind == "submit"
        r["messages"] += e.kind == "message" and not e.payload.get("system")
        r["transfers"] += e.kind == "transfer"
    return [rows[k] for k in sorted(rows)]


def _network(events: list[Event]) -> dict[str, int]:
    """Pieces sent, by 'sender>recipient'."""
    out: dict[str, int] = {}
    for e in events:
        if e.kind == "transfer":
            key = f"{e.agent}>{e.payload['to']}"
            out[key] = out.get(key, 0) + 1
    return out


def _task_paths(events: list[Event]) -> list[dict]:
    """Each task from its dealing to its submission: per piece, when it was first asked for
    (and of whom) and when it reached the owner (and from whom)."""
    tasks: dict[str, dict] = {}
    by_owner: dict[str, list[dict]] = {}
    for e in events:
        p = e.payload
        if e.kind == "task_dealt":
            t = {"task": p["task_id"], "owner": e.agent, "dealt": e.round, "submitted": None}
            t["pieces"] = {piece: {"asked": None, "got": None} for piece in p["pieces"]}
            tasks[p["task_id"]] = t
            by_owner.setdefault(e.agent, []).append(t)
        elif e.kind == "message":
            for t in by_owner.get(e.agent, []):
                for piece in p.get("requests") or []:
                    slot = t["pieces"].get(piece)
                    if slot is not None and slot["asked"] is None and t["submitted"] is None:
                        slot["asked"] = [e.round, p["to"], e.seq]
        elif e.kind == "transfer":
            for t in by_owner.get(p["to"], []):
                slot = t["pieces"].get(p["piece"])
                if slot is not None and slot["got"] is None and t["submitted"] is None:
                    slot["got"] = [e.round, e.agent, e.seq]
        elif e.kind == "submit" and p["task_id"] in tasks:
            tasks[p["task_id"]]["submitted"] = [e.round, p["paid"], e.seq]
    return [
        {**t, "pieces": [{"piece": k, **v} for k, v in t["pieces"].items()]} for t in tasks.values()
    ]


def _jumps(events: list[Event], items: list[dict]) -> dict[str, Any]:
    """Turn numbers of the first withholding thought, the first unanswered request and each
    failed or penalised submission."""
    turn_of = {ev[0]: it["n"] for it in items if it["type"] == "turn" for ev in it["events"]}
    withholding = next((it["n"] for it in items if "hard_defection" in it.get("classes", ())), None)
    sent = {(e.agent, e.payload["to"], e.payload["piece"]) for e in events if e.kind == "transfer"}
    sent |= {
        (e.agent, e.payload["to"], e.payload["piece"])
        for e in events
        if e.kind == "transfer_skipped"
    }
    unanswered = next(
        (
            turn_of.get(e.seq)
            for e in events
            if e.kind == "message"
            and not e.payload.get("system")
            and any(
                (e.payload["to"], e.agent, p) not in sent for p in e.payload.get("requests") or []
            )
        ),
        None,
    )
    failed = [
        turn_of.get(e.seq)
        for e in events
        if (e.kind == "invalid_action" and _is_submit(e.payload.get("action")))
        or (e.kind == "submit" and e.payload["penalty"])
    ]
    return {"withholding": withholding, "unanswered": unanswered, "failed_submissions": failed}


def _is_submit(action: Any) -> bool:
    return isinstance(action, dict) and action.get("type") == "submit_task"
