"""Streams: augment any iterable of texts or rows chunk by chunk, keyed by content."""

from __future__ import annotations

import itertools

import numpy as np

import pytest

from kdtext.errors import ConfigError, DataError
from kdtext.integrations.batches import KeyedAugmenter, text_keys
from kdtext.integrations.streams import TextAugmenter, augment_stream

TEXTS = [
    "I really loved this book, it was great.",
    "The screen broke after a week. Avoid it.",
    "ok",
    "",
    "A gripping, well-acted thriller. The ending is dull, though.",
    "Five stars: fast delivery and the colour is exactly as shown.",
]


def test_strings_in_strings_out_the_original_first_then_its_new_texts():
    out = list(augment_stream(TEXTS, "mask", n_per_text=3, seed=0, p_mask=0.3, keep_original=True))
    assert out[0] == TEXTS[0]
    positions = [out.index(t) for t in TEXTS]
    assert positions == sorted(positions)
    for i, text in enumerate(TEXTS):
        start = positions[i]
        end = positions[i + 1] if i + 1 < len(TEXTS) else len(out)
        new = out[start + 1 : end]
        if len(text.split()) < 2:
            assert new == []  # under two tokens: nothing to augment
            continue
        assert 1 <= len(new) <= 3 and len(set(new)) == len(new) and text not in new
        assert all("[MASK]" in t for t in new)


def test_rows_keep_their_other_fields():
    rows = [{"text": t, "label": i, "id": f"r{i}"} for i, t in enumerate(TEXTS)]
    out = list(augment_stream(rows, "tang", n_per_text=2, seed=1))
    assert out and all(set(r) == {"text", "label", "id"} for r in out)
    assert all(r["id"] == f"r{r['label']}" for r in out)
    assert {r["label"] for r in out} == {0, 1, 4, 5}
    assert all(r["text"] != TEXTS[r["label"]] for r in out)


def test_the_same_seed_gives_the_same_stream_whatever_the_chunks_and_the_order():
    a = list(augment_stream(TEXTS, "mask", n_per_text=4, seed=7))
    assert a == list(augment_stream(TEXTS, "mask", n_per_text=4, seed=7, chunk_size=1))
    assert a == list(augment_stream(iter(TEXTS), "mask", n_per_text=4, seed=7, chunk_size=4))
    assert a != list(augment_stream(TEXTS, "mask", n_per_text=4, seed=8))
    per_text = [list(augment_stream([t], "mask", n_per_text=4, seed=7)) for t in reversed(TEXTS)]
    assert sorted(a) == sorted(itertools.chain(*per_text))


def test_the_stream_reads_one_chunk_at_a_time():
    read: list[int] = []

    def texts():
        for i in itertools.count():
            read.append(i)
            yield f"text number {i} of an endless stream"

    stream = augment_stream(texts(), "ngram", n_per_text=2, chunk_size=10)
    assert read == []  # nothing is read before the first item is asked for
    first = [next(stream) for _ in range(3)]
    assert len(read) == 10 and all(t for t in first)
    for _ in range(25):
        next(stream)
    assert len(read) == 20  # 2 new texts per text: the second chunk covers items 20 to 40


def test_n_per_text_is_a_cap_of_distinct_examples_from_max_n_iter_n_per_text_rounds():
    texts = ["one two three", "one two three four five six seven eight"]
    for n_iter in (20, 60):
        synthetic = TextAugmenter("mask", n_per_text=30, seed=0, p_mask=0.5, n_iter=n_iter).augment(texts)
        counts = [int((synthetic.source == i).sum()) for i in range(2)]
        assert counts[0] == 2**3 - 1  # every masking of three words but the text itself
        assert len(set(synthetic.texts())) == len(synthetic)
        if n_iter == 20:
            assert 25 <= counts[1] <= 30  # 30 rounds: a few of 256 maskings repeat
            first_rounds = synthetic.texts()[counts[0] :]
        else:
            assert counts[1] == 30  # more rounds: the 30 asked for
            assert synthetic.texts()[counts[0] : counts[0] + len(first_rounds)] == first_rounds


