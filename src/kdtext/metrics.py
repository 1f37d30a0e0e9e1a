"""Classification metrics and speed measurement, in plain numpy.

Inputs are target rows and probability rows over one label space, both
``(n_examples, n_labels)``: one-/multi-hot or probabilities for the targets,
probabilities for the predictions. Single-label tasks compare argmaxes; multi-label
tasks threshold both at ``threshold`` (0.5).

Every function returns plain Python numbers, lists and dicts, ready for ``json.dump``.
Undefined ratios (no predictions of a class, no examples of a class) count as 0, as
scikit-learn does with ``zero_division=0``.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Sequence

import numpy as np

from .errors import ConfigError

Predict = Callable[[Sequence[str]], np.ndarray]


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2.0 * precision * recall / (precision + recall) if precision + recall else 0.0


def _check(targets: np.ndarray, probs: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    targets = np.asarray(targets, dtype=np.float32)
    probs = np.asarray(probs, dtype=np.float32)
    if targets.ndim != 2 or targets.shape != probs.shape or targets.shape[1] != len(labels):
        raise ConfigError(
            f"targets {targets.shape} and predictions {probs.shape} must both be (n, {len(labels)})"
        )
    return targets, probs


def confusion_matrix(true_index: np.ndarray, pred_index: np.ndarray, n_labels: int) -> np.ndarray:
    """``matrix[i, j]``: examples of class ``i`` predicted as class ``j`` (int64 ``(k, k)``)."""
    matrix = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true_index, np.int64), np.asarray(pred_index, np.int64)), 1)
    return matrix


def single_label_metrics(targets: np.ndarray, probs: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-/micro-F1, per-class P/R/F1/support and the confusion matrix.

    Gold and predicted classes are the argmax of each row (soft targets count as their
    most probable class).
    """
    targets, probs = _check(targets, probs, labels)
    k = len(labels)
    n = len(targets)
    matrix = confusion_matrix(targets.argmax(axis=1), probs.argmax(axis=1), k) if n else np.zeros((k, k), np.int64)
    tp = np.diag(matrix)
    per_class: dict[str, dict[str, float]] = {}
    f1s = []
    for i, label in enumerate(labels):
        precision = _ratio(tp[i], matrix[:, i].sum())
        recall = _ratio(tp[i], matrix[i, :].sum())
        f1 = _f1(precision, recall)
        f1s.append(f1)
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": int(matrix[i, :].sum())}
    accuracy = _ratio(tp.sum(), n)
    return {
        "task": "binary" if k == 2 else "multiclass",
        "n": n,
        "accuracy": accuracy,
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "micro_f1": accuracy,  # for single-label tasks micro P = micro R = accuracy
        "per_class": per_class,
        "confusion_matrix": {"labels": list(labels), "matrix": matrix.tolist()},
    }


def multilabel_metrics(
    targets: np.ndarray, probs: np.ndarray, labels: Sequence[str], threshold: float = 0.5
) -> dict[str, Any]:
    """Subset accuracy, micro-/macro-F1, per-label P/R/F1/support and 2x2 confusion matrices.

    ``accuracy`` is the subset (exact-match) accuracy; ``label_accuracy`` the share of
    correct (example, label) decisions. Each label's matrix is ``[[tn, fp], [fn, tp]]``.
    """
    targets, probs = _check(targets, probs, labels)
    gold = targets >= 0.5
    pred = probs >= threshold
    n = len(targets)
    tp = (gold & pred).sum(axis=0)
    fp = (~gold & pred).sum(axis=0)
    fn = (gold & ~pred).sum(axis=0)
    tn = (~gold & ~pred).sum(axis=0)
    per_class: dict[str, dict[str, float]] = {}
    matrices: dict[str, list[list[int]]] = {}
    f1s = []
    for i, label in enumerate(labels):
        precision = _ratio(tp[i], tp[i] + fp[i])
        recall = _ratio(tp[i], tp[i] + fn[i])
        f1 = _f1(precision, recall)
        f1s.append(f1)
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": int(gold[:, i].sum())}
        matrices[label] = [[int(tn[i]), int(fp[i])], [int(fn[i]), int(tp[i])]]
    micro_p = _ratio(tp.sum(), tp.sum() + fp.sum())
    micro_r = _ratio(tp.sum(), tp.sum() + fn.sum())
    return {
        "task": "multilabel",
        "n": n,
        "threshold": threshold,
        "accuracy": _ratio((gold == pred).all(axis=1).sum(), n),
        "label_accuracy": _ratio((gold == pred).sum(), gold.size),
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "micro_f1": _f1(micro_p, micro_r),
        "micro_precision": micro_p,
        "micro_recall": micro_r,
        "per_class": per_class,
        "confusion_matrices": matrices,
    }


