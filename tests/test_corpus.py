"""TokenizedCorpus: building, spacing, sentences, tags, views, saving and bad texts."""

from __future__ import annotations

import numpy as np
import pytest

from kdtext.augment.builder import corpus_from_texts
from kdtext.augment.builder import CorpusBuilder
from kdtext.augment.corpus import TokenizedCorpus
from kdtext.errors import ConfigError, DataError, KdtextError

TEXTS = [
    "The movie was great!  I don't know.\n\nIt's fine.",
    "",
    "Hi",
    "  A gripping, well-acted thriller (2002).  ",
]


@pytest.fixture(scope="module")
def corpus() -> TokenizedCorpus:
    return corpus_from_texts(TEXTS, lang="en", tagger=None)


def test_layout_and_spacing(corpus):
    assert corpus.n_docs == 4 and not corpus.tagged
    assert corpus.words.dtype == np.int32 and corpus.spaces.dtype == np.uint8 and corpus.doc_offsets.dtype == np.int64
    assert corpus.doc_lengths().tolist() == [14, 0, 1, 11]
    # whitespace runs become one space; glued punctuation stays glued
    assert corpus.doc_text(0) == "The movie was great! I don't know. It's fine."
    assert corpus.doc_text(3) == "A gripping, well-acted thriller (2002)."
    assert corpus.doc_words(0)[:9] == ["The", "movie", "was", "great", "!", "I", "do", "n't", "know"]
    assert corpus.doc_spaces(2) == [False]
    assert corpus.doc_text(1) == ""


def test_sentence_starts(corpus):
    starts = corpus.sent_starts[corpus.doc_offsets[0] : corpus.doc_offsets[1]]
    words = corpus.doc_words(0)
    assert [words[i] for i in np.flatnonzero(starts)] == ["The", "I", "It"]


def test_vocabulary_is_shared(corpus):
    assert len(set(corpus.vocab)) == len(corpus.vocab)
    assert corpus.word_id("great") is not None and corpus.word_id("nope") is None
    vocab, mask = corpus.vocab_with("[MASK]")
    assert vocab[mask] == "[MASK]" and len(corpus.vocab) == mask
    assert corpus.vocab_with("[MASK]")[0] is vocab  # made once


def test_tags_from_a_tagger_and_from_spacy_docs():
    tagged = corpus_from_texts(["The film was good."], lang="en", tagger="brill")
    assert tagged.tagged and tagged.tagger == "brill"
    assert tagged.doc_tags(0) == ["DET", "NOUN", "AUX", "ADJ", "PUNCT"]
    import spacy
    from spacy.tokens import Doc

    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=["Good", "fun", "!"], spaces=[True, False, False], pos=["ADJ", "NOUN", "PUNCT"])
    from_doc = corpus_from_texts([doc], lang="en", tagger=None)
    assert from_doc.doc_text(0) == "Good fun!" and from_doc.doc_tags(0) == ["ADJ", "NOUN", "PUNCT"]


def test_pos_table_counts(corpus):
    builder = CorpusBuilder("en", tagger=None)
    for words, tags in ((["a", "b", "a"], ["X", "Y", "X"]), (["a", "c"], ["Z", "X"])):
        builder.add_tokens(words, [True] * len(words), tags)
    c = builder.build()
    table = c.pos_table()
    x = c.tag_names.index("X")
    words = [c.vocab[w] for w in table.words_of(x)]
    seg = table.cum[table.offsets[x] : table.offsets[x + 1]]
    assert dict(zip(words, np.diff(np.concatenate([[0], seg])).tolist())) == {"a": 2, "c": 1}
    z = c.tag_names.index("Z")
    assert [c.vocab[w] for w in table.words_of(z)] == ["a"]


def test_save_and_load_roundtrip(tmp_path, corpus):
    corpus.save(tmp_path / "c")
    loaded = TokenizedCorpus.load(tmp_path / "c")
    assert isinstance(loaded.words, np.memmap)
    assert loaded.fingerprint() == corpus.fingerprint()
    assert [loaded.doc_text(i) for i in range(4)] == [corpus.doc_text(i) for i in range(4)]
    eager = TokenizedCorpus.load(tmp_path / "c", mmap=False)
    assert not isinstance(eager.words, np.memmap) and eager.fingerprint() == corpus.fingerprint()


