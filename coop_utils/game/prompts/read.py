"""Reading the authors' layout (:mod:`.authors`) back: its sections, and the observation.

The headers and sentences come from the same word files the renderer uses, so the two
cannot drift apart; ``tests/test_prompts.py`` round-trips every condition and variant.
What the layout does not show comes back as a default (see :func:`parse_authors`).
"""

from __future__ import annotations

import re
from functools import cache
from types import SimpleNamespace

from ..config import PROMPT_VARIANTS, Condition
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
from .authors import ANNOUNCED, INDENT, words
from .render import (
    BOARD,
    DEFAULT_COMPANY,
    DIRECTORY,
    EXCHANGES,
    GOAL,
    HOW,
    INFO,
    MESSAGES,
    NOTICES,
    OWN,
    OWN_SCORE,
    PAST,
    PUBLIC,
    ROUND_LINE,
    SCORE_BOARD,
    TASKS,
    THOUGHTS,
)

SECTIONS = (
    "system",
    "identity",
    "round",
    "goal",
    "board",
    "tasks",
    "information",
    "directory",
    "messages",
    "notices",
    "past_actions",
    "thoughts",
    "public",
    "exchanges",
    "instructions",
)
"""The sections of a prompt, in the authors' order, as :func:`prompt_sections` names them."""
_HEADERS = {  # section name -> the name of its header in the words
    "board": "board",
    "tasks": "tasks",
    "information": "info",
    "directory": "directory",
    "messages": "messages",
    "notices": "notices",
    "past_actions": "past",
    "thoughts": "thoughts",
    "public": "public",
    "exchanges": "exchanges",
}
_FREE = ("messages", "notices", "thoughts", "public")
"""Sections of free text, whose line breaks are followed by INDENT."""
_AMOUNT = r"\$?(-?[\d,]+(?:\.\d+)?)(?: points)?"


@cache
def pattern(template: str) -> re.Pattern[str]:
    """A word line with {fields} as a regex with one group per field (amounts as numbers)."""
    out = re.escape(template)
    for name in re.findall(r"\{(\w+)\}", template):
        group = _AMOUNT if name in ("amount", "bonus", "reward") else r"(.+?)"
        group = r"(\S+)" if name == "agent" else group
        out = out.replace(re.escape("{" + name + "}"), group)
    return re.compile(f"^{out}$")


def _variant(lines: list[str]) -> str | None:
    """The variant whose first line and goal sentence the prompt has (None: not this layout)."""
    head = lines[:12]  # the goal comes within the first lines (after the policy's steps)
    for v in ("joint_goal", "neutral_items", "default", "neutral_company"):
        w = words(v)
        if pattern(w.identity).match(lines[0]) and any(x.startswith(w.goal) for x in head):
            return v
    return None


def split(user: str) -> tuple[SimpleNamespace, dict[str, list[str]]] | None:
    """The words of the prompt's variant and its lines by section; None if not this layout.
    Free-text entries spanning several lines are joined back into one entry."""
    lines = user.rstrip("\n").split("\n")
    variant = _variant(lines)
    if variant is None:
        return None
    w = words(variant)
    headers = {getattr(w, h): name for name, h in _HEADERS.items()}
    own = w.own_board
    out: dict[str, list[str]] = {"identity": [lines[0]]}
    current = "goal"
    for line in lines[1:]:
        if line == w.limit:
            current = "instructions"
        elif current != "instructions":
            if line in headers or line == own:
                current = headers.get(line, "board")
                out.setdefault(current, []).append(line)
                continue
            if pattern(w.round).match(line):
                out["round"] = [line]
                current = "goal" if "goal" not in out else current
                continue
        if line == "":
            continue
        body = out.setdefault(current, [])
        if current in _FREE and line.startswith(INDENT[1:]) and len(body) > 1:
            body[-1] += "\n" + line.removeprefix(INDENT[1:])
        else:
            body.append(line)
    return w, out


_TAGGED = {GOAL: "goal", BOARD: "board", SCORE_BOARD: "board", OWN: "board", OWN_SCORE: "board"}
_TAGGED |= {TASKS: "tasks", INFO: "information", DIRECTORY: "directory", MESSAGES: "messages"}
_TAGGED |= {NOTICES: "notices", PAST: "past_actions", THOUGHTS: "thoughts", PUBLIC: "public"}
_TAGGED |= {EXCHANGES: "exchanges", HOW: "instructions"}


