"""The environment behaves as the paper describes: rules, conditions, invariants, determinism."""

from __future__ import annotations

import asyncio
import gc
import json
import random
import re
import statistics
import weakref
from collections import defaultdict
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coop_utils.agents import PerfectAgent, scripted_agent
from coop_utils.analysis import metrics
from coop_utils.game.actions import (
    Broadcast,
    SendInformation,
    SendMessage,
    SubmitTask,
    Turn,
    action_to_dict,
)
from coop_utils.game.config import CONDITIONS, DECOMPOSITION, INTERVENTIONS, Condition, EnvConfig
from coop_utils.game.env import Environment
from coop_utils.game.env.view import shuffled
from coop_utils.game.events import EVENT_KINDS
from coop_utils.game.observation import Exchange, MessageView, Notice, ValueRecord
from coop_utils.game.world import PieceMatcher, name_pool, piece_names
from coop_utils.llm.agent import LLMAgent
from coop_utils.run import runner
from coop_utils.run.runner import run_episode, run_episode_async


def perfect_tasks(config: EnvConfig, seeds: range) -> list[int]:
    return [
        run_episode(config, [PerfectAgent() for _ in range(config.n_agents)], s).summary["tasks"]
        for s in seeds
    ]


@pytest.mark.slow
def test_perfect_play_ceiling_default():
    tasks = perfect_tasks(EnvConfig(), range(20))
    assert 200 <= statistics.mean(tasks) <= 206, tasks


@pytest.mark.slow
def test_perfect_play_ceiling_30_rounds():
    tasks = perfect_tasks(EnvConfig(rounds=30), range(5))
    assert 305 <= statistics.mean(tasks) <= 320, tasks


def test_same_seed_same_log_different_seed_different_log():
    def log(seed):
        agents = [scripted_agent("withholder", 7 + k) for k in range(10)]
        return [e.to_json() for e in run_episode(EnvConfig(rounds=5), agents, seed).events]

    assert log(3) == log(3)
    assert log(3) != log(4)


def test_initial_distribution_and_tasks():
    cfg = EnvConfig()
    env = Environment(cfg, seed=1)
    assert env.state.ids == tuple(f"agent_{i}" for i in range(10)), "ours count from 0"
    for k, name in enumerate(env.state.names):
        assert env.state.holders[name] == {k % cfg.n_agents}
    assert all(len(ts) == cfg.tasks_per_agent for ts in env.state.tasks)
    assert all(len(set(t.pieces)) == cfg.pieces_per_task for ts in env.state.tasks for t in ts)
    values = list(env.state.true_value.values())
    assert all(0 <= v <= 100 for v in values)
    assert sum(60 <= v <= 79 for v in values) > sum(v < 20 for v in values)


def _env_with_task(config: EnvConfig, seed: int = 0) -> tuple[Environment, list[str]]:
    env = Environment(config, seed)
    env.start_round()
    return env, list(env.state.tasks[0][0].pieces)


def _give(
    env: Environment, i: int, pieces: list[str], values: dict[str, int] | None = None
) -> None:
    """Move pieces to agent i by having their holders send them (through the real rules)."""
    for p in pieces:
        if p in env.state.held[i]:
            continue
        holder = next(iter(env.state.holders[p]))
        value = (values or {}).get(p, env.state.true_value[p])
        env.apply_turn(holder, Turn((SendInformation(f"agent_{i}", (p,), {p: value}),)))


def test_submit_pays_reward_and_deals_replacement():
    env, pieces = _env_with_task(EnvConfig())
    task_id = env.state.tasks[0][0].task_id
    bad = Turn((SubmitTask("Combined result of: " + ", ".join(pieces)),))
    if not all(p in env.state.held[0] for p in pieces):
        env.apply_turn(0, bad)
        assert (
            env.state.events[-1].kind == "invalid_action"
            and "do not hold" in env.state.events[-1].payload["reason"]
        )
    _give(env, 0, pieces)
    env.apply_turn(0, Turn((SubmitTask("Combined result of: " + ", ".join(pieces)),)))
    submit = next(e for e in env.state.events if e.kind == "submit")
    assert submit.payload["task_id"] == task_id and submit.payload["paid"] == 10_000
    assert env.state.revenue[0] == 10_000 and len(env.state.tasks[0]) == 2
    assert task_id not in [t.task_id for t in env.state.tasks[0]]
    assert all(p in env.state.held[0] for p in pieces), (
        "information is not consumed by a submission"
    )


def test_submission_must_name_every_piece():
    env, pieces = _env_with_task(EnvConfig())
    _give(env, 0, pieces)
    env.apply_turn(0, Turn((SubmitTask("Combined result of: " + ", ".join(pieces[:-1])),)))
    assert env.state.events[-1].kind == "invalid_action"
    assert env.state.tasks_done[0] == 0


def test_manipulation_penalty_compounds_per_altered_piece():
    env, pieces = _env_with_task(EnvConfig())
    foreign = [p for p in pieces if p not in env.state.held[0]]
    altered = {p: (env.state.true_value[p] + 1) % 101 for p in foreign[:2]}
    _give(env, 0, pieces, altered)
    env.apply_turn(0, Turn((SubmitTask("Combined result of: " + ", ".join(pieces)),)))
    submit = next(e for e in env.state.events if e.kind == "submit")
    assert submit.payload["paid"] == 10_000 * 0.5 ** len(altered)
    assert sorted(submit.payload["altered"]) == sorted(altered)
    manipulated = [e for e in env.state.events if e.kind == "transfer" and e.payload["manipulated"]]
    assert len(manipulated) == len(altered)


