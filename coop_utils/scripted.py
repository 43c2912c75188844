"""Scripted policies: perfect play and a parametric behaviour agent.

Both are pure functions of an :class:`Observation` (plus, for the behaviour
agent, its knobs and a seed), so the same code drives an in-process agent and
the local OpenAI-compatible server, which parses the prompt text back into an
observation. Random choices are hashed from (seed, agent, decision), so a
decision never depends on call order and the policy needs no hidden state.
Without hidden state every call re-reads the agent's whole history, and a
perfect-play episode makes about a thousand calls, so each scan is one pass.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, fields
from operator import attrgetter

from .actions import Action, SendInformation, SendMessage, SubmitTask
from .observation import Observation

_round = attrgetter("round")


def open_requests(obs: Observation, since_round: int = 0) -> list[tuple[str, str]]:
    """(requester, piece) for every piece asked of this agent that it holds and has not yet sent.

    ``since_round`` limits the search to messages from that round on, which is all an
    immediate reply needs to read.
    """
    me, holdings, messages = obs.agent, obs.holdings, obs.messages
    if since_round:  # messages are in time order
        messages = messages[bisect_left(messages, since_round, key=_round) :]
    sent = {(r.counterpart, r.piece) for r in obs.history.sent}
    out: dict[tuple[str, str], None] = {}  # an ordered set: first ask first
    for m in messages:
        if m.to == me:
            sender = m.sender
            for p in m.pieces:
                if p in holdings and (sender, p) not in sent:
                    out[sender, p] = None
    return list(out)


def _answer(obs: Observation, requests: list[tuple[str, str]]) -> list[Action]:
    by_requester: dict[str, list[str]] = {}
    for who, p in requests:
        by_requester.setdefault(who, []).append(p)
    return [
        SendInformation(who, tuple(ps), {p: obs.holdings[p] for p in ps})
        for who, ps in by_requester.items()
    ]


def perfect_policy(obs: Observation) -> tuple[list[Action], str]:
    """SPEC §3: request from every listed holder, answer every request, submit what is complete."""
    me = obs.agent
    actions: list[Action] = []
    missing = obs.missing()
    if missing:
        # (holder, piece) pairs already asked about; a holder is asked once per piece.
        asked = {(m.to, p) for m in obs.messages if m.sender == me for p in m.pieces}
        for task, p in missing:
            for holder in obs.directory.get(p, ()):
                if holder != me and (holder, p) not in asked:
                    asked.add((holder, p))
                    actions.append(SendMessage(holder, f"REQUEST: {p} for {task.task_id}"))
    requests = open_requests(obs)
    actions += _answer(obs, requests)
    done = obs.completable()
    actions += [SubmitTask(t.answer(), t.task_id) for t in done]
    n_req = sum(isinstance(a, SendMessage) for a in actions)
    thoughts = (
        f"Round {obs.round}: requesting {n_req} missing piece(s) from their holders, "
        f"answering {len(requests)} request(s), submitting {len(done)} complete task(s)."
    )
    return actions, thoughts


def perfect_reply_now(obs: Observation) -> list[Action]:
    """A perfect holder's immediate answer to requests it received this round."""
    return _answer(obs, open_requests(obs, since_round=obs.round))


@dataclass(frozen=True)
class BehaviourKnobs:
    """Probabilities that define a behaviour agent (each decision is drawn once)."""

    p_answer: float = 1.0
    """Probability it sends a piece it was asked for (drawn once per ask: asking again redraws)."""
    p_request: float = 1.0
    """Probability, per turn and missing piece, that it asks a holder for it."""
    p_submit: float = 1.0
    """Probability, per turn, that it submits a task it can complete."""
    p_alter: float = 0.0
    """Probability that a piece it sends carries an altered value."""
    ask_all_holders: bool = False
    """Ask every listed holder (as perfect play does) instead of one at random."""

    @classmethod
    def parse(cls, text: str) -> BehaviourKnobs:
        """From 'p_answer=0.3:p_request=1' (unnamed knobs keep their defaults)."""
        names = {f.name for f in fields(cls)}
        kwargs: dict[str, float | bool] = {}
        for part in filter(None, (s.strip() for s in re.split(r"[:;]", text))):
            key, _, value = part.partition("=")
            if key not in names:
                raise ValueError(f"unknown knob {key!r}; knobs are {', '.join(sorted(names))}")
            kwargs[key] = (
                value.lower() in ("1", "true", "yes") if key == "ask_all_holders" else float(value)
            )
        return cls(**kwargs)


PRESETS: dict[str, BehaviourKnobs] = {
    "cooperator": BehaviourKnobs(),
    "withholder": BehaviourKnobs(p_answer=0.15),
    "bungler": BehaviourKnobs(p_answer=1.0, p_request=0.25, p_submit=0.4),
    "manipulator": BehaviourKnobs(p_answer=0.9, p_alter=0.5),
    "free_rider": BehaviourKnobs(p_answer=0.0, p_request=1.0, ask_all_holders=True),
}
"""Named knob settings that mimic the paper's diagnoses: a competent withholder
(cooperation failure), a cooperative bungler (competence failure), and others."""


def _draw(seed: int, agent: str, *key: object) -> float:
    digest = hashlib.blake2b(repr((seed, agent, key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def behaviour_policy(
    obs: Observation, knobs: BehaviourKnobs, seed: int
) -> tuple[list[Action], str]:
    """Ask, answer, submit and alter with the knobs' probabilities."""
    me, actions, notes = obs.agent, [], []
    wanted: dict[str, list[str]] = {}
    for task, p in obs.missing():
        if p in wanted or _draw(seed, me, "request", obs.round, p) >= knobs.p_request:
            continue
        holders = [h for h in obs.directory.get(p, ()) if h != me]
        if holders and not knobs.ask_all_holders:
            holders = [holders[int(_draw(seed, me, "holder", obs.round, p) * len(holders))]]
        wanted[p] = holders
        actions += [
            SendMessage(h, f"Could you send me {p}? I need it for {task.task_id}.") for h in holders
        ]
    sends: dict[str, dict[str, int]] = {}
    requests = open_requests(obs)
    # Messages asking for each (requester, piece): every new ask redraws the decision.
    n_asks: Counter[tuple[str, str]] = Counter()
    if requests:
        n_asks.update((m.sender, p) for m in obs.messages if m.to == me for p in set(m.pieces))
    for who, p in requests:
        if _draw(seed, me, "answer", who, p, n_asks[who, p]) < knobs.p_answer:
            value = obs.holdings[p]
            if _draw(seed, me, "alter", who, p) < knobs.p_alter:
                value = (value + 37) % 101
            sends.setdefault(who, {})[p] = value
        else:
            notes.append(f"keeping {p} for now rather than sending it to {who}")
    actions += [SendInformation(who, tuple(vals), vals) for who, vals in sends.items()]
    for t in obs.completable():
        if _draw(seed, me, "submit", obs.round, t.task_id) < knobs.p_submit:
            actions.append(SubmitTask(t.answer(), t.task_id))
        else:
            notes.append(f"holding off on submitting {t.task_id}")
    thoughts = (
        f"Round {obs.round}: asked for {len(wanted)} piece(s), sent to {len(sends)} agent(s)."
    )
    if notes:
        thoughts += " Decided: " + "; ".join(notes) + "."
    return actions, thoughts
