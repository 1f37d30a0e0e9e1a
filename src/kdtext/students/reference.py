"""The reference row of a run: TF-IDF + logistic regression on the gold data alone.

Distillation is worth its cost only if the distilled student beats what a user would
train in a minute without a teacher. This is that classifier, the standard one:
scikit-learn's TF-IDF over word 1-2 grams (sublinear term frequency) and a logistic
regression whose regularisation ``C`` is chosen on dev. Multi-label tasks get one
binary regression per label. It sees the same gold train and dev data as the baseline
student and nothing from the teacher.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..data import Dataset
from ..errors import ConfigError, ModelError
from ..io import atomic_write
from ..labels import LabelSpace
from ..metrics import dev_score

#: Regularisation strengths tried on dev, weakest to strongest regularisation last.
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
MODEL_FILE = "reference.pkl"
DESCRIPTION = "TF-IDF 1-2 grams + logistic regression (scikit-learn), gold data only"
INSTALL_HINT = "pip install scikit-learn"


class ReferenceClassifier:
    """TF-IDF + logistic regression with ``C`` chosen on dev; ``predict_proba`` like a student's."""

    def __init__(self, label_space: LabelSpace, pipeline: Any, C: float, dev_accuracy: float):
        self.label_space, self.pipeline, self.C, self.dev_score = label_space, pipeline, C, dev_accuracy

    @classmethod
    def fit(cls, train: Dataset, dev: Dataset, *, seed: int = 0) -> "ReferenceClassifier":
        """Train one pipeline per ``C`` in :data:`C_GRID`; keep the best on dev."""
        try:
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.linear_model import LogisticRegression
            from sklearn.multiclass import OneVsRestClassifier
            from sklearn.pipeline import make_pipeline
        except ImportError:
            raise ConfigError(f"the reference classifier needs scikit-learn: {INSTALL_HINT}") from None
        space = train.label_space
        best: tuple[float, float, Any] | None = None
        for C in C_GRID:
            regression = LogisticRegression(C=C, max_iter=2000, random_state=seed)
            pipeline = make_pipeline(
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
                OneVsRestClassifier(regression) if space.multilabel else regression,
            )
            if space.multilabel:
                pipeline.fit(train.texts, (train.targets >= 0.5).astype(int))
            else:
                pipeline.fit(train.texts, train.targets.argmax(axis=1))
            model = cls(space, pipeline, C, 0.0)
            score = dev_score(dev.targets, model.predict_proba(dev.texts), space.multilabel)
            if best is None or score > best[0]:
                best = (score, C, pipeline)
        assert best is not None
        return cls(space, best[2], best[1], best[0])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, float32 ``(len(texts), n_labels)`` in label-space order."""
        n_labels = len(self.label_space.labels)
        if not len(texts):
            return np.zeros((0, n_labels), np.float32)
        probs = self.pipeline.predict_proba(list(texts))
        if self.label_space.multilabel:
            return np.asarray(probs, np.float32)
        # classes seen in training may be fewer than the labels: place columns by class index
        out = np.zeros((len(texts), n_labels), np.float32)
        out[:, self.pipeline.classes_] = probs
        return out

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with atomic_write(path / MODEL_FILE, "wb") as handle:
            pickle.dump({"label_space": self.label_space.to_json(), "pipeline": self.pipeline, "C": self.C, "dev_score": self.dev_score}, handle)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ReferenceClassifier":
        try:
            with open(Path(path) / MODEL_FILE, "rb") as handle:
                state = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, ImportError) as exc:
            raise ModelError(f"{path}: cannot read the reference classifier ({exc})") from None
        return cls(LabelSpace.from_json(state["label_space"]), state["pipeline"], state["C"], state["dev_score"])
