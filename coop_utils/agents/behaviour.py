"""A parametric behaviour agent: ask, answer, submit and alter with set probabilities.

The policy is a pure function of an :class:`Observation`, its knobs and a seed, so the
same code drives an in-process agent and the local OpenAI-compatible server, which
parses the prompt text back into an observation. Random choices are hashed from (seed,
agent, decision), so a decision never depends on call order and the policy needs no
hidden state.

Some knobs react to what the prompt says, as the paper's diagnoses describe real
models reacting: a sender bonus, the explicit protocol, the revenue board, and
whether the requester has answered this agent's own asks. They exist so that the
offline runs have effects with known ground truth for the intervention and
thought analyses to find. An agent that holds a piece back for one of these
reasons says why in its private thoughts (:func:`stated_reasons`, shared with the
local server's narration, :mod:`.narration`), so the thought classifier reads real
reasons too. Named settings of the knobs are in :mod:`.presets`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any, NamedTuple

from ..game.actions import Action, SendInformation, SendMessage, SubmitTask, Turn
from ..game.config import Condition
from ..game.observation import Observation
from .perfect import Reading


@dataclass(frozen=True)
class BehaviourKnobs:
    """Probabilities that define a behaviour agent (each decision is drawn once).

    The optional knobs replace a base probability in one situation the prompt shows;
    ``None`` leaves the base knob in charge there. The draws themselves do not depend on
    the situation, so a run under an intervention meets the same luck as its baseline
    and only the thresholds move.
    """

    p_answer: float = 1.0
    """Probability it sends a piece it was asked for (drawn once per ask: asking again in a
    later round redraws)."""
    p_request: float = 1.0
    """Probability, per turn and missing piece, that it asks a holder for it."""
    p_submit: float = 1.0
    """Probability, per turn, that it submits a task it can complete."""
    p_alter: float = 0.0
    """Probability that a piece it sends carries an altered value."""
    ask_all_holders: bool = False
    """Ask every listed holder (as perfect play does) instead of one at random."""
    p_answer_bonus: float | None = None
    """Answer probability when the prompt offers a sender bonus (``share_bonus > 0``)."""
    p_answer_ahead: float | None = None
    """Answer probability toward a requester whose revenue on the round-start board is
    strictly higher than this agent's own; takes precedence over ``p_answer_bonus``. The
    board is absent under ``limited``, so this knob never applies there."""
    p_request_policy: float | None = None
    """Request probability when the prompt shows the explicit protocol (``policy``)."""
    p_submit_policy: float | None = None
    """Submit probability when the prompt shows the explicit protocol (``policy``)."""
    reciprocal: bool = False
    """Hold back a piece a requester asks for while that requester still has an unanswered
    ask from this agent (a piece this agent asked it for, which it holds per the directory
    and this agent still lacks) made before the requester first asked for this piece.
    Otherwise answer with ``p_answer`` as usual: a requester never asked is served, and of
    two agents asking each other, the one asked first answers, so waiting cannot deadlock."""

    @classmethod
    def parse(cls, text: str) -> BehaviourKnobs:
        """From 'p_answer=0.3:p_request=1:reciprocal=true' (unnamed knobs keep their defaults;
        an optional knob given as 'none' stays unset)."""
        defaults = {f.name: f.default for f in fields(cls)}
        kwargs: dict[str, Any] = {}  # each knob's own type, as its default shows
        for part in filter(None, (s.strip() for s in re.split(r"[:;]", text))):
            key, _, value = part.partition("=")
            if key not in defaults:
                raise ValueError(f"unknown knob {key!r}; knobs are {', '.join(sorted(defaults))}")
            if isinstance(defaults[key], bool):
                kwargs[key] = value.lower() in ("1", "true", "yes")
            elif defaults[key] is None and value.lower() == "none":
                kwargs[key] = None
            else:
                kwargs[key] = float(value)
        return cls(**kwargs)


class Hold(NamedTuple):
    """A piece this agent was asked for and keeps this turn, with the reason (a named tuple,
    as one is built for every request held, each turn: docs/CONTRIBUTING.md, Conventions)."""

    requester: str
    piece: str
    reason: str
    """``withheld`` (the answer draw said no), ``reciprocal`` (the requester has not sent what
    this agent asked it for) or ``ahead`` (the requester is ahead on the revenue board)."""
    owed: tuple[str, ...] = ()
    """For a ``reciprocal`` hold: the pieces this agent asked the requester for and lacks."""


@dataclass(frozen=True, slots=True)
class Plan:
    """A behaviour agent's turn with the reasons behind it, for anything that narrates it."""

    actions: list[Action]
    thoughts: str
    holds: tuple[Hold, ...] = ()
    bonus_sends: tuple[tuple[str, str], ...] = ()
    """(requester, piece) sent only because the sender bonus raised the answer probability."""
    protocol: bool = False
    """The explicit protocol turned on at least one request or submission this turn."""


