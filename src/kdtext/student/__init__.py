"""Students: building one by name, loading a saved one, evaluating one on a test set.

The spaCy students themselves live in :mod:`kdtext.student.spacy_student`; they are
registered as ``spacy-cnn`` and ``spacy-bow`` by ``kdtext.default_plugins.spacy_students``.
spaCy is imported only when a student is built, trained or loaded.
"""

from __future__ import annotations

import os
from typing import Any

from ..base import Student
from ..data import Dataset
from ..errors import ModelError


def build_student(name: str, **params: Any) -> Student:
    """An untrained student of the registered kind ``name`` (``UnknownPluginError`` lists the others)."""
    from ..plugins import get_student

    return get_student(name)(**params)


def load_student(path: str | os.PathLike) -> Student:
    """A student saved by ``Student.save``, of the kind named in its ``kdtext_student.json``."""
    from ..plugins import get_student
    from .spacy_student import read_student_meta

    meta = read_student_meta(path)
    name = meta.get("student")
    if not isinstance(name, str) or not name:
        raise ModelError(f"{path}: the student metadata does not name the student kind")
    return get_student(name).load(path)


def evaluate_student(student: Student, test: Dataset, *, size_bytes: int | None = None) -> dict[str, Any]:
    """Test-set metrics of a trained student, with ``docs_per_second`` and ``size_bytes``.

    Accuracy, macro-F1, per-class precision/recall/F1, the confusion matrix (see
    :mod:`kdtext.metrics`); ``docs_per_second`` times ``predict_proba`` on the raw test
    texts (tokenization included, as in production). ``size_bytes`` is measured by
    saving the student when not given.
    """
    from ..metrics import evaluate_predictions

    space = student.label_space
    if space is None:
        raise ModelError(f"student {student.name!r} is not trained")
    if test.label_space != space:
        raise ModelError(
            f"the test data has labels {list(test.label_space.labels)}, the student {list(space.labels)}"
        )
    if size_bytes is None:
        size_bytes = student.size_bytes()
    return evaluate_predictions(
        student.predict_proba, test.texts, test.targets, space.labels, space.multilabel, size_bytes=size_bytes
    )


__all__ = ["build_student", "evaluate_student", "load_student"]
