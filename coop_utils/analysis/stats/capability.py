"""Capability vs cooperation (Fig. 3): the dated Arena Elo table and its correlation with
per-model means; model names matched by their canonical short name."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
from scipy import stats as sps

from ...game.config import Condition
from ...paths import ROOT, repo_file
from .intervals import scripted_flag

ELO_PATH = ROOT / "data" / "elo.csv"
"""Dated Chatbot Arena (LMArena) text scores for the paper's models; see data/README.md."""


_DATE_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{4})$")
_ALIASES = {"perfect": "perfect_play"}
"""Labels that are not model names: the scripted perfect-play population is the paper's
``perfect_play`` row."""


def canonical_model(name: str) -> str:
    """The paper's short model name: lower case, no provider prefix, no date suffix.

    ``"google/gemini-2.5-pro"`` → ``"gemini-2.5-pro"``, ``"o3-mini-2025-01-31"`` →
    ``"o3-mini"``, ``"claude-sonnet-4-20250514"`` → ``"claude-sonnet-4"``,
    ``"DeepSeek-R1-0528"`` → ``"deepseek-r1"``, and the scripted ``"perfect"`` population →
    ``"perfect_play"``. Mixed populations ("5*a,5*b") and other labels pass through lower-cased.
    """
    s = str(name).strip().lower().split("/")[-1]
    s = _DATE_SUFFIX.sub("", s)
    return _ALIASES.get(s, s)


def load_elo(path: str | Path | None = None, primary_only: bool = True) -> pd.DataFrame:
    """The dated Arena Elo table (``data/elo.csv``): one row per model when ``primary_only``.

    Columns: ``model, elo, ci95, as_of, arena_name, primary, source, note``. Rows
    with ``primary == False`` are alternative leaderboard entries for the same
    model (e.g. a thinking or high-effort variant) kept for sensitivity checks.
    """
    elo = pd.read_csv(path or repo_file(ELO_PATH), comment="#")
    elo["primary"] = elo["primary"].astype(str).str.lower().isin(("true", "1", "yes"))
    if primary_only:
        elo = elo[elo["primary"]].reset_index(drop=True)
    return elo


def capability_correlation(
    runs_or_cell_means: pd.DataFrame,
    elo: pd.DataFrame | None = None,
    metric: str = "tasks",
    condition: str | None = Condition.BASELINE,
    value_col: str | None = None,
) -> pd.DataFrame:
    """Pearson and Spearman correlation of per-model mean ``metric`` with Arena Elo (Fig. 3).

    Accepts either a runs frame (many rows per model; averaged per model first)
    or a frame of cell means (one row per model, the value in ``value_col``,
    default ``"mean"`` if present else ``metric``). Models are matched to the Elo
    table by :func:`canonical_model`; unmatched models are listed in
    ``attrs["unmatched"]`` and left out. Returns two rows (``pearson``,
    ``spearman``) with ``statistic, p, n, lo, hi`` (Fisher-z 95% interval for
    Pearson when n > 3; NaN for Spearman), ``loo_lo, loo_hi`` (the least and greatest
    statistic with one model left out, n > 3: how much one model moves it) and the models
    used; NaN below 3 models. Over 8 models an r near 0 has an interval of about ±0.7, so a
    small r alone does not show that Elo fails to predict.
    Scripted populations (a ``scripted`` column is True) never get an Elo score; they are
    listed in ``attrs["scripted"]`` and ``attrs["unmatched"]``.
    The paper reports r = 0.16 (p = 0.71) and ρ = 0.08 over its 8 models.
    """
    frame = runs_or_cell_means
    if condition is not None and "condition" in frame.columns:
        frame = frame[frame["condition"] == condition]
    col = value_col or ("mean" if "mean" in frame.columns else metric)
    per_model = frame.groupby("model")[col].mean().rename("value").reset_index()
    scripted: list[str] = []
    if "scripted" in frame.columns:
        scripted = sorted(m for m, g in frame.groupby("model") if scripted_flag(g))
    # A scripted population has no capability score, whatever its label says.
    per_model["key"] = (
        per_model["model"].map(canonical_model).where(~per_model["model"].isin(scripted))
    )
    elo = load_elo() if elo is None else elo
    e = elo.assign(key=elo["model"].map(canonical_model)).drop_duplicates("key")[["key", "elo"]]
    merged = per_model.merge(e, how="left")  # on "key", the one column they share
    unmatched = merged.loc[merged["elo"].isna(), "model"].tolist()
    merged = merged.dropna()
    n = len(merged)
    out = pd.DataFrame({"method": ["pearson", "spearman"], "statistic": math.nan, "p": math.nan})
    out = out.assign(n=n, lo=math.nan, hi=math.nan, loo_lo=math.nan, loo_hi=math.nan)
    if n >= 3:
        pr = sps.pearsonr(merged["elo"], merged["value"])
        sr = sps.spearmanr(merged["elo"], merged["value"])
        out["statistic"] = [float(pr.statistic), float(sr.statistic)]
        out["p"] = [float(pr.pvalue), float(sr.pvalue)]
    if n > 3:  # Fisher's z interval for Pearson's r needs n > 3
        ci = pr.confidence_interval(0.95)
        out.loc[0, ["lo", "hi"]] = [float(ci.low), float(ci.high)]
        for row, test in ((0, sps.pearsonr), (1, sps.spearmanr)):
            left_out = [
                float(test(merged["elo"].drop(i), merged["value"].drop(i)).statistic)
                for i in merged.index
            ]
            out.loc[row, ["loo_lo", "loo_hi"]] = [min(left_out), max(left_out)]
    out["metric"] = metric
    out["models"] = ",".join(merged["model"])
    out.attrs["unmatched"] = unmatched
    out.attrs["scripted"] = scripted
    out.attrs["points"] = merged[["model", "elo", "value"]].reset_index(drop=True)
    return out