def prompt_sections(messages: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(section, text) of a turn's messages (:func:`render_messages`), in prompt order: the
    system message, then each section of the user message as :data:`SECTIONS` names them
    (either layout). ``len(text)`` is a section's length in characters."""
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    user = next(m["content"] for m in messages if m["role"] == "user")
    out = [("system", system)]
    if (got := split(user)) is not None:
        return out + [(name, "\n".join(lines)) for name, lines in got[1].items()]
    for block in user.rstrip("\n").split("\n\n"):  # the tagged layout: one block a section
        head = block.split("\n", 1)[0]
        name = _TAGGED.get(head) or ("round" if ROUND_LINE.match(head) else "identity")
        out.append((name, block))
    return out


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _me(agent: str, me: str) -> str:
    return me if agent in ("You", "you") else agent


def _values(line: str) -> list[tuple[str, int]]:
    return [(p, int(v)) for p, v in (x.rsplit("=", 1) for x in line.split(", "))]


_TASK = re.compile(r"^Task \d+ \((\S+)\):$")
_INFO = re.compile(r"^- (.+) \(value (-?\d+)\)$")
_DIR = re.compile(r"^(\S+): ?(.*)$")
_MSG = re.compile(r"^(?:\[r(\d+)\] )?(\S+) to (\S+): (.*)$", re.S)
_BOARD = re.compile(rf"^(?:(\d+)\. )?(\S+): {_AMOUNT}( \(you\))?$")
_ASK = re.compile(r"^  of (\S+): (.+) \((\d+) asks?(.*)\)$")
_BOOK = re.compile(r"^    (to|from) (\S+): (.*)$")
_XCHG = re.compile(r"^- Round (\d+): (\S+) to (\S+), (\d+) pieces?$")
_THOUGHT = re.compile(r"^Round (\d+): (.*)$", re.S)
_PUBLIC = re.compile(r"^(\S+): (.*)$", re.S)


def _history(lines: list[str], w: SimpleNamespace) -> History:
    sent: list[ValueRecord] = []
    received: list[ValueRecord] = []
    asked: dict[str, dict[str, int]] = {}
    unanswered: list[tuple[str, str]] = []
    ignoring: tuple[str, ...] | None = None
    block = None
    for line in lines:
        if not line.startswith(" "):
            block = line
            if block == w.past_ignoring:
                ignoring = ()
        elif block == w.past_asked and (m := _ASK.match(line)):
            asked.setdefault(m[1], {})[m[2]] = int(m[3])
            if m[4] == w.past_unanswered:
                unanswered.append((m[1], m[2]))
        elif block == w.past_ignoring:
            ignoring = (*(ignoring or ()), line.split()[0])
        elif m := _BOOK.match(line):
            book = sent if m[1] == "to" else received
            book += [ValueRecord(0, p, m[2], v) for p, v in _values(m[3])]
    return History(tuple(sent), tuple(received), asked, tuple(unanswered), ignoring)


def _line(regex: re.Pattern[str], line: str) -> re.Match[str]:
    """The match of a line the layout fixes; a line that does not match is an error."""
    m = regex.match(line)
    if m is None:
        raise ValueError(f"not a line of the authors' layout: {line!r} (expected {regex.pattern})")
    return m


def parse_authors(user: str) -> Observation | None:
    """The observation an authors'-layout user message shows; None if it is not one.

    Not shown, so returned as defaults: the round of each notice, broadcast and past send
    (0), the task counts on the board (0; the own count only under `limited`), and the
    order of past sends (grouped by the other agent, as shown)."""
    got = split(user)
    if got is None:
        return None
    w, s = got
    ident = _line(pattern(w.identity), s["identity"][0])
    me = ident[1]
    when = _line(pattern(w.round), s["round"][0])
    goal = "\n".join(s.get("goal", []))
    how = s.get("instructions", [])
    held = {m[1]: m[2] for line in s["directory"][1:] if (m := _DIR.match(line))}
    agents = sorted(held, key=lambda a: int(a.rsplit("_", 1)[1]))  # shown in text order
    directory: dict[str, list[str]] = {}
    for a in agents:  # holders in the environment's (numeric) order
        for p in filter(None, held[a].split(", ")):
            directory.setdefault(p, []).append(a)
    matcher = PieceMatcher(list(directory))
    limited = s["board"][0] == w.own_board
    board, revenue, tasks_done = [], 0.0, 0
    for line in s["board"][1:]:
        if limited:
            if m := pattern(w.own_line).match(line):
                revenue = _num(m[1])
            elif line.startswith("Completed tasks: "):
                tasks_done = int(line.rsplit(" ", 1)[1])
        elif m := _BOARD.match(line):
            board.append(BoardEntry(m[2], _num(m[3]), 0, int(m[1]) if m[1] else None))
            if m[4]:
                revenue = _num(m[3])
    tasks: list[TaskView] = []
    task_id = desc = ""
    for line in s["tasks"][1:]:
        if m := _TASK.match(line):
            task_id = m[1]
        elif line.startswith("  - Pieces it needs: "):
            tasks.append(TaskView(task_id, desc, tuple(line.split(": ", 1)[1].split(", "))))
        elif line.startswith("  - "):
            desc = line[4:]
    found: dict[str, re.Match[str] | None] = dict.fromkeys(("bonus", "reward", "penalty"))
    for line in how:
        for name in found:
            found[name] = found[name] or pattern(getattr(w, name)).match(line)
    bonus, reward, penalty = found["bonus"], found["reward"], found["penalty"]
    condition = (
        Condition.POLICY
        if w.policy[0] in goal.split("\n")
        else Condition.LIMITED
        if limited
        else Condition.BASELINE
    )
    announce = False
    for name in ANNOUNCED:
        if getattr(w, name) in how:
            condition, announce = name, True
    variant = next(v for v in PROMPT_VARIANTS if words(v) is w)

    def view(rnd, sender: str, to: str, content: str) -> MessageView:
        return MessageView(int(rnd or 0), sender, to, content, matcher.find(content))

    messages = [_line(_MSG, line) for line in s["messages"][1:] if line != w.no_messages]
    return Observation(
        agent=me,
        agents=tuple(agents),
        round=int(when[1]),
        rounds=int(when[2]),
        condition=condition,
        prompt_variant=variant,
        task_reward=int(_num(reward[1])) if reward else int(_num(bonus[2])) if bonus else 0,
        share_bonus=int(_num(bonus[1])) if bonus else 0,
        manipulation_penalty=1 - int(penalty[1]) / 100 if penalty else 0.5,
        company=ident[2] if ident.re.groups > 1 else DEFAULT_COMPANY,
        revenue=revenue,
        tasks_done=tasks_done,
        board=tuple(board),
        tasks=tuple(tasks),
        holdings={m[1]: int(m[2]) for line in s["information"][1:] if (m := _INFO.match(line))},
        directory={p: tuple(hs) for p, hs in directory.items()},
        messages=tuple(view(m[1], _me(m[2], me), _me(m[3], me), m[4]) for m in messages),
        notices=tuple(
            Notice(0, line.removeprefix("SYSTEM: "))
            for line in s["notices"][1:]
            if line != w.no_notices
        ),
        history=_history(s["past_actions"][1:], w),
        thoughts=tuple(
            (int(m[1]), m[2]) for line in s.get("thoughts", [])[1:] if (m := _THOUGHT.match(line))
        ),
        public=tuple(
            view(0, _me(m[1], me), "all", m[2])
            for line in s["public"][1:]
            if line != w.no_public and (m := _PUBLIC.match(line))
        ),
        exchanges=tuple(
            Exchange(int(m[1]), m[2], m[3], int(m[4]))
            for line in s.get("exchanges", [])[1:]
            if (m := _XCHG.match(line))
        ),
        announce_automation=announce,
        layout="main" if user.index(s["round"][0]) < user.index(s["goal"][0]) else "decomposition",
        explain_copy=w.copy in how,
        state_reward=reward is not None,
        prompt_layout="authors",
        message_rounds=all(m[1] for m in messages),
    )
