"""The run report: ``report.json`` for machines, ``report.html`` and a terminal table for people."""

from __future__ import annotations

import html
import math
from typing import Any

MODELS = (("baseline", "Baseline student"), ("teacher", "Teacher"), ("distilled", "Distilled student"))


def gap_recovered(results: dict[str, dict[str, Any]], metric: str = "accuracy") -> float | None:
    """(distilled - baseline) / (teacher - baseline); None when the teacher is no better."""
    try:
        base, teacher, distilled = (results[m][metric] for m in ("baseline", "teacher", "distilled"))
    except KeyError:
        return None
    if teacher - base <= 1e-9:
        return None
    return (distilled - base) / (teacher - base)


def error_reduction(results: dict[str, dict[str, Any]], metric: str = "accuracy") -> float | None:
    """Share of the baseline's errors that distillation removed."""
    try:
        base, distilled = results["baseline"][metric], results["distilled"][metric]
    except KeyError:
        return None
    if base >= 1.0:
        return None
    return (distilled - base) / (1.0 - base)


def human_bytes(n: float | None) -> str:
    """Decimal units (1 MB = 10^6 bytes), as in ``kdtext evaluate`` and benchmarks/RESULTS.md."""
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _pct(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def table_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = [["model", "accuracy", "macro-F1", "size", "docs/s"]]
    for key, title in MODELS:
        r = results.get(key)
        if not r:
            continue
        rows.append(
            [
                title,
                f"{r['accuracy']:.4f}",
                f"{r['macro_f1']:.4f}",
                human_bytes(r.get("size_bytes")),
                f"{r['docs_per_second']:,.0f}" if r.get("docs_per_second") else "-",
            ]
        )
    return rows


def terminal_table(report: dict[str, Any]) -> str:
    results = report["results"]
    rows = table_rows(results)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    gap = results.get("gap_recovered")
    lines.append("")
    lines.append(f"gap recovered by distillation: {_pct(gap)} of the teacher-baseline accuracy gap")
    reduction = error_reduction(results)
    if reduction is not None:
        lines.append(f"error reduction over the baseline: {_pct(reduction)}")
    return "\n".join(lines)


def _bar_chart(results: dict[str, dict[str, Any]]) -> str:
    """An inline SVG of accuracy and macro-F1 per model."""
    bars = [(title, results[key]) for key, title in MODELS if key in results]
    width, height, left, bottom = 520, 220, 40, 30
    group = (width - left) / max(len(bars), 1)
    colours = {"accuracy": "#4c78a8", "macro_f1": "#f58518"}
    parts = [f'<svg viewBox="0 0 {width} {height + bottom}" width="{width}" role="img" aria-label="accuracy and macro-F1 per model">']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = height - tick * (height - 10)
        parts.append(f'<line x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{tick:.2f}</text>')
    for i, (title, r) in enumerate(bars):
        for j, metric in enumerate(("accuracy", "macro_f1")):
            value = float(r.get(metric, 0.0))
            bar_h = value * (height - 10)
            x = left + i * group + 14 + j * (group - 28) / 2
            w = (group - 28) / 2 - 4
            parts.append(
                f'<rect x="{x:.1f}" y="{height - bar_h:.1f}" width="{w:.1f}" height="{bar_h:.1f}" fill="{colours[metric]}">'
                f"<title>{html.escape(title)} {metric}: {value:.4f}</title></rect>"
            )
            parts.append(f'<text x="{x + w / 2:.1f}" y="{height - bar_h - 3:.1f}" font-size="10" text-anchor="middle">{value:.3f}</text>')
        parts.append(f'<text x="{left + i * group + group / 2:.1f}" y="{height + 18}" font-size="12" text-anchor="middle">{html.escape(title)}</text>')
    parts.append("</svg>")
    legend = " ".join(f'<span style="color:{c}">&#9632;</span> {m.replace("_", "-")}' for m, c in colours.items())
    return "".join(parts) + f"<p class=legend>{legend}</p>"


def _learning_curve(curves: dict[str, list[list[float]]]) -> str:
    """Dev score against training step for each student, as inline SVG."""
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return ""
    width, height, left = 520, 200, 40
    max_step = max(point[0] for curve in curves.values() for point in curve) or 1
    scores = [point[1] for curve in curves.values() for point in curve]
    lo, hi = min(scores), max(scores)
    lo, hi = (lo - 0.01, hi + 0.01) if hi - lo < 0.02 else (lo, hi)
    colours = {"baseline": "#54a24b", "distilled": "#e45756"}
    parts = [f'<svg viewBox="0 0 {width} {height + 30}" width="{width}" role="img" aria-label="dev score during training">']
    for tick in range(5):
        value = lo + (hi - lo) * tick / 4
        y = height - (value - lo) / (hi - lo) * (height - 10)
        parts.append(f'<line x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{value:.3f}</text>')
    for name, curve in curves.items():
        points = " ".join(
            f"{left + (step / max_step) * (width - left - 10):.1f},{height - (score - lo) / (hi - lo) * (height - 10):.1f}"
            for step, score in curve
        )
        parts.append(f'<polyline fill="none" stroke="{colours.get(name, "#888")}" stroke-width="2" points="{points}"/>')
    parts.append(f'<text x="{width / 2}" y="{height + 24}" font-size="11" text-anchor="middle">training step (max {max_step:,})</text>')
    parts.append("</svg>")
    legend = " ".join(f'<span style="color:{colours.get(n, "#888")}">&#9632;</span> {n}' for n in curves)
    return "".join(parts) + f"<p class=legend>{legend} (dev score)</p>"


def _confusion(title: str, result: dict[str, Any]) -> str:
    confusion = result.get("confusion_matrix")
    if not confusion:
        return ""
    labels = confusion["labels"]
    matrix = confusion["matrix"]
    peak = max((max(row) for row in matrix), default=1) or 1
    head = "".join(f"<th>{html.escape(str(label))}</th>" for label in labels)
    body = []
    for label, row in zip(labels, matrix):
        cells = "".join(
            f'<td style="background:rgba(76,120,168,{0.1 + 0.8 * v / peak:.2f})">{v}</td>' for v in row
        )
        body.append(f"<tr><th>{html.escape(str(label))}</th>{cells}</tr>")
    return (
        f"<figure><figcaption>{html.escape(title)}</figcaption><table class=cm>"
        f"<tr><th>gold \\ predicted</th>{head}</tr>{''.join(body)}</table></figure>"
    )


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{padding:.35em .8em;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}.big{font-size:1.4em}.legend{font-size:.85em;color:#555}
figure{display:inline-block;margin:0 1.5em 1em 0;vertical-align:top}table.cm td{text-align:center;min-width:3em}
code{background:#f4f4f4;padding:.1em .3em}details{margin:1em 0}
"""


def html_report(report: dict[str, Any]) -> str:
    """A self-contained HTML page (no external assets) for a run's report."""
    results = report["results"]
    rows = table_rows(results)
    table = "<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in rows[0]) + "</tr>"
    for row in rows[1:]:
        table += "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
    table += "</table>"
    gap = results.get("gap_recovered")
    reduction = error_reduction(results)
    headline = f"<p class=big>Distillation recovered <b>{_pct(gap)}</b> of the teacher-baseline accuracy gap"
    if reduction is not None:
        headline += f" and removed <b>{_pct(reduction)}</b> of the baseline's errors"
    headline += ".</p>"
    speed = ""
    t, d = results.get("teacher", {}), results.get("distilled", {})
    if t.get("docs_per_second") and d.get("docs_per_second") and t.get("size_bytes") and d.get("size_bytes"):
        speed = (
            f"<p>The distilled student is <b>{d['docs_per_second'] / t['docs_per_second']:.0f}&times;</b> faster "
            f"than the teacher and <b>{t['size_bytes'] / d['size_bytes']:.0f}&times;</b> smaller on disk.</p>"
        )
    stages = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{s['seconds']:.1f} s</td></tr>" for name, s in report.get("stages", {}).items()
    )
    confusions = "".join(_confusion(title, results[key]) for key, title in MODELS if key in results)
    config = html.escape(_json(report.get("config", {})))
    versions = html.escape(_json(report.get("versions", {})))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>kdtext run report</title><style>{STYLE}</style></head>
<body>
<h1>kdtext run report</h1>
<p>Task: {html.escape(str(report.get('task', '')))} &middot; labels: {html.escape(', '.join(report.get('labels', [])))}
&middot; test examples: {report.get('n_test', '-')} &middot; transfer examples: {report.get('n_transfer', '-')}</p>
{headline}{speed}
<h2>Test results</h2>{table}
{_bar_chart(results)}
<h2>Training</h2>{_learning_curve(report.get('curves', {}))}
<h2>Confusion matrices (test)</h2>{confusions}
<h2>Time per stage</h2><table><tr><th>stage</th><th>time</th></tr>{stages}</table>
<details><summary>Settings</summary><pre>{config}</pre></details>
<details><summary>Versions</summary><pre>{versions}</pre></details>
</body></html>
"""


def _json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
