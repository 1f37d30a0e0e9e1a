"""The ``data`` stage: load and validate train, dev, test and the unlabelled texts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...data import Dataset, label_warnings, read_labelled, read_texts
from ...errors import DataError
from ...io import write_json, write_jsonl
from ..config import RunConfig
from ..runner import StageContext, sha256_file


def _data_settings(config: RunConfig) -> Any:
    if config.data is not None:
        return {"data": config.data}
    files = {name: getattr(config, name) for name in ("train", "dev", "test", "unlabeled")}
    return {name: (sha256_file(Path(path)) if path and Path(path).is_file() else path) for name, path in files.items()}


def _gold_rows(dataset: Dataset) -> list[dict[str, Any]]:
    rows = []
    for text, label in zip(dataset.texts, dataset.gold_labels()):
        rows.append({"text": text, "label": list(label) if isinstance(label, tuple) else label})
    return rows


def load_inputs(config: RunConfig) -> tuple[Dataset, Dataset, Dataset, list[str]]:
    """Train, dev, test and unlabelled texts, validated: every problem is one clear error."""
    if config.data is not None:
        from ...datasets import builtin_splits

        train, dev, test, pool = builtin_splits(config.data, seed=0)
        return train, dev, test, list(pool)
    train = read_labelled(config.train)
    dev = read_labelled(config.dev, train.label_space)
    test = read_labelled(config.test, train.label_space)
    for dataset in (train, dev, test):
        _check_lengths(dataset.texts, dataset.source, dataset.lines)
    pool = read_texts(config.unlabeled) if config.unlabeled else []
    if pool:
        _check_lengths(pool, config.unlabeled, None)
    return train, dev, test, pool


def _check_lengths(texts: list[str], source: Any, lines: list[int] | None) -> None:
    """Texts the tokenizers refuse (over :data:`kdtext.augment.tokenizer.MAX_CHARS`) fail here, before any work, with their line."""
    from ...augment.tokenizer import MAX_CHARS

    for i, text in enumerate(texts):
        if len(text) > MAX_CHARS:
            if lines is None:  # read_texts skips blank lines: find the line again
                from ...data import iter_records

                lines = [record.line for record in iter_records(source)]
            raise DataError(
                source, lines[i],
                f"text is {len(text):,} characters long, over the limit of {MAX_CHARS:,}; split long documents into paragraphs first",
            )  # fmt: skip


def stage_data(ctx: StageContext) -> dict[str, Any]:
    train, dev, test, pool = load_inputs(ctx.config)
    train_texts = set(train.texts)
    overlap = sum(1 for text in test.texts if text in train_texts)
    if overlap:
        ctx.log(f"warning: {overlap} test example(s) also appear in train; test figures will be optimistic")
    warnings = label_warnings(train, dev=dev, test=test)
    for warning in warnings:
        ctx.log(f"warning: {warning}")
    for name, dataset in (("train", train), ("dev", dev), ("test", test)):
        write_jsonl(ctx.out / f"{name}.jsonl", _gold_rows(dataset))
    write_jsonl(ctx.out / "unlabeled.jsonl", ({"text": t} for t in pool))
    write_json(ctx.out / "labels.json", train.label_space.to_json())
    ctx.log(
        f"{len(train)} train, {len(dev)} dev, {len(test)} test, {len(pool)} unlabelled; "
        f"{train.label_space.task}: {', '.join(train.label_space.labels)}"
    )
    return {
        "n_train": len(train),
        "n_dev": len(dev),
        "n_test": len(test),
        "n_unlabeled": len(pool),
        "labels": list(train.label_space.labels),
        "task": train.label_space.task,
        "train_test_duplicates": overlap,
        "warnings": warnings,
    }
