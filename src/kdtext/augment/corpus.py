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

Build one with :meth:`TokenizedCorpus.from_texts` (strings or spaCy ``Doc``\\s), or stream
a large corpus to disk with :class:`CorpusBuilder`; :meth:`TokenizedCorpus.save` writes a
directory of raw arrays that :meth:`TokenizedCorpus.load` memory-maps back.

Document indices are positions in the input, whatever the text: an empty text is a
document of no tokens (augmenters skip documents under two tokens and count them).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from ..errors import ConfigError, KdtextError
from .pos_table import PosTable
from .tokenizer import blank_pipeline, check_text, doc_tokens, is_doc

if TYPE_CHECKING:
    from ..base import Tagger

#: Longest text accepted, in characters (Python ``len``). Longer texts are usually a
#: wrong field or an unsplit document; they are an error naming the line.
MAX_CHARS = 100_000
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

    # -- building --------------------------------------------------------------------------

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[Any],
        lang: str = "en",
        tagger: "str | Tagger | None" = "auto",
        *,
        batch_size: int = 1000,
        max_chars: int = MAX_CHARS,
        source: str | os.PathLike | None = None,
        lines: Sequence[int] | None = None,
        progress: Callable[[int], None] | None = None,
        cache_dir: str | os.PathLike | None = None,
    ) -> "TokenizedCorpus":
        """Tokenize (and tag) texts or spaCy ``Doc``\\s into a corpus.

        ``tagger``: ``"auto"`` picks the best tagger installed for ``lang`` and leaves the
        corpus untagged if there is none; a name requires that tagger; ``None`` skips
        tagging; a :class:`kdtext.Tagger` instance is used as it is. ``source`` and
        ``lines`` (1-based line of each text) locate bad texts in error messages.
        ``progress(k)`` is called after each batch with the number of texts it held.
        With ``cache_dir``, a corpus built before from the same texts and settings is
        loaded from there instead of being rebuilt (and a new one is saved there).
        """
        if cache_dir is not None:
            texts = list(texts)
            key = _cache_key(texts, lang, tagger)
            path = Path(cache_dir) / f"corpus-{key}"
            if (path / "meta.json").exists():
                try:
                    corpus = cls.load(path)
                    if progress is not None:
                        progress(corpus.n_docs)
                    return corpus
                except KdtextError:
                    pass  # a damaged cache entry is rebuilt
        builder = CorpusBuilder(lang, tagger, batch_size=batch_size, max_chars=max_chars)
        builder.add(texts, source=source, lines=lines, progress=progress)
        corpus = builder.build()
        if cache_dir is not None:
            corpus.save(path)
        return corpus

    @classmethod
    def from_word_lists(
        cls,
        words: Sequence[Sequence[str]],
        spaces: Sequence[Sequence[bool]] | None = None,
        tags: Sequence[Sequence[str]] | None = None,
        sent_starts: Sequence[Sequence[bool]] | None = None,
        lang: str = "en",
    ) -> "TokenizedCorpus":
        """A corpus from pre-tokenized documents (no spaCy involved); mostly for tests."""
        builder = CorpusBuilder(lang, tagger=None)
        for i, doc in enumerate(words):
            n = len(doc)
            builder.add_tokens(
                list(doc),
                [True] * (n - 1) + [False] * min(n, 1) if spaces is None else list(spaces[i]),
                None if tags is None else list(tags[i]),
                None if sent_starts is None else list(sent_starts[i]),
            )
        return builder.build()

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
        """Read a corpus written by :meth:`save` (or :class:`CorpusBuilder`), memory-mapped by default."""
        path = Path(path)
        try:
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
            vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise KdtextError(f"{path}: not a kdtext corpus directory (missing {Path(exc.filename).name})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise KdtextError(f"{path}: damaged corpus ({exc})") from None
        if meta.get("format") != "kdtext-corpus" or meta.get("version") != FORMAT_VERSION:
            raise KdtextError(f"{path}: not a kdtext corpus of format version {FORMAT_VERSION}")
        arrays: dict[str, np.ndarray] = {}
        for name, dtype in ARRAYS.items():
            file = path / f"{name}.bin"
            if not file.exists():
                raise KdtextError(f"{path}: damaged corpus (missing {file.name})")
            size = file.stat().st_size
            if size % dtype.itemsize:
                raise KdtextError(f"{path}: damaged corpus ({file.name} has a partial element)")
            if mmap and size:
                arrays[name] = np.memmap(file, dtype=dtype, mode="r")
            else:
                arrays[name] = np.fromfile(file, dtype=dtype)
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


def _cache_key(texts: Sequence[Any], lang: str, tagger: Any) -> str:
    digest = hashlib.sha256()
    tagger_name = tagger if isinstance(tagger, str) or tagger is None else getattr(tagger, "name", type(tagger).__name__)
    digest.update(json.dumps([FORMAT_VERSION, lang, tagger_name]).encode())
    for text in texts:
        value = text if isinstance(text, str) else getattr(text, "text", repr(text))
        digest.update(value.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()[:20]


class CorpusBuilder:
    """Builds a :class:`TokenizedCorpus` batch by batch, in memory or streamed to a directory.

    With ``path``, each batch's arrays are appended to the files in ``path`` as it is
    processed, so only the vocabulary stays in memory; :meth:`build` then memory-maps the
    result. Without it, arrays are kept in memory and concatenated once at the end.
    """

    def __init__(
        self,
        lang: str = "en",
        tagger: "str | Tagger | None" = "auto",
        *,
        batch_size: int = 1000,
        max_chars: int = MAX_CHARS,
        path: str | os.PathLike | None = None,
    ):
        self.lang = lang
        self.batch_size = max(1, int(batch_size))
        self.max_chars = max_chars
        self.path = None if path is None else Path(path)
        self._nlp: Any = None
        self.tagger, self.tagger_name = self._resolve_tagger(lang, tagger)
        self.vocab: list[str] = []
        self._index: dict[str, int] = {}
        self.tag_names: list[str] = []
        self._tag_index: dict[str, int] = {}
        self._chunks: dict[str, list[np.ndarray]] = {name: [] for name in ARRAYS if name != "doc_offsets"}
        self._lengths: list[np.ndarray] = []
        self.n_docs = 0
        self.n_tokens = 0
        self._tag_cache: dict[tuple[str, ...], list[str]] = {}
        self._files: dict[str, Any] = {}
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            for name in ARRAYS:
                self._files[name] = open(self.path / f"{name}.bin.part", "wb")
            self._files["doc_offsets"].write(np.zeros(1, ARRAYS["doc_offsets"]).tobytes())

    @staticmethod
    def _resolve_tagger(lang: str, tagger: Any) -> tuple[Any, str | None]:
        if tagger is None:
            return None, None
        if not isinstance(tagger, str):
            return tagger, getattr(tagger, "name", None) or type(tagger).__name__
        from .tagging import best_tagger, tagger_for

        if tagger == "auto":
            if best_tagger(lang) is None:
                return None, None
        instance = tagger_for(lang, tagger)
        return instance, instance.name or tagger

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            self._nlp = blank_pipeline(self.lang)
        return self._nlp

    def add(
        self,
        texts: Iterable[Any],
        *,
        source: str | os.PathLike | None = None,
        lines: Sequence[int] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Tokenize, tag and append texts (strings or spaCy ``Doc``\\s), batch by batch."""
        batch: list[Any] = []
        for i, item in enumerate(texts):
            if not is_doc(item):
                item = check_text(item, i, source, lines, self.max_chars)
            batch.append(item)
            if len(batch) >= self.batch_size:
                self._add_batch(batch)
                if progress is not None:
                    progress(len(batch))
                batch = []
        if batch:
            self._add_batch(batch)
            if progress is not None:
                progress(len(batch))

    def _add_batch(self, batch: list[Any]) -> None:
        strings = [item for item in batch if isinstance(item, str)]
        parsed = iter(self.nlp.pipe(strings, batch_size=256)) if strings else iter(())
        docs = [item if is_doc(item) else next(parsed) for item in batch]
        rows: list[tuple[list[str], list[bool], list[bool], list[str] | None]] = []
        for doc in docs:
            rows.append(doc_tokens(doc))
        if self.tagger is not None:
            need = [i for i, row in enumerate(rows) if row[3] is None and tuple(row[0]) not in self._tag_cache]
            unique: dict[tuple[str, ...], None] = {}
            for i in need:
                unique.setdefault(tuple(rows[i][0]), None)
            keys = list(unique)
            for key, tags in zip(keys, self.tagger.tag_many([list(k) for k in keys])):
                if len(tags) != len(key):
                    raise KdtextError(f"tagger {self.tagger_name!r} returned {len(tags)} tags for {len(key)} words")
                if len(self._tag_cache) < 200_000:
                    self._tag_cache[key] = list(tags)
                unique[key] = list(tags)  # type: ignore[assignment]
            for i, row in enumerate(rows):
                if row[3] is None:
                    key = tuple(row[0])
                    tags = self._tag_cache.get(key) or unique.get(key)  # type: ignore[assignment]
                    rows[i] = (row[0], row[1], row[2], list(tags or []))
        for words, spaces, starts, tags in rows:
            self.add_tokens(words, spaces, tags, starts)

    def add_tokens(
        self,
        words: Sequence[str],
        spaces: Sequence[bool],
        tags: Sequence[str] | None = None,
        sent_starts: Sequence[bool] | None = None,
    ) -> None:
        """Append one already tokenized document."""
        n = len(words)
        if len(spaces) != n or (tags is not None and len(tags) != n) or (sent_starts is not None and len(sent_starts) != n):
            raise ConfigError("words, spaces, tags and sent_starts of a document must have the same length")
        ids = np.empty(n, np.int32)
        for j, word in enumerate(words):
            wid = self._index.get(word)
            if wid is None:
                wid = self._index[word] = len(self.vocab)
                self.vocab.append(word)
            ids[j] = wid
        tag_ids = np.zeros(n, np.int32)
        if tags is not None:
            for j, tag in enumerate(tags):
                tid = self._tag_index.get(tag)
                if tid is None:
                    tid = self._tag_index[tag] = len(self.tag_names)
                    self.tag_names.append(tag)
                tag_ids[j] = tid
        starts = np.zeros(n, np.uint8)
        if sent_starts is not None:
            starts[:] = np.asarray(sent_starts, dtype=bool)
        if n:
            starts[0] = 1
        space_arr = np.asarray(spaces, dtype=np.uint8).reshape(n)
        if n:
            space_arr[-1] = 0
        self.n_docs += 1
        self.n_tokens += n
        if self.path is not None:
            self._files["words"].write(ids.astype(ARRAYS["words"]).tobytes())
            self._files["spaces"].write(space_arr.tobytes())
            self._files["tags"].write(tag_ids.astype(ARRAYS["tags"]).tobytes())
            self._files["sent_starts"].write(starts.tobytes())
            self._files["doc_offsets"].write(np.asarray([self.n_tokens], ARRAYS["doc_offsets"]).tobytes())
            return
        self._chunks["words"].append(ids)
        self._chunks["spaces"].append(space_arr)
        self._chunks["tags"].append(tag_ids)
        self._chunks["sent_starts"].append(starts)
        self._lengths.append(np.asarray([n], np.int64))

    def build(self) -> TokenizedCorpus:
        """The corpus of everything added (memory-mapped from ``path`` when streaming)."""
        tag_names = list(self.tag_names)
        if self.path is not None:
            for handle in self._files.values():
                handle.close()
            for name in ARRAYS:
                os.replace(self.path / f"{name}.bin.part", self.path / f"{name}.bin")
            from ..io import write_json

            corpus_meta = TokenizedCorpus(
                self.vocab, np.zeros(0, np.int32), np.zeros(0, np.uint8), np.zeros(0, np.int32), np.zeros(0, np.uint8),
                np.zeros(self.n_docs + 1, np.int64), self.lang, tag_names, self.tagger_name,
            )  # fmt: skip
            write_json(self.path / "vocab.json", self.vocab)
            write_json(self.path / "meta.json", corpus_meta._meta(self.n_tokens))
            return TokenizedCorpus.load(self.path)

        def cat(name: str, dtype: Any) -> np.ndarray:
            parts = self._chunks[name]
            return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return TokenizedCorpus(
            vocab=list(self.vocab),
            words=cat("words", np.int32),
            spaces=cat("spaces", np.uint8),
            tags=cat("tags", np.int32),
            sent_starts=cat("sent_starts", np.uint8),
            doc_offsets=offsets,
            lang=self.lang,
            tag_names=tag_names,
            tagger=self.tagger_name,
        )
