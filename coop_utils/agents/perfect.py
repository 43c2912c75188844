"""Perfect play: the policy that defines 100% of optimal.

A perfect agent asks every listed holder for each piece it misses (once per holder and
piece), answers every request it can, and submits every task it can complete. Holders
answer a perfect requester at once (:meth:`PerfectAgent.reply_now`), which is how perfect
play finishes a task in two rounds. The policy is a function of an :class:`Observation`
(:func:`perfect_policy`), so the same code plays in process and behind the local server.

An agent's messages and the values it sent only grow during an episode, and a perfect-play
episode asks each agent about a thousand times; so a :class:`PerfectAgent` keeps a
:class:`Reading` of what it has already read and each call reads only what is new. A call
without one (:func:`perfect_policy` alone) reads the observation from its start.
"""

from __future__ import annotations

from typing import TypeVar

from ..game.actions import Action, SendInformation, SendMessage, SubmitTask, Turn
from ..game.observation import MessageView, Observation, ValueRecord

T = TypeVar("T")


def _new(seen: tuple[T, ...], now: tuple[T, ...]) -> tuple[T, ...] | None:
    """What ``now`` adds to ``seen`` when ``seen`` is its start, else None."""
    n = len(seen)
    if len(now) < n or (n and now[n - 1] is not seen[-1]):
        return None
    return now[n:]


class Reading:
    """What one agent has read of its observations: its messages and the values it sent.

    Both only grow in an episode, so :meth:`read` takes in only what an observation adds to
    the last one it read; an observation that does not extend it (another episode, a
    truncated history) is read again from its start.
    """

    def __init__(self) -> None:
        self._start("")

    def _start(self, agent: str) -> None:
        self.agent = agent
        self.messages: tuple[MessageView, ...] = ()
        self.sent_records: tuple[ValueRecord, ...] = ()
        self.sent: set[tuple[str, str]] = set()
        """(recipient, piece) of every value this agent sent."""
        self.asked: set[tuple[str, str]] = set()
        """(holder, piece) of every piece this agent asked for in a delivered message."""
        self.asks: dict[tuple[str, str], None] = {}
        """(requester, piece) asked of this agent and not sent yet, first ask first."""
        self.round = 0
        """The round of the last message this agent received."""
        self.asks_this_round: dict[tuple[str, str], None] = {}
        """(requester, piece) asked of this agent in ``round``, sent or not, first ask first."""

    def read(self, obs: Observation) -> None:
        """Take in what ``obs`` adds to the last observation read."""
        messages = _new(self.messages, obs.messages)
        records = _new(self.sent_records, obs.history.sent)
        if messages is None or records is None or obs.agent != self.agent:
            self._start(obs.agent)
            messages, records = obs.messages, obs.history.sent
        self.messages, self.sent_records = obs.messages, obs.history.sent
        me, sent, asks, asked = self.agent, self.sent, self.asks, self.asked
        for r in records:
            ask = (r.counterpart, r.piece)
            sent.add(ask)
            asks.pop(ask, None)
        this_round = self.asks_this_round
        for m in messages:
            if m.sender == me:
                for p in m.pieces:
                    asked.add((m.to, p))
            elif m.to == me:
                if m.round != self.round:
                    self.round, self.asks_this_round = m.round, {}
                    this_round = self.asks_this_round
                for p in m.pieces:
                    ask = (m.sender, p)
                    this_round[ask] = None
                    if ask not in sent:
                        asks[ask] = None

    def open_requests(
        self, obs: Observation, this_round: bool = False, requester: str | None = None
    ) -> list[tuple[str, str]]:
        """(requester, piece) for every piece asked of this agent that it holds and has not
        sent, first ask first, as of the observation last read; ``this_round``: only the
        asks of its round (all an immediate reply needs); ``requester``: only that agent's."""
        holdings = obs.holdings
        if not this_round:
            return [
                ask
                for ask in self.asks
                if ask[1] in holdings and (requester is None or ask[0] == requester)
            ]
        if self.round != obs.round:
            return []
        sent = self.sent
        return [
            ask
            for ask in self.asks_this_round
            if ask[1] in holdings and ask not in sent and (requester is None or ask[0] == requester)
        ]


def open_requests(obs: Observation) -> list[tuple[str, str]]:
    """:meth:`Reading.open_requests` of one observation read from its start."""
    reading = Reading()
    reading.read(obs)
    return reading.open_requests(obs)


def _answer(obs: Observation, requests: list[tuple[str, str]]) -> list[Action]:
    by_requester: dict[str, list[str]] = {}
    for who, p in requests:
        by_requester.setdefault(who, []).append(p)
    return [
        SendInformation(who, tuple(ps), {p: obs.holdings[p] for p in ps})
        for who, ps in by_requester.items()
    ]


def perfect_policy(obs: Observation, reading: Reading | None = None) -> tuple[list[Action], str]:
    """Request from every listed holder, answer every request, submit what is complete.

    ``reading``: what this agent has read of its earlier observations (a new one if None)."""
    if reading is None:
        reading = Reading()
    reading.read(obs)
    me = obs.agent
    actions: list[Action] = []
    missing = obs.missing()
    if missing:
        # (holder, piece) pairs already asked about; a holder is asked once per piece.
        asked, new, directory = reading.asked, set(), obs.directory
        for task, p in missing:
            for holder in directory.get(p, ()):
                ask = (holder, p)
                if holder != me and ask not in asked and ask not in new:
                    new.add(ask)
                    actions.append(SendMessage(holder, f"REQUEST: {p} for {task.task_id}"))
    n_req = len(actions)
    requests = reading.open_requests(obs)
    actions += _answer(obs, requests)
    done = obs.completable()
    actions += [SubmitTask(t.answer(), t.task_id) for t in done]
    thoughts = (
        f"Round {obs.round}: requesting {n_req} missing piece(s) from their holders, "
        f"answering {len(requests)} request(s), submitting {len(done)} complete task(s)."
    )
    return actions, thoughts


def perfect_reply_now(
    obs: Observation, requester: str | None = None, reading: Reading | None = None
) -> list[Action]:
    """A perfect holder's immediate answer to the requests it received this round (from
    ``requester`` only, when given)."""
    if reading is None:
        reading = Reading()
    reading.read(obs)
    return _answer(obs, reading.open_requests(obs, this_round=True, requester=requester))


class PerfectAgent:
    """Perfect play, defining 100% of optimal. One agent plays one seat (its :class:`Reading`
    follows that seat's observations; another seat or episode starts it again)."""

    reads_state = True
    """Perfect play sees its whole history even where the prompt is truncated (the ceiling is
    about the game, not about what fits in a prompt)."""
    in_process = True

    def __init__(self, instant_reply: bool = True):
        self.label = "perfect"
        self.scripted = True
        self.instant_reply = instant_reply
        self.reading = Reading()

    async def act(self, obs: Observation) -> Turn:
        actions, thoughts = perfect_policy(obs, self.reading)
        return Turn(tuple(actions), thoughts)

    def reply_now(self, obs: Observation, requester: str | None = None) -> Turn | None:
        """Answer this round's requests at once: ``requester``'s, or everyone's when None."""
        if not self.instant_reply:
            return None
        actions = perfect_reply_now(obs, requester, self.reading)
        return Turn(tuple(actions), "") if actions else None
