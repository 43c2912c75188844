"""``coop evaluate``: the paper's protocol for one model at a time, on a grid underneath.

Per model: the baseline and the causal decomposition (``auto_request``, ``auto_fulfill``)
on the same seeds, then the interventions its diagnosis calls for (:mod:`.diagnosis`),
each cell played in adaptive batches (:mod:`.stopping`). Every batch is an ordinary grid
(:func:`coop_utils.run.grid.run_grid`) writing to ``OUT/runs/<setting>``, so runs are cached,
resumable and budgeted exactly as ``coop grid``'s are: a second evaluation with a tighter
target replays nothing and pays for nothing already made; it only adds seeds.

Seeds are shared: seed ``seed + k`` is the same deal of pieces and tasks in every cell, so
conditions are compared run for run (paired on the seeds both cells have). A cell that
needs more runs than another simply has more seeds; an intervention cell starts again at
the first seed, so it pairs with its baseline from its first run.

``max_cost`` caps this invocation as a whole: each batch gets what is left of it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...analysis.paper import ceiling as paper_ceiling
from ...analysis.paper import setting_differences
from ...analysis.quadrants import DEFAULT_THRESHOLD, RATES, Rate
from ...game.config import DECOMPOSITION, Condition
from ...game.events import write_atomic
from ...llm.cache import Mode
from ..folders import folder_names, hold, made, slug
from ..grid import GridSpec, plan, run_grid
from .diagnosis import Diagnosis, diagnose
from .stopping import MIN_RUNS, CellState, Outcome, Played, StopRule, adapt, cell_state

PROTOCOL_VERSION = "2"
"""Bumped whenever the conditions, the stopping rule or the diagnosis rule change, so a
leaderboard never ranks evaluations made under different protocols as one."""
LOCK_FILE = ".coop-evaluate.lock"
"""Held by the evaluation writing ``--out`` (git ignores ``.*.lock``)."""

Cell = tuple[str, str]
"""(model, condition)."""


class EvaluationSpec(BaseModel):
    """What ``coop evaluate`` runs; every field has a command-line option."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    models: list[str] = Field(min_length=1)
    """Models to evaluate, each as its own homogeneous population (an alias,
    PROVIDER:MODEL_ID, or a scripted agent such as local:withholder)."""
    max_cost: float | None = Field(None, gt=0)
    """USD this invocation may spend, across every model and batch."""
    target: float = Field(5.0, gt=0)
    """95% t half-width of % of optimal, in points, at which a cell stops."""
    min_runs: int = Field(MIN_RUNS, ge=2)
    batch: int = Field(2, ge=1)
    max_runs: int = Field(10, ge=2)
    threshold: float = Field(DEFAULT_THRESHOLD, gt=0, lt=100)
    """% of optimal below which a rate is limited (the paper's Fig. 4 lines)."""
    all_interventions: bool = False
    """Run every one of ``INTERVENTIONS`` whatever the diagnosis."""
    seed: int = 0
    env: dict[str, Any] = Field(default_factory=dict)
    """EnvConfig overrides for every run (e.g. rounds: 10 for a quick look)."""
    elo: dict[str, float] = Field(default_factory=dict)
    """Arena Elo per model, for the capability plot (the paper's models have theirs)."""
    mode: Mode = "cache"
    cache: str | None = None
    models_file: str | None = None
    allow_unpriced: bool = False
    server: dict[str, Any] = Field(default_factory=dict)
    episodes_in_flight: int = Field(32, ge=1)

    def rule(self) -> StopRule:
        return StopRule(self.target, self.min_runs, self.batch, self.max_runs)

    def setting(self) -> str:
        """The folder name of this environment setting: 'default' or its overrides."""
        if not self.env:
            return "default"
        return "+".join(f"{k}={v}" for k, v in sorted(self.env.items()))

    def grid_fields(self) -> dict[str, Any]:
        """GridSpec fields every run of the evaluation shares."""
        return self.model_dump(
            include={"seed", "env", "mode", "cache", "models_file", "allow_unpriced"}
            | {"server", "episodes_in_flight"}
        )


@dataclass
class Evaluation:
    """A finished (or budget-stopped) evaluation: what was run, found and spent."""

    spec: EvaluationSpec
    out: Path
    ceiling: float
    ceiling_source: str
    phases: dict[str, Outcome] = field(default_factory=dict)
    diagnoses: dict[str, Diagnosis] = field(default_factory=dict)
    scripted: dict[str, bool] = field(default_factory=dict)
    spent_usd: float = 0.0
    wall_s: float = 0.0
    batches: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def runs_dir(self) -> Path:
        return self.out / "runs" / self.spec.setting()

    def states(self) -> dict[Cell, CellState]:
        return {c: s for o in self.phases.values() for c, s in o.states.items()}

    def folders(self) -> list[Path]:
        """Every finished run folder of the evaluation, cell by cell."""
        out = []
        for (model, condition), state in self.states().items():
            if not state.runs:
                continue
            out += [
                r.folder
                for r in _plan_cell(self.spec, model, condition, state.runs, self.runs_dir)
                if (r.folder / "summary.json").exists()
            ]
        return out


