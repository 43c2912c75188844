"""Every metric of the paper, pinned on small hand-built event logs whose answers are worked
out by hand in each test, then checked on perfect play and on scripted withholders."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import pandas as pd
import pytest
from scipy import stats as sps

from coop_utils.agents import PerfectAgent, scripted_agent
from coop_utils.analysis import metrics
from coop_utils.game.config import PERFECT_PLAY_TASKS, EnvConfig
from coop_utils.game.events import Event
from coop_utils.run.runner import run_episode


class Log:
    """Writes events the way the environment does, with only the fields metrics read."""

    def __init__(self, holdings: dict[int, list[str]] | None = None, n_agents: int = 4):
        self.events: list[Event] = []
        self.round = 0
        self.turn = 0
        pieces = [
            {"name": p, "value": 50, "holder": h} for h, ps in (holdings or {}).items() for p in ps
        ]
        agents = {f"agent_{i}": "test" for i in range(n_agents)}
        self.add("run_start", None, config={}, seed=0, agents=agents, pieces=pieces)

    def add(self, kind: str, agent: str | None, **payload) -> Log:
        self.events.append(
            Event("t", len(self.events), self.round, self.turn, agent, kind, payload)
        )
        return self

    def next_round(self) -> Log:
        self.round += 1
        return self.add("round_start", None, order=[])

    def turn_start(self, agent: str, instant: bool = False) -> Log:
        self.turn += 1
        return self.add("turn_start", agent, instant=instant)

    def deal(self, owner: str, task_id: str, pieces: list[str]) -> Log:
        return self.add("task_dealt", owner, task_id=task_id, pieces=pieces, description="")

    def message(self, sender, to, requests=(), system=False, delivered=True) -> Log:
        return self.add(
            "message",
            sender,
            to=to,
            content="...",
            delivered=delivered,
            system=system,
            pieces=list(requests),
            requests=list(requests),
        )

    def transfer(self, sender, to, piece, value=50, true_value=50, via="agent") -> Log:
        return self.add(
            "transfer",
            sender,
            to=to,
            piece=piece,
            value=value,
            true_value=true_value,
            manipulated=value != true_value,
            bonus=0,
            via=via,
        )

    def skipped(self, sender, to, piece, value=50, true_value=50) -> Log:
        return self.add(
            "transfer_skipped", sender, to=to, piece=piece, value=value, true_value=true_value
        )

    def submit(self, agent: str, task_id: str) -> Log:
        return self.add("submit", agent, task_id=task_id, pieces=[], paid=1.0, altered=[])

    def end(self, revenues: dict[str, float]) -> Log:
        done = dict.fromkeys(revenues, 0)
        return self.add("run_end", None, tasks=0, revenues=revenues, tasks_done=done)


# ---- tasks, pct_optimal, msgs_per_task ---------------------------------------------------------


def test_tasks_and_pct_optimal_use_the_configurable_ceiling():
    log = Log().next_round().submit("agent_0", "task_1").submit("agent_1", "task_2")
    log.submit("agent_0", "task_3")
    assert metrics.tasks(log.events) == 3
    assert metrics.pct_optimal(log.events) == pytest.approx(100 * 3 / 204.0)
    assert metrics.pct_optimal(log.events, ceiling=12) == pytest.approx(25.0)
    assert PERFECT_PLAY_TASKS == 204.0


def test_msgs_per_task_counts_authored_messages_and_broadcasts_not_system_ones():
    log = Log().next_round()
    log.message("agent_0", "agent_1")  # authored, delivered
    log.message("agent_0", "agent_2", delivered=False)  # authored under auto_request
    log.message("agent_1", "agent_0", system=True)  # the system's ask: not authored
    log.add("broadcast", "agent_3", content="hello all")  # authored
    log.submit("agent_0", "task_1").submit("agent_2", "task_2")
    assert metrics.authored_messages(log.events) == 3
    assert metrics.msgs_per_task(log.events) == pytest.approx(3 / 2)


def test_delivered_messages_count_what_arrived_including_the_systems_asks():
    """The authors' count: every delivered message (auto_request's asks in the agent's name
    included) and every broadcast; an agent's own undelivered messages are not counted."""
    log = Log().next_round()
    log.message("agent_0", "agent_1")  # own, delivered: both counts
    log.message("agent_0", "agent_2", delivered=False)  # own, undelivered: authored only
    log.message("agent_1", "agent_3", delivered=False)  # own, undelivered: authored only
    for to in ("agent_1", "agent_2", "agent_3"):
        log.message("agent_0", to, system=True)  # the system's asks: delivered only
    log.add("broadcast", "agent_3", content="hello all")  # both counts
    log.submit("agent_0", "task_1").submit("agent_2", "task_2")
    assert metrics.authored_messages(log.events) == 4
    assert metrics.delivered_messages(log.events) == 5
    assert metrics.msgs_per_task(log.events) == pytest.approx(4 / 2)
    assert metrics.msgs_per_task_delivered(log.events) == pytest.approx(5 / 2)
    m = metrics.run_metrics(log.events)
    assert (m["messages"], m["messages_delivered"]) == (4, 5)
    assert m["msgs_per_task_delivered"] == pytest.approx(2.5)


