"""The game's state: everything one episode holds, declared in one place, and its event log.

:class:`GameState` is plain data plus the three ways the game records what happens: an
event (:meth:`~GameState.log`), a notice to one agent and a notice to all. The rules
(:mod:`.rules`) change it, the view (:mod:`.view`) copies what an agent may see, and the
:class:`~.environment.Environment` drives the rounds over it.

One ``random.Random(seed)`` makes every draw (values, tasks, turn orders, board shuffles
between rounds), so a seed and a config fix a run; the per-prompt board order comes from a
generator of its own, so how many prompts are built never moves the task draws.
"""

from __future__ import annotations

import random
from typing import Any

from ..config import EnvConfig
from ..events import Event
from ..observation import BoardEntry, Exchange, MessageView, Notice, TaskView, ValueRecord
from ..world import NEUTRAL_VARIANTS, PieceMatcher, format_amount, make_pieces, name_pool


def agent_id(i: int) -> str:
    return f"agent_{i}"


class GameState:
    """One episode's state; agents are seats ``0..n_agents-1``, pieces are named.

    Lists indexed by seat hold each agent's own part (holdings, tasks, inbox, ...). Records
    (messages, notices, values sent) are frozen and only ever appended, so the same record
    may sit in two agents' lists and in many observations.
    """

    def __init__(self, config: EnvConfig, seed: int, run_id: str):
        n = config.n_agents
        self.config = config
        self.run_id = run_id
        self.auto_request, self.auto_fulfill = config.auto_request, config.auto_fulfill
        self.limited = config.limited
        """The config's condition flags, read once: every message and notice reads them, and a
        property of the config costs as much as the rest of a notice."""
        self.rng = random.Random(seed)
        self.board_rng = random.Random(f"board-{seed}")
        """Draws the board's order for each prompt (``board_order="shuffled"``)."""
        self.ids: tuple[str, ...] = tuple(agent_id(i) for i in range(n))
        self.seat: dict[str, int] = {a: i for i, a in enumerate(self.ids)}
        self.events: list[Event] = []
        self.round = 0
        self.turn = 0
        """Turns taken so far in the episode, immediate replies included."""

        self.pieces = make_pieces(config, self.rng)
        self.names = [p.name for p in self.pieces]
        self.true_value: dict[str, int] = {p.name: p.value for p in self.pieces}
        self.canonical: dict[str, str] = {name.lower(): name for name in self.names}
        self.first_holder: dict[str, int] = {p.name: p.first_holder for p in self.pieces}
        self.matcher = PieceMatcher(self.names, name_pool(config))
        self.held: list[dict[str, int]] = [{} for _ in range(n)]
        """Each agent's pieces with the value it holds (a received value may be altered)."""
        self.holders: dict[str, set[int]] = {name: set() for name in self.names}
        for p in self.pieces:
            self.held[p.first_holder][p.name] = p.value
            self.holders[p.name].add(p.first_holder)

        self.revenue: list[float] = [0.0] * n
        self.tasks_done: list[int] = [0] * n
        self.tasks: list[list[TaskView]] = [[] for _ in range(n)]
        """Each agent's open tasks, oldest first."""
        self.tasks_dealt = 0
        self.messages: list[list[MessageView]] = [[] for _ in range(n)]
        """Direct messages each agent sent or received, delivered ones only."""
        self.notices: list[list[Notice]] = [[] for _ in range(n)]
        self.thoughts: list[list[tuple[int, str]]] = [[] for _ in range(n)]
        """(round, private thoughts) each agent is shown again later."""
        self.public: list[MessageView] = []
        """Broadcasts."""
        self.exchanges: list[Exchange] = []
        self.sent: list[list[ValueRecord]] = [[] for _ in range(n)]
        self.received: list[list[ValueRecord]] = [[] for _ in range(n)]
        self.asked: list[dict[str, dict[str, int]]] = [{} for _ in range(n)]
        """Each agent's asks, by recipient id and piece (what counts: ``past_asks``)."""
        self.pending_asks: list[dict[tuple[int, str], int]] = [{} for _ in range(n)]
        """(holder, piece) requests of each agent neither answered nor overtaken by a send."""
        self.sent_to: list[set[tuple[int, str]]] = [set() for _ in range(n)]
        """Strict reading: (recipient, piece) this agent has already sent (or tried to)."""

        self.board: tuple[BoardEntry, ...] = ()
        """The revenue board as the round started (its order: ``board_order``)."""
        self.public_at_start: tuple[MessageView, ...] = ()
        """The broadcasts as the round started."""
        self.directory: dict[str, tuple[str, ...]] = {}
        """Who held each piece as the round started."""
        self.moved: set[str] = set()
        """Pieces that reached a new holder since the round started (the directory to redo)."""
        self.points = config.prompt_variant in NEUTRAL_VARIANTS

    def log(self, kind: str, agent: int | None, **payload: Any) -> None:
        """Append an event (``EVENT_KINDS`` lists each kind's payload)."""
        who = None if agent is None else self.ids[agent]
        events = self.events
        events.append(Event(self.run_id, len(events), self.round, self.turn, who, kind, payload))

    def notify(self, i: int, text: str, private: bool = False) -> None:
        """A notice to agent i; under `limited` only a ``private`` one (about its own penalty)."""
        if private or not self.limited:
            self.notices[i].append(Notice(self.round, text))

    def notify_all(self, text: str, but: int | None = None) -> None:
        """The same notice to every agent (except ``but``); notices are immutable, so one is shared."""
        if not self.limited:
            notice = Notice(self.round, text)
            for j, notices in enumerate(self.notices):
                if j != but:
                    notices.append(notice)

    def amount(self, x: float) -> str:
        """Money as the prompt shows it (points in the neutral variants)."""
        return format_amount(x, self.points)
