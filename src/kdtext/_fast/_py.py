"""Pure-Python twin of ``_kernels.pyx``: same API, same outputs, the executable specification.

Every random draw is a SplitMix64 output turned into a double in [0, 1) with 53 bits;
the compiled kernels make exactly the same draws in exactly the same order, so both
implementations give identical output for the same seed.

Random streams. Each (source document, round) pair has its own stream, seeded by
:func:`derive_seed` from the run seed, the document's *global* index and the round. A
shard of a corpus therefore gives the same examples whichever worker runs it and however
the corpus was split.

The procedure for one document in one round (``augment_round``), in draw order:

1. ``MODE_SENTENCE``: count the sentences of the document (its first token always starts
   one); with fewer than two, the document gives nothing. Otherwise draw ``u`` and keep
   sentence ``floor(u * count)``.
2. ``MODE_NGRAM``: draw ``u``; if ``u < p_ng``, draw ``n = n_min + floor(u * (n_max - n_min + 1))``
   (at most the window length) and a start ``floor(u * (length - n + 1))``, and keep that n-gram.
3. ``MODE_MASK`` / ``MODE_POS``: for each kept token draw ``u``; ``u < p_mask`` masks it,
   else ``u < p_mask + p_pos`` replaces it by a word of the same tag, drawn with one more
   ``u`` in proportion to the corpus counts (``pos_cum``); tags outside the table, or with
   no words, keep the word. The two replacements are mutually exclusive.

The kept tokens, with their whitespace flags (the last one's cleared), form the example.
Documents of no tokens give nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import (
    MODE_MASK,
    MODE_NGRAM,
    MODE_POS,
    MODE_SENTENCE,
    check_doc_keys,
    check_gather_args,
    check_hash_args,
    check_round_args,
)

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_DOC_MULT = 0xD1B54A32D192ED03
_ROUND_MULT = 0xAEF17502108EF2D9
_HASH_INIT = 0x243F6A8885A308D3
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


def splitmix64(state: int) -> tuple[int, int]:
    """One step of SplitMix64: returns (new_state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def _mix64(z: int) -> int:
    """SplitMix64's output function (a bijection on 64-bit integers)."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def uniform(seed: int, n: int) -> np.ndarray:
    """``n`` floats in [0, 1) from SplitMix64 seeded with ``seed`` (53-bit precision)."""
    out = np.empty(n, dtype=np.float64)
    state = seed & _MASK64
    for i in range(n):
        state, z = splitmix64(state)
        out[i] = (z >> 11) * _TO_UNIT
    return out


def derive_seed(seed: int, doc: int, rnd: int) -> int:
    """The RNG state of document ``doc`` (global index) in round ``rnd`` of a run seeded ``seed``."""
    a = _mix64((((seed & _MASK64) ^ ((doc * _DOC_MULT) & _MASK64)) + _GOLDEN) & _MASK64)
    return _mix64(((a ^ ((rnd * _ROUND_MULT) & _MASK64)) + _GOLDEN) & _MASK64)


def hash_spans(words: Any, spaces: Any, offsets: Any) -> np.ndarray:
    """A 64-bit hash (uint64) of each span's words and whitespace flags, the last flag ignored.

    Span ``i`` is ``[offsets[i], offsets[i+1])``. Equal hashes mean equal texts (up to
    hash collisions, about one in 2**64 per pair).
    """
    words, spaces, offsets = check_hash_args(words, spaces, offsets)
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.uint64)
    w_list = words.tolist()
    s_list = spaces.tolist()
    off = offsets.tolist()
    for i in range(n):
        out[i] = _hash_span(w_list, s_list, off[i], off[i + 1])
    return out


def _hash_span(words: list[int], spaces: list[int], start: int, end: int) -> int:
    h = _HASH_INIT
    for j in range(start, end):
        space = spaces[j] if j < end - 1 else 0
        x = words[j] * 2 + (1 if space else 0)
        h = _mix64(((h ^ x) + _GOLDEN) & _MASK64)
    return _mix64(((h ^ (end - start)) + _GOLDEN) & _MASK64)


def augment_round(
    words: Any,
    spaces: Any,
    tags: Any,
    sent_starts: Any,
    doc_offsets: Any,
    docs: Any,
    doc_base: int,
    seed: int,
    rnd: int,
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
    doc_keys: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One synthetic example per document of ``docs`` (at most), for round ``rnd``.

    Token arrays: ``words`` int32 vocabulary ids, ``spaces`` uint8 trailing-whitespace
    flags, ``tags`` int32 POS ids, ``sent_starts`` uint8 sentence-start flags. Document
    ``d`` is tokens ``[doc_offsets[d], doc_offsets[d+1])``; ``docs`` lists the (local)
    documents to use and ``doc_base + d`` is a document's global index (for its seed).
    ``doc_keys`` (uint64, one per document of ``doc_offsets``), when given, replaces the
    global index in the seed: document ``d``'s stream is ``derive_seed(seed, doc_keys[d], rnd)``,
    so a caller can make a document's examples depend on its content instead of its position.
    The POS table lists, for tag ``t``, words ``pos_words[pos_offsets[t]:pos_offsets[t+1]]``
    with inclusive cumulative counts ``pos_cum`` over the same range.

    Returns ``(out_words int32, out_spaces uint8, out_offsets int64 (n+1),
    out_docs int64 (local document of each example), out_hashes uint64)``.
    """
    (words, spaces, tags, sent_starts, doc_offsets, docs, pos_offsets, pos_words, pos_cum) = check_round_args(
        words, spaces, tags, sent_starts, doc_offsets, docs, mode,
        p_mask, p_pos, p_ng, n_min, n_max, mask_id, pos_offsets, pos_words, pos_cum,
    )  # fmt: skip
    w_list = words.tolist()
    s_list = spaces.tolist()
    t_list = tags.tolist()
    ss_list = sent_starts.tolist()
    off = doc_offsets.tolist()
    pos_off = pos_offsets.tolist()
    pos_w = pos_words.tolist()
    pos_c = pos_cum.tolist()
    n_tags = len(pos_off) - 1
    do_mask = bool(mode & MODE_MASK)
    do_pos = bool(mode & MODE_POS)
    t_mask = float(p_mask) if do_mask else 0.0
    t_pos = t_mask + (float(p_pos) if do_pos else 0.0)
    p_ng = float(p_ng)
    seed = int(seed)
    rnd = int(rnd)
    doc_base = int(doc_base)
    keys = None if doc_keys is None else check_doc_keys(doc_keys, len(off) - 1).tolist()

    out_w: list[int] = []
    out_s: list[int] = []
    out_off = [0]
    out_docs: list[int] = []
    out_hash: list[int] = []
    for d in docs.tolist():
        start, end = off[d], off[d + 1]
        if end <= start:
            continue
        state = derive_seed(seed, doc_base + d if keys is None else keys[d], rnd)
        if mode & MODE_SENTENCE:
            count = 1
            for i in range(start + 1, end):
                if ss_list[i]:
                    count += 1
            if count < 2:
                continue
            state, z = splitmix64(state)
            pick = int((z >> 11) * _TO_UNIT * count)
            if pick >= count:
                pick = count - 1
            k = 0
            sent_start = start
            i = start + 1
            while i < end:
                if ss_list[i]:
                    k += 1
                    if k == pick:
                        sent_start = i
                    elif k == pick + 1:
                        break
                i += 1
            start, end = sent_start, i
        if mode & MODE_NGRAM:
            state, z = splitmix64(state)
            if (z >> 11) * _TO_UNIT < p_ng:
                length = end - start
                state, z = splitmix64(state)
                n = n_min + int((z >> 11) * _TO_UNIT * (n_max - n_min + 1))
                if n > n_max:
                    n = n_max
                if n > length:
                    n = length
                state, z = splitmix64(state)
                shift = int((z >> 11) * _TO_UNIT * (length - n + 1))
                if shift > length - n:
                    shift = length - n
                start += shift
                end = start + n
        h = _HASH_INIT
        for i in range(start, end):
            w = w_list[i]
            if do_mask or do_pos:
                state, z = splitmix64(state)
                u = (z >> 11) * _TO_UNIT
                if u < t_mask:
                    w = mask_id
                elif u < t_pos:
                    t = t_list[i]
                    if 0 <= t < n_tags and pos_off[t + 1] > pos_off[t]:
                        lo, hi = pos_off[t], pos_off[t + 1]
                        total = pos_c[hi - 1]
                        state, z = splitmix64(state)
                        r = int((z >> 11) * _TO_UNIT * total)
                        if r >= total:
                            r = total - 1
                        # first k in [lo, hi) with pos_c[k] > r
                        while lo < hi:
                            mid = (lo + hi) // 2
                            if pos_c[mid] > r:
                                hi = mid
                            else:
                                lo = mid + 1
                        w = pos_w[lo]
            space = s_list[i] if i < end - 1 else 0
            out_w.append(w)
            out_s.append(space)
            h = _mix64(((h ^ (w * 2 + (1 if space else 0))) + _GOLDEN) & _MASK64)
        out_off.append(len(out_w))
        out_docs.append(d)
        out_hash.append(_mix64(((h ^ (end - start)) + _GOLDEN) & _MASK64))
    return (
        np.asarray(out_w, dtype=np.int32),
        np.asarray(out_s, dtype=np.uint8),
        np.asarray(out_off, dtype=np.int64),
        np.asarray(out_docs, dtype=np.int64),
        np.asarray(out_hash, dtype=np.uint64),
    )


class HashSet:
    """A set of 64-bit hashes, to drop duplicate examples (the compiled twin uses open addressing).

    ``add_new(hashes)`` inserts a batch and returns, for each, whether it was new (not in
    the set before, nor earlier in the batch). A hash of 0 counts as equal to ``_GOLDEN``
    (the compiled set reserves 0 for empty slots).
    """

    def __init__(self, capacity: int = 1024):
        self._set: set[int] = set()

    def __len__(self) -> int:
        return len(self._set)

    def add_new(self, hashes: Any) -> np.ndarray:
        """Insert ``hashes`` (uint64); returns a bool array: True where the hash was new."""
        values = np.ascontiguousarray(hashes, dtype=np.uint64).tolist()
        out = np.zeros(len(values), dtype=bool)
        seen = self._set
        for i, h in enumerate(values):
            key = h if h != 0 else _GOLDEN
            if key not in seen:
                seen.add(key)
                out[i] = True
        return out


def gather_rows(table_ids: Any, table_offsets: Any, rows: Any) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate rows ``rows`` of a ragged table (``table_ids`` int32, ``table_offsets`` int64).

    Returns ``(ids int32, offsets int64 (len(rows) + 1))``: row ``rows[i]`` of the table is
    ``ids[offsets[i]:offsets[i+1]]``. Used to emit teacher ids chunk by chunk.
    """
    table_ids, table_offsets, rows = check_gather_args(table_ids, table_offsets, rows)
    t_off = table_offsets.tolist()
    out: list[int] = []
    offsets = [0]
    flat = table_ids.tolist()
    for r in rows.tolist():
        out.extend(flat[t_off[r] : t_off[r + 1]])
        offsets.append(len(out))
    return np.asarray(out, dtype=np.int32), np.asarray(offsets, dtype=np.int64)
