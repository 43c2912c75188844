"""One frozen, typed configuration for an episode.

Every number SPEC.md §2 names, and every choice the paper left open (§7), is a
field here with its default and a docstring, so a run's behaviour is fully
described by ``EnvConfig.model_dump()``. Conditions (§4) are selected by name
through :meth:`EnvConfig.for_condition`, which sets the fields the condition
implies; nothing else in the code branches on a hidden constant.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Condition = Literal["baseline", "auto_request", "auto_fulfill", "policy", "incentive", "limited"]
CONDITIONS: tuple[str, ...] = Condition.__args__
PromptVariant = Literal["default", "neutral_company", "neutral_items", "joint_goal"]
PROMPT_VARIANTS: tuple[str, ...] = PromptVariant.__args__

PERFECT_PLAY_TASKS = 204.0
"""The paper's perfect-play ceiling at the default setting (Table 1); 100% optimal."""

PAPER_MODELS: tuple[str, ...] = (
    "gemini-2.5-pro",
    "claude-sonnet-4",
    "o3-mini",
    "deepseek-r1",
    "gpt-5-mini",
    "gemini-2.5-flash",
    "o3",
    "gpt-4.1-mini",
)
"""The paper's eight models (short names, the order of its Table 1)."""

INCENTIVE_SHARE_BONUS = 1000
"""Sender bonus per piece under the `incentive` condition (10% of a task's value)."""


class EnvConfig(BaseModel):
    """The environment of SPEC §2 with the paper's main setting as defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    condition: Condition = "baseline"
    """Experimental condition (SPEC §4); use `for_condition` to also set its implied fields."""
    n_agents: int = Field(10, ge=2)
    """Agents in the group."""
    rounds: int = Field(20, ge=1)
    """Rounds per episode; every agent acts once per round and the run lasts all rounds."""
    n_pieces: int = Field(100, ge=1)
    """Distinct named pieces of information; piece i starts with agent i mod n_agents."""
    tasks_per_agent: int = Field(2, ge=1)
    """Open tasks each agent always holds; a completed task is replaced at once."""
    pieces_per_task: int = Field(4, ge=1)
    """Pieces a task requires, drawn without replacement from all pieces."""
    task_reward: int = Field(10_000, ge=0)
    """Dollars paid to the submitter of a completed task (the reward-sweep ablation varies it)."""
    share_bonus: int = Field(0, ge=0)
    """Dollars paid to the sender per piece newly transferred (1000 under `incentive`)."""
    manipulation_penalty: float = Field(0.5, ge=0.0, le=1.0)
    """Reward multiplier per altered piece in a submitted task (compounds per piece)."""
    board_order: Literal["shuffled", "ranked"] = "shuffled"
    """Revenue board order: shuffled each round (authors' main code) or ranked (their decomposition code)."""
    truncate_context: bool = False
    """Keep only the latest 10 messages, 5 broadcasts, 10 notices and 5 thoughts in the prompt."""
    prompt_variant: PromptVariant = "default"
    """Appendix prompt ablations: neutral company wording, neutral item names and points, joint-evaluation goal."""
    recent_exchanges: int = Field(10, ge=0)
    """How many of the latest exchanges the prompt lists."""
    unanswered_after: int = Field(2, ge=0)
    """A piece asked for more than this many times is flagged as unanswered in the agent's history."""
    ignored_after: int = Field(3, ge=1)
    """An agent that ignored this many requests or more is listed as ignoring."""
    require_values: bool = True
    """A `send_information` piece without a value is rejected (SPEC: a value is required per piece)."""
    auto_request_target: Literal["first_holder", "all_holders"] = "first_holder"
    """Under `auto_request`, whom the system asks for each missing piece."""
    request_match: Literal["name", "name_or_index"] = "name"
    """How a message is recognised as naming a piece: its full name, case-insensitively (SPEC §5 leaves it open)."""
    announce_automation: bool = False
    """Tell agents under `auto_request` / `auto_fulfill` that requests or replies are automated.
    The paper does not say; by default agents are not told (their own messages simply go
    undelivered under `auto_request`)."""
    company: str = "InfoCluse Inc."
    """Company named in the system message (the paper's wording)."""

    @model_validator(mode="after")
    def _check(self) -> EnvConfig:
        if self.pieces_per_task > self.n_pieces:
            raise ValueError("pieces_per_task cannot exceed n_pieces")
        return self

    @classmethod
    def for_condition(cls, condition: str = "baseline", **overrides) -> EnvConfig:
        """The config for a named condition: `incentive` implies `share_bonus=1000`.

        Explicit ``overrides`` win, so ``for_condition("incentive", share_bonus=500)`` works.
        """
        if condition not in CONDITIONS:
            raise ValueError(
                f"unknown condition {condition!r}; choose one of {', '.join(CONDITIONS)}"
            )
        implied = {"share_bonus": INCENTIVE_SHARE_BONUS} if condition == "incentive" else {}
        return cls(condition=condition, **{**implied, **overrides})

    # Convenience flags so mechanics read in the paper's words.
    @property
    def auto_request(self) -> bool:
        return self.condition == "auto_request"

    @property
    def auto_fulfill(self) -> bool:
        return self.condition == "auto_fulfill"

    @property
    def limited(self) -> bool:
        return self.condition == "limited"

    @property
    def policy(self) -> bool:
        return self.condition == "policy"
