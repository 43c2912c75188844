"""The paper's reported numbers, as a reference to show beside ours — never a target.

Why: a reproduction is read side by side with the original, and that comparison has
to be mechanical (same model names, same cells) and honest (scripted agents are not
models and get no paper value, except perfect play, which *is* scripted in the paper
too). ``data/paper/paper_results.csv`` is the project's transcription of every number the
paper reports (columns ``model, condition, metric, value, ci95, source``; see
data/paper/README.md, and docs/STUDY.md for where the numbers come from), shipped with
the package so that nothing here depends on files outside the repository. ``data/paper/paper_diagnoses.csv``
holds the paper's own *words* for each model's diagnosis, where they are known: a
quadrant computed from the paper's rates by our threshold is ours, not the paper's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..game.config import PERFECT_PLAY_TASKS, Condition, EnvConfig
from ..paths import ROOT, repo_file
from .stats import canonical_model, cell_summary

__all__ = [
    "DIAGNOSES_PATH",
    "PAPER_PATH",
    "ceiling",
    "comparable",
    "load_diagnoses",
    "load_paper",
    "paper_value",
    "paper_words",
    "reference",
    "setting_differences",
    "side_by_side",
]

PAPER_PATH = ROOT / "data" / "paper" / "paper_results.csv"
"""The paper's reported numbers, as the project transcribed them (data/paper/README.md)."""

DIAGNOSES_PATH = ROOT / "data" / "paper" / "paper_diagnoses.csv"
"""The paper's own diagnosis of each model, in its words where transcribed (see README)."""

PERFECT_PLAY = "perfect_play"


PAPER_CEILING = "the paper's perfect play (Table 1)"
"""Where the 100% comes from at the paper's own setting."""


def setting_differences(env: Mapping[str, Any] | EnvConfig | None = None) -> tuple[str, ...]:
    """What differs between ``env`` and the paper's main setting (``EnvConfig``'s defaults
    for the same condition), e.g. ``("rounds 5 (the paper: 20)",)``; empty at the paper's
    setting. One rule for the ceiling and for whether the paper's numbers compare."""
    env = env if isinstance(env, EnvConfig) else EnvConfig(**(env or {}))
    ours, paper = env.model_dump(), EnvConfig.for_condition(env.condition).model_dump()
    return tuple(f"{k} {ours[k]} (the paper: {paper[k]})" for k in paper if ours[k] != paper[k])


def ceiling(
    env: Mapping[str, Any] | EnvConfig | None, measured: Sequence[float]
) -> tuple[float, str]:
    """The 100% of % of optimal at a setting, and where it comes from: the paper's 204.0 at
    its own setting; anywhere else the mean of ``measured``, our perfect play's tasks at this
    setting (a % of optimal divided by the paper's 20-round ceiling would be on no scale)."""
    if not setting_differences(env):
        return PERFECT_PLAY_TASKS, PAPER_CEILING
    if not len(measured) or not sum(measured):
        raise ValueError(
            "perfect play completes no task at this setting, so % of optimal is undefined: "
            "use more rounds"
        )
    n = len(measured)
    return sum(measured) / n, f"our perfect play at this setting ({n} seed{'s' * (n > 1)})"


