"""Streaming student training: batches read off disk give the model that training from memory gives."""

from __future__ import annotations

import numpy as np
import pytest

from kdtext.data import Dataset, RowView
from kdtext.labels import LabelSpace
from kdtext.students import build_student

pytest.importorskip("spacy")

SPACE = LabelSpace(("pos", "neg"))
FILLER = "the a film movie it was this one really quite".split()
FAST = {"progress": False, "max_epochs": 3, "batch_size": 8, "learn_rate": 0.01, "width": 16, "embed_size": 500, "eval_every": 5, "patience": 50}


def rows(n: int, seed: int) -> tuple[list[list[str]], list[list[bool]], np.ndarray]:
    rng = np.random.default_rng(seed)
    words, spaces, targets = [], [], []
    for _ in range(n):
        p = float(rng.uniform())
        cue = "zeta" if p > 0.5 else "omega"
        doc = [*rng.choice(FILLER, 3).tolist(), cue, *rng.choice(FILLER, 2).tolist(), "!"]
        words.append(doc)
        spaces.append([True] * (len(doc) - 2) + [False, False])
        targets.append([p, 1 - p])
    return words, spaces, np.asarray(targets, np.float32)


def gold(n: int, seed: int) -> Dataset:
    words, spaces, targets = rows(n, seed)
    texts = ["".join(w + (" " if s else "") for w, s in zip(ws, ss)) for ws, ss in zip(words, spaces)]
    return Dataset.from_labels(texts, ["pos" if t[0] > 0.5 else "neg" for t in targets], SPACE)


def transfer_in_memory(n: int = 60) -> Dataset:
    words, spaces, targets = rows(n, seed=9)
    texts = ["".join(w + (" " if s else "") for w, s in zip(ws, ss)) for ws, ss in zip(words, spaces)]
    return Dataset(texts, targets, SPACE, soft=True, words=words, spaces=spaces)


def transfer_on_disk(tmp_path, data: Dataset) -> Dataset:
    """The same rows, read when asked: views over the rows and memory-mapped targets (and representations)."""
    np.save(tmp_path / "targets.npy", data.targets)
    reps = None
    if data.reps is not None:
        np.save(tmp_path / "reps.npy", data.reps)
        reps = np.load(tmp_path / "reps.npy", mmap_mode="r")
    texts, words, spaces = list(data.texts), list(data.words), list(data.spaces)
    n = len(texts)
    return Dataset(RowView(n, texts.__getitem__), np.load(tmp_path / "targets.npy", mmap_mode="r"), SPACE, soft=True,
                   words=RowView(n, words.__getitem__), spaces=RowView(n, spaces.__getitem__), reps=reps)  # fmt: skip


@pytest.mark.parametrize(
    "params", [{"gold_repeats": 1}, {"gold_repeats": 3, "balance": 1.0}, {"rep_weight": 1.0, "rep_dims": 4}], ids=["plain", "repeats+balance", "representations"]
)  # fmt: skip
def test_training_off_disk_gives_the_model_of_training_in_memory(tmp_path, params):
    from kdtext.default_plugins.spacy.batches import in_memory

    train, dev = gold(16, seed=1), gold(8, seed=2)
    memory = transfer_in_memory()
    memory.reps = np.random.default_rng(3).normal(size=(len(memory), 12)).astype(np.float32)
    disk = transfer_on_disk(tmp_path, memory)
    assert in_memory(memory) and not in_memory(disk)
    figures, weights = [], []
    for transfer in (memory, disk):
        student = build_student("spacy-fast", **FAST, **params)
        figures.append(student.fit(train, dev, transfer, seed=4))
        weights.append(student.nlp.get_pipe("textcat").model.to_bytes())
    assert figures[0]["steps"] == figures[1]["steps"] > 10
    assert [p["loss"] for p in figures[0]["curve"]] == [p["loss"] for p in figures[1]["curve"]]
    assert weights[0] == weights[1]
    if "rep_weight" in params:
        assert np.isfinite(figures[0]["curve"][-1]["representation_loss"])


