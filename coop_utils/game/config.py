"""One frozen, typed configuration for an episode.

Every number of the paper's setting, and every choice the paper left open, is a
field here with its default and a docstring, so a run's behaviour is fully
described by ``EnvConfig.model_dump()``. Conditions (§4) are selected by name
through :meth:`EnvConfig.for_condition`, which sets the fields the condition
implies; nothing else in the code branches on a hidden constant.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Condition(StrEnum):
    """The paper's conditions (§4). Each member is its code name (the string in configs, grid
    files, run folders and event logs; ``str(member)`` gives it) and carries its name in the
    paper's terms (in the words of our sources: the paper's exact headings were not at hand,
    docs/STUDY.md) and a line on what it changes."""

    paper_name: str
    description: str

    def __new__(cls, value: str, paper_name: str, description: str) -> Condition:
        member = str.__new__(cls, value)
        member._value_ = value
        member.paper_name = paper_name
        member.description = description
        return member

    def __repr__(self) -> str:
        """The code name, quoted as a plain string's: what users type and messages show."""
        return repr(self._value_)

    BASELINE = "baseline", "Baseline", "the game as it is; nothing changes"
    AUTO_REQUEST = (
        "auto_request",
        "Automated request",
        "after each round but the last the system asks a holder of every missing piece in the agent's name, "
        "and the agent's own messages are not delivered: what is left is whether agents send "
        "when asked (the cooperation rate)",
    )
    AUTO_FULFILL = (
        "auto_fulfill",
        "Automated fulfillment",
        "a message to a holder naming its pieces moves them at once, at their true values: "
        "what is left is whether agents ask and submit (the competence rate)",
    )
    POLICY = (
        "policy",
        "Explicit protocol",
        "three steps before the goal: ask for what you need, send what is asked, submit "
        "when complete",
    )
    INCENTIVE = (
        "incentive",
        "Sender incentive",
        "the sender of a piece earns a bonus (10% of a task's value), told to the agents",
    )
    LIMITED = (
        "limited",
        "Limited visibility",
        "no revenue board, no notices or exchanges of others, no memory of one's own earlier "
        "thoughts: does comparing oneself with peers drive withholding?",
    )


CONDITIONS: tuple[Condition, ...] = tuple(Condition)
PromptVariant = Literal["default", "neutral_company", "neutral_items", "joint_goal"]
PROMPT_VARIANTS: tuple[str, ...] = get_args(PromptVariant)

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

DECOMPOSITION: tuple[Condition, ...] = (
    Condition.BASELINE,
    Condition.AUTO_REQUEST,
    Condition.AUTO_FULFILL,
)
"""The causal decomposition: automate requests (cooperation) or replies (competence)."""
INTERVENTIONS: tuple[Condition, ...] = (Condition.POLICY, Condition.INCENTIVE, Condition.LIMITED)
"""The interventions, each compared with baseline (``Condition.paper_name`` names each)."""
ABLATIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "rounds_10": {"rounds": 10},
    "rounds_30": {"rounds": 30},
    "agents_20": {"n_agents": 20},
    "neutral_company": {"prompt_variant": "neutral_company"},
    "neutral_items": {"prompt_variant": "neutral_items"},
    "joint_goal": {"prompt_variant": "joint_goal"},
    "reward_100": {"task_reward": 100},
    "reward_1k": {"task_reward": 1_000},
    "reward_100k": {"task_reward": 100_000},
}
"""Appendix ablations: rounds, group size, prompt wording, reward scale."""

INCENTIVE_SHARE_BONUS = 1000
"""Sender bonus per piece under the `incentive` condition (10% of a task's value)."""

MAX_TURNS = 2_000
"""Cap on rounds × n_agents, ten times the paper's 200: an episode's log and prompts grow
with every turn (200 rounds × 10 agents already hold 16 MB of events in memory)."""


