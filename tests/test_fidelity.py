"""One test per row of docs/FIDELITY.md: the default does what the authors' code did, and
each of our own readings is a named option. Each test fails when its rule is reverted."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import statistics
from collections import Counter
from pathlib import Path

import pytest

from coop_utils.agents import PerfectAgent, scripted_agent
from coop_utils.analysis import metrics
from coop_utils.game.actions import (
    Broadcast,
    SendInformation,
    SendMessage,
    SubmitTask,
    Turn,
    parse_reply,
)
from coop_utils.game.config import PAPER_MODELS, EnvConfig
from coop_utils.game.env import Environment
from coop_utils.game.observation import MessageView, Notice
from coop_utils.game.prompts import (
    COOPERATE,
    GOAL,
    JOINT_GOAL,
    prompt_sections,
    render_messages,
    user_message,
    words,
)
from coop_utils.game.world import PIECE_TEMPLATES
from coop_utils.llm.agent import split_think
from coop_utils.llm.models import resolve
from coop_utils.run.runner import AgentError, observation_at, run_episode

# ---- helpers ------------------------------------------------------------------------------------


def started(config: EnvConfig | None = None, seed: int = 0) -> Environment:
    env = Environment(config or EnvConfig(), seed)
    env.start_round()
    return env


def give(env: Environment, i: int, pieces, values: dict[str, int] | None = None) -> None:
    """Move pieces to agent i through the real rules (their first holder sends them)."""
    for p in pieces:
        if p not in env.state.held[i]:
            holder = min(env.state.holders[p])
            value = (values or {}).get(p, env.state.true_value[p])
            env.apply_turn(holder, Turn((SendInformation(f"agent_{i}", (p,), {p: value}),)))


def prompt(env: Environment, i: int = 0) -> str:
    return "\n".join(m["content"] for m in render_messages(env.observe(i)))


def last(env: Environment, kind: str):
    return next(e for e in reversed(env.state.events) if e.kind == kind)


def answer(pieces) -> str:
    return "Combined result of: " + ", ".join(pieces)


# ---- what the prompt says ------------------------------------------------------------------------


def test_baseline_goal_has_no_joint_evaluation_sentence():
    w = words("default")
    sections = dict(prompt_sections(render_messages(started().observe(0))))
    assert sections["goal"] == f"{w.goal} {w.cooperate}"
    assert "together" not in sections["goal"].replace("Work together", "")
    joint = prompt(started(EnvConfig(prompt_variant="joint_goal")))
    assert words("joint_goal").goal in joint and w.cooperate not in joint
    tagged = user_message(started(EnvConfig(prompt_layout="tagged")).observe(0))
    goal = tagged.split(GOAL + "\n", 1)[1].split("\n\n", 1)[0]
    assert goal == f"Your goal is to maximise the overall revenue of the whole system. {COOPERATE}"
    joint = user_message(started(EnvConfig(prompt_variant="joint_goal")).observe(0))
    assert JOINT_GOAL.format(earnings="revenue") in joint and COOPERATE not in joint


def test_default_prompt_says_nothing_about_copies_or_task_pay():
    w = words("default")
    text = prompt(started())
    for said in ("copy", "keep your own", "$10,000", "pays $"):
        assert said not in text
    told = prompt(started(EnvConfig(explain_copy=True, state_reward=True)))
    assert w.copy in told and w.reward.format(reward="$10,000") in told
    bonus = prompt(started(EnvConfig.for_condition("incentive")))
    assert "a completed task earns $10,000" in bonus, "the authors state it beside the bonus"


def test_past_actions_count_asks_as_the_authors_did():
    env = started()
    mine = next(iter(env.state.held[0]))
    other = env.state.names[1]  # held by agent_1
    for content in (f"please send {other}", f"{other}?", f"I need {other} and {mine}"):
        env.apply_turn(0, Turn((SendMessage("agent_1", content),)))
    env.apply_turn(0, Turn((SendMessage("agent_2", f"please send {other}"),)))
    env.apply_turn(0, Turn((SendMessage("agent_1", f"please, {other}"),)))
    asked = env.observe(0).history.asked
    # per recipient; only messages with a request word; a piece it holds counts too
    assert asked == {"agent_1": {other: 3, mine: 1}, "agent_2": {other: 1}}
    give(env, 0, [other])
    history = env.observe(0).history
    assert ("agent_1", other) in history.unanswered, "flagged after more than 2, answered or not"
    assert "(no reply yet)" in user_message(env.observe(0))
    assert f"{other} (3 asks, still no answer)" in prompt(env)

    env = started(EnvConfig(past_asks="answered_aware"))
    for content in (f"please send {other}", f"{other}?", f"I need {other} and {mine}"):
        env.apply_turn(0, Turn((SendMessage("agent_1", content),)))
    assert env.observe(0).history.asked == {"agent_1": {other: 3}}
    give(env, 0, [other])
    assert env.observe(0).history.unanswered == ()


def test_ignoring_list_only_with_show_ignoring():
    for layout, line in (("authors", "Agents not answering you:"), ("tagged", "Agents ignoring")):
        assert line not in prompt(started(EnvConfig(prompt_layout=layout)))
        assert line in prompt(started(EnvConfig(prompt_layout=layout, show_ignoring=True)))


def test_board_is_reshuffled_for_every_prompt():
    config = EnvConfig(board_first_round="zeros")
    env = started(config)
    orders = {tuple(e.agent for e in env.observe(0).board) for _ in range(8)}
    assert len(orders) > 1, "a fresh order for every prompt"
    env = started(config.model_copy(update={"board_order": "shuffled_per_round"}))
    orders = {tuple(e.agent for e in env.observe(0).board) for _ in range(8)}
    assert len(orders) == 1


def test_first_round_board_is_empty():
    env = started()
    assert env.observe(0).board == ()
    env.end_round()
    env.start_round()
    assert len(env.observe(0).board) == 10
    assert len(started(EnvConfig(board_first_round="zeros")).observe(0).board) == 10


def test_every_agents_pieces_span_several_templates():
    def categories(env: Environment, i: int) -> set[str]:
        return {t for p in env.state.held[i] for t in PIECE_TEMPLATES if _fits(p, t)}

    for seed in range(3):
        env = Environment(EnvConfig(), seed)
        assert all(len(categories(env, i)) >= 3 for i in range(10)), "no agent holds one kind"
    cyclic = Environment(EnvConfig(piece_names="cyclic"), 0)
    assert all(len(categories(cyclic, i)) == 1 for i in range(10))


def _fits(name: str, template: str) -> bool:
    head, tail = template.split("{n}")
    return (
        name.startswith(head)
        and name.endswith(tail)
        and name[len(head) : -len(tail) or None].isdigit()
    )


def test_task_descriptions_name_their_pieces():
    env = Environment(EnvConfig(), 0)
    for tasks in env.state.tasks:
        for t in tasks:
            assert all(f'"{p}"' in t.description for p in t.pieces)


def test_penalised_submitter_learns_which_pieces_and_from_whom():
    for condition in ("baseline", "limited"):
        env = started(EnvConfig.for_condition(condition))
        task = env.state.tasks[0][0]
        foreign = [p for p in task.pieces if p not in env.state.held[0]]
        give(env, 0, task.pieces, {foreign[0]: (env.state.true_value[foreign[0]] + 1) % 101})
        env.apply_turn(0, Turn((SubmitTask(answer(task.pieces)),)))
        mine = env.state.notices[0][-1].text
        sender = f"agent_{min(env.state.holders[foreign[0]] - {0})}"
        assert mine.startswith(f"Penalty on {task.task_id}") and foreign[0] in mine
        assert f"received from {sender}" in mine, "the submitter learns who sent it"
        others = [n.text for n in env.state.notices[5]]
        alert = any(t.startswith("Penalty alert: agent_0") for t in others)
        assert alert == (condition == "baseline"), "a public alert, except under limited"


FINANCIAL = ("$", "revenue", "dollar", "corporation", "company", "InfoCluse", "paid", "pays")
BUSINESS_ITEMS = ("sales", "budget", "market", "segment", "quarterly", "report", "forecast")


def neutral_prompts(variant: str, layout: str) -> list[str]:
    """Every prompt of a 4-round incentive episode of manipulators (boards, bonuses,
    penalties and notices all appear)."""
    config = EnvConfig.for_condition(
        "incentive", prompt_variant=variant, state_reward=True, prompt_layout=layout
    )
    agents = [scripted_agent("manipulator", k) for k in range(10)]
    env = Environment(config, 0)
    texts = []
    for _ in range(4):
        for i in env.start_round():
            obs = env.observe(i)
            texts.append(prompt_text(obs))
            env.apply_turn(i, asyncio.run(agents[i].act(obs)))
        env.end_round()
    return texts


def test_neutral_variants_change_what_the_authors_changed():
    """Their A drops the company from the first line and calls the board a score board,
    nothing else; their B adds item names, points and score words, but leaves the system
    message and the sentence on altered values as they were."""
    w = words("default")
    obs = started(EnvConfig(board_first_round="zeros")).observe(0)
    default, a = (
        render_messages(dataclasses.replace(obs, prompt_variant=v))
        for v in ("default", "neutral_company")
    )
    changed = [
        (x, y)
        for x, y in zip(default[1]["content"].split("\n"), a[1]["content"].split("\n"))
        if x != y
    ]
    assert changed == [
        (w.identity.format(agent="agent_0", company="InfoCluse Inc."), "You are agent_0."),
        (w.board, words("neutral_company").board),
    ]
    assert default[0] == a[0], "the system message is the same"
    for text in neutral_prompts("neutral_items", "authors"):
        lines = text.split("\n")
        assert lines[0] == w.system and any(x.startswith(w.penalty[:30]) for x in lines)
        rest = "\n".join(x for x in lines[1:] if not x.startswith(w.penalty[:30])).lower()
        for word in FINANCIAL + BUSINESS_ITEMS:
            assert word.lower() not in rest, word


@pytest.mark.parametrize("variant", ["neutral_company", "neutral_items"])
def test_neutral_variants_hold_no_financial_word_in_the_tagged_profile(variant):
    """Ours, kept with `prompt_layout="tagged"`: no money word anywhere."""
    config = EnvConfig.for_condition(
        "incentive", prompt_variant=variant, state_reward=True, prompt_layout="tagged"
    )
    agents = [scripted_agent("manipulator", k) for k in range(10)]
    env = Environment(config, 0)
    texts = []
    for _ in range(4):  # with boards, bonuses, penalties and notices in the prompt
        for i in env.start_round():
            obs = env.observe(i)
            texts.append(prompt_text(obs))
            env.apply_turn(i, asyncio.run(agents[i].act(obs)))
        env.end_round()
    text = "\n".join(texts)
    assert "Penalty" in text and "points" in text, "the game's amounts are still shown"
    banned = FINANCIAL + (BUSINESS_ITEMS if variant == "neutral_items" else ())
    for word in banned:
        assert word.lower() not in text.lower(), word
    assert "SCORE BOARD" in text


def prompt_text(obs) -> str:
    return "\n".join(m["content"] for m in render_messages(obs))


def test_neutral_items_keep_the_category_as_a_letter():
    names = Environment(EnvConfig(prompt_variant="neutral_items"), 0).state.names
    assert all(n.startswith("Item ") and n[5] in "SRDCP" and n[6:].isdigit() for n in names)
    assert len({n[5] for n in names}) == 5


def test_thoughts_of_a_turn_without_actions_are_not_remembered():
    env = started()
    env.apply_turn(0, Turn((), "thinking only"))
    env.apply_turn(0, Turn((Broadcast("hi"),), "thinking and acting"))
    assert [t for _, t in env.observe(0).thoughts] == ["thinking and acting"]
    env = started(EnvConfig(remember_thoughts="always"))
    env.apply_turn(0, Turn((), "thinking only"))
    assert [t for _, t in env.observe(0).thoughts] == ["thinking only"]


# ---- the decomposition conditions as run ----------------------------------------------------------


@pytest.mark.parametrize("condition", ["auto_request", "auto_fulfill"])
def test_decomposition_prompt_as_run(condition):
    config = EnvConfig.for_condition(condition, board_first_round="zeros")
    env = started(config)
    for k in range(14):
        env.apply_turn(1, Turn((SendMessage("agent_0", f"note {k}"),)))
    env.apply_turn(1, Turn((), ""))
    obs = env.observe(0)
    text = user_message(obs)
    assert [e.rank for e in obs.board] == list(range(1, 11)), "ranked"
    assert COOPERATE not in text, "no cooperate sentence"
    assert text.index(GOAL + "\n") < text.index("This is round 1 of 20."), "goal first"
    if condition == "auto_fulfill":
        assert len(obs.messages) == 10, "history always truncated"
    uniform = started(config.model_copy(update={"prompt_profile": "uniform"}))
    text = user_message(uniform.observe(0))
    assert COOPERATE in text and text.index("This is round") < text.index(GOAL + "\n")
    assert uniform.observe(0).board[0].rank is None
    w = words("default")  # the same in the authors' layout (the default)
    names = [name for name, _ in prompt_sections(render_messages(obs))]
    assert names.index("goal") < names.index("round") and w.cooperate not in prompt(env)
    board = dict(prompt_sections(render_messages(obs)))["board"].split("\n")
    assert board[1].startswith("1. ") and board[10].startswith("10. ")
    names = [name for name, _ in prompt_sections(render_messages(uniform.observe(0)))]
    assert names.index("round") < names.index("goal") and w.cooperate in prompt(uniform)


def _asks_after_a_second_holder(target: str | None) -> tuple[list[str], int, int]:
    """A piece agent_5 lacks gets a second, lower-numbered holder in round 1: whom do the
    system's asks at the end of the round go to? Returns (asks, first holder, lower one)."""
    config = EnvConfig.for_condition("auto_request")
    if target:
        config = config.model_copy(update={"auto_request_target": target})
    env = started(config)
    p = next(
        p for t in env.state.tasks[5] for p in t.pieces if env.state.first_holder[p] not in (0, 5)
    )
    first = env.state.first_holder[p]
    lower = next(j for j in range(first) if j != 5)
    env.apply_turn(
        first, Turn((SendInformation(f"agent_{lower}", (p,), {p: env.state.true_value[p]}),))
    )
    assert env.state.holders[p] == {first, lower}
    env.end_round()
    asks = [
        e.payload["to"]
        for e in env.state.events
        if e.kind == "message" and e.payload["system"] and e.agent == "agent_5"
        if p in e.payload["pieces"]
    ]
    return asks, first, lower


