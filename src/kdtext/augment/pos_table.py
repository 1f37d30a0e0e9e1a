"""For each part-of-speech tag, the corpus words that carry it: what same-POS sampling draws from.

:meth:`kdtext.augment.corpus.TokenizedCorpus.pos_table` builds one per corpus; the kernels
read its three arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PosTable:
    """For each tag, the corpus words that carry it with their counts (for same-POS sampling).

    Tag ``t``'s words are ``words[offsets[t]:offsets[t+1]]`` and ``cum`` holds their
    inclusive cumulative counts over that range, so a word is drawn in proportion to how
    often the corpus has it with that tag.
    """

    offsets: np.ndarray  # int64, n_tags + 1
    words: np.ndarray  # int32
    cum: np.ndarray  # int64

    @classmethod
    def empty(cls) -> "PosTable":
        return cls(np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int64))

    @classmethod
    def from_arrays(cls, words: np.ndarray, tags: np.ndarray, n_tags: int, vocab_size: int) -> "PosTable":
        """The table of the (word, tag) pairs of token arrays ``words`` and ``tags``."""
        if n_tags == 0 or words.size == 0:
            return cls(np.zeros(n_tags + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int64))
        key = tags.astype(np.int64) * max(vocab_size, 1) + words.astype(np.int64)
        pairs, counts = np.unique(key, return_counts=True)
        return cls.from_counts(pairs // max(vocab_size, 1), pairs % max(vocab_size, 1), counts, n_tags)

    @classmethod
    def from_counts(cls, tags: np.ndarray, words: np.ndarray, counts: np.ndarray, n_tags: int) -> "PosTable":
        """The table of distinct (tag, word) pairs with their counts (tags below ``n_tags``).

        For a table kept up to date as texts arrive (the spaCy integration counts pairs).
        """
        tags, words, counts = (np.asarray(a, dtype=np.int64) for a in (tags, words, counts))
        order = np.lexsort((words, tags))
        tags, words, counts = tags[order], words[order], counts[order]
        offsets = np.searchsorted(tags, np.arange(n_tags + 1)).astype(np.int64)
        cum = np.cumsum(counts, dtype=np.int64)
        before = np.concatenate([[0], cum])[offsets[:-1]]
        cum = cum - np.repeat(before, np.diff(offsets))
        return cls(offsets, words.astype(np.int32), cum.astype(np.int64))

    def words_of(self, tag: int) -> np.ndarray:
        """The word ids tagged ``tag`` somewhere in the corpus."""
        return self.words[self.offsets[tag] : self.offsets[tag + 1]]