class EnvConfig(BaseModel):
    """The paper's environment, with its paper's main setting as defaults. ``model_dump()``
    keeps ``condition`` a :class:`Condition`; ``model_dump(mode="json")`` gives plain values
    for JSON or YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    condition: Condition = Condition.BASELINE
    """Experimental condition; use `for_condition` to also set its implied fields."""
    n_agents: int = Field(10, ge=2)
    """Agents in the group."""
    rounds: int = Field(20, ge=1)
    """Rounds per episode; every agent acts once per round and the run lasts all rounds.
    rounds × n_agents may not exceed MAX_TURNS (2,000)."""
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
    board_order: Literal["shuffled", "ranked", "shuffled_per_round"] = "shuffled"
    """Revenue board order: reshuffled for every prompt (the authors' main code), ranked by
    revenue (their decomposition code), or shuffled once per round (our earlier choice)."""
    board_first_round: Literal["empty", "zeros"] = "empty"
    """Round 1's board: empty, as the authors' code showed it (their board lists only agents
    with a revenue record, and none has one before the first turn), or every agent at 0."""
    truncate_context: bool = False
    """Keep only the latest 10 messages, 5 broadcasts, 10 notices and 5 thoughts in the prompt."""
    prompt_variant: PromptVariant = "default"
    """Appendix prompt ablations: `neutral_company` is the authors' variant A (a score board in
    points, no company), `neutral_items` their variant B (A plus neutral item names),
    `joint_goal` the goal stating joint evaluation."""
    prompt_profile: Literal["as_run", "uniform"] = "as_run"
    """Under `auto_request` / `auto_fulfill` the authors ran their decomposition package's own
    prompt (`as_run`: ranked board, history always truncated, no "cooperate" sentence, goal
    before the round line); `uniform` shows the baseline prompt in every condition."""
    prompt_layout: Literal["authors", "tagged"] = "authors"
    """How the user message is laid out. `authors`: the authors' sections, facts and arrangement
    in our words (directory by agent, board in dollars only, free text as written);
    `tagged`: our earlier layout (directory by piece, board with task counts, every message,
    notice, thought and broadcast tagged with its round and JSON-quoted)."""
    message_rounds: bool = True
    """Under the `authors` layout, show each direct message's round (the offline scripted
    agents read only the prompt and key their answers on the round of an ask); False shows
    the history exactly as the authors did, without it."""
    explain_copy: bool = False
    """Tell agents that a sent piece is a copy the sender keeps (the authors' prompt does not)."""
    state_reward: bool = False
    """Tell agents what a completed task pays its submitter (the authors' prompt says so only
    beside the sender bonus under `incentive`)."""
    piece_names: Literal["random", "cyclic"] = "random"
    """Each piece's name template is drawn at random (the authors' code), or assigned in turn
    (`cyclic`, our earlier choice: each agent then holds a single category of piece)."""
    recent_exchanges: int = Field(10, ge=0)
    """How many of the latest exchanges the prompt lists."""
    past_asks: Literal["as_run", "answered_aware"] = "as_run"
    """What the past-actions section counts as an ask. `as_run` (the authors'): per recipient and
    piece, every message of the agent's own naming the piece with a request word ("need",
    "please", ...), flagged as unanswered after more than `unanswered_after` asks whether or not
    it arrived. `answered_aware`: every own message naming a piece the agent lacks, flagged only
    while the piece is still missing."""
    unanswered_after: int = Field(2, ge=0)
    """A piece asked of one agent more than this many times is flagged as unanswered."""
    show_ignoring: bool = False
    """List agents that left `ignored_after` or more of this agent's requests unanswered (the
    authors' prompt has this list but their code never fills it)."""
    ignored_after: int = Field(3, ge=1)
    """With `show_ignoring`: how many unanswered requests put an agent on the list."""
    on_agent_error: Literal["abort", "lose_turn"] = "abort"
    """A model call that failed after its retries (`llm_error`, `provider_error`, `refusal`):
    `abort` ends the run, recorded as failed, as the authors' paper runner did (its
    `fail_fast_on_agent_error`); a rerun replays the cached replies and resumes. `lose_turn`
    logs the lost turn and plays on (ours)."""
    remember_thoughts: Literal["with_actions", "always"] = "with_actions"
    """Which turns' private thoughts the agent is shown later: only turns that carried at least
    one well-formed action (the authors' code keeps no thoughts of a turn without one), or all."""
    auto_request_target: Literal["current_holder", "first_holder", "all_holders"] = "current_holder"
    """Under `auto_request`, whom the system asks for each missing piece: the lowest-numbered
    agent holding it now (the authors' code), the piece's first holder, or every holder."""
    instant_replies: Literal["between_perfect", "to_anyone"] = "between_perfect"
    """Perfect-play holders answer right after a requester's turn only when the requester is
    itself a perfect agent (the authors' code), or after anyone's turn."""
    submission: Literal["strict", "exact", "lenient"] = "strict"
    """How a `submit_task` answer is checked. `strict` (the authors' code): the task whose pieces
    equal the named set exactly (case-sensitive); failing that, their fallback to the agent's
    oldest open task, accepted when the answer mentions each of its pieces (any case). `exact`:
    only the exact match. `lenient`: any open task whose every piece the answer names."""
    parsing: Literal["strict", "lenient"] = "strict"
    """How a reply and its actions are read (see `actions.parse_reply`). `strict` reads as the
    authors' code did: the whole reply as JSON, else the first balanced object; exact agent
    ids and piece names; a value for every piece sent; a send to an agent of pieces already
    sent to it rejected. `lenient` (ours) takes the last reply-shaped object, repairs trailing
    commas, and accepts agent numbers, any case and numeric strings. Every departure from the
    plain reading is an explicit event."""
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
        if self.rounds * self.n_agents > MAX_TURNS:
            raise ValueError(
                f"rounds × n_agents = {self.rounds * self.n_agents:,} turns, more than the cap "
                f"of {MAX_TURNS:,} (config.MAX_TURNS); use fewer rounds or agents"
            )
        return self

    @classmethod
    def for_condition(cls, condition: str = Condition.BASELINE, **overrides) -> EnvConfig:
        """The config for a named condition: `incentive` implies `share_bonus=1000`.

        Explicit ``overrides`` win, so ``for_condition("incentive", share_bonus=500)`` works.
        """
        if condition not in CONDITIONS:
            raise ValueError(
                f"unknown condition {condition!r}; choose one of {', '.join(CONDITIONS)}"
            )
        implied = {"share_bonus": INCENTIVE_SHARE_BONUS} if condition == Condition.INCENTIVE else {}
        return cls(condition=condition, **{**implied, **overrides})

    # Convenience flags so mechanics read in the paper's words.
    @property
    def auto_request(self) -> bool:
        return self.condition == Condition.AUTO_REQUEST

    @property
    def auto_fulfill(self) -> bool:
        return self.condition == Condition.AUTO_FULFILL

    @property
    def limited(self) -> bool:
        return self.condition == Condition.LIMITED

    @property
    def policy(self) -> bool:
        return self.condition == Condition.POLICY

    @property
    def decomposition_layout(self) -> bool:
        """The authors' decomposition prompt applies (see `prompt_profile`)."""
        return self.prompt_profile == "as_run" and (self.auto_request or self.auto_fulfill)

    @property
    def ranked_board(self) -> bool:
        return self.board_order == "ranked" or self.decomposition_layout

    @property
    def truncated(self) -> bool:
        return self.truncate_context or self.decomposition_layout
