"""What each action does to the game: messages, sending, submission, penalties, dealing.

Each rule is a function of the :class:`~.state.GameState` it changes and logs to. Most rows
of ``docs/FIDELITY.md`` are rules here; where the authors' code and our own reading differ,
``EnvConfig`` picks (``parsing``, ``submission``, ``past_asks``, ``auto_request_target``, ...).
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..actions import (
    Action,
    Broadcast,
    Issue,
    SendInformation,
    SendMessage,
    SubmitTask,
    action_to_dict,
)
from ..observation import ANSWER_PREFIX, Exchange, MessageView, TaskView, ValueRecord
from ..world import draw_task
from .state import GameState

REQUEST_WORDS = ("need", "share", "please", "can you", "do you have", "looking for")
"""Under ``past_asks="as_run"`` a message counts as an ask for the pieces it names when it
holds one of these (as a substring, any case), as the authors' code counted asks."""


@lru_cache(maxsize=4096)
def _has_request_word(content: str) -> bool:
    """Kept per text: scripted agents send the same words to each holder, episode after episode.
    (Six substring tests take half the time of one regex of the six.)"""
    low = content.lower()
    for word in REQUEST_WORDS:
        if word in low:
            return True
    return False


_AGENT_REF = re.compile(r"^\s*(?:agent[\s_-]*)?(\d+)\s*$", re.IGNORECASE)


def apply_action(s: GameState, i: int, action: Action) -> int | None:
    """Apply agent i's action; returns the seat a direct message reached, if any."""
    if isinstance(action, Broadcast):
        named = s.matcher.find(action.content)
        s.public.append(MessageView(s.round, s.ids[i], "all", action.content, named))
        s.log("broadcast", i, content=action.content)
        return None
    if isinstance(action, SubmitTask):
        submit(s, i, action)
        return None
    j = resolve_agent(s, action.to)
    if j is None:
        invalid(
            s, i, action, f"unknown agent {action.to!r}; agents are agent_0..agent_{len(s.ids) - 1}"
        )
        return None
    if j == i:
        invalid(s, i, action, "cannot address yourself")
        return None
    if isinstance(action, SendMessage):
        return message(s, i, j, action.content)
    send_information(s, i, j, action)
    return None


def report_issue(s: GameState, i: int, issue: Issue) -> None:
    """Log what the reading of agent i's reply could not turn into an action."""
    if issue.kind in ("parse_error", "parse_ambiguity"):
        s.log(issue.kind, i, reason=issue.reason, raw=issue.raw)
    else:
        s.log("invalid_action", i, reason=issue.reason, action=issue.raw)


def invalid(s: GameState, i: int, action: Action, reason: str) -> None:
    s.log("invalid_action", i, reason=reason, action=action_to_dict(action))


def resolve_agent(s: GameState, ref: str) -> int | None:
    """An agent's seat from its id; the lenient reading also takes 'agent 3', '3', 'Agent_3'."""
    ref = str(ref)
    if ref in s.seat:  # the usual case: an exact id
        return s.seat[ref]
    if s.config.parsing == "strict":
        return None
    m = _AGENT_REF.match(ref)
    if m and int(m.group(1)) < len(s.ids):
        return int(m.group(1))
    return None


def message(s: GameState, i: int, j: int, content: str, system: bool = False) -> int | None:
    """A direct message from i to j; returns j if it was delivered."""
    found, held, holders, to = s.matcher.find(content), s.held[i], s.holders, s.ids[j]
    named = list(found)  # the event's own list
    requests = [p for p in found if p not in held and j in holders[p]]
    delivered = system or not s.auto_request
    s.log(
        "message",
        i,
        to=to,
        content=content,
        delivered=delivered,
        system=system,
        pieces=named,
        requests=requests,
    )
    if not system:  # the agent's own asks, delivered or not (auto_request's are not its own)
        _count_asks(s, i, j, content, named)
    if not delivered:
        return None
    view = MessageView(s.round, s.ids[i], to, content, found)
    s.messages[i].append(view)
    s.messages[j].append(view)
    pending = s.pending_asks[i]
    for p in requests:
        pending[j, p] = pending.get((j, p), 0) + 1
    if s.auto_fulfill and not system:
        moved = sum(transfer(s, j, i, p, s.true_value[p], via="auto_fulfill") for p in requests)
        if moved:
            s.exchanges.append(Exchange(s.round, s.ids[j], s.ids[i], moved))
    return j


