"""What ``kdtext sweep`` shows: the table for the terminal and ``sweep.html`` (learning curves, one line
per augmenter with the spread over seeds), both read from ``sweep.json``'s summary."""

from __future__ import annotations

import html
from typing import Any

from .charts import line_chart
from .report import STYLE, html_table, text_table
from .report_trust import noise_word, p_text


def _sizes(n: int) -> str:
    """10,000 -> "10k"; the x axis of the learning curves."""
    return f"{n / 1000:g}k" if n >= 1000 else str(n)


def strength_label(strength: float | str | None) -> str:
    return "-" if strength is None else f"{strength:g}" if isinstance(strength, float) else str(strength)


def _pm(mean: float, sd: float, seeds: int) -> str:
    """A mean over seeds with its sd; three decimals: on 1,000 dev examples 0.001 is one example."""
    return f"{mean:.3f} ± {sd:.3f}" if seeds > 1 else f"{mean:.3f}"


def table_rows(summary: dict[str, Any]) -> list[list[str]]:
    """One row per setting (its seeds averaged), sorted by augmenter, strength and size."""
    rows = [["", "augmenter", "synthetic", "strength", "dev accuracy", "dev macro-F1", "test accuracy", "test macro-F1", "train s", "new labels"]]
    for r in sorted(summary["settings"], key=lambda r: (r["augmenter"] != "none", r["augmenter"], strength_label(r["strength"]), r["n_synthetic"])):
        seeds = len(r["seeds"])
        mark = "best" if r.get("best") else ""
        if r["run_settings"]:
            mark = (mark + ", run" if mark else "run")
        rows.append([
            mark, r["augmenter"] if r["n_synthetic"] else "(gold + unlabelled only)", f"{r['n_synthetic']:,}", strength_label(r["strength"]),
            _pm(r["dev_accuracy"], r["dev_accuracy_sd"], seeds), _pm(r["dev_macro_f1"], r["dev_macro_f1_sd"], seeds),
            _pm(r["test_accuracy"], r["test_accuracy_sd"], seeds), _pm(r["test_macro_f1"], r["test_macro_f1_sd"], seeds),
            f"{r['train_seconds']:.0f}", f"{r['new_labels']:,}",
        ])  # fmt: skip
    return rows


def verdict_lines(summary: dict[str, Any]) -> list[str]:
    """The best setting on dev, and whether it beats the run's own settings beyond noise."""
    metric = summary["selection_metric"].replace("_", "-")
    best = next(r for r in summary["settings"] if r.get("best"))
    seeds = len(best["seeds"])
    spread = f" over {seeds} seeds" if seeds > 1 else ""
    what = _what(best)
    lines = [f"best on dev: {what}: dev {metric} {best['dev_' + summary['selection_metric']]:.4f}{spread}"]
    own = next((r for r in summary["settings"] if r["run_settings"]), None)
    comparison = summary.get("comparison")
    if own is best:
        lines.append("the run's own settings are the best on dev: nothing to change")
    elif own is not None and comparison:
        dev, test = comparison["dev"], comparison["test"]
        pooled = f"{len(comparison['seeds'])} seeds' dev examples pooled" if len(comparison["seeds"]) > 1 else "paired dev examples"
        lines.append(
            f"against the run's settings ({_what(own)}): {100 * dev['difference']:+.1f} points on dev, {noise_word(dev['p_value'])} "
            f"(McNemar {p_text(dev['p_value'])}, {pooled}; the best was chosen on dev, so this is optimistic)"
        )
        lines.append(f"the same two on test: {100 * test['difference']:+.1f} points, {p_text(test['p_value'])}: {noise_word(test['p_value'])}")
    return lines


def _what(row: dict[str, Any]) -> str:
    if not row["n_synthetic"]:
        return "no synthetic examples (gold + unlabelled texts only)"
    return f"{row['augmenter']}, {row['n_synthetic']:,} synthetic, strength {strength_label(row['strength'])}"


def terminal_table(summary: dict[str, Any]) -> str:
    return "\n".join(text_table(table_rows(summary), left=2) + [""] + verdict_lines(summary))


def _curves(summary: dict[str, Any], split: str) -> str:
    """Learning curves of one split: one panel per strength, one line per augmenter."""
    metric = summary["selection_metric"]
    settings = summary["settings"]
    sizes = sorted({r["n_synthetic"] for r in settings})
    labels = [_sizes(n) for n in sizes]
    none = next((r for r in settings if not r["n_synthetic"]), None)
    strengths = sorted({strength_label(r["strength"]) for r in settings if r["n_synthetic"] and r["strength"] is not None}) or ["-"]
    refs = {name: (summary.get("references", {}).get(name) or {}).get(split) for name in ("teacher", "baseline")}
    panels = []
    for strength in strengths:
        series: dict[str, list[tuple[float, float] | None]] = {}
        for r in settings:
            if not r["n_synthetic"] or strength_label(r["strength"]) not in (strength, "-"):
                continue
            points = series.setdefault(r["augmenter"], [None] * len(sizes))
            points[sizes.index(r["n_synthetic"])] = (r[f"{split}_{metric}"], r[f"{split}_{metric}_sd"])
        if none is not None:
            for points in series.values():
                points[sizes.index(0)] = (none[f"{split}_{metric}"], none[f"{split}_{metric}_sd"])
        title = f"{split} {metric.replace('_', '-')}" + (f", strength {strength}" if strength != "-" else "")
        panels.append(line_chart(title, labels, series, {k: v for k, v in refs.items() if v is not None}, x_label="synthetic examples"))
    return "".join(panels)


def html_page(summary: dict[str, Any]) -> str:
    """``sweep.html``: self-contained, readable on a phone (the table scrolls, the charts scale)."""
    table = html_table(table_rows(summary), lambda row: "best" if row[0].startswith("best") else "")
    verdict = "".join(f"<p>{html.escape(line[0].upper() + line[1:])}.</p>" for line in verdict_lines(summary))
    grid = summary.get("grid", {})
    seeds = sorted({c["seed"] for c in summary["cells"]})
    machine = summary.get("machine") or {}
    load = machine.get("load_average")
    took = summary.get("cells_seconds") or summary.get("seconds")  # a resumed sweep's call may have taken no time
    about = (
        f"{len(summary['cells'])} students ({len(summary['settings'])} settings x {len(seeds)} seed{'s' if len(seeds) != 1 else ''}), "
        f"student {html.escape(str(grid.get('student')))}"
        + (f", {took / 60:.1f} min on {machine.get('cpus')} CPUs" if took else "")
        + (f", load average {load[0]:.1f} at the end" if load else "")
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>kdtext sweep</title><style>{STYLE}tr.best td{{font-weight:600}}td:nth-child(2),th:nth-child(2){{text-align:left}}
body{{max-width:1300px}}</style></head>
<body>
<h1>kdtext sweep</h1>
<p>Run: <code>{html.escape(summary['run'])}</code> &middot; {about}</p>
{verdict}
<h2>Learning curves</h2>
<p class=note>Each point is the mean over seeds, the band one standard deviation either side; the dashed lines are the
teacher and the gold-only baseline student of the run, where known. Dev chose the best setting; test did not.</p>
<div class=charts>{_curves(summary, "dev")}</div>
<div class=charts>{_curves(summary, "test")}</div>
<h2>Every setting</h2>{table}
<p class=note>best: the best setting on dev; run: the run's own settings. new labels: examples the teacher labelled for
this setting, over all its seeds (the rest came from the run's label cache). sweep.json has every cell.</p>
</body></html>
"""
