"""A kdtext teacher that needs no model: a word lexicon learned from the gold data.

It implements the teacher contract of :class:`kdtext.Teacher`: ``defaults``, ``fit``,
``predict_proba``, ``save``, ``load`` and ``is_saved`` (so ``kdtext run
--teacher-model DIR`` reuses a saved lexicon). ``"model"`` is not in ``defaults``, so
``kdtext run`` needs no ``--teacher-model``; ``"seed"`` is not either (nothing is random).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np

import kdtext
from kdtext.errors import ConfigError, ModelError

META_FILE = "lexicon.json"
WORD = re.compile(r"\w+")


class LexiconTeacher(kdtext.Teacher):
    """Word lexicon (naive Bayes over word counts) learned from the gold data: no model needed."""

    name = "lexicon"
    defaults = {"alpha": 1.0, "lowercase": True}

    def __init__(self, **params):
        super().__init__(**params)
        if not isinstance(self.params["alpha"], (int, float)) or self.params["alpha"] <= 0:
            raise ConfigError(f"teacher 'lexicon': alpha must be a positive number, got {self.params['alpha']!r}")
        self.log_prior = None  # (k,)
        self.log_likelihood = {}  # word -> (k,)
        self.unknown = None  # (k,) log-likelihood of a word never seen

    def _words(self, text):
        return WORD.findall(text.lower() if self.params["lowercase"] else text)

    def fit(self, train, dev=None):
        if train.label_space.multilabel:
            raise ConfigError("teacher 'lexicon' handles single-label tasks only")
        k, alpha = len(train.label_space), float(self.params["alpha"])
        counts = [Counter() for _ in range(k)]
        for text, target in zip(train.texts, train.targets):
            counts[int(target.argmax())].update(self._words(text))
        vocabulary = set().union(*counts)
        totals = np.array([sum(c.values()) for c in counts], np.float64) + alpha * (len(vocabulary) + 1)
        self.log_prior = np.log((train.targets.sum(0) + 1.0) / (len(train) + k))
        self.log_likelihood = {w: np.log((np.array([c[w] for c in counts]) + alpha) / totals) for w in vocabulary}
        self.unknown = np.log(alpha / totals)
        self.label_space = train.label_space
        figures = {"vocabulary": len(vocabulary)}
        if dev is not None and len(dev):
            figures["dev_accuracy"] = float((self.predict_proba(dev.texts).argmax(1) == dev.targets.argmax(1)).mean())
        return figures

    def predict_proba(self, texts):
        if self.log_prior is None:
            raise ModelError("teacher 'lexicon' is not trained: call fit() or load() first")
        scores = np.tile(self.log_prior, (len(texts), 1))
        for i, text in enumerate(texts):
            for word in self._words(text):
                scores[i] += self.log_likelihood.get(word, self.unknown)
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)

    def save(self, path):
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / META_FILE).write_text(json.dumps({
            "params": dict(self.params),
            "label_space": self.label_space.to_json(),
            "log_prior": self.log_prior.tolist(),
            "unknown": self.unknown.tolist(),
            "words": {w: v.tolist() for w, v in self.log_likelihood.items()},
        }), encoding="utf-8")

    @classmethod
    def is_saved(cls, path):
        return (Path(path) / META_FILE).is_file()

    @classmethod
    def load(cls, path):
        try:
            saved = json.loads((Path(path) / META_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"{path}: not a saved 'lexicon' teacher (no {META_FILE})") from None
        teacher = cls(**saved["params"])
        teacher.label_space = kdtext.LabelSpace.from_json(saved["label_space"])
        teacher.log_prior, teacher.unknown = np.array(saved["log_prior"]), np.array(saved["unknown"])
        teacher.log_likelihood = {w: np.array(v) for w, v in saved["words"].items()}
        return teacher


@kdtext.hookimpl
def register_teachers(register):
    register("lexicon", LexiconTeacher)