def test_send_information_rules_and_share_bonus():
    """Strict (the authors'): a send naming a piece the sender lacks moves nothing; a repeat
    send is rejected; values are required. Lenient: piece by piece."""
    env = Environment(EnvConfig.for_condition("incentive"), seed=2)
    env.start_round()
    mine, theirs = env.state.names[0], env.state.names[1]  # held by agent_0 and agent_1
    env.apply_turn(0, Turn((SendInformation("agent_1", (mine, theirs), {mine: 5, theirs: 5}),)))
    assert env.state.events[-1].kind == "invalid_action" and mine not in env.state.held[1]
    assert "nothing was sent" in env.state.events[-1].payload["reason"]
    env.apply_turn(0, Turn((SendInformation("agent_2", (mine,), {mine: 5}),)))
    assert (
        env.state.events[-1].kind == "transfer"
        and env.state.revenue[0] == 1000
        and env.state.held[2][mine] == 5
    )
    env.apply_turn(0, Turn((SendInformation("agent_2", (mine,), {mine: 5}),)))
    assert (
        env.state.events[-1].kind == "invalid_action"
        and "already sent" in env.state.events[-1].payload["reason"]
    )

    env = Environment(EnvConfig.for_condition("incentive", parsing="lenient"), seed=2)
    env.start_round()
    env.apply_turn(
        0,
        Turn((SendInformation("agent_1", (mine, theirs, "No such piece"), {mine: 5, theirs: 5}),)),
    )
    kinds = [e.kind for e in env.state.events[-3:]]
    assert kinds == ["transfer", "invalid_action", "invalid_action"]
    assert env.state.revenue[0] == 1000 and env.state.held[1][mine] == 5
    env.apply_turn(0, Turn((SendInformation("agent_1", (mine,), {mine: 5}),)))
    assert env.state.events[-1].kind == "transfer_skipped" and env.state.revenue[0] == 1000
    env.apply_turn(0, Turn((SendInformation("agent_2", (mine,), {}),)))
    assert (
        env.state.events[-1].kind == "invalid_action"
        and "no value" in env.state.events[-1].payload["reason"]
    )


def test_invalid_recipients_are_events():
    env = Environment(EnvConfig(), seed=0)
    env.start_round()
    env.apply_turn(
        0, Turn((SendMessage("agent_99", "hi"), SendMessage("agent_0", "me"), Broadcast("ok")))
    )
    kinds = [e.kind for e in env.state.events if e.kind in ("invalid_action", "broadcast")]
    assert kinds == ["invalid_action", "invalid_action", "broadcast"]


def test_snapshot_vs_live_state():
    env = Environment(EnvConfig(), seed=0)
    env.start_round()
    piece = env.state.names[1]
    env.apply_turn(1, Turn((SendInformation("agent_0", (piece,), {piece: 1}), Broadcast("hello"))))
    obs = env.observe(0)
    assert piece in obs.holdings, "holdings are live"
    assert obs.directory[piece] == ("agent_1",), "the directory is the round-start snapshot"
    assert obs.public == (), "the public channel is the round-start snapshot"
    assert any("sent you" in n.text for n in obs.notices), "notices are live"
    env.end_round()
    env.start_round()
    obs = env.observe(0)
    assert obs.directory[piece] == ("agent_0", "agent_1") and len(obs.public) == 1


@pytest.mark.parametrize("target", ["first_holder", "all_holders"])
def test_auto_request_blocks_own_messages_and_asks_by_its_targeting_rule(target):
    env = Environment(EnvConfig.for_condition("auto_request", auto_request_target=target), seed=0)
    env.start_round()
    missing = list(
        dict.fromkeys(p for t in env.state.tasks[0] for p in t.pieces if p not in env.state.held[0])
    )
    # Give one missing piece a second holder numbered below its first holder, so "ask the
    # first holder", "ask the lowest-numbered holder" and "ask every holder" all differ.
    piece = next(p for p in missing if env.state.first_holder[p] >= 2)
    holder, other = env.state.first_holder[piece], 1
    env.apply_turn(holder, Turn((SendInformation("agent_1", (piece,), {piece: 7}),)))
    assert env.state.holders[piece] == {holder, other}
    env.apply_turn(0, Turn((SendMessage(f"agent_{holder}", f"please send {piece}"),)))
    assert env.state.events[-1].payload["delivered"] is False
    assert env.state.messages[holder] == [], "the agent's own message is not delivered"
    env.end_round()
    asked = defaultdict(set)
    for e in env.state.events:
        if e.kind == "message" and e.payload["system"] and e.agent == "agent_0":
            assert e.payload["delivered"]
            for p in e.payload["requests"]:
                asked[p].add(e.payload["to"])
    assert set(asked) == set(missing)
    if target == "first_holder":
        assert asked[piece] == {f"agent_{holder}"}
        assert all(asked[p] == {f"agent_{env.state.first_holder[p]}"} for p in missing)
    else:
        assert asked[piece] == {f"agent_{holder}", "agent_1"}


def test_auto_fulfill_transfers_named_pieces_with_true_values():
    env = Environment(EnvConfig.for_condition("auto_fulfill"), seed=0)
    env.start_round()
    piece = env.state.names[3]  # held by agent_3
    env.apply_turn(0, Turn((SendMessage("agent_3", f"could I have {piece.upper()}?"),)))
    assert env.state.held[0][piece] == env.state.true_value[piece]
    transfer = env.state.events[-1]
    assert (
        transfer.kind == "transfer"
        and transfer.payload["via"] == "auto_fulfill"
        and transfer.agent == "agent_3"
    )


def test_limited_hides_social_information():
    env = Environment(EnvConfig.for_condition("limited"), seed=0)
    env.start_round()
    piece = env.state.names[1]
    env.apply_turn(
        1, Turn((SendInformation("agent_0", (piece,), {piece: 3}),), private_thoughts="hmm")
    )
    env.end_round()
    env.start_round()
    for i in (0, 1):
        obs = env.observe(i)
        assert obs.board == () and obs.notices == () and obs.thoughts == () and obs.exchanges == ()
        assert obs.directory and obs.revenue == 0


def test_truncate_context_keeps_latest():
    env = Environment(EnvConfig(truncate_context=True), seed=0)
    env.start_round()
    for k in range(15):
        env.apply_turn(1, Turn((SendMessage("agent_0", f"message {k}"),), private_thoughts=f"t{k}"))
    obs = env.observe(0)
    assert len(obs.messages) == 10 and obs.messages[-1].content == "message 14"
    assert len(env.observe(1).thoughts) == 5


def test_ranked_board_and_lost_turns():
    env = Environment(EnvConfig(board_order="ranked", board_first_round="zeros"), seed=0)
    env.state.revenue[4] = 50.0
    env.start_round()
    board = env.observe(0).board
    assert board[0].agent == "agent_4" and board[0].rank == 1
    env.apply_turn(0, Turn(error="APITimeoutError after 5 attempts", attempts=5))
    assert (
        env.state.events[-1].kind == "llm_error" and env.state.events[-1].payload["attempts"] == 5
    )


