"""Augmenting texts one batch at a time, with every text keyed by its content.

The three integrations (:mod:`~kdtext.integrations.spacy_augmenters`,
:mod:`~kdtext.integrations.hf_datasets`, :mod:`~kdtext.integrations.streams`) see a corpus in
pieces they do not choose: a ``Dataset.map`` batch, a chunk of a stream, one spaCy example.
:class:`KeyedAugmenter` makes the examples of a text depend on the text, the seed and the
augmenter's parameters only, not on the batch it came in or its place there:

- each text's random streams are seeded from a 64-bit hash of its content
  (:func:`text_keys`, ``TokenizedCorpus.doc_keys``) instead of its position;
- duplicates are dropped per text (an example equal to an earlier example *of the same
  text*, or to the text itself), not across the batch;
- each text gives at most ``n_per_text`` examples: the first distinct ones of
  ``max(n_iter, n_per_text)`` rounds, fewer only when the text has under two tokens (one
  sentence, for ``sentence``) or those rounds give no more distinct ones. Round ``r`` of a
  text is drawn from a stream seeded by ``seed`` and the key of (text, ``r``)
  (:func:`round_keys`), and all rounds of all texts of a batch run in one kernel call.

One exception, stated where it applies: same-POS replacement (``pos``, ``tang``) draws its
words from the POS table of the corpus it is given, so those words depend on the batch's
vocabulary (the HF and stream integrations) or on the texts seen before (spaCy).

Augmenters that honour ``corpus.doc_keys`` (``Augmenter.uses_doc_keys``: the built-ins)
augment the whole batch in one call; any other registered augmenter is called once per
text, on a one-document corpus, with a seed derived from the text's key.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..augment.synthetic import SyntheticSet

if TYPE_CHECKING:
    from ..base import Augmenter, Tagger
    from ..augment.corpus import TokenizedCorpus


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """A 64-bit key per text (uint64): the first 8 bytes of its UTF-8 BLAKE2b digest.

    The same in every process and on every machine (unlike Python's ``hash``).
    """
    out = np.empty(len(texts), dtype=np.uint64)
    for i, text in enumerate(texts):
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "little")
    return out


def tagger_for_augmenter(augmenter: "Augmenter", lang: str, tagger: str = "auto") -> "Tagger | None":
    """The POS tagger a corpus for ``augmenter`` needs in ``lang``, as :func:`kdtext.augment.build_corpus` picks it.

    ``tagger``: ``"auto"`` (the best one installed for ``lang``; see ``kdtext taggers``) or
    a tagger's name. None when the augmenter reads no tags, or reads them if available and
    ``lang`` has no tagger; an augmenter that requires tags, or a named tagger that cannot
    tag ``lang``, raises :class:`kdtext.errors.ConfigError`.
    """
    from ..augment import needs_tags
    from ..augment.tagging import best_tagger, tagger_for

    if not needs_tags(augmenter):
        return None
    if tagger != "auto" or getattr(augmenter, "requires_tags", False) or best_tagger(lang) is not None:
        return tagger_for(lang, tagger)
    return None


class KeyedAugmenter:
    """A registered augmenter applied to keyed corpora: ``n_per_text`` examples per document at most.

    ``name`` is any registered augmenter (third-party ones included), ``params`` its
    parameters; they are checked here, once. :meth:`augment` takes a corpus whose
    ``doc_keys`` are set and returns a :class:`~kdtext.augment.synthetic.SyntheticSet` grouped by
    source document, in document order (each document's examples in the order its rounds
    made them), with ``source`` the documents' global indices.
    """

    def __init__(self, name: str, *, n_per_text: int, seed: int = 0, **params: Any):
        from ..augment import make_augmenter
        from ..errors import ConfigError

        if isinstance(n_per_text, bool) or not isinstance(n_per_text, int) or n_per_text < 1:
            raise ConfigError(f"n_per_text must be a whole number of at least 1, got {n_per_text!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be a whole number, got {seed!r}")
        self.name = name
        self.n_per_text = n_per_text
        self.seed = seed
        self.params = dict(params)
        self.augmenter = make_augmenter(name, **params)  # the user's configuration, checked
        defaults = getattr(type(self.augmenter), "defaults", {})
        self.keyed = bool(getattr(self.augmenter, "uses_doc_keys", False)) and {"unique", "n_iter"} <= set(defaults)
        self.unique = bool(self.augmenter.params.get("unique", True)) if self.keyed else False
        if self.keyed:
            # one round over `rounds` copies of each text, each copy keyed by (text, copy): every
            # candidate of the batch in one kernel call, however small the batch (a spaCy example)
            self.rounds = max(int(self.augmenter.params["n_iter"]), n_per_text)
            self._one_round = make_augmenter(name, **{**params, "unique": False, "n_iter": 1})

    @property
    def needs_tags(self) -> bool:
        from ..augment import needs_tags

        return needs_tags(self.augmenter)

    def augment(self, corpus: "TokenizedCorpus") -> "SyntheticSet":
        """At most ``n_per_text`` examples per document of ``corpus`` (whose ``doc_keys`` must be set)."""
        if corpus.doc_keys is None:
            raise ValueError("KeyedAugmenter.augment needs a corpus with doc_keys")
        if not self.keyed:
            return self._one_by_one(corpus)
        rounds = self.rounds
        copies = _copies(corpus, rounds)
        made = self._one_round.augment(copies, None, seed=self.seed)
        made.rounds = (made.source % rounds).astype(np.int32)  # copy r of a text is its round r
        made.source = made.source // rounds + corpus.doc_base
        return self._select(corpus, made)

    def _select(self, corpus: "TokenizedCorpus", made: "SyntheticSet") -> "SyntheticSet":
        local = made.source - corpus.doc_base
        idx = np.arange(len(made), dtype=np.int64)
        if self.unique and len(made):
            hashes = made.hashes()
            idx = idx[hashes != corpus.doc_hashes()[local]]  # not a copy of its own text
            # the first of each (text, example) pair, in the order the rounds made them
            order = np.lexsort((idx, hashes[idx], local[idx]))
            ranked = idx[order]
            first = np.ones(ranked.shape[0], dtype=bool)
            first[1:] = (local[ranked][1:] != local[ranked][:-1]) | (hashes[ranked][1:] != hashes[ranked][:-1])
            idx = np.sort(ranked[first])
        idx = idx[np.argsort(local[idx], kind="stable")]  # grouped by text, rounds in order
        if idx.size:
            docs = local[idx]
            starts = np.flatnonzero(np.concatenate([[True], docs[1:] != docs[:-1]]))
            rank = np.arange(idx.size) - np.repeat(starts, np.diff(np.concatenate([starts, [idx.size]])))
            idx = idx[rank < self.n_per_text]
        out = made.subset(idx)
        out.augmenter, out.params = self.name, dict(self.augmenter.params)
        return out

    def _one_by_one(self, corpus: "TokenizedCorpus") -> "SyntheticSet":
        """For augmenters that do not honour ``doc_keys``: one call per text, seeded from its key."""
        from .. import _fast

        parts = []
        for d in range(corpus.n_docs):
            key = int(corpus.doc_keys[d])  # type: ignore[index]
            one = dataclasses.replace(corpus.docs(d, d + 1), doc_base=0, doc_keys=None)
            part = self.augmenter.augment(one, self.n_per_text, seed=_fast.derive_seed(self.seed, key, 0) >> 1)
            part = part.subset(np.arange(min(len(part), self.n_per_text)))
            part.source = np.full(len(part), corpus.doc_base + d, dtype=np.int64)
            parts.append(part)
        if not parts:
            return SyntheticSet.empty(corpus.vocab, self.name)
        out = SyntheticSet.concat(parts)
        out.augmenter, out.params = self.name, dict(self.augmenter.params)
        return out


def round_keys(keys: np.ndarray, rounds: int) -> np.ndarray:
    """``(len(keys) * rounds,)`` uint64: the key of round ``r`` of text ``i`` at ``i * rounds + r``.

    SplitMix64's output function of ``key + (r + 1) * golden ratio``: distinct, well-mixed
    keys for every (text, round), computed for a whole batch at once.
    """
    z = np.repeat(np.asarray(keys, dtype=np.uint64), rounds)
    z += np.tile(np.arange(1, rounds + 1, dtype=np.uint64), len(keys)) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _copies(corpus: "TokenizedCorpus", rounds: int) -> "TokenizedCorpus":
    """``rounds`` copies of every document, copy ``r`` of document ``d`` at ``d * rounds + r`` keyed by
    :func:`round_keys`; the vocabulary and the POS table are ``corpus``'s (the copies would count every word ``rounds`` times)."""
    corpus.pos_table()
    lengths = np.repeat(corpus.doc_lengths(), rounds)
    starts = np.repeat(corpus.doc_offsets[:-1], rounds)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(int(offsets[-1]))
    return dataclasses.replace(
        corpus, words=corpus.words[gather], spaces=corpus.spaces[gather], tags=corpus.tags[gather],
        sent_starts=corpus.sent_starts[gather], doc_offsets=offsets, doc_base=0,
        doc_keys=round_keys(corpus.doc_keys, rounds),  # type: ignore[arg-type]
    )  # fmt: skip
