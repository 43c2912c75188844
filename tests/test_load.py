"""Run folders → frames: counts agree with the event logs, keys are on every frame,
debris is skipped and reported, duplicate run ids are made unique, caching is safe."""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest

from coop_utils.agents import scripted_agent
from coop_utils.analysis import load, metrics
from coop_utils.game.actions import Turn
from coop_utils.game.config import EnvConfig
from coop_utils.game.events import Event, read_events
from coop_utils.run.runner import run_episode, write_run

ROUNDS = 4
# The fixture root holds one debris folder on purpose; its warning is checked once below.
pytestmark = pytest.mark.filterwarnings("ignore:ignored 1 unfinished run folder")


class FlakyModel:
    """A stand-in LLM agent: every third turn is lost, every other reply is unreadable."""

    scripted = False

    def __init__(self) -> None:
        self.label = "fake-model-2025-01-01"
        self.n = 0

    async def act(self, obs) -> Turn:
        self.n += 1
        call = {"model": self.label, "input_tokens": 10, "output_tokens": 2, "cost_usd": 0.01}
        if self.n % 3 == 0:
            return Turn(error="timeout", attempts=3, calls=(call,))
        text = "not json at all" if self.n % 2 else '{"actions": [], "private_thoughts": "hmm"}'
        return Turn.from_reply(text, calls=(call,))


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    for spec in ("perfect", "withholder"):
        for cond in ("baseline", "auto_request"):
            for seed in (0, 1):
                cfg = EnvConfig.for_condition(cond, rounds=ROUNDS)
                agents = [scripted_agent(spec, seed * 1000 + k) for k in range(10)]
                ep = run_episode(cfg, agents, seed)  # default id: <condition>-seed<seed>
                write_run(root / spec / cond / ep.run_id, ep)
    config = EnvConfig(rounds=2, n_agents=3, on_agent_error="lose_turn")
    ep = run_episode(config, [FlakyModel() for _ in range(3)], 7)
    write_run(root / "model" / "flaky", ep)
    # debris: an interrupted run (no summary.json) and a stray events file
    (root / "debris").mkdir()
    shutil.copy(root / "model" / "flaky" / "events.jsonl", root / "debris" / "events.jsonl")
    return root


def _events(path: str) -> list:
    return load.read_run_events(path)


def test_one_row_per_finished_run_and_debris_is_reported(root):
    with pytest.warns(UserWarning, match="ignored 1 unfinished"):
        runs = load.load_runs(root)
    assert len(runs) == 9
    assert runs.attrs["ignored"] == [str(root / "debris")]
    assert runs["run_id"].is_unique  # default ids repeat across populations: made unique
    assert set(runs["model"]) == {"perfect", "withholder", "fake-model-2025-01-01"}
    scripted = runs.groupby("model")["scripted"].agg(["all", "any"])
    assert scripted.loc["perfect", "all"] and scripted.loc["withholder", "all"]
    assert not scripted.loc["fake-model-2025-01-01", "any"]
    assert runs["run_id"].str.contains("@").sum() == 8  # the 8 scripted ids collide in pairs


def test_run_columns_match_the_metrics_of_each_log(root):
    runs = load.load_runs(root).set_index("run_id")
    for run_id, row in runs.iterrows():
        events = _events(row["path"])
        expected = metrics.run_metrics(events)
        for key in ("tasks", "msgs_per_task", "gini", "response_rate", "pipeline_efficiency"):
            a, b = row[key], expected[key]
            assert a == pytest.approx(b, nan_ok=True), (run_id, key)
        summary = json.loads((Path(row["path"]) / "summary.json").read_text())
        assert row["tasks"] == summary["tasks"]
    # config fields become plain columns; the condition column stays the run's own
    assert set(runs["rounds"]) == {ROUNDS, 2}
    assert {"n_agents", "task_reward", "prompt_variant", "code_version", "path"} <= set(runs)
    assert set(runs["condition"]) == {"baseline", "auto_request"}


def test_lost_turns_parse_errors_and_usage_of_a_model_run(root):
    runs = load.load_runs(root)
    flaky = runs[runs["model"] == "fake-model-2025-01-01"].iloc[0]
    # 3 agents × 2 rounds = 6 turns, none lost (an agent loses its 3rd turn); each agent's
    # first reply is unreadable → 3 parse errors; every turn made one call
    turns = load.load_turns(root)
    t = turns[turns["run_id"] == flaky["run_id"]]
    assert len(t) == 6 == flaky["agent_turns"]
    assert t["parse_errors"].sum() == flaky["parse_errors"] == 3
    assert flaky["llm_calls"] == 6 and flaky["cost_usd"] == pytest.approx(0.06)
    assert flaky["input_tokens"] == 60


def test_lost_turns_are_flagged(tmp_path):
    config = EnvConfig(rounds=3, n_agents=2, on_agent_error="lose_turn")
    ep = run_episode(config, [FlakyModel(), FlakyModel()], 0)
    write_run(tmp_path / "r", ep)
    turns = load.load_turns(tmp_path)
    assert turns["lost"].sum() == 2  # each agent's 3rd turn
    assert (turns.loc[turns["lost"], "reason"] == "timeout").all()
    assert load.load_runs(tmp_path)["lost_turn_share"].iloc[0] == pytest.approx(2 / 6)


