"""The ``bert`` teacher: finetuning, saving and loading, prediction from texts and ids, bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from kdtext.errors import ConfigError, ModelError
from kdtext.labels import LabelSpace
from kdtext.metrics import dev_score, multilabel_metrics
from kdtext.default_plugins.bert.model_dir import META_FILE, length_from_data
from kdtext.default_plugins.bert.teacher import BertTeacher

from teacher_fixtures import (  # noqa: F401  (pytest fixtures)
    assert_probability_rows,
    binary_data,
    fast_params,
    multilabel_data,
    sentiment_data,
    teacher,
    tiny_bert_dir,
    trained_dir,
    varied_texts,
)


def accuracy(probs: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean(probs.argmax(1) == targets.argmax(1)))


@pytest.mark.parametrize("classes", [2, 3])
def test_fit_save_load_predict_single_label(tiny_bert_dir, tmp_path, classes):
    train = sentiment_data(480, classes=classes, seed=0)
    dev = sentiment_data(60, classes=classes, seed=5)
    teacher = BertTeacher(**fast_params(tiny_bert_dir, epochs=6))
    figures = teacher.fit(train, dev)

    assert figures["task"] == ("binary" if classes == 2 else "multiclass")
    assert figures["epochs_run"] == 6 and len(figures["history"]) == 6
    dev_scores = [record["dev_metric"] for record in figures["history"]]
    assert figures["dev_metric"] == max(dev_scores)
    keys = [(r["dev_metric"], -r["dev_loss"]) for r in figures["history"]]  # ties go to the lower dev loss
    assert figures["best_epoch"] == 1 + keys.index(max(keys))
    probs = teacher.predict_proba(dev.texts)
    assert_probability_rows(probs, len(dev), classes)
    assert accuracy(probs, dev.targets) >= 0.9  # the keyword task is learnable by the tiny model
    assert accuracy(probs, dev.targets) == pytest.approx(figures["dev_metric"])  # best epoch was kept

    teacher.save(tmp_path / "teacher")
    meta = json.loads((tmp_path / "teacher" / META_FILE).read_text())
    assert meta["labels"] == list(train.label_space.labels) and meta["task"] == figures["task"]
    assert meta["max_length"] == teacher.max_length and meta["training"]["best_epoch"] == figures["best_epoch"]
    loaded = BertTeacher.load(tmp_path / "teacher", num_threads=1)
    assert loaded.label_space == train.label_space
    assert loaded.max_length == teacher.max_length
    assert loaded.fingerprint() == teacher.fingerprint()
    np.testing.assert_allclose(loaded.predict_proba(dev.texts), probs, atol=1e-6)
    logits = loaded.predict_logits(dev.texts)
    np.testing.assert_allclose(loaded.activation(logits), probs, atol=1e-6)
    assert loaded.size_bytes() > 0


def test_fit_multilabel_uses_independent_sigmoids(tiny_bert_dir, tmp_path):
    train, dev = multilabel_data(480, seed=0), multilabel_data(80, seed=7)
    teacher = BertTeacher(**fast_params(tiny_bert_dir, epochs=6))
    figures = teacher.fit(train, dev)
    # the teacher selects its epoch on the students' dev score: macro-F1 for multi-label
    assert figures["task"] == "multilabel" and figures["dev_metric_name"] == "macro_f1"
    losses = [record["train_loss"] for record in figures["history"]]
    assert losses[-1] < 0.75 * losses[0]
    probs = teacher.predict_proba(dev.texts)
    assert_probability_rows(probs, len(dev), 2, multilabel=True)
    macro_f1 = multilabel_metrics(dev.targets, probs, ["neg", "pos"])["macro_f1"]
    assert macro_f1 == pytest.approx(figures["dev_metric"]) == pytest.approx(dev_score(dev.targets, probs, multilabel=True))
    # Better than saying "both" always (F1 0.67); a randomly initialised 2-layer model
    # often learns only one of the two keywords in a few epochs, so no more is asked.
    assert macro_f1 > 0.7
    # Rows of a multi-label teacher need not sum to 1: both, one or no label can apply.
    assert np.abs(probs.sum(axis=1) - 1).max() > 0.3

    teacher.save(tmp_path / "ml")
    loaded = BertTeacher.load(tmp_path / "ml", num_threads=1)
    assert loaded.label_space.multilabel
    np.testing.assert_allclose(loaded.predict_proba(dev.texts), probs, atol=1e-6)


def test_fit_is_seeded(tiny_bert_dir, binary_data):
    train, dev = binary_data
    first = BertTeacher(**fast_params(tiny_bert_dir, epochs=2)).fit(train, dev)
    again = BertTeacher(**fast_params(tiny_bert_dir, epochs=2)).fit(train, dev)
    other = BertTeacher(**fast_params(tiny_bert_dir, epochs=2, seed=1)).fit(train, dev)
    assert [r["train_loss"] for r in first["history"]] == [r["train_loss"] for r in again["history"]]
    assert [r["train_loss"] for r in first["history"]] != [r["train_loss"] for r in other["history"]]


def test_early_stopping_keeps_the_best_epoch(tiny_bert_dir, binary_data, monkeypatch):
    from kdtext.default_plugins.bert import training

    scores = iter([0.6, 0.9, 0.7, 0.65, 0.95])
    real = training.dev_scores
    monkeypatch.setattr(training, "dev_scores", lambda *a: {**real(*a), "metric": next(scores)})
    teacher = BertTeacher(**fast_params(tiny_bert_dir, epochs=5, patience=2))
    figures = teacher.fit(*binary_data)
    assert figures["epochs_run"] == 4  # epochs 3 and 4 did not beat epoch 2
    assert figures["best_epoch"] == 2 and figures["dev_metric"] == 0.9


def test_saved_teacher_loads_in_plain_transformers(trained_dir, binary_data):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    _, dev = binary_data
    model = AutoModelForSequenceClassification.from_pretrained(str(trained_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(trained_dir))
    assert model.config.id2label == {0: "neg", 1: "pos"}
    assert model.config.label2id == {"neg": 0, "pos": 1}
    assert model.config.problem_type == "single_label_classification"
    teacher = BertTeacher.load(trained_dir, num_threads=1)
    with torch.no_grad():
        for text, expected in zip(dev.texts[:10], teacher.predict_logits(dev.texts[:10])):
            enc = tokenizer(text, truncation=True, max_length=teacher.max_length, return_tensors="pt")
            np.testing.assert_allclose(model(**enc).logits[0].numpy(), expected, atol=1e-5)


def test_predict_from_ids_equals_predict_from_texts(teacher):
    texts = varied_texts(50, longest=30)
    ids = [teacher.tokenizer(text)["input_ids"] for text in texts]
    from_texts = teacher.predict_proba(texts)
    np.testing.assert_allclose(teacher.label(ids=ids, progress=False).probs, from_texts, atol=1e-6)
    np.testing.assert_allclose(teacher.label(ids=[np.asarray(s, np.int32) for s in ids], progress=False).probs, from_texts, atol=1e-6)
    bare = [teacher.tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    np.testing.assert_allclose(teacher.label(ids=bare, with_special_tokens=False, progress=False).probs, from_texts, atol=1e-6)
    np.testing.assert_allclose(teacher.label(ids=ids, progress=False).logits, teacher.predict_logits(texts), atol=1e-5)


def test_ids_that_do_not_fit_the_tokenizer_are_rejected(teacher):
    good = teacher.tokenizer("good movie")["input_ids"]
    with pytest.raises(ConfigError, match=r"do not start with the teacher's \[CLS\]"):
        teacher.label(ids=[good[1:]], progress=False)
    with pytest.raises(ConfigError, match="outside the teacher's vocabulary"):
        teacher.label(ids=[good[:1] + [10_000] + good[-1:]], progress=False)
    with pytest.raises(ConfigError, match="flat sequence of integers"):
        teacher.label(ids=[[[1, 2]]], progress=False)


def test_truncation_is_counted_and_matches_the_tokenizer(teacher):
    limit = teacher.max_length
    short = "good movie"
    exact_words = ["good"] * (limit - 2)  # exactly max_length tokens with [CLS] and [SEP]
    texts = [short, " ".join(exact_words), " ".join(["bad"] * (limit + 5)), " ".join(["fun"] * 200)]
    seqs, n_truncated = teacher.encode(texts)
    assert n_truncated == 2
    assert [len(s) for s in seqs] == [4, limit, limit, limit]
    assert seqs[2][-1] == teacher.tokenizer.sep_token_id
    result = teacher.label(texts, progress=False)
    assert result.n_truncated == 2
    ids = [teacher.tokenizer(text)["input_ids"] for text in texts]  # untruncated
    from_ids = teacher.label(ids=ids, progress=False)
    assert from_ids.n_truncated == 2
    np.testing.assert_allclose(from_ids.probs, result.probs, atol=1e-6)


def test_max_length_comes_from_the_data(tiny_bert_dir):
    assert length_from_data(np.array([5] * 98 + [40, 60]), 99, 512) == 40
    assert length_from_data(np.array([3, 4, 5]), 99, 512) == 16  # never below 16
    assert length_from_data(np.array([700] * 10), 99, 512) == 512  # capped by the model
    train = sentiment_data(100, max_extra=20)
    teacher = BertTeacher(**fast_params(tiny_bert_dir, epochs=1))
    figures = teacher.fit(train)
    lengths = [len(s) for s in teacher.tokenizer(train.texts)["input_ids"]]
    assert figures["max_length"] >= np.percentile(lengths, 99) and figures["max_length"] % 8 == 0
    assert figures["max_length"] <= 64  # the tiny model's position table
    fixed = BertTeacher(**fast_params(tiny_bert_dir, epochs=1, max_length=1000))
    assert fixed.fit(train)["max_length"] == 64


def test_unfitted_teacher_and_bad_parameters():
    with pytest.raises(ModelError, match="not trained"):
        BertTeacher().predict_proba(["x"])
    with pytest.raises(ConfigError, match="no parameter"):
        BertTeacher(learning_rate=1e-3)
    with pytest.raises(ConfigError, match="lr must be"):
        BertTeacher(lr=5)
    with pytest.raises(ConfigError, match="needs model=PATH"):
        BertTeacher().fit(sentiment_data(10))


def test_model_directory_missing_files_is_one_clear_error(trained_dir, tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        BertTeacher.load(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(trained_dir, broken)
    (broken / "model.safetensors").unlink()
    for name in ("tokenizer.json", "vocab.txt"):
        (broken / name).unlink(missing_ok=True)
    with pytest.raises(ModelError, match=r"missing the weights .*, the tokenizer") as info:
        BertTeacher.load(broken)
    assert str(broken) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ModelError, match="missing config.json"):
        BertTeacher(model=str(tmp_path)).fit(sentiment_data(10))


def test_label_count_disagreeing_with_the_data(teacher, trained_dir, tmp_path):
    teacher.check_labels(LabelSpace(("neg", "pos")))
    with pytest.raises(ModelError, match=r"predicts 2 labels \(neg, pos\) but the data has 3"):
        teacher.check_labels(LabelSpace(("neg", "neutral", "pos")))
    with pytest.raises(ModelError, match="differ"):
        teacher.check_labels(LabelSpace(("bad", "good")))
    with pytest.raises(ModelError, match="multilabel"):
        teacher.check_labels(LabelSpace(("neg", "pos"), multilabel=True))
    edited = tmp_path / "edited"
    shutil.copytree(trained_dir, edited)
    meta = json.loads((edited / META_FILE).read_text())
    meta["labels"] = ["a", "b", "c"]
    (edited / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="lists 3 labels but the model's classifier has 2 outputs"):
        BertTeacher.load(edited)


def test_a_plain_finetuned_classifier_loads_without_kdtext_metadata(trained_dir, tmp_path, binary_data):
    plain = tmp_path / "plain"
    shutil.copytree(trained_dir, plain)
    (plain / META_FILE).unlink()
    loaded = BertTeacher.load(plain, num_threads=1)
    assert loaded.label_space == LabelSpace(("neg", "pos"))
    assert loaded.max_length == 64  # no recorded length: the model's limit
    original = BertTeacher.load(trained_dir, num_threads=1)
    texts = binary_data[1].texts
    np.testing.assert_allclose(loaded.predict_proba(texts), original.predict_proba(texts), atol=1e-6)


def test_save_refuses_to_replace_a_directory_that_is_not_a_model(teacher, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ModelError, match="not a model directory"):
        teacher.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    teacher.save(tmp_path / "t")
    teacher.save(tmp_path / "t")  # replacing an earlier teacher is fine
    assert BertTeacher.is_teacher_dir(tmp_path / "t")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind


def test_fingerprint_changes_with_weights_and_max_length(teacher):
    import torch

    before = teacher.fingerprint()
    teacher._fingerprint = None
    assert teacher.fingerprint() == before
    teacher.max_length = 32
    teacher._fingerprint = None
    assert teacher.fingerprint() != before
    teacher.max_length = 64
    with torch.no_grad():
        next(teacher.model.parameters())[0, 0] += 1e-3
    teacher._fingerprint = None
    assert teacher.fingerprint() != before


def test_int8_quantization_agrees_with_fp32(teacher, binary_data):
    texts = binary_data[1].texts
    fp32 = teacher.label(texts, progress=False)
    int8 = teacher.label(texts, quantize="int8", progress=False)
    assert fp32.variant == "fp32" and int8.variant == "int8"
    assert np.mean(fp32.probs.argmax(1) == int8.probs.argmax(1)) >= 0.9
    assert np.abs(fp32.probs - int8.probs).max() < 0.2
    with pytest.raises(ConfigError, match="int8"):
        teacher.label(texts, quantize="int4", progress=False)


def test_empty_input_gives_empty_output(teacher):
    result = teacher.label([], progress=False)
    assert result.probs.shape == (0, 2) and result.n_computed == 0
    with pytest.raises(ConfigError, match="not one string"):
        teacher.label("good movie", progress=False)


def test_teacher_is_registered_without_importing_torch():
    import subprocess
    import sys

    code = (
        "import sys; from kdtext.plugins import get_teacher; "
        "assert get_teacher('bert').name == 'bert' and get_teacher('file').name == 'file'; "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
