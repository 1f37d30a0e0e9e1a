"""A label cache that survives being killed at any moment and is shared by several workers.

Layout: ``ROOT/<namespace>/`` holds ``meta.json`` and chunk files
``chunk-<time>-<pid>-<random>.npz``, each with ``keys`` (uint64 ``(n, 2)``: a 128-bit
hash of one example's input ids) and ``logits`` (float32 ``(n, n_labels)``), and in a cache
of sentence representations also ``representations`` (float16 ``(n, dims)``, computed in
the same forward pass as the logits). ``meta.json`` records ``n_labels`` and, for such a
cache, ``representation_dims``: a cache opened with other numbers is refused, so entries
with and without representations never mix (the teacher also names the two apart).

Why this is safe without locks:

* a chunk is written to a temporary name, fsynced and renamed into place
  (:func:`kdtext.io.atomic_write`), so a chunk file is either complete or absent;
  a kill leaves at most a hidden ``.chunk-*.tmp`` file, which readers ignore;
* chunk names are unique per writer, so workers (processes, Ray actors, machines on a
  shared file system) never write the same file; the directory listing is the manifest;
* an example labelled twice by two workers is in two chunks with the same logits:
  either copy serves.

The namespace is the teacher's fingerprint plus the inference variant (``fp32``,
``bf16``, ``int8``...), and a suffix when the entries carry representations, so changed
weights or precision never read stale labels and a run that asks for representations never
finds entries without them.
Keys hash the model's input ids, not the text: a text and the same example emitted as
ids by the augmentation engine share one entry.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import KdtextError
from ..io import atomic_write, read_json, write_json

CHUNK_PATTERN = re.compile(r"^chunk-[0-9a-z-]+\.npz$")
CACHE_FORMAT = 1


def sequence_keys(seqs: Sequence[np.ndarray]) -> np.ndarray:
    """128-bit keys, uint64 ``(n, 2)``, of int32 id sequences (BLAKE2b of their bytes)."""
    keys = np.empty((len(seqs), 2), dtype=np.uint64)
    flat = keys.view(np.uint8).reshape(len(seqs), 16)
    for i, seq in enumerate(seqs):
        digest = hashlib.blake2b(np.ascontiguousarray(seq, dtype="<i4").tobytes(), digest_size=16).digest()
        flat[i] = np.frombuffer(digest, dtype=np.uint8)
    return keys


class LabelCache:
    """Logits (and sentence representations) by example, for one teacher fingerprint and inference variant.

    ``lookup(keys)`` says which examples are known and returns their logits and
    representations; ``add(keys, logits, representations)`` writes one new chunk. Lookups
    re-read the directory, so chunks that other workers wrote meanwhile are seen.
    ``representation_dims`` (0: none) is the width of the representations every entry carries.
    """

    def __init__(self, root: str | os.PathLike, namespace: str, n_labels: int, representation_dims: int = 0):
        self.root = Path(root)
        self.namespace = namespace
        self.n_labels = int(n_labels)
        self.dims = int(representation_dims)
        self.path = self.root / namespace
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise KdtextError(f"{self.path}: cannot create the label cache here ({exc.strerror})") from None
        meta_path = self.path / "meta.json"
        if meta_path.exists():
            try:
                meta = read_json(meta_path)
            except (OSError, KdtextError):
                meta = None  # a damaged meta file is rewritten below; chunks carry their own shapes
            if meta is not None and meta.get("n_labels") != self.n_labels:
                raise KdtextError(
                    f"{meta_path}: label cache holds {meta.get('n_labels')} labels per example, "
                    f"but the teacher has {self.n_labels}; use another --cache directory"
                )
            if meta is not None and int(meta.get("representation_dims", 0)) != self.dims:
                raise KdtextError(
                    f"{meta_path}: label cache holds sentence representations of {meta.get('representation_dims', 0)} "
                    f"dimensions per example (0: none), not {self.dims}; use another --cache directory"
                )
        if not meta_path.exists():
            meta = {"format": CACHE_FORMAT, "namespace": namespace, "n_labels": self.n_labels}
            write_json(meta_path, {**meta, "representation_dims": self.dims} if self.dims else meta)
        #: chunk name -> (keys, logits, representations or None)
        self._chunks: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
        #: Sorted (high words, low words, logits, representations) of every chunk read so far; None when stale.
        self._index: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None] | None = None

    def _refresh(self) -> None:
        try:
            entries = sorted(os.listdir(self.path))
        except FileNotFoundError:
            entries = []  # removed by the user meanwhile: nothing more is known
        for entry in entries:
            if entry in self._chunks or not CHUNK_PATTERN.match(entry):
                continue
            reps = None
            try:
                with np.load(self.path / entry, allow_pickle=False) as data:
                    keys = np.asarray(data["keys"], dtype=np.uint64)
                    logits = np.asarray(data["logits"], dtype=np.float32)
                    if self.dims:
                        reps = np.asarray(data["representations"], dtype=np.float16)
                if keys.ndim != 2 or keys.shape[1] != 2 or logits.shape != (len(keys), self.n_labels):
                    raise ValueError(f"shapes {keys.shape} and {logits.shape}")
                if reps is not None and reps.shape != (len(keys), self.dims):
                    raise ValueError(f"representations of shape {reps.shape}")
            except Exception as exc:  # a damaged chunk costs a recomputation, never wrong labels
                print(f"kdtext: warning: {self.path / entry}: unreadable cache chunk ignored ({exc})", file=sys.stderr)
                keys = np.zeros((0, 2), np.uint64)
                logits = np.zeros((0, self.n_labels), np.float32)
                reps = np.zeros((0, self.dims), np.float16) if self.dims else None
            self._chunks[entry] = (keys, logits, reps)
            self._index = None

    def __len__(self) -> int:
        """Number of cached entries (duplicates across chunks counted once each time stored)."""
        self._refresh()
        return sum(len(keys) for keys, _, _ in self._chunks.values())

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(found, logits, representations)``: a bool mask over ``keys``, float32 logits and float16
        representations (None in a cache without them), zeros where not found."""
        keys = np.asarray(keys, dtype=np.uint64).reshape(-1, 2)
        found = np.zeros(len(keys), dtype=bool)
        out = np.zeros((len(keys), self.n_labels), dtype=np.float32)
        reps = np.zeros((len(keys), self.dims), dtype=np.float16) if self.dims else None
        self._refresh()
        if not self._chunks or not len(keys):
            return found, out, reps
        if self._index is None:
            chunks = list(self._chunks.values())
            all_keys = np.concatenate([k for k, _, _ in chunks])
            order = np.lexsort((all_keys[:, 1], all_keys[:, 0]))
            all_reps = np.concatenate([r for _, _, r in chunks])[order] if self.dims else None
            self._index = (all_keys[order, 0], all_keys[order, 1], np.concatenate([v for _, v, _ in chunks])[order], all_reps)
        hi, lo, sorted_logits, sorted_reps = self._index
        if not len(hi):
            return found, out, reps
        pos = np.minimum(np.searchsorted(hi, keys[:, 0], side="left"), len(hi) - 1)
        same_hi = hi[pos] == keys[:, 0]
        hit = same_hi & (lo[pos] == keys[:, 1])
        where = np.where(hit, pos, -1)
        # Equal high words with different low words are all but impossible; scan them exactly.
        for i in np.flatnonzero(same_hi & ~hit):
            j = pos[i]
            while j < len(hi) and hi[j] == keys[i, 0]:
                if lo[j] == keys[i, 1]:
                    where[i] = j
                    break
                j += 1
        found[:] = where >= 0
        out[found] = sorted_logits[where[found]]
        if reps is not None and sorted_reps is not None:
            reps[found] = sorted_reps[where[found]]
        return found, out, reps

    def add(self, keys: np.ndarray, logits: np.ndarray, representations: np.ndarray | None = None) -> None:
        """Store one chunk atomically (a no-op for zero rows); ``representations`` exactly when the cache keeps them."""
        keys = np.ascontiguousarray(keys, dtype=np.uint64).reshape(-1, 2)
        logits = np.ascontiguousarray(logits, dtype=np.float32)
        if not len(keys):
            return
        if logits.shape != (len(keys), self.n_labels):
            raise ValueError(f"logits of shape {logits.shape} for {len(keys)} keys and {self.n_labels} labels")
        arrays = {"keys": keys, "logits": logits}
        if (representations is not None) != bool(self.dims):
            raise ValueError(f"this cache keeps {'representations' if self.dims else 'no representations'}; got {'none' if representations is None else 'some'}")
        if representations is not None:
            arrays["representations"] = np.ascontiguousarray(representations, dtype=np.float16)
            if arrays["representations"].shape != (len(keys), self.dims):
                raise ValueError(f"representations of shape {arrays['representations'].shape} for {len(keys)} keys and {self.dims} dimensions")
        name = f"chunk-{time.time_ns():x}-{os.getpid():x}-{uuid.uuid4().hex[:12]}.npz"
        with atomic_write(self.path / name, "wb") as handle:
            np.savez(handle, **arrays)
        self._chunks[name] = (keys.copy(), logits.copy(), None if representations is None else arrays["representations"].copy())
        self._index = None
