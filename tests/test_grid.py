"""The LLM path end to end, over real HTTP to the local server: replay, faults, keys, resume.

These are the guarantees of issue 3: a recorded run replays bit for bit with no server;
every injected fault is either retried or a logged lost turn; API keys never reach disk;
a killed grid resumes to exactly the expected runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from coop_utils.game.events import read_events
from coop_utils.llm.client import ClientPool, FatalLLMError, StopError
from coop_utils.llm.models import MissingKeyError
from coop_utils.run.dryrun import estimate
from coop_utils.run.experiments import baseline, run_experiment
from coop_utils.run.grid import GridMismatchError, GridSpec, run_grid

MIX = "5*local:cooperator,5*local:withholder"


def models_file(tmp_path: Path, **local: object) -> str:
    """A models file that tunes the local provider (fast retries, short timeout)."""
    settings = {"timeout_s": 1.0, "max_attempts": 8, "backoff_initial_s": 0.01}
    settings |= {"backoff_max_s": 0.05, **local}
    body = "providers:\n  local:\n" + "".join(f"    {k}: {v}\n" for k, v in settings.items())
    path = tmp_path / "models.yaml"
    path.write_text(body)
    return str(path)


def events_of(out: Path) -> dict[str, list[str]]:
    return {
        str(p.parent.relative_to(out)): p.read_text().splitlines()
        for p in sorted(out.rglob("events.jsonl"))
    }


@pytest.mark.slow
def test_live_then_replay_without_server_gives_identical_logs(server, tmp_path):
    spec = GridSpec(
        models=[MIX, "local:bungler"],
        conditions=["baseline", "auto_request"],
        runs=2,
        env={"rounds": 4},
        mode="live",
    )
    live = run_grid(spec, tmp_path / "live", progress=False, base_urls={"local": server.base_url})
    assert live.ok and len(live.completed) == 8 and live.usage.live_calls == 8 * 4 * 10
    cache = tmp_path / "live" / "llm_cache.jsonl"
    replay = spec.model_copy(update={"mode": "replay", "cache": str(cache)})
    dead = {"local": "http://127.0.0.1:9/v1"}  # nothing listens there: no call may be made
    again = run_grid(replay, tmp_path / "replay", progress=False, base_urls=dead)
    assert again.ok and again.usage.live_calls == 0 and again.usage.cached_calls == 320
    assert events_of(tmp_path / "live") == events_of(tmp_path / "replay")
    run = json.loads(next((tmp_path / "replay").rglob("run.json")).read_text())
    assert run["scripted"] is True and run["calls"] == {"live": 0, "cached": 40}


def test_replay_miss_names_the_request(server, tmp_path):
    (tmp_path / "empty.jsonl").touch()
    spec = GridSpec(
        models=["local:cooperator"],
        runs=1,
        env={"rounds": 2},
        mode="replay",
        cache=str(tmp_path / "empty.jsonl"),
    )
    result = run_grid(spec, tmp_path / "out", progress=False)
    (error,) = result.failed.values()
    assert "ReplayMiss" in error and "local:cooperator" in error and "sample" in error


@pytest.mark.slow
def test_faults_are_retried_or_logged_and_add_up_to_the_servers_count(server, tmp_path):
    server.set_faults(
        rate_429=0.06,
        retry_after_s=0.01,
        rate_500=0.05,
        rate_slow=0.03,
        slow_s=1.5,
        rate_malformed=0.03,
        rate_truncated=0.03,
    )
    spec = GridSpec(
        models=[MIX],
        conditions=["baseline", "incentive"],
        runs=2,
        env={"rounds": 5, "on_agent_error": "lose_turn"},
        mode="live",
        models_file=models_file(tmp_path, timeout_s=0.4, max_attempts=3),
    )
    result = run_grid(spec, tmp_path / "out", progress=False, base_urls={"local": server.base_url})
    assert result.ok and len(result.completed) == 4
    stats = server.stats()
    injected = stats["injected"]
    assert sum(injected.values()) > 10, "the test must actually inject faults"
    seen, parse_errors, lost, turns = Counter(), 0, 0, 0
    for path in (tmp_path / "out").rglob("events.jsonl"):
        for e in read_events(path):
            if e.kind in ("llm_call", "llm_error"):
                seen.update(f.split()[0] for f in e.payload["faults"])
                lost += e.kind == "llm_error"
            parse_errors += e.kind == "parse_error"
            turns += e.kind in ("agent_reply", "llm_error")
    assert turns == 4 * 5 * 10, "every turn is a reply or a lost turn"
    assert seen["429"] == injected["429"] and seen["500"] == injected["500"]
    assert seen["timeout"] == injected["slow"]
    assert parse_errors == injected["malformed"] + injected["truncated"]
    summary_lost = sum(
        json.loads(p.read_text())["lost_turns"] for p in (tmp_path / "out").rglob("summary.json")
    )
    assert summary_lost == lost == result.usage.failed_turns


def test_retry_after_is_honoured_then_the_turn_is_lost(server, tmp_path):
    server.set_faults(rate_429=1.0, retry_after_s=0.25)
    spec = GridSpec(
        models=["1*local:cooperator,1*perfect"],
        runs=1,
        mode="live",
        env={"rounds": 1, "n_agents": 2, "on_agent_error": "lose_turn"},
        models_file=models_file(tmp_path, max_attempts=3),
    )
    start = time.perf_counter()
    result = run_grid(spec, tmp_path / "out", progress=False, base_urls={"local": server.base_url})
    assert time.perf_counter() - start >= 0.5, "two waits of at least Retry-After"
    (path,) = (tmp_path / "out").rglob("events.jsonl")
    (lost,) = [e for e in read_events(path) if e.kind == "llm_error"]
    assert lost.payload["attempts"] == 3 and len(lost.payload["faults"]) == 3
    assert "gave up after 3 attempts: 429" in lost.payload["reason"]
    assert result.summaries[0]["lost_turns"] == 1


def test_api_keys_never_reach_any_file(server, tmp_path, monkeypatch):
    secret = f"fake-{uuid.uuid4().hex}"  # unique per run, so any hit is a leak
    monkeypatch.setenv("COOP_TEST_SECRET", secret)
    f = tmp_path / "keyed.yaml"
    f.write_text(
        "providers:\n  keyed:\n"
        f"    base_url: {server.base_url}\n    api_key_env: COOP_TEST_SECRET\n"
        "    scripted: true\n    send_seed: true\n"
        "models:\n  keyed-model:\n    provider: keyed\n    model: scripted/cooperator\n"
        "    prices: {input: 1.0, output: 2.0}\n"
    )
    spec = GridSpec(
        models=["keyed-model"], runs=1, env={"rounds": 2}, mode="live", models_file=str(f)
    )
    result = run_grid(spec, tmp_path / "out", progress=False)
    assert result.ok and result.usage.live_calls == 20 and result.usage.spent_usd > 0
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 5
    for p in files:
        assert secret not in p.read_text(errors="replace"), p
    run = json.loads(next((tmp_path / "out").rglob("run.json")).read_text())
    assert run["llm"]["keyed-model"]["model"] == "scripted/cooperator"


def test_a_missing_key_stops_before_any_call(server, tmp_path, monkeypatch):
    monkeypatch.delenv("COOP_TEST_SECRET", raising=False)
    f = tmp_path / "keyed.yaml"
    f.write_text(
        f"providers:\n  keyed:\n    base_url: {server.base_url}\n"
        "    api_key_env: COOP_TEST_SECRET\n"
    )
    spec = GridSpec(models=["keyed:cooperator"], runs=1, mode="live", models_file=str(f))
    with pytest.raises(MissingKeyError, match="COOP_TEST_SECRET"):
        run_grid(spec, tmp_path / "out", progress=False)
    assert server.stats()["requests"] == 0


@pytest.mark.slow
def test_rerun_skips_finished_runs_and_refuses_a_different_config(server, tmp_path):
    spec = GridSpec(models=["local:cooperator", "perfect"], runs=2, env={"rounds": 3})
    urls = {"local": server.base_url}
    first = run_grid(spec, tmp_path / "out", progress=False, base_urls=urls)
    assert len(first.completed) == 4
    again = run_grid(spec, tmp_path / "out", progress=False, base_urls=urls)
    assert again.already_done == 4 and again.completed == []
    more = spec.model_copy(update={"runs": 3})
    assert len(run_grid(more, tmp_path / "out", progress=False, base_urls=urls).completed) == 2
    other = spec.model_copy(update={"env": {"rounds": 4}})
    with pytest.raises(GridMismatchError, match="different config"):
        run_grid(other, tmp_path / "out", progress=False, base_urls=urls)


@pytest.mark.slow
def test_the_budget_holds_with_many_episodes_in_flight(server, tmp_path):
    """A cap a few calls wide, 10 episodes in flight: no call starts that could cross it,
    spending ends within one call's worst case of it, and the runs in flight are left
    unfinished for a rerun with a higher cap (issue 9: three runs under $0.01 spent $0.50)."""
    f = models_file(tmp_path)
    Path(f).write_text(
        Path(f).read_text()
        + "models:\n  pricey:\n    provider: local\n    model: scripted/cooperator\n"
        "    prices: {input: 5.0, output: 5.0}\n    max_output_tokens: 1000\n"
    )
    spec = GridSpec(
        models=["pricey"],
        runs=10,
        env={"rounds": 2},
        episodes_in_flight=10,
        max_cost=0.1,
        models_file=f,
        mode="live",
    )
    urls = {"local": server.base_url}
    result = run_grid(spec, tmp_path / "out", progress=False, base_urls=urls)
    assert result.stopped and "budget" in result.stopped and "--max-cost" in result.stopped
    assert result.failed == {} and len(result.unfinished) >= 1
    spent = result.usage.spent_usd
    one_call = 2 * spent / result.usage.live_calls  # far below a call's worst case
    assert spent <= spec.max_cost, "never crosses the cap"
    assert spec.max_cost - spent < 3 * one_call, "and stops within about one call of it"
    assert not list((tmp_path / "out").rglob("summary.json")), "no run finished half-paid"
    again = run_grid(spec.model_copy(update={"max_cost": 5.0}), tmp_path / "out", False, urls)
    assert again.ok and len(again.completed) == 10


@pytest.mark.slow
def test_a_stop_class_error_stops_every_call_and_leaves_runs_unfinished(server, tmp_path):
    f = tmp_path / "models.yaml"  # a provider the grid cannot check first: the server says 404
    f.write_text(f"providers:\n  other:\n    base_url: {server.base_url}\n")
    spec = GridSpec(
        models=["other:scripted/no-such-policy", "local:cooperator"],
        runs=2,
        env={"rounds": 1},
        mode="live",
        episodes_in_flight=1,
        models_file=str(f),
    )
    urls = {"local": server.base_url}
    result = run_grid(spec, tmp_path / "out", progress=False, base_urls=urls)
    assert result.failed == {} and result.completed == []
    assert "404" in result.stopped and "other:scripted/no-such-policy" in result.stopped
    assert "What to do: check the model id" in result.stopped
    assert result.unfinished == ["other-scripted_no-such-policy.baseline.seed0"]
    assert len(result.not_started) == 3
    assert server.stats()["requests"] == 1, "no further call once stopped"
    assert not list((tmp_path / "out").rglob("summary.json"))
    fixed = spec.model_copy(update={"models": ["local:cooperator"]})
    assert len(run_grid(fixed, tmp_path / "out", False, urls).completed) == 2
    assert issubclass(FatalLLMError, RuntimeError)


@pytest.mark.slow
def test_an_experiment_stopped_with_runs_unfinished_raises_the_stops_reason(
    server, tmp_path, monkeypatch
):
    """A notebook gets the budget's message, not "no such runs folder" from a later load."""
    monkeypatch.setenv("COOP_LOCAL_URL", server.base_url)
    f = models_file(tmp_path)
    Path(f).write_text(
        Path(f).read_text()
        + "models:\n  pricey:\n    provider: local\n    model: scripted/cooperator\n"
        "    prices: {input: 5.0, output: 5.0}\n    max_output_tokens: 1000\n"
    )
    spec = baseline(["pricey"], runs=3, rounds=2).model_copy(
        update={"max_cost": 0.4, "models_file": f, "episodes_in_flight": 1}
    )  # a run costs about $0.28: the first finishes, the second meets the cap
    with pytest.raises(StopError, match=r"runs unfinished: budget: .* raise the grid's max_cost"):
        run_experiment(spec, "live", tmp_path / "runs")
    raised = spec.model_copy(update={"max_cost": 5.0})
    exp = run_experiment(raised, "live", tmp_path / "runs")
    assert exp.result.already_done >= 1, "what finished before the stop is kept"
    assert all((folder / "summary.json").exists() for folder in exp.folders)


