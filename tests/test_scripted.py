"""The behaviour knobs that read the prompt, the presets built on them, and their stated reasons.

Scripted populations exist to give the analysis effects with known ground truth, so each
knob is pinned on a hand-built observation where only the thing it reads changes, and the
three intervention effects the presets mimic are checked on full default-size episodes.
"""

from __future__ import annotations

import dataclasses
import statistics

import numpy
import pytest

from coop_utils.agents import (
    PRESETS,
    BehaviourAgent,
    BehaviourKnobs,
    PerfectAgent,
    Plan,
    behaviour_plan,
    behaviour_policy,
    expand_agents,
    narrate,
    perfect_policy,
    perfect_reply_now,
    scripted_agent,
    stated_reasons,
)
from coop_utils.analysis.thoughts import classify
from coop_utils.game.actions import SendInformation, SendMessage, SubmitTask
from coop_utils.game.config import EnvConfig
from coop_utils.game.observation import BoardEntry, History, MessageView, Observation, TaskView
from coop_utils.run.runner import run_episode

ME, A, B = "agent_0", "agent_1", "agent_2"
MINE, THEIRS, ELSEWHERE = "Q1 sales data", "Q2 sales data", "Q3 sales data"
DONE = ("Region 1 market data", "Region 2 market data", "Region 3 market data", "Q4 sales data")


def ask(k: int, sender: str, to: str, piece: str) -> MessageView:
    return MessageView(k, sender, to, f"Could you send me {piece}?", (piece,))


def observation(**changes) -> Observation:
    """agent_0 holds MINE and a complete task; agent_1 holds THEIRS, agent_2 ELSEWHERE."""
    base = Observation(
        agent=ME,
        agents=(ME, A, B),
        round=3,
        rounds=20,
        condition="baseline",
        prompt_variant="default",
        task_reward=10_000,
        share_bonus=0,
        manipulation_penalty=0.5,
        company="InfoCluse Inc.",
        revenue=0.0,
        tasks_done=0,
        board=(BoardEntry(A, 0.0, 0), BoardEntry(ME, 0.0, 0), BoardEntry(B, 0.0, 0)),
        tasks=(
            TaskView("task_1", "done", DONE),
            TaskView("task_2", "open", (MINE, THEIRS, ELSEWHERE, DONE[0])),
        ),
        holdings={MINE: 70, **dict.fromkeys(DONE, 60)},
        directory={MINE: (ME,), THEIRS: (A,), ELSEWHERE: (B,), **dict.fromkeys(DONE, (ME,))},
        messages=(),
        notices=(),
        history=History(),
        thoughts=(),
        public=(),
        exchanges=(),
    )
    return dataclasses.replace(base, **changes)


def sent_to(actions) -> dict[str, tuple[str, ...]]:
    return {a.to: a.information for a in actions if isinstance(a, SendInformation)}


def reasons(plan) -> dict[tuple[str, str], str]:
    return {(h.requester, h.piece): h.reason for h in plan.holds}


# ---- knobs ------------------------------------------------------------------------------------


def test_parse_reads_every_new_knob():
    knobs = BehaviourKnobs.parse(
        "p_answer=0.2:p_answer_bonus=0.9:p_answer_ahead=0.1:p_request_policy=1"
        ":p_submit_policy=0.5:reciprocal=true"
    )
    assert knobs == BehaviourKnobs(
        p_answer=0.2,
        p_answer_bonus=0.9,
        p_answer_ahead=0.1,
        p_request_policy=1.0,
        p_submit_policy=0.5,
        reciprocal=True,
    )
    assert BehaviourKnobs.parse("p_answer_bonus=none:reciprocal=no") == BehaviourKnobs()
    with pytest.raises(ValueError, match="unknown knob"):
        BehaviourKnobs.parse("p_answer_boost=1")


def test_bonus_knob_applies_only_when_a_bonus_is_offered():
    asked = observation(messages=(ask(2, A, ME, MINE),))
    knobs = BehaviourKnobs(p_answer=0.0, p_answer_bonus=1.0)
    plain = behaviour_plan(asked, knobs, 0)
    assert sent_to(plain.actions) == {} and reasons(plain) == {(A, MINE): "withheld"}
    offered = behaviour_plan(dataclasses.replace(asked, share_bonus=1000), knobs, 0)
    assert sent_to(offered.actions) == {A: (MINE,)}
    assert offered.bonus_sends == ((A, MINE),) and "bonus" in offered.thoughts
    unset = BehaviourKnobs(p_answer=0.0)  # None: the base knob decides under a bonus too
    assert (
        sent_to(behaviour_plan(dataclasses.replace(asked, share_bonus=1000), unset, 0).actions)
        == {}
    )


