"""The recorded grid under data/recorded/ replays with no server, no key and no network.

If this fails with a ReplayMiss, something changed what agents are sent (the prompt, the
environment, the seeds): the recording no longer matches and must be made again, as
data/recorded/README.md says.
"""

from __future__ import annotations

import json
from pathlib import Path

from coop_utils.analysis.load import load_runs
from coop_utils.run import experiments as ex

RECORDED = Path(__file__).resolve().parent.parent / "data" / "recorded"


def test_the_demo_recording_replays_completely(tmp_path, monkeypatch):
    monkeypatch.setenv("COOP_LOCAL_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    spec = ex.decomposition(["ignored in replay"])
    exp = ex.run_experiment(spec, "replay", tmp_path, RECORDED)
    recorded = json.loads((RECORDED / "demo" / "grid.json").read_text())
    per_condition = len(recorded["models"]) * recorded["runs"]
    assert len(exp.folders) == 3 * per_condition, "baseline, auto_request, auto_fulfill"
    assert exp.result.usage.live_calls == 0 and exp.result.usage.failed_turns == 0
    runs = load_runs(exp.folders)
    assert runs.scripted.all() and set(runs.condition) == set(ex.DECOMPOSITION)
    assert (runs.lost_turns == 0).all() and (runs.parse_errors == 0).all()
