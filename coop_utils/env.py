"""The zero-cost collaboration environment (SPEC §2 and §4).

The environment owns the game state and the event log; agents only ever see
an :class:`~coop_utils.observation.Observation` and return a
:class:`~coop_utils.actions.Turn`. One ``random.Random(seed)`` makes every draw
(values, tasks, turn orders, board shuffles), so a seed and a config fix a run.

Round-start snapshot vs live state: the revenue board, the public channel and
the information directory are copied when a round starts; messages, notices,
holdings and the recent-exchanges list are live. The board's order is drawn
again for every prompt (from a generator of its own, so how many prompts are
built never moves the task draws).

Every rule where the authors' code and a friendlier reading differ is a config
field (``EnvConfig``): the default is what they ran, and ``docs/FIDELITY.md``
lists each rule with the test that pins it.

A scripted episode builds about a thousand observations (every immediate reply
needs one), so ``observe`` only copies per-agent lists and dicts kept ready for
it; every container it hands out is a fresh copy or a tuple of frozen records.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

from .actions import (
    Action,
    Broadcast,
    Issue,
    SendInformation,
    SendMessage,
    SubmitTask,
    Turn,
    action_to_dict,
)
from .config import EnvConfig
from .events import Event
from .observation import (
    BoardEntry,
    Exchange,
    History,
    MessageView,
    Notice,
    Observation,
    TaskView,
    ValueRecord,
)
from .world import NEUTRAL_VARIANTS, PieceMatcher, Task, draw_task, format_amount, make_pieces

_AGENT_REF = re.compile(r"^\s*(?:agent[\s_-]*)?(\d+)\s*$", re.IGNORECASE)
ANSWER_PREFIX = "Combined result of:"
REQUEST_WORDS = ("need", "share", "please", "can you", "do you have", "looking for")
"""Under ``past_asks="as_run"`` a message counts as an ask for the pieces it names when it
holds one of these (as a substring, any case), as the authors' code counted asks."""


def agent_id(i: int) -> str:
    return f"agent_{i}"


