"""Rare classes survive distillation: the spaCy students can weigh examples by their class's rarity."""

from __future__ import annotations

import numpy as np
import pytest
import spacy
from spacy.training import Example

from kdtext.data import Dataset
from kdtext.default_plugins.spacy.soft_textcat import MAX_CLASS_WEIGHT, WEIGHT_KEY, class_balance_weights
from kdtext.labels import LabelSpace
from kdtext.students import build_student


def test_balance_weights_lift_rare_classes_and_keep_the_mean():
    prior = np.array([0.90, 0.08, 0.02])
    targets = np.eye(3)[[0] * 90 + [1] * 8 + [2] * 2]
    weights = class_balance_weights(targets, prior, 1.0)
    assert weights.mean() == pytest.approx(1.0)
    assert weights[-1] > weights[90] > weights[0]
    # full strength: each class weighs the same in all (up to the cap on the rarest)
    assert weights[:90].sum() == pytest.approx(weights[90:98].sum(), rel=1e-5)
    assert weights[-1] / weights[0] == pytest.approx(MAX_CLASS_WEIGHT / ((1 / (3 * 0.9)) ** 1.0), rel=1e-5)
    half = class_balance_weights(targets, prior, 0.5)
    assert 1 < half[-1] / half[0] < weights[-1] / weights[0]
    assert np.all(class_balance_weights(targets, prior, 0.0) == 1.0)
    assert np.allclose(class_balance_weights(np.eye(2)[[0, 1]], np.array([0.5, 0.5]), 1.0), 1.0)


def test_soft_rows_take_the_mean_of_their_classes_weights():
    prior = np.array([0.75, 0.25])
    weights = class_balance_weights(np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]), prior, 1.0)
    per_class = np.array([1 / 1.5, 1 / 0.5])
    raw = np.array([per_class[0], per_class[1], per_class.mean()])
    np.testing.assert_allclose(weights, raw / raw.mean(), rtol=1e-5)


def test_the_loss_gradient_scales_with_the_example_weight():
    nlp = spacy.blank("en")
    import kdtext.default_plugins.spacy.soft_textcat  # noqa: F401  (registers the factory)

    component = nlp.add_pipe("kdtext_soft_textcat", config={"model": {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": True,
                                                                        "ngram_size": 1, "no_output_layer": False}})  # fmt: skip
    examples = []
    for text, cats in (("good film", {"pos": 0.8, "neg": 0.2}), ("bad film", {"pos": 0.1, "neg": 0.9})):
        doc = nlp.make_doc(text)
        doc.cats = cats
        examples.append(Example(doc, doc))
    nlp.initialize(lambda: examples)
    scores = component.model.predict([eg.predicted for eg in examples])
    _, plain = component.get_loss(examples, scores)
    examples[1].reference.user_data[WEIGHT_KEY] = 3.0
    _, weighted = component.get_loss(examples, scores)
    np.testing.assert_allclose(weighted[0], plain[0])
    np.testing.assert_allclose(weighted[1], 3.0 * plain[1], rtol=1e-6)


def _rare_task(n: int, seed: int) -> Dataset:
    """Three classes told apart by a keyword; 'rare' is 2% of the examples."""
    rng = np.random.default_rng(seed)
    filler = "the a film plot cast story scene actor some very".split()
    keywords = {"common": "sunny", "other": "rainy", "rare": "snowy"}
    labels = rng.choice(["common", "other", "rare"], size=n, p=[0.68, 0.30, 0.02])
    texts = [" ".join([*rng.choice(filler, 4), keywords[label], *rng.choice(filler, 3)]) for label in labels]
    return Dataset.from_labels(texts, list(labels), LabelSpace(("common", "other", "rare")))


def test_a_rare_class_is_learnt_when_weighted():
    train = _rare_task(300, 0)
    dev = _rare_task(150, 1)
    dev = dev.subset([i for i, label in enumerate(dev.gold_labels()) if label == "rare"] + list(range(40)))
    rare = np.array([label == "rare" for label in dev.gold_labels()])
    recalls, confidence = {}, {}
    for balance in (0.0, 1.0):
        student = build_student("spacy-fast", width=16, max_epochs=6, batch_size=32, patience=100, progress=False, balance=balance)
        student.fit(train, dev, seed=0)
        probs = student.predict_proba(dev.texts)
        recalls[balance] = float((probs[rare].argmax(axis=1) == 2).mean())
        confidence[balance] = float(probs[rare, 2].mean())
    assert recalls[1.0] > recalls[0.0], recalls
    assert confidence[1.0] > confidence[0.0] + 0.1, confidence
