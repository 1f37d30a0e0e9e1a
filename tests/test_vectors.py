"""Static word vectors taken from a teacher's embedding table."""

from __future__ import annotations

import numpy as np
import pytest

from kdtext.errors import ConfigError
from kdtext.vectors import load_vectors, save_vectors, teacher_vocabulary, word_vectors

from teacher_fixtures import VOCAB, make_tiny_bert


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    from transformers import AutoModel, AutoTokenizer

    path = make_tiny_bert(tmp_path_factory.mktemp("bert") / "bert")

    class Teacher:
        name = "tiny"
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModel.from_pretrained(str(path))

    return Teacher()


def test_vocabulary_has_whole_words_only(teacher):
    words = teacher_vocabulary(teacher.tokenizer)
    assert "good" in words and "movie" in words
    assert not any(w.startswith("##") or w.startswith("[") for w in words)


def test_word_vector_is_mean_of_subword_rows_before_pca(teacher):
    names = ["good", "goods", "movie", "film", "bad"]
    words, vectors = word_vectors(teacher, names, dims=4)
    assert words == ["bad", "film", "good", "goods", "movie"]
    assert vectors.shape == (5, 4) and vectors.dtype == np.float32
    table = teacher.model.get_input_embeddings().weight.detach().numpy().astype(np.float64)
    raw = {w: table[VOCAB.index(w)] for w in ("good", "movie", "film", "bad")}
    raw["goods"] = (table[VOCAB.index("good")] + table[VOCAB.index("##s")]) / 2
    # with as many dimensions as words, PCA is a rotation plus one global scale: distance ratios survive
    full_words, full = word_vectors(teacher, names, dims=32)
    assert full.shape == (5, 5)
    at = {w: full[full_words.index(w)] for w in names}

    def ratio(vecs):
        return np.linalg.norm(vecs["good"] - vecs["goods"]) / np.linalg.norm(vecs["movie"] - vecs["bad"])

    assert ratio(at) == pytest.approx(ratio(raw), rel=1e-4)
    # same input, same output (the PCA sign is fixed)
    np.testing.assert_array_equal(vectors, word_vectors(teacher, names, dims=4)[1])


def test_save_and_load_round_trip(teacher, tmp_path):
    words, vectors = word_vectors(teacher, ["good", "bad", "plot"], dims=2)
    save_vectors(tmp_path / "v.npz", words, vectors)
    loaded_words, loaded = load_vectors(tmp_path / "v.npz")
    assert loaded_words == words
    np.testing.assert_array_equal(loaded, vectors)


def test_teacher_without_embeddings_is_a_clear_error():
    class Opaque:
        name = "file"

    with pytest.raises(ConfigError, match="teacher 'file' has no embedding table"):
        word_vectors(Opaque(), ["good"])
