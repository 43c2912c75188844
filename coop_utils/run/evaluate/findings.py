"""What an evaluation found, in the paper's terms: the content of ``OUT/summary.json``.

Computed from the runs on disk with the project's own statistics (``stats.cell_summary``
for cells, ``stats.paired_difference`` and ``stats.pct_change`` for intervention effects
on shared seeds), so the summary, the report and the leaderboard row agree by construction.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ...analysis.load import load_runs
from ...analysis.metrics import FAULT_FIELDS, USAGE_FIELDS
from ...analysis.paper import load_paper, paper_value, paper_words
from ...analysis.stats import cell_summary, holm, paired_difference, pct_change
from ...game.config import INTERVENTIONS, Condition
from ..runner import provenance
from .protocol import PROTOCOL_VERSION, Evaluation

PAPER = "Yadav, Black, Sourbut (2026), arXiv 2604.07821"


def _num(x: Any) -> float | None:
    """A JSON-safe number (NaN becomes null)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else round(x, 4)


def _cell(runs: pd.DataFrame, metric: str) -> dict[str, Any]:
    if runs.empty:
        return {"mean": None, "ci95": None, "n": 0}
    c = cell_summary(runs, metric, by=[]).iloc[0]
    return {"mean": _num(c["mean"]), "ci95": _num(c["ci95"]), "n": int(c["n"])}


