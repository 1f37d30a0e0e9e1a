"""Checks on what a teacher returns, before anything is trained on it or cached.

Any teacher (built-in or plugin) can go through :func:`check_teacher_output`: NaN or
infinite values, probabilities outside [0, 1], single-label rows that do not sum to 1,
and a wrong number of rows or columns are each one :class:`TeacherOutputError`
(the same check as students', :func:`kdtext.validate.check_probabilities`).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import TeacherOutputError
from ..labels import LabelSpace
from ..validate import check_probabilities, first_example


def check_teacher_output(
    probs: Any,
    n_rows: int,
    label_space: LabelSpace,
    *,
    teacher: str = "teacher",
    where: Callable[[int], str] | None = None,
) -> np.ndarray:
    """Validate a teacher's probabilities; returns them as float32 ``(n_rows, n_labels)``.

    ``where(i)`` names example ``i`` in messages (e.g. ``Dataset.where``). The check is
    :func:`kdtext.validate.check_probabilities`, shared with students; this raises
    :class:`TeacherOutputError` on the first kind of problem found.
    """
    return check_probabilities(probs, n_rows, label_space, who=teacher, where=where, error=TeacherOutputError)


def check_logits(logits: np.ndarray, *, teacher: str = "teacher", where: Callable[[int], str] | None = None) -> None:
    """Raise :class:`TeacherOutputError` if any raw score is NaN or infinite."""
    bad = ~np.isfinite(logits).all(axis=1)
    if bad.any():
        raise TeacherOutputError(
            f"{teacher} produced NaN or infinite scores for {int(bad.sum())} of {len(logits)} examples "
            f"(first: {first_example(bad, where)}); the model's weights may be corrupt or it overflowed in half precision"
        )


def check_representations(
    representations: Any, n_rows: int, *, teacher: str = "teacher", where: Callable[[int], str] | None = None
) -> np.ndarray:
    """The sentence representations a teacher was asked for, as float16 ``(n_rows, dims)``; anything
    missing, of another shape, NaN or infinite (in float16 too) is one :class:`TeacherOutputError`."""
    if representations is None:
        raise TeacherOutputError(f"{teacher} was asked for sentence representations and returned none")
    try:
        array = np.asarray(representations, dtype=np.float16)
    except (TypeError, ValueError) as exc:
        raise TeacherOutputError(f"{teacher} returned sentence representations that are not a numeric matrix: {exc}") from None
    if array.ndim != 2 or array.shape[0] != n_rows or (n_rows and not array.shape[1]):
        raise TeacherOutputError(f"{teacher} returned sentence representations of shape {array.shape}, expected ({n_rows}, dims)")
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise TeacherOutputError(
            f"{teacher} returned NaN or infinite sentence representations (in float16) for {int(bad.sum())} of {n_rows} "
            f"examples (first: {first_example(bad, where)})"
        )
    return array
