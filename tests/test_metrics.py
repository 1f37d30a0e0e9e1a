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
