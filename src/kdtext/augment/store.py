"""Synthetic sets written to disk part by part, so that making a million examples keeps memory flat.

An augmenter makes its examples round after round (:meth:`kdtext.Augmenter.augment_parts`);
a :class:`SyntheticSink` takes each part as it comes and forgets it:

- :class:`SyntheticWriter` appends the parts' arrays to raw files in a folder, which
  :func:`load_synthetic` memory-maps back as one set (``kdtext run``'s
  ``augment`` stage; later stages read the examples they need, a batch at a time);
- :class:`kdtext.augment.jsonl.JsonlSink` encodes them as JSONL lines (``kdtext augment``).

The folder (format ``kdtext-synthetic-arrays``) holds ``meta.json`` (augmenter, seed,
params, skipped, notes, sizes), ``vocab.json`` and one little-endian binary per array:
``words`` (int32 ids into the vocabulary), ``spaces`` (uint8), ``offsets`` (int64, one more
than examples), ``source`` (int64) and ``rounds`` (int32), as in :class:`SyntheticSet`.
Parts made over different vocabularies (masking adds the mask token) are remapped onto one
that holds every part's words, as :meth:`SyntheticSet.concat` does, so the folder holds the
set that concatenating the parts would give.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import KdtextError
from ..io import read_json
from .corpus import read_arrays
from .synthetic import SyntheticSet, VocabularyMerger

FORMAT = "kdtext-synthetic-arrays"
VERSION = 1
#: name -> dtype of the arrays of a synthetic-set folder.
ARRAYS = {
    "words": np.dtype("<i4"),
    "spaces": np.dtype("u1"),
    "offsets": np.dtype("<i8"),
    "source": np.dtype("<i8"),
    "rounds": np.dtype("<i4"),
}


class SyntheticSink:
    """Takes the parts of a synthetic set one at a time (:meth:`add`), counting what they hold.

    ``examples``, ``skipped`` (summed) and ``notes`` (each once, in order) describe every part
    added since the last :meth:`reset`, as the concatenated set would; ``augmenter``,
    ``seed`` and ``params`` come from the first part. Subclasses write the parts somewhere.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every part added so far (a writer also drops what it wrote)."""
        self.examples = 0
        self.tokens = 0
        self.skipped: dict[str, int] = {}
        self.notes: list[str] = []
        self.first: SyntheticSet | None = None

    def add(self, part: SyntheticSet) -> None:
        if self.first is None:
            self.first = part
        self.examples += len(part)
        self.tokens += part.n_tokens
        for key, value in part.skipped.items():
            self.skipped[key] = self.skipped.get(key, 0) + value
        self.notes.extend(note for note in part.notes if note not in self.notes)
        self._write(part)

    def _write(self, part: SyntheticSet) -> None:
        raise NotImplementedError


class SyntheticWriter(SyntheticSink):
    """Appends the parts of a set to a folder that :meth:`SyntheticSet.load` memory-maps.

    Files are written as ``NAME.bin.part`` and renamed by :meth:`close`, after ``meta.json``
    and ``vocab.json``: a folder with ``meta.json`` is complete. Use as a context manager
    (an exception leaves no complete-looking folder).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._files: dict[str, Any] = {}
        super().__init__()

    def reset(self) -> None:
        super().reset()
        for handle in self._files.values():
            handle.close()
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "meta.json").unlink(missing_ok=True)
        self._files = {name: open(self.path / f"{name}.bin.part", "wb") for name in ARRAYS}
        self._files["offsets"].write(np.zeros(1, ARRAYS["offsets"]).tobytes())
        self._vocab = VocabularyMerger()

    def _write(self, part: SyntheticSet) -> None:
        files = self._files
        files["words"].write(np.ascontiguousarray(self._vocab.ids(part), dtype=ARRAYS["words"]).tobytes())
        files["spaces"].write(np.ascontiguousarray(part.spaces, dtype=ARRAYS["spaces"]).tobytes())
        before = self.tokens - part.n_tokens  # tokens of the earlier parts (add() has counted this one)
        ends = before + part.offsets[1:] - part.offsets[0]
        files["offsets"].write(np.ascontiguousarray(ends, dtype=ARRAYS["offsets"]).tobytes())
        files["source"].write(np.ascontiguousarray(part.source, dtype=ARRAYS["source"]).tobytes())
        files["rounds"].write(np.ascontiguousarray(part.rounds, dtype=ARRAYS["rounds"]).tobytes())

    def close(self, vocab: list[str] | None = None) -> None:
        """Finish the folder; ``vocab`` is the set's vocabulary when no part was added."""
        from ..io import write_json

        if not self._files:  # closed already
            return
        for handle in self._files.values():
            handle.close()
        self._files = {}
        first = self.first
        write_json(self.path / "vocab.json", self._vocab.vocab if self._vocab.vocab is not None else list(vocab or []))
        for name in ARRAYS:
            os.replace(self.path / f"{name}.bin.part", self.path / f"{name}.bin")
        write_json(self.path / "meta.json", {
            "format": FORMAT, "version": VERSION,
            "augmenter": first.augmenter if first is not None else "", "seed": first.seed if first is not None else None,
            "params": json.loads(json.dumps(first.params if first is not None else {}, default=str)),
            "skipped": self.skipped, "notes": self.notes, "examples": self.examples, "tokens": self.tokens,
        })  # fmt: skip

    def __enter__(self) -> "SyntheticWriter":
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is None:
            self.close()
            return
        for handle in self._files.values():
            handle.close()
        self._files = {}


def _damaged(message: str) -> KdtextError:
    return KdtextError(f"damaged synthetic set: {message}")


def load_synthetic(path: str | os.PathLike, *, mmap: bool = True) -> SyntheticSet:
    """A synthetic set from disk: the folder a :class:`SyntheticWriter` wrote (its arrays memory-mapped:
    read when used), or the ``.npz`` file of :meth:`SyntheticSet.save`."""
    path = Path(path)
    if not path.is_dir():
        return SyntheticSet.load(path)
    try:
        meta, vocab = (read_json(path / name, error=_damaged) for name in ("meta.json", "vocab.json"))
    except FileNotFoundError as exc:
        raise KdtextError(f"{path}: not a finished synthetic set (missing {Path(exc.filename).name})") from None
    except OSError as exc:
        raise KdtextError(f"{path}: damaged synthetic set ({exc})") from None
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise KdtextError(f"{path}: not a kdtext synthetic set of format {FORMAT!r} version {VERSION}")
    arrays = read_arrays(path, ARRAYS, mmap=mmap, what="synthetic set")
    n, tokens = int(meta["examples"]), int(meta["tokens"])
    if (
        arrays["offsets"].shape[0] != n + 1 or arrays["source"].shape[0] != n or arrays["rounds"].shape[0] != n
        or arrays["words"].shape[0] != tokens or arrays["spaces"].shape[0] != tokens or int(arrays["offsets"][-1]) != tokens
        or (tokens and int(arrays["words"].max(initial=0)) >= len(vocab))
    ):  # fmt: skip
        raise KdtextError(f"{path}: damaged synthetic set (array sizes disagree with meta.json)")
    return SyntheticSet(
        vocab, arrays["words"], arrays["spaces"], arrays["offsets"], arrays["source"], arrays["rounds"],
        meta["augmenter"], meta["seed"], meta["params"], meta["skipped"], meta["notes"],
    )  # fmt: skip