def test_a_message_event_without_its_documented_fields_is_an_error_not_a_guess():
    """``events.EVENT_KINDS`` says every message carries ``system`` and ``delivered``; a log
    without them is malformed and must not be counted by a default."""
    bare = Event("t", 0, 1, 1, "agent_0", "message", {"to": "agent_1", "content": "hi"})
    for count in (metrics.authored_messages, metrics.delivered_messages):
        with pytest.raises(KeyError):
            count([bare])


def test_zero_tasks_give_nan_where_a_ratio_is_undefined():
    log = Log({0: ["p0"]}).next_round().message("agent_1", "agent_2")
    log.end({"agent_0": 0.0, "agent_1": 0.0})
    m = metrics.run_metrics(log.events)
    assert m["tasks"] == 0 and m["pct_optimal"] == 0.0
    assert math.isnan(m["msgs_per_task"]) and math.isnan(m["msgs_per_task_delivered"])
    assert math.isnan(m["response_rate"])  # nobody was asked for anything
    assert math.isnan(m["pipeline_efficiency"])  # no task ever became completable
    assert m["gini"] == 0.0  # all revenues zero


# ---- gini ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("revenues", "expected"),
    [
        ([0, 0, 0, 0], 0.0),
        ([5, 5, 5], 0.0),
        # |0-10| twice over n² = 4 pairs: 20 / (2 · 4 · 5) = 0.5
        ([0, 10], 0.5),
        # pairwise |diffs| 1,2,3,1,2,1 → 20 over ordered pairs; 20 / (2 · 16 · 2.5) = 0.25
        ([1, 2, 3, 4], 0.25),
        # one agent has everything: (n-1)/n
        ([0, 0, 0, 0, 100], 0.8),
    ],
)
def test_gini_coefficient_by_hand(revenues, expected):
    assert metrics.gini_coefficient(revenues) == pytest.approx(expected)


def test_gini_of_one_agent_is_zero_and_of_no_agent_undefined():
    assert metrics.gini_coefficient([7.0]) == 0.0
    assert math.isnan(metrics.gini_coefficient([]))
    assert math.isnan(metrics.gini(Log().next_round().events)), "no revenues recorded yet"


def test_gini_reads_final_revenues_from_run_end_or_else_the_last_round_end():
    log = Log().next_round()
    log.add("round_end", None, revenues={"a": 0.0, "b": 10.0}, tasks_done={})
    assert metrics.gini(log.events) == pytest.approx(0.5)
    log.end({"a": 10.0, "b": 10.0})
    assert metrics.gini(log.events) == 0.0


