"""Metrics against hand-computed values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kdtext.errors import ConfigError
from kdtext.metrics import (
    classification_metrics,
    confusion_matrix,
    dev_score,
    evaluate_predictions,
    format_report,
    multilabel_metrics,
    single_label_metrics,
    timed_predict,
)

LABELS = ["a", "b", "c"]


def one_hot(indices, k=3):
    return np.eye(k, dtype=np.float32)[indices]


def test_confusion_matrix_counts_true_rows_predicted_columns():
    matrix = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]


def test_single_label_hand_computed():
    # gold: a a a b b c ; predicted: a a b b c c
    gold = one_hot([0, 0, 0, 1, 1, 2])
    pred = one_hot([0, 0, 1, 1, 2, 2]) * 0.8 + 0.1  # probabilities, argmax unchanged
    result = single_label_metrics(gold, pred, LABELS)
    assert result["accuracy"] == pytest.approx(4 / 6)
    # a: P 2/2 R 2/3 F 0.8 ; b: P 1/2 R 1/2 F 0.5 ; c: P 1/2 R 1/1 F 2/3
    assert result["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert result["per_class"]["b"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert result["per_class"]["c"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert result["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert result["confusion_matrix"]["matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert result["task"] == "multiclass"
    json.dumps(result)  # report-ready


def test_a_class_never_predicted_counts_as_zero_not_nan():
    gold = one_hot([0, 1, 2])
    pred = one_hot([0, 0, 0])
    result = single_label_metrics(gold, pred, LABELS)
    assert result["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert result["macro_f1"] == pytest.approx((0.5 + 0 + 0) / 3)


def test_soft_targets_count_as_their_most_probable_class():
    gold = np.array([[0.7, 0.3], [0.4, 0.6]], np.float32)
    pred = np.array([[0.9, 0.1], [0.9, 0.1]], np.float32)
    assert single_label_metrics(gold, pred, ["x", "y"])["accuracy"] == 0.5


def test_multilabel_hand_computed():
    gold = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]], np.float32)
    prob = np.array([[0.9, 0.2, 0.6], [0.1, 0.4, 0.0], [0.8, 0.7, 0.5], [0.0, 0.0, 0.1]], np.float32)
    # predicted (>= 0.5): [1,0,1] [0,0,0] [1,1,1] [0,0,0]
    result = multilabel_metrics(gold, prob, LABELS)
    assert result["accuracy"] == pytest.approx(2 / 4)  # rows 0 and 3 exactly right
    assert result["label_accuracy"] == pytest.approx(10 / 12)
    # a: tp 2 fp 0 fn 0 ; b: tp 1 fp 0 fn 1 ; c: tp 1 fp 1 fn 0
    assert result["per_class"]["a"]["f1"] == pytest.approx(1.0)
    assert result["per_class"]["b"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert result["per_class"]["c"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert result["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    # micro: tp 4, fp 1, fn 1 -> P = R = F = 0.8
    assert result["micro_f1"] == pytest.approx(0.8)
    assert result["confusion_matrices"]["c"] == [[2, 1], [0, 1]]
    assert classification_metrics(gold, prob, LABELS, multilabel=True) == result


def test_dev_score_is_accuracy_or_macro_f1():
    gold = one_hot([0, 1, 2, 2])
    pred = one_hot([0, 1, 2, 0])
    assert dev_score(gold, pred) == pytest.approx(0.75)
    multi_gold = np.array([[1, 0], [0, 1]], np.float32)
    multi_pred = np.array([[1, 0], [0, 0]], np.float32)
    assert dev_score(multi_gold, multi_pred, multilabel=True) == pytest.approx((1.0 + 0.0) / 2)


def test_shape_mismatch_is_a_config_error():
    with pytest.raises(ConfigError, match="must both be"):
        single_label_metrics(one_hot([0, 1]), one_hot([0]), LABELS)


def test_timed_predict_and_evaluate_predictions():
    calls = []

    def predict(texts):
        calls.append(len(texts))
        return np.tile(np.array([[0.2, 0.8]], np.float32), (len(texts), 1))

    texts = [f"t{i}" for i in range(40)]
    outputs, docs_per_second = timed_predict(predict, texts, warmup=5)
    assert calls == [5, 40] and outputs.shape == (40, 2) and docs_per_second > 0
    gold = np.tile(np.array([[0, 1]], np.float32), (40, 1))
    result = evaluate_predictions(predict, texts, gold, ["neg", "pos"], size_bytes=123)
    assert result["accuracy"] == 1.0 and result["size_bytes"] == 123 and result["docs_per_second"] > 0
    table = format_report(result)
    assert "accuracy     1.0000" in table and "pos" in table


# -- how far a model can be trusted: calibration, agreement, intervals, paired tests (issue #23) --

from kdtext.metrics import agreement, calibration, correct_mask, mcnemar, wilson_interval  # noqa: E402


def test_ece_on_hand_made_predictions():
    # confidences 0.9 (right), 0.82 (wrong), 0.7 (right), 0.62 (wrong), each alone in one of 15 bins
    gold = one_hot([0, 1, 1, 0], k=2)
    probs = np.array([[0.9, 0.1], [0.82, 0.18], [0.3, 0.7], [0.38, 0.62]], np.float32)
    figures = calibration(gold, probs)
    assert figures["ece"] == pytest.approx((0.1 + 0.82 + 0.3 + 0.62) / 4, abs=1e-6)
    assert len(figures["bins"]) == 15 and sum(b["n"] for b in figures["bins"]) == 4
    filled = [b for b in figures["bins"] if b["n"]]
    assert [b["accuracy"] for b in filled] == [0.0, 1.0, 0.0, 1.0]  # bins in order of confidence: 0.62, 0.7, 0.82, 0.9
    # two decisions in one bin are averaged before the gap is taken: |0.5 - 0.905| * 2 / 2
    two = calibration(one_hot([0, 1], k=2), np.array([[0.9, 0.1], [0.91, 0.09]], np.float32))
    assert two["ece"] == pytest.approx(abs(0.5 - 0.905), abs=1e-6)


def test_a_calibrated_model_has_zero_ece_and_an_overconfident_one_does_not():
    gold = one_hot([0, 0, 0, 1], k=2)  # confidence 0.75 everywhere, right 3 times in 4
    probs = np.tile(np.array([[0.75, 0.25]], np.float32), (4, 1))
    assert calibration(gold, probs)["ece"] == pytest.approx(0.0, abs=1e-6)
    sure = np.tile(np.array([[0.99, 0.01]], np.float32), (4, 1))
    assert calibration(gold, sure)["ece"] == pytest.approx(0.99 - 0.75, abs=1e-6)


def test_multilabel_ece_counts_every_label_decision():
    gold = np.array([[1, 0], [0, 1]], np.float32)
    probs = np.array([[0.9, 0.2], [0.6, 0.95]], np.float32)  # decisions: right .9, right .8, wrong .6, right .95
    figures = calibration(gold, probs, multilabel=True)
    assert sum(b["n"] for b in figures["bins"]) == 4
    assert figures["ece"] == pytest.approx((0.1 + 0.2 + 0.6 + 0.05) / 4, abs=1e-6)


def test_agreement_and_correctness_on_hand_made_predictions():
    teacher = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], np.float32)
    student = np.array([[0.7, 0.3], [0.4, 0.6], [0.1, 0.9], [0.45, 0.55]], np.float32)
    assert agreement(student, teacher) == 0.75 and agreement(teacher, teacher) == 1.0
    assert correct_mask(one_hot([0, 1, 0, 0], k=2), student).tolist() == [True, True, False, False]
    multi_t = np.array([[0.9, 0.9], [0.1, 0.8]], np.float32)
    multi_s = np.array([[0.8, 0.4], [0.2, 0.6]], np.float32)
    assert agreement(multi_s, multi_t, multilabel=True) == 0.5  # the whole label set must match
    with pytest.raises(ConfigError):
        agreement(student, teacher[:3])


def test_wilson_interval_values_and_edges():
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(0, 0) == [0.0, 1.0]
    low, high = wilson_interval(781, 1000)
    assert low < 0.781 < high and high - low == pytest.approx(0.051, abs=0.002)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.8, 0.95])
@pytest.mark.parametrize("n", [30, 100, 1000])
def test_the_accuracy_interval_covers_the_true_accuracy_about_95_percent_of_the_time(p, n):
    # exact coverage: the probability, over Binomial(n, p) outcomes, that the interval holds p
    from math import comb

    coverage = sum(comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1) if wilson_interval(k, n)[0] <= p <= wilson_interval(k, n)[1])
    assert 0.92 <= coverage <= 0.975, coverage  # the textbook normal interval gets 0.78 at p=0.05, n=30


def test_mcnemar_exact_against_the_binomial():
    a = np.array([True] * 1 + [False] * 9 + [True] * 20)  # A alone right once, B alone right 9 times
    b = np.array([False] * 1 + [True] * 9 + [True] * 20)
    result = mcnemar(a, b)
    assert (result["only_a"], result["only_b"], result["n"]) == (1, 9, 30)
    assert result["p_value"] == pytest.approx(2 * 11 / 1024) and result["method"] == "exact"
    assert mcnemar(b, a)["p_value"] == result["p_value"]
    assert mcnemar(a, a)["p_value"] == 1.0
    many = mcnemar(np.array([True] * 40 + [False] * 60), np.array([False] * 40 + [True] * 60))
    assert many["p_value"] == pytest.approx(0.0569, abs=1e-4)  # scipy.stats.binomtest(40, 100)


def test_evaluate_predictions_reports_the_trust_figures():
    def predict(texts):
        return np.tile(np.array([[0.2, 0.8]], np.float32), (len(texts), 1))

    gold = one_hot([1] * 30 + [0] * 10, k=2)
    result = evaluate_predictions(predict, [f"t{i}" for i in range(40)], gold, ["neg", "pos"])
    assert result["accuracy"] == 0.75 and result["ece"] == pytest.approx(0.05, abs=1e-6)
    assert result["accuracy_ci"] == pytest.approx(wilson_interval(30, 40))
    assert "ECE" in format_report(result) and "accuracy 95%" in format_report(result)
