"""Students: building one by name, training, saving and loading one, evaluating one on a test set.

Every student goes through these functions, whatever plugin provides it (the contract
is :class:`kdtext.Student`): :func:`fit_student` trains it and checks what it hands
back (its :class:`~kdtext.FitResult` and its probabilities on a few dev examples),
:func:`save_student` saves it and writes ``kdtext_student.json``, :func:`load_student`
reads it back by the name in that file.

The spaCy students themselves live in :mod:`kdtext.default_plugins.spacy.student` and
:mod:`kdtext.default_plugins.spacy.fast`; they are registered as ``spacy-fast``, ``spacy-cnn`` and
``spacy-bow`` by ``kdtext.default_plugins.spacy``.
spaCy is imported only when a student is built, trained or loaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..base import FitResult, Student
from ..data import Dataset
from ..errors import ModelError, StudentOutputError
from .metadata import FORMAT_VERSION, META_FILE, read_student_meta

#: Dev examples a freshly trained student predicts on before anything else uses it.
CHECK_EXAMPLES = 8


def build_student(name: str, **params: Any) -> Student:
    """An untrained student of the registered kind ``name`` (``UnknownPluginError`` lists the others)."""
    from ..plugins import get_student

    return get_student(name)(**params)


def check_student_output(student: Student, dataset: Dataset, *, name: str, n: int = CHECK_EXAMPLES) -> None:
    """Predict on the first ``n`` examples of ``dataset``; a broken output is one StudentOutputError.

    NaN or infinite values, values outside [0, 1], single-label rows that do not sum to
    1 and a wrong shape are caught here, named by the student and the example.
    """
    from ..validate import check_probabilities

    texts = dataset.texts[:n]
    if not texts:
        return
    try:
        probs = student.predict_proba(texts)
    except Exception as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise StudentOutputError(f"student {name!r}: predict_proba failed right after training: {type(exc).__name__}: {exc}") from exc
    check_probabilities(
        probs, len(texts), dataset.label_space, who=f"student {name!r}", where=dataset.where, error=StudentOutputError
    )


def fit_student(
    student: Student, train: Dataset, dev: Dataset, transfer: Dataset | None = None, *, seed: int = 0, name: str | None = None
) -> FitResult:
    """``student.fit(...)``, its result checked as a :class:`FitResult` and its outputs on a few dev examples.

    ``name`` is the registered name (for messages); the student's ``label_space`` is set
    from ``train`` if ``fit`` left it unset.
    """
    name = name or student.name or type(student).__name__
    result = FitResult.coerce(student.fit(train, dev, transfer, seed=seed), student=f"student {name!r}")
    if student.label_space is None:
        student.label_space = train.label_space
    elif student.label_space != train.label_space:
        raise StudentOutputError(
            f"student {name!r} set label_space {list(student.label_space.labels)}, "
            f"but the training data has {list(train.label_space.labels)}"
        )
    check_student_output(student, dev, name=name)
    return result


def _origin(name: str) -> dict[str, str]:
    """The distribution and version of the plugin that registered student ``name``."""
    from ..plugins import get

    registration = get("register_students", name)
    return {"distribution": registration.distribution, "version": registration.version}


def student_metadata(student: Student, *, name: str, figures: FitResult | dict[str, Any] | None = None) -> dict[str, Any]:
    """What ``kdtext_student.json`` holds for ``student`` (registered as ``name``)."""
    from .. import __version__

    if student.label_space is None:
        raise ModelError(f"student {name!r} is not trained: nothing to save")
    if isinstance(figures, FitResult):
        figures = figures.as_dict()
    return _jsonable({
        "format": FORMAT_VERSION,
        "student": name,
        "kdtext_version": __version__,
        "plugin": _origin(name),
        "label_space": student.label_space.to_json(),
        "params": dict(student.params),
        "figures": figures or {},
    })  # fmt: skip


def save_student(
    student: Student, path: str | os.PathLike, *, name: str | None = None, figures: FitResult | dict[str, Any] | None = None
) -> Path:
    """``student.save(path)``, then ``kdtext_student.json`` beside the model; returns ``path``.

    ``name`` is the registered name (default: ``student.name``); ``figures`` the result
    of training (:class:`~kdtext.FitResult` or a dict; default: none). The metadata is
    built before the model is written, so an untrained student writes nothing.
    """
    from ..io import write_json

    name = name or student.name
    if not name:
        raise ModelError(f"{type(student).__name__}: give the registered student name to save it")
    path = Path(path)
    meta = student_metadata(student, name=name, figures=figures)
    student.save(path)
    if not path.is_dir():
        raise StudentOutputError(f"student {name!r}: save() did not create the directory {path}")
    write_json(path / META_FILE, meta)
    return path


def load_student(path: str | os.PathLike) -> Student:
    """A student saved by :func:`save_student`, of the kind named in its ``kdtext_student.json``.

    The class is looked up by that name and its ``load(path)`` is called; a
    ``label_space`` the plugin left unset is taken from the metadata.
    """
    from ..labels import LabelSpace
    from ..plugins import get_student

    meta = read_student_meta(path)
    name = meta.get("student")
    if not isinstance(name, str) or not name:
        raise ModelError(f"{path}: the student metadata does not name the student kind")
    student = get_student(name).load(path)
    if student.label_space is None:
        student.label_space = LabelSpace.from_json(meta["label_space"])
    return student


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


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into plain Python, for JSON."""
    import json

    return json.loads(json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


__all__ = [
    "META_FILE",
    "build_student",
    "check_student_output",
    "evaluate_student",
    "fit_student",
    "load_student",
    "read_student_meta",
    "save_student",
    "student_metadata",
]