def _plan_cell(spec: EvaluationSpec, model: str, condition: str, n: int, root: Path | None):
    grid = GridSpec(
        name="evaluate",
        models=[model],
        conditions=[condition],
        seeds=list(range(spec.seed, spec.seed + n)),
        env=spec.env,
    )
    return plan(grid, root)


def is_budget_stop(reason: str | None) -> bool:
    """Whether a grid stopped because the cap was reached (an expected end, not an error)."""
    return bool(reason) and reason.removeprefix("stopped: ").startswith("budget")


def ceiling(spec: EvaluationSpec) -> tuple[float, str]:
    """Perfect play's tasks, the 100% of % of optimal, by the notebooks' rule
    (:func:`coop_utils.analysis.paper.ceiling`): the paper's 204.0 at its setting; at any
    other setting, measured by perfect play on the evaluation's first five seeds."""
    if not setting_differences(spec.env):
        return paper_ceiling(spec.env, [])
    seeds = list(range(spec.seed, spec.seed + 5))
    grid = GridSpec(name="ceiling", models=["perfect"], seeds=seeds, env=spec.env)
    result = run_grid(grid, None, progress=False)
    return paper_ceiling(spec.env, [s["tasks"] for s in result.summaries])


class _Player:
    """The ``play`` function of :func:`~.stopping.adapt`: grids of the wanted seeds."""

    def __init__(self, ev: Evaluation, log: Callable[[str], None], progress: bool):
        self.ev, self.log, self.progress = ev, log, progress

    def __call__(self, wanted: dict[Cell, int]) -> Played:
        ev, spec = self.ev, self.ev.spec
        groups: dict[tuple[int, tuple[str, ...]], list[str]] = {}
        by_model: dict[tuple[int, str], list[str]] = {}
        for (model, condition), n in wanted.items():
            by_model.setdefault((n, model), []).append(condition)
        for (n, model), conditions in by_model.items():
            groups.setdefault((n, tuple(conditions)), []).append(model)
        stopped = None
        for (n, conditions), models in groups.items():
            left = None if spec.max_cost is None else max(spec.max_cost - ev.spent_usd, 0.0)
            if left is not None and left <= 0:
                stopped = f"budget: the ${spec.max_cost:,.2f} cap (--max-cost) is spent"
                break
            grid = GridSpec(
                name=f"evaluate batch {len(ev.batches) + 1}",
                models=models,
                conditions=list(conditions),
                seeds=list(range(spec.seed, spec.seed + n)),
                max_cost=left,
                **{k: v for k, v in spec.grid_fields().items() if k != "seed"},
            )
            self.log(
                f"batch {len(ev.batches) + 1}: {', '.join(models)} x {', '.join(conditions)}"
                f", seeds {spec.seed}-{spec.seed + n - 1}"
            )
            result = run_grid(grid, ev.runs_dir, progress=self.progress)
            ev.spent_usd += result.committed_usd
            ev.failed.update(result.failed)
            ev.batches.append(
                {
                    "models": models,
                    "conditions": list(conditions),
                    "seeds": [spec.seed, spec.seed + n - 1],
                    "completed": len(result.completed),
                    "already_done": result.already_done,
                    "failed": len(result.failed),
                    "spent_usd": round(result.committed_usd, 6),
                    "live_calls": result.usage.live_calls,
                    "cached_calls": result.usage.cached_calls,
                    "wall_s": round(result.wall_s, 2),
                    "stopped": result.stopped,
                }
            )
            for run_id, error in result.failed.items():
                self.log(f"  failed {run_id}: {error.splitlines()[0]}")
            if result.stopped:
                stopped = result.stopped
                if is_budget_stop(stopped):  # in the evaluation's terms, not the batch's share
                    stopped = (
                        f"budget: ${ev.spent_usd:.4f} of the ${spec.max_cost:,.2f} cap "
                        "(--max-cost) is spent; rerun the same command with a higher "
                        "--max-cost to continue, nothing already paid for is paid again"
                    )
                break
        values = {c: self.values(c) for c in wanted}
        return Played(values, stopped)

    def values(self, cell: Cell) -> list[float | None]:
        """% of optimal of the cell's runs, seed by seed from the first, for as long as runs
        are finished (None for a degraded run: it counts against the cap, not the mean)."""
        model, condition = cell
        out: list[float | None] = []
        while True:
            (run,) = _plan_cell(self.ev.spec, model, condition, len(out) + 1, self.ev.runs_dir)[-1:]
            path = run.folder / "summary.json"
            if not path.exists():
                return out
            s = json.loads(path.read_text())
            self.ev.scripted[model] = bool(s.get("scripted"))
            out.append(None if s.get("degraded") else 100 * s["tasks"] / self.ev.ceiling)