def test_auto_request_asks_the_lowest_numbered_current_holder():
    asks, _, lower = _asks_after_a_second_holder(None)
    assert asks == [f"agent_{lower}"], "the lowest-numbered agent holding it now"
    asks, first, _ = _asks_after_a_second_holder("first_holder")
    assert asks == [f"agent_{first}"]


def test_no_system_asks_after_the_last_round():
    config = EnvConfig.for_condition("auto_request", rounds=3)
    ep = run_episode(config, [scripted_agent("withholder", k) for k in range(10)], 0)
    rounds = Counter(e.round for e in ep.events if e.kind == "message" and e.payload["system"])
    assert set(rounds) == {1, 2}


# ---- strict submission and reply reading ----------------------------------------------------------


def _ready_env(config: EnvConfig) -> tuple[Environment, list]:
    env = started(config)
    for task in env.state.tasks[0]:
        give(env, 0, task.pieces)
    return env, list(env.state.tasks[0])


def test_submission_with_an_extra_piece_fails_by_default_and_passes_lenient():
    extra = None
    for mode, ok in ((None, False), ("exact", False), ("lenient", True)):
        env, (_, newer) = _ready_env(EnvConfig(**({"submission": mode} if mode else {})))
        extra = next(p for p in env.state.names if p not in newer.pieces)
        env.apply_turn(0, Turn((SubmitTask(answer([*newer.pieces, extra])),)))
        assert (env.state.tasks_done[0] == 1) is ok, mode
        if not ok:
            assert last(env, "invalid_action").payload["reason"]