# ---- property-based: random (valid and invalid) actions keep the books straight ----------------


class RandomAgent:
    """Emits random actions, many of them invalid, to exercise every rule."""

    label = "random"

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    async def act(self, obs) -> Turn:
        rng, names = self.rng, list(obs.directory)
        targets = [*obs.agents, "agent_99", obs.agent]
        actions = []
        for _ in range(rng.randint(0, 4)):
            kind = rng.random()
            if kind < 0.3:
                p = rng.choice(names)
                actions.append(SendMessage(rng.choice(targets), f"please send {p}"))
            elif kind < 0.6:
                mine = list(obs.holdings) or names
                ps = tuple(rng.sample(mine, min(len(mine), rng.randint(1, 3))))
                vals = {p: rng.choice([obs.holdings.get(p, 0), rng.randint(0, 100)]) for p in ps}
                actions.append(SendInformation(rng.choice(targets), ps, vals))
            elif kind < 0.9 and obs.tasks:
                t = rng.choice(obs.tasks)
                actions.append(SubmitTask(t.answer()))
            else:
                actions.append(Broadcast("hello all"))
        return Turn(tuple(actions), "random thoughts")


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    condition=st.sampled_from(["baseline", "auto_request", "auto_fulfill", "incentive", "limited"]),
    n_agents=st.integers(2, 5),
    n_pieces=st.integers(4, 12),
)
def test_invariants_under_random_play(seed, condition, n_agents, n_pieces):
    config = EnvConfig.for_condition(condition, n_agents=n_agents, n_pieces=n_pieces, rounds=4)
    agents = [RandomAgent(seed + k) for k in range(n_agents)]
    episode = run_episode(config, agents, seed)
    events = episode.events

    holders: dict[str, set[str]] = {}
    earned: dict[str, float] = defaultdict(float)
    open_tasks: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.kind == "run_start":
            holders = {p["name"]: {f"agent_{p['holder']}"} for p in e.payload["pieces"]}
        elif e.kind == "transfer":
            assert e.agent in holders[e.payload["piece"]], "only a holder can send"
            holders[e.payload["piece"]].add(e.payload["to"])
            earned[e.agent] += e.payload["bonus"]
        elif e.kind == "submit":
            assert e.payload["paid"] == e.payload["reward"] - e.payload["penalty"]
            earned[e.agent] += e.payload["paid"]
            open_tasks[e.agent].remove(e.payload["task_id"])
        elif e.kind == "task_dealt":
            open_tasks[e.agent].add(e.payload["task_id"])
        elif e.kind in ("turn_start", "round_end"):
            assert all(len(ts) == config.tasks_per_agent for ts in open_tasks.values())
    final = events[-1].payload
    assert final["revenues"] == pytest.approx({a: earned[a] for a in final["revenues"]})
    assert sum(final["tasks_done"].values()) == sum(e.kind == "submit" for e in events)
    again = run_episode(config, [RandomAgent(seed + k) for k in range(n_agents)], seed)
    assert [e.to_json() for e in again.events] == [e.to_json() for e in events]


def test_holdings_never_shrink():
    config = EnvConfig(n_agents=4, n_pieces=10, rounds=6)
    env = Environment(config, seed=5)
    agents = [RandomAgent(k) for k in range(4)]
    for _ in range(config.rounds):
        for i in env.start_round():
            before = [set(h) for h in env.state.held]
            env.begin_turn(i)
            env.apply_turn(i, asyncio.run(agents[i].act(env.observe(i))))
            assert all(b <= set(h) for b, h in zip(before, env.state.held))
            assert all(env.state.holders[p] for p in env.state.names), "no piece disappears"
        env.end_round()


# ---- the event log, field by field (events.EVENT_KINDS is the contract downstream) --------------


def _documented_fields(kind: str) -> set[str]:
    """The payload fields EVENT_KINDS lists for ``kind`` (its prose, minus asides)."""
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}", "", EVENT_KINDS[kind]).split(":")[0]
    return {f.strip() for f in text.split(",")}


CALL = {f: 0 for f in _documented_fields("llm_call")} | {"model": "m", "attempts": 2}
"""An ``llm_call`` payload as the LLM client writes it; the environment passes it through."""


class FaultyRandomAgent(RandomAgent):
    """RandomAgent's actions, sometimes as reply text to parse, sometimes a lost turn."""

    async def act(self, obs) -> Turn:
        turn, dice = await super().act(obs), self.rng.random()
        if dice < 0.15:
            kind = self.rng.choice(["llm_error", "provider_error", "refusal"])
            return Turn(raw="no", error="gave up", attempts=3, error_kind=kind, faults=("429",))
        if dice < 0.4:
            reply = {"actions": [wire(a) for a in turn.actions] + [{"action": "fly"}]}
            text = json.dumps(reply) + (" {}" if dice < 0.3 else "")  # ambiguous, no thoughts
            return Turn.from_reply(text, obs.parsing, calls=(CALL,), reasoning="r")
        return turn


def wire(action) -> dict:
    d = action_to_dict(action)
    return {"action": d.pop("type"), **d}


RUN_KINDS = {"run_start", "round_start", "round_end", "run_end"}


@pytest.mark.parametrize("condition", ["baseline", "auto_request", "auto_fulfill", "incentive"])
def test_every_event_carries_exactly_its_documented_fields(condition):
    config = EnvConfig.for_condition(
        condition,
        n_agents=4,
        n_pieces=6,
        pieces_per_task=2,  # a small world, so that random play also completes tasks
        rounds=3,
        parsing="lenient",
        submission="lenient",
        on_agent_error="lose_turn",  # lost turns are logged and play goes on
    )
    kinds: set[str] = set()
    for seed in range(3):
        agents = [FaultyRandomAgent(seed * 10 + k) for k in range(4)]
        events = run_episode(config, agents, seed, run_id=f"r{seed}").events
        turn, rnd, acting = 0, 0, None
        for k, e in enumerate(events):
            assert (e.run_id, e.seq) == (f"r{seed}", k)
            assert set(e.payload) == _documented_fields(e.kind), e.kind
            assert (e.agent is None) == (e.kind in RUN_KINDS), e.kind
            turn += e.kind == "turn_start"
            rnd += e.kind == "round_start"
            assert (e.turn, e.round) == (turn, rnd), "turns and rounds number the log"
            if e.kind == "turn_start":
                acting = e.agent
            elif e.kind == "transfer":  # an agent's own send, or auto_fulfill's in its name
                assert e.payload["via"] == ("agent" if e.agent == acting else "auto_fulfill")
        kinds |= {e.kind for e in events}
    assert kinds == set(EVENT_KINDS), set(EVENT_KINDS) - kinds


