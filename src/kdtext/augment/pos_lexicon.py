"""Part-of-speech tags from a word-type lexicon: tagging a large corpus at the speed of a dictionary lookup.

A tagger that reads each sentence (spaCy's, Brill) tags a few hundred to a few thousand
texts a second on one core; over a corpus of 100,000 texts it, not the teacher, would set
the pace of a run. Same-POS replacement only needs a tag per token good enough to pick a
plausible replacement, so :class:`~kdtext.augment.builder.CorpusBuilder` tags the first
documents of a corpus (a sample of ``tag_sample`` tokens) with the real tagger, in context,
learns from them a :class:`PosLexicon`, and gives every later token the tag of its word type:

- a word of the sample: its most frequent tag there (a word in title case that the sample
  has only in lower case, e.g. at the start of a sentence, that of its lower-case form);
- any other word: the most frequent tag of the sample's *rare* words (seen at most
  :data:`RARE` times: unseen words behave like rare ones) of the same shape (number,
  punctuation, capitalised, lower case) and the longest shared suffix of up to
  :data:`MAX_SUFFIX` characters, else of that shape alone, else of the whole sample.

On the demo data this agrees with spaCy's tagger in context on about 9 tokens of 10
(``python benchmarks/tagging.py``, which prints the figures); the distilled student's dev
accuracy is within noise of in-context tagging (benchmarks/RESULTS.md, "Tagging at corpus
scale").
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import numpy as np

from ..errors import KdtextError

if TYPE_CHECKING:
    from ..base import Tagger

#: Word types seen at most this often in the sample count as rare, for guessing unseen words.
RARE = 2
#: Longest suffix, in characters, that an unseen word is matched on.
MAX_SUFFIX = 3


def word_shape(word: str) -> str:
    """``"num"`` (digits, no letters), ``"punct"`` (no letter or digit), ``"upper"`` (capitalised) or ``"lower"``."""
    if not any(ch.isalnum() for ch in word):
        return "punct"
    if not any(ch.isalpha() for ch in word):
        return "num"
    return "upper" if word[0].isupper() else "lower"


class PosLexicon:
    """The most frequent tag of each word type of a tagged sample, and a guess for the others.

    Feed it tagged documents with :meth:`learn`, then ask :meth:`tag`; the first call
    to :meth:`tag` freezes what was learnt (later :meth:`learn` calls are an error), so
    a word's tag never changes once given.
    """

    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}
        self._tags: dict[str, str] | None = None
        self._by_suffix: dict[tuple[str, str], str] = {}
        self._by_shape: dict[str, str] = {}
        self._default = "X"
        self.n_tokens = 0

    def learn(self, words: Sequence[str], tags: Sequence[str]) -> None:
        """Count one document's (word, tag) pairs."""
        if self._tags is not None:
            raise RuntimeError("PosLexicon.learn after tag(): the lexicon is frozen")
        counts = self._counts
        for word, tag in zip(words, tags):
            found = counts.get(word)
            if found is None:
                found = counts[word] = Counter()
            found[tag] += 1
        self.n_tokens += len(words)

    def learn_many(self, docs: Iterable[tuple[Sequence[str], Sequence[str]]]) -> None:
        for words, tags in docs:
            self.learn(words, tags)

    @property
    def n_types(self) -> int:
        return len(self._counts)

    def _freeze(self) -> None:
        self._tags = {word: found.most_common(1)[0][0] for word, found in self._counts.items()}
        suffixes: dict[tuple[str, str], Counter[str]] = {}
        shapes: dict[str, Counter[str]] = {}
        overall: Counter[str] = Counter()
        for word, found in self._counts.items():
            tag = self._tags[word]
            overall.update(found)
            if sum(found.values()) > RARE:
                continue
            shape = word_shape(word)
            shapes.setdefault(shape, Counter())[tag] += 1
            lower = word.lower()
            for k in range(1, MAX_SUFFIX + 1):
                if len(lower) > k:
                    suffixes.setdefault((shape, lower[-k:]), Counter())[tag] += 1
        self._by_suffix = {key: found.most_common(1)[0][0] for key, found in suffixes.items()}
        self._by_shape = {key: found.most_common(1)[0][0] for key, found in shapes.items()}
        if overall:
            self._default = overall.most_common(1)[0][0]

    def known(self, word: str) -> bool:
        """Whether ``word`` was in the sample."""
        return word in self._counts

    def tag(self, word: str) -> str:
        """The tag of ``word``: its most frequent one in the sample, else a guess (see the module docstring)."""
        if self._tags is None:
            self._freeze()
        tags = self._tags
        assert tags is not None
        found = tags.get(word)
        if found is not None:
            return found
        if word[:1].isupper():
            found = tags.get(word.lower())
            if found is not None:
                return found
        shape = word_shape(word)
        lower = word.lower()
        for k in range(MAX_SUFFIX, 0, -1):
            if len(lower) > k:
                found = self._by_suffix.get((shape, lower[-k:]))
                if found is not None:
                    return found
        return self._by_shape.get(shape, self._default)