def _rate(name: str, outcome: Outcome, model: str) -> Rate:
    """The rate ``name`` of ``model``, from the cell of the condition that measures it."""
    state = outcome.states[(model, RATES[name])]  # its two-stage interval (.stopping)
    return Rate(name, state.mean, state.half_width, state.n)


def pair_baselines(phases: dict[str, Outcome], play, rule: StopRule) -> Outcome | None:
    """Extend each model's baseline to the seeds of its longest intervention cell, so that
    every intervention is paired with its baseline on all of its seeds (an intervention
    cell may need more runs than the baseline did); None when none needs extending."""
    first, second = phases["decomposition"], phases["interventions"]
    wanted: dict[Cell, int] = {}
    for (model, _), state in second.states.items():
        base = (model, Condition.BASELINE)
        if state.runs > max(first.states[base].runs, wanted.get(base, 0)):
            wanted[base] = state.runs
    if not wanted:
        return None
    played = play(wanted)
    values = {c: list(played.values.get(c, first.values[c])) for c in wanted}
    states = {c: cell_state(v, rule) for c, v in values.items()}
    return Outcome(values, states, 1, played.stopped, [wanted])


def run_evaluation(
    spec: EvaluationSpec,
    out: str | Path,
    log: Callable[[str], None] = lambda _: None,
    progress: bool = True,
) -> Evaluation:
    """Run (or resume, or extend) an evaluation into ``out``; writes ``evaluation.json``.

    The report, ``summary.json`` and the leaderboard row are made from the result by
    :mod:`.report` and :mod:`.leaderboard`. One evaluation at a time holds ``out`` (a second
    exits at once, naming the first); a non-empty folder no evaluation made is refused."""
    out = Path(out)
    names = folder_names(spec.models)
    if clash := [m for m in spec.models if names[m] != slug(m)]:
        raise ValueError(
            f"{' and '.join(clash)} become one folder name; evaluate them into separate --out"
        )
    if out.is_dir() and any(out.iterdir()) and not (out / "runs").is_dir():
        raise ValueError(
            f"--out {out} is not empty and was not made by coop evaluate; give a new or empty "
            "folder (or the --out of an earlier evaluation, to extend it)"
        )
    with made(out), hold(out / LOCK_FILE, f"--out {out}", "--out"):
        return _evaluate(spec, out, log, progress)


def _evaluate(spec: EvaluationSpec, out: Path, log, progress: bool) -> Evaluation:
    start = time.perf_counter()
    rule = spec.rule()
    ev = Evaluation(spec, out, *ceiling(spec))
    play = _Player(ev, log, progress)
    cells = [(m, c) for m in spec.models for c in DECOMPOSITION]
    ev.phases["decomposition"] = first = adapt(cells, play, rule)
    for model in spec.models:
        coop, comp = _rate("cooperation", first, model), _rate("competence", first, model)
        d = diagnose(coop, comp, spec.threshold, spec.all_interventions)
        ev.diagnoses[model] = d
        log(d.sentence(model))
    ev.stopped = first.stopped
    cells = [(m, c) for m, d in ev.diagnoses.items() for c in d.interventions]
    if cells and first.stopped is None:
        ev.phases["interventions"] = second = adapt(cells, play, rule)
        ev.stopped = second.stopped
        if second.stopped is None and (paired := pair_baselines(ev.phases, play, rule)):
            ev.phases["pairing"] = paired
            ev.stopped = paired.stopped
    ev.wall_s = time.perf_counter() - start
    write_atomic(out / "evaluation.json", json.dumps(record(ev), indent=2, default=str))
    return ev


def record(ev: Evaluation) -> dict[str, Any]:
    """Everything about how the evaluation ran (not what it found: see summary.json)."""
    return {
        "protocol": PROTOCOL_VERSION,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "spec": ev.spec.model_dump(),
        "setting": ev.spec.setting(),
        "runs_dir": str(ev.runs_dir.relative_to(ev.out)),
        "ceiling": {"tasks": ev.ceiling, "source": ev.ceiling_source},
        "cells": [{"model": m, "condition": c, **s.as_dict()} for (m, c), s in ev.states().items()],
        "batches": ev.batches,
        "spent_usd": round(ev.spent_usd, 6),
        "wall_s": round(ev.wall_s, 2),
        "stopped": ev.stopped,
        "failed": ev.failed,
        "folders": [str(f.relative_to(ev.out)) for f in ev.folders()],
    }