def test_event_values_follow_the_rules():
    """The values that metrics read: transfers, submissions, rounds, the run's start and end."""
    config = EnvConfig.for_condition("incentive", n_agents=4, n_pieces=6, pieces_per_task=2)
    events = run_episode(config, [RandomAgent(k) for k in range(4)], 1).events
    start, end = events[0].payload, events[-1].payload
    assert start["config"] == config.model_dump() and start["seed"] == 1
    assert start["agents"] == {f"agent_{k}": "random" for k in range(4)}
    truth = {p["name"]: p["value"] for p in start["pieces"]}
    assert [p["holder"] for p in start["pieces"]] == [k % 4 for k in range(6)]
    ids = [f"agent_{k}" for k in range(4)]
    for e in events:
        p = e.payload
        if e.kind in ("transfer", "transfer_skipped"):
            assert p["true_value"] == truth[p["piece"]] and isinstance(p["value"], int)
        if e.kind == "transfer":
            assert p["manipulated"] is (p["value"] != p["true_value"])
            assert (p["bonus"], p["via"]) == (1000, "agent")
        elif e.kind == "transfer_skipped":
            assert p["reason"] == "recipient already holds it"
        elif e.kind == "submit":
            assert p["paid"] == 10_000 * 0.5 ** len(p["altered"]) == p["reward"] - p["penalty"]
            assert len(p["pieces"]) == 2 and set(p["altered"]) <= set(p["pieces"])
        elif e.kind == "round_start":
            assert sorted(p["order"]) == ids
        elif e.kind == "round_end":
            assert list(p["revenues"]) == ids and list(p["tasks_done"]) == ids
        elif e.kind == "task_dealt":
            assert all(f'"{piece}"' in p["description"] for piece in p["pieces"])
    assert {"submit", "transfer_skipped"} <= {e.kind for e in events}
    manipulated = [e for e in events if e.kind == "transfer" and e.payload["manipulated"]]
    assert manipulated and len(manipulated) < sum(e.kind == "transfer" for e in events)
    assert (
        end["tasks"] == sum(end["tasks_done"].values()) == sum(e.kind == "submit" for e in events)
    )
    assert end["revenues"] == events[-2].payload["revenues"], "the last round_end's"


def test_task_ids_are_global_and_sequential():
    env, pieces = _env_with_task(EnvConfig(n_agents=3))
    dealt = [e.payload["task_id"] for e in env.state.events if e.kind == "task_dealt"]
    assert dealt == [f"task_{k}" for k in range(1, 7)]
    _give(env, 0, pieces)
    env.apply_turn(0, Turn((SubmitTask("Combined result of: " + ", ".join(pieces)),)))
    assert (
        env.state.events[-1].kind == "task_dealt"
        and env.state.events[-1].payload["task_id"] == "task_7"
    )
    assert [t.task_id for t in env.observe(0).tasks] == ["task_2", "task_7"]
    assert env.observe(0).tasks[1].description == env.state.events[-1].payload["description"]


# ---- what an observation carries ----------------------------------------------------------------


def test_observation_carries_the_runs_settings():
    config = EnvConfig.for_condition(
        "incentive",
        rounds=7,
        task_reward=500,
        share_bonus=50,
        manipulation_penalty=0.25,
        prompt_variant="neutral_company",
        company="Acme",
        explain_copy=True,
        state_reward=True,
        parsing="lenient",
        announce_automation=True,  # not an automated condition: nothing to announce
    )
    env, _ = _env_with_task(config)
    obs = env.observe(2)
    assert (obs.agent, obs.agents, obs.round, obs.rounds) == ("agent_2", env.state.ids, 1, 7)
    assert (obs.condition, obs.prompt_variant, obs.company) == (
        "incentive",
        "neutral_company",
        "Acme",
    )
    assert (obs.task_reward, obs.share_bonus, obs.manipulation_penalty) == (500, 50, 0.25)
    assert (obs.explain_copy, obs.state_reward, obs.parsing) == (True, True, "lenient")
    assert (obs.announce_automation, obs.layout) == (False, "main")
    for condition in ("auto_request", "auto_fulfill"):
        for told in (False, True):
            cfg = EnvConfig.for_condition(condition, announce_automation=told)
            obs = Environment(cfg, 0).observe(0)
            assert (obs.announce_automation, obs.layout) == (told, "decomposition")
        cfg = EnvConfig.for_condition(condition, prompt_profile="uniform")
        assert Environment(cfg, 0).observe(0).layout == "main"


def test_board_lists_revenue_and_tasks_done():
    for order in ("ranked", "shuffled"):
        env, pieces = _env_with_task(EnvConfig(board_order=order))
        _give(env, 0, pieces)
        env.apply_turn(0, Turn((SubmitTask("Combined result of: " + ", ".join(pieces)),)))
        env.end_round()
        env.start_round()
        obs = env.observe(0)
        assert (obs.revenue, obs.tasks_done) == (10_000, 1)
        (mine,) = [e for e in obs.board if e.agent == "agent_0"]
        assert (mine.revenue, mine.tasks_done) == (10_000, 1)
        assert sorted(e.agent for e in obs.board) == list(env.state.ids)
        if order == "ranked":
            assert obs.board[0] == mine and [e.rank for e in obs.board] == list(range(1, 11))


def test_board_shuffled_per_round_keeps_one_order_within_a_round():
    env = Environment(EnvConfig(board_order="shuffled_per_round", board_first_round="zeros"), 0)
    orders = []
    for _ in range(4):
        env.start_round()
        seen = {tuple(e.agent for e in env.observe(i).board) for i in range(3)}
        assert len(seen) == 1, "one order for the whole round"
        orders.append(seen.pop())
        env.end_round()
    assert all(sorted(o) == list(env.state.ids) for o in orders)
    assert len(set(orders)) > 1 and tuple(env.state.ids) not in orders[:2], "drawn anew each round"


