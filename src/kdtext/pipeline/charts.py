"""Inline SVG pieces of kdtext's HTML pages (the run report, the sweep report): no external assets,
every chart scales with the page (a viewBox and width 100%)."""

from __future__ import annotations

import html
import math
from typing import Any


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering ``lo..hi``."""
    if not hi > lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks = []
    value = first
    while value < hi + step - 1e-9 * step:
        ticks.append(round(value, 10))
        value += step
    return ticks


def wrap(text: str, width: int) -> list[str]:
    """``text`` cut into lines of at most ``width`` characters at spaces (a longer word keeps its line)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def step_label(step: float, largest: float) -> str:
    """A step tick: thousands as "20k" when the axis reaches 10,000, so one axis uses one style."""
    return f"{step / 1000:g}k" if largest >= 10_000 and step else f"{step:,.0f}"


#: Inline SVG charts scale with the page: a viewBox and width 100% (capped by CSS).
SVG = '<svg viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="{label}">'


CURVE_COLOURS = {"baseline": "#54a24b", "distilled": "#e45756", "teacher": "#4c78a8"}


def curve_panel(
    name: str, curve: list[list[float]], lo: float, hi: float, y_ticks: list[float], training: dict[str, Any],
    *, title: str | None = None, unit: str = "step",
) -> str:
    """One model's dev score against its own training steps (students train for very
    different numbers of steps, so each gets its own step axis; the score axis is shared).

    ``training`` may hold ``best_step``, ``best_dev_score`` and ``stopped``; ``title``
    names the model (default "NAME student"); ``unit`` is what the x axis counts
    ("step", or "epoch" for the teacher)."""
    title = title or f"{name} student"
    width, height, left, right, top, bottom = 360, 220, 44, 22, 12, 40  # room for the last step label ("3,000")
    max_step = max(point[0] for point in curve) or 1
    # steps and epochs are whole numbers: no tick at 0.5 (a teacher of 2 epochs had ticks "0 0 1 2 2")
    x_ticks = [t for t in nice_ticks(0, max_step, 4) if t <= max_step * 1.0001 and float(t).is_integer()]
    x_max = max(max_step, x_ticks[-1])
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(step: float) -> float:
        return left + step / x_max * plot_w

    def y(score: float) -> float:
        return top + (hi - score) / (hi - lo) * plot_h

    colour = CURVE_COLOURS.get(name, "#888")
    parts = [SVG.format(w=width, h=height, label=f"{title}: dev score during training")]
    for tick in y_ticks:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end">{tick:g}</text>')
    for tick in x_ticks:
        parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="#999"/>')
        parts.append(f'<text x="{x(tick):.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle">{step_label(tick, x_ticks[-1])}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>')
    points = " ".join(f"{x(step):.1f},{y(score):.1f}" for step, score in curve)
    parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
    best_step, best = training.get("best_step"), training.get("best_dev_score")
    if isinstance(best_step, (int, float)) and isinstance(best, (int, float)) and lo <= best <= hi:
        parts.append(f'<circle cx="{x(min(best_step, x_max)):.1f}" cy="{y(best):.1f}" r="4" fill="{colour}"><title>best dev {best:.4f} at {unit} {best_step:,}</title></circle>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="12" text-anchor="middle">training {unit}</text>')
    parts.append("</svg>")
    caption = f'<span style="color:{colour}">&#9632;</span> {html.escape(title)}'
    if isinstance(best, (int, float)) and isinstance(best_step, (int, float)):
        caption += f": best dev {best:.3f} at {unit} {best_step:,} of {max_step:,.0f}"
        stopped = training.get("stopped")
        if stopped:
            caption += f" (stopped: {html.escape(str(stopped).replace('_', ' '))})"
    return f'<figure class=chart>{"".join(parts)}<figcaption class=legend>{caption}</figcaption></figure>'


