# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled augmentation kernels; ``_py.py`` is their pure-Python twin and specification.

The procedure, the order of random draws and the hash are documented in ``_py.py``;
this file must make the same draws in the same order. Inputs are checked by
``_common.check_*`` before any loop runs, so the loops below index without bounds checks.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

import numpy as np

from ._common import (
    MODE_MASK,
    MODE_NGRAM,
    MODE_POS,
    MODE_SENTENCE,
    check_gather_args,
    check_hash_args,
    check_doc_keys,
    check_round_args,
)

cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL
cdef uint64_t DOC_MULT = 0xD1B54A32D192ED03ULL
cdef uint64_t ROUND_MULT = 0xAEF17502108EF2D9ULL
cdef uint64_t HASH_INIT = 0x243F6A8885A308D3ULL
cdef double TO_UNIT = 1.0 / 9007199254740992.0


cdef inline uint64_t mix64(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline uint64_t splitmix64_next(uint64_t* state) noexcept nogil:
    state[0] += GOLDEN
    return mix64(state[0])


cdef inline double next_double(uint64_t* state) noexcept nogil:
    return (splitmix64_next(state) >> 11) * TO_UNIT


cdef inline uint64_t derive(uint64_t seed, uint64_t doc, uint64_t rnd) noexcept nogil:
    cdef uint64_t a = mix64((seed ^ (doc * DOC_MULT)) + GOLDEN)
    return mix64((a ^ (rnd * ROUND_MULT)) + GOLDEN)


cdef inline uint64_t hash_step(uint64_t h, int32_t word, uint8_t space) noexcept nogil:
    cdef uint64_t x = <uint64_t>word * 2 + (1 if space else 0)
    return mix64((h ^ x) + GOLDEN)


cdef inline int32_t sample_same_tag(
    uint64_t* state,
    int32_t tag,
    const int64_t[::1] pos_offsets,
    const int32_t[::1] pos_words,
    const int64_t[::1] pos_cum,
    int32_t fallback,
) noexcept nogil:
    """A word of tag ``tag`` drawn in proportion to its corpus count (``fallback`` if none)."""
    cdef Py_ssize_t n_tags = pos_offsets.shape[0] - 1
    if tag < 0 or tag >= n_tags:
        return fallback
    cdef int64_t lo = pos_offsets[tag]
    cdef int64_t hi = pos_offsets[tag + 1]
    if hi <= lo:
        return fallback
    cdef int64_t total = pos_cum[hi - 1]
    cdef int64_t r = <int64_t>(next_double(state) * total)
    if r >= total:
        r = total - 1
    cdef int64_t mid
    while lo < hi:
        mid = (lo + hi) // 2
        if pos_cum[mid] > r:
            hi = mid
        else:
            lo = mid + 1
    return pos_words[lo]


def uniform(seed, Py_ssize_t n):
    """``n`` floats in [0, 1) from SplitMix64 seeded with ``seed`` (53-bit precision)."""
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] view = out
    cdef uint64_t state = <uint64_t>(int(seed) & 0xFFFFFFFFFFFFFFFF)
    cdef Py_ssize_t i
    with nogil:
        for i in range(n):
            view[i] = next_double(&state)
    return out


def derive_seed(seed, doc, rnd):
    """The RNG state of document ``doc`` (global index) in round ``rnd`` of a run seeded ``seed``."""
    cdef uint64_t s = <uint64_t>(int(seed) & 0xFFFFFFFFFFFFFFFF)
    cdef uint64_t d = <uint64_t>(int(doc) & 0xFFFFFFFFFFFFFFFF)
    cdef uint64_t r = <uint64_t>(int(rnd) & 0xFFFFFFFFFFFFFFFF)
    return int(derive(s, d, r))


def hash_spans(words, spaces, offsets):
    """A 64-bit hash (uint64) of each span's words and whitespace flags, the last flag ignored."""
    words, spaces, offsets = check_hash_args(words, spaces, offsets)
    cdef const int32_t[::1] w = words
    cdef const uint8_t[::1] s = spaces
    cdef const int64_t[::1] off = offsets
    cdef Py_ssize_t n = off.shape[0] - 1
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] h_out = out
    cdef Py_ssize_t i
    cdef int64_t j
    cdef uint64_t h
    with nogil:
        for i in range(n):
            h = HASH_INIT
            for j in range(off[i], off[i + 1]):
                h = hash_step(h, w[j], s[j] if j < off[i + 1] - 1 else 0)
            h_out[i] = mix64((h ^ <uint64_t>(off[i + 1] - off[i])) + GOLDEN)
    return out