# ---- response rate -------------------------------------------------------------------------


def test_response_rate_truthful_sends_over_distinct_requests():
    log = Log().next_round()
    log.message("agent_0", "agent_1", requests=["p1"])  # request (0 → 1, p1)
    log.message("agent_0", "agent_1", requests=["p1"])  # asked again: same request
    log.message("agent_0", "agent_2", requests=["p1"])  # second holder: a new request
    log.message("agent_3", "agent_1", requests=["p2"], system=True)  # auto_request ask: counts
    log.message("agent_0", "agent_1", requests=["p3"], delivered=False)  # never arrived
    log.message("agent_0", "agent_3", requests=["p5"])  # never answered
    log.message("agent_0", "agent_1", requests=[])  # names nothing the recipient holds
    # requests: (0,1,p1), (0,2,p1), (3,1,p2), (0,3,p5) → 4
    log.transfer("agent_1", "agent_0", "p1")  # truthful
    log.skipped("agent_2", "agent_0", "p1")  # duplicate, skipped, but truthful: counts
    log.transfer("agent_1", "agent_3", "p2", value=7, true_value=50)  # altered: not truthful
    log.transfer("agent_2", "agent_1", "p4")  # unasked but truthful: counts
    log.transfer("agent_1", "agent_0", "p6", via="auto_fulfill")  # automatic: not the agent's
    assert len(metrics.requests_received(log.events)) == 4
    assert metrics.truthful_sends(log.events) == 3
    assert metrics.response_rate(log.events) == pytest.approx(75.0)


def test_response_rate_can_exceed_100_with_unasked_sends():
    log = Log().next_round().message("agent_0", "agent_1", requests=["p1"])
    log.transfer("agent_1", "agent_0", "p1").transfer("agent_1", "agent_2", "p9")
    assert metrics.response_rate(log.events) == pytest.approx(200.0)


def test_an_altered_skipped_send_is_not_truthful():
    log = Log().next_round().message("agent_0", "agent_1", requests=["p1"])
    log.skipped("agent_1", "agent_0", "p1", value=1, true_value=50)
    assert metrics.truthful_sends(log.events) == 0
    assert metrics.response_rate(log.events) == 0.0


# ---- pipeline efficiency -------------------------------------------------------------------


def _pipeline_log() -> Log:
    log = Log({0: ["p0", "p1"], 1: ["p2", "p3"]}, n_agents=2)
    log.deal("agent_0", "task_1", ["p0", "p1"])  # ready when dealt
    log.deal("agent_0", "task_2", ["p0", "p2"])  # needs p2 from agent_1
    log.deal("agent_1", "task_3", ["p2", "p0"])  # needs p0 from agent_0
    log.deal("agent_1", "task_4", ["p3", "p1"])  # needs p1 from agent_0
    # round 1: agent_0 submits task_1; agent_1 sends p2 after agent_0's turn
    log.next_round()
    log.turn_start("agent_0").submit("agent_0", "task_1")
    log.turn_start("agent_1").transfer("agent_1", "agent_0", "p2")  # task_2 ready
    # round 2 (last): agent_0 has a turn with task_2 ready but never submits it (completable,
    # not submitted). agent_0 sends p0 after agent_1's last turn: task_3 ready, no turn left.
    # agent_1 gets p1 by auto_fulfill within its own turn and submits task_4 in that turn.
    log.next_round()
    log.turn_start("agent_1")
    log.transfer("agent_0", "agent_1", "p1", via="auto_fulfill")
    log.submit("agent_1", "task_4")
    log.turn_start("agent_0").transfer("agent_0", "agent_1", "p0")
    log.turn_start("agent_1", instant=True)  # an instant reply is not a turn of its own
    return log


