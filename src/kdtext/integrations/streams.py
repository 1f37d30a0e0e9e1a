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

from .batches import KeyedAugmenter, tagger_for_augmenter, text_keys

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
    """The corpus of spaCy ``Doc``\\s made without sentence boundaries (each document one sentence),
    every document tagged in context by ``tagger`` (a :class:`kdtext.Tagger`, or None): a
    :class:`~kdtext.augment.builder.CorpusBuilder`, which reads a batch's tokens as arrays."""
    from ..augment.builder import CorpusBuilder

    builder = CorpusBuilder(lang, tagger, batch_size=max(1, len(docs)), tag_sample=None)
    builder.add(docs)
    return builder.build()


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