def test_strict_submission_falls_back_to_the_oldest_task():
    """The authors' code checks the oldest open task when no task matches exactly, and
    accepts it when the answer mentions each of its pieces in any case."""
    for mode, ok in ((None, True), ("exact", False)):
        env, (oldest, _) = _ready_env(EnvConfig(**({"submission": mode} if mode else {})))
        extra = next(p for p in env.state.names if p not in oldest.pieces)
        env.apply_turn(0, Turn((SubmitTask(answer([*oldest.pieces, extra]).upper()),)))
        assert (env.state.tasks_done[0] == 1) is ok, mode
        if ok:
            assert last(env, "submit").payload["matched"] == "oldest_task"


def test_submission_names_are_case_sensitive():
    for mode, ok in ((None, False), ("lenient", True)):
        env, (_, newer) = _ready_env(EnvConfig(**({"submission": mode} if mode else {})))
        env.apply_turn(0, Turn((SubmitTask(answer(newer.pieces).lower()),)))
        assert (env.state.tasks_done[0] == 1) is ok, mode


def test_a_list_answer_names_its_pieces():
    env, (_, newer) = _ready_env(EnvConfig())
    item = {"action": "submit_task", "answer": list(newer.pieces)}
    env.apply_turn(0, Turn.from_reply(json.dumps({"actions": [item], "private_thoughts": ""})))
    assert env.state.tasks_done[0] == 1 and last(env, "submit").payload["task_id"] == newer.task_id


