"""The augmentation kernels: statistics, determinism, bad inputs, and Cython == Python twin.

Every test runs against both implementations, imported directly.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdtext import _fast
from kdtext._fast import _common, _kernels, _py
from kdtext.augment.pos_table import PosTable

IMPLS = [pytest.param(_py, id="python"), pytest.param(_kernels, id="cython")]
MASK_ID = 10_000


def make_corpus(n_docs: int, mean_len: int, n_words: int = 50, n_tags: int = 5, seed: int = 0):
    """Random token arrays; a word's tag is word % n_tags (so tags are consistent)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 2 * mean_len + 1, n_docs)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n = int(offsets[-1])
    words = rng.integers(0, n_words, n).astype(np.int32)
    spaces = rng.integers(0, 2, n).astype(np.uint8)
    tags = (words % n_tags).astype(np.int32)
    sent = (rng.random(n) < 0.15).astype(np.uint8)
    sent[offsets[:-1][lengths > 0]] = 1
    table = PosTable.from_arrays(words, tags, n_tags, n_words)
    return words, spaces, tags, sent, offsets, table


def run(impl, corpus, mode, *, docs=None, doc_base=0, seed=0, rnd=0, p_mask=0.1, p_pos=0.1, p_ng=0.25, n_min=1, n_max=5, doc_keys=None):
    words, spaces, tags, sent, offsets, table = corpus
    if docs is None:
        docs = np.arange(offsets.shape[0] - 1)
    return impl.augment_round(
        words, spaces, tags, sent, offsets, docs, doc_base, seed, rnd, mode,
        p_mask, p_pos, p_ng, n_min, n_max, MASK_ID, table.offsets, table.words, table.cum, doc_keys=doc_keys,
    )  # fmt: skip


def same(a, b) -> bool:
    return all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b))


# -- the generator and seeds ------------------------------------------------------------------


def test_uniform_is_identical_and_in_range():
    a, b = _py.uniform(123, 1000), _kernels.uniform(123, 1000)
    assert np.array_equal(a, b)
    assert a.min() >= 0.0 and a.max() < 1.0
    assert abs(a.mean() - 0.5) < 0.03


def test_derive_seed_is_identical_and_spreads():
    for seed, doc, rnd in [(0, 0, 0), (1, 2, 3), (-1, 10**12, 19), (2**64 - 1, 0, 5)]:
        assert _py.derive_seed(seed, doc, rnd) == _kernels.derive_seed(seed, doc, rnd)
    values = {_py.derive_seed(0, d, r) for d in range(50) for r in range(20)}
    assert len(values) == 1000


# -- statistics ------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLS)
def test_mask_rate_is_p_mask(impl):
    corpus = make_corpus(400, 25)
    out_words, _, _, _, _ = run(impl, corpus, _common.MODE_MASK, p_mask=0.3)
    rate = float(np.mean(out_words == MASK_ID))
    assert out_words.size == corpus[0].size  # mask alone keeps every token
    assert abs(rate - 0.3) < 0.02, rate


@pytest.mark.parametrize("impl", IMPLS)
def test_mask_keeps_the_other_words_in_place(impl):
    corpus = make_corpus(100, 20)
    out_words, out_spaces, out_off, out_docs, _ = run(impl, corpus, _common.MODE_MASK, p_mask=0.2)
    words, spaces, _, _, offsets, _ = corpus
    for i, d in enumerate(out_docs.tolist()):
        src = words[offsets[d] : offsets[d + 1]]
        got = out_words[out_off[i] : out_off[i + 1]]
        kept = got != MASK_ID
        assert np.array_equal(got[kept], src[kept])
        sp = out_spaces[out_off[i] : out_off[i + 1]]
        assert np.array_equal(sp[:-1], spaces[offsets[d] : offsets[d + 1] - 1]) and sp[-1] == 0


@pytest.mark.parametrize("impl", IMPLS)
def test_pos_swaps_keep_the_tag_and_follow_frequencies(impl):
    corpus = make_corpus(300, 20, n_words=40, n_tags=4)
    words, _, tags, _, offsets, table = corpus
    out_words, _, out_off, out_docs, _ = run(impl, corpus, _common.MODE_POS, p_pos=0.5)
    src = np.concatenate([np.arange(offsets[d], offsets[d + 1]) for d in out_docs.tolist()])
    assert out_words.size == src.size
    assert np.array_equal(out_words % 4, tags[src])  # the tag of a word is word % 4
    changed = np.mean(out_words != words[src])
    # a swap may draw the same word; with ~10 words per tag about 45% change
    assert 0.35 < changed < 0.5
    # frequency weighting: one tag, word 0 nine times as frequent as word 1
    w = np.array([0] * 900 + [1] * 100, np.int32)
    t = np.zeros(1000, np.int32)
    skewed = PosTable.from_arrays(w, t, 1, 2)
    c = (w, np.ones(1000, np.uint8), t, np.ones(1000, np.uint8), np.arange(0, 1001, 10, dtype=np.int64), skewed)
    out, *_ = run(impl, c, _common.MODE_POS, p_pos=1.0)
    assert abs(np.mean(out == 0) - 0.9) < 0.03