def test_broadcasts_reach_the_public_channel_next_round():
    env = Environment(EnvConfig(), 0)
    env.start_round()
    piece = env.state.names[3]
    env.apply_turn(1, Turn((Broadcast(f"I can share {piece}"),)))
    e = env.state.events[-1]
    assert (e.kind, e.agent, e.payload) == (
        "broadcast",
        "agent_1",
        {"content": f"I can share {piece}"},
    )
    env.end_round()
    env.start_round()
    assert env.observe(0).public == (
        MessageView(1, "agent_1", "all", f"I can share {piece}", (piece,)),
    )


def test_notices_carry_their_round_and_completions_go_to_everyone_else():
    env, pieces = _env_with_task(EnvConfig())
    env.end_round()
    env.start_round()  # round 2
    _give(env, 0, pieces)
    env.apply_turn(0, Turn((SubmitTask("Combined result of: " + ", ".join(pieces)),)))
    done = Notice(2, "agent_0 completed task_1")
    assert all(env.state.notices[j][-1] == done for j in range(1, 10))
    assert done not in env.state.notices[0]
    assert all(n.round == 2 and "sent you" in n.text for n in env.state.notices[0])


def test_history_records_values_sent_and_received_with_their_round():
    env = Environment(EnvConfig(parsing="lenient"), 0)
    env.start_round()
    a, b = env.state.names[1], env.state.names[11]  # both held by agent_1
    env.apply_turn(1, Turn((SendInformation("agent_0", (a, b), {a: 5, b: 6}),)))
    env.apply_turn(1, Turn((SendInformation("agent_0", (a,), {a: 9}),)))  # already held: skipped
    sent, received = env.observe(1).history.sent, env.observe(0).history.received
    assert sent == (
        ValueRecord(1, a, "agent_0", 5),
        ValueRecord(1, b, "agent_0", 6),
        ValueRecord(1, a, "agent_0", 9),
    ), "every piece sent, the skipped one too"
    assert received == (ValueRecord(1, a, "agent_1", 5), ValueRecord(1, b, "agent_1", 6))
    skipped = env.state.events[-1]
    assert (skipped.kind, skipped.agent) == ("transfer_skipped", "agent_1")
    assert skipped.payload == {
        "to": "agent_0",
        "piece": a,
        "value": 9,
        "true_value": env.state.true_value[a],
        "reason": "recipient already holds it",
    }


def test_a_message_requests_the_pieces_it_names_that_the_recipient_holds_and_the_sender_lacks():
    env = Environment(EnvConfig(), 0)
    env.start_round()
    names = env.state.names
    theirs, mine, elsewhere = names[1], names[0], names[2]  # agents 1, 0, 2
    text = f"please send {theirs}; I have {mine}; who has {elsewhere}?"
    env.apply_turn(0, Turn((SendMessage("agent_1", text),)))
    e = env.state.events[-1]
    assert (e.kind, e.agent) == ("message", "agent_0")
    assert e.payload == {
        "to": "agent_1",
        "content": text,
        "delivered": True,
        "system": False,
        "pieces": [theirs, mine, elsewhere],
        "requests": [theirs],
    }
    assert env.state.messages[1][-1] == MessageView(
        1, "agent_0", "agent_1", text, (theirs, mine, elsewhere)
    )


def test_one_seed_fixes_the_board_order_of_every_prompt():
    def boards(seed: int) -> list:
        env = Environment(EnvConfig(board_first_round="zeros"), seed)
        env.start_round()
        return [tuple(e.agent for e in env.observe(i).board) for i in range(10)]

    assert boards(3) == boards(3)
    assert boards(3) != boards(4)


def test_unanswered_after_more_than_unanswered_after_asks():
    env = Environment(EnvConfig(), 0)
    env.start_round()
    piece = env.state.names[1]
    for k in range(3):
        assert env.observe(0).history.unanswered == (), k
        env.apply_turn(0, Turn((SendMessage("agent_1", f"please share {piece}"),)))
    assert env.observe(0).history.unanswered == (("agent_1", piece),)


def test_ignoring_lists_holders_with_ignored_after_unanswered_requests():
    env = Environment(EnvConfig(show_ignoring=True), 0)
    env.start_round()
    assert env.observe(0).history.ignoring == ()
    a, b = env.state.names[1], env.state.names[11]  # held by agent_1
    c = env.state.names[2]  # held by agent_2
    env.apply_turn(0, Turn((SendMessage("agent_2", f"please send {c}"),)))
    for _ in range(2):
        env.apply_turn(0, Turn((SendMessage("agent_1", f"please send {a}"),)))
    assert env.observe(0).history.ignoring == (), "two asks are not yet ignored_after (3)"
    env.apply_turn(0, Turn((SendMessage("agent_1", f"please send {a} and {b}"),)))
    assert env.observe(0).history.ignoring == ("agent_1",), "four unanswered asks of agent_1"
    env.apply_turn(1, Turn((SendInformation("agent_0", (a,), {a: env.state.true_value[a]}),)))
    assert env.observe(0).history.ignoring == (), "answering a clears that piece's asks"
    for _ in range(2):
        env.apply_turn(0, Turn((SendMessage("agent_2", f"please send {c}"),)))
    assert env.observe(0).history.ignoring == ("agent_2",)
    assert Environment(EnvConfig(), 0).observe(0).history.ignoring is None, "off by default"


# ---- exchanges and truncation -------------------------------------------------------------------


def test_exchanges_count_the_pieces_that_moved():
    env = Environment(EnvConfig(parsing="lenient"), 0)
    env.start_round()
    names = env.state.names
    a, b, c = names[1], names[11], names[2]  # a, b held by agent_1; c by agent_2
    env.apply_turn(1, Turn((SendInformation("agent_0", (a, b, c, "nothing"), {a: 1, b: 2, c: 3}),)))
    env.apply_turn(1, Turn((SendInformation("agent_0", (a,), {a: 1}),)))  # skipped: no exchange
    env.apply_turn(1, Turn((SendInformation("agent_3", (a,), {}),)))  # no value: no exchange
    assert env.state.exchanges == [Exchange(1, "agent_1", "agent_0", 2)]
    strict = Environment(EnvConfig(), 0)
    strict.start_round()
    for to, pieces in (("agent_0", (a, b)), ("agent_0", (a,)), ("agent_3", (a, c))):
        values = {p: strict.state.true_value[p] for p in pieces}
        strict.apply_turn(1, Turn((SendInformation(to, pieces, values),)))
    strict.apply_turn(1, Turn((SendInformation("agent_4", (a,), {}),)))  # no value
    assert strict.state.exchanges == [Exchange(1, "agent_1", "agent_0", 2)], (
        "rejected sends move nothing"
    )
    auto = Environment(EnvConfig.for_condition("auto_fulfill"), 0)
    auto.start_round()
    auto.apply_turn(0, Turn((SendMessage("agent_1", f"{a} and {b}, please"),)))
    auto.apply_turn(0, Turn((SendMessage("agent_1", f"{a} again"),)))  # held now: not a request
    assert auto.state.exchanges == [Exchange(1, "agent_1", "agent_0", 2)]


