"""Perfect play: the policy that defines 100% of optimal.

A perfect agent asks every listed holder for each piece it misses (once per holder and
piece), answers every request it can, and submits every task it can complete. Holders
answer a perfect requester at once (:meth:`PerfectAgent.reply_now`), which is how perfect
play finishes a task in two rounds. The policy is a pure function of an
:class:`Observation`, so the same code plays in process and behind the local server.
Without hidden state every call re-reads the agent's whole history, and a perfect-play
episode makes about a thousand calls, so each scan is one pass.
"""

from __future__ import annotations

from bisect import bisect_left
from operator import attrgetter

from ..game.actions import Action, SendInformation, SendMessage, SubmitTask, Turn
from ..game.observation import Observation

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
    """Request from every listed holder, answer every request, submit what is complete."""
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


def perfect_reply_now(obs: Observation, requester: str | None = None) -> list[Action]:
    """A perfect holder's immediate answer to the requests it received this round (from
    ``requester`` only, when given)."""
    requests = open_requests(obs, since_round=obs.round)
    if requester is not None:
        requests = [(who, p) for who, p in requests if who == requester]
    return _answer(obs, requests)


class PerfectAgent:
    """Perfect play, defining 100% of optimal."""

    reads_state = True
    """Perfect play sees its whole history even where the prompt is truncated (the ceiling is
    about the game, not about what fits in a prompt)."""

    def __init__(self, instant_reply: bool = True):
        self.label = "perfect"
        self.scripted = True
        self.instant_reply = instant_reply

    async def act(self, obs: Observation) -> Turn:
        actions, thoughts = perfect_policy(obs)
        return Turn(tuple(actions), thoughts)

    def reply_now(self, obs: Observation, requester: str | None = None) -> Turn | None:
        """Answer this round's requests at once: ``requester``'s, or everyone's when None."""
        if not self.instant_reply:
            return None
        actions = perfect_reply_now(obs, requester)
        return Turn(tuple(actions), "") if actions else None