def test_duplicates_are_dropped_per_text_not_across_the_batch():
    # the same text twice in one batch: both copies get the same new texts
    synthetic = TextAugmenter("ngram", n_per_text=3, seed=0).augment(["a b c d e f", "a b c d e f"])
    texts = synthetic.texts()
    assert texts[: len(texts) // 2] == texts[len(texts) // 2 :]


def test_bad_items_and_arguments_are_one_line_errors():
    with pytest.raises(DataError, match=r"item 3 of the stream is a NoneType, not a string"):
        list(augment_stream(["a b", "c d", None], "mask", n_per_text=1))
    with pytest.raises(DataError, match=r"item 2 of the stream has no 'text' field"):
        list(augment_stream([{"text": "a b"}, {"body": "c d"}], "mask", n_per_text=1))
    with pytest.raises(ConfigError, match="chunk_size"):
        augment_stream(TEXTS, "mask", n_per_text=1, chunk_size=0)
    with pytest.raises(ConfigError, match="n_per_text"):
        augment_stream(TEXTS, "mask", n_per_text=0)
    with pytest.raises(ConfigError, match="unknown language"):
        augment_stream(TEXTS, "mask", n_per_text=1, lang="xx-nope")
    with pytest.raises(Exception, match="p_mask"):
        augment_stream(TEXTS, "mask", n_per_text=1, p_mask=3)
    with pytest.raises(Exception, match="unknown tagger 'nope'"):
        augment_stream(TEXTS, "tang", n_per_text=1, tagger="nope")


def test_a_named_tagger_is_used_for_pos_and_tang():
    engine = TextAugmenter("tang", n_per_text=2, tagger="brill")
    assert engine.tagger.name == "brill" and engine.corpus(TEXTS[:2]).tagger == "brill"
    assert TextAugmenter("mask", n_per_text=2, tagger="brill").tagger is None  # mask reads no tags


def test_text_keys_are_stable_and_content_based():
    keys = text_keys(["a", "b", "a", ""])
    assert keys.dtype.name == "uint64" and keys[0] == keys[2] and len(set(keys.tolist())) == 3
    import os
    import subprocess
    import sys

    code = "from kdtext.integrations.batches import text_keys; print(text_keys(['a', 'b', 'a', '']).tolist())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "123"}).stdout  # fmt: skip
    assert other.strip() == str(keys.tolist())  # the same in every process, unlike hash()


def test_an_augmenter_without_doc_keys_runs_text_by_text_seeded_from_the_text(register_plugin):
    import numpy as np

    import kdtext
    from kdtext.augment import SyntheticSet

    class Shuffle(kdtext.Augmenter):
        name = "shuffle-words"
        defaults = {}

        def augment(self, corpus, n, *, seed=0):
            rng = np.random.default_rng(seed)
            rows = [rng.permutation(corpus.doc_word_ids(i)).tolist() for i in range(corpus.n_docs) for _ in range(n)]
            sources = [i for i in range(corpus.n_docs) for _ in range(n)]
            return SyntheticSet.from_word_ids(corpus, rows, sources=sources, augmenter=self.name)

    class Plugin:
        @kdtext.hookimpl
        def register_augmenters(self, register):
            register("shuffle-words", Shuffle)

    register_plugin(Plugin(), "shuffle-words-plugin")
    assert KeyedAugmenter("shuffle-words", n_per_text=2).keyed is False
    texts = ["one two three four five", "six seven eight nine ten"]
    a = list(augment_stream(texts, "shuffle-words", n_per_text=2, seed=3))
    assert len(a) == 4 and sorted(a[0].split()) == sorted(texts[0].split())
    assert a[2:] == list(augment_stream(texts[1:], "shuffle-words", n_per_text=2, seed=3))  # not its position
    assert a != list(augment_stream(texts, "shuffle-words", n_per_text=2, seed=4))
