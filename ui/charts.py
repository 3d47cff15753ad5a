"""Server-side SVG charts: a stacked bar chart of counts per day, drawn as plain SVG markup
(no JavaScript, no library), with every label escaped."""
from __future__ import annotations

from datetime import date
from typing import Sequence

from markupsafe import Markup, escape

from ui.render import clean

# Colour-blind-safe palette (Okabe-Ito), then grey for everything past it ("other").
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
OTHER = "#999999"
MAX_SERIES = len(PALETTE)


def limit_series(series: dict[str, list[int]], keep: int = MAX_SERIES) -> dict[str, list[int]]:
    """The `keep - 1` largest series and the rest summed as "other" (when there are more)."""
    if len(series) <= keep:
        return series
    items = list(series.items())
    head, tail = items[: keep - 1], items[keep - 1:]
    other = [sum(v[i] for _, v in tail) for i in range(len(tail[0][1]))]
    return dict(head + [(f"other ({len(tail)})", other)])


def stacked_bars(days: Sequence[date], series: dict[str, list[int]], width: int = 880,
                 height: int = 260, title: str = "") -> Markup:
    """An accessible SVG: one bar per day, stacked by series, with axes and a legend."""
    series = limit_series(series)
    left, right, top, bottom = 40, 10, 10, 40
    legend_h = 22 * ((len(series) + 3) // 4)
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(v[i] for v in series.values()) for i in range(len(days))]
    peak = max(totals, default=0) or 1
    step = _nice_step(peak)
    ymax = step * -(-peak // step)
    bar_w = plot_w / max(len(days), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'viewBox="0 0 {width} {height + legend_h}" width="100%">',
             f"<title>{escape(clean(title, 200))}</title>"]
    for y in range(0, ymax + 1, step):  # grid and y labels
        py = top + plot_h - plot_h * y / ymax
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{py:.1f}" y2="{py:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end" class="tick">{y}</text>')
    colours = {name: (PALETTE[i] if i < len(PALETTE) and not name.startswith("other (") else OTHER)
               for i, name in enumerate(series)}
    label_every = max(1, len(days) // 12)
    for i, day in enumerate(days):
        x = left + i * bar_w
        base = 0
        for name, values in series.items():
            n = values[i]
            if not n:
                continue
            h = plot_h * n / ymax
            y = top + plot_h - plot_h * (base + n) / ymax
            parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" '
                         f'height="{h:.1f}" fill="{colours[name]}"><title>{day.isoformat()} '
                         f'{escape(clean(name, 80))}: {n}</title></rect>')
            base += n
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                         f'class="tick">{day:%m-%d}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" class="axis"/>')
    for j, name in enumerate(series):  # legend, four per row
        lx, ly = left + (j % 4) * (plot_w / 4), height + 22 * (j // 4)
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 10}" width="12" height="12" fill="{colours[name]}"/>')
        parts.append(f'<text x="{lx + 18:.1f}" y="{ly}" class="legend">{escape(clean(name, 40))} '
                     f"({sum(series[name])})</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice_step(peak: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if peak / step <= 6:
            return step
    return 10 ** len(str(peak))