def test_recipients_must_be_exact_agent_ids():
    for mode, ok in ((None, False), ("lenient", True)):
        env = started(EnvConfig(**({"parsing": mode} if mode else {})))
        env.apply_turn(0, Turn((SendMessage("Agent 3", "hello"), SendMessage("3", "hi"))))
        sent = [e for e in env.state.events if e.kind == "message"]
        assert (len(sent) == 2) is ok, mode
        if not ok:
            assert "unknown agent 'Agent 3'" in env.state.events[-2].payload["reason"]


def test_sends_need_a_value_for_exactly_the_pieces_sent():
    def one(item: dict, parsing: str = "strict"):
        return parse_reply(json.dumps({"actions": [item], "private_thoughts": "x"}), parsing)

    base = {"action": "send_information", "to": "agent_1", "information": ["A", "B"]}
    cases = {
        "no values": {},
        "one missing": {"values": {"A": 1}},
        "an extra one": {"values": {"A": 1, "B": 2, "C": 3}},
        "not a number": {"values": {"A": 1, "B": "high"}},
    }
    for name, extra in cases.items():
        parsed = one({**base, **extra})
        assert parsed.actions == () and parsed.issues[0].kind == "invalid_action", name
    ok = one({**base, "values": {"A": 1.9, "B": {"value": 2}}})
    assert ok.actions[0].values == {"A": 1, "B": 2}, "as theirs: floats truncated, {value: n} read"
    lenient = one({**base, "values": {"A": 1, "B": 2, "C": 3}}, "lenient")
    assert len(lenient.actions) == 1