@pytest.mark.parametrize("impl", IMPLS)
def test_ngrams_are_contiguous_subsequences(impl):
    corpus = make_corpus(300, 12)
    words, spaces, _, _, offsets, _ = corpus
    out_words, _, out_off, out_docs, _ = run(impl, corpus, _common.MODE_NGRAM, p_ng=1.0, n_min=2, n_max=4)
    lengths = []
    for i, d in enumerate(out_docs.tolist()):
        src = words[offsets[d] : offsets[d + 1]].tolist()
        got = out_words[out_off[i] : out_off[i + 1]].tolist()
        L = len(src)
        assert min(2, L) <= len(got) <= min(4, L)
        assert any(src[s : s + len(got)] == got for s in range(L - len(got) + 1))
        if L >= 4:
            lengths.append(len(got))
    counts = np.bincount(lengths, minlength=5)[2:]
    assert counts.min() > 0.25 * len(lengths)  # n uniform over 2..4


@pytest.mark.parametrize("impl", IMPLS)
def test_ngram_probability(impl):
    corpus = make_corpus(2000, 30)
    _, _, out_off, out_docs, _ = run(impl, corpus, _common.MODE_NGRAM, p_ng=0.25, n_min=1, n_max=5)
    lengths = np.diff(out_off)
    src_len = np.diff(corpus[4])[out_docs]
    cut = np.mean(lengths[src_len > 5] < src_len[src_len > 5])
    assert abs(cut - 0.25) < 0.03


@pytest.mark.parametrize("impl", IMPLS)
def test_sentence_gives_one_whole_sentence(impl):
    corpus = make_corpus(300, 15)
    words, _, _, sent, offsets, _ = corpus
    out_words, _, out_off, out_docs, _ = run(impl, corpus, _common.MODE_SENTENCE)
    for d in range(offsets.shape[0] - 1):
        n_sents = int(sent[offsets[d] : offsets[d + 1]].sum())
        assert (d in set(out_docs.tolist())) == (n_sents >= 2)
    for i, d in enumerate(out_docs.tolist()):
        a, b = int(offsets[d]), int(offsets[d + 1])
        starts = [j for j in range(a, b) if sent[j]] + [b]
        sentences = [words[s:e].tolist() for s, e in zip(starts[:-1], starts[1:])]
        assert out_words[out_off[i] : out_off[i + 1]].tolist() in sentences


@pytest.mark.parametrize("impl", IMPLS)
def test_tang_mask_and_pos_are_exclusive_and_rates_add_up(impl):
    corpus = make_corpus(500, 20, n_words=60, n_tags=3)
    words, _, _, _, offsets, _ = corpus
    mode = _common.MODE_MASK | _common.MODE_POS
    out_words, _, _, out_docs, _ = run(impl, corpus, mode, p_mask=0.2, p_pos=0.3)
    src = np.concatenate([words[offsets[d] : offsets[d + 1]] for d in out_docs.tolist()])
    masked = out_words == MASK_ID
    assert abs(masked.mean() - 0.2) < 0.02
    assert np.array_equal(out_words[~masked] % 3, src[~masked] % 3)  # survivors keep the tag


# -- determinism, seeds, sharding ------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLS)
def test_same_seed_same_output_other_seed_differs(impl):
    corpus = make_corpus(200, 15)
    a = run(impl, corpus, _common.MODE_ALL & ~_common.MODE_SENTENCE, seed=7, rnd=2)
    b = run(impl, corpus, _common.MODE_ALL & ~_common.MODE_SENTENCE, seed=7, rnd=2)
    c = run(impl, corpus, _common.MODE_ALL & ~_common.MODE_SENTENCE, seed=8, rnd=2)
    d = run(impl, corpus, _common.MODE_ALL & ~_common.MODE_SENTENCE, seed=7, rnd=3)
    assert same(a, b)
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[0], d[0])


