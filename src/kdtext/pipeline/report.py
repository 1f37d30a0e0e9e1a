"""The run report: ``report.json`` for machines, ``report.html`` and a terminal table for people."""

from __future__ import annotations

import html
import math
from typing import Any, Callable

from .charts import SVG, curve_panel, nice_ticks, wrap
from .report_trust import calibration_html, paired_html, paired_lines, per_class_html, reference_verdict, speed_html

MODELS = (
    ("baseline", "Baseline student"),
    ("teacher", "Teacher"),
    ("distilled", "Distilled student"),
    ("reference", "Reference: TF-IDF + LR, gold only"),
)


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


def model_results(results: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(key, title, figures)`` of every model in ``results``, in its order.

    A model is any entry whose value is a dict with an ``accuracy`` (``gap_recovered``
    and other summary figures are not); a key without a title in :data:`MODELS` is
    shown as itself ("reference" -> "Reference"), so a new row needs no change here.
    """
    titles = dict(MODELS)
    return [
        (key, titles.get(key, key.replace("_", " ").capitalize()), value)
        for key, value in results.items()
        if isinstance(value, dict) and "accuracy" in value
    ]


def table_rows(results: dict[str, Any]) -> list[list[str]]:
    """The results table: accuracy with its 95% interval, macro-F1, calibration, agreement with the teacher, size, speed."""
    rows = [["model", "accuracy", "95% interval", "macro-F1", "ECE", "agrees", "size", "docs/s"]]
    for _, title, r in model_results(results):
        ci = r.get("accuracy_ci")
        rows.append(
            [
                title,
                f"{r['accuracy']:.4f}",
                f"{ci[0]:.3f}-{ci[1]:.3f}" if ci else "-",
                f"{r['macro_f1']:.4f}" if r.get("macro_f1") is not None else "-",
                f"{r['ece']:.3f}" if r.get("ece") is not None else "-",
                _pct(r.get("agreement_with_teacher")),
                human_bytes(r.get("size_bytes")),
                f"{r['docs_per_second']:,.0f}" if r.get("docs_per_second") else "-",
            ]
        )
    return rows


#: What the columns of :func:`table_rows` mean, under the table.
TABLE_NOTE = (
    "accuracy and macro-F1 on the test split; 95% interval: Wilson's, of the accuracy; ECE: expected calibration error "
    "(15 bins, 0 = confidence matches accuracy); agrees: share of test examples on which the model predicts what the "
    "teacher predicts; docs/s: see how speed was measured"
)


def text_table(rows: list[list[str]], left: int = 1) -> list[str]:
    """``rows`` (the first one the header) as aligned lines for a terminal: the first ``left``
    columns flush left, the others (figures) flush right, a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) for c, w in zip(row[:left], widths)] + [c.rjust(w) for c, w in zip(row[left:], widths[left:])]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def html_table(rows: list[list[str]], row_class: Callable[[list[str]], str] | None = None) -> str:
    """``rows`` (the first one the header) as an HTML table that scrolls sideways on a narrow
    screen; ``row_class(row)`` may give a body row a class."""
    table = "<div class=scroll><table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in rows[0]) + "</tr>"
    for row in rows[1:]:
        name = row_class(row) if row_class else ""
        table += (f"<tr class={name}>" if name else "<tr>") + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
    return table + "</table></div>"


def terminal_table(report: dict[str, Any]) -> str:
    results = report["results"]
    lines = text_table(table_rows(results))
    gap = results.get("gap_recovered")
    lines.append("")
    lines.append(f"gap recovered by distillation: {_pct(gap)} of the teacher-baseline accuracy gap")
    reduction = error_reduction(results)
    if reduction is not None:
        lines.append(f"error reduction over the baseline: {_pct(reduction)}")
    titles = {key: title for key, title, _ in model_results(results)}
    lines.extend(paired_lines(results, titles, leave_out=("reference",)))  # the reference's has its own line below
    verdict = reference_verdict(results)
    if verdict:
        lines.append(verdict)
    return "\n".join(lines)