def test_damaged_directory_is_a_clear_error(tmp_path, corpus):
    with pytest.raises(KdtextError, match="not a kdtext corpus"):
        TokenizedCorpus.load(tmp_path)
    corpus.save(tmp_path / "c")
    (tmp_path / "c" / "words.bin").write_bytes(b"\x00" * 6)
    with pytest.raises(KdtextError, match="damaged"):
        TokenizedCorpus.load(tmp_path / "c")


def test_views_keep_global_indices(corpus):
    view = corpus.docs(2, 4)
    assert view.n_docs == 2 and view.doc_base == 2 and view.doc_text(1) == corpus.doc_text(3)
    shards = corpus.shards(3)
    assert [s.doc_base for s in shards] == [0, 1, 3] and sum(s.n_docs for s in shards) == 4
    assert [c.n_docs for c in corpus.iter_chunks(3)] == [3, 1]
    assert view.pos_table() is corpus.pos_table()


def test_streaming_builder_writes_the_same_corpus(tmp_path, corpus):
    builder = CorpusBuilder("en", tagger=None, batch_size=2, path=tmp_path / "s")
    builder.add(TEXTS)
    streamed = builder.build()
    assert isinstance(streamed.words, np.memmap)
    assert streamed.fingerprint() == corpus.fingerprint()


