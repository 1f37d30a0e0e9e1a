"""The file-level work of ``kdtext label`` on any engine: :func:`write_label_shards` writes
soft labels as Parquet shards in input order with a ``manifest.json``. (``kdtext augment``
on an engine is :func:`kdtext.augment.augment_file` with ``engine=``.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...data import SHARDS_FORMAT
from ...errors import KdtextError


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

    from ...io import building_directory, sha256_file, write_json

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise KdtextError(f"{directory}: exists and is not a folder; give a .jsonl file or a folder for --output")
    if rows_per_shard < 1:
        raise KdtextError(f"rows_per_shard must be at least 1, got {rows_per_shard}")
    n = len(texts)
    files = []
    with building_directory(directory) as tmp:
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
    return manifest