class SampledTagging:
    """The tags of a corpus built batch by batch: in context for the first ``sample`` tokens, then by word type.

    ``tagger`` is a :class:`kdtext.Tagger`; ``sample`` is the number of tokens it tags in
    context (whole documents: every document that starts before that many tokens), after
    which a :class:`PosLexicon` learnt from them tags the rest (``None``: every document in
    context, as before corpus-scale tagging). Each distinct document is tagged in context
    once. :meth:`tags` returns tag ids as the corpus numbers them (``tag_id(name)``).
    """

    #: Distinct documents remembered with their tags, so that repeats are not tagged again.
    CACHE_DOCS = 200_000

    def __init__(self, tagger: "Tagger", name: str | None, sample: int | None):
        self.tagger = tagger
        self.name = name
        self.sample = sample if sample else None
        self.lexicon = PosLexicon()
        self.tokens = 0  # tokens seen so far, in context or not
        self.in_context = 0  # tokens tagged in context
        self._cache: dict[tuple[str, ...], list[str]] = {}
        self._by_word = np.full(0, -1, np.int32)  # vocabulary id -> tag id once the lexicon tags

    def tags(self, ids: np.ndarray, lengths: np.ndarray, vocab: Sequence[str], tag_id: Callable[[str], int]) -> np.ndarray:
        """Tag ids (int32) for a batch of documents given as vocabulary ids ``ids`` and ``lengths``."""
        out = np.zeros(ids.shape[0], np.int32)
        starts = self.tokens + np.cumsum(lengths) - lengths
        self.tokens += int(lengths.sum())
        n_context = len(lengths) if self.sample is None else int(np.searchsorted(starts, self.sample))
        split = int(lengths[:n_context].sum())
        if n_context:
            out[:split] = self._in_context(ids[:split], lengths[:n_context], vocab, tag_id)
        if split < ids.shape[0]:
            out[split:] = self._by_type(ids[split:], vocab, tag_id)
        return out

    def _in_context(self, ids: np.ndarray, lengths: np.ndarray, vocab: Sequence[str], tag_id: Callable[[str], int]) -> list[int]:
        flat = [vocab[w] for w in ids.tolist()]
        bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        docs = [tuple(flat[bounds[d] : bounds[d + 1]]) for d in range(len(lengths))]
        todo = list(dict.fromkeys(doc for doc in docs if doc not in self._cache))
        fresh: dict[tuple[str, ...], list[str]] = {}
        for words, tags in zip(todo, self.tagger.tag_many([list(doc) for doc in todo])):
            tags = list(tags)
            if len(tags) != len(words):
                raise KdtextError(f"tagger {self.name!r} returned {len(tags)} tags for {len(words)} words")
            fresh[words] = tags
            if len(self._cache) < self.CACHE_DOCS:
                self._cache[words] = tags
        out: list[int] = []
        for doc in docs:
            tags = self._cache.get(doc) or fresh.get(doc) or []
            if self.sample is not None:
                self.lexicon.learn(doc, tags)
            out.extend(tag_id(tag) for tag in tags)
        self.in_context += len(flat)
        return out

    def _by_type(self, ids: np.ndarray, vocab: Sequence[str], tag_id: Callable[[str], int]) -> np.ndarray:
        if self._by_word.shape[0] < len(vocab):
            grown = np.full(len(vocab), -1, np.int32)
            grown[: self._by_word.shape[0]] = self._by_word
            self._by_word = grown
        table = self._by_word
        new = np.unique(ids[table[ids] < 0])
        for w in new.tolist():
            table[w] = tag_id(self.lexicon.tag(vocab[w]))
        return table[ids]
