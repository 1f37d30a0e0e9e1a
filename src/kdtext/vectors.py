"""Static word vectors for the student, taken from the teacher's own embedding table.

Tang et al. initialised their small student with pretrained word2vec vectors. No such
vectors install offline here, but every teacher carries a trained sub-word embedding
table: a word's vector is the mean of its sub-word rows, reduced by PCA to a few
dozen dimensions so the student stays small. The vectors are saved with the student's
spaCy pipeline (``spacy.load`` needs nothing else).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .errors import ConfigError, ModelError


def teacher_vocabulary(tokenizer: Any) -> list[str]:
    """The teacher tokenizer's whole words (no ``##`` continuations, no special tokens)."""
    special = set(getattr(tokenizer, "all_special_tokens", []))
    words = []
    for token in tokenizer.get_vocab():
        if token in special or token.startswith("##") or token.startswith("[") or token.startswith("<"):
            continue
        word = token.lstrip("\u2581\u0120")  # SentencePiece / byte-level BPE word markers
        if word and word.isprintable():
            words.append(word)
    return sorted(set(words))


def word_vectors(teacher: Any, words: Iterable[str], dims: int = 64, batch_size: int = 4096) -> tuple[list[str], np.ndarray]:
    """``(words, vectors)``: each word's mean sub-word input embedding of ``teacher``, PCA-reduced to ``dims``.

    ``teacher`` needs ``tokenizer`` and ``model`` attributes (the built-in ``bert``
    teacher has both). Words the tokenizer turns into nothing are dropped. float32.
    """
    tokenizer, model = getattr(teacher, "tokenizer", None), getattr(teacher, "model", None)
    if tokenizer is None or model is None or not hasattr(model, "get_input_embeddings"):
        raise ConfigError(f"teacher {getattr(teacher, 'name', '?')!r} has no embedding table to take word vectors from")
    table = model.get_input_embeddings().weight.detach().float().cpu().numpy()
    words = sorted(set(w for w in words if w and not w.isspace()))
    kept: list[str] = []
    rows: list[np.ndarray] = []
    for start in range(0, len(words), batch_size):
        batch = words[start : start + batch_size]
        encoded = tokenizer(batch, add_special_tokens=False)["input_ids"]
        for word, ids in zip(batch, encoded):
            if ids:
                kept.append(word)
                rows.append(table[ids].mean(axis=0))
    if not rows:
        raise ModelError("the teacher's tokenizer gave no sub-words for any word of the corpus")
    matrix = np.stack(rows).astype(np.float64)
    matrix -= matrix.mean(axis=0)
    dims = min(dims, matrix.shape[1], matrix.shape[0])
    # PCA through the SVD of the centred matrix; sign fixed so results are reproducible
    _, _, vt = np.linalg.svd(matrix[:: max(1, len(matrix) // 20000)], full_matrices=False)
    components = vt[:dims]
    components *= np.sign(components[:, :1] + 1e-12)
    reduced = matrix @ components.T
    reduced /= reduced.std() or 1.0
    return kept, reduced.astype(np.float32)


def save_vectors(path: str | os.PathLike, words: list[str], vectors: np.ndarray) -> None:
    from .io import atomic_write

    with atomic_write(path, "wb") as handle:
        np.savez(handle, words=np.array(words, dtype=object), vectors=vectors)


def load_vectors(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=True) as data:
            return [str(w) for w in data["words"]], np.asarray(data["vectors"], dtype=np.float32)
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read word vectors ({exc})") from None
