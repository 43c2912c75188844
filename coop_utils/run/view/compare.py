"""Two runs side by side: where their histories part.

Two runs of one seed under two conditions deal the same pieces and tasks and draw the same
turn orders until something the condition changes makes an agent act differently. The
first turn whose agent, round or consequences (its events, model calls aside) differ is
where the histories part; everything before it happened alike in both.
"""

from __future__ import annotations

from typing import Any

IGNORED = ("turn_start", "agent_reply", "llm_call")
"""Events that say a turn happened, not what it did: they never count as a difference."""


def _signature(item: dict) -> tuple:
    done = tuple((kind, text) for _, kind, text, _ in item["events"] if kind not in IGNORED)
    return item["round"], item["agent"], item["instant"], done


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The first differing turn of two runs' page data, their differing settings, and
    their round-by-round counts side by side."""
    ta = [it for it in a["items"] if it["type"] == "turn"]
    tb = [it for it in b["items"] if it["type"] == "turn"]
    first = next(
        (k for k, (x, y) in enumerate(zip(ta, tb)) if _signature(x) != _signature(y)),
        None if len(ta) == len(tb) else min(len(ta), len(tb)),
    )
    settings = sorted(
        k
        for k in a["config"].keys() | b["config"].keys()
        if a["config"].get(k) != b["config"].get(k)
    )
    rounds = []
    for ra, rb in zip(a["rounds"], b["rounds"]):
        rounds.append({"round": ra["round"], "a": ra, "b": rb})
    return {
        "first": first,
        "round": ta[first]["round"] if first is not None and first < len(ta) else None,
        "same_seed": a["seed"] == b["seed"],
        "settings": [[k, a["config"].get(k), b["config"].get(k)] for k in settings],
        "rounds": rounds,
    }
