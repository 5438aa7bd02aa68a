"""Tiny SVG charts for the offline HTML report: time series with bands, step lines, scatter, heatmap.

No JavaScript library and no network: every chart is a string of SVG the browser draws as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape

import numpy as np

WIDTH, HEIGHT = 900, 280
PAD = {"left": 60, "right": 20, "top": 20, "bottom": 40}
PALETTE = {"actual": "#222", "forecast": "#1f6fd1", "band80": "#1f6fd155", "band95": "#1f6fd122",
           "plan": "#d1731f", "threshold": "#c0392b", "history": "#555"}
LEVEL_COLOURS = {"very_high": "#c0392b", "high": "#f0a030", "normal": "#d9ead3", "underutilised": "#9fc5e8",
                 None: "#eee"}


@dataclass
class Chart:
    """A time chart: lines, step lines, bands and horizontal rules on shared axes."""

    title: str
    y_label: str
    lines: list[tuple[str, np.ndarray, np.ndarray, str, bool]] = field(default_factory=list)
    bands: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = field(default_factory=list)
    rules: list[tuple[float, str]] = field(default_factory=list)

    def line(self, name: str, x: np.ndarray, y: np.ndarray, colour: str, step: bool = False) -> Chart:
        self.lines.append((name, _times(x), np.asarray(y, dtype=np.float64), colour, step))
        return self

    def band(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, colour: str) -> Chart:
        self.bands.append((_times(x), np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64), colour))
        return self

    def rule(self, y: float, label: str) -> Chart:
        self.rules.append((y, label))
        return self

    def svg(self) -> str:
        xs = [x for _, x, *_ in self.lines] + [b[0] for b in self.bands]
        ys = [y for _, _, y, *_ in self.lines] + [b[1] for b in self.bands] + [b[2] for b in self.bands]
        x0, x1 = min(float(x.min()) for x in xs if x.size), max(float(x.max()) for x in xs if x.size)
        y_max = max([float(np.nanmax(y)) for y in ys if np.isfinite(y).any()] + [r for r, _ in self.rules] + [1e-9])
        sx, sy = _scale(x0, x1, PAD["left"], WIDTH - PAD["right"]), _scale(0, y_max * 1.08, HEIGHT - PAD["bottom"],
                                                                           PAD["top"])
        parts = [_axes(x0, x1, y_max * 1.08, sx, sy, self.y_label)]
        for x, lo, hi, colour in self.bands:
            ok = np.isfinite(lo) & np.isfinite(hi)
            pts = [f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x[ok], hi[ok], strict=True)]
            pts += [f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x[ok][::-1], lo[ok][::-1], strict=True)]
            parts.append(f'<polygon class="band" points="{" ".join(pts)}" fill="{colour}" stroke="none"/>')
        for name, x, y, colour, step in self.lines:
            parts.append(f'<path class="series" d="{_path(x, y, sx, sy, step)}" fill="none" stroke="{colour}" '
                         f'stroke-width="1.4"><title>{escape(name)}</title></path>')
        for y, label in self.rules:
            parts.append(f'<line x1="{PAD["left"]}" x2="{WIDTH - PAD["right"]}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" '
                         f'stroke="{PALETTE["threshold"]}" stroke-dasharray="4 3"/>'
                         f'<text x="{WIDTH - PAD["right"] - 4}" y="{sy(y) - 4:.1f}" text-anchor="end" class="note">'
                         f'{escape(label)}</text>')
        legend = "".join(f'<tspan fill="{c}">■ {escape(n)}</tspan> ' for n, _, _, c, _ in self.lines)
        parts.append(f'<text x="{PAD["left"]}" y="14" class="legend">{legend}</text>')
        return _frame(self.title, "".join(parts))


def scatter(title: str, points: list[tuple[str, float, float, str]], x_label: str, y_label: str) -> str:
    """Labelled points ``(label, x, y, colour)``; axes from zero."""
    x_max = max([p[1] for p in points] + [1e-9]) * 1.15
    y_max = max([p[2] for p in points] + [1e-9]) * 1.2
    sx, sy = _scale(0, x_max, PAD["left"], WIDTH - PAD["right"]), _scale(0, y_max, HEIGHT - PAD["bottom"], PAD["top"])
    parts = [_value_axes(x_max, y_max, sx, sy, x_label, y_label)]
    for label, x, y, colour in points:
        parts.append(f'<circle class="point" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="6" fill="{colour}">'
                     f'<title>{escape(label)}: {x:.1f}, {y:.3f}</title></circle>'
                     f'<text x="{sx(x) + 9:.1f}" y="{sy(y) + 4:.1f}" class="note">{escape(label)}</text>')
    return _frame(title, "".join(parts))


def heatmap(title: str, rows: list[str], columns: list[str], cells: dict[tuple[str, str], tuple[str | None, str]]
            ) -> str:
    """Coloured cells by risk level; ``cells[(row, column)] = (level, tooltip)``."""
    cw, ch, left, top = 90, 18, 140, 40
    width, height = left + cw * len(columns) + 20, top + ch * len(rows) + 10
    parts = [f'<text x="{left + cw * i + cw / 2}" y="{top - 8}" text-anchor="middle" class="note">{escape(c)}</text>'
             for i, c in enumerate(columns)]
    for j, r in enumerate(rows):
        parts.append(f'<text x="{left - 6}" y="{top + ch * j + 13}" text-anchor="end" class="note">{escape(r)}</text>')
        for i, c in enumerate(columns):
            level, tip = cells.get((r, c), (None, "no data"))
            parts.append(f'<rect class="cell" x="{left + cw * i}" y="{top + ch * j}" width="{cw - 2}" '
                         f'height="{ch - 2}" fill="{LEVEL_COLOURS.get(level, "#eee")}"><title>{escape(r)} '
                         f'{escape(c)}: {escape(tip)}</title></rect>')
    key = " ".join(f'<tspan fill="{LEVEL_COLOURS[k]}">■</tspan> {k}' for k in ("very_high", "high", "normal",
                                                                                "underutilised"))
    parts.append(f'<text x="{left}" y="14" class="legend">{key}</text>')
    return (f'<figure class="view"><figcaption>{escape(title)}</figcaption><svg class="chart" viewBox="0 0 {width} '
            f'{height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
            "</figure>")


def _frame(title: str, body: str) -> str:
    return (f'<figure class="view"><figcaption>{escape(title)}</figcaption><svg class="chart" viewBox="0 0 {WIDTH} '
            f'{HEIGHT}" xmlns="http://www.w3.org/2000/svg">{body}</svg></figure>')


def _times(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.datetime64):
        return x.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    if x.dtype == object:
        return np.array([v.timestamp() if isinstance(v, datetime) else float(v) for v in x])
    return x.astype(np.float64)


def _scale(d0: float, d1: float, r0: float, r1: float):
    span = (d1 - d0) or 1.0
    return lambda v: r0 + (v - d0) / span * (r1 - r0)


def _path(x: np.ndarray, y: np.ndarray, sx, sy, step: bool) -> str:
    """Polyline with breaks at gaps (NaN): missing data is drawn as missing, never as zero."""
    out, pen_down, prev = [], False, None
    for a, b in zip(x, y, strict=True):
        if not np.isfinite(b):
            pen_down = False
            continue
        if step and pen_down and prev is not None:
            out.append(f"L{sx(a):.1f},{sy(prev):.1f}")
        out.append(f"{'L' if pen_down else 'M'}{sx(a):.1f},{sy(b):.1f}")
        pen_down, prev = True, b
    return "".join(out) or "M0,0"


def _axes(x0: float, x1: float, y_max: float, sx, sy, y_label: str) -> str:
    parts = [_y_ticks(y_max, sy, y_label)]
    for t in np.linspace(x0, x1, 6):
        label = datetime.utcfromtimestamp(t).strftime("%b %d %H:%M" if x1 - x0 < 5 * 86400 else "%Y-%m-%d")
        parts.append(f'<text x="{sx(t):.1f}" y="{HEIGHT - PAD["bottom"] + 16}" text-anchor="middle" class="tick">'
                     f'{label}</text>')
    return "".join(parts)


def _value_axes(x_max: float, y_max: float, sx, sy, x_label: str, y_label: str) -> str:
    parts = [_y_ticks(y_max, sy, y_label)]
    for t in np.linspace(0, x_max, 6):
        parts.append(f'<text x="{sx(t):.1f}" y="{HEIGHT - PAD["bottom"] + 16}" text-anchor="middle" class="tick">'
                     f'{t:.3g}</text>')
    parts.append(f'<text x="{(PAD["left"] + WIDTH) / 2}" y="{HEIGHT - 6}" text-anchor="middle" class="note">'
                 f'{escape(x_label)}</text>')
    return "".join(parts)


def _y_ticks(y_max: float, sy, label: str) -> str:
    parts = [f'<line x1="{PAD["left"]}" x2="{PAD["left"]}" y1="{PAD["top"]}" y2="{HEIGHT - PAD["bottom"]}" '
             f'stroke="#999"/><line x1="{PAD["left"]}" x2="{WIDTH - PAD["right"]}" y1="{HEIGHT - PAD["bottom"]}" '
             f'y2="{HEIGHT - PAD["bottom"]}" stroke="#999"/>']
    for t in np.linspace(0, y_max, 5):
        parts.append(f'<text x="{PAD["left"] - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" class="tick">{t:.3g}</text>'
                     f'<line x1="{PAD["left"]}" x2="{WIDTH - PAD["right"]}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" '
                     'stroke="#eee"/>')
    middle = (PAD["top"] + HEIGHT - PAD["bottom"]) / 2
    parts.append(f'<text x="14" y="{middle}" transform="rotate(-90 14 {middle})" text-anchor="middle" '
                 f'class="note">{escape(label)}</text>')
    return "".join(parts)