def classification_metrics(
    targets: np.ndarray, probs: np.ndarray, labels: Sequence[str], multilabel: bool = False, threshold: float = 0.5
) -> dict[str, Any]:
    """:func:`multilabel_metrics` or :func:`single_label_metrics`, by task."""
    if multilabel:
        return multilabel_metrics(targets, probs, labels, threshold)
    return single_label_metrics(targets, probs, labels)


def dev_metric_name(multilabel: bool) -> str:
    """The name of :func:`dev_score` for a task: ``"macro_f1"`` (multi-label) or ``"accuracy"``."""
    return "macro_f1" if multilabel else "accuracy"


def correct_mask(targets: np.ndarray, probs: np.ndarray, multilabel: bool = False, threshold: float = 0.5) -> np.ndarray:
    """Per example, whether the prediction is right: the argmax matches (single-label) or
    every label's decision matches (multi-label, the subset accuracy's notion); bool ``(n,)``."""
    targets, probs = np.asarray(targets, np.float32), np.asarray(probs, np.float32)
    if multilabel:
        return ((targets >= 0.5) == (probs >= threshold)).all(axis=1)
    return targets.argmax(axis=1) == probs.argmax(axis=1)


def agreement(probs_a: np.ndarray, probs_b: np.ndarray, multilabel: bool = False, threshold: float = 0.5) -> float:
    """Share of examples on which two models predict the same class (the same label set, multi-label)."""
    probs_a, probs_b = np.asarray(probs_a, np.float32), np.asarray(probs_b, np.float32)
    if probs_a.shape != probs_b.shape:
        raise ConfigError(f"predictions of shapes {probs_a.shape} and {probs_b.shape} cannot be compared")
    if not len(probs_a):
        return 0.0
    if multilabel:
        same = ((probs_a >= threshold) == (probs_b >= threshold)).all(axis=1)
    else:
        same = probs_a.argmax(axis=1) == probs_b.argmax(axis=1)
    return float(same.mean())


#: Bins of :func:`calibration`: 15 of equal width over [0, 1], as Guo et al. (2017) report ECE.
ECE_BINS = 15


def calibration(
    targets: np.ndarray, probs: np.ndarray, multilabel: bool = False, bins: int = ECE_BINS, threshold: float = 0.5
) -> dict[str, Any]:
    """Expected calibration error and the reliability diagram's bins.

    Single-label: each example's confidence is its largest probability, right when that
    class is the gold one. Multi-label: every (example, label) decision counts, with
    confidence ``max(p, 1 - p)``. Confidences fall into ``bins`` equal-width bins over
    [0, 1] (the last one closed); ``ece`` is the mean over bins of |accuracy - mean
    confidence|, weighted by the share of decisions in the bin. Returns ``{"ece",
    "bins": [{"low", "high", "n", "confidence", "accuracy"}, ...]}`` (empty bins have
    n 0 and None for their means).
    """
    targets, probs = np.asarray(targets, np.float32), np.asarray(probs, np.float32)
    if multilabel:
        confidence = np.maximum(probs, 1.0 - probs).reshape(-1)
        right = ((probs >= threshold) == (targets >= 0.5)).reshape(-1)
    else:
        confidence = probs.max(axis=1) if len(probs) else np.zeros(0, np.float32)
        right = correct_mask(targets, probs)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    total = len(confidence)
    ece = 0.0
    rows = []
    for b in range(bins):
        inside = which == b
        n = int(inside.sum())
        mean_conf = float(confidence[inside].mean()) if n else None
        mean_acc = float(right[inside].mean()) if n else None
        if n:
            ece += n / total * abs(mean_acc - mean_conf)
        rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "n": n, "confidence": mean_conf, "accuracy": mean_acc})
    return {"ece": float(ece), "bins": rows}


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> list[float]:
    """The Wilson score interval ``[low, high]`` of a proportion (``[0, 1]`` when ``n`` is 0).

    Unlike the normal approximation it stays inside [0, 1] and keeps close to its nominal
    coverage for small ``n`` and for proportions near 0 or 1 (Brown, Cai and DasGupta, 2001).
    """
    if n <= 0:
        return [0.0, 1.0]
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [0.0 if successes <= 0 else max(0.0, centre - half), 1.0 if successes >= n else min(1.0, centre + half)]


#: Above this many discordant pairs :func:`mcnemar` uses the chi-square approximation.
MCNEMAR_EXACT_UP_TO = 5000


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, Any]:
    """McNemar's paired test of two models on the same examples (per-example correctness).

    Only the discordant examples count: ``only_a`` (A right, B wrong) and ``only_b``.
    Under the null hypothesis (equally accurate) each is Binomial(only_a + only_b, 1/2);
    the two-sided p-value is exact up to :data:`MCNEMAR_EXACT_UP_TO` discordant pairs,
    else the continuity-corrected chi-square. Stacking several seeds' examples (pairs
    matched per seed) gives the Mantel-Haenszel test for matched pairs.
    """
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if a.shape != b.shape:
        raise ConfigError(f"paired test of {a.shape} and {b.shape} predictions: they must be on the same examples")
    only_a, only_b = int(np.count_nonzero(a & ~b)), int(np.count_nonzero(~a & b))
    n = only_a + only_b
    if n == 0:
        p, method = 1.0, "exact"
    elif n <= MCNEMAR_EXACT_UP_TO:
        tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1))
        p, method = min(1.0, 2 * tail / 2**n), "exact"
    else:
        from statistics import NormalDist

        statistic = (abs(only_a - only_b) - 1) ** 2 / n
        p, method = 2 * (1 - NormalDist().cdf(math.sqrt(statistic))), "chi-square"
    return {"n": int(a.size), "only_a": only_a, "only_b": only_b, "p_value": float(p), "method": method}


