"""Pieces shared by both implementations: mode flags, constants and argument checks.

Both :mod:`kdtext._fast._kernels` and :mod:`kdtext._fast._py` check their inputs here,
before any loop runs, so malformed arrays or parameters raise one clear error instead of
reading out of bounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Bit flags of :func:`augment_round`'s ``mode``; combine them with ``|``.
MODE_MASK = 1  # replace a word with the mask token with probability p_mask
MODE_POS = 2  # replace a word with a same-POS word with probability p_pos
MODE_NGRAM = 4  # with probability p_ng keep only a random n-gram
MODE_SENTENCE = 8  # keep only one random sentence (documents of 2+ sentences only)
MODE_ALL = MODE_MASK | MODE_POS | MODE_NGRAM | MODE_SENTENCE


class KernelInputError(ValueError):
    """Arrays or parameters that a kernel cannot run on (checked before any loop runs).

    The kernels import nothing of kdtext: their driver (:func:`kdtext.augment.kernels.run_kernel`)
    turns this into kdtext's :class:`~kdtext.errors.ConfigError` for users."""


def _array(name: str, value: Any, dtype: type) -> np.ndarray:
    arr = np.ascontiguousarray(value)
    if arr.ndim != 1:
        raise KernelInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype != dtype:
        if arr.size and not np.can_cast(arr.dtype, dtype, casting="same_kind"):
            raise KernelInputError(f"{name} must hold {np.dtype(dtype).name}, got {arr.dtype}")
        arr = arr.astype(dtype)
    return arr


def check_round_args(
    words: Any,
    spaces: Any,
    tags: Any,
    sent_starts: Any,
    doc_offsets: Any,
    docs: Any,
    mode: int,
    p_mask: float,
    p_pos: float,
    p_ng: float,
    n_min: int,
    n_max: int,
    mask_id: int,
    pos_offsets: Any,
    pos_words: Any,
    pos_cum: Any,
) -> tuple[np.ndarray, ...]:
    """Validate and convert the arguments of ``augment_round``; returns the arrays, contiguous.

    Raises :class:`KernelInputError` for anything a kernel could not run on safely.
    """
    words = _array("words", words, np.int32)
    spaces = _array("spaces", spaces, np.uint8)
    tags = _array("tags", tags, np.int32)
    sent_starts = _array("sent_starts", sent_starts, np.uint8)
    doc_offsets = _array("doc_offsets", doc_offsets, np.int64)
    docs = _array("docs", docs, np.int64)
    pos_offsets = _array("pos_offsets", pos_offsets, np.int64)
    pos_words = _array("pos_words", pos_words, np.int32)
    pos_cum = _array("pos_cum", pos_cum, np.int64)
    n_tokens = words.shape[0]
    if not (spaces.shape[0] == tags.shape[0] == sent_starts.shape[0] == n_tokens):
        raise KernelInputError("words, spaces, tags and sent_starts must have the same length")
    if doc_offsets.shape[0] < 1:
        raise KernelInputError("doc_offsets needs at least one entry (n_docs + 1)")
    if doc_offsets[0] < 0 or doc_offsets[-1] > n_tokens or np.any(np.diff(doc_offsets) < 0):
        raise KernelInputError("doc_offsets must be non-decreasing and within the token arrays")
    n_docs = doc_offsets.shape[0] - 1
    if docs.size and (docs.min() < 0 or docs.max() >= n_docs):
        raise KernelInputError(f"docs must index documents 0..{n_docs - 1}")
    if not 0 <= mode <= MODE_ALL:
        raise KernelInputError(f"unknown mode {mode}")
    for name, p in (("p_mask", p_mask), ("p_pos", p_pos), ("p_ng", p_ng)):
        if not (0.0 <= float(p) <= 1.0):
            raise KernelInputError(f"{name} must be between 0 and 1, got {p}")
    if (mode & MODE_MASK) and (mode & MODE_POS) and float(p_mask) + float(p_pos) > 1.0:
        raise KernelInputError(f"p_mask + p_pos must be at most 1, got {float(p_mask) + float(p_pos)}")
    if mode & MODE_NGRAM and not (1 <= n_min <= n_max):
        raise KernelInputError(f"n-gram lengths need 1 <= n_min <= n_max, got n_min={n_min}, n_max={n_max}")
    if mode & MODE_MASK and not 0 <= mask_id < 2**31:
        raise KernelInputError(f"mask_id must be a vocabulary id, got {mask_id}")
    if n_tokens and words.min() < 0:
        raise KernelInputError("word ids must be non-negative")
    if mode & MODE_POS:
        n_tags = pos_offsets.shape[0] - 1
        if n_tags < 0:
            raise KernelInputError("pos_offsets needs n_tags + 1 entries")
        if pos_offsets[0] != 0 or pos_offsets[-1] != pos_words.shape[0] or np.any(np.diff(pos_offsets) < 0):
            raise KernelInputError("pos_offsets must be non-decreasing from 0 to len(pos_words)")
        if pos_cum.shape[0] != pos_words.shape[0]:
            raise KernelInputError("pos_cum and pos_words must have the same length")
        for t in range(n_tags):
            seg = pos_cum[pos_offsets[t] : pos_offsets[t + 1]]
            if seg.size and (seg[0] <= 0 or np.any(np.diff(seg) <= 0)):
                raise KernelInputError("pos_cum must be strictly increasing, positive counts within each tag")
        if pos_words.size and pos_words.min() < 0:
            raise KernelInputError("pos_words must be non-negative word ids")
    return words, spaces, tags, sent_starts, doc_offsets, docs, pos_offsets, pos_words, pos_cum


