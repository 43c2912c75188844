"""Presentation rounding that cannot flip on float noise.

Math kernels (OpenBLAS's per-CPU code paths, numpy's SIMD loops) and summation order change
the last bits of a computed statistic from one machine to the next. Every number that is
printed or written to a results file goes through :func:`snap` first, so those bits never
reach an output: values within :data:`ZERO` of zero become 0, and every other value keeps
:data:`SIGNIFICANT` significant digits, far more than any statistic here supports and far
fewer than a double carries. A value typed in a notebook or a CSV is then the same on every
machine; only a true value lying within about 1e-10 (relative) of a rounding boundary of the
snapped precision could still differ, which exact inputs (counts, ratios of counts) never do.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

ZERO = 1e-12
"""Values closer to zero than this are float noise and are written as 0."""

SIGNIFICANT = 10
"""Significant digits a printed or saved value keeps before it is rounded for display."""

P_COLUMNS = ("p", "p_holm", "p_other", "p_welch")
"""Columns of p-values: tiny values are real there (1e-18 is a strong test, not noise), so
they keep their significant digits and are never zeroed."""


def snap(x: float, zero: float = ZERO) -> float:
    """``x`` without float noise: 0 within ``zero``, else :data:`SIGNIFICANT` significant
    digits (NaN and infinities pass through). Never returns -0.0."""
    if x is None:
        return math.nan
    x = float(x)
    if not math.isfinite(x):
        return x
    if abs(x) < zero:
        return 0.0
    return float(f"{x:.{SIGNIFICANT}g}") + 0.0


def snap_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose float columns went through :func:`snap` (p-value columns,
    :data:`P_COLUMNS`, without the zero tolerance)."""
    out = frame.copy()
    for col in out.select_dtypes("float").columns:
        zero = 0.0 if col in P_COLUMNS else ZERO
        values = out[col].to_numpy(dtype=float, copy=True)
        out[col] = np.fromiter((snap(v, zero) for v in values), float, len(values))
    return out
