"""Checks on what a teacher returns, before anything is trained on it or cached.

Any teacher (built-in or plugin) can go through :func:`check_teacher_output`: NaN or
infinite values, probabilities outside [0, 1], single-label rows that do not sum to 1,
and a wrong number of rows or columns are each one :class:`TeacherOutputError`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..data import SUM_TOLERANCE
from ..errors import TeacherOutputError
from ..labels import LabelSpace


def _first(bad: np.ndarray, where: Callable[[int], str] | None) -> str:
    index = int(np.flatnonzero(bad)[0])
    return where(index) if where is not None else f"example {index}"


def check_teacher_output(
    probs: Any,
    n_rows: int,
    label_space: LabelSpace,
    *,
    teacher: str = "teacher",
    where: Callable[[int], str] | None = None,
) -> np.ndarray:
    """Validate a teacher's probabilities; returns them as float32 ``(n_rows, n_labels)``.

    ``where(i)`` names example ``i`` in messages (e.g. ``Dataset.where``).
    Raises :class:`TeacherOutputError` on the first kind of problem found.
    """
    try:
        array = np.asarray(probs, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TeacherOutputError(f"{teacher} returned something that is not a numeric matrix: {exc}") from None
    k = len(label_space)
    if array.ndim != 2 or array.shape != (n_rows, k):
        raise TeacherOutputError(
            f"{teacher} returned probabilities of shape {tuple(array.shape)}, expected ({n_rows}, {k}): "
            f"one row per example and one column per label ({', '.join(label_space.labels)})"
        )
    if n_rows == 0:
        return array
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise TeacherOutputError(
            f"{teacher} returned NaN or infinite probabilities for {int(bad.sum())} of {n_rows} examples "
            f"(first: {_first(bad, where)})"
        )
    bad = ((array < 0.0) | (array > 1.0)).any(axis=1)
    if bad.any():
        raise TeacherOutputError(
            f"{teacher} returned probabilities outside [0, 1] for {int(bad.sum())} of {n_rows} examples "
            f"(first: {_first(bad, where)})"
        )
    if not label_space.multilabel:
        sums = array.sum(axis=1)
        bad = np.abs(sums - 1.0) > SUM_TOLERANCE
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise TeacherOutputError(
                f"{teacher} returned single-label probabilities that do not sum to 1 for {int(bad.sum())} of "
                f"{n_rows} examples (first: {_first(bad, where)}, sum {sums[first]:.4f})"
            )
    return array


def check_logits(logits: np.ndarray, *, teacher: str = "teacher", where: Callable[[int], str] | None = None) -> None:
    """Raise :class:`TeacherOutputError` if any raw score is NaN or infinite."""
    bad = ~np.isfinite(logits).all(axis=1)
    if bad.any():
        raise TeacherOutputError(
            f"{teacher} produced NaN or infinite scores for {int(bad.sum())} of {len(logits)} examples "
            f"(first: {_first(bad, where)}); the model's weights may be corrupt or it overflowed in half precision"
        )
