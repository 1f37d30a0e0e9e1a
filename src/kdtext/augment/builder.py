"""Tokenizing and tagging texts into a :class:`~kdtext.augment.corpus.TokenizedCorpus`.

:func:`corpus_from_texts` builds one in memory (strings or spaCy ``Doc``\\s, optionally cached
on disk); :class:`CorpusBuilder` adds texts batch by batch and can stream a large corpus to a
directory. Tagging asks the tagger registry (:mod:`kdtext.augment.tagging`), so this module
stands above the contracts, while the corpus it builds stands below them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np

from ..errors import ConfigError, KdtextError
from .corpus import ARRAYS, FORMAT_VERSION, TokenizedCorpus
from .pos_lexicon import SampledTagging
from .tokenizer import MAX_CHARS, blank_pipeline, check_text, doc_arrays, doc_tokens, hash_ids, is_doc, string_ids

if TYPE_CHECKING:
    from ..base import Tagger

#: Tokens a corpus builder tags in context before it tags the rest by word type (see
#: :mod:`kdtext.augment.pos_lexicon`): about 2,300 review snippets.
TAG_SAMPLE = 50_000


def corpus_from_texts(
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
    tag_sample: int | None = TAG_SAMPLE,
) -> TokenizedCorpus:
    """Tokenize (and tag) texts or spaCy ``Doc``\\s into a corpus.

    ``tagger``: ``"auto"`` picks the best tagger installed for ``lang`` and leaves the
    corpus untagged if there is none; a name requires that tagger; ``None`` skips
    tagging; a :class:`kdtext.Tagger` instance is used as it is. ``source`` and
    ``lines`` (1-based line of each text) locate bad texts in error messages.
    ``progress(k)`` is called after each batch with the number of texts it held.
    With ``cache_dir``, a corpus built before from the same texts and settings is
    loaded from there instead of being rebuilt (and a new one is saved there).
    ``tag_sample``: tokens tagged in context before the rest is tagged by word type
    (None or 0: all of them; see :mod:`kdtext.augment.pos_lexicon`).
    """
    if cache_dir is not None:
        texts = list(texts)
        key = _cache_key(texts, lang, tagger, tag_sample)
        path = Path(cache_dir) / f"corpus-{key}"
        if (path / "meta.json").exists():
            try:
                corpus = TokenizedCorpus.load(path)
                if progress is not None:
                    progress(corpus.n_docs)
                return corpus
            except KdtextError:
                pass  # a damaged cache entry is rebuilt
    builder = CorpusBuilder(lang, tagger, batch_size=batch_size, max_chars=max_chars, tag_sample=tag_sample)
    builder.add(texts, source=source, lines=lines, progress=progress)
    corpus = builder.build()
    if cache_dir is not None:
        corpus.save(path)
    return corpus


def _cache_key(texts: Sequence[Any], lang: str, tagger: Any, tag_sample: int | None) -> str:
    digest = hashlib.sha256()
    tagger_name = tagger if isinstance(tagger, str) or tagger is None else getattr(tagger, "name", type(tagger).__name__)
    digest.update(json.dumps([FORMAT_VERSION, lang, tagger_name, tag_sample or None]).encode())
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
        tag_sample: int | None = TAG_SAMPLE,
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
        self._by_hash: dict[int, int] = {}  # ORTH hash -> vocabulary id
        self.tagging = None if self.tagger is None else SampledTagging(self.tagger, self.tagger_name, tag_sample)
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
        if any(doc.has_annotation("POS") for doc in docs):  # Docs tagged by the caller keep their tags
            for doc in docs:
                words, spaces, starts, tags = doc_tokens(doc)
                if tags is None and self.tagging is not None:
                    ids = string_ids(words, self._index, self.vocab)
                    tag_ids = self.tagging.tags(ids, np.asarray([len(ids)]), self.vocab, self._tag_id)
                    tags = [self.tag_names[t] for t in tag_ids.tolist()]
                self.add_tokens(words, spaces, tags, starts)
            return
        orth, spaces, starts, lengths = doc_arrays(docs)
        ids = hash_ids(orth, docs, self._by_hash, self._index, self.vocab)
        tags = np.zeros(ids.shape[0], np.int32)
        if self.tagging is not None:
            tags = self.tagging.tags(ids, lengths, self.vocab, self._tag_id)
        self._append(ids, spaces, tags, starts, lengths)

    def _tag_id(self, tag: str) -> int:
        return int(string_ids((tag,), self._tag_index, self.tag_names)[0])

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
        ids = string_ids(words, self._index, self.vocab)
        tag_ids = string_ids(tags, self._tag_index, self.tag_names) if tags is not None else np.zeros(n, np.int32)
        starts = np.zeros(n, np.uint8)
        if sent_starts is not None:
            starts[:] = np.asarray(sent_starts, dtype=bool)
        space_arr = np.asarray(spaces, dtype=np.uint8).reshape(n)
        if n:
            starts[0] = 1
            space_arr[-1] = 0
        self._append(ids, space_arr, tag_ids, starts, np.asarray([n], np.int64))

    def _append(self, ids: np.ndarray, spaces: np.ndarray, tags: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> None:
        """Append documents given as token arrays and their ``lengths``."""
        self.n_docs += int(lengths.shape[0])
        if self.path is not None:
            self._files["words"].write(ids.astype(ARRAYS["words"]).tobytes())
            self._files["spaces"].write(spaces.astype(np.uint8).tobytes())
            self._files["tags"].write(tags.astype(ARRAYS["tags"]).tobytes())
            self._files["sent_starts"].write(starts.astype(np.uint8).tobytes())
            self._files["doc_offsets"].write((self.n_tokens + np.cumsum(lengths)).astype(ARRAYS["doc_offsets"]).tobytes())
        else:
            self._chunks["words"].append(ids)
            self._chunks["spaces"].append(spaces)
            self._chunks["tags"].append(tags)
            self._chunks["sent_starts"].append(starts)
            self._lengths.append(np.asarray(lengths, np.int64))
        self.n_tokens += int(lengths.sum())

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