def comparable(
    env: Mapping[str, Any] | EnvConfig | None, paper: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The paper's numbers if ``env`` is its setting; else none of them (an empty frame whose
    ``attrs["not_comparable"]`` says why), so that tables and figures leave its columns and
    overlays out instead of setting 5-round counts beside its 20-round ones."""
    paper = load_paper() if paper is None else paper
    differ = setting_differences(env)
    if not differ:
        return paper
    out = paper.iloc[0:0].copy()
    out.attrs["not_comparable"] = "the paper ran another setting: ours has " + ", ".join(differ)
    return out


def load_paper(path: str | Path | None = None) -> pd.DataFrame:
    """The paper's numbers: ``model, condition, metric, value, ci95, source`` plus ``key``
    (the canonical model name used for joining; equal to ``model`` for the paper's rows)."""
    paper = pd.read_csv(path or repo_file(PAPER_PATH))
    paper["key"] = paper["model"].map(canonical_model)
    return paper


def load_diagnoses(path: str | Path | None = None) -> pd.DataFrame:
    """The paper's diagnoses: ``model, paper_diagnosis, verbatim, source`` plus ``key``.

    ``paper_diagnosis`` is empty where the words are not transcribed; ``verbatim`` says
    whether they are the paper's exact words or a report of them; ``source`` says where
    they come from."""
    table = pd.read_csv(path or repo_file(DIAGNOSES_PATH), keep_default_na=False)
    table["verbatim"] = table["verbatim"].astype(str).str.lower().eq("true")
    table["key"] = table["model"].map(canonical_model)
    return table


def paper_words(
    model: str, diagnoses: pd.DataFrame | None = None, scripted: bool = False
) -> dict | None:
    """The paper's diagnosis row for one model (``paper_diagnosis, verbatim, source``), or
    None for a model the paper did not run and for any scripted population."""
    diagnoses = load_diagnoses() if diagnoses is None else diagnoses
    hit = diagnoses[diagnoses["key"] == canonical_model(model)]
    if scripted or hit.empty:
        return None
    return hit.iloc[0][["paper_diagnosis", "verbatim", "source"]].to_dict()


def reference(
    model: str,
    condition: str,
    metric: str,
    paper: pd.DataFrame | None = None,
    scripted: bool = False,
) -> dict | None:
    """The paper's row (``value, ci95, source``) for one cell, or None where it reports none.

    Models are matched by canonical name. A scripted population is not the model its label
    may name, so it gets no reference, except perfect play, which the paper also reports.
    This is the one place that rule lives; every table and join goes through it.
    """
    paper = load_paper() if paper is None else paper
    key = canonical_model(model)
    if scripted and key != PERFECT_PLAY:
        return None
    hit = paper[
        (paper["key"] == key) & (paper["condition"] == condition) & (paper["metric"] == metric)
    ]
    return hit.iloc[0][["value", "ci95", "source"]].to_dict() if len(hit) else None


def paper_value(
    model: str,
    condition: str,
    metric: str,
    paper: pd.DataFrame | None = None,
    scripted: bool = False,
) -> float:
    """The paper's value for one cell (see :func:`reference`); NaN if there is none."""
    ref = reference(model, condition, metric, paper, scripted)
    return float(ref["value"]) if ref else math.nan


def _ours_cells(ours: pd.DataFrame, metric: str, by: str, condition: str | None) -> pd.DataFrame:
    """Our cells of ``metric``: a cell table as is, or a runs frame summarised per cell."""
    if "mean" not in ours.columns:  # a runs frame: one row per run
        keys = [by, "condition"] if "condition" in ours.columns else [by]
        ours = cell_summary(ours, metric, keys)
    elif "metric" in ours.columns:
        ours = ours[ours["metric"] == metric]
    if condition is not None and "condition" in ours.columns:
        ours = ours[ours["condition"] == condition]
    return ours


def side_by_side(
    ours: pd.DataFrame,
    metric: str,
    condition: str | None = None,
    by: str = "model",
    paper: pd.DataFrame | None = None,
    include_paper_only: bool = False,
) -> pd.DataFrame:
    """Our cells of ``metric`` joined to the paper's values for the same model and condition.

    ``ours`` is a cell table (``stats.cell_summary``: columns ``by, [condition], mean, ci95,
    n``) or a runs frame (summarised here). Models are matched by
    :func:`~coop_utils.analysis.stats.canonical_model`. The condition is ``condition`` when given,
    else each row's own ``condition`` column, else ``"baseline"``. Scripted populations get
    no paper value — except ``perfect``/``perfect_play``, which is the paper's perfect play.

    Columns: ``by, condition, key, ours_mean, ours_ci95, ours_n, paper_value, paper_ci95,
    paper_source, scripted`` (``scripted`` is None when ``ours`` does not say). With
    ``include_paper_only`` the paper's models we did not run are appended (ours_* NaN).
    """
    paper = load_paper() if paper is None else paper
    cells = _ours_cells(ours, metric, by, condition)
    rows = []
    for r in cells.to_dict("records"):
        cond = condition or r.get("condition") or Condition.BASELINE
        scripted = r.get("scripted")
        scripted = None if scripted is None or pd.isna(scripted) else bool(scripted)
        hit = reference(r[by], cond, metric, paper, bool(scripted)) or {}
        rows.append(
            {
                by: r[by],
                "condition": cond,
                "key": canonical_model(r[by]),
                "ours_mean": r.get("mean", math.nan),
                "ours_ci95": r.get("ci95", math.nan),
                "ours_n": r.get("n", 0),
                "paper_value": float(hit.get("value", math.nan)),
                "paper_ci95": float(hit.get("ci95", math.nan)),
                "paper_source": hit.get("source"),
                "scripted": scripted,
            }
        )
    if include_paper_only:
        ref = paper[paper["metric"] == metric].drop_duplicates(["key", "condition"])
        have = {(row["key"], row["condition"]) for row in rows}
        conds = (
            {condition}
            if condition
            else ({row["condition"] for row in rows} or {Condition.BASELINE})
        )
        for r in ref[ref["condition"].isin(conds)].to_dict("records"):
            if (r["key"], r["condition"]) not in have:
                rows.append(
                    {
                        by: r["model"],
                        "condition": r["condition"],
                        "key": r["key"],
                        "ours_mean": math.nan,
                        "ours_ci95": math.nan,
                        "ours_n": 0,
                        "paper_value": r["value"],
                        "paper_ci95": r["ci95"],
                        "paper_source": r["source"],
                        "scripted": None,
                    }
                )
    columns = [by, "condition", "key", "ours_mean", "ours_ci95", "ours_n"]
    columns += ["paper_value", "paper_ci95", "paper_source", "scripted"]
    out = pd.DataFrame(rows, columns=columns)
    out.attrs.update(metric=metric)
    return out