def test_pool_batches_keep_the_order_and_fill_missing_extras_with_nan():
    import spacy

    from kdtext.default_plugins.spacy.batches import DatasetExamples, ExampleList, TrainingPool
    from kdtext.default_plugins.spacy.training import make_docs, make_examples

    nlp = spacy.blank("en")
    train = gold(3, seed=5)
    gold_examples = ExampleList(make_examples(make_docs(nlp, train.texts, None, None), train.targets, SPACE.labels), SPACE.labels)
    transfer = transfer_in_memory(4)
    reps = np.arange(8, dtype=np.float32).reshape(4, 2)
    soft = DatasetExamples(nlp, transfer, SPACE.labels).add_extra("representation", reps)
    pool = TrainingPool([(gold_examples, 2), (soft, 1)])
    assert len(pool) == 3 * 2 + 4
    batch = pool.batch(np.array([7, 0, 4, 9]))  # transfer 1, gold 0, gold 1 (second copy), transfer 3
    assert [ex.reference.text for ex in batch.examples] == [
        transfer.texts[1], train.texts[0], train.texts[1], transfer.texts[3]
    ]  # fmt: skip
    assert np.array_equal(batch.targets[[0, 3]], transfer.targets[[1, 3]])
    assert np.array_equal(batch.targets[[1, 2]], train.targets[[0, 1]])
    extra = batch.extras["representation"]
    assert extra.shape == (4, 2) and np.array_equal(extra[[0, 3]], reps[[1, 3]]) and np.isnan(extra[[1, 2]]).all()
    assert [ex.reference.cats["pos"] for ex in batch.examples] == pytest.approx(batch.targets[:, 0].tolist())
    with pytest.raises(ValueError, match="extra array 'representation' has 3 rows for 4 examples"):
        DatasetExamples(nlp, transfer, SPACE.labels).add_extra("representation", reps[:3])


def test_row_views_index_slice_and_chain():
    view = RowView(5, lambda i: i * 10)
    assert list(view) == [0, 10, 20, 30, 40] and view[-1] == 40 and list(view[1:4]) == [10, 20, 30]
    with pytest.raises(IndexError):
        view[5]
    both = RowView.chain(view, [7, 8])
    assert len(both) == 7 and list(both) == [0, 10, 20, 30, 40, 7, 8]
    assert RowView.chain([1], [2]) == [1, 2]


def test_a_runs_transfer_set_read_off_disk_trains_the_student_of_the_in_memory_one(tmp_path):
    """transfer_of (the distilled stage) against load_transfer + concat (in memory) on a run folder's files."""
    import json

    from kdtext.augment import make_augmenter
    from kdtext.augment.builder import corpus_from_texts
    from kdtext.augment.store import SyntheticWriter
    from kdtext.pipeline.artifacts import concat, load_transfer, transfer_of

    train, dev = gold(16, seed=1), gold(8, seed=2)
    pool = ["zeta one was really it", "omega the a film quite"]
    corpus = corpus_from_texts(train.texts + pool, lang="en", tagger=None)
    run = tmp_path / "run"
    with SyntheticWriter(run / "augment" / "synthetic") as writer:
        for part in make_augmenter("mask", n_iter=3).augment_parts(corpus, 40, seed=0):
            writer.add(part)
    (run / "data").mkdir()
    (run / "data" / "labels.json").write_text(json.dumps(SPACE.to_json()))
    (run / "data" / "unlabeled.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in pool))
    (run / "label").mkdir()
    p = np.random.default_rng(0).uniform(size=writer.examples + len(pool)).astype(np.float32)
    np.save(run / "label" / "probs.npy", np.stack([p, 1 - p], axis=1))
    memory, disk = concat(*load_transfer(run, "en")), transfer_of(run, "en")
    assert list(disk.texts) == memory.texts and list(disk.words) == memory.words and np.array_equal(disk.targets, memory.targets)
    weights = []
    for transfer in (memory, disk):
        student = build_student("spacy-fast", **FAST)
        student.fit(train, dev, transfer, seed=0)
        weights.append(student.nlp.get_pipe("textcat").model.to_bytes())
    assert weights[0] == weights[1]