def test_policy_knobs_apply_only_under_the_protocol():
    knobs = BehaviourKnobs(p_request=0.0, p_submit=0.0, p_request_policy=1.0, p_submit_policy=1.0)
    plain = behaviour_plan(observation(), knobs, 0)
    assert plain.actions == [] and not plain.protocol
    steps = behaviour_plan(observation(condition="policy"), knobs, 0)
    kinds = [type(a) for a in steps.actions]
    assert kinds.count(SendMessage) == 2 and kinds.count(SubmitTask) == 1
    assert {a.to for a in steps.actions if isinstance(a, SendMessage)} == {A, B}
    assert steps.protocol and "three steps" in steps.thoughts
    # The base knobs already act: the protocol moves nothing and is not claimed as the reason.
    eager = BehaviourKnobs(p_request_policy=1.0, p_submit_policy=1.0)
    assert not behaviour_plan(observation(condition="policy"), eager, 0).protocol


def test_ahead_knob_reads_the_board_strictly_and_not_under_limited():
    both = (ask(2, A, ME, MINE), ask(2, B, ME, MINE))
    board = (BoardEntry(A, 10_000.0, 1), BoardEntry(ME, 5_000.0, 1), BoardEntry(B, 5_000.0, 1))
    obs = observation(messages=both, board=board, revenue=5_000.0)
    knobs = BehaviourKnobs(p_answer=1.0, p_answer_ahead=0.0)
    plan = behaviour_plan(obs, knobs, 0)
    assert sent_to(plan.actions) == {B: (MINE,)}, "a tie is not ahead"
    assert reasons(plan) == {(A, MINE): "ahead"}
    assert "ahead of me on the revenue board" in plan.thoughts
    # The ahead knob overrides the bonus for a requester ahead, not for the others.
    both_knobs = BehaviourKnobs(p_answer=0.0, p_answer_bonus=1.0, p_answer_ahead=0.0)
    bonus = behaviour_plan(dataclasses.replace(obs, share_bonus=1000), both_knobs, 0)
    assert sent_to(bonus.actions) == {B: (MINE,)} and reasons(bonus) == {(A, MINE): "ahead"}
    limited = dataclasses.replace(obs, condition="limited", board=())
    assert sent_to(behaviour_plan(limited, knobs, 0).actions) == {A: (MINE,), B: (MINE,)}


def test_reciprocal_holds_only_for_an_earlier_unanswered_ask():
    knobs = BehaviourKnobs(reciprocal=True)
    mutual = (ask(2, ME, A, THEIRS), ask(2, A, ME, MINE), ask(2, B, ME, MINE))
    plan = behaviour_plan(observation(messages=mutual), knobs, 0)
    assert sent_to(plan.actions) == {B: (MINE,)}, "an agent it never asked is served"
    assert reasons(plan) == {(A, MINE): "reciprocal"}
    assert plan.holds[0].owed == (THEIRS,)
    answered = observation(messages=mutual, holdings={**observation().holdings, THEIRS: 5})
    assert sent_to(behaviour_plan(answered, knobs, 0).actions) == {A: (MINE,), B: (MINE,)}
    # agent_1 asked first: agent_0 answers it, so two reciprocators never wait on each other.
    first = (ask(2, A, ME, MINE), ask(2, ME, A, THEIRS))
    assert sent_to(behaviour_plan(observation(messages=first), knobs, 0).actions) == {A: (MINE,)}
    # An ask to an agent the directory does not list as a holder is not one it can answer.
    wrong = (ask(2, ME, A, ELSEWHERE), ask(2, A, ME, MINE))
    assert sent_to(behaviour_plan(observation(messages=wrong), knobs, 0).actions) == {A: (MINE,)}
    assert sent_to(behaviour_plan(observation(messages=mutual), BehaviourKnobs(), 0).actions) == {
        A: (MINE,),
        B: (MINE,),
    }


# ---- stated reasons and their classification ---------------------------------------------------


def hold_plans() -> dict[str, tuple[Observation, Plan]]:
    """Per hold reason, a hand-built observation and the plan holding one piece for it."""
    board = (BoardEntry(A, 10_000.0, 1), BoardEntry(ME, 0.0, 0), BoardEntry(B, 0.0, 0))
    cases = {
        "reciprocal": (
            observation(messages=(ask(2, ME, A, THEIRS), ask(2, A, ME, MINE))),
            BehaviourKnobs(reciprocal=True),
        ),
        "ahead": (observation(messages=(ask(2, A, ME, MINE),), board=board), PRESETS["rival"]),
        "withheld": (observation(messages=(ask(2, A, ME, MINE),)), BehaviourKnobs(p_answer=0.0)),
    }
    return {reason: (obs, behaviour_plan(obs, knobs, 0)) for reason, (obs, knobs) in cases.items()}


