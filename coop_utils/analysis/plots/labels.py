"""Point labels placed so that they overlap neither each other, the points nor the edge
(a label that fits nowhere inside is moved in, with a leader line, never cut by the edge)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.transforms import Bbox

_OFFSETS = (
    (7, 5, "left", "bottom"),
    (7, -5, "left", "top"),
    (-7, 5, "right", "bottom"),
    (-7, -5, "right", "top"),
    (0, 9, "center", "bottom"),
    (0, -9, "center", "top"),
    (10, 0, "left", "center"),
    (-10, 0, "right", "center"),
    (16, 16, "left", "bottom"),
    (-16, -16, "right", "top"),
    (16, -16, "left", "top"),
    (-16, 16, "right", "bottom"),
    (0, 22, "center", "bottom"),
    (0, -22, "center", "top"),
)


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _inside(box: Bbox, frame: Bbox) -> np.ndarray:
    """The shift (display units) that brings ``box`` inside ``frame`` (none if it is)."""
    dx = max(frame.x0 - box.x0, 0.0) - max(box.x1 - frame.x1, 0.0)
    dy = max(frame.y0 - box.y0, 0.0) - max(box.y1 - frame.y1, 0.0)
    return np.array([dx, dy])


def place_labels(
    ax: Axes,
    xs: Sequence[float],
    ys: Sequence[float],
    texts: Sequence[str],
    colors: Sequence,
    obstacles: list[Bbox] | None = None,
    **text_kw,
) -> list[Bbox]:
    """Label points without overlapping each other, the points, or the axes' edge.

    Each label tries a ring of offsets around its point and keeps the first that collides
    with nothing already placed (else the least colliding, with a leader line). Returns the
    occupied boxes (display units) so several calls can share them via ``obstacles``.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    pts = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.empty((0, 2))
    taken = list(obstacles or []) + [Bbox.from_extents(x - 6, y - 6, x + 6, y + 6) for x, y in pts]
    kw = {"fontsize": 9, **text_kw}
    for x, y, text, color in zip(xs, ys, texts, colors):
        best, best_score = _OFFSETS[0], math.inf
        for offset in _OFFSETS:
            dx, dy, ha, va = offset
            t = ax.annotate(
                text,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                color=color,
                **kw,
            )
            box = t.get_window_extent(renderer).padded(2)
            t.remove()
            outside = box.width * box.height - _overlap(box, frame)
            score = sum(_overlap(box, o) for o in taken) + 10 * outside
            if score < best_score:
                best, best_score, best_box = offset, score, box
            if score == 0:
                break
        dx, dy, ha, va = best
        shift = _inside(best_box, frame)  # the best place may still cross the edge: move in
        best_box = Bbox(best_box.get_points() + shift)
        dx, dy = dx + shift[0] * 72 / fig.dpi, dy + shift[1] * 72 / fig.dpi
        leader = dict(arrowstyle="-", color="0.6", lw=0.6) if abs(dx) + abs(dy) > 20 else None
        ax.annotate(
            text,
            (x, y),
            xytext=(dx, dy),
            textcoords="offset points",
            ha=ha,
            va=va,
            color=color,
            arrowprops=leader,
            **kw,
        )
        taken.append(best_box)
    return taken
