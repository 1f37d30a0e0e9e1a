"""Synthetic examples as JSONL, built in bulk from the word arrays.

``kdtext augment`` writes one ``{"text": ..., "source": ..., "augmenter": ...}`` object
per line, byte for byte as ``json.dumps(row, ensure_ascii=False)`` writes it. Encoding
each row with ``json.dumps`` runs at 10-130k rows/s, far behind the kernels (millions of
examples/s), so the file used to cost most of the command. Here every vocabulary word is
JSON-escaped once (escaping is per character, so the escape of a text is the escapes of
its words joined); a line is then a run of pieces (the line's opening, its words, the
source number, the closing), and a block of lines is gathered from one byte table with
NumPy: about 900k rows/s of CPU time on one core for 19-token examples
(``python benchmarks/augment_cli.py``).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from .store import SyntheticSink

if TYPE_CHECKING:
    from .synthetic import SyntheticSet

#: Examples encoded per block (bounded memory whatever the set's size).
BLOCK_EXAMPLES = 16_384

_PREFIX = b'{"text": "'
#: A block's bytes are indexed with int32: blocks of very long texts are split below this.
_MAX_BLOCK_BYTES = 1 << 30


def _escaped(value: str) -> bytes:
    """``value`` JSON-escaped as ``json.dumps(..., ensure_ascii=False)`` does, without the quotes."""
    return json.dumps(value, ensure_ascii=False)[1:-1].encode("utf-8")


class SyntheticRowEncoder:
    """Encodes the examples of one :class:`~kdtext.augment.SyntheticSet` as JSONL bytes.

    The word table costs O(vocabulary) once; :meth:`encode` then costs a few NumPy
    operations over the block's bytes, whatever the number of rows.
    """

    def __init__(self, synthetic: "SyntheticSet", table: "tuple[np.ndarray, np.ndarray, np.ndarray] | None" = None):
        self.synthetic = synthetic
        n_pieces = 2 * len(synthetic.vocab)
        self._prefix, self._mid, self._suffix = n_pieces, n_pieces + 1, n_pieces + 2
        self._blob, self._starts, self._lens = table if table is not None else self.table(synthetic)
        self._codes = synthetic.words * 2 + synthetic.spaces  # int32

    @staticmethod
    def table(synthetic: "SyntheticSet") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The byte table of ``synthetic``'s vocabulary and augmenter name: the same for every set that shares them."""
        pieces: list[bytes] = []
        for word in synthetic.vocab:  # code 2*w + space: the escaped word, with its trailing space or not
            escaped = _escaped(word)
            pieces.append(escaped)
            pieces.append(escaped + b" ")
        augmenter = json.dumps(synthetic.augmenter, ensure_ascii=False).encode("utf-8")
        pieces += [_PREFIX, b'", "source": ', b', "augmenter": ' + augmenter + b"}\n"]
        return _pack(pieces)

    def encode(self, start: int, stop: int) -> bytes:
        """The JSONL lines of examples ``start:stop``, newline-terminated."""
        n = stop - start
        if n <= 0:
            return b""
        synthetic = self.synthetic
        offsets = synthetic.offsets[start : stop + 1]
        lengths = np.diff(offsets)
        n_tokens = int(offsets[-1] - offsets[0])
        # the source numbers of this block, each formatted once, as extra pieces after the fixed ones
        sources, which = np.unique(synthetic.source[start:stop], return_inverse=True)
        digits, digit_starts, digit_lens = _pack([b"%d" % s for s in sources.tolist()])
        blob = np.concatenate([self._blob, digits])
        starts = np.concatenate([self._starts, digit_starts + self._blob.shape[0]])
        lens = np.concatenate([self._lens, digit_lens])
        # line i: prefix, its tokens, mid, its source's digits, suffix (4 pieces besides the tokens)
        out = np.empty(n_tokens + 4 * n, dtype=np.int32)
        line = (offsets[:-1] - offsets[0]) + 4 * np.arange(n, dtype=np.int64)
        out[line] = self._prefix
        end = line + lengths
        out[end + 1] = self._mid
        out[end + 2] = self._lens.shape[0] + which.reshape(-1)
        out[end + 3] = self._suffix
        token_at = np.arange(n_tokens, dtype=np.int64) + 4 * np.repeat(np.arange(n, dtype=np.int64), lengths) + 1
        out[token_at] = self._codes[int(offsets[0]) : int(offsets[-1])]
        # gather the bytes of every piece in order: byte j of piece p sits at starts[p] + j, so
        # the source index steps by 1 inside a piece and jumps at each piece's first byte; a
        # cumulative sum of those steps gives every index (int32: a block is far below 2 GB)
        out = out[lens[out] > 0]
        piece_lens = lens[out]
        firsts = np.cumsum(piece_lens, dtype=np.int64) - piece_lens  # where each piece begins in the output
        if firsts[-1] + piece_lens[-1] >= _MAX_BLOCK_BYTES and n > 1:  # very long texts: halve the block
            middle = start + n // 2
            return self.encode(start, middle) + self.encode(middle, stop)
        step = np.ones(int(firsts[-1] + piece_lens[-1]), dtype=np.int32)
        piece_starts = starts[out]
        step[0] = piece_starts[0]
        step[firsts[1:]] = piece_starts[1:] - (piece_starts[:-1] + piece_lens[:-1] - 1)
        return blob[np.cumsum(step, dtype=np.int32)].tobytes()

    def blocks(self, block: int = BLOCK_EXAMPLES) -> Iterator[tuple[int, bytes]]:
        """``(examples, bytes)`` per block of at most ``block`` examples, in order."""
        total = len(self.synthetic)
        for start in range(0, total, block):
            stop = min(start + block, total)
            yield stop - start, self.encode(start, stop)


