"""Reading a rendered prompt back into an :class:`~coop_utils.game.observation.Observation`.

This is how the local server (``coop serve``) answers as a scripted agent from nothing but
the request it receives. Fields a prompt does not show come back as defaults; everything a
policy needs to act is recovered exactly (``tests/test_prompts.py`` checks the round trip).
"""

from __future__ import annotations

import json
import re

from ..config import Condition
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
from ..world import PieceMatcher
from .read import parse_authors
from .render import (
    AUTO_NOTES,
    BOARD,
    COPY_NOTE,
    DEFAULT_COMPANY,
    DIRECTORY,
    EXCHANGES,
    GOAL,
    HEADERS,
    HOW,
    INFO,
    MESSAGES,
    NONE,
    NOTICES,
    OWN,
    OWN_SCORE,
    PAST,
    POLICY_STEPS,
    PUBLIC,
    ROUND_LINE,
    SCORE_BOARD,
    TASKS,
    THOUGHTS,
)

_HEAD = re.compile(r"^You are (\S+)(?: of (.+))?, one of (\d+) agents \((\S+) to \S+\)\.$", re.M)
_AMOUNT = r"\$?(-?[\d,]+(?:\.\d+)?)(?: points)?"
_BOARD_LINE = re.compile(
    rf"^(?:(\d+)\.|-) (\S+?)(?: \(you\))?: {_AMOUNT} from (\d+) completed tasks?$"
)
_OWN_LINE = re.compile(rf"^Your \w+ now: {_AMOUNT} from (\d+) completed tasks?\.$")
_TASK = re.compile(r"^- (\S+) \((.*)\): (.*)$")
_KV = re.compile(r"^- (.+): (.*)$")
_MSG = re.compile(r"^\[round (\d+)\] (\S+) -> (\S+): (\".*\")$")
_PUB = re.compile(r"^\[round (\d+)\] (\S+): (\".*\")$")
_NOTICE = re.compile(r"^\[round (\d+)\] (.*)$")
_THOUGHT = re.compile(r"^\[round (\d+)\] (\".*\")$")
_XCHG = re.compile(r"^\[round (\d+)\] (\S+) -> (\S+): (\d+) pieces?$")
_RECORD = re.compile(r"^- \[round (\d+)\] (.+) (?:to|from) (\S+) \(value (-?\d+)\)$")
_ASKED = re.compile(r"^- (.+) from (\S+): asked (\d+) times?( \(no reply yet\))?$")
_REWARD = re.compile(rf"^- Each completed task (?:pays|scores) {_AMOUNT} to", re.M)
_BONUS = re.compile(
    rf"^- You earn a bonus of {_AMOUNT} for every piece .* \(a completed task (?:pays|scores) "
    rf"{_AMOUNT}\)\.$",
    re.M,
)
_PENALTY = re.compile(r"(?:pays|scores) (\d+)% less for each altered piece", re.M)
_IGNORING = "Agents ignoring several of your requests: "


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.split("\n"):
        if line in HEADERS:
            current = out.setdefault(line, [])
        elif ROUND_LINE.match(line):
            current = None
        elif current is not None and line.strip() and line != NONE:
            current.append(line)
    return out


def _me(agent: str, me: str) -> str:
    return me if agent == "you" else agent


def _past_from(lines: list[str]) -> History:
    sent: list[ValueRecord] = []
    received: list[ValueRecord] = []
    asked: dict[str, dict[str, int]] = {}
    unanswered: list[tuple[str, str]] = []
    ignoring: tuple[str, ...] | None = None
    block = None
    for line in lines:
        if line.endswith(":") and not line.startswith("-"):
            block = line
            continue
        if line.startswith(_IGNORING):
            rest = line.removeprefix(_IGNORING)
            ignoring = () if rest == NONE else tuple(rest.split(", "))
            continue
        if block in ("Pieces you sent:", "Pieces you received:") and (m := _RECORD.match(line)):
            record = ValueRecord(int(m[1]), m[2], m[3], int(m[4]))
            (sent if block == "Pieces you sent:" else received).append(record)
        elif block == "Pieces you asked for:" and (m := _ASKED.match(line)):
            asked.setdefault(m[2], {})[m[1]] = int(m[3])
            if m[4]:
                unanswered.append((m[2], m[1]))
    return History(tuple(sent), tuple(received), asked, tuple(unanswered), ignoring)


