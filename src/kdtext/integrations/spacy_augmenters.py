"""kdtext's augmenters in spaCy training configs, registered in ``spacy.registry.augmenters``.

kdtext declares them as ``spacy_augmenters`` entry points, so spaCy finds them by name
without importing kdtext first. In a training config::

    [corpora.train]
    @readers = "spacy.Corpus.v1"
    path = ${paths.train}

    [corpora.train.augmenter]
    @augmenters = "kdtext.tang.v1"
    n_per_example = 4
    seed = ${system.seed}
    p_mask = 0.1

Registered: ``kdtext.mask.v1``, ``kdtext.pos.v1``, ``kdtext.ngram.v1``, ``kdtext.sentence.v1``,
``kdtext.tang.v1`` (each with its augmenter's parameters and defaults) and
``kdtext.augmenter.v1`` (``name`` = any registered kdtext augmenter, third-party ones
included, and its parameters under ``[corpora.train.augmenter.params]``). Each takes
``n_per_example`` (new examples per original, at most) and ``seed``.

What spaCy gets for each training example: the example itself, then up to
``n_per_example`` new ones. The language is ``nlp``'s. A new example's reference ``Doc``
holds kdtext's tokens and the original's ``cats``, nothing else, and its predicted ``Doc``
is ``nlp.make_doc`` of its text, as ``spacy.Corpus`` makes them. **Token-level annotations
(tags, POS, morphology, lemmas, dependencies, entities, spans) are dropped**: masking and
same-POS replacement change words and n-grams and sentences cut the text, so the original's
tags, lemmas, arcs and entity spans would be wrong or dangling on the new text. Dropped,
they are *missing* in spaCy's sense, so a tagger, parser or NER trained on the same corpus
learns nothing from the new examples (it still learns from the original, yielded
unchanged) and a text classifier learns from their ``cats``. An example without ``cats``
is yielded alone: a new one would carry no annotation at all.

Seeds. Example ``x``'s new examples come from random streams seeded by ``seed``, a hash of
``x``'s text and how many times this augmenter has seen that text before. So a config
and its seed give the same examples on every run; with ``[training] max_epochs = -1``
(spaCy re-reads, and re-augments, the corpus every epoch) each epoch gets new ones;
otherwise spaCy augments once and keeps the result. spaCy's own first pass over the
corpus (``nlp.initialize``) counts as one sighting. The augmenter keeps one counter per
distinct text (tens of bytes each).

``pos`` and ``tang`` replace words by words of the same part of speech drawn, in
proportion to their counts, from the texts this augmenter has seen so far (each text
counted once), so early examples of the first pass have fewer candidates; POS tags come
from the reference ``Doc`` where it has them, else from kdtext's best tagger for the
language or the one ``tagger`` names (``"brill"`` is 5x faster than spaCy's English
tagger), cached per text (up to 200,000 texts).

This module imports neither spaCy nor kdtext's heavy parts until an augmenter runs (no
torch or transformers at all); spaCy resolves its functions from the entry points.
"""

# No ``from __future__ import annotations`` here: spaCy's config system reads these
# functions' annotations at run time to validate the config's values.

from typing import Any, Dict, Iterator, List, Optional

__all__ = [
    "SpacyAugmenter",
    "augmenter_v1",
    "mask_v1",
    "ngram_v1",
    "pos_v1",
    "sentence_v1",
    "tang_v1",
]

#: Texts whose POS tags are kept between epochs, at most (as kdtext.augment.builder.CorpusBuilder keeps them).
TAG_CACHE_SIZE = 200_000
#: The running POS table is rebuilt when the tokens counted have grown by this factor since its last build.
TABLE_GROWTH = 1.25


def mask_v1(
    n_per_example: int = 1, seed: int = 0, p_mask: float = 0.1, mask_token: str = "[MASK]", n_iter: int = 20,
    unique: bool = True,
) -> "SpacyAugmenter":  # fmt: skip
    """``kdtext.mask.v1``: replace each word with ``mask_token`` with probability ``p_mask``."""
    return SpacyAugmenter("mask", n_per_example, seed, {"p_mask": p_mask, "mask_token": mask_token, "n_iter": n_iter, "unique": unique})