def and_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: names as a sentence lists them."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def it_or_them(items: Sequence[str]) -> str:
    return "it" if len(items) == 1 else "them"


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for who, p in pairs:
        out.setdefault(who, []).append(p)
    return out


def stated_reasons(plan: Plan) -> list[str]:
    """First-person sentences for what the prompt moved this turn and for every piece held
    back for a reason other than the plain answer draw (whose wording each narrator keeps).
    The in-process thoughts and the local server's narration both include these."""
    out = []
    if plan.protocol:
        out.append(
            "I am following the three steps, so I ask the holders for my missing pieces "
            "and submit each task as soon as it is complete."
        )
    for who, ps in _grouped(list(plan.bonus_sends)).items():
        out.append(f"The bonus for sharing is what makes me send {and_list(ps)} to {who}.")
    reasoned = [h for h in plan.holds if h.reason != "withheld"]
    if not reasoned:  # the usual case: every hold (if any) is the plain answer draw's
        return out
    recip = [h for h in reasoned if h.reason == "reciprocal"]
    owed = {h.requester: h.owed for h in recip}
    for who, ps in _grouped([(h.requester, h.piece) for h in recip]).items():
        out.append(
            f"{who} asked me for {and_list(ps)}; I will send {it_or_them(ps)} once {who} has sent me "
            f"{and_list(owed[who])}, which I asked {who} for."
        )
    ahead = [(h.requester, h.piece) for h in reasoned if h.reason == "ahead"]
    for who, ps in _grouped(ahead).items():
        out.append(
            f"{who} is ahead of me on the revenue board, so I am keeping {and_list(ps)} "
            "for myself to protect my own standing."
        )
    return out


def _draw(seed: int, agent: str, *key: object) -> float:
    """A number from 0 to 1 hashed from the text ``repr((seed, agent, key))``, which is
    ``(seed, agent, `` followed by ``key)``: the hash of the first part, the same for all of
    an agent's draws, is kept, and each draw adds its own part to a copy."""
    h = _hashed_start(f"({seed!r}, {agent!r}, ").copy()
    h.update(f"{key!r})".encode())
    return int.from_bytes(h.digest(), "big") / 2**64


@lru_cache(maxsize=256)
def _hashed_start(text: str) -> hashlib.blake2b:
    """The hash of ``text`` (copy it before adding to it). Kept by the text itself, not by
    seed and agent: equal seeds of other types (``1``, ``True``, ``numpy.int64(1)``) write
    other texts."""
    return hashlib.blake2b(text.encode(), digest_size=8)


def _draw_unless_sure(sure: bool, seed: int, agent: str, *key: object) -> float:
    """:func:`_draw`, or 0.0 without hashing when ``sure``: the decision's probabilities are
    all 1 or more, and a draw is below 1, so each would say yes to it anyway. Draws are
    hashed, not taken from a stream, so skipping one changes no other."""
    return 0.0 if sure else _draw(seed, agent, *key)


