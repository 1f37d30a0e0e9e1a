"""Augment a stream of texts chunk by chunk, without holding the corpus: for a PyTorch
``IterableDataset``, a generator pipeline, or any loop.

::

    from kdtext.integrations.streams import augment_stream

    rows = ({"text": line.strip(), "label": "pos"} for line in open("reviews.txt"))
    for row in augment_stream(rows, "mask", n_per_text=4, seed=0, keep_original=True):
        ...   # the original row, then up to 4 copies with a masked text, then the next row

Items are strings (then strings come out) or mappings such as ``{"text": ..., "label": ...}``
(then each new row is a copy of its source row with ``text_column`` replaced). Each chunk
of ``chunk_size`` items is tokenized (one spaCy tokenizer, kept for the whole stream),
augmented in one call and yielded before the next chunk is read, so memory holds one chunk.

A text's new examples depend only on the text, ``seed`` and the augmenter's parameters
(see :mod:`kdtext.integrations.batches`), except that ``pos`` and ``tang`` draw their
replacement words from the words of the same chunk. The same seed gives the same stream;
for a new draw each epoch, pass ``seed=base_seed + epoch``. ``Dataset.map`` with
:func:`kdtext.integrations.hf_datasets.augmenter` and ``batch_size == chunk_size`` gives
exactly the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np

from .batches import KeyedAugmenter, string_ids, tagger_for_augmenter, text_keys

if TYPE_CHECKING:
    from ..augment.corpus import TokenizedCorpus
    from ..augment.synthetic import SyntheticSet

__all__ = ["AugmentedRows", "TextAugmenter", "augment_stream"]


@dataclass
class AugmentedRows:
    """The rows made from one batch of texts, in output order.

    Row ``r`` comes from input ``source[r]``; ``original[r]`` is True for a row that is the
    input itself (``keep_original``); ``texts[r]`` is its text. ``synthetic`` holds the new
    rows alone, in the same order, as arrays (for teacher ids).
    """

    source: np.ndarray  # int64
    original: np.ndarray  # bool
    texts: list[str]
    synthetic: "SyntheticSet"


class TextAugmenter:
    """Augments batches of texts: ``n_per_text`` new texts per text at most, keyed by content.

    ``augmenter`` is any registered augmenter name and ``params`` its parameters (checked
    here); ``lang`` picks the spaCy tokenizer and, for augmenters that read them, the POS
    tagger (as :func:`kdtext.augment.build_corpus` does; ``tagger`` names another one, e.g.
    ``"brill"``, 5x faster than spaCy's English tagger). The tokenizer is built on first use
    and kept.
    """

    def __init__(
        self, augmenter: str = "tang", *, n_per_text: int, seed: int = 0, lang: str = "en", tagger: str = "auto",
        **params: Any,
    ):  # fmt: skip
        from ..augment.tokenizer import check_language

        check_language(lang)
        self.keyed = KeyedAugmenter(augmenter, n_per_text=n_per_text, seed=seed, **params)
        self.lang = lang
        self.tagger = tagger_for_augmenter(self.keyed.augmenter, lang, tagger)
        self.sentences = bool(getattr(self.keyed.augmenter, "needs_sentences", True))
        self._nlp: Any = None

    def corpus(self, texts: Sequence[str]) -> "TokenizedCorpus":
        """``texts`` tokenized (and tagged if the augmenter reads tags), each keyed by its content.

        The same corpus as :class:`kdtext.augment.builder.CorpusBuilder` makes (tests check it), built
        from spaCy's token arrays instead of token objects, which is several times faster;
        sentences are split only for an augmenter that reads them (``needs_sentences``).
        """
        from ..augment.builder import CorpusBuilder
        from ..augment.tokenizer import blank_pipeline
        from ..errors import DataError

        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(None, None, f"text {i + 1} of the batch is a {type(text).__name__}, not a string")
        if self._nlp is None:
            self._nlp = blank_pipeline(self.lang)
        if self.sentences:
            builder = CorpusBuilder(self.lang, self.tagger, batch_size=max(1, len(texts)))
            builder.add(self._nlp.pipe(texts, batch_size=256))
            corpus = builder.build()
        else:
            corpus = corpus_of_docs(list(self._nlp.tokenizer.pipe(texts, batch_size=256)), self.lang, self.tagger)
        corpus.doc_keys = text_keys(texts)
        return corpus

    def augment(self, texts: Sequence[str]) -> "SyntheticSet":
        """The new examples of ``texts``, grouped by source text in input order (``source``: position in ``texts``)."""
        return self.keyed.augment(self.corpus(texts))

    def rows(self, texts: Sequence[str], *, keep_original: bool = False) -> AugmentedRows:
        """Output rows for ``texts``: per input, the input itself (with ``keep_original``), then its new texts."""
        synthetic = self.augment(texts)
        counts = np.bincount(synthetic.source, minlength=len(texts)).astype(np.int64) + int(keep_original)
        source = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
        original = np.zeros(source.shape[0], dtype=bool)
        if keep_original:
            original[np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)] = True
        out: list[str] = [""] * source.shape[0]
        new_rows = np.flatnonzero(~original).tolist()
        for row, text in zip(new_rows, synthetic.iter_texts()):
            out[row] = text
        for row in np.flatnonzero(original).tolist():
            out[row] = texts[int(source[row])]
        return AugmentedRows(source, original, out, synthetic)


def corpus_of_docs(docs: Sequence[Any], lang: str, tagger: Any = None) -> "TokenizedCorpus":
    """The corpus :class:`kdtext.augment.builder.CorpusBuilder` makes of spaCy ``Doc``\\s without sentence
    boundaries (each document one sentence) or POS annotation, from their token arrays.

    Whitespace tokens become a space flag on the token before them in the same document;
    the vocabulary is in order of first appearance; ``tagger`` (a :class:`kdtext.Tagger`)
    tags each document. For the integrations' hot path: ``doc.to_array`` instead of a
    Python loop over token objects.
    """
    from spacy.attrs import IS_SPACE, ORTH, SPACY

    from ..augment.corpus import TokenizedCorpus

    lengths = np.fromiter((len(doc) for doc in docs), dtype=np.int64, count=len(docs))
    table = np.concatenate([doc.to_array([ORTH, SPACY, IS_SPACE]) for doc in docs]) if lengths.sum() else np.zeros((0, 3), np.uint64)
    orth, space, blank = table[:, 0], table[:, 1].astype(np.uint8), table[:, 2].astype(bool)
    doc_of = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    # a whitespace token becomes a space flag on the last kept token before it, in its document
    position = np.arange(orth.shape[0], dtype=np.int64)
    last_kept = np.maximum.accumulate(np.where(blank, -1, position)) if orth.size else position
    flagged = last_kept[blank]
    flagged = flagged[(flagged >= 0) & (doc_of[np.maximum(flagged, 0)] == doc_of[blank])]
    space[flagged] = 1
    keep = ~blank
    orth, space, doc_of = orth[keep], space[keep], doc_of[keep]
    kept_lengths = np.bincount(doc_of, minlength=len(docs)).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(kept_lengths)]).astype(np.int64)
    space[offsets[1:][kept_lengths > 0] - 1] = 0
    hashes, first, inverse = np.unique(orth, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # ids in order of first appearance, as CorpusBuilder numbers them
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    words = rank[inverse.reshape(-1)].astype(np.int32)
    strings = docs[0].vocab.strings if len(docs) else None
    vocab = [strings[int(h)] for h in hashes[order].tolist()] if strings is not None else []
    starts = np.zeros(words.shape[0], dtype=np.uint8)
    starts[offsets[:-1][kept_lengths > 0]] = 1
    tags = np.zeros(words.shape[0], dtype=np.int32)
    tag_names: list[str] = []
    if tagger is not None and words.size:
        index: dict[str, int] = {}
        flat = words.tolist()
        bounds = offsets.tolist()
        documents = [[vocab[w] for w in flat[bounds[d] : bounds[d + 1]]] for d in range(len(docs))]
        ids = [string_ids(doc_tags, index, tag_names) for doc_tags in tagger.tag_many(documents)]
        tags = np.asarray([tid for doc_ids in ids for tid in doc_ids], dtype=np.int32)
    return TokenizedCorpus(
        vocab=vocab, words=words, spaces=space, tags=tags, sent_starts=starts, doc_offsets=offsets, lang=lang,
        tag_names=tag_names, tagger=None if tagger is None else (getattr(tagger, "name", None) or type(tagger).__name__),
    )  # fmt: skip


def augment_stream(
    items: Iterable[Any],
    augmenter: str = "tang",
    *,
    n_per_text: int,
    seed: int = 0,
    lang: str = "en",
    tagger: str = "auto",
    text_column: str = "text",
    chunk_size: int = 1000,
    keep_original: bool = False,
    **params: Any,
) -> Iterator[Any]:
    """Yield up to ``n_per_text`` augmented copies of each item, chunk by chunk (see the module docstring).

    ``items``: strings, or mappings holding a string under ``text_column``. With
    ``keep_original`` each item is yielded first, unchanged, then its copies (as spaCy's
    augmenters do). ``tagger``: the POS tagger for ``pos`` and ``tang`` (``"auto"``: the
    best one for ``lang``). ``params`` are the augmenter's parameters. The arguments are
    checked before the first item is read.
    """
    from ..errors import ConfigError

    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a whole number of at least 1, got {chunk_size!r}")
    engine = TextAugmenter(augmenter, n_per_text=n_per_text, seed=seed, lang=lang, tagger=tagger, **params)
    return _stream(engine, iter(items), text_column, chunk_size, keep_original)


def _stream(engine: TextAugmenter, items: Iterator[Any], text_column: str, chunk_size: int, keep_original: bool) -> Iterator[Any]:
    from ..errors import DataError

    position = 0
    while True:
        chunk = [item for _, item in zip(range(chunk_size), items)]
        if not chunk:
            return
        if isinstance(chunk[0], Mapping):
            try:
                texts = [item[text_column] for item in chunk]
            except (KeyError, TypeError):
                bad = next(i for i, item in enumerate(chunk) if not isinstance(item, Mapping) or text_column not in item)
                raise DataError(None, None, f"item {position + bad + 1} of the stream has no {text_column!r} field") from None
        else:
            texts = chunk
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                field = f"{text_column!r} of item" if texts is not chunk else "item"
                raise DataError(None, None, f"{field} {position + i + 1} of the stream is a {type(text).__name__}, not a string")
        rows = engine.rows(texts, keep_original=keep_original)
        if texts is chunk:
            yield from rows.texts
        else:
            for row, text in zip(rows.source.tolist(), rows.texts):
                yield {**chunk[row], text_column: text}
        position += len(chunk)