def test_completable_tasks_by_hand():
    frame = metrics.completable_tasks(_pipeline_log().events).set_index("task_id")
    # task_1: ready at deal, owner's turn → completable, submitted
    # task_2: ready in round 1, owner's turn in round 2 → completable, never submitted
    # task_3: ready after its owner's last turn (only an instant turn follows) → not counted
    # task_4: ready and submitted within one turn → completable by definition
    assert sorted(frame.index) == ["task_1", "task_2", "task_4"]
    assert frame.loc["task_1", "submitted"] and frame.loc["task_4", "submitted"]
    assert not frame.loc["task_2", "submitted"]
    assert frame.loc["task_2", "ready_round"] == 1


def test_completable_tasks_columns_by_hand():
    """Owner and the round each task became ready: task_1 at its deal (round 0), task_2 when
    p2 arrived (round 1), task_4 when p1 was auto-fulfilled in the turn it was submitted."""
    frame = metrics.completable_tasks(_pipeline_log().events)
    assert list(frame.columns) == ["task_id", "owner", "ready_round", "submitted"]
    assert frame["submitted"].dtype == bool
    rows = sorted(map(tuple, frame.itertuples(index=False)))
    assert rows == [
        ("task_1", "agent_0", 0, True),
        ("task_2", "agent_0", 1, False),
        ("task_4", "agent_1", 2, True),
    ]


def test_a_task_ready_at_its_deal_and_never_submitted_is_completable_after_a_turn():
    log = Log({0: ["p0", "p1"]}, n_agents=2).deal("agent_0", "task_1", ["p0", "p1"])
    log.next_round().turn_start("agent_1")  # another agent's turn gives agent_0 no chance
    assert metrics.completable_tasks(log.events).empty
    log.turn_start("agent_0", instant=True)  # nor does an instant reply
    assert metrics.completable_tasks(log.events).empty
    log.turn_start("agent_0")
    frame = metrics.completable_tasks(log.events)
    assert sorted(map(tuple, frame.itertuples(index=False))) == [("task_1", "agent_0", 0, False)]
    assert metrics.pipeline_efficiency(log.events) == 0.0


def test_a_submitted_task_is_completable_by_definition():
    """A submission counts even when the log never showed the task become ready (here: no
    deal at all); it is ready in the round it was submitted."""
    log = Log().next_round().next_round().submit("agent_2", "task_9")
    frame = metrics.completable_tasks(log.events)
    assert sorted(map(tuple, frame.itertuples(index=False))) == [("task_9", "agent_2", 2, True)]
    assert metrics.pipeline_efficiency(log.events) == 100.0


def test_pipeline_efficiency_by_hand():
    # 2 submitted of 3 completable
    assert metrics.pipeline_efficiency(_pipeline_log().events) == pytest.approx(200 / 3)


def test_a_task_completable_only_in_the_last_round_is_not_counted():
    log = Log({0: ["p0"], 1: ["p1"]}, n_agents=2).deal("agent_0", "task_1", ["p0", "p1"])
    log.next_round().turn_start("agent_0").turn_start("agent_1")
    log.transfer("agent_1", "agent_0", "p1")  # arrives after agent_0's only turn
    assert metrics.completable_tasks(log.events).empty
    assert math.isnan(metrics.pipeline_efficiency(log.events))


# ---- failures and usage --------------------------------------------------------------------