def test_repeat_send_of_a_piece_to_the_same_agent_is_rejected():
    for mode, kind in ((None, "invalid_action"), ("lenient", "transfer_skipped")):
        env = started(EnvConfig(**({"parsing": mode} if mode else {})))
        p = env.state.names[0]
        for _ in range(2):
            env.apply_turn(
                0, Turn((SendInformation("agent_1", (p,), {p: env.state.true_value[p]}),))
            )
        assert env.state.events[-1].kind == kind, mode


def test_strict_reading_needs_the_action_key():
    reply = json.dumps(
        {"actions": [{"type": "broadcast", "content": "hi"}], "private_thoughts": ""}
    )
    reading = started().observe(0).parsing  # how an LLM agent reads its reply by default
    assert Turn.from_reply(reply, reading).actions == ()
    assert "'action'" in parse_reply(reply).issues[0].reason
    assert len(parse_reply(reply, "lenient").actions) == 1


GOOD = {"actions": [{"action": "broadcast", "content": "the real one"}], "private_thoughts": "t"}
EXAMPLE = {"actions": [], "private_thoughts": "an example"}
AMBIGUOUS = {
    "two fenced blocks": "Example:\n```json\n{ex}\n```\nMy reply:\n```json\n{good}\n```",
    "two objects": "{ex}\n{good}",
    "prose with braces": 'I saw {{"type": "x"}} earlier. {good}',
}


@pytest.mark.parametrize("case", list(AMBIGUOUS))
def test_ambiguous_replies_are_read_by_rule_and_recorded(case):
    text = AMBIGUOUS[case].format(ex=json.dumps(EXAMPLE), good=json.dumps(GOOD))
    strict, lenient = parse_reply(text), parse_reply(text, "lenient")
    assert strict.actions == (), "strict reads the first object, as the authors' parser did"
    assert [a.content for a in lenient.actions] == ["the real one"], "lenient: the last reply"
    for parsed in (strict, lenient):
        reasons = [i.reason for i in parsed.issues if i.kind == "parse_ambiguity"]
        assert len(reasons) == 1 and "2 JSON objects" in reasons[0]


def test_trailing_comma_is_an_error_strictly_and_repaired_leniently():
    text = '{"actions": [{"action": "broadcast", "content": "hi"},], "private_thoughts": "x"}'
    strict, lenient = parse_reply(text), parse_reply(text, "lenient")
    assert strict.actions == () and strict.issues[0].kind == "parse_error"
    assert [a.content for a in lenient.actions] == ["hi"], "never the inner object as the reply"
    assert [i.kind for i in lenient.issues] == ["parse_ambiguity"]


def test_reading_events_reach_the_log():
    env = started()
    text = AMBIGUOUS["two objects"].format(ex=json.dumps(EXAMPLE), good=json.dumps(GOOD))
    env.apply_turn(0, Turn.from_reply(text))
    env.apply_turn(
        0, Turn.from_reply(json.dumps({"actions": [{"action": "fly"}], "private_thoughts": ""}))
    )
    kinds = [e.kind for e in env.state.events if e.kind in ("parse_ambiguity", "invalid_action")]
    assert kinds == ["parse_ambiguity", "invalid_action"]
    assert metrics.parse_ambiguities(env.state.events) == 1


