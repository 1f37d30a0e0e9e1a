"""Inference for the tfidf-logreg student, without kdtext: what ``kdtext package`` ships.

This file is copied alone into the package that ``kdtext package`` makes (the student's
``runtime_module``), so it imports nothing of kdtext and nothing relative: numpy,
scikit-learn and joblib (the student's ``runtime_requires``) are all it needs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MODEL_FILE = "tfidf_logreg.joblib"


class TfidfLogReg:
    """A fitted TF-IDF vectorizer and one logistic regression (single-label) or one per label.

    A model is a fitted ``LogisticRegression``, or an int: the only class seen in training.
    """

    def __init__(self, vectorizer, models, n_labels, multilabel):
        self.vectorizer = vectorizer
        self.models = models
        self.n_labels = n_labels
        self.multilabel = multilabel

    def predict_proba(self, texts):
        """Probabilities, float32 ``(len(texts), n_labels)``."""
        features = self.vectorizer.transform(list(texts))
        out = np.zeros((len(texts), self.n_labels), np.float32)
        if not self.multilabel:
            model = self.models[0]
            if isinstance(model, int):
                out[:, model] = 1.0
            else:
                out[:, model.classes_] = model.predict_proba(features)
            return out
        for j, model in enumerate(self.models):
            out[:, j] = float(model) if isinstance(model, int) else model.predict_proba(features)[:, list(model.classes_).index(1)]
        return out

    def save(self, path):
        import joblib

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {"vectorizer": self.vectorizer, "models": self.models, "n_labels": self.n_labels, "multilabel": self.multilabel}
        joblib.dump(state, path / MODEL_FILE)


def load(path):
    """The model saved in folder ``path``."""
    import joblib

    return TfidfLogReg(**joblib.load(Path(path) / MODEL_FILE))