class AskReading(Reading):
    """A :class:`Reading` that also keeps, per (agent, piece), the round of the latest ask to
    this agent and the message index of the first ask each way (the reciprocal knob's
    order), so a behaviour agent's turn reads only the messages new since its last one."""

    def _start(self, agent: str) -> None:
        super()._start(agent)
        self.n_read = 0
        self.last_ask: dict[tuple[str, str], int] = {}
        """(requester, piece) -> round of its latest ask to this agent."""
        self.first_ask: dict[tuple[str, str], int] = {}
        """(requester, piece) -> index of its first ask to this agent."""
        self.first_own_ask: dict[tuple[str, str], int] = {}
        """(recipient, piece) -> index of this agent's first message to it naming the piece."""
        self.answer_draws: dict[tuple[int, str, str, int], float] = {}
        """(seed, requester, piece, round of the latest ask) -> the answer draw: an ask left
        open is decided again each turn with the same draw."""

    def read(self, obs: Observation) -> None:
        super().read(obs)  # starts again (n_read = 0) when obs does not extend the last one
        me, messages = self.agent, obs.messages
        last, first, own = self.last_ask, self.first_ask, self.first_own_ask
        for k in range(self.n_read, len(messages)):
            m = messages[k]
            if m.sender == me:
                for q in m.pieces:
                    own.setdefault((m.to, q), k)
            if m.to == me:
                for p in m.pieces:
                    last[m.sender, p] = m.round
                    first.setdefault((m.sender, p), k)
        self.n_read = len(messages)

    def owed(self, obs: Observation) -> dict[str, dict[str, int]]:
        """Per agent, this agent's unanswered asks to it: each piece this agent asked it for,
        which it holds per the directory and this agent still lacks, with the message index
        of the first ask (of the observation last read)."""
        holdings, directory = obs.holdings, obs.directory
        out: dict[str, dict[str, int]] = {}
        for (to, q), k in self.first_own_ask.items():
            if q not in holdings and to in directory.get(q, ()):
                out.setdefault(to, {})[q] = k
        return out


