"""The file-level work of ``kdtext augment`` and ``kdtext label`` on any engine.

:func:`augment_file` is :func:`kdtext.augment.augment_file` with the augmentation itself
handed to an engine; :func:`write_label_shards` writes soft labels as Parquet shards
in input order with a ``manifest.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import KdtextError

SHARDS_FORMAT = "kdtext-soft-labels"


def augment_file(
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    engine: Any,
    augmenter: str = "tang",
    n: int | None = None,
    seed: int = 0,
    lang: str = "en",
    tagger: str = "auto",
    params: dict[str, Any] | None = None,
    text_field: str = "text",
) -> dict[str, Any]:
    """Read texts, augment them on ``engine``, write JSONL atomically; the same file as
    :func:`kdtext.augment.augment_file` for the same seed. Returns its summary plus
    ``engine`` (the engine's throughput figures)."""
    from ..augment import build_corpus, make_augmenter, needs_tags, read_source_texts
    from ..corpus import check_language
    from ..io import write_jsonl

    start = time.perf_counter()
    aug = make_augmenter(augmenter, **(params or {}))
    texts, lines = read_source_texts(input_path, text_field)
    kwargs: dict[str, Any] = {"source": str(input_path), "lines": lines}
    if tagger != "auto":
        kwargs["tagger"] = tagger if needs_tags(aug) else None
    check_language(lang)
    if getattr(aug, "requires_tags", False):
        from ..default_plugins.taggers import tagger_for

        kwargs["tagger"] = tagger_for(lang, tagger)
    corpus = build_corpus(texts, lang, aug, **kwargs)
    synthetic, figures = engine.augment(corpus, aug, n, seed=seed)
    count = write_jsonl(output, synthetic.rows())
    seconds = time.perf_counter() - start
    skipped = dict(synthetic.skipped)
    n_skipped = sum(skipped.values())
    line = (
        f"wrote {count:,} examples from {len(texts):,} texts to {output} "
        f"(augmenter {augmenter}, seed {seed}, engine {engine.name} on {figures.get('workers', 1)} workers, {seconds:.1f} s)"
    )
    if n_skipped:
        line += f"; skipped {n_skipped:,} texts: " + ", ".join(f"{v:,} {k.replace('_', '-')}" for k, v in skipped.items())
    else:
        line += "; skipped 0 texts"
    return {
        "examples": count,
        "texts": len(texts),
        "skipped": skipped,
        "notes": list(synthetic.notes),
        "seconds": seconds,
        "engine": figures,
        "line": line,
    }


def write_label_shards(
    directory: str | os.PathLike,
    texts: Sequence[str],
    probs: np.ndarray,
    labels: Sequence[str],
    *,
    logits: np.ndarray | None = None,
    rows_per_shard: int = 100_000,
    summary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``DIRECTORY/part-00000.parquet``... and ``DIRECTORY/manifest.json``; returns the manifest.

    Each shard has a ``text`` column and a ``probs`` struct column (one float field per
    label, as the JSONL rows' ``probs`` objects; ``logits`` likewise when given). Shards
    hold consecutive rows in input order; the manifest lists them with their first row,
    row count and SHA-256. The folder appears complete or not at all (written under a
    temporary name, then renamed; an existing folder is replaced).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..io import write_json
    from ..pipeline.runner import sha256_file

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise KdtextError(f"{directory}: exists and is not a folder; give a .jsonl file or a folder for --output")
    if rows_per_shard < 1:
        raise KdtextError(f"rows_per_shard must be at least 1, got {rows_per_shard}")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.with_name(f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    n = len(texts)
    files = []
    try:
        for number, first in enumerate(range(0, max(n, 1), rows_per_shard)):
            last = min(first + rows_per_shard, n)
            columns = {
                "text": pa.array(list(texts[first:last]), pa.string()),
                "probs": pa.StructArray.from_arrays([pa.array(probs[first:last, j], pa.float32()) for j in range(len(labels))], names=list(labels)),
            }
            if logits is not None:
                columns["logits"] = pa.StructArray.from_arrays(
                    [pa.array(logits[first:last, j], pa.float32()) for j in range(len(labels))], names=list(labels)
                )
            name = f"part-{number:05d}.parquet"
            pq.write_table(pa.table(columns), tmp / name)
            files.append({"path": name, "first": first, "rows": last - first, "sha256": sha256_file(tmp / name)})
        manifest = {"format": SHARDS_FORMAT, "version": 1, "labels": list(labels), "examples": n, "files": files, "summary": summary or {}}
        write_json(tmp / "manifest.json", json.loads(json.dumps(manifest, default=str)))
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(directory, old)
            os.replace(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
