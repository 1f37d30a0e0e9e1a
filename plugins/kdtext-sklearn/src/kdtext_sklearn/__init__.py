"""A kdtext student: TF-IDF features and a logistic regression (scikit-learn).

It implements the student contract of :class:`kdtext.Student`: ``defaults``, ``fit``
returning a :class:`kdtext.FitResult`, ``predict_proba``, ``save`` (the model only: kdtext
writes ``kdtext_student.json`` beside it) and ``load``; and it ships without kdtext:
inference lives in :mod:`kdtext_sklearn.runtime` (``runtime_module``), which needs only
``runtime_requires``, so the package ``kdtext package`` makes requires those alone.
scikit-learn is imported inside the methods, so ``kdtext --help`` stays fast.
"""

from __future__ import annotations

import time

import numpy as np

import kdtext

from .runtime import TfidfLogReg, load as load_model


def class_rows(targets, weight):
    """Soft labels as weighted training rows: example ``i`` once per class ``k`` with ``p[i, k] > 0``,
    weighted ``weight[i] * p[i, k]``. Returns (example index, class, weight) arrays."""
    rows, classes = np.nonzero(targets > 0)
    return rows, classes, targets[rows, classes] * weight[rows]


class TfidfLogRegStudent(kdtext.Student):
    """TF-IDF + logistic regression (scikit-learn): soft labels as class-weighted rows."""

    name = "tfidf-logreg"
    defaults = {"C": 4.0, "ngram_max": 2, "max_features": 100000, "max_iter": 1000, "gold_weight": 1.0}
    # `kdtext package` ships runtime.py with the model: the package requires these, not kdtext
    runtime_requires = ("numpy", "scikit-learn>=1.2", "joblib")
    runtime_module = "kdtext_sklearn.runtime"

    def __init__(self, **params):
        super().__init__(**params)
        self.model = None  # a runtime.TfidfLogReg once fitted or loaded
        self.label_space = None

    def _fit_one(self, features, classes, weights):
        from sklearn.linear_model import LogisticRegression

        if len(np.unique(classes)) < 2:  # a single class seen: predict it
            return int(classes[0]) if len(classes) else 0
        model = LogisticRegression(C=self.params["C"], max_iter=self.params["max_iter"])
        return model.fit(features, classes, sample_weight=weights)

    def fit(self, train, dev, transfer=None, *, seed=0):
        from sklearn.feature_extraction.text import TfidfVectorizer

        started = time.perf_counter()
        space = train.label_space
        texts, targets = list(train.texts), train.targets
        weight = np.full(len(texts), self.params["gold_weight"], np.float32)
        if transfer is not None and len(transfer):
            texts += list(transfer.texts)
            targets = np.concatenate([targets, transfer.targets])
            weight = np.concatenate([weight, np.ones(len(transfer), np.float32)])
        vectorizer = TfidfVectorizer(
            ngram_range=(1, self.params["ngram_max"]), max_features=self.params["max_features"], sublinear_tf=True
        )
        features = vectorizer.fit_transform(texts)
        if space.multilabel:  # one model per label: "no" (class 0) with weight 1 - p, "yes" (1) with p
            per_label = [np.stack([1 - targets[:, k], targets[:, k]], axis=1) for k in range(len(space))]
        else:
            per_label = [targets]
        models = []
        for soft in per_label:
            rows, classes, weights = class_rows(soft, weight)
            models.append(self._fit_one(features[rows], classes, weights))
        self.model = TfidfLogReg(vectorizer, models, len(space), space.multilabel)
        self.label_space = space
        probs = self.predict_proba(dev.texts)
        if space.multilabel:
            from sklearn.metrics import f1_score

            metric = "macro_f1"
            score = float(f1_score(dev.targets >= 0.5, probs >= 0.5, average="macro", zero_division=0))
        else:
            metric = "accuracy"
            score = float((probs.argmax(1) == dev.targets.argmax(1)).mean())
        return kdtext.FitResult(
            dev_metric=metric, best_dev_score=score, best_step=1, steps=1,
            train_seconds=time.perf_counter() - started,
            curve=[{"step": 1, "dev_score": score}],
            extra={"n_gold": len(train), "n_transfer": 0 if transfer is None else len(transfer),
                   "vocabulary": len(vectorizer.vocabulary_), "seed": seed},
        )

    def predict_proba(self, texts):
        return self.model.predict_proba(texts)

    def save(self, path):
        self.model.save(path)

    @classmethod
    def load(cls, path):
        from kdtext.students import read_student_meta

        student = cls(**read_student_meta(path)["params"])
        student.model = load_model(path)
        return student  # label_space is left to kdtext, which reads it from kdtext_student.json


@kdtext.hookimpl
def register_students(register):
    register("tfidf-logreg", TfidfLogRegStudent)