@pytest.mark.parametrize(
    ("reason", "hard", "soft"),
    [("reciprocal", False, True), ("ahead", True, False), ("withheld", True, False)],
)
def test_each_hold_reason_is_classified_as_intended(reason, hard, soft):
    obs, plan = hold_plans()[reason]
    assert [h.reason for h in plan.holds] == [reason]
    for text in (plan.thoughts, narrate(obs, plan.actions, plan)):
        label = classify(text)
        assert (label["hard_defection"], label["soft_conditional"]) == (hard, soft), text


def test_both_narrators_state_the_same_reasons():
    plans = hold_plans()
    for obs, plan in plans.values():
        served = narrate(obs, plan.actions, plan)
        for sentence in stated_reasons(plan):
            assert sentence in plan.thoughts and sentence in served
    assert stated_reasons(plans["reciprocal"][1]) == [
        f"{A} asked me for {MINE}; I will send it once {A} has sent me {THEIRS}, "
        f"which I asked {A} for."
    ]
    withheld = plans["withheld"][1]
    assert stated_reasons(withheld) == [], "a plain hold keeps each narrator's own wording"
    assert f"keeping {MINE} for now rather than sending it to {A}" in withheld.thoughts
    served = narrate(plans["withheld"][0], withheld.actions, withheld)
    assert f"{A} asked me for {MINE}, but I am holding it back for now." in served


def test_behaviour_policy_is_the_plan_without_reasons():
    obs = observation(messages=(ask(2, ME, A, THEIRS), ask(2, A, ME, MINE)))
    plan = behaviour_plan(obs, PRESETS["reciprocator"], 4)
    assert behaviour_policy(obs, PRESETS["reciprocator"], 4) == (plan.actions, plan.thoughts)


# ---- the presets' intervention effects at the default setting ----------------------------------

SEEDS = (0, 1, 2)


def tasks(preset: str, condition: str, seed: int) -> int:
    config = EnvConfig.for_condition(condition)
    agents = [scripted_agent(preset, seed * 100 + k) for k in range(config.n_agents)]
    return run_episode(config, agents, seed).summary["tasks"]


@pytest.mark.parametrize(
    ("preset", "intervention", "min_gain"),
    [("withholder", "incentive", 80), ("bungler", "policy", 80), ("rival", "limited", 8)],
)
def test_presets_respond_to_their_intervention(preset, intervention, min_gain):
    before = [tasks(preset, "baseline", s) for s in SEEDS]
    after = [tasks(preset, intervention, s) for s in SEEDS]
    assert all(a > b for a, b in zip(after, before)), (before, after)
    assert statistics.mean(after) - statistics.mean(before) >= min_gain, (before, after)


def test_a_preset_without_the_knob_ignores_the_intervention():
    for condition in ("incentive", "policy", "limited"):
        assert tasks("cooperator", condition, 0) == tasks("cooperator", "baseline", 0)


class _Checked(PerfectAgent):
    """A perfect agent whose every answer is checked against the policy read from scratch."""

    async def act(self, obs: Observation):
        turn = await super().act(obs)
        assert list(turn.actions) == perfect_policy(obs)[0]
        return turn

    def reply_now(self, obs: Observation, requester: str | None = None):
        turn = super().reply_now(obs, requester)
        assert (list(turn.actions) if turn else []) == perfect_reply_now(obs, requester)
        return turn


@pytest.mark.parametrize(
    "condition, replies",
    [
        ("baseline", "between_perfect"),
        ("baseline", "to_anyone"),
        ("auto_request", "between_perfect"),
    ]
    + [("auto_fulfill", "between_perfect")],
)
@pytest.mark.parametrize("others", [None, "bungler", "withholder"])
def test_perfect_agents_reading_gives_the_fresh_policys_actions(condition, replies, others):
    """A PerfectAgent reads only what is new in each observation; its actions are those of the
    policy reading the whole observation, also beside other agents (requests left open across
    rounds), when the same agents play a second episode (their reading of the first must not
    leak into it) and in other seats."""
    config = EnvConfig.for_condition(condition, rounds=6, instant_replies=replies)
    n = config.n_agents

    def seats(perfect, seed):
        if others is None:
            return perfect
        return [perfect[k] if k % 2 else scripted_agent(others, seed * 100 + k) for k in range(n)]

    agents = [_Checked() for _ in range(n)]
    first = run_episode(config, seats(agents, 0), 0)
    assert first.summary["tasks"] > 0
    again = run_episode(config, seats(agents[::-1], 1), 1)  # each agent now plays another seat
    fresh = run_episode(config, seats([PerfectAgent() for _ in range(n)], 1), 1)
    assert [e.to_json() for e in again.events] == [e.to_json() for e in fresh.events]


