"""Does the causal decomposition measure what it claims? (beyond the paper)

The paper reads the cooperation rate (% of optimal when requests are automated) as
willingness to send, and the competence rate (% of optimal when replies are automated)
as the ability to request and submit. With real models the ground truth is unknown.
With behaviour agents it is not: their answer, request and submit probabilities are
knobs we set. So we run populations over a grid of knobs through the decomposition and
ask (1) how closely each rate follows its own knob and (2) how much it leaks the other
knob. Under ``auto_request`` an agent still submits for itself, for instance, so its
submit probability can leak into the "cooperation" rate. The runs are the grid
:func:`coop_utils.run.experiments.validity_grid` of :func:`knob_specs`; this module reads them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from ..agents import BehaviourKnobs
from .metrics import cooperation_competence


def knob_specs(
    p_answer: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    p_request: Sequence[float] = (0.25, 0.5, 1.0),
    p_submit: Sequence[float] = (0.5, 1.0),
    prefix: str = "",
) -> list[str]:
    """Agent specs for every combination of knobs (``prefix="local:"`` serves them over HTTP)."""
    return [
        f"{prefix}behaviour:p_answer={a:g}:p_request={r:g}:p_submit={s:g}"
        for a, r, s in itertools.product(p_answer, p_request, p_submit)
    ]


def knobs_of(model: str) -> BehaviourKnobs:
    """The knobs of a behaviour population from its label (``[local:]behaviour:...``)."""
    spec = model.removeprefix("local:").removeprefix("scripted/")
    return BehaviourKnobs.parse(spec.partition(":")[2])


def knob_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per knob setting: its knobs and its cooperation and competence rates (± CI)."""
    rates = cooperation_competence(runs)
    knobs = [knobs_of(m) for m in rates["model"]]
    rates["p_answer"] = [k.p_answer for k in knobs]
    rates["p_request"] = [k.p_request for k in knobs]
    rates["p_submit"] = [k.p_submit for k in knobs]
    return rates


def _pearson(x: pd.Series, y: pd.Series) -> float:
    """Pearson r; NaN when either side is constant (a knob the grid did not vary)."""
    if x.nunique() < 2 or y.nunique() < 2:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


KNOBS = ("p_answer", "p_request", "p_submit")
OWN_KNOBS = {"cooperation": ("p_answer",), "competence": ("p_request", "p_submit")}
"""What each rate claims to measure: willingness to send; ability to ask and to submit."""


def recovery(table: pd.DataFrame) -> pd.DataFrame:
    """Per rate and knob: the standardised coefficient of ``rate ~ p_answer + p_request +
    p_submit`` with its p-value, and whether the knob is one the rate claims to measure.

    ``cross_talk`` (same for every row of a rate) is the summed |coefficient| of the knobs
    the rate should *not* respond to over that of the knobs it should: 0 is a clean
    measure; 0.5 means half as much of the rate is driven by the wrong knobs. ``r2`` is the
    variance the three knobs explain together. A knob the grid held constant gets NaN.
    """
    z = table[[*KNOBS, *OWN_KNOBS]].astype(float)
    z = (z - z.mean()) / z.std(ddof=1).replace(0, np.nan)
    z = z.fillna(0.0)
    varied = [k for k in KNOBS if table[k].nunique() > 1]  # a constant knob cannot be fitted
    rows = []
    for rate, own in OWN_KNOBS.items():
        fit = smf.ols(f"{rate} ~ {' + '.join(varied) or '1'}", data=z).fit()
        beta = {k: float(fit.params[k]) if k in varied else np.nan for k in KNOBS}
        own_sum = np.nansum([abs(beta[k]) for k in own])
        other_sum = np.nansum([abs(beta[k]) for k in KNOBS if k not in own])
        for knob in KNOBS:
            rows.append(
                {
                    "rate": rate,
                    "knob": knob,
                    "claimed": knob in own,
                    "r": _pearson(table[rate], table[knob]),
                    "beta": beta[knob],
                    "p": float(fit.pvalues[knob]) if knob in varied else np.nan,
                    "cross_talk": other_sum / own_sum if own_sum else np.nan,
                    "r2": float(fit.rsquared),
                    "n_settings": len(table),
                }
            )
    return pd.DataFrame(rows)
