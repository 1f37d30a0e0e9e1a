"""Static word vectors taken from a teacher: the bert teacher's two sources, and the contract's driver."""

from __future__ import annotations

import numpy as np
import pytest

import kdtext
from kdtext.default_plugins.bert.vectors import teacher_vocabulary
from kdtext.default_plugins.bert.vectors import word_vectors as hf_vectors
from kdtext.errors import ConfigError, PluginError
from kdtext.students.vectors import load_vectors, reduce_dimensions, save_vectors, word_vectors

from teacher_fixtures import VOCAB, make_tiny_bert


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    """A tokenizer and a base encoder, as a Hugging Face teacher holds them."""
    from transformers import AutoModel, AutoTokenizer

    path = make_tiny_bert(tmp_path_factory.mktemp("bert") / "bert")
    return AutoTokenizer.from_pretrained(str(path)), AutoModel.from_pretrained(str(path))


class VectorTeacher(kdtext.Teacher):
    """A teacher that gives the tiny encoder's vectors through the contract, as the bert teacher does."""

    name = "vectors"

    def __init__(self, tokenizer=None, model=None):
        super().__init__()
        self.tokenizer, self.model = tokenizer, model

    def vocabulary(self):
        return teacher_vocabulary(self.tokenizer)

    def word_vectors(self, words, *, source="encoder", device=None, progress=None):
        return hf_vectors(self.tokenizer, self.model, words, source=source, progress=progress, device=device or "cpu")

    fit = predict_proba = save = lambda self, *a, **k: None
    load = classmethod(lambda cls, path: cls())


def test_vocabulary_has_whole_words_only(encoder):
    words = teacher_vocabulary(encoder[0])
    assert "good" in words and "movie" in words
    assert not any(w.startswith("##") or w.startswith("[") for w in words)


def test_word_vector_is_mean_of_subword_rows_before_pca(encoder):
    tokenizer, model = encoder
    names = ["good", "goods", "movie", "film", "bad"]
    words, raw_vectors = hf_vectors(tokenizer, model, names, source="embeddings")
    assert words == ["bad", "film", "good", "goods", "movie"]
    table = model.get_input_embeddings().weight.detach().numpy().astype(np.float64)
    np.testing.assert_allclose(raw_vectors[words.index("goods")], (table[VOCAB.index("good")] + table[VOCAB.index("##s")]) / 2, rtol=1e-6)
    np.testing.assert_allclose(raw_vectors[words.index("film")], table[VOCAB.index("film")], rtol=1e-6)
    teacher = VectorTeacher(tokenizer, model)
    kept, vectors = word_vectors(teacher, names, dims=4, source="embeddings")
    assert kept == words and vectors.shape == (5, 4) and vectors.dtype == np.float32
    # with as many dimensions as words, PCA is a rotation plus one global scale: distance ratios survive
    full = word_vectors(teacher, names, dims=32, source="embeddings")[1]
    assert full.shape == (5, 5)

    def ratio(vecs):
        at = dict(zip(words, vecs))
        return np.linalg.norm(at["good"] - at["goods"]) / np.linalg.norm(at["movie"] - at["bad"])

    assert ratio(full) == pytest.approx(ratio(raw_vectors), rel=1e-4)
    # same input, same output (the PCA sign is fixed)
    np.testing.assert_array_equal(vectors, word_vectors(teacher, names, dims=4, source="embeddings")[1])


def test_encoder_vector_is_mean_last_hidden_state_of_the_word_read_alone(encoder):
    import torch

    tokenizer, model = encoder
    names = ["good", "goods", "movie", "film", "bad", "plot"]
    raw = {}
    with torch.inference_mode():
        for word in names:
            encoded = tokenizer(word, return_tensors="pt")  # [CLS] pieces [SEP]
            raw[word] = model(**encoded, output_hidden_states=True).hidden_states[-1][0].mean(0).double().numpy()
    # batched (padding and length sorting included) must give what one word at a time gives
    seen = []
    words, batched = hf_vectors(tokenizer, model, names, source="encoder", batch_size=4, progress=seen.append, device="cpu")
    assert seen == [4, 2]
    for word, vector in zip(words, batched):
        np.testing.assert_allclose(vector, raw[word], rtol=1e-4, atol=1e-5)


def test_encoder_is_the_default_source_and_a_bad_source_is_named(encoder):
    teacher = VectorTeacher(*encoder)
    names = ["good", "bad", "plot", "movie"]
    np.testing.assert_array_equal(word_vectors(teacher, names, dims=2)[1], word_vectors(teacher, names, dims=2, source="encoder")[1])
    with pytest.raises(ConfigError, match="unknown word-vector source 'glove'"):
        word_vectors(teacher, names, source="glove")
    with pytest.raises(ConfigError, match="unknown word-vector source 'glove'"):
        hf_vectors(*encoder, names, source="glove")


def test_save_and_load_round_trip(encoder, tmp_path):
    words, vectors = word_vectors(VectorTeacher(*encoder), ["good", "bad", "plot"], dims=2)
    save_vectors(tmp_path / "v.npz", words, vectors)
    loaded_words, loaded = load_vectors(tmp_path / "v.npz")
    assert loaded_words == words
    np.testing.assert_array_equal(loaded, vectors)


def test_a_teacher_without_word_vectors_gives_none_and_a_broken_one_is_named():
    class Opaque(VectorTeacher):
        word_vectors = kdtext.Teacher.word_vectors  # the contract's default

    assert word_vectors(Opaque(), ["good"]) is None

    class Broken(VectorTeacher):
        def word_vectors(self, words, **options):
            return list(words), np.full((len(words), 3), np.nan)

    with pytest.raises(PluginError, match="teacher 'vectors': word_vectors\\(\\) must give 1 finite vectors"):
        word_vectors(Broken(), ["good"])


def test_pca_keeps_the_first_components_with_a_fixed_sign():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(50, 8)) * np.arange(8, 0, -1)
    reduced = reduce_dimensions(matrix, 3)
    assert reduced.shape == (50, 3) and reduced.dtype == np.float32
    assert reduced.std() == pytest.approx(1.0, rel=1e-5)
    variances = reduced.var(axis=0)
    assert variances[0] >= variances[1] >= variances[2]
    # the sign of each component is fixed by the data, not by the SVD: a mirrored input gives mirrored vectors
    np.testing.assert_allclose(reduce_dimensions(-matrix, 3), -reduced, atol=1e-5)