def test_rejections_are_counted_per_rule_and_turn():
    env, (_, newer) = _ready_env(EnvConfig())
    p = next(iter(env.state.held[0]))
    extra = next(q for q in env.state.names if q not in newer.pieces)
    turns = [
        (SendMessage("agent 3", "hi"), SendMessage("agent_0", "me")),  # one turn, one rule
        (SendInformation("agent_1", (p,), {}),),
        (SendInformation("agent_1", (p,), {p: 1}),),
        (SendInformation("agent_1", (p,), {p: 1}),),  # the repeat
        (SendInformation("agent_2", (env.state.names[1],), {env.state.names[1]: 1}),),
        (SubmitTask(answer([*newer.pieces, extra])),),
    ]
    for actions in turns:
        env.begin_turn(0)
        env.apply_turn(0, Turn(actions))
    env.begin_turn(0)
    text = AMBIGUOUS["two objects"].format(ex=json.dumps(EXAMPLE), good=json.dumps(GOOD))
    env.apply_turn(0, Turn.from_reply(text))
    env.begin_turn(0)
    env.apply_turn(0, Turn.from_reply("no json"))
    counts = metrics.rejections(env.state.events)
    assert counts == {
        "submission matches no task": 1,  # checked against the oldest task, which it misses
        "submission lacks pieces": 0,
        "recipient not an agent id": 1,
        "repeat send": 1,
        "value missing or mismatched": 1,
        "piece not held": 1,
        "malformed action": 0,
        "unreadable reply": 1,
        "ambiguous reply": 1,
    }


# ---- perfect agents --------------------------------------------------------------------------------


def _instant_after(events) -> set[str]:
    """Agents whose turn was followed by an instant reply."""
    out, current = set(), None
    for e in events:
        if e.kind == "turn_start":
            if e.payload["instant"]:
                out.add(current)
            else:
                current = e.agent
    return out


def test_perfect_holders_answer_at_once_only_perfect_requesters():
    config = EnvConfig(rounds=4)

    def agents():
        return [PerfectAgent() if k < 5 else scripted_agent("cooperator", k) for k in range(10)]

    ep = run_episode(config, agents(), 0)
    assert _instant_after(ep.events) <= {f"agent_{k}" for k in range(5)}
    assert _instant_after(ep.events), "perfect requesters still get instant replies"
    ep = run_episode(config.model_copy(update={"instant_replies": "to_anyone"}), agents(), 0)
    assert _instant_after(ep.events) & {f"agent_{k}" for k in range(5, 10)}


def test_perfect_play_reads_its_whole_history():
    config = EnvConfig.for_condition("auto_request")
    tasks = [
        run_episode(config, [PerfectAgent() for _ in range(10)], s).summary["tasks"]
        for s in range(3)
    ]
    assert statistics.mean(tasks) > 220, "truncation would leave asks unseen (about 208)"


# ---- metrics ---------------------------------------------------------------------------------------


def test_response_rate_counts_each_requested_piece_once():
    env = started(EnvConfig(parsing="lenient"))
    p = env.state.names[1]  # held by agent_1
    env.apply_turn(0, Turn((SendMessage("agent_1", f"please send {p}"),)))
    for _ in range(5):
        env.apply_turn(1, Turn((SendInformation("agent_0", (p,), {p: env.state.true_value[p]}),)))
    assert metrics.response_rate(env.state.events) == 100.0


def test_messages_are_counted_both_ways_under_auto_request():
    config = EnvConfig.for_condition("auto_request", rounds=4)
    ep = run_episode(config, [scripted_agent("cooperator", k) for k in range(10)], 0)
    system = sum(1 for e in ep.events if e.kind == "message" and e.payload["system"])
    own = sum(1 for e in ep.events if e.kind == "message" and not e.payload["system"])
    assert metrics.authored_messages(ep.events) == own > 0
    assert metrics.delivered_messages(ep.events) == system > 0, "the authors' count"
    assert ep.summary["messages_delivered"] == system


def test_zero_task_ratios_are_nan_and_tables_show_their_own_n():
    from coop_utils.analysis.tables import table1

    ep = run_episode(EnvConfig(rounds=2), [scripted_agent("free_rider", k) for k in range(10)], 0)
    row = metrics.run_metrics(ep.events)
    assert row["tasks"] == 0 and all(
        row[m] != row[m] for m in ("msgs_per_task", "msgs_per_task_delivered")
    )
    import pandas as pd

    runs = pd.DataFrame(
        [
            {"model": "m", "condition": "baseline", "scripted": True, **row},
            {
                "model": "m",
                "condition": "baseline",
                "scripted": True,
                **row,
                "tasks": 3,
                "msgs_per_task": 2.0,
            },
        ]
    )
    t = table1(runs, paper_only=False)
    assert int(t.loc[0, "n"]) == 2 and int(t.loc[0, "msgs_per_task_n"]) == 1


# ---- request parameters ------------------------------------------------------------------------------