def _count_asks(s: GameState, i: int, j: int, content: str, named: list[str]) -> None:
    """What the past-actions section counts as an ask (``past_asks``)."""
    if s.config.past_asks == "as_run":
        if not _has_request_word(content):
            return
    else:
        named = [p for p in named if p not in s.held[i]]
    if named:
        asked, to = s.asked[i], s.ids[j]
        by_piece = asked.get(to)
        if by_piece is None:
            by_piece = asked[to] = {}
        for p in named:
            by_piece[p] = by_piece.get(p, 0) + 1


def send_information(s: GameState, i: int, j: int, action: SendInformation) -> None:
    if s.config.parsing == "strict":
        moved = _send_strict(s, i, j, action)
    else:
        moved = _send_lenient(s, i, j, action)
    if moved:
        s.exchanges.append(Exchange(s.round, s.ids[i], s.ids[j], moved))


def _send_strict(s: GameState, i: int, j: int, action: SendInformation) -> int:
    """The authors' rules: pieces already sent to this agent are dropped (all of them: the
    action is rejected); exact names; if the sender lacks any piece, nothing moves."""
    values, named = action.values, dict.fromkeys(action.information)
    if values.keys() != named.keys():  # the parser checks this too; in-process agents skip it
        missing = [p for p in named if p not in values]
        extra = [p for p in values if p not in named]
        why = f"no value given for {missing[0]!r}" if missing else f"a value for {extra[0]!r}"
        invalid(s, i, action, f"{why}: a value is required for exactly the pieces sent")
        return 0
    sent, fresh = s.sent_to[i], []
    for p in named:  # each fresh piece counts as sent to j, whatever happens next
        if (j, p) not in sent:
            sent.add((j, p))
            fresh.append(p)
    if not fresh:
        names = ", ".join(action.information)
        invalid(s, i, action, f"already sent {names} to {s.ids[j]}")
        return 0
    held = s.held[i]
    lacking = [p for p in fresh if p not in held]
    if lacking:
        unknown = [p for p in lacking if p not in s.true_value]
        why = "no such piece" if len(unknown) == len(lacking) else "you do not hold"
        invalid(s, i, action, f"{why}: {', '.join(lacking)} (nothing was sent)")
        return 0
    moved = 0
    for p in fresh:
        moved += transfer(s, i, j, p, values[p], via="agent")
    return moved


def _send_lenient(s: GameState, i: int, j: int, action: SendInformation) -> int:
    """Ours: piece by piece, names in any case, a missing value rejected per piece."""
    values = {k.strip().lower(): v for k, v in action.values.items()}
    held, moved = s.held[i], 0
    for ref in action.information:
        p = s.canonical.get(ref.strip().lower())
        if p is None:
            invalid(s, i, action, f"unknown piece {ref!r}")
        elif p not in held:
            invalid(s, i, action, f"you do not hold {p!r}")
        elif p.lower() not in values:
            invalid(s, i, action, f"no value given for {p!r}")
        else:
            moved += transfer(s, i, j, p, values[p.lower()], via="agent")
    return moved


def transfer(s: GameState, i: int, j: int, p: str, value: int, via: str) -> int:
    """Piece p with ``value`` from i to j; returns 1 if j did not hold it yet, else 0."""
    true, to = s.true_value[p], s.ids[j]
    s.pending_asks[j].pop((i, p), None)
    s.sent[i].append(ValueRecord(s.round, p, to, value))
    if p in s.held[j]:
        s.log(
            "transfer_skipped",
            i,
            to=to,
            piece=p,
            value=value,
            true_value=true,
            reason="recipient already holds it",
        )
        return 0
    bonus = s.config.share_bonus
    s.held[j][p] = value
    s.holders[p].add(j)
    s.moved.add(p)
    s.revenue[i] += bonus
    s.received[j].append(ValueRecord(s.round, p, s.ids[i], value))
    s.log(
        "transfer",
        i,
        to=to,
        piece=p,
        value=value,
        true_value=true,
        manipulated=value != true,
        bonus=bonus,
        via=via,
    )
    s.notify(j, f"{s.ids[i]} sent you {p} (value {value})")
    return 1