def dev_score(targets: np.ndarray, probs: np.ndarray, multilabel: bool = False, threshold: float = 0.5) -> float:
    """The model-selection score of teachers and students: accuracy (single-label) or macro-F1 (multi-label)."""
    labels = [str(i) for i in range(np.asarray(targets).shape[1])]
    if multilabel:
        return multilabel_metrics(targets, probs, labels, threshold)["macro_f1"]
    return single_label_metrics(targets, probs, labels)["accuracy"]


def timed_predict(predict: Predict, texts: Sequence[str], warmup: int = 32) -> tuple[np.ndarray, float]:
    """Run ``predict(texts)`` once and time it: returns ``(outputs, docs_per_second)``.

    ``predict`` first sees the first ``warmup`` texts untimed, so lazy initialisation
    (thread pools, caches) is not charged to the measurement. Wall-clock time.
    """
    texts = list(texts)
    if warmup and texts:
        predict(texts[:warmup])
    start = time.perf_counter()
    outputs = predict(texts)
    seconds = time.perf_counter() - start
    return outputs, (len(texts) / seconds if seconds > 0 else float("inf"))


def evaluate_predictions(
    predict: Predict,
    texts: Sequence[str],
    targets: np.ndarray,
    labels: Sequence[str],
    multilabel: bool = False,
    *,
    size_bytes: int | None = None,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Metrics of ``predict`` on a test set, plus ``docs_per_second`` and ``size_bytes``.

    ``predict`` maps texts to probability rows in ``labels`` order (a student's or a
    teacher's ``predict_proba``).
    """
    probs, docs_per_second = timed_predict(predict, texts)
    result = prediction_figures(targets, probs, labels, multilabel, threshold)
    result["docs_per_second"] = docs_per_second
    result["size_bytes"] = size_bytes
    return result


def prediction_figures(
    targets: np.ndarray, probs: np.ndarray, labels: Sequence[str], multilabel: bool = False, threshold: float = 0.5
) -> dict[str, Any]:
    """Every figure of a model's predictions: :func:`classification_metrics` and :func:`trust_figures`."""
    result = classification_metrics(targets, probs, labels, multilabel, threshold)
    result.update(trust_figures(targets, probs, multilabel, threshold))
    return result


def trust_figures(targets: np.ndarray, probs: np.ndarray, multilabel: bool = False, threshold: float = 0.5) -> dict[str, Any]:
    """``accuracy_ci`` (95% Wilson interval of the accuracy), ``ece`` and the ``reliability``
    bins of :func:`calibration`: how far one accuracy and the probabilities can be trusted."""
    right = correct_mask(targets, probs, multilabel, threshold)
    figures = calibration(targets, probs, multilabel, threshold=threshold)
    return {"accuracy_ci": wilson_interval(int(right.sum()), len(right)), "ece": figures["ece"], "reliability": figures["bins"]}


def format_report(result: dict[str, Any]) -> str:
    """A short table of a result of :func:`evaluate_predictions`, for people."""
    lines = [f"examples     {result['n']}", f"accuracy     {result['accuracy']:.4f}", f"macro-F1     {result['macro_f1']:.4f}"]
    if result.get("task") == "multilabel":
        lines.append(f"micro-F1     {result['micro_f1']:.4f}")
    if result.get("accuracy_ci"):
        low, high = result["accuracy_ci"]
        lines.append(f"accuracy 95% {low:.4f} - {high:.4f}")
    if result.get("ece") is not None:
        lines.append(f"ECE          {result['ece']:.4f}  (expected calibration error, {ECE_BINS} bins)")
    if result.get("docs_per_second") is not None:
        lines.append(f"docs/s       {result['docs_per_second']:.0f}")
    if result.get("size_bytes") is not None:
        lines.append(f"size on disk {result['size_bytes'] / 1e6:.2f} MB")
    width = max([len(label) for label in result["per_class"]] + [5])
    lines.append("")
    lines.append(f"{'label':<{width}}  precision  recall  f1      support")
    for label, row in result["per_class"].items():
        lines.append(
            f"{label:<{width}}  {row['precision']:<9.4f}  {row['recall']:<6.4f}  {row['f1']:<6.4f}  {row['support']}"
        )
    return "\n".join(lines)