def _effects(runs: pd.DataFrame, conditions: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for cond in conditions:
        sub = runs[runs["condition"].isin([Condition.BASELINE, cond])]
        if not (sub["condition"] == cond).any():
            out[cond] = {"runs": 0}
            continue
        pct = pct_change(sub, Condition.BASELINE, cond, "tasks", by=None).iloc[0]
        pair = paired_difference(sub, "tasks", Condition.BASELINE, cond, by=None).iloc[0]
        out[cond] = {
            "paired": bool(pct["paired"]),
            "identical": bool(pair["n_pairs"] >= 2 and pair["sd_diff"] == 0 and pair["diff"] == 0),
            "baseline_tasks": _num(pct["mean_a"]),
            "tasks": _num(pct["mean_b"]),
            "pct_change": _num(pct["pct_change"]),
            "pct_change_lo": _num(pct["lo"]),
            "pct_change_hi": _num(pct["hi"]),
            "paired_diff_tasks": _num(pair["diff"]),
            "paired_diff_ci95": _num(pair["ci95"]),
            "n_pairs": int(pair["n_pairs"]),
            "p": _num(pair["p"]),
        }
    return _holm(out)


def _holm(effects: dict[str, Any]) -> dict[str, Any]:
    """Holm's adjustment over every intervention this model ran (one family per model):
    each effect gets ``p_holm`` and ``significant`` (``p_holm`` < 0.05; None untested)."""
    ran = [c for c, e in effects.items() if e.get("runs") != 0]
    adjusted = holm([effects[c]["p"] if effects[c]["p"] is not None else math.nan for c in ran])
    for c, row in zip(ran, adjusted.itertuples()):
        untested = math.isnan(row.p)
        effects[c]["p_holm"] = None if untested else _num(row.p_holm)
        effects[c]["significant"] = None if untested else bool(row.reject)
    return effects


def paper_pct_change(
    model: str, condition: str, paper: pd.DataFrame | None = None, scripted: bool = False
) -> float:
    """The paper's % change in tasks under an intervention: its own figure where it prints
    one (Table 3), else computed from its task counts (Tables 1 and 5); NaN with neither."""
    own = paper_value(model, condition, "pct_change_tasks", paper, scripted)
    if not math.isnan(own):
        return own
    base = paper_value(model, Condition.BASELINE, "tasks", paper, scripted)
    if math.isnan(base) or base == 0:
        return math.nan
    return 100 * (paper_value(model, condition, "tasks", paper, scripted) / base - 1)


def paper_row(model: str, scripted: bool) -> dict[str, Any] | None:
    """The paper's numbers for one of its models (never for a scripted population)."""
    paper = load_paper()
    cells = {
        "baseline_tasks": (Condition.BASELINE, "tasks"),
        "baseline_pct_optimal": (Condition.BASELINE, "pct_optimal"),
        "cooperation_rate": (Condition.AUTO_REQUEST, "pct_optimal"),
        "competence_rate": (Condition.AUTO_FULFILL, "pct_optimal"),
    }
    row = {k: _num(paper_value(model, c, m, paper, scripted)) for k, (c, m) in cells.items()}
    for c in INTERVENTIONS:
        row[f"{c}_pct_change"] = _num(paper_pct_change(model, c, paper, scripted))
    if all(v is None for v in row.values()):
        return None
    words = paper_words(model, scripted=scripted) or {}
    row["diagnosis_words"] = words.get("paper_diagnosis") or None
    row["diagnosis_words_source"] = words.get("source") or None
    return row


def findings(ev: Evaluation) -> dict[str, Any]:
    """The summary of an evaluation, per model, in the paper's terms."""
    every = load_runs(ev.folders(), ceiling=ev.ceiling, include_degraded=True)
    states = ev.states()
    models = {}
    for model in ev.spec.models:
        mine = every[every["model"] == model] if not every.empty else every
        runs = mine[~mine["degraded"].astype(bool)] if "degraded" in mine else mine
        d = ev.diagnoses[model]
        scripted = ev.scripted.get(model, bool(runs.get("scripted", pd.Series()).any()))
        name = f"{model} (scripted)" if scripted else model
        rates = {}
        for r in (d.cooperation, d.competence):
            rates[f"{r.name}_rate"] = {
                "condition": r.condition,
                "mean": _num(r.mean),
                "ci95": _num(r.ci95),
                "lo": _num(r.lo),
                "hi": _num(r.hi),
                "n": r.n,
            }
        base = runs[runs["condition"] == Condition.BASELINE]
        models[model] = {
            "scripted": scripted,
            "what": "a scripted population: describes the machinery, not any model"
            if scripted
            else "a model",
            "diagnosis": d.quadrant,
            "in_words": d.sentence(name),
            "uncertain": list(d.uncertain),
            **rates,
            "threshold": d.threshold,
            "baseline": {
                "tasks": _cell(base, "tasks"),
                "pct_optimal": _cell(base, "pct_optimal"),
            },
            "interventions": _effects(runs, d.interventions),
            "cells": {
                c: {**s.as_dict(), "pct_optimal": _num(s.mean), "half_width": _num(s.half_width)}
                for (m, c), s in states.items()
                if m == model
            },
            "faults": {
                **{k: int(mine[k].sum()) if k in mine else 0 for k in FAULT_FIELDS},
                "degraded_runs": int(mine["degraded"].astype(bool).sum())
                if "degraded" in mine
                else 0,
            },
            "usage": {
                k: _num(mine[k].sum()) if k in mine else 0.0 for k in ("llm_calls", *USAGE_FIELDS)
            },
            "paper": paper_row(model, scripted),
        }
    spec = ev.spec
    return {
        "protocol": PROTOCOL_VERSION,
        "paper": PAPER,
        "setting": spec.setting(),
        "ceiling": {"tasks": ev.ceiling, "source": ev.ceiling_source},
        "rule": {
            "target_half_width": spec.target,
            "min_runs": spec.min_runs,
            "batch": spec.batch,
            "max_runs": spec.max_runs,
            "threshold": spec.threshold,
            "all_interventions": spec.all_interventions,
        },
        "seeds_from": spec.seed,
        "models": models,
        "spent_usd": round(ev.spent_usd, 6),
        "wall_s": round(ev.wall_s, 2),
        "stopped": ev.stopped,
        "code_version": provenance()["code_version"],
    }
