"""Server-drawn SVG charts (no JavaScript): target vs worked per week as
paired bars, and the running balance over the months as a line. Axes with
units, tick labels and a legend; every text goes through the caller's
translations."""

import math
from html import escape

from markupsafe import Markup

W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 44
TARGET, WORKED, LINE, NEG = "#9aa5b1", "#14213d", "#fca311", "#b3261e"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    out, v = [], start
    while v <= hi + step / 2:
        out.append(round(v, 6))
        v += step
    return out


def _frame(
    title: str, unit: str, ticks: list[float], y, labels: list[tuple[float, str]], legend: list
) -> list[str]:
    mid = TOP + (H - TOP - BOTTOM) / 2
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
            f'aria-label="{escape(title)}" class="chart" font-family="sans-serif" font-size="11">'
        ),
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="14" font-weight="600">{escape(title)}</text>',
        f'<text x="12" y="{mid}" transform="rotate(-90 12 {mid})" text-anchor="middle">{escape(unit)}</text>',
    ]
    for t in ticks:
        yy = y(t)
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#e3e6ea"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">{t:g}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#333"/>')
    base = y(0 if min(ticks) <= 0 <= max(ticks) else min(ticks))  # the x axis at 0 h
    parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{base:.1f}" y2="{base:.1f}" stroke="#333"/>')
    for x, label in labels:
        parts.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>')
    lx = LEFT
    for color, name in legend:
        parts.append(f'<rect x="{lx}" y="{H - 14}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{lx + 14}" y="{H - 5}">{escape(name)}</text>')
        lx += 24 + 7 * len(name)
    return parts


def weekly_bars(
    weeks: list[tuple[str, float, float]], title: str, unit: str, target_name: str, worked_name: str
) -> Markup:
    """weeks: (label, target hours, worked hours)."""
    hi = max([1.0] + [max(t, w) for _, t, w in weeks])
    ticks = _ticks(0, hi)
    top = max(ticks)

    def y(v):
        return TOP + (H - TOP - BOTTOM) * (1 - v / top)

    n = max(1, len(weeks))
    slot = (W - LEFT - RIGHT) / n
    bw = min(22, slot / 3)
    labels = [(LEFT + slot * (i + 0.5), lab) for i, (lab, _, _) in enumerate(weeks)]
    parts = _frame(title, unit, ticks, y, labels, [(TARGET, target_name), (WORKED, worked_name)])
    for i, (lab, t, w) in enumerate(weeks):
        cx = LEFT + slot * (i + 0.5)
        for dx, v, color, name in ((-bw, t, TARGET, target_name), (0, w, WORKED, worked_name)):
            parts.append(
                f'<rect x="{cx + dx:.1f}" y="{y(v):.1f}" width="{bw:.1f}" height="{y(0) - y(v):.1f}" '
                f'fill="{color}"><title>{escape(lab)} · {escape(name)}: {v:.2f} {escape(unit)}</title></rect>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def balance_line(points: list[tuple[str, float]], title: str, unit: str, name: str) -> Markup:
    """points: (month label, running balance in hours at its end)."""
    vals = [v for _, v in points] or [0.0]
    ticks = _ticks(min(0.0, min(vals)), max(1.0, max(vals)))
    lo, hi = min(ticks), max(ticks)

    def y(v):
        return TOP + (H - TOP - BOTTOM) * (1 - (v - lo) / (hi - lo))

    n = max(1, len(points))
    slot = (W - LEFT - RIGHT) / n
    labels = [(LEFT + slot * (i + 0.5), lab) for i, (lab, _) in enumerate(points)]
    parts = _frame(title, unit, ticks, y, labels, [(LINE, name)])
    coords = [(LEFT + slot * (i + 0.5), y(v)) for i, (_, v) in enumerate(points)]
    if coords:
        pts = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in coords)
        parts.append(f'<polyline fill="none" stroke="{LINE}" stroke-width="2" points="{pts}"/>')
    for (x, yy), (lab, v) in zip(coords, points, strict=False):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3.5" fill="{NEG if v < 0 else LINE}">'
            f"<title>{escape(lab)}: {v:+.2f} {escape(unit)}</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
