"""The paper's tables, rebuilt from our runs, with the paper's numbers beside ours.

One function per table, each taking the frames of :mod:`coop_utils.analysis.load` and returning a
pandas DataFrame: our cell mean with its 95% t half-width (``_ci95``) and run count, then
``paper_*`` columns with what the paper reports for the same model and condition (NaN
where it reports nothing, and always NaN for scripted populations, which are not the
model any label might suggest). A ``scripted`` column travels with every row.
:func:`save_table` writes a table as CSV under ``data/results``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..game.config import ABLATIONS, Condition
from ..paths import atomic_path
from .metrics import RATIO_METRICS, cooperation_competence
from .paper import load_diagnoses, load_paper, paper_value, paper_words, side_by_side
from .quadrants import DEFAULT_THRESHOLD, Rate, quadrant, uncertain
from .rounding import P_COLUMNS, snap_frame
from .stats import (
    canonical_model,
    cell_summary,
    holm_family,
    paired_difference,
    pct_change,
    scripted_flag,
)
from .thoughts import beside_floor, classify_frame, run_level_table, thought_table

TABLE1_METRICS = (
    "tasks",
    "pct_optimal",
    "msgs_per_task",
    "gini",
    "response_rate",
    "pipeline_efficiency",
)
TABLE3 = (Condition.POLICY, Condition.INCENTIVE)
"""The paper's Table 3: the two targeted interventions, as % change from baseline."""


def _with_paper(
    runs: pd.DataFrame, metric: str, condition: str, paper: pd.DataFrame, paper_only: bool
) -> pd.DataFrame:
    sub = runs[runs["condition"] == condition]
    t = side_by_side(sub, metric, condition, paper=paper, include_paper_only=paper_only)
    return t.rename(
        columns={
            "ours_mean": metric,
            "ours_ci95": f"{metric}_ci95",
            "ours_n": "n",
            "paper_value": f"paper_{metric}",
            "paper_ci95": f"paper_{metric}_ci95",
        }
    )