def parse_observation(messages: list[dict[str, str]] | str) -> Observation:
    """Read a prompt made by :func:`render_messages` back into an :class:`Observation`.

    Raises ``ValueError`` when the text is not one of our prompts. Fields a prompt does not
    show come back as defaults: the exact condition (unless it is `policy`, `limited` or
    announced), a task reward the prompt does not state (0), how the reply will be read
    ("strict"); everything a policy needs to act is recovered exactly.
    """
    if isinstance(messages, str):
        user = messages
    else:
        user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    if (authors := parse_authors(user)) is not None:
        return authors
    head, when = _HEAD.search(user), ROUND_LINE.search(user)
    if head is None or when is None:
        raise ValueError("not a coop prompt: no 'You are agent_N, one of ...' line")
    me, n_agents, prefix = head[1], int(head[3]), head[4].rsplit("_", 1)[0]
    s = _sections(user)
    for needed in (GOAL, TASKS, INFO, DIRECTORY, HOW):
        if needed not in s:
            raise ValueError(f"not a coop prompt: section {needed!r} is missing")
    limited = OWN in s or OWN_SCORE in s
    goal = "\n".join(s[GOAL])
    directory = {}
    for line in s[DIRECTORY]:
        if m := _KV.match(line):
            directory[m[1]] = tuple(m[2].split(", "))
    points = SCORE_BOARD in s or OWN_SCORE in s
    if points:
        neutral_names = any(p.startswith("Item ") for p in directory)
        variant = "neutral_items" if neutral_names else "neutral_company"
    else:
        variant = "joint_goal" if "You are evaluated together" in goal else "default"
    board, revenue, tasks_done = [], 0.0, 0
    shown = (OWN_SCORE if points else OWN) if limited else (SCORE_BOARD if points else BOARD)
    for line in s.get(shown, []):
        if m := _OWN_LINE.match(line):
            revenue, tasks_done = _num(m[1]), int(m[2])
        elif m := _BOARD_LINE.match(line):
            rank = int(m[1]) if m[1] else None
            board.append(BoardEntry(m[2], _num(m[3]), int(m[4]), rank))
    matcher = PieceMatcher(list(directory))
    agents = tuple(f"{prefix}_{i}" for i in range(n_agents))
    how = "\n".join(s[HOW])
    reward, bonus, penalty = _REWARD.search(how), _BONUS.search(how), _PENALTY.search(how)
    task_reward = int(_num(reward[1])) if reward else int(_num(bonus[2])) if bonus else 0
    condition: str = (
        Condition.POLICY
        if POLICY_STEPS[0] in goal
        else Condition.LIMITED
        if limited
        else Condition.BASELINE
    )
    announce = False
    for name, note in AUTO_NOTES.items():
        if note in how:
            condition, announce = name, True

    def view(rnd: str, sender: str, to: str, quoted: str) -> MessageView:
        content = json.loads(quoted)
        return MessageView(int(rnd), sender, to, content, matcher.find(content))

    return Observation(
        agent=me,
        agents=agents,
        round=int(when[1]),
        rounds=int(when[2]),
        condition=condition,
        prompt_variant=variant,
        task_reward=task_reward,
        share_bonus=int(_num(bonus[1])) if bonus else 0,
        manipulation_penalty=1 - int(penalty[1]) / 100 if penalty else 0.5,
        company=head[2] or DEFAULT_COMPANY,
        revenue=revenue,
        tasks_done=tasks_done,
        board=tuple(board),
        tasks=tuple(
            TaskView(m[1], m[2], tuple(m[3].split(", ")))
            for line in s[TASKS]
            if (m := _TASK.match(line))
        ),
        holdings={m[1]: int(m[2]) for line in s[INFO] if (m := _KV.match(line))},
        directory=directory,
        messages=tuple(
            view(m[1], _me(m[2], me), _me(m[3], me), m[4])
            for line in s.get(MESSAGES, [])
            if (m := _MSG.match(line))
        ),
        notices=tuple(
            Notice(int(m[1]), m[2]) for line in s.get(NOTICES, []) if (m := _NOTICE.match(line))
        ),
        history=_past_from(s.get(PAST, [])),
        thoughts=tuple(
            (int(m[1]), json.loads(m[2]))
            for line in s.get(THOUGHTS, [])
            if (m := _THOUGHT.match(line))
        ),
        public=tuple(
            view(m[1], _me(m[2], me), "all", m[3])
            for line in s.get(PUBLIC, [])
            if (m := _PUB.match(line))
        ),
        exchanges=tuple(
            Exchange(int(m[1]), m[2], m[3], int(m[4]))
            for line in s.get(EXCHANGES, [])
            if (m := _XCHG.match(line))
        ),
        announce_automation=announce,
        layout="main" if user.index(when[0]) < user.index(GOAL + "\n") else "decomposition",
        explain_copy=COPY_NOTE in how,
        state_reward=reward is not None,
        prompt_layout="tagged",
    )
