"""What an agent sees: the round-start snapshot and the :class:`Observation` built from it.

Round-start snapshot vs live state: the revenue board, the public channel and the
information directory are copied when a round starts (:func:`snapshot_round`); messages,
notices, holdings and the recent-exchanges list are live. The board's order is drawn
again for every prompt under ``board_order="shuffled"``.

A scripted episode builds about a thousand observations (every immediate reply needs
one), so :func:`observe` only copies per-agent lists and dicts kept ready for it; every
container it hands out is a fresh copy or a tuple of frozen records.
"""

from __future__ import annotations

import random
from functools import cache
from typing import Any, TypeVar

from ..config import EnvConfig
from ..observation import BoardEntry, History, Observation
from .state import GameState

T = TypeVar("T")


def shuffled(rng: random.Random, items: tuple[T, ...]) -> tuple[T, ...]:
    """What ``rng.shuffle`` makes of a copy of ``items``, with the same draws, in half the
    time: CPython's Fisher-Yates (each index below i + 1 drawn by ``getrandbits`` with
    rejection), written out because the board is shuffled for every prompt, a thousand
    times an episode. ``tests/test_env.py`` checks it against ``random.shuffle``."""
    out, getrandbits = list(items), rng.getrandbits
    for i, n, bits in _draws(len(out)):
        j = getrandbits(bits)
        while j >= n:
            j = getrandbits(bits)
        out[i], out[j] = out[j], out[i]
    return tuple(out)


@cache
def _draws(length: int) -> tuple[tuple[int, int, int], ...]:
    """(i, i + 1, bits to draw below i + 1) for each swap of a shuffle of ``length`` items."""
    return tuple((i, i + 1, (i + 1).bit_length()) for i in range(length - 1, 0, -1))


def setting(config: EnvConfig, ids: tuple[str, ...]) -> dict[str, Any]:
    """The observation's fields that stay the same for a whole episode, by name."""
    return dict(
        agents=ids,
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


def snapshot_round(s: GameState) -> None:
    """Copy the board, the public channel and the directory as the round starts."""
    s.board = _board(s)
    s.public_at_start = tuple(s.public)
    ids, holders, directory = s.ids, s.holders, s.directory
    for name in s.moved if directory else holders:  # all of them at the first round
        directory[name] = tuple([ids[h] for h in sorted(holders[name])])
    s.moved.clear()


def _board(s: GameState) -> tuple[BoardEntry, ...]:
    """The round-start board: ranked, shuffled once (`shuffled_per_round`) or in id order
    (`shuffled`: :func:`observe` shuffles it for every prompt). Empty in round 1 under
    ``board_first_round="empty"``, as the authors' agents saw it."""
    cfg = s.config
    if s.round == 1 and cfg.board_first_round == "empty":
        return ()
    entries = [BoardEntry(agent, s.revenue[i], s.tasks_done[i]) for i, agent in enumerate(s.ids)]
    if cfg.ranked_board:
        entries.sort(key=lambda e: -e.revenue)
        return tuple(
            BoardEntry(e.agent, e.revenue, e.tasks_done, r + 1) for r, e in enumerate(entries)
        )
    if cfg.board_order == "shuffled_per_round":
        s.rng.shuffle(entries)
    return tuple(entries)


class Viewer:
    """Builds observations of one episode; what it keeps is fixed for the whole episode."""

    def __init__(self, s: GameState):
        cfg = s.config
        self.state = s
        self.setting = setting(cfg, s.ids)
        self.shuffle_board = cfg.board_order == "shuffled" and not cfg.ranked_board
        self.truncated = cfg.truncated
        self.limited = s.limited
        self.recent = cfg.recent_exchanges
        self.unanswered_after, self.aware = cfg.unanswered_after, cfg.past_asks == "answered_aware"
        self.ignored_after = cfg.ignored_after if cfg.show_ignoring else None

    def observe(self, i: int, whole_history: bool = False) -> Observation:
        """A fresh view: containers are copies or tuples, so an agent cannot touch the state.

        ``whole_history`` skips the prompt's truncation: perfect play reads the game state, as
        the authors' perfect agents read their inboxes, so truncation never lowers the ceiling.
        """
        s, limited = self.state, self.limited
        board, public = s.board, s.public_at_start
        if board and self.shuffle_board:  # a fresh order for every prompt, as the authors did
            board = shuffled(s.board_rng, board)
        messages, notices, thoughts = s.messages[i], s.notices[i], s.thoughts[i]
        if self.truncated and not whole_history:
            messages, notices, thoughts, public = (
                messages[-10:],
                notices[-10:],
                thoughts[-5:],
                public[-5:],
            )
        recent, st = self.recent, self.setting
        return Observation(  # by position, in field order: by keyword it took three times longer
            s.ids[i],  # agent
            st["agents"],
            s.round,
            st["rounds"],
            st["condition"],
            st["prompt_variant"],
            st["task_reward"],
            st["share_bonus"],
            st["manipulation_penalty"],
            st["company"],
            s.revenue[i],
            s.tasks_done[i],
            () if limited else board,  # board
            tuple(s.tasks[i]),  # tasks
            dict(s.held[i]),  # holdings
            dict(s.directory),  # directory: the round's snapshot, shared by its observations
            tuple(messages),
            tuple(notices),
            self.history(i),
            () if limited else tuple(thoughts),  # thoughts
            public,
            () if limited or not recent else tuple(s.exchanges[-recent:]),  # exchanges
            st["announce_automation"],
            st["layout"],
            st["explain_copy"],
            st["state_reward"],
            st["prompt_layout"],
            st["message_rounds"],
            st["parsing"],
        )

    def history(self, i: int) -> History:
        """The agent's past actions: values sent and received, asks, and who ignores it."""
        s = self.state
        asked: dict[str, dict[str, int]] = {}
        unanswered: tuple[tuple[str, str], ...] = ()
        if s.asked[i]:  # often empty: perfect play's requests use no request word
            asked = {to: dict(by_piece) for to, by_piece in s.asked[i].items()}
            threshold, aware, held = self.unanswered_after, self.aware, s.held[i]
            unanswered = tuple(
                [
                    (to, p)
                    for to, by_piece in asked.items()
                    for p, n in by_piece.items()
                    if n > threshold and not (aware and p in held)
                ]
            )
        ignoring = None
        if self.ignored_after is not None:  # show_ignoring
            ignored: dict[int, int] = {}
            for (j, _), n in s.pending_asks[i].items():
                ignored[j] = ignored.get(j, 0) + n
            ignoring = tuple(
                [s.ids[j] for j, c in sorted(ignored.items()) if c >= self.ignored_after]
            )
        return History(tuple(s.sent[i]), tuple(s.received[i]), asked, unanswered, ignoring)