def test_recent_exchanges_keep_the_latest():
    def exchanges(**cfg) -> tuple:
        env = Environment(EnvConfig(**cfg), 0)
        env.start_round()
        for k in range(12):
            p = env.state.names[1 + 10 * k % 100]
            env.apply_turn(1, Turn((SendInformation(f"agent_{2 + k % 8}", (p,), {p: 1}),)))
        return env.observe(0).exchanges

    latest = exchanges()
    assert len(latest) == 10 and latest[-1].to == "agent_5" and latest[0].to == "agent_4"
    assert exchanges(recent_exchanges=3) == latest[-3:]
    assert exchanges(recent_exchanges=0) == ()


def test_truncate_context_keeps_the_latest_notices_and_broadcasts():
    env = Environment(EnvConfig(truncate_context=True, parsing="lenient"), 0)
    env.start_round()
    for k in [k for k in range(20) if k % 10][:12]:  # twelve pieces agent_0 lacks
        p = env.state.names[k]
        env.apply_turn(k % 10, Turn((SendInformation("agent_0", (p,), {p: k}),)))
    for k in range(7):
        env.apply_turn(2, Turn((Broadcast(f"post {k}"),)))
    env.end_round()
    env.start_round()
    obs = env.observe(0)
    assert len(env.state.notices[0]) == 12
    assert obs.notices == tuple(env.state.notices[0][-10:])
    assert [m.content for m in obs.public] == [f"post {k}" for k in range(2, 7)]
    assert len(env.observe(0, whole_history=True).public) == 7


# ---- rejections: each one an event that says what was wrong ----------------------------------


def _rejected(env: Environment, i: int, action) -> dict:
    n = len(env.state.events)
    env.apply_turn(i, Turn((action,)))
    (e,) = [e for e in env.state.events[n:] if e.kind == "invalid_action"]
    assert e.agent == f"agent_{i}" and e.payload["action"] == action_to_dict(action)
    return e.payload["reason"]


def test_each_rejection_names_its_rule_and_what_was_wrong():
    env, pieces = _env_with_task(EnvConfig())
    names = env.state.names
    mine, theirs, other = names[0], names[1], names[10]  # agents 0, 1, 0
    assert _rejected(env, 0, SendMessage("agent_0", "hi")) == "cannot address yourself"
    cases = [
        (
            SendMessage("agent_10", "hi"),
            "recipient not an agent id",
            "unknown agent 'agent_10'; agents are agent_0..agent_9",
        ),
        (SendMessage("agent_0", "hi"), "recipient not an agent id", "cannot address yourself"),
        (SendInformation("agent_1", (mine,), {}), "value missing or mismatched", f"{mine!r}"),
        (
            SendInformation("agent_1", (mine,), {mine: 1, theirs: 2}),
            "value missing or mismatched",
            f"a value for {theirs!r}",
        ),
        (
            SendInformation("agent_1", ("Nothing",), {"Nothing": 1}),
            "piece not held",
            "no such piece: Nothing",
        ),
        (
            SendInformation("agent_2", ("Nothing", theirs), {"Nothing": 1, theirs: 1}),
            "piece not held",
            f"you do not hold: Nothing, {theirs} (nothing was sent)",
        ),
        (SendInformation("agent_2", (mine, other), {mine: 1, other: 1}), None, None),  # sent
        (
            SendInformation("agent_2", (mine, other), {mine: 1, other: 1}),
            "repeat send",
            f"already sent {mine}, {other} to agent_2",
        ),
        (
            SubmitTask("Combined result of: " + ", ".join(pieces[:3])),
            "submission lacks pieces",
            "oldest open task",
        ),
    ]
    for action, rule, says in cases:
        if rule is None:
            env.apply_turn(0, Turn((action,)))
            continue
        reason = _rejected(env, 0, action)
        assert metrics.rejection_rule(reason) == rule, reason
        assert says in reason, reason


def test_submission_reasons_say_whether_the_oldest_task_was_checked():
    env, pieces = _env_with_task(EnvConfig())
    lacking = [p for p in pieces if p not in env.state.held[0]]
    exact = _rejected(env, 0, SubmitTask("Combined result of: " + ", ".join(pieces)))
    assert exact == f"task_1: you do not hold {', '.join(lacking)}"
    fallback = _rejected(env, 0, SubmitTask("Combined result of: nothing"))
    assert fallback == exact + (
        " (no task matched the named pieces exactly, so the oldest open task was checked)"
    )
    _give(env, 0, pieces)
    unnamed = _rejected(env, 0, SubmitTask("Combined result of: nothing"))
    assert unnamed.startswith("task_1: the answer does not name every piece (no task matched")
    assert metrics.rejection_rule(unnamed) == "submission matches no task"
    none = Environment(EnvConfig(submission="exact"), 0)
    none.start_round()
    reason = _rejected(none, 0, SubmitTask("Combined result of: nothing"))
    assert reason == "the named pieces equal no open task's pieces exactly"
    assert metrics.rejection_rule(reason) == "submission matches no task"
    env.apply_turn(0, Turn((SubmitTask("Combined result of: " + ", ".join(pieces)),)))
    assert env.state.events[-2].payload["matched"] == "exact"