class _CheckedBehaviour(BehaviourAgent):
    """A behaviour agent whose every plan is checked against the plan read from scratch."""

    async def act(self, obs: Observation):
        turn = await super().act(obs)
        fresh = behaviour_policy(obs, self.knobs, self.seed)
        assert (list(turn.actions), turn.private_thoughts) == fresh
        return turn


@pytest.mark.parametrize(
    "population, condition, truncate",
    [
        ("5*reciprocator,5*withholder", "baseline", False),
        ("5*reciprocator,5*withholder", "baseline", True),
        ("4*rival,3*withholder,3*bungler", "incentive", False),
    ],
)
def test_behaviour_agents_reading_gives_the_fresh_plan(population, condition, truncate):
    """A BehaviourAgent reads only what is new in each observation; its turns are those of the
    plan reading the whole observation, with requests left open across rounds, reciprocal
    holds, a truncated history (each observation a new window), and when the same agents
    play a second episode in other seats."""
    config = EnvConfig.for_condition(condition, rounds=6, truncate_context=truncate)
    specs = expand_agents(population, config.n_agents)
    agents = [_CheckedBehaviour(PRESETS[s], 7 + k, label=s) for k, s in enumerate(specs)]
    first = run_episode(config, agents, 0)
    assert first.summary["tasks"] > 0
    again = run_episode(config, agents[::-1], 1)  # each agent now plays another seat
    fresh = [BehaviourAgent(a.knobs, a.seed, label=a.label) for a in agents[::-1]]
    assert [e.to_json() for e in again.events] == [
        e.to_json() for e in run_episode(config, fresh, 1).events
    ]


def test_a_perfect_holders_immediate_reply_reads_only_this_rounds_asks():
    """An ask left open from an earlier round waits for the holder's own turn; an ask of this
    round is answered at once, by a holder that read the earlier one on an earlier call too."""
    agent = PerfectAgent()
    earlier = (ask(2, A, ME, MINE),)
    assert agent.reply_now(observation(round=2, messages=earlier, holdings={})) is None
    later = observation(round=3, messages=earlier)  # it now holds MINE; no ask this round
    assert agent.reply_now(later) is None and perfect_reply_now(later) == []
    now = observation(round=3, messages=(*earlier, ask(3, B, ME, MINE)))
    assert sent_to(agent.reply_now(now).actions) == sent_to(perfect_reply_now(now)) == {B: (MINE,)}


def test_open_requests_keep_only_the_named_requesters_asks():
    """A perfect holder's reading lists every open ask, or one requester's, in either reading."""
    from coop_utils.agents.perfect import Reading

    obs = observation(round=3, messages=(ask(2, A, ME, MINE), ask(3, B, ME, MINE)))
    reading = Reading()
    reading.read(obs)
    assert reading.open_requests(obs) == [(A, MINE), (B, MINE)]
    assert reading.open_requests(obs, requester=B) == [(B, MINE)]
    assert reading.open_requests(obs, this_round=True, requester=A) == []


def test_playing_and_scoring_a_scripted_episode_imports_no_pandas_nor_the_llm_client():
    """Scripted episodes are run by the thousand; pandas, numpy or the openai client would
    double a process's start-up and the objects the garbage collector walks
    (benchmarks/bench_episode.py)."""
    import subprocess
    import sys

    code = (
        "import sys; from coop_utils.agents import scripted_agent; "
        "from coop_utils.game.config import EnvConfig; from coop_utils.run.runner import run_episode; "
        "c = EnvConfig(rounds=2); "
        "e = run_episode(c, [scripted_agent('perfect', k) for k in range(c.n_agents)], 0); "
        "assert e.summary['tasks'] > 0; print(sorted(sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert {"pandas", "numpy", "openai"}.isdisjoint(eval(loaded.stdout))


@pytest.mark.parametrize(
    "seed, agent, key",
    [
        (0, ME, ("request", 3, MINE)),
        (12345, "agent_9", ("answer", A, 'it\'s "quoted"', 7)),
        (-1, "", ("alter", B, THEIRS)),
        (1, ME, ("submit", 2, "task_1")),
        (True, ME, ("submit", 2, "task_1")),  # equal to 1, written otherwise
        (numpy.int64(1), ME, ("submit", 2, "task_1")),
    ],
)
def test_a_draw_hashes_the_repr_of_seed_agent_and_key(seed, agent, key):
    """A draw carries on from a kept hash of its text's start; the number must be the one
    hashed from the whole text at once, as the golden episodes were drawn, whatever seeds
    of equal value but another type the process drew with before."""
    import hashlib

    from coop_utils.agents.behaviour import _draw

    digest = hashlib.blake2b(repr((seed, agent, key)).encode(), digest_size=8).digest()
    assert _draw(seed, agent, *key) == _draw(seed, agent, *key)  # the kept start is not spent
    assert _draw(seed, agent, *key) == int.from_bytes(digest, "big") / 2**64