def submit(s: GameState, i: int, action: SubmitTask) -> None:
    """Find the task the answer submits (``submission``) and complete it if i holds its pieces."""
    mode, tasks, held = s.config.submission, s.tasks[i], s.held[i]
    task: TaskView | None
    if mode == "lenient":
        task, how = _match_lenient(s, i, action), "lenient"
    else:
        named = _answer_names(action.answer)
        task = next((t for t in tasks if set(t.pieces) == named), None)
        how = "exact"
        if task is None and mode == "strict" and tasks:
            task, how = tasks[0], "oldest_task"  # the authors' fallback
        if task is None:
            invalid(s, i, action, "the named pieces equal no open task's pieces exactly")
    if task is None:
        return
    lacking = [p for p in task.pieces if p not in held]
    fell_back = (
        " (no task matched the named pieces exactly, so the oldest open task was checked)"
        if how == "oldest_task"
        else ""
    )
    if lacking:
        invalid(s, i, action, f"{task.task_id}: you do not hold {', '.join(lacking)}{fell_back}")
        return
    if how == "oldest_task" and not all(p.lower() in action.answer.lower() for p in task.pieces):
        invalid(s, i, action, f"{task.task_id}: the answer does not name every piece{fell_back}")
        return
    _complete(s, i, task, how)


def _match_lenient(s: GameState, i: int, action: SubmitTask) -> TaskView | None:
    """Ours: any open task (the one named by task_id first) whose every piece is named."""
    named = set(s.matcher.find(action.answer))
    open_tasks = s.tasks[i]
    if action.task_id is not None:
        open_tasks = [t for t in open_tasks if t.task_id == action.task_id] or open_tasks
    matching = [t for t in open_tasks if named.issuperset(t.pieces)]
    if not matching:
        invalid(s, i, action, "answer does not name every piece of any of your open tasks")
        return None
    held = s.held[i]
    ready = [t for t in matching if all(p in held for p in t.pieces)]
    return (ready or matching)[0]


def _complete(s: GameState, i: int, task: TaskView, how: str) -> None:
    held = s.held[i]
    altered = [p for p in task.pieces if held[p] != s.true_value[p]]
    reward = s.config.task_reward
    paid = reward * s.config.manipulation_penalty ** len(altered)
    s.revenue[i] += paid
    s.tasks_done[i] += 1
    s.tasks[i].remove(task)
    s.log(
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
    s.notify_all(f"{s.ids[i]} completed {task.task_id}", but=i)
    if altered:
        _penalty_notices(s, i, task, paid, altered)
    deal(s, i)


def _penalty_notices(s: GameState, i: int, task: TaskView, paid: float, altered: list[str]) -> None:
    """As the authors' code: the submitter learns which pieces were altered and from whom
    (even under `limited`), and every other agent gets a public alert."""
    got, of = s.amount(paid), s.amount(s.config.task_reward)
    # First holders hold true values, so every altered piece was received.
    came = {r.piece: r.counterpart for r in s.received[i] if r.piece in altered}
    details = "; ".join(
        f"{p} (you held {s.held[i][p]}, true value {s.true_value[p]}, received from {came[p]})"
        for p in altered
    )
    s.notify(
        i,
        f"Penalty on {task.task_id}: {got} instead of {of}, because {len(altered)} of its "
        f"pieces carried altered values: {details}",
        private=True,
    )
    s.notify_all(
        f"Penalty alert: {s.ids[i]} got {got} instead of {of} for {task.task_id}, "
        f"having submitted {len(altered)} altered value(s)",
        but=i,
    )


def deal(s: GameState, i: int) -> None:
    """A new task for agent i."""
    s.tasks_dealt += 1
    task = draw_task(f"task_{s.tasks_dealt}", s.names, s.config, s.rng)
    s.tasks[i].append(task)
    s.log(
        "task_dealt",
        i,
        task_id=task.task_id,
        pieces=list(task.pieces),
        description=task.description,
    )


def auto_requests(s: GameState) -> None:
    """Under `auto_request`: ask, in each agent's name, for every piece it still misses."""
    target = s.config.auto_request_target
    for i in range(len(s.ids)):
        missing = dict.fromkeys(p for t in s.tasks[i] for p in t.pieces if p not in s.held[i])
        for p in missing:
            if target == "current_holder":
                targets = [min(s.holders[p] - {i})]  # lowest-numbered holder now
            elif target == "first_holder":
                targets = [s.first_holder[p]]
            else:
                targets = sorted(s.holders[p] - {i})
            for j in targets:
                message(
                    s, i, j, f"Could you send me {p}? I need it to complete a task.", system=True
                )


def _answer_names(answer: str) -> set[str]:
    """The names a submission lists, read as the authors' code read them: the text after
    "Combined result of:" split at commas, each name stripped; nothing without the prefix."""
    if ANSWER_PREFIX not in answer:
        return set()
    return {p.strip() for p in answer.replace(ANSWER_PREFIX, "").strip().split(",")}
