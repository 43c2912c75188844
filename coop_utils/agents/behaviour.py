"""Scripted policies: perfect play and a parametric behaviour agent.

Both are pure functions of an :class:`Observation` (plus, for the behaviour
agent, its knobs and a seed), so the same code drives an in-process agent and
the local OpenAI-compatible server, which parses the prompt text back into an
observation. Random choices are hashed from (seed, agent, decision), so a
decision never depends on call order and the policy needs no hidden state.
Without hidden state every call re-reads the agent's whole history, and a
perfect-play episode makes about a thousand calls, so each scan is one pass.

Some knobs react to what the prompt says, as the paper's diagnoses describe real
models reacting: a sender bonus, the explicit protocol, the revenue board, and
whether the requester has answered this agent's own asks. They exist so that the
offline runs have effects with known ground truth for the intervention and
thought analyses to find. An agent that holds a piece back for one of these
reasons says why in its private thoughts (:func:`stated_reasons`, shared with the
local server's narration), so the thought classifier reads real reasons too.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left
from dataclasses import dataclass, fields, replace
from operator import attrgetter

from ..game.actions import Action, SendInformation, SendMessage, SubmitTask
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


def perfect_reply_now(obs: Observation, requester: str | None = None) -> list[Action]:
    """A perfect holder's immediate answer to the requests it received this round (from
    ``requester`` only, when given)."""
    requests = open_requests(obs, since_round=obs.round)
    if requester is not None:
        requests = [(who, p) for who, p in requests if who == requester]
    return _answer(obs, requests)


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
        kwargs: dict[str, float | bool | None] = {}
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


PRESETS: dict[str, BehaviourKnobs] = {
    "cooperator": BehaviourKnobs(),
    "withholder": BehaviourKnobs(p_answer=0.15, p_answer_bonus=0.9),
    "bungler": BehaviourKnobs(
        p_answer=1.0, p_request=0.25, p_submit=0.4, p_request_policy=1.0, p_submit_policy=1.0
    ),
    "manipulator": BehaviourKnobs(p_answer=0.9, p_alter=0.5),
    "free_rider": BehaviourKnobs(p_answer=0.0, p_request=1.0, ask_all_holders=True),
    "rival": BehaviourKnobs(p_answer=0.95, p_answer_ahead=0.1),
    "reciprocator": BehaviourKnobs(reciprocal=True),
}
"""Named knob settings that mimic the paper's diagnoses, each reacting to the intervention
the paper found to help it:

- ``withholder``: competent but rarely sends (a cooperation failure); a sender bonus
  (``incentive``) makes it send almost always.
- ``bungler``: sends when asked but seldom requests or submits (a competence failure); the
  explicit protocol (``policy``) makes it request and submit every time.
- ``rival``: sends to almost everyone except agents ahead of it on the revenue board (social
  comparison); hiding the board (``limited``) removes the comparison.
- ``reciprocator``: cooperative, but holds back from an agent that has not yet sent what it
  asked that agent for (conditional, tit-for-tat-style cooperation). Among agents that always
  answer this never triggers, so it plays like ``cooperator``; beside withholders it
  withholds from them in turn (e.g. ``5*reciprocator,5*withholder``).
- ``cooperator`` (sends, asks, submits), ``manipulator`` (alters values it sends) and
  ``free_rider`` (asks everyone, never sends) ignore the interventions.