@pytest.mark.parametrize("impl", IMPLS)
def test_a_shard_gives_what_the_whole_corpus_gives_for_its_documents(impl):
    corpus = make_corpus(100, 15)
    mode = _common.MODE_MASK | _common.MODE_POS | _common.MODE_NGRAM
    whole = run(impl, corpus, mode, seed=3, rnd=1)
    words, spaces, tags, sent, offsets, table = corpus
    shard_offsets = offsets[40:71]  # documents 40..69 as a shard: global index = 40 + local
    shard = (words, spaces, tags, sent, shard_offsets, table)
    part = run(impl, shard, mode, seed=3, rnd=1, doc_base=40)
    sel = (whole[3] >= 40) & (whole[3] < 70)
    assert np.array_equal(part[3] + 40, whole[3][sel])
    assert np.array_equal(part[4], whole[4][sel])


@pytest.mark.parametrize("impl", IMPLS)
def test_doc_keys_make_a_document_s_examples_independent_of_its_position(impl):
    corpus = make_corpus(60, 15)
    words, spaces, tags, sent, offsets, table = corpus
    keys = np.random.default_rng(1).integers(0, 2**63, 60, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    mode = _common.MODE_MASK | _common.MODE_POS | _common.MODE_NGRAM
    whole = run(impl, corpus, mode, seed=5, rnd=2, doc_keys=keys, doc_base=1000)
    # documents 30..59 alone, in reverse order, and without doc_base: the same example for each key
    order = np.arange(59, 29, -1)
    lengths = np.diff(offsets)[order]
    starts = offsets[:-1][order]
    gather = np.concatenate([np.arange(a, a + n) for a, n in zip(starts, lengths)]).astype(np.int64)
    moved = (words[gather], spaces[gather], tags[gather], sent[gather], np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), table)
    part = run(impl, moved, mode, seed=5, rnd=2, doc_keys=keys[order])
    by_doc = {int(d): h for d, h in zip(whole[3], whole[4])}
    assert {int(order[d]): h for d, h in zip(part[3], part[4])} == {d: h for d, h in by_doc.items() if d >= 30}
    assert not same(whole, run(impl, corpus, mode, seed=5, rnd=2, doc_base=1000))  # keys, not positions, seed the streams
    assert same(run(impl, corpus, mode, seed=5, rnd=2, doc_keys=np.arange(60) + 1000), run(impl, corpus, mode, seed=5, rnd=2, doc_base=1000))


@pytest.mark.parametrize("impl", IMPLS)
def test_doc_keys_must_be_one_integer_per_document(impl):
    corpus = make_corpus(10, 5)
    with pytest.raises(_common.KernelInputError, match="one key per document"):
        run(impl, corpus, _common.MODE_MASK, doc_keys=np.zeros(9, np.uint64))
    with pytest.raises(_common.KernelInputError, match="integers"):
        run(impl, corpus, _common.MODE_MASK, doc_keys=np.zeros(10, np.float64))