def augment_round(
    words, spaces, tags, sent_starts, doc_offsets, docs,
    doc_base, seed, rnd, int mode,
    double p_mask, double p_pos, double p_ng, int64_t n_min, int64_t n_max, int32_t mask_id,
    pos_offsets, pos_words, pos_cum, doc_keys=None,
):
    """One synthetic example per document of ``docs`` (at most), for round ``rnd``.

    See ``_py.augment_round`` for the arguments, the procedure and the return value.
    """
    (words, spaces, tags, sent_starts, doc_offsets, docs, pos_offsets, pos_words, pos_cum) = check_round_args(
        words, spaces, tags, sent_starts, doc_offsets, docs, mode,
        p_mask, p_pos, p_ng, n_min, n_max, mask_id, pos_offsets, pos_words, pos_cum,
    )
    cdef const int32_t[::1] w_in = words
    cdef const uint8_t[::1] s_in = spaces
    cdef const int32_t[::1] t_in = tags
    cdef const uint8_t[::1] ss_in = sent_starts
    cdef const int64_t[::1] off = doc_offsets
    cdef const int64_t[::1] doc_list = docs
    cdef const int64_t[::1] p_off = pos_offsets
    cdef const int32_t[::1] p_words = pos_words
    cdef const int64_t[::1] p_cum = pos_cum
    cdef uint64_t c_seed = <uint64_t>(int(seed) & 0xFFFFFFFFFFFFFFFF)
    cdef uint64_t c_rnd = <uint64_t>(int(rnd) & 0xFFFFFFFFFFFFFFFF)
    cdef uint64_t c_base = <uint64_t>(int(doc_base) & 0xFFFFFFFFFFFFFFFF)
    cdef bint keyed = doc_keys is not None
    keys_arr = check_doc_keys(doc_keys, off.shape[0] - 1) if keyed else np.zeros(1, dtype=np.uint64)
    cdef const uint64_t[::1] keys = keys_arr
    cdef Py_ssize_t n_docs_in = doc_list.shape[0]
    cdef Py_ssize_t k
    cdef int64_t capacity = 0
    for k in range(n_docs_in):
        capacity += off[doc_list[k] + 1] - off[doc_list[k]]

    out_words = np.empty(capacity, dtype=np.int32)
    out_spaces = np.empty(capacity, dtype=np.uint8)
    out_offsets = np.empty(n_docs_in + 1, dtype=np.int64)
    out_docs = np.empty(n_docs_in, dtype=np.int64)
    out_hashes = np.empty(n_docs_in, dtype=np.uint64)
    cdef int32_t[::1] o_w = out_words
    cdef uint8_t[::1] o_s = out_spaces
    cdef int64_t[::1] o_off = out_offsets
    cdef int64_t[::1] o_doc = out_docs
    cdef uint64_t[::1] o_hash = out_hashes

    cdef bint do_mask = (mode & MODE_MASK) != 0
    cdef bint do_pos = (mode & MODE_POS) != 0
    cdef bint do_ngram = (mode & MODE_NGRAM) != 0
    cdef bint do_sentence = (mode & MODE_SENTENCE) != 0
    cdef double t_mask = p_mask if do_mask else 0.0
    cdef double t_pos = t_mask + (p_pos if do_pos else 0.0)

    cdef Py_ssize_t n_out = 0
    cdef int64_t n_tok = 0
    cdef int64_t d, start, end, i, count, pick, sent_start, length, n, shift
    cdef uint64_t state, h
    cdef double u
    cdef int32_t w
    cdef uint8_t space
    o_off[0] = 0
    with nogil:
        for k in range(n_docs_in):
            d = doc_list[k]
            start = off[d]
            end = off[d + 1]
            if end <= start:
                continue
            if keyed:
                state = derive(c_seed, keys[d], c_rnd)
            else:
                state = derive(c_seed, c_base + <uint64_t>d, c_rnd)
            if do_sentence:
                count = 1
                for i in range(start + 1, end):
                    if ss_in[i]:
                        count += 1
                if count < 2:
                    continue
                pick = <int64_t>(next_double(&state) * count)
                if pick >= count:
                    pick = count - 1
                count = 0
                sent_start = start
                i = start + 1
                while i < end:
                    if ss_in[i]:
                        count += 1
                        if count == pick:
                            sent_start = i
                        elif count == pick + 1:
                            break
                    i += 1
                start = sent_start
                end = i
            if do_ngram:
                if next_double(&state) < p_ng:
                    length = end - start
                    n = n_min + <int64_t>(next_double(&state) * (n_max - n_min + 1))
                    if n > n_max:
                        n = n_max
                    if n > length:
                        n = length
                    shift = <int64_t>(next_double(&state) * (length - n + 1))
                    if shift > length - n:
                        shift = length - n
                    start += shift
                    end = start + n
            h = HASH_INIT
            for i in range(start, end):
                w = w_in[i]
                if do_mask or do_pos:
                    u = next_double(&state)
                    if u < t_mask:
                        w = mask_id
                    elif u < t_pos:
                        w = sample_same_tag(&state, t_in[i], p_off, p_words, p_cum, w)
                space = s_in[i] if i < end - 1 else 0
                o_w[n_tok] = w
                o_s[n_tok] = space
                n_tok += 1
                h = hash_step(h, w, space)
            o_hash[n_out] = mix64((h ^ <uint64_t>(end - start)) + GOLDEN)
            o_doc[n_out] = d
            n_out += 1
            o_off[n_out] = n_tok
    return (
        out_words[:n_tok],
        out_spaces[:n_tok],
        out_offsets[: n_out + 1],
        out_docs[:n_out],
        out_hashes[:n_out],
    )


