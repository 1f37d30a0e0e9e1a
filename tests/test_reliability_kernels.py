"""The compiled kernels under fuzzing at the edges (p=0, p=1, n past the text, empty and huge
corpora), against the pure-Python twin, and a check that repeated calls do not leak.

``tests/test_kernels.py`` fuzzes typical parameters; this file fuzzes the extremes and the
other kernels (``hash_spans``, ``HashSet``, ``gather_rows``).
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdtext._fast import _common, _kernels, _py
from kdtext.augment.pos_table import PosTable

from test_kernels import MASK_ID, make_corpus, run, same

EDGE_P = st.sampled_from([0.0, 1.0, 0.5, 1e-300, 1 - 1e-16])


@st.composite
def edge_inputs(draw):
    n_docs = draw(st.integers(0, 6))
    lengths = draw(st.lists(st.sampled_from([0, 1, 2, 3, 50]), min_size=n_docs, max_size=n_docs))
    n = sum(lengths)
    words = np.asarray(draw(st.lists(st.integers(0, 2**31 - 1), min_size=n, max_size=n)), np.int32)
    n_tags = draw(st.integers(0, 3))
    tags = (words % max(n_tags, 1)).astype(np.int32)
    spaces = np.asarray(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), np.uint8)
    sent = np.asarray(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), np.uint8)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    vocab = int(words.max()) + 1 if n else 1
    table = PosTable.from_arrays(words, tags, n_tags, vocab) if n_tags and n else PosTable.empty()
    p_mask = draw(EDGE_P)
    p_pos = draw(EDGE_P.filter(lambda p: p <= 1 - p_mask))
    n_min = draw(st.sampled_from([1, 2, 49, 50, 51, 10**6]))
    params = dict(
        seed=draw(st.sampled_from([0, -1, 2**63, 2**64 - 1])),
        rnd=draw(st.integers(0, 3)),
        doc_base=draw(st.sampled_from([0, 2**62])),
        p_mask=p_mask,
        p_pos=p_pos,
        p_ng=draw(EDGE_P),
        n_min=n_min,
        n_max=draw(st.sampled_from([n_min, n_min + 1, 2**62])),
    )
    docs = np.arange(n_docs, dtype=np.int64)
    if draw(st.booleans()) and n_docs:
        docs = np.asarray(draw(st.lists(st.integers(0, n_docs - 1), max_size=12)), np.int64)  # repeats allowed
    mode = draw(st.integers(0, _common.MODE_ALL))
    return (words, spaces, tags, sent, offsets, table), docs, mode, params


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edge_inputs())
def test_fuzz_edges_both_implementations_agree_and_keep_invariants(inputs):
    corpus, docs, mode, params = inputs
    a = run(_py, corpus, mode, docs=docs, **params)
    b = run(_kernels, corpus, mode, docs=docs, **params)
    assert same(a, b)
    words, _, _, sent, offsets, _ = corpus
    out_words, out_spaces, out_off, out_docs, out_hash = b
    lengths = np.diff(offsets)
    assert out_off[0] == 0 and out_off[-1] == out_words.size == out_spaces.size
    assert np.all(np.diff(out_off) >= 1) and np.all(np.diff(out_off) <= lengths[out_docs])
    assert np.array_equal(_kernels.hash_spans(out_words, out_spaces, out_off), out_hash)
    if out_spaces.size:
        assert np.all(out_spaces[out_off[1:] - 1] == 0)  # the last token of an example has no space
    masks = mode & _common.MODE_MASK
    if masks and params["p_mask"] == 1.0:
        assert np.all(out_words == MASK_ID)
    if not (mode & (_common.MODE_NGRAM | _common.MODE_SENTENCE)):
        assert out_words.size == lengths[out_docs].sum()  # whole documents
        if (not masks or params["p_mask"] == 0.0) and (not mode & _common.MODE_POS or params["p_pos"] == 0.0):
            expected = np.concatenate([words[offsets[d] : offsets[d + 1]] for d in out_docs]) if out_docs.size else out_words
            assert np.array_equal(out_words, expected)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**31 - 1), max_size=60), st.data())
def test_fuzz_hash_spans_and_gather_rows_agree(words, data):
    words = np.asarray(words, np.int32)
    spaces = np.asarray(data.draw(st.lists(st.integers(0, 1), min_size=len(words), max_size=len(words))), np.uint8)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(words)), max_size=8)))
    offsets = np.asarray([0, *cuts, len(words)], np.int64)
    assert np.array_equal(_py.hash_spans(words, spaces, offsets), _kernels.hash_spans(words, spaces, offsets))
    n_rows = len(offsets) - 1
    rows = np.asarray(data.draw(st.lists(st.integers(0, n_rows - 1), max_size=10)), np.int64)
    a, b = _py.gather_rows(words, offsets, rows), _kernels.gather_rows(words, offsets, rows)
    assert same(a, b)
    expected = [words[offsets[r] : offsets[r + 1]].tolist() for r in rows.tolist()]
    assert [b[0][b[1][i] : b[1][i + 1]].tolist() for i in range(len(rows))] == expected
    for bad in (np.asarray([n_rows], np.int64), np.asarray([-1], np.int64)):
        for impl in (_py, _kernels):
            with pytest.raises(_common.KernelInputError):
                impl.gather_rows(words, offsets, bad)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0, 1, 2, 3, 2**64 - 1, 0x9E3779B97F4A7C15]) | st.integers(0, 2**64 - 1), max_size=50), max_size=5),
       st.integers(0, 2000))  # fmt: skip
def test_fuzz_hash_set_matches_a_python_set(batches, capacity):
    compiled, twin = _kernels.HashSet(capacity), _py.HashSet(capacity)
    seen: set[int] = set()
    for batch in batches:
        values = np.asarray(batch, np.uint64)
        expected = []
        for v in batch:
            key = v if v != 0 else 0x9E3779B97F4A7C15  # 0 marks an empty slot: stored as GOLDEN
            expected.append(key not in seen)
            seen.add(key)
        assert compiled.add_new(values).tolist() == expected == twin.add_new(values).tolist()
    assert len(compiled) == len(twin) == len(seen)


def test_empty_corpus_and_empty_selections_in_every_mode():
    empty = make_corpus(0, 5)
    for impl in (_py, _kernels):
        for mode in range(_common.MODE_ALL + 1):
            out = run(impl, empty, mode)
            assert [x.size for x in out] == [0, 0, 1, 0, 0]
            out = run(impl, make_corpus(20, 5), mode, docs=np.zeros(0, np.int64))
            assert [x.size for x in out] == [0, 0, 1, 0, 0]


def test_large_corpus_many_documents():
    corpus = make_corpus(200_000, 12, n_words=5000, n_tags=12, seed=3)
    out = run(_kernels, corpus, _common.MODE_ALL, p_mask=0.2, p_pos=0.3, p_ng=0.5, n_min=1, n_max=10**9)
    lengths = np.diff(corpus[4])
    assert out[3].size <= (lengths > 0).sum() and out[2][-1] == out[0].size
    sample = np.arange(0, 200_000, 997)
    assert same(run(_kernels, corpus, _common.MODE_ALL, docs=sample), run(_py, corpus, _common.MODE_ALL, docs=sample))
    hs = _kernels.HashSet(1)
    assert hs.add_new(out[4]).sum() == np.unique(np.where(out[4] == 0, 0x9E3779B97F4A7C15, out[4])).size


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20


def test_repeated_calls_on_growing_corpora_do_not_leak():
    """Memory after many calls is what one call needs: nothing grows with the number of calls."""
    corpora = [make_corpus(n, 20, n_words=3000, n_tags=8, seed=n) for n in (1_000, 5_000, 20_000)]

    def work():
        for corpus in corpora:
            out = run(_kernels, corpus, _common.MODE_ALL, p_mask=0.1, p_pos=0.1)
            hs = _kernels.HashSet(16)
            hs.add_new(out[4])
            _kernels.hash_spans(out[0], out[1], out[2])
            _kernels.gather_rows(out[0], out[2], out[3] % (out[2].size - 1) if out[3].size else out[3])
            del out, hs

    for _ in range(5):  # warm up allocator pools
        work()
    gc.collect()
    before = _rss_mb()
    for _ in range(60):
        work()
    gc.collect()
    grown = _rss_mb() - before
    assert grown < 8, f"RSS grew by {grown:.1f} MB over 60 rounds"
