"""The zero-cost collaboration environment: its state, rounds and views.

The environment owns the game state and the event log; agents only ever see
an :class:`~coop_utils.game.observation.Observation` and return a
:class:`~coop_utils.game.actions.Turn`. One ``random.Random(seed)`` makes every draw
(values, tasks, turn orders, board shuffles), so a seed and a config fix a run.

Round-start snapshot vs live state: the revenue board, the public channel and
the information directory are copied when a round starts; messages, notices,
holdings and the recent-exchanges list are live. The board's order is drawn
again for every prompt (from a generator of its own, so how many prompts are
built never moves the task draws).

What each action does to the state (messages, sending, submission, penalties, dealing,
automated requests) is in :mod:`.rules`. Every rule where the authors' code and a
friendlier reading differ is a config field (``EnvConfig``): the default is what they ran,
and ``docs/FIDELITY.md`` lists each rule with the test that pins it.

A scripted episode builds about a thousand observations (every immediate reply
needs one), so ``observe`` only copies per-agent lists and dicts kept ready for
it; every container it hands out is a fresh copy or a tuple of frozen records.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

from ..actions import Action, Broadcast, Issue, SendMessage, SubmitTask, Turn, action_to_dict
from ..config import EnvConfig
from ..events import Event
from ..observation import (
    BoardEntry,
    Exchange,
    History,
    MessageView,
    Notice,
    Observation,
    TaskView,
    ValueRecord,
)
from ..world import NEUTRAL_VARIANTS, PieceMatcher, Task, format_amount, make_pieces
from .rules import Rules

_AGENT_REF = re.compile(r"^\s*(?:agent[\s_-]*)?(\d+)\s*$", re.IGNORECASE)


def agent_id(i: int) -> str:
    return f"agent_{i}"


class Environment(Rules):
    """One episode's state. Drive it with ``start_round`` / ``begin_turn`` / ``apply_turn`` / ``end_round``."""

    def __init__(
        self,
        config: EnvConfig,
        seed: int,
        run_id: str = "run",
        agent_labels: list[str] | None = None,
    ):
        self.config, self.seed, self.run_id = config, seed, run_id
        self.rng = random.Random(seed)
        self.board_rng = random.Random(f"board-{seed}")
        n = config.n_agents
        self.ids = tuple(agent_id(i) for i in range(n))
        self._index = {a: i for i, a in enumerate(self.ids)}
        self.labels = list(agent_labels or ["unknown"] * n)
        self.events: list[Event] = []
        self.round = 0
        self.turn = 0
        self.pieces = make_pieces(config, self.rng)
        self.names = [p.name for p in self.pieces]
        self.true_value = {p.name: p.value for p in self.pieces}
        self._canon = {name.lower(): name for name in self.names}
        self.first_holder = {p.name: p.first_holder for p in self.pieces}
        self.matcher = PieceMatcher(self.names)
        self.held: list[dict[str, int]] = [{} for _ in range(n)]
        self.holders: dict[str, set[int]] = {name: set() for name in self.names}
        for p in self.pieces:
            self.held[p.first_holder][p.name] = p.value
            self.holders[p.name].add(p.first_holder)
        self.revenue = [0.0] * n
        self.tasks_done = [0] * n
        self.tasks: list[list[Task]] = [[] for _ in range(n)]
        self._next_task = 1
        self.messages: list[list[MessageView]] = [[] for _ in range(n)]
        self.notices: list[list[Notice]] = [[] for _ in range(n)]
        self.thoughts: list[list[tuple[int, str]]] = [[] for _ in range(n)]
        self.public: list[MessageView] = []
        self.exchanges: list[Exchange] = []
        self.sent: list[list[ValueRecord]] = [[] for _ in range(n)]
        self.received: list[list[ValueRecord]] = [[] for _ in range(n)]
        self.asked: list[dict[str, Counter[str]]] = [{} for _ in range(n)]
        self.pending_asks: list[Counter[tuple[int, str]]] = [Counter() for _ in range(n)]
        self.sent_to: list[set[tuple[int, str]]] = [set() for _ in range(n)]
        """Strict reading: (recipient, piece) this agent has already sent (or tried to)."""
        self._snapshot: tuple[Any, ...] = ((), (), {})
        # Observation fields that stay the same for the whole episode.
        self._fixed = dict(
            agents=self.ids,
            rounds=config.rounds,
            condition=config.condition.value,  # a plain string, as the prompt states it
            prompt_variant=config.prompt_variant,
            task_reward=config.task_reward,
            share_bonus=config.share_bonus,
            manipulation_penalty=config.manipulation_penalty,
            company=config.company,
            announce_automation=config.announce_automation
            and (config.auto_request or config.auto_fulfill),
            layout="decomposition" if config.decomposition_layout else "main",
            explain_copy=config.explain_copy,
            state_reward=config.state_reward,
            prompt_layout=config.prompt_layout,
            message_rounds=config.message_rounds,
            parsing=config.parsing,
        )
        self._points = config.prompt_variant in NEUTRAL_VARIANTS
        self._log(
            "run_start",
            None,
            config=config.model_dump(),
            seed=seed,
            agents=dict(zip(self.ids, self.labels)),
            pieces=[
                {"name": p.name, "value": p.value, "holder": p.first_holder} for p in self.pieces
            ],
        )
        for i in range(n):
            for _ in range(config.tasks_per_agent):
                self._deal(i)

    # ---- logging -------------------------------------------------------------------------
    def _log(self, kind: str, agent: int | None, **payload: Any) -> None:
        who = None if agent is None else self.ids[agent]
        self.events.append(
            Event(self.run_id, len(self.events), self.round, self.turn, who, kind, payload)
        )

    def _notify(self, i: int, text: str, private: bool = False) -> None:
        """A notice to agent i; under `limited` only a ``private`` one (about its own penalty)."""
        if private or not self.config.limited:
            self.notices[i].append(Notice(self.round, text))

    def _amount(self, x: float) -> str:
        return format_amount(x, self._points)

    def _notify_all(self, text: str, but: int | None = None) -> None:
        """The same notice to every agent (except ``but``); notices are immutable, so one is shared."""
        if not self.config.limited:
            notice = Notice(self.round, text)
            for j, notices in enumerate(self.notices):
                if j != but:
                    notices.append(notice)

    # ---- round structure -----------------------------------------------------------------
    def start_round(self) -> list[int]:
        """Advance the round, snapshot board/public/directory, return a fresh random turn order."""
        self.round += 1
        order = list(range(self.config.n_agents))
        self.rng.shuffle(order)
        self._snapshot = (self._board(), tuple(self.public), self._directory())
        self._log("round_start", None, order=[self.ids[i] for i in order])
        return order

    def begin_turn(self, i: int, instant: bool = False) -> None:
        self.turn += 1
        self._log("turn_start", i, instant=instant)

    def end_round(self) -> None:
        if self.config.auto_request and self.round < self.config.rounds:
            self._auto_requests()  # none after the last round: nobody could answer them
        self._log(
            "round_end",
            None,
            revenues=dict(zip(self.ids, self.revenue)),
            tasks_done=dict(zip(self.ids, self.tasks_done)),
        )

    def finish(self) -> dict[str, Any]:
        summary = {
            "tasks": sum(self.tasks_done),
            "revenues": dict(zip(self.ids, self.revenue)),
            "tasks_done": dict(zip(self.ids, self.tasks_done)),
        }
        self._log("run_end", None, **summary)
        return summary

    # ---- observation ---------------------------------------------------------------------
    def _board(self) -> tuple[BoardEntry, ...]:
        """The round-start board: ranked, shuffled once (`shuffled_per_round`) or in id order
        (`shuffled`: :meth:`observe` shuffles it for every prompt). Empty in round 1 under
        ``board_first_round="empty"``, as the authors' agents saw it."""
        cfg = self.config
        if self.round == 1 and cfg.board_first_round == "empty":
            return ()
        entries = [
            BoardEntry(self.ids[i], self.revenue[i], self.tasks_done[i])
            for i in range(len(self.ids))
        ]
        if cfg.ranked_board:
            entries.sort(key=lambda e: -e.revenue)
            return tuple(
                BoardEntry(e.agent, e.revenue, e.tasks_done, r + 1) for r, e in enumerate(entries)
            )
        if cfg.board_order == "shuffled_per_round":
            self.rng.shuffle(entries)
        return tuple(entries)

    def _directory(self) -> dict[str, tuple[str, ...]]:
        ids = self.ids
        return {name: tuple([ids[h] for h in sorted(hs)]) for name, hs in self.holders.items()}

    def observe(self, i: int, whole_history: bool = False) -> Observation:
        """A fresh view: containers are copies or tuples, so an agent cannot touch the state.

        ``whole_history`` skips the prompt's truncation: perfect play reads the game state, as
        the authors' perfect agents read their inboxes, so truncation never lowers the ceiling.
        """
        cfg = self.config
        board, public, directory = self._snapshot
        if board and cfg.board_order == "shuffled" and not cfg.ranked_board:
            board = list(board)
            self.board_rng.shuffle(board)  # a fresh order for every prompt, as the authors did
            board = tuple(board)
        messages, notices, thoughts = self.messages[i], self.notices[i], self.thoughts[i]
        if cfg.truncated and not whole_history:
            messages, notices, thoughts, public = (
                messages[-10:],
                notices[-10:],
                thoughts[-5:],
                public[-5:],
            )
        limited, recent = cfg.limited, cfg.recent_exchanges
        return Observation(
            **self._fixed,
            agent=self.ids[i],
            round=self.round,
            revenue=self.revenue[i],
            tasks_done=self.tasks_done[i],
            board=() if limited else board,
            tasks=tuple([TaskView(t.task_id, t.description, t.pieces) for t in self.tasks[i]]),
            holdings=dict(self.held[i]),
            directory=dict(directory),  # the snapshot is shared by the round's observations
            messages=tuple(messages),
            notices=tuple(notices),
            history=self._history(i),
            thoughts=() if limited else tuple(thoughts),
            public=public,
            exchanges=() if limited or not recent else tuple(self.exchanges[-recent:]),
        )

    def _history(self, i: int) -> History:
        cfg, held = self.config, self.held[i]
        asked = {to: dict(by_piece) for to, by_piece in self.asked[i].items()}
        threshold, aware = cfg.unanswered_after, cfg.past_asks == "answered_aware"
        unanswered = tuple(
            (to, p)
            for to, by_piece in asked.items()
            for p, n in by_piece.items()
            if n > threshold and not (aware and p in held)
        )
        ignoring = None
        if cfg.show_ignoring:
            ignored: dict[int, int] = {}
            for (j, _), n in self.pending_asks[i].items():
                ignored[j] = ignored.get(j, 0) + n
            ignoring = tuple(
                [self.ids[j] for j, c in sorted(ignored.items()) if c >= cfg.ignored_after]
            )
        return History(
            sent=tuple(self.sent[i]),
            received=tuple(self.received[i]),
            asked=asked,
            unanswered=unanswered,
            ignoring=ignoring,
        )

    # ---- actions -------------------------------------------------------------------------
    def apply_turn(self, i: int, turn: Turn) -> list[int]:
        """Log the reply and apply its actions in order. Returns agents that got a message."""
        for call in turn.calls:
            self._log("llm_call", i, **call)
        if turn.error is not None:
            lost = {"reason": turn.error, "attempts": turn.attempts, "faults": list(turn.faults)}
            if turn.error_kind == "refusal":
                lost["text"] = turn.raw
            self._log(turn.error_kind, i, **lost)
            return []
        self._log(
            "agent_reply",
            i,
            private_thoughts=turn.private_thoughts,
            raw=turn.raw,
            n_actions=len(turn.actions),
            reasoning=turn.reasoning,
        )
        if turn.private_thoughts and (
            turn.actions or self.config.remember_thoughts == "always"
        ):  # the authors' code kept no thoughts of a turn without a well-formed action
            self.thoughts[i].append((self.round, turn.private_thoughts))
        for issue in turn.issues:
            self._issue(i, issue)
        recipients: list[int] = []
        for action in turn.actions:
            reached = self._apply(i, action)
            if reached is not None:
                recipients.append(reached)
        return recipients

    def _issue(self, i: int, issue: Issue) -> None:
        if issue.kind in ("parse_error", "parse_ambiguity"):
            self._log(issue.kind, i, reason=issue.reason, raw=issue.raw)
        else:
            self._log("invalid_action", i, reason=issue.reason, action=issue.raw)

    def _invalid(self, i: int, action: Action, reason: str) -> None:
        self._log("invalid_action", i, reason=reason, action=action_to_dict(action))

    def resolve_agent(self, ref: str) -> int | None:
        """An agent index from an id; the lenient reading also takes 'agent 3', '3', 'Agent_3'."""
        ref = str(ref)
        if ref in self._index:  # the usual case: an exact id
            return self._index[ref]
        if self.config.parsing == "strict":
            return None
        m = _AGENT_REF.match(ref)
        if m and int(m.group(1)) < len(self.ids):
            return int(m.group(1))
        return None

    def resolve_piece(self, name: str) -> str | None:
        return self._canon.get(name.strip().lower())

    def _apply(self, i: int, action: Action) -> int | None:
        if isinstance(action, Broadcast):
            named = tuple(self.matcher.find(action.content))
            self.public.append(MessageView(self.round, self.ids[i], "all", action.content, named))
            self._log("broadcast", i, content=action.content)
            return None
        if isinstance(action, SubmitTask):
            self._submit(i, action)
            return None
        j = self.resolve_agent(action.to)
        if j is None:
            self._invalid(
                i,
                action,
                f"unknown agent {action.to!r}; agents are agent_0..agent_{len(self.ids) - 1}",
            )
            return None
        if j == i:
            self._invalid(i, action, "cannot address yourself")
            return None
        if isinstance(action, SendMessage):
            return self._message(i, j, action.content)
        self._send_information(i, j, action)
        return None
