"""First-person private thoughts for a scripted decision, as the local server writes them.

Why: a scripted agent served over HTTP (``coop serve``) answers with the JSON reply our
prompt asks for, and that reply carries ``private_thoughts`` like a model's. Thoughts that
say what the agent asks for, sends, holds back and submits, and why, give the thought
classifier real sentences to read offline. The reasons a behaviour policy states (the
protocol, the bonus, reciprocity, the board) come from the policy itself
(:func:`~.behaviour.stated_reasons`), so served and in-process agents give the same reasons.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..game.actions import Action, SendInformation, SendMessage, SubmitTask
from ..game.observation import Observation
from .behaviour import Plan, and_list, it_or_them, stated_reasons
from .perfect import open_requests


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _asking(obs: Observation, actions: Sequence[Action]) -> list[str]:
    messages = [a for a in actions if isinstance(a, SendMessage)]
    by_task: dict[str, list[str]] = {}
    earlier = not_now = 0
    first_task: dict[str, str] = {}
    for task, p in obs.missing():
        first_task.setdefault(p, task.task_id)
    for p, task_id in first_task.items():
        holders = [m.to for m in messages if p in m.content]
        if holders:
            by_task.setdefault(task_id, []).append(f"{and_list(holders)} for {p}")
        elif obs.history.asked_for(p):
            earlier += 1
        else:
            not_now += 1
    out = [f"For {task_id} I am asking {and_list(asks)}." for task_id, asks in by_task.items()]
    if earlier:
        out.append(
            f"I asked for {_plural(earlier, 'other missing piece')} in earlier turns "
            "and am giving the holders time to answer."
        )
    if not_now:
        out.append(
            f"I still lack {_plural(not_now, 'other piece')}, but I am not asking for "
            f"{'it' if not_now == 1 else 'them'} this turn."
        )
    return out


def _sending(obs: Observation, actions: Sequence[Action]) -> list[str]:
    out = []
    for a in actions:
        if not isinstance(a, SendInformation):
            continue
        pieces = list(a.information)
        out.append(f"{a.to} asked me for {and_list(pieces)}, so I am sending {it_or_them(pieces)}.")
        for p in pieces:
            true, sent = obs.holdings.get(p), a.values.get(p)
            if true is not None and sent != true:
                out.append(f"I am telling {a.to} that {p} is worth {sent}, though I hold {true}.")
    return out


def _holding_back(
    obs: Observation, actions: Sequence[Action], plan: Plan | None = None
) -> list[str]:
    """Pieces kept for no stated reason (the answer draw said no). With the policy's plan, its
    own list of such holds; without one, every open request the actions leave unanswered."""
    kept: dict[str, list[str]] = {}
    if plan is not None:
        for h in plan.holds:
            if h.reason == "withheld":
                kept.setdefault(h.requester, []).append(h.piece)
    else:
        sent = {(a.to, p) for a in actions if isinstance(a, SendInformation) for p in a.information}
        for who, p in open_requests(obs):
            if (who, p) not in sent:
                kept.setdefault(who, []).append(p)
    return [
        f"{who} asked me for {and_list(ps)}, but I am holding {it_or_them(ps)} back for now."
        for who, ps in kept.items()
    ]


def _submitting(obs: Observation, actions: Sequence[Action]) -> list[str]:
    submitted = {a.task_id for a in actions if isinstance(a, SubmitTask)}
    out = []
    for t in obs.completable():
        if t.task_id in submitted:
            out.append(f"I hold every piece of {t.task_id}, so I am submitting it.")
        else:
            out.append(f"I could complete {t.task_id}, but I am putting off submitting it.")
    return out


def narrate(obs: Observation, actions: Sequence[Action], plan: Plan | None = None) -> str:
    """First-person private thoughts: what it asks for, sends, holds back and submits, and why.

    With the policy's ``plan``, the reasons it states (:func:`~.behaviour.stated_reasons`: the
    protocol, the bonus, reciprocity, the board) come after the plain holds, in the policy's
    own words, so served and in-process agents give the same reasons."""
    parts = [f"It is round {obs.round} of {obs.rounds}."]
    parts += _asking(obs, actions) + _sending(obs, actions) + _holding_back(obs, actions, plan)
    if plan is not None:
        parts += stated_reasons(plan)
    parts += _submitting(obs, actions)
    if len(parts) == 1:
        parts.append("I have nothing to ask for, send or submit, so I take no action this turn.")
    return " ".join(parts)


def summarise(actions: Sequence[Action], obs: Observation) -> str:
    """One sentence for ``reasoning_content``."""
    asks = sum(isinstance(a, SendMessage) for a in actions)
    sends = sum(len(a.information) for a in actions if isinstance(a, SendInformation))
    submits = sum(isinstance(a, SubmitTask) for a in actions)
    return (
        f"As {obs.agent} in round {obs.round}, I decided on {len(actions)} action(s): "
        f"{asks} request(s), {sends} piece(s) sent and {submits} task submission(s)."
    )