"""


@dataclass(frozen=True, slots=True)
class Hold:
    """A piece this agent was asked for and keeps this turn, with the reason."""

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


def _names(items: list[str] | tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _it(items: list[str] | tuple[str, ...]) -> str:
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
        out.append(f"The bonus for sharing is what makes me send {_names(ps)} to {who}.")
    recip = [h for h in plan.holds if h.reason == "reciprocal"]
    owed = {h.requester: h.owed for h in recip}
    for who, ps in _grouped([(h.requester, h.piece) for h in recip]).items():
        out.append(
            f"{who} asked me for {_names(ps)}; I will send {_it(ps)} once {who} has sent me "
            f"{_names(owed[who])}, which I asked {who} for."
        )
    ahead = [(h.requester, h.piece) for h in plan.holds if h.reason == "ahead"]
    for who, ps in _grouped(ahead).items():
        out.append(
            f"{who} is ahead of me on the revenue board, so I am keeping {_names(ps)} "
            "for myself to protect my own standing."
        )
    return out


def _draw(seed: int, agent: str, *key: object) -> float:
    digest = hashlib.blake2b(repr((seed, agent, key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _owed(obs: Observation) -> dict[str, dict[str, int]]:
    """Per agent, this agent's unanswered asks to it: each piece this agent asked it for, which
    it holds per the directory and this agent still lacks, with the message index of the ask."""
    me, holdings, directory = obs.agent, obs.holdings, obs.directory
    out: dict[str, dict[str, int]] = {}
    for k, m in enumerate(obs.messages):
        if m.sender == me:
            for q in m.pieces:
                if q not in holdings and m.to in directory.get(q, ()):
                    out.setdefault(m.to, {}).setdefault(q, k)
    return out


def behaviour_plan(obs: Observation, knobs: BehaviourKnobs, seed: int) -> Plan:
    """Ask, answer, submit and alter with the knobs' probabilities, recording the reasons."""
    me, actions, notes, holds = obs.agent, [], [], []
    protocol = obs.condition == "policy"
    p_request, p_submit = knobs.p_request, knobs.p_submit
    if protocol and knobs.p_request_policy is not None:
        p_request = knobs.p_request_policy
    if protocol and knobs.p_submit_policy is not None:
        p_submit = knobs.p_submit_policy
    moved = False  # did the protocol turn on a request or a submission?
    wanted: dict[str, list[str]] = {}
    for task, p in obs.missing():
        if p in wanted:
            continue
        u = _draw(seed, me, "request", obs.round, p)
        if u >= p_request:
            continue
        moved = moved or u >= knobs.p_request
        holders = [h for h in obs.directory.get(p, ()) if h != me]
        if holders and not knobs.ask_all_holders:
            holders = [holders[int(_draw(seed, me, "holder", obs.round, p) * len(holders))]]
        wanted[p] = holders
        actions += [
            SendMessage(h, f"Could you send me {p}? I need it for {task.task_id}.") for h in holders
        ]
    sends: dict[str, dict[str, int]] = {}
    bonus_sends: list[tuple[str, str]] = []
    requests = open_requests(obs)
    # The round of the latest ask for each (requester, piece): every new ask redraws the
    # decision. (A round, not a count of asks, so a truncated history cannot freeze it.)
    last_ask: dict[tuple[str, str], int] = {}
    first_ask: dict[tuple[str, str], int] = {}  # (requester, piece) -> index of its first ask
    owed: dict[str, dict[str, int]] = {}
    p_base, bonus = knobs.p_answer, False
    board: dict[str, float] = {}
    if requests:
        last_ask.update(
            ((m.sender, p), m.round) for m in obs.messages if m.to == me for p in m.pieces
        )
        if knobs.reciprocal and (owed := _owed(obs)):
            for k, m in enumerate(obs.messages):
                if m.to == me and m.sender in owed:
                    for p in m.pieces:
                        first_ask.setdefault((m.sender, p), k)
        if obs.share_bonus > 0 and knobs.p_answer_bonus is not None:
            p_base, bonus = knobs.p_answer_bonus, True
        if knobs.p_answer_ahead is not None:
            board = {e.agent: e.revenue for e in obs.board}
    mine = board.get(me)
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
        p_answer = knobs.p_answer_ahead if ahead else p_base
        u = _draw(seed, me, "answer", who, p, last_ask[who, p])
        if u < p_answer:
            value = obs.holdings[p]
            if _draw(seed, me, "alter", who, p) < knobs.p_alter:
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
        u = _draw(seed, me, "submit", obs.round, t.task_id)
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
    obs: Observation, knobs: BehaviourKnobs, seed: int
) -> tuple[list[Action], str]:
    """Ask, answer, submit and alter with the knobs' probabilities (see :func:`behaviour_plan`)."""
    plan = behaviour_plan(obs, knobs, seed)
    return plan.actions, plan.thoughts
