"""The reply parser reads what models actually send and never raises on what they shouldn't."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coop_utils.game.actions import (
    Broadcast,
    SendInformation,
    SendMessage,
    SubmitTask,
    Turn,
    action_to_dict,
    object_spans,
    parse_action,
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


@pytest.mark.slow
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


@pytest.mark.slow
@settings(max_examples=1500, deadline=None)
@given(
    st.text(max_size=300) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["strict", "lenient"]),
)
def test_parser_fuzz_arbitrary_text(text, parsing):
    parsed = parse_reply(text, parsing)
    assert parsed.actions == () or isinstance(parsed.actions, tuple)


# ---- each reading rule, with the reason it gives (mutation testing found these unpinned) -------


def one(item, parsing: str = "strict"):
    """The reply holding one action item, read by ``parsing``."""
    return parse_reply(json.dumps({"actions": [item], "private_thoughts": "x"}), parsing)


def reasons(parsed) -> list[str]:
    return [i.reason for i in parsed.issues]


def test_reply_level_issues_carry_the_whole_reply():
    """Every parse_error and parse_ambiguity keeps the reply as its raw text, for the log."""
    texts = [
        "",
        "no json here",
        "[1, 2]",
        '{"private_thoughts": "x"}',
        '{"actions": {"action": "broadcast", "content": "x"}, "private_thoughts": "x"}',
        '{"actions": [], "private_thoughts": "a"} {"actions": [], "private_thoughts": "b"}',
        '{ {"actions": [], "private_thoughts": "x"}',
        '{"actions": [{"action": "broadcast", "content": "x"},], "private_thoughts": "x"}',
        '{"actions": []}',
    ]
    for parsing in ("strict", "lenient"):
        seen = 0
        for text in texts:
            parsed = parse_reply(text, parsing)
            reply_level = [i for i in parsed.issues if i.kind != "invalid_action"]
            assert all(i.raw == text for i in reply_level), (parsing, text)
            seen += len(reply_level)
        assert seen >= len(texts) - 1, "every text but one gives a reply-level issue"
    assert parse_reply(None).issues[0].raw == "None", "a non-text reply is shown as its repr"
    assert parse_reply(42).issues[0] == parse_reply(42, "lenient").issues[0]
    assert parse_reply(42).issues[0].raw == "42"


def test_failed_replies_have_no_thoughts_and_thoughts_are_text():
    for text in ("", "no json", "[1]"):
        assert parse_reply(text).private_thoughts == ""
    assert parse_reply('{"actions": []}').private_thoughts == "", "missing: empty, and flagged"
    as_json = parse_reply('{"actions": [], "private_thoughts": {"plan": [1, 2]}}')
    assert as_json.private_thoughts == '{"plan": [1, 2]}'
    assert parse_reply('{"actions": [], "private_thoughts": null}').private_thoughts == ""


def test_strict_reading_cuts_at_the_first_closing_think_tag_only_with_both_tags():
    reply = {"actions": [], "private_thoughts": "I left </think> in my notes"}
    text = "<think>{draft}</think>" + json.dumps(reply)
    assert parse_reply(text).private_thoughts == reply["private_thoughts"], "cut at the first"
    closing_only = "{draft} </think> " + json.dumps(reply)
    (issue,) = parse_reply(closing_only).issues
    assert issue.kind == "parse_error", "no opening tag: no think block, the first '{' is read"


def test_strict_reading_drops_fences_even_without_newlines():
    assert parse_reply("```json" + json.dumps(GOOD) + "```").issues == ()
    assert parse_reply("```\n" + json.dumps(GOOD) + "\n```").issues == ()
    for fenced in ("```json\n[1]\n```", "```\n[1]\n```"):  # decoded once the fences are gone
        assert reasons(parse_reply(fenced)) == ["reply is not a JSON object"]


def test_reasons_for_empty_and_non_object_replies():
    for parsing in ("strict", "lenient"):
        assert reasons(parse_reply(" ", parsing)) == ["empty reply"]
        assert reasons(parse_reply("[1, 2]", parsing)) == ["reply is not a JSON object"]
    assert reasons(parse_reply("<think>{a}</think> [1]", "lenient")) == [
        "reply is not a JSON object"
    ], "the think block is cut and nothing is put in its place"


def test_strict_reading_reasons():
    first_open = '{ no close {"actions": [], "private_thoughts": "x"}'
    assert reasons(parse_reply(first_open)) == [
        "not JSON: no complete JSON object from the first '{'; 1 later object(s) ignored"
    ]
    assert reasons(parse_reply("just { text")) == [
        "not JSON: no complete JSON object from the first '{'"
    ]
    bad = '{bad} {"actions": [], "private_thoughts": "x"}'
    with pytest.raises(json.JSONDecodeError) as err:
        json.loads("{bad}")
    assert reasons(parse_reply(bad)) == [f"not JSON: {err.value}"], "the first is read, and fails"


def test_lenient_reading_picks_the_last_reply_and_says_how_many_it_skipped():
    example = json.dumps({"actions": [], "private_thoughts": "an example"})
    real = json.dumps(GOOD)
    for sep in ("\n", ""):  # glued objects too
        parsed = parse_reply(example + sep + real, "lenient")
        assert len(parsed.actions) == 4 and parsed.private_thoughts == "share first"
        assert reasons(parsed) == [
            "2 JSON objects in the reply; read the last object that looks like a reply "
            "(1 earlier ignored) (lenient reading)"
        ]
    broken_last = real + ' {"actions": [}'
    parsed = parse_reply(broken_last, "lenient")
    assert len(parsed.actions) == 4, "a later object that does not decode is passed over"
    assert reasons(parsed) == [
        "2 JSON objects in the reply; read the last object that looks like a reply "
        "(lenient reading)"
    ]
    nested = real + ' {"note": {"actions": []}}'
    assert len(parse_reply(nested, "lenient").actions) == 4, "the key must be at the top"


def test_lenient_reading_finds_reply_keys_only_inside_each_object():
    single = '{"action": "broadcast", "content": "hi"}'
    for text in (
        f'First {single} then {{"b": 2}}',
        f'Say "actions" first: {single} then {{"b": 2}}',
    ):
        parsed = parse_reply(text, "lenient")
        assert parsed.actions == (Broadcast("hi"),), text
    after = parse_reply('{"a": 1}"actions" {"b": 2}', "lenient")
    assert reasons(after)[-1] == "missing 'actions'", "a key just after an object is not in it"


def test_lenient_reading_without_any_reply_object():
    assert reasons(parse_reply("hello", "lenient")) == ["not JSON: no JSON object found"]
    parsed = parse_reply('Sure: {"a": 1}', "lenient")
    assert reasons(parsed) == ["missing 'private_thoughts'", "missing 'actions'"]
    parsed = parse_reply('{"a": 1} {"b": 2}', "lenient")
    assert reasons(parsed)[0].startswith("2 JSON objects in the reply; read the last object")
    with pytest.raises(json.JSONDecodeError) as err:
        json.loads("{bad}")
    assert reasons(parse_reply('{"a": 1} {bad}', "lenient")) == [f"not JSON: {err.value}"]
    assert reasons(parse_reply('x {"note": {"actions": 1}}', "lenient")) == [
        "not JSON: no JSON object with 'actions' found"
    ]
    with pytest.raises(json.JSONDecodeError) as err:
        json.loads('{"actions": [}')
    assert reasons(parse_reply('x {"actions": [}', "lenient")) == [f"not JSON: {err.value}"]


def test_lenient_reading_reports_unclosed_braces_and_repaired_commas():
    text = '{ {"actions": [], "private_thoughts": "x"}'
    assert reasons(parse_reply(text, "lenient")) == ["1 '{' that never close ignored"]
    text = '{"actions": [{"action": "broadcast", "content": "x"},], "private_thoughts": "x"}'
    assert reasons(parse_reply(text, "lenient")) == ["trailing comma(s) ignored"]


def test_object_spans_by_hand():
    assert object_spans('{"a": {}}') == ([(0, 9)], 0), "an empty object inside is not top level"
    assert object_spans('{"a": 1}}} {"b": 2}') == ([(0, 8), (11, 19)], 0), "stray closers"
    assert object_spans('{ {"a": {}} {}') == ([(2, 11), (12, 14)], 1)
    assert object_spans('say "hi" {"k": "}"}') == ([(9, 19)], 0), "a brace in a string"


def test_actions_are_read_strictly_by_default():
    assert parse_action({"action": "broadcast", "content": "x"}) == Broadcast("x")
    with pytest.raises(ValueError, match="missing 'action'"):
        parse_action({"type": "broadcast", "content": "x"})


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("not an object", "an action must be a JSON object"),
        ({"content": "x"}, "missing 'action'"),
        ({"type": "broadcast"}, "missing 'action' (the type goes under 'action', not 'type')"),
        (
            {"action": "fly"},
            "unknown action type 'fly'; expected one of send_message, send_information, "
            "broadcast, submit_task",
        ),
        ({"action": "send_message", "content": "x"}, "missing 'to'"),
        ({"action": "send_message", "to": 3, "content": "x"}, "'to' must be a string, got int"),
        ({"action": "broadcast", "content": 5}, "'content' must be a string, got int"),
        ({"action": "submit_task", "answer": None}, "'answer' must be a string, got NoneType"),
        (
            {"action": "send_information", "to": "agent_1", "information": [], "values": {}},
            "'information' must be a non-empty list of piece names",
        ),
        (
            {"action": "send_information", "to": "agent_1", "information": "A", "values": {}},
            "'information' must be a non-empty list of piece names",
        ),
        (
            {"action": "send_information", "to": "agent_1", "information": ["A"]},
            "'values' must be an object mapping each piece sent to its value",
        ),
        (
            {"action": "send_information", "to": "agent_1", "information": ["A"], "values": {}},
            "no value given for 'A' (a value is required per piece)",
        ),
        (
            {"action": "send_information", "to": "a", "information": ["A"], "values": {"A": "x"}},
            "value for 'A' must be a number, got 'x'",
        ),
        (
            {
                "action": "send_information",
                "to": "a",
                "information": ["A"],
                "values": {"A": 1, "B": 2},
            },
            "a value is given for 'B', which is not in 'information'",
        ),
    ],
)
def test_strict_action_reasons(item, reason):
    parsed = one(item)
    assert parsed.actions == ()
    (issue,) = parsed.issues
    assert (issue.kind, issue.reason, issue.raw) == ("invalid_action", reason, json.dumps(item))


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"type": "send_message", "to": True, "content": "x"}, "'to' must be a non-empty string"),
        (
            {"type": "send_message", "to": "agent_1", "content": " "},
            "'content' must be a non-empty string",
        ),
        (
            {"type": "send_message", "to": "agent_1", "content": False},
            "'content' must be a non-empty string",
        ),
        ({"type": "submit_task", "answer": ""}, "'answer' must be a non-empty string"),
        (
            {"type": "send_information", "to": 1, "pieces": []},
            "'information' must be a non-empty list of piece names",
        ),
        (
            {"type": "send_information", "to": 1, "information": [1]},
            "'information' must be a non-empty list of piece names",
        ),
        (
            {"type": "send_information", "to": 1, "information": ["A"], "values": [1]},
            "'values' must be an object mapping piece name to integer",
        ),
        (
            {"type": "send_information", "to": 1, "information": ["A"], "values": {"A": [1]}},
            "value for 'A' must be an integer, got [1]",
        ),
        (
            {"type": "send_information", "to": 1, "information": ["A"], "values": {"A": 1.5}},
            "value for 'A' must be an integer, got 1.5",
        ),
    ],
)
def test_lenient_action_reasons(item, reason):
    (issue,) = one(item, "lenient").issues
    assert (issue.kind, issue.reason) == ("invalid_action", reason)


def test_lenient_reading_of_each_field():
    def action(item):
        parsed = one(item, "lenient")
        assert parsed.issues == (), parsed.issues
        return parsed.actions[0]

    assert action({"type": "send_message", "recipient": "agent_2", "content": " hi "}) == (
        SendMessage("agent_2", "hi")
    )
    assert action({"type": "send_message", "to": 7, "content": 42}) == SendMessage("agent_7", "42")
    assert action({"action": "send_message", "to": " agent_1 ", "content": "x"}).to == "agent_1"
    info = {"type": "send_information", "to": "agent_1"}
    assert action({**info, "pieces": [" A "], "values": {"A": 3}}) == SendInformation(
        "agent_1", ("A",), {"A": 3}
    )
    assert action({**info, "information": ["A"]}).values == {}, "values may be missing"
    assert action({**info, "information": ["A"], "values": {"A": 4.0, 5: " -6 "}}).values == {
        "A": 4,
        "5": -6,
    }
    assert action({"type": "broadcast", "content": 5}) == Broadcast("5")
    assert action({"type": "submit_task", "answer": " A, B "}) == SubmitTask("A, B")
    assert action({"type": "broadcast", "action": "submit_task", "content": "x"}) == Broadcast("x")


def test_strict_reading_of_each_field():
    assert one({"action": "broadcast", "type": "send_message", "content": ""}).actions == (
        Broadcast(""),
    ), "strict reads 'action' only, and an empty text is still text"
    assert one({"action": "submit_task", "answer": ""}).actions == (SubmitTask(""),)
    submit = {"action": "submit_task", "answer": [" A", "B "], "task_id": "task_3"}
    for parsing in ("strict", "lenient"):
        assert one(submit, parsing).actions == (SubmitTask("Combined result of: A, B", "task_3"),)
    assert one({**submit, "task_id": 3}).actions[0].task_id is None
    assert one({**submit, "answer": []}).issues[0].reason == "'answer' must be a string, got list"


def test_actions_as_one_object_or_a_top_level_action():
    text = json.dumps({"actions": {"action": "broadcast", "content": "x"}, "private_thoughts": ""})
    assert parse_reply(text, "lenient").actions == (Broadcast("x"),)
    assert reasons(parse_reply(text)) == ["'actions' must be a list"]
    top = json.dumps({"action": "broadcast", "content": "x", "private_thoughts": "t"})
    for parsing in ("strict", "lenient"):
        assert parse_reply(top, parsing).actions == (Broadcast("x"),)
    assert reasons(parse_reply('{"private_thoughts": "x"}')) == ["missing 'actions'"]


def test_unknown_parsing_is_an_error_that_names_the_choices():
    with pytest.raises(
        ValueError, match=r"^unknown parsing 'loose'; choose one of strict, lenient$"
    ):
        parse_reply("{}", "loose")


def test_turn_from_reply_reads_by_the_given_rule_and_keeps_the_call():
    reply = json.dumps(
        {"actions": [{"type": "broadcast", "content": "x"}], "private_thoughts": "t"}
    )
    turn = Turn.from_reply(reply, "lenient", attempts=3, reasoning="r")
    assert turn.actions == (Broadcast("x"),) and turn.private_thoughts == "t"
    assert (turn.attempts, turn.reasoning, turn.raw) == (3, "r", reply)
    assert Turn.from_reply(reply).actions == (), "strict by default"