def test_reasoning_text_is_recorded(tmp_path):
    from coop_utils.llm.local import LocalServer

    with LocalServer(port=0, reasoning=True) as srv:
        spec = GridSpec(models=["local:cooperator"], runs=1, env={"rounds": 1}, mode="live")
        run_grid(spec, tmp_path / "out", progress=False, base_urls={"local": srv.base_url})
    (path,) = (tmp_path / "out").rglob("events.jsonl")
    replies = [e for e in read_events(path) if e.kind == "agent_reply"]
    assert len(replies) == 10 and all(e.payload["reasoning"] for e in replies)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_grid_killed_midway_resumes_to_exactly_the_expected_runs(killed_grid):
    killed = killed_grid()
    out, done_before = killed.out, killed.done
    rerun = subprocess.run(killed.cmd, env=killed.env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    summaries = sorted(out.rglob("summary.json"))
    expected = {
        f"{m}/{c}/seed{s}"
        for m in ("local-cooperator", "local-withholder")
        for c in ("baseline", "auto_fulfill")
        for s in range(3)
    }
    assert {str(p.parent.relative_to(out)) for p in summaries} == expected
    for p in summaries:
        events = list(read_events(p.parent / "events.jsonl"))
        assert events[-1].kind == "run_end"
        assert json.loads(p.read_text())["tasks"] == events[-1].payload["tasks"]
    assert not list(out.rglob("*.tmp")), "no debris left"
    assert f"{12 - done_before} run(s) done, {done_before} already finished" in rerun.stderr


def test_the_judge_runs_over_the_llm_path_with_its_cache(server, tmp_path):
    import asyncio

    from coop_utils.analysis.thoughts import agreement, classify_frame, model_judge

    notes = [
        "agent_3 asked for Q7 sales data, but I am holding it back for now.",
        "I will send it once agent_2 has sent me the Region 4 market data I asked for.",
        "Sending everything that was asked of me and submitting task_9.",
    ] * 2  # duplicates are judged once
    urls, cache = {"local": server.base_url}, tmp_path / "judge.jsonl"
    labels = asyncio.run(model_judge(notes, "local:judge", cache=cache, base_urls=urls))
    assert server.stats()["by_model"] == {"scripted/judge": 3}
    regex = classify_frame(pd.DataFrame({"text": notes}))
    agree = agreement(regex, labels).set_index("cls")
    assert (agree["agree_pct"] == 100).all(), "the scripted judge is the regex classifier"
    again = asyncio.run(model_judge(notes, "local:judge", cache=cache, base_urls=urls))
    assert server.stats()["requests"] == 3, "the second pass is served from the cache"
    assert again.equals(labels)
    server.set_faults(rate_malformed=1.0)
    bad = asyncio.run(model_judge(["a new note"], "local:judge", base_urls=urls))
    assert bad[["hard_defection", "soft_conditional"]].isna().all(axis=None), "unreadable"


def _servers_of(pid: int) -> list[int]:
    """Local server processes started by ``pid`` (they carry --parent-pid PID)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"coop_utils.llm.local" in argv and str(pid).encode() in argv:
            found.append(int(proc.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_grid_leaves_no_server_running(tmp_path, sig):
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "models: ['local:cooperator']\nruns: 4\nenv: {rounds: 5}\nepisodes_in_flight: 1\n"
        "server: {latency_s: 0.05}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "COOP_LOCAL_URL"}
    cmd = [sys.executable, "-m", "coop_utils.cli", "grid", str(grid), "--out", str(tmp_path / "o")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not _servers_of(proc.pid):
        time.sleep(0.05)
    assert _servers_of(proc.pid), "the grid started its server"
    proc.send_signal(sig)  # the grid alone, not its process group
    proc.wait()
    deadline = time.time() + 5
    while time.time() < deadline and _servers_of(proc.pid):
        time.sleep(0.05)
    assert _servers_of(proc.pid) == [], "the server ended with the grid"


def test_runs_past_the_lost_turn_threshold_are_degraded_and_left_out_of_tables(server, tmp_path):
    from coop_utils.analysis.load import load_runs

    server.set_faults(rate_500=0.3, fault_seed=3)
    spec = GridSpec(
        models=["local:cooperator"],
        runs=2,
        env={"rounds": 2, "on_agent_error": "lose_turn"},
        mode="live",
        models_file=models_file(tmp_path, max_attempts=1),
    )
    result = run_grid(spec, tmp_path / "out", progress=False, base_urls={"local": server.base_url})
    assert result.ok and len(result.completed) == 2
    for s in result.summaries:
        share = s["lost_turns"] / s["agent_turns"]
        assert share > 0.05 and s["degraded"] is True
    runs = load_runs(tmp_path / "out")
    assert runs.empty and len(runs.attrs["degraded"]) == 2, "set aside, and counted"
    assert load_runs(tmp_path / "out", include_degraded=True)["degraded"].all()


def test_every_call_failing_stops_the_grid_instead_of_finishing_empty_runs(server, tmp_path):
    server.set_faults(rate_500=1.0)
    spec = GridSpec(
        models=["local:cooperator"],
        runs=3,
        env={"rounds": 3, "on_agent_error": "lose_turn"},
        mode="live",
        episodes_in_flight=1,  # so the count of calls is exact
        models_file=models_file(tmp_path, max_attempts=2, stop_after_lost_turns=5),
    )
    result = run_grid(spec, tmp_path / "out", progress=False, base_urls={"local": server.base_url})
    assert result.stopped and "5 turns in a row lost" in result.stopped
    assert result.completed == [] and not list((tmp_path / "out").rglob("summary.json"))
    assert server.stats()["requests"] == 5 * 2, "no call after the fifth lost turn"


def test_a_grids_concurrency_above_the_models_file_counts_in_the_dry_run_as_in_the_pool(tmp_path):
    """The dry run once kept the smaller of a grid's override and the profile's value."""

    def openai_at(limit: int) -> str:
        f = tmp_path / f"models-{limit}.yaml"
        f.write_text(f"providers:\n  openai:\n    concurrency: {limit}\n")
        return str(f)

    grid = dict(models=["openai:gpt-4o"], runs=32, env={"rounds": 5}, mode="replay")
    raised = GridSpec(**grid, models_file=openai_at(16), concurrency={"openai": 64})
    plain, in_file = (GridSpec(**grid, models_file=openai_at(n)) for n in (16, 64))
    est = {n: estimate(s)["providers"]["openai"] for n, s in [(16, plain), (64, in_file)]}
    got = estimate(raised)["providers"]["openai"]
    assert (got["concurrency"], est[16]["concurrency"]) == (64, 16)
    assert got["wall_h"] == est[64]["wall_h"] < est[16]["wall_h"], "32 episodes share 64 slots"

    async def slots_free() -> int:
        pool = ClientPool("replay", concurrency=raised.concurrency, models_file=raised.models_file)
        pool.client("openai:gpt-4o")
        slot, n = pool.slot("openai"), 0
        while not slot.locked():
            await slot.acquire()
            n += 1
        return n

    assert asyncio.run(slots_free()) == 64, "the pool lets the same 64 calls in at once"