def reliability_diagram(title: str, bins: list[dict[str, Any]], ece: float, colour: str = "#4c78a8") -> str:
    """Accuracy against confidence per bin (:func:`kdtext.metrics.calibration`), with the
    diagonal of perfect calibration; a bar's shade shows how many decisions its bin holds."""
    size, left, bottom, top, right = 220, 36, 34, 8, 8
    plot = size - left - right
    plot_h = size - top - bottom

    def x(value: float) -> float:
        return left + value * plot

    def y(value: float) -> float:
        return top + (1.0 - value) * plot_h

    total = sum(b["n"] for b in bins) or 1
    parts = [SVG.format(w=size, h=size, label=f"{title}: reliability diagram")]
    for tick in (0.0, 0.5, 1.0):
        parts.append(f'<line x1="{x(0):.1f}" x2="{x(1):.1f}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end">{tick:g}</text>')
        parts.append(f'<text x="{x(tick):.1f}" y="{top + plot_h + 14}" font-size="11" text-anchor="middle">{tick:g}</text>')
    for b in bins:
        if not b["n"]:
            continue
        shade = 0.25 + 0.75 * min(1.0, 5 * b["n"] / total)
        parts.append(
            f'<rect x="{x(b["low"]) + 0.5:.1f}" y="{y(b["accuracy"]):.1f}" width="{(b["high"] - b["low"]) * plot - 1:.1f}" '
            f'height="{y(0) - y(b["accuracy"]):.1f}" fill="{colour}" fill-opacity="{shade:.2f}">'
            f'<title>confidence {b["low"]:.2f}-{b["high"]:.2f}: {b["n"]:,} decisions, accuracy {b["accuracy"]:.3f}, '
            f'mean confidence {b["confidence"]:.3f}</title></rect>'
        )
    parts.append(f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(1):.1f}" y2="{y(1):.1f}" stroke="#555" stroke-dasharray="4 3"/>')
    parts.append(f'<line x1="{x(0):.1f}" x2="{x(1):.1f}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#999"/>')
    parts.append(f'<text x="{left + plot / 2:.1f}" y="{size - 4}" font-size="11" text-anchor="middle">confidence</text>')
    parts.append("</svg>")
    caption = f"{html.escape(title)}: ECE {ece:.3f}"
    return f'<figure class="chart small">{"".join(parts)}<figcaption class=legend>{caption}</figcaption></figure>'


#: Colours of a chart's series, in order (Tableau 10).
PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac", "#eeca3b")


def line_chart(
    title: str, x_labels: list[str], series: dict[str, list[tuple[float, float] | None]], references: dict[str, float] | None = None,
    *, x_label: str = "",
) -> str:
    """Lines over categorical x positions, each point a ``(mean, sd)`` (None: no point) with a
    band of plus or minus one sd; ``references`` are dashed horizontal lines (the teacher's score...)."""
    width, height, left, right, top, bottom = 420, 250, 46, 14, 14, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [m + d * k for points in series.values() for p in points if p for m, d in [p] for k in (-1, 1)]
    values += [v for v in (references or {}).values() if v is not None]
    if not values:
        return ""
    ticks = nice_ticks(min(values), max(values), 4)
    lo, hi = ticks[0], ticks[-1] if ticks[-1] > ticks[0] else ticks[0] + 0.01

    def x(i: int) -> float:
        return left + (i + 0.5) * plot_w / max(len(x_labels), 1)

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    parts = [SVG.format(w=width, h=height, label=html.escape(title))]
    for tick in ticks:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end">{tick:g}</text>')
    for i, label in enumerate(x_labels):
        parts.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle">{html.escape(label)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>')
    for k, (name, value) in enumerate((references or {}).items()):
        if value is None or not lo <= value <= hi:
            continue
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#777" stroke-dasharray="5 4"/>')
        parts.append(f'<text x="{width - right - 2}" y="{y(value) - 3:.1f}" font-size="10" fill="#555" text-anchor="end">{html.escape(name)} {value:.3f}</text>')
    legend = []
    for k, (name, points) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        shown = [(i, p) for i, p in enumerate(points) if p is not None]
        if not shown:
            continue
        upper = " ".join(f"{x(i):.1f},{y(m + d):.1f}" for i, (m, d) in shown)
        lower = " ".join(f"{x(i):.1f},{y(m - d):.1f}" for i, (m, d) in reversed(shown))
        if any(d > 0 for _, (_, d) in shown):
            parts.append(f'<polygon points="{upper} {lower}" fill="{colour}" fill-opacity="0.15" stroke="none"/>')
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(f"{x(i):.1f},{y(m):.1f}" for i, (m, _) in shown)}"/>')
        for i, (m, d) in shown:
            tip = f"{name}, {x_labels[i]}: {m:.4f}" + (f" &#177; {d:.4f}" if d else "")
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(m):.1f}" r="3.5" fill="{colour}"><title>{html.escape(tip)}</title></circle>')
        legend.append(f'<span style="color:{colour}">&#9632;</span> {html.escape(name)}')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="12" text-anchor="middle">{html.escape(x_label)}</text>')
    parts.append("</svg>")
    return f'<figure class=chart>{"".join(parts)}<figcaption class=legend>{html.escape(title)}: {" ".join(legend)}</figcaption></figure>'
