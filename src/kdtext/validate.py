"""Checks on the probabilities a plugin (teacher or student) hands back to kdtext.

:func:`check_probabilities` is the one check both plugin types go through: NaN or
infinite values, probabilities outside [0, 1], single-label rows that do not sum to 1,
and a wrong number of rows or columns are each one error naming the plugin and the
first example concerned. Teachers raise :class:`~kdtext.errors.TeacherOutputError`,
students :class:`~kdtext.errors.StudentOutputError`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .data import SUM_TOLERANCE
from .errors import PluginOutputError
from .labels import LabelSpace


def first_example(bad: np.ndarray, where: Callable[[int], str] | None) -> str:
    """How messages name the first example where ``bad`` is true: ``where(i)``, else "example i"."""
    index = int(np.flatnonzero(bad)[0])
    return where(index) if where is not None else f"example {index}"


def check_probabilities(
    probs: Any,
    n_rows: int,
    label_space: LabelSpace,
    *,
    who: str,
    where: Callable[[int], str] | None = None,
    error: type[PluginOutputError] = PluginOutputError,
) -> np.ndarray:
    """Validate ``probs`` from plugin ``who``; returns them as float32 ``(n_rows, n_labels)``.

    ``who`` opens every message (``"teacher 'bert'"``, ``"student 'tfidf'"``);
    ``where(i)`` names example ``i`` (e.g. ``Dataset.where``). Raises ``error`` on the
    first kind of problem found.
    """
    try:
        array = np.asarray(probs, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise error(f"{who} returned something that is not a numeric matrix: {exc}") from None
    k = len(label_space)
    if array.ndim != 2 or array.shape != (n_rows, k):
        raise error(
            f"{who} returned probabilities of shape {tuple(array.shape)}, expected ({n_rows}, {k}): "
            f"one row per example and one column per label ({', '.join(label_space.labels)})"
        )
    if n_rows == 0:
        return array
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise error(
            f"{who} returned NaN or infinite probabilities for {int(bad.sum())} of {n_rows} examples "
            f"(first: {first_example(bad, where)})"
        )
    bad = ((array < 0.0) | (array > 1.0)).any(axis=1)
    if bad.any():
        raise error(
            f"{who} returned probabilities outside [0, 1] for {int(bad.sum())} of {n_rows} examples "
            f"(first: {first_example(bad, where)})"
        )
    if not label_space.multilabel:
        sums = array.sum(axis=1)
        bad = np.abs(sums - 1.0) > SUM_TOLERANCE
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise error(
                f"{who} returned single-label probabilities that do not sum to 1 for {int(bad.sum())} of "
                f"{n_rows} examples (first: {first_example(bad, where)}, sum {sums[first]:.4f})"
            )
    return array