def test_every_frame_carries_the_run_keys(root):
    frames = {
        "agents": load.load_agents(root),
        "turns": load.load_turns(root),
        "messages": load.load_messages(root),
        "thoughts": load.load_thoughts(root),
        "transfers": load.load_transfers(root),
        "per_round": load.load_per_round(root),
    }
    for name, frame in frames.items():
        assert list(frame.columns[:5]) == list(load.RUN_KEYS), name
        assert frame["model"].notna().all() and frame["scripted"].notna().all(), name
        assert frame.attrs["ignored"] == [str(root / "debris")], name


def test_frames_agree_with_event_counts(root):
    runs = load.load_runs(root).set_index("run_id")
    agents = load.load_agents(root)
    messages = load.load_messages(root)
    thoughts = load.load_thoughts(root)
    transfers = load.load_transfers(root)
    all_transfers = load.load_transfers(root, include_skipped=True)
    per_round = load.load_per_round(root)
    for run_id, row in runs.iterrows():
        kinds = Counter(e.kind for e in _events(row["path"]))
        a = agents[agents["run_id"] == run_id]
        assert len(a) == row["n_agents"]
        assert a["tasks_done"].sum() == row["tasks"]
        assert a["requests_received"].sum() == row["requests"]
        assert a["truthful_sends"].sum() == row["truthful_sends"]
        assert (a["requests_answered"] <= a["requests_received"]).all()
        assert (messages["run_id"] == run_id).sum() == kinds["message"] + kinds["broadcast"]
        assert (transfers["run_id"] == run_id).sum() == kinds["transfer"]
        assert (all_transfers["run_id"] == run_id).sum() == (
            kinds["transfer"] + kinds["transfer_skipped"]
        )
        r = per_round[per_round["run_id"] == run_id]
        assert list(r["round"]) == list(range(1, row["rounds"] + 1))
        assert r["tasks"].sum() == row["tasks"] == r["cumulative_tasks"].iloc[-1]
        th = thoughts[thoughts["run_id"] == run_id]
        assert (th["text"].str.strip() != "").all() and (th["words"] > 0).all()
    # perfect holders' instant replies carry no thought: fewer thoughts than turns
    perfect = runs[runs["model"] == "perfect"].index
    turns = load.load_turns(root)
    own_turns = turns[turns["run_id"].isin(perfect) & ~turns["instant"]]
    assert thoughts["run_id"].isin(perfect).sum() == len(own_turns)


def test_several_roots_and_caching(root, tmp_path):
    a, b = root / "perfect", root / "withholder"
    both = load.load_runs([a, b])
    assert len(both) == 8 and set(both["model"]) == {"perfect", "withholder"}
    t0 = time.perf_counter()
    again = load.load_runs([a, b])
    assert time.perf_counter() - t0 < 0.5  # parsed once per process
    assert again["tasks"].tolist() == both["tasks"].tolist()
    # a changed run is re-read
    copy = tmp_path / "copy"
    shutil.copytree(a / "baseline", copy)
    before = load.load_runs(copy)
    folder = Path(before["path"].iloc[0])
    summary = json.loads((folder / "summary.json").read_text())
    summary["model"] = "renamed"
    (folder / "summary.json").write_text(json.dumps(summary))
    after = load.load_runs(copy)
    assert "renamed" in set(after["model"]) and "renamed" not in set(before["model"])


def test_missing_root_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load.load_runs(tmp_path / "nope")


def test_one_reader_of_event_logs_names_a_damaged_line(root, tmp_path):
    folder = next((root / "perfect").rglob("events.jsonl")).parent
    log = folder / "events.jsonl"
    events = read_events(log)
    assert events == [Event(**json.loads(x)) for x in log.read_text().splitlines()]
    assert load.read_run_events(folder) == events
    lines = log.read_text().splitlines()
    (tmp_path / "events.jsonl").write_text("\n".join([lines[0], lines[1][:-9], *lines[2:]]))
    with pytest.raises(ValueError, match=r"events\.jsonl: line 2 is not an event") as exc:
        read_events(tmp_path / "events.jsonl")
    assert "rerun" not in str(exc.value), "the game's reader knows no grids"
    with pytest.raises(ValueError, match=r"line 2 is not an event .*rerun the grid"):
        load.read_run_events(tmp_path)


def test_a_summary_without_events_is_debris(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "summary.json").write_text("{}")
    with pytest.warns(UserWarning, match="ignored 1"):
        runs = load.load_runs(tmp_path)
    assert runs.empty and runs.attrs["ignored"] == [str(tmp_path / "half")]


def test_an_empty_root_gives_empty_frames_with_the_keys(tmp_path):
    runs = load.load_runs(tmp_path)
    assert runs.empty and set(load.RUN_KEYS) <= set(runs.columns)
    assert load.load_thoughts(tmp_path).empty