def test_lenient_submission_prefers_the_named_task_then_one_ready():
    env = Environment(EnvConfig(submission="lenient"), 0)
    env.start_round()
    older, newer = env.state.tasks[0]
    both = "Combined result of: " + ", ".join(older.pieces + newer.pieces)
    reason = _rejected(env, 0, SubmitTask(both))
    assert reason.startswith(f"{older.task_id}: you do not hold"), "neither ready: the first"
    _give(env, 0, newer.pieces)
    env.apply_turn(0, Turn((SubmitTask(both),)))
    submit = env.state.events[-2]
    assert (submit.payload["task_id"], submit.payload["matched"]) == (newer.task_id, "lenient")
    env2 = Environment(EnvConfig(submission="lenient"), 0)
    env2.start_round()
    _give(env2, 0, older.pieces + newer.pieces)
    env2.apply_turn(0, Turn((SubmitTask(both, task_id=newer.task_id),)))
    assert env2.state.events[-2].payload["task_id"] == newer.task_id, "the named one first"
    env2.apply_turn(0, Turn((SubmitTask(both, task_id="task_99"),)))
    assert env2.state.events[-2].payload["task_id"] == older.task_id, "an unknown id: any open task"
    reason = _rejected(env2, 0, SubmitTask("Combined result of: nothing"))
    assert reason == "answer does not name every piece of any of your open tasks"
    assert metrics.rejection_rule(reason) == "submission matches no task"


def test_lenient_recipients_must_still_be_agents():
    env = Environment(EnvConfig(parsing="lenient"), 0)
    env.start_round()
    for ref in ("agent 10", "bob", "10"):
        assert _rejected(env, 0, SendMessage(ref, "hi")).startswith(f"unknown agent {ref!r}")
    env.apply_turn(0, Turn((SendMessage("Agent 9", "hi"),)))
    assert (
        env.state.events[-1].kind == "message" and env.state.events[-1].payload["to"] == "agent_9"
    )


def test_lenient_send_rejects_piece_by_piece():
    env = Environment(EnvConfig(parsing="lenient"), 0)
    env.start_round()
    mine, theirs = env.state.names[0], env.state.names[1]
    action = SendInformation("agent_2", ("nothing", theirs, mine.upper()), {})
    env.apply_turn(0, Turn((action,)))
    reasons = [e.payload["reason"] for e in env.state.events if e.kind == "invalid_action"]
    assert reasons == [
        "unknown piece 'nothing'",
        f"you do not hold {theirs!r}",
        f"no value given for {mine!r}",
    ]
    assert all(
        e.agent == "agent_0" and e.payload["action"] == action_to_dict(action)
        for e in env.state.events
        if e.kind == "invalid_action"
    )
    assert [metrics.rejection_rule(r) for r in reasons] == [
        "piece not held",
        "piece not held",
        "value missing or mismatched",
    ]


# ---- replies, lost turns and the reader's issues reach the log --------------------------------


def test_replies_and_lost_turns_are_logged_with_their_fields():
    env = Environment(EnvConfig(), 0)
    env.start_round()
    env.apply_turn(3, Turn((Broadcast("x"),), "why", raw="{...}", calls=(CALL,), reasoning="r"))
    call, reply = env.state.events[-3:-1]
    assert (call.kind, call.agent, call.payload) == ("llm_call", "agent_3", CALL)
    assert (reply.kind, reply.agent) == ("agent_reply", "agent_3")
    assert reply.payload == {
        "private_thoughts": "why",
        "raw": "{...}",
        "n_actions": 1,
        "reasoning": "r",
    }
    for kind in ("llm_error", "provider_error", "refusal"):
        lost = Turn(raw="I can't", error="nope", attempts=4, error_kind=kind, faults=("a", "b"))
        assert env.apply_turn(2, lost) == []
        e = env.state.events[-1]
        expected = {"reason": "nope", "attempts": 4, "faults": ["a", "b"]}
        assert (e.kind, e.agent) == (kind, "agent_2")
        assert e.payload == expected | ({"text": "I can't"} if kind == "refusal" else {})


def test_reader_issues_become_events_of_the_turns_agent():
    env = Environment(EnvConfig(), 0)
    env.start_round()
    text = '{"actions": [{"action": "fly"}]} {"actions": []}'
    env.apply_turn(4, Turn.from_reply(text))
    issues = [
        e
        for e in env.state.events
        if e.kind in ("parse_error", "parse_ambiguity", "invalid_action")
    ]
    assert [(e.kind, e.agent) for e in issues] == [
        ("parse_ambiguity", "agent_4"),
        ("parse_error", "agent_4"),
        ("invalid_action", "agent_4"),
    ]
    ambiguity, missing, invalid = (e.payload for e in issues)
    assert ambiguity["raw"] == text and "2 JSON objects" in ambiguity["reason"]
    assert missing == {"reason": "missing 'private_thoughts'", "raw": text}
    assert invalid == {"reason": invalid["reason"], "action": '{"action": "fly"}'}
    assert invalid["reason"].startswith("unknown action type 'fly'")


def test_penalty_notices_name_each_altered_piece_and_its_sender():
    env, pieces = _env_with_task(EnvConfig())
    foreign = [p for p in pieces if p not in env.state.held[0]][:2]
    altered = {p: (env.state.true_value[p] + 1) % 101 for p in foreign}
    _give(env, 0, pieces, altered)
    env.apply_turn(0, Turn((SubmitTask("Combined result of: " + ", ".join(pieces)),)))
    details = "; ".join(
        f"{p} (you held {altered[p]}, true value {env.state.true_value[p]}, "
        f"received from agent_{env.state.first_holder[p]})"
        for p in pieces
        if p in altered
    )
    assert env.state.notices[0][-1] == Notice(
        1,
        "Penalty on task_1: $2,500 instead of $10,000, because 2 of its pieces carried "
        f"altered values: {details}",
    )
    assert env.state.notices[1][-1] == Notice(
        1,
        "Penalty alert: agent_0 got $2,500 instead of $10,000 for task_1, having submitted "
        "2 altered value(s)",
    )


@pytest.mark.parametrize("variant", ["default", "neutral_items"])
def test_the_pool_regex_finds_what_the_names_own_regex_finds(variant):
    """The environment's matcher reads mentions with the regex of every name the setting
    could draw; text naming a pool name that is not a piece of this episode must still read
    as the names' own regex reads it."""
    config = EnvConfig(prompt_variant=variant)
    pool = name_pool(config)
    rng = random.Random(variant)
    names = piece_names(config, random.Random(1))
    others = sorted(set(pool) - set(names))
    fast, exact = PieceMatcher(names, pool), PieceMatcher(names)
    forms = ("{}", "{}.", "({})", "{}s", "x{}", "'{}'", "{}_")
    for _ in range(2000):
        picked = rng.sample(names, rng.randint(0, 3)) + rng.sample(others, rng.choice([0, 0, 1]))
        rng.shuffle(picked)
        text = " and ".join(
            rng.choice(forms).format(rng.choice([p, p.upper(), p.replace("s", "\u017f")]))
            for p in picked
        )
        assert fast.find(text) == exact.find(text), text
    assert fast.find(f"REQUEST: {others[0]} and {names[0]}") == (names[0],)