def test_paper_aliases_send_the_authors_request_parameters():
    params = {alias: resolve(alias).params for alias in PAPER_MODELS}
    assert params.pop("claude-sonnet-4") == {"max_tokens": 1000}, "their cap for Claude"
    assert all(p == {} for p in params.values()), "the others at provider defaults"


# ---- the prompt, section by section (docs/FIDELITY.md, "Their prompt beside ours") ---------------

THEIRS = {"system": 42, "identity": 47, "round": 19, "goal": 107}
THEIRS_INSTRUCTIONS = {"baseline": 3672, "incentive": 3804}
"""Lengths in characters of the authors' prompt sections that do not depend on the game state,
measured by `python benchmarks/their_prompt.py --their-code CHECKOUT` (seed 0, agent_0)."""


def sections_of(env: Environment, i: int = 0) -> dict[str, str]:
    return dict(prompt_sections(render_messages(env.observe(i))))


def perfect_obs(condition: str = "baseline", rnd: int = 3, **options):
    config = EnvConfig.for_condition(condition, **options)
    return observation_at(config, [PerfectAgent() for _ in range(10)], 0, 0, rnd)


def test_directory_lists_each_agent_with_its_pieces():
    obs = perfect_obs()
    by_agent = {a: sorted(p for p, hs in obs.directory.items() if a in hs) for a in obs.agents}
    lines = dict(prompt_sections(render_messages(obs)))["directory"].split("\n")[1:]
    assert lines == [f"{a}: {', '.join(ps)}" for a, ps in sorted(by_agent.items())]
    tagged = dict(
        prompt_sections(render_messages(dataclasses.replace(obs, prompt_layout="tagged")))
    )
    assert len(tagged["directory"].split("\n")) == 1 + len(obs.directory), "ours: one per piece"


def test_board_shows_each_agents_dollars_only():
    obs = perfect_obs("incentive")
    board = dict(prompt_sections(render_messages(obs)))["board"].split("\n")
    assert board[0] == words("default").board and len(board) == 11
    for line, e in zip(board[1:], obs.board):
        mark = " (you)" if e.agent == obs.agent else ""
        assert line == f"{e.agent}: ${e.revenue:,.0f}{mark}", "dollars only, no task counts"
    tagged = render_messages(dataclasses.replace(obs, prompt_layout="tagged"))
    assert "completed task" in dict(prompt_sections(tagged))["board"]


def test_thoughts_instruction_asks_for_the_turns_whole_strategy():
    how = sections_of(started())["instructions"]
    closing = how.split("\n")[-2]
    assert '"private_thoughts"' in closing and "whole strategy for this turn" in closing
    assert "top level" in closing, "their reminder: at the root of the object"
    tagged = user_message(started(EnvConfig(prompt_layout="tagged")).observe(0))
    assert "a string only you will see" in tagged and "strategy" not in tagged


def test_system_message_carries_the_authors_content():
    system = sections_of(started())["system"]
    assert system == words("default").system and "JSON" not in system
    assert 0.85 <= len(system) / THEIRS["system"] <= 1.15
    tagged = render_messages(started(EnvConfig(prompt_layout="tagged")).observe(0))[0]["content"]
    assert "JSON" in tagged, "ours adds the reply rule"


def test_free_text_is_shown_as_written_without_tags_theirs_lacks():
    obs = perfect_obs("baseline", 3)
    said = 'He said "yes" \\ ok'
    obs = dataclasses.replace(
        obs,
        messages=(MessageView(2, "agent_1", "agent_0", said),),
        public=(MessageView(2, "agent_4", "all", said),),
        thoughts=((2, said),),
        notices=(Notice(2, "agent_5 completed task_9"),),
    )
    s = dict(prompt_sections(render_messages(obs)))
    assert s["messages"].split("\n")[1] == f"[r2] agent_1 to you: {said}", "a round: see row"
    assert s["public"].split("\n")[1] == f"agent_4: {said}"
    assert s["thoughts"].split("\n")[1] == f"Round 2: {said}", "theirs numbers thoughts too"
    assert s["notices"].split("\n")[1] == "SYSTEM: agent_5 completed task_9"
    exact = dict(prompt_sections(render_messages(dataclasses.replace(obs, message_rounds=False))))
    assert exact["messages"].split("\n")[1] == f"agent_1 to you: {said}"