cdef inline uint64_t nonzero_key(uint64_t h) noexcept nogil:
    # 0 marks an empty slot, so a hash of 0 is stored as another constant (both twins agree)
    return h if h != 0 else GOLDEN


cdef class HashSet:
    """A set of 64-bit hashes (open addressing, linear probing), to drop duplicate examples.

    ``add_new(hashes)`` inserts a batch and returns, for each, whether it was new (not in
    the set before, nor earlier in the batch). Same results as the twin's Python set.
    """

    cdef object _table
    cdef Py_ssize_t count

    def __init__(self, Py_ssize_t capacity=1024):
        cdef Py_ssize_t size = 16
        while size < 2 * capacity:
            size *= 2
        self._table = np.zeros(size, dtype=np.uint64)
        self.count = 0

    def __len__(self):
        return self.count

    cdef void _grow(self, Py_ssize_t needed):
        cdef uint64_t[::1] old = self._table
        cdef Py_ssize_t size = old.shape[0]
        while size < 2 * needed:
            size *= 2
        if size == old.shape[0]:
            return
        new_table = np.zeros(size, dtype=np.uint64)
        cdef uint64_t[::1] new = new_table
        cdef uint64_t mask = <uint64_t>size - 1
        cdef Py_ssize_t i
        cdef uint64_t slot
        with nogil:
            for i in range(old.shape[0]):
                if old[i] != 0:
                    slot = old[i] & mask
                    while new[slot] != 0:
                        slot = (slot + 1) & mask
                    new[slot] = old[i]
        self._table = new_table

    def add_new(self, hashes):
        """Insert ``hashes`` (uint64); returns a bool array: True where the hash was new."""
        arr = np.ascontiguousarray(hashes, dtype=np.uint64)
        cdef const uint64_t[::1] h = arr
        cdef Py_ssize_t n = h.shape[0]
        self._grow(self.count + n)
        cdef uint64_t[::1] table = self._table
        cdef uint64_t mask = <uint64_t>table.shape[0] - 1
        out = np.zeros(n, dtype=bool)
        cdef uint8_t[::1] fresh = out.view(np.uint8)
        cdef Py_ssize_t i, added = 0
        cdef uint64_t key, slot
        with nogil:
            for i in range(n):
                key = nonzero_key(h[i])
                slot = key & mask
                while table[slot] != 0 and table[slot] != key:
                    slot = (slot + 1) & mask
                if table[slot] == 0:
                    table[slot] = key
                    fresh[i] = 1
                    added += 1
        self.count += added
        return out


def gather_rows(table_ids, table_offsets, rows):
    """Concatenate rows ``rows`` of a ragged table (``table_ids`` int32, ``table_offsets`` int64).

    Returns ``(ids int32, offsets int64 (len(rows) + 1))``: row ``rows[i]`` of the table is
    ``ids[offsets[i]:offsets[i+1]]``. Used to emit teacher ids chunk by chunk.
    """
    table_ids, table_offsets, rows = check_gather_args(table_ids, table_offsets, rows)
    cdef const int32_t[::1] t_ids = table_ids
    cdef const int64_t[::1] t_off = table_offsets
    cdef const int64_t[::1] r = rows
    cdef Py_ssize_t n = r.shape[0]
    offsets = np.empty(n + 1, dtype=np.int64)
    cdef int64_t[::1] off = offsets
    cdef Py_ssize_t i
    cdef int64_t total = 0, j, a, b
    off[0] = 0
    with nogil:
        for i in range(n):
            total += t_off[r[i] + 1] - t_off[r[i]]
            off[i + 1] = total
    ids = np.empty(total, dtype=np.int32)
    cdef int32_t[::1] out = ids
    with nogil:
        for i in range(n):
            a = t_off[r[i]]
            b = t_off[r[i] + 1]
            for j in range(b - a):
                out[off[i] + j] = t_ids[a + j]
    return ids, offsets