@pytest.mark.parametrize(
    "mode", [_common.MODE_MASK, _common.MODE_POS, _common.MODE_NGRAM, _common.MODE_SENTENCE, 7, _common.MODE_ALL, 0]
)
def test_cython_equals_python(mode):
    corpus = make_corpus(150, 20, seed=mode)
    for seed in (0, 99):
        assert same(run(_py, corpus, mode, seed=seed, rnd=4), run(_kernels, corpus, mode, seed=seed, rnd=4))
    keys = np.random.default_rng(mode).integers(0, 2**63, 150, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    assert same(run(_py, corpus, mode, rnd=4, doc_keys=keys), run(_kernels, corpus, mode, rnd=4, doc_keys=keys))


@pytest.mark.parametrize("impl", IMPLS)
def test_hashes_match_hash_spans_and_ignore_the_last_space(impl):
    corpus = make_corpus(100, 10)
    out = run(impl, corpus, 7)
    assert np.array_equal(impl.hash_spans(out[0], out[1], out[2]), out[4])
    w = np.array([1, 2, 3, 1, 2, 3, 1, 2, 3], np.int32)
    s = np.array([1, 0, 1, 1, 0, 0, 1, 1, 0], np.uint8)
    h = impl.hash_spans(w, s, np.array([0, 3, 6, 9], np.int64))
    assert h[0] == h[1] and h[0] != h[2]
    assert np.array_equal(h, _py.hash_spans(w, s, np.array([0, 3, 6, 9])))


@pytest.mark.parametrize("impl", IMPLS)
def test_hash_set_reports_new_hashes(impl):
    values = np.array([5, 0, 5, 7, 2**64 - 1, 0, 7, 11], dtype=np.uint64)
    hs = impl.HashSet(2)
    assert hs.add_new(values).tolist() == [True, True, False, True, True, False, False, True]
    assert hs.add_new(np.array([11, 12], np.uint64)).tolist() == [False, True]
    assert len(hs) == 6
    big = np.random.default_rng(0).integers(0, 2**63, 5000).astype(np.uint64)
    assert impl.HashSet(1).add_new(big).sum() == np.unique(big).size


def test_public_module_selects_one_implementation():
    assert _fast.IMPLEMENTATION in ("cython", "python")
    impl = _kernels if _fast.IMPLEMENTATION == "cython" else _py
    assert _fast.augment_round is impl.augment_round and _fast.HashSet is impl.HashSet


def test_no_extensions_environment_variable_selects_the_twin():
    import subprocess
    import sys

    code = "import kdtext._fast as f; print(f.IMPLEMENTATION, f.augment_round.__module__)"
    env = {**__import__("os").environ, "KDTEXT_NO_EXTENSIONS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["python", "kdtext._fast._py"]


# -- empty, huge and bad inputs --------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLS)
def test_empty_inputs(impl):
    empty = (np.zeros(0, np.int32), np.zeros(0, np.uint8), np.zeros(0, np.int32), np.zeros(0, np.uint8),
             np.zeros(1, np.int64), PosTable.empty())  # fmt: skip
    out = run(impl, empty, _common.MODE_ALL)
    assert [x.size for x in out] == [0, 0, 1, 0, 0]
    docs_of_nothing = (*empty[:4], np.zeros(5, np.int64), PosTable.empty())
    assert run(impl, docs_of_nothing, 7)[2].tolist() == [0]


@pytest.mark.parametrize("impl", IMPLS)
def test_one_huge_document(impl):
    n = 200_000
    words = np.arange(n, dtype=np.int32) % 1000
    corpus = (words, np.ones(n, np.uint8), np.zeros(n, np.int32), np.zeros(n, np.uint8),
              np.array([0, n], np.int64), PosTable.from_arrays(words, np.zeros(n, np.int32), 1, 1000))  # fmt: skip
    out = run(impl, corpus, _common.MODE_MASK | _common.MODE_POS, p_mask=0.5, p_pos=0.5)
    assert out[0].size == n and np.mean(out[0] == MASK_ID) == pytest.approx(0.5, abs=0.01)


def test_the_kernels_raise_their_own_error_and_the_driver_says_it_the_kdtext_way():
    """The kernels import nothing of kdtext (they sit below it); run_kernel turns their error into a ConfigError."""
    from kdtext.augment.builder import CorpusBuilder
    from kdtext.augment.kernels import run_kernel
    from kdtext.errors import ConfigError

    assert not issubclass(_common.KernelInputError, ConfigError) and issubclass(_common.KernelInputError, ValueError)
    builder = CorpusBuilder("en", tagger=None)
    builder.add_tokens(["a", "good", "film"], [True, True, False])
    with pytest.raises(ConfigError, match="p_mask must be between 0 and 1, got 1.5") as info:
        run_kernel(builder.build(), 5, mode=_common.MODE_MASK, p_mask=1.5)
    assert type(info.value) is ConfigError


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    "change, message",
    [
        ({"p_mask": 1.5}, "p_mask"),
        ({"p_mask": 0.7, "p_pos": 0.6}, "p_mask \\+ p_pos"),
        ({"n_min": 0}, "n_min"),
        ({"n_min": 4, "n_max": 2}, "n_min"),
        ({"offsets": np.array([0, 5, 3], np.int64)}, "doc_offsets"),
        ({"offsets": np.array([0, 10**6], np.int64)}, "doc_offsets"),
        ({"docs": np.array([5], np.int64)}, "docs"),
        ({"words": np.array([-1, 2, 3], np.int32)}, "non-negative"),
        ({"spaces": np.zeros(2, np.uint8)}, "same length"),
        ({"pos_cum": np.array([3, 1], np.int64)}, "pos_cum"),
    ],
)
def test_bad_inputs_raise_kernel_input_error(impl, change, message):
    args = {
        "words": np.array([1, 2, 3], np.int32),
        "spaces": np.ones(3, np.uint8),
        "tags": np.zeros(3, np.int32),
        "sent": np.ones(3, np.uint8),
        "offsets": np.array([0, 3], np.int64),
        "docs": np.array([0], np.int64),
        "p_mask": 0.1, "p_pos": 0.1, "n_min": 1, "n_max": 5,
        "pos_offsets": np.array([0, 2], np.int64),
        "pos_words": np.array([1, 2], np.int32),
        "pos_cum": np.array([1, 3], np.int64),
    }  # fmt: skip
    args.update(change)
    with pytest.raises(_common.KernelInputError, match=message):
        impl.augment_round(
            args["words"], args["spaces"], args["tags"], args["sent"], args["offsets"], args["docs"], 0, 0, 0,
            _common.MODE_ALL, args["p_mask"], args["p_pos"], 0.5, args["n_min"], args["n_max"], MASK_ID,
            args["pos_offsets"], args["pos_words"], args["pos_cum"],
        )  # fmt: skip


# -- fuzzing: random arrays and parameters, both implementations agree -----------------------


@st.composite
def kernel_inputs(draw):
    n_docs = draw(st.integers(0, 8))
    lengths = draw(st.lists(st.integers(0, 12), min_size=n_docs, max_size=n_docs))
    n = sum(lengths)
    n_tags = draw(st.integers(0, 4))
    words = np.asarray(draw(st.lists(st.integers(0, 30), min_size=n, max_size=n)), np.int32)
    tags = np.asarray(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), np.int32)  # may exceed n_tags
    spaces = np.asarray(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), np.uint8)
    sent = np.asarray(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), np.uint8)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    table = PosTable.from_arrays(words, np.minimum(tags, max(n_tags - 1, 0)), n_tags, 31)
    p_mask = draw(st.floats(0, 1))
    p_pos = draw(st.floats(0, 1 - p_mask))
    n_min = draw(st.integers(1, 6))
    params = dict(
        mode=draw(st.integers(0, _common.MODE_ALL)),
        seed=draw(st.integers(-(2**63), 2**64 - 1)),
        rnd=draw(st.integers(0, 1000)),
        doc_base=draw(st.integers(0, 10**9)),
        p_mask=p_mask,
        p_pos=p_pos,
        p_ng=draw(st.floats(0, 1)),
        n_min=n_min,
        n_max=draw(st.integers(n_min, 10**6)),
    )
    docs = np.asarray(draw(st.lists(st.integers(0, max(n_docs - 1, 0)), max_size=n_docs if n_docs else 0)), np.int64)
    return (words, spaces, tags, sent, offsets, table), docs, params


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernel_inputs())
def test_fuzz_cython_equals_python(inputs):
    corpus, docs, params = inputs
    mode = params.pop("mode")
    a = run(_py, corpus, mode, docs=docs, **params)
    b = run(_kernels, corpus, mode, docs=docs, **params)
    assert same(a, b)
    words, _, _, _, offsets, _ = corpus
    assert a[2][0] == 0 and np.all(np.diff(a[2]) >= 1)  # every example has a token
    assert set(a[3].tolist()) <= set(docs.tolist())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-5, 40), max_size=20), st.lists(st.integers(-3, 30), max_size=6), st.floats(-1, 2))