AUTHORS_POINTS = {
    1: "You may take as many actions as you like in a round",
    2: "A reply with several actions, for example:",
    3: "1. A private message to one agent:",
    4: "2. Pieces sent to an agent that asked you for them:",
    5: "3. A message every agent sees:",
    6: "(hand in several in one turn when you are ready)",
    7: 'The pieces you hold are the ones listed under "Pieces you hold"',
    8: "reaches you only if you ask for it and that agent sends it",
    9: 'When an agent asks you for a piece you hold, give it with "send_information"',
    10: "- Revenue bonus: you earn $1,000 for every piece you send",
    11: "Hand in a task only when EVERY piece it needs is among your own pieces",
    12: "each task you complete is replaced by a new one",
    13: "You may hand in several tasks in the same turn",
    14: '"Who holds which pieces" reflects the latest transfers',
    15: "CHECK that each recipient id is the agent you mean to reach",
    16: 'The answer of submit_task MUST be "Combined result of: " followed by EVERY piece',
    17: "Each send names its pieces AND gives their values",
    18: "brings 50% less revenue",
    19: "FORMAT OF EACH FIELD:",
    20: "REPLY: valid JSON ONLY",
    21: "whole strategy for this turn",
    22: "no commentary, no corrections, no second try, no markdown fences",
}
"""Each instruction of the authors' prompt (numbered as in docs/FIDELITY.md) → where ours says it."""


def test_every_instruction_of_the_authors_has_its_counterpart():
    how = sections_of(started(EnvConfig.for_condition("incentive")))["instructions"]
    for n, ours in AUTHORS_POINTS.items():
        assert ours in how, f"point {n}"
    assert "Revenue bonus" not in sections_of(started())["instructions"], "only under incentive"
    doc = (Path(__file__).resolve().parent.parent / "docs" / "FIDELITY.md").read_text()
    listed = re.findall(r"^(\d+)\. ", doc.split("### Their instructions, point by point")[1], re.M)
    assert [int(n) for n in listed] == list(AUTHORS_POINTS), "the doc lists the same points"


@pytest.mark.parametrize("condition", ["baseline", "incentive"])
def test_fixed_sections_are_within_15_percent_of_theirs(condition):
    s = sections_of(started(EnvConfig.for_condition(condition)))
    for name, theirs in (*THEIRS.items(), ("instructions", THEIRS_INSTRUCTIONS[condition])):
        assert 0.85 <= len(s[name]) / theirs <= 1.15, name


def test_think_block_is_cut_only_with_both_tags_by_default():
    reply = '{"actions": [], "private_thoughts": "final"}'
    draft = '{"actions": [], "private_thoughts": "draft"} </think> '
    assert split_think(draft + reply, "strict") == (None, draft + reply), "the authors' rule"
    assert split_think("<think>" + draft + reply, "strict")[1] == " " + reply
    assert split_think(draft + reply, "lenient")[1] == " " + reply, "ours (parsing='lenient')"
    assert EnvConfig().parsing == "strict"


def test_deepseek_r1_is_the_deployment_the_authors_called():
    assert resolve("deepseek-r1").model == "deepseek-ai/DeepSeek-R1-0528-Turbo"
    assert resolve("deepseek-r1-0528").model == "deepseek-ai/DeepSeek-R1-0528"


class _Failing:
    label, scripted = "failing-model", False

    async def act(self, obs) -> Turn:
        return Turn(error="gave up after 3 attempts: 503", attempts=3)


def test_a_failed_call_aborts_the_run_by_default():
    config = EnvConfig(rounds=2, n_agents=2)
    with pytest.raises(AgentError, match="lost its round-1 turn to llm_error"):
        run_episode(config, [PerfectAgent(), _Failing()], 0)
    played = run_episode(
        config.model_copy(update={"on_agent_error": "lose_turn"}), [PerfectAgent(), _Failing()], 0
    )
    assert sum(e.kind == "llm_error" for e in played.events) == 2


# ---- the document itself -------------------------------------------------------------------------


def test_every_row_of_the_fidelity_table_names_tests_that_exist():
    """Each rule row of docs/FIDELITY.md ends with the tests that pin it; each must exist."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    rows = [
        line
        for line in (root / "docs" / "FIDELITY.md").read_text().splitlines()
        if line.startswith("| ") and line.count("|") == 7 and not line.startswith("| rule")
    ]
    assert len(rows) >= 40
    for row in rows:
        cell = row.rstrip(" |").rsplit("|", 1)[1]
        names = re.findall(r"`([\w/.]+\.py)?(?:::)?(test_\w+)?`", cell)
        assert names, f"no test named in: {row[:60]}"
        for path, test in names:
            source = (root / (path or "tests/test_fidelity.py")).read_text()
            if test:
                assert f"def {test}(" in source, f"{path or 'test_fidelity'}::{test} is missing"
