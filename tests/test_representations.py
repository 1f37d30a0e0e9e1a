"""Sentence representations from the labelling pass (issue #24's input): the bert teacher's mean
last hidden state over each example's non-padding tokens, on PyTorch and on ONNX Runtime, cached
with the probabilities, and refused for a teacher that does not offer them."""

from __future__ import annotations

import numpy as np
import pytest

from kdtext.errors import ConfigError
from kdtext.labelling import LabelOptions, label_with_teacher
from kdtext.labelling.cache import LabelCache

from teacher_fixtures import VOCAB, make_tiny_bert, varied_texts


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory):
    """A tiny BERT sequence classifier built from a config, with dropout on: a graph or module left
    in training mode would disagree with the eval-mode answer below."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    base = make_tiny_bert(tmp_path_factory.mktemp("rep") / "base")
    torch.manual_seed(1)
    config = BertConfig(
        vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3,
        num_labels=2, id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1},
    )  # fmt: skip
    path = base.parent / "classifier"
    BertForSequenceClassification(config).save_pretrained(str(path))
    BertTokenizer.from_pretrained(str(base)).save_pretrained(str(path))
    return path


@pytest.fixture
def teacher(classifier_dir, tmp_path, monkeypatch):
    from kdtext.default_plugins.bert.teacher import BertTeacher

    monkeypatch.setenv("KDTEXT_ONNX_CACHE", str(tmp_path / "onnx"))
    return BertTeacher.load(classifier_dir, device="cpu", num_threads=1, progress=False)


def direct_means(teacher, texts):
    """The mean last hidden state of each text read alone (no padding), in eval mode: what must come back."""
    import torch

    model = teacher.model.eval()
    rows = []
    with torch.inference_mode():
        for text in texts:
            encoded = teacher.tokenizer(text, return_tensors="pt", truncation=True, max_length=teacher.max_length)
            rows.append(model(**encoded, output_hidden_states=True).hidden_states[-1][0].mean(0).numpy())
    return np.stack(rows)


TEXTS = varied_texts(40, longest=30) + ["good", "good"]  # varied lengths: padded batches; a duplicate


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_representation_is_the_mean_last_hidden_state_with_and_without_the_cache(teacher, tmp_path, backend):
    want = direct_means(teacher, TEXTS)
    plain = teacher.label(TEXTS, backend=backend, batch_tokens=160, progress=False)
    assert plain.representations is None  # only when asked
    got = teacher.label(TEXTS, backend=backend, batch_tokens=160, progress=False, representations=True)
    assert got.representations.dtype == np.float16 and got.representations.shape == (len(TEXTS), 32)
    np.testing.assert_allclose(got.representations.astype(np.float32), want, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(got.logits, plain.logits, atol=1e-5)  # the same forward pass gives both

    cache = tmp_path / "cache"
    first = teacher.label(TEXTS, backend=backend, batch_tokens=160, progress=False, representations=True, cache_dir=cache)
    assert first.n_cached == 0 and first.n_computed == len(TEXTS) - 1  # the duplicate is computed once
    again = teacher.label(TEXTS, backend=backend, batch_tokens=160, progress=False, representations=True, cache_dir=cache)
    assert again.n_cached == len(TEXTS) and again.n_computed == 0  # a resumed run never recomputes them
    np.testing.assert_array_equal(again.representations, first.representations)
    np.testing.assert_array_equal(again.logits, first.logits)
    np.testing.assert_allclose(again.representations.astype(np.float32), want, rtol=2e-3, atol=2e-3)
    # entries without representations are kept apart: they neither serve nor spoil a request for them
    without = teacher.label(TEXTS, backend=backend, progress=False, cache_dir=cache)
    assert without.n_cached == 0 and without.representations is None
    namespaces = {p.name for p in cache.iterdir()}
    variant = "onnx-fp32" if backend == "onnx" else "fp32"
    assert namespaces == {f"{teacher.fingerprint()}-{variant}", f"{teacher.fingerprint()}-{variant}-representations"}


def test_the_onnx_export_checks_both_outputs_and_stays_in_eval_mode(teacher, tmp_path):
    import json

    teacher.label(["good movie"], backend="onnx", progress=False)
    info = json.loads((tmp_path / "onnx" / teacher.fingerprint() / "export.json").read_text())
    assert info["format"] == 2 and info["probe_max_representation_diff"] <= 1e-3 and info["probe_max_logit_diff"] <= 1e-3
    assert not teacher.model.training


def test_the_labelling_path_carries_them_and_refuses_a_teacher_without(teacher):
    result = label_with_teacher(teacher, TEXTS[:5], options=LabelOptions(representations=True, backend="torch"))
    np.testing.assert_allclose(result.representations.astype(np.float32), direct_means(teacher, TEXTS[:5]), rtol=2e-3, atol=2e-3)
    from test_engine_local import PlainTeacher

    with pytest.raises(ConfigError, match="teacher 'PlainTeacher' gives no sentence representations"):
        label_with_teacher(PlainTeacher(), ["a"], options=LabelOptions(representations=True))


def test_a_cache_refuses_entries_of_the_other_kind(tmp_path):
    keys = np.array([[1, 2], [3, 4]], np.uint64)
    cache = LabelCache(tmp_path, "ns", 2, representation_dims=3)
    cache.add(keys, np.ones((2, 2), np.float32), np.full((2, 3), 0.5, np.float16))
    found, logits, reps = LabelCache(tmp_path, "ns", 2, representation_dims=3).lookup(keys[::-1])
    assert found.all() and reps.dtype == np.float16 and (reps == 0.5).all()
    with pytest.raises(ValueError, match="keeps representations"):
        cache.add(keys, np.ones((2, 2), np.float32))
    with pytest.raises(Exception, match="sentence representations of 3 dimensions"):
        LabelCache(tmp_path, "ns", 2)  # opened as a cache without them