def _bar_chart(results: dict[str, Any]) -> str:
    """An inline SVG of accuracy and macro-F1 per model."""
    bars = [(title, r) for _, title, r in model_results(results)]
    label_lines = [wrap(title, 16) for title, _ in bars]
    left, group, height = 40, 140, 220
    bottom = 14 + 18 * max((len(lines) for lines in label_lines), default=1)
    width = left + group * max(len(bars), 1)
    colours = {"accuracy": "#4c78a8", "macro_f1": "#f58518"}
    parts = [SVG.format(w=width, h=height + bottom, label="accuracy and macro-F1 per model")]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = height - tick * (height - 10)
        parts.append(f'<line x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="12" text-anchor="end">{tick:.2f}</text>')
    for i, (title, r) in enumerate(bars):
        for j, metric in enumerate(("accuracy", "macro_f1")):
            value = float(r.get(metric) or 0.0)
            bar_h = value * (height - 10)
            x = left + i * group + 14 + j * (group - 28) / 2
            w = (group - 28) / 2 - 4
            parts.append(
                f'<rect x="{x:.1f}" y="{height - bar_h:.1f}" width="{w:.1f}" height="{bar_h:.1f}" fill="{colours[metric]}">'
                f"<title>{html.escape(title)} {metric}: {value:.4f}</title></rect>"
            )
            parts.append(f'<text x="{x + w / 2:.1f}" y="{height - bar_h - 3:.1f}" font-size="13" text-anchor="middle">{value:.3f}</text>')
        centre = left + i * group + group / 2
        spans = "".join(f'<tspan x="{centre:.1f}" dy="{0 if k == 0 else 18}">{html.escape(line)}</tspan>' for k, line in enumerate(label_lines[i]))
        parts.append(f'<text x="{centre:.1f}" y="{height + 22}" font-size="15" text-anchor="middle">{spans}</text>')
    parts.append("</svg>")
    legend = " ".join(f'<span style="color:{c}">&#9632;</span> {m.replace("_", "-")}' for m, c in colours.items())
    return f'<figure class=chart>{"".join(parts)}<figcaption class=legend>{legend} on the test set</figcaption></figure>'


def _learning_curve(
    curves: dict[str, list[list[float]]], training: dict[str, Any] | None = None, results: dict[str, Any] | None = None,
    teacher: dict[str, Any] | None = None,
) -> str:
    """Dev score against training step for each student (and against epochs for the
    teacher, from its figures), as inline SVG panels, with a caption that says why the
    dev peak is not the test figure."""
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return ""
    training = dict(training or {})
    if "teacher" in curves and teacher:
        stopped = "patience" if teacher.get("epochs_run", 0) < (teacher.get("epochs") or 0) else None
        training["teacher"] = {"best_step": teacher.get("best_epoch"), "best_dev_score": teacher.get("dev_metric"), "stopped": stopped}
    scores = [point[1] for curve in curves.values() for point in curve]
    y_ticks = nice_ticks(min(scores), max(scores), 4)
    lo, hi = y_ticks[0], y_ticks[-1]
    if hi - lo < 1e-9:
        lo, hi = lo - 0.01, hi + 0.01
    panels = "".join(
        curve_panel(name, curve, lo, hi, y_ticks, training.get(name, {}), **({"title": "teacher", "unit": "epoch"} if name == "teacher" else {}))
        for name, curve in curves.items()
    )
    metric = next((t.get("dev_metric") for t in training.values() if isinstance(t, dict) and t.get("dev_metric")), "score")
    note = (
        f"The dev {html.escape(str(metric).replace('_', '-'))} is measured on the dev split while training (the teacher once an "
        "epoch, the students at least once an epoch); each model keeps its weights from its best dev point (the dot), so "
        "training may stop early. The test figures above are on the separate test split, which no model saw, and differ "
        "from the dev peak by chance: "
    )
    pairs = []
    for name in curves:
        t, r = training.get(name, {}), (results or {}).get(name, {})
        test_metric = metric if isinstance(r.get(metric), (int, float)) else "accuracy"
        if isinstance(t.get("best_dev_score"), (int, float)) and isinstance(r.get(test_metric), (int, float)):
            pairs.append(
                f"{html.escape(name)}: best dev {t['best_dev_score']:.3f}, test {html.escape(test_metric.replace('_', '-'))} {r[test_metric]:.3f}"
            )
    note += "; ".join(pairs) + "." if pairs else "the two splits hold different examples."
    return f'<div class=charts>{panels}</div><p class=note>{note}</p>'


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
        f"<figure><figcaption>{html.escape(title)}</figcaption><div class=scroll><table class=cm>"
        f"<tr><th>gold \\ predicted</th>{head}</tr>{''.join(body)}</table></div></figure>"
    )


STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.35em .7em;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}.big{font-size:1.3em}.legend,.note{font-size:.9em;color:#555}
figure{margin:0 0 1em 0}figure.chart{max-width:560px}figure.chart svg{display:block;width:100%;height:auto}
.charts{display:flex;flex-wrap:wrap;gap:1em 2em}.charts figure.chart{flex:1 1 300px}
.matrices{display:flex;flex-wrap:wrap;gap:0 2em}table.cm td{text-align:center;min-width:3em}
.charts figure.small{flex:1 1 160px;max-width:240px}th.group{text-align:center;border-bottom:1px solid #bbb;white-space:normal}ul.tests li{margin:.3em 0}
code{background:#f4f4f4;padding:.1em .3em}details{margin:1em 0}pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85em}
@media (max-width:520px){body{padding:0 .6em}table{font-size:.9em}th,td{padding:.3em .4em}td:first-child{white-space:normal}}
"""


def html_report(report: dict[str, Any]) -> str:
    """A self-contained HTML page (no external assets) for a run's report; it reads on
    a phone (the tables scroll sideways, the charts scale) and on a wide screen."""
    results = report["results"]
    table = html_table(table_rows(results))
    gap = results.get("gap_recovered")
    reduction = error_reduction(results)
    if gap is None:  # the teacher is no better than the baseline on test: there is no gap to speak of
        headline = "<p class=big>The teacher is no more accurate than the baseline student on test, so there is no gap for distillation to recover"
    else:
        headline = f"<p class=big>Distillation recovered <b>{_pct(gap)}</b> of the teacher-baseline accuracy gap"
        if reduction is not None:
            headline += f" and removed <b>{_pct(reduction)}</b> of the baseline's errors"
    headline += ".</p>"
    verdict = reference_verdict(results)
    if verdict:
        headline += f"<p>{html.escape(verdict[0].upper() + verdict[1:])}.</p>"
    speed = speed_html(results, report.get("speed"))
    titles = {key: title for key, title, _ in model_results(results)}
    stages = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{s['seconds']:.1f} s</td></tr>" for name, s in report.get("stages", {}).items()
    )
    confusions = "".join(_confusion(title, r) for _, title, r in model_results(results))
    config = html.escape(_json(report.get("config", {})))
    versions = html.escape(_json(report.get("versions", {})))
    curves = _learning_curve(report.get("curves", {}), report.get("training", {}), results, (report.get("teacher") or {}).get("figures"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>kdtext run report</title><style>{STYLE}</style></head>
<body>
<h1>kdtext run report</h1>
<p>Task: {html.escape(str(report.get('task', '')))} &middot; labels: {html.escape(', '.join(report.get('labels', [])))}
&middot; test examples: {report.get('n_test', '-')} &middot; transfer examples: {report.get('n_transfer', '-')}</p>
{headline}{speed}
<h2>Test results</h2>{table}<p class=note>{html.escape(TABLE_NOTE)}.</p>
{_bar_chart(results)}
{paired_html(results, titles)}
{calibration_html(results, titles)}
{per_class_html(results, titles)}
<h2>Training</h2>{curves}
<h2>Confusion matrices (test)</h2><div class=matrices>{confusions}</div>
<h2>Time per stage</h2><div class=scroll><table><tr><th>stage</th><th>time</th></tr>{stages}</table></div>
<details><summary>Settings</summary><pre>{config}</pre></details>
<details><summary>Versions</summary><pre>{versions}</pre></details>
</body></html>
"""


def _json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
