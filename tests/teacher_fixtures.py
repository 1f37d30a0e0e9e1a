"""Shared fixtures of the teacher tests: a tiny BERT and toy tasks, built offline in a temp dir.

The model is a 2-layer BERT with hidden size 32 made from a ``BertConfig``, saved as a
base encoder (no classifier head, like a pretrained checkpoint) with a WordPiece
vocabulary of a few dozen words. Nothing is downloaded.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from kdtext.data import Dataset
from kdtext.labels import LabelSpace

POSITIVE = ["good", "great", "fine", "love", "fun"]
NEGATIVE = ["bad", "awful", "hate", "poor", "dull"]
NEUTRAL = ["okay", "meh", "average"]
FILLER = ["the", "a", "movie", "film", "was", "is", "very", "this", "and", "it", "plot", "actor", "story", "cast"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = SPECIAL + sorted(set(POSITIVE + NEGATIVE + NEUTRAL + FILLER)) + ["##s", "##ly", ".", ","]


def make_tiny_bert(directory: Path, *, max_positions: int = 64, seed: int = 0) -> Path:
    """Write a tiny base BERT (encoder only) and its tokenizer to ``directory``; returns it."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer.from_pretrained(str(directory))
    assert tokenizer("good movie")["input_ids"][1] == VOCAB.index("good"), "tiny vocabulary not loaded"
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_positions,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    BertModel(config).save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


def _sentence(rng: random.Random, keyword: str, extra: int) -> str:
    words = [rng.choice(FILLER) for _ in range(extra)]
    words.insert(rng.randrange(len(words) + 1), keyword)
    return " ".join(words)


def sentiment_data(n: int, *, classes: int = 2, seed: int = 0, max_extra: int = 12) -> Dataset:
    """Binary (pos/neg) or 3-class (plus neutral) texts whose label is given by one keyword."""
    rng = random.Random(seed)
    groups = [("neg", NEGATIVE), ("pos", POSITIVE)] + ([("neutral", NEUTRAL)] if classes == 3 else [])
    texts, labels = [], []
    for i in range(n):
        name, words = groups[i % len(groups)]
        texts.append(_sentence(rng, rng.choice(words), rng.randint(1, max_extra)))
        labels.append(name)
    return Dataset.from_labels(texts, labels, LabelSpace(tuple(sorted(g for g, _ in groups))))


def multilabel_data(n: int, *, seed: int = 0) -> Dataset:
    """Texts labelled with each of ``pos`` / ``neg`` whose keyword they contain (zero, one or both)."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        has_pos, has_neg = bool(i & 1), bool(i & 2)
        words = [rng.choice(FILLER) for _ in range(rng.randint(2, 8))]
        if has_pos:
            words.insert(rng.randrange(len(words) + 1), rng.choice(POSITIVE))
        if has_neg:
            words.insert(rng.randrange(len(words) + 1), rng.choice(NEGATIVE))
        texts.append(" ".join(words))
        labels.append([name for name, on in (("neg", has_neg), ("pos", has_pos)) if on])
    return Dataset.from_labels(texts, labels, LabelSpace(("neg", "pos"), multilabel=True))


def varied_texts(n: int, *, seed: int = 1, longest: int = 40) -> list[str]:
    """Texts of very different lengths (1 to ``longest`` words), for bucketing tests."""
    rng = random.Random(seed)
    words = POSITIVE + NEGATIVE + NEUTRAL + FILLER
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, longest))) for _ in range(n)]


def fast_params(model_dir: Path, **overrides) -> dict:
    """Teacher parameters that train the tiny model in a second or two."""
    params = {
        "model": str(model_dir),
        "epochs": 4,
        "lr": 3e-3,
        "batch_size": 16,
        "seed": 0,
        "device": "cpu",
        "num_threads": 1,
        "progress": False,
        "patience": None,
    }
    params.update(overrides)
    return params


def write_run_task(root: Path) -> Path:
    """A tiny sentiment task for `kdtext run` in ``root``: a tiny BERT, train/dev/test/pool files and the
    ``run.toml`` that ties them together (300 tang examples, a small spacy-cnn student); returns ``root``."""
    import json

    def write_jsonl(path: Path, rows) -> None:
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    make_tiny_bert(root / "bert")
    for name, n, seed in (("train", 40, 0), ("dev", 20, 1), ("test", 20, 2)):
        ds = sentiment_data(n, seed=seed)
        write_jsonl(root / f"{name}.jsonl", ({"text": t, "label": l} for t, l in zip(ds.texts, ds.gold_labels())))
    write_jsonl(root / "pool.jsonl", ({"text": t} for t in sentiment_data(30, seed=5).texts))
    (root / "run.toml").write_text(
        'train = "train.jsonl"\ndev = "dev.jsonl"\ntest = "test.jsonl"\nunlabeled = "pool.jsonl"\n'
        'teacher_model = "bert"\nn_synthetic = 300\nteacher_vectors = 8\nstudent = "spacy-cnn"\n'
        "[teacher_params]\nepochs = 2\nprogress = false\n"
        "[student_params]\nwidth = 16\nembed_size = 200\nmax_epochs = 2\nprogress = false\n",
        encoding="utf-8",
    )
    return root


def assert_probability_rows(probs: np.ndarray, n: int, k: int, *, multilabel: bool = False) -> None:
    assert probs.shape == (n, k) and probs.dtype == np.float32
    assert np.isfinite(probs).all() and (probs >= 0).all() and (probs <= 1).all()
    if not multilabel:
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


# -- pytest fixtures (imported by the teacher test modules) ---------------------------

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A tiny base BERT, written once per session."""
    import torch

    torch.set_num_threads(1)
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "base")


@pytest.fixture(scope="session")
def binary_data() -> tuple[Dataset, Dataset]:
    return sentiment_data(240, classes=2, seed=0), sentiment_data(60, classes=2, seed=5)


@pytest.fixture(scope="session")
def trained_dir(tiny_bert_dir, binary_data, tmp_path_factory) -> Path:
    """A binary teacher finetuned once and saved; tests load their own copy from here."""
    from kdtext.default_plugins.bert.teacher import BertTeacher

    teacher = BertTeacher(**fast_params(tiny_bert_dir))
    teacher.fit(*binary_data)
    path = tmp_path_factory.mktemp("teacher") / "binary"
    teacher.save(path)
    return path


@pytest.fixture
def teacher(trained_dir):
    """A fresh copy of the trained binary teacher (tests may patch its model)."""
    from kdtext.default_plugins.bert.teacher import BertTeacher

    return BertTeacher.load(trained_dir, device="cpu", num_threads=1)


class ForwardCounter:
    """Wraps a model's forward: counts calls and examples, and can fail on demand."""

    def __init__(self, model, fail=None):
        self.model = model
        self.original = model.forward
        self.calls = 0
        self.examples = 0
        self.batch_sizes: list[int] = []
        self.fail = fail
        model.forward = self

    def __call__(self, *args, **kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        if self.fail is not None:
            self.fail(self, ids)
        self.calls += 1
        self.examples += int(ids.shape[0])
        self.batch_sizes.append(int(ids.shape[0]))
        return self.original(*args, **kwargs)
