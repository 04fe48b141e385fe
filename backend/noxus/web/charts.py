"""Small server-drawn SVG line charts with axes, units and time labels (no JavaScript, no canvas):
what a person can read without hovering. `line_chart()` returns the geometry; the Jinja macro
`charts.html:line_chart` draws it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass
class Chart:
    width: int
    height: int
    left: int  # room for the y labels
    bottom: int  # room for the x labels
    points: str  # SVG polyline points
    y_top: str
    y_bottom: str
    x_start: str
    x_end: str
    title: str


def line_chart(
    series: list[tuple[datetime, float]],
    *,
    title: str,
    y_max: float | None = None,
    y_label: Callable[[float], str] = str,
    x_label: Callable[[datetime], str] = str,
    width: int = 180,
    height: int = 56,
) -> Chart | None:
    """A chart of (time, value) points from 0 to y_max (the series' maximum when None)."""
    if len(series) < 2:
        return None
    left, bottom, top_pad = 34, 14, 4
    w, h = width - left - 2, height - bottom - top_pad
    t0, t1 = series[0][0].timestamp(), series[-1][0].timestamp()
    top = y_max if y_max is not None else (max(v for _, v in series) or 1.0)
    span_t = (t1 - t0) or 1.0
    pts = " ".join(
        f"{left + (t.timestamp() - t0) / span_t * w:.1f},{top_pad + h - min(v, top) / top * h:.1f}"
        for t, v in series
    )
    return Chart(
        width,
        height,
        left,
        bottom,
        pts,
        y_label(top),
        y_label(0),
        x_label(series[0][0]),
        x_label(series[-1][0]),
        title,
    )
