"""The zero-cost collaboration environment: one episode's rounds and turns.

The environment owns the game state (:class:`~.state.GameState`, with the event log); agents
only ever see an :class:`~coop_utils.game.observation.Observation` (:mod:`.view`) and return
a :class:`~coop_utils.game.actions.Turn`, whose actions the rules (:mod:`.rules`) apply.
Every rule where the authors' code and a friendlier reading differ is a config field
(``EnvConfig``): the default is what they ran, and ``docs/FIDELITY.md`` lists each rule with
the test that pins it.
"""

from __future__ import annotations

from typing import Any

from ..actions import Turn
from ..config import EnvConfig
from ..observation import Observation
from . import rules
from .state import GameState
from .view import Viewer, snapshot_round


class Environment:
    """One episode. Drive it with ``start_round`` / ``begin_turn`` / ``apply_turn`` /
    ``end_round``, then ``finish``; ``observe`` is what an agent is shown; ``state`` is the
    game itself."""

    def __init__(
        self,
        config: EnvConfig,
        seed: int,
        run_id: str = "run",
        agent_labels: list[str] | None = None,
    ):
        labels = list(agent_labels or ["unknown"] * config.n_agents)
        self.state = s = GameState(config, seed, run_id)
        self.viewer = Viewer(s)
        s.log(
            "run_start",
            None,
            config=config.model_dump(),
            seed=seed,
            agents=dict(zip(s.ids, labels)),
            pieces=[{"name": p.name, "value": p.value, "holder": p.first_holder} for p in s.pieces],
        )
        for i in range(config.n_agents):
            for _ in range(config.tasks_per_agent):
                rules.deal(s, i)

    def start_round(self) -> list[int]:
        """Advance the round, snapshot board/public/directory, return a fresh random turn order."""
        s = self.state
        s.round += 1
        order = list(range(s.config.n_agents))
        s.rng.shuffle(order)
        snapshot_round(s)
        s.log("round_start", None, order=[s.ids[i] for i in order])
        return order

    def begin_turn(self, i: int, instant: bool = False) -> None:
        self.state.turn += 1
        self.state.log("turn_start", i, instant=instant)

    def observe(self, i: int, whole_history: bool = False) -> Observation:
        """What agent i is shown now (``whole_history``: without the prompt's truncation)."""
        return self.viewer.observe(i, whole_history)

    def apply_turn(self, i: int, turn: Turn) -> list[int]:
        """Log the reply and apply its actions in order. Returns agents that got a message."""
        s = self.state
        for call in turn.calls:
            s.log("llm_call", i, **call)
        if turn.error is not None:
            lost: dict[str, Any] = {
                "reason": turn.error,
                "attempts": turn.attempts,
                "faults": list(turn.faults),
            }
            if turn.error_kind == "refusal":
                lost["text"] = turn.raw
            s.log(turn.error_kind, i, **lost)
            return []
        s.log(
            "agent_reply",
            i,
            private_thoughts=turn.private_thoughts,
            raw=turn.raw,
            n_actions=len(turn.actions),
            reasoning=turn.reasoning,
        )
        if turn.private_thoughts and (
            turn.actions or s.config.remember_thoughts == "always"
        ):  # the authors' code kept no thoughts of a turn without a well-formed action
            s.thoughts[i].append((s.round, turn.private_thoughts))
        for issue in turn.issues:
            rules.report_issue(s, i, issue)
        recipients: list[int] = []
        for action in turn.actions:
            reached = rules.apply_action(s, i, action)
            if reached is not None:
                recipients.append(reached)
        return recipients

    def end_round(self) -> None:
        s = self.state
        if s.config.auto_request and s.round < s.config.rounds:
            rules.auto_requests(s)  # none after the last round: nobody could answer them
        s.log(
            "round_end",
            None,
            revenues=dict(zip(s.ids, s.revenue)),
            tasks_done=dict(zip(s.ids, s.tasks_done)),
        )

    def finish(self) -> dict[str, Any]:
        s = self.state
        summary = {
            "tasks": sum(s.tasks_done),
            "revenues": dict(zip(s.ids, s.revenue)),
            "tasks_done": dict(zip(s.ids, s.tasks_done)),
        }
        s.log("run_end", None, **summary)
        return summary
