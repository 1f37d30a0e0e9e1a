"""The report's sections on how far each model can be trusted: whether differences are real
(paired tests), whether probabilities mean what they say (calibration), how each class fares,
and under what conditions the speeds were measured.

They read the figures that the ``evaluate`` stage wrote under ``results`` (and ``speed``);
a report of a run evaluated before these figures existed simply leaves the sections out.
"""

from __future__ import annotations

import html
from typing import Any

from .charts import CURVE_COLOURS, reliability_diagram

#: How a sentence names each model.
SHORT_TITLES = {"baseline": "baseline student", "teacher": "teacher", "distilled": "distilled student", "reference": "reference classifier"}
#: A difference is "beyond noise" when the paired test's p-value is below this.
ALPHA = 0.05


def p_text(p: float) -> str:
    """A p-value for people: "p = 0.034", "p < 0.001"."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def noise_word(p: float) -> str:
    return "beyond noise" if p < ALPHA else "within noise"


def paired_lines(results: dict[str, Any], titles: dict[str, str], leave_out: tuple[str, ...] = ()) -> list[str]:
    """One sentence per paired test in ``results["paired_tests"]`` (A vs B on the same test
    examples), but those against a model in ``leave_out``."""
    lines = []
    for test in (results.get("paired_tests") or {}).values():
        a, b = test["a"], test["b"]
        if a not in results or b not in results or b in leave_out:
            continue
        diff = 100 * (results[a]["accuracy"] - results[b]["accuracy"])
        title_a, title_b = SHORT_TITLES.get(a, titles.get(a, a)), SHORT_TITLES.get(b, titles.get(b, b))
        lines.append(
            f"{title_a} vs {title_b}: {diff:+.1f} points of accuracy, {noise_word(test['p_value'])} "
            f"(McNemar {p_text(test['p_value'])}; {test['only_a']:,} test examples only the {title_a} gets right, "
            f"{test['only_b']:,} only the {title_b})"
        )
    return lines


def reference_verdict(results: dict[str, Any]) -> str | None:
    """"distilled student vs the reference classifier: +10.5 points of accuracy (p < 0.001, beyond noise)"."""
    if "reference" not in results or "distilled" not in results:
        return None
    diff = 100 * (results["distilled"]["accuracy"] - results["reference"]["accuracy"])
    line = f"distilled student vs the reference classifier: {diff:+.1f} points of accuracy"
    test = (results.get("paired_tests") or {}).get("distilled_vs_reference")
    if test:
        line += f" ({p_text(test['p_value'])}, McNemar on the test split: {noise_word(test['p_value'])})"
    return line


def _times(ratio: float, more: str, less: str) -> str:
    """``<b>31×</b> faster`` for a ratio of 31, ``<b>2.5×</b> slower`` for one of 0.4."""
    word, ratio = (more, ratio) if ratio >= 1 else (less, 1 / ratio)
    return f"<b>{ratio:.0f}&times;</b> {word}" if ratio >= 10 else f"<b>{ratio:.1f}&times;</b> {word}"


def machine_text(speed: dict[str, Any]) -> str:
    """"x86_64, 2 CPUs, PyTorch on 2 threads, load average 3.1 at the start and 3.4 at the end"."""
    m = speed.get("machine") or {}
    parts = [str(m.get("machine") or "unknown machine")]
    if m.get("cpus"):
        parts.append(f"{m['cpus']} CPUs")
    if m.get("torch_threads"):
        parts.append(f"PyTorch on {m['torch_threads']} thread{'s' if m['torch_threads'] != 1 else ''}")
    if m.get("omp_num_threads"):
        parts.append(f"OMP_NUM_THREADS={m['omp_num_threads']}")
    load, after = m.get("load_average"), speed.get("load_average_after")
    if load:
        parts.append(f"load average {load[0]:.1f} at the start" + (f" and {after[0]:.1f} at the end" if after else ""))
    return ", ".join(parts)


def speed_html(results: dict[str, Any], speed: dict[str, Any] | None) -> str:
    """The headline's speed and size sentence, saying how and where the speeds were measured."""
    t, d = results.get("teacher", {}), results.get("distilled", {})
    if not (t.get("docs_per_second") and d.get("docs_per_second") and t.get("size_bytes") and d.get("size_bytes")):
        return ""
    line = (
        f"<p>The distilled student is {_times(d['docs_per_second'] / t['docs_per_second'], 'faster', 'slower')} "
        f"than the teacher and {_times(t['size_bytes'] / d['size_bytes'], 'smaller', 'larger')} on disk. "
    )
    if speed:
        line += (
            f"<span class=note>Speeds: {html.escape(speed.get('how', ''))}, so that a changing load weighs on every model "
            f"alike; measured on {html.escape(machine_text(speed))}. The docs/s figures depend on the machine and its load; "
            "their ratio much less.</span></p>"
        )
    else:
        line += "<span class=note>Speeds were measured once per model, under whatever load the machine had at that moment.</span></p>"
    return line


def paired_html(results: dict[str, Any], titles: dict[str, str]) -> str:
    lines = paired_lines(results, titles)
    if not lines:
        return ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (
        "<h2>Are the differences real?</h2><ul class=tests>" + items + "</ul>"
        f"<p class=note>McNemar's test counts only the test examples on which the two models disagree about being right; "
        f"a difference is called beyond noise when p &lt; {ALPHA}. The accuracy's 95% interval (Wilson) is in the table "
        "above: two intervals that overlap may still differ beyond noise, because the test is paired.</p>"
    )


def calibration_html(results: dict[str, Any], titles: dict[str, str]) -> str:
    """One reliability diagram per model with its expected calibration error."""
    panels = [
        reliability_diagram(titles.get(key, key), r["reliability"], r["ece"], CURVE_COLOURS.get(key, "#888"))
        for key, r in results.items()
        if isinstance(r, dict) and r.get("reliability") and r.get("ece") is not None
    ]
    if not panels:
        return ""
    return (
        "<h2>Can the probabilities be trusted? (test)</h2><div class=charts>" + "".join(panels) + "</div>"
        "<p class=note>Each bar is the accuracy of the predictions whose confidence falls in that bin (15 bins); on the dashed "
        "diagonal a model's confidence is exactly its accuracy. ECE, the expected calibration error, is the average gap, "
        "weighted by how many predictions each bin holds: 0.05 means the probabilities are off by 5 points on average.</p>"
    )


def per_class_html(results: dict[str, Any], titles: dict[str, str]) -> str:
    """Precision, recall and F1 per class and model on test."""
    models = [(key, r) for key, r in results.items() if isinstance(r, dict) and r.get("per_class")]
    if not models:
        return ""
    labels = list(models[0][1]["per_class"])
    head = "<tr><th rowspan=2>class</th><th rowspan=2>support</th>" + "".join(
        f"<th colspan=3 class=group>{html.escape(titles.get(key, key))}</th>" for key, _ in models
    ) + "</tr><tr>" + "<th>P</th><th>R</th><th>F1</th>" * len(models) + "</tr>"
    body = []
    for label in labels:
        support = models[0][1]["per_class"][label].get("support", "")
        cells = "".join(
            "".join(f"<td>{r['per_class'].get(label, {}).get(k, 0.0):.3f}</td>" for k in ("precision", "recall", "f1")) for _, r in models
        )
        body.append(f"<tr><td>{html.escape(str(label))}</td><td>{support:,}</td>{cells}</tr>")
    return f"<h2>Per class (test)</h2><div class=scroll><table class=perclass>{head}{''.join(body)}</table></div>"