def _mark(table: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Carry the paper's ``not_comparable`` reason (:func:`.paper.comparable`) to a table:
    its ``paper_*`` columns are then empty, and :func:`show` leaves them out."""
    if paper.attrs.get("not_comparable"):
        table.attrs["not_comparable"] = paper.attrs["not_comparable"]
    return table


def table1(
    runs: pd.DataFrame, paper: pd.DataFrame | None = None, paper_only: bool = True
) -> pd.DataFrame:
    """Table 1: baseline tasks, % of optimal, messages per task, Gini, response rate and
    pipeline efficiency per model, ours ± 95% CI beside the paper's. With ``paper_only``
    the paper's models we did not run are listed too (ours empty)."""
    paper = load_paper() if paper is None else paper
    out = None
    for metric in TABLE1_METRICS:
        t = _with_paper(runs, metric, Condition.BASELINE, paper, paper_only)
        keep = ["model", "n", "scripted", metric, f"{metric}_ci95", f"paper_{metric}"]
        if metric == "tasks":
            keep.append("paper_tasks_ci95")
        t = t[keep]
        if metric in RATIO_METRICS:  # its own n: runs with a defined ratio
            t = t.rename(columns={"n": f"{metric}_n"})
        if out is None:
            out = t
        else:
            out = out.merge(t.drop(columns=["n", "scripted"], errors="ignore"), on="model")
    out = out.sort_values(["tasks", "paper_tasks"], ascending=False, na_position="last")
    return _mark(out.reset_index(drop=True), paper)


def table2(
    runs: pd.DataFrame,
    paper: pd.DataFrame | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    paper_only: bool = True,
    diagnoses: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Table 2: cooperation rate (% of optimal under auto_request) and competence rate
    (under auto_fulfill) per model, with the Fig. 4 quadrant, ours beside the paper's.

    ``diagnosis`` is our quadrant of our rates and ``uncertain`` the rates whose 95%
    interval contains the threshold (the rule of :mod:`.quadrants`, as ``coop evaluate``
    applies it: a label from a point estimate alone is not a finding); ``paper_quadrant`` is the same rule applied
    to the paper's rates (ours, not the paper's words); ``paper_diagnosis`` is the paper's
    own wording where transcribed (``data/paper/paper_diagnoses.csv``; empty otherwise),
    with ``paper_diagnosis_source``. With ``paper_only`` the paper's models we did not run
    are listed too (ours empty), so its rates and words are always on the table."""
    paper = load_paper() if paper is None else paper
    diagnoses = load_diagnoses() if diagnoses is None else diagnoses
    cc = cooperation_competence(
        runs[runs["condition"].isin([Condition.AUTO_REQUEST, Condition.AUTO_FULFILL])]
    )
    rows = [
        {
            **r,
            "diagnosis": quadrant(r["cooperation"], r["competence"], threshold),
            "uncertain": "+".join(uncertain(*_rates(r), threshold)),
        }
        for r in cc.to_dict("records")
    ]
    if paper_only and not paper.attrs.get("not_comparable"):
        ours = {canonical_model(r["model"]) for r in rows if not r.get("scripted")}
        rows += [{"model": m} for m in diagnoses["model"] if canonical_model(m) not in ours]
    for r in rows:
        scripted = bool(r.get("scripted"))
        coop, comp = (
            paper_value(r["model"], cond, "pct_optimal", paper, scripted)
            for cond in (Condition.AUTO_REQUEST, Condition.AUTO_FULFILL)
        )
        words = paper_words(r["model"], diagnoses, scripted) or {}
        r.update(
            paper_cooperation=coop,
            paper_competence=comp,
            paper_quadrant=quadrant(coop, comp, threshold),
            paper_diagnosis=words.get("paper_diagnosis", ""),
            paper_diagnosis_source=words.get("source", ""),
        )
    return _mark(pd.DataFrame(rows), paper)


def _rates(row: dict) -> tuple[Rate, Rate]:
    return tuple(
        Rate(k, row[k], row[f"{k}_ci95"], int(row[f"{k}_n"])) for k in ("cooperation", "competence")
    )


def table3(runs: pd.DataFrame, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table 3: % change in tasks from baseline under the protocol (policy) and the sender
    bonus (incentive) per model, its interval paired on shared seeds and the paired t-test,
    Holm-adjusted across every row, beside the paper's % change. ``identical`` marks cells
    whose runs equal their baseline seed for seed: there is no variability to test, so
    ``p`` is NaN (not a finding of "no effect", only of identical episodes)."""
    paper = load_paper() if paper is None else paper
    parts = []
    for cond in TABLE3:
        if not (runs["condition"] == cond).any():
            continue
        pct = pct_change(runs, Condition.BASELINE, cond, "tasks", by="model")
        paired = paired_difference(runs, "tasks", Condition.BASELINE, cond, by="model")
        t = pct.merge(paired[["model", "n_pairs", "diff", "sd_diff", "p"]], on="model", how="left")
        t["paper_pct_change"] = [
            paper_value(m, cond, "pct_change_tasks", paper, s)
            for m, s in zip(t["model"], t["scripted"])
        ]
        t["condition"] = cond
        parts.append(t)
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    out = holm_family(out, p_col="p")
    out["identical"] = (out["n_pairs"] >= 2) & out["sd_diff"].eq(0) & out["diff"].eq(0)
    cols = ["model", "condition", "mean_a", "mean_b", "pct_change", "lo", "hi", "n_pairs"]
    cols += ["diff", "sd_diff", "p", "p_holm", "reject", "identical", "paper_pct_change"]
    cols.append("scripted")
    return _mark(out[cols].rename(columns={"mean_a": "baseline_tasks", "mean_b": "tasks"}), paper)


def table5(runs: pd.DataFrame, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table 5: hiding peer revenues (limited): tasks, response rate and pipeline efficiency
    per model under `limited`, the baseline tasks beside them, and the paper's values."""
    paper = load_paper() if paper is None else paper
    out = None
    for metric in ("tasks", "response_rate", "pipeline_efficiency"):
        t = _with_paper(runs, metric, Condition.LIMITED, paper, paper_only=False)
        keep = ["model", "n", "scripted", metric, f"{metric}_ci95", f"paper_{metric}"]
        t = t[keep]
        out = t if out is None else out.merge(t.drop(columns=["n", "scripted"]), on="model")
    if out is None or out.empty:
        return pd.DataFrame()
    base = cell_summary(runs[runs["condition"] == Condition.BASELINE], "tasks", "model")
    out = out.merge(
        base[["model", "mean"]].rename(columns={"mean": "baseline_tasks"}), on="model", how="left"
    )
    return _mark(out, paper)


def thought_tables(
    thoughts: pd.DataFrame, paper: pd.DataFrame | None = None, floor: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tables 6–8: per model and condition, (run-level shares ± CI, pooled shares), with
    the paper's hard-defection share and market-term density, and with ``floor``
    (:func:`~.thoughts.false_positive_floor`) the classifier's false-positive floor beside
    each class share (:func:`~.thoughts.beside_floor`). ``thoughts`` raw or already
    classified (:func:`~.thoughts.classify_frame`); they are classified once for both."""
    paper = load_paper() if paper is None else paper
    thoughts = classify_frame(thoughts)
    runs_level = run_level_table(thoughts)
    if floor is not None:
        runs_level = beside_floor(runs_level, floor)
    pooled = thought_table(thoughts)
    scripted = runs_level.get("scripted", pd.Series(False, index=runs_level.index))
    for metric in ("hard_defection_pct", "market_terms_per_1k_words"):
        runs_level[f"paper_{metric}"] = [
            paper_value(m, c, metric, paper, bool(s))
            for m, c, s in zip(runs_level["model"], runs_level["condition"], scripted)
        ]
    return runs_level, pooled


def thoughts_beside_actions(
    thoughts: pd.DataFrame, runs: pd.DataFrame, floor: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per population and condition: what the agents *said* (run-level share of thoughts
    classed hard defection, ± t half-width) beside what the same runs *did* with the
    requests they received: ``response_rate`` (truthful sends ÷ requests), ``answered_pct``
    (sends of any value ÷ requests, so altered-value answers count) and
    ``manipulated_values`` per run. A thought is classed hard defection when it holds back
    *any* request, so a population that answers most requests but refuses one in several
    turns can score high on thoughts: read the two side by side. ``thoughts`` raw or
    already classified (:func:`~.thoughts.classify_frame`), then not classified again. With
    ``floor``, the hard-defection floor and whether the share lies above it are beside it."""
    said = run_level_table(thoughts)
    cols = ["model", "condition", "n_runs", "hard_defection_pct", "hard_defection_pct_ci95"]
    if floor is not None:
        said = beside_floor(said, floor)
        cols += ["hard_defection_floor_pct", "hard_defection_above_floor"]
    said = said[cols]
    asked = runs["requests"].where(runs["requests"] > 0)
    did = runs.assign(
        answered_pct=100 * (runs["truthful_sends"] + runs["manipulated_values"]) / asked
    )
    cols = ["response_rate", "answered_pct", "manipulated_values"]
    cells = did.groupby(["model", "condition"], sort=True)
    agg = cells[cols].mean().reset_index()
    agg["scripted"] = [scripted_flag(g) for _, g in cells]
    return said.merge(agg, on=["model", "condition"], how="inner")


def ablation_table(runs: pd.DataFrame, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """Tables 9–10 and the appendix: tasks per model and setting, the change from the
    default setting, and the paper's values where it reports the same setting."""
    paper = load_paper() if paper is None else paper
    cells = cell_summary(runs, "tasks", ("model", "setting"))
    order = {name: k for k, name in enumerate(ABLATIONS)}  # the experiment's own order
    cells = cells.sort_values(
        ["model", "setting"], key=lambda c: c.map(order) if c.name == "setting" else c
    ).reset_index(drop=True)
    default = cells[cells["setting"] == "default"].set_index("model")["mean"]
    cells["pct_vs_default"] = [
        100 * (m - default[mod]) / default[mod] if default.get(mod) else np.nan
        for mod, m in zip(cells["model"], cells["mean"])
    ]
    scripted = cells.get("scripted", pd.Series(False, index=cells.index))
    cells["paper_tasks"] = [
        paper_value(m, Condition.BASELINE if st == "default" else st, "tasks", paper, bool(s))
        for m, st, s in zip(cells["model"], cells["setting"], scripted)
    ]
    return cells.rename(columns={"mean": "tasks", "ci95": "tasks_ci95"})


FLOAT_FORMAT = "%.6g"
"""How a saved table writes a number (after :func:`~coop_utils.analysis.rounding.snap`)."""


def save_table(table: pd.DataFrame, name: str, folder: str | Path = "data/results") -> Path:
    """Write ``folder/name.csv`` (six significant digits, float noise snapped away by
    :func:`~coop_utils.analysis.rounding.snap`) and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    with atomic_path(path) as tmp:  # a killed run never leaves half a table
        snap_frame(table).to_csv(tmp, index=False, float_format=FLOAT_FORMAT)
    return path


class Shown(str):
    """A table's text (what ``print`` shows) that ``display`` renders as an HTML table, so
    a wide table scrolls in JupyterLab instead of wrapping mid-word."""

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(str(self))  # text/plain: the fixed-width table, not a quoted string


def show(table: pd.DataFrame, digits: int = 1) -> Shown:
    """A table as fixed-width text with ``digits`` decimals and p-values to two significant
    figures (what notebooks print; ``display`` it for an HTML table). Values are snapped
    first (:func:`~coop_utils.analysis.rounding.snap`), so float noise never changes a
    printed digit from one machine to the next, and zeros print as 0, never -0. The paper's
    columns are left out of a table marked not comparable (:func:`_mark`)."""
    if table.attrs.get("not_comparable"):
        table = table[[c for c in table if not str(c).startswith("paper_")]]
    table = snap_frame(table)
    out = table.round(digits)
    for col in [c for c in table if "gini" in c]:  # Gini lives in [0, 1]
        out[col] = table[col].round(3)
    floats = out.select_dtypes("float").columns
    out[floats] = out[floats] + 0.0
    for col in P_COLUMNS:
        if col in table:
            out[col] = table[col].map(lambda v: "–" if pd.isna(v) else f"{v:.2g}")
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        shown = Shown(out.to_string(index=False, na_rep="–"))
        shown.html = out.to_html(index=False, na_rep="–", border=0)
    return shown