def pos_v1(
    n_per_example: int = 1, seed: int = 0, p_pos: float = 0.1, n_iter: int = 20, unique: bool = True, tagger: str = "auto",
) -> "SpacyAugmenter":  # fmt: skip
    """``kdtext.pos.v1``: replace each word, with probability ``p_pos``, by a word of the same part of speech."""
    return SpacyAugmenter("pos", n_per_example, seed, {"p_pos": p_pos, "n_iter": n_iter, "unique": unique}, tagger)


def ngram_v1(n_per_example: int = 1, seed: int = 0, n_min: int = 1, n_max: int = 5, n_iter: int = 20, unique: bool = True) -> "SpacyAugmenter":
    """``kdtext.ngram.v1``: a random n-gram of the text, ``n_min`` to ``n_max`` tokens."""
    return SpacyAugmenter("ngram", n_per_example, seed, {"n_min": n_min, "n_max": n_max, "n_iter": n_iter, "unique": unique})


def sentence_v1(n_per_example: int = 1, seed: int = 0, n_iter: int = 20, unique: bool = True) -> "SpacyAugmenter":
    """``kdtext.sentence.v1``: one random sentence of a text of two sentences or more (sentences from ``nlp``'s
    reference Docs where set, else each Doc is one sentence: add them with a sentencizer when making the corpus)."""
    return SpacyAugmenter("sentence", n_per_example, seed, {"n_iter": n_iter, "unique": unique})


def tang_v1(
    n_per_example: int = 1, seed: int = 0, p_mask: float = 0.1, p_pos: float = 0.1, p_ng: float = 0.25,
    n_min: int = 1, n_max: int = 5, n_iter: int = 20, mask_token: str = "[MASK]", unique: bool = True, tagger: str = "auto",
) -> "SpacyAugmenter":  # fmt: skip
    """``kdtext.tang.v1``: Tang et al.'s procedure (mask or same-POS swap per word, then an n-gram with probability ``p_ng``)."""
    params = {"p_mask": p_mask, "p_pos": p_pos, "p_ng": p_ng, "n_min": n_min, "n_max": n_max, "n_iter": n_iter,
              "mask_token": mask_token, "unique": unique}  # fmt: skip
    return SpacyAugmenter("tang", n_per_example, seed, params, tagger)


def augmenter_v1(
    name: str, n_per_example: int = 1, seed: int = 0, params: Optional[Dict[str, Any]] = None, tagger: str = "auto",
) -> "SpacyAugmenter":  # fmt: skip
    """``kdtext.augmenter.v1``: the kdtext augmenter registered as ``name`` (plugins too), with ``params``."""
    return SpacyAugmenter(name, n_per_example, seed, dict(params or {}), tagger)


class SpacyAugmenter:
    """The callable spaCy calls as ``augment(nlp, example)``: the example, then up to ``n_per_example`` new ones.

    Built by the registered functions above (the parameters are checked there, when spaCy
    reads the config); see the module docstring for what the new examples hold.
    """

    def __init__(self, name: str, n_per_example: int, seed: int, params: Dict[str, Any], tagger: str = "auto"):
        from .batches import KeyedAugmenter

        self.keyed = KeyedAugmenter(name, n_per_text=n_per_example, seed=seed, **params)
        self.tagger = tagger
        self._corpus: Optional["_RunningCorpus"] = None
        self._seen: Dict[int, int] = {}  # text key -> sightings so far

    def __call__(self, nlp: Any, example: Any) -> Iterator[Any]:
        yield example
        reference = example.reference
        if not reference.cats or len(reference) == 0:
            return
        from .. import _fast
        from .batches import text_keys

        if self._corpus is None or self._corpus.lang != nlp.lang:
            self._corpus = _RunningCorpus(nlp.lang, self.keyed, self.tagger)
        text_key = int(text_keys([reference.text])[0])
        sighting = self._seen.get(text_key, 0)
        self._seen[text_key] = sighting + 1
        corpus = self._corpus.corpus_of(reference, text_key, first=sighting == 0)
        corpus.doc_keys[0] = _fast.derive_seed(text_key, sighting, 0)  # type: ignore[index]
        made = self.keyed.augment(corpus)
        if not len(made):
            return
        from spacy.tokens import Doc
        from spacy.training import Example

        cats = dict(reference.cats)
        for i in range(len(made)):
            words, spaces = made.words_spaces(i)
            new_reference = Doc(nlp.vocab, words=words, spaces=spaces)
            new_reference.cats = dict(cats)
            yield Example(nlp.make_doc(new_reference.text), new_reference)