def check_doc_keys(doc_keys: Any, n_docs: int) -> np.ndarray:
    """Validate ``augment_round``'s ``doc_keys``: one unsigned 64-bit key per document (uint64, contiguous)."""
    keys = np.ascontiguousarray(doc_keys)
    if keys.ndim != 1 or keys.shape[0] != n_docs:
        raise KernelInputError(f"doc_keys must hold one key per document ({n_docs}), got shape {keys.shape}")
    if keys.dtype != np.uint64:
        if keys.size and keys.dtype.kind not in "iu":
            raise KernelInputError(f"doc_keys must hold integers, got {keys.dtype}")
        keys = keys.astype(np.uint64)  # wrapping: a negative int64 key is its two's complement
    return keys


def check_hash_args(words: Any, spaces: Any, offsets: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the arguments of ``hash_spans``."""
    words = _array("words", words, np.int32)
    spaces = _array("spaces", spaces, np.uint8)
    offsets = _array("offsets", offsets, np.int64)
    if spaces.shape[0] != words.shape[0]:
        raise KernelInputError("words and spaces must have the same length")
    if offsets.shape[0] < 1:
        raise KernelInputError("offsets needs at least one entry (n_spans + 1)")
    if offsets[0] < 0 or offsets[-1] > words.shape[0] or np.any(np.diff(offsets) < 0):
        raise KernelInputError("offsets must be non-decreasing and within the token arrays")
    return words, spaces, offsets


def check_gather_args(table_ids: Any, table_offsets: Any, rows: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the arguments of ``gather_rows``."""
    table_ids = _array("table_ids", table_ids, np.int32)
    table_offsets = _array("table_offsets", table_offsets, np.int64)
    rows = _array("rows", rows, np.int64)
    if table_offsets.shape[0] < 1:
        raise KernelInputError("table_offsets needs at least one entry (n_rows + 1)")
    if table_offsets[0] < 0 or table_offsets[-1] > table_ids.shape[0] or np.any(np.diff(table_offsets) < 0):
        raise KernelInputError("table_offsets must be non-decreasing and within table_ids")
    if rows.size and (rows.min() < 0 or rows.max() >= table_offsets.shape[0] - 1):
        raise KernelInputError(f"rows must index table rows 0..{table_offsets.shape[0] - 2}")
    return table_ids, table_offsets, rows
