"""What each action does to the game: messages, sending, submission, penalties, dealing.

Most rows of ``docs/FIDELITY.md`` are rules here; where the authors' code and our own
reading differ, ``EnvConfig`` picks (``parsing``, ``submission``, ``past_asks``,
``auto_request_target``, ...). They are methods of :class:`Rules`, which
:class:`~.environment.Environment` inherits: they read and write its state and log through
it, so the rules stay apart from the state, rounds and views they act on.
"""

from __future__ import annotations

from collections import Counter

from ..actions import SendInformation, SubmitTask
from ..observation import ANSWER_PREFIX, Exchange, MessageView, ValueRecord
from ..world import Task, draw_task

REQUEST_WORDS = ("need", "share", "please", "can you", "do you have", "looking for")
"""Under ``past_asks="as_run"`` a message counts as an ask for the pieces it names when it
holds one of these (as a substring, any case), as the authors' code counted asks."""


class Rules:
    """The environment's rules; mixed into :class:`~.environment.Environment`."""

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
        self.sent[i].append(ValueRecord(self.round, p, self.ids[j], value))
        payload = {"to": self.ids[j], "piece": p, "value": value, "true_value": true}
        if p in self.held[j]:
            self._log("transfer_skipped", i, **payload, reason="recipient already holds it")
            return 0
        bonus = self.config.share_bonus
        self.held[j][p] = value
        self.holders[p].add(j)
        self.revenue[i] += bonus
        self.received[j].append(ValueRecord(self.round, p, self.ids[i], value))
        self._log("transfer", i, **payload, manipulated=value != true, bonus=bonus, via=via)
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
