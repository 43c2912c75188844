"""The reply parser reads what models actually send and never raises on what they shouldn't."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coop_utils.game.actions import (
    Broadcast,
    SendInformation,
    SendMessage,
    SubmitTask,
    Turn,
    action_to_dict,
    parse_reply,
)

GOOD = {
    "actions": [
        {"action": "send_message", "to": "agent_3", "content": "Could you send Q1 sales data?"},
        {
            "action": "send_information",
            "to": "agent_2",
            "information": ["Q2 sales data"],
            "values": {"Q2 sales data": 71},
        },
        {"action": "broadcast", "content": "I hold Q2 sales data"},
        {"action": "submit_task", "answer": "Combined result of: A, B, C, D"},
    ],
    "private_thoughts": "share first",
}


def wire(action) -> dict:
    d = action_to_dict(action)
    return {"action": d.pop("type"), **d}


def test_well_formed_reply():
    parsed = parse_reply(json.dumps(GOOD))
    assert parsed.issues == ()
    assert parsed.private_thoughts == "share first"
    assert [type(a) for a in parsed.actions] == [
        SendMessage,
        SendInformation,
        Broadcast,
        SubmitTask,
    ]
    assert [wire(a) for a in parsed.actions] == GOOD["actions"]


def test_think_block_and_fences_are_stripped():
    text = (
        "<think>I should {not} share</think>\nHere you go:\n```json\n" + json.dumps(GOOD) + "\n```"
    )
    parsed = parse_reply(text)
    assert len(parsed.actions) == 4 and parsed.issues == ()


def test_prose_around_json_and_numeric_strings_lenient():
    reply = {
        "actions": [
            {
                "type": "send_information",
                "to": 4,
                "information": "Q2 sales data",
                "values": {"Q2 sales data": "71"},
            }
        ],
        "private_thoughts": "",
    }
    parsed = parse_reply("Sure! " + json.dumps(reply) + " Thanks.", "lenient")
    (action,) = parsed.actions
    assert action == SendInformation("agent_4", ("Q2 sales data",), {"Q2 sales data": 71})
    (issue,) = parse_reply("Sure! " + json.dumps(reply) + " Thanks.").issues
    assert issue.kind == "invalid_action", "strict: the type goes under 'action'"


def test_each_problem_is_an_issue_with_a_reason():
    cases = {
        "": "empty reply",
        "no json here": "not JSON",
        "[1, 2]": "not a JSON object",  # valid JSON, but a list
        '"just a string"': "not a JSON object",
        '{"private_thoughts": "x"}': "missing 'actions'",
    }
    for text, reason in cases.items():
        (issue,) = parse_reply(text).issues
        assert issue.kind == "parse_error" and reason in issue.reason and issue.raw == text

    bad_actions = [
        {"action": "teleport"},
        {"action": "send_message", "to": "agent_1"},
        {"action": "send_information", "to": "agent_1", "information": []},
        {
            "action": "send_information",
            "to": "agent_1",
            "information": ["X"],
            "values": {"X": "high"},
        },
        {"action": "submit_task"},
        "not an object",
    ]
    parsed = parse_reply(json.dumps({"actions": bad_actions, "private_thoughts": "x"}))
    assert parsed.actions == ()
    assert [i.kind for i in parsed.issues] == ["invalid_action"] * len(bad_actions)
    assert "unknown action type" in parsed.issues[0].reason


def test_missing_thoughts_is_flagged_but_actions_survive():
    parsed = parse_reply(json.dumps({"actions": GOOD["actions"][:1]}))
    assert len(parsed.actions) == 1
    assert [i.reason for i in parsed.issues] == ["missing 'private_thoughts'"]


def test_truncated_json_is_a_parse_error():
    text = json.dumps(GOOD)[:-7]
    parsed = parse_reply(text)
    assert parsed.actions == () and parsed.issues[0].kind == "parse_error"


def test_turn_from_reply_keeps_raw():
    turn = Turn.from_reply(json.dumps(GOOD))
    assert turn.raw == json.dumps(GOOD) and len(turn.actions) == 4 and turn.error is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
action_like = st.fixed_dictionaries(
    {
        "action": st.sampled_from(
            ["send_message", "send_information", "broadcast", "submit_task", "other"]
        )
    },
    optional={
        "to": json_values,
        "content": json_values,
        "information": json_values,
        "values": json_values,
        "answer": json_values,
        "task_id": json_values,
    },
)
reply_like = st.fixed_dictionaries(
    {},
    optional={
        "actions": st.lists(action_like, max_size=5) | json_values,
        "private_thoughts": json_values,
    },
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reply=reply_like,
    wrap=st.sampled_from(["plain", "fence", "think", "prefix", "cut", "twice"]),
    parsing=st.sampled_from(["strict", "lenient"]),
)
def test_parser_fuzz_structured(reply, wrap, parsing):
    text = json.dumps(reply)
    text = {
        "plain": text,
        "fence": f"```json\n{text}\n```",
        "think": f"<think>{{ hmm }}</think>{text}",
        "prefix": f"Here is my answer: {text}",
        "cut": text[: len(text) // 2],
        "twice": f"{text}\n{text}",
    }[wrap]
    parsed = parse_reply(text, parsing)
    kinds = ("parse_error", "parse_ambiguity", "invalid_action")
    assert all(i.kind in kinds and i.reason for i in parsed.issues)
    assert isinstance(parsed.private_thoughts, str)
    if wrap == "twice":
        assert any(i.kind == "parse_ambiguity" for i in parsed.issues), "never a silent choice"


@settings(max_examples=1500, deadline=None)
@given(
    st.text(max_size=300) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["strict", "lenient"]),
)
def test_parser_fuzz_arbitrary_text(text, parsing):
    parsed = parse_reply(text, parsing)
    assert parsed.actions == () or isinstance(parsed.actions, tuple)
