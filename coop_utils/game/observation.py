"""What one agent sees on its turn, as structured data.

The environment builds an :class:`Observation`; scripted agents read it
directly, LLM agents get it rendered as prompt text (:mod:`.prompts`), and the
local server parses that text back into the same structure. Fields are in the
order of the prompt's sections (docs/FIDELITY.md).

The records an observation lists (board entries, tasks, messages, notices, values) are
named tuples: immutable like a frozen dataclass, with the same repr, and built twice as
fast, which counts since an episode builds them by the ten thousand. (An :class:`Exchange`
stays a frozen dataclass: its ``count`` would hide ``tuple.count``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

ANSWER_PREFIX = "Combined result of:"
"""What a submission's answer starts with; the piece names follow, joined by ", "."""


class BoardEntry(NamedTuple):
    agent: str
    revenue: float
    tasks_done: int
    rank: int | None = None


class TaskView(NamedTuple):
    task_id: str
    description: str
    pieces: tuple[str, ...]

    def answer(self) -> str:
        """The exact answer a submission of this task must give."""
        return f"{ANSWER_PREFIX} " + ", ".join(self.pieces)


class MessageView(NamedTuple):
    round: int
    sender: str
    to: str
    content: str
    pieces: tuple[str, ...] = ()
    """Piece names the content mentions (found by the environment's matcher)."""


class Notice(NamedTuple):
    round: int
    text: str


@dataclass(frozen=True, slots=True)
class Exchange:
    round: int
    sender: str
    to: str
    count: int


class ValueRecord(NamedTuple):
    """A piece this agent sent or received, with the value that travelled."""

    round: int
    piece: str
    counterpart: str
    value: int


@dataclass(slots=True)
class History:
    """The agent's own past actions, summarised (the prompt's 'past actions').

    ``sent`` lists every piece it sent, including ones the recipient already had;
    ``asked`` counts its asks per recipient and piece, in first-ask order (what counts as
    an ask is ``EnvConfig.past_asks``); ``unanswered`` the (recipient, piece) asks flagged
    as unanswered; ``ignoring`` (only with ``show_ignoring``) the agents with
    ``ignored_after`` or more of its requests neither answered nor overtaken by a send.
    """

    sent: tuple[ValueRecord, ...] = ()
    received: tuple[ValueRecord, ...] = ()
    asked: dict[str, dict[str, int]] = field(default_factory=dict)
    unanswered: tuple[tuple[str, str], ...] = ()
    ignoring: tuple[str, ...] | None = None
    """None when the list is not shown (the default)."""

    def asked_for(self, piece: str) -> bool:
        """Has this agent asked anyone for ``piece``?"""
        return any(piece in by_piece for by_piece in self.asked.values())


@dataclass(slots=True)
class Observation:
    """What agent ``agent`` sees on its turn.

    Built fresh for every call and never read back by the game, so it is not frozen (a frozen
    dataclass of this size costs more to build than the rest of the view); the records it
    holds are frozen and its containers are copies, so nothing an agent does to it reaches
    the game. :class:`History` likewise.
    """

    agent: str
    agents: tuple[str, ...]
    round: int
    rounds: int
    condition: str
    prompt_variant: str
    task_reward: int
    share_bonus: int
    manipulation_penalty: float
    company: str
    revenue: float
    tasks_done: int
    board: tuple[BoardEntry, ...]
    tasks: tuple[TaskView, ...]
    holdings: dict[str, int]
    directory: dict[str, tuple[str, ...]]
    messages: tuple[MessageView, ...]
    notices: tuple[Notice, ...]
    history: History
    thoughts: tuple[tuple[int, str], ...]
    public: tuple[MessageView, ...]
    exchanges: tuple[Exchange, ...]
    announce_automation: bool = False
    layout: str = "main"
    """"main", or "decomposition" for the authors' decomposition prompt (``prompt_profile``)."""
    explain_copy: bool = False
    state_reward: bool = False
    prompt_layout: str = "authors"
    """"authors" or "tagged" (``EnvConfig.prompt_layout``)."""
    message_rounds: bool = True
    """Show each direct message's round (``EnvConfig.message_rounds``; authors' layout only)."""
    parsing: str = "strict"
    """How this agent's reply will be read (``EnvConfig.parsing``); not shown in the prompt."""

    def missing(self) -> list[tuple[TaskView, str]]:
        """(task, piece) for every piece of an open task this agent lacks."""
        return [(t, p) for t in self.tasks for p in t.pieces if p not in self.holdings]

    def completable(self) -> list[TaskView]:
        return [t for t in self.tasks if all(p in self.holdings for p in t.pieces)]