def test_fuzz_malformed_arrays_never_crash(words, offsets, p):
    corpus = (np.asarray(words, np.int64), np.ones(len(words), np.uint8), np.zeros(len(words), np.int32),
              np.ones(len(words), np.uint8), np.asarray(sorted(offsets) or [0], np.int64), PosTable.empty())  # fmt: skip
    docs = np.arange(max(len(offsets) - 1, 0))
    for impl in (_py, _kernels):
        try:
            run(impl, corpus, _common.MODE_ALL, docs=docs, p_mask=p, p_pos=0.0)
        except _common.KernelInputError:
            pass


@pytest.mark.parametrize("impl", IMPLS)
def test_gather_rows(impl):
    table = np.array([1, 2, 3, 4, 5, 6], np.int32)
    offsets = np.array([0, 2, 2, 5, 6], np.int64)
    ids, off = impl.gather_rows(table, offsets, np.array([2, 0, 1, 3, 0], np.int64))
    assert ids.tolist() == [3, 4, 5, 1, 2, 6, 1, 2] and off.tolist() == [0, 3, 5, 5, 6, 8]
    with pytest.raises(_common.KernelInputError, match="rows"):
        impl.gather_rows(table, offsets, np.array([4], np.int64))
    empty = impl.gather_rows(table, offsets, np.zeros(0, np.int64))
    assert empty[0].size == 0 and empty[1].tolist() == [0]
