"""Texts tokenized once and held as flat integer arrays: the input of every augmenter.

A :class:`TokenizedCorpus` stores, for all its documents together:

========================  ========  ===================================================
``words``                 int32     vocabulary id of each token (``vocab[id]`` is its text)
``spaces``                uint8     1 if whitespace follows the token
``tags``                  int32     part-of-speech id (``tag_names[id]``); 0 when untagged
``sent_starts``           uint8     1 if the token starts a sentence
``doc_offsets``           int64     document ``d`` is tokens ``doc_offsets[d]:doc_offsets[d+1]``
========================  ========  ===================================================

Whitespace tokens (runs of spaces, newlines) are dropped and become a space flag on the
token before them, so a text comes back with single spaces where it had any whitespace
and none where it had none (``"don't"`` and ``"great!"`` stay glued).

This module is the data type only (kdtext's contracts name it, so it imports nothing above
them); :mod:`kdtext.augment.builder` tokenizes and tags texts into one
(:func:`~kdtext.augment.builder.corpus_from_texts`, or :class:`~kdtext.augment.builder.CorpusBuilder`
to stream a large corpus to disk). :meth:`TokenizedCorpus.save` writes a directory of raw
arrays that :meth:`TokenizedCorpus.load` memory-maps back.

Document indices are positions in the input, whatever the text: an empty text is a
document of no tokens (augmenters skip documents under two tokens and count them).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import ConfigError, KdtextError
from ..io import read_json
from .pos_table import PosTable

#: Format version written to ``meta.json``.
FORMAT_VERSION = 1
#: name -> dtype of the arrays saved as raw little-endian binaries.
ARRAYS = {
    "words": np.dtype("<i4"),
    "spaces": np.dtype("u1"),
    "tags": np.dtype("<i4"),
    "sent_starts": np.dtype("u1"),
    "doc_offsets": np.dtype("<i8"),
}


@dataclass
class TokenizedCorpus:
    """Documents tokenized once, as flat arrays (see the module docstring for the layout).

    ``doc_base`` is the global index of this corpus's first document: 0 for a whole
    corpus, the start of the range for a view made by :meth:`docs` or :meth:`shards`.
    Augmenters seed each document's random stream with its global index, so a shard
    gives the same examples as the same documents of the whole corpus.

    ``doc_keys`` (uint64, one per document, or None) replaces the global index in those
    seeds for augmenters that honour it (``Augmenter.uses_doc_keys``): the integrations
    (:mod:`kdtext.integrations`) key each text by a hash of its content, so its examples do
    not depend on which batch it came in. Views keep their documents' keys; :meth:`save`
    does not write them (they belong to one call, not to the corpus).
    """

    vocab: list[str]
    words: np.ndarray
    spaces: np.ndarray
    tags: np.ndarray
    sent_starts: np.ndarray
    doc_offsets: np.ndarray
    lang: str = "en"
    tag_names: list[str] = field(default_factory=list)
    tagger: str | None = None
    doc_base: int = 0
    doc_keys: np.ndarray | None = None
    _pos_table: PosTable | None = field(default=None, repr=False, compare=False)
    _index: dict[str, int] | None = field(default=None, repr=False, compare=False)
    _extended: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)

    # -- sizes and access ------------------------------------------------------------------

    @property
    def n_docs(self) -> int:
        return int(self.doc_offsets.shape[0] - 1)

    @property
    def n_tokens(self) -> int:
        """Tokens in this corpus's documents (for a view, only those in its range)."""
        return int(self.doc_offsets[-1] - self.doc_offsets[0])

    @property
    def tagged(self) -> bool:
        """Whether the tokens carry POS tags (needed by same-POS replacement)."""
        return bool(self.tag_names)

    def __len__(self) -> int:
        return self.n_docs

    def doc_lengths(self) -> np.ndarray:
        """Tokens per document, int64."""
        return np.diff(self.doc_offsets)

    def _span(self, i: int) -> slice:
        if not -self.n_docs <= i < self.n_docs:
            raise IndexError(f"document {i} out of range 0..{self.n_docs - 1}")
        i %= max(self.n_docs, 1)
        return slice(int(self.doc_offsets[i]), int(self.doc_offsets[i + 1]))

    def doc_word_ids(self, i: int) -> list[int]:
        """Vocabulary ids of document ``i``'s tokens."""
        return self.words[self._span(i)].tolist()

    def doc_words(self, i: int) -> list[str]:
        """Document ``i``'s tokens as strings."""
        return [self.vocab[w] for w in self.words[self._span(i)].tolist()]

    def doc_spaces(self, i: int) -> list[bool]:
        """Whether whitespace follows each token of document ``i``."""
        return [bool(s) for s in self.spaces[self._span(i)].tolist()]

    def doc_tags(self, i: int) -> list[str]:
        """Document ``i``'s POS tags (empty strings if the corpus is untagged)."""
        if not self.tagged:
            return [""] * (self._span(i).stop - self._span(i).start)
        return [self.tag_names[t] for t in self.tags[self._span(i)].tolist()]

    def doc_text(self, i: int) -> str:
        """Document ``i`` as text (whitespace runs became single spaces)."""
        span = self._span(i)
        return "".join(
            self.vocab[w] + (" " if s else "") for w, s in zip(self.words[span].tolist(), self.spaces[span].tolist())
        )

    def word_id(self, word: str) -> int | None:
        """The vocabulary id of ``word``, or None if the corpus never has it."""
        if self._index is None:
            self._index = {w: i for i, w in enumerate(self.vocab)}
        return self._index.get(word)

    def vocab_with(self, word: str) -> tuple[list[str], int]:
        """``(vocabulary, id of word)``: the corpus vocabulary, extended by ``word`` if it lacks it.

        The extended list is made once per word and reused, so synthetic sets made from one
        corpus share one vocabulary object (and one teacher-id table).
        """
        found = self.word_id(word)
        if found is not None:
            return self.vocab, found
        if word not in self._extended:
            self._extended[word] = list(self.vocab) + [word]
        return self._extended[word], len(self.vocab)

    # -- derived tables --------------------------------------------------------------------

    def pos_table(self) -> PosTable:
        """Words per tag with corpus counts (computed once, shared with views of this corpus)."""
        if self._pos_table is None:
            lo, hi = int(self.doc_offsets[0]), int(self.doc_offsets[-1])
            self._pos_table = PosTable.from_arrays(
                np.asarray(self.words[lo:hi]), np.asarray(self.tags[lo:hi]), len(self.tag_names), len(self.vocab)
            )
        return self._pos_table

    def doc_hashes(self) -> np.ndarray:
        """The 64-bit hash of each document, as the kernels hash synthetic examples (uint64)."""
        from .. import _fast

        return _fast.hash_spans(self.words, self.spaces, self.doc_offsets)

    def fingerprint(self) -> str:
        """A hex digest that changes when anything in the corpus changes."""
        digest = hashlib.sha256()
        digest.update(json.dumps([self.lang, self.tagger, self.tag_names, self.doc_base]).encode())
        digest.update("\n".join(self.vocab).encode("utf-8", "surrogatepass"))
        for name in ARRAYS:
            digest.update(np.ascontiguousarray(getattr(self, name)).tobytes())
        if self.doc_keys is not None:
            digest.update(np.ascontiguousarray(self.doc_keys, dtype=np.uint64).tobytes())
        return digest.hexdigest()[:16]

    # -- views -----------------------------------------------------------------------------

    def docs(self, start: int, stop: int) -> "TokenizedCorpus":
        """A view of documents ``start:stop`` (no copy); its ``doc_base`` keeps global indices."""
        start, stop, _ = slice(start, stop).indices(self.n_docs)
        stop = max(start, stop)
        return TokenizedCorpus(
            vocab=self.vocab,
            words=self.words,
            spaces=self.spaces,
            tags=self.tags,
            sent_starts=self.sent_starts,
            doc_offsets=self.doc_offsets[start : stop + 1],
            lang=self.lang,
            tag_names=self.tag_names,
            tagger=self.tagger,
            doc_base=self.doc_base + start,
            doc_keys=None if self.doc_keys is None else self.doc_keys[start:stop],
            _pos_table=self.pos_table(),  # a shard samples replacements from the whole corpus
            _index=self._index,
            _extended=self._extended,
        )

    def shards(self, k: int) -> list["TokenizedCorpus"]:
        """``k`` views of consecutive documents, as equal in size as possible."""
        if k < 1:
            raise ConfigError(f"the number of shards must be at least 1, got {k}")
        bounds = np.linspace(0, self.n_docs, k + 1).round().astype(int)
        return [self.docs(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def iter_chunks(self, docs_per_chunk: int) -> Iterator["TokenizedCorpus"]:
        """Views of ``docs_per_chunk`` documents at a time, for streaming work over a large corpus."""
        if docs_per_chunk < 1:
            raise ConfigError(f"docs_per_chunk must be at least 1, got {docs_per_chunk}")
        for start in range(0, self.n_docs, docs_per_chunk):
            yield self.docs(start, start + docs_per_chunk)

    # -- saving ----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the corpus to directory ``path``: ``meta.json``, ``vocab.json`` and raw arrays.

        A view is saved as a corpus of its own documents (``doc_base`` is kept in the meta).
        """
        from ..io import atomic_write, write_json

        path = Path(path)
        lo, hi = int(self.doc_offsets[0]), int(self.doc_offsets[-1])
        arrays = {
            "words": self.words[lo:hi],
            "spaces": self.spaces[lo:hi],
            "tags": self.tags[lo:hi],
            "sent_starts": self.sent_starts[lo:hi],
            "doc_offsets": self.doc_offsets - lo,
        }
        for name, dtype in ARRAYS.items():
            with atomic_write(path / f"{name}.bin", "wb") as handle:
                handle.write(np.ascontiguousarray(arrays[name], dtype=dtype).tobytes())
        write_json(path / "vocab.json", self.vocab)
        write_json(path / "meta.json", self._meta(hi - lo))

    def _meta(self, n_tokens: int) -> dict[str, Any]:
        return {
            "format": "kdtext-corpus",
            "version": FORMAT_VERSION,
            "lang": self.lang,
            "tagger": self.tagger,
            "tag_names": self.tag_names,
            "n_docs": self.n_docs,
            "n_tokens": n_tokens,
            "vocab_size": len(self.vocab),
            "doc_base": self.doc_base,
        }

    @classmethod
    def load(cls, path: str | os.PathLike, *, mmap: bool = True) -> "TokenizedCorpus":
        """Read a corpus written by :meth:`save` (or :class:`~kdtext.augment.builder.CorpusBuilder`), memory-mapped by default."""
        path = Path(path)
        try:
            meta = read_json(path / "meta.json", error=lambda message: KdtextError(f"damaged corpus: {message}"))
            vocab = read_json(path / "vocab.json", error=lambda message: KdtextError(f"damaged corpus: {message}"))
        except FileNotFoundError as exc:
            raise KdtextError(f"{path}: not a kdtext corpus directory (missing {Path(exc.filename).name})") from None
        if meta.get("format") != "kdtext-corpus" or meta.get("version") != FORMAT_VERSION:
            raise KdtextError(f"{path}: not a kdtext corpus of format version {FORMAT_VERSION}")
        arrays = read_arrays(path, ARRAYS, mmap=mmap, what="corpus")
        n_tokens = int(meta["n_tokens"])
        offsets = arrays["doc_offsets"]
        if (
            offsets.shape[0] != int(meta["n_docs"]) + 1
            or any(arrays[name].shape[0] != n_tokens for name in ("words", "spaces", "tags", "sent_starts"))
            or (offsets.shape[0] and int(offsets[-1]) != n_tokens)
            or len(vocab) != int(meta["vocab_size"])
        ):
            raise KdtextError(f"{path}: damaged corpus (array sizes disagree with meta.json)")
        return cls(
            vocab=vocab,
            words=arrays["words"],
            spaces=arrays["spaces"],
            tags=arrays["tags"],
            sent_starts=arrays["sent_starts"],
            doc_offsets=np.asarray(offsets, dtype=np.int64),
            lang=meta["lang"],
            tag_names=list(meta["tag_names"]),
            tagger=meta["tagger"],
            doc_base=int(meta.get("doc_base", 0)),
        )


def read_arrays(path: Path, dtypes: dict[str, np.dtype], *, mmap: bool, what: str) -> dict[str, np.ndarray]:
    """Each ``NAME.bin`` of the folder ``path`` as a 1-d array of ``dtypes[NAME]``, memory-mapped when
    ``mmap`` (and the file is not empty); a missing file or a partial element is a
    :class:`KdtextError` naming the folder as a damaged ``what``. The reader of the raw-array
    folders of corpora and of synthetic sets (:func:`kdtext.augment.store.load_synthetic`)."""
    arrays: dict[str, np.ndarray] = {}
    for name, dtype in dtypes.items():
        file = path / f"{name}.bin"
        if not file.exists():
            raise KdtextError(f"{path}: damaged {what} (missing {file.name})")
        size = file.stat().st_size
        if size % dtype.itemsize:
            raise KdtextError(f"{path}: damaged {what} ({file.name} has a partial element)")
        arrays[name] = np.memmap(file, dtype=dtype, mode="r") if mmap and size else np.fromfile(file, dtype=dtype)
    return arrays