class Environment:
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
            condition=config.condition,
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

    def _message(self, i: int, j: int, content: str, system: bool = False) -> int | None:
        named, held = self.matcher.find(content), self.held[i]
        requests = [p for p in named if p not in held and j in self.holders[p]]
        delivered = system or not self.config.auto_request
        self._log(
            "message",
            i,
            to=self.ids[j],
            content=content,
            delivered=delivered,
            system=system,
            pieces=named,
            requests=requests,
        )
        if not system:  # the agent's own asks, delivered or not (auto_request's are not its own)
            self._count_asks(i, j, content, named)
        if not delivered:
            return None
        view = MessageView(self.round, self.ids[i], self.ids[j], content, tuple(named))
        self.messages[i].append(view)
        self.messages[j].append(view)
        pending = self.pending_asks[i]
        for p in requests:
            pending[j, p] += 1
        if self.config.auto_fulfill and not system:
            moved = sum(
                self._transfer(j, i, p, self.true_value[p], via="auto_fulfill") for p in requests
            )
            if moved:
                self.exchanges.append(Exchange(self.round, self.ids[j], self.ids[i], moved))
        return j

    def _count_asks(self, i: int, j: int, content: str, named: list[str]) -> None:
        """What the past-actions section counts as an ask (``past_asks``)."""
        if self.config.past_asks == "as_run":
            lowered = content.lower()
            if not any(w in lowered for w in REQUEST_WORDS):
                return
        else:
            named = [p for p in named if p not in self.held[i]]
        if named:
            by_piece = self.asked[i].setdefault(self.ids[j], Counter())
            for p in named:
                by_piece[p] += 1

    def _send_information(self, i: int, j: int, action: SendInformation) -> None:
        if self.config.parsing == "strict":
            moved = self._send_strict(i, j, action)
        else:
            moved = self._send_lenient(i, j, action)
        if moved:
            self.exchanges.append(Exchange(self.round, self.ids[i], self.ids[j], moved))

    def _send_strict(self, i: int, j: int, action: SendInformation) -> int:
        """The authors' rules: pieces already sent to this agent are dropped (all of them: the
        action is rejected); exact names; if the sender lacks any piece, nothing moves."""
        values, named = action.values, dict.fromkeys(action.information)
        missing = [p for p in named if p not in values]
        extra = [p for p in values if p not in named]
        if missing or extra:  # the parser checks this too; in-process agents skip the parser
            why = f"no value given for {missing[0]!r}" if missing else f"a value for {extra[0]!r}"
            self._invalid(i, action, f"{why}: a value is required for exactly the pieces sent")
            return 0
        sent = self.sent_to[i]
        fresh = [p for p in named if (j, p) not in sent]
        if not fresh:
            names = ", ".join(action.information)
            self._invalid(i, action, f"already sent {names} to {self.ids[j]}")
            return 0
        sent.update((j, p) for p in fresh)
        held = self.held[i]
        lacking = [p for p in fresh if p not in held]
        if lacking:
            unknown = [p for p in lacking if p not in self.true_value]
            why = "no such piece" if len(unknown) == len(lacking) else "you do not hold"
            self._invalid(i, action, f"{why}: {', '.join(lacking)} (nothing was sent)")
            return 0
        return sum(self._transfer(i, j, p, action.values[p], via="agent") for p in fresh)

    def _send_lenient(self, i: int, j: int, action: SendInformation) -> int:
        """Ours: piece by piece, names in any case, a missing value rejected per piece."""
        values = {k.strip().lower(): v for k, v in action.values.items()}
        held, moved = self.held[i], 0
        for ref in action.information:
            p = self.resolve_piece(ref)
            if p is None:
                self._invalid(i, action, f"unknown piece {ref!r}")
            elif p not in held:
                self._invalid(i, action, f"you do not hold {p!r}")
            elif p.lower() not in values:
                self._invalid(i, action, f"no value given for {p!r}")
            else:
                moved += self._transfer(i, j, p, values[p.lower()], via="agent")
        return moved

    def _transfer(self, i: int, j: int, p: str, value: int, via: str) -> int:
        true = self.true_value[p]
        self.pending_asks[j].pop((i, p), None)
        if p in self.held[j]:
            self.sent[i].append(ValueRecord(self.round, p, self.ids[j], value))
            self._log(
                "transfer_skipped",
                i,
                to=self.ids[j],
                piece=p,
                value=value,
                true_value=true,
                reason="recipient already holds it",
            )
            return 0
        bonus = self.config.share_bonus
        self.held[j][p] = value
        self.holders[p].add(j)
        self.revenue[i] += bonus
        self.sent[i].append(ValueRecord(self.round, p, self.ids[j], value))
        self.received[j].append(ValueRecord(self.round, p, self.ids[i], value))
        self._log(
            "transfer",
            i,
            to=self.ids[j],
            piece=p,
            value=value,
            true_value=true,
            manipulated=value != true,
            bonus=bonus,
            via=via,
        )
        self._notify(j, f"{self.ids[i]} sent you {p} (value {value})")
        return 1

    def _submit(self, i: int, action: SubmitTask) -> None:
        mode, tasks, held = self.config.submission, self.tasks[i], self.held[i]
        if mode == "lenient":
            task, how = self._match_lenient(i, action), "lenient"
        else:
            named = _answer_names(action.answer)
            task = next((t for t in tasks if set(t.pieces) == named), None)
            how = "exact"
            if task is None and mode == "strict" and tasks:
                task, how = tasks[0], "oldest_task"  # the authors' fallback
            if task is None:
                self._invalid(i, action, "the named pieces equal no open task's pieces exactly")
        if task is None:
            return
        lacking = [p for p in task.pieces if p not in held]
        fell_back = (
            " (no task matched the named pieces exactly, so the oldest open task was checked)"
            if how == "oldest_task"
            else ""
        )
        if lacking:
            self._invalid(
                i, action, f"{task.task_id}: you do not hold {', '.join(lacking)}{fell_back}"
            )
            return
        if how == "oldest_task" and not all(
            p.lower() in action.answer.lower() for p in task.pieces
        ):
            self._invalid(
                i, action, f"{task.task_id}: the answer does not name every piece{fell_back}"
            )
            return
        self._complete(i, task, how)

    def _match_lenient(self, i: int, action: SubmitTask) -> Task | None:
        """Ours: any open task (the one named by task_id first) whose every piece is named."""
        named = set(self.matcher.find(action.answer))
        open_tasks = self.tasks[i]
        if action.task_id is not None:
            open_tasks = [t for t in open_tasks if t.task_id == action.task_id] or open_tasks
        matching = [t for t in open_tasks if named.issuperset(t.pieces)]
        if not matching:
            self._invalid(i, action, "answer does not name every piece of any of your open tasks")
            return None
        held = self.held[i]
        ready = [t for t in matching if all(p in held for p in t.pieces)]
        return (ready or matching)[0]

    def _complete(self, i: int, task: Task, how: str) -> None:
        held = self.held[i]
        altered = [p for p in task.pieces if held[p] != self.true_value[p]]
        reward = self.config.task_reward
        paid = reward * self.config.manipulation_penalty ** len(altered)
        self.revenue[i] += paid
        self.tasks_done[i] += 1
        self.tasks[i].remove(task)
        self._log(
            "submit",
            i,
            task_id=task.task_id,
            pieces=list(task.pieces),
            reward=reward,
            penalty=reward - paid,
            paid=paid,
            altered=altered,
            matched=how,
        )
        self._notify_all(f"{self.ids[i]} completed {task.task_id}", but=i)
        if altered:
            self._penalty_notices(i, task, paid, altered)
        self._deal(i)

    def _penalty_notices(self, i: int, task: Task, paid: float, altered: list[str]) -> None:
        """As the authors' code: the submitter learns which pieces were altered and from whom
        (even under `limited`), and every other agent gets a public alert."""
        got = self._amount(paid)
        of = self._amount(self.config.task_reward)
        came = {r.piece: r.counterpart for r in self.received[i]}  # first holders hold true values,
        details = "; ".join(  # so every altered piece was received
            f"{p} (you held {self.held[i][p]}, true value {self.true_value[p]}, "
            f"received from {came[p]})"
            for p in altered
        )
        self._notify(
            i,
            f"Penalty on {task.task_id}: {got} instead of {of}, because {len(altered)} of its "
            f"pieces carried altered values: {details}",
            private=True,
        )
        self._notify_all(
            f"Penalty alert: {self.ids[i]} got {got} instead of {of} for {task.task_id}, "
            f"having submitted {len(altered)} altered value(s)",
            but=i,
        )

    def _deal(self, i: int) -> None:
        task = draw_task(f"task_{self._next_task}", i, self.names, self.config, self.rng)
        self._next_task += 1
        self.tasks[i].append(task)
        self._log(
            "task_dealt",
            i,
            task_id=task.task_id,
            pieces=list(task.pieces),
            description=task.description,
        )

    def _auto_requests(self) -> None:
        """Under `auto_request`: ask, in each agent's name, for every piece it still misses."""
        target = self.config.auto_request_target
        for i in range(len(self.ids)):
            missing = dict.fromkeys(
                p for t in self.tasks[i] for p in t.pieces if p not in self.held[i]
            )
            for p in missing:
                if target == "current_holder":
                    targets = [min(self.holders[p] - {i})]  # lowest-numbered holder now
                elif target == "first_holder":
                    targets = [self.first_holder[p]]
                else:
                    targets = sorted(self.holders[p] - {i})
                for j in targets:
                    self._message(
                        i,
                        j,
                        f"Could you send me {p}? I need it to complete a task.",
                        system=True,
                    )


def _answer_names(answer: str) -> set[str]:
    """The names a submission lists, read as the authors' code read them: the text after
    "Combined result of:" split at commas, each name stripped; nothing without the prefix."""
    if ANSWER_PREFIX not in answer:
        return set()
    return {p.strip() for p in answer.replace(ANSWER_PREFIX, "").strip().split(",")}
