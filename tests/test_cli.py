"""The command line: the run table and JSON, one-line errors, the grid summary."""

from __future__ import annotations

import json

import pytest

from coop_utils.cli import main


def test_run_json_has_one_object_per_run(capsys, tmp_path):
    assert (
        main(
            [
                "run",
                "--agents",
                "perfect",
                "--runs",
                "2",
                "--seed",
                "3",
                "--rounds",
                "4",
                "--out",
                str(tmp_path),
                "--json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["seed"] for r in rows] == [3, 4]
    for r in rows:
        assert {"seed", "condition", "agents", "tasks", "pct_optimal"} <= set(r)
        assert r["condition"] == "baseline" and r["agents"] == "perfect" and r["tasks"] > 0
    assert len(list(tmp_path.rglob("summary.json"))) == 2


def test_run_table_and_summary_line(capsys):
    assert (
        main(
            [
                "run",
                "--agents",
                "5*perfect,5*withholder",
                "--condition",
                "auto_request",
                "--rounds",
                "3",
                "--n-agents",
                "10",
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert out.splitlines()[0].split()[:4] == ["seed", "condition", "agents", "tasks"]
    assert "mean tasks" in out and "1 run(s) done" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run", "--condition", "chaos"], "choose from 'baseline'"),
        (["run", "--runs", "0"], "expected a positive whole number"),
        (["run", "--agents", "wizard"], "scripted agents are 'perfect'"),
        (["run", "--agents", "3*perfect"], "give 3 agents but the run has 10"),
        (["grid", "no-such-grid.yaml", "--out", "x"], "no-such-grid.yaml: file not found"),
    ],
)
def test_bad_arguments_get_one_line_that_says_what_is_accepted(capsys, argv, says):
    with pytest.raises(SystemExit) as stop:
        code = main(argv)
        raise SystemExit(code)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err, err


def test_models_lists_the_papers_models_and_key_status(capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "o3-mini-2025-01-31" in out and "missing: OPENAI_API_KEY" in out
    assert "local:POLICY" in out


def test_serve_offers_the_scripted_judge_beside_the_policies(monkeypatch):
    """``coop serve`` hands the server the analysis's judge as a responder (the server itself
    never imports the analysis), so ``local:judge`` works against it."""
    from coop_utils.analysis.thoughts.judge import STAND_INS
    from coop_utils.llm.local import process

    served = {}
    monkeypatch.setattr(process, "serve", lambda *args, **kw: served.update(args=args, kw=kw))
    assert main(["serve", "--port", "0", "--rate-429", "0.1"]) == 0
    host, port, parent, responders = served["args"]
    assert (port, parent, responders) == (0, None, STAND_INS)
    assert served["kw"]["rate_429"] == 0.1
    assert STAND_INS == {"judge": "coop_utils.analysis.thoughts.judge:scripted_judge"}


def test_prompt_prints_the_exact_messages_of_a_played_turn_and_their_lengths(capsys):
    from coop_utils.agents import PerfectAgent
    from coop_utils.game.config import EnvConfig
    from coop_utils.game.prompts import SECTIONS, render_messages
    from coop_utils.run.runner import observation_at

    argv = ["prompt", "--condition", "incentive", "--seed", "2", "--agent", "3", "--round", "2"]
    assert main([*argv, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    config = EnvConfig.for_condition("incentive")
    obs = observation_at(config, [PerfectAgent() for _ in range(10)], 2, 3, 2)
    assert shown["messages"] == render_messages(obs), "the same turn of the same episode"
    assert list(shown["sections"]) == list(SECTIONS)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert shown["messages"][1]["content"] in out and "instructions" in out.splitlines()[-2]
    assert main([*argv, "--set", "prompt_layout=tagged", "--json"]) == 0
    tagged = json.loads(capsys.readouterr().out)["messages"][1]["content"]
    assert tagged.startswith("You are agent_3 of InfoCluse Inc.")
    assert main(["prompt", "--set", "prompt_layout"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["prompt", "--round", "21"]) == 2
    assert "rounds 1-20" in capsys.readouterr().err
