"""Before spending: how many runs an evaluation should need, and what they would cost.

The expected number of runs per cell comes from the paper's own spread: its Table 1 gives
each model's baseline tasks as mean ± 95% t half-width over 5 runs, which implies a
run-to-run sd (``sd = ci95 · √5 / t₀.₉₇₅,₄``); :func:`~.stopping.runs_for_target` turns that sd,
in points of optimal, into the runs that meet the target. The paper publishes no interval
for the other conditions, so the baseline spread stands in for every cell of the model
(an assumption the output states). A model the paper did not run, and any scripted
population, gets the median of the paper's eight spreads. Costs come from
:mod:`coop_utils.run.dryrun` (prompts measured by playing each condition with scripted agents).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from ...analysis.paper import load_paper, paper_value
from ...analysis.quadrants import DEFAULT_THRESHOLD, RATES, Rate
from ...analysis.stats import canonical_model
from ...game.config import DECOMPOSITION, INTERVENTIONS, PERFECT_PLAY_TASKS, Condition
from ..dryrun import ASSUMED, estimate, format_estimate
from ..grid import GridSpec
from .diagnosis import FIX, diagnose
from .stopping import StopRule, runs_for_target, sd_from_ci95


@dataclass(frozen=True)
class Spread:
    """A run-to-run sd of % of optimal, in points, and where it comes from."""

    sd: float
    source: str


def paper_spread(model: str, scripted: bool = False) -> Spread:
    """The sd the paper's own interval implies for ``model`` (see the module docstring)."""
    paper = load_paper()
    rows = paper[
        (paper["condition"] == Condition.BASELINE)
        & (paper["metric"] == "tasks")
        & (paper["model"] != "perfect_play")
        & paper["ci95"].notna()
    ]
    sds = {r.key: 100 * sd_from_ci95(r.ci95) / PERFECT_PLAY_TASKS for r in rows.itertuples()}
    key = canonical_model(model)
    if key in sds and not scripted:
        r = rows[rows["key"] == key].iloc[0]
        return Spread(
            sds[key],
            f"the paper's {r.model} baseline, {r.value:g} ± {r.ci95:g} tasks over 5 runs",
        )
    lo, hi = min(sds.values()), max(sds.values())
    return Spread(
        statistics.median(sds.values()),
        f"the median of the paper's {len(sds)} baseline spreads (range {lo:.1f}–{hi:.1f})",
    )


def expected_interventions(
    model: str, scripted: bool, all_interventions: bool, threshold: float
) -> tuple[tuple[str, ...], str]:
    """The interventions the paper's own rates call for (for one of its models), else both
    targeted ones (an upper bound: the diagnosis is not known before the runs)."""
    if all_interventions:
        return INTERVENTIONS, "--all-interventions"
    paper = load_paper()
    rates = {
        name: Rate(name, paper_value(model, condition, "pct_optimal", paper, scripted), 0.0, 5)
        for name, condition in RATES.items()
    }
    if not any(math.isnan(r.mean) for r in rates.values()):
        d = diagnose(rates["cooperation"], rates["competence"], threshold)
        return d.interventions, f"the paper's rates put {model} {d.quadrant}"
    both = tuple(sorted(FIX.values(), key=INTERVENTIONS.index))
    return both, "not known before the runs: both targeted interventions counted"


def batches(n: int, rule: StopRule) -> int:
    """Batches a phase takes when its slowest cell needs ``n`` runs."""
    n = min(n, rule.max_runs)
    return 1 + math.ceil(max(n - rule.min_runs, 0) / rule.batch)


def plan_model(
    model: str,
    rule: StopRule,
    grid: dict[str, Any],
    scripted: bool,
    all_interventions: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """Expected runs, batches and cost of evaluating one model, and the most it could cost.

    ``grid`` holds the GridSpec fields every run shares (seed, env, models_file, ...)."""
    spread = paper_spread(model, scripted)
    n = runs_for_target(spread.sd, rule)
    runs = min(n, rule.max_runs)
    fixes, why = expected_interventions(model, scripted, all_interventions, threshold)
    seed = grid.get("seed", 0)
    spec = GridSpec(
        name=f"evaluate {model}",
        models=[model],
        conditions=[*DECOMPOSITION, *fixes],
        seeds=list(range(seed, seed + runs)),
        **{k: v for k, v in grid.items() if k != "seed"},
    )
    widest = INTERVENTIONS if all_interventions else tuple(FIX.values())
    most = spec.model_copy(
        update={
            "conditions": [*DECOMPOSITION, *widest],
            "seeds": list(range(seed, seed + rule.max_runs)),
        }
    )
    est, top = estimate(spec), estimate(most)
    return {
        "model": model,
        "scripted": scripted,
        "spread": spread,
        "runs_exact": n,
        "runs": runs,
        "interventions": fixes,
        "why": why,
        "batches": batches(n, rule) + (batches(n, rule) if fixes else 0),
        "estimate": est,
        "most": {"runs": top["runs"], "cost_usd": top["total_cost_usd"]},
    }


def _money(x: float | None) -> str:
    return "unpriced" if x is None else f"${x:,.2f}"


def format_plan(
    p: dict[str, Any], rule: StopRule, max_cost: float | None, dry_run: bool = True
) -> str:
    """One model's plan for the console (what ``coop evaluate`` prints before it runs, or
    alone with ``--dry-run``)."""
    s, est = p["spread"], p["estimate"]
    capped = f" (capped from {p['runs_exact']})" if p["runs_exact"] > rule.max_runs else ""
    kinds = {m["kind"] for m in est["models"]}
    latency = max((ASSUMED[k]["latency_s"] for k in kinds if k in ASSUMED), default=0.05)
    turns = est["total_calls"] / max(est["runs"], 1)
    seconds = p["batches"] * turns * latency
    wall = f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"
    lines = [
        f"evaluation of {p['model']}: runs expected from the paper's own spread",
        *(
            ["  scripted: a scripted population, not a model; its results describe the machinery"]
            if p["scripted"]
            else []
        ),
        f"  spread: sd {s.sd:.1f} points of optimal per run ({s.source}; "
        "assumed for every condition)",
        f"  runs per cell for a 95% half-width of ±{rule.target:g} points: "
        f"{p['runs']}{capped} (at least {rule.min_runs}, at most {rule.max_runs})",
        f"  cells: {', '.join(DECOMPOSITION)}, then "
        f"{', '.join(p['interventions']) or 'no intervention'} ({p['why']})",
        f"  batches: {p['batches']}, played one after another; each waits for its slowest "
        f"episode (~{turns:,.0f} sequential turns): about {wall} at the assumed latency",
        "  (a larger --batch gives fewer batches and the same runs: the first stage fixes "
        "them; the grid estimate below plays every run at once)",
        format_estimate(est, dry_run),
        f"at most: {p['most']['runs']} runs, {_money(p['most']['cost_usd'])}, if every cell "
        f"ran to --max-runs {rule.max_runs} with every intervention it could be given",
    ]
    if max_cost is not None:
        lines.append(
            f"budget: --max-cost ${max_cost:,.2f} caps this invocation's spending; whatever "
            "it cuts short, a rerun with a higher cap continues without paying twice"
        )
    return "\n".join(lines)