def _pack(pieces: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Byte strings as one uint8 array with each one's start and length."""
    lens = np.fromiter(map(len, pieces), dtype=np.int32, count=len(pieces))
    blob = np.frombuffer(b"".join(pieces), dtype=np.uint8)
    return blob, (np.cumsum(lens, dtype=np.int64) - lens).astype(np.int32), lens


def synthetic_jsonl(synthetic: "SyntheticSet") -> bytes:
    """All examples of ``synthetic`` as one JSONL document (for small sets and tests)."""
    return b"".join(data for _, data in SyntheticRowEncoder(synthetic).blocks())


class JsonlSink(SyntheticSink):
    """Writes the parts of a synthetic set to an open binary file as JSONL, as they come.

    The byte table of a vocabulary is built once for all the parts that share it (the
    rounds of one augmenter). ``progress(k)`` is called after each block of ``k`` rows;
    :meth:`reset` empties the file (``progress`` is then called with minus the rows written).
    """

    def __init__(self, handle: Any, *, progress: Callable[[int], None] | None = None):
        self.handle = handle
        self.progress = progress
        self._tables: dict[tuple[int, str], tuple[list[str], tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        super().__init__()

    def reset(self) -> None:
        written = getattr(self, "examples", 0)
        super().reset()
        self.handle.seek(0)
        self.handle.truncate()
        if written and self.progress is not None:
            self.progress(-written)

    def _write(self, part: "SyntheticSet") -> None:
        key = (id(part.vocab), part.augmenter)
        found = self._tables.get(key)
        if found is None or found[0] is not part.vocab:
            found = self._tables[key] = (part.vocab, SyntheticRowEncoder.table(part))
        for rows, data in SyntheticRowEncoder(part, found[1]).blocks():
            self.handle.write(data)
            if self.progress is not None:
                self.progress(rows)


def write_synthetic_jsonl(
    synthetic: "SyntheticSet", path: str | os.PathLike, *, progress: Callable[[int], None] | None = None
) -> int:
    """Write ``synthetic`` to ``path`` as JSONL, atomically; returns the number of rows.

    ``progress(k)`` is called after each block with the number of rows it held.
    """
    from ..io import atomic_write

    with atomic_write(path, "wb") as handle:
        sink = JsonlSink(handle, progress=progress)
        sink.add(synthetic)
    return sink.examples
