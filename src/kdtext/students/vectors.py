"""Static word vectors for the distilled student, taken from the teacher itself.

Tang et al. initialised their small student with pretrained word2vec vectors. No such
vectors install offline here, but a teacher can give a vector for a word
(:meth:`kdtext.Teacher.word_vectors`; the built-in ``bert`` teacher two ways, see
:mod:`kdtext.default_plugins.bert.vectors`). :func:`word_vectors` asks the teacher for
the vectors of the run's words (``kdtext run`` adds the words the teacher knows itself,
:meth:`kdtext.Teacher.vocabulary`), and reduces them by PCA
to a few dozen dimensions so the student stays small. The vectors are saved with the
student's spaCy pipeline (``spacy.load`` needs nothing else); :func:`save_vectors` and
:func:`load_vectors` are the ``.npz`` file that a student's ``vectors`` parameter names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np

from ..base import WORD_VECTOR_SOURCES
from ..errors import ConfigError, ModelError, PluginError

if TYPE_CHECKING:
    from ..base import Teacher


def word_vectors(
    teacher: "Teacher",
    words: Iterable[str],
    dims: int = 64,
    source: str = "encoder",
    progress: Callable[[int], None] | None = None,
    device: str | None = None,
) -> tuple[list[str], np.ndarray] | None:
    """``(words, vectors)``: the teacher's vector of each word, PCA-reduced to ``dims``, float32.

    ``source`` is one of :data:`kdtext.base.WORD_VECTOR_SOURCES`;
    ``progress(k)`` and ``device`` go to :meth:`kdtext.Teacher.word_vectors`. None when the
    teacher gives no word vectors.
    """
    if source not in WORD_VECTOR_SOURCES:
        raise ConfigError(f"unknown word-vector source {source!r}; use {' or '.join(WORD_VECTOR_SOURCES)}")
    wanted = sorted({w for w in words if w and not w.isspace()})
    got = teacher.word_vectors(wanted, source=source, device=device, progress=progress)
    if got is None:
        return None
    kept, matrix = list(got[0]), np.asarray(got[1])
    who = f"teacher {getattr(teacher, 'name', '') or type(teacher).__name__!r}"
    if matrix.ndim != 2 or len(matrix) != len(kept) or not np.isfinite(matrix).all():
        raise PluginError(f"{who}: word_vectors() must give {len(kept)} finite vectors, one per word kept; got shape {matrix.shape}")
    if not kept:
        raise ModelError(f"{who} gave no word vector for any word of the corpus")
    return kept, reduce_dimensions(matrix, dims)


def reduce_dimensions(matrix: np.ndarray, dims: int) -> np.ndarray:
    """``matrix`` centred, projected on its first ``dims`` principal components, unit overall std, float32."""
    matrix = np.asarray(matrix, dtype=np.float64)
    matrix = matrix - matrix.mean(axis=0)
    dims = min(dims, matrix.shape[1], matrix.shape[0])
    # PCA through the SVD of the centred matrix; sign fixed so results are reproducible
    _, _, vt = np.linalg.svd(matrix[:: max(1, len(matrix) // 20000)], full_matrices=False)
    components = vt[:dims]
    components *= np.sign(components[:, :1] + 1e-12)
    reduced = matrix @ components.T
    reduced /= reduced.std() or 1.0
    return reduced.astype(np.float32)


def save_vectors(path: str | os.PathLike, words: list[str], vectors: np.ndarray) -> None:
    from ..io import atomic_write

    with atomic_write(path, "wb") as handle:
        np.savez(handle, words=np.array(words, dtype=object), vectors=vectors)


def load_vectors(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=True) as data:
            return [str(w) for w in data["words"]], np.asarray(data["vectors"], dtype=np.float32)
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read word vectors ({exc})") from None