def behaviour_plan(
    obs: Observation, knobs: BehaviourKnobs, seed: int, reading: AskReading | None = None
) -> Plan:
    """Ask, answer, submit and alter with the knobs' probabilities, recording the reasons.

    ``reading``: what this agent has read of its earlier observations; without one the
    observation is read from its start (the same plan either way)."""
    me = obs.agent
    actions: list[Action] = []
    notes: list[str] = []
    holds: list[Hold] = []
    protocol = obs.condition == Condition.POLICY
    p_request, p_submit = knobs.p_request, knobs.p_submit
    if protocol and knobs.p_request_policy is not None:
        p_request = knobs.p_request_policy
    if protocol and knobs.p_submit_policy is not None:
        p_submit = knobs.p_submit_policy
    # Probabilities of 1 or more need no draw (see _draw_unless_sure).
    sure_request = min(p_request, knobs.p_request) >= 1
    sure_submit = min(p_submit, knobs.p_submit) >= 1
    moved = False  # did the protocol turn on a request or a submission?
    wanted: dict[str, list[str]] = {}
    for task, p in obs.missing():
        if p in wanted:
            continue
        u = _draw_unless_sure(sure_request, seed, me, "request", obs.round, p)
        if u >= p_request:
            continue
        moved = moved or u >= knobs.p_request
        holders = [h for h in obs.directory.get(p, ()) if h != me]
        if len(holders) > 1 and not knobs.ask_all_holders:
            # A lone holder is the one a draw would pick, so it needs no draw.
            holders = [holders[int(_draw(seed, me, "holder", obs.round, p) * len(holders))]]
        wanted[p] = holders
        for h in holders:
            actions.append(SendMessage(h, f"Could you send me {p}? I need it for {task.task_id}."))
    sends: dict[str, dict[str, int]] = {}
    bonus_sends: list[tuple[str, str]] = []
    if reading is None:
        reading = AskReading()
    reading.read(obs)
    requests = reading.open_requests(obs)
    # The round of the latest ask for each (requester, piece): every new ask redraws the
    # decision. (A round, not a count of asks, so a truncated history cannot freeze it.)
    last_ask, first_ask, answer_draws = reading.last_ask, reading.first_ask, reading.answer_draws
    owed = reading.owed(obs) if requests and knobs.reciprocal else {}
    p_base, bonus = knobs.p_answer, False
    board: dict[str, float] = {}
    if requests:
        if obs.share_bonus > 0 and knobs.p_answer_bonus is not None:
            p_base, bonus = knobs.p_answer_bonus, True
        if knobs.p_answer_ahead is not None:
            board = {e.agent: e.revenue for e in obs.board}
    mine = board.get(me)
    p_ahead = knobs.p_answer_ahead  # set whenever ``ahead`` can be true (a board is kept)
    for who, p in requests:
        if who in owed:
            # Only asks made before the requester's own: of two agents that each wait on the
            # other, the one asked first answers as usual, so waiting never deadlocks.
            first = first_ask[who, p]
            earlier = tuple(q for q, k in owed[who].items() if k < first)
            if earlier:
                holds.append(Hold(who, p, "reciprocal", earlier))
                continue
        ahead = mine is not None and board.get(who, mine) > mine
        p_answer = p_ahead if ahead and p_ahead is not None else p_base
        key = (seed, who, p, last_ask[who, p])
        if key not in answer_draws:
            answer_draws[key] = _draw(seed, me, "answer", *key[1:])
        u = answer_draws[key]
        if u < p_answer:
            value = obs.holdings[p]
            if knobs.p_alter > 0 and _draw(seed, me, "alter", who, p) < knobs.p_alter:
                value = (value + 37) % 101
            sends.setdefault(who, {})[p] = value
            if bonus and not ahead and u >= knobs.p_answer:
                bonus_sends.append((who, p))
        elif ahead:
            holds.append(Hold(who, p, "ahead"))
        else:
            holds.append(Hold(who, p, "withheld"))
            notes.append(f"keeping {p} for now rather than sending it to {who}")
    actions += [SendInformation(who, tuple(vals), vals) for who, vals in sends.items()]
    for t in obs.completable():
        u = _draw_unless_sure(sure_submit, seed, me, "submit", obs.round, t.task_id)
        if u < p_submit:
            actions.append(SubmitTask(t.answer(), t.task_id))
            moved = moved or u >= knobs.p_submit
        else:
            notes.append(f"holding off on submitting {t.task_id}")
    thoughts = (
        f"Round {obs.round}: asked for {len(wanted)} piece(s), sent to {len(sends)} agent(s)."
    )
    if notes:
        thoughts += " Decided: " + "; ".join(notes) + "."
    plan = Plan(actions, thoughts, tuple(holds), tuple(bonus_sends), protocol and moved)
    if reasons := stated_reasons(plan):
        plan = replace(plan, thoughts=" ".join([thoughts, *reasons]))
    return plan


def behaviour_policy(
    obs: Observation, knobs: BehaviourKnobs, seed: int, reading: AskReading | None = None
) -> tuple[list[Action], str]:
    """Ask, answer, submit and alter with the knobs' probabilities (see :func:`behaviour_plan`)."""
    plan = behaviour_plan(obs, knobs, seed, reading)
    return plan.actions, plan.thoughts


class BehaviourAgent:
    """A scripted agent with explicit answer/request/submit/alter probabilities. Like a
    :class:`~.perfect.PerfectAgent` it keeps a reading of its messages between turns, so a
    turn's work does not grow with the episode; its actions are the policy's."""

    in_process = True

    def __init__(self, knobs: BehaviourKnobs, seed: int, label: str = "behaviour"):
        self.knobs, self.seed, self.label = knobs, seed, label
        self.scripted = True
        self.reading = AskReading()

    async def act(self, obs: Observation) -> Turn:
        actions, thoughts = behaviour_policy(obs, self.knobs, self.seed, self.reading)
        return Turn(tuple(actions), thoughts)