class _RunningCorpus:
    """One-document corpora over a vocabulary, tag set and POS table kept across calls.

    Each text's tokens are counted into the POS table once, the first time it is seen;
    the table is rebuilt when the counted tokens have grown by ``TABLE_GROWTH``, so its
    cost stays proportional to the corpus, and it depends only on the order of the texts.
    """

    def __init__(self, lang: str, keyed: Any, tagger: str = "auto"):
        from ..augment.tokenizer import string_ids
        from .batches import tagger_for_augmenter

        self.lang = lang
        self.tagger = tagger_for_augmenter(keyed.augmenter, lang, tagger)
        self.reads_tags = keyed.needs_tags
        self.vocab: List[str] = []
        self.index: Dict[str, int] = {}
        self.tag_names: List[str] = []
        self.tag_index: Dict[str, int] = {}
        self.tag_cache: Dict[int, Any] = {}
        mask_token = keyed.augmenter.params.get("mask_token")
        if isinstance(mask_token, str):
            string_ids([mask_token], self.index, self.vocab)  # in the vocabulary from the start: no copy per call
        self.pair_counts: Dict[int, int] = {}  # (tag << 32) | word -> tokens counted
        self.counted = 0
        self.counted_at_build = 0
        self.table: Any = None

    def corpus_of(self, doc: Any, text_key: int, *, first: bool) -> Any:
        """A one-document :class:`~kdtext.augment.corpus.TokenizedCorpus` of ``doc`` (its ``doc_keys`` to be set by the caller)."""
        import numpy as np

        from ..augment.corpus import TokenizedCorpus
        from ..augment.tokenizer import doc_tokens, string_ids

        words, spaces, starts, tags = doc_tokens(doc)
        ids = string_ids(words, self.index, self.vocab)
        tag_ids = np.zeros(len(words), dtype=np.int32)
        if self.reads_tags and words:
            if tags is None and self.tagger is not None:
                tags = self.tag_cache.get(text_key)
                if tags is None:
                    tags = list(self.tagger.tag(words))
                    if len(self.tag_cache) < TAG_CACHE_SIZE:
                        self.tag_cache[text_key] = tags
            if tags is not None:
                tag_ids = string_ids(tags, self.tag_index, self.tag_names)
                if first:
                    self._count(ids, tag_ids)
        n = len(words)
        sent_starts = np.asarray(starts, dtype=np.uint8)
        if n:
            sent_starts[0] = 1
        return TokenizedCorpus(
            vocab=self.vocab, words=ids, spaces=np.asarray(spaces, dtype=np.uint8), tags=tag_ids,
            sent_starts=sent_starts, doc_offsets=np.asarray([0, n], dtype=np.int64), lang=self.lang,
            tag_names=self.tag_names, tagger=getattr(self.tagger, "name", None), doc_keys=np.zeros(1, np.uint64),
            _pos_table=self._table(), _index=self.index,
        )  # fmt: skip

    def _count(self, ids: Any, tag_ids: Any) -> None:
        for word, tag in zip(ids.tolist(), tag_ids.tolist()):
            key = (tag << 32) | word
            self.pair_counts[key] = self.pair_counts.get(key, 0) + 1
        self.counted += len(ids)

    def _table(self) -> Any:
        import numpy as np

        from ..augment.pos_table import PosTable

        if self.table is None or self.counted >= TABLE_GROWTH * self.counted_at_build:
            keys = np.fromiter(self.pair_counts.keys(), dtype=np.int64, count=len(self.pair_counts))
            counts = np.fromiter(self.pair_counts.values(), dtype=np.int64, count=len(self.pair_counts))
            self.table = PosTable.from_counts(keys >> 32, keys & 0xFFFFFFFF, counts, len(self.tag_names))
            self.counted_at_build = max(self.counted, 1)
        return self.table