def test_cache_dir_reuses_a_built_corpus(tmp_path):
    a = corpus_from_texts(["One text here.", "Another one."], tagger=None, cache_dir=tmp_path)
    (entry,) = tmp_path.iterdir()
    b = corpus_from_texts(["One text here.", "Another one."], tagger=None, cache_dir=tmp_path)
    assert isinstance(b.words, np.memmap) and b.fingerprint() == a.fingerprint()
    corpus_from_texts(["Different."], tagger=None, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2


def test_bad_texts_name_file_and_line():
    with pytest.raises(DataError, match=r"^in\.jsonl:7: text is 100,001 characters long"):
        corpus_from_texts(["ok", "a" * 100_001], tagger=None, source="in.jsonl", lines=[3, 7])
    with pytest.raises(DataError, match=r"^text 2: a text must be a string, got int"):
        corpus_from_texts(["ok", 5], tagger=None)
    with pytest.raises(DataError, match="lone surrogate"):
        corpus_from_texts(["bad \udcff byte"], tagger=None)


def test_unknown_language_and_missing_tagger():
    with pytest.raises(ConfigError, match="unknown language 'zz'"):
        corpus_from_texts(["text"], lang="zz", tagger=None)
    # a language spaCy tokenizes but no tagger tags: auto leaves it untagged, a name is an error
    assert not corpus_from_texts(["Hej där."], lang="sv", tagger="auto").tagged
    with pytest.raises(ConfigError, match="cannot tag language 'sv'"):
        corpus_from_texts(["Hej där."], lang="sv", tagger="brill")


def test_pos_table_from_counts_equals_the_table_of_the_tokens():
    from kdtext.augment.pos_table import PosTable

    rng = np.random.default_rng(0)
    words = rng.integers(0, 40, 500).astype(np.int32)
    tags = (words % 7 + rng.integers(0, 2, 500)).astype(np.int32)  # some words under two tags
    expected = PosTable.from_arrays(words, tags, 8, 40)
    pairs, counts = np.unique(np.stack([tags, words]), axis=1, return_counts=True)
    shuffled = rng.permutation(counts.shape[0])  # the order pairs are counted in does not matter
    got = PosTable.from_counts(pairs[0][shuffled], pairs[1][shuffled], counts[shuffled], 8)
    for name in ("offsets", "words", "cum"):
        assert np.array_equal(getattr(got, name), getattr(expected, name))
        assert getattr(got, name).dtype == getattr(expected, name).dtype


# texts whose whitespace and sentence boundaries are awkward: runs of spaces, tabs and
# newlines (spaCy makes them tokens, some of them sentence starts), leading and trailing
# whitespace, a text of whitespace only, non-breaking and zero-width spaces, emoji
WHITESPACE_TEXTS = [
    "Hello  there. \n Bye now!  ",
    "\n\nStarts with newlines. Then\ttabs\t\tand  more.\n",
    "   ",
    "One.\n\n\nTwo. Three!\u00a0Four?",
    "zero\u200bwidth and emoji 🎬🍿 inside . . . ok",
    "x",
]


def test_token_arrays_match_the_token_loop():
    """The batch path (Doc.to_array) keeps, drops and flags exactly what doc_tokens does, token by token."""
    from kdtext.augment.tokenizer import blank_pipeline, doc_tokens

    nlp = blank_pipeline("en")
    texts = WHITESPACE_TEXTS + TEXTS
    for batch_size in (1, 3, 1000):
        corpus = corpus_from_texts(texts, lang="en", tagger=None, batch_size=batch_size)
        for i, doc in enumerate(nlp.pipe(texts)):
            words, spaces, starts, _ = doc_tokens(doc)
            span = slice(int(corpus.doc_offsets[i]), int(corpus.doc_offsets[i + 1]))
            assert corpus.doc_words(i) == words, texts[i]
            assert corpus.doc_spaces(i) == spaces, texts[i]
            assert corpus.sent_starts[span].astype(bool).tolist() == starts, texts[i]


@pytest.mark.parametrize("tagged,sentences", [(False, False), (True, False), (False, True)])
def test_the_array_path_builds_the_corpus_of_the_token_loop(tagged, sentences):
    """Random texts of awkward pieces, read as arrays (CorpusBuilder.add on Docs) and token by
    token (doc_tokens + add_tokens, every document tagged on its own): the same corpus."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from kdtext.augment.tagging import best_tagger, tagger_for
    from kdtext.augment.tokenizer import blank_pipeline, doc_tokens

    if tagged and best_tagger("en") is None:
        pytest.skip("no English tagger installed")
    tagger = tagger_for("en") if tagged else None
    nlp = blank_pipeline("en")
    pieces = st.sampled_from(["word", "Don't", "great!", " ", "  ", "\n", "\t", "\n\n ", "ok.", "é", "1,000", "-", "(a)", "Hi. So"])

    @settings(max_examples=25 if tagged else 120, deadline=None)
    @given(st.lists(st.lists(pieces, max_size=12).map("".join), max_size=6))
    def check(texts):
        docs = list(nlp.pipe(texts) if sentences else nlp.tokenizer.pipe(texts))
        builder = CorpusBuilder("en", tagger, tag_sample=None)
        builder.add(docs)
        reference = CorpusBuilder("en", None)
        for doc in docs:
            words, spaces, starts, _ = doc_tokens(doc)
            reference.add_tokens(words, spaces, None if tagger is None else tagger.tag(words), starts)
        expected, got = reference.build(), builder.build()
        for name in ("words", "spaces", "tags", "sent_starts", "doc_offsets"):
            a, b = getattr(expected, name), getattr(got, name)
            assert a.dtype == b.dtype and np.array_equal(a, b), name
        assert (got.vocab, got.tag_names) == (expected.vocab, expected.tag_names)

    check()


def test_vocabulary_numbers_words_in_order_of_first_appearance():
    corpus = corpus_from_texts(["b a b", "c a d"], lang="en", tagger=None, batch_size=2)
    assert corpus.vocab == ["b", "a", "c", "d"]
    assert corpus.words.tolist() == [0, 1, 0, 2, 1, 3]


def test_tags_in_context_for_the_sample_then_by_word_type():
    from kdtext.augment.pos_lexicon import PosLexicon
    from kdtext.augment.tagging import tagger_for

    brill = tagger_for("en", "brill")
    texts = ["The film was good.", "A book can book a room.", "The plot was thin.", "Good book, thin film.", "Zorblat was here."]
    whole = corpus_from_texts(texts, lang="en", tagger="brill", tag_sample=None, batch_size=2)
    for i in range(whole.n_docs):
        assert whole.doc_tags(i) == brill.tag(whole.doc_words(i))
    # the first two documents start before token 6: tagged in context; the others by word type
    sampled = corpus_from_texts(texts, lang="en", tagger="brill", tag_sample=6, batch_size=2)
    assert [sampled.doc_tags(i) for i in range(2)] == [whole.doc_tags(i) for i in range(2)]
    lexicon = PosLexicon()
    lexicon.learn_many((whole.doc_words(i), whole.doc_tags(i)) for i in range(2))
    for i in range(2, sampled.n_docs):
        assert sampled.doc_tags(i) == [lexicon.tag(word) for word in sampled.doc_words(i)]
    assert sampled.fingerprint() != whole.fingerprint()
    assert sampled.doc_tags(3)[1] == "NOUN"  # "book" is a NOUN twice and a VERB once in the sample