def test_counts_and_usage():
    log = Log().next_round()
    log.turn_start("agent_0")
    log.add("llm_call", "agent_0", input_tokens=100, output_tokens=20, cost_usd=0.5)
    log.add("agent_reply", "agent_0", private_thoughts="", n_actions=2)
    log.add("parse_error", "agent_0", reason="bad json", raw="{")
    log.add("invalid_action", "agent_0", reason="unknown piece", action=None)
    log.add("invalid_action", "agent_0", reason="not held", action=None)
    log.turn_start("agent_1")
    log.add("llm_call", "agent_1", input_tokens=50, cached_input_tokens=10, cost_usd=None)
    log.add("llm_error", "agent_1", reason="timeout", attempts=3)
    log.turn_start("agent_2").add("agent_reply", "agent_2", private_thoughts="x", n_actions=0)
    log.transfer("agent_2", "agent_0", "p1", value=3, true_value=60)
    log.transfer("agent_2", "agent_0", "p2")
    m = metrics.run_metrics(log.events)
    assert (m["parse_errors"], m["invalid_actions"], m["lost_turns"]) == (1, 2, 1)
    assert m["agent_turns"] == 3 and m["lost_turn_share"] == pytest.approx(1 / 3)
    assert m["manipulated_values"] == 1
    assert m["llm_calls"] == 2
    assert (m["input_tokens"], m["cached_input_tokens"], m["output_tokens"]) == (150, 10, 20)
    assert m["reasoning_tokens"] == 0 and m["cost_usd"] == pytest.approx(0.5)


def test_retried_attempts_count_attempts_beyond_the_first():
    log = Log().next_round()
    log.add("llm_call", "agent_0", attempts=1)  # first try: no retry
    log.add("llm_call", "agent_1", attempts=2)  # one retry
    log.add("llm_call", "agent_2", attempts=None)  # not recorded: counted as one attempt
    log.add("llm_error", "agent_3", reason="timeout", attempts=4)  # three retries, then lost
    log.add("refusal", "agent_4", reason="declined", attempts=9)  # not an llm_call/llm_error
    assert metrics.retried_attempts(log.events) == 4
    assert metrics.run_metrics(log.events)["retried_attempts"] == 4


def test_every_lost_turn_class_is_a_turn_and_counted_apart():
    log = Log().next_round()
    log.add("agent_reply", "agent_0", private_thoughts="", n_actions=0)
    log.add("llm_error", "agent_1", reason="timeout", attempts=6)
    log.add("provider_error", "agent_2", reason="context length", attempts=1)
    log.add("provider_error", "agent_3", reason="moderation", attempts=1)
    log.add("refusal", "agent_0", reason="declined", attempts=1, text="no")
    log.add("parse_ambiguity", "agent_0", reason="2 JSON objects", raw="{}{}")
    m = metrics.run_metrics(log.events)
    assert m["agent_turns"] == 5
    assert (m["lost_turns"], m["provider_errors"], m["refusals"]) == (1, 2, 1)
    assert m["lost_turn_share"] == pytest.approx(1 / 5), "only llm_error is a lost turn"
    assert m["parse_ambiguities"] == 1
    assert metrics.lost_turn_share(Log().events) == 0.0, "no turn, none lost"


def test_run_metrics_has_every_column_with_its_own_value():
    """Each column holds its own metric (a renamed key or a swapped value fails here)."""
    log = Log().next_round()
    log.message("agent_0", "agent_1", requests=["p1", "p2"])
    log.message("agent_0", "agent_2", delivered=False)
    log.message("agent_0", "agent_3", requests=["p3"], system=True)
    log.message("agent_0", "agent_1", system=True)
    log.transfer("agent_1", "agent_0", "p1")
    log.submit("agent_0", "task_1")
    log.add("llm_call", "agent_0", attempts=3, input_tokens=7)
    log.end({"agent_0": 10.0, "agent_1": 0.0})
    m = metrics.run_metrics(log.events, ceiling=4)
    assert list(m) == [
        "tasks",
        "pct_optimal",
        "messages",
        "msgs_per_task",
        "messages_delivered",
        "msgs_per_task_delivered",
        "gini",
        "requests",
        "truthful_sends",
        "response_rate",
        "pipeline_efficiency",
        "invalid_actions",
        "parse_errors",
        "parse_ambiguities",
        "lost_turns",
        "provider_errors",
        "refusals",
        "retried_attempts",
        "agent_turns",
        "lost_turn_share",
        "manipulated_values",
        "llm_calls",
        *metrics.USAGE_FIELDS,
    ]
    assert (m["tasks"], m["pct_optimal"]) == (1, 25.0), "the ceiling is passed through"
    assert (m["messages"], m["msgs_per_task"]) == (2, 2.0)
    assert (m["messages_delivered"], m["msgs_per_task_delivered"]) == (3, 3.0)
    assert (m["requests"], m["truthful_sends"]) == (3, 1)
    assert m["response_rate"] == pytest.approx(100 / 3)
    assert m["gini"] == pytest.approx(0.5)
    assert (m["retried_attempts"], m["llm_calls"], m["input_tokens"]) == (2, 1, 7)


