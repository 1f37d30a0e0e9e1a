"""Synthetic examples as word-id arrays: :class:`SyntheticSet`, and :class:`AugmentedExample`.

How many examples. Augmenters work in rounds: in round ``r`` every source document
(of two tokens or more) gives at most one example, from its own random stream seeded by
(seed, global document index, r). Examples are kept in (round, document) order; with
``unique`` set, duplicates and exact copies of any source document are dropped. Rounds
continue until ``n`` examples are kept or ``n_iter`` rounds are done, so a run gives
``min(n, what n_iter rounds can give)`` examples. The output does not depend on how the
corpus is split into shards: :meth:`SyntheticSet.merge` of per-shard sets equals the
set of the whole corpus.

The augmenters that make these sets run through :mod:`kdtext.augment.kernels`;
:mod:`kdtext.augment` is the plain Python API over them. A teacher may label a set from its
input ids, made from the word arrays without tokenizing (:meth:`kdtext.Teacher.input_ids`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator, NamedTuple, Sequence

import numpy as np

from ..errors import ConfigError, KdtextError

if TYPE_CHECKING:
    from ..data import Dataset
    from ..labels import LabelSpace
    from .corpus import TokenizedCorpus

#: Documents with fewer tokens than this are not augmented (and are counted as skipped).
MIN_TOKENS = 2


class AugmentedExample(NamedTuple):
    """One synthetic example: its text, its tokens, and the index of the text it came from."""

    text: str
    words: list[str]
    spaces: list[bool]
    source: int
    augmenter: str


# -- the synthetic set -------------------------------------------------------------------------


@dataclass
class SyntheticSet:
    """Synthetic examples as flat arrays over a vocabulary.

    Example ``i`` is tokens ``offsets[i]:offsets[i+1]`` of ``words`` (int32 ids into
    ``vocab``) and ``spaces`` (uint8, 1 if whitespace follows). ``source[i]`` is the
    global index of the corpus document it was made from (the position of the input text)
    and ``rounds[i]`` the round that made it. ``skipped`` counts source documents that
    could not be augmented, by reason; ``notes`` are messages for the user.
    """

    vocab: list[str]
    words: np.ndarray
    spaces: np.ndarray
    offsets: np.ndarray
    source: np.ndarray
    rounds: np.ndarray
    augmenter: str = ""
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.words = np.ascontiguousarray(self.words, dtype=np.int32)
        self.spaces = np.ascontiguousarray(self.spaces, dtype=np.uint8)
        self.offsets = np.ascontiguousarray(self.offsets, dtype=np.int64)
        self.source = np.ascontiguousarray(self.source, dtype=np.int64)
        self.rounds = np.ascontiguousarray(self.rounds, dtype=np.int32)
        n = self.offsets.shape[0] - 1
        if n < 0 or self.source.shape[0] != n or self.rounds.shape[0] != n or self.words.shape != self.spaces.shape:
            raise ValueError("inconsistent SyntheticSet arrays")
        self._strings: list[str] | None = None

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @property
    def n_tokens(self) -> int:
        return int(self.words.shape[0])

    def lengths(self) -> np.ndarray:
        """Tokens per example, int64."""
        return np.diff(self.offsets)

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def empty(cls, vocab: list[str], augmenter: str = "") -> "SyntheticSet":
        return cls(vocab, np.zeros(0, np.int32), np.zeros(0, np.uint8), np.zeros(1, np.int64),
                   np.zeros(0, np.int64), np.zeros(0, np.int32), augmenter)  # fmt: skip

    @classmethod
    def from_word_ids(
        cls,
        corpus: "TokenizedCorpus",
        examples: Iterable[Sequence[int]],
        sources: Iterable[int],
        augmenter: str = "",
        spaces: Iterable[Sequence[bool]] | None = None,
    ) -> "SyntheticSet":
        """A set from lists of word ids of ``corpus.vocab`` (for plugin augmenters written in Python).

        ``sources`` are the corpus documents (local indices) the examples come from.
        Without ``spaces``, words are separated by single spaces.
        """
        rows = [np.asarray(list(e), dtype=np.int32) for e in examples]
        src = np.asarray(list(sources), dtype=np.int64) + corpus.doc_base
        if src.shape[0] != len(rows):
            raise ConfigError(f"{len(rows)} examples but {src.shape[0]} sources")
        lengths = np.asarray([r.shape[0] for r in rows], dtype=np.int64)
        words = np.concatenate(rows) if rows else np.zeros(0, np.int32)
        if words.size and (words.min() < 0 or words.max() >= len(corpus.vocab)):
            raise ConfigError("word ids must index the corpus vocabulary")
        if spaces is None:
            flags = np.ones(words.shape[0], np.uint8)
        else:
            flags = np.concatenate([np.asarray(list(s), dtype=np.uint8) for s in spaces] or [np.zeros(0, np.uint8)])
            if flags.shape != words.shape:
                raise ConfigError("spaces must give one flag per word")
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flags[offsets[1:][lengths > 0] - 1] = 0
        return cls(corpus.vocab, words, flags, offsets, src, np.zeros(len(rows), np.int32), augmenter)

    @classmethod
    def concat(cls, parts: Sequence["SyntheticSet"]) -> "SyntheticSet":
        """The examples of ``parts`` one after another.

        Parts made from one corpus share its vocabulary, except that masking adds the mask
        token to it; word ids are remapped onto one vocabulary that holds every part's words
        (the first part's ids unchanged), so ``mask`` and ``ngram`` sets can be joined.
        """
        if not parts:
            raise ConfigError("nothing to concatenate")
        merger = VocabularyMerger()
        words = [merger.ids(part) for part in parts]
        vocab = parts[0].vocab if merger.vocab == parts[0].vocab else merger.vocab
        lengths = np.concatenate([p.lengths() for p in parts])
        skipped: dict[str, int] = {}
        for p in parts:
            for k, v in p.skipped.items():
                skipped[k] = skipped.get(k, 0) + v
        notes = list(dict.fromkeys(note for p in parts for note in p.notes))
        return cls(
            vocab,
            np.concatenate(words),
            np.concatenate([p.spaces for p in parts]),
            np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            np.concatenate([p.source for p in parts]),
            np.concatenate([p.rounds for p in parts]),
            parts[0].augmenter,
            parts[0].seed,
            dict(parts[0].params),
            skipped,
            notes,
        )

    @classmethod
    def merge(
        cls,
        parts: Sequence["SyntheticSet"],
        n: int | None = None,
        *,
        exclude: "TokenizedCorpus | np.ndarray | None" = None,
        unique: bool = True,
    ) -> "SyntheticSet":
        """Join per-shard sets into the set the whole corpus would give.

        Examples are ordered by (round, source); with ``unique``, duplicates across shards
        and copies of the documents of ``exclude`` (a corpus, or uint64 hashes) are dropped;
        then the first ``n`` are kept. Run each shard with ``n=None`` so no shard stops early.
        """
        whole = cls.concat(parts)
        order = np.lexsort((np.arange(len(whole)), whole.source, whole.rounds))
        whole = whole.subset(order)
        if unique:
            from .. import _fast

            seen = _fast.HashSet(len(whole))
            if exclude is not None:
                seen.add_new(exclude.doc_hashes() if not isinstance(exclude, np.ndarray) else exclude)
            whole = whole.subset(np.flatnonzero(seen.add_new(whole.hashes())))
        if n is not None and len(whole) > n:
            whole = whole.subset(np.arange(n))
        return whole

    def subset(self, indices: Sequence[int] | np.ndarray) -> "SyntheticSet":
        """The examples at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        lengths = self.lengths()[idx]
        starts = self.offsets[:-1][idx]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(int(offsets[-1]))
        return SyntheticSet(
            self.vocab, self.words[gather], self.spaces[gather], offsets, self.source[idx], self.rounds[idx],
            self.augmenter, self.seed, dict(self.params), dict(self.skipped), list(self.notes),
        )  # fmt: skip

    def hashes(self) -> np.ndarray:
        """The kernels' 64-bit hash of each example (uint64): equal hashes, equal texts."""
        from .. import _fast

        return _fast.hash_spans(self.words, self.spaces, self.offsets)

    # -- texts and tokens ------------------------------------------------------------------

    def _token_strings(self) -> list[str]:
        # index 2*w + space -> the word with or without its trailing space
        if self._strings is None or len(self._strings) != 2 * len(self.vocab):
            strings: list[str] = []
            for word in self.vocab:
                strings.append(word)
                strings.append(word + " ")
            self._strings = strings
        return self._strings

    def text(self, i: int) -> str:
        """Example ``i`` as text: its words joined by their whitespace."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        table = self._token_strings()
        codes = (self.words[a:b].astype(np.int64) * 2 + self.spaces[a:b]).tolist()
        return "".join([table[c] for c in codes])

    def iter_texts(self) -> Iterator[str]:
        table = self._token_strings()
        codes = (self.words.astype(np.int64) * 2 + self.spaces).tolist()
        offsets = self.offsets.tolist()
        for i in range(len(self)):
            yield "".join([table[c] for c in codes[offsets[i] : offsets[i + 1]]])

    def texts(self) -> list[str]:
        """All examples as texts."""
        return list(self.iter_texts())

    def words_spaces(self, i: int) -> tuple[list[str], list[bool]]:
        """Example ``i``'s words and whitespace flags (build a spaCy ``Doc`` from them directly)."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return [self.vocab[w] for w in self.words[a:b].tolist()], [bool(s) for s in self.spaces[a:b].tolist()]

    def to_words_spaces(self) -> tuple[list[list[str]], list[list[bool]]]:
        """Words and whitespace flags of every example."""
        vocab = self.vocab
        words = [vocab[w] for w in self.words.tolist()]
        spaces = self.spaces.astype(bool).tolist()
        offsets = self.offsets.tolist()
        return (
            [words[offsets[i] : offsets[i + 1]] for i in range(len(self))],
            [spaces[offsets[i] : offsets[i + 1]] for i in range(len(self))],
        )

    def __iter__(self) -> Iterator[AugmentedExample]:
        words, spaces = self.to_words_spaces()
        for i, text in enumerate(self.iter_texts()):
            yield AugmentedExample(text, words[i], spaces[i], int(self.source[i]), self.augmenter)

    def rows(self) -> Iterator[dict[str, Any]]:
        """JSONL rows ``{"text", "source", "augmenter"}``, as ``kdtext augment`` writes them."""
        sources = self.source.tolist()
        for i, text in enumerate(self.iter_texts()):
            yield {"text": text, "source": sources[i], "augmenter": self.augmenter}

    def to_dataset(
        self, targets: np.ndarray, label_space: "LabelSpace", *, soft: bool = True, source: str | None = None, lazy: bool = False
    ) -> "Dataset":
        """A :class:`kdtext.data.Dataset` of these examples with ``targets`` (one row each),
        carrying words and spaces so that students need not re-tokenize.

        With ``lazy``, texts, words and spaces are :class:`kdtext.data.RowView`\\s that make
        each row from the arrays when it is read (for a set memory-mapped from disk).
        """
        from ..data import Dataset, RowView

        if lazy:
            n = len(self)
            return Dataset(
                RowView(n, self.text), targets, label_space, soft=soft, source=source,
                words=RowView(n, lambda i: self.words_spaces(i)[0]), spaces=RowView(n, lambda i: self.words_spaces(i)[1]),
            )  # fmt: skip
        words, spaces = self.to_words_spaces()
        return Dataset(self.texts(), targets, label_space, soft=soft, words=words, spaces=spaces, source=source)

    # -- saving ----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the set to one ``.npz`` file (arrays, vocabulary and metadata), atomically."""
        from ..io import atomic_write

        meta = {
            "format": "kdtext-synthetic",
            "version": 1,
            "augmenter": self.augmenter,
            "seed": self.seed,
            "params": self.params,
            "skipped": self.skipped,
            "notes": self.notes,
        }
        with atomic_write(path, "wb") as handle:
            np.savez(
                handle,
                words=self.words,
                spaces=self.spaces,
                offsets=self.offsets,
                source=self.source,
                rounds=self.rounds,
                vocab=np.frombuffer(json.dumps(self.vocab, ensure_ascii=False).encode("utf-8"), np.uint8),
                meta=np.frombuffer(json.dumps(meta, default=str).encode("utf-8"), np.uint8),
            )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SyntheticSet":
        """Read a set written by :meth:`save` (:func:`kdtext.augment.store.load_synthetic` also reads folders)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except FileNotFoundError:
            raise KdtextError(f"{path}: file does not exist") from None
        except (OSError, ValueError) as exc:
            raise KdtextError(f"{path}: not a kdtext synthetic set ({exc})") from None
        try:
            meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
            vocab = json.loads(arrays["vocab"].tobytes().decode("utf-8"))
            if meta.get("format") != "kdtext-synthetic":
                raise KeyError("format")
            return cls(
                vocab, arrays["words"], arrays["spaces"], arrays["offsets"], arrays["source"], arrays["rounds"],
                meta["augmenter"], meta["seed"], meta["params"], meta["skipped"], meta["notes"],
            )  # fmt: skip
        except (KeyError, ValueError, UnicodeDecodeError) as exc:
            raise KdtextError(f"{path}: not a kdtext synthetic set (damaged: {exc})") from None


class VocabularyMerger:
    """One vocabulary for the parts of a set: the first part's, extended by later parts' new words."""

    def __init__(self) -> None:
        self.vocab: list[str] | None = None
        self._index: dict[str, int] | None = None
        self._remaps: dict[int, tuple[list[str], np.ndarray | None]] = {}

    def ids(self, part: SyntheticSet) -> np.ndarray:
        """``part.words`` as ids into :attr:`vocab` (which grows by the words it lacked)."""
        if self.vocab is None:
            self.vocab = list(part.vocab)
            self._remaps[id(part.vocab)] = (part.vocab, None)
            return part.words
        found = self._remaps.get(id(part.vocab))
        if found is None or found[0] is not part.vocab:
            remap = None
            n = len(part.vocab)
            if not (n <= len(self.vocab) and self.vocab[:n] == part.vocab):  # a prefix keeps its ids
                if self._index is None:
                    self._index = {word: i for i, word in enumerate(self.vocab)}
                index = self._index
                remap = np.fromiter((index.setdefault(w, len(index)) for w in part.vocab), dtype=np.int32, count=n)
                self.vocab.extend(list(index)[len(self.vocab) :])
            found = self._remaps[id(part.vocab)] = (part.vocab, remap)
        remap = found[1]
        return part.words if remap is None or not len(part.words) else remap[part.words]
