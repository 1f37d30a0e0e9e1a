"""Static word vectors taken from a teacher's embedding table."""

from __future__ import annotations

import numpy as np
import pytest

from kdtext.errors import ConfigError
from kdtext.students.vectors import load_vectors, save_vectors, teacher_vocabulary, word_vectors

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
    words, vectors = word_vectors(teacher, names, dims=4, source="embeddings")
    assert words == ["bad", "film", "good", "goods", "movie"]
    assert vectors.shape == (5, 4) and vectors.dtype == np.float32
    table = teacher.model.get_input_embeddings().weight.detach().numpy().astype(np.float64)
    raw = {w: table[VOCAB.index(w)] for w in ("good", "movie", "film", "bad")}
    raw["goods"] = (table[VOCAB.index("good")] + table[VOCAB.index("##s")]) / 2
    # with as many dimensions as words, PCA is a rotation plus one global scale: distance ratios survive
    full_words, full = word_vectors(teacher, names, dims=32, source="embeddings")
    assert full.shape == (5, 5)
    at = {w: full[full_words.index(w)] for w in names}

    def ratio(vecs):
        return np.linalg.norm(vecs["good"] - vecs["goods"]) / np.linalg.norm(vecs["movie"] - vecs["bad"])

    assert ratio(at) == pytest.approx(ratio(raw), rel=1e-4)
    # same input, same output (the PCA sign is fixed)
    np.testing.assert_array_equal(vectors, word_vectors(teacher, names, dims=4, source="embeddings")[1])


def test_encoder_vector_is_mean_last_hidden_state_of_the_word_read_alone(teacher):
    import torch

    names = ["good", "goods", "movie", "film", "bad", "plot"]
    raw = {}
    with torch.inference_mode():
        for word in names:
            encoded = teacher.tokenizer(word, return_tensors="pt")  # [CLS] pieces [SEP]
            raw[word] = teacher.model(**encoded, output_hidden_states=True).hidden_states[-1][0].mean(0).double().numpy()
    # batched (padding and length sorting included) must give what one word at a time gives
    words, full = word_vectors(teacher, names, dims=32, source="encoder", batch_size=4)
    assert full.shape == (6, 6) and full.dtype == np.float32
    at = {w: full[words.index(w)] for w in names}

    def ratio(vecs):
        return np.linalg.norm(vecs["good"] - vecs["goods"]) / np.linalg.norm(vecs["movie"] - vecs["bad"])

    assert ratio(at) == pytest.approx(ratio(raw), rel=1e-3)
    seen = []
    again = word_vectors(teacher, names, dims=32, source="encoder", batch_size=4, progress=seen.append)[1]
    np.testing.assert_array_equal(full, again)
    assert seen == [4, 2]


def test_encoder_is_the_default_source_and_a_bad_source_is_named(teacher):
    names = ["good", "bad", "plot", "movie"]
    np.testing.assert_array_equal(word_vectors(teacher, names, dims=2)[1], word_vectors(teacher, names, dims=2, source="encoder")[1])
    with pytest.raises(ConfigError, match="unknown word-vector source 'glove'"):
        word_vectors(teacher, names, source="glove")


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