def test_as_events_reads_dicts_and_passes_an_event_log_through():
    events = _pipeline_log().events
    as_dicts = [json.loads(json.dumps(asdict(e))) for e in events]
    assert metrics.as_events(as_dicts) == events
    log = metrics.EventLog(events)
    assert metrics.as_events(log) is log.events and len(log) == len(events)
    assert metrics.as_events(events) == events


def test_metrics_accept_dicts_as_read_from_events_jsonl():
    events = _pipeline_log().events
    as_dicts = [json.loads(json.dumps(asdict(e))) for e in events]
    a, b = metrics.run_metrics(events), metrics.run_metrics(as_dicts)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])), k


@pytest.mark.parametrize(
    ("reason", "rule"),
    [
        # reasons written by the environment (env.py) and the strict parser (actions.py)
        ("the named pieces equal no open task's pieces exactly", "submission matches no task"),
        (
            "task_3: the answer does not name every piece (no task ...)",
            "submission matches no task",
        ),
        (
            "answer does not name every piece of any of your open tasks",
            "submission matches no task",
        ),
        ("task_12: you do not hold A, B", "submission lacks pieces"),
        ("unknown agent 'agent_99'; agents are agent_0..agent_9", "recipient not an agent id"),
        ("cannot address yourself", "recipient not an agent id"),
        ("already sent A, B to agent_2", "repeat send"),
        (
            "no value given for 'A': a value is required for exactly the pieces sent",
            "value missing or mismatched",
        ),
        ("value for 'A' must be a number, got 'high'", "value missing or mismatched"),
        ("you do not hold: A (nothing was sent)", "piece not held"),
        ("no such piece: X (nothing was sent)", "piece not held"),
        ("unknown piece 'X'", "piece not held"),
        ("missing 'action' (the type goes under 'action', not 'type')", "malformed action"),
        ("unknown action type 'fly'; expected one of ...", "malformed action"),
        ("", "malformed action"),
    ],
)
def test_each_rejection_reason_names_its_rule(reason, rule):
    assert metrics.rejection_rule(reason) == rule


def test_rejections_count_turns_per_rule():
    log = Log().next_round()
    log.turn_start("agent_0")
    log.add("invalid_action", "agent_0", reason="already sent A to agent_1", action=None)
    log.add("invalid_action", "agent_0", reason="already sent B to agent_1", action=None)
    log.add("invalid_action", "agent_0", reason="cannot address yourself", action=None)
    log.add("parse_ambiguity", "agent_0", reason="2 JSON objects", raw="")
    log.turn_start("agent_1")
    log.add("invalid_action", "agent_1", reason="already sent C to agent_0", action=None)
    log.add("parse_error", "agent_1", reason="not JSON", raw="")
    log.add("parse_error", "agent_1", reason="missing 'private_thoughts'", raw="")
    log.turn_start("agent_2").add("parse_error", "agent_2", reason="not JSON", raw="")
    counts = metrics.rejections(log.events)
    assert counts == {
        "submission matches no task": 0,
        "submission lacks pieces": 0,
        "recipient not an agent id": 1,
        "repeat send": 2,  # two turns; twice in one turn is once
        "value missing or mismatched": 0,
        "piece not held": 0,
        "malformed action": 0,
        "unreadable reply": 2,
        "ambiguous reply": 1,
    }


# ---- across runs ---------------------------------------------------------------------------


