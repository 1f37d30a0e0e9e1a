"""Run-folder readers: what the stages of ``kdtext run`` wrote, read back (by the later stages, the
benchmarks and ``kdtext`` commands).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import plugins
from ..data import Dataset, RowView, read_labelled, read_texts
from ..errors import ModelError
from ..io import read_json
from ..labels import LabelSpace
from .runner import StageContext

if TYPE_CHECKING:
    from ..augment.synthetic import SyntheticSet


def label_space_of(ctx: StageContext) -> LabelSpace:
    return LabelSpace.from_json(read_json(ctx.input("data") / "labels.json"))


def split_of(run_dir: Path, name: str) -> Dataset:
    """The ``train``, ``dev`` or ``test`` split of a run, as its data stage wrote it."""
    space = LabelSpace.from_json(read_json(run_dir / "data" / "labels.json"))
    return read_labelled(run_dir / "data" / f"{name}.jsonl", space, allow_empty=True)


def split(ctx: StageContext, name: str) -> Dataset:
    return split_of(ctx.runner.run_dir, name)


def unlabeled(ctx: StageContext) -> list[str]:
    path = ctx.input("data") / "unlabeled.jsonl"
    return read_texts(path) if path.stat().st_size else []


def load_teacher(ctx: StageContext) -> Any:
    return plugins.get_teacher(ctx.config.teacher).load(ctx.input("teacher") / "model")


def synthetic_of(run_dir: Path, augment: Path | None = None) -> "SyntheticSet":
    """The synthetic set of a run's augment stage, memory-mapped (runs made before it was a folder: the ``.npz``);
    ``augment``: another augment folder (``kdtext sweep`` gives a cell's)."""
    from ..augment.store import load_synthetic

    augment = augment or run_dir / "augment"
    folder = augment / "synthetic"
    return load_synthetic(folder if folder.exists() else augment / "synthetic.npz")


def load_transfer(run_dir: Path, lang: str, *, augment: Path | None = None, label: Path | None = None) -> tuple[Dataset, Dataset]:
    """The teacher-labelled synthetic examples and unlabelled pool of a run, as two soft datasets (in memory).

    ``augment`` and ``label`` are the folders of the synthetic set and of its labels
    (default: the run's own stages; ``kdtext sweep`` gives a cell's); the same in :func:`transfer_of`.
    """
    return _transfer(run_dir, lang, lazy=False, augment=augment, label=label)


def transfer_of(run_dir: Path, lang: str, *, augment: Path | None = None, label: Path | None = None) -> Dataset:
    """A run's whole transfer set (synthetic examples, then the unlabelled pool) as one soft dataset read off disk.

    The synthetic examples' texts, words and spaces are :class:`~kdtext.data.RowView`\\s over the
    memory-mapped set, the targets the memory-mapped ``probs.npy``: rows are read as a student
    uses them, so the set's size costs disk, not memory (the ``distilled`` stage).
    """
    synthetic, pool = _transfer(run_dir, lang, lazy=True, augment=augment, label=label)
    label = label or run_dir / "label"
    targets = np.load(label / "probs.npy", mmap_mode="r")
    return Dataset(
        RowView.chain(synthetic.texts, pool.texts), targets, synthetic.label_space, soft=True,
        words=RowView.chain(synthetic.words, pool.words), spaces=RowView.chain(synthetic.spaces, pool.spaces),
        reps=_representations(label, lazy=True),
    )  # fmt: skip


def _representations(label: Path, *, lazy: bool) -> np.ndarray | None:
    """The teacher's sentence representations of the transfer set (``reps.npy``), when the label stage collected them."""
    path = label / "reps.npy"
    return np.load(path, mmap_mode="r" if lazy else None) if path.is_file() else None


def _transfer(run_dir: Path, lang: str, *, lazy: bool, augment: Path | None = None, label: Path | None = None) -> tuple[Dataset, Dataset]:
    from ..augment.builder import corpus_from_texts

    space = LabelSpace.from_json(read_json(run_dir / "data" / "labels.json"))
    label = label or run_dir / "label"
    probs = np.load(label / "probs.npy", mmap_mode="r" if lazy else None)
    synthetic = synthetic_of(run_dir, augment)
    pool_file = run_dir / "data" / "unlabeled.jsonl"
    pool = read_texts(pool_file) if pool_file.stat().st_size else []
    n = len(synthetic)
    if probs.shape != (n + len(pool), len(space)):
        raise ModelError(f"the labels in {label} do not match the transfer set; delete that folder and rerun")
    pool_corpus = corpus_from_texts(pool, lang=lang, tagger=None)
    pool_data = Dataset(
        pool,
        probs[n:],
        space,
        soft=True,
        words=[pool_corpus.doc_words(i) for i in range(pool_corpus.n_docs)],
        spaces=[pool_corpus.doc_spaces(i) for i in range(pool_corpus.n_docs)],
    )
    data = synthetic.to_dataset(probs[:n], space, soft=True, lazy=lazy)
    reps = _representations(label, lazy=lazy)
    if reps is not None:
        data.reps, pool_data.reps = reps[:n], reps[n:]
    return data, pool_data


def concat(a: Dataset, b: Dataset) -> Dataset:
    """Two soft datasets (with words and spaces) as one; teacher representations too, NaN where one side has none."""
    reps = None
    if a.reps is not None or b.reps is not None:
        width = (a.reps if a.reps is not None else b.reps).shape[1]  # type: ignore[union-attr]
        reps = np.concatenate([d.reps if d.reps is not None else np.full((len(d), width), np.nan, np.float32) for d in (a, b)])
    return Dataset(
        RowView.chain(a.texts, b.texts),
        np.concatenate([a.targets, b.targets]),
        a.label_space,
        soft=True,
        words=RowView.chain(a.words if a.words is not None else [], b.words if b.words is not None else []),
        spaces=RowView.chain(a.spaces if a.spaces is not None else [], b.spaces if b.spaces is not None else []),
        reps=reps,
    )