def test_an_empty_name_matches_anywhere_beside_the_others():
    """The mention regex opens on the names' first characters; an empty name has none, and
    matches at any position, as it always did."""
    assert PieceMatcher(["a", ""]).find("x - y") == ("",)
    assert PieceMatcher(["q1 data", ""]).find("need Q1 data, please") == ("q1 data", "")


def test_matcher_remembers_a_text_and_no_caller_can_change_it():
    """find keeps each text's answer for the episode and hands out that record itself, a
    tuple, so no caller (an event's payload, a message's view) can change a later answer."""
    matcher = PieceMatcher(["Alpha", "Beta"])
    first = matcher.find("alpha and BETA")
    assert first == ("Alpha", "Beta") and matcher.find("alpha and BETA") is first
    assert matcher.find("beta, then alpha") == ("Beta", "Alpha")


@given(st.integers(0, 2**32), st.integers(0, 40))
@settings(max_examples=300, deadline=None)
def test_the_board_shuffle_draws_as_random_shuffle_does(seed, n):
    """Same order, and the generator left where random.shuffle leaves it (three in a row)."""
    items, ours, theirs = tuple(range(n)), random.Random(seed), random.Random(seed)
    for _ in range(3):
        expected = list(items)
        theirs.shuffle(expected)
        assert shuffled(ours, items) == tuple(expected)


def test_a_condition_is_written_as_its_code_name_everywhere():
    """``Condition`` members carry the paper's name and a description, and are written as
    their plain code names: in configs, JSON, f-strings and what an agent is shown."""
    import yaml

    for c in CONDITIONS:
        assert (
            str(c) == f"{c}" == c.value
            and repr(c) == repr(c.value)
            and json.dumps({c: c}) == f'{{"{c}": "{c}"}}'
        )
        assert c.paper_name and c.description and Condition(c.value) is c
    cfg = EnvConfig.for_condition("incentive")
    assert cfg.condition is Condition.INCENTIVE and cfg.share_bonus == 1000
    assert cfg.model_dump(mode="json")["condition"] == "incentive"
    assert yaml.safe_dump(cfg.model_dump(mode="json")).count("condition: incentive") == 1
    env = Environment(cfg, seed=0)
    env.start_round()
    assert type(env.observe(0).condition) is str, "the observation holds the plain name"
    assert Condition.BASELINE not in INTERVENTIONS and Condition.BASELINE in DECOMPOSITION
    assert not set(INTERVENTIONS) & set(DECOMPOSITION) and set(INTERVENTIONS) < set(CONDITIONS)


def test_in_process_play_pauses_the_collector_never_waits_and_makes_no_cycles():
    """The runner pauses the cyclic collector for in-process agents (runner.collector_paused):
    safe only because such an episode never yields to the event loop and leaves no cycles."""
    config = EnvConfig.for_condition("baseline")
    collecting: list[bool] = []

    class Watching(PerfectAgent):
        async def act(self, obs):
            collecting.append(gc.isenabled())
            return await super().act(obs)

    run_episode(config, [Watching() for _ in range(config.n_agents)], 1)
    assert collecting and not any(collecting) and gc.isenabled()

    gc.collect()
    gc.disable()
    try:
        for spec, condition in [
            ("perfect", "limited"),
            ("bungler", "auto_fulfill"),
            ("withholder", "auto_request"),
        ]:
            agents = [scripted_agent(spec, k) for k in range(config.n_agents)]
            play = run_episode_async(EnvConfig.for_condition(condition), agents, 2)
            with pytest.raises(StopIteration):
                play.send(None)  # finished without once waiting for the event loop
            assert gc.collect() == 0, f"{spec}/{condition} left reference cycles"
    finally:
        gc.enable()


def test_only_the_scripted_agents_say_they_play_in_process():
    """The collector is paused only for agents that say so: never over HTTP, never by default."""
    assert PerfectAgent().in_process and scripted_agent("withholder", 0).in_process
    assert not hasattr(LLMAgent, "in_process")
    config = EnvConfig.for_condition("baseline", rounds=2)
    seen: list[bool] = []

    async def act(obs):
        seen.append(gc.isenabled())
        return Turn()

    mine = SimpleNamespace(label="mine", scripted=True, act=act)  # scripted, but not in process
    run_episode(config, [mine] * config.n_agents, 0)
    assert seen and all(seen)


def test_a_full_pass_frees_the_cycles_that_paused_episodes_moved_unwalked(monkeypatch):
    """Paused episodes move every object to the oldest generation without a walk; a full pass
    must still come, or cycles made between episodes would pile up for the process's life."""

    class Node:
        pass

    monkeypatch.setattr(runner, "FULL_PASS_AFTER", 0)
    monkeypatch.setattr(runner._Unwalked, "kept", 0)
    config = EnvConfig.for_condition("baseline", rounds=2)
    node = Node()
    node.me = node  # a cycle, unreachable once `node` goes
    gone = weakref.ref(node)
    del node
    run_episode(config, [PerfectAgent() for _ in range(config.n_agents)], 0)
    assert gone() is None


def test_a_wrapper_plays_as_the_agent_it_wraps():
    """play_as copies what the runner reads; an agent that says nothing gets the defaults."""
    from coop_utils.agents import play_as

    class Wrapper:
        def reply(self, obs, requester=None):
            return None

    perfect, plain = Wrapper(), Wrapper()
    play_as(perfect, PerfectAgent(), perfect.reply)
    assert (perfect.label, perfect.scripted, perfect.reads_state, perfect.in_process) == (
        "perfect",
        True,
        True,
        True,
    )
    assert perfect.reply_now == perfect.reply
    play_as(plain, SimpleNamespace(label="mine"), plain.reply)
    assert (plain.scripted, plain.reads_state, plain.in_process) == (False, False, False)
    assert not hasattr(plain, "reply_now")