def test_cooperation_competence_means_and_t_halfwidths():
    runs = pd.DataFrame(
        {
            "model": ["m"] * 5 + ["scripted"] * 2,
            "condition": ["auto_request"] * 3 + ["auto_fulfill"] * 2 + ["auto_request"] * 2,
            "pct_optimal": [10.0, 20.0, 30.0, 80.0, 90.0, 50.0, 50.0],
            "scripted": [False] * 5 + [True] * 2,
        }
    )
    cc = metrics.cooperation_competence(runs).set_index("model")
    half = sps.t.ppf(0.975, 2) * 10.0 / math.sqrt(3)  # sd of 10,20,30 is 10
    assert cc.loc["m", "cooperation"] == pytest.approx(20.0)
    assert cc.loc["m", "cooperation_ci95"] == pytest.approx(half)
    assert cc.loc["m", "competence"] == pytest.approx(85.0)
    assert (cc.loc["m", "cooperation_n"], cc.loc["m", "competence_n"]) == (3, 2)
    assert cc.loc["scripted", "competence_n"] == 0 and math.isnan(cc.loc["scripted", "competence"])
    assert cc.loc["scripted", "scripted"] and not cc.loc["m", "scripted"]


def test_cooperation_competence_rows_in_model_order_at_any_confidence():
    runs = pd.DataFrame(
        {
            "model": ["zeta"] * 3 + ["alpha"] * 3,
            "condition": ["auto_request"] * 3 + ["auto_fulfill"] * 3,
            "pct_optimal": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
            "scripted": [True, None, True, False, None, None],  # None: a run without the flag
        }
    )
    cc = metrics.cooperation_competence(runs, confidence=0.90)
    assert list(cc["model"]) == ["alpha", "zeta"]
    cc = cc.set_index("model")
    half = sps.t.ppf(0.95, 2) * 10.0 / math.sqrt(3)
    assert cc.loc["zeta", "cooperation_ci95"] == pytest.approx(half)
    assert cc.loc["alpha", "competence_ci95"] == pytest.approx(half)
    assert cc.loc["zeta", "scripted"] and not cc.loc["alpha", "scripted"], "missing = not scripted"
    assert "scripted" not in metrics.cooperation_competence(runs.drop(columns="scripted"))


# ---- scripted populations ------------------------------------------------------------------


@pytest.mark.slow
def test_perfect_play_scores_the_ceiling_on_every_rate():
    """Perfect play at the default setting: 100% response, 100% pipeline, near-equal revenue.

    Seeds 0–9 give msgs_per_task 7.31–8.05 (mean ≈ 7.66) against the paper's 7.7: each missing
    piece is requested from every holder in the round-start directory, and the number of
    holders grows as pieces spread, so the ratio depends on the deal.
    """
    per_task = []
    for seed in range(4):
        ep = run_episode(EnvConfig(), [PerfectAgent() for _ in range(10)], seed)
        m = metrics.run_metrics(ep.events)
        assert 200 <= m["tasks"] <= 206
        assert m["response_rate"] == pytest.approx(100.0)
        assert m["pipeline_efficiency"] == pytest.approx(100.0)
        assert m["gini"] < 0.05
        assert m["invalid_actions"] == m["parse_errors"] == m["lost_turns"] == 0
        per_task.append(m["msgs_per_task"])
    assert 6.0 < sum(per_task) / len(per_task) < 9.5


def test_withholders_answer_far_fewer_requests_than_cooperators():
    cfg = EnvConfig(rounds=10)
    rates = {}
    for preset in ("withholder", "cooperator"):
        eps = [
            run_episode(cfg, [scripted_agent(preset, s * 1000 + k) for k in range(10)], s)
            for s in range(2)
        ]
        rates[preset] = [metrics.response_rate(ep.events) for ep in eps]
    assert max(rates["withholder"]) < 70.0
    assert min(rates["cooperator"]) > 90.0
